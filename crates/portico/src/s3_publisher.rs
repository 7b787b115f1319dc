//! TechDocs sites in an S3-compatible bucket (`techdocs.publisher.type: awsS3`, Backstage's
//! key names), behind `portico_techdocs::Publisher`, through `object_store` (SigV4, path-style
//! endpoints).
//!
//! A publish is atomic for readers, which S3 cannot give for many objects at once, so each
//! publish is a **generation**: its files go under
//! `<namespace>/<kind>/<name>/.portico/generations/<id>/…` (lower-cased entity path, as in
//! Backstage's layout), and only when all are uploaded does one small pointer object,
//! `<namespace>/<kind>/<name>/.portico/current.json`, switch to it. Every read resolves the
//! pointer first, so it sees one complete generation; a failed publish leaves the pointer (and
//! the site readers see) as it was. The generation a publish retires is deleted by a later
//! publish once [`S3Publisher::grace`] has passed (a request that resolved the old pointer
//! just before the switch still finds its files); uploads no pointer names (a publish that
//! died) are deleted once they are an hour old.
//!
//! Backstage compatibility: with no pointer the site is read in Backstage's own layout
//! (`<namespace>/<kind>/<name>/index.html`, as `techdocs-cli publish` writes it), so a bucket
//! filled by Backstage is served as it is; the first Portico publish retires those objects like
//! a generation. Backstage itself cannot read what Portico publishes. If `techdocs-cli` later
//! publishes the same entity it deletes the objects it did not write (Backstage removes stale
//! files at publish time, the `.portico/` ones included), and its site is served again. Two
//! publishes of one entity at once: the last switch wins, the other's generation is an orphan.
//!
//! The publisher trait is synchronous (builds publish from blocking threads; the API reads
//! from handlers), so each call drives the async client on the runtime it was made on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use portico_techdocs::{EntityTriplet, PublishError, Publisher};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use walkdir::WalkDir;

/// `techdocs.publisher.awsS3`.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// `bucketName`.
    pub bucket_name: String,
    /// `region` (default `us-east-1`).
    pub region: Option<String>,
    /// `endpoint`: an S3-compatible server instead of AWS.
    pub endpoint: Option<String>,
    /// `s3ForcePathStyle`: `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>`.
    pub force_path_style: bool,
    /// `credentials.accessKeyId` / `secretAccessKey`; else the AWS environment variables.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log line.
        f.debug_struct("S3Settings")
            .field("bucket_name", &self.bucket_name)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("force_path_style", &self.force_path_style)
            .field("credentials", &self.credentials.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Sites in a bucket.
pub struct S3Publisher {
    store: Arc<dyn ObjectStore>,
    handle: Handle,
    bucket: String,
    grace: Duration,
    /// Called after each file of a generation is uploaded, so a test can read mid-publish.
    #[cfg(test)]
    after_upload: Option<UploadHook>,
}

#[cfg(test)]
type UploadHook = Arc<dyn Fn(usize) -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>;

impl std::fmt::Debug for S3Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Publisher")
            .field("bucket", &self.bucket)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// The folder of an entity's Portico state inside its Backstage prefix.
const PORTICO_DIR: &str = ".portico";
/// The pointer object, relative to the entity's prefix.
const POINTER: &str = ".portico/current.json";
/// Generations, relative to the entity's prefix.
const GENERATIONS: &str = ".portico/generations";
/// The name a retired Backstage-layout site has in the pointer's `retired` list.
const LEGACY: &str = "backstage-layout";
/// How long an upload that no pointer names is left alone: a publish still in progress (from
/// another process) must not lose its files.
const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// `.portico/current.json`: the generation readers see and the ones waiting for deletion.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Pointer {
    generation: String,
    #[serde(default)]
    retired: Vec<Retired>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Retired {
    generation: String,
    /// Unix seconds when the pointer stopped naming it.
    since: u64,
}

fn s3_error(action: &'static str, key: &str, err: impl std::fmt::Display) -> PublishError {
    PublishError::Io {
        action,
        path: key.into(),
        source: std::io::Error::other(err.to_string()),
    }
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// A generation id that sorts by time and does not collide between processes:
/// `<unix millis>-<pid>-<nanos>`.
fn new_generation() -> String {
    let now = unix_now();
    format!(
        "{:013}-{:x}-{:09}",
        now.as_millis(),
        std::process::id(),
        now.subsec_nanos()
    )
}

/// When a generation was started, from its id.
fn generation_age(id: &str, now: Duration) -> Option<Duration> {
    let millis: u64 = id.split('-').next()?.parse().ok()?;
    Some(now.saturating_sub(Duration::from_millis(millis)))
}

impl S3Publisher {
    /// A publisher for `settings`, on the current tokio runtime.
    pub fn new(settings: &S3Settings) -> anyhow::Result<Self> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket_name)
            .with_virtual_hosted_style_request(!settings.force_path_style);
        // Unset, the region is `AWS_REGION`'s (from_env), else object_store's us-east-1.
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some((key_id, secret)) = &settings.credentials {
            builder = builder
                .with_access_key_id(key_id)
                .with_secret_access_key(secret);
        }
        let store = builder.build().map_err(|err| {
            anyhow::anyhow!(
                "techdocs.publisher.awsS3 (bucket {}): {err}",
                settings.bucket_name
            )
        })?;
        Ok(Self {
            store: Arc::new(store),
            handle: Handle::current(),
            bucket: settings.bucket_name.clone(),
            grace: Self::DEFAULT_GRACE,
            #[cfg(test)]
            after_upload: None,
        })
    }

    /// How long a retired generation stays readable: longer than any request between
    /// resolving the pointer and reading its files.
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(300);

    /// How long a retired generation is kept before a later publish deletes it.
    #[cfg(test)]
    fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs `future` to its end from synchronous code (an async handler's thread or a
    /// blocking one).
    fn run<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        tokio::task::block_in_place(|| self.handle.block_on(future))
    }

    fn key(&self, prefix: &str, relative: &str) -> Result<Key, PublishError> {
        let text = format!("{prefix}/{relative}");
        Key::parse(&text)
            .map_err(|err| s3_error("naming", &format!("s3://{}/{text}", self.bucket), err))
    }

    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, PublishError> {
        match self.store.get(key).await {
            Ok(found) => match found.bytes().await {
                Ok(bytes) => Ok(Some(bytes.to_vec())),
                Err(err) => Err(s3_error("reading", &self.shown(key), err)),
            },
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(s3_error("reading", &self.shown(key), err)),
        }
    }

    fn shown(&self, key: &Key) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    async fn pointer(&self, entity_prefix: &str) -> Result<Option<Pointer>, PublishError> {
        let key = self.key(entity_prefix, POINTER)?;
        match self.get(&key).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|err| s3_error("parsing", &self.shown(&key), err)),
        }
    }

    /// The prefix readers see for the entity: its current generation, or with no pointer the
    /// Backstage layout.
    async fn site_prefix(&self, entity_prefix: &str) -> Result<String, PublishError> {
        Ok(match self.pointer(entity_prefix).await? {
            Some(pointer) => format!("{entity_prefix}/{GENERATIONS}/{}", pointer.generation),
            None => entity_prefix.to_owned(),
        })
    }

    async fn list(&self, prefix: &str) -> Result<Vec<object_store::ObjectMeta>, PublishError> {
        let folder = Key::from(prefix);
        self.store
            .list(Some(&folder))
            .try_collect()
            .await
            .map_err(|err| s3_error("listing", &self.shown(&folder), err))
    }

    async fn delete_all(&self, keys: &[Key]) -> Result<(), PublishError> {
        for key in keys {
            match self.store.delete(key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(s3_error("deleting", &self.shown(key), err)),
            }
        }
        Ok(())
    }

    /// The test hook (nothing outside tests).
    #[allow(clippy::unused_async)]
    async fn after_upload(&self, _uploaded: usize) {
        #[cfg(test)]
        if let Some(hook) = &self.after_upload {
            hook(_uploaded).await;
        }
    }

    async fn publish_async(
        &self,
        entity_prefix: &str,
        files: &[(PathBuf, String)],
    ) -> Result<(), PublishError> {
        let generation = new_generation();
        let generation_prefix = format!("{entity_prefix}/{GENERATIONS}/{generation}");
        for (uploaded, (file, relative)) in (1..).zip(files) {
            let key = self.key(&generation_prefix, relative)?;
            let bytes = std::fs::read(file).map_err(|source| PublishError::Io {
                action: "reading",
                path: file.clone(),
                source,
            })?;
            self.store
                .put(&key, PutPayload::from(bytes))
                .await
                .map_err(|err| s3_error("uploading", &self.shown(&key), err))?;
            self.after_upload(uploaded).await;
        }

        // The switch: one object, written whole, so a reader sees the old pointer or this one.
        let now = unix_now();
        let old = match self.pointer(entity_prefix).await {
            Ok(old) => old,
            // A pointer that does not parse must not block every publish after it: this one
            // replaces it (what it named becomes an orphan, deleted in an hour).
            Err(
                err @ PublishError::Io {
                    action: "parsing", ..
                },
            ) => {
                tracing::warn!(error = %err, "Replacing an unreadable TechDocs pointer.");
                None
            }
            Err(err) => return Err(err),
        };
        let mut retired = old.as_ref().map(|p| p.retired.clone()).unwrap_or_default();
        retired.push(Retired {
            generation: old.map_or_else(|| LEGACY.to_owned(), |p| p.generation),
            since: now.as_secs(),
        });
        let (expired, kept): (Vec<Retired>, Vec<Retired>) = retired
            .into_iter()
            .partition(|r| Duration::from_secs(r.since) + self.grace <= now);
        let pointer = Pointer {
            generation: generation.clone(),
            retired: kept,
        };
        let key = self.key(entity_prefix, POINTER)?;
        let body = serde_json::to_vec(&pointer)
            .map_err(|err| s3_error("writing", &self.shown(&key), err))?;
        self.store
            .put(&key, PutPayload::from(body))
            .await
            .map_err(|err| s3_error("switching", &self.shown(&key), err))?;

        // Clean-up: nobody reads these any more. A failure here leaves garbage, not a broken
        // site, so the publish has still succeeded.
        if let Err(err) = self.clean_up(entity_prefix, &pointer, &expired, now).await {
            tracing::warn!(error = %err, "Old TechDocs objects could not be deleted.");
        }
        Ok(())
    }

    async fn clean_up(
        &self,
        entity_prefix: &str,
        pointer: &Pointer,
        expired: &[Retired],
        now: Duration,
    ) -> Result<(), PublishError> {
        let generations = format!("{entity_prefix}/{GENERATIONS}");
        let mut doomed = Vec::new();
        for object in self.list(&generations).await? {
            let key = object.location.to_string();
            let Some(id) = key
                .strip_prefix(&generations)
                .and_then(|rest| rest.trim_start_matches('/').split('/').next())
            else {
                continue;
            };
            let named =
                id == pointer.generation || pointer.retired.iter().any(|r| r.generation == id);
            let was_retired = expired.iter().any(|r| r.generation == id);
            let orphan = !named && generation_age(id, now).is_some_and(|age| age >= ORPHAN_AGE);
            if !named && (was_retired || orphan) {
                doomed.push(object.location);
            }
        }
        if expired.iter().any(|r| r.generation == LEGACY) {
            let portico = format!("{entity_prefix}/{PORTICO_DIR}/");
            for object in self.list(entity_prefix).await? {
                if !object.location.to_string().starts_with(&portico) {
                    doomed.push(object.location);
                }
            }
        }
        self.delete_all(&doomed).await
    }

    async fn read_async(
        &self,
        entity_prefix: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>, PublishError> {
        let prefix = self.site_prefix(entity_prefix).await?;
        if path.is_empty() || path.ends_with('/') {
            return self
                .get(&self.key(&prefix, &format!("{path}index.html"))?)
                .await;
        }
        if let Some(bytes) = self.get(&self.key(&prefix, path)?).await? {
            return Ok(Some(bytes));
        }
        // A page folder named without its slash, as the local publisher serves it.
        self.get(&self.key(&prefix, &format!("{path}/index.html"))?)
            .await
    }
}

impl Publisher for S3Publisher {
    fn publish(&self, entity: &EntityTriplet, site_dir: &Path) -> Result<(), PublishError> {
        let prefix = entity.storage_path()?;
        let mut files = Vec::new();
        for entry in WalkDir::new(site_dir).follow_links(false) {
            let entry = entry.map_err(|err| PublishError::Io {
                action: "reading",
                path: site_dir.to_path_buf(),
                source: err.into(),
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(relative) = entry.path().strip_prefix(site_dir) else {
                continue;
            };
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            // Checked now, so a bad name fails the publish before anything is uploaded.
            self.key(&prefix, &relative)?;
            files.push((entry.path().to_path_buf(), relative));
        }
        self.run(self.publish_async(&prefix, &files))
    }

    fn read(&self, entity: &EntityTriplet, path: &str) -> Result<Option<Vec<u8>>, PublishError> {
        let prefix = entity.storage_path()?;
        let path = path.trim_start_matches('/');
        portico_techdocs::config::check_relative(path)
            .map_err(|_| PublishError::BadPath(path.to_owned()))?;
        if path.split('/').any(|part| part == "..") {
            return Err(PublishError::BadPath(path.to_owned()));
        }
        // Portico's own state is not part of any site (in the Backstage layout it sits beside
        // the pages).
        if path == PORTICO_DIR || path.starts_with(".portico/") {
            return Ok(None);
        }
        self.run(self.read_async(&prefix, path))
    }
}

/// Against a real s3s-fs on 127.0.0.1 (it checks SigV4). The upload hook pauses a publish
/// after each file, and the reader looks at the bucket then: what it sees depends on how far
/// the publish got, never on timing. Without s3s-fs the tests say so and pass, except under
/// `CI=true` (`.ci/run` installs it).
#[cfg(test)]
mod tests {
    // Test code: a failed unwrap is a failed test with its location.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::HashSet;
    use std::sync::Mutex;

    use futures_util::FutureExt as _;

    use super::*;

    const BUCKET: &str = "sites";

    /// A real s3s-fs with the bucket [`BUCKET`], and publisher settings for it.
    struct S3s {
        _server: portico_testkit::s3s::S3sServer,
        objects: tempfile::TempDir,
        settings: S3Settings,
    }

    async fn start_s3s() -> Option<S3s> {
        use portico_testkit::s3s::{ACCESS_KEY, S3sServer, SECRET_KEY};
        let objects = tempfile::tempdir().unwrap();
        let server = S3sServer::start(objects.path(), &[BUCKET], "the S3 publisher unit tests")?;
        let settings = S3Settings {
            bucket_name: BUCKET.to_owned(),
            region: None,
            endpoint: Some(server.endpoint.clone()),
            force_path_style: true,
            credentials: Some((ACCESS_KEY.to_owned(), SECRET_KEY.to_owned())),
        };
        Some(S3s {
            _server: server,
            objects,
            settings,
        })
    }

    /// A built site whose every file says which version it is.
    fn site(dir: &Path, version: &str, pages: &[&str]) -> PathBuf {
        let root = dir.join(version);
        for page in pages {
            let file = root.join(page);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, format!("{page} of {version}")).unwrap();
        }
        root
    }

    const PAGES: [&str; 4] = [
        "index.html",
        "a/index.html",
        "old/index.html",
        "new/index.html",
    ];

    /// Each page of the site as a reader gets it, by the version named in it.
    async fn view(reader: &S3Publisher, prefix: &str) -> Vec<Option<String>> {
        let mut seen = Vec::new();
        for page in PAGES {
            let bytes = reader.read_async(prefix, page).await.unwrap();
            seen.push(bytes.map(|b| {
                let text = String::from_utf8(b).unwrap();
                text.rsplit(' ').next().unwrap_or_default().to_owned()
            }));
        }
        seen
    }

    fn version(name: &str, pages: &[&str]) -> Vec<Option<String>> {
        PAGES
            .iter()
            .map(|p| pages.contains(p).then(|| name.to_owned()))
            .collect()
    }

    /// Every object file s3s-fs holds, relative to the bucket.
    fn objects(s3s: &S3s) -> Vec<String> {
        let bucket = s3s.objects.path().join(BUCKET);
        let mut found: Vec<String> = WalkDir::new(&bucket)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| {
                let relative = e
                    .path()
                    .strip_prefix(&bucket)
                    .ok()?
                    .to_string_lossy()
                    .into_owned();
                // s3s-fs keeps its own metadata in hidden files beside the objects.
                (!relative.contains(".s3s")).then_some(relative)
            })
            .collect();
        found.sort();
        found
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn readers_during_a_publish_see_one_whole_generation() {
        let Some(s3s) = start_s3s().await else {
            return;
        };
        let work = tempfile::tempdir().unwrap();
        let entity = EntityTriplet::new("default", "Component", "Svc");
        let prefix = entity.storage_path().unwrap();
        let v1_pages = ["index.html", "a/index.html", "old/index.html"];
        let v2_pages = ["index.html", "a/index.html", "new/index.html"];
        let v1 = site(work.path(), "v1", &v1_pages);
        let v2 = site(work.path(), "v2", &v2_pages);

        let reader = Arc::new(S3Publisher::new(&s3s.settings).unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut writer = S3Publisher::new(&s3s.settings).unwrap();
        writer.publish(&entity, &v1).unwrap();
        assert_eq!(view(&reader, &prefix).await, version("v1", &v1_pages));

        let (hook_reader, hook_seen, hook_prefix) =
            (Arc::clone(&reader), Arc::clone(&seen), prefix.clone());
        writer.after_upload = Some(Arc::new(move |uploaded| {
            let (reader, seen, prefix) = (
                Arc::clone(&hook_reader),
                Arc::clone(&hook_seen),
                hook_prefix.clone(),
            );
            async move {
                let view = view(&reader, &prefix).await;
                seen.lock().unwrap().push((uploaded, view));
            }
            .boxed()
        }));
        writer.publish(&entity, &v2).unwrap();

        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3, "the reader looked after every upload");
        for (uploaded, view) in &seen {
            assert_eq!(
                view,
                &version("v1", &v1_pages),
                "after {uploaded} of 3 uploads the reader sees the old site, whole"
            );
        }
        assert_eq!(view(&reader, &prefix).await, version("v2", &v2_pages));
        let kept = objects(&s3s);
        assert!(
            kept.iter().any(|o| o.ends_with("old/index.html")),
            "the retired generation stays for the grace period: {kept:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_backstage_layout_site_is_served_until_replaced_then_deleted() {
        let Some(s3s) = start_s3s().await else {
            return;
        };
        let work = tempfile::tempdir().unwrap();
        let entity = EntityTriplet::new("default", "component", "svc");
        let prefix = entity.storage_path().unwrap();
        let publisher = S3Publisher::new(&s3s.settings)
            .unwrap()
            .with_grace(Duration::ZERO);
        // As techdocs-cli writes it: the pages right under the entity's prefix.
        for page in ["index.html", "old/index.html"] {
            let key = publisher.key(&prefix, page).unwrap();
            publisher
                .store
                .put(&key, PutPayload::from(format!("{page} of legacy")))
                .await
                .unwrap();
        }
        assert_eq!(
            view(&publisher, &prefix).await,
            version("legacy", &["index.html", "old/index.html"])
        );
        assert_eq!(
            publisher.read(&entity, ".portico/current.json").unwrap(),
            None,
            "Portico's state is no page"
        );

        let v1 = site(work.path(), "v1", &["index.html", "a/index.html"]);
        publisher.publish(&entity, &v1).unwrap();
        assert_eq!(
            view(&publisher, &prefix).await,
            version("v1", &["index.html", "a/index.html"])
        );
        let v2 = site(work.path(), "v2", &["index.html", "new/index.html"]);
        publisher.publish(&entity, &v2).unwrap();
        assert_eq!(
            view(&publisher, &prefix).await,
            version("v2", &["index.html", "new/index.html"])
        );
        // With no grace period, what the two publishes retired is gone.
        let left = objects(&s3s);
        let generations = format!("{prefix}/{GENERATIONS}/");
        assert!(
            left.iter()
                .all(|o| o == &format!("{prefix}/{POINTER}") || o.starts_with(&generations)),
            "the Backstage-layout objects are deleted: {left:?}"
        );
        let live: HashSet<&str> = left
            .iter()
            .filter_map(|o| o.strip_prefix(&generations)?.split('/').next())
            .collect();
        assert_eq!(
            live.len(),
            1,
            "only the current generation is left: {left:?}"
        );
    }
}

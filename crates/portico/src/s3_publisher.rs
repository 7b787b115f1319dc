//! TechDocs sites in an S3-compatible bucket (`techdocs.publisher.type: awsS3`, Backstage's
//! key names), behind `portico_techdocs::Publisher`: objects at `<namespace>/<kind>/<name>/…`
//! (lower-cased, Backstage's layout), through `object_store` (SigV4, path-style endpoints).
//!
//! The publisher trait is synchronous (builds publish from blocking threads; the API reads
//! from handlers), so each call drives the async client on the runtime it was made on.
//! Publishing uploads every file, then deletes the site's objects the new build no longer has
//! (as Backstage's awsS3 publisher does): a reader may see new and old pages side by side for
//! that moment, never a missing page.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use portico_techdocs::{EntityTriplet, PublishError, Publisher};
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
#[derive(Debug)]
pub struct S3Publisher {
    store: Arc<dyn ObjectStore>,
    handle: Handle,
    bucket: String,
}

fn s3_error(action: &'static str, key: &str, err: impl std::fmt::Display) -> PublishError {
    PublishError::Io {
        action,
        path: key.into(),
        source: std::io::Error::other(err.to_string()),
    }
}

impl S3Publisher {
    /// A publisher for `settings`, on the current tokio runtime.
    pub fn new(settings: &S3Settings) -> anyhow::Result<Self> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket_name)
            .with_region(settings.region.as_deref().unwrap_or("us-east-1"))
            .with_virtual_hosted_style_request(!settings.force_path_style);
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
        })
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
}

impl Publisher for S3Publisher {
    fn publish(&self, entity: &EntityTriplet, site_dir: &Path) -> Result<(), PublishError> {
        let prefix = entity.storage_path()?;
        let mut written = HashSet::new();
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
            files.push((entry.path().to_path_buf(), self.key(&prefix, &relative)?));
        }
        self.run(async {
            for (file, key) in &files {
                let bytes = std::fs::read(file).map_err(|source| PublishError::Io {
                    action: "reading",
                    path: file.clone(),
                    source,
                })?;
                self.store
                    .put(key, PutPayload::from(bytes))
                    .await
                    .map_err(|err| s3_error("uploading", &self.shown(key), err))?;
                written.insert(key.to_string());
            }
            let folder = Key::from(prefix.as_str());
            let old: Vec<Key> = self
                .store
                .list(Some(&folder))
                .map_ok(|meta| meta.location)
                .try_collect()
                .await
                .map_err(|err| s3_error("listing", &self.shown(&folder), err))?;
            for key in old.iter().filter(|k| !written.contains(&k.to_string())) {
                self.store
                    .delete(key)
                    .await
                    .map_err(|err| s3_error("deleting", &self.shown(key), err))?;
            }
            Ok(())
        })
    }

    fn read(&self, entity: &EntityTriplet, path: &str) -> Result<Option<Vec<u8>>, PublishError> {
        let prefix = entity.storage_path()?;
        let path = path.trim_start_matches('/');
        portico_techdocs::config::check_relative(path)
            .map_err(|_| PublishError::BadPath(path.to_owned()))?;
        if path.split('/').any(|part| part == "..") {
            return Err(PublishError::BadPath(path.to_owned()));
        }
        self.run(async {
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
        })
    }
}

//! Builds triggered by the catalog: the [`DocsBuilder`] follows catalog changes (a
//! notification from whoever owns the catalog, through [`DocsCatalog`]), maps every entity
//! with a `backstage.io/techdocs-ref` to its docs source (a **site**: entities sharing a
//! folder share one build), hashes each source once, and queues a build in the
//! [`TechDocsStore`] when the hash differs from the one last asked for (`scan`). A folder
//! without `mkdocs.yml` and a reference that cannot be built are recorded as states, not
//! jobs. Builds are leased jobs (several replicas on one database share them), run at most
//! `concurrency` at a time on a thread pool of that size with a timeout each, are published
//! through the [`Publisher`] for every entity of the site, and their outcome (warnings with
//! file and line, or the error) is stored. Catalog processing never waits: the notification
//! only wakes the scanner, which works through the catalog in small slices.
//!
//! [`DocsBuilds`] is the object-safe face the HTTP layer and the web UI use: build states, and
//! `sync` (build now if stale and report progress, Backstage's `/sync` route).

mod scan;
pub mod source;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use portico_store::{
    BUILD_BUILDING, BUILD_BUILT, BUILD_FAILED, BUILD_NO_CONFIG, BuildOutcome, DocsBuildRecord,
    DocsEntityRow, Requeue, StoreError, TechDocsStore,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Notify, Semaphore, mpsc, watch};

use crate::diagnostics::Warning;
use crate::publish::{EntityTriplet, Publisher};
use crate::site::{BuildOptions, Site};
use scan::{HashCache, ScanMemory, Verdict, folder_verdict, verdict};
use source::{DocsSource, docs_entity, fingerprint};

/// A boxed future, for the object-safe [`DocsBuilds`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Claims of one job before it is failed: a build that kills its builder every time must not
/// be retried forever.
const MAX_ATTEMPTS: i64 = 3;

/// The catalog as the builder sees it (the binary implements it over the catalog engine).
pub trait DocsCatalog: Send + Sync {
    /// Canonical refs of every entity with a `backstage.io/techdocs-ref` annotation, sorted.
    fn documented_refs(&self) -> Vec<String>;
    /// The entities of `refs` still in the catalog, as stored JSON (only `kind`,
    /// `metadata.name`, `metadata.namespace` and the annotations are read). Scans ask for a
    /// few hundred at a time.
    fn entities(&self, refs: &[String]) -> Vec<Value>;
    /// Changes whenever the catalog processed sources (also when nothing changed: a refresh
    /// must reach docs whose files changed next to an unchanged catalog file).
    fn changes(&self) -> watch::Receiver<u64>;
    /// Whether the catalog is complete (loaded): until then a scan would take the entities not
    /// loaded yet for entities without docs.
    fn ready(&self) -> bool {
        true
    }
}

/// Fetches the docs tree a `url:` reference names (the binary implements it over the forges'
/// archive APIs, honouring `backend.reading.allow` and the `integrations.*` tokens).
pub trait DocsFetcher: Send + Sync + std::fmt::Debug {
    /// Unpacks the tree at `url` into the empty folder `into` and returns the folder of its
    /// `mkdocs.yml` (the URL's path inside the repository), or says why it cannot.
    fn fetch<'a>(&'a self, url: &'a str, into: &'a Path) -> BoxFuture<'a, Result<PathBuf, String>>;
}

/// `techdocs.builder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuilderMode {
    /// Build in this server (Backstage's `local`, the default).
    #[default]
    Local,
    /// Never build: sites are published from elsewhere (CI with `portico techdocs publish`).
    External,
}

/// How the builder runs.
#[derive(Debug, Clone)]
pub struct BuilderOptions {
    /// `techdocs.builder`.
    pub mode: BuilderMode,
    /// `techdocs.concurrency`: builds at once in this process, and the threads they share
    /// (a build renders its pages in parallel on them), so builds never take more cores.
    pub concurrency: usize,
    /// `techdocs.buildTimeout`.
    pub build_timeout: Duration,
    /// How long a claimed job stays ours without a heartbeat.
    pub lease: Duration,
    /// How often the catalog is scanned without a notification, and the queue polled for
    /// jobs other replicas queued or left behind.
    pub poll: Duration,
    /// The least time between two scans: a busy refresh loop notifies after every batch of
    /// sources, and each scan hashes every documented entity's docs.
    pub min_scan_interval: Duration,
    /// Where sites are built before they are published (a folder of this process).
    pub work_dir: PathBuf,
    /// Names this builder in leases.
    pub owner: String,
}

impl BuilderOptions {
    /// Defaults (local builds, [`default_concurrency`] at once, 10 minutes each) with sites
    /// built under `work_dir`.
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        Self {
            mode: BuilderMode::Local,
            concurrency: default_concurrency(),
            build_timeout: Duration::from_secs(600),
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(30),
            min_scan_interval: Duration::from_secs(5),
            work_dir: work_dir.into(),
            owner: format!("techdocs-{}-{}", std::process::id(), unique()),
        }
    }
}

/// Half the machine's cores, at least one: builds leave the rest to serving.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (u64::from(nanos) << 16) ^ NEXT.fetch_add(1, Ordering::Relaxed)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Why a build-state question could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task did not finish.
    #[error("the docs builder failed: {0}")]
    Internal(String),
}

/// What the job row says to build (stored as JSON, so any replica can run it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct JobSpec {
    /// The folder of `mkdocs.yml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir: Option<PathBuf>,
    /// A repository tree URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

impl JobSpec {
    fn of(source: &DocsSource) -> Self {
        match source {
            DocsSource::Dir(dir) => Self {
                dir: Some(dir.clone()),
                url: None,
            },
            DocsSource::Url(url) => Self {
                dir: None,
                url: Some(url.clone()),
            },
            DocsSource::Invalid { .. } => Self::default(),
        }
    }

    fn json(source: &DocsSource) -> String {
        serde_json::to_string(&Self::of(source)).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// An entity's build state, for the reader and the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildStatus {
    /// The entity.
    pub entity_ref: String,
    /// `queued`, `building`, `built`, `failed` or `no-config` (no `mkdocs.yml`).
    pub state: String,
    /// When the last successful build finished (ms since the epoch).
    pub last_built_at: Option<i64>,
    /// How long the last finished build took (ms).
    pub duration_ms: Option<i64>,
    /// The last finished build's warnings.
    pub warnings: Vec<Warning>,
    /// Why the last build failed.
    pub error: Option<String>,
}

impl BuildStatus {
    fn of(entity_ref: &str, record: &DocsBuildRecord) -> Self {
        Self {
            entity_ref: entity_ref.to_owned(),
            state: record.state.clone(),
            last_built_at: record.last_built_at,
            duration_ms: record.duration_ms,
            warnings: serde_json::from_str(&record.warnings_json).unwrap_or_default(),
            error: record.error.clone(),
        }
    }
}

/// One event of [`DocsBuilds::sync`] (Backstage's `/sync` event stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// A line of build log.
    Log(String),
    /// Done: whether a new site was published.
    Finish {
        /// A build ran and published.
        updated: bool,
    },
    /// The build failed (or could not run).
    Error(String),
}

/// What the HTTP layer and the web UI ask of the builder.
pub trait DocsBuilds: Send + Sync {
    /// One entity's build state (`entity_ref` canonical); `None` when never queued.
    fn status(&self, entity_ref: String) -> BoxFuture<'_, Result<Option<BuildStatus>, BuildError>>;
    /// Every entity's build state, by ref.
    fn statuses(&self) -> BoxFuture<'_, Result<BTreeMap<String, BuildStatus>, BuildError>>;
    /// Brings the entity's site up to date: builds it if it is stale or was never built
    /// (waiting for the build), then finishes; events arrive on the receiver.
    fn sync(&self, entity: Value) -> mpsc::Receiver<SyncEvent>;
}

/// The builder over a store `T`.
pub struct DocsBuilder<T: TechDocsStore> {
    store: Arc<T>,
    publisher: Arc<dyn Publisher>,
    catalog: Arc<dyn DocsCatalog>,
    options: BuilderOptions,
    /// Wakes the job runner when this process queued something.
    queued: Notify,
    /// Counts builds this process finished (sync waits on it).
    finished: watch::Sender<u64>,
    /// Counts catalog scans this process finished.
    scans: watch::Sender<u64>,
    /// Docs fingerprints by file stamps, for scans.
    hashes: Arc<HashCache>,
    /// What this process knows the store holds (scans write only differences).
    memory: tokio::sync::Mutex<ScanMemory>,
    /// The threads builds run on (`concurrency` of them; `None` if the pool could not be
    /// made, then rayon's global pool).
    pool: Option<Arc<rayon::ThreadPool>>,
    /// Fetches `url:` sources; without it they are recorded as not supported.
    fetcher: Option<Arc<dyn DocsFetcher>>,
}

impl<T: TechDocsStore> std::fmt::Debug for DocsBuilder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocsBuilder")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<T: TechDocsStore> DocsBuilder<T> {
    /// A builder; nothing runs until [`DocsBuilder::run`].
    pub fn new(
        store: Arc<T>,
        publisher: Arc<dyn Publisher>,
        catalog: Arc<dyn DocsCatalog>,
        mut options: BuilderOptions,
    ) -> Self {
        options.concurrency = options.concurrency.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(options.concurrency)
            .thread_name(|n| format!("techdocs-build-{n}"))
            .build()
            .map_err(|err| tracing::warn!(error = %err, "No TechDocs build pool; builds use the shared one."))
            .ok()
            .map(Arc::new);
        Self {
            pool,
            fetcher: None,
            memory: tokio::sync::Mutex::default(),
            store,
            publisher,
            catalog,
            options,
            queued: Notify::new(),
            finished: watch::channel(0).0,
            scans: watch::channel(0).0,
            hashes: Arc::default(),
        }
    }

    /// Builds `url:` sources with the trees `fetcher` fetches.
    #[must_use]
    pub fn with_fetcher(mut self, fetcher: Arc<dyn DocsFetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Fetches `url` into a new folder under the work dir: (the folder to remove afterwards,
    /// the docs folder inside it).
    async fn fetch(&self, url: &str) -> Result<(PathBuf, PathBuf), String> {
        let Some(fetcher) = &self.fetcher else {
            return Err(format!("no fetcher for url techdocs-ref {url}"));
        };
        let root = self.options.work_dir.join(format!("src-{}", unique()));
        std::fs::create_dir_all(&root)
            .map_err(|err| format!("cannot create {}: {err}", root.display()))?;
        match tokio::time::timeout(self.options.build_timeout, fetcher.fetch(url, &root)).await {
            Ok(Ok(dir)) => Ok((root, dir)),
            Ok(Err(err)) => {
                let _ = std::fs::remove_dir_all(&root);
                Err(err)
            }
            Err(_) => {
                let _ = std::fs::remove_dir_all(&root);
                Err(format!(
                    "fetching {url} took longer than {} s (techdocs.buildTimeout)",
                    self.options.build_timeout.as_secs()
                ))
            }
        }
    }

    /// Changes after every build this process finished.
    pub fn finished(&self) -> watch::Receiver<u64> {
        self.finished.subscribe()
    }

    /// Changes after every catalog scan this process finished.
    pub fn scans(&self) -> watch::Receiver<u64> {
        self.scans.subscribe()
    }

    /// Scans the catalog and runs builds until `shutdown` turns true. With
    /// `techdocs.builder: external` it returns at once (nothing is ever built here).
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        if self.options.mode == BuilderMode::External {
            return;
        }
        let scanner = tokio::spawn(Arc::clone(&self).scan_loop(shutdown.clone()));
        self.run_jobs(shutdown).await;
        let _ = scanner.await;
    }

    async fn scan_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut changes = self.catalog.changes();
        loop {
            if stopping(&shutdown) {
                return;
            }
            changes.borrow_and_update();
            let started = Instant::now();
            // A scan before the catalog is loaded does nothing: the next one need not wait.
            let scanned = self.catalog.ready();
            if let Err(err) = self.scan().await {
                tracing::warn!(error = %err, "TechDocs catalog scan failed.");
            }
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        // The catalog is gone; keep polling until shutdown.
                        changes = self.catalog.changes();
                        tokio::time::sleep(self.options.poll).await;
                    }
                }
                () = tokio::time::sleep(self.options.poll) => {}
                () = stop_requested(&mut shutdown) => return,
            }
            if !scanned {
                continue;
            }
            let next = started + self.options.min_scan_interval;
            tokio::select! {
                () = tokio::time::sleep_until(next.into()) => {}
                () = stop_requested(&mut shutdown) => return,
            }
        }
    }

    /// Runs queued builds (this process's and other replicas') until `shutdown` turns true,
    /// without scanning the catalog: [`DocsBuilder::run`] does both; this alone builds only
    /// what [`DocsBuilder::scan`] or `sync` queue.
    pub async fn run_jobs(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.options.concurrency));
        let idle = self.options.poll.min(Duration::from_secs(2));
        loop {
            if stopping(&shutdown) {
                return;
            }
            let permit = tokio::select! {
                permit = Arc::clone(&permits).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
                () = stop_requested(&mut shutdown) => return,
            };
            let claimed = self
                .store
                .claim_build(&self.options.owner, now_ms(), millis(self.options.lease))
                .await;
            match claimed {
                Ok(Some(record)) => {
                    let builder = Arc::clone(&self);
                    tokio::spawn(async move {
                        builder.run_job(record).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        () = self.queued.notified() => {}
                        () = tokio::time::sleep(idle) => {}
                        () = stop_requested(&mut shutdown) => return,
                    }
                }
                Err(err) => {
                    drop(permit);
                    tracing::warn!(error = %err, "Claiming a TechDocs build failed.");
                    tokio::select! {
                        () = tokio::time::sleep(idle) => {}
                        () = stop_requested(&mut shutdown) => return,
                    }
                }
            }
        }
    }

    /// Runs one claimed job to its stored outcome.
    async fn run_job(&self, record: DocsBuildRecord) {
        let started = Instant::now();
        let entity_ref = record.site_key.clone();
        let mut content_hash = None;
        let (warnings, error) = self.build_job(&record, &mut content_hash).await;
        let outcome = BuildOutcome {
            error: error.clone(),
            content_hash,
            warnings_json: serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".to_owned()),
            duration_ms: millis(started.elapsed()),
            now: now_ms(),
        };
        match self
            .store
            .finish_build(&entity_ref, &self.options.owner, outcome)
            .await
        {
            Ok(true) => match &error {
                None => tracing::info!(
                    site = %entity_ref,
                    warnings = warnings.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "TechDocs site built and published."
                ),
                Some(error) => {
                    tracing::warn!(site = %entity_ref, %error, "TechDocs build failed.");
                }
            },
            Ok(false) => tracing::info!(
                site = %entity_ref,
                "TechDocs build superseded by a newer request; its result was dropped."
            ),
            Err(err) => {
                tracing::warn!(site = %entity_ref, error = %err, "TechDocs build outcome not stored.");
            }
        }
        self.finished.send_modify(|n| *n += 1);
    }

    /// Builds and publishes; the warnings, and the error when it failed.
    /// A fetched tree's content hash goes to `content_hash`.
    async fn build_job(
        &self,
        record: &DocsBuildRecord,
        content_hash: &mut Option<String>,
    ) -> (Vec<Warning>, Option<String>) {
        let spec: JobSpec = match serde_json::from_str(&record.spec_json) {
            Ok(spec) => spec,
            Err(err) => return (Vec::new(), Some(format!("unreadable build job: {err}"))),
        };
        if record.attempts > MAX_ATTEMPTS {
            return (
                Vec::new(),
                Some(format!(
                    "gave up after {MAX_ATTEMPTS} attempts: the builder stopped before finishing each time"
                )),
            );
        }
        // A fetched tree is removed when its build ends (also an abandoned one).
        let (dir, fetched) = match (spec.dir, spec.url) {
            (Some(dir), _) => (dir, None),
            (None, Some(url)) => match self.fetch(&url).await {
                Ok((root, dir)) => {
                    let of = dir.clone();
                    *content_hash = tokio::task::spawn_blocking(move || fingerprint(&of).hash)
                        .await
                        .ok();
                    (dir, Some(root))
                }
                Err(err) => return (Vec::new(), Some(err)),
            },
            (None, None) => {
                return (Vec::new(), Some("the build job names no folder".to_owned()));
            }
        };
        let out = self.options.work_dir.join(format!("site-{}", unique()));
        let abandoned = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&abandoned);
        let build_out = out.clone();
        let pool = self.pool.clone();
        let build = tokio::task::spawn_blocking(move || {
            let build = || Site::new(&dir, &build_out, BuildOptions::default()).build();
            // Pages render in parallel on the build pool only, never on every core.
            let result = match pool {
                Some(pool) => pool.install(build),
                None => build(),
            };
            // A build abandoned after its timeout cleans up after itself.
            if flag.load(Ordering::SeqCst) {
                let _ = std::fs::remove_dir_all(&build_out);
            }
            if let Some(root) = fetched {
                let _ = std::fs::remove_dir_all(root);
            }
            result
        });
        let heartbeat = tokio::spawn(heartbeat(
            Arc::clone(&self.store),
            record.site_key.clone(),
            self.options.owner.clone(),
            self.options.lease,
        ));
        let outcome = match tokio::time::timeout(self.options.build_timeout, build).await {
            Ok(Ok(Ok(report))) => self.publish(record, &out, report.warnings).await,
            Ok(Ok(Err(err))) => (Vec::new(), Some(err.to_string())),
            Ok(Err(err)) => (Vec::new(), Some(format!("the build stopped: {err}"))),
            Err(_) => {
                // The blocking thread cannot be stopped; it must not be published.
                abandoned.store(true, Ordering::SeqCst);
                (
                    Vec::new(),
                    Some(format!(
                        "the build took longer than {} s (techdocs.buildTimeout) and was abandoned",
                        self.options.build_timeout.as_secs()
                    )),
                )
            }
        };
        heartbeat.abort();
        if !abandoned.load(Ordering::SeqCst) {
            let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&out)).await;
        }
        outcome
    }

    /// Publishes a built site for every entity of its site, unless a newer request superseded
    /// the job meanwhile (publishing it then could replace the newer site with an older one).
    async fn publish(
        &self,
        record: &DocsBuildRecord,
        out: &Path,
        warnings: Vec<Warning>,
    ) -> (Vec<Warning>, Option<String>) {
        let still_ours = self
            .store
            .heartbeat_build(
                &record.site_key,
                &self.options.owner,
                now_ms(),
                millis(self.options.lease),
            )
            .await;
        if matches!(still_ours, Ok(false)) {
            return (
                warnings,
                Some("superseded by a newer version of the docs source".to_owned()),
            );
        }
        let entities = match self.store.site_entities(&record.site_key).await {
            Ok(entities) => entities,
            Err(err) => return (warnings, Some(format!("publishing failed: {err}"))),
        };
        let triplets: Vec<EntityTriplet> = entities
            .iter()
            .filter_map(|entity_ref| triplet_of(entity_ref))
            .collect();
        let publisher = Arc::clone(&self.publisher);
        let site = out.to_path_buf();
        let published = tokio::task::spawn_blocking(move || {
            let mut failures = Vec::new();
            for triplet in &triplets {
                if let Err(err) = publisher.publish(triplet, &site) {
                    failures.push(format!(
                        "{}:{}/{}: {err}",
                        triplet.kind, triplet.namespace, triplet.name
                    ));
                }
            }
            failures
        })
        .await;
        match published {
            Ok(failures) if failures.is_empty() => (warnings, None),
            Ok(failures) => (
                warnings,
                Some(format!("publishing failed: {}", failures.join("; "))),
            ),
            Err(err) => (warnings, Some(format!("publishing stopped: {err}"))),
        }
    }

    async fn status_of(&self, entity_ref: &str) -> Result<Option<BuildStatus>, BuildError> {
        Ok(self
            .store
            .docs_build(entity_ref)
            .await?
            .as_ref()
            .map(|record| BuildStatus::of(entity_ref, record)))
    }

    async fn all_statuses(&self) -> Result<BTreeMap<String, BuildStatus>, BuildError> {
        let sites: std::collections::HashMap<String, DocsBuildRecord> = self
            .store
            .docs_builds()
            .await?
            .into_iter()
            .map(|record| (record.site_key.clone(), record))
            .collect();
        Ok(self
            .store
            .docs_entities()
            .await?
            .into_iter()
            .filter_map(|row| {
                let record = sites.get(&row.site_key)?;
                Some((
                    row.entity_ref.clone(),
                    BuildStatus::of(&row.entity_ref, record),
                ))
            })
            .collect())
    }

    /// The `/sync` conversation for one entity.
    async fn sync_entity(&self, entity: Value, events: mpsc::Sender<SyncEvent>) {
        let result = self.sync_steps(entity, &events).await;
        let last = match result {
            Ok(updated) => SyncEvent::Finish { updated },
            Err(message) => SyncEvent::Error(message),
        };
        let _ = events.send(last).await;
    }

    async fn sync_steps(
        &self,
        entity: Value,
        events: &mpsc::Sender<SyncEvent>,
    ) -> Result<bool, String> {
        let log = |line: String| async move {
            let _ = events.send(SyncEvent::Log(line)).await;
        };
        if self.options.mode == BuilderMode::External {
            return Ok(false);
        }
        let Some(docs) = docs_entity(&entity) else {
            return Err("the entity has no backstage.io/techdocs-ref annotation".to_owned());
        };
        let store_error = |err: StoreError| err.to_string();
        let key = docs.source.site_key();
        let joined = !self
            .store
            .map_docs_entities(&[DocsEntityRow {
                entity_ref: docs.entity_ref.clone(),
                site_key: key.clone(),
            }])
            .await
            .map_err(store_error)?
            .is_empty();
        let verdict = match &docs.source {
            // The reader opened url docs: fetch the tree to see whether it changed.
            DocsSource::Url(url) if self.fetcher.is_some() => {
                log(format!("Fetching {url}…")).await;
                let (root, dir) = self.fetch(url).await?;
                let shown = url.clone();
                tokio::task::spawn_blocking(move || {
                    let verdict = folder_verdict(fingerprint(&dir), &shown);
                    let _ = std::fs::remove_dir_all(root);
                    verdict
                })
                .await
                .map_err(|err| err.to_string())?
            }
            source => {
                let source = source.clone();
                let cache = Arc::clone(&self.hashes);
                let fetchable = self.fetcher.is_some();
                tokio::task::spawn_blocking(move || verdict(&source, &cache, fetchable))
                    .await
                    .map_err(|err| err.to_string())?
            }
        };
        let spec = JobSpec::json(&docs.source);
        let (state, hash, message) = match verdict {
            Verdict::Build(hash) => (None, hash, String::new()),
            Verdict::NoConfig(hash, message) => (Some(BUILD_NO_CONFIG), hash, message),
            Verdict::Unbuildable(hash, message) => (Some(BUILD_FAILED), hash, message),
        };
        if let Some(state) = state {
            self.store
                .record_unbuildable(&key, &hash, &spec, state, &message, now_ms())
                .await
                .map_err(store_error)?;
            return Err(message);
        }
        let current = self.store.docs_site(&key).await.map_err(store_error)?;
        if !joined
            && let Some(record) = &current
            && record.state == BUILD_BUILT
            && record.built_hash.as_deref() == Some(hash.as_str())
        {
            return Ok(false);
        }
        let requeue = if joined {
            Requeue::Always
        } else {
            Requeue::RetryFailed
        };
        self.store
            .enqueue_build(&key, &hash, &spec, requeue, now_ms())
            .await
            .map_err(store_error)?;
        self.queued.notify_one();
        log(format!(
            "The docs of {} are out of date: a build is queued.",
            docs.entity_ref
        ))
        .await;
        let mut finished = self.finished.subscribe();
        let deadline = Instant::now() + self.options.build_timeout + Duration::from_secs(60);
        let mut said_building = false;
        loop {
            let record = self
                .store
                .docs_site(&key)
                .await
                .map_err(store_error)?
                .ok_or_else(|| {
                    "the build request vanished (the entity lost its docs)".to_owned()
                })?;
            // A newer change to the source supersedes the hash asked for: wait for that one.
            let wanted = record.source_hash.clone();
            if record.state == BUILD_BUILT && record.built_hash.as_deref() == Some(wanted.as_str())
            {
                let warnings: Vec<Warning> =
                    serde_json::from_str(&record.warnings_json).unwrap_or_default();
                for warning in &warnings {
                    log(format!("warning: {warning}")).await;
                }
                log(format!(
                    "Built in {} ms with {} warning(s).",
                    record.duration_ms.unwrap_or(0),
                    warnings.len()
                ))
                .await;
                return Ok(true);
            }
            if record.state == BUILD_FAILED {
                return Err(record
                    .error
                    .unwrap_or_else(|| "the build failed".to_owned()));
            }
            if record.state == BUILD_BUILDING && !said_building {
                said_building = true;
                log("Building the site…".to_owned()).await;
            }
            if Instant::now() >= deadline {
                return Err("timed out waiting for the docs build".to_owned());
            }
            // Builds of other replicas do not wake us: poll as well.
            tokio::select! {
                _ = finished.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }
}

/// Keeps the lease of a running build until aborted, or until the job is no longer ours
/// (superseded: the build goes on, its outcome will not be stored).
async fn heartbeat<T: TechDocsStore>(
    store: Arc<T>,
    site_key: String,
    owner: String,
    lease: Duration,
) {
    loop {
        tokio::time::sleep(lease / 3).await;
        match store
            .heartbeat_build(&site_key, &owner, now_ms(), millis(lease))
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(err) => tracing::warn!(error = %err, "TechDocs build heartbeat failed."),
        }
    }
}

/// The triplet of a canonical ref (`kind:namespace/name`).
fn triplet_of(entity_ref: &str) -> Option<EntityTriplet> {
    let (kind, rest) = entity_ref.split_once(':')?;
    let (namespace, name) = rest.split_once('/')?;
    Some(EntityTriplet::new(namespace, kind, name))
}

/// Resolves once `shutdown` turns true or its sender is gone.
async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Whether the worker should stop now.
fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

impl<T: TechDocsStore> DocsBuilds for Arc<DocsBuilder<T>> {
    fn status(&self, entity_ref: String) -> BoxFuture<'_, Result<Option<BuildStatus>, BuildError>> {
        Box::pin(async move { self.status_of(&entity_ref).await })
    }

    fn statuses(&self) -> BoxFuture<'_, Result<BTreeMap<String, BuildStatus>, BuildError>> {
        Box::pin(self.all_statuses())
    }

    fn sync(&self, entity: Value) -> mpsc::Receiver<SyncEvent> {
        let (sender, receiver) = mpsc::channel(64);
        let builder = Arc::clone(self);
        tokio::spawn(async move { builder.sync_entity(entity, sender).await });
        receiver
    }
}

//! The catalog engine: registers locations, processes their sources into the store, stitches
//! final entities and keeps the in-memory read model current; a refresh loop re-reads sources
//! when they are due, claiming them as leased work so several replicas can share a database.
//!
//! A newly registered location is processed — all its files, however deep — before
//! [`Engine::register_location`] returns, so its entities are queryable at once.

pub mod locations;
pub mod processing;
pub mod providers;
pub mod settings;
mod snapshot;

use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use portico_model::KindRegistry;
use portico_model::stitch::{StitchError, stitch_entity};
use portico_store::{
    CatalogStore, LocationOrigin, LocationRecord, NewLocation, StitchInput, Stitcher, StoreError,
    StoredEntity,
};
use serde_json::Value;
use tokio::sync::watch;

use crate::read_model::ReadModel;
use crate::reader::SourceReader;
use processing::{location_target, process_source};
pub use settings::CatalogSettings;
pub use snapshot::{ReadModelOrigin, SyncReport};

/// Milliseconds since the epoch, from an injectable clock.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    })
}

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request is invalid (bad location type or target).
    #[error("{0}")]
    Input(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The thing exists already.
    #[error("{0}")]
    Conflict(String),
    /// Not allowed (e.g. a host that `backend.reading.allow` does not list).
    #[error("{0}")]
    NotAllowed(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A background task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for EngineError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::NotFound(message) => Self::NotFound(message),
            other => Self::Store(other),
        }
    }
}

/// Result of an engine operation.
pub type EngineResult<T> = Result<T, EngineError>;

/// Builds final entities with the model's stitching rules.
#[derive(Debug, Default, Clone, Copy)]
pub struct ModelStitcher;

impl Stitcher for ModelStitcher {
    fn stitch(&self, input: &StitchInput<'_>) -> (String, String) {
        let entity: Value = serde_json::from_str(input.entity_json).unwrap_or(Value::Null);
        let errors: Vec<StitchError<'_>> = input
            .errors
            .iter()
            .map(|e| StitchError {
                name: &e.name,
                message: &e.message,
            })
            .collect();
        stitch_entity(&entity, input.uid, input.relations, &errors, input.orphan)
    }

    fn stitch_all(&self, inputs: &[StitchInput<'_>]) -> Vec<(String, String)> {
        use rayon::prelude::*;
        inputs.par_iter().map(|input| self.stitch(input)).collect()
    }
}

const STITCH_BATCH: usize = 1_000;

/// How often the refresh loop forgets expired deletion tombstones.
const TOMBSTONE_PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// A source being read and parsed on a blocking thread.
struct Started {
    key: String,
    task: tokio::task::JoinHandle<Option<portico_store::SourceUpdate>>,
}
/// Sources read and parsed at once while their predecessors are written.
const PARALLEL_SOURCES: usize = 8;
/// Most sources written in one transaction while a location tree is first processed.
const WRITE_BATCH: usize = 8;

/// The catalog engine over a store `S`.
pub struct Engine<S: CatalogStore> {
    store: Arc<S>,
    reader: Arc<dyn SourceReader>,
    kinds: Arc<KindRegistry>,
    settings: Arc<CatalogSettings>,
    /// Shared with the blocking threads that index stitched batches.
    read_model: Arc<RwLock<ReadModel>>,
    loaded: AtomicBool,
    worker: String,
    clock: Clock,
    /// Where the read model is saved between runs (see `snapshot.rs`), if anywhere.
    snapshot_path: Option<std::path::PathBuf>,
    /// The store change the read model is complete up to (`None` until loaded).
    position: std::sync::Mutex<Option<portico_store::ChangePosition>>,
    /// Held shared by every own write to final entities until the read model has it, and
    /// exclusively to learn a position all own writes up to which are in the read model.
    write_gate: tokio::sync::RwLock<()>,
    /// How the last [`Engine::load`] filled the read model.
    origin: std::sync::Mutex<Option<ReadModelOrigin>>,
    /// The position of the last snapshot written or loaded as current.
    snapshot_written: std::sync::Mutex<Option<i64>>,
    /// The providers of registered and configured locations (`locations.rs`).
    locations: locations::LocationProviders,
    /// Counts rounds of processing (see [`Engine::processed`]).
    processed: watch::Sender<u64>,
}

impl<S: CatalogStore> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl<S: CatalogStore> Engine<S> {
    /// Opens the engine and loads it ([`Engine::new`] then [`Engine::load`]).
    pub async fn open(
        store: Arc<S>,
        reader: Arc<dyn SourceReader>,
        settings: CatalogSettings,
        clock: Clock,
    ) -> EngineResult<Self> {
        let engine = Self::new(store, reader, settings, clock);
        engine.load().await?;
        engine.mark_loaded();
        Ok(engine)
    }

    /// An engine whose read model is still empty: call [`Engine::load`], then
    /// [`Engine::mark_loaded`] once the catalog is as it should be answered ([`Engine::is_loaded`]
    /// tells). Lets a server listen while a large catalog loads.
    pub fn new(
        store: Arc<S>,
        reader: Arc<dyn SourceReader>,
        mut settings: CatalogSettings,
        clock: Clock,
    ) -> Self {
        // Location rules name targets as configured; locations are stored normalized.
        for (location_type, target, _) in &mut settings.location_kinds {
            if location_type == "file"
                && let Ok(path) = std::path::absolute(&*target)
            {
                *target = crate::reader::Target::File(path).normalized().to_string();
            }
        }
        Self {
            store,
            reader,
            kinds: Arc::new(KindRegistry::builtin()),
            settings: Arc::new(settings),
            read_model: Arc::new(RwLock::new(ReadModel::default())),
            loaded: AtomicBool::new(false),
            worker: format!("portico-{}", uuid::Uuid::new_v4()),
            clock,
            snapshot_path: None,
            position: std::sync::Mutex::new(None),
            write_gate: tokio::sync::RwLock::new(()),
            origin: std::sync::Mutex::new(None),
            snapshot_written: std::sync::Mutex::new(None),
            locations: locations::LocationProviders::new(),
            processed: watch::channel(0).0,
        }
    }

    /// Finishes any stitching a previous run left and fills the read model: from the snapshot
    /// file if there is a valid one for this database (then catching up with the changes made
    /// since it was written), else from every stored entity. Does not mark the engine loaded (a
    /// server first registers its configured locations).
    pub async fn load(&self) -> EngineResult<()> {
        self.stitch_pending().await?;
        let _gate = self.write_gate.write().await;
        let position = self.store.change_position().await?;
        if let Some(report) = self.load_snapshot(&position).await? {
            self.set_position(position);
            self.set_origin(ReadModelOrigin::Snapshot(report));
            return Ok(());
        }
        self.rebuild_read_model().await?;
        self.set_position(position);
        self.set_origin(ReadModelOrigin::Rebuilt);
        Ok(())
    }

    /// Declares the catalog complete enough to answer queries.
    pub fn mark_loaded(&self) {
        self.loaded.store(true, Ordering::SeqCst);
    }

    /// Whether the catalog has been loaded ([`Engine::mark_loaded`]): until then queries would
    /// see a partial catalog.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::SeqCst)
    }

    /// The read model, for queries. Hold the guard briefly.
    pub fn read_model(&self) -> RwLockReadGuard<'_, ReadModel> {
        self.read_model
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Changes after every round of processing (registering, refreshing, the refresh loop's
    /// due sources, deletions), whether or not any entity changed: for followers such as the
    /// TechDocs builder, whose input (files next to a catalog file) can change while the
    /// catalog does not. Never waits for them.
    pub fn processed(&self) -> watch::Receiver<u64> {
        self.processed.subscribe()
    }

    /// The engine's settings.
    pub fn settings(&self) -> &CatalogSettings {
        &self.settings
    }

    /// The kinds the engine accepts.
    pub fn kinds(&self) -> &KindRegistry {
        &self.kinds
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    /// Registers a location and processes everything it leads to before returning.
    pub async fn register_location(
        &self,
        location_type: &str,
        target: &str,
        origin: LocationOrigin,
    ) -> EngineResult<LocationRecord> {
        let target = self.check_location(location_type, target)?;
        let record = self
            .store
            .add_location(NewLocation {
                id: uuid::Uuid::new_v4().to_string(),
                location_type: location_type.to_owned(),
                target,
                origin,
                now: self.now(),
            })
            .await?;
        self.push_locations(origin, locations::LocationPush::Added(&record))
            .await?;
        Ok(record)
    }

    /// Checks a location's type and target and returns the target in stored form (file paths
    /// made absolute, so that one file has one key).
    pub fn check_location(&self, location_type: &str, target: &str) -> EngineResult<String> {
        let target = target.trim();
        if target.is_empty() {
            return Err(EngineError::Input(
                "the location target is empty".to_owned(),
            ));
        }
        match location_type {
            "file" => {
                let path = std::path::absolute(target).map_err(|err| {
                    EngineError::Input(format!("invalid file location {target:?}: {err}"))
                })?;
                let normalized = crate::reader::Target::File(path).normalized();
                Ok(normalized.to_string())
            }
            "url" => {
                let url = url::Url::parse(target).map_err(|err| {
                    EngineError::Input(format!("invalid url location {target:?}: {err}"))
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(EngineError::Input(format!(
                        "url location {target:?} must use http or https"
                    )));
                }
                if !self.settings.reading_allow.allows(&url) {
                    return Err(EngineError::NotAllowed(format!(
                        "reading from {} is not allowed; add the host to backend.reading.allow",
                        url.host_str().unwrap_or_default()
                    )));
                }
                Ok(url.to_string())
            }
            other => Err(EngineError::Input(format!(
                "location type {other:?} is not supported; use file or url"
            ))),
        }
    }

    /// Processes a location in memory without storing anything (`POST /locations?dryRun=true`):
    /// the entities it would produce, with the annotations the catalog would add, and whether
    /// it is registered already. Any error in the tree fails the dry run with every message.
    pub async fn dry_run(
        &self,
        location_type: &str,
        target: &str,
    ) -> EngineResult<(Vec<Value>, bool)> {
        let stored_target = self.check_location(location_type, target)?;
        let exists = self
            .store
            .locations()
            .await?
            .iter()
            .any(|l| l.location_type == location_type && l.target == stored_target);
        let record = LocationRecord {
            id: String::new(),
            location_type: location_type.to_owned(),
            target: stored_target,
            origin: LocationOrigin::Api,
        };
        let Some(root) = location_target(&record) else {
            return Err(EngineError::Input(format!(
                "location type {location_type:?} is not supported; use file or url"
            )));
        };
        let reader = Arc::clone(&self.reader);
        let kinds = Arc::clone(&self.kinds);
        let report = tokio::task::spawn_blocking(move || {
            crate::walk::walk(&[root], reader.as_ref(), &kinds)
        })
        .await
        .map_err(|err| EngineError::Internal(format!("dry run failed: {err}")))?;
        let errors: Vec<String> = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::descriptor::Severity::Error)
            .map(ToString::to_string)
            .collect();
        if !errors.is_empty() {
            return Err(EngineError::Input(errors.join("; ")));
        }
        let origin = processing::location_ref(&record);
        let mut entities = Vec::with_capacity(report.entities.len());
        for processed in report.entities {
            if !self.settings.allows_kind_at(
                &processed.validated.entity.kind,
                location_type,
                &record.target,
            ) {
                continue;
            }
            let mut entity = processed.validated.entity;
            entity.metadata.annotations.insert(
                processing::MANAGED_BY_LOCATION.to_owned(),
                processed.source.source_key(),
            );
            entity.metadata.annotations.insert(
                processing::MANAGED_BY_ORIGIN_LOCATION.to_owned(),
                origin.clone(),
            );
            entities.push(serde_json::to_value(&entity).unwrap_or(Value::Null));
        }
        Ok((entities, exists))
    }

    /// Points a registered location somewhere else (`PUT /locations/:id`), keeping its id, and
    /// processes the new tree before returning; what the old target produced is retired like
    /// anything a location stops emitting.
    pub async fn update_location(
        &self,
        id: &str,
        location_type: &str,
        target: &str,
    ) -> EngineResult<LocationRecord> {
        let target = self.check_location(location_type, target)?;
        let record = self
            .store
            .update_location(id, location_type, &target)
            .await?;
        self.push_locations(record.origin, locations::LocationPush::Added(&record))
            .await?;
        Ok(record)
    }

    /// Unregisters a location; its entities are deleted.
    pub async fn unregister_location(&self, id: &str) -> EngineResult<Vec<String>> {
        match self.store.location(id).await? {
            Some(record) if matches!(record.location_type.as_str(), "file" | "url") => {
                self.push_locations(record.origin, locations::LocationPush::Removed(&record))
                    .await
            }
            // Not a provided location (an entity provider's own, or none: the store says so).
            _ => self.remove_location_now(id).await,
        }
    }

    /// Deletes a location and its entities from the store and the read model.
    pub(crate) async fn remove_location_now(&self, id: &str) -> EngineResult<Vec<String>> {
        let removal = {
            let _gate = self.write_gate.read().await;
            let removal = self.store.remove_location(id).await?;
            self.index(&[], &removal.removed);
            removal
        };
        self.stitch_pending().await?;
        Ok(removal.removed)
    }

    /// Makes the registered locations of origin `config` match `wanted` (`(type, target)`
    /// pairs): the config-locations provider pushes the full set, so new ones are added and
    /// processed and those no longer configured are unregistered. A target registered through
    /// the API already stays as it is.
    pub async fn sync_config_locations(&self, wanted: &[(String, String)]) -> EngineResult<()> {
        let existing = self.store.locations().await?;
        let mut records = Vec::new();
        for (location_type, target) in wanted {
            let target = self.check_location(location_type, target)?;
            match existing
                .iter()
                .find(|l| l.location_type == *location_type && l.target == target)
            {
                Some(record) if record.origin == LocationOrigin::Config => {
                    records.push(record.clone());
                }
                Some(_) => {}
                None => records.push(LocationRecord {
                    id: String::new(),
                    location_type: location_type.clone(),
                    target,
                    origin: LocationOrigin::Config,
                }),
            }
        }
        self.push_locations(
            LocationOrigin::Config,
            locations::LocationPush::All(&records),
        )
        .await?;
        Ok(())
    }

    /// Applies an update to its source, then processes everything new it leads to, then
    /// stitches.
    pub(crate) async fn process_update_tree(
        &self,
        update: portico_store::SourceUpdate,
    ) -> EngineResult<()> {
        let outcome = {
            let _gate = self.write_gate.read().await;
            let outcome = self
                .store
                .apply_source(update, self.settings.orphan_strategy)
                .await?;
            self.index(&[], &outcome.removed);
            outcome
        };
        self.process_queue(outcome.new_children.into()).await
    }

    /// Processes the queued sources now, then everything new they lead to, then stitches. Up to
    /// [`PARALLEL_SOURCES`] sources are read and parsed at any time while finished ones are
    /// written in order, so the database writer never waits for a whole batch to be parsed.
    async fn process_queue(&self, mut queue: VecDeque<String>) -> EngineResult<()> {
        let mut running = VecDeque::new();
        loop {
            while running.len() < PARALLEL_SOURCES
                && let Some(key) = queue.pop_front()
            {
                if let Some(started) = self.start_processing(key, true).await? {
                    running.push_back(started);
                }
            }
            let Some(first) = running.pop_front() else {
                break;
            };
            // Sources already parsed by the time the first one is are written with it, in one
            // transaction.
            let mut batch = vec![first];
            while batch.len() < WRITE_BATCH
                && running
                    .front()
                    .is_some_and(|s: &Started| s.task.is_finished())
                && let Some(next) = running.pop_front()
            {
                batch.push(next);
            }
            queue.extend(self.finish_processing_batch(batch).await?);
        }
        self.stitch_pending().await
    }

    /// Waits for started sources and applies them to the store in one transaction; returns
    /// the child sources they added.
    async fn finish_processing_batch(&self, batch: Vec<Started>) -> EngineResult<Vec<String>> {
        let mut updates = Vec::with_capacity(batch.len());
        for Started { key, task } in batch {
            let update = task
                .await
                .map_err(|err| EngineError::Internal(format!("processing {key} failed: {err}")))?;
            let next = self.next_refresh_at(&key);
            match update {
                Some(mut update) => {
                    update.next_refresh_at = next;
                    updates.push(update);
                }
                None => self.store.reschedule_source(&key, next).await?,
            }
        }
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        let _gate = self.write_gate.read().await;
        let outcomes = self
            .store
            .apply_sources(updates, self.settings.orphan_strategy)
            .await?;
        let mut children = Vec::new();
        for outcome in outcomes {
            self.index(&[], &outcome.removed);
            children.extend(outcome.new_children);
        }
        Ok(children)
    }

    /// Processes one source; returns the child sources it added.
    pub(crate) async fn process_key(&self, key: &str, force: bool) -> EngineResult<Vec<String>> {
        self.process_keys(vec![key.to_owned()], force).await
    }

    /// Processes sources: reading and parsing run in parallel on blocking threads, the results
    /// are applied to the store one by one in order. Returns the child sources they added.
    pub(crate) async fn process_keys(
        &self,
        keys: Vec<String>,
        force: bool,
    ) -> EngineResult<Vec<String>> {
        let mut running = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(started) = self.start_processing(key, force).await? {
                running.push(started);
            }
        }
        let mut children = Vec::new();
        for started in running {
            children.extend(self.finish_processing_batch(vec![started]).await?);
        }
        Ok(children)
    }

    /// Starts reading and parsing a source on a blocking thread; `None` if there is nothing to
    /// read (the source or its location is gone, or a provider pushes its entities).
    async fn start_processing(&self, key: String, force: bool) -> EngineResult<Option<Started>> {
        let Some(source) = self.store.source(&key).await? else {
            return Ok(None);
        };
        let Some(location) = self.store.location(&source.location_id).await? else {
            return Ok(None);
        };
        if location.location_type == providers::PROVIDER_LOCATION_TYPE
            || key == location.source_key()
        {
            // A provider pushes its entities (a registered location's own entity is pushed by
            // its location provider); there is nothing to read.
            self.store.reschedule_source(&key, i64::MAX).await?;
            return Ok(None);
        }
        let reader = Arc::clone(&self.reader);
        let kinds = Arc::clone(&self.kinds);
        let settings = Arc::clone(&self.settings);
        let owned_key = key.clone();
        let previous = if force { None } else { source.content_hash };
        let task = tokio::task::spawn_blocking(move || {
            process_source(
                &owned_key,
                previous.as_deref(),
                &location,
                reader.as_ref(),
                &kinds,
                &settings,
            )
        });
        Ok(Some(Started { key, task }))
    }

    /// When a source processed now is next due: the interval with ±25% jitter, so that
    /// sources registered together do not refresh together.
    fn next_refresh_at(&self, key: &str) -> i64 {
        let now = self.now();
        let Some(interval) = self.settings.processing_interval else {
            return i64::MAX;
        };
        let mut hasher = DefaultHasher::new();
        (key, now).hash(&mut hasher);
        let jitter = (hasher.finish() % 1000) as f64 / 1000.0 * 0.5 - 0.25;
        let millis = interval.as_millis() as f64 * (1.0 + jitter);
        now.saturating_add(millis as i64)
    }

    /// Stitches everything marked and updates the read model, as a pipeline over batches: while
    /// the store writes batch N, it reads batch N+1 (on another connection), and batch N−1 is
    /// indexed on a blocking thread; batch N+1 is stitched on the CPU pool once read. A large
    /// first load so keeps both the database and the cores busy instead of taking turns.
    pub(crate) async fn stitch_pending(&self) -> EngineResult<()> {
        // One shared hold of the gate for the whole run: every batch written is in the read
        // model before it is released (see `write_gate`).
        let _gate = self.write_gate.read().await;
        let mut indexing: Option<tokio::task::JoinHandle<()>> = None;
        let mut to_write: Vec<portico_store::Stitched> = Vec::new();
        // Batches are read in ref order after the last one read, since the batch being written
        // is still queued; a pass that finds nothing starts over from the first ref, and the run
        // ends when a pass from the start finds nothing (what was skipped or marked again since
        // is picked up then).
        let mut after: Option<String> = None;
        loop {
            let writing = std::mem::take(&mut to_write);
            let nothing_to_write = writing.is_empty();
            let (pending, written) = tokio::join!(
                self.store.pending_stitches(after.as_deref(), STITCH_BATCH),
                self.store.write_stitched(writing),
            );
            let written = written?;
            if !written.is_empty() {
                if let Some(previous) = indexing.take() {
                    previous
                        .await
                        .map_err(|err| EngineError::Internal(format!("indexing failed: {err}")))?;
                }
                let model = Arc::clone(&self.read_model);
                indexing = Some(tokio::task::spawn_blocking(move || {
                    index_into(&model, &written, &[]);
                }));
            }
            let pending = pending?;
            let Some(last) = pending.last() else {
                if after.is_none() && nothing_to_write {
                    break;
                }
                after = None;
                continue;
            };
            after = Some(last.entity_ref.clone());
            to_write = tokio::task::spawn_blocking(move || {
                portico_store::stitch_batch(&ModelStitcher, pending)
            })
            .await
            .map_err(|err| EngineError::Internal(format!("stitching failed: {err}")))?;
        }
        if let Some(previous) = indexing.take() {
            previous
                .await
                .map_err(|err| EngineError::Internal(format!("indexing failed: {err}")))?;
        }
        self.processed.send_modify(|round| *round += 1);
        Ok(())
    }

    pub(crate) fn index(&self, upserted: &[StoredEntity], removed: &[String]) {
        index_into(&self.read_model, upserted, removed);
    }

    /// Sources due for processing now, and entities waiting to be stitched.
    pub async fn queue_depth(&self) -> EngineResult<(u64, u64)> {
        Ok(self.store.queue_depth(self.now()).await?)
    }

    /// One round of the refresh loop: processes up to `limit` due sources. Returns how many.
    pub async fn process_due(&self, limit: usize) -> EngineResult<usize> {
        let lease = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX);
        let due = self
            .store
            .claim_due_sources(&self.worker, self.now(), lease, limit)
            .await?;
        self.process_keys(due.iter().map(|s| s.key.clone()).collect(), false)
            .await?;
        if !due.is_empty() {
            self.stitch_pending().await?;
        }
        Ok(due.len())
    }

    /// Re-reads now the file that defines an entity and the Location file that leads to it
    /// (like Backstage, which refreshes the nearest location ancestor too), then what they
    /// lead to. False if no such entity.
    pub async fn refresh_entity(&self, entity_ref: &str) -> EngineResult<bool> {
        let entity_ref = entity_ref.to_lowercase();
        let Some((_, source_key)) = self.store.entity_origin(&entity_ref).await? else {
            return Ok(false);
        };
        self.store.request_refresh(&entity_ref, self.now()).await?;
        let parent = self
            .store
            .source(&source_key)
            .await?
            .and_then(|s| s.parent_key);
        let mut queue: VecDeque<String> = parent.into_iter().chain([source_key]).collect();
        while let Some(key) = queue.pop_front() {
            queue.extend(self.process_key(&key, true).await?);
        }
        self.stitch_pending().await?;
        Ok(true)
    }

    /// How an entity came into the catalog: the entity, the Location entity that named its file,
    /// and so on up to the registered location's generated entity — `(ref, parent refs)` from
    /// the entity up. `None` if there is no such entity.
    pub async fn ancestry(
        &self,
        entity_ref: &str,
    ) -> EngineResult<Option<Vec<(String, Vec<String>)>>> {
        let mut current = entity_ref.to_lowercase();
        let mut chain: Vec<(String, Vec<String>)> = Vec::new();
        loop {
            let Some((_, source_key)) = self.store.entity_origin(&current).await? else {
                break;
            };
            let parent = self
                .store
                .source(&source_key)
                .await?
                .and_then(|s| s.named_by);
            let seen = chain.iter().any(|(r, _)| Some(r) == parent.as_ref());
            chain.push((current, parent.iter().cloned().collect()));
            match parent {
                Some(parent) if !seen => current = parent,
                _ => break,
            }
        }
        Ok((!chain.is_empty()).then_some(chain))
    }

    /// Deletes an entity by uid (its location may emit it again on the next refresh).
    pub async fn delete_entity(&self, uid: &str) -> EngineResult<bool> {
        let gate = self.write_gate.read().await;
        let Some(removal) = self.store.delete_entity(uid).await? else {
            return Ok(false);
        };
        self.index(&[], &removal.removed);
        drop(gate);
        self.stitch_pending().await?;
        Ok(true)
    }

    /// The target a registered location reads.
    pub fn location_target(location: &LocationRecord) -> Option<crate::reader::Target> {
        location_target(location)
    }
}

impl<S: CatalogStore> Engine<S> {
    /// Runs the refresh loop until `shutdown` turns true: applies the changes other processes
    /// made to the database ([`Engine::sync_read_model`]), processes due sources in batches,
    /// pausing `idle` when nothing is due.
    pub async fn run_refresh_loop(&self, mut shutdown: watch::Receiver<bool>, idle: Duration) {
        let mut next_prune = std::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                return;
            }
            if std::time::Instant::now() >= next_prune {
                // Idempotent, so replicas sharing one database need not agree who does it.
                if let Err(err) = self.prune_tombstones().await {
                    tracing::warn!(error = %err, "Pruning deletion tombstones failed.");
                }
                next_prune = std::time::Instant::now() + TOMBSTONE_PRUNE_EVERY;
            }
            if let Err(err) = self.sync_read_model().await {
                tracing::warn!(error = %err, "Catalog read model sync failed.");
            }
            let processed = match self.process_due(16).await {
                Ok(n) => n,
                Err(err) => {
                    tracing::warn!(error = %err, "Catalog refresh round failed.");
                    0
                }
            };
            if processed == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}

/// Applies stitched entities and removals to the read model. Parsing, flattening and
/// compressing run on several threads before the model is locked; only indexing holds it.
fn index_into(read_model: &RwLock<ReadModel>, upserted: &[StoredEntity], removed: &[String]) {
    use rayon::prelude::*;
    let prepared: Vec<_> = upserted
        .par_iter()
        .filter_map(
            |stored| match serde_json::from_str::<Value>(&stored.final_json) {
                Ok(value) => match ReadModel::prepare(&value, &stored.final_json) {
                    Ok(prepared) => Some(prepared),
                    Err(err) => {
                        tracing::warn!(entity = %stored.entity_ref, error = %err, "Entity not indexed.");
                        None
                    }
                },
                Err(err) => {
                    tracing::warn!(entity = %stored.entity_ref, error = %err, "Stored entity JSON is unreadable.");
                    None
                }
            },
        )
        .collect();
    let mut model = read_model
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for entity_ref in removed {
        model.remove(entity_ref);
    }
    for entity in prepared {
        model.upsert_prepared(entity);
    }
}

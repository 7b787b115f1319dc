//! Storage of TechDocs builds, per **site**: one docs source (a folder with its `mkdocs.yml`,
//! a repository tree URL) built once however many entities document themselves with it. A
//! site row holds both its build state (the hash of the source last asked for and last built,
//! when, how long, the warnings or the error) and its pending job (queued, or building under a
//! lease); a second table maps every documented entity to its site, so an entity's state is its
//! site's.
//!
//! Keeping job and state in one row makes enqueueing idempotent across replicas: a build is
//! queued only when the source hash differs from the one already asked for, so every replica
//! may scan the catalog and only one build runs. Jobs are claimed as leases like scaffolder
//! tasks: a `building` row whose lease expired is claimable again (`attempts` counts claims).
//! A source that cannot be built at all (no `mkdocs.yml`, an unsupported reference) is
//! recorded in its state directly, with no job.

use std::future::Future;

use crate::StoreResult;

/// `queued`: waiting for a builder.
pub const BUILD_QUEUED: &str = "queued";
/// `building`: leased to a builder.
pub const BUILD_BUILDING: &str = "building";
/// `built`: the last build of `source_hash` succeeded.
pub const BUILD_BUILT: &str = "built";
/// `failed`: the last build of `source_hash` failed (`error` says why); the last good site,
/// if any, is still published.
pub const BUILD_FAILED: &str = "failed";
/// `no-config`: the docs folder has no `mkdocs.yml` (nothing to build; `error` says where it
/// was looked for). Recorded by the scan, never a job.
pub const BUILD_NO_CONFIG: &str = "no-config";

/// The build state and job of one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsBuildRecord {
    /// The docs source (the builder's key: `dir:/abs/path`, `url:https://…`, …).
    pub site_key: String,
    /// What to build, as JSON text (the builder's own description of the source).
    pub spec_json: String,
    /// Hash of the docs source last asked for (the one queued, building, built or failed).
    pub source_hash: String,
    /// Hash of the docs source of the last successful build.
    pub built_hash: Option<String>,
    /// [`BUILD_QUEUED`], [`BUILD_BUILDING`], [`BUILD_BUILT`], [`BUILD_FAILED`] or
    /// [`BUILD_NO_CONFIG`].
    pub state: String,
    /// When the current `source_hash` was asked for (ms).
    pub requested_at: i64,
    /// When the last claim started building (ms).
    pub started_at: Option<i64>,
    /// When the last successful build finished (ms).
    pub last_built_at: Option<i64>,
    /// How long the last finished build took (ms).
    pub duration_ms: Option<i64>,
    /// The last finished build's warnings, a JSON list.
    pub warnings_json: String,
    /// Why the last build failed (`None` after a success).
    pub error: Option<String>,
    /// The builder holding the job.
    pub lease_owner: Option<String>,
    /// Until when it holds it (ms).
    pub lease_until: Option<i64>,
    /// Claims of the current job.
    pub attempts: i64,
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutcome {
    /// `None` when the site was built and published, else why not.
    pub error: Option<String>,
    /// Warnings, a JSON list.
    pub warnings_json: String,
    /// How long it took (ms).
    pub duration_ms: i64,
    /// When it ended (ms).
    pub now: i64,
    /// The hash of what was built, when the builder learned it only while building (a fetched
    /// tree): on success it replaces the source hash asked for, so the next check of the
    /// same content finds the site current.
    pub content_hash: Option<String>,
}

/// When [`TechDocsStore::enqueue_build`] queues a build of a hash already asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Only a new hash (or a site never asked for) is queued.
    IfChanged,
    /// Also a `failed` or `no-config` row of the same hash (someone asked for a retry).
    RetryFailed,
    /// Always, unless it is queued already (an entity joined the site and needs it published).
    Always,
}

/// An entity and the site that documents it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DocsEntityRow {
    /// The entity (canonical ref, `component:default/svc`).
    pub entity_ref: String,
    /// Its site ([`DocsBuildRecord::site_key`]).
    pub site_key: String,
}

/// TechDocs build storage. Every method is one transaction.
pub trait TechDocsStore: Send + Sync + 'static {
    /// Queues a build of `source_hash` for `site_key` (clearing a `no-config` message) unless
    /// that hash is already asked for (queued, building, built, failed; see [`Requeue`] for
    /// the exceptions). A row building another hash is queued anew (its builder loses the
    /// lease and its result is dropped). Returns whether a build was queued.
    fn enqueue_build(
        &self,
        site_key: &str,
        source_hash: &str,
        spec_json: &str,
        requeue: Requeue,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Records that `site_key` cannot be built (`state` is [`BUILD_FAILED`] or
    /// [`BUILD_NO_CONFIG`], `error` says why) unless that hash and state are recorded already;
    /// any job of the row is dropped, the last good build's hash and time are kept. Returns
    /// whether the row changed.
    fn record_unbuildable(
        &self,
        site_key: &str,
        source_hash: &str,
        spec_json: &str,
        state: &str,
        error: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Claims the oldest `queued` job, or a `building` one whose lease expired before `now`; it
    /// becomes `building`, leased to `owner` until `now + lease_ms`, `attempts` + 1.
    fn claim_build(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> impl Future<Output = StoreResult<Option<DocsBuildRecord>>> + Send;

    /// Extends `owner`'s lease; false when the job is no longer theirs.
    fn heartbeat_build(
        &self,
        site_key: &str,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Ends the job `owner` holds: `built` (the source hash — or the outcome's content hash,
    /// which then becomes the source hash too — becomes the built hash, the build time is
    /// recorded) or `failed` (the last good build's hash and time are kept). False when
    /// the lease was lost (the outcome is not stored).
    fn finish_build(
        &self,
        site_key: &str,
        owner: &str,
        outcome: BuildOutcome,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// One site's build record.
    fn docs_site(
        &self,
        site_key: &str,
    ) -> impl Future<Output = StoreResult<Option<DocsBuildRecord>>> + Send;

    /// The build record of the site that documents `entity_ref`.
    fn docs_build(
        &self,
        entity_ref: &str,
    ) -> impl Future<Output = StoreResult<Option<DocsBuildRecord>>> + Send;

    /// Every site's build record, by site key.
    fn docs_builds(&self) -> impl Future<Output = StoreResult<Vec<DocsBuildRecord>>> + Send;

    /// Maps each entity to its site (a site row need not exist yet); returns the refs whose
    /// mapping was new or changed.
    fn map_docs_entities(
        &self,
        rows: &[DocsEntityRow],
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    /// Forgets entities (their docs annotation or the entity is gone), and the sites no entity
    /// maps to any more; returns how many entities were forgotten.
    fn unmap_docs_entities(
        &self,
        entity_refs: &[String],
    ) -> impl Future<Output = StoreResult<usize>> + Send;

    /// Every entity's site, by entity ref.
    fn docs_entities(&self) -> impl Future<Output = StoreResult<Vec<DocsEntityRow>>> + Send;

    /// The entities a site documents, by ref.
    fn site_entities(
        &self,
        site_key: &str,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
}

//! Storage of TechDocs builds: one row per documented entity holding both its build state
//! (the hash of the docs source last asked for and last built, when, how long, the warnings or
//! the error) and its pending job (queued, or building under a lease).
//!
//! Keeping job and state in one row makes enqueueing idempotent across replicas: a build is
//! queued only when the source hash differs from the one already asked for, so every replica
//! may scan the catalog and only one build runs. Jobs are claimed as leases like scaffolder
//! tasks: a `building` row whose lease expired is claimable again (`attempts` counts claims).

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

/// The build state and job of one entity's docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsBuildRecord {
    /// The entity (canonical ref, `component:default/svc`).
    pub entity_ref: String,
    /// What to build, as JSON text (the builder's own description of the source).
    pub spec_json: String,
    /// Hash of the docs source last asked for (the one queued, building, built or failed).
    pub source_hash: String,
    /// Hash of the docs source of the last successful build.
    pub built_hash: Option<String>,
    /// [`BUILD_QUEUED`], [`BUILD_BUILDING`], [`BUILD_BUILT`] or [`BUILD_FAILED`].
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
}

/// TechDocs build storage. Every method is one transaction.
pub trait TechDocsStore: Send + Sync + 'static {
    /// Queues a build of `source_hash` for `entity_ref` unless that hash is already asked for
    /// (queued, building, built or failed); with `retry`, a `failed` row of the same hash is
    /// queued again. A row building another hash is queued anew (its builder loses the lease
    /// and its result is dropped). Returns whether a build was queued.
    fn enqueue_build(
        &self,
        entity_ref: &str,
        source_hash: &str,
        spec_json: &str,
        retry: bool,
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
        entity_ref: &str,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Ends the job `owner` holds: `built` (the source hash becomes the built hash, the build
    /// time is recorded) or `failed` (the last good build's hash and time are kept). False when
    /// the lease was lost (the outcome is not stored).
    fn finish_build(
        &self,
        entity_ref: &str,
        owner: &str,
        outcome: BuildOutcome,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// One entity's build record.
    fn docs_build(
        &self,
        entity_ref: &str,
    ) -> impl Future<Output = StoreResult<Option<DocsBuildRecord>>> + Send;

    /// Every build record, by entity ref.
    fn docs_builds(&self) -> impl Future<Output = StoreResult<Vec<DocsBuildRecord>>> + Send;

    /// Forgets an entity's build record (its docs annotation or the entity is gone); true when
    /// there was one.
    fn remove_docs_build(&self, entity_ref: &str)
    -> impl Future<Output = StoreResult<bool>> + Send;
}

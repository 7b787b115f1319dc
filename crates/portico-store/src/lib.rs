//! Storage traits for Portico: what the engines need from a database, as plain records and one
//! trait per capability — [`CatalogStore`] for the catalog, [`TaskStore`] for scaffolder tasks,
//! [`TechDocsStore`] for TechDocs build state and jobs. Implementations live in
//! `portico-store-sql` (SQLite and PostgreSQL); the [`conformance`] suite (feature `testkit`)
//! runs the same checks on each.
//!
//! The unit of work is a **source**: one file or URL that a location points at, or the virtual
//! source of a registered location. Processing a source yields entities, relations and child
//! sources, applied by [`CatalogStore::apply_source`] in one transaction. Every entity whose
//! final form may have changed (its own input, or a relation to it) is marked for stitching;
//! [`CatalogStore::pending_stitches`] and [`CatalogStore::write_stitched`] then build the final
//! entities, once per entity however many sources touched it (Backstage's deferred stitching,
//! for the same reason: a group that owns a thousand components is stitched once, not a
//! thousand times).

mod error;
mod records;
mod tasks;
mod techdocs;

#[cfg(feature = "testkit")]
pub mod conformance;

use std::future::Future;

pub use error::StoreError;
pub use records::{
    ApplyOutcome, ChangePosition, ChildSource, EntityInput, ErrorItem, FinalChange, LocationOrigin,
    LocationRecord, NewLocation, OrphanStrategy, PendingStitch, RelationRow, Removal, SourceRecord,
    SourceUpdate, Stitched, StoredEntity,
};

pub use tasks::{Heartbeat, NewTask, TaskEventRecord, TaskFilter, TaskRecord, TaskStore};
pub use techdocs::{
    BUILD_BUILDING, BUILD_BUILT, BUILD_FAILED, BUILD_NO_CONFIG, BUILD_QUEUED, BuildOutcome,
    DocsBuildRecord, DocsEntityRow, Requeue, TechDocsStore,
};

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Produces the final (stitched) entity from what the store holds about it.
///
/// The store calls this inside its transaction for every entity whose inputs changed; the
/// catalog engine supplies the implementation, so stitching rules stay out of SQL.
pub trait Stitcher: Send + Sync {
    /// The final entity's JSON text and its etag.
    fn stitch(&self, input: &StitchInput<'_>) -> (String, String);

    /// [`Stitcher::stitch`] for a batch, in order; implementations may work in parallel.
    fn stitch_all(&self, inputs: &[StitchInput<'_>]) -> Vec<(String, String)> {
        inputs.iter().map(|input| self.stitch(input)).collect()
    }
}

/// Builds the final forms of a batch read by [`CatalogStore::pending_stitches`] with
/// [`Stitcher::stitch_all`], ready for [`CatalogStore::write_stitched`].
pub fn stitch_batch(stitcher: &dyn Stitcher, pending: Vec<PendingStitch>) -> Vec<Stitched> {
    let inputs: Vec<StitchInput<'_>> = pending.iter().map(PendingStitch::input).collect();
    let finals = stitcher.stitch_all(&inputs);
    drop(inputs);
    pending
        .into_iter()
        .zip(finals)
        .map(|(p, (final_json, etag))| p.into_stitched(final_json, etag))
        .collect()
}

/// Everything that goes into a final entity.
#[derive(Debug, Clone, Copy)]
pub struct StitchInput<'a> {
    /// The validated entity as processed, JSON text.
    pub entity_json: &'a str,
    /// Its stable unique id.
    pub uid: &'a str,
    /// Relations whose source is this entity: `(type, target_ref)`, sorted and deduplicated.
    pub relations: &'a [(String, String)],
    /// Processing errors to show in `status.items`.
    pub errors: &'a [ErrorItem],
    /// Whether no location emits the entity any more.
    pub orphan: bool,
}

/// The catalog's storage. Every method is one transaction.
pub trait CatalogStore: Send + Sync + 'static {
    /// Registers a location and its virtual source (due now). Fails with
    /// [`StoreError::Conflict`] when the same type and target are registered already.
    fn add_location(
        &self,
        location: NewLocation,
    ) -> impl Future<Output = StoreResult<LocationRecord>> + Send;

    /// Changes a location's type and target, keeping its id; its virtual source becomes due
    /// now. [`StoreError::Conflict`] when another location has that type and target,
    /// [`StoreError::NotFound`] when there is no such location.
    fn update_location(
        &self,
        id: &str,
        location_type: &str,
        target: &str,
    ) -> impl Future<Output = StoreResult<LocationRecord>> + Send;

    /// All registered locations, oldest first.
    fn locations(&self) -> impl Future<Output = StoreResult<Vec<LocationRecord>>> + Send;

    /// One location.
    fn location(
        &self,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<LocationRecord>>> + Send;

    /// Unregisters a location: its sources and every entity they produced are deleted, and the
    /// entities they related to are marked for stitching.
    fn remove_location(&self, id: &str) -> impl Future<Output = StoreResult<Removal>> + Send;

    /// One source.
    fn source(&self, key: &str) -> impl Future<Output = StoreResult<Option<SourceRecord>>> + Send;

    /// Applies the result of processing one source (see [`SourceUpdate`]) and releases its lease.
    fn apply_source(
        &self,
        update: SourceUpdate,
        strategy: OrphanStrategy,
    ) -> impl Future<Output = StoreResult<ApplyOutcome>> + Send;

    /// Applies several processed sources in order in one transaction (all or none), like
    /// [`CatalogStore::apply_source`] on each: a first load commits a few times instead of once
    /// per file, which is most of its writing time on SQLite.
    fn apply_sources(
        &self,
        updates: Vec<SourceUpdate>,
        strategy: OrphanStrategy,
    ) -> impl Future<Output = StoreResult<Vec<ApplyOutcome>>> + Send;

    /// Reads up to `limit` entities marked for stitching, in ref order after `after` (from the
    /// start with `None`), with everything their final form is built from. Changes nothing, and
    /// may run beside a write, so that the next batch is read while the previous is written.
    fn pending_stitches(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<PendingStitch>>> + Send;

    /// Writes final entities built from [`CatalogStore::pending_stitches`] and takes them off
    /// the stitch queue. One whose ticket changed since it was read (its inputs changed, or it
    /// was deleted) is neither written nor taken off, so it is stitched again from its new
    /// inputs. Returns the entities written: those whose etag changed. Safe with several
    /// processes.
    fn write_stitched(
        &self,
        stitched: Vec<Stitched>,
    ) -> impl Future<Output = StoreResult<Vec<StoredEntity>>> + Send;

    /// Stitches up to `limit` entities marked for stitching and returns those whose final form
    /// changed: [`CatalogStore::pending_stitches`] from the start, `stitcher`, then
    /// [`CatalogStore::write_stitched`].
    fn stitch_pending(
        &self,
        stitcher: &dyn Stitcher,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<StoredEntity>>> + Send {
        async move {
            let pending = self.pending_stitches(None, limit).await?;
            self.write_stitched(stitch_batch(stitcher, pending)).await
        }
    }

    /// Sets when a source is next due and releases its lease, without other changes (used when
    /// its content did not change).
    fn reschedule_source(
        &self,
        key: &str,
        next_refresh_at: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Leases up to `limit` sources that are due at `now` and not leased by anyone else, for
    /// `lease_ms`. Safe with several processes on one database.
    fn claim_due_sources(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<SourceRecord>>> + Send;

    /// Makes the source that produced `entity_ref` due at `now`; false if no such entity.
    fn request_refresh(
        &self,
        entity_ref: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Final entities ordered by ref, after `after` (exclusive), at most `limit`: for loading
    /// the read model at start.
    fn final_entities(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<StoredEntity>>> + Send;

    /// One final entity by ref.
    fn final_entity(
        &self,
        entity_ref: &str,
    ) -> impl Future<Output = StoreResult<Option<StoredEntity>>> + Send;

    /// Deletes one entity by uid (its location may emit it again on the next refresh), and
    /// marks the entities it related to for stitching.
    fn delete_entity(&self, uid: &str)
    -> impl Future<Output = StoreResult<Option<Removal>>> + Send;

    /// The registered location an entity came from, and the key of its source.
    fn entity_origin(
        &self,
        entity_ref: &str,
    ) -> impl Future<Output = StoreResult<Option<(LocationRecord, String)>>> + Send;

    /// The work waiting at `now`: sources due for processing, and entities waiting to be
    /// stitched.
    fn queue_depth(&self, now: i64) -> impl Future<Output = StoreResult<(u64, u64)>> + Send;

    /// The database's identity and the number of its last committed change to final entities
    /// (every write or deletion of final entities takes the next number, in commit order).
    fn change_position(&self) -> impl Future<Output = StoreResult<ChangePosition>> + Send;

    /// Changes to final entities numbered after `since`, ordered by number then ref, continuing
    /// after `after` (the last `(seq, ref)` of the previous page), at most `limit`: the latest
    /// state of each entity changed since then — written (with its content) or deleted. With
    /// `foreign_only`, entities last written through this store handle are left out (its
    /// engine applied them already); deletions are always listed.
    fn final_changes(
        &self,
        since: i64,
        after: Option<(i64, &str)>,
        foreign_only: bool,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<FinalChange>>> + Send;

    /// Whether the database answers.
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    /// The `limit` final entities written most recently (latest change first; entities written
    /// in the same change in ref order): the home page's "recently changed".
    fn recently_changed(
        &self,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<StoredEntity>>> + Send;

    /// Forgets the tombstones of deletions made longer than `retention` ago (by the store's
    /// clock, which stamped them), together with every older one, and moves
    /// [`ChangePosition::pruned_through`] up to the newest change forgotten. Returns how many
    /// were removed.
    fn prune_tombstones(
        &self,
        retention: std::time::Duration,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

//! The records the catalog store reads and writes.

use serde::{Deserialize, Serialize};

/// Where a registered location came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationOrigin {
    /// `catalog.locations` in the configuration.
    Config,
    /// Registered at run time (API or UI).
    Api,
}

impl LocationOrigin {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Api => "api",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "config" => Some(Self::Config),
            "api" => Some(Self::Api),
            _ => None,
        }
    }
}

/// A location to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLocation {
    /// Its id (a UUID chosen by the caller).
    pub id: String,
    /// `file` or `url`.
    pub location_type: String,
    /// Path or URL.
    pub target: String,
    /// Who registered it.
    pub origin: LocationOrigin,
    /// Milliseconds since the epoch.
    pub now: i64,
}

/// A registered location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationRecord {
    /// UUID.
    pub id: String,
    /// `file` or `url`.
    pub location_type: String,
    /// Path or URL.
    pub target: String,
    /// Who registered it.
    pub origin: LocationOrigin,
}

impl LocationRecord {
    /// The key of the location's virtual source.
    pub fn source_key(&self) -> String {
        format!("location:{}", self.id)
    }
}

/// A processing error to show on an entity (`status.items`) or a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorItem {
    /// Error name, e.g. `InputError`, `NotFoundError`, `ConflictError`.
    pub name: String,
    /// What went wrong, with file and position when known.
    pub message: String,
}

/// A relation row: `source_ref` has relation `relation_type` to `target_ref`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelationRow {
    /// Canonical ref of the entity the relation is on.
    pub source_ref: String,
    /// e.g. `ownedBy`.
    pub relation_type: String,
    /// Canonical ref of the other end.
    pub target_ref: String,
}

/// A valid entity produced by processing a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityInput {
    /// Canonical ref.
    pub entity_ref: String,
    /// The validated entity with the catalog's annotations, JSON text.
    pub entity_json: String,
    /// Hash of `entity_json`: unchanged input means no write.
    pub input_hash: String,
    /// Relations it generates, both directions.
    pub relations: Vec<RelationRow>,
}

/// A location target named by a `Location` entity of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSource {
    /// Source key, e.g. `file:/abs/path.yaml` or `url:https://…`.
    pub key: String,
    /// Canonical ref of the Location entity that names it.
    pub named_by: String,
}

/// The outcome of processing one source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceUpdate {
    /// The source.
    pub key: String,
    /// Hash of the bytes read; `None` when reading failed.
    pub content_hash: Option<String>,
    /// When reading failed: why. Then the source's entities and children are kept as they are
    /// (a broken or missing file never deletes anything) and get these errors.
    pub read_errors: Vec<ErrorItem>,
    /// Valid entities.
    pub entities: Vec<EntityInput>,
    /// Entities whose new version is invalid, by ref: the last good version stays, with these
    /// errors.
    pub failed: Vec<(String, Vec<ErrorItem>)>,
    /// Problems of the file that belong to no known entity (syntax errors, invalid documents
    /// without a readable ref, location cycles).
    pub source_errors: Vec<ErrorItem>,
    /// Targets of the source's Location entities.
    pub children: Vec<ChildSource>,
    /// When the source is next due, in milliseconds since the epoch.
    pub next_refresh_at: i64,
    /// A partial update (an entity provider's delta): entities of the source that are not in
    /// `entities` are kept, except those in `removed`, and existing children are kept.
    pub partial: bool,
    /// With `partial`: refs of the source's entities to retire.
    pub removed: Vec<String>,
}

/// What happens to an entity that its location no longer emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrphanStrategy {
    /// Keep it, annotated `backstage.io/orphan: "true"` (Backstage's default).
    #[default]
    Keep,
    /// Delete it.
    Delete,
}

/// A final (stitched) entity as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntity {
    /// Canonical ref.
    pub entity_ref: String,
    /// Unique id.
    pub uid: String,
    /// The final entity, JSON text.
    pub final_json: String,
    /// Content hash of the final entity.
    pub etag: String,
}

/// An entity marked for stitching, with everything its final form is built from, as read by
/// [`crate::CatalogStore::pending_stitches`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingStitch {
    /// Canonical ref.
    pub entity_ref: String,
    /// Unique id.
    pub uid: String,
    /// The validated entity as processed, JSON text.
    pub entity_json: String,
    /// Its processing errors and those of the sources it names (a Location's targets).
    pub errors: Vec<ErrorItem>,
    /// Whether no location emits it any more.
    pub orphan: bool,
    /// Relations whose source it is: `(type, target_ref)`, sorted and deduplicated.
    pub relations: Vec<(String, String)>,
    /// The etag of its current final form; empty if it has none.
    pub current_etag: String,
    /// Its stitch-queue ticket when read: a result is written only while the ticket is
    /// unchanged, so an entity marked again in the meantime is stitched again instead.
    pub ticket: i64,
}

impl PendingStitch {
    /// The stitcher's view of it.
    pub fn input(&self) -> crate::StitchInput<'_> {
        crate::StitchInput {
            entity_json: &self.entity_json,
            uid: &self.uid,
            relations: &self.relations,
            errors: &self.errors,
            orphan: self.orphan,
        }
    }

    /// Pairs it with its final form, for [`crate::CatalogStore::write_stitched`].
    pub fn into_stitched(self, final_json: String, etag: String) -> Stitched {
        Stitched {
            entity: StoredEntity {
                entity_ref: self.entity_ref,
                uid: self.uid,
                final_json,
                etag,
            },
            current_etag: self.current_etag,
            ticket: self.ticket,
        }
    }
}

/// A final entity built from a [`PendingStitch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stitched {
    /// The final entity.
    pub entity: StoredEntity,
    /// The etag it replaces (from the pending stitch); equal to the new one when unchanged.
    pub current_etag: String,
    /// The queue ticket it was built for.
    pub ticket: i64,
}

/// What [`crate::CatalogStore::apply_source`] changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyOutcome {
    /// Refs of entities deleted.
    pub removed: Vec<String>,
    /// Entities the source emitted but another location owns: `(ref, owning source key)`.
    pub conflicts: Vec<(String, String)>,
    /// Child sources added by this update (due now), to be processed next.
    pub new_children: Vec<String>,
    /// Whether anything was written besides the schedule.
    pub changed: bool,
}

/// What a removal deleted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removal {
    /// Refs of entities deleted.
    pub removed: Vec<String>,
}

/// A source as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// e.g. `file:/abs/path.yaml`, `url:https://…`, `location:<id>`.
    pub key: String,
    /// The registered location it belongs to.
    pub location_id: String,
    /// The source whose Location entity named it (`None` for a location's virtual source).
    pub parent_key: Option<String>,
    /// The Location entity that named it.
    pub named_by: Option<String>,
    /// Hash of the bytes last read.
    pub content_hash: Option<String>,
    /// The source's own errors (read failures, syntax errors, conflicts).
    pub errors: Vec<ErrorItem>,
    /// When it is next due, milliseconds since the epoch.
    pub next_refresh_at: i64,
}

/// Where a store is in its history of changes to final entities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePosition {
    /// Identity of the database, fixed when it was created.
    pub instance: String,
    /// The number of the last committed change: every change numbered up to it is visible.
    pub seq: i64,
    /// Deletions numbered up to this may have lost their tombstones
    /// ([`crate::CatalogStore::prune_tombstones`]): a reader positioned before it cannot catch
    /// up from the change feed and must reload every entity.
    pub pruned_through: i64,
}

/// One change to a final entity, as read from the change sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalChange {
    /// Its number in the change sequence.
    pub seq: i64,
    /// The entity's canonical ref.
    pub entity_ref: String,
    /// The entity as written, or `None` when it was deleted.
    pub entity: Option<StoredEntity>,
}

//! The catalog engine's settings (`catalog.*` in app-config), typed and validated by the binary.

use std::collections::BTreeSet;
use std::time::Duration;

use portico_store::OrphanStrategy;

use crate::reader::ReadAllowList;

/// How the catalog engine behaves.
#[derive(Debug, Clone)]
pub struct CatalogSettings {
    /// What happens to entities that their location no longer emits.
    pub orphan_strategy: OrphanStrategy,
    /// How often each source is read again; each source gets ±25% jitter. `None` disables
    /// periodic refresh.
    pub processing_interval: Option<Duration>,
    /// Kinds accepted into the catalog (`catalog.rules`); `None` accepts every built-in kind.
    pub allowed_kinds: Option<BTreeSet<String>>,
    /// Kinds accepted in addition for entities found through one registered location
    /// (`catalog.locations[].rules`): `(type, target, kinds)`.
    pub location_kinds: Vec<(String, String, BTreeSet<String>)>,
    /// Hosts that `url` locations may read (`backend.reading.allow`).
    pub reading_allow: ReadAllowList,
    /// How long a worker may hold a source before another may take it.
    pub lease: Duration,
    /// How long the change feed remembers a deletion. A read-model snapshot or a replica that
    /// is further behind reloads every entity instead of catching up.
    pub tombstone_retention: Duration,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        Self {
            orphan_strategy: OrphanStrategy::Keep,
            processing_interval: Some(Duration::from_secs(120)),
            allowed_kinds: None,
            location_kinds: Vec::new(),
            reading_allow: ReadAllowList::default(),
            lease: Duration::from_secs(120),
            // A week: a replica stopped over a weekend still starts from its snapshot.
            tombstone_retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl CatalogSettings {
    /// Whether `kind` may enter the catalog.
    pub fn allows_kind(&self, kind: &str) -> bool {
        self.allowed_kinds
            .as_ref()
            .is_none_or(|kinds| kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)))
    }

    /// Whether `kind` may enter the catalog through the registered location
    /// `location_type:target`: allowed globally, or by that location's own rules (Backstage
    /// accepts an entity when any rule matches it).
    pub fn allows_kind_at(&self, kind: &str, location_type: &str, target: &str) -> bool {
        self.allows_kind(kind)
            || self.location_kinds.iter().any(|(t, where_, kinds)| {
                t == location_type
                    && where_ == target
                    && kinds.iter().any(|k| k.eq_ignore_ascii_case(kind))
            })
    }
}

//! The catalog's own locations as entity providers (Backstage §3.1: its location store and its
//! config-locations provider are `EntityProvider`s too). Each registered location is a
//! generated `Location` entity (`generated-<hash>`, pointing at the target) that a
//! [`LocationProvider`] pushes through the same [`EntityProviderConnection`] trait a plugin
//! gets: registering pushes a delta with it, unregistering a delta removing it, and the
//! configured locations are pushed as one full set at start.
//!
//! The engine applies what a location provider pushed before the call that made it returns,
//! through a location-aware path: each generated entity goes into its own location's virtual
//! source (`location:<id>`), so that unregistering one location removes exactly what it led to
//! and its entities carry it as `backstage.io/managed-by-origin-location`.

use std::sync::{Arc, Mutex, OnceLock};

use portico_model::stitch::content_hash;
use portico_model::validate_entity;
use portico_plugin_api::{
    BoxFuture, DeferredEntity, EntityProvider, EntityProviderConnection, EntityProviderMutation,
    PluginError,
};
use portico_store::{
    CatalogStore, ChildSource, ErrorItem, LocationOrigin, LocationRecord, NewLocation, SourceUpdate,
};
use serde_json::json;

use crate::engine::processing::{
    MANAGED_BY_LOCATION, MANAGED_BY_ORIGIN_LOCATION, generated_location_name, location_ref,
    location_target, stored_entity,
};
use crate::engine::{Engine, EngineError, EngineResult};

/// Provides the generated `Location` entities of the locations of one origin.
pub struct LocationProvider {
    origin: LocationOrigin,
    connection: OnceLock<Arc<dyn EntityProviderConnection>>,
}

impl std::fmt::Debug for LocationProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocationProvider")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// What a location provider is asked to push.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LocationPush<'a> {
    /// A location registered or re-pointed.
    Added(&'a LocationRecord),
    /// A location unregistered.
    Removed(&'a LocationRecord),
    /// Every location of the provider's origin.
    All(&'a [LocationRecord]),
}

impl LocationProvider {
    /// The provider of the locations registered with `origin`.
    pub fn new(origin: LocationOrigin) -> Self {
        Self {
            origin,
            connection: OnceLock::new(),
        }
    }

    /// The generated entity of a registered location, as this provider pushes it.
    pub fn location_entity(location: &LocationRecord) -> DeferredEntity {
        let key = location_ref(location);
        DeferredEntity {
            entity: json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Location",
                "metadata": {
                    "name": generated_location_name(location),
                    "namespace": "default",
                    "annotations": {
                        MANAGED_BY_LOCATION: key,
                        MANAGED_BY_ORIGIN_LOCATION: key,
                    },
                },
                "spec": {"type": location.location_type, "target": location.target},
            }),
            location_key: Some(key),
        }
    }

    /// The canonical ref of a location's generated entity.
    pub fn location_entity_ref(location: &LocationRecord) -> String {
        format!("location:default/{}", generated_location_name(location))
    }

    async fn push(&self, mutation: EntityProviderMutation) -> EngineResult<()> {
        let connection = self.connection.get().ok_or_else(|| {
            EngineError::Internal("the location provider is not connected".to_owned())
        })?;
        connection
            .apply_mutation(mutation)
            .await
            .map_err(|err| EngineError::Internal(err.to_string()))
    }

    /// Pushes a newly registered (or re-pointed) location.
    pub async fn added(&self, location: &LocationRecord) -> EngineResult<()> {
        self.push(EntityProviderMutation::Delta {
            added: vec![Self::location_entity(location)],
            removed: Vec::new(),
        })
        .await
    }

    /// Pushes the removal of an unregistered location.
    pub async fn removed(&self, location: &LocationRecord) -> EngineResult<()> {
        self.push(EntityProviderMutation::Delta {
            added: Vec::new(),
            removed: vec![Self::location_entity_ref(location)],
        })
        .await
    }

    /// Pushes the complete set of this origin's locations.
    pub async fn replace_all(&self, locations: &[LocationRecord]) -> EngineResult<()> {
        self.push(EntityProviderMutation::Full {
            entities: locations.iter().map(Self::location_entity).collect(),
        })
        .await
    }
}

impl EntityProvider for LocationProvider {
    fn name(&self) -> &str {
        match self.origin {
            LocationOrigin::Config => "portico-config-locations",
            LocationOrigin::Api => "portico-registered-locations",
        }
    }

    fn connect(
        &self,
        connection: Arc<dyn EntityProviderConnection>,
    ) -> BoxFuture<'_, Result<(), PluginError>> {
        let result = self
            .connection
            .set(connection)
            .map_err(|_| PluginError::Failed(format!("{} is connected already", self.name())));
        Box::pin(async move { result })
    }
}

/// The connection the engine gives a [`LocationProvider`]: it keeps what the provider pushes
/// until the engine, in the same call, applies it ([`Engine::apply_location_mutations`]) — an
/// engine does not hold a reference to itself to apply it from here.
#[derive(Debug, Default)]
pub(crate) struct PushedMutations {
    queue: Mutex<Vec<EntityProviderMutation>>,
}

impl PushedMutations {
    pub(crate) fn take(&self) -> Vec<EntityProviderMutation> {
        std::mem::take(
            &mut *self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

impl EntityProviderConnection for PushedMutations {
    fn apply_mutation(
        &self,
        mutation: EntityProviderMutation,
    ) -> BoxFuture<'_, Result<(), PluginError>> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(mutation);
        Box::pin(async { Ok(()) })
    }
}

/// The two location providers of an engine and what they pushed.
#[derive(Debug)]
pub(crate) struct LocationProviders {
    pub registered: LocationProvider,
    pub configured: LocationProvider,
    pub pushed: Arc<PushedMutations>,
    /// Held from a push until its mutations are taken, so each caller applies its own.
    pub pushing: tokio::sync::Mutex<()>,
}

impl LocationProviders {
    pub(crate) fn new() -> Self {
        let pushed = Arc::new(PushedMutations::default());
        let registered = LocationProvider::new(LocationOrigin::Api);
        let configured = LocationProvider::new(LocationOrigin::Config);
        for provider in [&registered, &configured] {
            // Connecting stores the connection and cannot fail on a fresh provider.
            let _ = provider.connection.set(Arc::clone(&pushed) as _);
        }
        Self {
            registered,
            configured,
            pushed,
            pushing: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn of(&self, origin: LocationOrigin) -> &LocationProvider {
        match origin {
            LocationOrigin::Config => &self.configured,
            LocationOrigin::Api => &self.registered,
        }
    }
}

impl<S: CatalogStore> Engine<S> {
    /// Has the provider of `origin` push a mutation, then applies what it pushed: the
    /// generated entities into their locations' sources, each tree processed before this
    /// returns. Returns the refs of the entities removed.
    pub(crate) async fn push_locations(
        &self,
        origin: LocationOrigin,
        push: LocationPush<'_>,
    ) -> EngineResult<Vec<String>> {
        let mutations = {
            let _pushing = self.locations.pushing.lock().await;
            let provider = self.locations.of(origin);
            match push {
                LocationPush::Added(location) => provider.added(location).await?,
                LocationPush::Removed(location) => provider.removed(location).await?,
                LocationPush::All(locations) => provider.replace_all(locations).await?,
            }
            self.locations.pushed.take()
        };
        self.apply_location_mutations(origin, mutations).await
    }

    /// Applies mutations a location provider of `origin` pushed.
    async fn apply_location_mutations(
        &self,
        origin: LocationOrigin,
        mutations: Vec<EntityProviderMutation>,
    ) -> EngineResult<Vec<String>> {
        let mut removed_refs = Vec::new();
        for mutation in mutations {
            let records: Vec<LocationRecord> = self
                .store()
                .locations()
                .await?
                .into_iter()
                .filter(|l| {
                    l.origin == origin && matches!(l.location_type.as_str(), "file" | "url")
                })
                .collect();
            let (added, removed) = match mutation {
                EntityProviderMutation::Full { entities } => {
                    let wanted: Vec<&str> = entities
                        .iter()
                        .filter_map(|e| e.location_key.as_deref())
                        .collect();
                    let gone = records
                        .iter()
                        .filter(|r| !wanted.contains(&location_ref(r).as_str()))
                        .map(LocationProvider::location_entity_ref)
                        .collect();
                    (entities, gone)
                }
                EntityProviderMutation::Delta { added, removed } => (added, removed),
            };
            for entity_ref in removed {
                let entity_ref = entity_ref.to_lowercase();
                if let Some(record) = records
                    .iter()
                    .find(|r| LocationProvider::location_entity_ref(r) == entity_ref)
                {
                    removed_refs.extend(self.remove_location_now(&record.id).await?);
                }
            }
            for deferred in added {
                let record = self.location_of(origin, &records, &deferred).await?;
                self.apply_location_entity(&record, &deferred).await?;
            }
        }
        Ok(removed_refs)
    }

    /// The registered location a generated entity stands for (its `location_key`), added to
    /// the store if the provider pushes one the store does not have yet.
    async fn location_of(
        &self,
        origin: LocationOrigin,
        records: &[LocationRecord],
        deferred: &DeferredEntity,
    ) -> EngineResult<LocationRecord> {
        let key = deferred.location_key.as_deref().unwrap_or_default();
        if let Some(record) = records.iter().find(|r| location_ref(r) == key) {
            return Ok(record.clone());
        }
        let (location_type, target) = key.split_once(':').ok_or_else(|| {
            EngineError::Input(format!("location entity without a location key: {key:?}"))
        })?;
        Ok(self
            .store()
            .add_location(NewLocation {
                id: uuid::Uuid::new_v4().to_string(),
                location_type: location_type.to_owned(),
                target: target.to_owned(),
                origin,
                now: self.now(),
            })
            .await?)
    }

    /// Writes a location's generated entity as the only entity of its virtual source, then
    /// processes everything it leads to.
    async fn apply_location_entity(
        &self,
        record: &LocationRecord,
        deferred: &DeferredEntity,
    ) -> EngineResult<()> {
        let key = location_ref(record);
        let mut update = SourceUpdate {
            key: record.source_key(),
            next_refresh_at: i64::MAX,
            ..SourceUpdate::default()
        };
        let validated = validate_entity(&deferred.entity, self.kinds());
        match (validated, location_target(record)) {
            (Ok(validated), Some(target)) => {
                let entity_ref = validated.entity.entity_ref().to_string();
                let input = stored_entity(validated.entity, &validated.relations, &key, &key);
                update.content_hash = Some(content_hash(input.input_hash.as_bytes()));
                update.entities.push(input);
                update.children.push(ChildSource {
                    key: target.source_key(),
                    named_by: entity_ref,
                });
            }
            (Err(issues), _) => update.source_errors.push(ErrorItem {
                name: "InputError".to_owned(),
                message: issues
                    .iter()
                    .map(|i| format!("{}: {i}", i.path))
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
            (_, None) => update.source_errors.push(ErrorItem {
                name: "InputError".to_owned(),
                message: format!(
                    "location type {:?} cannot be read; use file or url",
                    record.location_type
                ),
            }),
        }
        self.process_update_tree(update).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use portico_plugin_api::{EntityProvider, EntityProviderMutation};
    use portico_store::{LocationOrigin, LocationRecord};

    use super::{LocationProvider, PushedMutations};

    fn record() -> LocationRecord {
        LocationRecord {
            id: "id-1".to_owned(),
            location_type: "url".to_owned(),
            target: "https://git.example.com/acme/catalog-info.yaml".to_owned(),
            origin: LocationOrigin::Api,
        }
    }

    #[tokio::test]
    async fn pushes_generated_location_entities_through_its_connection() {
        let provider = LocationProvider::new(LocationOrigin::Api);
        assert_eq!(provider.name(), "portico-registered-locations");
        assert!(
            provider.added(&record()).await.is_err(),
            "not connected yet"
        );
        let pushed = Arc::new(PushedMutations::default());
        provider.connect(Arc::clone(&pushed) as _).await.unwrap();
        assert!(
            provider.connect(Arc::clone(&pushed) as _).await.is_err(),
            "connected once"
        );

        provider.added(&record()).await.unwrap();
        provider.removed(&record()).await.unwrap();
        provider.replace_all(&[record()]).await.unwrap();
        let mutations = pushed.take();
        assert!(pushed.take().is_empty());
        let [
            EntityProviderMutation::Delta { added, removed },
            EntityProviderMutation::Delta {
                added: none,
                removed: gone,
            },
            EntityProviderMutation::Full { entities },
        ] = mutations.as_slice()
        else {
            panic!("unexpected mutations {mutations:?}");
        };
        assert!(removed.is_empty() && none.is_empty());
        let key = "url:https://git.example.com/acme/catalog-info.yaml";
        let entity = &added[0].entity;
        assert_eq!(added[0].location_key.as_deref(), Some(key));
        assert_eq!(entity["kind"], "Location");
        assert_eq!(entity["spec"]["target"], record().target);
        assert_eq!(
            entity["metadata"]["annotations"]["backstage.io/managed-by-origin-location"],
            key
        );
        let name = entity["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("generated-"));
        assert_eq!(gone, &[format!("location:default/{name}")]);
        assert_eq!(&entities[0], &added[0]);
    }
}

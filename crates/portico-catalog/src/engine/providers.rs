//! Entity providers (`portico-plugin-api`) connected to the engine: each provider owns a
//! registered location of type `provider` whose virtual source holds exactly the entities it
//! pushed. A `Full` mutation replaces that set (entities missing from it are deleted, as in
//! Backstage); a `Delta` adds, replaces and removes. Entities are validated and related like any
//! descriptor, and `Location` entities they push are followed.

use std::collections::VecDeque;
use std::sync::Arc;

use portico_model::stitch::content_hash;
use portico_model::validate_entity;
use portico_plugin_api::{
    BoxFuture, DeferredEntity, EntityProvider, EntityProviderConnection, EntityProviderMutation,
    PluginError,
};
use portico_store::{
    CatalogStore, ChildSource, EntityInput, ErrorItem, LocationOrigin, LocationRecord, NewLocation,
    OrphanStrategy, SourceUpdate,
};

use crate::engine::processing::stored_entity;
use crate::engine::{Engine, EngineError, EngineResult};
use crate::reader::Target;

/// The location type that marks a provider's location.
pub const PROVIDER_LOCATION_TYPE: &str = "provider";

struct ProviderConnection<S: CatalogStore> {
    engine: Arc<Engine<S>>,
    location: LocationRecord,
}

impl<S: CatalogStore> EntityProviderConnection for ProviderConnection<S> {
    fn apply_mutation(
        &self,
        mutation: EntityProviderMutation,
    ) -> BoxFuture<'_, Result<(), PluginError>> {
        Box::pin(async move {
            self.engine
                .apply_provider_mutation(&self.location, mutation)
                .await
        })
    }
}

impl<S: CatalogStore> Engine<S> {
    /// Connects a provider: finds or creates its location, then hands it a connection.
    pub async fn connect_provider(
        self: &Arc<Self>,
        provider: Arc<dyn EntityProvider>,
    ) -> EngineResult<()> {
        let name = provider.name().to_owned();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(EngineError::Input(format!(
                "entity provider name {name:?} must be non-empty without spaces"
            )));
        }
        let existing = self
            .store()
            .locations()
            .await?
            .into_iter()
            .find(|l| l.location_type == PROVIDER_LOCATION_TYPE && l.target == name);
        let location = match existing {
            Some(location) => location,
            None => {
                self.store()
                    .add_location(NewLocation {
                        id: uuid::Uuid::new_v4().to_string(),
                        location_type: PROVIDER_LOCATION_TYPE.to_owned(),
                        target: name.clone(),
                        origin: LocationOrigin::Config,
                        now: self.now(),
                    })
                    .await?
            }
        };
        // The provider pushes; its virtual source is never read on a schedule.
        self.store()
            .reschedule_source(&location.source_key(), i64::MAX)
            .await?;
        let connection = Arc::new(ProviderConnection {
            engine: Arc::clone(self),
            location,
        });
        provider.connect(connection).await.map_err(|err| {
            EngineError::Input(format!("entity provider {name} failed to connect: {err}"))
        })
    }

    async fn apply_provider_mutation(
        &self,
        location: &LocationRecord,
        mutation: EntityProviderMutation,
    ) -> Result<(), PluginError> {
        let (added, removed, partial) = match mutation {
            EntityProviderMutation::Full { entities } => (entities, Vec::new(), false),
            EntityProviderMutation::Delta { added, removed } => (added, removed, true),
        };
        let origin = format!("{PROVIDER_LOCATION_TYPE}:{}", location.target);
        let mut update = SourceUpdate {
            key: location.source_key(),
            partial,
            removed: removed.iter().map(|r| r.to_lowercase()).collect(),
            next_refresh_at: i64::MAX,
            ..SourceUpdate::default()
        };
        let mut problems = Vec::new();
        for (index, deferred) in added.iter().enumerate() {
            match self.provider_entity(deferred, &origin) {
                Ok((input, children)) => {
                    update.entities.push(input);
                    update.children.extend(children);
                }
                Err(message) => {
                    let message = format!("{origin}: entity {index}: {message}");
                    problems.push(message.clone());
                    update.source_errors.push(ErrorItem {
                        name: "InputError".to_owned(),
                        message,
                    });
                }
            }
        }
        update.content_hash = Some(content_hash(
            update
                .entities
                .iter()
                .map(|e| e.input_hash.as_str())
                .collect::<String>()
                .as_bytes(),
        ));
        let gate = self.write_gate.read().await;
        let outcome = self
            .store()
            .apply_source(update, OrphanStrategy::Delete)
            .await
            .map_err(|err| PluginError::Failed(err.to_string()))?;
        self.index(&[], &outcome.removed);
        drop(gate);
        let mut queue: VecDeque<String> = outcome.new_children.into();
        while let Some(key) = queue.pop_front() {
            let children = self
                .process_key(&key, true)
                .await
                .map_err(|err| PluginError::Failed(err.to_string()))?;
            queue.extend(children);
        }
        self.stitch_pending()
            .await
            .map_err(|err| PluginError::Failed(err.to_string()))?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PluginError::Input(problems.join("; ")))
        }
    }

    /// A provider's entity as stored, and the targets it names if it is a Location.
    fn provider_entity(
        &self,
        deferred: &DeferredEntity,
        origin: &str,
    ) -> Result<(EntityInput, Vec<ChildSource>), String> {
        let validated = validate_entity(&deferred.entity, self.kinds()).map_err(|issues| {
            issues
                .iter()
                .map(|i| format!("{}: {i}", i.path))
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let entity = validated.entity;
        if !self.settings().allows_kind(&entity.kind) {
            return Err(format!(
                "kind {} is not allowed by catalog.rules",
                entity.kind
            ));
        }
        let managed_by = deferred
            .location_key
            .clone()
            .unwrap_or_else(|| origin.to_owned());
        let entity_ref = entity.entity_ref().to_string();
        let mut children = Vec::new();
        if entity.kind == "Location" {
            let targets = entity
                .spec_str("target")
                .map(str::to_owned)
                .into_iter()
                .chain(
                    entity
                        .spec
                        .as_ref()
                        .and_then(|s| s.get("targets"))
                        .and_then(|t| t.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t.as_str().map(str::to_owned)),
                );
            for target in targets {
                let resolved = match url::Url::parse(&target) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") => Target::Url(url),
                    _ if std::path::Path::new(&target).is_absolute() => {
                        Target::File(target.clone().into())
                    }
                    _ => {
                        return Err(format!(
                            "Location target {target:?} must be an absolute path or URL when it comes from a provider"
                        ));
                    }
                };
                children.push(ChildSource {
                    key: resolved.normalized().source_key(),
                    named_by: entity_ref.clone(),
                });
            }
        }
        let input = stored_entity(entity, &validated.relations, &managed_by, origin);
        Ok((input, children))
    }
}

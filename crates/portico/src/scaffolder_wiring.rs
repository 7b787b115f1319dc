//! Wires the scaffolder into `portico serve`: the catalog access its `catalog:*` actions and
//! template lookups need, implemented over the catalog engine (engines never depend on each
//! other, so the binary is where they meet), and the task worker on the same database.

use std::sync::Arc;

use portico_catalog::engine::Engine;
use portico_plugin_api::{BoxFuture, PluginError, ScaffolderCatalog};
use portico_scaffolder::{
    ActionRegistry, PublishSettings, Runner, Scaffolder, ScaffolderService, TaskEngine, TaskOptions,
};
use portico_store::LocationOrigin;
use portico_store_sql::SqlStore;
use serde_json::Value;
use tokio::sync::watch;

/// The catalog as the scaffolder sees it.
struct EngineCatalog {
    engine: Arc<Engine<SqlStore>>,
}

impl ScaffolderCatalog for EngineCatalog {
    fn get_entity(&self, entity_ref: &str) -> BoxFuture<'_, Result<Option<Value>, PluginError>> {
        let json = self.engine.read_model().by_ref(entity_ref);
        Box::pin(async move {
            json.map(|text| {
                serde_json::from_str(&text).map_err(|error| {
                    PluginError::Failed(format!("stored entity is not JSON: {error}"))
                })
            })
            .transpose()
        })
    }

    fn register_location(&self, target: &str) -> BoxFuture<'_, Result<Vec<String>, PluginError>> {
        let target = target.to_owned();
        Box::pin(async move {
            let location_type = if target.starts_with("http://") || target.starts_with("https://") {
                "url"
            } else {
                "file"
            };
            let target = target.strip_prefix("file://").unwrap_or(&target).to_owned();
            self.engine
                .register_location(location_type, &target, LocationOrigin::Api)
                .await
                .map_err(|error| PluginError::Failed(format!("catalog:register: {error}")))?;
            // The engine does not report the entities a location produced; the step's
            // `entityRef` output stays empty and `catalogInfoUrl` names what was registered.
            Ok(Vec::new())
        })
    }
}

/// Starts the task worker (until `shutdown`) and returns the service for `/api/scaffolder`.
pub fn start(
    store: SqlStore,
    engine: Arc<Engine<SqlStore>>,
    publish: PublishSettings,
    shutdown: watch::Receiver<bool>,
) -> Arc<dyn ScaffolderService> {
    let catalog: Arc<dyn ScaffolderCatalog> = Arc::new(EngineCatalog { engine });
    let tasks = Arc::new(TaskEngine::new(
        Arc::new(store),
        Runner::new(ActionRegistry::builtin_with(publish)),
        TaskOptions::default(),
        Some(Arc::clone(&catalog)),
    ));
    tokio::spawn(Arc::clone(&tasks).run_worker(shutdown));
    Arc::new(Scaffolder::new(tasks, catalog))
}

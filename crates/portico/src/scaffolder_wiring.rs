//! Wires the scaffolder into `portico serve`: the catalog access its `catalog:*` actions and
//! template lookups need, implemented over the catalog engine (engines never depend on each
//! other, so the binary is where they meet), and the task worker on the same database.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use portico_catalog::engine::Engine;
use portico_plugin_api::{BoxFuture, PluginError, ScaffolderCatalog};
use portico_scaffolder::{
    ActionRegistry, PublishSettings, Runner, Scaffolder, ScaffolderService, TaskEngine, TaskOptions,
};
use portico_store::LocationOrigin;
use portico_store_sql::SqlStore;
use serde_json::Value;
use tokio::sync::watch;

use crate::config::ScaffolderSection;

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
            // Registering does not say what the location produces; like Backstage's action,
            // ask with a dry run, so the step can output `entityRef`. The location stays
            // registered when the dry run fails (the catalog reports its errors itself).
            match self.engine.dry_run(location_type, &target).await {
                Ok((entities, _)) => Ok(entities.iter().filter_map(entity_ref_of).collect()),
                Err(error) => {
                    tracing::warn!(%target, %error, "catalog:register: the registered location cannot be read yet");
                    Ok(Vec::new())
                }
            }
        })
    }
}

/// `kind:namespace/name` as Backstage's `stringifyEntityRef` writes it (kind lower-cased).
fn entity_ref_of(entity: &Value) -> Option<String> {
    let kind = entity.get("kind")?.as_str()?;
    let metadata = entity.get("metadata")?;
    let name = metadata.get("name")?.as_str()?;
    let namespace = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    Some(format!("{}:{namespace}/{name}", kind.to_ascii_lowercase()))
}

/// The task worker's settings from `scaffolder.*` and `backend.workingDirectory`; the
/// workspace root is created now, so a folder that cannot be written fails the start, not the
/// first task.
pub fn task_options(
    section: &ScaffolderSection,
    working_directory: Option<&Path>,
) -> anyhow::Result<TaskOptions> {
    let work_root = match working_directory {
        Some(directory) => directory.join("scaffolder"),
        None => TaskOptions::default().work_root,
    };
    std::fs::create_dir_all(&work_root).with_context(|| {
        format!(
            "backend.workingDirectory: cannot create the scaffolder's workspace folder {}",
            work_root.display()
        )
    })?;
    let probe = work_root.join(".portico-write-check");
    std::fs::write(&probe, b"").with_context(|| {
        format!(
            "backend.workingDirectory: cannot write in {}; give a folder Portico may write to",
            work_root.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(TaskOptions {
        concurrency: section.concurrent_tasks_limit,
        lease: section.recover_tasks_timeout,
        max_attempts: section.max_task_attempts,
        work_root,
    })
}

/// Starts the task worker (until `shutdown`; none with `scaffolder.concurrentTasksLimit: 0`)
/// and returns the service for `/api/scaffolder`.
pub fn start(
    store: SqlStore,
    engine: Arc<Engine<SqlStore>>,
    publish: PublishSettings,
    options: TaskOptions,
    shutdown: watch::Receiver<bool>,
) -> Arc<dyn ScaffolderService> {
    let catalog: Arc<dyn ScaffolderCatalog> = Arc::new(EngineCatalog { engine });
    let runs_tasks = options.concurrency > 0;
    let tasks = Arc::new(TaskEngine::new(
        Arc::new(store),
        Runner::new(ActionRegistry::builtin_with(publish)),
        options,
        Some(Arc::clone(&catalog)),
    ));
    if runs_tasks {
        tokio::spawn(Arc::clone(&tasks).run_worker(shutdown));
    } else {
        tracing::info!(
            "scaffolder.concurrentTasksLimit is 0: this server runs no scaffolder tasks (another replica on the same database does)"
        );
    }
    Arc::new(Scaffolder::new(tasks, catalog))
}

//! From `app-config.yaml` files to the options of `portico serve`: loads them with
//! [`crate::config`], logs the warnings, and resolves the demo-catalog default.

use std::path::PathBuf;

use crate::config::{self, DatabaseConfig};
use crate::serve::{Database, ServeOptions};

/// Loads and merges `files` (none: defaults and the demo catalog) into serve options.
pub fn load(files: &[PathBuf]) -> anyhow::Result<ServeOptions> {
    let loaded = config::load(files, &|name| std::env::var(name).ok())?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    if !loaded.unused.is_empty() {
        tracing::info!(
            sections = %loaded.unused.join(", "),
            "Configuration sections Portico does not use yet were ignored."
        );
    }
    let config = loaded.config;
    let database = match &config.backend.database {
        DatabaseConfig::Sqlite { path } => Database::Sqlite(path.clone()),
        DatabaseConfig::Postgres { url } => Database::Postgres(url.clone()),
    };
    let catalog = config.catalog_settings();
    Ok(ServeOptions {
        title: config.app.title.clone(),
        listen: config.backend.listen,
        database,
        catalog,
        locations: config
            .catalog
            .locations
            .iter()
            .map(|l| (l.location_type.clone(), l.target.clone()))
            .collect(),
        readonly: config.catalog.readonly,
        demo: files.is_empty(),
        techdocs: config.techdocs.clone(),
        integrations: config.integrations.clone(),
        scaffolder: config.scaffolder.clone(),
        working_directory: config.backend.working_directory.clone(),
    })
}

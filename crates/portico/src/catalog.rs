//! `portico catalog …`: operate the catalog engine from the command line against a database —
//! register a location (processed before the command returns), process due sources, print
//! statistics. The same engine runs inside `portico serve`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use portico_catalog::engine::{CatalogSettings, Engine, system_clock};
use portico_catalog::read_model::Predicate;
use portico_catalog::{AllowRule, ReadAllowList};
use portico_store::{LocationOrigin, OrphanStrategy};
use portico_store_sql::SqlStore;

use crate::fetch::CliReader;

/// `portico catalog` subcommands.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Register a location and process everything it leads to.
    Register(RegisterArgs),
    /// Process every source that is due, until none is.
    Process(DatabaseArgs),
    /// Print entity counts per kind and the state of the work queue.
    Stats(DatabaseArgs),
}

/// Where the catalog is stored and what it may read.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// `sqlite://<path>`, `postgres://…`, or a path to a SQLite file.
    #[arg(long, default_value = "./data/portico.db", env = "PORTICO_DATABASE")]
    database: String,
    /// A host that url locations may read (like backend.reading.allow); repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// Delete entities that their location no longer emits (default: keep them as orphans).
    #[arg(long)]
    delete_orphans: bool,
}

/// Arguments of `portico catalog register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// `file` or `url`.
    #[arg(value_parser = ["file", "url"])]
    location_type: String,
    /// Path or URL.
    target: String,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// Runs a catalog subcommand.
pub fn run(command: CatalogCommand) -> ExitCode {
    let Some(runtime) = crate::async_runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(run_async(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_async(command: CatalogCommand) -> anyhow::Result<()> {
    match command {
        CatalogCommand::Register(args) => {
            let engine = open(&args.database).await?;
            let location = engine
                .register_location(&args.location_type, &args.target, LocationOrigin::Api)
                .await?;
            println!(
                "registered location {} ({}:{}); the catalog holds {} entities",
                location.id,
                location.location_type,
                location.target,
                engine.read_model().len()
            );
        }
        CatalogCommand::Process(args) => {
            let engine = open(&args).await?;
            let mut total = 0;
            loop {
                let processed = engine.process_due(64).await?;
                if processed == 0 {
                    break;
                }
                total += processed;
            }
            println!(
                "processed {total} sources; the catalog holds {} entities",
                engine.read_model().len()
            );
        }
        CatalogCommand::Stats(args) => {
            let engine = open(&args).await?;
            let facets = engine
                .read_model()
                .facets(&["kind".to_owned()], &Predicate::MatchAll);
            let kinds: BTreeMap<String, usize> = facets
                .get("kind")
                .map(|counts| counts.iter().map(|c| (c.value.clone(), c.count)).collect())
                .unwrap_or_default();
            let document = serde_json::json!({
                "entities": engine.read_model().len(),
                "kinds": kinds,
            });
            println!("{document}");
        }
    }
    Ok(())
}

async fn open(args: &DatabaseArgs) -> anyhow::Result<Arc<Engine<SqlStore>>> {
    let store = if args.database.contains("://") {
        SqlStore::connect(&args.database).await
    } else {
        SqlStore::open_sqlite(&PathBuf::from(&args.database)).await
    }
    .with_context(|| format!("cannot open the database {}", args.database))?;
    let allow = ReadAllowList::new(
        args.allow_hosts
            .iter()
            .map(|host| AllowRule {
                host: host.clone(),
                paths: Vec::new(),
            })
            .collect(),
    );
    let settings = CatalogSettings {
        reading_allow: allow.clone(),
        orphan_strategy: if args.delete_orphans {
            OrphanStrategy::Delete
        } else {
            OrphanStrategy::Keep
        },
        ..CatalogSettings::default()
    };
    let reader = Arc::new(CliReader::on_current_runtime()?.with_allow_list(allow));
    // The read model starts from the snapshot `portico serve` keeps for this database, when it
    // is valid (it is caught up, never trusted blindly); the CLI never writes it, so that it
    // cannot race a running server.
    let engine = Engine::new(Arc::new(store), reader, settings, system_clock())
        .with_snapshot_file(crate::serve::snapshot_file(&database_of(&args.database)));
    engine.load().await?;
    engine.mark_loaded();
    Ok(Arc::new(engine))
}

/// `--database` as `portico serve` would name it (for the snapshot file next to it).
fn database_of(database: &str) -> crate::serve::Database {
    if database.starts_with("postgres:") || database.starts_with("postgresql:") {
        crate::serve::Database::Postgres(database.to_owned())
    } else {
        let path = database
            .strip_prefix("sqlite://")
            .or_else(|| database.strip_prefix("sqlite:"))
            .unwrap_or(database);
        crate::serve::Database::Sqlite(PathBuf::from(path))
    }
}

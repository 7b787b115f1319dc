//! `portico serve`: the portal. Opens the database, loads the catalog, registers the configured
//! locations (or the demo catalog when there is no configuration), runs the refresh loop, and
//! serves the HTTP API until SIGTERM or Ctrl-C, letting in-flight requests finish.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use portico_catalog::engine::{CatalogSettings, Engine, system_clock};
use portico_server::AppState;
use portico_store_sql::SqlStore;
use tokio::sync::watch;

use crate::fetch::CliReader;

/// Arguments of `portico serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// An app-config.yaml; repeat to merge several in order (later wins).
    #[arg(long = "config", value_name = "FILE")]
    configs: Vec<PathBuf>,
    /// Address to listen on, overriding backend.listen (e.g. 127.0.0.1:7007, 0.0.0.0:80).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// How logs are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the catalog is stored.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl std::fmt::Debug for Database {
    /// Never prints a PostgreSQL password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "SQLite file {}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    write!(f, "PostgreSQL {parsed}")
                }
                Err(_) => f.write_str("PostgreSQL (unparsable URL)"),
            },
        }
    }
}

/// Everything `serve` needs, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `app.title`.
    pub title: String,
    /// `backend.listen`.
    pub listen: SocketAddr,
    /// `backend.database`.
    pub database: Database,
    /// `catalog.*` and `backend.reading.allow`.
    pub catalog: CatalogSettings,
    /// `catalog.locations`: `(type, target)`.
    pub locations: Vec<(String, String)>,
    /// `catalog.readonly`.
    pub readonly: bool,
    /// No configuration file was given: serve the demo catalog.
    pub demo: bool,
    /// `techdocs.*`.
    pub techdocs: crate::config::TechDocsSection,
    /// `integrations.github|gitlab` for the scaffolder's publish actions and TechDocs `url:`
    /// references.
    pub integrations: portico_scaffolder::Integrations,
    /// `scaffolder.*`.
    pub scaffolder: crate::config::ScaffolderSection,
    /// `backend.workingDirectory`.
    pub working_directory: Option<std::path::PathBuf>,
}

/// Runs the server.
pub fn run(args: &ServeArgs) -> ExitCode {
    init_logging(args.log_format);
    let Some(runtime) = crate::async_runtime() else {
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async {
        let mut options = crate::config_bridge::load(&args.configs)?;
        if let Some(listen) = args.listen {
            options.listen = listen;
        }
        serve(options).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "Portico stopped.");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTICO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // Logging is set up once per process; a second call (tests) keeps the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

async fn serve(options: ServeOptions) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let store = match &options.database {
        Database::Sqlite(path) => SqlStore::open_sqlite(path).await,
        Database::Postgres(url) => SqlStore::connect(url).await,
    }
    .with_context(|| format!("cannot open the database {:?}", options.database))?;
    let reader = Arc::new(
        CliReader::on_current_runtime()?.with_allow_list(options.catalog.reading_allow.clone()),
    );
    let task_store = store.clone();
    let docs_store = store.clone();
    let engine = Arc::new(
        Engine::new(
            Arc::new(store),
            reader,
            options.catalog.clone(),
            system_clock(),
        )
        .with_snapshot_file(snapshot_file(&options.database)),
    );
    let mut locations = options.locations.clone();
    if options.demo {
        let demo = write_demo_catalog(&demo_dir(&options.database))?;
        locations.push(("file".to_owned(), demo.to_string_lossy().into_owned()));
    }
    // Bad configuration fails now, before listening; the loading itself happens while serving.
    for (location_type, target) in &locations {
        engine
            .check_location(location_type, target)
            .with_context(|| format!("catalog.locations: {location_type}:{target}"))?;
    }

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (failed_tx, mut failed_rx) = watch::channel(None::<String>);
    let failure = failed_tx.subscribe();
    let publish = crate::forge_http::publish_settings(
        options.integrations.clone(),
        Some(options.catalog.reading_allow.clone()),
    )?;
    let task_options = crate::scaffolder_wiring::task_options(
        &options.scaffolder,
        options.working_directory.as_deref(),
    )?;
    let scaffolder = crate::scaffolder_wiring::start(
        task_store,
        Arc::clone(&engine),
        publish,
        task_options,
        shutdown_rx.clone(),
    );
    let docs_shutdown = shutdown_rx.clone();
    let worker = {
        let engine = Arc::clone(&engine);
        tokio::spawn(async move {
            // Load the catalog, register the configured locations, then keep it fresh. Until
            // the first two are done, /readyz says so and catalog requests get a 503.
            let loaded = async {
                engine.load().await?;
                engine.sync_config_locations(&locations).await
            }
            .await;
            if let Err(err) = loaded {
                let _ = failed_tx.send(Some(format!("cannot load the catalog: {err}")));
                return;
            }
            engine.mark_loaded();
            tracing::info!(
                entities = engine.read_model().len(),
                ready_ms = started.elapsed().as_millis() as u64,
                "The catalog is loaded."
            );
            // Saved now so that the next start is fast even if this process is killed.
            if let Err(err) = engine.write_snapshot().await {
                tracing::warn!(error = %err, "Read-model snapshot not written.");
            }
            engine
                .run_refresh_loop(shutdown_rx, Duration::from_secs(1))
                .await;
        })
    };

    let mut state = AppState::new(Arc::clone(&engine));
    state.readonly = options.readonly;
    state.scaffolder = Some(scaffolder);
    let publish_dir = crate::techdocs::publish_dir(&options.database);
    let publisher: Arc<dyn portico_techdocs::Publisher> = match &options.techdocs.publisher {
        Some(s3) => Arc::new(crate::s3_publisher::S3Publisher::new(s3)?),
        None => Arc::new(portico_techdocs::LocalPublisher::new(&publish_dir)),
    };
    // Sites are built next to where they are published, never inside it.
    let build_dir = publish_dir
        .parent()
        .unwrap_or(Path::new(""))
        .join("techdocs-build");
    let docs_fetcher: Option<Arc<dyn portico_techdocs::DocsFetcher>> =
        match crate::docs_fetch::ForgeTreeFetcher::new(
            options.integrations.clone(),
            options.catalog.reading_allow.clone(),
        ) {
            Ok(fetcher) => Some(Arc::new(fetcher)),
            Err(err) => {
                tracing::warn!(error = %err, "No HTTP client for url: TechDocs references; they are not built.");
                None
            }
        };
    let builds = crate::techdocs_wiring::start(
        docs_store,
        Arc::clone(&engine),
        Arc::clone(&publisher),
        &options.techdocs,
        build_dir,
        docs_fetcher,
        docs_shutdown,
    );
    state.techdocs = Some(publisher);
    state.techdocs_builds = Some(Arc::clone(&builds));
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(
        address = %format!("http://{address}"),
        title = %options.title,
        listening_ms = started.elapsed().as_millis() as u64,
        "Portico is listening."
    );
    // The one line tools (and tests) wait for, on stdout; /readyz then says when the catalog is
    // loaded.
    println!("Portico listening on http://{address}");
    // Without TCP_NODELAY, a streamed response on a kept-alive connection can wait for the
    // client's delayed ACK (about 40 ms; seen in `cargo xtask bench-http`).
    let listener = axum::serve::ListenerExt::tap_io(listener, |stream| {
        let _ = stream.set_nodelay(true);
    });
    let stop = async move {
        tokio::select! {
            () = shutdown_signal() => {}
            _ = failed_rx.changed() => {}
        }
    };
    // The web UI answers every path the API does not (`/`, `/catalog`, …, `/static`).
    let mut ui = portico_ui::Ui::new(
        Arc::clone(&engine),
        portico_ui::UiConfig {
            title: options.title.clone(),
            readonly: options.readonly,
        },
    )
    .with_authorizer(Arc::clone(&state.authorizer));
    // The `/docs` reader shows the sites the API serves.
    if let Some(publisher) = &state.techdocs {
        ui = ui.with_techdocs(Arc::clone(publisher));
    }
    // The Create pages run templates and follow tasks on the API's scaffolder.
    if let Some(scaffolder) = &state.scaffolder {
        ui = ui.with_scaffolder(Arc::clone(scaffolder));
    }
    ui = ui.with_builds(builds);
    let routes = portico_server::app_with_pages(state, portico_ui::router(ui));
    axum::serve(listener, routes)
        .with_graceful_shutdown(stop)
        .await
        .context("the HTTP server failed")?;
    let _ = shutdown_tx.send(true);
    if let Err(err) = worker.await {
        anyhow::bail!("the catalog worker failed: {err}");
    }
    if engine.is_loaded()
        && let Err(err) = engine.write_snapshot().await
    {
        tracing::warn!(error = %err, "Read-model snapshot not written.");
    }
    if let Some(message) = failure.borrow().clone() {
        anyhow::bail!(message);
    }
    tracing::info!("Portico stopped.");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The read-model snapshot goes next to the database (`./data/catalog.snapshot` by default).
pub(crate) fn snapshot_file(database: &Database) -> PathBuf {
    match database {
        Database::Sqlite(path) => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(
                || PathBuf::from("catalog.snapshot"),
                |p| p.join("catalog.snapshot"),
            ),
        Database::Postgres(_) => PathBuf::from("data/catalog.snapshot"),
    }
}

/// The demo catalog goes next to the database (`./data/demo` by default).
fn demo_dir(database: &Database) -> PathBuf {
    match database {
        Database::Sqlite(path) => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("demo"), |p| p.join("demo")),
        Database::Postgres(_) => PathBuf::from("data/demo"),
    }
}

const DEMO_FILES: &[(&str, &str)] = &[
    (
        "catalog-info.yaml",
        include_str!("../demo/catalog-info.yaml"),
    ),
    ("org.yaml", include_str!("../demo/org.yaml")),
    ("systems.yaml", include_str!("../demo/systems.yaml")),
    ("components.yaml", include_str!("../demo/components.yaml")),
    ("apis.yaml", include_str!("../demo/apis.yaml")),
];

/// Writes the embedded demo catalog (refreshing it each start) and returns its root file.
fn write_demo_catalog(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in DEMO_FILES {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(*text) {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(dir.join("catalog-info.yaml"))
}

//! `portico techdocs build <dir>` (a progress bar, then pages, warnings and time) and
//! `portico techdocs serve <dir>` (builds into a folder, serves it on 127.0.0.1, rebuilds what
//! changed when a file under `<dir>` changes, and reloads open pages).

use std::convert::Infallible;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use notify::{RecursiveMode, Watcher as _};
use portico_techdocs::template::LIVE_RELOAD_PATH;
use portico_techdocs::{BuildOptions, BuildReport, Site, TechDocsError};
use tokio::sync::broadcast;

/// `portico techdocs` subcommands.
#[derive(Debug, Subcommand)]
pub enum TechdocsCommand {
    /// Build a site: <dir> holds mkdocs.yml and the docs folder.
    Build(BuildArgs),
    /// Build, serve on 127.0.0.1 and rebuild on every change, reloading open pages.
    Serve(ServeArgs),
    /// Publish a built site for an entity, where `portico serve` serves /api/techdocs from.
    Publish(PublishArgs),
}

/// Arguments of `portico techdocs publish`: Backstage's `techdocs-cli publish` flags, or the
/// publisher of an app-config (`--config`), flags winning.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The entity: `namespace/kind/name` (as in Backstage's `techdocs-cli publish --entity`).
    #[arg(long)]
    entity: String,
    /// The built site (output of `portico techdocs build`).
    #[arg(long, default_value = "./site")]
    directory: PathBuf,
    /// An app-config.yaml whose `techdocs.publisher` (and `backend.database`, for `local`) to
    /// publish to; repeat to merge several in order (later wins), as `portico serve` does.
    #[arg(long = "config", value_name = "FILE")]
    configs: Vec<PathBuf>,
    /// `local` (beside the database) or `awsS3`; default: the config's, else `local`.
    #[arg(long = "publisher-type", value_enum)]
    publisher_type: Option<PublisherType>,
    /// The bucket (`awsS3`), instead of `techdocs.publisher.awsS3.bucketName`.
    #[arg(long = "storage-name")]
    storage_name: Option<String>,
    /// An S3-compatible server instead of AWS (`techdocs.publisher.awsS3.endpoint`).
    #[arg(long = "awsEndpoint", value_name = "URL")]
    aws_endpoint: Option<String>,
    /// Path-style bucket URLs (`<endpoint>/<bucket>/<key>`), as `s3ForcePathStyle`.
    #[arg(long = "awsS3ForcePathStyle")]
    aws_s3_force_path_style: bool,
    /// The bucket's region (default: the config's, `AWS_REGION`, or us-east-1).
    #[arg(long = "awsRegion")]
    aws_region: Option<String>,
    /// The database `portico serve` uses, for `local`: sites go to `techdocs/` beside it
    /// (default: the config's `backend.database`, else ./data/portico.db).
    #[arg(long, env = "PORTICO_DATABASE")]
    database: Option<String>,
}

/// `--publisher-type`, with techdocs-cli's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PublisherType {
    /// A folder beside the database.
    #[value(name = "local")]
    Local,
    /// An S3-compatible bucket; credentials from the config or `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY`.
    #[value(name = "awsS3")]
    AwsS3,
}

/// Where `portico serve` reads published sites from: `techdocs/` beside the SQLite file
/// (`./data/techdocs` by default, and for PostgreSQL).
pub fn publish_dir(database: &crate::serve::Database) -> PathBuf {
    match database {
        crate::serve::Database::Sqlite(path) => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("techdocs"), |p| p.join("techdocs")),
        crate::serve::Database::Postgres(_) => PathBuf::from("data/techdocs"),
    }
}

/// Arguments of `portico techdocs build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The site folder (with mkdocs.yml).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Where to write the site (default: <dir>/site, like mkdocs).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Fail on any warning (broken links, missing nav targets, unsupported plugins).
    #[arg(long)]
    strict: bool,
}

/// Arguments of `portico techdocs serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The site folder (with mkdocs.yml).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Where to write the site (default: a folder under the system's temp dir).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
}

/// Runs a techdocs subcommand.
pub fn run(command: TechdocsCommand) -> ExitCode {
    let result = match command {
        TechdocsCommand::Build(args) => build(&args),
        TechdocsCommand::Serve(args) => serve(args),
        TechdocsCommand::Publish(args) => publish(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn build(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.join("site"));
    let options = BuildOptions {
        strict: args.strict,
        live_reload: false,
    };
    let mut site = Site::new(&args.dir, &out, options);
    let bar = progress_bar();
    let progress = bar.clone();
    site.on_progress(move |done, total| {
        progress.set_length(total as u64);
        progress.set_position(done as u64);
    });
    let result = site.build();
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            print_warnings(&report);
            println!("{}", summary(&report, &out));
            Ok(ExitCode::SUCCESS)
        }
        Err(TechDocsError::Strict(warnings)) => {
            for warning in &warnings {
                eprintln!("warning: {warning}");
            }
            eprintln!(
                "error: {} warning(s) in strict mode; nothing was written",
                warnings.len()
            );
            Ok(ExitCode::FAILURE)
        }
        Err(err) => Err(err).with_context(|| format!("building {}", args.dir.display())),
    }
}

fn publish(args: &PublishArgs) -> anyhow::Result<ExitCode> {
    use portico_techdocs::Publisher as _;
    let parts: Vec<&str> = args.entity.split('/').collect();
    let [namespace, kind, name] = parts.as_slice() else {
        anyhow::bail!(
            "--entity must be namespace/kind/name (e.g. default/component/my-service), not {:?}",
            args.entity
        );
    };
    anyhow::ensure!(
        args.directory
            .join(portico_techdocs::METADATA_FILE)
            .is_file(),
        "{} is not a built site (no {}): run `portico techdocs build` first",
        args.directory.display(),
        portico_techdocs::METADATA_FILE
    );
    let triplet = portico_techdocs::EntityTriplet::new(namespace, kind, name);
    // Checked before any storage is touched.
    triplet.storage_path()?;
    let config = if args.configs.is_empty() {
        None
    } else {
        let loaded = crate::config::load(&args.configs, &|name| std::env::var(name).ok())?;
        for warning in &loaded.warnings {
            eprintln!("warning: {warning}");
        }
        Some(loaded.config)
    };
    match publish_target(args, config.as_ref())? {
        PublishTarget::Local(root) => {
            portico_techdocs::LocalPublisher::new(&root).publish(&triplet, &args.directory)?;
            println!(
                "published {} for {namespace}/{kind}/{name} into {}",
                args.directory.display(),
                root.display()
            );
        }
        PublishTarget::S3(settings) => {
            let runtime = crate::async_runtime()
                .ok_or_else(|| anyhow::anyhow!("no async runtime for the S3 client"))?;
            runtime.block_on(async {
                let publisher = crate::s3_publisher::S3Publisher::new(&settings)?;
                publisher
                    .publish(&triplet, &args.directory)
                    .map_err(anyhow::Error::from)
            })?;
            println!(
                "published {} for {namespace}/{kind}/{name} to s3://{}",
                args.directory.display(),
                settings.bucket_name
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where a publish goes.
#[derive(Debug, PartialEq)]
enum PublishTarget {
    Local(PathBuf),
    S3(crate::s3_publisher::S3Settings),
}

/// The publisher of `--config`, overridden by techdocs-cli's flags.
fn publish_target(
    args: &PublishArgs,
    config: Option<&crate::config::AppConfig>,
) -> anyhow::Result<PublishTarget> {
    let configured = config.and_then(|c| c.techdocs.publisher.clone());
    let kind = args.publisher_type.unwrap_or(if configured.is_some() {
        PublisherType::AwsS3
    } else {
        PublisherType::Local
    });
    match kind {
        PublisherType::Local => {
            anyhow::ensure!(
                args.storage_name.is_none()
                    && args.aws_endpoint.is_none()
                    && args.aws_region.is_none()
                    && !args.aws_s3_force_path_style,
                "--storage-name and the --aws* flags need --publisher-type awsS3 (or a --config \
                 with techdocs.publisher.type: awsS3)"
            );
            let database = match (&args.database, config) {
                (Some(text), _) => parse_database(text),
                (None, Some(config)) => match &config.backend.database {
                    crate::config::DatabaseConfig::Sqlite { path } => {
                        crate::serve::Database::Sqlite(path.clone())
                    }
                    crate::config::DatabaseConfig::Postgres { url } => {
                        crate::serve::Database::Postgres(url.clone())
                    }
                },
                (None, None) => parse_database("./data/portico.db"),
            };
            Ok(PublishTarget::Local(publish_dir(&database)))
        }
        PublisherType::AwsS3 => {
            let mut settings = match (configured, &args.storage_name) {
                (Some(settings), _) => settings,
                (None, Some(bucket)) => crate::s3_publisher::S3Settings {
                    bucket_name: bucket.clone(),
                    region: None,
                    endpoint: None,
                    force_path_style: false,
                    credentials: None,
                },
                (None, None) => anyhow::bail!(
                    "--publisher-type awsS3 needs --storage-name <bucket> (or a --config with \
                     techdocs.publisher.awsS3.bucketName)"
                ),
            };
            if let Some(bucket) = &args.storage_name {
                settings.bucket_name.clone_from(bucket);
            }
            if let Some(endpoint) = &args.aws_endpoint {
                settings.endpoint = Some(endpoint.clone());
            }
            if let Some(region) = &args.aws_region {
                settings.region = Some(region.clone());
            }
            settings.force_path_style |= args.aws_s3_force_path_style;
            Ok(PublishTarget::S3(settings))
        }
    }
}

fn parse_database(text: &str) -> crate::serve::Database {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        crate::serve::Database::Postgres(text.to_owned())
    } else {
        crate::serve::Database::Sqlite(PathBuf::from(
            text.strip_prefix("sqlite://").unwrap_or(text),
        ))
    }
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} rendering pages {pos}/{len} {wide_bar}")
    {
        bar.set_style(style);
    }
    bar
}

fn print_warnings(report: &BuildReport) {
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
}

fn summary(report: &BuildReport, out: &Path) -> String {
    format!(
        "built {} page(s) ({} rendered, {} file(s) written) with {} warning(s) in {:.2?} into {}",
        report.pages,
        report.rendered,
        report.written,
        report.warnings.len(),
        report.duration,
        out.display()
    )
}

// ----- serve -------------------------------------------------------------------------------

#[derive(Clone)]
struct ServeState {
    out: PathBuf,
    reload: broadcast::Sender<()>,
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let out = args.out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("portico-techdocs-{}", std::process::id()))
    });
    let options = BuildOptions {
        strict: false,
        live_reload: true,
    };
    let site = Arc::new(Mutex::new(Site::new(&args.dir, &out, options)));
    rebuild(&site, &out);

    let (reload, _) = broadcast::channel(16);
    let (changes_tx, changes_rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            let _ = changes_tx.send(event);
        }
    })
    .context("starting the file watcher")?;
    watcher
        .watch(&args.dir, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", args.dir.display()))?;
    let rebuilder = {
        let site = Arc::clone(&site);
        let out = out.clone();
        let reload = reload.clone();
        let out_real = out.canonicalize().unwrap_or_else(|_| out.clone());
        std::thread::spawn(move || watch_loop(&changes_rx, &site, &out, &out_real, &reload))
    };

    let Some(runtime) = crate::async_runtime() else {
        return Ok(ExitCode::FAILURE);
    };
    let state = ServeState { out, reload };
    let result = runtime.block_on(async move {
        let app = axum::Router::new()
            .route(LIVE_RELOAD_PATH, axum::routing::get(live_reload))
            .fallback(static_file)
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let address = listener.local_addr().unwrap_or(args.listen);
        println!(
            "serving {} on http://{address}/ (Ctrl-C stops)",
            args.dir.display()
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving")
    });
    drop(watcher);
    drop(rebuilder);
    result.map(|()| ExitCode::SUCCESS)
}

fn rebuild(site: &Mutex<Site>, out: &Path) {
    let mut site = site
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match site.build() {
        Ok(report) => {
            print_warnings(&report);
            println!("{}", summary(&report, out));
        }
        Err(err) => eprintln!("error: {err}"),
    }
}

/// Waits for changes, lets a burst of them settle, rebuilds, tells the open pages.
fn watch_loop(
    changes: &std::sync::mpsc::Receiver<notify::Event>,
    site: &Mutex<Site>,
    out: &Path,
    out_real: &Path,
    reload: &broadcast::Sender<()>,
) {
    let relevant = |event: &notify::Event| {
        !matches!(event.kind, notify::EventKind::Access(_))
            && event
                .paths
                .iter()
                .any(|p| !p.starts_with(out) && !p.starts_with(out_real))
    };
    while let Ok(event) = changes.recv() {
        if !relevant(&event) {
            continue;
        }
        // Editors write in bursts (temp file, rename, chmod): wait for quiet.
        while changes.recv_timeout(Duration::from_millis(80)).is_ok() {}
        rebuild(site, out);
        let _ = reload.send(());
    }
}

async fn live_reload(
    State(state): State<ServeState>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.reload.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await {
            Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                Some((Ok(Event::default().data("reload")), receiver))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn static_file(State(state): State<ServeState>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let decoded = portico_techdocs::urls::percent_decode(path);
    if decoded
        .split('/')
        .any(|part| part == ".." || part.contains('\\'))
    {
        return (StatusCode::BAD_REQUEST, "bad path").into_response();
    }
    let mut file = state.out.join(&decoded);
    if decoded.is_empty() || decoded.ends_with('/') || file.is_dir() {
        if !decoded.is_empty() && !decoded.ends_with('/') {
            // Like any static server: `guide` → `guide/`, so relative links resolve.
            return (
                StatusCode::MOVED_PERMANENTLY,
                [(header::LOCATION, format!("/{decoded}/"))],
            )
                .into_response();
        }
        file = file.join("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

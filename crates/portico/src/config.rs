//! `app-config.yaml` for `portico serve`: a compatible subset of Backstage's configuration,
//! loaded into plain Rust types. `docs/config.md` is the user's reference; this module is the
//! only place that reads config files.
//!
//! [`load`] reads each file with the project's YAML reader (positions for every value), resolves
//! it on its own — `${VAR}` substitution on string values after parsing, never on the text, and
//! the `$env`/`$file`/`$include` directives relative to the file that writes them — then merges
//! the files in order (mappings key by key, later wins; lists and scalars replaced; `null`
//! resets a key to its default), and finally reads the merged tree into [`AppConfig`]. Errors
//! name the file, the line and column, the key path, what was found and what is expected;
//! unknown keys in the sections Portico reads are warnings. A substitution or directive that
//! fails is an error only where Portico reads the value, so Backstage sections it ignores may
//! refer to secrets that are not set.

// `portico serve` (being wired in parallel) is the first caller; until it lands only the tests
// use this module.

mod duration;
mod error;
mod node;
mod resolve;
mod substitute;
#[cfg(test)]
mod tests;
mod typed;

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use portico_catalog::engine::CatalogSettings;
use portico_catalog::{AllowRule, ReadAllowList};
use portico_store::OrphanStrategy;

pub use error::{ConfigError, ConfigWarning};

/// The address `portico serve` listens on when `backend.listen` is not set.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7007);
/// The SQLite file used when `backend.database` is not set (relative to the working directory).
pub const DEFAULT_SQLITE_PATH: &str = "./data/portico.db";
/// The file name used inside `backend.database.connection.directory`.
pub const SQLITE_FILE_NAME: &str = "portico.db";
/// The database name used when a PostgreSQL connection mapping names none.
pub const DEFAULT_PG_DATABASE: &str = "portico";
/// `catalog.processingInterval` when not set.
pub const DEFAULT_PROCESSING_INTERVAL: Duration = Duration::from_secs(120);
/// `app.title` when not set.
pub const DEFAULT_TITLE: &str = "Portico";

/// The outcome of [`load`].
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The typed configuration.
    pub config: AppConfig,
    /// Keys that were ignored (unknown, probably misspelt) and values that were accepted but
    /// will not do everything they say; show them to the operator.
    pub warnings: Vec<ConfigWarning>,
    /// Backstage sections and keys that were present and are accepted, but that Portico does
    /// not use yet (`auth`, `techdocs`, `backend.cors`, …), as dotted paths in document
    /// order. Worth one informational log line; not a mistake in the file.
    pub unused: Vec<String>,
}

/// The typed configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppConfig {
    /// `app.*`.
    pub app: AppSection,
    /// `backend.*`.
    pub backend: BackendSection,
    /// `catalog.*`.
    pub catalog: CatalogSection,
    /// `integrations.github[]` and `integrations.gitlab[]` (the scaffolder's publish actions).
    pub integrations: portico_scaffolder::Integrations,
    /// `techdocs.*`.
    pub techdocs: TechDocsSection,
    /// `scaffolder.*`.
    pub scaffolder: ScaffolderSection,
}

/// `scaffolder.*`: how this server runs scaffolder tasks (Backstage's key names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffolderSection {
    /// `scaffolder.concurrentTasksLimit`: tasks run at once by this server (default 10); 0
    /// runs none here — another replica on the same database runs them.
    pub concurrent_tasks_limit: usize,
    /// `scaffolder.EXPERIMENTAL_recoverTasksTimeout`: how long a running task's claim lasts
    /// without a heartbeat before another worker takes it over (default 30 s; the worker
    /// heartbeats every third of it).
    pub recover_tasks_timeout: Duration,
    /// `scaffolder.EXPERIMENTAL_recoverTasks` and `scaffolder.maxTaskAttempts`: how many
    /// times a task may be claimed, the first run included, before an interrupted task is
    /// failed instead of started over (default 3; `EXPERIMENTAL_recoverTasks: false` is 1).
    pub max_task_attempts: i64,
}

impl Default for ScaffolderSection {
    fn default() -> Self {
        Self {
            concurrent_tasks_limit: 10,
            recover_tasks_timeout: Duration::from_secs(30),
            max_task_attempts: 3,
        }
    }
}

/// `techdocs.*`: who builds docs sites, how many at once, for how long at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TechDocsSection {
    /// `techdocs.builder`: `local` (this server builds, the default) or `external` (sites are
    /// published from elsewhere; never built here).
    pub builder: portico_techdocs::BuilderMode,
    /// `techdocs.concurrency`: builds at once per server, and the threads they share
    /// (default half the cores, at least 1).
    pub concurrency: usize,
    /// `techdocs.buildTimeout`: a build running longer fails (default 10 minutes).
    pub build_timeout: Duration,
    /// `techdocs.publisher`: `None` for `type: local` (the default), else the `awsS3` bucket.
    pub publisher: Option<crate::s3_publisher::S3Settings>,
}

impl Default for TechDocsSection {
    fn default() -> Self {
        Self {
            builder: portico_techdocs::BuilderMode::Local,
            concurrency: portico_techdocs::builds::default_concurrency(),
            build_timeout: Duration::from_secs(600),
            publisher: None,
        }
    }
}

/// `app.*`: what the web UI shows.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSection {
    /// `app.title`: the portal's name in page titles and the header.
    pub title: String,
    /// `app.baseUrl` without a trailing `/`; defaults to `backend.baseUrl` (Portico serves
    /// the UI and the API from one address).
    pub base_url: String,
}

impl Default for AppSection {
    fn default() -> Self {
        Self {
            title: DEFAULT_TITLE.to_owned(),
            base_url: default_base_url(DEFAULT_LISTEN),
        }
    }
}

/// `backend.*`: the HTTP server and storage.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendSection {
    /// `backend.baseUrl` without a trailing `/`: the external address of the API. Defaults to
    /// `http://<listen address>` (`localhost` when listening on every interface).
    pub base_url: String,
    /// `backend.listen`: where the HTTP server binds.
    pub listen: SocketAddr,
    /// `backend.database`.
    pub database: DatabaseConfig,
    /// `backend.reading.allow`: hosts (and path prefixes) that URL locations and placeholders
    /// may read.
    pub reading_allow: Vec<AllowRule>,
    /// `backend.workingDirectory`: where scaffolder task workspaces are made (in its
    /// `scaffolder` folder); the system's temporary folder when not set.
    pub working_directory: Option<PathBuf>,
}

impl Default for BackendSection {
    fn default() -> Self {
        Self {
            base_url: default_base_url(DEFAULT_LISTEN),
            listen: DEFAULT_LISTEN,
            database: DatabaseConfig::default(),
            reading_allow: Vec::new(),
            working_directory: None,
        }
    }
}

/// `backend.database`: which store to open.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseConfig {
    /// A SQLite file (`client: better-sqlite3`, `sqlite3` or `sqlite`). A relative path is
    /// relative to the working directory, as with Backstage.
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// PostgreSQL (`client: pg`).
    Postgres {
        /// A `postgres://` URL, percent-encoded. Contains the password: print it with
        /// [`DatabaseConfig::redacted`], never as is (`Debug` redacts it too).
        url: String,
    },
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self::Sqlite {
            path: PathBuf::from(DEFAULT_SQLITE_PATH),
        }
    }
}

impl DatabaseConfig {
    /// A description safe for logs: the SQLite path, or the URL with its password replaced.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite { path } => format!("sqlite:{}", path.display()),
            Self::Postgres { url } => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        // Fails only for URLs that cannot have a password, which this has.
                        let _ = parsed.set_password(Some("***"));
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://(unparsable URL)".to_owned(),
            },
        }
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            Self::Postgres { .. } => f
                .debug_struct("Postgres")
                .field("url", &self.redacted())
                .finish(),
        }
    }
}

/// `catalog.*`.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogSection {
    /// `catalog.locations`, in order.
    pub locations: Vec<ConfigLocation>,
    /// `catalog.rules` as written; `None` when not set.
    pub rules: Option<Vec<CatalogRule>>,
    /// The kinds `catalog.rules` allows from every location: the union of the `allow` lists of
    /// the rules without `locations` matchers. `None` when `catalog.rules` is not set (every
    /// built-in kind, Portico's default); an empty set when it is `[]`.
    pub allowed_kinds: Option<BTreeSet<String>>,
    /// `catalog.processingInterval`; `None` when it is `false` (no periodic refresh).
    pub processing_interval: Option<Duration>,
    /// `catalog.orphanStrategy`.
    pub orphan_strategy: OrphanStrategy,
    /// `catalog.readonly`: refuse location registration and entity deletion through the API.
    pub readonly: bool,
}

impl Default for CatalogSection {
    fn default() -> Self {
        Self {
            locations: Vec::new(),
            rules: None,
            allowed_kinds: None,
            processing_interval: Some(DEFAULT_PROCESSING_INTERVAL),
            orphan_strategy: OrphanStrategy::Keep,
            readonly: false,
        }
    }
}

/// One `catalog.locations` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    /// `file` or `url`.
    pub location_type: String,
    /// For `file`: an absolute path (a relative target is resolved against the folder of the
    /// config file that wrote it). For `url`: the URL as written.
    pub target: String,
    /// The location's own `rules`: kinds allowed from this location in addition to the global
    /// rules (Backstage's semantics); `None` when it has none.
    pub allowed_kinds: Option<BTreeSet<String>>,
}

/// One `catalog.rules` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRule {
    /// The kinds the rule allows, spelt as the built-in kinds are when they match one.
    pub allow: BTreeSet<String>,
    /// `locations`: the rule applies only to matching locations; `None` for every location.
    pub locations: Option<Vec<LocationMatcher>>,
}

/// A `catalog.rules[].locations` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationMatcher {
    /// The location type to match.
    pub location_type: String,
    /// The exact target to match.
    pub exact: Option<String>,
    /// A glob pattern the target must match.
    pub pattern: Option<String>,
}

impl AppConfig {
    /// The catalog engine's settings from `catalog.*` and `backend.reading.allow`.
    pub fn catalog_settings(&self) -> CatalogSettings {
        CatalogSettings {
            orphan_strategy: self.catalog.orphan_strategy,
            processing_interval: self.catalog.processing_interval,
            allowed_kinds: self.catalog.allowed_kinds.clone(),
            location_kinds: self
                .catalog
                .locations
                .iter()
                .filter_map(|l| {
                    let kinds = l.allowed_kinds.clone()?;
                    Some((l.location_type.clone(), l.target.clone(), kinds))
                })
                .collect(),
            reading_allow: ReadAllowList::new(self.backend.reading_allow.clone()),
            ..CatalogSettings::default()
        }
    }
}

/// `http://<host>:<port>` for a listen address; `localhost` for the unspecified address.
fn default_base_url(listen: SocketAddr) -> String {
    let port = listen.port();
    match listen.ip() {
        ip if ip.is_unspecified() => format!("http://localhost:{port}"),
        IpAddr::V4(ip) => format!("http://{ip}:{port}"),
        IpAddr::V6(ip) => format!("http://[{ip}]:{port}"),
    }
}

/// Loads the configuration from `files`, merged in order (later files win). With no files
/// every setting has its default. `env` looks up environment variables for `${VAR}` and
/// `$env` (pass `|name| std::env::var(name).ok()`; tests pass a map).
pub fn load(
    files: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let mut budget = node::Budget::default();
    let mut merged: Option<node::Node> = None;
    for file in files {
        let bytes = node::read_bytes(file).map_err(|reason| ConfigError::Read {
            file: file.clone(),
            reason,
        })?;
        let tree = node::parse_file(file, &bytes, &mut budget)?;
        let tree = resolve::Resolver::new(env, &mut budget).resolve_file(tree, file)?;
        match &tree.value {
            node::Value::Object(_) => {}
            // An empty file (or one that is only comments) contributes nothing.
            node::Value::Null => continue,
            node::Value::Unresolved(err) => return Err((**err).clone()),
            _ => {
                return Err(ConfigError::Invalid {
                    file: tree.origin.file().to_path_buf(),
                    position: tree.origin.position(),
                    path: String::new(),
                    message: format!(
                        "expected a mapping at the top of the config file, found {}",
                        tree.describe()
                    ),
                });
            }
        }
        merged = Some(match merged {
            None => tree,
            Some(base) => node::merge(base, tree),
        });
    }
    typed::read(merged.as_ref())
}

//! Reading the merged configuration tree into [`AppConfig`]: types, ranges and defaults, with
//! an error that names the file, position and key path of the first bad value, and warnings
//! for keys that are ignored.
//!
//! Three kinds of keys are told apart in the sections Portico reads (`app`, `backend`,
//! `catalog`, `integrations`, `techdocs`, `scaffolder`): keys it uses; Backstage keys it accepts but does not use yet (listed in
//! [`Loaded::unused`]); and unknown keys (a warning, with a "did you mean" when one is close).
//! At the top level, other Backstage sections (`auth`, `proxy`, …) and any key that
//! does not look like a misspelling of `app`, `backend` or `catalog` (it may configure a
//! Backstage plugin) are listed in `unused`. `null` counts as absent everywhere. Numbers,
//! ports and booleans may also be strings (`port: ${PORT}`), since substitution yields strings.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use portico_catalog::{AllowRule, ReadAllowList};
use portico_model::{FieldPath, KindRegistry};
use portico_scaffolder::{Integration, Integrations};
use portico_store::OrphanStrategy;
use url::Url;

use super::duration::{HUMAN_UNITS, from_millis, parse_text};
use super::error::{ConfigError, ConfigWarning};
use super::node::{Node, Value, path_text, quote};
use super::resolve::folder_of;
use super::{
    AppConfig, AppSection, BackendSection, CatalogRule, CatalogSection, ConfigLocation,
    DEFAULT_LISTEN, DEFAULT_PG_DATABASE, DEFAULT_TITLE, DatabaseConfig, Loaded, LocationMatcher,
    SQLITE_FILE_NAME, ScaffolderSection, TechDocsSection, default_base_url,
};
use portico_techdocs::BuilderMode;

type Result<T> = std::result::Result<T, ConfigError>;

const TOP: &[&str] = &[
    "app",
    "backend",
    "catalog",
    "integrations",
    "techdocs",
    "scaffolder",
];
/// Backstage's other sections: accepted, not used yet.
const TOP_LATER: &[&str] = &[
    "auth",
    "proxy",
    "permission",
    "organization",
    "search",
    "kubernetes",
    "events",
    "signals",
    "notifications",
    "home",
];

const APP: &[&str] = &["title", "baseUrl"];
const APP_LATER: &[&str] = &[
    "support",
    "listen",
    "packages",
    "extensions",
    "routes",
    "experimental",
    "branding",
    "analytics",
    "googleAnalyticsTrackingId",
];

const BACKEND: &[&str] = &[
    "baseUrl",
    "listen",
    "database",
    "reading",
    "workingDirectory",
];
const BACKEND_LATER: &[&str] = &[
    "auth",
    "cache",
    "cors",
    "csp",
    "https",
    "trustProxy",
    "rateLimit",
    "health",
    "lifecycle",
    "actions",
    "auditor",
    "packages",
    "server",
];

const DATABASE: &[&str] = &["client", "connection"];
const DATABASE_LATER: &[&str] = &[
    "prefix",
    "ensureExists",
    "ensureSchemaExists",
    "pluginDivisionMode",
    "plugin",
    "knexConfig",
    "skipMigrations",
    "role",
];
const PG_CONNECTION: &[&str] = &[
    "host",
    "port",
    "user",
    "password",
    "database",
    "connectionString",
    "ssl",
];

const CATALOG: &[&str] = &[
    "locations",
    "rules",
    "processingInterval",
    "orphanStrategy",
    "readonly",
];
const CATALOG_LATER: &[&str] = &[
    "stitchingStrategy",
    "disableRelationsCompatibility",
    "useUrlReadersSearch",
    "providers",
    "processors",
    "import",
    "orphanProviderStrategy",
];

const TECHDOCS: &[&str] = &["builder", "concurrency", "buildTimeout", "publisher"];
const TECHDOCS_PUBLISHER: &[&str] = &["type", "awsS3"];
const TECHDOCS_PUBLISHER_LATER: &[&str] = &["googleGcs", "azureBlobStorage", "openStackSwift"];
const TECHDOCS_S3: &[&str] = &[
    "bucketName",
    "region",
    "endpoint",
    "s3ForcePathStyle",
    "credentials",
];
const TECHDOCS_S3_LATER: &[&str] = &["bucketRootPath", "sse", "accountId", "maxAttempts"];
const TECHDOCS_LATER: &[&str] = &[
    "generator",
    "cache",
    "legacyUseCaseSensitiveTripletPaths",
    "requestUrl",
    "storageUrl",
    "sanitizer",
    "frontendUrl",
];
const SCAFFOLDER: &[&str] = &[
    "concurrentTasksLimit",
    "EXPERIMENTAL_recoverTasks",
    "EXPERIMENTAL_recoverTasksTimeout",
    "maxTaskAttempts",
];
const SCAFFOLDER_LATER: &[&str] = &[
    "defaultAuthor",
    "defaultCommitMessage",
    "defaultCommitSigningKey",
    "EXPERIMENTAL_gracefulShutdown",
    "EXPERIMENTAL_workspaceSerialization",
    "EXPERIMENTAL_workspaceSerializationProvider",
    "taskTimeout",
    "taskTimeoutJanitorFrequency",
];
const RECOVER_TIMEOUT_FORMS: &str = "a duration such as {seconds: 30}, \"PT30S\" or \"30s\"";
const BUILD_TIMEOUT_FORMS: &str = "a duration such as {minutes: 10}, \"PT10M\" or \"10m\"";
const INTEGRATIONS: &[&str] = &["github", "gitlab"];
const INTEGRATIONS_LATER: &[&str] = &[
    "azure",
    "bitbucket",
    "bitbucketCloud",
    "bitbucketServer",
    "gerrit",
    "gitea",
    "harness",
    "awsS3",
    "awsCodeCommit",
    "googleGcs",
    "azureBlobStorage",
];
const INTEGRATION: &[&str] = &["host", "token", "apiBaseUrl"];
const GITHUB_LATER: &[&str] = &["rawBaseUrl", "apps"];
const GITLAB_LATER: &[&str] = &["baseUrl", "commitSigningKey"];

const CLIENTS: &str = "\"better-sqlite3\", \"sqlite3\", \"sqlite\" or \"pg\"";
const PG_FORMS: &str = "a postgres:// URL or {host, port, user, password, database}";
const LISTEN_FORMS: &str = "a port, \"host:port\" or {host, port}";
const DURATION_FORMS: &str = "a duration such as {minutes: 2}, \"PT2M\" or \"2m\", or false";

/// Reads the merged tree (`None`: no config file) into the typed configuration.
pub(super) fn read(root: Option<&Node>) -> Result<Loaded> {
    let mut reader = Reader::default();
    let root_path = FieldPath::root();
    let config = match root {
        None => AppConfig::default(),
        Some(root) => {
            reader.top_level(root, &root_path);
            let backend = reader.backend(root.get("backend"), &root_path.key("backend"))?;
            let app = reader.app(root.get("app"), &root_path.key("app"), &backend)?;
            let catalog =
                reader.catalog(root.get("catalog"), &root_path.key("catalog"), &backend)?;
            let techdocs = reader.techdocs(root.get("techdocs"), &root_path.key("techdocs"))?;
            let scaffolder =
                reader.scaffolder(root.get("scaffolder"), &root_path.key("scaffolder"))?;
            let integrations =
                reader.integrations(root.get("integrations"), &root_path.key("integrations"))?;
            AppConfig {
                app,
                backend,
                catalog,
                techdocs,
                scaffolder,
                integrations,
            }
        }
    };
    Ok(Loaded {
        config,
        warnings: reader.warnings,
        unused: reader.unused,
    })
}

#[derive(Debug, Default)]
struct Reader {
    warnings: Vec<ConfigWarning>,
    unused: Vec<String>,
}

impl Reader {
    fn warn(&mut self, node: &Node, path: &FieldPath, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            file: node.origin.file().to_path_buf(),
            position: node.origin.position(),
            path: path_text(path),
            message: message.into(),
        });
    }

    /// Sorts the keys of the mapping `node` into used (`known`), accepted-but-unused (`later`)
    /// and unknown (a warning).
    fn keys(&mut self, node: &Node, path: &FieldPath, known: &[&str], later: &[&str]) {
        let Value::Object(entries) = &node.value else {
            return;
        };
        for (key, value) in entries {
            if known.contains(&key.as_str()) {
                continue;
            }
            let key_path = path.key(key);
            if later.contains(&key.as_str()) {
                self.unused.push(path_text(&key_path));
                continue;
            }
            let mut message = format!("unknown key {} (ignored)", quote(key));
            if let Some(close) = suggest(key, known.iter().chain(later)) {
                message.push_str(&format!("; did you mean {}?", quote(close)));
            }
            self.warn(value, &key_path, message);
        }
    }

    fn top_level(&mut self, root: &Node, path: &FieldPath) {
        let Value::Object(entries) = &root.value else {
            return;
        };
        for (key, value) in entries {
            if TOP.contains(&key.as_str()) {
                continue;
            }
            let key_path = path.key(key);
            match suggest(key, TOP.iter()) {
                Some(close) if !TOP_LATER.contains(&key.as_str()) => self.warn(
                    value,
                    &key_path,
                    format!(
                        "unknown key {} (ignored); did you mean {}?",
                        quote(key),
                        quote(close)
                    ),
                ),
                _ => self.unused.push(path_text(&key_path)),
            }
        }
    }

    fn app(
        &mut self,
        node: Option<&Node>,
        path: &FieldPath,
        backend: &BackendSection,
    ) -> Result<AppSection> {
        let mut app = AppSection {
            title: DEFAULT_TITLE.to_owned(),
            base_url: backend.base_url.clone(),
        };
        let Some(node) = node else {
            return Ok(app);
        };
        mapping(node, path)?;
        self.keys(node, path, APP, APP_LATER);
        if let Some(title) = node.get("title") {
            app.title = string(title, &path.key("title"))?.to_owned();
        }
        if let Some(base_url) = node.get("baseUrl") {
            app.base_url = http_url(base_url, &path.key("baseUrl"))?;
        }
        Ok(app)
    }

    /// `integrations.github[]` and `integrations.gitlab[]`: `{host, token?, apiBaseUrl?}`.
    fn integrations(&mut self, node: Option<&Node>, path: &FieldPath) -> Result<Integrations> {
        let mut integrations = Integrations::default();
        let Some(node) = node else {
            return Ok(integrations);
        };
        mapping(node, path)?;
        self.keys(node, path, INTEGRATIONS, INTEGRATIONS_LATER);
        for (forge, later) in [("github", GITHUB_LATER), ("gitlab", GITLAB_LATER)] {
            let Some(entries) = node.get(forge) else {
                continue;
            };
            let forge_path = path.key(forge);
            let mut parsed: Vec<Integration> = Vec::new();
            for (i, item) in list(entries, &forge_path)?.iter().enumerate() {
                let item_path = forge_path.index(i);
                mapping(item, &item_path)?;
                self.keys(item, &item_path, INTEGRATION, later);
                let host_node = required(item, "host", &item_path, "a host such as github.com")?;
                let host_path = item_path.key("host");
                let host = string(host_node, &host_path)?.trim();
                if host.contains("://") || host.contains(['/', ' ', '?', '#', '@']) {
                    return Err(expected(
                        host_node,
                        &host_path,
                        "a host such as github.com or git.example.com:8443 (no scheme or path)",
                    ));
                }
                if parsed
                    .iter()
                    .any(|other| other.host.eq_ignore_ascii_case(host))
                {
                    return Err(host_node.origin.error(
                        &host_path,
                        format!("the host {} is configured twice", quote(host)),
                    ));
                }
                let token_path = item_path.key("token");
                let token = match item.get("token") {
                    None => None,
                    // Backstage's own app-config says `token: ${GITHUB_TOKEN}`; without the
                    // variable the host is still known, and publishing to it fails clearly.
                    Some(token) if matches!(token.value, Value::Unresolved(_)) => {
                        self.warn(
                            token,
                            &token_path,
                            "the token is not set (its substitution failed); publishing to \
                             this host needs a token in the step's input",
                        );
                        None
                    }
                    Some(token) => {
                        Some(text(token, &token_path)?).filter(|token| !token.trim().is_empty())
                    }
                };
                let api_base_url = item
                    .get("apiBaseUrl")
                    .map(|url| http_url(url, &item_path.key("apiBaseUrl")))
                    .transpose()?;
                parsed.push(Integration {
                    host: host.to_owned(),
                    token,
                    api_base_url,
                });
            }
            match forge {
                "github" => integrations.github = parsed,
                _ => integrations.gitlab = parsed,
            }
        }
        Ok(integrations)
    }

    fn backend(&mut self, node: Option<&Node>, path: &FieldPath) -> Result<BackendSection> {
        let Some(node) = node else {
            return Ok(BackendSection::default());
        };
        mapping(node, path)?;
        self.keys(node, path, BACKEND, BACKEND_LATER);
        let listen = self.listen(node.get("listen"), &path.key("listen"))?;
        let base_url = match node.get("baseUrl") {
            Some(base_url) => http_url(base_url, &path.key("baseUrl"))?,
            None => default_base_url(listen),
        };
        let database = self.database(node.get("database"), &path.key("database"))?;
        let reading_allow = self.reading(node.get("reading"), &path.key("reading"))?;
        let working_directory = match node.get("workingDirectory") {
            None => None,
            Some(directory) => {
                let directory_path = path.key("workingDirectory");
                Some(PathBuf::from(string(directory, &directory_path)?.trim()))
            }
        };
        Ok(BackendSection {
            base_url,
            listen,
            database,
            reading_allow,
            working_directory,
        })
    }

    fn listen(&mut self, node: Option<&Node>, path: &FieldPath) -> Result<SocketAddr> {
        let Some(node) = node else {
            return Ok(DEFAULT_LISTEN);
        };
        match &node.value {
            Value::Number(_) => Ok(SocketAddr::new(DEFAULT_LISTEN.ip(), port(node, path)?)),
            Value::String(text) => {
                parse_listen(text).ok_or_else(|| expected(node, path, LISTEN_FORMS))
            }
            Value::Object(_) => {
                self.keys(node, path, &["host", "port"], &[]);
                let ip = match node.get("host") {
                    Some(host) => {
                        let host_path = path.key("host");
                        let text = text(host, &host_path)?;
                        listen_ip(&text).ok_or_else(|| {
                            expected(
                                host,
                                &host_path,
                                "an IP address, \"localhost\" or \"\" (every interface)",
                            )
                        })?
                    }
                    None => DEFAULT_LISTEN.ip(),
                };
                let port = match node.get("port") {
                    Some(value) => port(value, &path.key("port"))?,
                    None => DEFAULT_LISTEN.port(),
                };
                Ok(SocketAddr::new(ip, port))
            }
            _ => Err(expected(node, path, LISTEN_FORMS)),
        }
    }

    fn database(&mut self, node: Option<&Node>, path: &FieldPath) -> Result<DatabaseConfig> {
        let Some(node) = node else {
            return Ok(DatabaseConfig::default());
        };
        mapping(node, path)?;
        self.keys(node, path, DATABASE, DATABASE_LATER);
        let client_path = path.key("client");
        let client = required(node, "client", path, CLIENTS)?;
        let connection = node.get("connection");
        let connection_path = path.key("connection");
        match string(client, &client_path)? {
            "better-sqlite3" | "sqlite3" | "sqlite" => self.sqlite(connection, &connection_path),
            "pg" => match connection {
                Some(connection) => self.postgres(connection, &connection_path),
                None => Err(node
                    .origin
                    .error(&connection_path, format!("missing; expected {PG_FORMS}"))),
            },
            _ => Err(expected(client, &client_path, CLIENTS)),
        }
    }

    fn sqlite(&mut self, node: Option<&Node>, path: &FieldPath) -> Result<DatabaseConfig> {
        let Some(node) = node else {
            return Ok(DatabaseConfig::default());
        };
        let path_of = |node: &Node, path: &FieldPath| -> Result<PathBuf> {
            let text = string(node, path)?.trim();
            if text == ":memory:" {
                return Err(node.origin.error(
                    path,
                    "Portico keeps the catalog in a file and cannot use an in-memory SQLite \
                     database; give a file path such as ./data/portico.db",
                ));
            }
            Ok(PathBuf::from(text))
        };
        let sqlite_path = match &node.value {
            Value::String(_) => path_of(node, path)?,
            Value::Object(_) => {
                self.keys(node, path, &["filename", "directory"], &[]);
                match (node.get("filename"), node.get("directory")) {
                    (Some(filename), None) => path_of(filename, &path.key("filename"))?,
                    (None, Some(directory)) => {
                        path_of(directory, &path.key("directory"))?.join(SQLITE_FILE_NAME)
                    }
                    (Some(_), Some(_)) => {
                        return Err(node
                            .origin
                            .error(path, "give either filename or directory, not both"));
                    }
                    (None, None) => {
                        return Err(node
                            .origin
                            .error(path, "expected {filename: <file>} or {directory: <folder>}"));
                    }
                }
            }
            _ => {
                return Err(expected(
                    node,
                    path,
                    "a file path, {filename: <file>} or {directory: <folder>}",
                ));
            }
        };
        Ok(DatabaseConfig::Sqlite { path: sqlite_path })
    }

    fn postgres(&mut self, node: &Node, path: &FieldPath) -> Result<DatabaseConfig> {
        let url = match &node.value {
            Value::String(text) => postgres_url(node, text, path)?,
            Value::Object(_) => self.postgres_fields(node, path)?,
            // Never print the value: it may hold a password.
            _ => return Err(expected(node, path, PG_FORMS)),
        };
        Ok(DatabaseConfig::Postgres { url })
    }

    /// `{host, port, user, password, database, ssl}` (or `{connectionString, ssl}`) as a URL.
    fn postgres_fields(&mut self, node: &Node, path: &FieldPath) -> Result<String> {
        self.keys(node, path, PG_CONNECTION, &[]);
        let sslmode = match node.get("ssl") {
            None => None,
            Some(ssl) => Some(self.sslmode(ssl, &path.key("ssl"))?),
        };
        if let Some(connection_string) = node.get("connectionString") {
            let string_path = path.key("connectionString");
            if let Some(other) = ["host", "port", "user", "password", "database"]
                .into_iter()
                .find(|key| node.get(key).is_some())
            {
                return Err(node.origin.error(
                    path,
                    format!("give either connectionString or {other} (and the other fields)"),
                ));
            }
            let text = string(connection_string, &string_path)?;
            let mut url = postgres_url(connection_string, text, &string_path)?;
            if let Some(mode) = sslmode {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("sslmode=");
                url.push_str(mode);
            }
            return Ok(url);
        }
        let optional_text = |key: &str| -> Result<Option<String>> {
            node.get(key)
                .map(|value| text(value, &path.key(key)))
                .transpose()
        };
        let host = optional_text("host")?.unwrap_or_else(|| "localhost".to_owned());
        let port = match node.get("port") {
            Some(value) => port(value, &path.key("port"))?,
            None => 5432,
        };
        let user = optional_text("user")?;
        let password = optional_text("password")?;
        let database = optional_text("database")?.unwrap_or_else(|| DEFAULT_PG_DATABASE.to_owned());

        let mut url = String::from("postgres://");
        if user.is_some() || password.is_some() {
            url.push_str(&percent_encode(user.as_deref().unwrap_or_default()));
            if let Some(password) = &password {
                url.push(':');
                url.push_str(&percent_encode(password));
            }
            url.push('@');
        }
        let mut query = Vec::new();
        let host = host.trim();
        if host.starts_with('/') {
            // A Unix socket folder: sqlx reads it from the `host` parameter.
            url.push_str("localhost");
            query.push(format!("host={}", percent_encode(host)));
        } else if host.contains(':') {
            url.push_str(&format!(
                "[{}]",
                host.trim_start_matches('[').trim_end_matches(']')
            ));
        } else {
            url.push_str(host);
        }
        url.push_str(&format!(":{port}/{}", percent_encode(&database)));
        if let Some(mode) = sslmode {
            query.push(format!("sslmode={mode}"));
        }
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        let valid = Url::parse(&url).is_ok_and(|parsed| parsed.host_str().is_some());
        if !valid {
            let host_node = node.get("host").unwrap_or(node);
            return Err(expected(
                host_node,
                &path.key("host"),
                "a host name or IP address",
            ));
        }
        Ok(url)
    }

    /// `ssl: true | false | {rejectUnauthorized, ca, …}` as an `sslmode`.
    fn sslmode(&mut self, node: &Node, path: &FieldPath) -> Result<&'static str> {
        match &node.value {
            Value::Object(_) => {
                self.keys(
                    node,
                    path,
                    &["rejectUnauthorized", "ca", "cert", "key"],
                    &[],
                );
                let verify = match node.get("rejectUnauthorized") {
                    Some(value) => boolean(value, &path.key("rejectUnauthorized"))?,
                    None => true,
                };
                if verify || ["ca", "cert", "key"].iter().any(|k| node.get(k).is_some()) {
                    self.warn(
                        node,
                        path,
                        "certificate options are not supported yet: the connection is \
                         encrypted (sslmode=require) but the server certificate is not verified",
                    );
                }
                Ok("require")
            }
            _ => Ok(if boolean(node, path)? {
                "require"
            } else {
                "disable"
            }),
        }
    }

    fn reading(&mut self, node: Option<&Node>, path: &FieldPath) -> Result<Vec<AllowRule>> {
        let Some(node) = node else {
            return Ok(Vec::new());
        };
        mapping(node, path)?;
        self.keys(node, path, &["allow"], &[]);
        let Some(allow) = node.get("allow") else {
            return Ok(Vec::new());
        };
        let allow_path = path.key("allow");
        let mut rules = Vec::new();
        for (i, item) in list(allow, &allow_path)?.iter().enumerate() {
            let item_path = allow_path.index(i);
            mapping(item, &item_path)?;
            self.keys(item, &item_path, &["host", "paths"], &[]);
            let host_node = required(item, "host", &item_path, "a host such as example.com")?;
            let host_path = item_path.key("host");
            let host = string(host_node, &host_path)?.trim();
            if host.contains("://") || host.contains(['/', ' ', '?', '#', '@']) {
                return Err(expected(
                    host_node,
                    &host_path,
                    "a host such as example.com, *.example.com or example.com:8080 \
                     (no scheme or path)",
                ));
            }
            let mut paths = Vec::new();
            if let Some(paths_node) = item.get("paths") {
                let paths_path = item_path.key("paths");
                for (j, path_node) in list(paths_node, &paths_path)?.iter().enumerate() {
                    let path_path = paths_path.index(j);
                    let prefix = string(path_node, &path_path)?;
                    if !prefix.starts_with('/') {
                        return Err(expected(
                            path_node,
                            &path_path,
                            "a path prefix starting with \"/\"",
                        ));
                    }
                    paths.push(prefix.to_owned());
                }
            }
            rules.push(AllowRule {
                host: host.to_owned(),
                paths,
            });
        }
        Ok(rules)
    }

    fn catalog(
        &mut self,
        node: Option<&Node>,
        path: &FieldPath,
        backend: &BackendSection,
    ) -> Result<CatalogSection> {
        let mut catalog = CatalogSection::default();
        let Some(node) = node else {
            return Ok(catalog);
        };
        mapping(node, path)?;
        self.keys(node, path, CATALOG, CATALOG_LATER);
        if let Some(locations) = node.get("locations") {
            let locations_path = path.key("locations");
            let allow = ReadAllowList::new(backend.reading_allow.clone());
            for (i, item) in list(locations, &locations_path)?.iter().enumerate() {
                let location = self.location(item, &locations_path.index(i), &allow)?;
                catalog.locations.push(location);
            }
        }
        if let Some(rules) = node.get("rules") {
            let rules_path = path.key("rules");
            let mut parsed = Vec::new();
            let mut allowed = BTreeSet::new();
            for (i, item) in list(rules, &rules_path)?.iter().enumerate() {
                let rule = self.rule(item, &rules_path.index(i))?;
                if rule.locations.is_none() {
                    allowed.extend(rule.allow.iter().cloned());
                }
                parsed.push(rule);
            }
            catalog.rules = Some(parsed);
            catalog.allowed_kinds = Some(allowed);
        }
        if let Some(interval) = node.get("processingInterval") {
            catalog.processing_interval =
                processing_interval(interval, &path.key("processingInterval"))?;
        }
        if let Some(strategy) = node.get("orphanStrategy") {
            let strategy_path = path.key("orphanStrategy");
            catalog.orphan_strategy = match string(strategy, &strategy_path)? {
                "keep" => OrphanStrategy::Keep,
                "delete" => OrphanStrategy::Delete,
                _ => return Err(expected(strategy, &strategy_path, "\"keep\" or \"delete\"")),
            };
        }
        if let Some(readonly) = node.get("readonly") {
            catalog.readonly = boolean(readonly, &path.key("readonly"))?;
        }
        Ok(catalog)
    }

    fn techdocs(&mut self, node: Option<&Node>, path: &FieldPath) -> Result<TechDocsSection> {
        let mut techdocs = TechDocsSection::default();
        let Some(node) = node else {
            return Ok(techdocs);
        };
        mapping(node, path)?;
        self.keys(node, path, TECHDOCS, TECHDOCS_LATER);
        if let Some(builder) = node.get("builder") {
            let builder_path = path.key("builder");
            techdocs.builder = match string(builder, &builder_path)? {
                "local" => BuilderMode::Local,
                "external" => BuilderMode::External,
                _ => {
                    return Err(expected(
                        builder,
                        &builder_path,
                        "\"local\" or \"external\"",
                    ));
                }
            };
        }
        if let Some(concurrency) = node.get("concurrency") {
            let concurrency_path = path.key("concurrency");
            let value = match &concurrency.value {
                Value::Number(number) => number.as_u64(),
                Value::String(text) => text.trim().parse().ok(),
                _ => None,
            };
            techdocs.concurrency = value
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| expected(concurrency, &concurrency_path, "a number from 1 to 64"))?;
        }
        if let Some(timeout) = node.get("buildTimeout") {
            let timeout_path = path.key("buildTimeout");
            let millis = duration_millis(timeout, &timeout_path, BUILD_TIMEOUT_FORMS)?;
            techdocs.build_timeout = match from_millis(millis) {
                Some(duration) if !duration.is_zero() => duration,
                Some(_) => {
                    return Err(timeout
                        .origin
                        .error(&timeout_path, "the timeout must be longer than zero"));
                }
                None => {
                    return Err(timeout
                        .origin
                        .error(&timeout_path, "the timeout is too long"));
                }
            };
        }
        if let Some(publisher) = node.get("publisher") {
            techdocs.publisher = self.techdocs_publisher(publisher, &path.key("publisher"))?;
        }
        Ok(techdocs)
    }

    fn scaffolder(&mut self, node: Option<&Node>, path: &FieldPath) -> Result<ScaffolderSection> {
        let mut scaffolder = ScaffolderSection::default();
        let Some(node) = node else {
            return Ok(scaffolder);
        };
        mapping(node, path)?;
        self.keys(node, path, SCAFFOLDER, SCAFFOLDER_LATER);
        let whole = |node: &Node| match &node.value {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        if let Some(limit) = node.get("concurrentTasksLimit") {
            let limit_path = path.key("concurrentTasksLimit");
            scaffolder.concurrent_tasks_limit = whole(limit)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n <= 1000)
                .ok_or_else(|| {
                    expected(
                        limit,
                        &limit_path,
                        "a number from 0 (this server runs no tasks) to 1000",
                    )
                })?;
        }
        if let Some(timeout) = node.get("EXPERIMENTAL_recoverTasksTimeout") {
            let timeout_path = path.key("EXPERIMENTAL_recoverTasksTimeout");
            let millis = duration_millis(timeout, &timeout_path, RECOVER_TIMEOUT_FORMS)?;
            scaffolder.recover_tasks_timeout = match from_millis(millis) {
                Some(duration) if duration >= Duration::from_secs(1) => duration,
                Some(_) => {
                    return Err(timeout.origin.error(
                        &timeout_path,
                        "the timeout must be at least 1 second (the worker heartbeats every \
                         third of it)",
                    ));
                }
                None => {
                    return Err(timeout
                        .origin
                        .error(&timeout_path, "the timeout is too long"));
                }
            };
        }
        let recover = match node.get("EXPERIMENTAL_recoverTasks") {
            Some(recover) => Some(boolean(recover, &path.key("EXPERIMENTAL_recoverTasks"))?),
            None => None,
        };
        if let Some(attempts) = node.get("maxTaskAttempts") {
            let attempts_path = path.key("maxTaskAttempts");
            let value = whole(attempts)
                .and_then(|n| i64::try_from(n).ok())
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| {
                    expected(
                        attempts,
                        &attempts_path,
                        "a number from 1 (an interrupted task is failed) to 100",
                    )
                })?;
            if recover == Some(false) && value > 1 {
                return Err(attempts.origin.error(
                    &attempts_path,
                    "EXPERIMENTAL_recoverTasks is false, so interrupted tasks are never started \
                     over; remove maxTaskAttempts or set EXPERIMENTAL_recoverTasks: true",
                ));
            }
            scaffolder.max_task_attempts = value;
        } else if recover == Some(false) {
            scaffolder.max_task_attempts = 1;
        }
        Ok(scaffolder)
    }

    /// `techdocs.publisher`: `type: local` (sites next to the database) or `awsS3`.
    fn techdocs_publisher(
        &mut self,
        node: &Node,
        path: &FieldPath,
    ) -> Result<Option<crate::s3_publisher::S3Settings>> {
        mapping(node, path)?;
        self.keys(node, path, TECHDOCS_PUBLISHER, TECHDOCS_PUBLISHER_LATER);
        let type_path = path.key("type");
        let kind = match node.get("type") {
            Some(kind) => string(kind, &type_path)?,
            None => "local",
        };
        match kind {
            "local" => return Ok(None),
            "awsS3" => {}
            _ => {
                let at = node.get("type").unwrap_or(node);
                return Err(expected(at, &type_path, "\"local\" or \"awsS3\""));
            }
        }
        let s3_path = path.key("awsS3");
        let s3 = required(node, "awsS3", path, "the bucket settings (bucketName, …)")?;
        mapping(s3, &s3_path)?;
        self.keys(s3, &s3_path, TECHDOCS_S3, TECHDOCS_S3_LATER);
        let bucket_path = s3_path.key("bucketName");
        let bucket_name = string(
            required(s3, "bucketName", &s3_path, "the bucket's name")?,
            &bucket_path,
        )?
        .trim()
        .to_owned();
        let region = s3
            .get("region")
            .map(|r| string(r, &s3_path.key("region")).map(|r| r.trim().to_owned()))
            .transpose()?;
        let endpoint = s3
            .get("endpoint")
            .map(|e| http_url(e, &s3_path.key("endpoint")))
            .transpose()?;
        let force_path_style = s3
            .get("s3ForcePathStyle")
            .map(|b| boolean(b, &s3_path.key("s3ForcePathStyle")))
            .transpose()?
            .unwrap_or(false);
        let credentials = match s3.get("credentials") {
            None => None,
            Some(credentials) => {
                let cred_path = s3_path.key("credentials");
                mapping(credentials, &cred_path)?;
                self.keys(
                    credentials,
                    &cred_path,
                    &["accessKeyId", "secretAccessKey"],
                    &["roleArn"],
                );
                let key_id = text(
                    required(credentials, "accessKeyId", &cred_path, "the access key id")?,
                    &cred_path.key("accessKeyId"),
                )?;
                let secret = text(
                    required(
                        credentials,
                        "secretAccessKey",
                        &cred_path,
                        "the secret access key",
                    )?,
                    &cred_path.key("secretAccessKey"),
                )?;
                Some((key_id, secret))
            }
        };
        Ok(Some(crate::s3_publisher::S3Settings {
            bucket_name,
            region,
            endpoint,
            force_path_style,
            credentials,
        }))
    }

    fn location(
        &mut self,
        node: &Node,
        path: &FieldPath,
        allow: &ReadAllowList,
    ) -> Result<ConfigLocation> {
        mapping(node, path)?;
        self.keys(node, path, &["type", "target", "rules"], &[]);
        let type_path = path.key("type");
        let type_node = required(node, "type", path, "\"file\" or \"url\"")?;
        let location_type = string(type_node, &type_path)?;
        let target_path = path.key("target");
        let target_node = required(node, "target", path, "a file path or URL")?;
        let written = string(target_node, &target_path)?.trim();
        let target = match location_type {
            "file" => {
                let joined = folder_of(target_node.origin.file()).join(written);
                let absolute = std::path::absolute(&joined).map_err(|err| {
                    target_node.origin.error(
                        &target_path,
                        format!("cannot make {} absolute: {err}", joined.display()),
                    )
                })?;
                absolute.to_string_lossy().into_owned()
            }
            "url" => {
                let url = Url::parse(written)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https"));
                let Some(url) = url else {
                    return Err(expected(target_node, &target_path, "an http(s) URL"));
                };
                if !allow.allows(&url) {
                    let host = url.host_str().unwrap_or_default();
                    self.warn(
                        target_node,
                        &target_path,
                        format!(
                            "{host} is not in backend.reading.allow, so this location cannot \
                             be read; add {{host: {host}}} there"
                        ),
                    );
                }
                written.to_owned()
            }
            _ => return Err(expected(type_node, &type_path, "\"file\" or \"url\"")),
        };
        let allowed_kinds = match node.get("rules") {
            None => None,
            Some(rules) => {
                let rules_path = path.key("rules");
                let mut kinds = BTreeSet::new();
                for (i, rule) in list(rules, &rules_path)?.iter().enumerate() {
                    let rule_path = rules_path.index(i);
                    mapping(rule, &rule_path)?;
                    self.keys(rule, &rule_path, &["allow"], &[]);
                    let allow = required(rule, "allow", &rule_path, "a list of kinds")?;
                    kinds.extend(self.kinds(allow, &rule_path.key("allow"))?);
                }
                Some(kinds)
            }
        };
        Ok(ConfigLocation {
            location_type: location_type.to_owned(),
            target,
            allowed_kinds,
        })
    }

    fn rule(&mut self, node: &Node, path: &FieldPath) -> Result<CatalogRule> {
        mapping(node, path)?;
        self.keys(node, path, &["allow", "locations"], &[]);
        let allow_node = required(node, "allow", path, "a list of kinds")?;
        let allow = self.kinds(allow_node, &path.key("allow"))?;
        let locations = match node.get("locations") {
            None => None,
            Some(matchers) => {
                let matchers_path = path.key("locations");
                let mut parsed = Vec::new();
                for (i, matcher) in list(matchers, &matchers_path)?.iter().enumerate() {
                    let matcher_path = matchers_path.index(i);
                    mapping(matcher, &matcher_path)?;
                    self.keys(matcher, &matcher_path, &["type", "exact", "pattern"], &[]);
                    let type_node = required(matcher, "type", &matcher_path, "a location type")?;
                    let optional = |key: &str| -> Result<Option<String>> {
                        matcher
                            .get(key)
                            .map(|value| string(value, &matcher_path.key(key)).map(str::to_owned))
                            .transpose()
                    };
                    parsed.push(LocationMatcher {
                        location_type: string(type_node, &matcher_path.key("type"))?.to_owned(),
                        exact: optional("exact")?,
                        pattern: optional("pattern")?,
                    });
                }
                self.warn(
                    matchers,
                    &matchers_path,
                    "rules limited to some locations are not supported yet; the kinds of this \
                     rule are not allowed anywhere",
                );
                Some(parsed)
            }
        };
        Ok(CatalogRule { allow, locations })
    }

    /// A list of kinds. Built-in kinds are matched case-insensitively and spelt canonically;
    /// others are kept as written, with a warning.
    fn kinds(&mut self, node: &Node, path: &FieldPath) -> Result<BTreeSet<String>> {
        let registry = KindRegistry::builtin();
        let mut kinds = BTreeSet::new();
        for (i, item) in list(node, path)?.iter().enumerate() {
            let item_path = path.index(i);
            let kind = string(item, &item_path)?.trim();
            match registry
                .kinds()
                .iter()
                .find(|definition| definition.kind.eq_ignore_ascii_case(kind))
            {
                Some(definition) => {
                    kinds.insert(definition.kind.to_owned());
                }
                None => {
                    let names: Vec<&str> = registry.kinds().iter().map(|d| d.kind).collect();
                    let mut message = format!(
                        "{} is not a built-in kind, so no entity will match it",
                        quote(kind)
                    );
                    match suggest(kind, names.iter()) {
                        Some(close) => {
                            message.push_str(&format!("; did you mean {}?", quote(close)))
                        }
                        None => {
                            message.push_str(&format!(" (built-in kinds: {})", names.join(", ")))
                        }
                    }
                    self.warn(item, &item_path, message);
                    kinds.insert(kind.to_owned());
                }
            }
        }
        Ok(kinds)
    }
}

/// `expected <what>, found <value>` at `node`.
///
/// Every type check ends here on a mismatch, so this is also where a value whose substitution
/// or directive failed reports that failure.
fn expected(node: &Node, path: &FieldPath, what: &str) -> ConfigError {
    let found = match &node.value {
        Value::Unresolved(err) => return (**err).clone(),
        // Connection strings, passwords and tokens must not end up in logs.
        Value::String(_) | Value::Number(_) if is_secret_path(path) => "a value".to_owned(),
        Value::String(text)
            if !text.is_empty() && path.to_string().starts_with("backend.database.connection") =>
        {
            "a string".to_owned()
        }
        _ => node.describe(),
    };
    node.origin
        .error(path, format!("expected {what}, found {found}"))
}

/// Whether the value at `path` is a credential (an integration's token).
fn is_secret_path(path: &FieldPath) -> bool {
    let text = path.to_string();
    (text.starts_with("integrations.") && text.ends_with(".token"))
        || text.ends_with("credentials.secretAccessKey")
}

/// The value under `key` of `parent`, or an error naming the missing key.
fn required<'n>(parent: &'n Node, key: &str, path: &FieldPath, what: &str) -> Result<&'n Node> {
    parent.get(key).ok_or_else(|| {
        parent
            .origin
            .error(&path.key(key), format!("missing; expected {what}"))
    })
}

fn mapping(node: &Node, path: &FieldPath) -> Result<()> {
    match node.value {
        Value::Object(_) => Ok(()),
        _ => Err(expected(node, path, "a mapping")),
    }
}

fn list<'n>(node: &'n Node, path: &FieldPath) -> Result<&'n [Node]> {
    match &node.value {
        Value::Array(items) => Ok(items),
        _ => Err(expected(node, path, "a list")),
    }
}

/// A non-empty string.
fn string<'n>(node: &'n Node, path: &FieldPath) -> Result<&'n str> {
    match &node.value {
        Value::String(text) if !text.trim().is_empty() => Ok(text),
        _ => Err(expected(node, path, "a non-empty string")),
    }
}

/// A string (possibly empty) or a number written without quotes (`password: 12345`).
fn text(node: &Node, path: &FieldPath) -> Result<String> {
    match &node.value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(expected(node, path, "a string")),
    }
}

fn boolean(node: &Node, path: &FieldPath) -> Result<bool> {
    match &node.value {
        Value::Bool(value) => Ok(*value),
        Value::String(text) if text.trim().eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.trim().eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(expected(node, path, "true or false")),
    }
}

fn port(node: &Node, path: &FieldPath) -> Result<u16> {
    let port = match &node.value {
        Value::Number(number) => number.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    port.ok_or_else(|| expected(node, path, "a port number (0-65535)"))
}

/// An http(s) URL without query or fragment, returned without a trailing `/`.
fn http_url(node: &Node, path: &FieldPath) -> Result<String> {
    let text = string(node, path)?;
    let url = Url::parse(text.trim()).ok().filter(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some()
            && url.query().is_none()
            && url.fragment().is_none()
    });
    match url {
        Some(url) => Ok(url.as_str().trim_end_matches('/').to_owned()),
        None => Err(expected(
            node,
            path,
            "an http(s) URL such as http://localhost:7007",
        )),
    }
}

/// `backend.listen` as a string: `7007`, `:7007` (every interface), `0.0.0.0:7007`,
/// `localhost:7007`, `[::1]:7007`.
fn parse_listen(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(SocketAddr::new(DEFAULT_LISTEN.ip(), text.parse().ok()?));
    }
    if let Ok(addr) = text.parse() {
        return Some(addr);
    }
    let (host, port) = text.rsplit_once(':')?;
    Some(SocketAddr::new(listen_ip(host)?, port.parse().ok()?))
}

/// A listen host: an IP address, `localhost`, or empty for every interface (as in Node.js).
fn listen_ip(host: &str) -> Option<IpAddr> {
    let host = host.trim();
    if host.is_empty() {
        return Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// A `postgres://` (or `postgresql://`) URL string, checked but kept as written.
fn postgres_url(node: &Node, text: &str, path: &FieldPath) -> Result<String> {
    let text = text.trim();
    let valid = Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "postgres" | "postgresql"));
    if valid {
        Ok(text.to_owned())
    } else {
        Err(expected(node, path, PG_FORMS))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for user names,
/// passwords and database names in a URL.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `catalog.processingInterval`: `false`, a `HumanDuration` mapping, or a duration string.
fn processing_interval(node: &Node, path: &FieldPath) -> Result<Option<Duration>> {
    let millis = match &node.value {
        Value::Bool(false) => return Ok(None),
        Value::String(text) if text.trim().eq_ignore_ascii_case("false") => return Ok(None),
        _ => duration_millis(node, path, DURATION_FORMS)?,
    };
    match from_millis(millis) {
        Some(duration) if duration.is_zero() => Err(node.origin.error(
            path,
            "the interval must be longer than zero (write false to disable refreshing)",
        )),
        Some(duration) => Ok(Some(duration)),
        None => Err(node.origin.error(path, "the interval is too long")),
    }
}

/// A duration in milliseconds: a `HumanDuration` mapping or a duration string (`forms` says
/// what is expected in errors).
fn duration_millis(node: &Node, path: &FieldPath, forms: &str) -> Result<f64> {
    let millis = match &node.value {
        Value::String(text) => parse_text(text).ok_or_else(|| expected(node, path, forms))?,
        Value::Object(entries) => {
            if entries.is_empty() {
                return Err(expected(node, path, forms));
            }
            let mut total = 0.0;
            for (unit, value) in entries {
                let unit_path = path.key(unit);
                let Some((_, length)) = HUMAN_UNITS.iter().find(|(name, _)| name == unit) else {
                    let names: Vec<&str> = HUMAN_UNITS.iter().map(|(name, _)| *name).collect();
                    let mut message = format!(
                        "unknown unit {}; expected {}",
                        quote(unit),
                        names.join(", ")
                    );
                    if let Some(close) = suggest(unit, names.iter()) {
                        message.push_str(&format!(" (did you mean {}?)", quote(close)));
                    }
                    return Err(value.origin.error(&unit_path, message));
                };
                let amount = match &value.value {
                    Value::Number(number) => number.as_f64(),
                    Value::String(text) => text.trim().parse::<f64>().ok(),
                    _ => None,
                }
                .filter(|amount| amount.is_finite() && *amount >= 0.0)
                .ok_or_else(|| expected(value, &unit_path, "a number of at least 0"))?;
                total += amount * length;
            }
            total
        }
        _ => return Err(expected(node, path, forms)),
    };
    Ok(millis)
}

/// The candidate closest to `word` (case-insensitive), when it is close enough to be a typo.
fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a &'a str>) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let length = word.chars().count();
    candidates
        .map(|candidate| {
            (
                osa_distance(&word, &candidate.to_ascii_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, _)| *distance <= 2 && 3 * distance <= length)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance counting insertions, deletions, substitutions and adjacent transpositions.
fn osa_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        table[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        table[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[at(i - 1, j)] + 1)
                .min(table[at(i, j - 1)] + 1)
                .min(table[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[at(i - 2, j - 2)] + 1);
            }
            table[at(i, j)] = best;
        }
    }
    table[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let known = ["title", "baseUrl"];
        assert_eq!(suggest("titel", known.iter()), Some("title"));
        assert_eq!(suggest("baseURL", known.iter()), Some("baseUrl"));
        assert_eq!(suggest("base_url", known.iter()), Some("baseUrl"));
        assert_eq!(suggest("url", known.iter()), None);
        assert_eq!(suggest("colour", known.iter()), None);
        assert_eq!(osa_distance("catlog", "catalog"), 1);
        assert_eq!(osa_distance("ab", "ba"), 1);
    }

    #[test]
    fn percent_encodes_userinfo() {
        assert_eq!(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(
            percent_encode("p@ss:w/rd#?%é"),
            "p%40ss%3Aw%2Frd%23%3F%25%C3%A9"
        );
    }

    #[test]
    fn parses_listen_strings() {
        let addr = |s: &str| parse_listen(s).map(|a| a.to_string());
        assert_eq!(addr("7007").as_deref(), Some("127.0.0.1:7007"));
        assert_eq!(addr(":8080").as_deref(), Some("0.0.0.0:8080"));
        assert_eq!(addr("0.0.0.0:7007").as_deref(), Some("0.0.0.0:7007"));
        assert_eq!(addr("localhost:9000").as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(addr("[::1]:7007").as_deref(), Some("[::1]:7007"));
        assert_eq!(addr("example.com:7007"), None);
        assert_eq!(addr("7007x"), None);
        assert_eq!(addr("99999"), None);
    }
}

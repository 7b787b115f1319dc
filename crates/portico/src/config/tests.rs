//! Tests of the config loader on real files in temporary folders; the `env` closure keeps them
//! independent of the process environment.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use super::*;

struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        path
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn load_ok(files: &[PathBuf], env: &dyn Fn(&str) -> Option<String>) -> Loaded {
    match load(files, env) {
        Ok(loaded) => loaded,
        Err(err) => panic!("unexpected error: {err}"),
    }
}

fn load_err(files: &[PathBuf], env: &dyn Fn(&str) -> Option<String>) -> String {
    match load(files, env) {
        Ok(loaded) => panic!("expected an error, loaded {loaded:?}"),
        Err(err) => err.to_string(),
    }
}

/// Loads one file with content `yaml` and no environment.
fn load_yaml(yaml: &str) -> (Folder, PathBuf, Loaded) {
    let folder = Folder::new();
    let file = folder.write("app-config.yaml", yaml);
    let loaded = load_ok(std::slice::from_ref(&file), &no_env);
    (folder, file, loaded)
}

/// The error for one file with content `yaml`, with the file's path replaced by `FILE`.
fn error_of(yaml: &str) -> String {
    let folder = Folder::new();
    let file = folder.write("app-config.yaml", yaml);
    load_err(std::slice::from_ref(&file), &no_env).replace(&file.display().to_string(), "FILE")
}

fn messages(loaded: &Loaded) -> Vec<String> {
    loaded.warnings.iter().map(ToString::to_string).collect()
}

fn kinds(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[test]
fn no_files_give_the_defaults() {
    let loaded = load_ok(&[], &no_env);
    let config = &loaded.config;
    assert_eq!(config, &AppConfig::default());
    assert_eq!(config.app.title, "Portico");
    assert_eq!(config.app.base_url, "http://127.0.0.1:7007");
    assert_eq!(config.backend.base_url, "http://127.0.0.1:7007");
    assert_eq!(config.backend.listen, "127.0.0.1:7007".parse().unwrap());
    assert_eq!(
        config.backend.database,
        DatabaseConfig::Sqlite {
            path: PathBuf::from("./data/portico.db")
        }
    );
    assert!(config.backend.reading_allow.is_empty());
    assert!(config.catalog.locations.is_empty());
    assert_eq!(config.catalog.rules, None);
    assert_eq!(config.catalog.allowed_kinds, None);
    assert_eq!(
        config.catalog.processing_interval,
        Some(Duration::from_secs(120))
    );
    assert_eq!(config.catalog.orphan_strategy, OrphanStrategy::Keep);
    assert!(!config.catalog.readonly);
    assert!(loaded.warnings.is_empty());
    assert!(loaded.unused.is_empty());

    let settings = config.catalog_settings();
    assert_eq!(settings.orphan_strategy, OrphanStrategy::Keep);
    assert_eq!(settings.processing_interval, Some(Duration::from_secs(120)));
    assert_eq!(settings.allowed_kinds, None);
}

#[test]
fn empty_files_and_empty_sections_give_the_defaults() {
    let (_folder, _file, loaded) = load_yaml("# nothing configured yet\n");
    assert_eq!(loaded.config, AppConfig::default());
    let (_folder, _file, loaded) = load_yaml("app:\nbackend:\ncatalog:\n");
    assert_eq!(loaded.config, AppConfig::default());
    assert!(loaded.warnings.is_empty());
}

#[test]
fn files_merge_in_order_objects_deeply_lists_and_scalars_replaced() {
    let folder = Folder::new();
    let base = folder.write(
        "app-config.yaml",
        "app:
  title: Base
  baseUrl: http://portal.example.com/
backend:
  listen: 8000
  reading:
    allow:
      - host: a.example.com
      - host: b.example.com
catalog:
  orphanStrategy: delete
  readonly: true
  processingInterval: {minutes: 5}
",
    );
    let local = folder.write(
        "app-config.local.yaml",
        "app:
  title: Local
backend:
  reading:
    allow:
      - host: c.example.com
catalog:
  readonly: null
  processingInterval: {seconds: 30}
",
    );
    let config = load_ok(&[base.clone(), local.clone()], &no_env).config;
    assert_eq!(config.app.title, "Local");
    assert_eq!(config.app.base_url, "http://portal.example.com");
    assert_eq!(config.backend.listen, "127.0.0.1:8000".parse().unwrap());
    let hosts: Vec<&str> = config
        .backend
        .reading_allow
        .iter()
        .map(|rule| rule.host.as_str())
        .collect();
    assert_eq!(hosts, ["c.example.com"]);
    assert_eq!(config.catalog.orphan_strategy, OrphanStrategy::Delete);
    // `null` resets a key to its default.
    assert!(!config.catalog.readonly);
    // Mappings merge key by key, durations included: 5 minutes + 30 seconds.
    assert_eq!(
        config.catalog.processing_interval,
        Some(Duration::from_secs(330))
    );

    let config = load_ok(&[local, base], &no_env).config;
    assert_eq!(config.app.title, "Base");
    assert!(config.catalog.readonly);
    let hosts: Vec<&str> = config
        .backend
        .reading_allow
        .iter()
        .map(|rule| rule.host.as_str())
        .collect();
    assert_eq!(hosts, ["a.example.com", "b.example.com"]);
}

#[test]
fn variables_are_substituted_in_string_values() {
    let folder = Folder::new();
    let file = folder.write(
        "app-config.yaml",
        "app:
  title: ${TITLE} portal
  baseUrl: https://${HOST:-localhost}:${PORT:-3000}
backend:
  baseUrl: http://${EMPTY:-api.example.com}
  listen:
    port: ${PORT_NUMBER}
  reading:
    allow: [{host: example.com}]
catalog:
  readonly: ${READONLY}
  locations:
    - type: url
      target: https://example.com/$${literal}/catalog-info.yaml
",
    );
    let env = env_of(&[
        ("TITLE", "Acme"),
        ("EMPTY", ""),
        ("PORT_NUMBER", "9000"),
        ("READONLY", "true"),
    ]);
    let loaded = load_ok(&[file], &env);
    let config = loaded.config;
    assert_eq!(config.app.title, "Acme portal");
    assert_eq!(config.app.base_url, "https://localhost:3000");
    assert_eq!(config.backend.base_url, "http://api.example.com");
    assert_eq!(config.backend.listen.port(), 9000);
    assert!(config.catalog.readonly);
    assert_eq!(
        config.catalog.locations[0].target,
        "https://example.com/${literal}/catalog-info.yaml"
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn substitution_never_changes_the_structure() {
    let folder = Folder::new();
    let file = folder.write("app-config.yaml", "app:\n  title: ${TITLE}\n");
    let env = env_of(&[("TITLE", "x\ncatalog: {readonly: true}\n# ${OTHER}")]);
    let config = load_ok(&[file], &env).config;
    assert_eq!(config.app.title, "x\ncatalog: {readonly: true}\n# ${OTHER}");
    assert!(!config.catalog.readonly);
}

#[test]
fn an_unset_variable_is_an_error_naming_file_key_and_variable() {
    let message = error_of(
        "backend:
  database:
    client: pg
    connection:
      host: db
      password: ${DB_PASSWORD}
",
    );
    assert_eq!(
        message,
        "FILE:6:7: backend.database.connection.password: environment variable DB_PASSWORD is \
         not set; set it, or give a default with ${DB_PASSWORD:-value}"
    );
    assert_eq!(
        error_of("catalog:\n  locations:\n    - {type: file, target: '${}'}\n"),
        "FILE:3:20: catalog.locations[0].target: \"${}\" names no variable; write ${NAME} or \
         $${…} for a literal \"${…}\""
    );
}

#[test]
fn env_directive_reads_a_variable() {
    let folder = Folder::new();
    let file = folder.write(
        "app-config.yaml",
        "backend:
  database:
    client: pg
    connection:
      host: db
      user: portico
      password: {$env: DB_PASSWORD}
",
    );
    let env = env_of(&[("DB_PASSWORD", "s3cret${NOT_SUBSTITUTED}")]);
    let config = load_ok(std::slice::from_ref(&file), &env).config;
    assert_eq!(
        config.backend.database,
        DatabaseConfig::Postgres {
            url: "postgres://portico:s3cret%24%7BNOT_SUBSTITUTED%7D@db:5432/portico".to_owned()
        }
    );
    let message = load_err(std::slice::from_ref(&file), &no_env);
    assert_eq!(
        message,
        format!(
            "{}:7:7: backend.database.connection.password: environment variable DB_PASSWORD \
             is not set ($env: DB_PASSWORD)",
            file.display()
        )
    );
}

#[test]
fn file_directive_reads_relative_to_the_config_file() {
    let folder = Folder::new();
    let file = folder.write(
        "conf/app-config.yaml",
        "app:
  title: {$file: ./secrets/title.txt}
backend:
  baseUrl: {$file: '${SECRETS}/url.txt'}
",
    );
    folder.write("conf/secrets/title.txt", "Acme ${NOT_SUBSTITUTED}\n\n");
    folder.write("conf/secrets/url.txt", "https://portal.example.com\n");
    let env = env_of(&[("SECRETS", "secrets")]);
    let config = load_ok(std::slice::from_ref(&file), &env).config;
    assert_eq!(config.app.title, "Acme ${NOT_SUBSTITUTED}");
    assert_eq!(config.backend.base_url, "https://portal.example.com");

    let file = folder.write("conf/missing.yaml", "app:\n  title: {$file: gone.txt}\n");
    assert_eq!(
        load_err(std::slice::from_ref(&file), &no_env),
        format!(
            "{}:2:3: app.title: cannot read {} ($file): no such file",
            file.display(),
            folder.path("conf/gone.txt").display()
        )
    );
}

#[test]
fn include_directive_reads_yaml_and_json_relative_to_each_file() {
    let folder = Folder::new();
    let file = folder.write(
        "conf/app-config.yaml",
        "backend:
  database: {$include: db/database.yaml}
catalog:
  $include: ./catalog.json#catalog
",
    );
    folder.write(
        "conf/db/database.yaml",
        "client: better-sqlite3
connection:
  filename: {$file: name.txt}
",
    );
    folder.write("conf/db/name.txt", "/var/lib/portico/catalog.db\n");
    folder.write(
        "conf/catalog.json",
        r#"{
  "other": {"ignored": true},
  "catalog": {
    "orphanStrategy": "delete",
    "readonly": "${READONLY}",
    "locations": [{"type": "file", "target": "entities/all.yaml"}]
  }
}"#,
    );
    let env = env_of(&[("READONLY", "true")]);
    let loaded = load_ok(&[file], &env);
    let config = loaded.config;
    assert_eq!(
        config.backend.database,
        DatabaseConfig::Sqlite {
            path: PathBuf::from("/var/lib/portico/catalog.db")
        }
    );
    assert_eq!(config.catalog.orphan_strategy, OrphanStrategy::Delete);
    assert!(config.catalog.readonly);
    assert_eq!(
        config.catalog.locations[0].target,
        folder.path("conf/entities/all.yaml").to_string_lossy()
    );
    assert!(loaded.warnings.is_empty());
}

#[test]
fn errors_in_included_files_point_into_them() {
    let folder = Folder::new();
    let file = folder.write("app-config.yaml", "catalog: {$include: catalog.yaml}\n");
    let included = folder.write("catalog.yaml", "readonly: true\norphanStrategy: remove\n");
    assert_eq!(
        load_err(std::slice::from_ref(&file), &no_env),
        format!(
            "{}:2:1: catalog.orphanStrategy: expected \"keep\" or \"delete\", found \"remove\"",
            included.display()
        )
    );
    folder.write("catalog.yaml", "readonly: [true\n");
    let message = load_err(std::slice::from_ref(&file), &no_env);
    assert!(
        message.starts_with(&format!("{}:2:1: invalid YAML", included.display())),
        "{message}"
    );
}

#[test]
fn include_selectors_must_exist() {
    let folder = Folder::new();
    let file = folder.write("app-config.yaml", "app: {$include: 'values.yaml#app.x'}\n");
    folder.write("values.yaml", "app:\n  title: T\n");
    assert_eq!(
        load_err(std::slice::from_ref(&file), &no_env),
        format!(
            "{}:1:1: app: {} has no value at \"app.x\"",
            file.display(),
            folder.path("values.yaml").display()
        )
    );
    folder.write("values.yaml", "app: just text\n");
    assert_eq!(
        load_err(std::slice::from_ref(&file), &no_env),
        format!(
            "{}:1:1: app: the value at \"app\" in {} is not a mapping, so it has no \"x\"",
            file.display(),
            folder.path("values.yaml").display()
        )
    );
}

#[test]
fn include_cycles_are_detected() {
    let folder = Folder::new();
    let a = folder.write("a.yaml", "catalog: {$include: b.yaml}\n");
    let b = folder.write("b.yaml", "readonly: true\nrules: {$include: a.yaml}\n");
    assert_eq!(
        load_err(std::slice::from_ref(&a), &no_env),
        format!(
            "{}:2:1: catalog.rules: include cycle: {} → {} → {}",
            b.display(),
            a.display(),
            b.display(),
            a.display()
        )
    );
    let own = folder.write("own.yaml", "app:\n  title: {$include: ./own.yaml}\n");
    assert_eq!(
        load_err(std::slice::from_ref(&own), &no_env),
        format!(
            "{}:2:3: app.title: include cycle: {} → {}",
            own.display(),
            own.display(),
            own.display()
        )
    );
    // The same file included twice, not inside itself, is fine.
    let twice = folder.write(
        "twice.yaml",
        "app: {$include: 'shared.yaml#app'}\ncatalog: {$include: 'shared.yaml#catalog'}\n",
    );
    folder.write(
        "shared.yaml",
        "app: {title: Shared}\ncatalog: {readonly: true}\n",
    );
    let config = load_ok(&[twice], &no_env).config;
    assert_eq!(config.app.title, "Shared");
    assert!(config.catalog.readonly);
}

#[test]
fn malformed_directives_are_errors() {
    assert_eq!(
        error_of("app:\n  $include: x.yaml\n  title: y\n"),
        "FILE:1:1: app: $include must be the only key of its mapping; found also \"title\""
    );
    assert_eq!(
        error_of("app:\n  title: {$envv: TITLE}\n"),
        "FILE:2:3: app.title: unknown directive \"$envv\"; expected $env, $file or $include"
    );
    assert_eq!(
        error_of("app:\n  title: {$file: [a, b]}\n"),
        "FILE:2:3: app.title: $file expects a string, found a list"
    );
    assert_eq!(
        error_of("app: {$include: notes.txt}\n"),
        "FILE:1:1: app: $include needs a .yaml, .yml or .json file, found \"notes.txt\""
    );
}

#[test]
fn nesting_across_includes_is_bounded() {
    let folder = Folder::new();
    let deep =
        |depth: usize, inner: &str| format!("{}{inner}{}", "{a: ".repeat(depth), "}".repeat(depth));
    let file = folder.write("app-config.yaml", &deep(40, "{$include: more.yaml}"));
    folder.write("more.yaml", &deep(40, "1"));
    let message = load_err(&[file], &no_env);
    assert!(
        message.ends_with("the configuration is nested deeper than 64 levels"),
        "{message}"
    );
}

#[test]
fn listen_accepts_backstage_forms() {
    let cases = [
        ("7007", "127.0.0.1:7007", "http://127.0.0.1:7007"),
        ("'8080'", "127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("':7007'", "0.0.0.0:7007", "http://localhost:7007"),
        ("0.0.0.0:7007", "0.0.0.0:7007", "http://localhost:7007"),
        ("localhost:7010", "127.0.0.1:7010", "http://127.0.0.1:7010"),
        ("'[::1]:7007'", "[::1]:7007", "http://[::1]:7007"),
        (
            "{host: 0.0.0.0, port: 9000}",
            "0.0.0.0:9000",
            "http://localhost:9000",
        ),
        ("{port: 9000}", "127.0.0.1:9000", "http://127.0.0.1:9000"),
        (
            "{host: '', port: 7007}",
            "0.0.0.0:7007",
            "http://localhost:7007",
        ),
        (
            "{host: '::1', port: '7008'}",
            "[::1]:7008",
            "http://[::1]:7008",
        ),
        (
            "{host: localhost}",
            "127.0.0.1:7007",
            "http://127.0.0.1:7007",
        ),
        (
            "{host: 10.0.0.5, port: 0}",
            "10.0.0.5:0",
            "http://10.0.0.5:0",
        ),
    ];
    for (listen, addr, base_url) in cases {
        let (_folder, _file, loaded) = load_yaml(&format!("backend:\n  listen: {listen}\n"));
        let backend = &loaded.config.backend;
        assert_eq!(backend.listen.to_string(), addr, "{listen}");
        assert_eq!(backend.base_url, base_url, "{listen}");
        assert_eq!(loaded.config.app.base_url, base_url, "{listen}");
    }
    // An explicit baseUrl wins over the listen address.
    let (_folder, _file, loaded) =
        load_yaml("backend:\n  baseUrl: https://portal.example.com/\n  listen: ':7007'\n");
    assert_eq!(loaded.config.backend.base_url, "https://portal.example.com");
    assert_eq!(loaded.config.app.base_url, "https://portal.example.com");
}

#[test]
fn bad_listen_values_are_errors() {
    assert_eq!(
        error_of("backend:\n  listen: nope\n"),
        "FILE:2:3: backend.listen: expected a port, \"host:port\" or {host, port}, found \"nope\""
    );
    assert_eq!(
        error_of("backend:\n  listen:\n    port: 70000\n"),
        "FILE:3:5: backend.listen.port: expected a port number (0-65535), found 70000"
    );
    assert_eq!(
        error_of("backend:\n  listen:\n    host: portal.example.com\n"),
        "FILE:3:5: backend.listen.host: expected an IP address, \"localhost\" or \"\" (every \
         interface), found \"portal.example.com\""
    );
    assert_eq!(
        error_of("backend:\n  listen: [7007]\n"),
        "FILE:2:3: backend.listen: expected a port, \"host:port\" or {host, port}, found a list"
    );
}

fn database_of(yaml: &str) -> DatabaseConfig {
    let (_folder, _file, loaded) = load_yaml(&format!("backend:\n  database:\n{yaml}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    loaded.config.backend.database
}

fn sqlite(path: &str) -> DatabaseConfig {
    DatabaseConfig::Sqlite {
        path: PathBuf::from(path),
    }
}

#[test]
fn sqlite_database_forms() {
    assert_eq!(
        database_of("    client: better-sqlite3\n"),
        sqlite("./data/portico.db")
    );
    assert_eq!(
        database_of("    client: sqlite3\n    connection: ./var/catalog.sqlite\n"),
        sqlite("./var/catalog.sqlite")
    );
    assert_eq!(
        database_of("    client: sqlite\n    connection: {filename: /srv/p.db}\n"),
        sqlite("/srv/p.db")
    );
    assert_eq!(
        database_of("    client: better-sqlite3\n    connection:\n      directory: /srv/data\n"),
        sqlite("/srv/data/portico.db")
    );
    assert_eq!(
        error_of("backend:\n  database:\n    client: better-sqlite3\n    connection: ':memory:'\n"),
        "FILE:4:5: backend.database.connection: Portico keeps the catalog in a file and cannot \
         use an in-memory SQLite database; give a file path such as ./data/portico.db"
    );
    assert_eq!(
        error_of(
            "backend:\n  database:\n    client: sqlite\n    connection: {filename: a, directory: b}\n"
        ),
        "FILE:4:5: backend.database.connection: give either filename or directory, not both"
    );
}

#[test]
fn postgres_database_forms() {
    assert_eq!(
        database_of("    client: pg\n    connection: postgresql://u:p@db:5432/cat\n"),
        DatabaseConfig::Postgres {
            url: "postgresql://u:p@db:5432/cat".to_owned()
        }
    );
    let database = database_of(
        "    client: pg
    connection:
      host: db.internal
      port: '6543'
      user: svc@corp
      password: 'p@ss:w/rd#?% é'
      database: my db
      ssl: true
",
    );
    let DatabaseConfig::Postgres { url } = &database else {
        panic!("expected PostgreSQL, got {database:?}");
    };
    assert_eq!(
        url,
        "postgres://svc%40corp:p%40ss%3Aw%2Frd%23%3F%25%20%C3%A9@db.internal:6543/my%20db\
         ?sslmode=require"
    );
    let parsed = url::Url::parse(url).unwrap();
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned()
    };
    assert_eq!(decode(parsed.username()), "svc@corp");
    assert_eq!(decode(parsed.password().unwrap()), "p@ss:w/rd#?% é");
    assert_eq!(parsed.host_str(), Some("db.internal"));
    assert_eq!(parsed.port(), Some(6543));
    // Neither Debug nor the redacted form shows the password.
    let debug = format!("{database:?}");
    assert!(!debug.contains("p%40ss"), "{debug}");
    assert_eq!(
        database.redacted(),
        "postgres://svc%40corp:***@db.internal:6543/my%20db?sslmode=require"
    );

    assert_eq!(
        database_of("    client: pg\n    connection: {password: 12345}\n"),
        DatabaseConfig::Postgres {
            url: "postgres://:12345@localhost:5432/portico".to_owned()
        }
    );
    assert_eq!(
        database_of("    client: pg\n    connection: {host: '::1', user: me}\n"),
        DatabaseConfig::Postgres {
            url: "postgres://me@[::1]:5432/portico".to_owned()
        }
    );
    assert_eq!(
        database_of("    client: pg\n    connection: {host: /var/run/postgresql, database: c}\n"),
        DatabaseConfig::Postgres {
            url: "postgres://localhost:5432/c?host=%2Fvar%2Frun%2Fpostgresql".to_owned()
        }
    );
}

#[test]
fn bad_database_settings_are_errors_that_hide_secrets() {
    assert_eq!(
        error_of("backend:\n  database:\n    client: mysql\n"),
        "FILE:3:5: backend.database.client: expected \"better-sqlite3\", \"sqlite3\", \"sqlite\" \
         or \"pg\", found \"mysql\""
    );
    assert_eq!(
        error_of("backend:\n  database:\n    connection: x.db\n"),
        "FILE:2:3: backend.database.client: missing; expected \"better-sqlite3\", \"sqlite3\", \
         \"sqlite\" or \"pg\""
    );
    assert_eq!(
        error_of("backend:\n  database:\n    client: pg\n"),
        "FILE:2:3: backend.database.connection: missing; expected a postgres:// URL or {host, \
         port, user, password, database}"
    );
    assert_eq!(
        error_of("backend:\n  database:\n    client: pg\n    connection: mysql://root:hunter2@x\n"),
        "FILE:4:5: backend.database.connection: expected a postgres:// URL or {host, port, user, \
         password, database}, found a string"
    );
}

fn interval_of(yaml: &str) -> Option<Duration> {
    let (_folder, _file, loaded) = load_yaml(&format!("catalog:\n  processingInterval: {yaml}\n"));
    loaded.config.catalog.processing_interval
}

#[test]
fn processing_interval_forms() {
    let secs = |s: u64| Some(Duration::from_secs(s));
    assert_eq!(interval_of("{minutes: 30}"), secs(1800));
    assert_eq!(interval_of("{seconds: 100, minutes: 1}"), secs(160));
    assert_eq!(interval_of("{hours: 0.5}"), secs(1800));
    assert_eq!(
        interval_of("{days: 1, milliseconds: 500}"),
        Some(Duration::from_millis(86_400_500))
    );
    assert_eq!(interval_of("{weeks: 1}"), secs(604_800));
    assert_eq!(interval_of("{minutes: '3'}"), secs(180));
    assert_eq!(interval_of("PT30M"), secs(1800));
    assert_eq!(interval_of("P1DT12H"), secs(129_600));
    assert_eq!(interval_of("90s"), secs(90));
    assert_eq!(interval_of("5 minutes"), secs(300));
    assert_eq!(interval_of("false"), None);
    assert_eq!(interval_of("'false'"), None);
}

#[test]
fn bad_processing_intervals_are_errors() {
    let error = |yaml: &str| error_of(&format!("catalog:\n  processingInterval: {yaml}\n"));
    assert_eq!(
        error("{minute: 30}"),
        "FILE:2:24: catalog.processingInterval.minute: unknown unit \"minute\"; expected years, \
         months, weeks, days, hours, minutes, seconds, milliseconds (did you mean \"minutes\"?)"
    );
    assert_eq!(
        error("120"),
        "FILE:2:3: catalog.processingInterval: expected a duration such as {minutes: 2}, \
         \"PT2M\" or \"2m\", or false, found 120"
    );
    assert_eq!(
        error("true"),
        "FILE:2:3: catalog.processingInterval: expected a duration such as {minutes: 2}, \
         \"PT2M\" or \"2m\", or false, found true"
    );
    assert_eq!(
        error("{minutes: 0}"),
        "FILE:2:3: catalog.processingInterval: the interval must be longer than zero (write \
         false to disable refreshing)"
    );
    assert_eq!(
        error("{minutes: -1}"),
        "FILE:2:24: catalog.processingInterval.minutes: expected a number of at least 0, found -1"
    );
    assert_eq!(
        error("PT"),
        "FILE:2:3: catalog.processingInterval: expected a duration such as {minutes: 2}, \
         \"PT2M\" or \"2m\", or false, found \"PT\""
    );
}

#[test]
fn catalog_rules() {
    let (_f, _p, loaded) = load_yaml("catalog:\n  rules: []\n");
    assert_eq!(loaded.config.catalog.allowed_kinds, Some(BTreeSet::new()));
    assert_eq!(loaded.config.catalog.rules, Some(Vec::new()));

    let (_f, _p, loaded) = load_yaml(
        "catalog:
  rules:
    - allow: [component, API]
    - allow: [Group, User]
",
    );
    assert_eq!(
        loaded.config.catalog.allowed_kinds,
        Some(kinds(&["API", "Component", "Group", "User"]))
    );
    assert!(loaded.warnings.is_empty());
    assert_eq!(
        loaded.config.catalog_settings().allowed_kinds,
        Some(kinds(&["API", "Component", "Group", "User"]))
    );

    let (_f, file, loaded) = load_yaml(
        "catalog:
  rules:
    - allow: [Compnent, Widget]
    - allow: [Template]
      locations:
        - type: url
          pattern: https://github.com/org/templates/**
",
    );
    assert_eq!(
        loaded.config.catalog.allowed_kinds,
        Some(kinds(&["Compnent", "Widget"]))
    );
    let rules = loaded.config.catalog.rules.as_ref().unwrap();
    assert_eq!(
        rules[1],
        CatalogRule {
            allow: kinds(&["Template"]),
            locations: Some(vec![LocationMatcher {
                location_type: "url".to_owned(),
                exact: None,
                pattern: Some("https://github.com/org/templates/**".to_owned()),
            }]),
        }
    );
    let file = file.display();
    let warnings = messages(&loaded);
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert_eq!(
        warnings[0],
        format!(
            "{file}:3:15: catalog.rules[0].allow[0]: \"Compnent\" is not a built-in kind, so no \
             entity will match it; did you mean \"Component\"?"
        )
    );
    assert!(
        warnings[1].starts_with(&format!(
            "{file}:3:25: catalog.rules[0].allow[1]: \"Widget\" is not a built-in kind, so no \
             entity will match it (built-in kinds: "
        )),
        "{}",
        warnings[1]
    );
    assert_eq!(
        warnings[2],
        format!(
            "{file}:5:7: catalog.rules[1].locations: rules limited to some locations are not \
             supported yet; the kinds of this rule are not allowed anywhere"
        )
    );

    assert_eq!(
        error_of("catalog:\n  rules:\n    - {locations: []}\n"),
        "FILE:3:7: catalog.rules[0].allow: missing; expected a list of kinds"
    );
    assert_eq!(
        error_of("catalog:\n  rules: {allow: [Component]}\n"),
        "FILE:2:3: catalog.rules: expected a list, found a mapping"
    );
}

#[test]
fn file_locations_resolve_against_the_config_file_folder() {
    let folder = Folder::new();
    let file = folder.write(
        "conf/app-config.yaml",
        "backend:
  reading:
    allow:
      - host: github.com
        paths: [/acme/]
catalog:
  locations:
    - type: file
      target: ../catalog/all.yaml
      rules:
        - allow: [Group, user]
    - type: file
      target: /abs/entities.yaml
    - type: url
      target: https://github.com/acme/catalog/blob/main/all.yaml
    - type: url
      target: https://gitlab.example.com/x/catalog-info.yaml
",
    );
    let loaded = load_ok(std::slice::from_ref(&file), &no_env);
    let locations = &loaded.config.catalog.locations;
    let expected = std::path::absolute(folder.path("conf").join("../catalog/all.yaml")).unwrap();
    assert_eq!(
        locations[0],
        ConfigLocation {
            location_type: "file".to_owned(),
            target: expected.to_string_lossy().into_owned(),
            allowed_kinds: Some(kinds(&["Group", "User"])),
        }
    );
    assert_eq!(locations[1].target, "/abs/entities.yaml");
    assert_eq!(locations[1].allowed_kinds, None);
    assert_eq!(
        locations[2].target,
        "https://github.com/acme/catalog/blob/main/all.yaml"
    );
    assert_eq!(
        messages(&loaded),
        [format!(
            "{}:17:7: catalog.locations[3].target: gitlab.example.com is not in \
             backend.reading.allow, so this location cannot be read; add {{host: \
             gitlab.example.com}} there",
            file.display()
        )]
    );
    let allow = loaded.config.catalog_settings().reading_allow;
    assert!(allow.allows(&url::Url::parse("https://github.com/acme/x").unwrap()));
    assert!(!allow.allows(&url::Url::parse("https://github.com/other/x").unwrap()));

    assert_eq!(
        error_of("catalog:\n  locations:\n    - type: github\n      target: x\n"),
        "FILE:3:7: catalog.locations[0].type: expected \"file\" or \"url\", found \"github\""
    );
    assert_eq!(
        error_of("catalog:\n  locations:\n    - type: url\n      target: github.com/x.yaml\n"),
        "FILE:4:7: catalog.locations[0].target: expected an http(s) URL, found \
         \"github.com/x.yaml\""
    );
    assert_eq!(
        error_of("catalog:\n  locations:\n    - type: file\n"),
        "FILE:3:7: catalog.locations[0].target: missing; expected a file path or URL"
    );
}

#[test]
fn reading_allow_entries_are_checked() {
    let (_f, _p, loaded) = load_yaml(
        "backend:\n  reading:\n    allow:\n      - host: '*.example.com'\n      - host: \
         example.org:8080\n        paths: [/docs/, /api/]\n",
    );
    let rules = &loaded.config.backend.reading_allow;
    assert_eq!(rules[0].host, "*.example.com");
    assert!(rules[0].paths.is_empty());
    assert_eq!(rules[1].paths, ["/docs/", "/api/"]);
    assert_eq!(
        error_of("backend:\n  reading:\n    allow:\n      - host: https://example.com\n"),
        "FILE:4:9: backend.reading.allow[0].host: expected a host such as example.com, \
         *.example.com or example.com:8080 (no scheme or path), found \"https://example.com\""
    );
    assert_eq!(
        error_of("backend:\n  reading:\n    allow:\n      - host: a.com\n        paths: [docs]\n"),
        "FILE:5:17: backend.reading.allow[0].paths[0]: expected a path prefix starting with \
         \"/\", found \"docs\""
    );
}

#[test]
fn unknown_keys_are_warnings_and_backstage_sections_are_listed_as_unused() {
    let (_f, file, loaded) = load_yaml(
        "app:
  titel: Acme
  support: {url: https://help.example.com}
backend:
  cors: {origin: http://localhost:3000}
  databse: {client: pg}
  listen: {port: 7007, hots: 0.0.0.0}
catalog:
  rules: [{allow: [Component], lokations: []}]
  stitchingStrategy: {mode: deferred}
auth: {providers: {}}
integrations: {github: [{host: github.com}]}
catlog: {readonly: true}
my-plugin: {enabled: true}
",
    );
    let file = file.display();
    assert_eq!(
        messages(&loaded),
        [
            format!(
                "{file}:13:1: catlog: unknown key \"catlog\" (ignored); did you mean \"catalog\"?"
            ),
            format!(
                "{file}:6:3: backend.databse: unknown key \"databse\" (ignored); did you mean \
                 \"database\"?"
            ),
            format!(
                "{file}:7:24: backend.listen.hots: unknown key \"hots\" (ignored); did you mean \
                 \"host\"?"
            ),
            format!(
                "{file}:2:3: app.titel: unknown key \"titel\" (ignored); did you mean \"title\"?"
            ),
            format!(
                "{file}:9:32: catalog.rules[0].lokations: unknown key \"lokations\" (ignored); \
                 did you mean \"locations\"?"
            ),
        ]
    );
    assert_eq!(
        loaded.unused,
        [
            "auth",
            "my-plugin",
            "backend.cors",
            "app.support",
            "catalog.stitchingStrategy"
        ]
    );
    // Ignored keys change nothing.
    assert_eq!(loaded.config.app.title, "Portico");
    assert_eq!(loaded.config.backend.database, DatabaseConfig::default());
}

#[test]
fn invalid_values_name_file_position_key_found_and_expected() {
    assert_eq!(
        error_of("# Portico\ncatalog:\n  orphanStrategy: remove\n"),
        "FILE:3:3: catalog.orphanStrategy: expected \"keep\" or \"delete\", found \"remove\""
    );
    assert_eq!(
        error_of("catalog:\n  readonly: yes\n"),
        "FILE:2:3: catalog.readonly: expected true or false, found \"yes\""
    );
    assert_eq!(
        error_of("app:\n  title: 42\n"),
        "FILE:2:3: app.title: expected a non-empty string, found 42"
    );
    assert_eq!(
        error_of("app:\n  title: ''\n"),
        "FILE:2:3: app.title: expected a non-empty string, found \"\""
    );
    assert_eq!(
        error_of("backend:\n  baseUrl: localhost:7007\n"),
        "FILE:2:3: backend.baseUrl: expected an http(s) URL such as http://localhost:7007, \
         found \"localhost:7007\""
    );
    assert_eq!(
        error_of("backend: [a]\n"),
        "FILE:1:1: backend: expected a mapping, found a list"
    );
    assert_eq!(
        error_of("- app\n- backend\n"),
        "FILE:1:1: expected a mapping at the top of the config file, found a list"
    );
}

#[test]
fn later_files_report_their_own_positions() {
    let folder = Folder::new();
    let base = folder.write("app-config.yaml", "catalog:\n  orphanStrategy: keep\n");
    let prod = folder.write(
        "app-config.production.yaml",
        "\n\ncatalog:\n    orphanStrategy: purge\n",
    );
    assert_eq!(
        load_err(&[base, prod.clone()], &no_env),
        format!(
            "{}:4:5: catalog.orphanStrategy: expected \"keep\" or \"delete\", found \"purge\"",
            prod.display()
        )
    );
}

#[test]
fn unreadable_and_malformed_files_are_errors() {
    let folder = Folder::new();
    let missing = folder.path("app-config.local.yaml");
    assert_eq!(
        load_err(std::slice::from_ref(&missing), &no_env),
        format!(
            "{}: cannot read the config file: no such file",
            missing.display()
        )
    );
    let message = error_of("app:\n  title: [unclosed\n");
    assert!(message.starts_with("FILE:3:1: invalid YAML"), "{message}");
    assert_eq!(
        error_of("app:\n  title: a\napp:\n  title: b\n"),
        "FILE:3:1: duplicate key \"app\" in a mapping (first defined at line 1); each key may \
         appear once"
    );
    assert_eq!(
        error_of("app: {title: a}\n---\napp: {title: b}\n"),
        "FILE:3:1: a config file holds one YAML document; this is a second one"
    );
    let error = load(&[folder.dir.path().to_path_buf()], &no_env).unwrap_err();
    assert_eq!(error.file(), folder.dir.path());
    assert_eq!(error.position(), None);
    assert!(error.to_string().ends_with("it is a directory"), "{error}");
}

#[test]
fn paths_in_messages_are_tidy() {
    let folder = Folder::new();
    let file = folder.write(
        "conf/app-config.yaml",
        "app:\n  title: {$file: ./././x.txt}\n",
    );
    let message = load_err(&[file], &no_env);
    assert!(
        message.contains(&format!(
            "cannot read {} ($file)",
            folder.path("conf/x.txt").display()
        )),
        "{message}"
    );
}

#[test]
fn unresolvable_values_are_errors_only_where_portico_reads_them() {
    let folder = Folder::new();
    let file = folder.write(
        "app-config.yaml",
        "app:
  title: Acme
  support: {url: '${SUPPORT_URL}'}
auth:
  providers:
    github:
      development:
        clientSecret: ${AUTH_GITHUB_CLIENT_SECRET}
        key: {$file: /run/secrets/missing-github-key}
proxy: {$include: missing-proxy.yaml}
backend:
  auth:
    keys: [{secret: {$env: BACKEND_SECRET}}]
",
    );
    let loaded = load_ok(std::slice::from_ref(&file), &no_env);
    assert_eq!(loaded.config.app.title, "Acme");
    assert!(loaded.warnings.is_empty());
    assert_eq!(
        loaded.unused,
        ["auth", "proxy", "backend.auth", "app.support"]
    );

    // Where Portico reads the value, the failure is the error.
    let root = folder.write("root.yaml", "$include: ./missing.yaml\n");
    assert_eq!(
        load_err(std::slice::from_ref(&root), &no_env),
        format!(
            "{}:1:1: cannot read {} ($include): no such file",
            root.display(),
            folder.path("missing.yaml").display()
        )
    );
    let section = folder.write("section.yaml", "catalog: ${CATALOG}\n");
    assert_eq!(
        load_err(std::slice::from_ref(&section), &no_env),
        format!(
            "{}:1:1: catalog: environment variable CATALOG is not set; set it, or give a \
             default with ${{CATALOG:-value}}",
            section.display()
        )
    );
    // A later file's unresolvable value replaces the earlier value, and is an error.
    let local = folder.write("local.yaml", "app:\n  title: ${LOCAL_TITLE}\n");
    assert_eq!(
        load_err(&[file, local.clone()], &no_env),
        format!(
            "{}:2:3: app.title: environment variable LOCAL_TITLE is not set; set it, or give a \
             default with ${{LOCAL_TITLE:-value}}",
            local.display()
        )
    );
}

#[test]
fn techdocs_s3_publisher_settings() {
    let (_f, _file, loaded) = load_yaml(
        "techdocs:
  publisher:
    type: awsS3
    awsS3:
      bucketName: ' sites '
      region: eu-west-1
      endpoint: http://127.0.0.1:8014
      s3ForcePathStyle: true
      sse: aws:kms
      credentials: {accessKeyId: AK, secretAccessKey: SK}
",
    );
    let s3 = loaded.config.techdocs.publisher.clone().unwrap();
    assert_eq!(s3.bucket_name, "sites");
    assert_eq!(s3.region.as_deref(), Some("eu-west-1"));
    assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:8014"));
    assert!(s3.force_path_style);
    assert_eq!(s3.credentials, Some(("AK".to_owned(), "SK".to_owned())));
    assert!(
        !format!("{s3:?}").contains("SK"),
        "the secret stays out of logs"
    );
    assert_eq!(loaded.unused, ["techdocs.publisher.awsS3.sse"]);
    let (_f, _file, loaded) =
        load_yaml("techdocs:\n  publisher:\n    type: awsS3\n    awsS3: {bucketName: b}\n");
    let s3 = loaded.config.techdocs.publisher.clone().unwrap();
    assert_eq!(
        (s3.region, s3.endpoint, s3.force_path_style),
        (None, None, false)
    );
    assert_eq!(s3.credentials, None, "the AWS environment's");
    assert_eq!(
        error_of("techdocs:\n  publisher:\n    type: googleGcs\n"),
        "FILE:3:5: techdocs.publisher.type: expected \"local\" or \"awsS3\", found \"googleGcs\""
    );
    let missing = error_of("techdocs:\n  publisher:\n    type: awsS3\n");
    assert!(
        missing.contains("techdocs.publisher.awsS3: missing"),
        "{missing}"
    );
    let secret = error_of(
        "techdocs:\n  publisher:\n    type: awsS3\n    awsS3:\n      bucketName: b\n      credentials: {accessKeyId: a, secretAccessKey: [s3cr3t]}\n",
    );
    assert!(!secret.contains("s3cr3t"), "{secret}");
}

#[test]
fn techdocs_builder_settings() {
    let (_f, _file, loaded) = load_yaml("app:\n  title: A\n");
    assert_eq!(loaded.config.techdocs, TechDocsSection::default());
    // Half the cores, at least one: builds leave the rest to serving.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    assert_eq!(loaded.config.techdocs.concurrency, (cores / 2).max(1));
    assert_eq!(
        loaded.config.techdocs.build_timeout,
        Duration::from_secs(600)
    );
    let (_f, _file, loaded) = load_yaml(
        "techdocs:
  builder: external
  concurrency: '4'
  buildTimeout: {minutes: 3}
  generator: {runIn: docker}
  publisher: {type: local}
",
    );
    let techdocs = &loaded.config.techdocs;
    assert_eq!(techdocs.builder, portico_techdocs::BuilderMode::External);
    assert_eq!(techdocs.concurrency, 4);
    assert_eq!(techdocs.build_timeout, Duration::from_secs(180));
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.unused, ["techdocs.generator"]);
    assert_eq!(techdocs.publisher, None, "type: local");
    let (_f, _file, loaded) = load_yaml("techdocs:\n  buildTimeout: 90s\n");
    assert_eq!(
        loaded.config.techdocs.build_timeout,
        Duration::from_secs(90)
    );

    assert_eq!(
        error_of("techdocs:\n  builder: docker\n"),
        "FILE:2:3: techdocs.builder: expected \"local\" or \"external\", found \"docker\""
    );
    assert_eq!(
        error_of("techdocs:\n  concurrency: 0\n"),
        "FILE:2:3: techdocs.concurrency: expected a number from 1 to 64, found 0"
    );
    assert_eq!(
        error_of("techdocs:\n  buildTimeout: false\n"),
        "FILE:2:3: techdocs.buildTimeout: expected a duration such as {minutes: 10}, \
         \"PT10M\" or \"10m\", found false"
    );
    assert_eq!(
        error_of("techdocs:\n  buildTimeout: {seconds: 0}\n"),
        "FILE:2:3: techdocs.buildTimeout: the timeout must be longer than zero"
    );
}

#[test]
fn integrations_are_read_and_their_tokens_never_printed() {
    let (_f, _file, loaded) = load_yaml(
        "integrations:
  github:
    - host: github.com
      token: ${GITHUB_TOKEN}
    - host: ghe.example.com
      token: ghp-enterprise
      apiBaseUrl: https://ghe.example.com/api/v3/
      apps: []
  gitlab:
    - host: gitlab.example.com:8443
  bitbucketCloud: [{username: u}]
",
    );
    let github = &loaded.config.integrations.github;
    assert_eq!(github.len(), 2);
    // ${GITHUB_TOKEN} is not set: the entry stays, without a token.
    assert_eq!(github[0].token, None);
    assert_eq!(github[1].token.as_deref(), Some("ghp-enterprise"));
    assert_eq!(
        github[1].api_base_url.as_deref(),
        Some("https://ghe.example.com/api/v3")
    );
    assert_eq!(
        loaded.config.integrations.gitlab[0].host,
        "gitlab.example.com:8443"
    );
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(
        loaded.warnings[0]
            .to_string()
            .contains("integrations.github[0].token: the token is not set"),
        "{:?}",
        loaded.warnings
    );
    assert_eq!(
        loaded.unused,
        ["integrations.bitbucketCloud", "integrations.github[1].apps"]
    );
    assert!(!format!("{:?}", loaded.config).contains("ghp-enterprise"));

    assert_eq!(
        error_of("integrations:\n  github:\n    - host: https://github.com\n"),
        "FILE:3:7: integrations.github[0].host: expected a host such as github.com or \
         git.example.com:8443 (no scheme or path), found \"https://github.com\""
    );
    let error = error_of("integrations:\n  gitlab:\n    - host: x\n      token: [secret-123]\n");
    assert!(error.contains("integrations.gitlab[0].token"), "{error}");
    assert!(!error.contains("secret-123"), "{error}");
}

#[test]
fn scaffolder_task_settings() {
    let (_f, _file, loaded) = load_yaml("app:\n  title: A\n");
    assert_eq!(loaded.config.scaffolder, ScaffolderSection::default());
    assert_eq!(loaded.config.scaffolder.concurrent_tasks_limit, 10);
    assert_eq!(loaded.config.backend.working_directory, None);
    let (_f, _file, loaded) = load_yaml(
        "backend:
  workingDirectory: /var/tmp/portico
scaffolder:
  concurrentTasksLimit: '0'
  EXPERIMENTAL_recoverTasksTimeout: {seconds: 5}
  maxTaskAttempts: 5
  defaultAuthor: {name: Bot}
",
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let scaffolder = &loaded.config.scaffolder;
    assert_eq!(scaffolder.concurrent_tasks_limit, 0);
    assert_eq!(scaffolder.recover_tasks_timeout, Duration::from_secs(5));
    assert_eq!(scaffolder.max_task_attempts, 5);
    assert_eq!(
        loaded.config.backend.working_directory.as_deref(),
        Some(std::path::Path::new("/var/tmp/portico"))
    );
    assert_eq!(loaded.unused, ["scaffolder.defaultAuthor"]);
    let (_f, _file, loaded) = load_yaml("scaffolder:\n  EXPERIMENTAL_recoverTasks: false\n");
    assert_eq!(loaded.config.scaffolder.max_task_attempts, 1);
    let (_f, _file, loaded) = load_yaml("scaffolder:\n  concurentTasksLimit: 3\n");
    assert!(
        messages(&loaded)[0].contains("did you mean \"concurrentTasksLimit\"?"),
        "{:?}",
        messages(&loaded)
    );
    assert_eq!(
        error_of("scaffolder:\n  concurrentTasksLimit: -1\n"),
        "FILE:2:3: scaffolder.concurrentTasksLimit: expected a number from 0 (this server runs \
         no tasks) to 1000, found -1"
    );
    assert_eq!(
        error_of("scaffolder:\n  EXPERIMENTAL_recoverTasksTimeout: {milliseconds: 10}\n"),
        "FILE:2:3: scaffolder.EXPERIMENTAL_recoverTasksTimeout: the timeout must be at least 1 \
         second (the worker heartbeats every third of it)"
    );
    assert_eq!(
        error_of("scaffolder:\n  maxTaskAttempts: 0\n"),
        "FILE:2:3: scaffolder.maxTaskAttempts: expected a number from 1 (an interrupted task \
         is failed) to 100, found 0"
    );
    let error = error_of("scaffolder:\n  EXPERIMENTAL_recoverTasks: false\n  maxTaskAttempts: 2\n");
    assert!(
        error.starts_with(
            "FILE:3:3: scaffolder.maxTaskAttempts: EXPERIMENTAL_recoverTasks is false"
        ),
        "{error}"
    );
    assert_eq!(
        error_of("backend:\n  workingDirectory: ''\n"),
        "FILE:2:3: backend.workingDirectory: expected a non-empty string, found \"\""
    );
}

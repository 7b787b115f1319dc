//! The catalog engine end to end on real databases: every scenario runs on a SQLite file, and
//! on PostgreSQL when `PORTICO_TEST_PG_URL` is set. Backstage's example catalog is copied to a
//! temporary folder so files can be changed, broken and removed between refreshes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use portico_catalog::engine::{CatalogSettings, Clock, Engine};
use portico_catalog::{LocalReader, ReadAllowList, ReadError, SourceReader, Target};
use portico_store::{CatalogStore, LocationOrigin, OrphanStrategy};
use portico_store_sql::SqlStore;
use portico_testkit::pg::{TestDatabase, TestServer};
use serde_json::Value;

use crate::testdata;

/// A database for one test: a SQLite file or a PostgreSQL database, removed afterwards.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(TestDatabase),
}

impl Db {
    fn all() -> Vec<Db> {
        let mut dbs = vec![Db::Sqlite(tempfile::tempdir().unwrap())];
        match TestServer::from_env() {
            Some(server) => dbs.push(Db::Postgres(server.create_database())),
            None => eprintln!("PORTICO_TEST_PG_URL is not set: engine tests ran on SQLite only"),
        }
        dbs
    }

    async fn store(&self) -> SqlStore {
        match self {
            Db::Sqlite(dir) => SqlStore::open_sqlite(&dir.path().join("portico.db"))
                .await
                .unwrap(),
            Db::Postgres(db) => SqlStore::connect(&db.url).await.unwrap(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

/// Reads files, and URLs on the allow-list through a plain HTTP/1.1 GET (tests only; the
/// binary uses reqwest).
struct TestReader {
    allow: ReadAllowList,
}

impl SourceReader for TestReader {
    fn read(&self, target: &Target) -> Result<Vec<u8>, ReadError> {
        match target {
            Target::File(_) => LocalReader.read(target),
            Target::Url(url) => {
                if !self.allow.allows(url) {
                    return Err(ReadError::NotAllowed(format!("{url} is not allowed")));
                }
                portico_testkit::static_http::get(url.as_str())
                    .map_err(|reason| ReadError::Failed {
                        target: url.to_string(),
                        reason,
                    })?
                    .ok_or_else(|| ReadError::NotFound(url.to_string()))
            }
        }
    }
}

fn clock() -> (Clock, Arc<AtomicI64>) {
    let now = Arc::new(AtomicI64::new(1_000_000));
    let shared = Arc::clone(&now);
    (Arc::new(move || shared.load(Ordering::SeqCst)), now)
}

async fn engine(db: &Db, settings: CatalogSettings) -> (Engine<SqlStore>, Arc<AtomicI64>) {
    let (clock, now) = clock();
    let reader = Arc::new(TestReader {
        allow: settings.reading_allow.clone(),
    });
    let engine = Engine::open(Arc::new(db.store().await), reader, settings, clock)
        .await
        .unwrap();
    (engine, now)
}

/// A copy of Backstage's examples in a temporary folder.
fn examples_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&testdata().join("backstage-examples"), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

fn entity(engine: &Engine<SqlStore>, entity_ref: &str) -> Option<Value> {
    engine
        .read_model()
        .by_ref(entity_ref)
        .map(|text| serde_json::from_str(&text).unwrap())
}

/// Registers a file location (as the API would) and processes it.
async fn register_file(engine: &Engine<SqlStore>, path: PathBuf) -> portico_store::LocationRecord {
    engine
        .register_location("file", &path_str(path), LocationOrigin::Api)
        .await
        .unwrap()
}

fn path_str(path: PathBuf) -> String {
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn example_catalog_is_ingested_with_relations_and_annotations() {
    for db in Db::all() {
        let dir = examples_copy();
        let (engine, _) = engine(&db, CatalogSettings::default()).await;
        let all = register_file(&engine, dir.path().join("all.yaml")).await;
        engine
            .register_location(
                "file",
                &path_str(dir.path().join("acme-corp.yaml")),
                LocationOrigin::Config,
            )
            .await
            .unwrap();
        // 67 entities from the files, plus one generated Location per registered location,
        // less the three APIs whose $text points at github.com, which this reader may not read.
        assert_eq!(engine.read_model().len(), 66, "{}", db.name());
        assert!(entity(&engine, "api:default/spotify").is_none());

        let component = entity(&engine, "component:default/artist-lookup").unwrap();
        assert_eq!(component["metadata"]["namespace"], "default");
        assert!(
            component["metadata"]["uid"]
                .as_str()
                .is_some_and(|u| u.len() == 36)
        );
        assert!(
            component["metadata"]["etag"]
                .as_str()
                .is_some_and(|e| e.len() == 64)
        );
        let annotations = &component["metadata"]["annotations"];
        let file = dir.path().join("components/artist-lookup-component.yaml");
        assert_eq!(
            annotations["backstage.io/managed-by-location"],
            format!("file:{}", file.display())
        );
        assert_eq!(
            annotations["backstage.io/managed-by-origin-location"],
            format!("file:{}", all.target)
        );
        let relations: Vec<String> = component["relations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["type"].as_str().unwrap(),
                    r["targetRef"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            relations,
            [
                "dependsOn resource:default/artists-db",
                "ownedBy group:default/team-a",
                "partOf system:default/artist-engagement-portal"
            ]
        );
        assert_eq!(component["relations"][1]["target"]["name"], "team-a");
        // Relations arrive on the target from the other direction.
        let team = entity(&engine, "group:default/team-a").unwrap();
        assert!(
            team["relations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["type"] == "ownerOf"
                    && r["targetRef"] == "component:default/artist-lookup"),
            "{}",
            team["relations"]
        );
        assert!(component.get("status").is_none());
    }
}

#[tokio::test]
async fn broken_file_keeps_last_good_version_and_shows_the_error() {
    for db in Db::all() {
        let dir = examples_copy();
        let (engine, _) = engine(&db, CatalogSettings::default()).await;
        register_file(&engine, dir.path().join("all.yaml")).await;
        let before = entity(&engine, "component:default/artist-lookup").unwrap();
        let file = dir.path().join("components/artist-lookup-component.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, text.replace("  owner: team-a\n", "")).unwrap();
        assert!(
            engine
                .refresh_entity("component:default/artist-lookup")
                .await
                .unwrap()
        );
        let after = entity(&engine, "component:default/artist-lookup").unwrap();
        assert_eq!(
            after["spec"]["owner"],
            "team-a",
            "{}: last good version kept",
            db.name()
        );
        assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"]);
        let item = &after["status"]["items"][0];
        assert_eq!(item["type"], "backstage.io/catalog-processing");
        assert_eq!(item["level"], "error");
        let message = item["message"].as_str().unwrap();
        assert!(
            message.contains("artist-lookup-component.yaml:")
                && message.contains("spec.owner: missing required field \"owner\""),
            "{message}"
        );
        // Fixing the file clears the error.
        std::fs::write(&file, text).unwrap();
        engine
            .refresh_entity("component:default/artist-lookup")
            .await
            .unwrap();
        assert!(
            entity(&engine, "component:default/artist-lookup")
                .unwrap()
                .get("status")
                .is_none()
        );
    }
}

const GOOD_TEMPLATE: &str = "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: svc
spec:
  type: service
  owner: team-a
  parameters:
    - title: Basics
      properties:
        name:
          type: string
          ui:widget: textarea
  steps: []
";

#[tokio::test]
async fn a_template_with_a_broken_parameter_schema_keeps_its_last_good_version() {
    for db in Db::all() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("template.yaml");
        std::fs::write(&file, GOOD_TEMPLATE).unwrap();
        let (engine, _) = engine(&db, CatalogSettings::default()).await;
        register_file(&engine, file.clone()).await;
        let before = entity(&engine, "template:default/svc").unwrap();
        assert!(before.get("status").is_none(), "{before}");
        // A typo in a parameter's type: only a task run noticed it before.
        std::fs::write(&file, GOOD_TEMPLATE.replace("type: string", "type: strin")).unwrap();
        engine.refresh_entity("template:default/svc").await.unwrap();
        let after = entity(&engine, "template:default/svc").unwrap();
        assert_eq!(
            after["spec"]["parameters"][0]["properties"]["name"]["type"],
            "string",
            "{}: last good version kept",
            db.name()
        );
        let item = &after["status"]["items"][0];
        assert_eq!(item["level"], "error");
        let message = item["message"].as_str().unwrap();
        assert!(
            message.contains("template.yaml:12:")
                && message.contains("spec.parameters[0].properties.name.type: invalid JSON Schema")
                && message.contains("found \"strin\""),
            "{message}"
        );
    }
}

#[tokio::test]
async fn removed_file_orphans_or_deletes_its_entities() {
    for db in Db::all() {
        for strategy in [OrphanStrategy::Keep, OrphanStrategy::Delete] {
            let dir = examples_copy();
            let settings = CatalogSettings {
                orphan_strategy: strategy,
                ..CatalogSettings::default()
            };
            let (engine, _) = engine(&db, settings).await;
            let location = register_file(&engine, dir.path().join("all-components.yaml")).await;
            let list = dir.path().join("all-components.yaml");
            let text = std::fs::read_to_string(&list).unwrap();
            std::fs::write(
                &list,
                text.replace("    - ./components/artist-lookup-component.yaml\n", ""),
            )
            .unwrap();
            engine
                .refresh_entity("component:default/playback-order")
                .await
                .unwrap();
            let orphan = entity(&engine, "component:default/artist-lookup");
            match strategy {
                OrphanStrategy::Keep => assert_eq!(
                    orphan.unwrap()["metadata"]["annotations"]["backstage.io/orphan"],
                    "true",
                    "{}",
                    db.name()
                ),
                OrphanStrategy::Delete => assert!(orphan.is_none(), "{}", db.name()),
            }
            assert!(entity(&engine, "component:default/playback-order").unwrap()["metadata"]["annotations"]
                .get("backstage.io/orphan")
                .is_none());
            // Unregistering removes everything the location produced.
            engine.unregister_location(&location.id).await.unwrap();
            assert_eq!(engine.read_model().len(), 0, "{}", db.name());
            engine.store().close().await;
        }
    }
}

#[tokio::test]
async fn two_locations_emitting_one_entity_is_a_reported_conflict() {
    for db in Db::all() {
        let dir = examples_copy();
        let (engine, _) = engine(&db, CatalogSettings::default()).await;
        register_file(
            &engine,
            dir.path().join("components/artist-lookup-component.yaml"),
        )
        .await;
        let copy = dir.path().join("copy.yaml");
        let text =
            std::fs::read_to_string(dir.path().join("components/artist-lookup-component.yaml"))
                .unwrap();
        std::fs::write(&copy, text.replace("team-a", "team-b")).unwrap();
        let second = register_file(&engine, copy).await;
        let kept = entity(&engine, "component:default/artist-lookup").unwrap();
        assert_eq!(
            kept["spec"]["owner"],
            "team-a",
            "{}: never silently overwritten",
            db.name()
        );
        // The conflict shows on the Location entity of the second registration.
        let name = portico_catalog::engine::processing::generated_location_name(&second);
        let location = entity(&engine, &format!("location:default/{name}")).unwrap();
        let message = location["status"]["items"][0]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.starts_with(
                "ConflictError: entity component:default/artist-lookup is already provided by file:"
            ),
            "{message}"
        );
    }
}

#[tokio::test]
async fn url_locations_read_through_the_allow_list() {
    let dir = examples_copy();
    let server = portico_testkit::static_http::StaticServer::start(dir.path()).unwrap();
    for db in Db::all() {
        let settings = CatalogSettings {
            reading_allow: ReadAllowList::new(vec![portico_catalog::AllowRule {
                host: "127.0.0.1".to_owned(),
                paths: vec![],
            }]),
            ..CatalogSettings::default()
        };
        let (engine, _) = engine(&db, settings).await;
        engine
            .register_location("url", &server.url("/all-apis.yaml"), LocationOrigin::Api)
            .await
            .unwrap();
        let petstore = entity(&engine, "api:default/petstore-webhook").unwrap();
        assert!(
            petstore["spec"]["definition"]
                .as_str()
                .unwrap()
                .contains("openapi")
        );
        assert_eq!(
            petstore["metadata"]["annotations"]["backstage.io/managed-by-location"],
            format!("url:{}", server.url("/apis/petstore-webhook-api.yaml"))
        );
        // A host that is not allowed is refused at registration.
        let refused = engine
            .register_location(
                "url",
                "https://github.com/org/repo/blob/main/catalog-info.yaml",
                LocationOrigin::Api,
            )
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("backend.reading.allow"),
            "{refused}"
        );
        // An API whose placeholder points at a host not allowed keeps an error on it.
        let spotify = entity(&engine, "api:default/spotify");
        assert!(
            spotify.is_none(),
            "its $text URL is not allowed, so it never became valid"
        );
    }
}

#[tokio::test]
async fn unchanged_sources_are_skipped_and_restart_keeps_the_catalog() {
    for db in Db::all() {
        let dir = examples_copy();
        let (engine, now) = engine(&db, CatalogSettings::default()).await;
        register_file(&engine, dir.path().join("acme-corp.yaml")).await;
        let before = entity(&engine, "user:default/breanna.davison").unwrap();
        // Nothing is due before the processing interval.
        assert_eq!(engine.process_due(100).await.unwrap(), 0);
        now.fetch_add(10 * 60 * 1000, Ordering::SeqCst);
        let processed = engine.process_due(100).await.unwrap();
        assert!(processed >= 9, "every source is due again, got {processed}");
        let after = entity(&engine, "user:default/breanna.davison").unwrap();
        assert_eq!(before["metadata"]["etag"], after["metadata"]["etag"]);
        let count = engine.read_model().len();
        drop(engine);
        let (reopened, _) = self::engine(&db, CatalogSettings::default()).await;
        assert_eq!(reopened.read_model().len(), count, "{}", db.name());
        assert_eq!(
            entity(&reopened, "user:default/breanna.davison").unwrap()["metadata"]["uid"],
            before["metadata"]["uid"]
        );
    }
}

#[tokio::test]
async fn config_locations_are_synced() {
    for db in Db::all() {
        let dir = examples_copy();
        let (engine, _) = engine(&db, CatalogSettings::default()).await;
        let acme = path_str(dir.path().join("acme-corp.yaml"));
        let systems = path_str(dir.path().join("all-systems.yaml"));
        engine
            .sync_config_locations(&[
                ("file".to_owned(), acme.clone()),
                ("file".to_owned(), systems),
            ])
            .await
            .unwrap();
        assert!(entity(&engine, "system:default/podcast").is_some());
        engine
            .sync_config_locations(&[("file".to_owned(), acme)])
            .await
            .unwrap();
        assert!(
            entity(&engine, "system:default/podcast").is_none(),
            "{}",
            db.name()
        );
        assert!(entity(&engine, "group:default/team-a").is_some());
        assert_eq!(engine.store().locations().await.unwrap().len(), 1);
    }
}

/// A provider for tests: pushes what the test tells it to through the connection it was given.
struct TestProvider {
    connection: std::sync::Mutex<Option<Arc<dyn portico_plugin_api::EntityProviderConnection>>>,
}

impl portico_plugin_api::EntityProvider for TestProvider {
    fn name(&self) -> &str {
        "test-org"
    }

    fn connect(
        &self,
        connection: Arc<dyn portico_plugin_api::EntityProviderConnection>,
    ) -> portico_plugin_api::BoxFuture<'_, Result<(), portico_plugin_api::PluginError>> {
        *self.connection.lock().unwrap() = Some(connection);
        Box::pin(async { Ok(()) })
    }
}

fn group(name: &str, parent: Option<&str>) -> portico_plugin_api::DeferredEntity {
    let mut spec = serde_json::json!({"type": "team", "children": []});
    if let Some(parent) = parent {
        spec["parent"] = parent.into();
    }
    portico_plugin_api::DeferredEntity {
        entity: serde_json::json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
            "metadata": {"name": name}, "spec": spec}),
        location_key: None,
    }
}

#[tokio::test]
async fn entity_providers_apply_full_and_delta_mutations() {
    use portico_plugin_api::EntityProviderMutation;
    for db in Db::all() {
        let (engine, _) = engine(&db, CatalogSettings::default()).await;
        let engine = Arc::new(engine);
        let provider = Arc::new(TestProvider {
            connection: std::sync::Mutex::new(None),
        });
        engine.connect_provider(provider.clone()).await.unwrap();
        let connection = provider.connection.lock().unwrap().clone().unwrap();

        connection
            .apply_mutation(EntityProviderMutation::Full {
                entities: vec![
                    group("org", None),
                    group("team-a", Some("org")),
                    group("team-b", Some("org")),
                ],
            })
            .await
            .unwrap();
        let org = entity(&engine, "group:default/org").unwrap();
        assert_eq!(
            org["metadata"]["annotations"]["backstage.io/managed-by-location"],
            "provider:test-org"
        );
        let children: Vec<&str> = org["relations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["targetRef"].as_str().unwrap())
            .collect();
        assert_eq!(
            children,
            ["group:default/team-a", "group:default/team-b"],
            "{}",
            db.name()
        );

        // A delta removes one entity and adds another; an invalid entity is reported and skipped.
        let mut invalid = group("Bad Name", None);
        invalid.entity["metadata"]["name"] = "bad name".into();
        let result = connection
            .apply_mutation(EntityProviderMutation::Delta {
                added: vec![group("team-c", Some("org")), invalid],
                removed: vec!["group:default/team-b".to_owned()],
            })
            .await;
        let err = result.unwrap_err().to_string();
        assert!(err.contains("metadata.name"), "{err}");
        assert!(entity(&engine, "group:default/team-b").is_none());
        assert!(entity(&engine, "group:default/team-c").is_some());
        assert!(entity(&engine, "group:default/team-a").is_some());

        // A full mutation replaces the whole set: what is missing is deleted.
        connection
            .apply_mutation(EntityProviderMutation::Full {
                entities: vec![group("org", None)],
            })
            .await
            .unwrap();
        assert!(
            entity(&engine, "group:default/team-a").is_none(),
            "{}",
            db.name()
        );
        assert_eq!(
            entity(&engine, "group:default/org").unwrap()["relations"],
            serde_json::json!([])
        );
        // Reconnecting after a restart finds the provider's location again.
        engine.connect_provider(provider.clone()).await.unwrap();
        assert_eq!(engine.store().locations().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn unreachable_and_oversized_sources_show_errors_and_keep_the_catalog() {
    for db in Db::all() {
        let dir = examples_copy();
        let (engine, _) = engine(
            &db,
            CatalogSettings {
                reading_allow: ReadAllowList::new(vec![portico_catalog::AllowRule {
                    host: "127.0.0.1".to_owned(),
                    paths: vec![],
                }]),
                ..CatalogSettings::default()
            },
        )
        .await;
        // A port nobody listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let unreachable = engine
            .register_location(
                "url",
                &format!("http://{closed}/catalog-info.yaml"),
                LocationOrigin::Api,
            )
            .await
            .unwrap();
        let name = portico_catalog::engine::processing::generated_location_name(&unreachable);
        let location = entity(&engine, &format!("location:default/{name}")).unwrap();
        let message = location["status"]["items"][0]["message"].as_str().unwrap();
        assert!(message.contains(&closed.to_string()), "{message}");

        // A file over the size limit is refused with a clear message; the rest still loads.
        let big = dir.path().join("big.yaml");
        let padding = "x".repeat(11 * 1024 * 1024);
        std::fs::write(&big, format!("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: big\n  description: {padding}\nspec: {{type: team, children: []}}\n")).unwrap();
        let oversized = register_file(&engine, big).await;
        let name = portico_catalog::engine::processing::generated_location_name(&oversized);
        let location = entity(&engine, &format!("location:default/{name}")).unwrap();
        let message = location["status"]["items"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("larger than the limit of 10485760 bytes"),
            "{message}"
        );
        register_file(&engine, dir.path().join("acme-corp.yaml")).await;
        assert!(
            entity(&engine, "group:default/team-a").is_some(),
            "{}",
            db.name()
        );

        // An entity that changes kind is a new entity; the old one is orphaned.
        let file = dir.path().join("acme/team-a-group.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(
            &file,
            text.replacen("kind: Group", "kind: System\n# was a group", 1)
                .replacen(
                    "spec:\n  type: team\n",
                    "spec:\n  owner: infrastructure\n  type: team\n",
                    1,
                ),
        )
        .unwrap();
        engine.refresh_entity("group:default/team-a").await.unwrap();
        let old = entity(&engine, "group:default/team-a").unwrap();
        assert_eq!(
            old["metadata"]["annotations"]["backstage.io/orphan"],
            "true",
            "{}",
            db.name()
        );
        assert!(
            entity(&engine, "system:default/team-a").is_some(),
            "{}",
            db.name()
        );
    }
}

#[tokio::test]
async fn catalog_rules_allow_kinds_globally_and_per_location() {
    for db in Db::all() {
        let dir = examples_copy();
        let acme = path_str(dir.path().join("acme-corp.yaml"));
        let settings = CatalogSettings {
            allowed_kinds: Some(
                ["Component", "Location"]
                    .iter()
                    .map(|k| (*k).to_owned())
                    .collect(),
            ),
            location_kinds: vec![(
                "file".to_owned(),
                acme.clone(),
                ["Group", "User"].iter().map(|k| (*k).to_owned()).collect(),
            )],
            ..CatalogSettings::default()
        };
        let (engine, _) = engine(&db, settings).await;
        engine
            .register_location("file", &acme, LocationOrigin::Config)
            .await
            .unwrap();
        assert!(
            entity(&engine, "group:default/team-a").is_some(),
            "{}",
            db.name()
        );
        let systems = register_file(&engine, dir.path().join("all-systems.yaml")).await;
        assert!(
            entity(&engine, "system:default/podcast").is_none(),
            "{}",
            db.name()
        );
        // The refusal is visible: on the Location entity that names the file.
        let name = portico_catalog::engine::processing::generated_location_name(&systems);
        let root = entity(&engine, &format!("location:default/{name}")).unwrap();
        assert!(root.get("status").is_none(), "{root}");
        let listing = entity(&engine, "location:default/example-systems").unwrap();
        let messages = listing["status"]["items"].to_string();
        assert!(
            messages.contains("kind System is not allowed by catalog.rules"),
            "{messages}"
        );
    }
}

/// Every entity of the read model, `(ref, JSON)`, sorted.
fn everything(engine: &Engine<SqlStore>) -> Vec<(String, String)> {
    let model = engine.read_model();
    model
        .refs_matching(&portico_catalog::read_model::Predicate::MatchAll)
        .into_iter()
        .map(|r| {
            let json = model.by_ref(&r).unwrap().to_string();
            (r, json)
        })
        .collect()
}

async fn engine_with_snapshot(db: &Db, snapshot: &Path) -> Engine<SqlStore> {
    let (clock, _) = clock();
    Engine::new(
        Arc::new(db.store().await),
        Arc::new(LocalReader),
        CatalogSettings::default(),
        clock,
    )
    .with_snapshot_file(snapshot)
}

#[tokio::test]
async fn the_read_model_snapshot_is_caught_up_and_never_trusted_blindly() {
    use portico_catalog::engine::ReadModelOrigin;
    for db in Db::all() {
        let dir = examples_copy();
        let state = tempfile::tempdir().unwrap();
        let snapshot = state.path().join("read-model.snapshot");

        // No snapshot yet: rebuilt, then written.
        let first = engine_with_snapshot(&db, &snapshot).await;
        first.load().await.unwrap();
        assert_eq!(first.read_model_origin(), Some(ReadModelOrigin::Rebuilt));
        register_file(&first, dir.path().join("all.yaml")).await;
        assert!(first.write_snapshot().await.unwrap());
        let at_snapshot = everything(&first);
        drop(first);

        // Another process changes the database after the snapshot: adds a location's
        // entities and deletes one entity.
        let (other, _) = engine(&db, CatalogSettings::default()).await;
        register_file(&other, dir.path().join("acme-corp.yaml")).await;
        let gone = entity(&other, "component:default/artist-lookup").unwrap();
        assert!(
            other
                .delete_entity(gone["metadata"]["uid"].as_str().unwrap())
                .await
                .unwrap()
        );
        let expected = everything(&other);
        assert_ne!(expected, at_snapshot);
        drop(other);

        // The stale snapshot is loaded and caught up to exactly the stored catalog.
        let caught_up = engine_with_snapshot(&db, &snapshot).await;
        caught_up.load().await.unwrap();
        let Some(ReadModelOrigin::Snapshot(report)) = caught_up.read_model_origin() else {
            panic!("{}: snapshot not used", db.name());
        };
        assert!(report.upserted > 0 && report.removed >= 1, "{report:?}");
        assert_eq!(everything(&caught_up), expected, "{}", db.name());
        // Its position moved on: a snapshot written now needs no catching up.
        assert!(caught_up.write_snapshot().await.unwrap());
        drop(caught_up);
        let current = engine_with_snapshot(&db, &snapshot).await;
        current.load().await.unwrap();
        assert_eq!(
            current.read_model_origin(),
            Some(ReadModelOrigin::Snapshot(Default::default()))
        );
        assert_eq!(everything(&current), expected);
        drop(current);

        // A corrupt snapshot is detected and the read model rebuilt.
        let mut bytes = std::fs::read(&snapshot).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&snapshot, &bytes).unwrap();
        let rebuilt = engine_with_snapshot(&db, &snapshot).await;
        rebuilt.load().await.unwrap();
        assert_eq!(rebuilt.read_model_origin(), Some(ReadModelOrigin::Rebuilt));
        assert_eq!(everything(&rebuilt), expected, "{}", db.name());
        // So is a truncated one, and garbage.
        std::fs::write(&snapshot, &bytes[..bytes.len() / 3]).unwrap();
        let rebuilt = engine_with_snapshot(&db, &snapshot).await;
        rebuilt.load().await.unwrap();
        assert_eq!(rebuilt.read_model_origin(), Some(ReadModelOrigin::Rebuilt));
        assert_eq!(everything(&rebuilt), expected);
        assert!(rebuilt.write_snapshot().await.unwrap());
        drop(rebuilt);

        // The snapshot of this database is never used for another one.
        let elsewhere = Db::Sqlite(tempfile::tempdir().unwrap());
        let foreign = engine_with_snapshot(&elsewhere, &snapshot).await;
        foreign.load().await.unwrap();
        assert_eq!(foreign.read_model_origin(), Some(ReadModelOrigin::Rebuilt));
        assert!(foreign.read_model().is_empty());
    }
}

#[tokio::test]
async fn engines_sharing_a_database_sync_their_read_models() {
    for db in Db::all() {
        let dir = examples_copy();
        let (writer, _) = engine(&db, CatalogSettings::default()).await;
        let (replica, _) = engine(&db, CatalogSettings::default()).await;
        register_file(&writer, dir.path().join("all.yaml")).await;
        assert!(replica.read_model().is_empty());
        let report = replica.sync_read_model().await.unwrap();
        assert_eq!(report.upserted, writer.read_model().len(), "{}", db.name());
        assert_eq!(everything(&replica), everything(&writer));

        // Deletions and the replica's own writes travel too; nothing is applied twice.
        let gone = entity(&writer, "component:default/artist-lookup").unwrap();
        writer
            .delete_entity(gone["metadata"]["uid"].as_str().unwrap())
            .await
            .unwrap();
        register_file(&replica, dir.path().join("acme-corp.yaml")).await;
        let report = replica.sync_read_model().await.unwrap();
        assert!(report.removed >= 1, "{report:?}");
        writer.sync_read_model().await.unwrap();
        assert!(entity(&replica, "component:default/artist-lookup").is_none());
        assert_eq!(everything(&replica), everything(&writer), "{}", db.name());
        assert_eq!(replica.sync_read_model().await.unwrap(), Default::default());
    }
}

#[tokio::test]
async fn readers_behind_pruned_deletions_reload_instead_of_missing_them() {
    use portico_catalog::engine::ReadModelOrigin;
    for db in Db::all() {
        let dir = examples_copy();
        let state = tempfile::tempdir().unwrap();
        let snapshot = state.path().join("read-model.snapshot");
        // Tombstones expire within milliseconds, so that a deletion is forgotten when pruned.
        let settings = CatalogSettings {
            tombstone_retention: std::time::Duration::from_millis(1),
            ..CatalogSettings::default()
        };
        let (writer, _) = engine(&db, settings.clone()).await;
        let (replica, _) = engine(&db, settings).await;
        register_file(&writer, dir.path().join("all.yaml")).await;
        replica.sync_read_model().await.unwrap();
        let old = engine_with_snapshot(&db, &snapshot).await;
        old.load().await.unwrap();
        assert!(old.write_snapshot().await.unwrap());
        drop(old);

        let gone = entity(&writer, "component:default/artist-lookup").unwrap();
        writer
            .delete_entity(gone["metadata"]["uid"].as_str().unwrap())
            .await
            .unwrap();
        // Let the clock pass the deletion, then forget it.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert_eq!(writer.prune_tombstones().await.unwrap(), 1, "{}", db.name());

        // The replica cannot learn of the deletion from the change feed: it reloads.
        let report = replica.sync_read_model().await.unwrap();
        assert_eq!(report.upserted, writer.read_model().len(), "{}", db.name());
        assert!(entity(&replica, "component:default/artist-lookup").is_none());
        assert_eq!(everything(&replica), everything(&writer), "{}", db.name());
        assert_eq!(replica.sync_read_model().await.unwrap(), Default::default());

        // So does a snapshot written before the deletion was forgotten.
        let restarted = engine_with_snapshot(&db, &snapshot).await;
        restarted.load().await.unwrap();
        assert_eq!(
            restarted.read_model_origin(),
            Some(ReadModelOrigin::Rebuilt)
        );
        assert_eq!(everything(&restarted), everything(&writer), "{}", db.name());
    }
}

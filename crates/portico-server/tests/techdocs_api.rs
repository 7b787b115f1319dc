//! `/api/techdocs` over a real listener on 127.0.0.1:0: the fixture site is built with the real
//! builder, published with the local publisher for an entity of Backstage's example catalog
//! (on a real SQLite file), and read back the way Backstage's TechDocs reader does.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use portico_catalog::LocalReader;
use portico_catalog::engine::{CatalogSettings, Engine, system_clock};
use portico_server::{AppState, app};
use portico_store::LocationOrigin;
use portico_store_sql::SqlStore;
use portico_techdocs::{BuildOptions, EntityTriplet, LocalPublisher, Publisher, build_site};

async fn start(dir: &Path) -> String {
    let store = SqlStore::open_sqlite(&dir.join("portico.db"))
        .await
        .unwrap();
    let engine = Engine::open(
        Arc::new(store),
        Arc::new(LocalReader),
        CatalogSettings::default(),
        system_clock(),
    )
    .await
    .unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/backstage-examples/all-components.yaml");
    engine
        .register_location("file", examples.to_str().unwrap(), LocationOrigin::Config)
        .await
        .unwrap();

    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../portico-techdocs/tests/fixtures/full-site");
    let site = dir.join("site");
    build_site(&fixture, &site, BuildOptions::default()).unwrap();
    let publisher = LocalPublisher::new(dir.join("published"));
    publisher
        .publish(
            &EntityTriplet::new("default", "Component", "artist-lookup"),
            &site,
        )
        .unwrap();

    let mut state = AppState::new(Arc::new(engine));
    state.techdocs = Some(Arc::new(publisher));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });
    format!("http://{address}/api/techdocs")
}

async fn get(url: &str) -> (u16, String, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn backstage_reader_routes_serve_a_published_site() {
    let dir = tempfile::tempdir().unwrap();
    let base = start(dir.path()).await;
    let docs = format!("{base}/static/docs/default/component/artist-lookup");

    let (status, content_type, body) = get(&format!("{docs}/index.html")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    assert!(body.contains("Fixture home"));
    // Backstage's reader asks for the folder; the kind is matched case-insensitively.
    let (status, _, body) = get(&format!(
        "{base}/static/docs/default/Component/artist-lookup/guide/blocks/"
    ))
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("admonition-title"));
    let (status, _, body) = get(&docs).await;
    assert_eq!(status, 200);
    assert!(body.contains("Fixture home"));
    let (status, content_type, _) = get(&format!("{docs}/assets/portico/techdocs.css")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/css; charset=utf-8")
    );
    let (status, _, body) = get(&format!("{docs}/search/search_index.json")).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"location\":\"guide/blocks/\""));

    // Nothing outside the published site, however the path is spelled.
    for escape in [
        "..%2F..%2F..%2Fportico.db",
        "%2e%2e/%2e%2e/%2e%2e/portico.db",
        "guide/../../../../portico.db",
    ] {
        let (status, _, body) = get(&format!("{docs}/{escape}")).await;
        assert_eq!(status, 404, "{escape}: {body}");
        assert!(body.contains("\"NotFoundError\""), "{body}");
    }
    let (status, _, body) = get(&format!("{docs}/no-such-page/")).await;
    assert_eq!(status, 404);
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["name"], "NotFoundError");
    assert_eq!(error["response"]["statusCode"], 404);

    let (status, _, body) = get(&format!(
        "{base}/metadata/techdocs/default/component/artist-lookup"
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let metadata: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(metadata["site_name"], "Fixture Docs");
    assert_eq!(
        metadata["site_description"],
        "Every feature the Portico builder supports"
    );
    assert!(metadata["etag"].is_string() && metadata["build_timestamp"].is_u64());
    assert!(
        metadata["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "index.html")
    );

    // An entity without built docs, and one that does not exist.
    let (status, _, body) = get(&format!(
        "{base}/metadata/techdocs/default/component/petstore"
    ))
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("have not been built"), "{body}");
    let (status, _, _) = get(&format!("{base}/metadata/techdocs/default/component/nope")).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&format!(
        "{base}/static/docs/default/component/nope/index.html"
    ))
    .await;
    assert_eq!(status, 404);

    let (status, _, body) = get(&format!(
        "{base}/metadata/entity/default/component/artist-lookup"
    ))
    .await;
    assert_eq!(status, 200);
    let entity: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(entity["kind"], "Component");
    assert_eq!(entity["metadata"]["name"], "artist-lookup");
    assert_eq!(entity["locationMetadata"]["type"], "file");
    assert!(
        entity["locationMetadata"]["target"]
            .as_str()
            .unwrap()
            .ends_with("artist-lookup-component.yaml")
    );

    let (status, content_type, body) =
        get(&format!("{base}/sync/default/component/artist-lookup")).await;
    assert_eq!((status, content_type.as_str()), (200, "text/event-stream"));
    assert!(
        body.contains("event: finish\ndata: {\"updated\":false}"),
        "{body}"
    );
}

/// `/sync` with the builder: a stale site is built (log events, then `finish {updated:
/// true}`), a current one is not, and a broken one ends in Backstage's `error` event; author
/// files that are not pages are sandboxed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_builds_stale_sites_and_reports_errors() {
    use portico_catalog::read_model::Predicate;
    use portico_techdocs::{BuilderOptions, DocsBuilder, DocsBuilds, DocsCatalog};

    struct EngineDocs(Arc<Engine<SqlStore>>);
    impl DocsCatalog for EngineDocs {
        fn documented_refs(&self) -> Vec<String> {
            self.0.read_model().refs_matching(&Predicate::Exists {
                key: "metadata.annotations.backstage.io/techdocs-ref".to_owned(),
            })
        }

        fn entities(&self, refs: &[String]) -> Vec<serde_json::Value> {
            let model = self.0.read_model();
            refs.iter()
                .filter_map(|r| model.by_ref(r))
                .filter_map(|json| serde_json::from_str(&json).ok())
                .collect()
        }
        fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
            self.0.processed()
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("docs")).unwrap();
    std::fs::write(
        repo.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec: {type: service, lifecycle: production, owner: a}\n",
    )
    .unwrap();
    std::fs::write(repo.join("mkdocs.yml"), "site_name: Svc\n").unwrap();
    std::fs::write(
        repo.join("docs/index.md"),
        "# Synced\n\n![logo](logo.svg)\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("docs/logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
    )
    .unwrap();
    let store = SqlStore::open_sqlite(&dir.path().join("portico.db"))
        .await
        .unwrap();
    let engine = Arc::new(
        Engine::open(
            Arc::new(store.clone()),
            Arc::new(LocalReader),
            CatalogSettings::default(),
            system_clock(),
        )
        .await
        .unwrap(),
    );
    engine
        .register_location(
            "file",
            repo.join("catalog-info.yaml").to_str().unwrap(),
            LocationOrigin::Api,
        )
        .await
        .unwrap();
    let publisher: Arc<dyn Publisher> = Arc::new(LocalPublisher::new(dir.path().join("published")));
    // Only the job runner: nothing is built until sync asks.
    let builder = Arc::new(DocsBuilder::new(
        Arc::new(store),
        Arc::clone(&publisher),
        Arc::new(EngineDocs(Arc::clone(&engine))),
        BuilderOptions::new(dir.path().join("work")),
    ));
    let (_shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(Arc::clone(&builder).run_jobs(shutdown_rx));
    let mut state = AppState::new(engine);
    state.techdocs = Some(publisher);
    state.techdocs_builds = Some(Arc::new(builder) as Arc<dyn DocsBuilds>);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });
    let base = format!("http://{address}/api/techdocs");
    let sync = format!("{base}/sync/default/component/svc");

    let (status, _, _) = get(&format!(
        "{base}/static/docs/default/component/svc/index.html"
    ))
    .await;
    assert_eq!(status, 404, "not built before sync");
    let (status, content_type, body) = get(&sync).await;
    assert_eq!((status, content_type.as_str()), (200, "text/event-stream"));
    assert!(body.starts_with("event: log\n"), "{body}");
    assert!(
        body.trim_end()
            .ends_with("event: finish\ndata: {\"updated\":true}"),
        "{body}"
    );
    let (status, _, page) = get(&format!(
        "{base}/static/docs/default/component/svc/index.html"
    ))
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("Synced"), "{page}");
    let body = get(&sync).await.2;
    assert_eq!(body.trim_end(), "event: finish\ndata: {\"updated\":false}");

    let svg = reqwest::get(format!("{base}/static/docs/default/component/svc/logo.svg"))
        .await
        .unwrap();
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-security-policy"], "sandbox");
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let html = reqwest::get(format!("{base}/static/docs/default/component/svc/"))
        .await
        .unwrap();
    assert!(html.headers().get("content-security-policy").is_none());

    std::fs::write(repo.join("mkdocs.yml"), "nav: [index.md]\n").unwrap();
    let (_, _, body) = get(&sync).await;
    assert!(body.contains("event: error\ndata: "), "{body}");
    assert!(body.contains("site_name"), "{body}");
    let (_, _, page) = get(&format!(
        "{base}/static/docs/default/component/svc/index.html"
    ))
    .await;
    assert!(
        page.contains("Synced"),
        "the last good site is still served"
    );
}

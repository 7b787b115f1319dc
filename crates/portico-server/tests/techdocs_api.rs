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

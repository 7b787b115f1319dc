//! Error answers: Backstage's error body, names and statuses for bad filters, orders, unknown
//! entities, invalid JSON bodies, wrong content types and read-only mode.

use serde_json::json;

use crate::{databases, start};

#[tokio::test]
async fn errors_have_backstage_shape_names_and_statuses() {
    for db in databases() {
        let server = start(db, false).await;
        let (status, body, headers) = server
            .get("/api/catalog/entities/by-uid/does-not-exist")
            .await;
        assert_eq!(status, 404);
        assert_eq!(
            body,
            json!({"error": {"name": "NotFoundError", "message": "No entity with uid does-not-exist"},
                   "request": {"method": "GET", "url": "/entities/by-uid/does-not-exist"},
                   "response": {"statusCode": 404}})
        );
        assert!(headers.get("x-request-id").is_some());

        let (status, body, _) = server
            .get("/api/catalog/entities/by-name/component/default/nope")
            .await;
        assert_eq!(status, 404);
        assert_eq!(
            body["error"]["message"],
            "No entity named 'nope' found, with kind 'component' in namespace 'default'"
        );

        let (status, body, _) = server
            .get("/api/catalog/entities?filter=kind=user,=x")
            .await;
        assert_eq!(
            (status, body["error"]["name"].as_str()),
            (400, Some("InputError")),
            "{body}"
        );
        assert_eq!(
            body["error"]["message"],
            "Invalid filter, '=x' is not a valid statement (expected a string on the form a=b or a= or a)"
        );

        let (status, body, _) = server
            .get("/api/catalog/entities?order=sideways:metadata.name")
            .await;
        assert_eq!(
            (status, body["error"]["name"].as_str()),
            (400, Some("InputError"))
        );
        let (status, body, _) = server
            .get("/api/catalog/entities/by-query?orderField=metadata.name,up")
            .await;
        assert_eq!(status, 400);
        assert_eq!(
            body["error"]["message"],
            "Invalid order field order, must be asc or desc"
        );
        let (status, body, _) = server
            .get("/api/catalog/entities/by-query?cursor=garbage")
            .await;
        assert_eq!(status, 400, "{body}");

        let response = server
            .client
            .post(server.url("/api/catalog/entities/by-refs"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Malformed request: "),
            "{body}"
        );

        let response = server
            .client
            .post(server.url("/api/catalog/entities/by-refs"))
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["message"], "Illegal Content-Type");

        let response = server
            .client
            .post(server.url("/api/catalog/refresh"))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["message"], "Content-Type missing");

        let (status, body) = server
            .post("/api/catalog/entities/by-refs", json!({}))
            .await;
        assert_eq!(
            (status, body["error"]["message"].as_str()),
            (400, Some("Empty request body"))
        );

        let (status, body, _) = server.get("/api/catalog/no-such-route").await;
        assert_eq!(
            (status, body["error"]["name"].as_str()),
            (404, Some("NotFoundError"))
        );

        let (status, body) = server
            .post(
                "/api/catalog/refresh",
                json!({"entityRef": "component:default/nope"}),
            )
            .await;
        assert_eq!(
            (status, body["error"]["name"].as_str()),
            (404, Some("NotFoundError"))
        );
    }
}

#[tokio::test]
async fn readonly_refuses_location_changes_but_allows_dry_runs() {
    let server = start("sqlite", true).await;
    let target = crate::examples().join("all-domains.yaml");
    let (status, body) = server
        .post(
            "/api/catalog/locations",
            json!({"type": "file", "target": target}),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["name"], "NotAllowedError");
    assert_eq!(
        body["error"]["message"],
        "This operation not allowed in readonly mode"
    );
    let (status, _) = server
        .post(
            "/api/catalog/locations?dryRun=true",
            json!({"type": "file", "target": target}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, locations, _) = server.get("/api/catalog/locations").await;
    let id = locations[0]["data"]["id"].as_str().unwrap().to_owned();
    let response = server
        .client
        .delete(server.url(&format!("/api/catalog/locations/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn catalog_answers_503_until_loaded() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let engine = unloaded_engine(dir.path()).await;
    let app = portico_server::app(portico_server::AppState::new(Arc::clone(&engine)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let healthz = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(healthz.status().as_u16(), 200);
    let readyz = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(readyz.status().as_u16(), 503);
    let entities = client
        .get(format!("{base}/api/catalog/entities"))
        .send()
        .await
        .unwrap();
    assert_eq!(entities.status().as_u16(), 503);
    let body: serde_json::Value = entities.json().await.unwrap();
    assert_eq!(body["error"]["name"], "ServiceUnavailableError");
    engine.load().await.unwrap();
    engine.mark_loaded();
    let entities = client
        .get(format!("{base}/api/catalog/entities"))
        .send()
        .await
        .unwrap();
    assert_eq!(entities.status().as_u16(), 200);
    let readyz = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(readyz.status().as_u16(), 200);
}

/// With the web pages merged in (as `portico serve` does), unknown API paths still get
/// Backstage's JSON error while other paths reach the pages, and pages carry request ids and
/// are counted in the metrics like API routes.
#[tokio::test]
async fn pages_share_the_layers_and_never_answer_api_paths() {
    use axum::response::IntoResponse;
    let dir = tempfile::tempdir().unwrap();
    let engine = unloaded_engine(dir.path()).await;
    engine.load().await.unwrap();
    engine.mark_loaded();
    let page = || async {
        (
            [("content-type", "text/html")],
            "<!doctype html><p>a page</p>",
        )
            .into_response()
    };
    let pages = axum::Router::new()
        .route("/hello", axum::routing::get(page))
        .fallback(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                [("content-type", "text/html")],
                "<p>no page</p>",
            )
        });
    let app = portico_server::app_with_pages(portico_server::AppState::new(engine), pages);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    for path in ["/api/catalog/nope", "/api/nope", "/api/scaffolder/v2/tasks"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
        assert!(response.headers().contains_key("x-request-id"), "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["name"], "NotFoundError", "{path}");
        assert_eq!(body["error"]["message"], format!("Not found: GET {path}"));
    }
    let hello = client.get(format!("{base}/hello")).send().await.unwrap();
    assert_eq!(hello.status().as_u16(), 200);
    assert!(hello.headers().contains_key("x-request-id"));
    let missing = client.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(missing.text().await.unwrap(), "<p>no page</p>");
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains(r#"portico_http_requests_total{method="GET",route="/hello",status="2xx"} 1"#),
        "{metrics}"
    );
}

/// An engine over a new SQLite file in `dir`, not loaded yet.
async fn unloaded_engine(
    dir: &std::path::Path,
) -> std::sync::Arc<portico_catalog::engine::Engine<portico_store_sql::SqlStore>> {
    let store = portico_store_sql::SqlStore::open_sqlite(&dir.join("p.db"))
        .await
        .unwrap();
    std::sync::Arc::new(portico_catalog::engine::Engine::new(
        std::sync::Arc::new(store),
        std::sync::Arc::new(portico_catalog::LocalReader),
        portico_catalog::engine::CatalogSettings::default(),
        portico_catalog::engine::system_clock(),
    ))
}

//! TechDocs `url:` references through a real `portico serve`: a component documented at
//! `url:https://github.com/acme/handbook/tree/main/docs-site` is built from the archive the
//! forge API hands out, with the `integrations.github` token, and served; when the repository
//! changes, `/sync` (what the reader calls when the docs are opened) fetches it again and
//! rebuilds; a host that `backend.reading.allow` does not list is refused with the fix.
//!
//! The forge is a fake of github.com's REST API (api.github.com cannot be reached from tests):
//! a local axum server answering `GET /repos/acme/handbook/tarball/main` like GitHub does —
//! a redirect to a download URL serving a real tar.gz (made by the `tar` program, with
//! GitHub's `<owner>-<repo>-<sha>/` top folder) — and 401 without the token.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const TOKEN: &str = "test-token-4d8b";

/// The fake forge's state: the archive it serves now.
#[derive(Clone, Default)]
struct Forge {
    archive: Arc<Mutex<Vec<u8>>>,
    tarball_calls: Arc<Mutex<usize>>,
}

async fn tarball(State(forge): State<Forge>, headers: HeaderMap) -> Response {
    *forge.tarball_calls.lock().unwrap() += 1;
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !authorized {
        return (StatusCode::UNAUTHORIZED, r#"{"message":"Bad credentials"}"#).into_response();
    }
    // GitHub answers with a redirect to its download host.
    (
        StatusCode::FOUND,
        [(
            header::LOCATION,
            "/_codeload/acme/handbook/legacy.tar.gz/main",
        )],
    )
        .into_response()
}

async fn download(State(forge): State<Forge>) -> Response {
    let bytes = forge.archive.lock().unwrap().clone();
    ([(header::CONTENT_TYPE, "application/x-gzip")], bytes).into_response()
}

/// A tar.gz of the repository with `edition` on its docs home page, as GitHub lays it out.
fn archive(work: &Path, edition: &str) -> Vec<u8> {
    let stage = work.join(format!("stage-{edition}"));
    let top = stage.join("acme-handbook-0a1b2c3");
    std::fs::create_dir_all(top.join("docs-site/docs")).unwrap();
    std::fs::write(top.join("README.md"), "# Handbook repository\n").unwrap();
    std::fs::write(
        top.join("docs-site/mkdocs.yml"),
        "site_name: Acme handbook\nplugins:\n  - techdocs-core\n",
    )
    .unwrap();
    std::fs::write(
        top.join("docs-site/docs/index.md"),
        format!("# Handbook\n\nRemote edition {edition}.\n"),
    )
    .unwrap();
    let file = work.join(format!("handbook-{edition}.tar.gz"));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&file)
        .arg("-C")
        .arg(&stage)
        .arg("acme-handbook-0a1b2c3")
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(file).unwrap()
}

async fn text(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn url_docs_are_fetched_from_the_forge_archive_built_and_rebuilt_on_sync() {
    let work = tempfile::tempdir().unwrap();
    let forge = Forge::default();
    *forge.archive.lock().unwrap() = archive(work.path(), "one");
    let app = Router::new()
        .route("/repos/acme/handbook/tarball/main", get(tarball))
        .route("/_codeload/acme/handbook/legacy.tar.gz/main", get(download))
        .with_state(forge.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let catalog = work.path().join("catalog-info.yaml");
    std::fs::write(
        &catalog,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: handbook\n  \
         annotations:\n    backstage.io/techdocs-ref: url:https://github.com/acme/handbook/tree/main/docs-site\n\
         spec: {type: documentation, lifecycle: production, owner: team-a}\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: elsewhere\n  \
         annotations:\n    backstage.io/techdocs-ref: url:https://gitlab.internal.example/group/p/-/tree/main\n\
         spec: {type: documentation, lifecycle: production, owner: team-a}\n",
    )
    .unwrap();
    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\n  \
             reading:\n    allow:\n      - host: github.com\n\
             integrations:\n  github:\n    - host: github.com\n      token: {TOKEN}\n      apiBaseUrl: {api}\n  \
             gitlab:\n    - host: gitlab.internal.example\n      apiBaseUrl: {api}\n\
             catalog:\n  locations:\n    - type: file\n      target: {}\n\
             techdocs:\n  concurrency: 1\n",
            work.path().join("data").display(),
            catalog.display(),
        ),
    )
    .unwrap();
    let (_server, base) = support::start_portico(&config, work.path());
    let client = reqwest::Client::new();

    // Built from the archive with no other step.
    let page = format!("{base}/api/techdocs/static/docs/default/component/handbook/index.html");
    support::poll(&client, &page, |status, body| {
        status == 200 && body.contains("Remote edition one")
    })
    .await;
    let metadata = text(
        &client,
        &format!("{base}/api/techdocs/metadata/techdocs/default/component/handbook"),
    )
    .await;
    assert!(metadata.contains("Acme handbook"), "{metadata}");

    // Opening the docs (sync) fetches the tree: unchanged, nothing to build. (First wait
    // until the index shows the build stored: no queued/building badge on the row.)
    support::poll(&client, &format!("{base}/docs"), |status, body| {
        status == 200
            && body
                .split("<tr>")
                .find(|row| row.contains(">handbook</a>"))
                .is_some_and(|row| row.contains(" UTC") && !row.contains("class=\"badge\""))
    })
    .await;
    let sync = format!("{base}/api/techdocs/sync/default/component/handbook");
    let current = text(&client, &sync).await;
    assert!(current.contains(r#""updated":false"#), "{current}");

    // The repository changes: sync fetches it again and rebuilds.
    *forge.archive.lock().unwrap() = archive(work.path(), "two");
    let events = text(&client, &sync).await;
    assert!(events.contains(r#""updated":true"#), "{events}");
    let rebuilt = text(&client, &page).await;
    assert!(rebuilt.contains("Remote edition two"), "{rebuilt}");
    let again = text(&client, &sync).await;
    assert!(again.contains(r#""updated":false"#), "{again}");

    // A host backend.reading.allow does not list is never fetched.
    let calls = *forge.tarball_calls.lock().unwrap();
    let refused = text(
        &client,
        &format!("{base}/api/techdocs/sync/default/component/elsewhere"),
    )
    .await;
    assert!(refused.contains("event: error"), "{refused}");
    assert!(
        refused.contains("add gitlab.internal.example to backend.reading.allow"),
        "{refused}"
    );
    assert_eq!(*forge.tarball_calls.lock().unwrap(), calls);
    let reader = support::poll(
        &client,
        &format!("{base}/docs/default/component/elsewhere/"),
        |status, _| status == 404,
    )
    .await;
    assert!(reader.contains("backend.reading.allow"), "{reader}");
}

/// Without the token the fake forge answers 401 like GitHub: the build fails saying so.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_archive_fails_the_build_with_the_forge_answer() {
    let work = tempfile::tempdir().unwrap();
    let forge = Forge::default();
    *forge.archive.lock().unwrap() = archive(work.path(), "one");
    let app = Router::new()
        .route("/repos/acme/handbook/tarball/main", get(tarball))
        .with_state(forge.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let catalog = work.path().join("catalog-info.yaml");
    std::fs::write(
        &catalog,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: handbook\n  \
         annotations:\n    backstage.io/techdocs-ref: url:https://github.com/acme/handbook/tree/main/docs-site\n\
         spec: {type: documentation, lifecycle: production, owner: team-a}\n",
    )
    .unwrap();
    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\n  \
             reading:\n    allow:\n      - host: github.com\n\
             integrations:\n  github:\n    - host: github.com\n      apiBaseUrl: {api}\n\
             catalog:\n  locations:\n    - type: file\n      target: {}\n",
            work.path().join("data").display(),
            catalog.display(),
        ),
    )
    .unwrap();
    let (_server, base) = support::start_portico(&config, work.path());
    let client = reqwest::Client::new();
    let reader = support::poll(
        &client,
        &format!("{base}/docs/default/component/handbook/"),
        |status, body| status == 404 && body.contains("The last build failed"),
    )
    .await;
    assert!(reader.contains("401"), "{reader}");
    assert!(reader.contains("integrations token"), "{reader}");
}

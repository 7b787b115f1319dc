//! HTTP tests of the catalog API against a real listener on 127.0.0.1:0, over an engine on a
//! real SQLite file and, when `PORTICO_TEST_PG_URL` is set, a real PostgreSQL database, loaded
//! with Backstage's example catalog.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod catalog_api;
mod errors;
mod scaffolder_access;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portico_catalog::engine::{CatalogSettings, Engine, system_clock};
use portico_catalog::{LocalReader, ReadError, SourceReader, Target};
use portico_server::{AppState, app};
use portico_store::LocationOrigin;
use portico_store_sql::SqlStore;
use portico_testkit::pg::{TestDatabase, TestServer};

/// Reads files; refuses URLs as a server whose `backend.reading.allow` lists no host would.
struct FilesOnly;

impl SourceReader for FilesOnly {
    fn read(&self, target: &Target) -> Result<Vec<u8>, ReadError> {
        match target {
            Target::File(_) => LocalReader.read(target),
            Target::Url(url) => Err(ReadError::NotAllowed(format!(
                "reading {url} is not allowed"
            ))),
        }
    }
}

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct Running {
    pub base: String,
    pub client: reqwest::Client,
    pub _guard: Guard,
}

/// What must live as long as the server.
#[derive(Debug)]
pub struct Guard {
    _dir: tempfile::TempDir,
    _db: Option<TestDatabase>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/backstage-examples")
}

/// Which databases to run on: SQLite always, PostgreSQL when configured.
pub fn databases() -> Vec<&'static str> {
    let mut out = vec!["sqlite"];
    if TestServer::from_env().is_some() {
        out.push("postgres");
    } else {
        eprintln!("PORTICO_TEST_PG_URL is not set: HTTP tests ran on SQLite only");
    }
    out
}

/// Starts a server on `database` with the example catalog registered, optionally read-only.
pub async fn start(database: &str, readonly: bool) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let (store, db) = match database {
        "postgres" => {
            let db = TestServer::from_env().unwrap().create_database();
            (SqlStore::connect(&db.url).await.unwrap(), Some(db))
        }
        _ => (
            SqlStore::open_sqlite(&dir.path().join("portico.db"))
                .await
                .unwrap(),
            None,
        ),
    };
    let engine = Engine::open(
        Arc::new(store),
        Arc::new(FilesOnly),
        CatalogSettings::default(),
        system_clock(),
    )
    .await
    .unwrap();
    for file in ["all.yaml", "acme-corp.yaml"] {
        engine
            .register_location(
                "file",
                examples().join(file).to_str().unwrap(),
                LocationOrigin::Config,
            )
            .await
            .unwrap();
    }
    let mut state = AppState::new(Arc::new(engine));
    state.readonly = readonly;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app(state))
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    Running {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        _guard: Guard {
            _dir: dir,
            _db: db,
            shutdown: Some(tx),
        },
    }
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        (status, value, headers)
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        (status, value)
    }
}

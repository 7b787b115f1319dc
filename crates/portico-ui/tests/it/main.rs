//! Tests of the web UI against a real listener on 127.0.0.1:0 over an engine on a real SQLite
//! file, loaded with Backstage's example catalog: fast HTML tests of the handlers (`html`) and
//! browser tests in real headless Chromium through WebDriver (`browser`).

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod browser;
mod docs;
mod html;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portico_catalog::LocalReader;
use portico_catalog::engine::{CatalogSettings, Engine, system_clock};
use portico_store::LocationOrigin;
use portico_store_sql::SqlStore;
use portico_ui::{Ui, UiConfig};

/// A running UI; stops when dropped.
#[derive(Debug)]
pub struct Running {
    pub base: String,
    pub client: reqwest::Client,
    /// A folder for files the test registers.
    pub files: PathBuf,
    /// The engine the UI reads.
    pub engine: Arc<Engine<SqlStore>>,
    /// The TechDocs builder whose states the UI shows (from [`start_with_builds`]); not
    /// running: tests scan and run jobs themselves.
    pub builder: Option<Arc<portico_techdocs::DocsBuilder<SqlStore>>>,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/backstage-examples")
}

/// A component whose title and description try to inject markup.
pub const HOSTILE: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: hostile
  title: "<script>alert('title')</script>Hostile"
  description: "**Bold** text <script>alert('desc')</script> <img src=x onerror=alert(1)>"
  links:
    - url: "javascript:alert(1)"
      title: Bad link
spec:
  type: service
  lifecycle: experimental
  owner: team-a
"#;

/// Starts the UI with the example catalog (and [`HOSTILE`]) registered.
pub async fn start(readonly: bool) -> Running {
    start_with(readonly, None, |ui| ui).await
}

/// [`start`], with `configure` applied to the UI before it serves (an authorizer, say).
pub async fn start_configured(
    readonly: bool,
    configure: impl FnOnce(Ui<SqlStore>) -> Ui<SqlStore>,
) -> Running {
    start_with(readonly, None, configure).await
}

/// Starts the UI like [`start`], with the TechDocs sites `docs` prepares in the test's folder:
/// it gets the `files` folder (catalog files written there whose names end in `.yaml` are
/// registered too) and returns the folder of published sites, which the UI reads through a
/// `LocalPublisher`.
pub async fn start_with_docs(docs: fn(&Path) -> PathBuf) -> Running {
    start_with(false, Some(docs), |ui| ui).await
}

/// [`start_with_docs`], with a TechDocs builder over the same database and publisher whose
/// build states the UI shows ([`Running::builder`]).
pub async fn start_with_builds(docs: fn(&Path) -> PathBuf) -> Running {
    start_inner(false, Some(docs), true, |ui| ui).await
}

/// The catalog engine as the docs builder sees it (what `portico serve` wires).
struct EngineDocs(Arc<Engine<SqlStore>>);

impl portico_techdocs::DocsCatalog for EngineDocs {
    fn documented_entities(&self) -> Vec<serde_json::Value> {
        let model = self.0.read_model();
        model
            .refs_matching(&portico_catalog::read_model::Predicate::Exists {
                key: "metadata.annotations.backstage.io/techdocs-ref".to_owned(),
            })
            .iter()
            .filter_map(|r| model.by_ref(r))
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect()
    }

    fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.processed()
    }
}

async fn start_with(
    readonly: bool,
    docs: Option<fn(&Path) -> PathBuf>,
    configure: impl FnOnce(Ui<SqlStore>) -> Ui<SqlStore>,
) -> Running {
    start_inner(readonly, docs, false, configure).await
}

async fn start_inner(
    readonly: bool,
    docs: Option<fn(&Path) -> PathBuf>,
    with_builds: bool,
    configure: impl FnOnce(Ui<SqlStore>) -> Ui<SqlStore>,
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("hostile.yaml"), HOSTILE).unwrap();
    let published = docs.map(|setup| setup(&files));
    let mut extra: Vec<PathBuf> = std::fs::read_dir(&files)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("hostile.yaml"))
        .collect();
    extra.sort();
    let store = SqlStore::open_sqlite(&dir.path().join("portico.db"))
        .await
        .unwrap();
    let docs_store = store.clone();
    let engine = Engine::open(
        Arc::new(store),
        Arc::new(LocalReader),
        CatalogSettings::default(),
        system_clock(),
    )
    .await
    .unwrap();
    for file in [
        examples().join("all.yaml"),
        examples().join("acme-corp.yaml"),
        files.join("hostile.yaml"),
    ]
    .into_iter()
    .chain(extra)
    {
        engine
            .register_location("file", file.to_str().unwrap(), LocationOrigin::Config)
            .await
            .unwrap();
    }
    let engine = Arc::new(engine);
    let mut ui = Ui::new(
        Arc::clone(&engine),
        UiConfig {
            title: "Test Portal".to_owned(),
            readonly,
        },
    );
    let mut builder = None;
    if let Some(published) = published {
        let publisher: Arc<dyn portico_techdocs::Publisher> =
            Arc::new(portico_techdocs::LocalPublisher::new(published));
        ui = ui.with_techdocs(Arc::clone(&publisher));
        if with_builds {
            let docs_builder = Arc::new(portico_techdocs::DocsBuilder::new(
                Arc::new(docs_store),
                publisher,
                Arc::new(EngineDocs(Arc::clone(&engine))),
                portico_techdocs::BuilderOptions::new(dir.path().join("techdocs-work")),
            ));
            ui = ui.with_builds(Arc::new(Arc::clone(&docs_builder)));
            builder = Some(docs_builder);
        }
    }
    let ui = configure(ui);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, portico_ui::router(ui))
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    Running {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        files,
        engine,
        builder,
        _dir: dir,
        shutdown: Some(tx),
    }
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Status and body of a GET.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Status and body of a form POST.
    pub async fn post_form(&self, path: &str, body: &str) -> (u16, String) {
        let response = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// `value` form-encoded.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

//! Tests of the web UI against a real listener on 127.0.0.1:0 over an engine on a real SQLite
//! file, loaded with Backstage's example catalog: fast HTML tests of the handlers (`html`), the
//! software templates run through a real scaffolder and task worker on the same database
//! (`scaffolder`), and browser tests in real headless Chromium through WebDriver (`browser`).

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod browser;
mod docs;
mod html;
mod scaffolder;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portico_catalog::LocalReader;
use portico_catalog::engine::{CatalogSettings, Engine, system_clock};
use portico_plugin_api::{BoxFuture, PluginError, ScaffolderCatalog};
use portico_scaffolder::{
    ActionRegistry, Runner, Scaffolder, ScaffolderService, TaskEngine, TaskOptions,
};
use portico_store::LocationOrigin;
use portico_store_sql::SqlStore;
use portico_ui::{Ui, UiConfig};

/// A running UI; stops when dropped.
pub struct Running {
    pub base: String,
    pub client: reqwest::Client,
    /// A folder for files the test registers.
    pub files: PathBuf,
    /// The engine the UI reads.
    pub engine: Arc<Engine<SqlStore>>,
    /// The scaffolder the UI runs templates with, when the test asked for one.
    pub scaffolder: Option<Arc<dyn ScaffolderService>>,
    /// The TechDocs builder whose states the UI shows (from [`start_with_builds`]); not
    /// running: tests scan and run jobs themselves.
    pub builder: Option<Arc<portico_techdocs::DocsBuilder<SqlStore>>>,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    stop_worker: Option<tokio::sync::watch::Sender<bool>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("base", &self.base)
            .field("files", &self.files)
            .field("scaffolder", &self.scaffolder.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(tx) = self.stop_worker.take() {
            let _ = tx.send(true);
        }
    }
}

/// The catalog as the scaffolder sees it: entities from the read model the UI shows. Only
/// `catalog:register` is missing; no template of these tests uses it.
struct ReadModelCatalog(Arc<Engine<SqlStore>>);

impl ScaffolderCatalog for ReadModelCatalog {
    fn get_entity(
        &self,
        entity_ref: &str,
    ) -> BoxFuture<'_, Result<Option<serde_json::Value>, PluginError>> {
        let json = self.0.read_model().by_ref(entity_ref);
        Box::pin(async move { Ok(json.and_then(|text| serde_json::from_str(&text).ok())) })
    }

    fn register_location(&self, _: &str) -> BoxFuture<'_, Result<Vec<String>, PluginError>> {
        Box::pin(async {
            Err(PluginError::Failed(
                "catalog:register is not wired in the UI tests".to_owned(),
            ))
        })
    }
}

/// How the scaffolder of a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worker {
    /// Tasks are claimed and run as in `portico serve`.
    Running,
    /// No worker: tasks stay `open` (to see what a waiting task looks like, and cancel it).
    Stopped,
}

/// A template of these tests (`files/ui-demo`): a Secret, a password, review options, an
/// OwnerPicker, a RepoUrlPicker, and steps that run locally (fetch:template, debug:wait,
/// debug:log).
pub const UI_DEMO: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: ui-demo
  title: UI demo service
  description: Writes a README from a skeleton and logs what it did.
  tags: [demo]
spec:
  owner: team-a
  type: service
  parameters:
    - title: Basics
      required: [name, owner]
      properties:
        name:
          title: Name
          type: string
          pattern: '^[a-z][a-z0-9-]*$'
          description: Lower-case letters, digits and dashes.
          ui:autofocus: true
        owner:
          title: Owner
          type: string
          ui:field: OwnerPicker
          ui:options:
            catalogFilter:
              kind: Group
        token:
          title: Deploy token
          type: string
          ui:field: Secret
        password:
          title: Database password
          type: string
          ui:widget: password
        note:
          title: Private note
          type: string
          ui:backstage:
            review:
              show: false
        code:
          title: Access code
          type: string
          ui:backstage:
            review:
              mask: (hidden code)
    - title: Location
      required: [repoUrl]
      properties:
        repoUrl:
          title: Repository
          type: string
          ui:field: RepoUrlPicker
          ui:options:
            allowedHosts: [github.com, gitlab.com]
  steps:
    - id: fetch
      name: Fetch the skeleton
      action: fetch:template
      input:
        url: ./skeleton
        values:
          name: ${{ parameters.name }}
    # Long enough for the browser to open the task page while it runs and follow it live.
    - id: pause
      name: Pause
      action: debug:wait
      input:
        milliseconds: 1500
    - id: log
      name: Say what happened
      action: debug:log
      input:
        message: "Created ${{ parameters.name }} for ${{ parameters.owner }} at ${{ parameters.repoUrl }} with token ${{ secrets.token }}"
        listWorkspace: true
  output:
    links:
      - title: Repository
        url: https://example.com/${{ parameters.name }}
      - title: Clone
        url: git@example.com:acme/${{ parameters.name }}.git
      - title: Owner
        entityRef: ${{ parameters.owner }}
    text:
      - title: Summary
        content: "**${{ parameters.name }}** is ready."
"#;

/// A template with the list and branch pickers: MultiEntityPicker, EntityTagsPicker and
/// RepoBranchPicker.
pub const PICKERS: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: pickers
  title: Pickers
spec:
  owner: team-a
  type: service
  parameters:
    - title: Pickers
      required: [deps]
      properties:
        deps:
          title: Depends on
          type: array
          items: {type: string}
          ui:field: MultiEntityPicker
          ui:options:
            catalogFilter:
              kind: Group
        tags:
          title: Tags
          type: array
          items: {type: string}
          ui:field: EntityTagsPicker
        branch:
          title: Branch
          type: string
          ui:field: RepoBranchPicker
  steps:
    - id: log
      action: debug:log
      input:
        message: "${{ parameters.deps | join(',') }}"
"#;

/// A template whose one step waits a minute (to cancel it while it runs).
pub const SLOW: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: slow
  title: Slow template
spec:
  owner: team-a
  type: service
  steps:
    - id: wait
      name: Wait a minute
      action: debug:wait
      input:
        seconds: 60
    # A cancel is seen between steps: this one makes a cancelled wait end the task as cancelled.
    - id: after
      name: Afterwards
      action: debug:log
      input:
        message: done waiting
"#;

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
    start_with(readonly, None, None, |ui| ui).await
}

/// [`start`], with a scaffolder on the same database and the templates [`UI_DEMO`], [`SLOW`],
/// [`PICKERS`] and Backstage's `conditional-parameters-demo` and `notifications-demo` (whose
/// `notification:send` Portico lacks) registered.
pub async fn start_scaffolder(worker: Worker) -> Running {
    start_with(false, None, Some(worker), |ui| ui).await
}

/// [`start_scaffolder`], with `configure` applied to the UI before it serves.
pub async fn start_scaffolder_with(
    worker: Worker,
    configure: impl FnOnce(Ui<SqlStore>) -> Ui<SqlStore>,
) -> Running {
    start_with(false, None, Some(worker), configure).await
}

/// [`start`], with `configure` applied to the UI before it serves (an authorizer, say).
pub async fn start_configured(
    readonly: bool,
    configure: impl FnOnce(Ui<SqlStore>) -> Ui<SqlStore>,
) -> Running {
    start_with(readonly, None, None, configure).await
}

/// Starts the UI like [`start`], with the TechDocs sites `docs` prepares in the test's folder:
/// it gets the `files` folder (catalog files written there whose names end in `.yaml` are
/// registered too) and returns the folder of published sites, which the UI reads through a
/// `LocalPublisher`.
pub async fn start_with_docs(docs: fn(&Path) -> PathBuf) -> Running {
    start_with(false, Some(docs), None, |ui| ui).await
}

fn write_templates(files: &Path) -> Vec<PathBuf> {
    let demo = files.join("ui-demo");
    std::fs::create_dir_all(demo.join("skeleton")).unwrap();
    std::fs::write(demo.join("template.yaml"), UI_DEMO).unwrap();
    std::fs::write(
        demo.join("skeleton/README.md"),
        "# ${{ values.name }}\n\nMade from the UI demo template.\n",
    )
    .unwrap();
    let slow = files.join("slow");
    std::fs::create_dir_all(&slow).unwrap();
    std::fs::write(slow.join("template.yaml"), SLOW).unwrap();
    let pickers = files.join("pickers");
    std::fs::create_dir_all(&pickers).unwrap();
    std::fs::write(pickers.join("template.yaml"), PICKERS).unwrap();
    vec![
        demo.join("template.yaml"),
        slow.join("template.yaml"),
        pickers.join("template.yaml"),
        examples().join("../backstage-sample-templates/conditional-parameters-demo/template.yaml"),
        examples().join("../backstage-sample-templates/notifications-demo/template.yaml"),
    ]
}

/// [`start_with_docs`], with a TechDocs builder over the same database and publisher whose
/// build states the UI shows ([`Running::builder`]).
pub async fn start_with_builds(docs: fn(&Path) -> PathBuf) -> Running {
    start_inner(false, Some(docs), None, true, |ui| ui).await
}

/// The catalog engine as the docs builder sees it (what `portico serve` wires).
struct EngineDocs(Arc<Engine<SqlStore>>);

impl portico_techdocs::DocsCatalog for EngineDocs {
    fn documented_refs(&self) -> Vec<String> {
        self.0
            .read_model()
            .refs_matching(&portico_catalog::read_model::Predicate::Exists {
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

async fn start_with(
    readonly: bool,
    docs: Option<fn(&Path) -> PathBuf>,
    worker: Option<Worker>,
    configure: impl FnOnce(Ui<SqlStore>) -> Ui<SqlStore>,
) -> Running {
    start_inner(readonly, docs, worker, false, configure).await
}

async fn start_inner(
    readonly: bool,
    docs: Option<fn(&Path) -> PathBuf>,
    worker: Option<Worker>,
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
    if worker.is_some() {
        extra.extend(write_templates(&files));
    }
    let store = SqlStore::open_sqlite(&dir.path().join("portico.db"))
        .await
        .unwrap();
    let task_store = store.clone();
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
    let mut scaffolder = None;
    let mut stop_worker = None;
    if let Some(worker) = worker {
        let catalog: Arc<dyn ScaffolderCatalog> = Arc::new(ReadModelCatalog(Arc::clone(&engine)));
        let tasks = Arc::new(TaskEngine::new(
            Arc::new(task_store),
            Runner::new(ActionRegistry::builtin()),
            TaskOptions {
                concurrency: 2,
                // A short lease: a cancel reaches a running step within a fraction of a second.
                lease: std::time::Duration::from_millis(600),
                max_attempts: 3,
                work_root: dir.path().join("work"),
            },
            Some(Arc::clone(&catalog)),
        ));
        if worker == Worker::Running {
            let (tx, rx) = tokio::sync::watch::channel(false);
            tokio::spawn(Arc::clone(&tasks).run_worker(rx));
            stop_worker = Some(tx);
        }
        let service: Arc<dyn ScaffolderService> = Arc::new(Scaffolder::new(tasks, catalog));
        ui = ui.with_scaffolder(Arc::clone(&service));
        scaffolder = Some(service);
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
        scaffolder,
        builder,
        _dir: dir,
        shutdown: Some(tx),
        stop_worker,
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

//! The build worker over the real catalog engine, a real SQLite store and a temporary folder:
//! registering a catalog whose component has `techdocs-ref: dir:.` builds and publishes its
//! site with no explicit call; a changed Markdown file is rebuilt after a refresh, an
//! unchanged one is not; a broken `mkdocs.yml` is a failed state with the message while the
//! last good site stays published; `url:` refs fail clearly; `sync` builds a stale site.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{Catalog, write};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use portico_catalog::engine::Engine;
use portico_store::{DocsBuildRecord, LocationOrigin, TechDocsStore};
use portico_store_sql::SqlStore;
use portico_techdocs::{
    BuilderOptions, DocsBuilder, DocsBuilds, EntityTriplet, LocalPublisher, Publisher, SyncEvent,
};
use serde_json::Value;
use tokio::sync::watch;

const CATALOG: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc
  annotations:
    backstage.io/techdocs-ref: dir:.
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: remote
  annotations:
    backstage.io/techdocs-ref: url:https://github.com/example/remote/tree/main
spec: {type: service, lifecycle: production, owner: team-a}
";

const SVC: &str = "component:default/svc";

struct Harness {
    engine: Arc<Engine<SqlStore>>,
    store: Arc<SqlStore>,
    publisher: Arc<LocalPublisher>,
    builder: Arc<DocsBuilder<SqlStore>>,
    shutdown: watch::Sender<bool>,
}

async fn start(dir: &Path) -> Harness {
    start_with(dir, |_| {}).await
}

async fn start_with(dir: &Path, configure: impl FnOnce(&mut BuilderOptions)) -> Harness {
    let catalog = Catalog::open(dir).await;
    let mut options = BuilderOptions::new(dir.join("work"));
    // Only the catalog's notifications trigger scans here.
    options.poll = Duration::from_secs(3600);
    options.min_scan_interval = Duration::ZERO;
    configure(&mut options);
    let builder = catalog.builder(options);
    let Catalog {
        engine,
        store,
        publisher,
    } = catalog;
    let (shutdown, shutdown_rx) = watch::channel(false);
    tokio::spawn(Arc::clone(&builder).run(shutdown_rx));
    Harness {
        engine,
        store,
        publisher,
        builder,
        shutdown,
    }
}

impl Harness {
    /// Waits until `entity_ref`'s record satisfies `done`, woken by finished builds. The
    /// deadline only stops a broken builder from hanging the suite.
    async fn wait_for(
        &self,
        entity_ref: &str,
        done: impl Fn(&DocsBuildRecord) -> bool,
    ) -> DocsBuildRecord {
        let mut finished = self.builder.finished();
        // Unbuildable sources are recorded by scans, not builds.
        let mut scans = self.builder.scans();
        let waiting = async {
            loop {
                if let Some(record) = self.store.docs_build(entity_ref).await.unwrap()
                    && done(&record)
                {
                    return record;
                }
                tokio::select! {
                    _ = finished.changed() => {}
                    _ = scans.changed() => {}
                }
            }
        };
        match tokio::time::timeout(Duration::from_secs(120), waiting).await {
            Ok(record) => record,
            Err(_) => panic!(
                "{entity_ref} never reached the expected state: {:?}",
                self.store.docs_build(entity_ref).await.unwrap()
            ),
        }
    }

    fn page(&self) -> String {
        let bytes = self
            .publisher
            .read(&EntityTriplet::new("default", "Component", "svc"), "")
            .unwrap()
            .expect("a published site");
        String::from_utf8(bytes).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_changes_build_rebuild_and_fail_docs() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    write(&repo, "catalog-info.yaml", CATALOG);
    write(
        &repo,
        "mkdocs.yml",
        "site_name: Svc docs\nplugins:\n  - techdocs-core\n",
    );
    write(&repo, "docs/index.md", "# Version one\n\nHello.\n");
    let h = start(dir.path()).await;

    // Registering is all it takes.
    h.engine
        .register_location(
            "file",
            repo.join("catalog-info.yaml").to_str().unwrap(),
            LocationOrigin::Api,
        )
        .await
        .unwrap();
    let first = h.wait_for(SVC, |r| r.state == "built").await;
    assert!(h.page().contains("Version one"), "{}", h.page());
    assert_eq!(
        first.built_hash.as_deref(),
        Some(first.source_hash.as_str())
    );
    assert!(first.last_built_at.is_some() && first.duration_ms.is_some());
    assert_eq!(first.attempts, 1);

    let remote = h
        .wait_for("component:default/remote", |r| r.state == "failed")
        .await;
    let message = remote.error.unwrap();
    assert!(
        message.contains("not supported yet: url techdocs-ref"),
        "{message}"
    );

    // A changed page and a refresh: rebuilt, with the new page's warning and its line.
    write(
        &repo,
        "docs/index.md",
        "# Version two\n\nSee [the guide](missing.md).\n",
    );
    h.engine.refresh_entity(SVC).await.unwrap();
    let second = h
        .wait_for(SVC, |r| {
            r.state == "built" && r.built_hash.as_deref() != first.built_hash.as_deref()
        })
        .await;
    assert!(h.page().contains("Version two"), "{}", h.page());
    let warnings: Vec<Value> = serde_json::from_str(&second.warnings_json).unwrap();
    assert!(
        warnings.iter().any(|w| w["file"] == "docs/index.md"
            && w["line"] == 3
            && w["message"].as_str().unwrap().contains("missing.md")),
        "{warnings:?}"
    );

    // An unchanged refresh scans but queues nothing.
    let mut scans = h.builder.scans();
    scans.borrow_and_update();
    h.engine.refresh_entity(SVC).await.unwrap();
    scans.changed().await.unwrap();
    let same = h.store.docs_build(SVC).await.unwrap().unwrap();
    assert_eq!(same, second, "no rebuild without a change");

    // A broken config fails with the message; the last good site stays.
    write(&repo, "mkdocs.yml", "site_name: [unclosed\n");
    h.engine.refresh_entity(SVC).await.unwrap();
    let failed = h.wait_for(SVC, |r| r.state == "failed").await;
    let error = failed.error.clone().unwrap();
    assert!(error.contains("mkdocs.yml"), "{error}");
    assert_eq!(failed.built_hash, second.built_hash);
    assert_eq!(failed.last_built_at, second.last_built_at);
    assert!(
        h.page().contains("Version two"),
        "the last good site is still served"
    );

    // Fixed without a refresh: sync notices the stale source, builds and reports.
    write(&repo, "mkdocs.yml", "site_name: Svc docs\n");
    let entity: Value = serde_json::from_str(&h.engine.read_model().by_ref(SVC).unwrap()).unwrap();
    let builds: Arc<dyn DocsBuilds> = Arc::new(Arc::clone(&h.builder));
    let events = collect(builds.sync(entity.clone())).await;
    assert!(
        matches!(events.first(), Some(SyncEvent::Log(_))),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SyncEvent::Log(line) if line.contains("missing.md"))),
        "warnings are logged: {events:?}"
    );
    assert_eq!(events.last(), Some(&SyncEvent::Finish { updated: true }));
    assert_eq!(
        collect(builds.sync(entity)).await,
        [SyncEvent::Finish { updated: false }],
        "a current site is not rebuilt"
    );
    let status = builds.status(SVC.to_owned()).await.unwrap().unwrap();
    assert_eq!((status.state.as_str(), status.error), ("built", None));
    assert_eq!(status.warnings.len(), 1);
    assert_eq!(builds.statuses().await.unwrap().len(), 2);
    let _ = h.shutdown.send(true);
}

async fn collect(mut events: tokio::sync::mpsc::Receiver<SyncEvent>) -> Vec<SyncEvent> {
    let mut all = Vec::new();
    while let Some(event) = events.recv().await {
        all.push(event);
    }
    all
}

/// A build that outlives `techdocs.buildTimeout` is failed with a message saying so, and its
/// site is not published (the abandoned build only cleans up after itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_over_the_timeout_fails_and_is_never_published() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    write(&repo, "catalog-info.yaml", CATALOG);
    write(&repo, "mkdocs.yml", "site_name: Big\n");
    // Enough pages that the build is still running when the (1 ns) timeout is checked.
    for n in 0..300 {
        write(
            &repo,
            &format!("docs/page-{n}.md"),
            &format!("# Page {n}\n\n```rust\nfn main() {{ println!(\"{n}\"); }}\n```\n"),
        );
    }
    let h = start_with(dir.path(), |options| {
        options.build_timeout = Duration::from_nanos(1);
    })
    .await;
    h.engine
        .register_location(
            "file",
            repo.join("catalog-info.yaml").to_str().unwrap(),
            LocationOrigin::Api,
        )
        .await
        .unwrap();
    let failed = h.wait_for(SVC, |r| r.state == "failed").await;
    let error = failed.error.unwrap();
    assert!(error.contains("techdocs.buildTimeout"), "{error}");
    assert_eq!(failed.built_hash, None);
    assert_eq!(
        h.publisher
            .read(&EntityTriplet::new("default", "Component", "svc"), "")
            .unwrap(),
        None,
        "an abandoned build is not published"
    );
    let _ = h.shutdown.send(true);
}

/// A page that includes a file outside `docs_dir` through `pymdownx.snippets`: editing that
/// file alone (no page, no config changed) and refreshing rebuilds the site with the new text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_snippet_outside_docs_dir_rebuilds_the_site() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    write(&repo, "catalog-info.yaml", CATALOG);
    write(
        &repo,
        "mkdocs.yml",
        "site_name: Svc\nmarkdown_extensions:\n  - pymdownx.snippets:\n      base_path: [shared]\n",
    );
    write(&repo, "docs/index.md", "# Home\n\n--8<-- \"notice.md\"\n");
    write(&repo, "shared/notice.md", "Snippet version one.\n");
    let h = start(dir.path()).await;
    h.engine
        .register_location(
            "file",
            repo.join("catalog-info.yaml").to_str().unwrap(),
            LocationOrigin::Api,
        )
        .await
        .unwrap();
    let first = h.wait_for(SVC, |r| r.state == "built").await;
    assert!(h.page().contains("Snippet version one."), "{}", h.page());

    write(&repo, "shared/notice.md", "Snippet version two.\n");
    h.engine.refresh_entity(SVC).await.unwrap();
    let second = h
        .wait_for(SVC, |r| {
            r.state == "built" && r.built_hash.as_deref() != first.built_hash.as_deref()
        })
        .await;
    assert_ne!(second.source_hash, first.source_hash);
    assert!(h.page().contains("Snippet version two."), "{}", h.page());
    let _ = h.shutdown.send(true);
}

//! The builder on a catalog shaped like the generated 100k benchmark catalog, scaled down:
//! 2,000 documented components in 40 folders of 50 (each `techdocs-ref: dir:.`), 10 folders
//! with a `mkdocs.yml` and 30 without. One scan maps every entity to its folder's site,
//! queues one build per folder that has docs and records the rest as having no
//! `mkdocs.yml`, writing one log line; 10 builds run (not 2,000), every entity gets its
//! site; a scan with nothing changed logs nothing at info level; an edit rebuilds one site.
//!
//! Its own test binary: it installs a global log subscriber to count lines.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{Catalog, write};

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portico_store::{LocationOrigin, TechDocsStore};
use portico_techdocs::{BuilderOptions, DocsBuilds, EntityTriplet, Publisher};
use tokio::sync::watch;

const FOLDERS: usize = 40;
const PER_FOLDER: usize = 50;
const WITH_DOCS: usize = 10;

/// Log output of the whole test binary.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Lines logged since the last call.
    fn take(&self) -> Vec<String> {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap());
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// The catalog: `all.yaml` (a Location of every folder's file) and the folders.
fn catalog(root: &Path) {
    let mut targets = String::new();
    for folder in 0..FOLDERS {
        let mut file = String::new();
        for n in 0..PER_FOLDER {
            file.push_str(&format!(
                "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  \
                 name: svc-{folder}-{n}\n  annotations:\n    backstage.io/techdocs-ref: dir:.\n\
                 spec: {{type: service, lifecycle: production, owner: team-{folder}}}\n"
            ));
        }
        let dir = root.join(format!("systems/system-{folder}"));
        write(&dir, "catalog-info.yaml", &file);
        if folder < WITH_DOCS {
            write(&dir, "mkdocs.yml", &format!("site_name: System {folder}\n"));
            write(
                &dir,
                "docs/index.md",
                &format!("# System {folder}\n\nShared by {PER_FOLDER} components.\n"),
            );
        }
        targets.push_str(&format!(
            "    - ./systems/system-{folder}/catalog-info.yaml\n"
        ));
    }
    write(
        root,
        "all.yaml",
        &format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\n\
             spec:\n  targets:\n{targets}"
        ),
    );
}

fn count(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|line| line.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_sharing_folders_build_once_per_folder_and_log_once_per_scan() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("catalog");
    catalog(&root);
    let catalog = Catalog::open(dir.path()).await;
    let engine = Arc::clone(&catalog.engine);
    engine
        .register_location(
            "file",
            root.join("all.yaml").to_str().unwrap(),
            LocationOrigin::Api,
        )
        .await
        .unwrap();
    let builder = catalog.builder(BuilderOptions::new(dir.path().join("work")));
    let (store, publisher) = (&catalog.store, &catalog.publisher);
    capture.take();

    // One scan: one build per folder with docs, the other folders recorded, one line.
    assert_eq!(builder.scan().await.unwrap(), WITH_DOCS);
    let lines = capture.take();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains(
            "2000 documented entities in 40 docs sources; 10 builds queued, 30 sources \
             without mkdocs.yml, 0 unbuildable."
        ),
        "{lines:#?}"
    );
    let entities = store.docs_entities().await.unwrap();
    assert_eq!(entities.len(), FOLDERS * PER_FOLDER);
    let sites = store.docs_builds().await.unwrap();
    assert_eq!(sites.len(), FOLDERS);
    assert_eq!(
        sites.iter().filter(|s| s.state == "queued").count(),
        WITH_DOCS
    );
    assert_eq!(
        sites.iter().filter(|s| s.state == "no-config").count(),
        FOLDERS - WITH_DOCS
    );

    // The builds: 10 of them, each published for its folder's 50 entities.
    let (stop, stop_rx) = watch::channel(false);
    let mut finished = builder.finished();
    tokio::spawn(Arc::clone(&builder).run_jobs(stop_rx));
    let all_built = async {
        while *finished.borrow_and_update() < WITH_DOCS as u64 {
            finished.changed().await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(300), all_built)
        .await
        .expect("the builds finished");
    let builds: Arc<dyn DocsBuilds> = Arc::new(Arc::clone(&builder));
    let statuses = builds.statuses().await.unwrap();
    assert_eq!(statuses.len(), FOLDERS * PER_FOLDER);
    assert_eq!(
        statuses.values().filter(|s| s.state == "built").count(),
        WITH_DOCS * PER_FOLDER
    );
    let no_config = &statuses["component:default/svc-39-49"];
    assert_eq!(no_config.state, "no-config");
    assert!(
        no_config
            .error
            .as_deref()
            .unwrap()
            .contains("no mkdocs.yml in"),
        "{no_config:?}"
    );
    for name in ["svc-0-0", "svc-0-49", "svc-9-17"] {
        let page = publisher
            .read(&EntityTriplet::new("default", "Component", name), "")
            .unwrap()
            .unwrap_or_else(|| panic!("{name} has its site"));
        assert!(String::from_utf8_lossy(&page).contains("Shared by 50"));
    }
    let lines = capture.take();
    assert_eq!(
        count(&lines, "TechDocs site built and published."),
        WITH_DOCS,
        "{lines:#?}"
    );
    assert_eq!(count(&lines, "WARN"), 0, "{lines:#?}");

    // Nothing changed: nothing queued, nothing at info level.
    assert_eq!(builder.scan().await.unwrap(), 0);
    assert_eq!(capture.take(), Vec::<String>::new());

    // One folder's page changes: one build for its 50 entities.
    write(
        &root,
        "systems/system-3/docs/index.md",
        "# System 3\n\nEdited.\n",
    );
    assert_eq!(builder.scan().await.unwrap(), 1);
    let lines = capture.take();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("1 builds queued"), "{lines:#?}");
    let _ = stop.send(true);
}

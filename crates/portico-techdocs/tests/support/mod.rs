//! What the builder's integration tests share: the catalog engine as the builder sees it
//! (what `portico serve` wires), a loaded engine on a real SQLite file with a local publisher
//! in the test's folder, the builder over them, and writing the test's source files.

use std::path::Path;
use std::sync::Arc;

use portico_catalog::LocalReader;
use portico_catalog::engine::{CatalogSettings, Engine, system_clock};
use portico_catalog::read_model::Predicate;
use portico_store_sql::SqlStore;
use portico_techdocs::{BuilderOptions, DocsBuilder, DocsCatalog, LocalPublisher, Publisher};
use serde_json::Value;
use tokio::sync::watch;

/// The catalog engine as the builder sees it (what `portico serve` wires).
pub struct EngineCatalog(pub Arc<Engine<SqlStore>>);

impl DocsCatalog for EngineCatalog {
    fn documented_refs(&self) -> Vec<String> {
        self.0.read_model().refs_matching(&Predicate::Exists {
            key: "metadata.annotations.backstage.io/techdocs-ref".to_owned(),
        })
    }

    fn entities(&self, refs: &[String]) -> Vec<Value> {
        let model = self.0.read_model();
        refs.iter()
            .filter_map(|r| model.by_ref(r))
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect()
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.0.processed()
    }

    fn ready(&self) -> bool {
        self.0.is_loaded()
    }
}

/// A loaded catalog engine over `<dir>/portico.db` and a publisher into `<dir>/published`.
pub struct Catalog {
    pub engine: Arc<Engine<SqlStore>>,
    pub store: Arc<SqlStore>,
    pub publisher: Arc<LocalPublisher>,
}

impl Catalog {
    /// Opens the store, loads the (empty) catalog and marks it loaded.
    pub async fn open(dir: &Path) -> Self {
        let store = SqlStore::open_sqlite(&dir.join("portico.db"))
            .await
            .unwrap();
        let engine = Arc::new(Engine::new(
            Arc::new(store.clone()),
            Arc::new(LocalReader),
            CatalogSettings::default(),
            system_clock(),
        ));
        engine.load().await.unwrap();
        engine.mark_loaded();
        Self {
            engine,
            store: Arc::new(store),
            publisher: Arc::new(LocalPublisher::new(dir.join("published"))),
        }
    }

    /// The docs builder over this catalog, store and publisher (not started).
    pub fn builder(&self, options: BuilderOptions) -> Arc<DocsBuilder<SqlStore>> {
        Arc::new(DocsBuilder::new(
            Arc::clone(&self.store),
            Arc::clone(&self.publisher) as Arc<dyn Publisher>,
            Arc::new(EngineCatalog(Arc::clone(&self.engine))),
            options,
        ))
    }
}

/// Writes `text` to `root/file`, creating folders.
pub fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

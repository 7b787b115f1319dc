//! Wires the TechDocs builder into `portico serve`: the catalog as the builder sees it
//! (documented entities from the engine's read model, the engine's processing notification),
//! and the build worker on the same database, publishing where `/api/techdocs` and `/docs`
//! read, fetching `url:` docs trees through `docs_fetch`. Engines never depend on each other,
//! so the binary is where they meet.

use std::path::PathBuf;
use std::sync::Arc;

use portico_catalog::engine::Engine;
use portico_catalog::read_model::Predicate;
use portico_store_sql::SqlStore;
use portico_techdocs::builds::source::{MANAGED_BY_LOCATION, TECHDOCS_REF};
use portico_techdocs::{
    BuilderOptions, DocsBuilder, DocsBuilds, DocsCatalog, DocsFetcher, Publisher,
};
use serde_json::Value;
use tokio::sync::watch;

use crate::config::TechDocsSection;

/// The catalog engine as the docs builder sees it.
struct EngineDocs {
    engine: Arc<Engine<SqlStore>>,
}

/// The parts of an entity the builder reads. Deserializing only these (instead of whole
/// entities into `Value`s) keeps a scan's slice of entities small.
#[derive(serde::Deserialize)]
struct DocumentedEntity {
    kind: String,
    metadata: DocumentedMetadata,
}

#[derive(serde::Deserialize)]
struct DocumentedMetadata {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, Value>,
}

impl DocumentedEntity {
    fn into_value(self) -> Value {
        let annotations: serde_json::Map<String, Value> = self
            .metadata
            .annotations
            .into_iter()
            .filter(|(key, _)| key == TECHDOCS_REF || key == MANAGED_BY_LOCATION)
            .collect();
        serde_json::json!({
            "kind": self.kind,
            "metadata": {
                "name": self.metadata.name,
                "namespace": self.metadata.namespace.unwrap_or_else(|| "default".to_owned()),
                "annotations": annotations,
            },
        })
    }
}

impl DocsCatalog for EngineDocs {
    fn documented_refs(&self) -> Vec<String> {
        self.engine.read_model().refs_matching(&Predicate::Exists {
            key: format!("metadata.annotations.{TECHDOCS_REF}"),
        })
    }

    fn entities(&self, refs: &[String]) -> Vec<Value> {
        // Only the texts are taken under the read model's lock; parsing happens after it.
        let texts: Vec<Arc<str>> = {
            let model = self.engine.read_model();
            refs.iter().filter_map(|r| model.by_ref(r)).collect()
        };
        texts
            .iter()
            .filter_map(|json| serde_json::from_str::<DocumentedEntity>(json).ok())
            .map(DocumentedEntity::into_value)
            .collect()
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.engine.processed()
    }

    fn ready(&self) -> bool {
        self.engine.is_loaded()
    }
}

/// Starts the builder (until `shutdown`; with `techdocs.builder: external` it builds nothing)
/// and returns what the API and the UI ask it.
pub fn start(
    store: SqlStore,
    engine: Arc<Engine<SqlStore>>,
    publisher: Arc<dyn Publisher>,
    settings: &TechDocsSection,
    work_dir: PathBuf,
    fetcher: Option<Arc<dyn DocsFetcher>>,
    shutdown: watch::Receiver<bool>,
) -> Arc<dyn DocsBuilds> {
    let mut options = BuilderOptions::new(work_dir);
    options.mode = settings.builder;
    options.concurrency = settings.concurrency;
    options.build_timeout = settings.build_timeout;
    let mut builder = DocsBuilder::new(
        Arc::new(store),
        publisher,
        Arc::new(EngineDocs { engine }),
        options,
    );
    if let Some(fetcher) = fetcher {
        builder = builder.with_fetcher(fetcher);
    }
    let builder = Arc::new(builder);
    tokio::spawn(Arc::clone(&builder).run(shutdown));
    Arc::new(builder)
}

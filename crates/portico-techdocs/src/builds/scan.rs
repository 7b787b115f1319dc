//! The catalog scan: which sites exist, which entity each documented entity belongs to, and
//! which sites need a build. It walks the catalog's documented refs in slices (a few hundred
//! entities read, resolved and hashed at a time, on blocking threads, yielding in between),
//! hashes every distinct docs source once however many entities share it, and writes only
//! what differs from what this process last wrote (the first scan of a process reads that
//! from the store). One summary line per scan goes to the log.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use portico_store::{BUILD_FAILED, BUILD_NO_CONFIG, DocsEntityRow, Requeue, TechDocsStore};

use super::source::{
    DocsSource, Fingerprint, docs_entity, error_hash, fingerprint, source_stamps_with,
};
use super::{BuildError, DocsBuilder, JobSpec, now_ms};

/// Entities read from the catalog per slice.
const SLICE: usize = 256;

/// Fingerprints of docs folders, so that a scan reads the content only of sources whose file
/// stamps changed since the last scan.
pub(super) type HashCache = std::sync::Mutex<HashMap<PathBuf, Fingerprint>>;

/// What the store holds, as far as this process knows (it wrote it, or read it at its first
/// scan): writes are skipped when nothing differs.
#[derive(Debug, Default)]
pub(super) struct ScanMemory {
    seeded: bool,
    /// Entity ref → site key.
    mapped: HashMap<String, String>,
    /// Site key → the source hash last asked for.
    recorded: HashMap<String, String>,
}

/// What a site needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// A build of this hash.
    Build(String),
    /// Nothing to build: no `mkdocs.yml` (the message says where).
    NoConfig(String, String),
    /// Cannot be built (the message says why).
    Unbuildable(String, String),
}

impl Verdict {
    fn hash(&self) -> &str {
        match self {
            Self::Build(hash) | Self::NoConfig(hash, _) | Self::Unbuildable(hash, _) => hash,
        }
    }
}

/// The verdict on a local or fetched docs folder (`shown` names it in the message).
pub(super) fn folder_verdict(print: Fingerprint, shown: &str) -> Verdict {
    match print.config {
        Some(_) => Verdict::Build(print.hash),
        None => {
            let message = format!(
                "no mkdocs.yml in {shown}: add one (at least `site_name: …`) next to the docs \
                 folder to build these docs"
            );
            Verdict::NoConfig(error_hash(&message), message)
        }
    }
}

/// The hash a scan asks for of a `url:` source: scans do not fetch trees, so it is built
/// once when first seen; `sync` (the reader opening the docs) fetches it and rebuilds it when
/// its content changed.
pub(super) fn url_hash(url: &str) -> String {
    error_hash(&format!("url\0{url}"))
}

/// The verdict on `source` (reads files: call on a blocking thread), through `cache`;
/// `fetchable` when a [`super::DocsFetcher`] can fetch `url:` sources.
pub(super) fn verdict(source: &DocsSource, cache: &HashCache, fetchable: bool) -> Verdict {
    match source {
        DocsSource::Dir(dir) => {
            folder_verdict(cached_fingerprint(dir, cache), &dir.display().to_string())
        }
        DocsSource::Url(url) if fetchable => Verdict::Build(url_hash(url)),
        DocsSource::Url(url) => {
            let message = format!(
                "not supported yet: url techdocs-ref ({url}); build the docs elsewhere and \
                 publish them with `portico techdocs publish`, or use a dir: reference next to \
                 a local catalog file"
            );
            Verdict::Unbuildable(error_hash(&message), message)
        }
        DocsSource::Invalid { reason, .. } => {
            Verdict::Unbuildable(error_hash(reason), reason.clone())
        }
    }
}

fn cached_fingerprint(dir: &std::path::Path, cache: &HashCache) -> Fingerprint {
    let known = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(dir)
        .cloned();
    if let Some(known) = known
        && known.stamps == source_stamps_with(dir, &known.deps)
    {
        return known;
    }
    let print = fingerprint(dir);
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(dir.to_path_buf(), print.clone());
    print
}

/// The counts of one scan, for its log line.
#[derive(Debug, Default)]
struct Counts {
    entities: usize,
    sites: usize,
    queued: usize,
    no_config: usize,
    unbuildable: usize,
    mapped: usize,
    forgotten: usize,
    recorded: usize,
}

impl<T: TechDocsStore> DocsBuilder<T> {
    /// Maps every documented entity to its site, queues the builds that are due (one per site)
    /// and records the sites that cannot be built; forgets entities that no longer have docs.
    /// Returns how many builds were queued.
    pub async fn scan(&self) -> Result<usize, BuildError> {
        if !self.catalog.ready() {
            return Ok(0);
        }
        let mut memory = self.memory.lock().await;
        if !memory.seeded {
            memory.mapped = self
                .store
                .docs_entities()
                .await?
                .into_iter()
                .map(|row| (row.entity_ref, row.site_key))
                .collect();
            memory.recorded = self
                .store
                .docs_builds()
                .await?
                .into_iter()
                .map(|record| (record.site_key, record.source_hash))
                .collect();
            memory.seeded = true;
        }
        let refs = self.catalog.documented_refs();
        let mut counts = Counts::default();
        // Site key → (source, verdict, whether an entity joined it in this scan).
        let mut sites: BTreeMap<String, (DocsSource, Option<Verdict>, bool)> = BTreeMap::new();
        for slice in refs.chunks(SLICE) {
            let docs: Vec<_> = self
                .catalog
                .entities(slice)
                .iter()
                .filter_map(docs_entity)
                .collect();
            counts.entities += docs.len();
            let mut rows = Vec::new();
            let mut fresh = Vec::new();
            for entity in docs {
                let key = entity.source.site_key();
                if memory.mapped.get(&entity.entity_ref) != Some(&key) {
                    rows.push(DocsEntityRow {
                        entity_ref: entity.entity_ref.clone(),
                        site_key: key.clone(),
                    });
                }
                if let std::collections::btree_map::Entry::Vacant(slot) = sites.entry(key) {
                    fresh.push((slot.key().clone(), entity.source.clone()));
                    slot.insert((entity.source, None, false));
                }
            }
            for entity_ref in self.store.map_docs_entities(&rows).await? {
                if let Some(row) = rows.iter().find(|row| row.entity_ref == entity_ref)
                    && let Some(site) = sites.get_mut(&row.site_key)
                {
                    site.2 = true;
                }
                counts.mapped += 1;
            }
            for row in rows {
                memory.mapped.insert(row.entity_ref, row.site_key);
            }
            let cache = Arc::clone(&self.hashes);
            let fetchable = self.fetcher.is_some();
            let verdicts = tokio::task::spawn_blocking(move || {
                fresh
                    .into_iter()
                    .map(|(key, source)| {
                        let verdict = verdict(&source, &cache, fetchable);
                        (key, verdict)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|err| BuildError::Internal(err.to_string()))?;
            for (key, verdict) in verdicts {
                if let Some(site) = sites.get_mut(&key) {
                    site.1 = Some(verdict);
                }
            }
            // Serving goes first between slices.
            tokio::task::yield_now().await;
        }
        counts.sites = sites.len();
        let now = now_ms();
        for (key, (source, verdict, joined)) in &sites {
            let Some(verdict) = verdict else { continue };
            let is_url = matches!(source, DocsSource::Url(_));
            let unchanged = if is_url && matches!(verdict, Verdict::Build(_)) {
                // Any hash will do: sync records the fetched content's.
                memory.recorded.contains_key(key)
            } else {
                memory.recorded.get(key).map(String::as_str) == Some(verdict.hash())
            };
            match verdict {
                Verdict::NoConfig(..) => counts.no_config += 1,
                Verdict::Unbuildable(..) => counts.unbuildable += 1,
                Verdict::Build(_) => {}
            }
            let spec = JobSpec::json(source);
            match verdict {
                // An entity that joined a built site needs the site published for it too.
                Verdict::Build(hash) if !unchanged || *joined => {
                    let requeue = if *joined {
                        Requeue::Always
                    } else {
                        Requeue::IfChanged
                    };
                    if self
                        .store
                        .enqueue_build(key, hash, &spec, requeue, now)
                        .await?
                    {
                        tracing::debug!(site = %key, "TechDocs build queued.");
                        counts.queued += 1;
                    }
                }
                Verdict::NoConfig(hash, message) if !unchanged || *joined => {
                    counts.recorded += usize::from(
                        self.store
                            .record_unbuildable(key, hash, &spec, BUILD_NO_CONFIG, message, now)
                            .await?,
                    );
                }
                Verdict::Unbuildable(hash, message) if !unchanged || *joined => {
                    counts.recorded += usize::from(
                        self.store
                            .record_unbuildable(key, hash, &spec, BUILD_FAILED, message, now)
                            .await?,
                    );
                }
                _ => {}
            }
            if !(unchanged && is_url) {
                memory
                    .recorded
                    .insert(key.clone(), verdict.hash().to_owned());
            }
        }
        // `refs` is sorted: entities mapped before and not documented now are forgotten.
        let gone: Vec<String> = memory
            .mapped
            .keys()
            .filter(|entity_ref| refs.binary_search(entity_ref).is_err())
            .cloned()
            .collect();
        if !gone.is_empty() {
            counts.forgotten = self.store.unmap_docs_entities(&gone).await?;
            for entity_ref in &gone {
                memory.mapped.remove(entity_ref);
            }
        }
        memory.recorded.retain(|key, _| sites.contains_key(key));
        self.hashes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|dir, _| sites.contains_key(&DocsSource::Dir(dir.clone()).site_key()));
        drop(memory);
        let changed = counts.queued + counts.recorded + counts.mapped + counts.forgotten > 0;
        let Counts {
            entities,
            sites,
            queued,
            no_config,
            unbuildable,
            mapped,
            forgotten,
            ..
        } = counts;
        // One line per scan, whatever the catalog's size; at debug level when nothing changed.
        if changed {
            tracing::info!(
                entities,
                sites,
                queued,
                no_config,
                unbuildable,
                mapped,
                forgotten,
                "TechDocs scan: {entities} documented entities in {sites} docs sources; \
                 {queued} builds queued, {no_config} sources without mkdocs.yml, \
                 {unbuildable} unbuildable."
            );
        } else {
            tracing::debug!(
                entities,
                sites,
                no_config,
                unbuildable,
                "TechDocs scan: nothing changed."
            );
        }
        if queued > 0 {
            self.queued.notify_one();
        }
        self.scans.send_modify(|n| *n += 1);
        Ok(queued)
    }
}

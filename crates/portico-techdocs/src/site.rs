//! A site build: scan `docs_dir`, render the pages that changed since the last build of this
//! [`Site`] (all of them the first time), assemble navigation, check anchors, and write only
//! the output files whose content can have changed. Keeping one `Site` across builds is the
//! incremental rebuild `portico techdocs serve` uses.
//!
//! Output layout (what Backstage's publishers store and its reader fetches): `index.html` and
//! `<page>/index.html`, the docs folder's other files at their paths, `assets/portico/…`,
//! `search/search_index.json` and `techdocs_metadata.json`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::config::MkdocsConfig;
use crate::diagnostics::{TechDocsError, Warning, io_error};
use crate::markdown::{PageInput, RenderedPage, SiteIndex, render_page};
use crate::metadata::TechDocsMetadata;
use crate::nav::{build_nav, page_order, title_from_file_name};
use crate::preprocess::{MAX_FILE_BYTES, SnippetContext};
use crate::search::{SearchDoc, SearchIndex};
use crate::template::{self, PageView};
use crate::urls::{page_file, page_url};

/// The mermaid renderer, vendored from npm (see `assets/vendor/mermaid/README.md`).
static MERMAID: &[u8] = include_bytes!("../assets/vendor/mermaid/mermaid.min.js");

/// How to build.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions {
    /// Warnings fail the build (and nothing is written).
    pub strict: bool,
    /// Pages get the live-reload client of `portico techdocs serve`.
    pub live_reload: bool,
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Markdown pages in the site.
    pub pages: usize,
    /// Pages rendered in this build (the rest were unchanged).
    pub rendered: usize,
    /// Output files written (unchanged ones are not rewritten).
    pub written: usize,
    /// Every warning, config first, then pages in path order.
    pub warnings: Vec<Warning>,
    /// Wall time.
    pub duration: Duration,
    /// The metadata written to `techdocs_metadata.json`.
    pub metadata: TechDocsMetadata,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

#[derive(Debug)]
struct PageState {
    stamp: Stamp,
    deps: Vec<(PathBuf, Option<Stamp>)>,
    hash: [u8; 32],
    rendered: RenderedPage,
}

#[derive(Debug, Default)]
struct State {
    config_bytes: Vec<u8>,
    pages: BTreeMap<String, PageState>,
    assets: BTreeMap<String, Stamp>,
    nav_fingerprint: String,
    written: HashSet<String>,
    support_written: bool,
}

/// Called while pages render: (pages rendered so far, pages to render in this build).
pub type ProgressFn = Box<dyn Fn(usize, usize) + Send + Sync>;

/// A site being built from `root` (the folder of `mkdocs.yml`) into `out`.
pub struct Site {
    root: PathBuf,
    out: PathBuf,
    options: BuildOptions,
    state: Option<State>,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("root", &self.root)
            .field("out", &self.out)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Site {
    /// A site; nothing is read until [`Site::build`].
    pub fn new(root: impl Into<PathBuf>, out: impl Into<PathBuf>, options: BuildOptions) -> Self {
        Self {
            root: root.into(),
            out: out.into(),
            options,
            state: None,
            progress: None,
        }
    }

    /// Reports rendering progress to `progress` (a CLI progress bar).
    pub fn on_progress(&mut self, progress: impl Fn(usize, usize) + Send + Sync + 'static) {
        self.progress = Some(Box::new(progress));
    }

    /// Where the site is written.
    pub fn out_dir(&self) -> &Path {
        &self.out
    }

    /// Builds (or rebuilds what changed).
    pub fn build(&mut self) -> Result<BuildReport, TechDocsError> {
        let started = Instant::now();
        let (config, config_bytes) = MkdocsConfig::load(&self.root)?;
        let docs = config.docs_path(&self.root);
        if !docs.is_dir() {
            return Err(TechDocsError::NoDocsDir(docs));
        }
        let mut warnings = config.warnings.clone();
        let (md_files, assets) = scan(&docs, &config.docs_dir, &self.out, &mut warnings);

        let mut state = self.state.take().unwrap_or_default();
        let same_files = state.config_bytes == config_bytes
            && state.pages.len() == md_files.len()
            && md_files
                .iter()
                .all(|(path, _)| state.pages.contains_key(path))
            && state.assets.len() == assets.len()
            && assets.keys().all(|path| state.assets.contains_key(path));
        if !same_files {
            // Links and nav depend on which files exist: render everything.
            state.pages.clear();
            state.nav_fingerprint.clear();
        }
        let index = SiteIndex {
            pages: md_files
                .iter()
                .map(|(path, _)| (path.clone(), page_url(path)))
                .collect(),
            assets: assets.keys().cloned().collect(),
        };
        let to_render: Vec<(String, Stamp)> = md_files
            .iter()
            .filter(|(path, stamp)| match state.pages.get(path) {
                Some(old) => {
                    old.stamp != *stamp || old.deps.iter().any(|(dep, s)| Stamp::of(dep) != *s)
                }
                None => true,
            })
            .cloned()
            .collect();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let total = to_render.len();
        if let Some(progress) = &self.progress {
            progress(0, total);
        }
        let rendered: Vec<Result<(String, PageState), TechDocsError>> = to_render
            .par_iter()
            .map(|(path, stamp)| {
                let page = self.render_one(&config, &docs, &index, path, *stamp);
                let count = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if let Some(progress) = &self.progress {
                    progress(count, total);
                }
                page.map(|page| (path.clone(), page))
            })
            .collect();
        let rendered_paths: HashSet<String> = to_render.iter().map(|(p, _)| p.clone()).collect();
        for result in rendered {
            let (path, page) = result?;
            state.pages.insert(path, page);
        }

        let page_paths: Vec<String> = md_files.iter().map(|(p, _)| p.clone()).collect();
        let titles: HashMap<String, String> = state
            .pages
            .iter()
            .filter_map(|(path, page)| page.rendered.title.clone().map(|t| (path.clone(), t)))
            .collect();
        let nav = build_nav(&config, &page_paths, &titles, &mut warnings);
        let nav_fingerprint = serde_json::to_string(&nav).unwrap_or_default();
        let nav_changed = nav_fingerprint != state.nav_fingerprint;

        for page in state.pages.values() {
            warnings.extend(page.rendered.warnings.iter().cloned());
        }
        for (path, page) in &state.pages {
            for check in &page.rendered.anchor_checks {
                let known = state
                    .pages
                    .get(&check.page)
                    .is_some_and(|target| target.rendered.anchors.contains(&check.anchor));
                if !known {
                    warnings.push(Warning::at(
                        format!("{}/{path}", config.docs_dir),
                        Some(check.line),
                        format!(
                            "link to #{} in {}: the page has no such heading",
                            check.anchor, check.page
                        ),
                    ));
                }
            }
        }
        if self.options.strict && !warnings.is_empty() {
            self.state = Some(state);
            return Err(TechDocsError::Strict(warnings));
        }

        std::fs::create_dir_all(&self.out).map_err(io_error("creating", &self.out))?;
        let mut files: Vec<String> = Vec::new();
        let mut written = 0;

        // Pages.
        let order = page_order(&nav);
        let neighbours: HashMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, (p, _, _))| (p.as_str(), i))
            .collect();
        let jobs: Vec<(&String, &PageState)> = state
            .pages
            .iter()
            .filter(|(path, _)| {
                nav_changed
                    || rendered_paths.contains(*path)
                    || !state.written.contains(&page_file(&page_url(path)))
            })
            .collect();
        let results: Vec<Result<(), TechDocsError>> = jobs
            .par_iter()
            .map(|(path, page)| {
                let url = page_url(path);
                let title = page
                    .rendered
                    .title
                    .clone()
                    .unwrap_or_else(|| title_from_file_name(path));
                let position = neighbours.get(path.as_str()).copied();
                let neighbour = |index: Option<usize>| {
                    index
                        .and_then(|i| order.get(i))
                        .map(|(_, url, title)| (url.as_str(), title.as_str()))
                };
                let edit_url = config.edit_url(path);
                let html = template::render(&PageView {
                    site_name: &config.site_name,
                    title: &title,
                    url: &url,
                    content: &page.rendered.content,
                    toc: &page.rendered.toc,
                    nav: &nav,
                    previous: neighbour(position.and_then(|p| p.checked_sub(1))),
                    next: neighbour(position.map(|p| p + 1)),
                    edit_url: edit_url.as_deref(),
                    mermaid: page.rendered.has_mermaid,
                    live_reload: self.options.live_reload,
                });
                write_file(&self.out, &page_file(&url), html.as_bytes())
            })
            .collect();
        for result in results {
            result?;
        }
        written += jobs.len();
        files.extend(state.pages.keys().map(|path| page_file(&page_url(path))));

        // Assets from the docs folder, copied when new or changed.
        for (path, stamp) in &assets {
            if state.assets.get(path) != Some(stamp) || !state.written.contains(path) {
                let target = self.out.join(path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io_error("creating", parent))?;
                }
                let source = docs.join(path);
                std::fs::copy(&source, &target).map_err(io_error("copying", &source))?;
                written += 1;
            }
            files.push(path.clone());
        }

        // The builder's own assets.
        let has_mermaid = state.pages.values().any(|p| p.rendered.has_mermaid);
        if !state.support_written {
            write_file(
                &self.out,
                template::STYLESHEET,
                template::stylesheet().as_bytes(),
            )?;
            written += 1;
        }
        files.push(template::STYLESHEET.to_owned());
        if has_mermaid {
            if !state.support_written || !state.written.contains(template::MERMAID_JS) {
                write_file(&self.out, template::MERMAID_JS, MERMAID)?;
                written += 1;
            }
            files.push(template::MERMAID_JS.to_owned());
        }
        state.support_written = true;

        // Search index.
        let search_path = "search/search_index.json";
        if !rendered_paths.is_empty() || nav_changed || !state.written.contains(search_path) {
            let mut docs_entries = Vec::new();
            for (path, page) in &state.pages {
                let url = page_url(path);
                let title = page.rendered.title.as_deref().unwrap_or("");
                // mkdocs' shape: one entry for the whole page, then one per section.
                docs_entries.push(SearchDoc {
                    location: url.clone(),
                    title,
                    text: std::borrow::Cow::Owned(
                        page.rendered
                            .sections
                            .iter()
                            .map(|s| s.text.as_str())
                            .filter(|t| !t.is_empty())
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                });
                for section in &page.rendered.sections {
                    docs_entries.push(SearchDoc {
                        location: match &section.anchor {
                            Some(anchor) => format!("{url}#{anchor}"),
                            None => url.clone(),
                        },
                        title: if section.title.is_empty() {
                            title
                        } else {
                            &section.title
                        },
                        text: std::borrow::Cow::Borrowed(&section.text),
                    });
                }
            }
            let json = serde_json::to_vec(&SearchIndex::new(docs_entries)).unwrap_or_default();
            write_file(&self.out, search_path, &json)?;
            written += 1;
        }
        files.push(search_path.to_owned());

        // Files an earlier build wrote that this one did not produce.
        let current: HashSet<String> = files.iter().cloned().collect();
        let mut stale: Vec<String> = state.written.difference(&current).cloned().collect();
        if state.written.is_empty() {
            stale.extend(
                previous_files(&self.out)
                    .into_iter()
                    .filter(|f| !current.contains(f)),
            );
        }
        for file in stale {
            if crate::config::check_relative(&file).is_ok()
                && file != crate::metadata::METADATA_FILE
            {
                let _ = std::fs::remove_file(self.out.join(&file));
            }
        }

        let mut hasher = Sha256::new();
        hasher.update(&config_bytes);
        for (path, page) in &state.pages {
            hasher.update(path.as_bytes());
            hasher.update(page.hash);
        }
        for (path, stamp) in &assets {
            hasher.update(path.as_bytes());
            hasher.update(stamp.len.to_le_bytes());
        }
        files.push(crate::metadata::METADATA_FILE.to_owned());
        files.sort();
        let metadata = TechDocsMetadata {
            site_name: config.site_name.clone(),
            site_description: config.site_description.clone().unwrap_or_default(),
            etag: hex(&hasher.finalize()),
            build_timestamp: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            files: files.clone(),
        };
        let json = serde_json::to_vec_pretty(&metadata).unwrap_or_default();
        write_file(&self.out, crate::metadata::METADATA_FILE, &json)?;
        written += 1;

        state.config_bytes = config_bytes;
        state.assets = assets;
        state.nav_fingerprint = nav_fingerprint;
        state.written = current;
        let pages = state.pages.len();
        self.state = Some(state);
        Ok(BuildReport {
            pages,
            rendered: rendered_paths.len(),
            written,
            warnings,
            duration: started.elapsed(),
            metadata,
        })
    }

    fn render_one(
        &self,
        config: &MkdocsConfig,
        docs: &Path,
        index: &SiteIndex,
        path: &str,
        stamp: Stamp,
    ) -> Result<PageState, TechDocsError> {
        let file = docs.join(path);
        let display = format!("{}/{path}", config.docs_dir);
        let bytes = std::fs::read(&file).map_err(io_error("reading", &file))?;
        let text = String::from_utf8_lossy(&bytes);
        let url = page_url(path);
        let snippets = SnippetContext {
            site_root: &self.root,
            bases: &config.snippet_base_paths,
            page_file: &display,
        };
        let mut rendered = render_page(
            &PageInput {
                path,
                display_path: &display,
                url: &url,
                text: &text,
            },
            index,
            &snippets,
        );
        if matches!(text, std::borrow::Cow::Owned(_)) {
            rendered.warnings.push(Warning::at(
                &display,
                None,
                "the file is not valid UTF-8; invalid bytes were replaced",
            ));
        }
        let deps = rendered
            .snippet_files
            .iter()
            .map(|dep| (dep.clone(), Stamp::of(dep)))
            .collect();
        Ok(PageState {
            stamp,
            deps,
            hash: Sha256::digest(&bytes).into(),
            rendered,
        })
    }
}

/// Builds a site once: `root` (folder of `mkdocs.yml`) into `out`.
pub fn build_site(
    root: &Path,
    out: &Path,
    options: BuildOptions,
) -> Result<BuildReport, TechDocsError> {
    Site::new(root, out, options).build()
}

/// The Markdown pages and other files under `docs`, `/`-separated and sorted; hidden files
/// and folders are skipped, and so are symlinks (they could lead out of the docs folder).
fn scan(
    docs: &Path,
    docs_dir: &str,
    out: &Path,
    warnings: &mut Vec<Warning>,
) -> (Vec<(String, Stamp)>, BTreeMap<String, Stamp>) {
    let mut pages = Vec::new();
    let mut assets = BTreeMap::new();
    // Never read the output back in when it sits inside the docs folder.
    let out_inside = match (out.canonicalize(), docs.canonicalize()) {
        (Ok(out), Ok(real_docs)) => out.strip_prefix(&real_docs).ok().map(|rel| docs.join(rel)),
        _ => None,
    };
    let keep = |e: &walkdir::DirEntry| {
        e.depth() == 0
            || (!e.file_name().to_string_lossy().starts_with('.')
                && out_inside.as_deref() != Some(e.path()))
    };
    let walker = WalkDir::new(docs)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    for entry in walker.filter_entry(keep) {
        let Ok(entry) = entry else { continue };
        if entry.file_type().is_dir() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(docs) else {
            continue;
        };
        let relative: String = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if entry.path_is_symlink() {
            warnings.push(Warning::at(
                format!("{docs_dir}/{relative}"),
                None,
                "symbolic links are not followed; the file is left out",
            ));
            continue;
        }
        let Some(stamp) = Stamp::of(entry.path()) else {
            continue;
        };
        if stamp.len > MAX_FILE_BYTES {
            warnings.push(Warning::at(
                format!("{docs_dir}/{relative}"),
                None,
                format!("larger than {MAX_FILE_BYTES} bytes; left out"),
            ));
            continue;
        }
        if relative.ends_with(".md") {
            pages.push((relative, stamp));
        } else {
            assets.insert(relative, stamp);
        }
    }
    // `README.md` is the folder's index only when there is no `index.md`.
    let names: HashSet<String> = pages.iter().map(|(p, _)| p.clone()).collect();
    pages.retain(|(path, _)| {
        let is_readme = path
            .rsplit('/')
            .next()
            .is_some_and(|n| n.eq_ignore_ascii_case("readme.md"));
        let index = match path.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/index.md"),
            None => "index.md".to_owned(),
        };
        if is_readme && names.contains(&index) {
            warnings.push(Warning::at(
                format!("{docs_dir}/{path}"),
                None,
                format!(
                    "both {index} and {path} would be the folder's index page; {path} is left out"
                ),
            ));
            return false;
        }
        true
    });
    (pages, assets)
}

/// The `files` of a `techdocs_metadata.json` an earlier run left in `out`.
fn previous_files(out: &Path) -> Vec<String> {
    std::fs::read(out.join(crate::metadata::METADATA_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<TechDocsMetadata>(&bytes).ok())
        .map(|m| m.files)
        .unwrap_or_default()
}

fn write_file(out: &Path, relative: &str, bytes: &[u8]) -> Result<(), TechDocsError> {
    let path = out.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_error("creating", parent))?;
    }
    std::fs::write(&path, bytes).map_err(io_error("writing", &path))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

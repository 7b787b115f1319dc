//! Where an entity's docs are and what their content is: `backstage.io/techdocs-ref` resolved
//! against the entity's `backstage.io/managed-by-location`, and a content hash of the docs
//! source (the mkdocs config plus every file under `docs_dir`) that decides whether a build is
//! due.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use walkdir::WalkDir;

use crate::config::{MkdocsConfig, check_relative};
use crate::preprocess::{MAX_FILE_BYTES, SnippetContext, snippet_dependencies};
use crate::publish::EntityTriplet;

/// The annotation that says where an entity's docs are.
pub const TECHDOCS_REF: &str = "backstage.io/techdocs-ref";
/// The annotation naming the file (`file:<path>`) or URL that defined the entity.
pub const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";

/// Where an entity's docs come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocsSource {
    /// The folder of its `mkdocs.yml` on this machine.
    Dir(PathBuf),
    /// A repository tree URL (`url:` ref).
    Url(String),
    /// Why the reference cannot be built (it stays this entity's alone).
    Invalid {
        /// The entity, so that its failure is its own site.
        entity_ref: String,
        /// What is wrong, for the reader.
        reason: String,
    },
}

impl DocsSource {
    /// The key of the site built from this source: entities with the same source share one
    /// build.
    pub fn site_key(&self) -> String {
        match self {
            Self::Dir(dir) => format!("dir:{}", dir.display()),
            Self::Url(url) => format!("url:{url}"),
            Self::Invalid { entity_ref, .. } => format!("invalid:{entity_ref}"),
        }
    }
}

/// An entity with docs, as the builder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsEntity {
    /// Canonical ref (`component:default/svc`).
    pub entity_ref: String,
    /// Where its site is published.
    pub triplet: EntityTriplet,
    /// Where its docs come from.
    pub source: DocsSource,
}

/// The docs of `entity` (stored JSON); `None` when it has no `backstage.io/techdocs-ref`.
pub fn docs_entity(entity: &Value) -> Option<DocsEntity> {
    let annotations = entity.pointer("/metadata/annotations")?;
    let docs_ref = annotations.get(TECHDOCS_REF)?.as_str()?.trim();
    let kind = entity
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = entity
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = entity
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let entity_ref = portico_model::EntityRef::new(kind, namespace, name)
        .canonical()
        .to_owned();
    let location = annotations.get(MANAGED_BY_LOCATION).and_then(Value::as_str);
    let source = match resolve(docs_ref, location) {
        Ok(source) => source,
        Err(reason) => DocsSource::Invalid {
            entity_ref: entity_ref.clone(),
            reason,
        },
    };
    Some(DocsEntity {
        entity_ref,
        triplet: EntityTriplet::new(namespace, kind, name),
        source,
    })
}

/// The source `docs_ref` names, relative to the file at `location`.
fn resolve(docs_ref: &str, location: Option<&str>) -> Result<DocsSource, String> {
    if let Some(url) = docs_ref.strip_prefix("url:") {
        return Ok(DocsSource::Url(url.trim().to_owned()));
    }
    let Some(dir) = docs_ref.strip_prefix("dir:") else {
        return Err(format!(
            "techdocs-ref {docs_ref:?} is not understood; expected dir:<path> (relative to the \
             catalog file) or url:<repository tree URL>"
        ));
    };
    let dir = dir.trim();
    let Some(location) = location else {
        return Err(format!(
            "techdocs-ref dir:{dir} needs the entity's {MANAGED_BY_LOCATION} annotation to know \
             what it is relative to"
        ));
    };
    let Some(file) = location.strip_prefix("file:") else {
        return Err(format!(
            "not supported yet: dir techdocs-ref of an entity read from {location}; only entities \
             from local catalog files (file: locations) are built here"
        ));
    };
    // Confined to the catalog file's folder: a catalog must not make the server publish
    // files from elsewhere on its disk.
    check_relative(dir).map_err(|why| format!("techdocs-ref dir:{dir} refused: {why}"))?;
    let base = Path::new(file).parent().unwrap_or(Path::new("/"));
    let mut path = base.to_path_buf();
    for part in dir.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                path.pop();
            }
            part => path.push(part),
        }
    }
    Ok(DocsSource::Dir(path))
}

/// What a scan learns about a docs folder in one walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The content hash ([`source_hash`]).
    pub hash: String,
    /// The stamps of the same files ([`source_stamps`]), taken before their content was read,
    /// so an edit during the walk shows in the next scan's stamps.
    pub stamps: String,
    /// The config file's name, `None` when the folder has neither `mkdocs.yml` nor
    /// `mkdocs.yaml` (nothing to build).
    pub config: Option<&'static str>,
    /// The files the pages' snippets include (or looked for in vain), wherever they are:
    /// part of the hash and the stamps.
    pub deps: Vec<PathBuf>,
}

/// The content hash of the docs source in `dir`: the config file's name and bytes, then every
/// file under `docs_dir` (hidden files and symlinks skipped, as the builder skips them) by
/// path and content, then every file the pages include through `pymdownx.snippets` (from
/// any snippet base folder, also outside `docs_dir`) by path and content, or as missing. A
/// missing or broken config still hashes, so that the build runs and reports the problem —
/// and runs again once the file is fixed.
pub fn source_hash(dir: &Path) -> String {
    fingerprint(dir).hash
}

/// The content hash, the stamps, whether there is a config and the snippet files, in one
/// walk (reads files: call on a blocking thread).
pub fn fingerprint(dir: &Path) -> Fingerprint {
    let mut content = Sha256::new();
    let mut pages = Vec::new();
    let walked = walk_source(dir, Some((&mut content, &mut pages)));
    let mut stamps = walked.stamps;
    let deps = match &walked.config {
        Some(config) => snippet_files(dir, config, &pages),
        None => Vec::new(),
    };
    content.update([2]);
    for dep in &deps {
        let name = dep.strip_prefix(dir).unwrap_or(dep).to_string_lossy();
        stamps.update(name.as_bytes());
        stamps.update([0]);
        stamp(&mut stamps, dep);
        content.update(name.as_bytes());
        content.update([0]);
        match std::fs::read(dep) {
            Ok(bytes) => add_content(&mut content, &bytes),
            Err(_) => content.update([0xff]),
        }
    }
    Fingerprint {
        hash: hex(&content.finalize()),
        stamps: hex(&stamps.finalize()),
        config: walked.name,
        deps,
    }
}

/// The stamps of the same files as [`source_hash`]: the config's bytes, then every docs
/// file's and snippet file's path, length and modification time. When they are unchanged the
/// content hash is too (short of an edit that keeps both length and time). This one finds the
/// snippet files by reading the pages; scans use [`source_stamps_with`].
pub fn source_stamps(dir: &Path) -> String {
    fingerprint(dir).stamps
}

/// [`source_stamps`] with the snippet files of the last [`fingerprint`], read without opening
/// any file: equal to that fingerprint's stamps while nothing changed, so scans re-read
/// content only for sources whose files were touched.
pub fn source_stamps_with(dir: &Path, deps: &[PathBuf]) -> String {
    let mut stamps = walk_source(dir, None).stamps;
    for dep in deps {
        let name = dep.strip_prefix(dir).unwrap_or(dep).to_string_lossy();
        stamps.update(name.as_bytes());
        stamps.update([0]);
        stamp(&mut stamps, dep);
    }
    hex(&stamps.finalize())
}

/// What the snippets of `pages` (path under `docs_dir`, text) read, sorted, each once.
fn snippet_files(dir: &Path, config: &MkdocsConfig, pages: &[(String, String)]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (path, text) in pages {
        let page_file = format!("{}/{path}", config.docs_dir);
        let context = SnippetContext {
            site_root: dir,
            bases: &config.snippet_base_paths,
            page_file: &page_file,
        };
        let deps = snippet_dependencies(text, &context);
        files.extend(deps.found);
        files.extend(deps.missing);
    }
    files.sort();
    files.dedup();
    files
}

fn stamp(hasher: &mut Sha256, path: &Path) {
    if let Ok(meta) = std::fs::metadata(path) {
        hasher.update(meta.len().to_le_bytes());
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        hasher.update(modified.to_le_bytes());
    } else {
        hasher.update([0xff]);
    }
}

fn add_content(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// One walk of a docs folder.
struct Walked {
    /// The stamps so far (the snippet files are added after the walk).
    stamps: Sha256,
    /// The config file's name.
    name: Option<&'static str>,
    /// The parsed config, when it parses.
    config: Option<MkdocsConfig>,
}

/// Walks the config file, then every docs file by relative path: stamps always; with
/// `content`, the content hash too, and the Markdown pages' text collected.
fn walk_source(
    dir: &Path,
    mut content: Option<(&mut Sha256, &mut Vec<(String, String)>)>,
) -> Walked {
    let mut stamps = Sha256::new();
    let mut parsed = None;
    let mut found = None;
    for name in ["mkdocs.yml", "mkdocs.yaml"] {
        let path = dir.join(name);
        if let Ok(bytes) = std::fs::read(&path) {
            let hashers = [Some(&mut stamps), content.as_mut().map(|(c, _)| &mut **c)];
            for hasher in hashers.into_iter().flatten() {
                hasher.update(name.as_bytes());
                hasher.update([0]);
                add_content(hasher, &bytes);
            }
            parsed = MkdocsConfig::parse(name, &bytes).ok();
            found = Some(name);
            break;
        }
    }
    let hashers = [Some(&mut stamps), content.as_mut().map(|(c, _)| &mut **c)];
    for hasher in hashers.into_iter().flatten() {
        hasher.update([1]);
    }
    if found.is_none() {
        // Nothing to build: the folder's other files do not matter (and may be many).
        return Walked {
            stamps,
            name: None,
            config: None,
        };
    }
    let docs_dir = parsed
        .as_ref()
        .map_or("docs", |config| config.docs_dir.as_str());
    let docs = dir.join(docs_dir);
    let walker = WalkDir::new(&docs)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker.flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(&docs) else {
            continue;
        };
        let relative = relative.to_string_lossy();
        stamps.update(relative.as_bytes());
        stamps.update([0]);
        stamp(&mut stamps, entry.path());
        if let Some((hasher, pages)) = content.as_mut() {
            hasher.update(relative.as_bytes());
            hasher.update([0]);
            if let Ok(bytes) = std::fs::read(entry.path()) {
                add_content(hasher, &bytes);
                if relative.ends_with(".md") && bytes.len() as u64 <= MAX_FILE_BYTES {
                    pages.push((
                        relative.replace('\\', "/"),
                        String::from_utf8_lossy(&bytes).into_owned(),
                    ));
                }
            }
        }
    }
    Walked {
        stamps,
        name: found,
        config: parsed,
    }
}

/// The hash recorded for a source that cannot be built: changes with the reason only, so the
/// failure is recorded once, not on every scan.
pub fn error_hash(reason: &str) -> String {
    hex(&Sha256::digest(format!("unbuildable\0{reason}").as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(docs_ref: &str, location: &str) -> Value {
        json!({
            "kind": "Component",
            "metadata": {"name": "Svc", "annotations": {
                TECHDOCS_REF: docs_ref,
                MANAGED_BY_LOCATION: location,
            }},
        })
    }

    #[test]
    fn resolves_dir_refs_next_to_the_catalog_file() {
        let docs = docs_entity(&entity("dir:.", "file:/repo/svc/catalog-info.yaml")).unwrap();
        assert_eq!(docs.entity_ref, "component:default/svc");
        assert_eq!(docs.source, DocsSource::Dir(PathBuf::from("/repo/svc")));
        assert_eq!(docs.source.site_key(), "dir:/repo/svc");
        let nested = docs_entity(&entity("dir:./site/../docs-site", "file:/repo/c.yaml")).unwrap();
        assert_eq!(
            nested.source,
            DocsSource::Dir(PathBuf::from("/repo/docs-site"))
        );
        let url = docs_entity(&entity(
            "url:https://github.com/o/r/tree/main",
            "file:/r/c.yaml",
        ));
        assert_eq!(
            url.unwrap().source.site_key(),
            "url:https://github.com/o/r/tree/main"
        );
        for (docs_ref, location, expected) in [
            (
                "dir:.",
                "url:https://example.com/c.yaml",
                "not supported yet: dir techdocs-ref",
            ),
            ("dir:../..", "file:/r/c.yaml", "refused"),
            ("dir:/etc", "file:/r/c.yaml", "refused"),
            ("git:x", "file:/r/c.yaml", "not understood"),
        ] {
            let source = docs_entity(&entity(docs_ref, location)).unwrap().source;
            let DocsSource::Invalid { entity_ref, reason } = &source else {
                panic!("{docs_ref}: {source:?}");
            };
            assert!(reason.contains(expected), "{docs_ref}: {reason}");
            assert_eq!(entity_ref, "component:default/svc");
            assert_eq!(source.site_key(), "invalid:component:default/svc");
        }
        assert!(docs_entity(&json!({"kind": "Component", "metadata": {"name": "x"}})).is_none());
    }

    #[test]
    fn the_hash_follows_config_and_docs_content_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join("mkdocs.yml"), "site_name: A\n").unwrap();
        std::fs::write(root.join("docs/index.md"), "# A\n").unwrap();
        let first = source_hash(root);
        assert_eq!(first, source_hash(root), "stable");
        std::fs::write(root.join("catalog-info.yaml"), "x").unwrap();
        std::fs::write(root.join("docs/.draft.md"), "hidden").unwrap();
        assert_eq!(
            first,
            source_hash(root),
            "files outside docs_dir and hidden files"
        );
        std::fs::write(root.join("docs/index.md"), "# B\n").unwrap();
        let stamps = source_stamps(root);
        assert_eq!(stamps, source_stamps(root));
        std::fs::write(root.join("docs/new.md"), "# New\n").unwrap();
        assert_ne!(stamps, source_stamps(root), "a new file changes the stamps");
        std::fs::remove_file(root.join("docs/new.md")).unwrap();
        let second = source_hash(root);
        assert_ne!(first, second);
        std::fs::write(root.join("mkdocs.yml"), "site_name: A\ndocs_dir: other\n").unwrap();
        assert_ne!(second, source_hash(root), "config and docs_dir");
        std::fs::write(root.join("mkdocs.yml"), "site_name: [").unwrap();
        assert_eq!(source_hash(root).len(), 64, "a broken config still hashes");
        std::fs::write(root.join("mkdocs.yml"), "site_name: A\n").unwrap();
        let with = fingerprint(root);
        assert_eq!(with.config, Some("mkdocs.yml"));
        assert_eq!(with.stamps, source_stamps(root));
        std::fs::remove_file(root.join("mkdocs.yml")).unwrap();
        let without = fingerprint(root);
        assert_eq!(without.config, None, "no config, nothing to build");
        assert_ne!(without.hash, with.hash);
    }

    /// Snippets read files outside `docs_dir` (the default base folder is the site root):
    /// those files are part of the hash and the stamps, and so is a snippet file looked for
    /// in vain, which may appear later.
    #[test]
    fn snippet_files_outside_docs_dir_are_part_of_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::create_dir_all(root.join("shared")).unwrap();
        std::fs::write(root.join("mkdocs.yml"), "site_name: A\n").unwrap();
        std::fs::write(
            root.join("docs/index.md"),
            "# A\n\n--8<-- \"shared/part.md\"\n\n--8<-- \"shared/later.md\"\n",
        )
        .unwrap();
        std::fs::write(root.join("shared/part.md"), "Part one.\n").unwrap();
        std::fs::write(root.join("shared/unrelated.md"), "x").unwrap();
        let first = fingerprint(root);
        let real = |name: &str| root.join(name).canonicalize().unwrap();
        assert!(first.deps.contains(&real("shared/part.md")), "{first:?}");
        assert!(
            first.deps.contains(&root.join("shared/later.md")),
            "looked for in vain: {first:?}"
        );
        assert_eq!(first.deps.len(), 2, "{first:?}");
        assert_eq!(first.stamps, source_stamps_with(root, &first.deps));

        std::fs::write(root.join("shared/unrelated.md"), "not included").unwrap();
        assert_eq!(fingerprint(root).hash, first.hash, "files no page includes");

        std::fs::write(root.join("shared/part.md"), "Part one, edited.\n").unwrap();
        assert_ne!(
            source_stamps_with(root, &first.deps),
            first.stamps,
            "the scan notices the edit without reading pages"
        );
        let edited = fingerprint(root);
        assert_ne!(
            edited.hash, first.hash,
            "an edited snippet changes the hash"
        );

        std::fs::write(root.join("shared/later.md"), "Later.\n").unwrap();
        assert_ne!(
            source_stamps_with(root, &edited.deps),
            edited.stamps,
            "a snippet file appearing is noticed"
        );
        assert_ne!(fingerprint(root).hash, edited.hash);
    }
}

//! Where built sites are stored, per entity, in Backstage's layout
//! (`<namespace>/<kind>/<name>/…`, lower-cased). [`Publisher`] is the seam for other storage;
//! [`LocalPublisher`] keeps sites in a folder (the default, under the data dir); the
//! S3-compatible one is the binary's (`crates/portico/src/s3_publisher.rs`), since it speaks
//! HTTP.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::metadata::{METADATA_FILE, TechDocsMetadata};

/// The entity a site belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityTriplet {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
}

impl EntityTriplet {
    /// A triplet; each part is checked when used.
    pub fn new(namespace: &str, kind: &str, name: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
        }
    }

    /// `namespace/kind/name`, lower-cased (Backstage's default storage layout).
    pub fn storage_path(&self) -> Result<String, PublishError> {
        let parts = [&self.namespace, &self.kind, &self.name];
        for part in parts {
            let valid = !part.is_empty()
                && part.len() <= 253
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !valid {
                return Err(PublishError::BadEntity(format!(
                    "{part:?} is not a valid entity namespace, kind or name"
                )));
            }
        }
        Ok(parts.map(|p| p.to_ascii_lowercase()).join("/"))
    }
}

/// Why publishing or reading a site failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The triplet cannot name a storage folder.
    #[error("bad entity: {0}")]
    BadEntity(String),
    /// The requested file path leaves the site.
    #[error("path {0:?} is not inside the site")]
    BadPath(String),
    /// Storage failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PublishError {
    let path = path.to_path_buf();
    move |source| PublishError::Io {
        action,
        path,
        source,
    }
}

/// Stores built sites and reads their files back.
pub trait Publisher: Send + Sync + std::fmt::Debug {
    /// Replaces the entity's site with the built site in `site_dir`, atomically for readers:
    /// every [`read`](Self::read) answers from one whole published site — the old one until
    /// the switch, the new one after it (by the time `publish` returns) — never a new page
    /// beside an old one, and a publish that fails leaves the old site. Each read resolves
    /// the current site afresh, so two reads (two HTTP requests) may straddle a publish.
    fn publish(&self, entity: &EntityTriplet, site_dir: &Path) -> Result<(), PublishError>;

    /// A file of the entity's site (`path` relative to the site root; empty or ending in `/`
    /// means that folder's `index.html`); `None` when absent.
    fn read(&self, entity: &EntityTriplet, path: &str) -> Result<Option<Vec<u8>>, PublishError>;

    /// The site's `techdocs_metadata.json`; `None` when nothing is published.
    fn metadata(&self, entity: &EntityTriplet) -> Result<Option<TechDocsMetadata>, PublishError> {
        match self.read(entity, METADATA_FILE)? {
            Some(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            None => Ok(None),
        }
    }
}

/// Sites in a local folder: `<root>/<namespace>/<kind>/<name>/…`. A publish copies the site
/// beside its target and renames it into place, so a read sees the old folder or the new one;
/// between the two renames (the old folder moved aside, the new one not yet in) a read finds
/// nothing for an instant — a not-found, never a mix.
#[derive(Debug, Clone)]
pub struct LocalPublisher {
    root: PathBuf,
}

impl LocalPublisher {
    /// Sites under `root` (created on first publish).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn site_dir(&self, entity: &EntityTriplet) -> Result<PathBuf, PublishError> {
        Ok(self.root.join(entity.storage_path()?))
    }
}

impl Publisher for LocalPublisher {
    fn publish(&self, entity: &EntityTriplet, site_dir: &Path) -> Result<(), PublishError> {
        let target = self.site_dir(entity)?;
        let parent = target.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(io("creating", &parent))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = parent.join(format!(".{name}.incoming-{}", std::process::id()));
        let retired = parent.join(format!(".{name}.old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        copy_tree(site_dir, &staging)?;
        let had_old = target.exists();
        if had_old {
            let _ = std::fs::remove_dir_all(&retired);
            std::fs::rename(&target, &retired).map_err(io("moving aside", &target))?;
        }
        std::fs::rename(&staging, &target).map_err(io("publishing", &target))?;
        if had_old {
            let _ = std::fs::remove_dir_all(&retired);
        }
        Ok(())
    }

    fn read(&self, entity: &EntityTriplet, path: &str) -> Result<Option<Vec<u8>>, PublishError> {
        let site = self.site_dir(entity)?;
        let path = path.trim_start_matches('/');
        crate::config::check_relative(path).map_err(|_| PublishError::BadPath(path.to_owned()))?;
        if path.split('/').any(|part| part == "..") {
            return Err(PublishError::BadPath(path.to_owned()));
        }
        let mut file = site.join(path);
        if path.is_empty() || path.ends_with('/') || file.is_dir() {
            file = file.join("index.html");
        }
        match std::fs::read(&file) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io("reading", &file)(err)),
        }
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), PublishError> {
    for entry in WalkDir::new(from).follow_links(false) {
        let entry = entry.map_err(|err| {
            let path = err.path().unwrap_or(from).to_path_buf();
            PublishError::Io {
                action: "reading",
                path,
                source: err.into(),
            }
        })?;
        let Ok(relative) = entry.path().strip_prefix(from) else {
            continue;
        };
        let target = to.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).map_err(io("creating", &target))?;
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &target).map_err(io("copying", entry.path()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_replaces_and_refuses_traversal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let site = dir.path().join("site");
        std::fs::create_dir_all(site.join("guide")).expect("mkdir");
        std::fs::write(site.join("index.html"), "v1").expect("write");
        std::fs::write(site.join("guide/index.html"), "guide").expect("write");
        let publisher = LocalPublisher::new(dir.path().join("published"));
        let entity = EntityTriplet::new("default", "Component", "Svc");
        publisher.publish(&entity, &site).expect("publish");
        assert_eq!(
            publisher.read(&entity, "").expect("read"),
            Some(b"v1".to_vec())
        );
        assert_eq!(
            publisher.read(&entity, "guide/").expect("read"),
            Some(b"guide".to_vec())
        );
        assert!(
            dir.path()
                .join("published/default/component/svc/index.html")
                .is_file()
        );
        std::fs::write(site.join("index.html"), "v2").expect("write");
        std::fs::remove_dir_all(site.join("guide")).expect("rm");
        publisher.publish(&entity, &site).expect("republish");
        assert_eq!(
            publisher.read(&entity, "index.html").expect("read"),
            Some(b"v2".to_vec())
        );
        assert_eq!(publisher.read(&entity, "guide/").expect("read"), None);
        assert!(matches!(
            publisher.read(&entity, "../../x"),
            Err(PublishError::BadPath(_))
        ));
        assert!(
            EntityTriplet::new("default", "..", "x")
                .storage_path()
                .is_err()
        );
    }
}

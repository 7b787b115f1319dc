//! Paths inside a task's workspace and a template's directory, and copying trees between them.
//!
//! Every path an action takes from its input goes through [`resolve_in`]: absolute paths, `..`
//! that climbs out, and symlinks on the way (which could point anywhere) are refused, so no
//! input writes outside the workspace. Sources are confined to the template's own directory the
//! same way, and a symlink in fetched content is recreated only when it points inside the tree
//! it came from.

use std::fs;
use std::path::{Component, Path, PathBuf};

/// Why a path cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Absolute, or climbing out of its root with `..`.
    #[error(
        "path {path:?} is outside the {root_name}; use a relative path without \"..\" that stays inside it"
    )]
    Escapes {
        /// The path as given.
        path: String,
        /// "workspace" or "template directory".
        root_name: &'static str,
    },
    /// A symlink on the way could lead anywhere.
    #[error(
        "path {path:?} goes through the symlink {link:?}; symlinks are not followed in the {root_name}"
    )]
    Symlink {
        /// The path as given.
        path: String,
        /// The symlink found.
        link: String,
        /// "workspace" or "template directory".
        root_name: &'static str,
    },
    /// Reading or writing failed.
    #[error("{path}: {message}")]
    Io {
        /// Where.
        path: String,
        /// The OS error.
        message: String,
    },
}

pub(crate) fn io_error(path: &Path, error: &std::io::Error) -> PathError {
    PathError::Io {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

/// `relative` normalised lexically (no `.`, no `..`), or `None` when it is absolute or climbs
/// above its start.
pub fn normalize(relative: &str) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

fn resolve(root: &Path, relative: &str, root_name: &'static str) -> Result<PathBuf, PathError> {
    let normalized = normalize(relative).ok_or_else(|| PathError::Escapes {
        path: relative.to_owned(),
        root_name,
    })?;
    let mut current = root.to_path_buf();
    for part in normalized.components() {
        current.push(part);
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(PathError::Symlink {
                    path: relative.to_owned(),
                    link: current
                        .strip_prefix(root)
                        .unwrap_or(&current)
                        .display()
                        .to_string(),
                    root_name,
                });
            }
            Ok(_) => {}
            // Not there yet: nothing further down can be a symlink either.
            Err(_) => break,
        }
    }
    Ok(root.join(normalized))
}

/// A path of the workspace from an action's input.
pub fn resolve_in(workspace: &Path, relative: &str) -> Result<PathBuf, PathError> {
    resolve(workspace, relative, "workspace")
}

/// A path of the template's directory from a `fetch:*` `url`.
pub fn resolve_source(template_dir: &Path, relative: &str) -> Result<PathBuf, PathError> {
    resolve(template_dir, relative, "template directory")
}

/// One entry of a source tree, in walk order (parents before children, names sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeEntry {
    /// A directory.
    Dir {
        /// Relative path with `/` separators.
        relative: String,
    },
    /// A regular file.
    File {
        /// Relative path with `/` separators.
        relative: String,
        /// Whether any execute bit is set.
        executable: bool,
    },
    /// A symlink that stays inside the tree.
    Symlink {
        /// Relative path with `/` separators.
        relative: String,
        /// The link's target, as stored.
        target: PathBuf,
    },
}

/// Lists `root` without following symlinks; a symlink pointing outside `root` is an error.
pub fn walk_tree(root: &Path) -> Result<Vec<TreeEntry>, PathError> {
    let mut entries = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|error| PathError::Io {
            path: root.display().to_string(),
            message: error.to_string(),
        })?;
        let relative = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let file_type = entry.file_type();
        if file_type.is_dir() {
            entries.push(TreeEntry::Dir { relative });
        } else if file_type.is_symlink() {
            let target =
                fs::read_link(entry.path()).map_err(|error| io_error(entry.path(), &error))?;
            let parent = Path::new(&relative).parent().unwrap_or(Path::new(""));
            let stays_inside = target.is_relative()
                && normalize(&parent.join(&target).to_string_lossy()).is_some();
            if !stays_inside {
                return Err(PathError::Escapes {
                    path: format!("{relative} -> {}", target.display()),
                    root_name: "template directory (symlink target)",
                });
            }
            entries.push(TreeEntry::Symlink { relative, target });
        } else {
            let metadata = entry.metadata().map_err(|error| PathError::Io {
                path: entry.path().display().to_string(),
                message: error.to_string(),
            })?;
            entries.push(TreeEntry::File {
                relative,
                executable: is_executable(&metadata),
            });
        }
    }
    Ok(entries)
}

#[cfg(unix)]
fn is_executable(metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &fs::Metadata) -> bool {
    false
}

/// Writes a file of the workspace (parents created), keeping the execute bit.
pub fn write_file(
    workspace: &Path,
    relative: &str,
    contents: &[u8],
    executable: bool,
) -> Result<PathBuf, PathError> {
    let path = resolve_in(workspace, relative)?;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|error| io_error(parent, &error))?;
    }
    fs::write(&path, contents).map_err(|error| io_error(&path, &error))?;
    set_executable(&path, executable)?;
    Ok(path)
}

#[cfg(unix)]
fn set_executable(path: &Path, executable: bool) -> Result<(), PathError> {
    use std::os::unix::fs::PermissionsExt;
    if executable {
        let mut permissions = fs::metadata(path)
            .map_err(|e| io_error(path, &e))?
            .permissions();
        permissions.set_mode(permissions.mode() | 0o755);
        fs::set_permissions(path, permissions).map_err(|e| io_error(path, &e))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_executable(_: &Path, _: bool) -> Result<(), PathError> {
    Ok(())
}

/// Creates a symlink of the workspace (its target was checked by [`walk_tree`]).
pub fn write_symlink(workspace: &Path, relative: &str, target: &Path) -> Result<(), PathError> {
    let path = resolve_in(workspace, relative)?;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|error| io_error(parent, &error))?;
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, &path).map_err(|error| io_error(&path, &error))?;
    #[cfg(not(unix))]
    let _ = target;
    Ok(())
}

/// A file found in a workspace: what a dry-run returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceFile {
    /// Relative path with `/` separators.
    pub path: String,
    /// The bytes (a symlink's target for a symlink).
    pub contents: Vec<u8>,
    /// Whether any execute bit is set.
    pub executable: bool,
    /// Whether the entry is a symlink.
    pub symlink: bool,
}

/// Every file of a workspace, sorted by path (directories are implied).
pub fn read_workspace(workspace: &Path) -> Result<Vec<WorkspaceFile>, PathError> {
    let mut files = Vec::new();
    for entry in walk_tree(workspace)? {
        match entry {
            TreeEntry::Dir { .. } => {}
            TreeEntry::File {
                relative,
                executable,
            } => {
                let path = workspace.join(&relative);
                let contents = fs::read(&path).map_err(|error| io_error(&path, &error))?;
                files.push(WorkspaceFile {
                    path: relative,
                    contents,
                    executable,
                    symlink: false,
                });
            }
            TreeEntry::Symlink { relative, target } => files.push(WorkspaceFile {
                path: relative,
                contents: target.to_string_lossy().into_owned().into_bytes(),
                executable: false,
                symlink: true,
            }),
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../x", "a/../../x", "/etc/passwd"] {
            assert!(
                matches!(resolve_in(dir.path(), bad), Err(PathError::Escapes { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            resolve_in(dir.path(), "./a/../b").unwrap(),
            dir.path().join("b")
        );
        assert_eq!(
            resolve_in(dir.path(), "./").unwrap(),
            dir.path().to_path_buf()
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let error = write_file(dir.path(), "link/evil.txt", b"x", false).unwrap_err();
        assert!(matches!(error, PathError::Symlink { .. }), "{error}");
        assert!(!outside.path().join("evil.txt").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_tree_with_a_symlink_out_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "a").unwrap();
        std::os::unix::fs::symlink("a.txt", dir.path().join("inside")).unwrap();
        assert_eq!(walk_tree(dir.path()).unwrap().len(), 2);
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("out")).unwrap();
        assert!(walk_tree(dir.path()).is_err());
    }
}

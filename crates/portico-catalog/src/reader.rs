//! Reading the content behind a location target: a file path or a URL.
//!
//! The engine reads through the [`SourceReader`] trait so that where bytes come from (disk, an
//! HTTP client with an allow-list, a test fixture) is decided by whoever wires the engine.
//! [`LocalReader`] reads files and declines URLs with [`ReadError::NotFetched`].

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use url::Url;

/// Largest descriptor or placeholder file read, in bytes.
pub const MAX_SOURCE_BYTES: u64 = 10 * 1024 * 1024;

/// Something a location points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A local file.
    File(PathBuf),
    /// An http(s) URL.
    Url(Url),
}

impl Target {
    /// Resolves `reference` (absolute, or relative to this target's folder).
    pub fn join(&self, reference: &str) -> Result<Target, String> {
        if let Ok(url) = Url::parse(reference)
            && matches!(url.scheme(), "http" | "https")
        {
            return Ok(Target::Url(url));
        }
        match self {
            Target::File(path) => {
                let base = path.parent().unwrap_or_else(|| Path::new("."));
                Ok(Target::File(normalize(&base.join(reference))))
            }
            Target::Url(url) => url
                .join(reference)
                .map(Target::Url)
                .map_err(|err| format!("cannot resolve \"{reference}\" against {url}: {err}")),
        }
    }

    /// The same target with `.` and `..` removed from a file path, so that one file reached
    /// by two spellings is read once.
    pub fn normalized(&self) -> Target {
        match self {
            Target::File(path) => Target::File(normalize(path)),
            Target::Url(_) => self.clone(),
        }
    }

    /// The key of this target as a source: `file:<path>` or `url:<url>`.
    pub fn source_key(&self) -> String {
        format!("{}:{self}", self.location_type())
    }

    /// The target of a source key made by [`Target::source_key`].
    pub fn from_source_key(key: &str) -> Option<Target> {
        if let Some(path) = key.strip_prefix("file:") {
            return Some(Target::File(PathBuf::from(path)));
        }
        let url = Url::parse(key.strip_prefix("url:")?).ok()?;
        Some(Target::Url(url))
    }

    /// The location type Backstage would give this target.
    pub fn location_type(&self) -> &'static str {
        match self {
            Target::File(_) => "file",
            Target::Url(_) => "url",
        }
    }
}

/// Removes `.` and `..` segments without touching the filesystem (targets may not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::File(path) => write!(f, "{}", path.display()),
            Target::Url(url) => write!(f, "{url}"),
        }
    }
}

/// Why a target could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Nothing is there.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The content is larger than [`MAX_SOURCE_BYTES`].
    #[error("{target} is {size} bytes, larger than the limit of {limit} bytes")]
    TooLarge {
        /// What was read.
        target: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The reader does not fetch this kind of target (e.g. URLs without `--fetch`).
    #[error("{0} was not fetched")]
    NotFetched(String),
    /// The reader refuses this target (e.g. a host not on the allow-list).
    #[error("{0}")]
    NotAllowed(String),
    /// Reading failed.
    #[error("could not read {target}: {reason}")]
    Failed {
        /// What was read.
        target: String,
        /// Why it failed.
        reason: String,
    },
}

/// Reads the bytes behind a target.
pub trait SourceReader: Send + Sync {
    /// The content of `target`, at most [`MAX_SOURCE_BYTES`].
    fn read(&self, target: &Target) -> Result<Vec<u8>, ReadError>;
}

/// Reads local files; declines URLs.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalReader;

impl SourceReader for LocalReader {
    fn read(&self, target: &Target) -> Result<Vec<u8>, ReadError> {
        match target {
            Target::File(path) => read_file(path),
            Target::Url(url) => Err(ReadError::NotFetched(url.to_string())),
        }
    }
}

/// Reads a local file, refusing directories and files over [`MAX_SOURCE_BYTES`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, ReadError> {
    let name = path.display().to_string();
    let failed = |err: std::io::Error| match err.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound(name.clone()),
        _ => ReadError::Failed {
            target: name.clone(),
            reason: err.to_string(),
        },
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    let meta = file.metadata().map_err(failed)?;
    if meta.is_dir() {
        return Err(ReadError::Failed {
            target: name,
            reason: "it is a directory".to_owned(),
        });
    }
    if meta.len() > MAX_SOURCE_BYTES {
        return Err(ReadError::TooLarge {
            target: name,
            size: meta.len(),
            limit: MAX_SOURCE_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // Read one byte past the limit so a file that grew after `metadata` is still refused.
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(ReadError::TooLarge {
            target: name,
            size: bytes.len() as u64,
            limit: MAX_SOURCE_BYTES,
        });
    }
    Ok(bytes)
}

/// `backend.reading.allow`: the hosts (and optionally path prefixes) that `url` locations and
/// placeholders may read, with Backstage's matching: `example.com` matches that host (and port,
/// when the rule names one); `*.example.com` matches every subdomain but not `example.com`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadAllowList {
    rules: Vec<AllowRule>,
}

/// One `backend.reading.allow` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// Host pattern, optionally with `:port`, optionally starting with `*.`.
    pub host: String,
    /// Path prefixes; empty allows every path.
    pub paths: Vec<String>,
}

impl ReadAllowList {
    /// An allow-list of `rules`.
    pub fn new(rules: Vec<AllowRule>) -> Self {
        Self { rules }
    }

    /// Whether `url` may be read.
    pub fn allows(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let with_port = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        self.rules.iter().any(|rule| {
            let pattern = rule.host.to_ascii_lowercase();
            let candidate = if pattern.contains(':') {
                &with_port
            } else {
                &host
            };
            let host_ok = match pattern.strip_prefix("*.") {
                Some(suffix) => candidate
                    .strip_suffix(suffix)
                    .is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1),
                None => *candidate == pattern,
            };
            host_ok
                && (rule.paths.is_empty()
                    || rule
                        .paths
                        .iter()
                        .any(|p| url.path().starts_with(p.as_str())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_matches_hosts_like_backstage() {
        let list = ReadAllowList::new(vec![
            AllowRule {
                host: "example.com".to_owned(),
                paths: vec![],
            },
            AllowRule {
                host: "*.examples.org".to_owned(),
                paths: vec![],
            },
            AllowRule {
                host: "127.0.0.1:7007".to_owned(),
                paths: vec!["/docs/".to_owned()],
            },
        ]);
        let allows = |u: &str| list.allows(&Url::parse(u).unwrap());
        assert!(allows("https://example.com/a.yaml"));
        assert!(allows("https://EXAMPLE.com:8443/a.yaml"));
        assert!(!allows("https://www.example.com/a.yaml"));
        assert!(allows("https://a.examples.org/x"));
        assert!(allows("https://b.a.examples.org/x"));
        assert!(!allows("https://examples.org/x"));
        assert!(!allows("https://evilexamples.org/x"));
        assert!(allows("http://127.0.0.1:7007/docs/x.yaml"));
        assert!(!allows("http://127.0.0.1:7007/other/x.yaml"));
        assert!(!allows("http://127.0.0.1:7008/docs/x.yaml"));
        assert!(!ReadAllowList::default().allows(&Url::parse("https://example.com").unwrap()));
    }

    #[test]
    fn joins_relative_and_absolute_references() {
        let file = Target::File(PathBuf::from("/cat/all.yaml"));
        assert_eq!(
            file.join("./apis/a.yaml").unwrap(),
            Target::File(PathBuf::from("/cat/apis/a.yaml"))
        );
        assert_eq!(
            file.join("../x.yaml").unwrap(),
            Target::File(PathBuf::from("/x.yaml"))
        );
        let url =
            Target::Url(Url::parse("https://example.com/org/repo/catalog-info.yaml").unwrap());
        assert_eq!(
            url.join("./docs/api.yaml").unwrap().to_string(),
            "https://example.com/org/repo/docs/api.yaml"
        );
        assert_eq!(
            file.join("https://example.com/a.yaml")
                .unwrap()
                .location_type(),
            "url"
        );
    }
}

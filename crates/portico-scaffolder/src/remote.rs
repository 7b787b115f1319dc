//! Reading `fetch:*` sources from URLs, as Backstage's `UrlReader` does: single files from any
//! host `backend.reading.allow` lists, and directories (`readTree`) of GitHub and GitLab
//! repositories through their archive APIs, with the integration's token (or the step's).
//!
//! The engine has no HTTP client: [`UrlReader`] is implemented by the process (the binary, over
//! reqwest and the catalog's allow-list), as [`crate::ForgeHttp`] is. What is read is unpacked
//! into a staging folder with the workspace's path rules — no `..`, no absolute path, no
//! symlink — and the fetch actions then copy from there as from a template's own folder.

use std::fmt;
use std::path::PathBuf;

use portico_plugin_api::{BoxFuture, PluginError};
use url::Url;

use crate::forge::{Integration, PublishSettings};
use crate::workspace;

/// Largest archive or file unpacked (the reader may refuse earlier).
pub const MAX_REMOTE_BYTES: usize = 200 * 1024 * 1024;

/// Fetches URLs for the `fetch:*` actions.
pub trait UrlReader: Send + Sync + fmt::Debug {
    /// Whether `backend.reading.allow` lets `url` be read.
    fn allows(&self, url: &Url) -> bool;

    /// `GET url` with `headers` (a token among them: never print them); the body.
    /// Implementations bound the size and must not send the headers to another host on a
    /// redirect.
    fn get(
        &self,
        url: &str,
        headers: Vec<(String, String)>,
    ) -> BoxFuture<'_, Result<Vec<u8>, UrlReadError>>;
}

/// Why a URL could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlReadError {
    /// The server answered 404.
    #[error("{0} was not found (HTTP 404)")]
    NotFound(String),
    /// Anything else: no answer, another status, too large.
    #[error("reading {url} failed: {reason}")]
    Failed {
        /// What was read (never with credentials).
        url: String,
        /// Why.
        reason: String,
    },
}

/// Whether a source must be a directory or one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// `fetch:plain`, `fetch:template`.
    Tree,
    /// `fetch:plain:file`, `fetch:template:file`.
    File,
}

/// A fetched source in its staging folder (removed when this is dropped).
#[derive(Debug)]
pub(crate) struct Fetched {
    /// The directory, or the file.
    pub(crate) path: PathBuf,
    _staging: tempfile::TempDir,
}

/// Where a URL points on a forge.
#[derive(Debug, PartialEq, Eq)]
enum ForgeUrl {
    GitHub {
        owner: String,
        repo: String,
        git_ref: String,
        path: String,
    },
    GitLab {
        project: String,
        git_ref: String,
        path: String,
    },
}

/// `https://github.com/o/r/tree/main/dir` or `…/blob/main/file` (GitHub), and
/// `https://gitlab.com/g/sub/p/-/tree/main/dir` (GitLab); `None` for other shapes.
fn parse_forge_url(url: &Url, gitlab: bool) -> Option<ForgeUrl> {
    let segments: Vec<String> = url
        .path_segments()?
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    if gitlab {
        let dash = segments.iter().position(|s| s == "-")?;
        let project = segments[..dash].join("/");
        let rest = &segments[dash + 1..];
        if project.is_empty() || rest.len() < 2 || !matches!(rest[0].as_str(), "tree" | "blob") {
            return None;
        }
        Some(ForgeUrl::GitLab {
            project,
            git_ref: rest[1].clone(),
            path: rest[2..].join("/"),
        })
    } else {
        if segments.len() < 4 || !matches!(segments[2].as_str(), "tree" | "blob") {
            return None;
        }
        Some(ForgeUrl::GitHub {
            owner: segments[0].clone(),
            repo: segments[1].clone(),
            git_ref: segments[3].clone(),
            path: segments[4..].join("/"),
        })
    }
}

fn percent_decode(segment: &str) -> String {
    let hex = |byte: u8| (byte as char).to_digit(16);
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(index + 1).copied().and_then(hex),
                bytes.get(index + 2).copied().and_then(hex),
            )
        {
            out.push((high * 16 + low) as u8);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but unreserved characters (GitLab wants `/` in ids encoded).
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

fn integration<'a>(entries: &'a [Integration], host: &str) -> Option<&'a Integration> {
    entries
        .iter()
        .find(|entry| entry.host.eq_ignore_ascii_case(host))
}

/// Reads `url` into a staging folder: the directory it names, or the one file.
pub(crate) async fn fetch(
    settings: &PublishSettings,
    action: &str,
    url: &Url,
    want: Want,
    token: Option<&str>,
) -> Result<Fetched, PluginError> {
    let Some(reader) = &settings.reader else {
        return Err(PluginError::Input(format!(
            "{action}: {url} is a URL, and this process reads no URLs (portico scaffold reads \
             only the template's own folder); put the files next to the template and use a \
             relative url such as ./skeleton"
        )));
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(PluginError::Input(format!(
            "{action}: {url}: only http(s) URLs can be fetched"
        )));
    }
    if !reader.allows(url) {
        return Err(PluginError::Input(format!(
            "{action}: reading {url} is not allowed: add {} to backend.reading.allow in \
             app-config.yaml",
            host_of(url)
        )));
    }
    let host = host_of(url);
    let github = integration(&settings.integrations.github, &host)
        .cloned()
        .or_else(|| {
            (host == "github.com").then(|| Integration {
                host: host.clone(),
                token: None,
                api_base_url: None,
            })
        });
    let gitlab = integration(&settings.integrations.gitlab, &host)
        .cloned()
        .or_else(|| {
            (host == "gitlab.com").then(|| Integration {
                host: host.clone(),
                token: None,
                api_base_url: None,
            })
        });
    let staging = tempfile::Builder::new()
        .prefix("portico-fetch-")
        .tempdir()
        .map_err(|e| PluginError::Failed(format!("{action}: cannot make a staging folder: {e}")))?;
    let failed = |error: UrlReadError| PluginError::Failed(format!("{action}: {error}"));
    let (forge_url, entry) = match (&github, &gitlab) {
        (Some(entry), _) => (parse_forge_url(url, false), Some(entry)),
        (None, Some(entry)) => (parse_forge_url(url, true), Some(entry)),
        (None, None) => (None, None),
    };
    let token = token
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .or_else(|| entry.and_then(|e| e.token.clone()));
    let (request, headers, is_tree) = match (&forge_url, entry, want) {
        (
            Some(ForgeUrl::GitHub {
                owner,
                repo,
                git_ref,
                path,
            }),
            Some(entry),
            _,
        ) => {
            let api = entry.api_base_url.clone().unwrap_or_else(|| {
                if host == "github.com" {
                    "https://api.github.com".to_owned()
                } else {
                    format!("https://{host}/api/v3")
                }
            });
            let mut headers = vec![("X-GitHub-Api-Version".to_owned(), "2022-11-28".to_owned())];
            if let Some(token) = &token {
                headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
            }
            match want {
                Want::Tree => (
                    format!(
                        "{api}/repos/{}/{}/tarball/{}",
                        encode(owner),
                        encode(repo),
                        encode(git_ref)
                    ),
                    headers,
                    Some(path.clone()),
                ),
                Want::File => {
                    headers.push((
                        "Accept".to_owned(),
                        "application/vnd.github.raw+json".to_owned(),
                    ));
                    let path = path.split('/').map(encode).collect::<Vec<_>>().join("/");
                    (
                        format!(
                            "{api}/repos/{}/{}/contents/{path}?ref={}",
                            encode(owner),
                            encode(repo),
                            encode(git_ref)
                        ),
                        headers,
                        None,
                    )
                }
            }
        }
        (
            Some(ForgeUrl::GitLab {
                project,
                git_ref,
                path,
            }),
            Some(entry),
            _,
        ) => {
            let api = entry
                .api_base_url
                .clone()
                .unwrap_or_else(|| format!("https://{host}/api/v4"));
            let mut headers = Vec::new();
            if let Some(token) = &token {
                headers.push(("PRIVATE-TOKEN".to_owned(), token.clone()));
            }
            match want {
                Want::Tree => (
                    format!(
                        "{api}/projects/{}/repository/archive.tar.gz?sha={}&path={}",
                        encode(project),
                        encode(git_ref),
                        encode(path)
                    ),
                    headers,
                    Some(path.clone()),
                ),
                Want::File => (
                    format!(
                        "{api}/projects/{}/repository/files/{}/raw?ref={}",
                        encode(project),
                        encode(path),
                        encode(git_ref)
                    ),
                    headers,
                    None,
                ),
            }
        }
        (_, _, Want::Tree) => {
            return Err(PluginError::Input(format!(
                "{action}: {url} is not a directory Portico can read: directories are read \
                 from GitHub and GitLab repositories through their archive APIs, with URLs such \
                 as https://github.com/<owner>/<repo>/tree/<branch>/<dir> or \
                 https://gitlab.com/<group>/<project>/-/tree/<branch>/<dir> (the host needs an \
                 integrations.github or integrations.gitlab entry unless it is github.com or \
                 gitlab.com); single files can be read from any allowed host with \
                 fetch:plain:file or fetch:template:file"
            )));
        }
        (_, _, Want::File) => (url.to_string(), Vec::new(), None),
    };
    let bytes = reader.get(&request, headers).await.map_err(failed)?;
    if bytes.len() > MAX_REMOTE_BYTES {
        return Err(PluginError::Failed(format!(
            "{action}: {url} is larger than {MAX_REMOTE_BYTES} bytes"
        )));
    }
    let root = staging.path().to_path_buf();
    match is_tree {
        Some(prefix) => {
            let count = tokio::task::spawn_blocking(move || unpack(&bytes, &root, &prefix))
                .await
                .map_err(|e| PluginError::Failed(format!("{action}: unpacking stopped: {e}")))?
                .map_err(|e| PluginError::Failed(format!("{action}: the archive of {url}: {e}")))?;
            if count == 0 {
                return Err(PluginError::Input(format!(
                    "{action}: {url} names no directory with files in the repository"
                )));
            }
            Ok(Fetched {
                path: staging.path().to_path_buf(),
                _staging: staging,
            })
        }
        None => {
            let name = url
                .path_segments()
                .and_then(|mut s| s.next_back().map(percent_decode))
                .filter(|name| !name.is_empty() && name != "." && name != "..")
                .unwrap_or_else(|| "file".to_owned());
            let path = workspace::write_file(&root, &name, &bytes, false)
                .map_err(|e| PluginError::Failed(format!("{action}: {e}")))?;
            Ok(Fetched {
                path,
                _staging: staging,
            })
        }
    }
}

/// Unpacks the entries of a forge's `.tar.gz` under `<top folder>/<prefix>/` into `root`;
/// returns how many files it wrote. Symlinks and other special entries are skipped: nothing
/// from an archive may point outside it.
fn unpack(bytes: &[u8], root: &std::path::Path, prefix: &str) -> Result<usize, String> {
    let prefix = prefix.trim_matches('/');
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut count = 0;
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        // Forges put everything in one folder named after the repository and commit.
        let Some((_, inside)) = path.split_once('/') else {
            continue;
        };
        let relative = if prefix.is_empty() {
            inside
        } else if let Some(rest) = inside.strip_prefix(prefix) {
            // `dir` itself, or `dirx/…`: not inside `dir/`.
            let Some(rest) = rest.strip_prefix('/') else {
                continue;
            };
            rest
        } else {
            continue;
        };
        if relative.is_empty() {
            continue;
        }
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut contents = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut contents).map_err(|e| e.to_string())?;
                let executable = entry.header().mode().is_ok_and(|mode| mode & 0o111 != 0);
                workspace::write_file(root, relative, &contents, executable)
                    .map_err(|e| e.to_string())?;
                count += 1;
            }
            tar::EntryType::Directory => {
                let dir = workspace::resolve_in(root, relative).map_err(|e| e.to_string())?;
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            }
            _ => {}
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forge_urls() {
        let github = Url::parse("https://github.com/acme/skel/tree/main/templates/a%20b").unwrap();
        assert_eq!(
            parse_forge_url(&github, false),
            Some(ForgeUrl::GitHub {
                owner: "acme".into(),
                repo: "skel".into(),
                git_ref: "main".into(),
                path: "templates/a b".into()
            })
        );
        let root = Url::parse("https://github.com/acme/skel/blob/v1").unwrap();
        assert!(
            matches!(parse_forge_url(&root, false), Some(ForgeUrl::GitHub { path, .. }) if path.is_empty())
        );
        assert_eq!(
            parse_forge_url(&Url::parse("https://github.com/acme/skel").unwrap(), false),
            None
        );
        let gitlab = Url::parse("https://gitlab.com/g/sub/p/-/tree/dev/skeleton").unwrap();
        assert_eq!(
            parse_forge_url(&gitlab, true),
            Some(ForgeUrl::GitLab {
                project: "g/sub/p".into(),
                git_ref: "dev".into(),
                path: "skeleton".into()
            })
        );
        assert_eq!(encode("g/sub p"), "g%2Fsub%20p");
    }
}

//! Fetches the docs tree of a TechDocs `url:` reference (Backstage's
//! `url:https://github.com/org/repo/tree/main/path`) through the forge's archive API — GitHub's
//! `GET /repos/{owner}/{repo}/tarball/{ref}`, GitLab's
//! `GET /projects/{path}/repository/archive.tar.gz?sha={ref}` — with the token of the matching
//! `integrations.github|gitlab[]` entry, only from hosts `backend.reading.allow` lists, and
//! unpacks it with limits: regular files and folders only (no links), no path leaving the
//! folder, bounded size and entry count.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use portico_catalog::ReadAllowList;
use portico_scaffolder::{Integration, Integrations};
use portico_techdocs::builds::{BoxFuture, DocsFetcher};
use url::Url;

/// Largest archive downloaded.
const MAX_ARCHIVE_BYTES: usize = 256 * 1024 * 1024;
/// Largest tree unpacked.
const MAX_UNPACKED_BYTES: u64 = 1024 * 1024 * 1024;
/// Most entries unpacked.
const MAX_ENTRIES: usize = 100_000;

/// The forges' archive APIs over reqwest.
#[derive(Debug)]
pub struct ForgeTreeFetcher {
    client: reqwest::Client,
    integrations: Integrations,
    allow: ReadAllowList,
}

impl ForgeTreeFetcher {
    /// A fetcher with the configured integrations and allow-list. Redirects are followed (the
    /// GitHub API answers a tarball with one to its download host); reqwest drops the token
    /// header when a redirect leaves the host.
    pub fn new(integrations: Integrations, allow: ReadAllowList) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            integrations,
            allow,
        })
    }
}

/// What to download for a tree URL.
#[derive(Debug, PartialEq, Eq)]
struct ArchiveRequest {
    url: String,
    /// `(header, value)`, the token's among them.
    headers: Vec<(&'static str, String)>,
    /// The docs folder inside the repository (`""` for its root).
    path: String,
}

fn integration<'a>(list: &'a [Integration], host: &str) -> Option<&'a Integration> {
    list.iter().find(|i| i.host.eq_ignore_ascii_case(host))
}

/// `host` with the port when the URL has one, as `integrations.*.host` spells it.
fn host_of(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The archive request for a GitHub or GitLab tree URL.
fn archive_request(tree: &Url, integrations: &Integrations) -> Result<ArchiveRequest, String> {
    let host = host_of(tree).ok_or_else(|| format!("{tree} has no host"))?;
    let segments: Vec<&str> = tree
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let github = integration(&integrations.github, &host);
    let gitlab = integration(&integrations.gitlab, &host);
    if github.is_some() || (gitlab.is_none() && host == "github.com") {
        // /{owner}/{repo}/tree/{ref}/{path…}
        let [owner, repo, "tree", git_ref, path @ ..] = segments.as_slice() else {
            return Err(format!(
                "{tree} is not a GitHub tree URL; expected https://{host}/<owner>/<repo>/tree/<branch>/<path>"
            ));
        };
        let api = github
            .and_then(|i| i.api_base_url.clone())
            .unwrap_or_else(|| {
                if host == "github.com" {
                    "https://api.github.com".to_owned()
                } else {
                    format!("https://{host}/api/v3")
                }
            });
        let mut headers = vec![("Accept", "application/vnd.github+json".to_owned())];
        if let Some(token) = github.and_then(|i| i.token.as_ref()) {
            headers.push(("Authorization", format!("Bearer {token}")));
        }
        return Ok(ArchiveRequest {
            url: format!(
                "{}/repos/{owner}/{repo}/tarball/{git_ref}",
                api.trim_end_matches('/')
            ),
            headers,
            path: path.join("/"),
        });
    }
    if gitlab.is_some() || host == "gitlab.com" {
        // /{group/…/project}/-/tree/{ref}/{path…}
        let split = segments.iter().position(|s| *s == "-");
        let (Some(at), true) = (split, split.is_some_and(|at| at > 0)) else {
            return Err(format!(
                "{tree} is not a GitLab tree URL; expected https://{host}/<group>/<project>/-/tree/<branch>/<path>"
            ));
        };
        let project = segments[..at].join("/");
        let ["tree", git_ref, path @ ..] = &segments[at + 1..] else {
            return Err(format!(
                "{tree} is not a GitLab tree URL; expected https://{host}/<group>/<project>/-/tree/<branch>/<path>"
            ));
        };
        let api = gitlab
            .and_then(|i| i.api_base_url.clone())
            .unwrap_or_else(|| format!("https://{host}/api/v4"));
        let mut archive = Url::parse(&format!(
            "{}/projects/{}/repository/archive.tar.gz",
            api.trim_end_matches('/'),
            url::form_urlencoded::byte_serialize(project.as_bytes()).collect::<String>()
        ))
        .map_err(|err| format!("integrations.gitlab apiBaseUrl {api:?}: {err}"))?;
        archive.query_pairs_mut().append_pair("sha", git_ref);
        let mut headers = Vec::new();
        if let Some(token) = gitlab.and_then(|i| i.token.as_ref()) {
            headers.push(("PRIVATE-TOKEN", token.clone()));
        }
        return Ok(ArchiveRequest {
            url: archive.to_string(),
            headers,
            path: path.join("/"),
        });
    }
    Err(format!(
        "no integrations.github or integrations.gitlab entry for {host}: add one (host: {host}) \
         to fetch the docs at {tree}"
    ))
}

impl DocsFetcher for ForgeTreeFetcher {
    fn fetch<'a>(&'a self, url: &'a str, into: &'a Path) -> BoxFuture<'a, Result<PathBuf, String>> {
        Box::pin(async move {
            let tree = Url::parse(url).map_err(|err| format!("url techdocs-ref {url}: {err}"))?;
            if !self.allow.allows(&tree) {
                return Err(format!(
                    "reading {url} is not allowed; add {} to backend.reading.allow",
                    tree.host_str().unwrap_or("its host")
                ));
            }
            let request = archive_request(&tree, &self.integrations)?;
            portico_techdocs::config::check_relative(&request.path)
                .map_err(|why| format!("the docs path {:?} in {url}: {why}", request.path))?;
            let mut builder = self.client.get(&request.url);
            for (name, value) in &request.headers {
                builder = builder.header(*name, value);
            }
            // reqwest's errors name the URL, never the headers.
            let mut response = builder
                .send()
                .await
                .map_err(|err| format!("fetching the archive of {url}: {err}"))?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!(
                    "fetching the archive of {url}: the forge answered {status} for {} (is the \
                     integrations token allowed to read it?)",
                    request.url
                ));
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|err| format!("fetching the archive of {url}: {err}"))?
            {
                if bytes.len() + chunk.len() > MAX_ARCHIVE_BYTES {
                    return Err(format!(
                        "the archive of {url} is larger than {MAX_ARCHIVE_BYTES} bytes"
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            let target = into.to_path_buf();
            tokio::task::spawn_blocking(move || unpack(&bytes, &target))
                .await
                .map_err(|err| err.to_string())??;
            let docs = if request.path.is_empty() {
                into.to_path_buf()
            } else {
                into.join(&request.path)
            };
            if !docs.is_dir() {
                return Err(format!(
                    "{url}: the repository has no folder {:?} at that ref",
                    request.path
                ));
            }
            Ok(docs)
        })
    }
}

/// Unpacks a forge archive (one top folder, stripped) into `into`.
fn unpack(gzipped: &[u8], into: &Path) -> Result<(), String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gzipped));
    let entries = archive
        .entries()
        .map_err(|err| format!("unreadable archive: {err}"))?;
    let mut total = 0_u64;
    for (count, entry) in entries.enumerate() {
        if count >= MAX_ENTRIES {
            return Err(format!("the archive has more than {MAX_ENTRIES} entries"));
        }
        let mut entry = entry.map_err(|err| format!("unreadable archive: {err}"))?;
        let kind = entry.header().entry_type();
        if !kind.is_file() && !kind.is_dir() {
            // Links (and pax headers) are never unpacked: nothing may point out of the tree.
            continue;
        }
        let path = entry
            .path()
            .map_err(|err| format!("unreadable archive entry: {err}"))?
            .into_owned();
        let mut parts = Vec::new();
        for component in path.components().skip(1) {
            match component {
                Component::Normal(part) => parts.push(part.to_owned()),
                Component::CurDir => {}
                _ => {
                    return Err(format!(
                        "the archive entry {} leaves the tree; refused",
                        path.display()
                    ));
                }
            }
        }
        if parts.is_empty() {
            continue;
        }
        let target: PathBuf = parts.iter().fold(into.to_path_buf(), |p, c| p.join(c));
        if kind.is_dir() {
            std::fs::create_dir_all(&target)
                .map_err(|err| format!("creating {}: {err}", target.display()))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|err| format!("creating {}: {err}", parent.display()))?;
        }
        let mut file = std::fs::File::create(&target)
            .map_err(|err| format!("creating {}: {err}", target.display()))?;
        let left = MAX_UNPACKED_BYTES.saturating_sub(total);
        let written = std::io::copy(&mut (&mut entry).take(left + 1), &mut file)
            .map_err(|err| format!("writing {}: {err}", target.display()))?;
        total += written;
        if total > MAX_UNPACKED_BYTES {
            return Err(format!(
                "the archive unpacks to more than {MAX_UNPACKED_BYTES} bytes"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integrations() -> Integrations {
        Integrations {
            github: vec![Integration {
                host: "github.example.com".to_owned(),
                token: Some("gh-token".to_owned()),
                api_base_url: None,
            }],
            gitlab: vec![Integration {
                host: "gitlab.example.com".to_owned(),
                token: Some("gl-token".to_owned()),
                api_base_url: Some("http://127.0.0.1:9/api/v4/".to_owned()),
            }],
        }
    }

    fn request(url: &str) -> Result<ArchiveRequest, String> {
        archive_request(&Url::parse(url).unwrap(), &integrations())
    }

    #[test]
    fn tree_urls_become_archive_requests() {
        let public = request("https://github.com/org/repo/tree/main/docs/site").unwrap();
        assert_eq!(
            public.url,
            "https://api.github.com/repos/org/repo/tarball/main"
        );
        assert_eq!(public.path, "docs/site");
        assert!(
            public
                .headers
                .iter()
                .all(|(name, _)| *name != "Authorization")
        );
        let enterprise = request("https://github.example.com/org/repo/tree/v2").unwrap();
        assert_eq!(
            enterprise.url,
            "https://github.example.com/api/v3/repos/org/repo/tarball/v2"
        );
        assert_eq!(enterprise.path, "");
        assert!(
            enterprise
                .headers
                .contains(&("Authorization", "Bearer gh-token".to_owned()))
        );
        let gitlab = request("https://gitlab.example.com/group/sub/proj/-/tree/main/docs").unwrap();
        assert_eq!(
            gitlab.url,
            "http://127.0.0.1:9/api/v4/projects/group%2Fsub%2Fproj/repository/archive.tar.gz?sha=main"
        );
        assert_eq!(gitlab.path, "docs");
        assert!(
            gitlab
                .headers
                .contains(&("PRIVATE-TOKEN", "gl-token".to_owned()))
        );
        for (url, expected) in [
            ("https://github.com/org/repo", "not a GitHub tree URL"),
            (
                "https://gitlab.example.com/group/proj/tree/main",
                "not a GitLab tree URL",
            ),
            (
                "https://example.com/org/repo/tree/main",
                "no integrations.github",
            ),
        ] {
            let err = request(url).unwrap_err();
            assert!(err.contains(expected), "{url}: {err}");
        }
    }

    fn gzipped(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (path, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            // Written raw: `set_path` refuses `..`, and hostile archives are the point here.
            header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            if *kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn archives_unpack_without_links_or_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let good = gzipped(&[
            (
                "acme-repo-1/docs/index.md",
                tar::EntryType::Regular,
                b"# Hi\n",
            ),
            ("acme-repo-1/docs/link.md", tar::EntryType::Symlink, b""),
        ]);
        unpack(&good, dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("docs/index.md")).unwrap(),
            "# Hi\n"
        );
        assert!(
            !dir.path().join("docs/link.md").exists(),
            "links are left out"
        );

        let escape = gzipped(&[("acme-repo-1/../../evil.md", tar::EntryType::Regular, b"x")]);
        let err = unpack(&escape, &dir.path().join("other")).unwrap_err();
        assert!(err.contains("leaves the tree"), "{err}");
        assert!(!dir.path().join("evil.md").exists());
        assert!(unpack(b"not gzip", dir.path()).is_err());
    }
}

//! The readers the binary wires into the engines: the catalog's (local files always; http(s)
//! URLs when asked to fetch, and with an allow-list only from the hosts it lists,
//! `backend.reading.allow`) and the scaffolder's `fetch:*` reader ([`ScaffolderReader`]: the
//! same allow-list and client settings, async, with the forge tokens the scaffolder adds).
//!
//! Catalog readers are called from blocking threads (rayon in `validate`, tokio's blocking pool
//! in the engine), so the async HTTP client is driven with `Handle::block_on` on a runtime that
//! either the caller runs or this reader owns.

use std::time::Duration;

use portico_catalog::{
    MAX_SOURCE_BYTES, ReadAllowList, ReadError, SourceReader, Target, read_file,
};
use portico_plugin_api::BoxFuture;
use portico_scaffolder::{UrlReadError, UrlReader};
use tokio::runtime::{Handle, Runtime};

/// Reads files, and URLs when built to fetch.
#[derive(Debug)]
pub struct CliReader {
    http: Option<Http>,
    allow: Option<ReadAllowList>,
}

#[derive(Debug)]
struct Http {
    client: reqwest::Client,
    handle: Handle,
    /// A runtime of our own when the caller has none (kept alive with the reader).
    _runtime: Option<Runtime>,
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

impl CliReader {
    /// A reader for synchronous callers: fetches URLs (on a runtime of its own) when `fetch`.
    pub fn new(fetch: bool) -> anyhow::Result<Self> {
        let http = if fetch {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?;
            Some(Http {
                client: client()?,
                handle: runtime.handle().clone(),
                _runtime: Some(runtime),
            })
        } else {
            None
        };
        Ok(Self { http, allow: None })
    }

    /// A fetching reader driven by the current tokio runtime; call from async code.
    pub fn on_current_runtime() -> anyhow::Result<Self> {
        Ok(Self {
            http: Some(Http {
                client: client()?,
                handle: Handle::current(),
                _runtime: None,
            }),
            allow: None,
        })
    }

    /// Restricts URL reads to the hosts `allow` lists.
    pub fn with_allow_list(mut self, allow: ReadAllowList) -> Self {
        self.allow = Some(allow);
        self
    }
}

impl SourceReader for CliReader {
    fn read(&self, target: &Target) -> Result<Vec<u8>, ReadError> {
        let url = match target {
            Target::File(path) => return read_file(path),
            Target::Url(url) => url,
        };
        let Some(http) = &self.http else {
            return Err(ReadError::NotFetched(url.to_string()));
        };
        if let Some(allow) = &self.allow
            && !allow.allows(url)
        {
            return Err(ReadError::NotAllowed(format!(
                "reading {url} is not allowed; add {} to backend.reading.allow",
                url.host_str().unwrap_or_default()
            )));
        }
        let failed = |reason: String| ReadError::Failed {
            target: url.to_string(),
            reason,
        };
        http.handle.block_on(async {
            let mut response = http
                .client
                .get(url.clone())
                .send()
                .await
                .map_err(|err| failed(err.to_string()))?;
            match response.status() {
                status if status.is_success() => {}
                reqwest::StatusCode::NOT_FOUND => return Err(ReadError::NotFound(url.to_string())),
                status => return Err(failed(format!("the server answered {status}"))),
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|err| failed(err.to_string()))?
            {
                bytes.extend_from_slice(&chunk);
                if bytes.len() as u64 > MAX_SOURCE_BYTES {
                    return Err(ReadError::TooLarge {
                        target: url.to_string(),
                        size: bytes.len() as u64,
                        limit: MAX_SOURCE_BYTES,
                    });
                }
            }
            Ok(bytes)
        })
    }
}

/// The scaffolder's URL reader: `backend.reading.allow` decides the hosts (the scaffolder asks
/// before every read), answers are bounded, and credentials never follow a redirect to another
/// host — reqwest drops `Authorization` there, and requests with other credential headers
/// (GitLab's `PRIVATE-TOKEN`) follow no redirect at all.
#[derive(Debug)]
pub struct ScaffolderReader {
    allow: ReadAllowList,
    following: reqwest::Client,
    direct: reqwest::Client,
}

impl ScaffolderReader {
    /// A reader for the hosts `allow` lists.
    pub fn new(allow: ReadAllowList) -> anyhow::Result<Self> {
        let build = |redirects: reqwest::redirect::Policy| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .redirect(redirects)
                .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
                .build()
        };
        Ok(Self {
            allow,
            following: build(reqwest::redirect::Policy::limited(5))?,
            direct: build(reqwest::redirect::Policy::none())?,
        })
    }
}

impl UrlReader for ScaffolderReader {
    fn allows(&self, url: &url::Url) -> bool {
        self.allow.allows(url)
    }

    fn get(
        &self,
        url: &str,
        headers: Vec<(String, String)>,
    ) -> BoxFuture<'_, Result<Vec<u8>, UrlReadError>> {
        let url = url.to_owned();
        Box::pin(async move {
            let failed = |reason: String| UrlReadError::Failed {
                url: url.clone(),
                reason,
            };
            let custom_credentials = headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("private-token"));
            let client = if custom_credentials {
                &self.direct
            } else {
                &self.following
            };
            let mut request = client.get(&url);
            for (name, value) in &headers {
                request = request.header(name, value);
            }
            // reqwest's errors name the URL, never the headers.
            let mut response = request
                .send()
                .await
                .map_err(|err| failed(err.to_string()))?;
            match response.status() {
                status if status.is_success() => {}
                reqwest::StatusCode::NOT_FOUND => return Err(UrlReadError::NotFound(url.clone())),
                status => return Err(failed(format!("the server answered {status}"))),
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|err| failed(err.to_string()))?
            {
                if bytes.len() + chunk.len() > portico_scaffolder::remote::MAX_REMOTE_BYTES {
                    return Err(failed(format!(
                        "the answer is larger than {} bytes",
                        portico_scaffolder::remote::MAX_REMOTE_BYTES
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        })
    }
}

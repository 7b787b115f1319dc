//! What `publish:github` and `publish:gitlab` need from outside the engine: the forges'
//! integrations (`integrations.github[]` / `integrations.gitlab[]`: host, token, API base URL)
//! and a way to call their REST APIs.
//!
//! The engine knows no HTTP client: [`ForgeHttp`] is a small JSON request/response trait the
//! process implements (the binary with reqwest), as the catalog's `SourceReader` is.

use std::fmt;
use std::sync::Arc;

use portico_plugin_api::BoxFuture;
use serde_json::Value;

/// One `integrations.github[]` or `integrations.gitlab[]` entry.
#[derive(Clone, PartialEq, Eq)]
pub struct Integration {
    /// The host templates name in `repoUrl` (`github.com`, `gitlab.example.com:8443`).
    pub host: String,
    /// The token the actions use for this host, unless a step gives its own.
    pub token: Option<String>,
    /// The REST API root without a trailing `/`; `None` for the forge's default
    /// (`https://api.github.com` for github.com, `https://<host>/api/v3` for GitHub
    /// Enterprise, `https://<host>/api/v4` for GitLab).
    pub api_base_url: Option<String>,
}

impl fmt::Debug for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token must never reach a log line, even through `{:?}` of a settings struct.
        f.debug_struct("Integration")
            .field("host", &self.host)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("api_base_url", &self.api_base_url)
            .finish()
    }
}

/// The configured integrations, per forge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Integrations {
    /// `integrations.github`.
    pub github: Vec<Integration>,
    /// `integrations.gitlab`.
    pub gitlab: Vec<Integration>,
}

/// A REST call to a forge: JSON in, JSON out.
#[derive(Clone)]
pub struct ForgeRequest {
    /// `GET` or `POST`.
    pub method: ForgeMethod,
    /// The absolute URL, query included.
    pub url: String,
    /// Request headers, the token's among them (never print them).
    pub headers: Vec<(String, String)>,
    /// The JSON body of a `POST`.
    pub body: Option<Value>,
}

impl fmt::Debug for ForgeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ForgeRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

/// The HTTP methods the publish actions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgeMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

/// A forge's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ForgeResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

/// Sends forge API requests. Implementations must not follow redirects (the token would
/// follow them) and must keep the headers out of their errors and logs.
pub trait ForgeHttp: Send + Sync + fmt::Debug {
    /// Sends the request; `Err` is a transport failure (no answer), described without headers.
    fn send(&self, request: ForgeRequest) -> BoxFuture<'_, Result<ForgeResponse, String>>;
}

/// Everything the publish and fetch actions are configured with.
#[derive(Debug, Clone, Default)]
pub struct PublishSettings {
    /// How git runs (also `publish:git`'s settings).
    pub git: crate::GitOptions,
    /// The forges' hosts and tokens.
    pub integrations: Integrations,
    /// The forge API client; without one `publish:github`/`publish:gitlab` fail with a clear
    /// message.
    pub http: Option<Arc<dyn ForgeHttp>>,
    /// What `fetch:*` reads URLs with (`backend.reading.allow` decides the hosts); without one
    /// they read only the template's own folder.
    pub reader: Option<Arc<dyn crate::remote::UrlReader>>,
}

//! The forge API client the scaffolder's `publish:github` and `publish:gitlab` actions call
//! through `portico_scaffolder::ForgeHttp`: reqwest, JSON bodies, no redirects (a token header
//! must not follow one to another host), bounded answers, errors without headers.

use std::sync::Arc;
use std::time::Duration;

use portico_catalog::ReadAllowList;
use portico_plugin_api::BoxFuture;
use portico_scaffolder::{
    ForgeHttp, ForgeMethod, ForgeRequest, ForgeResponse, Integrations, PublishSettings,
};
use serde_json::Value;

/// Largest answer read from a forge API (repository descriptions are small).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Forge API calls over reqwest.
#[derive(Debug)]
pub struct ReqwestForge {
    client: reqwest::Client,
}

impl ReqwestForge {
    /// A client with a 30 s timeout that never follows redirects.
    pub fn new() -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            // GitHub refuses API requests without a User-Agent.
            .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client })
    }
}

impl ForgeHttp for ReqwestForge {
    fn send(&self, request: ForgeRequest) -> BoxFuture<'_, Result<ForgeResponse, String>> {
        Box::pin(async move {
            let mut builder = match request.method {
                ForgeMethod::Get => self.client.get(&request.url),
                ForgeMethod::Post => self.client.post(&request.url),
            };
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            if let Some(body) = &request.body {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string());
            }
            // reqwest's errors name the URL, never the headers.
            let mut response = builder.send().await.map_err(|error| error.to_string())?;
            let status = response.status().as_u16();
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
                if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(format!(
                        "the answer from {} is larger than {MAX_ANSWER_BYTES} bytes",
                        request.url
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            Ok(ForgeResponse { status, body })
        })
    }
}

/// The publish and fetch actions' settings for this process: the configured integrations, the
/// reqwest forge client and, with `reading`, the URL reader over `backend.reading.allow`
/// (without one, `fetch:*` reads only the template's folder).
pub fn publish_settings(
    integrations: Integrations,
    reading: Option<ReadAllowList>,
) -> anyhow::Result<PublishSettings> {
    let reader = match reading {
        Some(allow) => Some(Arc::new(crate::fetch::ScaffolderReader::new(allow)?)
            as Arc<dyn portico_scaffolder::UrlReader>),
        None => None,
    };
    Ok(PublishSettings {
        integrations,
        http: Some(Arc::new(ReqwestForge::new()?)),
        reader,
        ..PublishSettings::default()
    })
}

//! The reader used by the CLI: local files always, http(s) URLs only when asked to fetch.

use std::io::Read;
use std::time::Duration;

use portico_catalog::{MAX_SOURCE_BYTES, ReadError, SourceReader, Target, read_file};

/// Reads files, and URLs when built with a client.
#[derive(Debug)]
pub struct CliReader {
    client: Option<reqwest::blocking::Client>,
}

impl CliReader {
    /// A reader that fetches URLs when `fetch` is true.
    pub fn new(fetch: bool) -> anyhow::Result<Self> {
        let client = if fetch {
            Some(
                reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
                    .build()?,
            )
        } else {
            None
        };
        Ok(Self { client })
    }
}

impl SourceReader for CliReader {
    fn read(&self, target: &Target) -> Result<Vec<u8>, ReadError> {
        let url = match target {
            Target::File(path) => return read_file(path),
            Target::Url(url) => url,
        };
        let Some(client) = &self.client else {
            return Err(ReadError::NotFetched(url.to_string()));
        };
        let failed = |reason: String| ReadError::Failed {
            target: url.to_string(),
            reason,
        };
        let response = client
            .get(url.clone())
            .send()
            .map_err(|err| failed(err.to_string()))?;
        match response.status() {
            status if status.is_success() => {}
            reqwest::StatusCode::NOT_FOUND => return Err(ReadError::NotFound(url.to_string())),
            status => return Err(failed(format!("the server answered {status}"))),
        }
        let mut bytes = Vec::new();
        response
            .take(MAX_SOURCE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| failed(err.to_string()))?;
        if bytes.len() as u64 > MAX_SOURCE_BYTES {
            return Err(ReadError::TooLarge {
                target: url.to_string(),
                size: bytes.len() as u64,
                limit: MAX_SOURCE_BYTES,
            });
        }
        Ok(bytes)
    }
}

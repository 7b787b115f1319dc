//! Request parsing shared by the routes: a JSON-object body with Backstage's error messages, and
//! query strings with repeated parameters (`filter=…&filter=…`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Largest request body accepted, in bytes.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// A request body that must be a non-empty JSON object sent as `application/json`.
#[derive(Debug)]
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(content_type) = content_type else {
            return Err(ApiError::input("Content-Type missing"));
        };
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") && !essence.ends_with("+json") {
            return Err(ApiError::input("Illegal Content-Type"));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|err| ApiError::input(format!("Malformed request: {err}")))?;
        if bytes.len() > MAX_BODY {
            return Err(ApiError::input(format!(
                "Malformed request: body larger than {MAX_BODY} bytes"
            )));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|err| ApiError::input(format!("Malformed request: {err}")))?;
        match value {
            Value::Object(map) if map.is_empty() => Err(ApiError::input("Empty request body")),
            Value::Object(map) => Ok(Self(map)),
            _ => Err(ApiError::input("Expected body to be a JSON object")),
        }
    }
}

/// The parameters of a query string, in order, repeated keys kept.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Parses `a=1&b=2&a=3`.
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The last value of `key`.
    pub fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, each split at commas, trimmed, empty parts dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.all(key)
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A non-negative integer parameter.
    pub fn number(&self, key: &str) -> Result<Option<usize>, ApiError> {
        self.one(key)
            .map(|v| {
                v.trim().parse::<usize>().map_err(|_| {
                    ApiError::input(format!(
                        "Invalid {key}, expected a non-negative integer but found {v:?}"
                    ))
                })
            })
            .transpose()
    }
}

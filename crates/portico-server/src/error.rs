//! Errors in Backstage's JSON shape: `{"error": {"name", "message"}, "request": {"method", "url"},
//! "response": {"statusCode"}}`, one table from error name to status, and a middleware that adds
//! the request part (handlers do not see it). Internal details never reach the client: a 500
//! says "Internal error" with the request id, and the details go to the log.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portico_catalog::engine::EngineError;
use serde_json::json;

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Backstage's error name, e.g. `NotFoundError`.
    pub name: &'static str,
    /// What went wrong, for the client.
    pub message: String,
}

impl ApiError {
    /// 400 `InputError`.
    pub fn input(message: impl Into<String>) -> Self {
        Self::named("InputError", message)
    }

    /// 404 `NotFoundError`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::named("NotFoundError", message)
    }

    /// 409 `ConflictError`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::named("ConflictError", message)
    }

    /// 403 `NotAllowedError`.
    pub fn not_allowed(message: impl Into<String>) -> Self {
        Self::named("NotAllowedError", message)
    }

    /// 503 `ServiceUnavailableError`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::named("ServiceUnavailableError", message)
    }

    /// 500, with the details logged rather than sent.
    pub fn internal(details: impl std::fmt::Display) -> Self {
        tracing::error!(error = %details, "Request failed.");
        Self::named("Error", "Internal error")
    }

    fn named(name: &'static str, message: impl Into<String>) -> Self {
        Self {
            name,
            message: message.into(),
        }
    }

    /// The HTTP status for this error's name (Backstage's table).
    pub fn status(&self) -> StatusCode {
        match self.name {
            "InputError" => StatusCode::BAD_REQUEST,
            "AuthenticationError" => StatusCode::UNAUTHORIZED,
            "NotAllowedError" => StatusCode::FORBIDDEN,
            "NotFoundError" => StatusCode::NOT_FOUND,
            "ConflictError" => StatusCode::CONFLICT,
            "NotModifiedError" => StatusCode::NOT_MODIFIED,
            "NotImplementedError" => StatusCode::NOT_IMPLEMENTED,
            "ServiceUnavailableError" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Input(message) => Self::input(message),
            EngineError::NotFound(message) => Self::not_found(message),
            EngineError::Conflict(message) => Self::conflict(message),
            EngineError::NotAllowed(message) => Self::not_allowed(message),
            other => Self::internal(other),
        }
    }
}

/// Marks a response as an error so [`error_envelope`] can complete its body.
#[derive(Debug, Clone)]
struct ErrorMark(ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(body(&self, "", "", status))).into_response();
        response.extensions_mut().insert(ErrorMark(self));
        response
    }
}

fn body(error: &ApiError, method: &str, url: &str, status: StatusCode) -> serde_json::Value {
    json!({
        "error": {"name": error.name, "message": error.message},
        "request": {"method": method, "url": url},
        "response": {"statusCode": status.as_u16()},
    })
}

/// Completes error bodies with the request's method and URL (relative to the plugin's mount
/// point, as Backstage reports it), and answers unknown routes with a `NotFoundError`.
pub async fn error_envelope(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let uri = request.uri();
    let full = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), ToString::to_string);
    let url = plugin_relative(&full);
    let mut response = next.run(request).await;
    let mark = response.extensions_mut().remove::<ErrorMark>();
    let error = match mark {
        Some(ErrorMark(error)) => error,
        None if response.status() == StatusCode::NOT_FOUND
            && response.headers().get("content-type").is_none() =>
        {
            ApiError::not_found(format!("Not found: {method} {full}"))
        }
        None if response.status() == StatusCode::METHOD_NOT_ALLOWED => ApiError::named(
            "NotAllowedError",
            format!("Method {method} is not allowed on {full}"),
        ),
        None => return response,
    };
    let status = error.status();
    let request_id = response.headers().get("x-request-id").cloned();
    let mut rebuilt = (status, Json(body(&error, &method, &url, status))).into_response();
    if let Some(id) = request_id {
        rebuilt.headers_mut().insert("x-request-id", id);
    }
    rebuilt
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    rebuilt
}

/// `/api/catalog/entities?x` → `/entities?x`.
fn plugin_relative(full: &str) -> String {
    full.strip_prefix("/api/")
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
        .unwrap_or_else(|| full.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_relative_to_the_plugin() {
        assert_eq!(
            plugin_relative("/api/catalog/entities?filter=kind=api"),
            "/entities?filter=kind=api"
        );
        assert_eq!(plugin_relative("/healthz"), "/healthz");
    }

    #[test]
    fn names_map_to_backstage_statuses() {
        assert_eq!(ApiError::input("x").status(), StatusCode::BAD_REQUEST);
        assert_eq!(ApiError::not_found("x").status(), StatusCode::NOT_FOUND);
        assert_eq!(ApiError::conflict("x").status(), StatusCode::CONFLICT);
        assert_eq!(ApiError::not_allowed("x").status(), StatusCode::FORBIDDEN);
    }
}

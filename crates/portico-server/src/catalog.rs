//! `/api/catalog`: Backstage's catalog REST API (`backstage.md` §2) — same paths, parameters,
//! status codes and JSON shapes, so Backstage's `CatalogClient` works against Portico.
//!
//! Entities are served from the read model as the stored JSON text, spliced into responses
//! without re-encoding; `fields` projections parse only the entities of the page.

mod entities;
mod locations;
pub mod openapi;

use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portico_catalog::read_model::{ReadModelError, project};
use portico_store::CatalogStore;

use crate::AppState;
use crate::error::ApiError;

/// Most entities one page may hold, whatever the client asks.
pub const MAX_PAGE_SIZE: usize = 10_000;

/// The catalog routes, to be nested under `/api/catalog`: every operation of
/// [`openapi::routes`], and the OpenAPI document built from the same table.
pub fn router<S: CatalogStore>() -> Router<Arc<AppState<S>>> {
    let mut router = Router::new().route(
        "/openapi.json",
        get(|| async { axum::Json(openapi::document::<S>()) }),
    );
    for (operation, handler) in openapi::routes::<S>() {
        router = router.route(operation.path, handler);
    }
    router
}

impl From<ReadModelError> for ApiError {
    fn from(err: ReadModelError) -> Self {
        ApiError::input(err.to_string())
    }
}

/// A JSON response from already-encoded text.
pub(crate) fn json_text(status: axum::http::StatusCode, text: String) -> Response {
    (status, [(CONTENT_TYPE, "application/json")], text).into_response()
}

/// One entity as JSON text, projected to `fields` when given.
pub(crate) fn entity_text(stored: &str, fields: &[String]) -> Result<String, ApiError> {
    if fields.is_empty() {
        return Ok(stored.to_owned());
    }
    Ok(project(stored, fields)?.to_string())
}

/// `[e1,e2,…]` from stored entities.
pub(crate) fn entity_array(items: &[Arc<str>], fields: &[String]) -> Result<String, ApiError> {
    let mut out = String::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 2);
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if fields.is_empty() {
            out.push_str(item);
        } else {
            out.push_str(&entity_text(item, fields)?);
        }
    }
    out.push(']');
    Ok(out)
}

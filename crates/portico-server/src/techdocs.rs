//! `/api/techdocs`, Backstage-compatible, over a [`Publisher`] of built sites:
//!
//! - `GET /static/docs/:namespace/:kind/:name/*path`: a file of the entity's site;
//! - `GET /metadata/techdocs/:namespace/:kind/:name`: its `techdocs_metadata.json`;
//! - `GET /metadata/entity/:namespace/:kind/:name`: the entity plus `locationMetadata`;
//! - `GET /sync/:namespace/:kind/:name`: server-sent events as Backstage sends them: with the
//!   builder ([`AppState::techdocs_builds`]) a stale or never-built site is built first
//!   (`log` events while it runs) and the stream ends in `finish {"updated": true}`, a current
//!   one in `finish {"updated": false}`, a failed build in `error`; without it (sites built
//!   elsewhere, Backstage's `techdocs.builder: external`) always `finish {"updated": false}`.
//!
//! The entity must exist in the catalog (and be readable) for every route. Site files other
//! than HTML pages are author content served from the portal's origin, so they carry
//! `Content-Security-Policy: sandbox` (an SVG opened directly cannot run script).

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portico_model::EntityRef;
use portico_plugin_api::Permission;
use portico_store::CatalogStore;
use portico_techdocs::{EntityTriplet, PublishError, Publisher, SyncEvent};
use serde_json::{Value, json};

use crate::{ApiError, AppState, Caller};

type AppStateRef<S> = State<Arc<AppState<S>>>;

/// The `/api/techdocs` routes.
pub fn router<S: CatalogStore>() -> Router<Arc<AppState<S>>> {
    Router::new()
        .route(
            "/static/docs/{namespace}/{kind}/{name}",
            get(static_index::<S>),
        )
        .route(
            "/static/docs/{namespace}/{kind}/{name}/",
            get(static_index::<S>),
        )
        .route(
            "/static/docs/{namespace}/{kind}/{name}/{*path}",
            get(static_file::<S>),
        )
        .route(
            "/metadata/techdocs/{namespace}/{kind}/{name}",
            get(techdocs_metadata::<S>),
        )
        .route(
            "/metadata/entity/{namespace}/{kind}/{name}",
            get(entity_metadata::<S>),
        )
        .route("/sync/{namespace}/{kind}/{name}", get(sync::<S>))
}

fn publisher<S: CatalogStore>(state: &AppState<S>) -> Result<Arc<dyn Publisher>, ApiError> {
    state
        .techdocs
        .clone()
        .ok_or_else(|| ApiError::not_found("TechDocs is not configured on this server"))
}

/// The entity's stored JSON, after the read permission check.
fn entity<S: CatalogStore>(
    state: &AppState<S>,
    principal: &portico_plugin_api::Principal,
    (namespace, kind, name): &(String, String, String),
) -> Result<Value, ApiError> {
    state.authorize(principal, Permission::CATALOG_ENTITY_READ, None)?;
    let entity_ref = EntityRef::new(kind, namespace, name);
    let stored = state
        .engine
        .read_model()
        .by_ref(entity_ref.canonical())
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Entity {kind}:{namespace}/{name} not found in the catalog"
            ))
        })?;
    serde_json::from_str(&stored).map_err(ApiError::internal)
}

fn publish_error(err: PublishError) -> ApiError {
    match err {
        PublishError::BadEntity(message) => ApiError::input(message),
        PublishError::BadPath(path) => ApiError::not_found(format!("No such file: {path}")),
        PublishError::Io { .. } => ApiError::internal(err),
    }
}

async fn read_file(
    publisher: Arc<dyn Publisher>,
    triplet: EntityTriplet,
    path: String,
) -> Result<Option<Vec<u8>>, ApiError> {
    tokio::task::spawn_blocking(move || publisher.read(&triplet, &path))
        .await
        .map_err(ApiError::internal)?
        .map_err(publish_error)
}

async fn static_index<S: CatalogStore>(
    state: AppStateRef<S>,
    caller: Caller,
    Path(triplet): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    serve_file(&state, &caller, triplet, String::new()).await
}

async fn static_file<S: CatalogStore>(
    state: AppStateRef<S>,
    caller: Caller,
    Path((namespace, kind, name, path)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    serve_file(&state, &caller, (namespace, kind, name), path).await
}

async fn serve_file<S: CatalogStore>(
    state: &AppState<S>,
    Caller(principal): &Caller,
    triplet: (String, String, String),
    path: String,
) -> Result<Response, ApiError> {
    let publisher = publisher(state)?;
    entity(state, principal, &triplet)?;
    let (namespace, kind, name) = triplet;
    let content_type = content_type(&path);
    let is_html = content_type.starts_with("text/html");
    let bytes = read_file(
        publisher,
        EntityTriplet::new(&namespace, &kind, &name),
        path.clone(),
    )
    .await?
    .ok_or_else(|| {
        ApiError::not_found(format!(
            "File {path:?} not found in the docs of {kind}:{namespace}/{name}"
        ))
    })?;
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            // Docs are author content: never let a browser sniff HTML out of an image.
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response();
    if !is_html {
        // Pages passed the sanitizer; other files (SVG can carry script) did not.
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static("sandbox"),
        );
    }
    Ok(response)
}

async fn techdocs_metadata<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path(triplet): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let publisher = publisher(&state)?;
    entity(&state, &principal, &triplet)?;
    let (namespace, kind, name) = triplet;
    let entity_triplet = EntityTriplet::new(&namespace, &kind, &name);
    let metadata = tokio::task::spawn_blocking(move || publisher.metadata(&entity_triplet))
        .await
        .map_err(ApiError::internal)?
        .map_err(publish_error)?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "TechDocs metadata for {kind}:{namespace}/{name} not found: the docs have not been built"
            ))
        })?;
    Ok(axum::Json(metadata).into_response())
}

async fn entity_metadata<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path(triplet): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let mut entity = entity(&state, &principal, &triplet)?;
    let location = entity
        .pointer("/metadata/annotations/backstage.io~1managed-by-location")
        .and_then(Value::as_str)
        .and_then(|l| l.split_once(':'))
        .map(|(kind, target)| json!({"type": kind, "target": target}));
    if let (Some(object), Some(location)) = (entity.as_object_mut(), location) {
        object.insert("locationMetadata".to_owned(), location);
    }
    Ok(axum::Json(entity).into_response())
}

async fn sync<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path(triplet): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    publisher(&state)?;
    let entity = entity(&state, &principal, &triplet)?;
    let Some(builds) = state.techdocs_builds.clone() else {
        let events = [Ok::<_, Infallible>(finish_event(false))];
        return Ok(Sse::new(futures_util::stream::iter(events)).into_response());
    };
    // The build goes on if the client leaves; the stream just stops being read.
    let receiver = builds.sync(entity);
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await? {
            SyncEvent::Log(line) => Event::default()
                .event("log")
                .data(Value::String(line).to_string()),
            SyncEvent::Finish { updated } => finish_event(updated),
            SyncEvent::Error(message) => Event::default()
                .event("error")
                .data(Value::String(message).to_string()),
        };
        Some((Ok::<_, Infallible>(event), receiver))
    });
    Ok(Sse::new(events).into_response())
}

fn finish_event(updated: bool) -> Event {
    Event::default()
        .event("finish")
        .data(json!({"updated": updated}).to_string())
}

fn content_type(path: &str) -> &'static str {
    let path = if path.is_empty() || path.ends_with('/') {
        "index.html"
    } else {
        path
    };
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "pdf" => "application/pdf",
        // A folder URL without a trailing slash serves its index page.
        _ if !path.rsplit('/').next().unwrap_or("").contains('.') => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

//! `/healthz` (the process answers) and `/readyz` (the catalog is loaded and the database
//! answers): for load balancers and orchestrators.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use portico_store::CatalogStore;
use serde_json::json;

use crate::AppState;

pub fn router<S: CatalogStore>() -> Router<Arc<AppState<S>>> {
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/readyz", get(ready::<S>))
}

async fn ready<S: CatalogStore>(State(state): State<Arc<AppState<S>>>) -> impl IntoResponse {
    if !state.engine.is_loaded() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "loading", "message": "the catalog is still loading"})),
        );
    }
    match state.engine.store().ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(json!({"status": "ok"}))),
        Err(err) => {
            tracing::warn!(error = %err, "Readiness check failed: the database does not answer.");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "error", "message": "the database does not answer"})),
            )
        }
    }
}

//! Settings (theme and profile). The placeholder pages for Docs and Create are gone: their
//! features (`docs.rs`, `create.rs`) own those URLs now.

use axum::response::Response;
use minijinja::context;
use portico_store::CatalogStore;

use super::UiState;

/// `GET /settings`.
pub(crate) async fn settings<S: CatalogStore>(ui: UiState<S>) -> Response {
    ui.respond(ui.page(
        ui.shell("Settings", "settings"),
        "settings.html",
        context! {},
    ))
}

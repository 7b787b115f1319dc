//! Pages whose feature is not built yet (Docs) and Settings (theme and profile): the sidebar
//! entries exist so URLs are stable; the docs feature replaces its page.

use axum::response::Response;
use minijinja::context;
use portico_store::CatalogStore;

use super::UiState;

/// `GET /docs`.
pub(crate) async fn docs<S: CatalogStore>(ui: UiState<S>) -> Response {
    let ctx = context! {
        heading => "Documentation",
        text => "TechDocs will show the documentation each entity publishes, next to the catalog. \
                 Until then, the links on an entity's About card lead to its sources.",
    };
    ui.respond(ui.page(ui.shell("Docs", "docs"), "placeholder.html", ctx))
}

/// `GET /settings`.
pub(crate) async fn settings<S: CatalogStore>(ui: UiState<S>) -> Response {
    ui.respond(ui.page(
        ui.shell("Settings", "settings"),
        "settings.html",
        context! {},
    ))
}

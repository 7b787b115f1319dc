//! Pages whose feature is not built yet (Create) and Settings (theme and profile): the
//! sidebar entries exist so URLs are stable; the scaffolder feature replaces Create.

use axum::response::Response;
use minijinja::context;
use portico_store::CatalogStore;

use super::UiState;

/// `GET /create`.
pub(crate) async fn create<S: CatalogStore>(ui: UiState<S>) -> Response {
    let ctx = context! {
        heading => "Create something new",
        text => "Software templates will create components, with their repository and catalog \
                 entry, from a form. Until then, register an existing component.",
        action_href => "/catalog-import",
        action_label => "Register an existing component",
    };
    ui.respond(ui.page(ui.shell("Create", "create"), "placeholder.html", ctx))
}

/// `GET /settings`.
pub(crate) async fn settings<S: CatalogStore>(ui: UiState<S>) -> Response {
    ui.respond(ui.page(
        ui.shell("Settings", "settings"),
        "settings.html",
        context! {},
    ))
}

//! The page handlers, one module per area, and what they share: the layout context, the
//! loading check, and turning a failed page into an HTML error page.

pub(crate) mod catalog;
pub(crate) mod create;
pub(crate) mod docs;
pub(crate) mod entity;
pub(crate) mod home;
pub(crate) mod import;
pub(crate) mod placeholder;
pub(crate) mod search;
pub(crate) mod tasks;
pub(crate) mod wizard;

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use minijinja::Value;
use portico_plugin_api::{Decision, Permission, Principal};
use portico_store::CatalogStore;

use crate::render::{Html, Shell, error_page};
use crate::{Ui, UiError};

/// The shared state as handlers receive it.
pub(crate) type UiState<S> = State<Arc<Ui<S>>>;

impl<S: CatalogStore> Ui<S> {
    pub(crate) fn shell(&self, page_title: impl Into<String>, active: &'static str) -> Shell<'_> {
        Shell {
            app_title: &self.config.title,
            page_title: page_title.into(),
            active,
            search: String::new(),
            readonly: self.config.readonly,
        }
    }

    /// Renders `template` in the layout.
    pub(crate) fn page(
        &self,
        shell: Shell<'_>,
        template: &str,
        ctx: Value,
    ) -> Result<Html, UiError> {
        let body = self.templates.render(template, shell.with(ctx))?;
        Ok(Html {
            status: axum::http::StatusCode::OK,
            body,
        })
    }

    /// Renders a fragment (an htmx partial) without the layout.
    pub(crate) fn fragment(&self, template: &str, ctx: Value) -> Result<Html, UiError> {
        let body = self.templates.render(template, ctx)?;
        Ok(Html {
            status: axum::http::StatusCode::OK,
            body,
        })
    }

    /// Fails with [`UiError::Loading`] until the engine has loaded the catalog.
    pub(crate) fn ensure_loaded(&self) -> Result<(), UiError> {
        if self.engine.is_loaded() {
            Ok(())
        } else {
            Err(UiError::Loading)
        }
    }

    /// The response of a page: itself, or its error in the layout.
    pub(crate) fn respond(&self, result: Result<Html, UiError>) -> Response {
        match result {
            Ok(html) => html.into_response(),
            Err(err) => {
                let mut response =
                    error_page(&self.templates, self.shell("Error", ""), &err).into_response();
                if matches!(err, UiError::Loading) {
                    response
                        .headers_mut()
                        .insert("refresh", axum::http::HeaderValue::from_static("2"));
                }
                response
            }
        }
    }
}

/// Whether htmx asked for the part of a page with this element id (`HX-Target`).
pub(crate) fn wants_fragment(headers: &HeaderMap, target: &str) -> bool {
    headers.get("hx-request").is_some()
        && headers
            .get("hx-target")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t == target)
}

/// Route-layer middleware: answers 403 (in the layout) unless the request's principal — a
/// guest until authentication puts one in the request's extensions — may do the permission of
/// the route's group (see [`crate::router`]).
pub(crate) async fn authorize_page<S: CatalogStore>(
    State((ui, permission)): State<(Arc<Ui<S>>, Permission)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let principal = request
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or(Principal::Guest);
    match ui.authorizer.authorize(&principal, permission, None) {
        Decision::Allow => next.run(request).await,
        Decision::Deny => ui.respond(Err(UiError::Forbidden(format!(
            "You are not allowed to do this ({}).",
            permission.0
        )))),
    }
}

/// Any address no page answers.
pub(crate) async fn not_found<S: CatalogStore>(
    State(ui): UiState<S>,
    uri: axum::http::Uri,
) -> Response {
    ui.respond(Err(UiError::NotFound(format!(
        "There is no page at {}.",
        uri.path()
    ))))
}

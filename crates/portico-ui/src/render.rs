//! Rendering: the minijinja environment over the embedded `templates/` (auto-escaped HTML),
//! the context every page shares (title, sidebar, search box), and the HTML error pages.
//!
//! Release builds parse each template once; debug builds re-read them on every render, so a
//! template edit shows on reload without recompiling (rust-embed reads from disk in debug).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, Value, context};
use rust_embed::RustEmbed;

use crate::{entity_view, markdown, nav};

#[derive(RustEmbed)]
#[folder = "templates/"]
struct TemplateFiles;

/// An HTML response.
#[derive(Debug)]
pub struct Html {
    /// Status code.
    pub status: StatusCode,
    /// The document (or fragment, for htmx requests).
    pub body: String,
}

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        // Partial (htmx) and full responses share URLs: caches must tell them apart.
        headers.insert(header::VARY, HeaderValue::from_static("HX-Request"));
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// Nothing at this address.
    #[error("{0}")]
    NotFound(String),
    /// The request is wrong (bad parameter, bad form).
    #[error("{0}")]
    Input(String),
    /// The viewer may not do this (the authorizer said no).
    #[error("{0}")]
    Forbidden(String),
    /// The catalog is still loading.
    #[error("The catalog is still loading; this page refreshes by itself.")]
    Loading,
    /// Something broke on our side; details are logged, not shown.
    #[error("Internal error")]
    Internal(String),
}

impl UiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Input(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Loading => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<minijinja::Error> for UiError {
    fn from(err: minijinja::Error) -> Self {
        let mut message = format!("template: {err}");
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        Self::Internal(message)
    }
}

/// The template environment.
pub(crate) struct Templates {
    #[cfg(not(debug_assertions))]
    env: Environment<'static>,
}

impl Templates {
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(not(debug_assertions))]
            env: environment(),
        }
    }

    /// Renders `name` with `ctx`.
    pub(crate) fn render(&self, name: &str, ctx: Value) -> Result<String, UiError> {
        #[cfg(debug_assertions)]
        let env = environment();
        #[cfg(not(debug_assertions))]
        let env = &self.env;
        Ok(env.get_template(name)?.render(ctx)?)
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_loader(|name| {
        Ok(TemplateFiles::get(name).map(|file| String::from_utf8_lossy(&file.data).into_owned()))
    });
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.add_filter("markdown", |text: Option<String>| {
        Value::from_safe_string(markdown::render(text.as_deref().unwrap_or_default()))
    });
    env.add_filter("truncate", |text: Option<String>, max: Option<usize>| {
        let text = text.unwrap_or_default();
        let max = max.unwrap_or(120);
        if text.chars().count() <= max {
            text
        } else {
            let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
            short.push('…');
            short
        }
    });
    env.add_filter("entity_url", |entity_ref: String| {
        entity_view::url_of_ref(&entity_ref)
    });
    env.add_filter("ref_label", |entity_ref: String| {
        entity_view::label_of_ref(&entity_ref)
    });
    env
}

/// The context of the layout: page title, active sidebar entry, app title, search text.
#[derive(Debug, Clone)]
pub(crate) struct Shell<'a> {
    pub app_title: &'a str,
    pub page_title: String,
    pub active: &'static str,
    pub search: String,
    pub readonly: bool,
}

impl Shell<'_> {
    /// The layout context merged under a page's own context.
    pub(crate) fn with(&self, page: Value) -> Value {
        let shell = context! {
            app_title => self.app_title,
            page_title => self.page_title.as_str(),
            nav => ser(&nav::entries(self.active)),
            active => self.active,
            search => self.search.as_str(),
            readonly => self.readonly,
            asset_version => env!("CARGO_PKG_VERSION"),
        };
        context! { ..page, ..shell }
    }
}

/// The HTML of an error, in the layout.
pub(crate) fn error_page(templates: &Templates, shell: Shell<'_>, err: &UiError) -> Html {
    if let UiError::Internal(details) = err {
        tracing::error!(error = %details, "UI page failed.");
    }
    let status = err.status();
    let ctx = shell.with(context! {
        status => status.as_u16(),
        reason => status.canonical_reason().unwrap_or("Error"),
        message => err.to_string(),
        loading => matches!(err, UiError::Loading),
    });
    let body = templates.render("error.html", ctx).unwrap_or_else(|e| {
        tracing::error!(error = %format!("{e}"), "The error page failed to render.");
        format!(
            "<!doctype html><title>Error</title><p>{}</p>",
            status.as_u16()
        )
    });
    Html { status, body }
}

/// A template value from any serializable Rust value.
pub(crate) fn ser<T: serde::Serialize>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

//! Portico's HTTP layer: the Backstage-compatible `/api/catalog` routes, health checks and
//! Prometheus metrics, assembled into one axum `Router` over the engines. Thin glue: handlers
//! parse the request, ask the [`Authorizer`] on behalf of the [`Principal`], call the engine,
//! and shape the answer as Backstage does.

mod body;
pub mod catalog;
pub mod error;
mod health;
mod metrics;
pub mod scaffolder;
pub mod techdocs;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::middleware;
use portico_catalog::engine::Engine;
use portico_plugin_api::{AllowAll, Authorizer, Decision, Permission, Principal};
use portico_store::CatalogStore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::ApiError;

/// What the handlers share.
pub struct AppState<S: CatalogStore> {
    /// The catalog engine.
    pub engine: Arc<Engine<S>>,
    /// Decides every request.
    pub authorizer: Arc<dyn Authorizer>,
    /// `catalog.readonly`: refuse registering and unregistering locations.
    pub readonly: bool,
    /// The scaffolder behind `/api/scaffolder`, when it is wired in.
    pub scaffolder: Option<Arc<dyn portico_scaffolder::ScaffolderService>>,
    /// Built TechDocs sites (`/api/techdocs`); `None`: TechDocs answers 404.
    pub techdocs: Option<Arc<dyn portico_techdocs::Publisher>>,
    /// The TechDocs builder (`/api/techdocs/sync` builds stale sites); `None`: sites are
    /// built elsewhere and sync only answers `finish {updated: false}`.
    pub techdocs_builds: Option<Arc<dyn portico_techdocs::DocsBuilds>>,
}

impl<S: CatalogStore> std::fmt::Debug for AppState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("readonly", &self.readonly)
            .finish_non_exhaustive()
    }
}

impl<S: CatalogStore> AppState<S> {
    /// State over `engine` with the allow-all authorizer.
    pub fn new(engine: Arc<Engine<S>>) -> Self {
        Self {
            engine,
            authorizer: Arc::new(AllowAll),
            readonly: false,
            scaffolder: None,
            techdocs: None,
            techdocs_builds: None,
        }
    }

    /// Refuses unless `principal` may do `permission` (to `resource`).
    pub fn authorize(
        &self,
        principal: &Principal,
        permission: Permission,
        resource: Option<&serde_json::Value>,
    ) -> Result<(), ApiError> {
        match self.authorizer.authorize(principal, permission, resource) {
            Decision::Allow => Ok(()),
            Decision::Deny => Err(ApiError::not_allowed(format!(
                "You are not allowed to perform {}",
                permission.0
            ))),
        }
    }
}

/// The principal of a request. A guest until authentication is configured.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<T: Send + Sync> FromRequestParts<T> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &T) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<Principal>()
                .cloned()
                .unwrap_or(Principal::Guest),
        ))
    }
}

/// The whole HTTP API (no web pages).
pub fn app<S: CatalogStore>(state: AppState<S>) -> Router {
    app_with_pages(state, Router::new())
}

/// The whole HTTP application: the API and `pages` (the web UI, whose fallback answers every
/// path outside `/api`) behind the same request ids, tracing, metrics and panic guard. Unknown
/// paths under `/api/` always get Backstage's `NotFoundError` JSON, never a page.
pub fn app_with_pages<S: CatalogStore>(state: AppState<S>, pages: Router) -> Router {
    let state = Arc::new(state);
    let metrics = Arc::new(metrics::Metrics::default());
    let metrics_route = Router::new()
        .route("/metrics", axum::routing::get(metrics::render::<S>))
        .with_state((Arc::clone(&state), Arc::clone(&metrics)));
    let catalog_routes = catalog::router::<S>().route_layer(middleware::from_fn_with_state(
        Arc::clone(&state),
        catalog_loaded::<S>,
    ));
    let mut router = Router::new().nest("/api/catalog", catalog_routes).nest(
        "/api/techdocs",
        techdocs::router::<S>().route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            catalog_loaded::<S>,
        )),
    );
    if let Some(service) = state.scaffolder.clone() {
        router = router.nest(
            "/api/scaffolder",
            scaffolder::router(service, Arc::clone(&state.authorizer)),
        );
    }
    router
        .merge(health::router::<S>())
        // A bare 404 (no content type): `error_envelope` turns it into a `NotFoundError`.
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { axum::http::StatusCode::NOT_FOUND }),
        )
        .with_state(state)
        .merge(pages)
        // A route layer runs after routing, so requests are labelled by route pattern.
        .route_layer(middleware::from_fn_with_state(metrics, metrics::record))
        .merge(metrics_route)
        .layer(middleware::from_fn(error::error_envelope))
        .layer(CatchPanicLayer::new())
        // Server errors are logged where they happen (with details) and 503s while loading are
        // expected: the trace layer's own failure lines would only repeat or mislead.
        .layer(
            TraceLayer::new_for_http().on_failure(
                tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG),
            ),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Answers catalog requests with 503 until the engine has loaded the catalog, so a large catalog
/// never looks partial; `/healthz` answers at once and `/readyz` says when to send traffic.
async fn catalog_loaded<S: CatalogStore>(
    axum::extract::State(state): axum::extract::State<Arc<AppState<S>>>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if state.engine.is_loaded() {
        next.run(request).await
    } else {
        ApiError::unavailable("The catalog is still loading; try again shortly (see /readyz)")
            .into_response()
    }
}

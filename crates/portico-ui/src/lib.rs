//! Portico's web UI: server-rendered HTML pages over the engines — home, catalog table, entity
//! pages (with API docs, dependencies graph and YAML), group and user pages, the APIs explorer,
//! register/unregister, search, the software templates (Create: the form, the review, the task
//! pages) — with htmx for partial updates and assets embedded in the binary.
//!
//! Pages read the engine's read model directly (no HTTP loop-back). Templates are minijinja files
//! under `templates/` with HTML auto-escaping; every page extends `layout.html`, whose sidebar is
//! built from [`nav::NAV`]. To add a page: a handler in `pages/`, a route in [`router`], a template
//! extending `layout.html`, and (if it belongs in the sidebar) a [`nav::NavEntry`].

mod assets;
mod asyncapi;
pub mod entity_view;
mod form_values;
mod graph;
mod highlight;
mod markdown;
pub mod nav;
mod pages;
mod params;
mod render;
mod schema_form;
mod yaml;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use portico_catalog::engine::Engine;
use portico_plugin_api::{AllowAll, Authorizer, Permission};
use portico_scaffolder::ScaffolderService;
use portico_store::CatalogStore;

pub use render::{Html, UiError};

/// What the UI shows and allows, from the configuration.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// `app.title`, in the header and every page title.
    pub title: String,
    /// `catalog.readonly`: hide and refuse registering and unregistering.
    pub readonly: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            title: "Portico".to_owned(),
            readonly: false,
        }
    }
}

/// What the UI handlers share.
pub struct Ui<S: CatalogStore> {
    /// The catalog engine.
    pub engine: Arc<Engine<S>>,
    /// Title and flags.
    pub config: UiConfig,
    /// Decides every page, like the API's handlers (allow-all until access control is set up).
    authorizer: Arc<dyn Authorizer>,
    /// Built TechDocs sites the `/docs` reader shows (`None`: TechDocs is not configured).
    pub techdocs: Option<Arc<dyn portico_techdocs::Publisher>>,
    /// The scaffolder that runs templates and reports tasks (`None`: templates can be browsed
    /// and filled in, not run).
    pub scaffolder: Option<Arc<dyn ScaffolderService>>,
    /// The TechDocs builder whose build states (queued, building, failed, warnings) `/docs`
    /// shows (`None`: sites are built elsewhere; only their build time is known).
    pub builds: Option<Arc<dyn portico_techdocs::DocsBuilds>>,
    templates: render::Templates,
    problems: pages::home::ProblemCache,
}

impl<S: CatalogStore> std::fmt::Debug for Ui<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: CatalogStore> Ui<S> {
    /// The UI over `engine`.
    pub fn new(engine: Arc<Engine<S>>, config: UiConfig) -> Self {
        Self {
            engine,
            config,
            authorizer: Arc::new(AllowAll),
            techdocs: None,
            scaffolder: None,
            builds: None,
            templates: render::Templates::new(),
            problems: pages::home::ProblemCache::default(),
        }
    }

    /// The same UI deciding its pages with `authorizer` (the API's, so both agree).
    #[must_use]
    pub fn with_authorizer(mut self, authorizer: Arc<dyn Authorizer>) -> Self {
        self.authorizer = authorizer;
        self
    }
}

impl<S: CatalogStore> Ui<S> {
    /// Shows the TechDocs sites `publisher` holds in `/docs`.
    pub fn with_techdocs(mut self, publisher: Arc<dyn portico_techdocs::Publisher>) -> Self {
        self.techdocs = Some(publisher);
        self
    }

    /// Runs templates and shows tasks with `service` (the API's, so both see the same tasks).
    pub fn with_scaffolder(mut self, service: Arc<dyn ScaffolderService>) -> Self {
        self.scaffolder = Some(service);
        self
    }

    /// Shows the build states `builds` knows in `/docs` (the index's badges, the reader's
    /// build line, warnings and the error of a failed build).
    pub fn with_builds(mut self, builds: Arc<dyn portico_techdocs::DocsBuilds>) -> Self {
        self.builds = Some(builds);
        self
    }
}

/// The UI routes, to be merged at the root of the server (the API keeps `/api/*`).
pub fn router<S: CatalogStore>(ui: Ui<S>) -> Router {
    let ui = Arc::new(ui);
    // Every page asks the authorizer for the permission of its group before its handler runs.
    let read = Router::new()
        .route("/", get(pages::home::page::<S>))
        .route("/catalog", get(pages::catalog::catalog_page::<S>))
        .route(
            "/catalog/facet-values",
            get(pages::catalog::facet_values::<S>),
        )
        .route("/api-docs", get(pages::catalog::api_docs_page::<S>))
        .route(
            "/catalog/{namespace}/{kind}/{name}",
            get(pages::entity::page::<S>),
        )
        .route(
            "/catalog/{namespace}/{kind}/{name}/definition",
            get(pages::entity::definition::<S>),
        )
        .route("/search", get(pages::search::page::<S>))
        .route("/docs", get(pages::docs::index::<S>))
        .route("/docs-content.css", get(pages::docs::content_css))
        .route(
            "/docs/{namespace}/{kind}/{name}",
            get(pages::docs::root_redirect),
        )
        .route(
            "/docs/{namespace}/{kind}/{name}/",
            get(pages::docs::root::<S>),
        )
        .route(
            "/docs/{namespace}/{kind}/{name}/{*path}",
            get(pages::docs::page::<S>),
        )
        .route("/create", get(pages::create::page::<S>))
        // Moving between the pages of a template's form changes nothing: it is reading.
        .route(
            "/create/templates/{namespace}/{name}",
            get(pages::wizard::form::<S>).post(pages::wizard::step::<S>),
        )
        .route("/settings", get(pages::placeholder::settings::<S>))
        .route_layer(axum::middleware::from_fn_with_state(
            (Arc::clone(&ui), Permission::CATALOG_ENTITY_READ),
            pages::authorize_page::<S>,
        ));
    let register = Router::new()
        .route("/catalog-import", get(pages::import::form::<S>))
        .route("/catalog-import/analyze", post(pages::import::analyze::<S>))
        .route(
            "/catalog-import/register",
            post(pages::import::register::<S>),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            (Arc::clone(&ui), Permission::CATALOG_LOCATION_CREATE),
            pages::authorize_page::<S>,
        ));
    let unregister = Router::new()
        .route(
            "/catalog/{namespace}/{kind}/{name}/unregister",
            get(pages::import::confirm_unregister::<S>).post(pages::import::unregister::<S>),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            (Arc::clone(&ui), Permission::CATALOG_LOCATION_DELETE),
            pages::authorize_page::<S>,
        ));
    let tasks = Router::new()
        .route("/create/tasks", get(pages::tasks::list::<S>))
        .route("/create/tasks/{id}", get(pages::tasks::page::<S>))
        .route("/create/tasks/{id}/events", get(pages::tasks::events::<S>))
        .route_layer(axum::middleware::from_fn_with_state(
            (Arc::clone(&ui), Permission::SCAFFOLDER_TASK_READ),
            pages::authorize_page::<S>,
        ));
    let create_task = Router::new()
        .route(
            "/create/templates/{namespace}/{name}/create",
            post(pages::wizard::create::<S>),
        )
        .route("/create/tasks/{id}/retry", post(pages::tasks::retry::<S>))
        .route_layer(axum::middleware::from_fn_with_state(
            (Arc::clone(&ui), Permission::SCAFFOLDER_TASK_CREATE),
            pages::authorize_page::<S>,
        ));
    let cancel_task = Router::new()
        .route("/create/tasks/{id}/cancel", post(pages::tasks::cancel::<S>))
        .route_layer(axum::middleware::from_fn_with_state(
            (Arc::clone(&ui), Permission::SCAFFOLDER_TASK_CANCEL),
            pages::authorize_page::<S>,
        ));
    read.merge(register)
        .merge(unregister)
        .merge(tasks)
        .merge(create_task)
        .merge(cancel_task)
        .route("/static/{*path}", get(assets::serve))
        .fallback(pages::not_found::<S>)
        .with_state(ui)
}

//! Registering and unregistering locations from the UI.
//!
//! `/catalog-import`: enter a URL or a file path; *Analyze* does a dry run and previews the
//! entities found (or lists every validation error next to the field); *Register* stores the
//! location. From an entity page, *Unregister* confirms with the list of every entity its
//! location brought in, then removes the location and those entities.

use axum::extract::Path;
use axum::response::Response;
use minijinja::context;
use portico_catalog::engine::EngineError;
use portico_catalog::read_model::Predicate;
use portico_store::{CatalogStore, LocationOrigin, LocationRecord};
use serde_json::Value;

use super::UiState;
use super::entity::find_entity;
use crate::entity_view::{self, Summary};
use crate::params::Params;
use crate::render::{Html, ser};
use crate::{Ui, UiError};

/// Entities listed in a preview or confirmation before "and N more".
const LISTED: usize = 200;

/// `url` for http(s) targets, `file` for anything else.
fn location_type(target: &str) -> &'static str {
    if target.starts_with("http://") || target.starts_with("https://") {
        "url"
    } else {
        "file"
    }
}

fn refuse_readonly<S: CatalogStore>(ui: &Ui<S>) -> Result<(), UiError> {
    if ui.config.readonly {
        Err(UiError::Input(
            "This catalog is read-only (catalog.readonly): locations cannot be registered or unregistered here."
                .to_owned(),
        ))
    } else {
        Ok(())
    }
}

fn engine_error(err: EngineError) -> UiError {
    match err {
        EngineError::Input(m) | EngineError::NotAllowed(m) | EngineError::Conflict(m) => {
            UiError::Input(m)
        }
        EngineError::NotFound(m) => UiError::NotFound(m),
        other => UiError::Internal(other.to_string()),
    }
}

/// `GET /catalog-import`.
pub(crate) async fn form<S: CatalogStore>(ui: UiState<S>) -> Response {
    let ctx = context! { step => "enter", target => "" };
    ui.respond(ui.page(
        ui.shell("Register an existing component", "create"),
        "import.html",
        ctx,
    ))
}

/// `POST /catalog-import/analyze` (form field `target`).
pub(crate) async fn analyze<S: CatalogStore>(ui: UiState<S>, body: String) -> Response {
    let params = Params::parse(Some(&body));
    let target = params.get("target").unwrap_or_default().to_owned();
    let result = async {
        ui.ensure_loaded()?;
        refuse_readonly(&ui)?;
        let shell = ui.shell("Register an existing component", "create");
        if target.is_empty() {
            let ctx = context! {
                step => "enter", target => target,
                errors => vec!["Enter the URL or the path of a catalog-info.yaml file."],
            };
            return bad_request(ui.page(shell, "import.html", ctx));
        }
        match ui.engine.dry_run(location_type(&target), &target).await {
            Ok((entities, exists)) => {
                let rows: Vec<Summary> = entities.iter().map(entity_view::summary).collect();
                let ctx = context! {
                    location_type => location_type(&target),
                    step => "review", target => target, exists => exists,
                    total => rows.len(),
                    entities => ser(&rows.into_iter().take(LISTED).collect::<Vec<_>>()),
                };
                ui.page(shell, "import.html", ctx)
            }
            Err(EngineError::Input(message) | EngineError::NotAllowed(message)) => {
                // A dry run reports every problem of the tree, joined; list them one per line.
                let errors: Vec<String> = message.split("; ").map(str::to_owned).collect();
                let ctx = context! { step => "enter", target => target, errors => errors };
                bad_request(ui.page(shell, "import.html", ctx))
            }
            Err(other) => Err(engine_error(other)),
        }
    }
    .await;
    ui.respond(result)
}

fn bad_request(page: Result<Html, UiError>) -> Result<Html, UiError> {
    page.map(|mut html| {
        html.status = axum::http::StatusCode::BAD_REQUEST;
        html
    })
}

/// The entities a location brought in (by their origin-location annotation).
fn entities_of_origin<S: CatalogStore>(ui: &Ui<S>, origin: &str) -> (Vec<Summary>, usize) {
    let filter = Predicate::equals(
        "metadata.annotations.backstage.io/managed-by-origin-location",
        origin,
    );
    let read_model = ui.engine.read_model();
    let refs = read_model.refs_matching(&filter);
    let rows = refs
        .iter()
        .take(LISTED)
        .filter_map(|r| read_model.by_ref(r))
        .filter_map(|json| serde_json::from_str::<Value>(&json).ok())
        .map(|e| entity_view::summary(&e))
        .collect();
    (rows, refs.len())
}

/// `POST /catalog-import/register` (form field `target`).
pub(crate) async fn register<S: CatalogStore>(ui: UiState<S>, body: String) -> Response {
    let params = Params::parse(Some(&body));
    let target = params.get("target").unwrap_or_default().to_owned();
    let result = async {
        ui.ensure_loaded()?;
        refuse_readonly(&ui)?;
        let kind = location_type(&target);
        let record = ui
            .engine
            .register_location(kind, &target, LocationOrigin::Api)
            .await
            .map_err(engine_error)?;
        ui.problems.invalidate();
        let origin = portico_catalog::engine::processing::location_ref(&record);
        let (rows, total) = entities_of_origin(&ui, &origin);
        let ctx =
            context! { step => "done", target => target, entities => ser(&rows), total => total };
        ui.page(ui.shell("Registered", "create"), "import.html", ctx)
    }
    .await;
    ui.respond(result)
}

/// The registered location an entity came through.
async fn origin_location<S: CatalogStore>(
    ui: &Ui<S>,
    entity: &Value,
) -> Result<(String, LocationRecord), UiError> {
    let origin = entity
        .pointer("/metadata/annotations")
        .and_then(|a| a.get("backstage.io/managed-by-origin-location"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let locations = ui
        .engine
        .store()
        .locations()
        .await
        .map_err(|e| UiError::Internal(e.to_string()))?;
    let record = locations
        .into_iter()
        .find(|l| portico_catalog::engine::processing::location_ref(l) == origin)
        .ok_or_else(|| {
            UiError::NotFound(format!(
                "This entity's location ({origin}) is not registered, so there is nothing to unregister."
            ))
        })?;
    Ok((origin, record))
}

/// `GET /catalog/{namespace}/{kind}/{name}/unregister`: what would be removed.
pub(crate) async fn confirm_unregister<S: CatalogStore>(
    ui: UiState<S>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
) -> Response {
    let result = async {
        refuse_readonly(&ui)?;
        let entity = find_entity(&ui, &namespace, &kind, &name)?;
        let (origin, record) = origin_location(&ui, &entity).await?;
        let (rows, total) = entities_of_origin(&ui, &origin);
        let summary = entity_view::summary(&entity);
        let ctx = context! {
            entity => ser(&summary),
            location => origin,
            location_id => record.id,
            from_config => record.origin == LocationOrigin::Config,
            entities => ser(&rows),
            total => total,
        };
        ui.page(ui.shell("Unregister", "catalog"), "unregister.html", ctx)
    }
    .await;
    ui.respond(result)
}

/// `POST /catalog/{namespace}/{kind}/{name}/unregister` (form field `location_id`).
pub(crate) async fn unregister<S: CatalogStore>(
    ui: UiState<S>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    body: String,
) -> Response {
    let params = Params::parse(Some(&body));
    let result = async {
        ui.ensure_loaded()?;
        refuse_readonly(&ui)?;
        let Some(id) = params.get("location_id") else {
            return Err(UiError::Input(
                "The form did not say which location to unregister.".to_owned(),
            ));
        };
        let removed = ui
            .engine
            .unregister_location(id)
            .await
            .map_err(engine_error)?;
        let ctx = context! {
            entity_ref => format!("{kind}:{namespace}/{name}"),
            removed => removed,
        };
        ui.page(
            ui.shell("Unregistered", "catalog"),
            "unregistered.html",
            ctx,
        )
    }
    .await;
    ui.respond(result)
}

//! `/`: the home page — how many entities of each kind, the orphaned entities (their location
//! no longer lists them), and shortcuts to the main pages.

use axum::response::Response;
use minijinja::context;
use portico_catalog::read_model::{EntityQuery, OrderField, Predicate};
use portico_store::CatalogStore;
use serde::Serialize;

use super::UiState;
use crate::entity_view;
use crate::render::{Html, ser};
use crate::{Ui, UiError};

/// Orphans listed on the home page.
const ORPHANS_SHOWN: usize = 10;

#[derive(Debug, Serialize)]
struct KindCount {
    kind: String,
    count: usize,
    href: String,
}

/// `GET /`.
pub(crate) async fn page<S: CatalogStore>(ui: UiState<S>) -> Response {
    ui.respond(render(&ui))
}

fn render<S: CatalogStore>(ui: &Ui<S>) -> Result<Html, UiError> {
    ui.ensure_loaded()?;
    let read_model = ui.engine.read_model();
    let total = read_model.len();
    let mut kinds: Vec<KindCount> = read_model
        .facets(&["kind".to_owned()], &Predicate::MatchAll)
        .into_values()
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|fc| KindCount {
            href: format!("/catalog?kind={}", fc.value.to_lowercase()),
            kind: fc.value,
            count: fc.count,
        })
        .collect();
    kinds.sort_by(|a, b| a.kind.cmp(&b.kind));
    let orphan_filter = Predicate::equals(
        &format!(
            "metadata.annotations.{}",
            portico_model::stitch::ORPHAN_ANNOTATION
        ),
        "true",
    );
    let orphans = read_model
        .query(&EntityQuery {
            filter: orphan_filter,
            order: vec![OrderField::asc("metadata.name")],
            limit: ORPHANS_SHOWN,
            ..EntityQuery::default()
        })
        .map_err(|e| UiError::Internal(e.to_string()))?;
    drop(read_model);
    let orphan_rows: Vec<entity_view::Summary> = orphans
        .items
        .iter()
        .filter_map(|json| serde_json::from_str(json).ok())
        .map(|e: serde_json::Value| entity_view::summary(&e))
        .collect();
    let ctx = context! {
        total => total,
        kinds => ser(&kinds),
        orphans => ser(&orphan_rows),
        orphan_total => orphans.total_items,
    };
    ui.page(ui.shell("Home", "home"), "home.html", ctx)
}

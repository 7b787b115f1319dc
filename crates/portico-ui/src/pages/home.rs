//! `/`: the home page — how many entities of each kind, the entities changed most recently, the
//! entities with processing errors, the orphaned entities (their location no longer lists them),
//! and shortcuts to the main pages.
//!
//! The read model does not index `status` (Backstage's search table does not either), so finding
//! the entities with errors scans the stored JSON; the answer is kept for [`PROBLEMS_TTL`], so a
//! large catalog pays that scan at most once per interval.

use axum::response::Response;
use minijinja::context;
use portico_catalog::read_model::{EntityQuery, OrderField, Predicate};
use portico_store::CatalogStore;
use serde::Serialize;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::UiState;
use crate::entity_view::{self, Summary};
use crate::render::{Html, ser};
use crate::{Ui, UiError};
use portico_catalog::read_model::ReadModel;

/// Recently changed entities listed on the home page.
const RECENT_SHOWN: usize = 10;
/// Orphans listed on the home page.
const ORPHANS_SHOWN: usize = 10;
/// Entities with errors listed on the home page.
const PROBLEMS_SHOWN: usize = 10;
/// How long the list of entities with errors is reused.
const PROBLEMS_TTL: Duration = Duration::from_secs(30);

/// The last scan for entities with processing errors: when, the catalog size then, the first
/// few and how many.
#[derive(Debug, Default)]
pub(crate) struct ProblemCache(Mutex<Option<ProblemScan>>);

/// One scan for entities with processing errors.
#[derive(Debug)]
struct ProblemScan {
    at: Instant,
    /// Entities in the catalog then: a different count means the scan is stale.
    catalog_size: usize,
    shown: Vec<Summary>,
    total: usize,
}

impl ProblemCache {
    /// Forgets the last scan (after a change the viewer made, such as registering).
    pub(crate) fn invalidate(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Entities whose stored JSON has `status.items` (the stitcher writes it only for errors).
fn scan_problems(read_model: &ReadModel) -> (Vec<Summary>, usize) {
    let Ok(page) = read_model.query(&EntityQuery {
        filter: Predicate::MatchAll,
        order: vec![OrderField::asc("metadata.name")],
        limit: read_model.len(),
        ..EntityQuery::default()
    }) else {
        return (Vec::new(), 0);
    };
    let mut shown = Vec::new();
    let mut total = 0;
    for json in &page.items {
        if !json.contains("\"status\":{\"items\"") {
            continue;
        }
        total += 1;
        if shown.len() < PROBLEMS_SHOWN
            && let Ok(entity) = serde_json::from_str::<serde_json::Value>(json)
        {
            shown.push(entity_view::summary(&entity));
        }
    }
    (shown, total)
}

#[derive(Debug, Serialize)]
struct KindCount {
    kind: String,
    count: usize,
    href: String,
}

/// `GET /`.
pub(crate) async fn page<S: CatalogStore>(ui: UiState<S>) -> Response {
    let recent = recently_changed(&ui).await;
    ui.respond(recent.and_then(|recent| render(&ui, &recent)))
}

/// The entities written most recently, from the store's change order (the read model keeps no
/// change times).
async fn recently_changed<S: CatalogStore>(ui: &Ui<S>) -> Result<Vec<Summary>, UiError> {
    ui.ensure_loaded()?;
    let stored = ui
        .engine
        .store()
        .recently_changed(RECENT_SHOWN)
        .await
        .map_err(|e| UiError::Internal(e.to_string()))?;
    Ok(stored
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.final_json).ok())
        .map(|e| entity_view::summary(&e))
        .collect())
}

fn render<S: CatalogStore>(ui: &Ui<S>, recent: &[Summary]) -> Result<Html, UiError> {
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
    let (problems, problem_total) = {
        let mut cache = ui.problems.0.lock().unwrap_or_else(PoisonError::into_inner);
        match &*cache {
            Some(scan)
                if scan.at.elapsed() < PROBLEMS_TTL && scan.catalog_size == read_model.len() =>
            {
                (scan.shown.clone(), scan.total)
            }
            _ => {
                let (shown, total) = scan_problems(&read_model);
                *cache = Some(ProblemScan {
                    at: Instant::now(),
                    catalog_size: read_model.len(),
                    shown: shown.clone(),
                    total,
                });
                (shown, total)
            }
        }
    };
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
        recent => ser(&recent),
        orphans => ser(&orphan_rows),
        orphan_total => orphans.total_items,
        problems => ser(&problems),
        problem_total => problem_total,
    };
    ui.page(ui.shell("Home", "home"), "home.html", ctx)
}

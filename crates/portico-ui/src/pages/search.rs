//! `/search?q=`: the header's search box — entities whose name, title or description contains
//! the text, every kind, until the search engine provides ranked results.

use axum::extract::RawQuery;
use axum::response::Response;
use minijinja::context;
use portico_catalog::read_model::{EntityQuery, FullTextFilter, OrderField, Predicate};
use portico_store::CatalogStore;

use super::UiState;
use crate::entity_view;
use crate::params::{Params, query_string};
use crate::render::{Html, ser};
use crate::{Ui, UiError};

const RESULTS: usize = 50;

/// `GET /search`.
pub(crate) async fn page<S: CatalogStore>(ui: UiState<S>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    ui.respond(render(&ui, &params))
}

fn render<S: CatalogStore>(ui: &Ui<S>, params: &Params) -> Result<Html, UiError> {
    ui.ensure_loaded()?;
    let q = params.get("q").unwrap_or_default().to_owned();
    let mut results = Vec::new();
    let mut total = 0;
    if !q.is_empty() {
        let page = ui
            .engine
            .read_model()
            .query(&EntityQuery {
                filter: Predicate::MatchAll,
                order: vec![OrderField::asc("metadata.name")],
                full_text: Some(FullTextFilter {
                    term: q.clone(),
                    fields: vec![
                        "metadata.name".to_owned(),
                        "metadata.title".to_owned(),
                        "metadata.description".to_owned(),
                    ],
                }),
                limit: RESULTS,
                ..EntityQuery::default()
            })
            .map_err(|e| UiError::Input(e.to_string()))?;
        total = page.total_items;
        results = page
            .items
            .iter()
            .filter_map(|json| serde_json::from_str(json).ok())
            .map(|e: serde_json::Value| entity_view::summary(&e))
            .collect();
    }
    let mut shell = ui.shell(
        if q.is_empty() {
            "Search".to_owned()
        } else {
            format!("{q} — Search")
        },
        "search",
    );
    shell.search = q.clone();
    let catalog_href = format!(
        "/catalog?{}",
        query_string([("kind", "all"), ("q", q.as_str())])
    );
    let ctx = context! {
        q => q,
        results => ser(&results),
        total => total,
        catalog_href => catalog_href,
    };
    ui.page(shell, "search.html", ctx)
}

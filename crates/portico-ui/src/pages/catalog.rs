//! `/catalog` (every kind) and `/api-docs` (APIs only): the catalog table with a kind selector,
//! facet filters with counts, a text filter, sortable columns and server-side paging. Every
//! filter is in the URL; htmx asks for the `catalog-view` part only when a filter changes.
//!
//! Each facet's counts apply every other filter but its own (so checking `owner=a` still shows
//! how many entities `owner=b` would add), as faceted search usually does.

use axum::extract::RawQuery;
use axum::http::HeaderMap;
use axum::response::Response;
use minijinja::context;
use portico_catalog::read_model::{EntityQuery, FullTextFilter, OrderField, Predicate};
use portico_store::CatalogStore;
use serde::Serialize;

use super::{UiState, wants_fragment};
use crate::entity_view::{self, Summary};
use crate::params::{Params, query_string};
use crate::render::{Html, ser};
use crate::{Ui, UiError};

/// Rows per page unless the URL says otherwise.
const PAGE_SIZE: usize = 25;
/// Most rows per page.
const MAX_PAGE_SIZE: usize = 100;
/// Values listed per facet (the checked ones are always listed too).
const FACET_VALUES: usize = 12;
/// Values listed under "more" per facet; beyond them (thousands of owners at 100k entities) a
/// text input with suggestions takes over, so the page stays small.
const FACET_MORE: usize = 40;
/// Suggestions offered for a facet's text input.
const FACET_SUGGESTIONS: usize = 20;
/// The htmx target of filter changes.
const VIEW_ID: &str = "catalog-view";

/// A facet: its URL parameter, label and the read-model key it counts.
struct Facet {
    param: &'static str,
    label: &'static str,
    key: &'static str,
    /// Values are entity refs (shown without the default namespace).
    refs: bool,
}

const FACETS: &[Facet] = &[
    Facet {
        param: "type",
        label: "Type",
        key: "spec.type",
        refs: false,
    },
    Facet {
        param: "owner",
        label: "Owner",
        key: "relations.ownedBy",
        refs: true,
    },
    Facet {
        param: "lifecycle",
        label: "Lifecycle",
        key: "spec.lifecycle",
        refs: false,
    },
    Facet {
        param: "system",
        label: "System",
        key: "relations.partOf",
        refs: true,
    },
    Facet {
        param: "tag",
        label: "Tags",
        key: "metadata.tags",
        refs: false,
    },
    Facet {
        param: "namespace",
        label: "Namespace",
        key: "metadata.namespace",
        refs: false,
    },
];

/// A sortable column: URL value, label, read-model key.
struct Column {
    id: &'static str,
    label: &'static str,
    sort_key: Option<&'static str>,
}

const COL_NAME: Column = Column {
    id: "name",
    label: "Name",
    sort_key: Some("metadata.name"),
};
const COL_KIND: Column = Column {
    id: "kind",
    label: "Kind",
    sort_key: Some("kind"),
};
const COL_SYSTEM: Column = Column {
    id: "system",
    label: "System",
    sort_key: Some("spec.system"),
};
const COL_OWNER: Column = Column {
    id: "owner",
    label: "Owner",
    sort_key: Some("spec.owner"),
};
const COL_TYPE: Column = Column {
    id: "type",
    label: "Type",
    sort_key: Some("spec.type"),
};
const COL_LIFECYCLE: Column = Column {
    id: "lifecycle",
    label: "Lifecycle",
    sort_key: Some("spec.lifecycle"),
};
const COL_DESCRIPTION: Column = Column {
    id: "description",
    label: "Description",
    sort_key: None,
};
const COL_TAGS: Column = Column {
    id: "tags",
    label: "Tags",
    sort_key: None,
};

/// The columns that make sense for a kind (Backstage's defaults, roughly).
fn columns_for(kind: &str) -> Vec<Column> {
    match kind {
        "component" | "api" => vec![
            COL_NAME,
            COL_SYSTEM,
            COL_OWNER,
            COL_TYPE,
            COL_LIFECYCLE,
            COL_DESCRIPTION,
            COL_TAGS,
        ],
        "system" | "domain" => vec![COL_NAME, COL_OWNER, COL_DESCRIPTION, COL_TAGS],
        "resource" => vec![
            COL_NAME,
            COL_SYSTEM,
            COL_OWNER,
            COL_TYPE,
            COL_DESCRIPTION,
            COL_TAGS,
        ],
        "group" | "user" | "template" | "location" => {
            vec![COL_NAME, COL_TYPE, COL_DESCRIPTION, COL_TAGS]
        }
        _ => vec![
            COL_NAME,
            COL_KIND,
            COL_OWNER,
            COL_TYPE,
            COL_DESCRIPTION,
            COL_TAGS,
        ],
    }
}

/// The state of the table, from the URL.
#[derive(Debug, Clone)]
struct TableState {
    /// Lower-case kind, or empty for every kind.
    kind: String,
    /// `(facet param, values)` in [`FACETS`] order.
    filters: Vec<(&'static str, Vec<String>)>,
    q: String,
    sort: String,
    descending: bool,
    page: usize,
    limit: usize,
}

impl TableState {
    fn from_params(params: &Params, fixed_kind: Option<&str>) -> Self {
        let kind = match fixed_kind {
            Some(kind) => kind.to_owned(),
            None => match params.get("kind") {
                Some("all") => String::new(),
                Some(kind) => kind.to_lowercase(),
                None => "component".to_owned(),
            },
        };
        Self {
            kind,
            filters: FACETS
                .iter()
                .map(|f| (f.param, params.all(f.param)))
                .collect(),
            q: params.get("q").unwrap_or_default().to_owned(),
            sort: params.get("sort").unwrap_or("name").to_owned(),
            descending: params.get("dir") == Some("desc"),
            page: params
                .get("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .max(1),
            limit: params
                .get("limit")
                .and_then(|p| p.parse().ok())
                .unwrap_or(PAGE_SIZE)
                .clamp(1, MAX_PAGE_SIZE),
        }
    }

    /// The URL of this state (with `fixed_kind` pages leaving the kind out).
    fn href(&self, base: &str, fixed_kind: bool) -> String {
        let page = self.page.to_string();
        let limit = self.limit.to_string();
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if !fixed_kind {
            pairs.push((
                "kind",
                if self.kind.is_empty() {
                    "all"
                } else {
                    &self.kind
                },
            ));
        }
        for (param, values) in &self.filters {
            for value in values {
                pairs.push((param, value));
            }
        }
        pairs.push(("q", &self.q));
        if self.sort != "name" {
            pairs.push(("sort", &self.sort));
        }
        if self.descending {
            pairs.push(("dir", "desc"));
        }
        if self.page > 1 {
            pairs.push(("page", &page));
        }
        if self.limit != PAGE_SIZE {
            pairs.push(("limit", &limit));
        }
        let query = query_string(pairs);
        if query.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{query}")
        }
    }

    /// The predicate of the kind, the text-free filters, except the facet `skip`.
    fn predicate(&self, skip: Option<&str>) -> Predicate {
        let mut parts = Vec::new();
        if !self.kind.is_empty() {
            parts.push(Predicate::equals("kind", &self.kind));
        }
        for (facet, (param, values)) in FACETS.iter().zip(&self.filters) {
            if values.is_empty() || Some(*param) == skip {
                continue;
            }
            parts.push(Predicate::In {
                key: facet.key.to_owned(),
                values: values.clone(),
            });
        }
        Predicate::all(parts)
    }
}

#[derive(Debug, Serialize)]
struct FacetValueView {
    value: String,
    label: String,
    count: usize,
    checked: bool,
    id: String,
}

#[derive(Debug, Serialize)]
struct FacetView {
    param: &'static str,
    label: &'static str,
    values: Vec<FacetValueView>,
    more: Vec<FacetValueView>,
    /// Values listed nowhere (reachable through the text input).
    rest: usize,
}

#[derive(Debug, Serialize)]
struct ColumnView {
    id: &'static str,
    label: &'static str,
    sort_href: Option<String>,
    /// `ascending`, `descending` or `none` (`aria-sort`), when sortable.
    sorted: &'static str,
}

#[derive(Debug, Serialize)]
struct KindOption {
    value: String,
    label: String,
    count: usize,
    selected: bool,
}

#[derive(Debug, Serialize)]
struct ActiveFilter {
    label: String,
    remove_href: String,
}

/// `GET /catalog`.
pub(crate) async fn catalog_page<S: CatalogStore>(
    ui: UiState<S>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    ui.respond(table(&ui, &headers, &params, "/catalog", None))
}

/// `GET /api-docs`: the table of APIs.
pub(crate) async fn api_docs_page<S: CatalogStore>(
    ui: UiState<S>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    ui.respond(table(&ui, &headers, &params, "/api-docs", Some("api")))
}

fn table<S: CatalogStore>(
    ui: &Ui<S>,
    headers: &HeaderMap,
    params: &Params,
    base: &str,
    fixed_kind: Option<&str>,
) -> Result<Html, UiError> {
    ui.ensure_loaded()?;
    let state = TableState::from_params(params, fixed_kind);
    let fixed = fixed_kind.is_some();
    let columns = columns_for(&state.kind);
    let sort_column = columns
        .iter()
        .find(|c| c.id == state.sort && c.sort_key.is_some())
        .unwrap_or(&COL_NAME);
    let order = OrderField {
        field: sort_column.sort_key.unwrap_or("metadata.name").to_owned(),
        descending: state.descending,
    };
    let full_text = (!state.q.is_empty()).then(|| FullTextFilter {
        term: state.q.clone(),
        fields: vec![
            "metadata.name".to_owned(),
            "metadata.title".to_owned(),
            "metadata.description".to_owned(),
        ],
    });
    let query = EntityQuery {
        filter: state.predicate(None),
        order: vec![order],
        full_text,
        limit: state.limit,
        offset: Some((state.page - 1) * state.limit),
        cursor: None,
    };

    let read_model = ui.engine.read_model();
    let page = read_model
        .query(&query)
        .map_err(|e| UiError::Input(format!("This filter cannot be applied: {e}")))?;
    let kind_counts = read_model.facets(&["kind".to_owned()], &Predicate::MatchAll);
    let mut facets = Vec::new();
    for (facet, (param, checked)) in FACETS.iter().zip(&state.filters) {
        let counts = read_model.facets(&[facet.key.to_owned()], &state.predicate(Some(param)));
        let values = counts.into_values().next().unwrap_or_default();
        if values.is_empty() && checked.is_empty() {
            continue;
        }
        let mut shown = Vec::new();
        let mut more = Vec::new();
        let mut rest = 0;
        for (i, fc) in values.iter().enumerate() {
            let is_checked = checked.iter().any(|c| c.eq_ignore_ascii_case(&fc.value));
            let view = FacetValueView {
                label: if facet.refs {
                    entity_view::label_of_ref(&fc.value)
                } else {
                    fc.value.clone()
                },
                id: format!("f-{param}-{i}"),
                value: fc.value.clone(),
                count: fc.count,
                checked: is_checked,
            };
            if i < FACET_VALUES || is_checked {
                shown.push(view)
            } else if more.len() < FACET_MORE {
                more.push(view)
            } else {
                rest += 1;
            }
        }
        // A checked value nothing matches any more still shows, so it can be unchecked.
        for value in checked {
            if !values.iter().any(|fc| fc.value.eq_ignore_ascii_case(value)) {
                shown.push(FacetValueView {
                    label: if facet.refs {
                        entity_view::label_of_ref(value)
                    } else {
                        value.clone()
                    },
                    id: format!("f-{param}-x{}", shown.len()),
                    value: value.clone(),
                    count: 0,
                    checked: true,
                });
            }
        }
        facets.push(FacetView {
            param,
            label: facet.label,
            values: shown,
            more,
            rest,
        });
    }
    drop(read_model);

    let rows: Vec<Summary> = page
        .items
        .iter()
        .filter_map(|json| serde_json::from_str(json).ok())
        .map(|entity: serde_json::Value| entity_view::summary(&entity))
        .collect();

    let column_views: Vec<ColumnView> = columns
        .iter()
        .map(|c| {
            let is_sorted = c.id == sort_column.id;
            ColumnView {
                id: c.id,
                label: c.label,
                sort_href: c.sort_key.map(|_| {
                    let mut next = state.clone();
                    next.sort = c.id.to_owned();
                    next.descending = is_sorted && !state.descending;
                    next.page = 1;
                    next.href(base, fixed)
                }),
                sorted: match (c.sort_key.is_some(), is_sorted, state.descending) {
                    (false, _, _) => "",
                    (true, false, _) => "none",
                    (true, true, false) => "ascending",
                    (true, true, true) => "descending",
                },
            }
        })
        .collect();

    let mut kinds: Vec<KindOption> = kind_counts
        .into_values()
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|fc| KindOption {
            selected: fc.value.eq_ignore_ascii_case(&state.kind),
            value: fc.value.to_lowercase(),
            label: fc.value,
            count: fc.count,
        })
        .collect();
    kinds.sort_by(|a, b| a.label.cmp(&b.label));

    let mut active_filters = Vec::new();
    for (i, (_, values)) in state.filters.iter().enumerate() {
        for value in values {
            let mut next = state.clone();
            next.filters[i].1.retain(|v| v != value);
            next.page = 1;
            let facet = &FACETS[i];
            active_filters.push(ActiveFilter {
                label: format!(
                    "{}: {}",
                    facet.label,
                    if facet.refs {
                        entity_view::label_of_ref(value)
                    } else {
                        value.clone()
                    }
                ),
                remove_href: next.href(base, fixed),
            });
        }
    }
    let clear_href = {
        let mut next = state.clone();
        for filter in &mut next.filters {
            filter.1.clear();
        }
        next.q.clear();
        next.page = 1;
        next.href(base, fixed)
    };
    let from = if page.total_items == 0 {
        0
    } else {
        (state.page - 1) * state.limit + 1
    };
    let to = ((state.page - 1) * state.limit + rows.len()).min(page.total_items);
    let prev_href = (state.page > 1).then(|| {
        let mut next = state.clone();
        next.page -= 1;
        next.href(base, fixed)
    });
    let next_href = (to < page.total_items).then(|| {
        let mut next = state.clone();
        next.page += 1;
        next.href(base, fixed)
    });
    let kind_label = kinds.iter().find(|k| k.selected).map_or_else(
        || {
            if state.kind.is_empty() {
                "All".to_owned()
            } else {
                state.kind.clone()
            }
        },
        |k| k.label.clone(),
    );
    let title = if fixed {
        "APIs".to_owned()
    } else {
        format!("{kind_label} — Catalog")
    };
    let self_href = state.href(base, fixed);
    let ctx = context! {
        self_href => self_href,
        base => base,
        view_id => VIEW_ID,
        fixed_kind => fixed,
        kind => state.kind,
        kind_label => kind_label,
        kinds => ser(&kinds),
        q => state.q,
        sort => state.sort,
        dir => if state.descending { "desc" } else { "" },
        limit => state.limit,
        facets => ser(&facets),
        columns => ser(&column_views),
        rows => ser(&rows),
        total => page.total_items,
        from => from,
        to => to,
        prev_href => prev_href,
        next_href => next_href,
        active_filters => ser(&active_filters),
        clear_href => clear_href,
    };
    if wants_fragment(headers, VIEW_ID) {
        ui.fragment("catalog_view.html", ctx)
    } else {
        let shell = ui.shell(title, if fixed { "apis" } else { "catalog" });
        ui.page(shell, "catalog.html", ctx)
    }
}

/// One suggestion for a facet's text input.
#[derive(Debug, Serialize)]
struct Suggestion {
    value: String,
    label: String,
    count: usize,
}

/// `GET /catalog/facet-values?facet=<param>&kind=<kind>&<param>=<typed text>`: `<option>`s of
/// the facet's values containing the text (by value or label), most frequent first — the
/// suggestions of the text input a facet with many values shows.
pub(crate) async fn facet_values<S: CatalogStore>(
    ui: UiState<S>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    ui.respond(suggestions(&ui, &params))
}

fn suggestions<S: CatalogStore>(ui: &Ui<S>, params: &Params) -> Result<Html, UiError> {
    ui.ensure_loaded()?;
    let Some(facet) = params
        .get("facet")
        .and_then(|name| FACETS.iter().find(|f| f.param == name))
    else {
        return Err(UiError::Input(format!(
            "Unknown facet; use one of {}",
            FACETS
                .iter()
                .map(|f| f.param)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let typed = params.get(facet.param).unwrap_or_default().to_lowercase();
    let filter = match params.get("kind") {
        Some(kind) if kind != "all" => Predicate::equals("kind", &kind.to_lowercase()),
        _ => Predicate::MatchAll,
    };
    let counts = ui
        .engine
        .read_model()
        .facets(&[facet.key.to_owned()], &filter);
    let options: Vec<Suggestion> = counts
        .into_values()
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|fc| Suggestion {
            label: if facet.refs {
                entity_view::label_of_ref(&fc.value)
            } else {
                fc.value.clone()
            },
            value: fc.value,
            count: fc.count,
        })
        .filter(|s| {
            s.value.to_lowercase().contains(&typed) || s.label.to_lowercase().contains(&typed)
        })
        .take(FACET_SUGGESTIONS)
        .collect();
    ui.fragment("facet_options.html", context! { options => ser(&options) })
}

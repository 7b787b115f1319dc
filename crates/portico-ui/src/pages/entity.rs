//! The entity page (`/catalog/{namespace}/{kind}/{name}`): About card, status (processing
//! errors, orphan), relations grouped by type, and tabs — Overview, API (API entities),
//! Dependencies (relations graph), Docs, YAML — each at its own URL (`?tab=`). Groups and users
//! get members, parents/children and everything they own. `…/definition` serves an API's
//! definition as text, for the OpenAPI renderer.

use std::collections::{BTreeMap, HashSet, VecDeque};

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use portico_store::CatalogStore;
use serde::Serialize;
use serde_json::Value;

use super::UiState;
use crate::entity_view::{self, Summary};
use crate::graph;
use crate::params::Params;
use crate::render::{Html, ser};
use crate::{Ui, UiError};

/// Most related entities listed per relation type (the rest are counted).
const RELATED_PER_TYPE: usize = 100;
/// Most entities listed as owned by a group (directly or through child groups).
const OWNED_LIMIT: usize = 200;
/// Most groups walked below a group for what it owns.
const MAX_GROUPS: usize = 1000;

/// The annotations that point at a descriptor's source.
const SOURCE_LOCATION: &str = "backstage.io/source-location";
const VIEW_URL: &str = "backstage.io/view-url";
const EDIT_URL: &str = "backstage.io/edit-url";
const ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";
const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";

/// Relation types in the order the page shows them, with their headings.
const RELATION_LABELS: &[(&str, &str)] = &[
    ("ownedBy", "Owned by"),
    ("ownerOf", "Owns"),
    ("partOf", "Part of"),
    ("hasPart", "Has parts"),
    ("providesApi", "Provides APIs"),
    ("apiProvidedBy", "API provided by"),
    ("consumesApi", "Consumes APIs"),
    ("apiConsumedBy", "API consumed by"),
    ("dependsOn", "Depends on"),
    ("dependencyOf", "Dependency of"),
    ("memberOf", "Member of"),
    ("hasMember", "Members"),
    ("childOf", "Parent group"),
    ("parentOf", "Child groups"),
];

fn relation_label(relation_type: &str) -> String {
    RELATION_LABELS
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(relation_type))
        .map_or_else(|| relation_type.to_owned(), |(_, l)| (*l).to_owned())
}

#[derive(Debug, Serialize)]
struct Related {
    entity_ref: String,
    url: String,
    label: String,
    kind: String,
    title: String,
    /// Whether the target exists in the catalog.
    exists: bool,
}

#[derive(Debug, Serialize)]
struct RelationGroup {
    relation_type: String,
    label: String,
    items: Vec<Related>,
    hidden: usize,
}

#[derive(Debug, Serialize)]
struct Link {
    url: String,
    title: String,
}

#[derive(Debug, Serialize)]
struct Problem {
    message: String,
}

#[derive(Debug, Serialize)]
struct Tab {
    id: &'static str,
    label: &'static str,
    href: String,
    active: bool,
}

/// Reads the stored entity of a URL's parts.
pub(crate) fn find_entity<S: CatalogStore>(
    ui: &Ui<S>,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Result<Value, UiError> {
    ui.ensure_loaded()?;
    let entity_ref = format!("{kind}:{namespace}/{name}");
    let json = ui.engine.read_model().by_ref(&entity_ref).ok_or_else(|| {
        UiError::NotFound(format!(
            "No entity {entity_ref} in the catalog. It may have been renamed or unregistered."
        ))
    })?;
    serde_json::from_str(&json).map_err(|e| UiError::Internal(format!("stored entity: {e}")))
}

/// `GET /catalog/{namespace}/{kind}/{name}`.
pub(crate) async fn page<S: CatalogStore>(
    ui: UiState<S>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    ui.respond(render(&ui, &namespace, &kind, &name, &params))
}

/// `GET /catalog/{namespace}/{kind}/{name}/definition`: `spec.definition` as text.
pub(crate) async fn definition<S: CatalogStore>(
    ui: UiState<S>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
) -> Response {
    let entity = match find_entity(&ui, &namespace, &kind, &name) {
        Ok(entity) => entity,
        Err(err) => return ui.respond(Err(err)),
    };
    let Some(text) = entity.pointer("/spec/definition").and_then(Value::as_str) else {
        return ui.respond(Err(UiError::NotFound(
            "This entity has no spec.definition.".to_owned(),
        )));
    };
    let mut response = text.to_owned().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn tabs(base: &str, kind: &str, active: &str) -> Vec<Tab> {
    let mut tabs = vec![("overview", "Overview")];
    if kind.eq_ignore_ascii_case("api") {
        tabs.push(("api", "Definition"));
    }
    tabs.extend([
        ("dependencies", "Dependencies"),
        ("docs", "Docs"),
        ("yaml", "YAML"),
    ]);
    tabs.into_iter()
        .map(|(id, label)| Tab {
            id,
            label,
            href: if id == "overview" {
                base.to_owned()
            } else {
                format!("{base}?tab={id}")
            },
            active: id == active,
        })
        .collect()
}

fn render<S: CatalogStore>(
    ui: &Ui<S>,
    namespace: &str,
    kind: &str,
    name: &str,
    params: &Params,
) -> Result<Html, UiError> {
    let entity = find_entity(ui, namespace, kind, name)?;
    let summary = entity_view::summary(&entity);
    let tab = match params.get("tab").unwrap_or("overview") {
        t @ ("overview" | "dependencies" | "docs" | "yaml") => t,
        "api" if summary.kind.eq_ignore_ascii_case("api") => "api",
        other => {
            return Err(UiError::NotFound(format!(
                "This entity has no tab {other:?}; use overview, dependencies, docs or yaml."
            )));
        }
    };
    let annotation = |key: &str| {
        entity
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let problems: Vec<Problem> = entity
        .pointer("/status/items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|item| Problem {
            message: item
                .pointer("/error/message")
                .or_else(|| item.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("Processing error")
                .to_owned(),
        })
        .collect();
    let orphan = annotation(portico_model::stitch::ORPHAN_ANNOTATION) == "true";
    let links: Vec<Link> = entity
        .pointer("/metadata/links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let url = l.get("url")?.as_str()?;
            // Only web links become anchors; anything else (javascript:, data:) is text.
            let safe = url.starts_with("https://") || url.starts_with("http://");
            Some(Link {
                url: if safe { url.to_owned() } else { String::new() },
                title: l
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or(url)
                    .to_owned(),
            })
        })
        .collect();
    let source = web_url(annotation(SOURCE_LOCATION).trim_start_matches("url:"));
    let view_url = web_url(&annotation(VIEW_URL)).or_else(|| source.clone());
    let edit_url = web_url(&annotation(EDIT_URL));
    let domain = entity
        .pointer("/spec/domain")
        .and_then(Value::as_str)
        .map(|d| {
            let r = format!("domain:{}/{}", summary.namespace, d).to_lowercase();
            (entity_view::label_of_ref(&r), entity_view::url_of_ref(&r))
        });

    let base = summary.url.clone();
    let mut ctx = context! {
        entity => ser(&summary),
        description_html => crate::markdown::render(&summary.description),
        tabs => ser(&tabs(&base, &summary.kind, tab)),
        tab => tab,
        problems => ser(&problems),
        orphan => orphan,
        links => ser(&links),
        source_url => source,
        view_url => view_url,
        edit_url => edit_url,
        domain => ser(&domain),
        origin_location => annotation(ORIGIN_LOCATION),
        managed_by_location => annotation(MANAGED_BY_LOCATION),
        profile => ser(&entity.pointer("/spec/profile")),
        unregister_href => format!("{base}/unregister"),
    };
    match tab {
        "overview" => {
            let groups = relation_groups(ui, &entity);
            let owned = if summary.kind.eq_ignore_ascii_case("group") {
                owned_through_children(ui, &entity)
            } else {
                Vec::new()
            };
            ctx =
                context! { ..ctx, ..context! { relations => ser(&groups), owned => ser(&owned) } };
        }
        "api" => {
            let definition = entity
                .pointer("/spec/definition")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let asyncapi = summary
                .spec_type
                .eq_ignore_ascii_case("asyncapi")
                .then(|| crate::asyncapi::view(definition))
                .flatten();
            ctx = context! { ..ctx, ..context! {
                definition => definition,
                definition_url => format!("{base}/definition"),
                asyncapi => ser(&asyncapi),
                highlighted => minijinja::Value::from_safe_string(
                    crate::highlight::highlight(definition, &summary.spec_type),
                ),
            } };
        }
        "dependencies" => {
            let hops = params
                .get("hops")
                .and_then(|h| h.parse::<usize>().ok())
                .unwrap_or(1)
                .clamp(1, 3);
            let chosen = params.all("rel");
            let view =
                graph::neighbourhood(&ui.engine.read_model(), &summary.entity_ref, hops, &chosen);
            ctx = context! { ..ctx, ..context! {
                graph_svg => minijinja::Value::from_safe_string(view.svg),
                graph_nodes => view.node_count,
                graph_truncated => view.truncated,
                hops => hops,
                relation_choices => ser(&graph::relation_choices(&chosen)),
            } };
        }
        "docs" => {
            ctx = context! { ..ctx, ..context! {
                docs_ref => annotation(super::docs::TECHDOCS_REF),
                docs_href => super::docs::docs_url(&summary.namespace, &summary.kind, &summary.name),
            } };
        }
        "yaml" => {
            ctx = context! { ..ctx, ..context! { yaml => crate::yaml::to_yaml(&entity) } };
        }
        _ => {}
    }
    let title = format!(
        "{} — {}",
        if summary_title(&entity).is_empty() {
            name.to_owned()
        } else {
            summary_title(&entity)
        },
        entity.get("kind").and_then(Value::as_str).unwrap_or(kind)
    );
    let shell = ui.shell(title, "catalog");
    ui.page(shell, "entity.html", ctx)
}

fn summary_title(entity: &Value) -> String {
    entity
        .pointer("/metadata/title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `text` if it is an http(s) URL.
fn web_url(text: &str) -> Option<String> {
    (text.starts_with("https://") || text.starts_with("http://")).then(|| text.to_owned())
}

fn related<S: CatalogStore>(ui: &Ui<S>, target: &str) -> Related {
    let stored = ui.engine.read_model().by_ref(target);
    let title = stored
        .as_deref()
        .and_then(|json| serde_json::from_str::<Value>(json).ok())
        .map(|e| summary_title(&e))
        .unwrap_or_default();
    Related {
        entity_ref: target.to_owned(),
        url: entity_view::url_of_ref(target),
        label: entity_view::label_of_ref(target),
        kind: entity_view::kind_of_ref(target),
        title,
        exists: stored.is_some(),
    }
}

fn relation_groups<S: CatalogStore>(ui: &Ui<S>, entity: &Value) -> Vec<RelationGroup> {
    // Known types in RELATION_LABELS order, then any other type by name.
    let mut by_type: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
    for (relation_type, target) in entity_view::relations(entity) {
        let order = RELATION_LABELS
            .iter()
            .position(|(t, _)| t.eq_ignore_ascii_case(relation_type))
            .unwrap_or(RELATION_LABELS.len());
        by_type
            .entry((order, relation_type.to_owned()))
            .or_default()
            .push(target.to_owned());
    }
    by_type
        .into_iter()
        .map(|((_, relation_type), mut targets)| {
            targets.sort();
            targets.dedup();
            let hidden = targets.len().saturating_sub(RELATED_PER_TYPE);
            RelationGroup {
                label: relation_label(&relation_type),
                items: targets
                    .iter()
                    .take(RELATED_PER_TYPE)
                    .map(|t| related(ui, t))
                    .collect(),
                relation_type,
                hidden,
            }
        })
        .collect()
}

/// What a group owns, directly and through its child groups (breadth first, bounded).
fn owned_through_children<S: CatalogStore>(ui: &Ui<S>, group: &Value) -> Vec<Summary> {
    let mut owned = Vec::new();
    let mut seen_groups = HashSet::new();
    let mut queue = VecDeque::from([group.clone()]);
    while let Some(current) = queue.pop_front() {
        let current_ref = entity_view::summary(&current).entity_ref;
        if !seen_groups.insert(current_ref) {
            continue;
        }
        for (relation_type, target) in entity_view::relations(&current) {
            let wanted = (relation_type == "ownerOf" && owned.len() < OWNED_LIMIT)
                || (relation_type == "parentOf" && seen_groups.len() < MAX_GROUPS);
            if !wanted {
                continue;
            }
            let Some(json) = ui.engine.read_model().by_ref(target) else {
                continue;
            };
            let Ok(value) = serde_json::from_str::<Value>(&json) else {
                continue;
            };
            if relation_type == "ownerOf" && owned.len() < OWNED_LIMIT {
                owned.push(entity_view::summary(&value));
            } else if relation_type == "parentOf" {
                queue.push_back(value);
            }
        }
    }
    owned.sort_by(|a, b| {
        (a.kind.as_str(), a.name.as_str()).cmp(&(b.kind.as_str(), b.name.as_str()))
    });
    owned.dedup_by(|a, b| a.entity_ref == b.entity_ref);
    owned
}

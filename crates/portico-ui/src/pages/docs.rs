//! The TechDocs reader: `/docs`, the index of every entity with a `backstage.io/techdocs-ref`
//! annotation (filter by owner and kind, text search), and `/docs/:namespace/:kind/:name/*path`,
//! a built page inside the portal layout with the site's navigation, the page's table of
//! contents, in-site search (`?q=`, over the site's search index), previous/next, the "edit
//! this page" link and the last-built time. Pages come from the [`Publisher`]; their parts are
//! sanitized again by `portico_techdocs::embed` before they are shown. Other files of a site
//! (images) are served as they are, sandboxed. With the builder ([`Ui::with_builds`]) both
//! show the build state: a queued/building/failed/no-mkdocs.yml badge in the index, and on
//! the page the last build's warnings (file:line), the error of a failed build, or where the
//! missing `mkdocs.yml` was looked for.

use axum::extract::{Path, RawQuery};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use portico_catalog::read_model::{EntityQuery, FullTextFilter, OrderField, Predicate};
use portico_store::CatalogStore;
use portico_techdocs::{BuildStatus, EntityTriplet, Publisher};
use serde::Serialize;
use serde_json::Value;

use super::UiState;
use super::entity::find_entity;
use crate::entity_view;
use crate::params::Params;
use crate::render::{Html, ser};
use crate::{Ui, UiError};

/// The annotation that says where an entity's docs are.
pub(crate) const TECHDOCS_REF: &str = "backstage.io/techdocs-ref";

#[derive(Debug, Serialize)]
struct DocsRow {
    title: String,
    href: String,
    entity_href: String,
    kind: String,
    owner: String,
    description: String,
    built: String,
    /// The badge of a build that is not simply done (`Queued`, `Building`, `Failed`, `No
    /// mkdocs.yml`).
    state: Option<&'static str>,
}

/// The badge text of a build state worth showing.
fn state_label(state: &str) -> Option<&'static str> {
    match state {
        portico_store::BUILD_QUEUED => Some("Queued"),
        portico_store::BUILD_BUILDING => Some("Building"),
        portico_store::BUILD_FAILED => Some("Build failed"),
        portico_store::BUILD_NO_CONFIG => Some("No mkdocs.yml"),
        _ => None,
    }
}

/// The build states the builder knows (empty without a builder or when it cannot answer:
/// the page still shows what the publisher has).
async fn build_statuses<S: CatalogStore>(
    ui: &Ui<S>,
) -> std::collections::BTreeMap<String, BuildStatus> {
    let Some(builds) = &ui.builds else {
        return std::collections::BTreeMap::new();
    };
    match builds.statuses().await {
        Ok(statuses) => statuses,
        Err(err) => {
            tracing::warn!(error = %err, "TechDocs build states unavailable.");
            std::collections::BTreeMap::new()
        }
    }
}

async fn build_status<S: CatalogStore>(ui: &Ui<S>, entity_ref: &str) -> Option<BuildStatus> {
    let builds = ui.builds.as_ref()?;
    match builds.status(entity_ref.to_owned()).await {
        Ok(status) => status,
        Err(err) => {
            tracing::warn!(error = %err, "TechDocs build state unavailable.");
            None
        }
    }
}

/// `GET /docs`.
pub(crate) async fn index<S: CatalogStore>(ui: UiState<S>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref());
    ui.respond(render_index(&ui, &params).await)
}

/// Rows per page of the index.
const PAGE_SIZE: usize = 100;

/// The index answers from the read model's indexes: the documented set, the owner and kind
/// lists (facets) and the filtered, ordered page come from posting lists, and only the
/// entities of the page are parsed — so the cost of a request follows the page, not the
/// number of documented entities.
async fn render_index<S: CatalogStore>(ui: &Ui<S>, params: &Params) -> Result<Html, UiError> {
    ui.ensure_loaded()?;
    let q = params.get("q").unwrap_or_default().trim().to_lowercase();
    let owner = params.get("owner").unwrap_or_default().to_owned();
    let kind = params.get("kind").unwrap_or_default().to_owned();
    let page_number = params
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let documented = Predicate::Exists {
        key: format!("metadata.annotations.{TECHDOCS_REF}"),
    };
    let (total, owners, kinds, page) = {
        let model = ui.engine.read_model();
        let total = model.count(&documented);
        let facets = model.facets(&[OWNED_BY.to_owned(), "kind".to_owned()], &documented);
        let facet_values = |key: &str| -> Vec<String> {
            facets
                .get(key)
                .map(|counts| counts.iter().map(|c| c.value.clone()).collect())
                .unwrap_or_default()
        };
        let owner_refs = facet_values(OWNED_BY);
        let mut owners: Vec<String> = owner_refs
            .iter()
            .map(|r| entity_view::label_of_ref(r))
            .collect();
        owners.sort();
        owners.dedup();
        let mut kinds = facet_values("kind");
        kinds.sort();
        let mut filter = vec![documented.clone()];
        if !owner.is_empty() {
            filter.push(Predicate::In {
                key: OWNED_BY.to_owned(),
                values: owner_refs
                    .iter()
                    .filter(|r| entity_view::label_of_ref(r).eq_ignore_ascii_case(&owner))
                    .cloned()
                    .collect(),
            });
        }
        if !kind.is_empty() {
            filter.push(Predicate::equals("kind", &kind));
        }
        let query = EntityQuery {
            filter: Predicate::all(filter),
            order: vec![OrderField::asc("metadata.name")],
            full_text: (!q.is_empty()).then(|| FullTextFilter {
                term: q.clone(),
                fields: ["metadata.name", "metadata.title", "metadata.description"]
                    .map(str::to_owned)
                    .to_vec(),
            }),
            limit: PAGE_SIZE,
            offset: Some((page_number - 1).saturating_mul(PAGE_SIZE)),
            cursor: None,
        };
        let page = model
            .query(&query)
            .map_err(|err| UiError::Internal(err.to_string()))?;
        (total, owners, kinds, page)
    };
    let entities: Vec<Value> = page
        .items
        .iter()
        .filter_map(|json| serde_json::from_str(json).ok())
        .collect();
    let statuses = build_statuses(ui).await;
    let mut rows = Vec::new();
    for entity in &entities {
        let summary = entity_view::summary(entity);
        let title = if summary.title.is_empty() {
            summary.name.clone()
        } else {
            summary.title.clone()
        };
        let triplet = EntityTriplet::new(&summary.namespace, &summary.kind, &summary.name);
        let status = statuses.get(&entity_ref_of(
            &summary.namespace,
            &summary.kind,
            &summary.name,
        ));
        let built = match (status.and_then(|s| s.last_built_at), &ui.techdocs) {
            (Some(at), _) => Some(format_millis(u64::try_from(at).unwrap_or(0))),
            (None, Some(publisher)) => built_at(publisher.as_ref(), &triplet).await,
            (None, None) => None,
        };
        rows.push(DocsRow {
            href: docs_url(&summary.namespace, &summary.kind, &summary.name),
            entity_href: summary.url.clone(),
            title,
            kind: summary.kind.clone(),
            owner: summary.owner.clone(),
            description: summary.description.clone(),
            built: built.unwrap_or_else(|| "Not built yet".to_owned()),
            state: status.and_then(|s| state_label(&s.state)),
        });
    }
    let page_href = |number: usize| {
        let number = number.to_string();
        format!(
            "/docs?{}",
            crate::params::query_string([
                ("q", params.get("q").unwrap_or_default()),
                ("owner", owner.as_str()),
                ("kind", kind.as_str()),
                ("page", number.as_str()),
            ])
        )
    };
    let first = (page_number - 1) * PAGE_SIZE;
    let ctx = context! {
        rows => ser(&rows),
        total => total,
        matching => page.total_items,
        from => if rows.is_empty() { 0 } else { first + 1 },
        to => first + rows.len(),
        prev_href => (page_number > 1).then(|| page_href(page_number - 1)),
        next_href => page.next_cursor.is_some().then(|| page_href(page_number + 1)),
        owners => owners,
        kinds => kinds,
        q => params.get("q").unwrap_or_default(),
        owner => owner,
        kind => kind,
        configured => ui.techdocs.is_some(),
    };
    ui.page(ui.shell("Docs", "docs"), "docs_index.html", ctx)
}

/// The read model's key of an entity's owner refs (from the `ownedBy` relations).
const OWNED_BY: &str = "relations.ownedby";

/// The canonical ref the builder records an entity under.
fn entity_ref_of(namespace: &str, kind: &str, name: &str) -> String {
    portico_model::EntityRef::new(kind, namespace, name)
        .canonical()
        .to_owned()
}

/// The reader URL of an entity's docs (its site root).
pub(crate) fn docs_url(namespace: &str, kind: &str, name: &str) -> String {
    format!(
        "/docs/{}/{}/{}/",
        namespace.to_lowercase(),
        kind.to_lowercase(),
        name.to_lowercase()
    )
}

async fn built_at(publisher: &dyn Publisher, triplet: &EntityTriplet) -> Option<String> {
    let metadata = publisher.metadata(triplet).ok().flatten()?;
    Some(format_millis(metadata.build_timestamp))
}

/// `YYYY-MM-DD HH:MM UTC` of milliseconds since the epoch.
fn format_millis(millis: u64) -> String {
    let secs = millis / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// `GET /docs/{namespace}/{kind}/{name}`: the site root wants its trailing slash, so that the
/// site's relative links resolve under it.
pub(crate) async fn root_redirect(
    Path((namespace, kind, name)): Path<(String, String, String)>,
) -> Response {
    Redirect::permanent(&docs_url(&namespace, &kind, &name)).into_response()
}

/// `GET /docs/{namespace}/{kind}/{name}/`.
pub(crate) async fn root<S: CatalogStore>(
    ui: UiState<S>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    reader(&ui, (namespace, kind, name), String::new(), query).await
}

/// `GET /docs/{namespace}/{kind}/{name}/{*path}`.
pub(crate) async fn page<S: CatalogStore>(
    ui: UiState<S>,
    Path((namespace, kind, name, path)): Path<(String, String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    reader(&ui, (namespace, kind, name), path, query).await
}

#[derive(Debug, Serialize)]
struct SearchHit {
    title: String,
    href: String,
    text: String,
}

async fn reader<S: CatalogStore>(
    ui: &Ui<S>,
    (namespace, kind, name): (String, String, String),
    path: String,
    query: Option<String>,
) -> Response {
    let entity = match find_entity(ui, &namespace, &kind, &name) {
        Ok(entity) => entity,
        Err(err) => return ui.respond(Err(err)),
    };
    let Some(publisher) = ui.techdocs.clone() else {
        return ui.respond(Err(UiError::NotFound(
            "TechDocs is not configured on this server.".to_owned(),
        )));
    };
    let triplet = EntityTriplet::new(&namespace, &kind, &name);
    let status = build_status(ui, &entity_ref_of(&namespace, &kind, &name)).await;
    let is_page = path.is_empty() || path.ends_with('/') || path.ends_with(".html") || {
        let last = path.rsplit('/').next().unwrap_or_default();
        !last.contains('.')
    };
    let bytes = match publisher.read(&triplet, &path) {
        Ok(Some(bytes)) => bytes,
        Ok(None) if path.is_empty() => {
            let why = match status
                .as_ref()
                .map(|s| (s.state.as_str(), s.error.as_deref()))
            {
                Some((portico_store::BUILD_FAILED, Some(error))) => {
                    format!("The last build failed: {error}")
                }
                Some((portico_store::BUILD_NO_CONFIG, Some(error))) => {
                    format!("Nothing to build: {error}.")
                }
                Some((portico_store::BUILD_QUEUED | portico_store::BUILD_BUILDING, _)) => {
                    "A build is under way; reload in a moment.".to_owned()
                }
                _ => "Build them with `portico techdocs publish` (or wait for the next build) \
                      and reload."
                    .to_owned(),
            };
            return ui.respond(Err(UiError::NotFound(format!(
                "The docs of {kind}:{namespace}/{name} have not been built yet. {why}"
            ))));
        }
        Ok(None) => {
            return ui.respond(Err(UiError::NotFound(format!(
                "No page {path:?} in the docs of {kind}:{namespace}/{name}."
            ))));
        }
        Err(err) => return ui.respond(Err(UiError::NotFound(err.to_string()))),
    };
    if !is_page {
        return site_file(&path, bytes);
    }
    if !path.is_empty() && !path.ends_with('/') && !path.ends_with(".html") {
        // A page folder without its slash: relative links need it.
        return Redirect::permanent(&format!("{}{path}/", docs_url(&namespace, &kind, &name)))
            .into_response();
    }
    let html = String::from_utf8_lossy(&bytes);
    let Some(parts) = portico_techdocs::embed::page_parts(&html) else {
        // Not a page the builder wrote (an HTML file an author added): never embedded.
        return site_file(&path, bytes);
    };
    let metadata = publisher.metadata(&triplet).ok().flatten();
    let site_name = metadata
        .as_ref()
        .map(|m| m.site_name.clone())
        .unwrap_or_else(|| name.clone());
    let root = docs_url(&namespace, &kind, &name);
    let params = Params::parse(query.as_deref());
    let q = params.get("q").unwrap_or_default().trim().to_owned();
    let hits = if q.is_empty() {
        Vec::new()
    } else {
        search(publisher.as_ref(), &triplet, &root, &q)
    };
    let summary = entity_view::summary(&entity);
    let ctx = context! {
        site_name => site_name.clone(),
        root => root,
        entity => ser(&summary),
        site_nav => minijinja::Value::from_safe_string(parts.nav),
        toc => minijinja::Value::from_safe_string(parts.toc),
        content => minijinja::Value::from_safe_string(parts.content),
        footer => minijinja::Value::from_safe_string(parts.footer),
        edit_url => parts.edit_url,
        built => status
            .as_ref()
            .and_then(|s| s.last_built_at)
            .map(|at| format_millis(u64::try_from(at).unwrap_or(0)))
            .or_else(|| metadata.as_ref().map(|m| format_millis(m.build_timestamp))),
        build_state => status.as_ref().and_then(|s| state_label(&s.state)),
        no_config => status.as_ref().is_some_and(|s| s.state == portico_store::BUILD_NO_CONFIG),
        build_error => status.as_ref().and_then(|s| s.error.clone()),
        warnings => status
            .as_ref()
            .map(|s| s.warnings.iter().map(ToString::to_string).collect::<Vec<_>>())
            .unwrap_or_default(),
        q => q,
        hits => ser(&hits),
    };
    let title = format!("{site_name} — Docs");
    ui.respond(ui.page(ui.shell(title, "docs"), "docs_page.html", ctx))
}

/// Pages and sections of the site's search index whose title or text contains `q`.
fn search(
    publisher: &dyn Publisher,
    triplet: &EntityTriplet,
    root: &str,
    q: &str,
) -> Vec<SearchHit> {
    let Ok(Some(bytes)) = publisher.read(triplet, "search/search_index.json") else {
        return Vec::new();
    };
    let Ok(index) = serde_json::from_slice::<Value>(&bytes) else {
        return Vec::new();
    };
    let needle = q.to_lowercase();
    index
        .get("docs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|doc| {
            let title = doc.get("title")?.as_str()?;
            let text = doc.get("text").and_then(Value::as_str).unwrap_or_default();
            let location = doc.get("location")?.as_str()?;
            let matches =
                title.to_lowercase().contains(&needle) || text.to_lowercase().contains(&needle);
            // Locations are relative to the site root; anything else is not ours to link.
            let safe = !location.contains(':') && !location.starts_with('/');
            (matches && safe).then(|| SearchHit {
                title: title.to_owned(),
                href: format!("{root}{location}"),
                text: text.chars().take(200).collect(),
            })
        })
        .take(20)
        .collect()
}

/// A non-page file of a site, as it is; sandboxed, because it is author content on the
/// portal's origin (an SVG could carry script).
fn site_file(path: &str, bytes: Vec<u8>) -> Response {
    let content_type = match path.rsplit('.').next().unwrap_or_default() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
        ),
    );
    response
}

/// `GET /docs-content.css`: highlighting, admonitions and tabs for embedded pages.
pub(crate) async fn content_css() -> Response {
    let mut css = portico_techdocs::highlight::stylesheet();
    css.push_str(CONTENT_CSS);
    for n in 1..=20 {
        css.push_str(&format!(
            ".docs-content .tabbed-set > input:nth-child({n}):checked ~ .tabbed-content > .tabbed-block:nth-child({n}) {{ display: block; }}\n"
        ));
    }
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], css).into_response()
}

const CONTENT_CSS: &str = "
.docs-content .admonition, .docs-content details { border-left: 4px solid #0969da; padding: 0 1rem; margin: 1rem 0; }
.docs-content .admonition-title, .docs-content details > summary { font-weight: 600; }
.docs-content .tabbed-set > input { display: none; }
.docs-content .tabbed-labels { display: flex; gap: 1rem; }
.docs-content .tabbed-labels > label { cursor: pointer; }
.docs-content .tabbed-block { display: none; }
.docs-content pre { overflow-x: auto; padding: 0.8rem; }
.docs-content .headerlink { margin-left: 0.4rem; text-decoration: underline; }
.docs-nav ul { list-style: none; padding-left: 0.75rem; margin: 0; }
.docs-nav .md-nav__link--active { font-weight: 600; }
.docs-nav .md-nav__link--section { display: none; }
.docs-layout { display: grid; grid-template-columns: 14rem minmax(0, 1fr) 12rem; gap: 1.5rem; }
@media (max-width: 60rem) { .docs-layout { grid-template-columns: 1fr; } }
.docs-footer { display: flex; justify-content: space-between; gap: 1rem; }
";

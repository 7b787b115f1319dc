//! Entity routes: list (`GET /entities`, streamed when unpaged), paginated queries (GET and
//! POST `/entities/by-query`), batch and single lookups, deletion, facets, refresh, validation.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, LINK};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use portico_catalog::read_model::{EntityQuery, FullTextFilter, OrderField, Predicate};
use portico_model::{EntityRef, KindRegistry, RefDefaults, validate_entity};
use portico_plugin_api::Permission;
use portico_store::CatalogStore;
use serde_json::{Map, Value, json};

use super::{MAX_PAGE_SIZE, entity_array, entity_text, json_text};
use crate::body::{JsonObject, QueryParams};
use crate::error::ApiError;
use crate::{AppState, Caller};

type AppStateRef<S> = State<Arc<AppState<S>>>;

/// Items per internal page when streaming a whole list.
const STREAM_PAGE: usize = 1_000;
/// Default page size of `by-query` (Backstage's OpenAPI document).
const DEFAULT_QUERY_LIMIT: usize = 20;

/// `order=asc:<field>` / `order=desc:<field>`.
fn parse_order(values: &[String]) -> Result<Vec<OrderField>, ApiError> {
    values
        .iter()
        .map(|v| {
            let (direction, field) = v.split_once(':').unwrap_or(("", ""));
            match (direction, field.trim()) {
                ("asc", field) if !field.is_empty() => Ok(OrderField::asc(field)),
                ("desc", field) if !field.is_empty() => Ok(OrderField::desc(field)),
                _ => Err(ApiError::input(format!(
                    "Invalid order parameter {v:?}, expected asc:<field> or desc:<field>"
                ))),
            }
        })
        .collect()
}

/// `orderField=<field>,asc|desc`.
fn parse_order_fields(values: &[String]) -> Result<Vec<OrderField>, ApiError> {
    values
        .iter()
        .map(|v| {
            let (field, direction) = v.split_once(',').unwrap_or((v.as_str(), "asc"));
            let field = field.trim();
            if field.is_empty() {
                return Err(ApiError::input(format!(
                    "Invalid orderField {v:?}, expected <field>[,asc|desc]"
                )));
            }
            match direction.trim() {
                "asc" => Ok(OrderField::asc(field)),
                "desc" => Ok(OrderField::desc(field)),
                _ => Err(ApiError::input(
                    "Invalid order field order, must be asc or desc",
                )),
            }
        })
        .collect()
}

fn page_limit(limit: Option<usize>, default: usize) -> Result<usize, ApiError> {
    match limit {
        Some(0) => Err(ApiError::input("Invalid limit, must be a positive integer")),
        Some(n) => Ok(n.min(MAX_PAGE_SIZE)),
        None => Ok(default),
    }
}

/// `GET /entities`: a bare array; paged with `limit`/`offset`/`after` (and a `Link` header to
/// the next page), otherwise the whole result streamed in pages.
pub async fn list<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_READ, None)?;
    let params = QueryParams::parse(query.as_deref());
    let filter = Predicate::from_filter_params(&params.all("filter"))?;
    let fields = params.list("fields");
    let order = parse_order(&params.all("order"))?;
    let offset = params.number("offset")?;
    let limit = params.number("limit")?;
    let after = params.one("after").map(str::to_owned);
    if after.as_deref() == Some("") {
        return Err(ApiError::input("Invalid after, must be a non-empty cursor"));
    }
    if limit.is_none() && offset.is_none() && after.is_none() {
        return Ok(stream_all(state, filter, order, fields));
    }
    let query = EntityQuery {
        filter,
        order,
        limit: page_limit(limit, MAX_PAGE_SIZE)?,
        offset,
        cursor: after,
        ..EntityQuery::default()
    };
    let page = state.engine.read_model().query(&query)?;
    let mut response = json_text(StatusCode::OK, entity_array(&page.items, &fields)?);
    if let Some(next) = page.next_cursor {
        let mut next_query = url::form_urlencoded::Serializer::new(String::new());
        for key in ["fields", "limit"] {
            for value in params.all(key) {
                next_query.append_pair(key, &value);
            }
        }
        next_query.append_pair("after", &next);
        let link = format!("</entities?{}>; rel=\"next\"", next_query.finish());
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(LINK, value);
        }
    }
    Ok(response)
}

/// Where [`stream_all`] is.
enum ListStep {
    /// Write the next page of this query (`[` first if not `opened`; a comma before each item
    /// if `any` item was written already).
    Page {
        query: EntityQuery,
        opened: bool,
        any: bool,
    },
    /// Write `]`.
    Close,
    /// Nothing more.
    Done,
}

/// The whole result of a list, written page by page so memory stays bounded.
fn stream_all<S: CatalogStore>(
    state: Arc<AppState<S>>,
    filter: Predicate,
    order: Vec<OrderField>,
    fields: Vec<String>,
) -> Response {
    let first = EntityQuery {
        filter,
        order,
        limit: STREAM_PAGE,
        ..EntityQuery::default()
    };
    let chunks = stream::unfold(
        ListStep::Page {
            query: first,
            opened: false,
            any: false,
        },
        move |step| {
            let state = Arc::clone(&state);
            let fields = fields.clone();
            async move {
                let (query, opened, mut any) = match step {
                    ListStep::Done => return None,
                    ListStep::Close => return Some((Ok(Bytes::from_static(b"]")), ListStep::Done)),
                    ListStep::Page { query, opened, any } => (query, opened, any),
                };
                let page = state.engine.read_model().query(&query);
                let page = match page {
                    Ok(page) => page,
                    Err(err) => {
                        return Some((Err(std::io::Error::other(err.to_string())), ListStep::Done));
                    }
                };
                let mut chunk = String::new();
                if !opened {
                    chunk.push('[');
                }
                for item in &page.items {
                    if any {
                        chunk.push(',');
                    }
                    any = true;
                    match entity_text(item, &fields) {
                        Ok(text) => chunk.push_str(&text),
                        Err(err) => {
                            return Some((Err(std::io::Error::other(err.message)), ListStep::Done));
                        }
                    }
                }
                let next = match page.next_cursor {
                    Some(cursor) => ListStep::Page {
                        query: EntityQuery {
                            limit: STREAM_PAGE,
                            cursor: Some(cursor),
                            ..EntityQuery::default()
                        },
                        opened: true,
                        any,
                    },
                    None => ListStep::Close,
                };
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(chunk)), next))
            }
        },
    );
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json")],
        Body::from_stream(chunks),
    )
        .into_response()
}

fn query_page_json<S: CatalogStore>(
    state: &AppState<S>,
    query: &EntityQuery,
    fields: &[String],
) -> Result<Response, ApiError> {
    let page = state.engine.read_model().query(query)?;
    let mut page_info = Map::new();
    if let Some(next) = page.next_cursor {
        page_info.insert("nextCursor".to_owned(), Value::from(next));
    }
    if let Some(prev) = page.prev_cursor {
        page_info.insert("prevCursor".to_owned(), Value::from(prev));
    }
    let text = format!(
        "{{\"items\":{},\"totalItems\":{},\"pageInfo\":{}}}",
        entity_array(&page.items, fields)?,
        page.total_items,
        Value::Object(page_info)
    );
    Ok(json_text(StatusCode::OK, text))
}

/// `GET /entities/by-query`.
pub async fn query_get<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_READ, None)?;
    let params = QueryParams::parse(query.as_deref());
    let fields = params.list("fields");
    let term = params
        .one("fullTextFilterTerm")
        .unwrap_or("")
        .trim()
        .to_owned();
    let query = EntityQuery {
        filter: Predicate::from_filter_params(&params.all("filter"))?,
        order: parse_order_fields(&params.all("orderField"))?,
        full_text: (!term.is_empty()).then(|| FullTextFilter {
            term,
            fields: params.list("fullTextFilterFields"),
        }),
        limit: page_limit(params.number("limit")?, DEFAULT_QUERY_LIMIT)?,
        offset: params.number("offset")?,
        cursor: params
            .one("cursor")
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    };
    query_page_json(&state, &query, &fields)
}

fn string_list(body: &Map<String, Value>, key: &str) -> Result<Vec<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::input(format!(
                        "Malformed request: {key} must be an array of strings"
                    ))
                })
            })
            .collect(),
        Some(_) => Err(ApiError::input(format!(
            "Malformed request: {key} must be an array of strings"
        ))),
    }
}

fn optional_number(body: &Map<String, Value>, key: &str) -> Result<Option<usize>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::input(format!(
                    "Malformed request: {key} must be a non-negative integer"
                ))
            }),
    }
}

/// `POST /entities/by-query` with the v1.50 predicate language.
pub async fn query_post<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_READ, None)?;
    let filter = match body.get("query") {
        None | Some(Value::Null) => Predicate::MatchAll,
        Some(query) => Predicate::from_json(query)?,
    };
    let mut order = Vec::new();
    if let Some(items) = body.get("orderBy").and_then(Value::as_array) {
        for item in items {
            let field = item
                .get("field")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim();
            if field.is_empty() {
                return Err(ApiError::input(
                    "Malformed request: orderBy entries need a field",
                ));
            }
            match item.get("order").and_then(Value::as_str).unwrap_or("asc") {
                "asc" => order.push(OrderField::asc(field)),
                "desc" => order.push(OrderField::desc(field)),
                _ => {
                    return Err(ApiError::input(
                        "Invalid order field order, must be asc or desc",
                    ));
                }
            }
        }
    }
    if order.is_empty() {
        order = parse_order_fields(&string_list(&body, "orderField")?)?;
    }
    let full_text = match body.get("fullTextFilter") {
        Some(Value::Object(filter)) => {
            let term = filter
                .get("term")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_owned();
            (!term.is_empty())
                .then(|| -> Result<FullTextFilter, ApiError> {
                    Ok(FullTextFilter {
                        term,
                        fields: string_list(filter, "fields")?,
                    })
                })
                .transpose()?
        }
        None | Some(Value::Null) => None,
        Some(_) => {
            return Err(ApiError::input(
                "Malformed request: fullTextFilter must be an object",
            ));
        }
    };
    let query = EntityQuery {
        filter,
        order,
        full_text,
        limit: page_limit(optional_number(&body, "limit")?, DEFAULT_QUERY_LIMIT)?,
        offset: optional_number(&body, "offset")?,
        cursor: body
            .get("cursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    };
    query_page_json(&state, &query, &string_list(&body, "fields")?)
}

/// `POST /entities/by-refs`: `{items}` in the order asked, `null` where missing.
pub async fn by_refs<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    RawQuery(query): RawQuery,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_READ, None)?;
    let params = QueryParams::parse(query.as_deref());
    let filter = Predicate::from_filter_params(&params.all("filter"))?;
    let refs = match body.get("entityRefs") {
        Some(Value::Array(_)) => string_list(&body, "entityRefs")?,
        _ => {
            return Err(ApiError::input(
                "Malformed request: entityRefs must be an array of strings",
            ));
        }
    };
    if refs.len() > MAX_PAGE_SIZE {
        return Err(ApiError::input(format!(
            "Malformed request: at most {MAX_PAGE_SIZE} entityRefs at a time"
        )));
    }
    let fields = string_list(&body, "fields")?;
    let model = state.engine.read_model();
    let allowed: Option<Vec<String>> = match filter {
        Predicate::MatchAll => None,
        ref filter => Some(model.refs_matching(filter)),
    };
    let mut out = String::from("{\"items\":[");
    for (i, text) in refs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let canonical = EntityRef::parse(text, RefDefaults::default())
            .map_err(|err| ApiError::input(err.to_string()))?;
        let entity = model.by_ref(canonical.canonical()).filter(|_| {
            allowed.as_ref().is_none_or(|refs| {
                refs.binary_search(&canonical.canonical().to_owned())
                    .is_ok()
            })
        });
        match entity {
            Some(stored) => out.push_str(&entity_text(&stored, &fields)?),
            None => out.push_str("null"),
        }
    }
    out.push_str("]}");
    Ok(json_text(StatusCode::OK, out))
}

/// `GET /entities/by-uid/:uid`.
pub async fn by_uid<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_READ, None)?;
    let stored = state.engine.read_model().by_uid(&uid);
    match stored {
        Some(stored) => Ok(json_text(StatusCode::OK, stored.to_string())),
        None => Err(ApiError::not_found(format!("No entity with uid {uid}"))),
    }
}

/// `DELETE /entities/by-uid/:uid`.
pub async fn delete_by_uid<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_DELETE, None)?;
    if state.engine.delete_entity(&uid).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!("No entity with uid {uid}")))
    }
}

/// `GET /entities/by-name/:kind/:namespace/:name` (case-insensitive).
pub async fn by_name<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_READ, None)?;
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let stored = state.engine.read_model().by_ref(entity_ref.canonical());
    match stored {
        Some(stored) => Ok(json_text(StatusCode::OK, stored.to_string())),
        None => Err(ApiError::not_found(format!(
            "No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"
        ))),
    }
}

fn facets_json<S: CatalogStore>(
    state: &AppState<S>,
    facets: &[String],
    filter: &Predicate,
) -> Response {
    let counts = state.engine.read_model().facets(facets, filter);
    let mut out = Map::new();
    for facet in facets {
        let values: Vec<Value> = counts
            .get(facet)
            .map(|list| {
                list.iter()
                    .map(|c| json!({"value": c.value, "count": c.count}))
                    .collect()
            })
            .unwrap_or_default();
        out.insert(facet.clone(), Value::Array(values));
    }
    json_text(StatusCode::OK, json!({ "facets": out }).to_string())
}

/// `GET /entity-facets?facet=…&filter=…`.
pub async fn facets_get<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_READ, None)?;
    let params = QueryParams::parse(query.as_deref());
    let facets: Vec<String> = params
        .all("facet")
        .into_iter()
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    if facets.is_empty() {
        return Err(ApiError::input("Missing facet parameter, e.g. ?facet=kind"));
    }
    let filter = Predicate::from_filter_params(&params.all("filter"))?;
    Ok(facets_json(&state, &facets, &filter))
}

/// `POST /entity-facets` with `{facets, query?}`.
pub async fn facets_post<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_READ, None)?;
    let facets = string_list(&body, "facets")?;
    if facets.is_empty() {
        return Err(ApiError::input(
            "Malformed request: facets must be a non-empty array of strings",
        ));
    }
    let filter = match body.get("query") {
        None | Some(Value::Null) => Predicate::MatchAll,
        Some(query) => Predicate::from_json(query)?,
    };
    Ok(facets_json(&state, &facets, &filter))
}

/// `POST /refresh` with `{entityRef}`: re-reads the entity's source (and its Location file)
/// before answering.
pub async fn refresh<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_REFRESH, None)?;
    let Some(text) = body.get("entityRef").and_then(Value::as_str) else {
        return Err(ApiError::input(
            "Malformed request: entityRef must be a string",
        ));
    };
    let entity_ref = EntityRef::parse(text, RefDefaults::default())
        .map_err(|err| ApiError::input(err.to_string()))?;
    if state.engine.refresh_entity(entity_ref.canonical()).await? {
        Ok(StatusCode::OK.into_response())
    } else {
        Err(ApiError::not_found(format!(
            "Entity {entity_ref} not found"
        )))
    }
}

/// `POST /validate-entity` with `{entity, location}`: 200, or 400 with `{errors}`.
pub async fn validate<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_VALIDATE, None)?;
    let location = body.get("location").and_then(Value::as_str).unwrap_or("");
    if !location.starts_with("url:") {
        return Err(ApiError::input(
            "Malformed request: location must be a string of the form url:<target>",
        ));
    }
    let Some(entity) = body.get("entity").filter(|e| e.is_object()) else {
        return Err(ApiError::input(
            "Malformed request: entity must be an object",
        ));
    };
    match validate_entity(entity, &KindRegistry::builtin()) {
        Ok(_) => Ok(StatusCode::OK.into_response()),
        Err(issues) => {
            let errors: Vec<Value> = issues
                .iter()
                .map(|issue| json!({"name": "InputError", "message": format!("{}: {issue}", issue.path)}))
                .collect();
            Ok((
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "errors": errors })),
            )
                .into_response())
        }
    }
}

/// `GET /entities/by-name/:kind/:namespace/:name/ancestry`: the chain of Location entities
/// through which the entity was found, up to the registered location.
pub async fn ancestry<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_ENTITY_READ, None)?;
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let not_found = || {
        ApiError::not_found(format!(
            "No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"
        ))
    };
    let chain = state
        .engine
        .ancestry(entity_ref.canonical())
        .await?
        .ok_or_else(not_found)?;
    let root = chain.last().map(|(r, _)| r.clone()).unwrap_or_default();
    let model = state.engine.read_model();
    let mut items = Vec::with_capacity(chain.len());
    for (entity_ref, parents) in &chain {
        let Some(stored) = model.by_ref(entity_ref) else {
            continue;
        };
        let entity: Value = serde_json::from_str(&stored).map_err(ApiError::internal)?;
        items.push(json!({"entity": entity, "parentEntityRefs": parents}));
    }
    if items.is_empty() {
        return Err(not_found());
    }
    Ok(axum::Json(json!({"rootEntityRef": root, "items": items})).into_response())
}

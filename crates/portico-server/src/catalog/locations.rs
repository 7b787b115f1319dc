//! Location routes: register (with `dryRun`), list, get, unregister, and the location an entity
//! came from. `catalog.readonly` refuses registering and unregistering, as Backstage does.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_catalog::read_model::Predicate;
use portico_model::EntityRef;
use portico_plugin_api::Permission;
use portico_store::{CatalogStore, LocationOrigin, LocationRecord};
use serde_json::{Value, json};

use crate::body::{JsonObject, QueryParams};
use crate::error::ApiError;
use crate::{AppState, Caller};

type AppStateRef<S> = State<Arc<AppState<S>>>;

const READONLY: &str = "This operation not allowed in readonly mode";

/// `{type, target}` of a request body.
fn location_input(body: &serde_json::Map<String, Value>) -> Result<(&str, &str), ApiError> {
    match (
        body.get("type").and_then(Value::as_str),
        body.get("target").and_then(Value::as_str),
    ) {
        (Some(location_type), Some(target)) => Ok((location_type, target)),
        _ => Err(ApiError::input(
            "Malformed request: expected {\"type\": \"url\" | \"file\", \"target\": \"…\"}",
        )),
    }
}

fn location_json(location: &LocationRecord) -> Value {
    json!({"id": location.id, "type": location.location_type, "target": location.target})
}

/// `GET /locations`: `[{data: Location}]`, as Backstage wraps them.
pub async fn list<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_LOCATION_READ, None)?;
    let locations = state
        .engine
        .store()
        .locations()
        .await
        .map_err(ApiError::internal)?;
    let items: Vec<Value> = locations
        .iter()
        .filter(|l| l.location_type != "provider")
        .map(|l| json!({ "data": location_json(l) }))
        .collect();
    Ok(axum::Json(items).into_response())
}

/// `GET /locations/:id`.
pub async fn get<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_LOCATION_READ, None)?;
    match state
        .engine
        .store()
        .location(&id)
        .await
        .map_err(ApiError::internal)?
    {
        Some(location) => Ok(axum::Json(location_json(&location)).into_response()),
        None => Err(ApiError::not_found(format!(
            "Found no location with ID {id}"
        ))),
    }
}

/// `POST /locations?dryRun=…` with `{type, target}`: 201 `{location, entities, exists?}`.
pub async fn create<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    RawQuery(query): RawQuery,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_LOCATION_CREATE, None)?;
    let params = QueryParams::parse(query.as_deref());
    let dry_run = match params.one("dryRun") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::input(format!(
                "Invalid dryRun {other:?}, expected true or false"
            )));
        }
    };
    let (location_type, target) = location_input(&body)?;
    if dry_run {
        let (entities, exists) = state.engine.dry_run(location_type, target).await?;
        let location = json!({"id": uuid::Uuid::new_v4().to_string(), "type": location_type, "target": target});
        return Ok((
            StatusCode::CREATED,
            axum::Json(json!({"location": location, "entities": entities, "exists": exists})),
        )
            .into_response());
    }
    if state.readonly {
        return Err(ApiError::not_allowed(READONLY));
    }
    let location = state
        .engine
        .register_location(location_type, target, LocationOrigin::Api)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"location": location_json(&location), "entities": []})),
    )
        .into_response())
}

/// `DELETE /locations/:id`: unregisters it and deletes its entities.
pub async fn delete<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_LOCATION_DELETE, None)?;
    if state.readonly {
        return Err(ApiError::not_allowed(READONLY));
    }
    state.engine.unregister_location(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /locations/by-entity/:kind/:namespace/:name`: the registered location an entity was
/// found through.
pub async fn by_entity<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_LOCATION_READ, None)?;
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    let origin = state
        .engine
        .store()
        .entity_origin(entity_ref.canonical())
        .await
        .map_err(ApiError::internal)?;
    match origin {
        Some((location, _)) => Ok(axum::Json(location_json(&location)).into_response()),
        None => Err(ApiError::not_found(format!(
            "Found no location for entity {kind}:{namespace}/{name}"
        ))),
    }
}

/// `POST /analyze-location` with `{location: {type, target}, catalogFilename?}`: the catalog
/// files already in a repository or folder, with whether each entity is registered. (Backstage
/// also suggests entities for repositories without one; Portico answers no suggestions yet.)
pub async fn analyze<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_LOCATION_READ, None)?;
    let location = body.get("location").and_then(Value::as_object);
    let (Some(location_type), Some(target)) = (
        location.and_then(|l| l.get("type")).and_then(Value::as_str),
        location
            .and_then(|l| l.get("target"))
            .and_then(Value::as_str),
    ) else {
        return Err(ApiError::input(
            "Malformed request: expected {\"location\": {\"type\": \"url\" | \"file\", \"target\": \"…\"}}",
        ));
    };
    let filename = body
        .get("catalogFilename")
        .and_then(Value::as_str)
        .filter(|f| !f.trim().is_empty() && !f.contains(['/', '\\']))
        .unwrap_or("catalog-info.yaml");
    let is_descriptor = |t: &str| t.ends_with(".yaml") || t.ends_with(".yml");
    let catalog_target = match location_type {
        "file" if std::path::Path::new(target).is_dir() => std::path::Path::new(target)
            .join(filename)
            .to_string_lossy()
            .into_owned(),
        "url" if !is_descriptor(target) => format!("{}/{filename}", target.trim_end_matches('/')),
        _ => target.to_owned(),
    };
    let entities = match state.engine.dry_run(location_type, &catalog_target).await {
        Ok((entities, _)) => entities,
        // No catalog file there: nothing existing to offer.
        Err(portico_catalog::engine::EngineError::Input(message))
            if message.contains("does not exist") =>
        {
            Vec::new()
        }
        Err(err) => return Err(err.into()),
    };
    let model = state.engine.read_model();
    let files: Vec<Value> = entities
        .into_iter()
        .map(|entity| {
            let kind = entity["kind"].as_str().unwrap_or_default();
            let namespace = entity["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default");
            let name = entity["metadata"]["name"].as_str().unwrap_or_default();
            let registered = model
                .by_ref(EntityRef::new(kind, namespace, name).canonical())
                .is_some();
            let managed_by = entity["metadata"]["annotations"]["backstage.io/managed-by-location"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let (file_type, file_target) = managed_by.split_once(':').map_or(
                (location_type.to_owned(), catalog_target.clone()),
                |(t, rest)| (t.to_owned(), rest.to_owned()),
            );
            json!({"entity": entity, "isRegistered": registered,
                   "location": {"type": file_type, "target": file_target}})
        })
        .collect();
    Ok(axum::Json(json!({"existingEntityFiles": files, "generateEntities": []})).into_response())
}

/// `PUT /locations/:id` with `{type, target}`: points the location elsewhere, keeping its id.
pub async fn update<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_LOCATION_CREATE, None)?;
    if state.readonly {
        return Err(ApiError::not_allowed(READONLY));
    }
    let (location_type, target) = location_input(&body)?;
    let location = state
        .engine
        .update_location(&id, location_type, target)
        .await?;
    Ok(axum::Json(location_json(&location)).into_response())
}

/// Whether a location (`id`, `type`, `target`) satisfies a predicate; values compare
/// case-insensitively, as for entities.
fn location_matches(predicate: &Predicate, location: &LocationRecord) -> bool {
    let value = |key: &str| match key.to_ascii_lowercase().as_str() {
        "id" => Some(location.id.to_lowercase()),
        "type" => Some(location.location_type.to_lowercase()),
        "target" => Some(location.target.to_lowercase()),
        _ => None,
    };
    match predicate {
        Predicate::MatchAll => true,
        Predicate::All(children) => children.iter().all(|c| location_matches(c, location)),
        Predicate::Any(children) => children.iter().any(|c| location_matches(c, location)),
        Predicate::Not(child) => !location_matches(child, location),
        Predicate::Exists { key } => value(key).is_some(),
        Predicate::In { key, values } => {
            value(key).is_some_and(|v| values.iter().any(|w| w.to_lowercase() == v))
        }
        Predicate::HasPrefix { key, prefix } => {
            value(key).is_some_and(|v| v.starts_with(&prefix.to_lowercase()))
        }
    }
}

/// `POST /locations/by-query` with `{query?, limit?, cursor?}`: `{items, totalItems, pageInfo}`.
pub async fn query<S: CatalogStore>(
    State(state): AppStateRef<S>,
    Caller(principal): Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    state.authorize(&principal, Permission::CATALOG_LOCATION_READ, None)?;
    let predicate = match body.get("query") {
        None | Some(Value::Null) => Predicate::MatchAll,
        Some(query) => Predicate::from_json(query)?,
    };
    let limit = match body.get("limit") {
        None | Some(Value::Null) => 100,
        Some(value) => value
            .as_u64()
            .filter(|n| *n > 0)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| ApiError::input("Malformed request: limit must be a positive integer"))?
            .min(super::MAX_PAGE_SIZE),
    };
    // The cursor is the offset of the next page; locations are few and ordered by age.
    let offset = match body.get("cursor").and_then(Value::as_str) {
        None => 0,
        Some(cursor) => cursor
            .strip_prefix("offset:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                ApiError::input("Malformed cursor: it must come from pageInfo.nextCursor")
            })?,
    };
    let matching: Vec<LocationRecord> = state
        .engine
        .store()
        .locations()
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .filter(|l| l.location_type != "provider" && location_matches(&predicate, l))
        .collect();
    let items: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(location_json)
        .collect();
    let mut page_info = serde_json::Map::new();
    if offset + items.len() < matching.len() {
        page_info.insert(
            "nextCursor".to_owned(),
            Value::from(format!("offset:{}", offset + items.len())),
        );
    }
    if offset > 0 {
        page_info.insert(
            "prevCursor".to_owned(),
            Value::from(format!("offset:{}", offset.saturating_sub(limit))),
        );
    }
    Ok(
        axum::Json(json!({"items": items, "totalItems": matching.len(), "pageInfo": page_info}))
            .into_response(),
    )
}

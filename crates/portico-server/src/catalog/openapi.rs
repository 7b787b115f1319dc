//! The catalog API's routes as one table, from which both the router and the OpenAPI document
//! (`/api/catalog/openapi.json`) are built — so the document cannot drift from the routes.

use std::sync::Arc;

use axum::routing::{MethodRouter, delete, get, post, put};
use portico_store::CatalogStore;
use serde_json::{Map, Value, json};

use super::{entities, locations};
use crate::AppState;

/// A documented query or path parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Name.
    pub name: &'static str,
    /// `query` or `path`.
    pub location: &'static str,
    /// JSON Schema type of one value (`string`, `integer`, `boolean`).
    pub schema: &'static str,
    /// May be repeated.
    pub repeated: bool,
    /// Must be given.
    pub required: bool,
    /// What it does.
    pub description: &'static str,
}

const fn query(
    name: &'static str,
    schema: &'static str,
    repeated: bool,
    description: &'static str,
) -> Param {
    Param {
        name,
        location: "query",
        schema,
        repeated,
        required: false,
        description,
    }
}

const fn path(name: &'static str, description: &'static str) -> Param {
    Param {
        name,
        location: "path",
        schema: "string",
        repeated: false,
        required: true,
        description,
    }
}

/// The documentation of one operation.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// `get`, `post` or `delete`.
    pub method: &'static str,
    /// Path under `/api/catalog`, axum syntax (`{uid}`), which is also OpenAPI's.
    pub path: &'static str,
    /// Backstage's operation id.
    pub operation_id: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Parameters.
    pub params: &'static [Param],
    /// Request body schema reference, if any.
    pub body: Option<&'static str>,
    /// Success status and response schema reference (`None`: no body).
    pub success: (u16, Option<&'static str>),
}

const FILTER: Param = query(
    "filter",
    "string",
    true,
    "Filter set: comma-separated key=value (AND); repeat for OR",
);
const FIELDS: Param = query(
    "fields",
    "string",
    true,
    "Comma-separated dotted paths to keep",
);
const KIND: Param = path("kind", "Entity kind (case-insensitive)");
const NAMESPACE: Param = path("namespace", "Entity namespace (case-insensitive)");
const NAME: Param = path("name", "Entity name (case-insensitive)");

const PARAMS_0: &[Param] = &[
    FILTER,
    FIELDS,
    query("order", "string", true, "asc:<field> or desc:<field>"),
    query("offset", "integer", false, "Items to skip"),
    query("limit", "integer", false, "Page size"),
    query("after", "string", false, "Cursor from the Link header"),
];
const PARAMS_1: &[Param] = &[
    FILTER,
    FIELDS,
    query("limit", "integer", false, "Page size (default 20)"),
    query("offset", "integer", false, "Items to skip"),
    query("orderField", "string", true, "<field>,asc|desc"),
    query("cursor", "string", false, "Cursor from pageInfo"),
    query("fullTextFilterTerm", "string", false, "Substring to find"),
    query("fullTextFilterFields", "string", true, "Fields to search"),
];
const PARAMS_2: &[Param] = &[FILTER];
const PARAMS_3: &[Param] = &[path("uid", "Entity uid")];
const PARAMS_4: &[Param] = &[path("uid", "Entity uid")];
const PARAMS_5: &[Param] = &[KIND, NAMESPACE, NAME];
const PARAMS_6: &[Param] = &[
    Param {
        required: true,
        ..query("facet", "string", true, "Field to count values of")
    },
    FILTER,
];
const PARAMS_7: &[Param] = &[query(
    "dryRun",
    "boolean",
    false,
    "Process in memory and store nothing",
)];
const PARAMS_8: &[Param] = &[path("id", "Location id")];
const PARAMS_9: &[Param] = &[path("id", "Location id")];
const PARAMS_10: &[Param] = &[KIND, NAMESPACE, NAME];

const PARAMS_ANCESTRY: &[Param] = &[KIND, NAMESPACE, NAME];
const PARAMS_LOCATION_ID: &[Param] = &[path("id", "Location id")];

/// Every catalog operation with its handler.
pub fn routes<S: CatalogStore>() -> Vec<(Operation, MethodRouter<Arc<AppState<S>>>)> {
    vec![
        (
            Operation {
                method: "get",
                path: "/entities",
                operation_id: "GetEntities",
                summary: "List entities (streamed when not paged)",
                params: PARAMS_0,
                body: None,
                success: (200, Some("EntityArray")),
            },
            get(entities::list::<S>),
        ),
        (
            Operation {
                method: "get",
                path: "/entities/by-query",
                operation_id: "GetEntitiesByQuery",
                summary: "Query entities with cursor pagination",
                params: PARAMS_1,
                body: None,
                success: (200, Some("EntitiesQueryResponse")),
            },
            get(entities::query_get::<S>),
        ),
        (
            Operation {
                method: "post",
                path: "/entities/by-query",
                operation_id: "QueryEntitiesByPredicate",
                summary: "Query entities with the predicate language",
                params: &[],
                body: Some("EntitiesQueryRequest"),
                success: (200, Some("EntitiesQueryResponse")),
            },
            post(entities::query_post::<S>),
        ),
        (
            Operation {
                method: "post",
                path: "/entities/by-refs",
                operation_id: "GetEntitiesByRefs",
                summary: "Get entities by refs, in order (null when missing)",
                params: PARAMS_2,
                body: Some("EntitiesByRefsRequest"),
                success: (200, Some("EntitiesBatchResponse")),
            },
            post(entities::by_refs::<S>),
        ),
        (
            Operation {
                method: "get",
                path: "/entities/by-uid/{uid}",
                operation_id: "GetEntityByUid",
                summary: "Get an entity by uid",
                params: PARAMS_3,
                body: None,
                success: (200, Some("Entity")),
            },
            get(entities::by_uid::<S>),
        ),
        (
            Operation {
                method: "delete",
                path: "/entities/by-uid/{uid}",
                operation_id: "DeleteEntityByUid",
                summary: "Delete an entity by uid (its location may emit it again)",
                params: PARAMS_4,
                body: None,
                success: (204, None),
            },
            delete(entities::delete_by_uid::<S>),
        ),
        (
            Operation {
                method: "get",
                path: "/entities/by-name/{kind}/{namespace}/{name}",
                operation_id: "GetEntityByName",
                summary: "Get an entity by kind, namespace and name",
                params: PARAMS_5,
                body: None,
                success: (200, Some("Entity")),
            },
            get(entities::by_name::<S>),
        ),
        (
            Operation {
                method: "get",
                path: "/entities/by-name/{kind}/{namespace}/{name}/ancestry",
                operation_id: "GetEntityAncestryByName",
                summary: "The Location entities through which an entity was found",
                params: PARAMS_ANCESTRY,
                body: None,
                success: (200, Some("EntityAncestryResponse")),
            },
            get(entities::ancestry::<S>),
        ),
        (
            Operation {
                method: "get",
                path: "/entity-facets",
                operation_id: "GetEntityFacets",
                summary: "Count entities per value of fields",
                params: PARAMS_6,
                body: None,
                success: (200, Some("EntityFacetsResponse")),
            },
            get(entities::facets_get::<S>),
        ),
        (
            Operation {
                method: "post",
                path: "/entity-facets",
                operation_id: "QueryEntityFacetsByPredicate",
                summary: "Facets with the predicate language",
                params: &[],
                body: Some("EntityFacetsRequest"),
                success: (200, Some("EntityFacetsResponse")),
            },
            post(entities::facets_post::<S>),
        ),
        (
            Operation {
                method: "post",
                path: "/refresh",
                operation_id: "RefreshEntity",
                summary: "Re-read an entity's file and its Location file now",
                params: &[],
                body: Some("RefreshRequest"),
                success: (200, None),
            },
            post(entities::refresh::<S>),
        ),
        (
            Operation {
                method: "post",
                path: "/validate-entity",
                operation_id: "ValidateEntity",
                summary: "Validate an entity without storing it",
                params: &[],
                body: Some("ValidateEntityRequest"),
                success: (200, None),
            },
            post(entities::validate::<S>),
        ),
        (
            Operation {
                method: "get",
                path: "/locations",
                operation_id: "GetLocations",
                summary: "List registered locations",
                params: &[],
                body: None,
                success: (200, Some("LocationList")),
            },
            get(locations::list::<S>),
        ),
        (
            Operation {
                method: "post",
                path: "/locations",
                operation_id: "CreateLocation",
                summary: "Register a location (processed before the answer), or dry-run it",
                params: PARAMS_7,
                body: Some("LocationInput"),
                success: (201, Some("CreateLocationResponse")),
            },
            post(locations::create::<S>),
        ),
        (
            Operation {
                method: "post",
                path: "/analyze-location",
                operation_id: "AnalyzeLocation",
                summary: "The catalog files already in a repository or folder",
                params: &[],
                body: Some("AnalyzeLocationRequest"),
                success: (200, Some("AnalyzeLocationResponse")),
            },
            post(locations::analyze::<S>),
        ),
        (
            Operation {
                method: "post",
                path: "/locations/by-query",
                operation_id: "QueryLocations",
                summary: "Locations matching a predicate on id, type and target, paginated",
                params: &[],
                body: Some("LocationsQueryRequest"),
                success: (200, Some("LocationsQueryResponse")),
            },
            post(locations::query::<S>),
        ),
        (
            Operation {
                method: "put",
                path: "/locations/{id}",
                operation_id: "UpdateLocation",
                summary: "Point a location elsewhere, keeping its id",
                params: PARAMS_LOCATION_ID,
                body: Some("LocationInput"),
                success: (200, Some("Location")),
            },
            put(locations::update::<S>),
        ),
        (
            Operation {
                method: "get",
                path: "/locations/{id}",
                operation_id: "GetLocation",
                summary: "Get a location",
                params: PARAMS_8,
                body: None,
                success: (200, Some("Location")),
            },
            get(locations::get::<S>),
        ),
        (
            Operation {
                method: "delete",
                path: "/locations/{id}",
                operation_id: "DeleteLocation",
                summary: "Unregister a location and delete its entities",
                params: PARAMS_9,
                body: None,
                success: (204, None),
            },
            delete(locations::delete::<S>),
        ),
        (
            Operation {
                method: "get",
                path: "/locations/by-entity/{kind}/{namespace}/{name}",
                operation_id: "GetLocationByEntity",
                summary: "The location an entity was found through",
                params: PARAMS_10,
                body: None,
                success: (200, Some("Location")),
            },
            get(locations::by_entity::<S>),
        ),
    ]
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn components() -> Value {
    let string_list = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "schemas": {
            "Entity": {"type": "object", "required": ["apiVersion", "kind", "metadata"], "properties": {
                "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                "metadata": {"type": "object", "required": ["name"], "additionalProperties": true, "properties": {
                    "name": {"type": "string"}, "namespace": {"type": "string"}, "uid": {"type": "string"}, "etag": {"type": "string"},
                    "title": {"type": "string"}, "description": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                    "tags": string_list,
                    "links": {"type": "array", "items": {"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}, "title": {"type": "string"}, "icon": {"type": "string"}, "type": {"type": "string"}}}}}},
                "spec": {"type": "object", "additionalProperties": true},
                "relations": {"type": "array", "items": {"type": "object", "required": ["type", "targetRef"], "properties": {"type": {"type": "string"}, "targetRef": {"type": "string"}}}},
                "status": {"type": "object"}}},
            "EntityArray": {"type": "array", "items": schema_ref("Entity")},
            "EntityAncestryResponse": {"type": "object", "required": ["rootEntityRef", "items"], "properties": {
                "rootEntityRef": {"type": "string"},
                "items": {"type": "array", "items": {"type": "object", "properties": {"entity": schema_ref("Entity"), "parentEntityRefs": string_list}}}}},
            "EntitiesQueryResponse": {"type": "object", "required": ["items", "totalItems", "pageInfo"], "properties": {
                "items": schema_ref("EntityArray"), "totalItems": {"type": "integer"},
                "pageInfo": {"type": "object", "properties": {"nextCursor": {"type": "string"}, "prevCursor": {"type": "string"}}}}},
            "EntitiesQueryRequest": {"type": "object", "properties": {
                "query": {"type": "object", "description": "Predicate: {$all}, {$any}, {$not}, {field: value | {$exists} | {$in}}"},
                "cursor": {"type": "string"}, "limit": {"type": "integer"}, "offset": {"type": "integer"},
                "orderBy": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "order": {"type": "string", "enum": ["asc", "desc"]}}}},
                "fullTextFilter": {"type": "object", "properties": {"term": {"type": "string"}, "fields": string_list}},
                "fields": string_list}},
            "EntitiesByRefsRequest": {"type": "object", "required": ["entityRefs"], "properties": {"entityRefs": string_list, "fields": string_list}},
            "EntitiesBatchResponse": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"nullable": true, "allOf": [schema_ref("Entity")]}}}},
            "EntityFacetsRequest": {"type": "object", "required": ["facets"], "properties": {"facets": string_list, "query": {"type": "object"}}},
            "EntityFacetsResponse": {"type": "object", "properties": {"facets": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object", "properties": {"value": {"type": "string"}, "count": {"type": "integer"}}}}}}},
            "RefreshRequest": {"type": "object", "required": ["entityRef"], "properties": {"entityRef": {"type": "string"}}},
            "ValidateEntityRequest": {"type": "object", "required": ["entity", "location"], "properties": {"entity": {"type": "object"}, "location": {"type": "string"}}},
            "AnalyzeLocationRequest": {"type": "object", "required": ["location"], "properties": {"location": schema_ref("LocationInput"), "catalogFilename": {"type": "string"}}},
            "AnalyzeLocationResponse": {"type": "object", "properties": {
                "existingEntityFiles": {"type": "array", "items": {"type": "object", "properties": {"entity": schema_ref("Entity"), "isRegistered": {"type": "boolean"}, "location": schema_ref("LocationInput")}}},
                "generateEntities": {"type": "array", "items": {"type": "object"}}}},
            "LocationsQueryRequest": {"type": "object", "properties": {"query": {"type": "object"}, "limit": {"type": "integer"}, "cursor": {"type": "string"}}},
            "LocationsQueryResponse": {"type": "object", "properties": {"items": {"type": "array", "items": schema_ref("Location")}, "totalItems": {"type": "integer"},
                "pageInfo": {"type": "object", "properties": {"nextCursor": {"type": "string"}, "prevCursor": {"type": "string"}}}}},
            "Location": {"type": "object", "required": ["id", "type", "target"], "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "target": {"type": "string"}}},
            "LocationList": {"type": "array", "items": {"type": "object", "properties": {"data": schema_ref("Location")}}},
            "LocationInput": {"type": "object", "required": ["type", "target"], "properties": {"type": {"type": "string", "enum": ["url", "file"]}, "target": {"type": "string"}}},
            "CreateLocationResponse": {"type": "object", "properties": {"location": schema_ref("Location"), "entities": schema_ref("EntityArray"), "exists": {"type": "boolean"}}},
            "Error": {"type": "object", "required": ["error", "request", "response"], "properties": {
                "error": {"type": "object", "required": ["name", "message"], "properties": {"name": {"type": "string"}, "message": {"type": "string"}}},
                "request": {"type": "object", "properties": {"method": {"type": "string"}, "url": {"type": "string"}}},
                "response": {"type": "object", "properties": {"statusCode": {"type": "integer"}}}}}
        }
    })
}

/// The OpenAPI 3.0 document of the catalog API, built from [`routes`].
pub fn document<S: CatalogStore>() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (operation, _) in routes::<S>() {
        let parameters: Vec<Value> = operation
            .params
            .iter()
            .map(|p| {
                let schema = if p.repeated {
                    json!({"type": "array", "items": {"type": p.schema}})
                } else {
                    json!({"type": p.schema})
                };
                let mut param = json!({"name": p.name, "in": p.location, "required": p.required,
                    "description": p.description, "schema": schema});
                if p.repeated {
                    param["style"] = "form".into();
                    param["explode"] = true.into();
                }
                param
            })
            .collect();
        let (status, success_schema) = operation.success;
        let mut responses = json!({
            "400": {"description": "InputError", "content": {"application/json": {"schema": schema_ref("Error")}}},
            "default": {"description": "Error", "content": {"application/json": {"schema": schema_ref("Error")}}},
        });
        responses[status.to_string()] = match success_schema {
            Some(name) => {
                json!({"description": "OK", "content": {"application/json": {"schema": schema_ref(name)}}})
            }
            None => json!({"description": "OK"}),
        };
        let mut doc = json!({"operationId": operation.operation_id, "summary": operation.summary,
            "parameters": parameters, "responses": responses});
        if let Some(body) = operation.body {
            doc["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema_ref(body)}}});
        }
        let entry = paths
            .entry(operation.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(methods) = entry.as_object_mut() {
            methods.insert(operation.method.to_owned(), doc);
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Portico catalog API", "version": env!("CARGO_PKG_VERSION"),
            "description": "Backstage-compatible catalog API (paths, parameters, JSON shapes and errors follow Backstage's catalog backend)."},
        "servers": [{"url": "/api/catalog"}],
        "paths": paths,
        "components": components(),
    })
}

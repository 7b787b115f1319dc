//! `/api/scaffolder/v2` with Backstage's paths and JSON shapes (`backstage.md` §4.4): actions,
//! parameter schemas, tasks (create, list, get, cancel, retry), their events as a long poll and as
//! server-sent events, and dry-runs. Thin glue over `portico-scaffolder`'s `ScaffolderService`.
//!
//! The event stream always ends: after the task's `completion` event, when the task has ended and
//! every event was sent, or after an hour.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portico_plugin_api::{Authorizer, Decision, Permission, Principal};
use portico_scaffolder::{ScaffolderService, ServiceError};
use portico_store::TaskFilter;
use serde_json::{Map, Value, json};

use crate::body::{JsonObject, QueryParams};
use crate::{ApiError, Caller};

type Service = Arc<dyn ScaffolderService>;

const LONG_POLL: Duration = Duration::from_secs(30);
const STREAM_LIMIT: Duration = Duration::from_secs(3600);
/// How often event readers look at the database when no in-process notification came: only
/// events of tasks run by another replica wait this long.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Waits until `appended` changes (an event was appended in this process) or [`POLL_EVERY`]
/// passed, whichever is first.
async fn wait_for_events(appended: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    match appended {
        Some(receiver) => {
            // A closed channel (the engine is gone) must not turn this into a busy loop.
            if tokio::time::timeout(POLL_EVERY, receiver.changed())
                .await
                .is_ok_and(|changed| changed.is_err())
            {
                *appended = None;
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
        None => tokio::time::sleep(POLL_EVERY).await,
    }
}

/// The routes, with their state given (nest the result at `/api/scaffolder`). Each group of
/// routes asks `authorizer` for its permission before the handler runs, as the UI's task pages
/// do: reading templates' schemas and the actions needs `catalog.entity.read`, reading tasks
/// and their events `scaffolder.task.read`, creating, retrying and dry runs
/// `scaffolder.task.create`, cancelling `scaffolder.task.cancel`.
pub fn router<S: Clone + Send + Sync + 'static>(
    service: Service,
    authorizer: Arc<dyn Authorizer>,
) -> Router<S> {
    let guarded = |routes: Router<Service>, permission: Permission| {
        routes.route_layer(middleware::from_fn_with_state(
            (Arc::clone(&authorizer), permission),
            require,
        ))
    };
    let catalog = Router::new().route("/v2/actions", get(actions)).route(
        "/v2/templates/{namespace}/{kind}/{name}/parameter-schema",
        get(parameter_schema),
    );
    let read = Router::new()
        .route("/v2/tasks", get(list_tasks))
        .route("/v2/tasks/{id}", get(task))
        .route("/v2/tasks/{id}/events", get(events))
        .route("/v2/tasks/{id}/eventstream", get(event_stream));
    let create = Router::new()
        .route("/v2/tasks", post(create_task))
        .route("/v2/tasks/{id}/retry", post(retry))
        .route("/v2/dry-run", post(dry_run));
    let cancel_routes = Router::new().route("/v2/tasks/{id}/cancel", post(cancel));
    guarded(catalog, Permission::CATALOG_ENTITY_READ)
        .merge(guarded(read, Permission::SCAFFOLDER_TASK_READ))
        .merge(guarded(create, Permission::SCAFFOLDER_TASK_CREATE))
        .merge(guarded(cancel_routes, Permission::SCAFFOLDER_TASK_CANCEL))
        .with_state(service)
}

/// Refuses the request with Backstage's `NotAllowedError` unless the caller has `permission`.
async fn require(
    State((authorizer, permission)): State<(Arc<dyn Authorizer>, Permission)>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let principal = request
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or(Principal::Guest);
    match authorizer.authorize(&principal, permission, None) {
        Decision::Allow => next.run(request).await,
        Decision::Deny => {
            ApiError::not_allowed(format!("You are not allowed to perform {}", permission.0))
                .into_response()
        }
    }
}

fn api_error(error: ServiceError) -> Response {
    match error {
        // Backstage answers invalid values with `{errors: [...]}` and status 400.
        ServiceError::Input {
            errors: Some(errors),
            ..
        } => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "errors": errors })),
        )
            .into_response(),
        ServiceError::Input { message, .. } => ApiError::input(message).into_response(),
        ServiceError::NotFound(message) => ApiError::not_found(message).into_response(),
        ServiceError::Conflict(message) => ApiError::conflict(message).into_response(),
        ServiceError::Internal(message) => ApiError::internal(message).into_response(),
    }
}

fn user_ref(caller: &Principal) -> Option<String> {
    caller.user_entity_ref().map(str::to_owned)
}

fn object_field(body: &Map<String, Value>, key: &str) -> Result<Map<String, Value>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(ApiError::input(format!("{key} must be an object"))),
    }
}

async fn actions(State(service): State<Service>) -> Response {
    axum::Json(service.actions()).into_response()
}

async fn parameter_schema(
    State(service): State<Service>,
    Path((namespace, kind, name)): Path<(String, String, String)>,
) -> Response {
    match service
        .parameter_schema(format!("{kind}:{namespace}/{name}"))
        .await
    {
        Ok(schema) => axum::Json(schema).into_response(),
        Err(error) => api_error(error),
    }
}

async fn create_task(
    State(service): State<Service>,
    Caller(caller): Caller,
    JsonObject(body): JsonObject,
) -> Response {
    let Some(template_ref) = body.get("templateRef").and_then(Value::as_str) else {
        return ApiError::input("templateRef is required (e.g. template:default/my-template)")
            .into_response();
    };
    let values = match object_field(&body, "values") {
        Ok(values) => values,
        Err(error) => return error.into_response(),
    };
    let secrets = match object_field(&body, "secrets") {
        Ok(secrets) => secrets,
        Err(error) => return error.into_response(),
    };
    match service
        .create_task(template_ref.to_owned(), values, secrets, user_ref(&caller))
        .await
    {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response(),
        Err(error) => api_error(error),
    }
}

async fn list_tasks(State(service): State<Service>, RawQuery(query): RawQuery) -> Response {
    let params = QueryParams::parse(query.as_deref());
    let number = |key: &str, default: usize| params.number(key).map(|n| n.unwrap_or(default));
    let (limit, offset) = match (number("limit", 100), number("offset", 0)) {
        (Ok(limit), Ok(offset)) => (limit.min(1000), offset),
        (Err(error), _) | (_, Err(error)) => return error.into_response(),
    };
    let newest_first = params
        .one("order")
        .is_none_or(|order| order.starts_with("desc"));
    let filter = TaskFilter {
        created_by: params.list("createdBy"),
        status: params.list("status"),
        newest_first,
        limit,
        offset,
    };
    match service.list_tasks(filter).await {
        Ok(tasks) => axum::Json(tasks).into_response(),
        Err(error) => api_error(error),
    }
}

async fn task(State(service): State<Service>, Path(id): Path<String>) -> Response {
    match service.task(id).await {
        Ok(task) => axum::Json(task).into_response(),
        Err(error) => api_error(error),
    }
}

fn after_param(query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let params = QueryParams::parse(query);
    match params.one("after") {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::input(format!("after must be an event id, got {text:?}"))),
    }
}

fn finished(status: &Value) -> bool {
    matches!(status.as_str(), Some("completed" | "failed" | "cancelled"))
}

/// Long poll: the events after `after`, waiting up to 30 s for some (then `[]`).
async fn events(
    State(service): State<Service>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let after = match after_param(query.as_deref()) {
        Ok(after) => after,
        Err(error) => return error.into_response(),
    };
    let started = Instant::now();
    let mut appended = service.events_appended();
    loop {
        // Mark what was seen before reading, so an event appended during the read wakes us.
        if let Some(receiver) = appended.as_mut() {
            receiver.borrow_and_update();
        }
        let events = match service.events(id.clone(), after).await {
            Ok(events) => events,
            Err(error) => return api_error(error),
        };
        let ended = match service.task(id.clone()).await {
            Ok(task) => finished(&task["status"]),
            Err(error) => return api_error(error),
        };
        if ended && events.is_empty() {
            // Events written just before the task ended come with a second read.
            return match service.events(id.clone(), after).await {
                Ok(events) => axum::Json(events).into_response(),
                Err(error) => api_error(error),
            };
        }
        if !events.is_empty() || started.elapsed() >= LONG_POLL {
            return axum::Json(events).into_response();
        }
        wait_for_events(&mut appended).await;
    }
}

struct StreamState {
    service: Service,
    id: String,
    after: Option<i64>,
    pending: std::collections::VecDeque<Value>,
    done: bool,
    started: Instant,
    appended: Option<tokio::sync::watch::Receiver<u64>>,
}

/// Server-sent events: `event: <type>\ndata: <SerializedTaskEvent>\n\n` until the task completes.
async fn event_stream(
    State(service): State<Service>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let after = match after_param(query.as_deref()) {
        Ok(after) => after,
        Err(error) => return error.into_response(),
    };
    if let Err(error) = service.task(id.clone()).await {
        return api_error(error);
    }
    let appended = service.events_appended();
    let state = StreamState {
        appended,
        service,
        id,
        after,
        pending: std::collections::VecDeque::new(),
        done: false,
        started: Instant::now(),
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(event) = state.pending.pop_front() {
                state.after = event["id"].as_i64().or(state.after);
                if event["type"] == "completion" {
                    state.done = true;
                }
                let kind = event["type"].as_str().unwrap_or("log").to_owned();
                let frame = format!("event: {kind}\ndata: {event}\n\n");
                return Some((Ok::<_, std::convert::Infallible>(frame), state));
            }
            if state.done || state.started.elapsed() >= STREAM_LIMIT {
                return None;
            }
            if let Some(receiver) = state.appended.as_mut() {
                receiver.borrow_and_update();
            }
            let mut events = state
                .service
                .events(state.id.clone(), state.after)
                .await
                .ok()?;
            if events.is_empty() {
                let task = state.service.task(state.id.clone()).await.ok()?;
                if finished(&task["status"]) {
                    // Events written just before the task ended arrive with this read; none
                    // means it ended without a completion event (cancelled before it started).
                    events = state
                        .service
                        .events(state.id.clone(), state.after)
                        .await
                        .ok()?;
                    if events.is_empty() {
                        return None;
                    }
                } else {
                    wait_for_events(&mut state.appended).await;
                }
            }
            state.pending.extend(events);
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|error| ApiError::internal(error).into_response())
}

async fn cancel(State(service): State<Service>, Path(id): Path<String>) -> Response {
    match service.cancel(id).await {
        Ok(status) => axum::Json(json!({ "status": status })).into_response(),
        Err(error) => api_error(error),
    }
}

async fn retry(
    State(service): State<Service>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    // The body is optional: `{secrets?}`.
    let secrets = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(body)) => match object_field(&body, "secrets") {
                Ok(secrets) => secrets,
                Err(error) => return error.into_response(),
            },
            _ => {
                return ApiError::input("the body must be a JSON object: {\"secrets\": {...}}")
                    .into_response();
            }
        }
    };
    match service.retry(id, secrets).await {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({ "id": id }))).into_response(),
        Err(error) => api_error(error),
    }
}

async fn dry_run(State(service): State<Service>, JsonObject(body): JsonObject) -> Response {
    match service.dry_run(Value::Object(body)).await {
        Ok(result) => axum::Json(result).into_response(),
        Err(error) => api_error(error),
    }
}

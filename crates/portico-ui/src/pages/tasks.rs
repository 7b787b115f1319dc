//! Scaffolder tasks in the UI, through the `ScaffolderService` the API uses too (never over
//! HTTP): `/create/tasks` lists them (mine or all, by status, newest first); `/create/tasks/{id}`
//! shows one task — its steps with their status, the log, the output links and text when it is
//! done, and Cancel (while it runs) and Retry (after it failed or was cancelled) as plain forms.
//!
//! While a task runs its page follows it: `assets/task.js` reads `/create/tasks/{id}/events`
//! (server-sent events, the task's events after the last one the page drew) and appends them;
//! without JavaScript the page refreshes itself every few seconds instead.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::{Path, RawQuery};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use portico_plugin_api::Principal;
use portico_scaffolder::{ScaffolderService, ServiceError};
use portico_store::{CatalogStore, TaskFilter};
use serde::Serialize;
use serde_json::{Map, Value};

use super::UiState;
use crate::params::{Params, query_string};
use crate::render::ser;
use crate::{Ui, UiError, entity_view};

/// Tasks per page of the list.
const PAGE_SIZE: usize = 25;

/// The last page number the list accepts (so offsets stay far from overflowing).
const MAX_PAGE: usize = 1_000_000;

/// How long one event stream lasts at most; the page reloads and starts another.
const STREAM_LIMIT: Duration = Duration::from_secs(3600);

/// How often a stream looks at the database when no event of this process woke it (tasks run
/// by another replica).
const POLL_EVERY: Duration = Duration::from_secs(1);

/// The ref a principal's tasks are created by and listed under.
pub(crate) fn actor_ref(principal: &Principal) -> Option<String> {
    principal.user_entity_ref().map(str::to_owned)
}

fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The page of a task.
pub(crate) fn task_url(id: &str) -> String {
    format!("/create/tasks/{}", segment(id))
}

fn service<S: CatalogStore>(ui: &Ui<S>) -> Result<Arc<dyn ScaffolderService>, UiError> {
    ui.scaffolder.clone().ok_or_else(|| {
        UiError::NotFound(
            "The scaffolder is not running in this server, so there are no tasks.".to_owned(),
        )
    })
}

fn service_error(error: ServiceError) -> UiError {
    match error {
        ServiceError::Input { message, .. } | ServiceError::Conflict(message) => {
            UiError::Input(message)
        }
        ServiceError::NotFound(message) => UiError::NotFound(message),
        ServiceError::Internal(message) => UiError::Internal(message),
    }
}

fn finished(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "cancelled")
}

fn status_label(status: &str) -> &'static str {
    match status {
        "open" => "Waiting",
        "processing" => "Running",
        "completed" => "Completed",
        "failed" => "Failed",
        "cancelled" => "Cancelled",
        "skipped" => "Skipped",
        _ => "Not started",
    }
}

/// `2026-01-31T10:20:30.123Z` → `2026-01-31 10:20:30`.
fn short_time(iso: &str) -> String {
    iso.get(..19).unwrap_or(iso).replace('T', " ")
}

/// The template a task ran: its title and the page to run it again.
fn template_of(task: &Value) -> (String, String) {
    let info = &task["spec"]["templateInfo"];
    let metadata = &info["entity"]["metadata"];
    let title = metadata["title"]
        .as_str()
        .or(metadata["name"].as_str())
        .or(info["entityRef"].as_str())
        .unwrap_or("Task")
        .to_owned();
    let url = info["entityRef"]
        .as_str()
        .and_then(entity_view::parse_ref)
        .map(|r| {
            format!(
                "/create/templates/{}/{}",
                segment(r.namespace()),
                segment(r.name())
            )
        })
        .unwrap_or_default();
    (title, url)
}

#[derive(Debug, Serialize)]
struct StepView {
    id: String,
    name: String,
    status: String,
    status_label: &'static str,
}

#[derive(Debug, Serialize)]
struct LogLine {
    at: String,
    time: String,
    step: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct OutputLink {
    title: String,
    /// Empty when the link is neither http(s) nor a path of this site.
    href: String,
    /// The URL as text when it cannot be followed (a `file://` or ssh remote), so the user
    /// still sees where the output points; empty otherwise.
    unlinked_url: String,
}

#[derive(Debug, Serialize)]
struct OutputText {
    title: String,
    content: String,
}

#[derive(Debug, Serialize)]
struct TaskView {
    id: String,
    url: String,
    status: String,
    status_label: &'static str,
    running: bool,
    retryable: bool,
    template_title: String,
    template_url: String,
    created_at: String,
    created_by: String,
    /// The creator's entity page, empty when the catalog has no such entity (a guest without
    /// a User entity): the name is shown as text then, not as a link to a missing page.
    created_by_url: String,
    steps: Vec<StepView>,
    log: Vec<LogLine>,
    last_event: String,
    events_url: String,
    links: Vec<OutputLink>,
    texts: Vec<OutputText>,
    error: String,
}

/// The entity page of a task's creator when the catalog has that entity, else empty.
fn creator_url(read_model: &portico_catalog::read_model::ReadModel, created_by: &str) -> String {
    if !created_by.is_empty() && read_model.contains_ref(created_by) {
        entity_view::url_of_ref(created_by)
    } else {
        String::new()
    }
}

/// Only links a browser may follow safely: http(s) and paths of this site.
fn safe_href(url: &str) -> String {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://")
        || lower.starts_with("http://")
        || (lower.starts_with('/') && !lower.starts_with("//"))
    {
        url.trim().to_owned()
    } else {
        String::new()
    }
}

fn task_view(task: &Value, events: &[Value]) -> TaskView {
    let id = task["id"].as_str().unwrap_or_default().to_owned();
    let status = task["status"].as_str().unwrap_or_default().to_owned();
    let (template_title, template_url) = template_of(task);
    let mut steps: Vec<StepView> = task["spec"]["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .enumerate()
                .map(|(i, step)| {
                    let id = step["id"]
                        .as_str()
                        .map_or_else(|| format!("step-{}", i + 1), str::to_owned);
                    StepView {
                        name: step["name"]
                            .as_str()
                            .or(step["action"].as_str())
                            .map_or_else(|| id.clone(), str::to_owned),
                        id,
                        status: "open".to_owned(),
                        status_label: status_label("open"),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut log = Vec::new();
    let mut completion: Option<&Value> = None;
    for event in events {
        let body = &event["body"];
        let step_id = body["stepId"].as_str().unwrap_or_default();
        if let (Some(step_status), Some(step)) = (
            body["status"].as_str(),
            steps.iter_mut().find(|s| s.id == step_id),
        ) && event["type"] == "log"
        {
            step.status = step_status.to_owned();
            step.status_label = status_label(step_status);
        }
        if event["type"] == "completion" {
            completion = Some(body);
        }
        if let Some(message) = body["message"].as_str() {
            let at = event["createdAt"].as_str().unwrap_or_default().to_owned();
            log.push(LogLine {
                time: at.get(11..19).unwrap_or_default().to_owned(),
                at,
                step: steps
                    .iter()
                    .find(|s| s.id == step_id)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                message: message.to_owned(),
            });
        }
    }
    let output = completion.map(|body| &body["output"]);
    let links = output
        .and_then(|o| o["links"].as_array())
        .map(|links| {
            links
                .iter()
                .map(|link| {
                    let href = match (link["url"].as_str(), link["entityRef"].as_str()) {
                        (Some(url), _) if !url.is_empty() => safe_href(url),
                        (_, Some(entity_ref)) if !entity_ref.is_empty() => {
                            entity_view::url_of_ref(entity_ref)
                        }
                        _ => String::new(),
                    };
                    let unlinked_url = match link["url"].as_str() {
                        Some(url) if href.is_empty() => url.to_owned(),
                        _ => String::new(),
                    };
                    OutputLink {
                        title: link["title"]
                            .as_str()
                            .or(link["url"].as_str())
                            .or(link["entityRef"].as_str())
                            .unwrap_or("Link")
                            .to_owned(),
                        href,
                        unlinked_url,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let texts = output
        .and_then(|o| o["text"].as_array())
        .map(|texts| {
            texts
                .iter()
                .map(|t| OutputText {
                    title: t["title"].as_str().unwrap_or_default().to_owned(),
                    content: t["content"].as_str().unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let error = completion
        .and_then(|body| body["error"]["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    TaskView {
        url: task_url(&id),
        events_url: format!("{}/events", task_url(&id)),
        last_event: events
            .last()
            .and_then(|e| e["id"].as_i64())
            .map(|n| n.to_string())
            .unwrap_or_default(),
        running: !finished(&status),
        retryable: matches!(status.as_str(), "failed" | "cancelled"),
        status_label: status_label(&status),
        created_at: short_time(task["createdAt"].as_str().unwrap_or_default()),
        created_by: task["createdBy"].as_str().unwrap_or_default().to_owned(),
        created_by_url: String::new(),
        template_title,
        template_url,
        status,
        id,
        steps,
        log,
        links,
        texts,
        error,
    }
}

/// `GET /create/tasks/{id}`.
pub(crate) async fn page<S: CatalogStore>(ui: UiState<S>, Path(id): Path<String>) -> Response {
    let result = async {
        let service = service(&ui)?;
        let task = service.task(id.clone()).await.map_err(service_error)?;
        let events = service.events(id, None).await.map_err(service_error)?;
        let mut view = task_view(&task, &events);
        view.created_by_url = creator_url(&ui.engine.read_model(), &view.created_by);
        ui.page(
            ui.shell(view.template_title.clone(), "create"),
            "task.html",
            context! { task => ser(&view) },
        )
    }
    .await;
    ui.respond(result)
}

/// `POST /create/tasks/{id}/cancel`.
pub(crate) async fn cancel<S: CatalogStore>(ui: UiState<S>, Path(id): Path<String>) -> Response {
    let result = async {
        service(&ui)?
            .cancel(id.clone())
            .await
            .map_err(service_error)?;
        Ok::<_, UiError>(Redirect::to(&task_url(&id)).into_response())
    }
    .await;
    result.unwrap_or_else(|error| ui.respond(Err(error)))
}

/// `POST /create/tasks/{id}/retry`: the task runs again under its id with the same template and
/// values. Secrets are never kept, so a task that had some is refused with a message saying to
/// run the template from its form instead.
pub(crate) async fn retry<S: CatalogStore>(ui: UiState<S>, Path(id): Path<String>) -> Response {
    let result = async {
        let id = service(&ui)?
            .retry(id, Map::new())
            .await
            .map_err(service_error)?;
        Ok::<_, UiError>(Redirect::to(&task_url(&id)).into_response())
    }
    .await;
    result.unwrap_or_else(|error| ui.respond(Err(error)))
}

#[derive(Debug, Serialize)]
struct TaskRow {
    url: String,
    id: String,
    title: String,
    status: String,
    status_label: &'static str,
    created_at: String,
    created_by: String,
    created_by_url: String,
}

/// `GET /create/tasks?owner=mine|all&status=&page=`.
pub(crate) async fn list<S: CatalogStore>(
    ui: UiState<S>,
    principal: Option<Extension<Principal>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let principal = principal.map_or(Principal::Guest, |Extension(p)| p);
    let result = async {
        let service = service(&ui)?;
        let owner = match params.get("owner") {
            Some("all") => "all",
            _ => "mine",
        };
        let status = params.get("status").unwrap_or_default().to_owned();
        let page: usize = params
            .get("page")
            .and_then(|p| p.parse().ok())
            .filter(|&p| (1..=MAX_PAGE).contains(&p))
            .unwrap_or(1);
        let created_by = match (owner, actor_ref(&principal)) {
            ("mine", Some(me)) => vec![me],
            _ => Vec::new(),
        };
        let filter = TaskFilter {
            created_by,
            status: if status.is_empty() {
                Vec::new()
            } else {
                vec![status.clone()]
            },
            newest_first: true,
            limit: PAGE_SIZE,
            offset: (page - 1).saturating_mul(PAGE_SIZE),
        };
        let listed = service.list_tasks(filter).await.map_err(service_error)?;
        let total = listed["totalTasks"].as_u64().unwrap_or(0);
        let read_model = ui.engine.read_model();
        let rows: Vec<TaskRow> = listed["tasks"]
            .as_array()
            .map(|tasks| {
                tasks
                    .iter()
                    .map(|task| {
                        let id = task["id"].as_str().unwrap_or_default().to_owned();
                        let status = task["status"].as_str().unwrap_or_default().to_owned();
                        TaskRow {
                            url: task_url(&id),
                            title: template_of(task).0,
                            status_label: status_label(&status),
                            created_at: short_time(task["createdAt"].as_str().unwrap_or_default()),
                            created_by_url: creator_url(
                                &read_model,
                                task["createdBy"].as_str().unwrap_or_default(),
                            ),
                            created_by: task["createdBy"].as_str().unwrap_or_default().to_owned(),
                            status,
                            id,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let link = |page: usize| {
            format!(
                "/create/tasks?{}",
                query_string([
                    ("owner", owner),
                    ("status", status.as_str()),
                    ("page", page.to_string().as_str()),
                ])
            )
        };
        let shown_to = (page - 1) * PAGE_SIZE + rows.len();
        let ctx = context! {
            tasks => ser(&rows), total => total, owner => owner, status => status.clone(),
            statuses => ["open", "processing", "completed", "failed", "cancelled"],
            previous => if page > 1 { link(page - 1) } else { String::new() },
            next => if (shown_to as u64) < total { link(page + 1) } else { String::new() },
        };
        ui.page(ui.shell("Tasks", "create"), "tasks.html", ctx)
    }
    .await;
    ui.respond(result)
}

/// Waits until `appended` changes (this process appended an event) or [`POLL_EVERY`] passed.
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

struct Follow {
    service: Arc<dyn ScaffolderService>,
    id: String,
    after: Option<i64>,
    pending: VecDeque<Value>,
    done: bool,
    started: Instant,
    appended: Option<tokio::sync::watch::Receiver<u64>>,
}

impl Follow {
    /// The next event, or `None` once the task ended and every event was sent.
    async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.after = event["id"].as_i64().or(self.after);
                if event["type"] == "completion" {
                    self.done = true;
                }
                return Some(event);
            }
            if self.done || self.started.elapsed() >= STREAM_LIMIT {
                return None;
            }
            // Marked before reading, so an event appended during the read wakes the wait.
            if let Some(receiver) = self.appended.as_mut() {
                receiver.borrow_and_update();
            }
            let events = self
                .service
                .events(self.id.clone(), self.after)
                .await
                .ok()?;
            if events.is_empty() {
                let task = self.service.task(self.id.clone()).await.ok()?;
                if finished(task["status"].as_str().unwrap_or_default()) {
                    // Events written just before the task ended arrive with this read.
                    let last = self
                        .service
                        .events(self.id.clone(), self.after)
                        .await
                        .ok()?;
                    if last.is_empty() {
                        return None;
                    }
                    self.pending.extend(last);
                } else {
                    wait_for_events(&mut self.appended).await;
                }
            } else {
                self.pending.extend(events);
            }
        }
    }
}

/// `GET /create/tasks/{id}/events?after=<event id>`: the task's events as server-sent events
/// (`event: <type>`, `data: <SerializedTaskEvent>`), ending after the task's completion.
pub(crate) async fn events<S: CatalogStore>(
    ui: UiState<S>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    let result = async {
        let service = service(&ui)?;
        let after =
            match params.get("after") {
                None => None,
                Some(text) => Some(text.parse::<i64>().map_err(|_| {
                    UiError::Input(format!("after must be an event id, got {text:?}"))
                })?),
            };
        service.task(id.clone()).await.map_err(service_error)?;
        let follow = Follow {
            appended: service.events_appended(),
            service,
            id,
            after,
            pending: VecDeque::new(),
            done: false,
            started: Instant::now(),
        };
        let stream = futures_util::stream::unfold(follow, |mut follow| async move {
            let event = follow.next().await?;
            let kind = event["type"]
                .as_str()
                .filter(|k| !k.is_empty() && !k.contains(['\n', '\r']))
                .unwrap_or("log")
                .to_owned();
            let frame = Event::default().event(kind).data(event.to_string());
            Some((Ok::<_, Infallible>(frame), follow))
        });
        Ok::<_, UiError>(
            Sse::new(stream)
                .keep_alive(KeepAlive::default())
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|error| ui.respond(Err(error)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_task_view_has_step_statuses_log_and_safe_output() {
        let task = json!({"id": "t1", "status": "completed", "createdAt": "2026-01-31T10:20:30.123Z",
            "createdBy": "user:default/guest",
            "spec": {"steps": [{"id": "a", "name": "First", "action": "debug:log"}, {"action": "debug:log"}],
                     "templateInfo": {"entityRef": "template:default/demo", "entity": {"metadata": {"name": "demo", "title": "Demo"}}}}});
        let events = vec![
            json!({"id": 1, "type": "log", "createdAt": "2026-01-31T10:20:31.000Z", "body": {"message": "Beginning step First", "stepId": "a", "status": "processing"}}),
            json!({"id": 2, "type": "log", "createdAt": "2026-01-31T10:20:32.000Z", "body": {"message": "Finished step a", "stepId": "a", "status": "completed"}}),
            json!({"id": 3, "type": "completion", "createdAt": "2026-01-31T10:20:33.000Z", "body": {"message": "Run completed", "output": {
                "links": [{"title": "Repo", "url": "https://example.com/r"}, {"title": "Bad", "url": "javascript:alert(1)"}, {"title": "Entity", "entityRef": "component:default/x"}],
                "text": [{"title": "Summary", "content": "**done**"}]}}}),
        ];
        let view = task_view(&task, &events);
        assert_eq!(view.template_title, "Demo");
        assert_eq!(view.template_url, "/create/templates/default/demo");
        assert_eq!(view.steps[0].status, "completed");
        assert_eq!(view.steps[1].id, "step-2");
        assert_eq!(view.steps[1].status, "open");
        assert_eq!(view.log.len(), 3);
        assert_eq!(view.log[0].time, "10:20:31");
        assert_eq!(view.log[0].step, "First");
        assert_eq!(view.last_event, "3");
        assert!(!view.running && !view.retryable);
        let hrefs: Vec<&str> = view.links.iter().map(|l| l.href.as_str()).collect();
        assert_eq!(
            hrefs,
            vec!["https://example.com/r", "", "/catalog/default/component/x"]
        );
        let unlinked: Vec<&str> = view.links.iter().map(|l| l.unlinked_url.as_str()).collect();
        assert_eq!(unlinked, vec!["", "javascript:alert(1)", ""]);
        assert_eq!(view.texts[0].content, "**done**");
    }
}

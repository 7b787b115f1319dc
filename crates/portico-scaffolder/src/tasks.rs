//! Durable tasks: a template run stored in the database ([`TaskStore`]) and executed by a worker
//! that claims it as a lease, heartbeats while it runs and writes every step event to the task's
//! event log — so a restart never leaves a task stuck (Backstage #27217).
//!
//! A task whose worker died (its lease expired) is claimed again: it starts over in a fresh
//! workspace with a `recovered` event (Backstage's `startOver` recovery), unless it had secrets
//! — those live only in the memory of the process that accepted the task, never in the
//! database — or it was interrupted too often; then it fails with a message saying why.
//! Workspaces are one directory per task under the work root, removed when the task ends. At most
//! `concurrency` tasks run at once per process.
//!
//! Every event this process appends bumps [`TaskEngine::events_appended`], so readers of a
//! task's events (the long poll and the event stream) wake at once instead of polling; tasks run
//! by another replica on the same database are still seen by the readers' slower poll.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portico_plugin_api::ScaffolderCatalog;
use portico_store::{NewTask, StoreError, TaskFilter, TaskRecord, TaskStore};
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, Semaphore, mpsc, watch};

use crate::runner::{PrepareError, RunEvent, RunObserver, RunRequest, RunStatus, Runner};
use crate::template::Template;

/// How the task worker behaves.
#[derive(Debug, Clone)]
pub struct TaskOptions {
    /// Tasks run at once by this process (`scaffolder.concurrentTasksLimit`).
    pub concurrency: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// Claims after which an interrupted task is failed instead of started over.
    pub max_attempts: i64,
    /// Where task workspaces are created.
    pub work_root: PathBuf,
}

impl Default for TaskOptions {
    fn default() -> Self {
        Self {
            concurrency: 10,
            lease: Duration::from_secs(30),
            max_attempts: 3,
            work_root: std::env::temp_dir().join("portico-scaffolder"),
        }
    }
}

/// Why a task operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The template or values were refused (nothing was stored).
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// The task does not exist.
    #[error("task {0} not found")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Only a finished task can be retried.
    #[error(
        "task {id} is {status}; only a completed, failed or cancelled task can be retried (cancel it first)"
    )]
    NotFinished {
        /// The task.
        id: String,
        /// Its status.
        status: String,
    },
    /// The task had secrets, which are never stored, and the retry brought none.
    #[error(
        "task {0} was created with secrets, and Portico never stores secrets, so it cannot run again without them; send them with the retry: POST /api/scaffolder/v2/tasks/{0}/retry with the body {{\"secrets\": {{...}}}}, or start the template again from its form"
    )]
    SecretsRequired(String),
    /// A stored task spec could not be read back.
    #[error("task {id}: stored spec is not readable: {message}")]
    Corrupt {
        /// The task.
        id: String,
        /// Why.
        message: String,
    },
}

/// A task to start.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The template.
    pub template: Template,
    /// Its directory, when it has a local one.
    pub template_dir: Option<PathBuf>,
    /// Its file's URL, when it came from a `url` location.
    pub template_url: Option<String>,
    /// The values.
    pub values: Map<String, Value>,
    /// Secrets (kept in memory only).
    pub secrets: Map<String, Value>,
    /// The creator's ref.
    pub created_by: Option<String>,
    /// `user.entity`, when known.
    pub user_entity: Option<Value>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Creates, runs and reports tasks over a [`TaskStore`].
pub struct TaskEngine<S: TaskStore> {
    store: Arc<S>,
    runner: Runner,
    options: TaskOptions,
    owner: String,
    catalog: Option<Arc<dyn ScaffolderCatalog>>,
    secrets: Mutex<HashMap<String, Map<String, Value>>>,
    /// The cancel flags of the tasks this process runs, so a cancel asked of this process
    /// reaches the running step at once instead of with the next heartbeat.
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
    wake: Notify,
    slots: Arc<Semaphore>,
    appended: Arc<watch::Sender<u64>>,
}

impl<S: TaskStore> std::fmt::Debug for TaskEngine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskEngine")
            .field("owner", &self.owner)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S: TaskStore> TaskEngine<S> {
    /// An engine; call [`TaskEngine::run_worker`] to execute tasks.
    pub fn new(
        store: Arc<S>,
        runner: Runner,
        options: TaskOptions,
        catalog: Option<Arc<dyn ScaffolderCatalog>>,
    ) -> Self {
        let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
        Self {
            store,
            runner,
            options,
            owner: format!("worker-{}", uuid::Uuid::new_v4()),
            catalog,
            secrets: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            slots,
            appended: Arc::new(watch::channel(0).0),
        }
    }

    /// Changes after every task event this process appends (the value counts them). Subscribe
    /// *before* reading a task's events, then wait for a change when there were none new: an
    /// event appended in between is not missed.
    pub fn events_appended(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }

    /// The runner (its actions).
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// The store.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// Checks and stores a task; returns its id. Nothing is stored when the values are refused.
    pub async fn create(&self, run: NewRun) -> Result<String, TaskError> {
        let values = self.runner.prepare(&run.template, &run.values)?;
        let id = uuid::Uuid::new_v4().to_string();
        let base_url = run
            .template_dir
            .as_ref()
            .and_then(|dir| url::Url::from_directory_path(dir).ok())
            .map(|url| url.to_string())
            .or_else(|| run.template_url.clone());
        let spec = json!({
            "apiVersion": crate::template::API_VERSION,
            "steps": run.template.entity["spec"]["steps"],
            "output": run.template.output,
            "parameters": values,
            "user": {"ref": run.created_by, "entity": run.user_entity},
            "templateInfo": {
                "entityRef": run.template.entity_ref,
                "baseUrl": base_url,
                "entity": run.template.entity,
            },
        });
        let has_secrets = !run.secrets.is_empty();
        if has_secrets && let Ok(mut secrets) = self.secrets.lock() {
            secrets.insert(id.clone(), run.secrets);
        }
        self.store
            .create_task(NewTask {
                id: id.clone(),
                spec_json: spec.to_string(),
                created_by: run.created_by,
                has_secrets,
                created_at: now_ms(),
            })
            .await?;
        self.wake.notify_one();
        Ok(id)
    }

    /// Runs a finished task again under its own id, like Backstage's retry: the same spec, a
    /// fresh workspace, its old completion removed from the log and a `recovered` event. Secrets
    /// are never stored, so they come with the request (Backstage takes them from the retry's
    /// body too); a task that had secrets is refused without them rather than run without.
    /// Returns the id (the task's own).
    pub async fn retry(&self, id: &str, secrets: Map<String, Value>) -> Result<String, TaskError> {
        let record = self
            .store
            .task(id)
            .await?
            .ok_or_else(|| TaskError::NotFound(id.to_owned()))?;
        if !is_final(&record.status) {
            return Err(TaskError::NotFinished {
                id: id.to_owned(),
                status: record.status,
            });
        }
        if record.has_secrets && secrets.is_empty() {
            return Err(TaskError::SecretsRequired(id.to_owned()));
        }
        let has_secrets = !secrets.is_empty();
        // In memory before the task is open again, so the worker that claims it finds them.
        if has_secrets && let Ok(mut held) = self.secrets.lock() {
            held.insert(id.to_owned(), secrets);
        }
        let body = json!({"message": "The task is retried", "recoverStrategy": "none"});
        let before = self
            .store
            .retry_task(id, has_secrets, &body.to_string(), now_ms())
            .await;
        let forget = || {
            if let Ok(mut held) = self.secrets.lock() {
                held.remove(id);
            }
        };
        match before {
            Ok(Some(status)) if is_final(&status) => {}
            Ok(Some(status)) => {
                forget();
                return Err(TaskError::NotFinished {
                    id: id.to_owned(),
                    status,
                });
            }
            Ok(None) => {
                forget();
                return Err(TaskError::NotFound(id.to_owned()));
            }
            Err(error) => {
                forget();
                return Err(error.into());
            }
        }
        self.appended.send_modify(|count| *count += 1);
        self.wake.notify_one();
        Ok(id.to_owned())
    }

    /// Asks a task to stop: an open task is cancelled at once; a running one is told at once
    /// when this process runs it (else with its worker's next heartbeat), its step stops if the
    /// action watches for cancels, and the task ends `cancelled`. Returns the status after the
    /// request.
    pub async fn cancel(&self, id: &str) -> Result<String, TaskError> {
        let status = self
            .store
            .request_cancel(id)
            .await?
            .ok_or_else(|| TaskError::NotFound(id.to_owned()))?;
        if status == "processing"
            && let Ok(running) = self.running.lock()
            && let Some(flag) = running.get(id)
        {
            flag.store(true, Ordering::SeqCst);
        }
        if status == "cancelled" {
            self.append(
                id,
                "cancelled",
                &json!({"message": "The task was cancelled"}),
            )
            .await;
        }
        Ok(status)
    }

    async fn append(&self, id: &str, kind: &str, body: &Value) {
        if let Err(error) = self
            .store
            .append_event(id, kind, &body.to_string(), now_ms())
            .await
        {
            tracing::warn!(task = id, %error, "cannot record a task event");
        }
        self.appended.send_modify(|count| *count += 1);
    }

    /// Claims and runs tasks until `shutdown` turns true; tasks already running finish.
    pub async fn run_worker(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else {
                return;
            };
            let lease_ms = i64::try_from(self.options.lease.as_millis()).unwrap_or(i64::MAX);
            match self.store.claim_task(&self.owner, now_ms(), lease_ms).await {
                Ok(Some(record)) => {
                    let engine = Arc::clone(&self);
                    tokio::spawn(async move {
                        engine.execute(record).await;
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(error) => {
                    drop(permit);
                    tracing::warn!(%error, "cannot claim scaffolder tasks");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    async fn fail(&self, record: &TaskRecord, message: &str) {
        self.append(&record.id, "completion", &json!({"message": message, "status": "failed", "error": {"name": "Error", "message": message}})).await;
        if let Err(error) = self
            .store
            .finish_task(&record.id, &self.owner, "failed", now_ms())
            .await
        {
            tracing::warn!(task = record.id, %error, "cannot finish a task");
        }
    }

    /// Runs one claimed task to its end.
    async fn execute(&self, record: TaskRecord) {
        let secrets = self
            .secrets
            .lock()
            .ok()
            .and_then(|mut map| map.remove(&record.id));
        // Secrets live only in the memory of the process that accepted the task: after a
        // restart (or on another replica) they are gone, and running without them would do
        // something else than what was asked.
        if record.has_secrets && secrets.is_none() {
            self.fail(&record, "The task cannot run here: its secrets are not stored, and this process does not hold them (Portico restarted, or another replica accepted the task). Retry it with the secrets.").await;
            return;
        }
        if record.attempts > 1 {
            if record.attempts > self.options.max_attempts {
                self.fail(
                    &record,
                    &format!(
                        "The task was interrupted {} times; it is not started again.",
                        record.attempts - 1
                    ),
                )
                .await;
                return;
            }
            self.append(&record.id, "recovered", &json!({"message": "The task was interrupted; starting it over", "recoverStrategy": "startOver"})).await;
        }
        let Spec {
            template,
            template_dir,
            template_url,
            values,
            user,
        } = match read_spec(&record) {
            Ok(spec) => spec,
            Err(error) => {
                self.fail(&record, &error.to_string()).await;
                return;
            }
        };
        let workspace = self.options.work_root.join(&record.id);
        let _ = std::fs::remove_dir_all(&workspace);
        if let Err(error) = std::fs::create_dir_all(&workspace) {
            self.fail(
                &record,
                &format!(
                    "cannot create the workspace {}: {error}",
                    workspace.display()
                ),
            )
            .await;
            return;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        if let Ok(mut running) = self.running.lock() {
            running.insert(record.id.clone(), Arc::clone(&cancel));
        }
        let (events, mut received) = mpsc::unbounded_channel::<(String, Value)>();
        let writer = {
            let store = Arc::clone(&self.store);
            let appended = Arc::clone(&self.appended);
            let id = record.id.clone();
            tokio::spawn(async move {
                while let Some((kind, body)) = received.recv().await {
                    if let Err(error) = store
                        .append_event(&id, &kind, &body.to_string(), now_ms())
                        .await
                    {
                        tracing::warn!(task = id, %error, "cannot record a task event");
                    }
                    appended.send_modify(|count| *count += 1);
                }
            })
        };
        let heartbeat = {
            let store = Arc::clone(&self.store);
            let id = record.id.clone();
            let owner = self.owner.clone();
            let cancel = Arc::clone(&cancel);
            let lease = self.options.lease;
            tokio::spawn(async move {
                let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
                loop {
                    tokio::time::sleep(lease / 3).await;
                    match store.heartbeat(&id, &owner, now_ms(), lease_ms).await {
                        Ok(beat) if beat.cancel_requested || !beat.owned => {
                            cancel.store(true, Ordering::SeqCst)
                        }
                        Ok(_) => {}
                        Err(error) => tracing::warn!(task = id, %error, "task heartbeat failed"),
                    }
                }
            })
        };
        let request = RunRequest {
            template,
            values,
            secrets: secrets.unwrap_or_default(),
            user,
            template_dir,
            template_url,
            workspace: workspace.clone(),
            dry_run: false,
            catalog: self.catalog.clone(),
            task_id: record.id.clone(),
            cancel: Arc::clone(&cancel),
        };
        let observer = Arc::new(EventLog {
            events: events.clone(),
        });
        let mut outcome = self.runner.run(request, observer).await;
        heartbeat.abort();
        if let Ok(mut running) = self.running.lock() {
            running.remove(&record.id);
        }
        // A cancel asked of another replica during the last step may not have reached us
        // through a heartbeat yet: the store has the last word.
        if let Ok(report) = &mut outcome
            && report.status == RunStatus::Completed
            && let Ok(Some(now)) = self.store.task(&record.id).await
            && now.cancel_requested
        {
            report.status = RunStatus::Cancelled;
            report.output = Value::Object(Map::new());
            let _ = events.send((
                "log".to_owned(),
                json!({"message": "The task was cancelled while its last step ran"}),
            ));
        }
        let (status, body) = match outcome {
            Ok(report) => {
                let status = match report.status {
                    RunStatus::Completed => "completed",
                    RunStatus::Failed => "failed",
                    RunStatus::Cancelled => "cancelled",
                };
                let message = match report.status {
                    RunStatus::Completed => "Run completed".to_owned(),
                    RunStatus::Failed => {
                        format!("Run failed: {}", report.error.clone().unwrap_or_default())
                    }
                    RunStatus::Cancelled => "Run cancelled".to_owned(),
                };
                let mut body =
                    json!({"message": message, "status": status, "output": report.output});
                if let Some(error) = &report.error {
                    body["error"] = json!({"name": "Error", "message": error});
                }
                (status, body)
            }
            Err(error) => (
                "failed",
                json!({"message": format!("Run failed: {error}"), "status": "failed", "error": {"name": "InputError", "message": error.to_string()}}),
            ),
        };
        if status == "cancelled" {
            let _ = events.send((
                "cancelled".to_owned(),
                json!({"message": "The task was cancelled"}),
            ));
        }
        let _ = events.send(("completion".to_owned(), body));
        drop(events);
        let _ = writer.await;
        match self
            .store
            .finish_task(&record.id, &self.owner, status, now_ms())
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                task = record.id,
                "the task's lease was lost before it finished"
            ),
            Err(error) => tracing::warn!(task = record.id, %error, "cannot finish a task"),
        }
        if let Err(error) = std::fs::remove_dir_all(&workspace) {
            tracing::warn!(task = record.id, %error, "cannot remove the task workspace");
        }
    }

    /// One task as Backstage's `SerializedTask` (`{id, spec, status, createdAt, lastHeartbeatAt,
    /// createdBy}`), never with secrets.
    pub async fn get(&self, id: &str) -> Result<Option<Value>, TaskError> {
        Ok(self
            .store
            .task(id)
            .await?
            .map(|record| serialize_task(&record)))
    }

    /// Tasks as `{tasks: [...], totalTasks}`.
    pub async fn list(&self, filter: &TaskFilter) -> Result<Value, TaskError> {
        let (tasks, total) = self.store.list_tasks(filter).await?;
        Ok(
            json!({"tasks": tasks.iter().map(serialize_task).collect::<Vec<_>>(), "totalTasks": total}),
        )
    }

    /// The task's events after `after`, as Backstage's `SerializedTaskEvent`s.
    pub async fn events(&self, id: &str, after: Option<i64>) -> Result<Vec<Value>, TaskError> {
        Ok(self
            .store
            .task_events(id, after)
            .await?
            .into_iter()
            .map(|event| {
                let body: Value = serde_json::from_str(&event.body_json).unwrap_or(Value::Null);
                json!({"id": event.id, "taskId": event.task_id, "type": event.event_type, "body": body, "createdAt": millis_to_iso(event.created_at)})
            })
            .collect())
    }
}

fn is_final(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "cancelled")
}

fn serialize_task(record: &TaskRecord) -> Value {
    let spec: Value = serde_json::from_str(&record.spec_json).unwrap_or(Value::Null);
    json!({
        "id": record.id,
        "spec": spec,
        "status": record.status,
        "createdAt": millis_to_iso(record.created_at),
        "lastHeartbeatAt": record.last_heartbeat_at.map(millis_to_iso),
        "createdBy": record.created_by,
    })
}

/// `1700000000000` → `2023-11-14T22:13:20.000Z`.
pub fn millis_to_iso(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
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
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    )
}

/// A stored task spec, read back.
struct Spec {
    template: Template,
    template_dir: Option<PathBuf>,
    template_url: Option<String>,
    values: Map<String, Value>,
    user: Value,
}

fn read_spec(record: &TaskRecord) -> Result<Spec, TaskError> {
    let corrupt = |message: String| TaskError::Corrupt {
        id: record.id.clone(),
        message,
    };
    let spec: Value =
        serde_json::from_str(&record.spec_json).map_err(|e| corrupt(e.to_string()))?;
    let template = Template::from_entity(&spec["templateInfo"]["entity"])
        .map_err(|e| corrupt(e.to_string()))?;
    // `baseUrl` is a file: URL for a template with a folder, its http(s) URL for one read
    // from a url location.
    let base = spec["templateInfo"]["baseUrl"]
        .as_str()
        .and_then(|base| url::Url::parse(base).ok());
    let template_dir = base
        .as_ref()
        .filter(|url| url.scheme() == "file")
        .and_then(|url| url.to_file_path().ok());
    let template_url = base
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .map(|url| url.to_string());
    let values = spec["parameters"].as_object().cloned().unwrap_or_default();
    Ok(Spec {
        template,
        template_dir,
        template_url,
        values,
        user: spec["user"].clone(),
    })
}

/// Turns run events into task events (Backstage's log bodies: `message`, `stepId`, `status`).
struct EventLog {
    events: mpsc::UnboundedSender<(String, Value)>,
}

impl RunObserver for EventLog {
    fn on_event(&self, event: &RunEvent) {
        // Each step line carries the step's new status, from which Backstage's UI draws the
        // steps; a failure is said with its error.
        let body = match event {
            RunEvent::Log { step_id, message } => match step_id {
                Some(step) => json!({"message": message, "stepId": step}),
                None => json!({"message": message}),
            },
            RunEvent::StepStarted { id, .. } => {
                json!({"message": event.step_line(), "stepId": id, "status": "processing"})
            }
            RunEvent::StepFinished {
                id,
                name,
                status,
                error,
                ..
            } => {
                let message = match (error, event.step_line()) {
                    (Some(error), _) => format!("Step {name} failed: {error}"),
                    (None, Some(line)) => line,
                    // A cancelled step: the runner's own line says so; keep the status change.
                    (None, None) => format!("Finished step {name}"),
                };
                let status = serde_json::to_value(status).unwrap_or(Value::Null);
                json!({"message": message, "stepId": id, "status": status})
            }
        };
        let _ = self.events.send(("log".to_owned(), body));
    }
}

#[cfg(test)]
mod tests {
    use super::millis_to_iso;

    #[test]
    fn iso_dates() {
        assert_eq!(millis_to_iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(millis_to_iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(millis_to_iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}

//! Running a template: check everything that can be checked before the first step (parameters
//! against every page, every action known, every `if`/`each` well-formed), then run the steps in
//! order in the workspace, rendering each step's `if`, `each` and `input` with the values so far,
//! and finally render the template's `output`.
//!
//! The runner reports progress to a [`RunObserver`] (the CLI's progress lines, the task store's
//! event log) and returns a [`RunReport`]. Secrets are masked in everything it reports.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use portico_plugin_api::{ActionContext, ActionLogger, ScaffolderCatalog};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::actions::ActionRegistry;
use crate::expr::{Limits, Renderer, is_truthy};
use crate::params::{ParametersError, active_pages, validate_parameters};
use crate::secrets::Masker;
use crate::template::{Step, Template};

/// What to run and where.
#[derive(Clone)]
pub struct RunRequest {
    /// The template.
    pub template: Template,
    /// The user's values (`parameters`).
    pub values: Map<String, Value>,
    /// `secrets` (masked in every report).
    pub secrets: Map<String, Value>,
    /// `user`: `{ref, entity}`.
    pub user: Value,
    /// The template's own directory (relative `fetch:*` urls resolve against it).
    pub template_dir: Option<PathBuf>,
    /// The template file's URL when it came from a `url` location (relative `fetch:*` urls
    /// resolve against it when there is no directory).
    pub template_url: Option<String>,
    /// The workspace the steps write into (must exist).
    pub workspace: PathBuf,
    /// Dry-run: actions that do not support it are skipped with a log line.
    pub dry_run: bool,
    /// The catalog for `catalog:*` actions.
    pub catalog: Option<Arc<dyn ScaffolderCatalog>>,
    /// `context.task.id` in expressions.
    pub task_id: String,
    /// Set to stop the run: actions that watch it stop early, no further step starts, and the
    /// run ends `Cancelled` even when the step it interrupted was the last.
    pub cancel: Arc<AtomicBool>,
}

impl std::fmt::Debug for RunRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunRequest")
            .field("template", &self.template.entity_ref)
            .field("workspace", &self.workspace)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// Why a run did not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    /// The values fail the parameter pages (or a page is not a schema).
    #[error(transparent)]
    Parameters(#[from] ParametersError),
    /// Steps name actions the registry does not have.
    #[error("{}", unknown_message(.0))]
    UnknownActions(Vec<UnknownAction>),
}

/// A step whose action is not registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownAction {
    /// The step's index in `spec.steps`.
    pub index: usize,
    /// The step's id.
    pub step: String,
    /// The action it names.
    pub action: String,
}

fn unknown_message(unknown: &[UnknownAction]) -> String {
    unknown
        .iter()
        .map(|u| {
            format!(
                "unknown action {:?} in step {:?} (spec.steps[{}].action); see `GET /api/scaffolder/v2/actions` for the available ones",
                u.action, u.step, u.index
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A step's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Not run (a previous step failed or the run was cancelled).
    Open,
    /// Running now.
    Processing,
    /// Done.
    Completed,
    /// Its `if` was false (or, in a dry-run, its action does not support dry-runs).
    Skipped,
    /// It failed.
    Failed,
    /// The run was cancelled before it or while it ran.
    Cancelled,
}

/// The outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every step completed or was skipped.
    Completed,
    /// A step failed.
    Failed,
    /// Cancelled before or during a step (also the last one).
    Cancelled,
}

/// Progress of a run, as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// A step starts.
    StepStarted {
        /// Index in `spec.steps`.
        index: usize,
        /// Number of steps.
        total: usize,
        /// The step's id.
        id: String,
        /// The step's name.
        name: String,
    },
    /// A log line (secrets masked).
    Log {
        /// The step it belongs to, `None` for the run itself.
        step_id: Option<String>,
        /// The line.
        message: String,
    },
    /// A step ended.
    StepFinished {
        /// The step's id.
        id: String,
        /// Its display name, as in `StepStarted`.
        name: String,
        /// How it ended.
        status: StepStatus,
        /// How long it took, in milliseconds.
        millis: u128,
        /// Why it failed (secrets masked).
        error: Option<String>,
        /// Why it was skipped, as Backstage words it ("Skipping step <id> because its if
        /// condition was false", "Skipping because <action> does not support dry-run").
        skipped_because: Option<String>,
    },
}

impl RunEvent {
    /// The log line Backstage's workflow runner writes for a step's start or end, if any:
    /// "Beginning step <name>", "Finished step <name>" (only when it completed), the reason it
    /// was skipped. A failure's or a cancel's own log line already says how the step ended.
    pub fn step_line(&self) -> Option<String> {
        match self {
            RunEvent::StepStarted { name, .. } => Some(format!("Beginning step {name}")),
            RunEvent::StepFinished {
                name,
                status: StepStatus::Completed,
                ..
            } => Some(format!("Finished step {name}")),
            RunEvent::StepFinished {
                status: StepStatus::Skipped,
                skipped_because,
                ..
            } => skipped_because.clone(),
            RunEvent::StepFinished { .. } | RunEvent::Log { .. } => None,
        }
    }
}

/// Receives a run's events.
pub trait RunObserver: Send + Sync {
    /// Called for every event, in order.
    fn on_event(&self, event: &RunEvent);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl RunObserver for NoObserver {
    fn on_event(&self, _: &RunEvent) {}
}

/// One log line of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// The step, if any.
    #[serde(rename = "stepId", skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    /// The message (secrets masked).
    pub message: String,
}

/// One step of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// The step's id.
    pub id: String,
    /// The step's name.
    pub name: String,
    /// The action.
    pub action: String,
    /// How it ended.
    pub status: StepStatus,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// How it ended.
    pub status: RunStatus,
    /// Every step, in order.
    pub steps: Vec<StepReport>,
    /// The rendered `output` (`{}` when the run did not complete).
    pub output: Value,
    /// Every log line.
    pub log: Vec<LogLine>,
    /// Why it failed (secrets masked).
    pub error: Option<String>,
}

struct Recorder {
    masker: Masker,
    observer: Arc<dyn RunObserver>,
    log: Mutex<Vec<LogLine>>,
}

impl Recorder {
    fn emit(&self, event: RunEvent) {
        // The report's log (a dry-run's `log`) holds the step lines too, as Backstage's does.
        let line = match &event {
            RunEvent::Log { step_id, message } => Some(LogLine {
                step_id: step_id.clone(),
                message: message.clone(),
            }),
            RunEvent::StepStarted { id, .. } | RunEvent::StepFinished { id, .. } => {
                event.step_line().map(|message| LogLine {
                    step_id: Some(id.clone()),
                    message: self.masker.mask(&message),
                })
            }
        };
        if let Some(line) = line
            && let Ok(mut log) = self.log.lock()
        {
            log.push(line);
        }
        self.observer.on_event(&event);
    }

    fn log(&self, step_id: Option<&str>, message: &str) {
        self.emit(RunEvent::Log {
            step_id: step_id.map(str::to_owned),
            message: self.masker.mask(message),
        });
    }
}

struct StepLogger {
    recorder: Arc<Recorder>,
    step_id: String,
}

impl ActionLogger for StepLogger {
    fn log(&self, message: &str) {
        self.recorder.log(Some(&self.step_id), message);
    }
}

/// Runs templates with a set of actions.
#[derive(Debug, Clone)]
pub struct Runner {
    actions: ActionRegistry,
    limits: Limits,
}

impl Runner {
    /// A runner over these actions.
    pub fn new(actions: ActionRegistry) -> Self {
        Self {
            actions,
            limits: Limits::default(),
        }
    }

    /// The actions.
    pub fn actions(&self) -> &ActionRegistry {
        &self.actions
    }

    /// Checks a run before it starts: returns the values with the pages' defaults filled in.
    pub fn prepare(
        &self,
        template: &Template,
        values: &Map<String, Value>,
    ) -> Result<Map<String, Value>, PrepareError> {
        let unknown: Vec<UnknownAction> = template
            .steps
            .iter()
            .enumerate()
            .filter(|(_, step)| self.actions.get(&step.action).is_none())
            .map(|(index, step)| UnknownAction {
                index,
                step: step.id.clone(),
                action: step.action.clone(),
            })
            .collect();
        if !unknown.is_empty() {
            return Err(PrepareError::UnknownActions(unknown));
        }
        // A page that is not a schema is the template's fault, named by field as the catalog
        // names it (a template given to a dry-run or the CLI has not been through the catalog).
        if let Some(issue) = portico_model::parameter_schema::check_pages(&template.parameters)
            .into_iter()
            .next()
        {
            let page = match issue.path.segments().get(2) {
                Some(portico_model::PathSegment::Index(page)) => *page,
                _ => 0,
            };
            return Err(PrepareError::Parameters(ParametersError::Schema {
                page,
                message: format!("{}: {issue}", issue.path),
            }));
        }
        let mut values = values.clone();
        let pages = active_pages(&template.parameters, &mut values);
        validate_parameters(&pages, &Value::Object(values.clone()))?;
        Ok(values)
    }

    /// Runs every step. Fails before the first step with a [`PrepareError`]; a step that fails
    /// ends the run with `RunStatus::Failed` in the report.
    pub async fn run(
        &self,
        request: RunRequest,
        observer: Arc<dyn RunObserver>,
    ) -> Result<RunReport, PrepareError> {
        let values = self.prepare(&request.template, &request.values)?;
        let recorder = Arc::new(Recorder {
            masker: Masker::new(&request.secrets),
            observer,
            log: Mutex::new(Vec::new()),
        });
        let renderer = Renderer::new(self.limits);
        let mut context = json!({
            "parameters": values,
            "secrets": request.secrets,
            "steps": {},
            "user": request.user,
            "context": {"task": {"id": request.task_id}},
        });
        let steps = &request.template.steps;
        let mut reports: Vec<StepReport> = steps
            .iter()
            .map(|step| StepReport {
                id: step.id.clone(),
                name: step.name.clone(),
                action: step.action.clone(),
                status: StepStatus::Open,
            })
            .collect();
        let mut status = RunStatus::Completed;
        let mut error = None;
        recorder.log(
            None,
            &format!("Starting up task with {} steps", steps.len()),
        );
        for (index, step) in steps.iter().enumerate() {
            if request.cancel.load(Ordering::SeqCst) {
                status = RunStatus::Cancelled;
                for report in &mut reports[index..] {
                    report.status = StepStatus::Cancelled;
                }
                recorder.log(None, "The task was cancelled");
                break;
            }
            recorder.emit(RunEvent::StepStarted {
                index,
                total: steps.len(),
                id: step.id.clone(),
                name: step.name.clone(),
            });
            let started = Instant::now();
            let outcome = self
                .run_step(step, &request, &renderer, &mut context, &recorder)
                .await;
            let (mut step_status, step_error, skipped_because) = match outcome {
                Ok(StepOutcome::Completed) => (StepStatus::Completed, None, None),
                Ok(StepOutcome::Skipped(reason)) => (
                    StepStatus::Skipped,
                    None,
                    Some(recorder.masker.mask(&reason)),
                ),
                Err(message) => (
                    StepStatus::Failed,
                    Some(recorder.masker.mask(&message)),
                    None,
                ),
            };
            // A cancel that arrived while the step ran wins over how the step ended: the
            // action may have stopped early (debug:wait) or failed because it was stopped, and
            // either way the user asked for the run to end cancelled — also after the last step.
            let cancelled = request.cancel.load(Ordering::SeqCst);
            if cancelled {
                step_status = StepStatus::Cancelled;
            }
            reports[index].status = step_status;
            if let Some(message) = &step_error {
                recorder.log(Some(&step.id), message);
            }
            if cancelled {
                recorder.log(
                    Some(&step.id),
                    &format!(
                        "The task was cancelled while step {} ran; no further step runs",
                        step.id
                    ),
                );
            }
            recorder.emit(RunEvent::StepFinished {
                id: step.id.clone(),
                name: step.name.clone(),
                status: step_status,
                millis: started.elapsed().as_millis(),
                error: step_error.clone(),
                skipped_because: skipped_because.filter(|_| step_status == StepStatus::Skipped),
            });
            if cancelled {
                status = RunStatus::Cancelled;
                for report in &mut reports[index + 1..] {
                    report.status = StepStatus::Cancelled;
                }
                break;
            }
            if step_status == StepStatus::Failed {
                status = RunStatus::Failed;
                error = step_error;
                break;
            }
        }
        let output = if status == RunStatus::Completed {
            match render_output(&renderer, &request.template.output, &context) {
                Ok(output) => recorder.masker.mask_value(&output),
                Err(message) => {
                    let message = recorder
                        .masker
                        .mask(&format!("cannot render the output: {message}"));
                    recorder.log(None, &message);
                    status = RunStatus::Failed;
                    error = Some(message);
                    Value::Object(Map::new())
                }
            }
        } else {
            Value::Object(Map::new())
        };
        let log = recorder
            .log
            .lock()
            .map(|log| log.clone())
            .unwrap_or_default();
        Ok(RunReport {
            status,
            steps: reports,
            output,
            log,
            error,
        })
    }

    async fn run_step(
        &self,
        step: &Step,
        request: &RunRequest,
        renderer: &Renderer,
        context: &mut Value,
        recorder: &Arc<Recorder>,
    ) -> Result<StepOutcome, String> {
        let at = |what: &str| format!("step {:?} ({what})", step.id);
        if let Some(condition) = &step.condition {
            let value = renderer
                .render_value(condition, context)
                .map_err(|e| format!("{}: {e}", at("if")))?;
            if !is_truthy(Some(&value)) {
                return Ok(StepOutcome::Skipped(format!(
                    "Skipping step {} because its if condition was false",
                    step.id
                )));
            }
        }
        let Some(action) = self.actions.get(&step.action).cloned() else {
            return Err(format!("unknown action {:?}", step.action));
        };
        let iterations: Vec<Option<Value>> = match &step.each {
            None => vec![None],
            Some(each) => {
                let items = renderer
                    .render_value(each, context)
                    .map_err(|e| format!("{}: {e}", at("each")))?;
                match items {
                    Value::Array(items) => items
                        .into_iter()
                        .enumerate()
                        .map(|(key, value)| Some(json!({"key": key.to_string(), "value": value})))
                        .collect(),
                    Value::Object(map) => map
                        .into_iter()
                        .map(|(key, value)| Some(json!({"key": key, "value": value})))
                        .collect(),
                    other => {
                        return Err(format!(
                            "{}: must render to a list or an object, got {}",
                            at("each"),
                            crate::template::kind_of(&other)
                        ));
                    }
                }
            }
        };
        let schema = action.input_schema();
        let validator = jsonschema::draft7::new(&schema)
            .map_err(|e| format!("action {} has an invalid input schema: {e}", step.action))?;
        let mut outputs = Map::new();
        let mut skipped = false;
        for each in iterations {
            let mut step_context = context.clone();
            if let (Some(each), Some(object)) = (&each, step_context.as_object_mut()) {
                object.insert("each".to_owned(), each.clone());
            }
            let input = renderer
                .render_value(&step.input, &step_context)
                .map_err(|e| format!("{}: {e}", at("input")))?;
            let problems: Vec<String> = validator
                .iter_errors(&input)
                .map(|problem| {
                    let path = problem.instance_path().as_str().to_owned();
                    format!("input{} {}", path.replace('/', "."), problem)
                })
                .collect();
            if !problems.is_empty() {
                return Err(format!(
                    "{}: invalid input for {}: {}",
                    at("input"),
                    step.action,
                    problems.join("; ")
                ));
            }
            let produced = if request.dry_run && !action.supports_dry_run() {
                skipped = true;
                dry_run_outputs(&action.output_schema())
            } else {
                let ctx = ActionContext {
                    input,
                    workspace: request.workspace.clone(),
                    template_dir: request.template_dir.clone(),
                    template_url: request.template_url.clone(),
                    template_ref: request.template.entity_ref.clone(),
                    secrets: request.secrets.clone(),
                    user: request.user.clone(),
                    dry_run: request.dry_run,
                    logger: Arc::new(StepLogger {
                        recorder: recorder.clone(),
                        step_id: step.id.clone(),
                    }),
                    catalog: request.catalog.clone(),
                    cancelled: Arc::clone(&request.cancel),
                };
                action.handle(ctx).await.map_err(|e| e.to_string())?
            };
            for (name, value) in produced {
                if each.is_some() {
                    match outputs
                        .entry(name)
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        Value::Array(list) => list.push(value),
                        other => *other = Value::Array(vec![value]),
                    }
                } else {
                    outputs.insert(name, value);
                }
            }
        }
        if let Some(steps) = context.get_mut("steps").and_then(Value::as_object_mut) {
            steps.insert(step.id.clone(), json!({ "output": outputs }));
        }
        Ok(if skipped {
            StepOutcome::Skipped(format!(
                "Skipping because {} does not support dry-run",
                step.action
            ))
        } else {
            StepOutcome::Completed
        })
    }
}

/// How a step that did not fail ended.
enum StepOutcome {
    Completed,
    /// With the log line saying why.
    Skipped(String),
}

/// Stand-in outputs of an action skipped in a dry-run, so later steps still render.
fn dry_run_outputs(schema: &Value) -> Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .keys()
                .map(|key| (key.clone(), Value::String(format!("[dry-run] {key}"))))
                .collect()
        })
        .unwrap_or_default()
}

/// Renders `output`; `links` and `text` items whose `if` is false are dropped.
fn render_output(renderer: &Renderer, output: &Value, context: &Value) -> Result<Value, String> {
    let mut rendered = Map::new();
    let Some(object) = output.as_object() else {
        return Ok(Value::Object(rendered));
    };
    for (key, value) in object {
        let value = match (key.as_str(), value) {
            ("links" | "text", Value::Array(items)) => {
                let mut kept = Vec::new();
                for item in items {
                    let mut item = item.clone();
                    let condition = item
                        .as_object_mut()
                        .and_then(|object| object.shift_remove("if"));
                    if let Some(condition) = condition {
                        let value = renderer
                            .render_value(&condition, context)
                            .map_err(|e| e.to_string())?;
                        if !is_truthy(Some(&value)) {
                            continue;
                        }
                    }
                    kept.push(
                        renderer
                            .render_value(&item, context)
                            .map_err(|e| e.to_string())?,
                    );
                }
                Value::Array(kept)
            }
            _ => renderer
                .render_value(value, context)
                .map_err(|e| e.to_string())?,
        };
        rendered.insert(key.clone(), value);
    }
    Ok(Value::Object(rendered))
}

//! The scaffolder as one object-safe service, the surface the HTTP layer calls for
//! `/api/scaffolder/v2` (Backstage's router): templates come from the catalog through
//! [`ScaffolderCatalog`], tasks from the [`TaskEngine`], dry-runs from [`dry_run`].
//!
//! A template's files are read from the folder of its catalog file (the
//! `backstage.io/managed-by-location` annotation, `file:` locations); the files of a template
//! from a `url:` location are read from next to that URL, from allowed hosts only.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use portico_plugin_api::{BoxFuture, ScaffolderCatalog};
use portico_store::{TaskFilter, TaskStore};
use serde_json::{Map, Value, json};

use crate::dry_run::{DryRunError, DryRunRequest, TemplateFiles, dry_run};
use crate::params::ParametersError;
use crate::runner::{NoObserver, PrepareError};
use crate::tasks::{NewRun, TaskEngine, TaskError};
use crate::template::Template;

/// Why a request failed, in terms the HTTP layer maps to Backstage's errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceError {
    /// Bad input (400); `errors` carries the parameter errors of `POST /v2/tasks`.
    #[error("{message}")]
    Input {
        /// What is wrong.
        message: String,
        /// Field-level errors, when there are any.
        errors: Option<Value>,
    },
    /// No such task or template (404).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the state of the task (409).
    #[error("{0}")]
    Conflict(String),
    /// Anything else (500; details logged).
    #[error("{0}")]
    Internal(String),
}

fn input(message: impl Into<String>) -> ServiceError {
    ServiceError::Input {
        message: message.into(),
        errors: None,
    }
}

impl From<PrepareError> for ServiceError {
    fn from(error: PrepareError) -> Self {
        match &error {
            PrepareError::Parameters(ParametersError::Invalid(problems)) => ServiceError::Input {
                message: error.to_string(),
                errors: serde_json::to_value(problems).ok(),
            },
            _ => input(error.to_string()),
        }
    }
}

impl From<TaskError> for ServiceError {
    fn from(error: TaskError) -> Self {
        match &error {
            TaskError::Prepare(prepare) => prepare.clone().into(),
            TaskError::NotFound(id) => {
                ServiceError::NotFound(format!("Task with id {id} does not exist"))
            }
            TaskError::NotFinished { .. } => ServiceError::Conflict(error.to_string()),
            TaskError::SecretsRequired(_) => input(error.to_string()),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

/// What `/api/scaffolder/v2` needs.
pub trait ScaffolderService: Send + Sync {
    /// `GET /v2/actions`.
    fn actions(&self) -> Value;
    /// `GET /v2/templates/:namespace/:kind/:name/parameter-schema`.
    fn parameter_schema(&self, template_ref: String) -> BoxFuture<'_, Result<Value, ServiceError>>;
    /// `POST /v2/tasks`: returns the new task's id.
    fn create_task(
        &self,
        template_ref: String,
        values: Map<String, Value>,
        secrets: Map<String, Value>,
        created_by: Option<String>,
    ) -> BoxFuture<'_, Result<String, ServiceError>>;
    /// `GET /v2/tasks/:id`.
    fn task(&self, id: String) -> BoxFuture<'_, Result<Value, ServiceError>>;
    /// `GET /v2/tasks`.
    fn list_tasks(&self, filter: TaskFilter) -> BoxFuture<'_, Result<Value, ServiceError>>;
    /// The task's events after `after` (`/events`, `/eventstream`).
    fn events(
        &self,
        id: String,
        after: Option<i64>,
    ) -> BoxFuture<'_, Result<Vec<Value>, ServiceError>>;
    /// `POST /v2/tasks/:id/cancel`: the status after the request.
    fn cancel(&self, id: String) -> BoxFuture<'_, Result<String, ServiceError>>;
    /// `POST /v2/tasks/:id/retry`: runs the finished task again under its id (returned); the
    /// secrets replace the ones it had, which are never stored.
    fn retry(
        &self,
        id: String,
        secrets: Map<String, Value>,
    ) -> BoxFuture<'_, Result<String, ServiceError>>;
    /// `POST /v2/dry-run` with Backstage's body.
    fn dry_run(&self, body: Value) -> BoxFuture<'_, Result<Value, ServiceError>>;
    /// Changes whenever this process appends a task event, so event readers wake at once; `None`
    /// when the service cannot tell (readers then only poll).
    fn events_appended(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

/// The service over a task store and the catalog.
pub struct Scaffolder<S: TaskStore> {
    engine: Arc<TaskEngine<S>>,
    catalog: Arc<dyn ScaffolderCatalog>,
}

impl<S: TaskStore> std::fmt::Debug for Scaffolder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scaffolder")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl<S: TaskStore> Scaffolder<S> {
    /// The service.
    pub fn new(engine: Arc<TaskEngine<S>>, catalog: Arc<dyn ScaffolderCatalog>) -> Self {
        Self { engine, catalog }
    }

    async fn template(
        &self,
        template_ref: &str,
    ) -> Result<(Template, Option<PathBuf>, Option<String>), ServiceError> {
        let parsed = portico_model::EntityRef::parse(
            template_ref,
            portico_model::RefDefaults {
                kind: Some("template"),
                namespace: None,
            },
        )
        .map_err(|error| input(error.to_string()))?;
        let entity = self
            .catalog
            .get_entity(parsed.canonical())
            .await
            .map_err(|error| ServiceError::Internal(error.to_string()))?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("Template {} not found", parsed.canonical()))
            })?;
        let template = Template::from_entity(&entity).map_err(|error| input(error.to_string()))?;
        Ok((template, template_dir_of(&entity), template_url_of(&entity)))
    }
}

/// The folder of a template's catalog file, from `backstage.io/managed-by-location: file:<path>`.
pub fn template_dir_of(entity: &Value) -> Option<PathBuf> {
    let location =
        entity["metadata"]["annotations"]["backstage.io/managed-by-location"].as_str()?;
    let path = location.strip_prefix("file:")?;
    PathBuf::from(path).parent().map(PathBuf::from)
}

/// The URL of a template's catalog file, from `backstage.io/managed-by-location: url:<url>`.
pub fn template_url_of(entity: &Value) -> Option<String> {
    let location =
        entity["metadata"]["annotations"]["backstage.io/managed-by-location"].as_str()?;
    location.strip_prefix("url:").map(str::to_owned)
}

fn parameter_schema_of(template: &Template) -> Value {
    let entity = &template.entity;
    let steps: Vec<Value> = template
        .parameters
        .iter()
        .map(|page| {
            json!({
                "title": page.get("title").cloned().unwrap_or(json!("Please enter the following information")),
                "description": page.get("description"),
                "schema": page,
            })
        })
        .collect();
    let mut schema = json!({
        "title": entity["metadata"]["title"].as_str().unwrap_or(&template.name),
        "description": entity["metadata"]["description"],
        "steps": steps,
    });
    if let Some(presentation) = entity["spec"].get("presentation") {
        schema["presentation"] = presentation.clone();
    }
    if let Some(options) = entity["metadata"].get("ui:options") {
        schema["ui:options"] = options.clone();
    }
    schema
}

impl<S: TaskStore> ScaffolderService for Scaffolder<S> {
    fn actions(&self) -> Value {
        self.engine.runner().actions().list()
    }

    fn events_appended(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.engine.events_appended())
    }

    fn parameter_schema(&self, template_ref: String) -> BoxFuture<'_, Result<Value, ServiceError>> {
        Box::pin(async move {
            let (template, _, _) = self.template(&template_ref).await?;
            Ok(parameter_schema_of(&template))
        })
    }

    fn create_task(
        &self,
        template_ref: String,
        values: Map<String, Value>,
        secrets: Map<String, Value>,
        created_by: Option<String>,
    ) -> BoxFuture<'_, Result<String, ServiceError>> {
        Box::pin(async move {
            let (template, template_dir, template_url) = self.template(&template_ref).await?;
            let user_entity = match &created_by {
                Some(user) => self.catalog.get_entity(user).await.ok().flatten(),
                None => None,
            };
            Ok(self
                .engine
                .create(NewRun {
                    template,
                    template_dir,
                    template_url,
                    values,
                    secrets,
                    created_by,
                    user_entity,
                })
                .await?)
        })
    }

    fn task(&self, id: String) -> BoxFuture<'_, Result<Value, ServiceError>> {
        Box::pin(async move {
            self.engine
                .get(&id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("Task with id {id} does not exist")))
        })
    }

    fn list_tasks(&self, filter: TaskFilter) -> BoxFuture<'_, Result<Value, ServiceError>> {
        Box::pin(async move { Ok(self.engine.list(&filter).await?) })
    }

    fn events(
        &self,
        id: String,
        after: Option<i64>,
    ) -> BoxFuture<'_, Result<Vec<Value>, ServiceError>> {
        Box::pin(async move {
            if self.engine.get(&id).await?.is_none() {
                return Err(ServiceError::NotFound(format!(
                    "Task with id {id} does not exist"
                )));
            }
            Ok(self.engine.events(&id, after).await?)
        })
    }

    fn cancel(&self, id: String) -> BoxFuture<'_, Result<String, ServiceError>> {
        Box::pin(async move { Ok(self.engine.cancel(&id).await?) })
    }

    fn retry(
        &self,
        id: String,
        secrets: Map<String, Value>,
    ) -> BoxFuture<'_, Result<String, ServiceError>> {
        Box::pin(async move { Ok(self.engine.retry(&id, secrets).await?) })
    }

    fn dry_run(&self, body: Value) -> BoxFuture<'_, Result<Value, ServiceError>> {
        Box::pin(async move {
            let template =
                Template::from_entity(&body["template"]).map_err(|e| input(e.to_string()))?;
            let object = |key: &str| {
                body.get(key)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
            };
            let mut files = Vec::new();
            for item in body["directoryContents"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let path = item["path"]
                    .as_str()
                    .ok_or_else(|| input("directoryContents[].path is required"))?;
                let content = item["base64Content"].as_str().unwrap_or("");
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(content)
                    .map_err(|e| {
                        input(format!("directoryContents {path:?}: invalid base64: {e}"))
                    })?;
                files.push((path.to_owned(), bytes));
            }
            let request = DryRunRequest {
                template,
                values: object("values"),
                secrets: object("secrets"),
                user: json!({}),
                files: TemplateFiles::Contents(files),
                catalog: Some(Arc::clone(&self.catalog)),
            };
            let result = dry_run(self.engine.runner(), request, Arc::new(NoObserver))
                .await
                .map_err(|error| match error {
                    DryRunError::Prepare(error) => error.into(),
                    DryRunError::Workspace(error) => input(error.to_string()),
                })?;
            let log: Vec<Value> = result
                .report
                .log
                .iter()
                .map(|line| json!({"body": {"message": line.message, "stepId": line.step_id}}))
                .collect();
            Ok(json!({
                "log": log,
                "steps": result.report.steps,
                "output": result.report.output,
                "status": result.report.status,
                "error": result.report.error,
                "directoryContents": result.files,
            }))
        })
    }
}

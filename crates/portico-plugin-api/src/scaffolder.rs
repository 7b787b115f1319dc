//! Scaffolder extension points: the actions a template's steps call (`fetch:template`,
//! `publish:git`, a plugin's own `acme:ticket:create`, …) and the catalog access the
//! `catalog:*` actions need, like Backstage's `scaffolderActionsExtensionPoint` (`backstage.md`
//! §4.3).
//!
//! Everything here is plain values so a plugin compiles against this crate alone: an action gets
//! its rendered input as JSON, a workspace directory it may write into, a logger, and returns its
//! outputs as a JSON object. The catalog trait is implemented by the binary over the catalog
//! engine, because engines never depend on each other.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};

use crate::provider::{BoxFuture, PluginError};

/// Where an action writes its log lines (the task's log; secrets are masked by the receiver).
pub trait ActionLogger: Send + Sync {
    /// Appends one line to the running step's log.
    fn log(&self, message: &str);
}

/// Everything an action's handler gets for one call.
#[derive(Clone)]
pub struct ActionContext {
    /// The step's input, with every `${{ }}` already rendered and checked against the action's
    /// input schema.
    pub input: Value,
    /// The task's workspace; actions must not read or write outside it (use the scaffolder's
    /// path helpers, which refuse `..`, absolute paths and symlinks).
    pub workspace: PathBuf,
    /// The directory of the template's own file: relative `url`s of `fetch:*` resolve against it.
    /// `None` when the template has no local location (then only allowed hosts can be fetched).
    pub template_dir: Option<PathBuf>,
    /// The URL of the template's own file when it came from a `url` location: relative `url`s
    /// of `fetch:*` resolve against it (and are read only from allowed hosts).
    pub template_url: Option<String>,
    /// The template's entity ref (`template:default/x`).
    pub template_ref: String,
    /// The secrets given with the task (never log them; the logger masks them anyway).
    pub secrets: Map<String, Value>,
    /// The user who started the task: `{ref, entity}` (either may be absent).
    pub user: Value,
    /// True in a dry-run: only actions that support it run, and they must have no side effect
    /// outside the workspace.
    pub dry_run: bool,
    /// The step's log.
    pub logger: Arc<dyn ActionLogger>,
    /// The catalog, when the process has one (the CLI may not).
    pub catalog: Option<Arc<dyn ScaffolderCatalog>>,
    /// Turns true when the task is cancelled; long-running actions should stop early.
    pub cancelled: Arc<AtomicBool>,
}

impl fmt::Debug for ActionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets and the input (which may hold rendered secrets) stay out of debug output.
        f.debug_struct("ActionContext")
            .field("workspace", &self.workspace)
            .field("template_dir", &self.template_dir)
            .field("template_url", &self.template_url)
            .field("template_ref", &self.template_ref)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

impl ActionContext {
    /// Logs one line to the step's log.
    pub fn log(&self, message: &str) {
        self.logger.log(message);
    }

    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// A scaffolder action: what a template step's `action:` names.
pub trait ScaffolderAction: Send + Sync {
    /// The id templates use, e.g. `fetch:template`.
    fn id(&self) -> &str;
    /// One sentence for `GET /v2/actions` and the docs.
    fn description(&self) -> &str;
    /// JSON Schema (draft-07) of the input; the runner validates rendered inputs against it.
    fn input_schema(&self) -> Value;
    /// JSON Schema of the outputs (`{}` when the action has none).
    fn output_schema(&self) -> Value {
        serde_json::json!({ "type": "object", "properties": {} })
    }
    /// Whether the action may run in a dry-run (it then must touch nothing outside the workspace).
    fn supports_dry_run(&self) -> bool {
        false
    }
    /// Runs the action; returns its outputs (`steps.<id>.output.<name>`).
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>>;
}

/// What the `catalog:*` actions need from the catalog.
pub trait ScaffolderCatalog: Send + Sync {
    /// The entity with this canonical ref (`kind:namespace/name`), as stored JSON, if any.
    fn get_entity(&self, entity_ref: &str) -> BoxFuture<'_, Result<Option<Value>, PluginError>>;
    /// Registers a `url` location (a `catalog-info.yaml` address) and returns the canonical refs
    /// of the entities found there (the generated `Location` excluded).
    fn register_location(&self, target: &str) -> BoxFuture<'_, Result<Vec<String>, PluginError>>;
}

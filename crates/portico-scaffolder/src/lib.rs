//! The scaffolder engine (Backstage's Software Templates, `backstage.md` §4): v1beta3 templates
//! read from catalog entities, parameter validation against each page's JSON Schema, sandboxed
//! `${{ }}` expressions, the built-in actions behind `portico-plugin-api`'s `ScaffolderAction`,
//! and a runner that executes a template's steps in a workspace (also as a dry-run).
//!
//! No HTTP and no SQL: the server and the task store wrap this crate; the catalog is reached only
//! through `ScaffolderCatalog`.

pub mod actions;
pub mod dry_run;
pub mod expr;
mod filters;
pub mod forge;
pub mod params;
pub mod remote;
pub mod runner;
pub mod secrets;
pub mod service;
pub mod tasks;
pub mod template;
pub mod workspace;
mod yaml_out;

pub use actions::{ActionRegistry, GitOptions};
pub use dry_run::{DryRunError, DryRunFile, DryRunRequest, DryRunResult, TemplateFiles, dry_run};
pub use expr::{ExprError, Limits, Renderer, Syntax};
pub use filters::{parse_entity_ref, parse_repo_url};
pub use forge::{
    ForgeHttp, ForgeMethod, ForgeRequest, ForgeResponse, Integration, Integrations, PublishSettings,
};
pub use params::{
    ParameterError, ParametersError, active_pages, apply_defaults, validate_parameters,
};
pub use remote::{UrlReadError, UrlReader};
pub use runner::{
    LogLine, NoObserver, PrepareError, RunEvent, RunObserver, RunReport, RunRequest, RunStatus,
    Runner, StepReport, StepStatus, UnknownAction,
};
pub use secrets::Masker;
pub use service::{Scaffolder, ScaffolderService, ServiceError, template_dir_of, template_url_of};
pub use tasks::{NewRun, TaskEngine, TaskError, TaskOptions};
pub use template::{Step, Template, TemplateError};
pub use yaml_out::to_yaml;

//! The scaffolder engine (Backstage's Software Templates, `backstage.md` §4): v1beta3 templates
//! read from catalog entities, parameter validation against each page's JSON Schema, sandboxed
//! `${{ }}` expressions, the built-in actions behind `portico-plugin-api`'s `ScaffolderAction`,
//! and a runner that executes a template's steps in a workspace (also as a dry-run).
//!
//! No HTTP and no SQL: the server and the task store wrap this crate; the catalog is reached only
//! through `ScaffolderCatalog`.

pub mod expr;
mod filters;
pub mod params;
pub mod template;

pub use expr::{ExprError, Limits, Renderer, Syntax};
pub use filters::{parse_entity_ref, parse_repo_url};
pub use params::{ParameterError, ParametersError, apply_defaults, validate_parameters};
pub use template::{Step, Template, TemplateError};

//! Dry-run: runs a template into a throw-away workspace and returns what it produced — every
//! file (path, base64 content, executable bit), the log, the steps and the output — touching
//! nothing else: actions without dry-run support (`catalog:register`, `publish:*`) are skipped
//! with a log line, as in Backstage's `POST /v2/dry-run`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use base64::Engine as _;
use portico_plugin_api::ScaffolderCatalog;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::runner::{PrepareError, RunObserver, RunReport, RunRequest, Runner};
use crate::template::Template;
use crate::workspace::{self, PathError};

/// Where the template's own files (its skeletons) come from.
#[derive(Debug, Clone)]
pub enum TemplateFiles {
    /// A directory on disk (the template file's folder).
    Dir(PathBuf),
    /// Files sent with the request (`directoryContents` of `POST /v2/dry-run`): path and bytes.
    Contents(Vec<(String, Vec<u8>)>),
    /// None: only actions that need no files can run.
    None,
}

/// A file the dry-run produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DryRunFile {
    /// Path relative to the workspace, `/`-separated.
    pub path: String,
    /// Whether the file is executable.
    pub executable: bool,
    /// The content, base64.
    #[serde(rename = "base64Content")]
    pub base64_content: String,
}

/// What a dry-run returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRunResult {
    /// The run's steps, log, output and status.
    #[serde(flatten)]
    pub report: RunReport,
    /// The produced files, sorted by path.
    #[serde(rename = "directoryContents")]
    pub files: Vec<DryRunFile>,
}

/// Why a dry-run did not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DryRunError {
    /// The template or the values were refused before the first step.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// The temporary directories could not be set up or read.
    #[error("dry-run: {0}")]
    Workspace(#[from] PathError),
}

/// The inputs of a dry-run.
#[derive(Clone)]
pub struct DryRunRequest {
    /// The template.
    pub template: Template,
    /// The values.
    pub values: Map<String, Value>,
    /// The secrets.
    pub secrets: Map<String, Value>,
    /// `user`.
    pub user: Value,
    /// The template's files.
    pub files: TemplateFiles,
    /// The catalog for `catalog:fetch`.
    pub catalog: Option<Arc<dyn ScaffolderCatalog>>,
}

impl std::fmt::Debug for DryRunRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DryRunRequest")
            .field("template", &self.template.entity_ref)
            .finish_non_exhaustive()
    }
}

fn temp_dir() -> Result<tempfile::TempDir, PathError> {
    tempfile::Builder::new()
        .prefix("portico-dry-run-")
        .tempdir()
        .map_err(|error| PathError::Io {
            path: std::env::temp_dir().display().to_string(),
            message: error.to_string(),
        })
}

/// Runs `request` as a dry-run.
pub async fn dry_run(
    runner: &Runner,
    request: DryRunRequest,
    observer: Arc<dyn RunObserver>,
) -> Result<DryRunResult, DryRunError> {
    // Refuse bad input before creating anything.
    runner.prepare(&request.template, &request.values)?;
    let workspace = temp_dir()?;
    let mut uploaded = None;
    let template_dir = match request.files {
        TemplateFiles::Dir(dir) => Some(dir),
        TemplateFiles::Contents(files) => {
            let dir = temp_dir()?;
            for (path, contents) in files {
                workspace::write_file(dir.path(), &path, &contents, false)?;
            }
            let path = dir.path().to_path_buf();
            uploaded = Some(dir);
            Some(path)
        }
        TemplateFiles::None => None,
    };
    let run = RunRequest {
        template: request.template,
        values: request.values,
        secrets: request.secrets,
        user: request.user,
        template_dir,
        template_url: None,
        workspace: workspace.path().to_path_buf(),
        dry_run: true,
        catalog: request.catalog,
        task_id: "dry-run".to_owned(),
        cancel: Arc::new(AtomicBool::new(false)),
    };
    let report = runner.run(run, observer).await?;
    let files = workspace::read_workspace(workspace.path())?
        .into_iter()
        .filter(|file| !file.symlink)
        .map(|file| DryRunFile {
            path: file.path,
            executable: file.executable,
            base64_content: base64::engine::general_purpose::STANDARD.encode(&file.contents),
        })
        .collect();
    drop(uploaded);
    Ok(DryRunResult { report, files })
}

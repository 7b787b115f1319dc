//! `fs:delete` and `fs:rename`: tidy the workspace between steps. Globs and paths are confined to
//! the workspace like every other action input.

use portico_plugin_api::{ActionContext, BoxFuture, PluginError, ScaffolderAction};
use serde_json::{Map, Value, json};

use super::input::{Input, failed};
use crate::workspace::{normalize, resolve_in};

/// `fs:delete`: deletes the files and folders matching globs.
#[derive(Debug)]
pub(super) struct FsDelete;

impl ScaffolderAction for FsDelete {
    fn id(&self) -> &str {
        "fs:delete"
    }
    fn description(&self) -> &str {
        "Deletes files and directories from the workspace"
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["files"], "properties": {
            "files": {"type": "array", "items": {"type": "string"}, "description": "A list of files and directories (globs) that will be deleted"},
        }})
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            const ACTION: &str = "fs:delete";
            let files = Input::new(ACTION, &ctx.input).strings("files")?;
            let mut patterns = Vec::new();
            for file in &files {
                let normalized = normalize(file).ok_or_else(|| {
                    PluginError::Input(format!("{ACTION}: {file:?} is outside the workspace"))
                })?;
                let pattern = glob::Pattern::new(&normalized.to_string_lossy())
                    .map_err(|error| PluginError::Input(format!("{ACTION}: {file:?}: {error}")))?;
                patterns.push(pattern);
            }
            let mut doomed = Vec::new();
            for entry in walkdir::WalkDir::new(&ctx.workspace)
                .min_depth(1)
                .follow_links(false)
            {
                let entry = entry.map_err(|e| failed(ACTION, e))?;
                let relative = entry
                    .path()
                    .strip_prefix(&ctx.workspace)
                    .unwrap_or(entry.path());
                let relative = relative.to_string_lossy();
                if patterns.iter().any(|pattern| pattern.matches(&relative)) {
                    doomed.push((relative.into_owned(), entry.file_type().is_dir()));
                }
            }
            for (relative, is_dir) in doomed {
                let path = resolve_in(&ctx.workspace, &relative);
                // A parent deleted earlier took this one with it.
                let Ok(path) = path else { continue };
                if std::fs::symlink_metadata(&path).is_err() {
                    continue;
                }
                let result = if is_dir {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                result.map_err(|e| failed(ACTION, format!("{relative}: {e}")))?;
                ctx.log(&format!("Deleted {relative}"));
            }
            Ok(Map::new())
        })
    }
}

/// `fs:rename`: moves files and folders inside the workspace.
#[derive(Debug)]
pub(super) struct FsRename;

impl ScaffolderAction for FsRename {
    fn id(&self) -> &str {
        "fs:rename"
    }
    fn description(&self) -> &str {
        "Renames files and directories within the workspace"
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["files"], "properties": {
            "files": {"type": "array", "description": "A list of file and directory names that will be renamed", "items": {
                "type": "object", "required": ["from", "to"], "properties": {
                    "from": {"type": "string", "description": "The source location of the file to be renamed"},
                    "to": {"type": "string", "description": "The destination of the new file"},
                    "overwrite": {"type": "boolean", "description": "Overwrite existing file or directory, default is false"},
                }}},
        }})
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            const ACTION: &str = "fs:rename";
            let files = ctx
                .input
                .get("files")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for file in &files {
                let item = Input::new(ACTION, file);
                let from = item.required_str("from")?;
                let to = item.required_str("to")?;
                let from_path = resolve_in(&ctx.workspace, from).map_err(|e| failed(ACTION, e))?;
                let to_path = resolve_in(&ctx.workspace, to).map_err(|e| failed(ACTION, e))?;
                if std::fs::symlink_metadata(&from_path).is_err() {
                    return Err(PluginError::Failed(format!(
                        "{ACTION}: {from:?} does not exist"
                    )));
                }
                if std::fs::symlink_metadata(&to_path).is_ok() {
                    if !item.bool("overwrite")? {
                        return Err(PluginError::Failed(format!(
                            "{ACTION}: {to:?} exists already; set overwrite: true to replace it"
                        )));
                    }
                    let removed = if to_path.is_dir() {
                        std::fs::remove_dir_all(&to_path)
                    } else {
                        std::fs::remove_file(&to_path)
                    };
                    removed.map_err(|e| failed(ACTION, e))?;
                }
                if let Some(parent) = to_path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| failed(ACTION, e))?;
                }
                std::fs::rename(&from_path, &to_path).map_err(|e| failed(ACTION, e))?;
                ctx.log(&format!("Renamed {from} to {to}"));
            }
            Ok(Map::new())
        })
    }
}

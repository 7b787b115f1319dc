//! `debug:log` and `debug:wait`: what template authors use to see what a step would get, and to
//! simulate slow steps.

use std::time::Duration;

use portico_plugin_api::{ActionContext, BoxFuture, PluginError, ScaffolderAction};
use serde_json::{Map, Value, json};

use super::input::{Input, failed};
use crate::workspace::{TreeEntry, walk_tree};

/// `debug:log`: writes a message (and optionally the workspace's listing) to the log.
#[derive(Debug)]
pub(super) struct DebugLog;

impl ScaffolderAction for DebugLog {
    fn id(&self) -> &str {
        "debug:log"
    }
    fn description(&self) -> &str {
        "Writes a message into the log and/or lists all files in the workspace."
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "properties": {
            "message": {"type": "string", "description": "Message to output."},
            "listWorkspace": {"description": "List all files in the workspace, if true (with-filenames) or with-contents.",
                "anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["with-filenames", "with-contents"]}]},
            "extra": {"description": "Extra info to output."},
        }})
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            let input = Input::new("debug:log", &ctx.input);
            if let Some(message) = input.str("message")? {
                ctx.log(message);
            }
            if let Some(extra) = input.get("extra") {
                ctx.log(&format!("Extra info: {extra}"));
            }
            let mode = match input.get("listWorkspace") {
                Some(Value::Bool(true)) => Some("with-filenames"),
                Some(Value::String(mode)) => Some(mode.as_str()),
                _ => None,
            };
            if let Some(mode) = mode {
                let mut lines = vec!["Workspace:".to_owned()];
                for entry in walk_tree(&ctx.workspace).map_err(|e| failed("debug:log", e))? {
                    if let TreeEntry::File { relative, .. } = entry {
                        lines.push(format!("  - {relative}"));
                        if mode == "with-contents" {
                            let contents =
                                std::fs::read(ctx.workspace.join(&relative)).unwrap_or_default();
                            lines.push(format!(
                                "    {}",
                                String::from_utf8_lossy(&contents).replace('\n', "\n    ")
                            ));
                        }
                    }
                }
                ctx.log(&lines.join("\n"));
            }
            Ok(Map::new())
        })
    }
}

/// `debug:wait`: waits up to ten minutes.
#[derive(Debug)]
pub(super) struct DebugWait;

const MAX_WAIT: Duration = Duration::from_secs(600);

impl ScaffolderAction for DebugWait {
    fn id(&self) -> &str {
        "debug:wait"
    }
    fn description(&self) -> &str {
        "Waits for a certain period of time (at most 10 minutes)."
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "properties": {
            "minutes": {"type": "number", "minimum": 0, "description": "Waiting period in minutes."},
            "seconds": {"type": "number", "minimum": 0, "description": "Waiting period in seconds."},
            "milliseconds": {"type": "number", "minimum": 0, "description": "Waiting period in milliseconds."},
        }})
    }
    fn supports_dry_run(&self) -> bool {
        true
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            let number = |key: &str| ctx.input.get(key).and_then(Value::as_f64).unwrap_or(0.0);
            let millis =
                number("minutes") * 60_000.0 + number("seconds") * 1000.0 + number("milliseconds");
            if !(0.0..=MAX_WAIT.as_millis() as f64).contains(&millis) {
                return Err(PluginError::Input(format!(
                    "debug:wait: waiting time must be between 0 and {} minutes",
                    MAX_WAIT.as_secs() / 60
                )));
            }
            // Wait in slices so a cancelled task does not sit out the whole period.
            let until = tokio::time::Instant::now() + Duration::from_millis(millis as u64);
            while tokio::time::Instant::now() < until {
                if ctx.is_cancelled() {
                    ctx.log("Stopped waiting: the task was cancelled");
                    break;
                }
                let left = until - tokio::time::Instant::now();
                tokio::time::sleep(left.min(Duration::from_millis(100))).await;
            }
            Ok(Map::new())
        })
    }
}

//! Helpers shared by the scaffolder's integration tests: load a template file, run it for real
//! or as a dry-run, and print the produced files in a stable text form for snapshots.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use portico_scaffolder::workspace::read_workspace;
use portico_scaffolder::{ActionRegistry, NoObserver, RunReport, RunRequest, Runner, Template};
use serde_json::{Map, Value};

pub fn testdata(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(relative)
}

pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

pub fn load(path: &Path) -> Template {
    let text = std::fs::read_to_string(path).unwrap();
    Template::from_yaml(&text).unwrap()
}

pub fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

#[derive(Debug)]
pub struct Run {
    pub report: RunReport,
    pub workspace: tempfile::TempDir,
}

pub async fn run(
    template: Template,
    template_dir: &Path,
    values: Value,
    secrets: Value,
    dry_run: bool,
) -> Run {
    let workspace = tempfile::tempdir().unwrap();
    let request = RunRequest {
        template,
        values: object(values),
        secrets: object(secrets),
        user: serde_json::json!({"ref": "user:default/guest"}),
        template_dir: Some(template_dir.to_path_buf()),
        template_url: None,
        workspace: workspace.path().to_path_buf(),
        dry_run,
        catalog: None,
        task_id: "test".to_owned(),
        cancel: Arc::new(AtomicBool::new(false)),
    };
    let runner = Runner::new(ActionRegistry::builtin());
    let report = runner.run(request, Arc::new(NoObserver)).await.unwrap();
    Run { report, workspace }
}

/// Every file of a directory: `== path [x]` then the content (or its size when binary).
pub fn listing(root: &Path) -> String {
    let mut out = String::new();
    for file in read_workspace(root).unwrap() {
        let mode = if file.executable { " [x]" } else { "" };
        out.push_str(&format!("== {}{mode}\n", file.path));
        match std::str::from_utf8(&file.contents) {
            Ok(text) if !file.contents.contains(&0) => out.push_str(text),
            _ => out.push_str(&format!("<{} binary bytes>\n", file.contents.len())),
        }
        if !out.ends_with('\n') {
            out.push_str("\n<no newline>\n");
        }
    }
    out
}

/// The report without timing noise, as pretty JSON.
pub fn report_json(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).unwrap()
}

/// `given` plus a plausible value for every required field of every page it leaves out.
pub fn fill_required(template: &Template, given: Value) -> Value {
    let mut values = object(given);
    for page in &template.parameters {
        let required = page["required"].as_array().cloned().unwrap_or_default();
        for name in required.iter().filter_map(Value::as_str) {
            if values.contains_key(name) {
                continue;
            }
            let property = &page["properties"][name];
            let value = match (property["type"].as_str(), property["format"].as_str()) {
                (_, Some("email")) => serde_json::json!("dev@example.com"),
                (_, Some("date")) => serde_json::json!("2026-01-31"),
                (_, Some("uri")) => serde_json::json!("https://example.com"),
                (Some("integer" | "number"), _) => {
                    serde_json::json!(property["minimum"].as_i64().unwrap_or(1))
                }
                (Some("boolean"), _) => serde_json::json!(true),
                (Some("array"), _) => serde_json::json!([]),
                (Some("object"), _) => serde_json::json!({}),
                _ => property["enum"]
                    .get(0)
                    .cloned()
                    .unwrap_or(serde_json::json!("value")),
            };
            values.insert(name.to_owned(), value);
        }
    }
    Value::Object(values)
}

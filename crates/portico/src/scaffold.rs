//! `portico scaffold`: runs a software template locally, the template author's inner loop —
//! values from a YAML/JSON file (and `--set`), secrets from `--secret`, the steps' progress on
//! stderr, the produced files in `--out`, the template's output on stdout.
//!
//! `--dry-run` skips the actions that would change anything outside `--out` (`publish:*`,
//! `catalog:register`), as Backstage's dry-run does. Exit status: 0 when the template completed,
//! 1 when a step failed, 2 when the template, values or arguments are refused before any step.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use clap::Args;
use portico_scaffolder::{
    ActionRegistry, Integrations, PrepareError, RunEvent, RunObserver, RunRequest, RunStatus,
    Runner, StepStatus, Template,
};
use serde_json::{Map, Value};

/// Arguments of `portico scaffold`.
#[derive(Debug, Args)]
pub struct ScaffoldArgs {
    /// The template file (template.yaml with a `kind: Template` document).
    #[arg(value_name = "TEMPLATE")]
    template: PathBuf,
    /// The parameter values: a YAML or JSON file with one mapping.
    #[arg(long, value_name = "FILE")]
    values: Option<PathBuf>,
    /// One more value, `name=value` (the value is read as YAML: `3`, `true`, `[a, b]`).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// A secret, `NAME=VALUE` (masked in every log line and output).
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    secrets: Vec<String>,
    /// Skip the actions that change anything outside --out (publish:*, catalog:register).
    #[arg(long)]
    dry_run: bool,
    /// The directory the template writes into (created; must be empty).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Print the final report as JSON on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// An app-config.yaml whose `integrations` (GitHub, GitLab hosts and tokens) the publish
    /// actions use; repeat to merge several in order (later wins).
    #[arg(long = "config", value_name = "FILE")]
    configs: Vec<PathBuf>,
}

/// Runs the command.
pub fn run(args: &ScaffoldArgs) -> ExitCode {
    let prepared = match prepare(args) {
        Ok(prepared) => prepared,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let actions = match actions(&args.configs) {
        Ok(actions) => actions,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = crate::async_runtime() else {
        return ExitCode::from(1);
    };
    let runner = Runner::new(actions);
    let observer = Arc::new(Progress);
    let report = match runtime.block_on(runner.run(prepared, observer)) {
        Ok(report) => report,
        Err(err) => {
            print_prepare_error(&err);
            return ExitCode::from(2);
        }
    };
    let printed = if args.json {
        serde_json::to_string_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|text| writeln!(std::io::stdout(), "{text}"))
    } else {
        print_output(&report.output)
    };
    if let Err(err) = printed {
        eprintln!("error: cannot write the output: {err}");
    }
    match report.status {
        RunStatus::Completed => {
            eprintln!("Done: files in {}", args.out.display());
            ExitCode::SUCCESS
        }
        RunStatus::Failed => {
            eprintln!("Failed: {}", report.error.unwrap_or_default());
            ExitCode::from(1)
        }
        RunStatus::Cancelled => ExitCode::from(1),
    }
}

/// The catalog's problems with the Template's `spec.parameters`, as `file:line:col: field:
/// message`: the runner would refuse them too, but without the line. Other validation issues
/// are left to the runner, which needs less than the catalog (a template author's draft may
/// lack an owner).
fn parameter_problems(path: &Path, text: &str) -> Vec<String> {
    let limits = portico_model::YamlLimits::default();
    let parameters = portico_model::FieldPath::dotted("spec.parameters");
    for document in portico_model::parse_documents(text, &limits)
        .into_iter()
        .flatten()
    {
        let is_template = document
            .value
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.eq_ignore_ascii_case("template"));
        if !is_template {
            continue;
        }
        let Err(issues) = portico_model::validate_entity(
            &document.value,
            &portico_model::KindRegistry::builtin(),
        ) else {
            return Vec::new();
        };
        return issues
            .iter()
            .filter(|issue| issue.path.starts_with(&parameters))
            .map(|issue| {
                format!(
                    "{}:{}: {}: {issue}",
                    path.display(),
                    document.source_map.locate(&issue.path),
                    issue.path
                )
            })
            .collect();
    }
    Vec::new()
}

fn prepare(args: &ScaffoldArgs) -> anyhow::Result<RunRequest> {
    let text = std::fs::read_to_string(&args.template)
        .with_context(|| format!("cannot read {}", args.template.display()))?;
    let broken = parameter_problems(&args.template, &text);
    if !broken.is_empty() {
        bail!(
            "the parameters of the template are not valid JSON Schema:\n  {}",
            broken.join("\n  ")
        );
    }
    let template =
        Template::from_yaml(&text).with_context(|| format!("in {}", args.template.display()))?;
    let mut values = match &args.values {
        Some(path) => read_mapping(path)?,
        None => Map::new(),
    };
    for pair in &args.set {
        let (name, value) = split_pair(pair, "--set")?;
        values.insert(name.to_owned(), parse_scalar(value));
    }
    let mut secrets = Map::new();
    for pair in &args.secrets {
        let (name, value) = split_pair(pair, "--secret")?;
        secrets.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    prepare_out(&args.out)?;
    let template_dir = args
        .template
        .canonicalize()
        .ok()
        .and_then(|path| path.parent().map(Path::to_path_buf));
    Ok(RunRequest {
        template,
        values,
        secrets,
        user: serde_json::json!({"ref": "user:development/guest"}),
        template_dir,
        template_url: None,
        workspace: args.out.canonicalize().unwrap_or_else(|_| args.out.clone()),
        dry_run: args.dry_run,
        catalog: None,
        task_id: "cli".to_owned(),
        cancel: Arc::new(AtomicBool::new(false)),
    })
}

/// The built-in actions, the publish actions configured from `--config`'s `integrations`, and
/// `fetch:*` reading URLs from its `backend.reading.allow` hosts (none without `--config`).
fn actions(configs: &[PathBuf]) -> anyhow::Result<ActionRegistry> {
    let (integrations, reading) = if configs.is_empty() {
        (Integrations::default(), None)
    } else {
        let loaded = crate::config::load(configs, &|name| std::env::var(name).ok())?;
        for warning in &loaded.warnings {
            eprintln!("warning: {warning}");
        }
        let allow = portico_catalog::ReadAllowList::new(loaded.config.backend.reading_allow);
        (loaded.config.integrations, Some(allow))
    };
    Ok(ActionRegistry::builtin_with(
        crate::forge_http::publish_settings(integrations, reading)?,
    ))
}

fn split_pair<'a>(pair: &'a str, flag: &str) -> anyhow::Result<(&'a str, &'a str)> {
    match pair.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name, value)),
        _ => bail!("{flag} {pair:?}: expected NAME=VALUE"),
    }
}

/// A `--set` value read as YAML (so `3` is a number), or the text itself.
fn parse_scalar(text: &str) -> Value {
    portico_model::yaml::parse_documents(text, &Default::default())
        .into_iter()
        .next()
        .and_then(Result::ok)
        .map_or_else(|| Value::String(text.to_owned()), |document| document.value)
}

fn read_mapping(path: &Path) -> anyhow::Result<Map<String, Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the values file {}", path.display()))?;
    let document = portico_model::yaml::parse_documents(&text, &Default::default())
        .into_iter()
        .next();
    match document {
        None => Ok(Map::new()),
        Some(Ok(document)) => match document.value {
            Value::Object(map) => Ok(map),
            Value::Null => Ok(Map::new()),
            _ => bail!(
                "{}: the values must be a mapping (name: value)",
                path.display()
            ),
        },
        Some(Err(err)) => bail!("{}: {err}", path.display()),
    }
}

fn prepare_out(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out)
            .with_context(|| format!("--out {} is not a readable directory", out.display()))?;
        if entries.next().is_some() {
            bail!(
                "--out {} is not empty; give a new or empty directory",
                out.display()
            );
        }
    } else {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    }
    Ok(())
}

fn print_prepare_error(err: &PrepareError) {
    match err {
        PrepareError::Parameters(portico_scaffolder::ParametersError::Invalid(problems)) => {
            eprintln!("error: the values do not satisfy the template's parameters:");
            for problem in problems {
                let page = problem
                    .page_title
                    .clone()
                    .unwrap_or_else(|| format!("page {}", problem.page + 1));
                eprintln!("  {page}: {}", problem.stack);
            }
        }
        other => eprintln!("error: {other}"),
    }
}

fn print_output(output: &Value) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if let Some(links) = output.get("links").and_then(Value::as_array) {
        for link in links {
            let title = link.get("title").and_then(Value::as_str).unwrap_or("link");
            let target = link
                .get("url")
                .or_else(|| link.get("entityRef"))
                .and_then(Value::as_str)
                .unwrap_or("");
            writeln!(stdout, "{title}: {target}")?;
        }
    }
    if let Some(texts) = output.get("text").and_then(Value::as_array) {
        for text in texts {
            let title = text.get("title").and_then(Value::as_str).unwrap_or("");
            let content = text.get("content").and_then(Value::as_str).unwrap_or("");
            writeln!(stdout, "## {title}\n{}", content.trim_end())?;
        }
    }
    Ok(())
}

/// Step progress on stderr: a line per step, its log lines indented, then its result.
#[derive(Debug)]
struct Progress;

impl RunObserver for Progress {
    fn on_event(&self, event: &RunEvent) {
        match event {
            RunEvent::StepStarted {
                index,
                total,
                id,
                name,
            } => {
                eprintln!("[{}/{total}] {name} ({id})", index + 1);
            }
            RunEvent::Log { message, .. } => {
                for line in message.lines() {
                    eprintln!("      {line}");
                }
            }
            RunEvent::StepFinished {
                status,
                millis,
                error,
                skipped_because,
                ..
            } => {
                let verdict = match status {
                    StepStatus::Completed => "done".to_owned(),
                    StepStatus::Skipped => match skipped_because {
                        Some(reason) => format!("skipped: {reason}"),
                        None => "skipped".to_owned(),
                    },
                    StepStatus::Failed => format!("FAILED: {}", error.clone().unwrap_or_default()),
                    other => format!("{other:?}").to_lowercase(),
                };
                eprintln!("      → {verdict} ({millis} ms)");
            }
        }
    }
}

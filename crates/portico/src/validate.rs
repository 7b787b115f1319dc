//! `portico validate`: check descriptor files, directories and globs the way the catalog would,
//! and print `file:line:col: error: field: message` lines (or JSON) with a summary.
//!
//! Exit status: 0 when everything is valid (warnings allowed), 1 when any entity is invalid or a
//! file cannot be read or parsed, 2 for usage errors.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use portico_catalog::{Severity, Target, WalkReport, walk_with};
use portico_model::KindRegistry;
use serde_json::json;

use crate::fetch::CliReader;

/// Arguments of `portico validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files, directories (searched recursively for YAML descriptors), glob patterns, or
    /// http(s) URLs (with --fetch).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Fetch http(s) URLs named by Location targets and $text/$json/$yaml placeholders.
    #[arg(long)]
    fetch: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One line per problem, then a summary.
    Text,
    /// One JSON document.
    Json,
}

/// Runs the command.
pub fn run(args: &ValidateArgs) -> ExitCode {
    let (roots, usage_errors) = collect_roots(&args.paths);
    if !usage_errors.is_empty() {
        for err in &usage_errors {
            eprintln!("error: {err}");
        }
        return ExitCode::from(2);
    }
    let reader = match CliReader::new(args.fetch) {
        Ok(reader) => reader,
        Err(err) => {
            eprintln!("error: cannot set up the HTTP client: {err}");
            return ExitCode::from(1);
        }
    };
    // Entities are counted and dropped as they are validated: memory stays flat at any size.
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let report = walk_with(
        &roots,
        &reader,
        &KindRegistry::builtin(),
        &mut |processed| {
            *kinds.entry(processed.validated.entity.kind).or_insert(0) += 1;
        },
    );
    let outcome = Outcome { report, kinds };
    let printed = match args.format {
        Format::Text => print_text(&outcome),
        Format::Json => print_json(&outcome),
    };
    if let Err(err) = printed
        && err.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the output: {err}");
        return ExitCode::from(1);
    }
    if outcome.report.error_count() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Turns the command-line paths into root targets. Directories contribute the YAML files below
/// them that hold entities; glob patterns their matches.
fn collect_roots(paths: &[String]) -> (Vec<Target>, Vec<String>) {
    let mut roots = Vec::new();
    let mut errors = Vec::new();
    for arg in paths {
        let path = Path::new(arg);
        if let Ok(url) = url::Url::parse(arg)
            && matches!(url.scheme(), "http" | "https")
        {
            roots.push(Target::Url(url));
        } else if path.is_dir() {
            roots.extend(descriptors_in(path).into_iter().map(Target::File));
        } else if path.exists() || !is_glob(arg) {
            // A missing file is reported by the walk as unreadable (exit 1), not a usage error.
            roots.push(Target::File(path.to_path_buf()));
        } else {
            match glob::glob(arg) {
                Ok(matches) => {
                    let before = roots.len();
                    for entry in matches.flatten() {
                        if entry.is_dir() {
                            roots.extend(descriptors_in(&entry).into_iter().map(Target::File));
                        } else {
                            roots.push(Target::File(entry));
                        }
                    }
                    if roots.len() == before {
                        errors.push(format!("pattern \"{arg}\" matches no files"));
                    }
                }
                Err(err) => errors.push(format!("invalid pattern \"{arg}\": {err}")),
            }
        }
    }
    (roots, errors)
}

fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

/// YAML files under `dir` that look like catalog descriptors (a top-level `apiVersion` and
/// `kind`), sorted. Other YAML (OpenAPI documents, CI config) is skipped.
fn descriptors_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            p.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .filter(|p| looks_like_descriptor(p))
        .collect();
    files.sort();
    files
}

/// Whether a YAML file found in a directory should be validated: it has a top-level
/// `apiVersion` and `kind`, and is not a scaffolder skeleton (a descriptor with `${{ }}`,
/// `{% %}` or cookiecutter expressions that only becomes valid once rendered; Template entities
/// themselves use `${{ }}` and are kept).
fn looks_like_descriptor(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        // Unreadable or not UTF-8: let the walk report it precisely.
        return true;
    };
    let templated = text.contains("${{")
        || text.contains("{%")
        || (text.contains("{{") && text.contains("cookiecutter"));
    if templated && !text.lines().any(|l| l.trim_end() == "kind: Template") {
        return false;
    }
    let mut api_version = false;
    let mut kind = false;
    for line in text.lines() {
        api_version |= line.starts_with("apiVersion:");
        kind |= line.starts_with("kind:");
        if api_version && kind {
            return true;
        }
    }
    false
}

/// What a validation run found.
struct Outcome {
    report: WalkReport,
    /// Valid entities per kind.
    kinds: BTreeMap<String, usize>,
}

impl Outcome {
    fn entity_count(&self) -> usize {
        self.kinds.values().sum()
    }
}

fn print_text(outcome: &Outcome) -> io::Result<()> {
    let report = &outcome.report;
    let mut out = io::BufWriter::new(io::stdout().lock());
    for diagnostic in &report.diagnostics {
        writeln!(out, "{diagnostic}")?;
    }
    let mut counts: Vec<_> = outcome.kinds.iter().collect();
    counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let per_kind: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let errors = report.error_count();
    let warnings = report.diagnostics.len() - errors;
    writeln!(
        out,
        "{} valid {} in {} {} ({}); {} invalid; {} {}, {} {}",
        outcome.entity_count(),
        plural(outcome.entity_count(), "entity", "entities"),
        report.files_read,
        plural(report.files_read, "file", "files"),
        if per_kind.is_empty() {
            "none".to_owned()
        } else {
            per_kind.join(", ")
        },
        report.rejected,
        errors,
        plural(errors, "error", "errors"),
        warnings,
        plural(warnings, "warning", "warnings"),
    )?;
    out.flush()
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn print_json(outcome: &Outcome) -> io::Result<()> {
    let report = &outcome.report;
    let diagnostics: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| {
            json!({
                "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "file": d.source.to_string(),
                "line": d.position.map(|p| p.line),
                "column": d.position.map(|p| p.column),
                "field": d.field.as_ref().map(ToString::to_string),
                "message": d.message,
            })
        })
        .collect();
    let errors = report.error_count();
    let document = json!({
        "valid": errors == 0,
        "summary": {
            "entities": outcome.entity_count(),
            "files": report.files_read,
            "invalid": report.rejected,
            "errors": errors,
            "warnings": report.diagnostics.len() - errors,
            "kinds": outcome.kinds,
        },
        "diagnostics": diagnostics,
    });
    let mut out = io::BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &document)?;
    writeln!(out)?;
    out.flush()
}

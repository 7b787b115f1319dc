//! `cargo xtask bench-validate`: times `portico validate` on generated catalogs of several
//! sizes under `/usr/bin/time` and prints machine info plus a Markdown table (median wall
//! time, peak RSS) ready to paste into BENCHMARKS.md.
#![allow(
    clippy::print_stderr,
    reason = "progress goes to stderr, the table to stdout"
)]

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail, ensure};
use portico_testkit::catalog_gen::{CatalogSpec, ROOT_FILE};

use crate::gen_catalog::{generate_into, mib};
use crate::{cargo, tidy, workspace_root};

const TIME: &str = "/usr/bin/time";

/// Options of `bench-validate`.
#[derive(Debug, Clone)]
pub struct Options {
    pub sizes: Vec<usize>,
    pub runs: usize,
    pub seed: u64,
    /// Run `cargo build --release -p portico` first.
    pub build: bool,
    /// The binary to time; `None`: the workspace's `target/release/portico`.
    pub binary: Option<PathBuf>,
}

/// One timed run of `portico validate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub wall_seconds: f64,
    pub max_rss_kib: u64,
}

/// The result for one catalog size.
#[derive(Debug, Clone)]
pub struct Row {
    pub entities: usize,
    pub files: usize,
    pub bytes: usize,
    pub samples: Vec<Sample>,
}

impl Row {
    /// `| entities | files | MiB | median s | min–max s | peak RSS MiB | runs |`
    pub fn markdown(&self) -> String {
        let mut walls: Vec<f64> = self.samples.iter().map(|s| s.wall_seconds).collect();
        walls.sort_by(f64::total_cmp);
        let median = median(&walls);
        let (min, max) = (
            walls.first().copied().unwrap_or(0.0),
            walls.last().copied().unwrap_or(0.0),
        );
        let peak_kib = self
            .samples
            .iter()
            .map(|s| s.max_rss_kib)
            .max()
            .unwrap_or(0);
        format!(
            "| {} | {} | {:.1} | {median:.2} | {min:.2}–{max:.2} | {:.1} | {} |",
            self.entities,
            self.files,
            mib(self.bytes),
            peak_kib as f64 / 1024.0,
            self.samples.len(),
        )
    }
}

pub const TABLE_HEADER: &str = "| Entities | Files | Catalog MiB | Median wall s | Min–max s | Peak RSS MiB | Runs |\n\
                                |---:|---:|---:|---:|---:|---:|---:|";

/// Median of sorted values (mean of the middle two for an even count); 0 when empty.
pub fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match (sorted.get(n / 2), n % 2) {
        (None, _) => 0.0,
        (Some(&mid), 1) => mid,
        (Some(&upper), _) => (upper + sorted.get(n / 2 - 1).copied().unwrap_or(upper)) / 2.0,
    }
}

/// Parses what `/usr/bin/time -f '%e %M'` wrote: the last non-empty line is `seconds KiB`
/// (earlier lines may say `Command exited with non-zero status N`).
pub fn parse_time_output(text: &str) -> Option<Sample> {
    let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let mut parts = last.split_whitespace();
    let wall_seconds = parts.next()?.parse().ok()?;
    let max_rss_kib = parts.next()?.parse().ok()?;
    Some(Sample {
        wall_seconds,
        max_rss_kib,
    })
}

pub fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(options.runs > 0, "--runs must be at least 1");
    ensure!(
        !options.sizes.is_empty(),
        "--sizes must name at least one size"
    );
    ensure!(
        Path::new(TIME).exists(),
        "{TIME} is missing (install GNU time)"
    );
    let root = workspace_root();
    if options.build {
        build_release_portico(&root, "bench")?;
    }
    let binary = match &options.binary {
        Some(binary) => binary.clone(),
        None => release_binary(&root)?,
    };
    ensure!(
        binary.is_file(),
        "{} does not exist: build it with `cargo build --release -p portico` (or drop --no-build)",
        binary.display()
    );

    let mut rows = Vec::new();
    for &entities in &options.sizes {
        let dir = tempfile::Builder::new()
            .prefix("portico-bench-")
            .tempdir()?;
        let spec = CatalogSpec {
            entities,
            seed: options.seed,
        };
        let written = generate_into(&spec, dir.path())?;
        eprintln!(
            "bench: {entities} entities, {} files, {:.1} MiB generated in {:.2} s",
            written.catalog.files.len(),
            mib(written.catalog.total_bytes()),
            written.generate_time.as_secs_f64() + written.write_time.as_secs_f64(),
        );
        let mut samples = Vec::with_capacity(options.runs);
        for run in 1..=options.runs {
            let sample = time_validate(&binary, &dir.path().join(ROOT_FILE))?;
            eprintln!(
                "bench:   run {run}/{}: {:.2} s, {:.1} MiB",
                options.runs,
                sample.wall_seconds,
                sample.max_rss_kib as f64 / 1024.0
            );
            samples.push(sample);
        }
        rows.push(Row {
            entities,
            files: written.catalog.files.len(),
            bytes: written.catalog.total_bytes(),
            samples,
        });
    }

    let mut out = io::stdout().lock();
    writeln!(out, "{}", machine_info())?;
    writeln!(out)?;
    writeln!(
        out,
        "`portico validate <dir>/all.yaml`, seed {}, {} run(s) per size:",
        options.seed, options.runs
    )?;
    writeln!(out)?;
    writeln!(out, "{TABLE_HEADER}")?;
    for row in &rows {
        writeln!(out, "{}", row.markdown())?;
    }
    Ok(())
}

/// `cargo build --release -p portico`, announced with `tag`.
pub fn build_release_portico(root: &Path, tag: &str) -> anyhow::Result<()> {
    eprintln!("{tag}: cargo build --release -p portico");
    let status = Command::new(cargo())
        .args(["build", "--release", "-p", "portico"])
        .current_dir(root)
        .status()
        .context("running cargo build")?;
    ensure!(
        status.success(),
        "cargo build --release -p portico failed ({status})"
    );
    Ok(())
}

/// `target/release/portico`, honouring a relocated target directory.
pub fn release_binary(root: &Path) -> anyhow::Result<PathBuf> {
    let metadata = tidy::cargo_metadata(root)?;
    let target = metadata
        .get("target_directory")
        .and_then(|t| t.as_str())
        .map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target
        .join("release")
        .join(format!("portico{}", std::env::consts::EXE_SUFFIX)))
}

fn time_validate(binary: &Path, root_file: &Path) -> anyhow::Result<Sample> {
    let time_file = tempfile::NamedTempFile::new()?;
    let output = Command::new(TIME)
        .arg("-o")
        .arg(time_file.path())
        .args(["-f", "%e %M"])
        .arg(binary)
        .arg("validate")
        .arg(root_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {TIME} {}", binary.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "`portico validate {}` failed ({}); last lines of its stderr:\n{}",
            root_file.display(),
            output.status,
            tail.join("\n")
        );
    }
    let text = std::fs::read_to_string(time_file.path())?;
    parse_time_output(&text).with_context(|| format!("unexpected {TIME} output: {text:?}"))
}

/// `nproc`, CPU model, memory, rustc and date, as one Markdown line.
pub fn machine_info() -> String {
    let nproc = command_output("nproc", &[]).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or_else(|_| "?".to_owned(), |n| n.to_string())
    });
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = proc_field(&cpuinfo, "model name").unwrap_or("unknown CPU");
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = proc_field(&meminfo, "MemTotal")
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(
            || "? GiB".to_owned(),
            |kib| format!("{:.1} GiB", kib / (1024.0 * 1024.0)),
        );
    let rustc = command_output("rustc", &["--version"]).unwrap_or_else(|| "rustc ?".to_owned());
    let date =
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(|| "?".to_owned());
    format!("Machine: {cpu}, nproc {nproc}, {memory} RAM; {rustc}; {date}")
}

/// The value of the first `key : value` line of a /proc file.
fn proc_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Row, Sample, median, parse_time_output, proc_field};

    #[test]
    fn parses_gnu_time_output() {
        let s = parse_time_output("0.52 81234\n").unwrap();
        assert_eq!(
            s,
            Sample {
                wall_seconds: 0.52,
                max_rss_kib: 81_234
            }
        );
        let failed =
            parse_time_output("Command exited with non-zero status 1\n1.50 2048\n").unwrap();
        assert_eq!(failed.max_rss_kib, 2048);
        assert!(parse_time_output("garbage").is_none());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
    }

    #[test]
    fn markdown_row() {
        let row = Row {
            entities: 10_000,
            files: 225,
            bytes: 9 * 1024 * 1024,
            samples: vec![
                Sample {
                    wall_seconds: 0.9,
                    max_rss_kib: 100 * 1024,
                },
                Sample {
                    wall_seconds: 0.5,
                    max_rss_kib: 120 * 1024,
                },
                Sample {
                    wall_seconds: 0.6,
                    max_rss_kib: 110 * 1024,
                },
            ],
        };
        assert_eq!(
            row.markdown(),
            "| 10000 | 225 | 9.0 | 0.60 | 0.50–0.90 | 120.0 | 3 |"
        );
    }

    #[test]
    fn times_a_command_and_reports_its_failure() {
        if !std::path::Path::new(super::TIME).exists() {
            return;
        }
        // `true`/`false` ignore the `validate <file>` arguments.
        let sample = super::time_validate(Path::new("/bin/true"), Path::new("all.yaml")).unwrap();
        assert!(
            sample.wall_seconds >= 0.0 && sample.max_rss_kib > 0,
            "{sample:?}"
        );
        let error =
            super::time_validate(Path::new("/bin/false"), Path::new("all.yaml")).unwrap_err();
        assert!(error.to_string().contains("failed"), "{error}");
    }

    #[test]
    fn reads_proc_fields() {
        let text = "processor\t: 0\nmodel name\t: Example CPU @ 2.0GHz\n";
        assert_eq!(proc_field(text, "model name"), Some("Example CPU @ 2.0GHz"));
        assert_eq!(proc_field(text, "flags"), None);
    }
}

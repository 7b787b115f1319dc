//! `cargo xtask bench-techdocs`: builds generated TechDocs sites of several sizes (headings,
//! tables, code in several languages, admonitions, links between pages) with Portico's builder
//! and with `mkdocs build` + `mkdocs-techdocs-core` (installed from PyPI into a virtualenv under
//! `target/bench-techdocs/`), both under `/usr/bin/time`; then times incremental rebuilds of
//! one changed page. Prints Markdown tables for BENCHMARKS.md.
//!
//! Portico's side is the release build of the `techdocs_build` example of portico-techdocs: the
//! same `Site::build` that `portico techdocs build` and `serve` run, without compiling the whole
//! server binary for the benchmark.
#![allow(
    clippy::print_stderr,
    reason = "progress goes to stderr, the tables to stdout"
)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use xtask::bench::{Sample, machine_info, median, parse_time_output, release_binary};
use xtask::{cargo, workspace_root};

const TIME: &str = "/usr/bin/time";

/// Options of `bench-techdocs`.
#[derive(Debug, Clone)]
pub struct Options {
    pub sizes: Vec<usize>,
    pub runs: usize,
    pub build: bool,
    pub mkdocs: bool,
    pub mkdocs_timeout: Duration,
    pub incremental_runs: usize,
}

const LANGUAGES: [(&str, &str); 5] = [
    (
        "rust",
        "fn handler(req: Request) -> Result<Response, Error> {\n    let id = req.param(\"id\")?;\n    Ok(Response::json(&load(id)?))\n}\n",
    ),
    (
        "python",
        "def handler(event: dict) -> dict:\n    items = [x for x in event[\"items\"] if x.get(\"enabled\")]\n    return {\"count\": len(items)}\n",
    ),
    (
        "yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: service\nspec:\n  type: service\n  owner: team-a\n",
    ),
    (
        "typescript",
        "export async function load(id: string): Promise<Entity> {\n  const res = await fetch(`/api/catalog/entities/${id}`);\n  return (await res.json()) as Entity;\n}\n",
    ),
    (
        "bash",
        "set -euo pipefail\nfor f in docs/*.md; do\n  echo \"checking $f\"\ndone\n",
    ),
];

fn page_path(index: usize) -> String {
    format!("section-{:02}/page-{index:04}.md", index / 100)
}

/// One generated page, ~3 KiB, deterministic in `index` and `pages`.
fn page(index: usize, pages: usize) -> String {
    let mut text = String::with_capacity(4096);
    let next = (index + 1) % pages;
    let far = (index * 7 + 13) % pages;
    let rel = |target: usize| {
        let from = format!("section-{:02}", index / 100);
        let to = page_path(target);
        match to.split_once('/') {
            Some((dir, file)) if dir == from => file.to_owned(),
            _ => format!("../{to}"),
        }
    };
    let _ = write!(
        text,
        "# Page {index}: service guide\n\nThis page describes component **svc-{index}** and how it talks to \
         [the next service]({}) and [a distant one]({}#usage). It is *generated* for the benchmark, with \
         `inline code` and a [link out](https://backstage.io/docs).\n\n## Overview\n\n",
        rel(next),
        rel(far)
    );
    for paragraph in 0..3 {
        let _ = writeln!(
            text,
            "Paragraph {paragraph} of page {index}: the service handles requests, keeps state in its store and \
             reports metrics. Operators watch the dashboards; owners get paged when the error budget burns.\n"
        );
    }
    text.push_str("| Setting | Default | Description |\n|---|:---:|---|\n");
    for row in 0..5 {
        let _ = writeln!(
            text,
            "| `option_{row}` | {} | What option {row} of svc-{index} does |",
            row * 10
        );
    }
    let _ = write!(
        text,
        "\n!!! note \"Ownership\"\n    svc-{index} is owned by team-{}. Ask in the team channel.\n\n## Usage\n\n",
        index % 17
    );
    for k in 0..2 {
        let (lang, code) = LANGUAGES[(index + k) % LANGUAGES.len()];
        let _ = write!(text, "### Example {k}\n\n```{lang}\n{code}```\n\n");
    }
    let _ = write!(
        text,
        "!!! warning\n    Changing `option_2` restarts svc-{index}.\n\n## Troubleshooting\n\n\
         - [x] check the logs\n- [ ] check the [overview](#overview)\n- [ ] read [page {next}]({})\n",
        rel(next)
    );
    text
}

/// Writes a site of `pages` pages into `dir`; returns its size in bytes.
fn generate_site(dir: &Path, pages: usize) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir.join("docs"))?;
    std::fs::write(
        dir.join("mkdocs.yml"),
        format!("site_name: Benchmark site of {pages} pages\nplugins:\n  - techdocs-core\n"),
    )?;
    let mut bytes = 0;
    let index = "# Benchmark\n\nStart at [the first page](section-00/page-0000.md).\n";
    std::fs::write(dir.join("docs/index.md"), index)?;
    for i in 0..pages.saturating_sub(1) {
        let path = dir.join("docs").join(page_path(i));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let text = page(i, pages.saturating_sub(1).max(1));
        bytes += text.len();
        std::fs::write(path, text)?;
    }
    Ok(bytes + index.len())
}

fn timed(
    program: &Path,
    args: &[&std::ffi::OsStr],
    timeout: Option<Duration>,
) -> anyhow::Result<Option<Sample>> {
    let mut command = Command::new(TIME);
    command.args(["-f", "%e %M"]);
    if let Some(timeout) = timeout {
        command.arg("timeout").arg(format!("{}", timeout.as_secs()));
    }
    let output = command
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("exited with non-zero status 124") {
        return Ok(None);
    }
    if !output.status.success() {
        bail!(
            "{} failed: {}",
            program.display(),
            stderr.lines().rev().take(15).collect::<Vec<_>>().join("\n")
        );
    }
    parse_time_output(&stderr)
        .map(Some)
        .with_context(|| format!("no timing in: {stderr}"))
}

/// A virtualenv with mkdocs and mkdocs-techdocs-core from PyPI; returns its `mkdocs`.
fn mkdocs_venv(root: &Path) -> anyhow::Result<(PathBuf, String)> {
    let venv = root.join("target/bench-techdocs/venv");
    let mkdocs = venv.join("bin/mkdocs");
    if !mkdocs.is_file() {
        eprintln!(
            "bench-techdocs: python3 -m venv {} && pip install mkdocs-techdocs-core",
            venv.display()
        );
        let status = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()?;
        ensure!(status.success(), "python3 -m venv failed");
        let status = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "mkdocs-techdocs-core"])
            .status()?;
        ensure!(status.success(), "pip install mkdocs-techdocs-core failed");
    }
    let versions = Command::new(venv.join("bin/pip"))
        .args(["list", "--format=freeze"])
        .output()?;
    let versions: Vec<String> = String::from_utf8_lossy(&versions.stdout)
        .lines()
        .filter(|l| {
            l.starts_with("mkdocs==")
                || l.starts_with("mkdocs-techdocs-core==")
                || l.starts_with("mkdocs-material==")
        })
        .map(str::to_owned)
        .collect();
    Ok((mkdocs, versions.join(", ")))
}

/// Builds the site once, then appends to one page and rebuilds `runs` times in the same
/// process; returns (pages rendered, build ms) per rebuild.
fn incremental(binary: &Path, site: &Path, runs: usize) -> anyhow::Result<Vec<(usize, f64)>> {
    let out = tempfile::Builder::new()
        .prefix("portico-bench-out-")
        .tempdir()?;
    let output = Command::new(binary)
        .arg(site)
        .arg(out.path())
        .args(["--rebuild", &page_path(1), &runs.to_string()])
        .output()?;
    ensure!(
        output.status.success(),
        "incremental run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut samples = Vec::new();
    for line in stdout.lines().filter(|l| l.starts_with("rebuilt ")) {
        let rendered = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX);
        let ms = line
            .split(" in ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no time in {line:?}"))?;
        samples.push((rendered, ms));
    }
    ensure!(
        samples.len() == runs,
        "expected {runs} rebuilds in: {stdout}"
    );
    Ok(samples)
}

pub fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(
        Path::new(TIME).exists(),
        "{TIME} is missing (install GNU time)"
    );
    ensure!(options.runs > 0, "--runs must be at least 1");
    let root = workspace_root();
    let build_args = [
        "build",
        "--release",
        "-p",
        "portico-techdocs",
        "--example",
        "techdocs_build",
    ];
    if options.build {
        eprintln!("bench-techdocs: cargo {}", build_args.join(" "));
        let status = Command::new(cargo())
            .args(build_args)
            .current_dir(&root)
            .status()?;
        ensure!(status.success(), "cargo {} failed", build_args.join(" "));
    }
    let binary = release_binary(&root)?
        .parent()
        .map_or_else(|| root.join("target/release"), Path::to_path_buf)
        .join("examples/techdocs_build");
    ensure!(
        binary.is_file(),
        "{} does not exist: run `cargo {}` (or drop --no-build)",
        binary.display(),
        build_args.join(" ")
    );
    let mkdocs = if options.mkdocs {
        Some(mkdocs_venv(&root)?)
    } else {
        None
    };

    let mut table = String::new();
    let mut incremental_table = String::new();
    for &pages in &options.sizes {
        let dir = tempfile::Builder::new()
            .prefix("portico-bench-techdocs-")
            .tempdir()?;
        let site = dir.path().join("site");
        let bytes = generate_site(&site, pages)?;
        eprintln!(
            "bench-techdocs: {pages} pages, {:.1} MiB of Markdown",
            bytes as f64 / 1048576.0
        );

        let mut portico = Vec::new();
        for run in 1..=options.runs {
            let out = dir.path().join(format!("portico-{run}"));
            let sample = timed(&binary, &[site.as_os_str(), out.as_os_str()], None)?
                .context("portico timed out")?;
            eprintln!(
                "bench-techdocs:   portico run {run}: {:.2} s, {:.0} MiB",
                sample.wall_seconds,
                sample.max_rss_kib as f64 / 1024.0
            );
            portico.push(sample);
            let _ = std::fs::remove_dir_all(&out);
        }
        let mut walls: Vec<f64> = portico.iter().map(|s| s.wall_seconds).collect();
        walls.sort_by(f64::total_cmp);
        let portico_s = median(&walls);
        let portico_rss = portico.iter().map(|s| s.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;

        let mkdocs_cells = match &mkdocs {
            None => "| – | – | – |".to_owned(),
            Some((mkdocs, _)) => {
                let out = dir.path().join("mkdocs-out");
                let config = site.join("mkdocs.yml");
                let sample = timed(
                    mkdocs,
                    &[
                        "build".as_ref(),
                        "-q".as_ref(),
                        "-f".as_ref(),
                        config.as_os_str(),
                        "-d".as_ref(),
                        out.as_os_str(),
                    ],
                    Some(options.mkdocs_timeout),
                )?;
                match sample {
                    Some(s) => {
                        eprintln!(
                            "bench-techdocs:   mkdocs: {:.2} s, {:.0} MiB",
                            s.wall_seconds,
                            s.max_rss_kib as f64 / 1024.0
                        );
                        format!(
                            "| {:.2} | {:.0} | **{:.0}×** |",
                            s.wall_seconds,
                            s.max_rss_kib as f64 / 1024.0,
                            s.wall_seconds / portico_s.max(0.001)
                        )
                    }
                    None => {
                        let limit = options.mkdocs_timeout.as_secs();
                        eprintln!("bench-techdocs:   mkdocs: not done after {limit} s");
                        format!(
                            "| > {limit} (stopped) | – | **> {:.0}×** |",
                            limit as f64 / portico_s.max(0.001)
                        )
                    }
                }
            }
        };
        let _ = writeln!(
            table,
            "| {pages} | {:.1} | {portico_s:.2} | {portico_rss:.0} {mkdocs_cells}",
            bytes as f64 / 1048576.0
        );

        if options.incremental_runs > 0 {
            let samples = incremental(&binary, &site, options.incremental_runs)?;
            let mut times: Vec<f64> = samples.iter().map(|(_, ms)| *ms).collect();
            times.sort_by(f64::total_cmp);
            let rendered: Vec<String> = samples.iter().map(|(r, _)| r.to_string()).collect();
            eprintln!(
                "bench-techdocs:   incremental: {times:?} ms (pages rendered: {})",
                rendered.join(",")
            );
            let _ = writeln!(
                incremental_table,
                "| {pages} | {:.1} | {:.1}–{:.1} | {} | {} |",
                median(&times),
                times.first().copied().unwrap_or(0.0),
                times.last().copied().unwrap_or(0.0),
                rendered.join(", "),
                samples.len()
            );
        }
    }

    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", machine_info())?;
    if let Some((_, versions)) = &mkdocs {
        writeln!(out, "\nmkdocs side: {versions} (PyPI, in a virtualenv).")?;
    }
    writeln!(
        out,
        "\nFull builds (Portico's builder: median of {} run(s); `mkdocs build`: one run; wall time and peak RSS under /usr/bin/time):\n",
        options.runs
    )?;
    writeln!(
        out,
        "| Pages | Markdown MiB | Portico s | Portico peak RSS MiB | mkdocs s | mkdocs peak RSS MiB | Speed-up |"
    )?;
    writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|")?;
    write!(out, "{table}")?;
    if !incremental_table.is_empty() {
        writeln!(
            out,
            "\nIncremental rebuild after appending to one page, in the process that built the site (as `portico techdocs serve` does; build time as the builder reports it):\n"
        )?;
        writeln!(
            out,
            "| Pages | Median ms | Min–max ms | Pages rendered | Runs |"
        )?;
        writeln!(out, "|---:|---:|---:|---|---:|")?;
        write!(out, "{incremental_table}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pages_link_to_existing_pages() {
        let text = page(150, 1000);
        assert!(text.contains("(page-0151.md)"), "{text}");
        assert!(
            text.contains("(../section-00/page-0063.md#usage)"),
            "{text}"
        );
    }
}

//! `cargo xtask bench-scaffolder`: the scaffolder's two benchmark figures (issue 6).
//!
//! 1. `fetch:template` of a generated skeleton of 2,000 files (40 folders, `${{ values.name }}`
//!    in file contents and in some file and folder names) through `portico scaffold`, for real
//!    and with `--dry-run`: wall time and peak RSS from `/usr/bin/time`, median of the runs.
//! 2. 50 concurrent dry runs (`POST /api/scaffolder/v2/dry-run`, Backstage's body with the
//!    template's files as `directoryContents`) of a 100-file template against a release
//!    `portico serve`: wall time of the whole batch, per-request p50/p99, the server's peak RSS.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use crate::bench_http::{Server, proc_status_kib};
use xtask::bench::{Sample, machine_info, median, parse_time_output, release_binary};
use xtask::workspace_root;

/// What to measure.
#[derive(Debug)]
pub struct Options {
    /// Files in the `portico scaffold` skeleton.
    pub files: usize,
    /// Runs of each `portico scaffold` variant.
    pub runs: usize,
    /// Concurrent dry runs against the server.
    pub dry_runs: usize,
    /// Files in the dry-run template.
    pub dry_run_files: usize,
    /// Build the release binary first.
    pub build: bool,
}

/// The template: one `fetch:template` step over `./skeleton`. JSON is YAML, so the same text is
/// the CLI's template.yaml and the API's `template`.
fn template() -> Value {
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "bench", "title": "Benchmark skeleton"},
        "spec": {
            "owner": "group:default/bench",
            "type": "service",
            "parameters": [{
                "title": "Name",
                "required": ["name"],
                "properties": {"name": {"type": "string"}},
            }],
            "steps": [{
                "id": "fetch",
                "name": "Fetch the skeleton",
                "action": "fetch:template",
                "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}},
            }],
        },
    })
}

/// The skeleton's files: `(path under the template folder, content)`.
fn skeleton(files: usize) -> Vec<(String, String)> {
    (0..files)
        .map(|i| {
            let folder = if i % 40 == 0 {
                format!("skeleton/${{{{ values.name }}}}-{:02}", i % 40)
            } else {
                format!("skeleton/part-{:02}", i % 40)
            };
            let name = if i % 10 == 0 {
                format!("${{{{ values.name }}}}-{i:04}.md")
            } else {
                format!("file-{i:04}.txt")
            };
            let mut content = format!("# ${{{{ values.name }}}} file {i}\n\n");
            for line in 0..12 {
                content.push_str(&format!(
                    "Line {line} of ${{{{ values.name | upper }}}}: {{% if values.name %}}named{{% endif %}} text.\n"
                ));
            }
            (format!("{folder}/{name}"), content)
        })
        .collect()
}

fn write_template(dir: &Path, files: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("template.yaml"),
        serde_json::to_string_pretty(&template())?,
    )?;
    for (path, content) in skeleton(files) {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, content)?;
    }
    Ok(())
}

fn scaffold(
    binary: &Path,
    template_dir: &Path,
    out: &Path,
    dry_run: bool,
) -> anyhow::Result<Sample> {
    let time_file = tempfile::NamedTempFile::new()?;
    let mut command = Command::new("/usr/bin/time");
    command
        .arg("-o")
        .arg(time_file.path())
        .args(["-f", "%e %M"])
        .arg(binary)
        .arg("scaffold")
        .arg(template_dir.join("template.yaml"))
        .args(["--set", "name=bench-service", "--out"])
        .arg(out);
    if dry_run {
        command.arg("--dry-run");
    }
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("running portico scaffold")?;
    if !output.status.success() {
        bail!(
            "portico scaffold failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = std::fs::read_to_string(time_file.path())?;
    parse_time_output(&text).context("no /usr/bin/time output")
}

/// Runs the benchmark and prints Markdown tables.
pub fn run(options: &Options) -> anyhow::Result<()> {
    let root = workspace_root();
    if options.build {
        xtask::bench::build_release_portico(&root, "bench-scaffolder")?;
    }
    let binary = release_binary(&root)?;
    let dir = tempfile::tempdir()?;

    let big = dir.path().join("big");
    write_template(&big, options.files)?;
    let mut rows = Vec::new();
    for dry_run in [false, true] {
        let mut walls = Vec::new();
        let mut peaks = Vec::new();
        for run in 0..options.runs.max(1) {
            let out = dir.path().join(format!("out-{dry_run}-{run}"));
            let sample = scaffold(&binary, &big, &out, dry_run)?;
            if !dry_run {
                let written = count_files(&out)?;
                ensure!(
                    written == options.files,
                    "expected {} files written, found {written}",
                    options.files
                );
            }
            walls.push(sample.wall_seconds);
            peaks.push(sample.max_rss_kib as f64 / 1024.0);
        }
        walls.sort_by(f64::total_cmp);
        peaks.sort_by(f64::total_cmp);
        let label = if dry_run {
            "`portico scaffold --dry-run`"
        } else {
            "`portico scaffold` (writes the files)"
        };
        rows.push(format!(
            "| {label} | {} | {:.2} | {:.2}–{:.2} | {:.0} | {} |",
            options.files,
            median(&walls),
            walls.first().copied().unwrap_or_default(),
            walls.last().copied().unwrap_or_default(),
            median(&peaks),
            walls.len()
        ));
        eprintln!("bench: {}", rows.last().map_or("", String::as_str));
    }

    let concurrent = concurrent_dry_runs(&binary, dir.path(), options)?;

    let mut out = std::io::stdout().lock();
    writeln!(out, "{}\n", machine_info())?;
    writeln!(
        out,
        "| Run | Skeleton files | Median wall s | Min–max s | Peak RSS MiB | Runs |\n|---|---:|---:|---:|---:|---:|"
    )?;
    for row in rows {
        writeln!(out, "{row}")?;
    }
    writeln!(out)?;
    writeln!(out, "{concurrent}")?;
    Ok(())
}

fn count_files(dir: &Path) -> anyhow::Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            count += count_files(&entry.path())?;
        } else {
            count += 1;
        }
    }
    Ok(count)
}

fn concurrent_dry_runs(binary: &Path, dir: &Path, options: &Options) -> anyhow::Result<String> {
    use base64::Engine as _;
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let config = dir.join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\ntechdocs:\n  builder: external\n",
            Value::from(data.to_string_lossy())
        ),
    )?;
    let contents: Vec<Value> = skeleton(options.dry_run_files)
        .into_iter()
        .map(|(path, content)| {
            json!({
                "path": path,
                "base64Content": base64::engine::general_purpose::STANDARD.encode(content),
            })
        })
        .collect();
    let body = json!({
        "template": template(),
        "values": {"name": "bench-service"},
        "secrets": {},
        "directoryContents": contents,
    });
    let mut server = Server::spawn(binary, &config, &dir.join("server.log"))?;
    server.wait_listening(Duration::from_secs(60))?;
    let url = format!("{}/api/scaffolder/v2/dry-run", server.base);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let client = reqwest::Client::new();
        let body = serde_json::to_vec(&body)?;
        let post = |client: &reqwest::Client, url: &str, body: Vec<u8>| {
            client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        // One warm-up request, also checking the answer.
        let answer = post(&client, &url, body.clone())
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let first: Value = serde_json::from_slice(&answer)?;
        let produced = first["directoryContents"].as_array().map_or(0, Vec::len);
        ensure!(
            produced == options.dry_run_files,
            "the dry run produced {produced} files, expected {}: {first}",
            options.dry_run_files
        );
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..options.dry_runs {
            let client = client.clone();
            let url = url.clone();
            let body = body.clone();
            tasks.push(tokio::spawn(async move {
                let sent = Instant::now();
                let response = post(&client, &url, body).await?;
                let status = response.status();
                response.bytes().await?;
                anyhow::Ok((status.as_u16(), sent.elapsed()))
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            let (status, latency) = task.await??;
            ensure!(status == 200, "a dry run answered {status}");
            latencies.push(latency.as_secs_f64() * 1000.0);
        }
        anyhow::Ok((started.elapsed(), latencies))
    });
    let peak_kib = proc_status_kib(server.pid(), "VmHWM").unwrap_or_default();
    server.stop()?;
    let (wall, mut latencies) = result?;
    latencies.sort_by(f64::total_cmp);
    let pick = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(index).copied().unwrap_or_default()
    };
    Ok(format!(
        "| Concurrent dry runs | Template files | All done, s | p50 ms | p99 ms | Server peak RSS MiB |\n|---:|---:|---:|---:|---:|---:|\n| {} | {} | {:.2} | {:.0} | {:.0} | {:.0} |",
        options.dry_runs,
        options.dry_run_files,
        wall.as_secs_f64(),
        pick(0.5),
        pick(0.99),
        peak_kib as f64 / 1024.0
    ))
}

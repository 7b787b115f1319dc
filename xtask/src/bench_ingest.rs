//! `cargo xtask bench-ingest`: time from registering a generated catalog's root location to
//! every entity being queryable (`portico catalog register`, which returns only then), on SQLite
//! and, when `PORTICO_TEST_PG_URL` is set, PostgreSQL; plus the cold start of a process that
//! opens the populated database and loads its read model (`portico catalog stats`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use portico_testkit::catalog_gen::{CatalogSpec, generate, write_to_dir};
use portico_testkit::pg::TestServer;

use xtask::bench::{Sample, machine_info, parse_time_output, release_binary};
use xtask::workspace_root;

const TIME: &str = "/usr/bin/time";

/// What to measure.
#[derive(Debug)]
pub struct Options {
    /// Catalog sizes.
    pub sizes: Vec<usize>,
    /// Build the release binary first.
    pub build: bool,
}

/// Runs the benchmark and prints a Markdown table.
pub fn run(options: &Options) -> anyhow::Result<()> {
    let root = workspace_root();
    if options.build {
        xtask::bench::build_release_portico(&root, "bench-ingest")?;
    }
    let binary = release_binary(&root)?;
    let server = TestServer::from_env();
    if server.is_none() {
        eprintln!("bench: PORTICO_TEST_PG_URL is not set: SQLite only");
    }
    let mut rows = Vec::new();
    for &size in &options.sizes {
        let dir = tempfile::tempdir()?;
        write_to_dir(
            &generate(&CatalogSpec::new(size)),
            &dir.path().join("catalog"),
        )?;
        let catalog = dir.path().join("catalog/all.yaml");
        let sqlite = dir.path().join("portico.db");
        let sqlite_url = sqlite.to_string_lossy().into_owned();
        let ingest = time(
            &binary,
            &["catalog", "register", "file"],
            &catalog,
            &sqlite_url,
        )?;
        let start = time(&binary, &["catalog", "stats"], Path::new(""), &sqlite_url)?;
        rows.push(format!(
            "| {size} | SQLite | {:.1} | {:.0} | {:.2} | {:.0} |",
            ingest.wall_seconds,
            mib(&ingest),
            start.wall_seconds,
            mib(&start)
        ));
        eprintln!("bench: {}", rows.last().map_or("", String::as_str));
        if let Some(server) = &server {
            let db = server.create_database();
            let ingest = time(&binary, &["catalog", "register", "file"], &catalog, &db.url)?;
            let start = time(&binary, &["catalog", "stats"], Path::new(""), &db.url)?;
            rows.push(format!(
                "| {size} | PostgreSQL | {:.1} | {:.0} | {:.2} | {:.0} |",
                ingest.wall_seconds,
                mib(&ingest),
                start.wall_seconds,
                mib(&start)
            ));
            eprintln!("bench: {}", rows.last().map_or("", String::as_str));
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}\n", machine_info())?;
    writeln!(
        out,
        "| Entities | Database | Register → all queryable, s | Peak RSS MiB | Cold start without a snapshot (open + rebuild read model), s | Its RSS MiB |"
    )?;
    writeln!(out, "|---:|---|---:|---:|---:|---:|")?;
    for row in rows {
        writeln!(out, "{row}")?;
    }
    Ok(())
}

fn mib(sample: &Sample) -> f64 {
    sample.max_rss_kib as f64 / 1024.0
}

fn time(binary: &Path, args: &[&str], target: &Path, database: &str) -> anyhow::Result<Sample> {
    let time_file = tempfile::NamedTempFile::new()?;
    let mut command = Command::new(TIME);
    command
        .arg("-o")
        .arg(time_file.path())
        .args(["-f", "%e %M"])
        .arg(binary)
        .args(args);
    if !target.as_os_str().is_empty() {
        command.arg(target);
    }
    let output = command
        .args(["--database", database])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    if !output.status.success() {
        bail!(
            "`portico {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = std::fs::read_to_string(time_file.path())?;
    parse_time_output(&text).with_context(|| format!("unexpected {TIME} output: {text:?}"))
}

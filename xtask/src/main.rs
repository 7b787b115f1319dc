//! `cargo xtask`: repository automation — catalog generation, the validate benchmark and the
//! tidy checks. Run `cargo xtask --help` for the commands.

#![allow(
    clippy::print_stderr,
    reason = "a CLI reports errors and findings on stderr"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use portico_testkit::catalog_gen::CatalogSpec;
use xtask::{bench, gen_catalog, tidy, workspace_root};

mod bench_http;
mod bench_ingest;
mod bench_read_model;
mod bench_scaffolder;
mod bench_techdocs;
mod bench_ui;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Portico repository automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a deterministic, realistic Backstage catalog of N entities (root: DIR/all.yaml).
    GenCatalog {
        /// Number of entities, not counting the root Location.
        #[arg(long)]
        entities: usize,
        /// Seed of the generator; same seed and size give byte-identical files.
        #[arg(long, default_value_t = CatalogSpec::DEFAULT_SEED)]
        seed: u64,
        /// Directory to write to (created if missing; files of the same name are replaced).
        #[arg(long)]
        out: PathBuf,
    },
    /// Time `portico validate` on generated catalogs; prints a Markdown table for BENCHMARKS.md.
    BenchValidate {
        /// Catalog sizes in entities, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000])]
        sizes: Vec<usize>,
        /// Runs per size; the table shows the median wall time.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Seed of the generated catalogs.
        #[arg(long, default_value_t = CatalogSpec::DEFAULT_SEED)]
        seed: u64,
        /// Use the existing target/release/portico instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
        /// Time this binary instead of target/release/portico (implies --no-build).
        #[arg(long)]
        binary: Option<PathBuf>,
    },
    /// Time registering generated catalogs until queryable, on SQLite (and PostgreSQL when
    /// PORTICO_TEST_PG_URL is set), and the cold start on the populated database.
    BenchIngest {
        /// Catalog sizes in entities, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000])]
        sizes: Vec<usize>,
        /// Use the existing target/release/portico instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
    },
    /// Benchmark `portico serve` over HTTP on generated catalogs: start-up, cold start, latency
    /// and throughput of the catalog API under concurrent load, memory, graceful shutdown.
    BenchHttp {
        /// Catalog sizes in entities, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000])]
        sizes: Vec<usize>,
        /// Use the existing target/release/portico instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
        /// Seconds of load per endpoint.
        #[arg(long, default_value_t = 10)]
        duration_secs: u64,
        /// Concurrent clients (tokio tasks sharing one keep-alive HTTP client).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// `techdocs.builder` of the server: `external` (measure the catalog alone) or
        /// `local` (with the docs builder scanning the generated catalog while it serves).
        #[arg(long, default_value = "external", value_parser = ["external", "local"])]
        techdocs_builder: String,
    },
    /// Time the web UI's main pages on `portico serve` (release) over generated catalogs, and
    /// weigh them (HTML + CSS + JS).
    BenchUi {
        /// Catalog sizes in entities, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000])]
        sizes: Vec<usize>,
        /// Use the existing target/release/portico instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
        /// Timed requests per page.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
    /// Time the scaffolder: `fetch:template` of a 2,000-file skeleton through `portico scaffold`
    /// (real and dry run) and concurrent dry runs against `portico serve`.
    BenchScaffolder {
        /// Files in the `portico scaffold` skeleton.
        #[arg(long, default_value_t = 2_000)]
        files: usize,
        /// Runs of each `portico scaffold` variant.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Concurrent dry runs against the server.
        #[arg(long, default_value_t = 50)]
        dry_runs: usize,
        /// Files in the dry-run template.
        #[arg(long, default_value_t = 100)]
        dry_run_files: usize,
        /// Use the existing target/release/portico instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
    },
    /// Build the in-memory read model from a generated catalog and time its queries.
    BenchReadModel {
        /// Number of generated entities.
        #[arg(long, default_value_t = 100_000)]
        entities: usize,
        /// Timed runs per query (p50/p99 are taken over them).
        #[arg(long, default_value_t = 200)]
        iterations: usize,
        /// Seed of the generated catalog.
        #[arg(long, default_value_t = CatalogSpec::DEFAULT_SEED)]
        seed: u64,
        /// Internal: measure from this file of final entities (JSON lines).
        #[arg(long, hide = true)]
        input: Option<PathBuf>,
    },
    /// Build generated TechDocs sites (100/1,000/5,000 pages) with portico and with mkdocs +
    /// mkdocs-techdocs-core (PyPI, in a virtualenv), and time incremental rebuilds.
    BenchTechdocs {
        /// Site sizes in pages, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = [100, 1_000, 5_000])]
        sizes: Vec<usize>,
        /// Portico runs per size (the table shows the median).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Use the existing target/release/portico instead of running `cargo build --release`.
        #[arg(long)]
        no_build: bool,
        /// Skip the mkdocs side (no Python needed).
        #[arg(long)]
        no_mkdocs: bool,
        /// Stop an mkdocs build after this many seconds (reported as "> N").
        #[arg(long, default_value_t = 1800)]
        mkdocs_timeout_secs: u64,
        /// Incremental rebuilds per size (0 skips them).
        #[arg(long, default_value_t = 5)]
        incremental_runs: usize,
    },
    /// Run the tidy checks (crate dependency directions, `//!` module docs).
    Tidy,
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(code) => code,
        Err(error) => {
            // `{:#}` prints the context chain on one line, without anyhow's backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::GenCatalog {
            entities,
            seed,
            out,
        } => gen_catalog::run(&CatalogSpec { entities, seed }, &out)?,
        Command::BenchValidate {
            sizes,
            runs,
            seed,
            no_build,
            binary,
        } => bench::run(&bench::Options {
            sizes,
            runs,
            seed,
            build: !no_build && binary.is_none(),
            binary,
        })?,
        Command::BenchReadModel {
            entities,
            iterations,
            seed,
            input,
        } => bench_read_model::run(&bench_read_model::Options {
            entities,
            iterations,
            seed,
            input,
        })?,
        Command::BenchIngest { sizes, no_build } => bench_ingest::run(&bench_ingest::Options {
            sizes,
            build: !no_build,
        })?,
        Command::BenchHttp {
            sizes,
            no_build,
            duration_secs,
            concurrency,
            techdocs_builder,
        } => bench_http::run(&bench_http::Options {
            sizes,
            build: !no_build,
            duration: std::time::Duration::from_secs(duration_secs),
            concurrency,
            techdocs_builder,
        })?,
        Command::BenchTechdocs {
            sizes,
            runs,
            no_build,
            no_mkdocs,
            mkdocs_timeout_secs,
            incremental_runs,
        } => bench_techdocs::run(&bench_techdocs::Options {
            sizes,
            runs,
            build: !no_build,
            mkdocs: !no_mkdocs,
            mkdocs_timeout: std::time::Duration::from_secs(mkdocs_timeout_secs),
            incremental_runs,
        })?,
        Command::BenchScaffolder {
            files,
            runs,
            dry_runs,
            dry_run_files,
            no_build,
        } => bench_scaffolder::run(&bench_scaffolder::Options {
            files,
            runs,
            dry_runs,
            dry_run_files,
            build: !no_build,
        })?,
        Command::BenchUi {
            sizes,
            no_build,
            iterations,
        } => bench_ui::run(&bench_ui::Options {
            sizes,
            build: !no_build,
            iterations,
        })?,
        Command::Tidy => {
            let problems = tidy::run_all(&workspace_root())?;
            for problem in &problems {
                eprintln!("tidy: {problem}");
            }
            if !problems.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

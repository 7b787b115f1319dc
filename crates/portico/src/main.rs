//! The `portico` binary: parses the command line and hands each subcommand to its module.

// The binary is where output to the terminal belongs; libraries must not print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod catalog;
mod config;
mod config_bridge;
mod docs_fetch;
mod fetch;
mod forge_http;
mod s3_publisher;
mod scaffold;
mod scaffolder_wiring;
mod serve;
mod techdocs;
mod techdocs_wiring;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Catalog processing allocates many small strings; with mimalloc, validating 100k entities takes
// 1.2 s instead of 1.7 s with the system allocator (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Portico: an internal developer portal in one binary.
#[derive(Debug, Parser)]
#[command(name = "portico", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the portal: the catalog API on backend.listen (default 127.0.0.1:7007).
    Serve(serve::ServeArgs),
    /// Check catalog descriptor files (catalog-info.yaml) the way the catalog would.
    Validate(validate::ValidateArgs),
    /// Operate the catalog in a database: register locations, process, statistics.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// Run a software template locally into a directory (template authors' inner loop).
    Scaffold(scaffold::ScaffoldArgs),
    /// Build or preview TechDocs sites (mkdocs.yml + Markdown), natively.
    #[command(subcommand)]
    Techdocs(techdocs::TechdocsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Catalog(command) => catalog::run(command),
        Command::Scaffold(args) => scaffold::run(&args),
        Command::Techdocs(command) => techdocs::run(command),
    }
}

/// The multi-threaded tokio runtime of the async subcommands; reports why when it cannot start.
fn async_runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime),
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            None
        }
    }
}

//! The builder alone, for `cargo xtask bench-techdocs`: builds `<site>` into `<out>` with the
//! same `Site::build` that `portico techdocs build` runs, then optionally appends to one page
//! and rebuilds `N` times in the same process (what `portico techdocs serve` does on a change),
//! printing each build's time. A release build of this needs a fraction of the crates of the
//! whole `portico` binary.
//!
//! Usage: `techdocs_build <site> <out> [--rebuild <page relative to docs/> <N>]`

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use portico_techdocs::{BuildOptions, Site};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(site), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: techdocs_build <site> <out> [--rebuild <page> <N>]");
        return ExitCode::FAILURE;
    };
    let rebuild = match (args.get(2).map(String::as_str), args.get(3), args.get(4)) {
        (Some("--rebuild"), Some(page), Some(n)) => match n.parse::<usize>() {
            Ok(n) => Some((page.clone(), n)),
            Err(_) => {
                eprintln!("N must be a number");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let site_dir = PathBuf::from(site);
    let mut site = Site::new(&site_dir, out, BuildOptions::default());
    match site.build() {
        Ok(report) => println!(
            "built {} pages, {} warnings, in {:.3} ms",
            report.pages,
            report.warnings.len(),
            report.duration.as_secs_f64() * 1000.0
        ),
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    }
    if let Some((page, runs)) = rebuild {
        let path = site_dir.join("docs").join(page);
        for run in 0..runs {
            let appended = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .and_then(|mut file| writeln!(file, "\nEdit {run} appended by the benchmark."));
            if let Err(err) = appended {
                eprintln!("error: {}: {err}", path.display());
                return ExitCode::FAILURE;
            }
            match site.build() {
                Ok(report) => println!(
                    "rebuilt {} page(s), wrote {} file(s), in {:.3} ms",
                    report.rendered,
                    report.written,
                    report.duration.as_secs_f64() * 1000.0
                ),
                Err(err) => {
                    eprintln!("error: {err}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    ExitCode::SUCCESS
}

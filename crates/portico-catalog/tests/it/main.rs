//! Integration tests of the catalog engine's descriptor processing and location walking,
//! on Backstage's own example catalog and on hand-made broken inputs in temporary folders.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod bad_input;
mod engine;
mod examples;

use std::path::{Path, PathBuf};

use portico_catalog::{LocalReader, Target, WalkReport, walk};
use portico_model::KindRegistry;

/// The shared test data folder (`../shared/testdata` next to the repository).
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
}

/// Walks the given files with the local reader and the built-in kinds.
pub fn walk_files(files: &[PathBuf]) -> WalkReport {
    let roots: Vec<Target> = files.iter().cloned().map(Target::File).collect();
    walk(&roots, &LocalReader, &KindRegistry::builtin())
}

/// Diagnostics as `file-name:line:col: severity: field: message`, with the folder stripped.
pub fn lines(report: &WalkReport, folder: &Path) -> Vec<String> {
    let prefix = format!("{}/", folder.display());
    report
        .diagnostics
        .iter()
        .map(|d| d.to_string().replace(&prefix, ""))
        .collect()
}

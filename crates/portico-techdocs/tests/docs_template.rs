//! The docs-template skeleton of Backstage's software templates (`../shared/testdata/
//! backstage-software-templates/docs-template/skeleton`) builds without a single warning once
//! its `${{ }}` expressions are filled in with sample values, as the scaffolder would.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use portico_techdocs::{BuildOptions, build_site};

fn skeleton() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/backstage-software-templates/docs-template/skeleton")
}

/// What the scaffolder's `fetch:template` would do with these values.
fn fill(text: &str) -> String {
    text.replace("${{values.name | dump}}", "\"my-docs\"")
        .replace(
            "${{values.description | dump}}",
            "\"Docs made from the template\"",
        )
        .replace("${{ values.name }}", "my-docs")
        .replace("${{ values.description }}", "Docs made from the template")
}

fn copy_filled(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            std::fs::write(&target, fill(&text)).unwrap();
        }
    }
}

#[test]
fn backstage_docs_template_skeleton_builds_cleanly() {
    let source = skeleton();
    if !source.is_dir() {
        // The shared test data sits beside the worktree; say so rather than pass silently.
        panic!("shared test data missing: {}", source.display());
    }
    let site = tempfile::tempdir().unwrap();
    copy_filled(&source, site.path());
    let out = tempfile::tempdir().unwrap();
    let strict = BuildOptions {
        strict: true,
        ..BuildOptions::default()
    };
    let report = build_site(site.path(), out.path(), strict).unwrap();
    assert_eq!(report.pages, 1);
    assert_eq!(report.metadata.site_name, "my-docs");
    assert_eq!(
        report.metadata.site_description,
        "Docs made from the template"
    );
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(html.contains("<h2 id=\"my-docs\">my-docs"), "{html}");
    assert!(html.contains("href=\"#getting-started\""), "TOC entry");
    assert!(html.contains("<a href=\"https://www.mkdocs.org/user-guide/configuration/\">"));
    assert!(
        html.contains(">Introduction</a>"),
        "nav title from mkdocs.yml"
    );
    assert!(out.path().join("search/search_index.json").is_file());
}

//! Golden tests: the fixture site in `tests/fixtures/full-site` (every feature the builder
//! supports, plus broken links and refused paths) is built into a temporary folder and the
//! produced HTML, warnings, search index and metadata are compared with insta snapshots.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use portico_techdocs::{BuildOptions, TechDocsError, build_site};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full-site")
}

fn read(out: &Path, file: &str) -> String {
    std::fs::read_to_string(out.join(file)).unwrap_or_else(|err| panic!("{file}: {err}"))
}

/// The author's part of a page: what is inside `<article>`.
fn article(html: &str) -> &str {
    let start = html.find("<article").expect("article start");
    let end = html.find("</article>").expect("article end");
    &html[start..end]
}

#[test]
fn fixture_site_builds_as_expected() {
    let out = tempfile::tempdir().expect("tempdir");
    let report = build_site(&fixture(), out.path(), BuildOptions::default()).expect("build");
    assert_eq!(report.pages, 7);

    let warnings: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("warnings", warnings.join("\n"));

    insta::assert_snapshot!("index_full_page", read(out.path(), "index.html"));
    for (name, file) in [
        ("markdown", "guide/markdown/index.html"),
        ("blocks", "guide/blocks/index.html"),
        ("code", "guide/code/index.html"),
        ("diagrams", "diagrams/index.html"),
        ("links", "links/index.html"),
        ("orphan", "orphan/index.html"),
    ] {
        let html = read(out.path(), file);
        insta::assert_snapshot!(name, article(&html));
    }

    // Only the page with a diagram loads the renderer, and the renderer is in the site.
    assert!(read(out.path(), "diagrams/index.html").contains("assets/portico/mermaid.min.js"));
    assert!(!read(out.path(), "guide/code/index.html").contains("mermaid.min.js"));
    assert!(out.path().join("assets/portico/mermaid.min.js").is_file());
    assert!(out.path().join("img/logo.png").is_file());
    let css = read(out.path(), "assets/portico/techdocs.css");
    assert!(css.contains(".hl-") && css.contains("prefers-color-scheme: dark"));

    // Nothing from outside the site made it in.
    for file in &report.metadata.files {
        let text = std::fs::read(out.path().join(file)).expect("listed file exists");
        assert!(
            !String::from_utf8_lossy(&text).contains("SECRET-OUTSIDE-THE-SITE"),
            "{file} holds text from outside the site"
        );
    }

    let search: serde_json::Value =
        serde_json::from_str(&read(out.path(), "search/search_index.json")).expect("search json");
    insta::assert_json_snapshot!("search_index", search);

    let metadata: serde_json::Value =
        serde_json::from_str(&read(out.path(), "techdocs_metadata.json")).expect("metadata json");
    assert_eq!(metadata["site_name"], "Fixture Docs");
    assert_eq!(
        metadata["site_description"],
        "Every feature the Portico builder supports"
    );
    assert_eq!(metadata["etag"].as_str().map(str::len), Some(64));
    assert!(
        metadata["build_timestamp"]
            .as_u64()
            .is_some_and(|t| t > 1_700_000_000_000)
    );
    insta::assert_json_snapshot!("metadata_files", metadata["files"]);
}

#[test]
fn strict_mode_turns_warnings_into_an_error_and_writes_nothing() {
    let out = tempfile::tempdir().expect("tempdir");
    let site_out = out.path().join("site");
    let options = BuildOptions {
        strict: true,
        ..BuildOptions::default()
    };
    match build_site(&fixture(), &site_out, options) {
        Err(TechDocsError::Strict(warnings)) => assert!(warnings.len() > 5, "{warnings:?}"),
        other => panic!("expected a strict-mode failure, got {other:?}"),
    }
    assert!(!site_out.exists());
}

#[test]
fn same_source_same_etag() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let first = build_site(&fixture(), a.path(), BuildOptions::default()).expect("build");
    let second = build_site(&fixture(), b.path(), BuildOptions::default()).expect("build");
    assert_eq!(first.metadata.etag, second.metadata.etag);
    assert_eq!(first.metadata.files, second.metadata.files);
}

//! Incremental rebuilds with one [`Site`] kept across builds (what `portico techdocs serve`
//! does): an edited page is the only page rendered and rewritten; a page whose title changes
//! rewrites the navigation everywhere; added and deleted pages and edited snippets are picked
//! up; stale output is removed.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::SystemTime;

use portico_techdocs::{BuildOptions, Site};

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn rebuilds_only_what_changed() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    write(root, "mkdocs.yml", "site_name: Inc\n");
    write(
        root,
        "docs/index.md",
        "# Home\n\nSee [a](a.md) and [b](b.md#part).\n",
    );
    write(root, "docs/a.md", "# Page A\n\nFirst version.\n");
    write(
        root,
        "docs/b.md",
        "# Page B\n\n## Part\n\n--8<-- \"parts/shared.md\"\n",
    );
    write(root, "parts/shared.md", "Shared v1.\n");
    let out = tempfile::tempdir().unwrap();
    let mut site = Site::new(root, out.path(), BuildOptions::default());

    let first = site.build().unwrap();
    assert_eq!((first.pages, first.rendered), (3, 3));
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    let b_before = modified(&out.path().join("b/index.html"));

    // Nothing changed: nothing rendered, only the metadata rewritten.
    let idle = site.build().unwrap();
    assert_eq!((idle.rendered, idle.written), (0, 1));
    assert_eq!(idle.metadata.etag, first.metadata.etag);

    // One page's body changes: only it is rendered and rewritten (plus search and metadata).
    write(root, "docs/a.md", "# Page A\n\nSecond, longer version.\n");
    let edit = site.build().unwrap();
    assert_eq!((edit.rendered, edit.written), (1, 3));
    assert!(read(&out.path().join("a/index.html")).contains("Second, longer version."));
    assert_eq!(modified(&out.path().join("b/index.html")), b_before);
    assert_ne!(edit.metadata.etag, first.metadata.etag);

    // A snippet changes: the page including it is rendered again.
    write(root, "parts/shared.md", "Shared v2, changed.\n");
    let snippet = site.build().unwrap();
    assert_eq!(snippet.rendered, 1);
    assert!(read(&out.path().join("b/index.html")).contains("Shared v2, changed."));

    // A title changes: the nav of every page changes, so every page is rewritten.
    write(
        root,
        "docs/a.md",
        "# Renamed A\n\nSecond, longer version.\n",
    );
    let retitle = site.build().unwrap();
    assert_eq!(retitle.rendered, 1);
    assert!(retitle.written >= 3 + 2, "{}", retitle.written);
    assert!(read(&out.path().join("b/index.html")).contains(">Renamed A</a>"));

    // A page is added, then deleted: links are checked again, its output goes away.
    write(root, "docs/c.md", "# Page C\n");
    let added = site.build().unwrap();
    assert_eq!((added.pages, added.rendered), (4, 4));
    assert!(out.path().join("c/index.html").is_file());
    std::fs::remove_file(root.join("docs/a.md")).unwrap();
    let removed = site.build().unwrap();
    assert_eq!(removed.pages, 3);
    assert!(!out.path().join("a/index.html").exists());
    let messages: Vec<String> = removed.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        ["docs/index.md:3: link to \"a.md\": no page a.md in the docs folder"]
    );
}

#[test]
fn a_fresh_build_removes_what_an_earlier_run_left() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    write(root, "mkdocs.yml", "site_name: Fresh\n");
    write(root, "docs/index.md", "# Home\n");
    write(root, "docs/old.md", "# Old\n");
    let out = tempfile::tempdir().unwrap();
    Site::new(root, out.path(), BuildOptions::default())
        .build()
        .unwrap();
    assert!(out.path().join("old/index.html").is_file());
    std::fs::remove_file(root.join("docs/old.md")).unwrap();
    write(&out.path().join("keep"), "unrelated.txt", "not ours");
    Site::new(root, out.path(), BuildOptions::default())
        .build()
        .unwrap();
    assert!(!out.path().join("old/index.html").exists());
    assert!(
        out.path().join("keep/unrelated.txt").is_file(),
        "files we did not write stay"
    );
}

#[test]
fn output_inside_the_docs_folder_is_not_read_back() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    write(root, "mkdocs.yml", "site_name: Inside\n");
    write(root, "docs/index.md", "# Home\n");
    let mut site = Site::new(root, root.join("docs/built"), BuildOptions::default());
    assert_eq!(site.build().unwrap().pages, 1);
    let again = Site::new(root, root.join("docs/built"), BuildOptions::default())
        .build()
        .unwrap();
    assert_eq!(again.pages, 1);
    assert!(
        !again.metadata.files.iter().any(|f| f.starts_with("built/")),
        "{:?}",
        again.metadata.files
    );
}

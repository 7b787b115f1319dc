//! Tidy tests: run the repository checks of `xtask::tidy` on the real workspace, as part of
//! `cargo test --workspace`.

use xtask::tidy;
use xtask::workspace_root;

#[test]
fn crate_dependency_directions() {
    let metadata = tidy::cargo_metadata(&workspace_root()).expect("cargo metadata");
    let packages = tidy::workspace_packages(&metadata).expect("workspace packages");
    assert!(
        packages.iter().any(|p| p.name == "xtask"),
        "cargo metadata did not list xtask: wrong workspace?"
    );
    let problems = tidy::check_dependencies(&packages);
    assert!(
        problems.is_empty(),
        "crate dependency rules broken (see the architecture guide §2):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let problems = tidy::check_module_docs(&workspace_root()).expect("reading sources");
    assert!(
        problems.is_empty(),
        "{} file(s) without a leading `//!` module doc:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

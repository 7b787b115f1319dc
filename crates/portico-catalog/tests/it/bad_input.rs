//! Broken inputs: each must become a precise diagnostic, never a panic or a hang, and must not
//! stop the rest of the catalog from being read.

use std::fs;
use std::path::Path;

use crate::{lines, walk_files};

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn component(name: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )
}

fn location(name: &str, targets: &[&str]) -> String {
    let mut text = format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\nspec:\n  targets:\n"
    );
    for t in targets {
        text.push_str(&format!("    - {t}\n"));
    }
    text
}

#[test]
fn location_cycle_is_reported_once_with_position() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yaml", &location("a", &["./b.yaml"]));
    write(
        dir.path(),
        "b.yaml",
        &format!("{}---\n{}", component("svc"), location("b", &["./a.yaml"])),
    );
    let report = walk_files(&[dir.path().join("a.yaml")]);
    let folder = dir.path();
    assert_eq!(
        lines(&report, folder),
        [format!(
            "b.yaml:16:7: error: spec.targets[0]: location cycle: {0}/a.yaml → {0}/b.yaml → {0}/a.yaml; remove one of these targets",
            folder.display()
        )
        .replace(&format!("{}/", folder.display()), "")]
    );
    // The entities on the way are still read.
    assert_eq!(report.entities.len(), 3);
}

#[test]
fn missing_target_is_an_error_unless_optional() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "root.yaml", &location("root", &["./gone.yaml"]));
    write(
        dir.path(),
        "optional.yaml",
        &format!(
            "{}  presence: optional\n",
            location("opt", &["./gone-too.yaml"])
        ),
    );
    let report = walk_files(&[
        dir.path().join("root.yaml"),
        dir.path().join("optional.yaml"),
    ]);
    let found = lines(&report, dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("root.yaml:7:7: error: spec.targets[0]: location target ")
            && found[0]
                .ends_with("gone.yaml does not exist; fix the path or set spec.presence: optional"),
        "{}",
        found[0]
    );
}

#[test]
fn one_broken_document_of_ten_keeps_the_other_nine() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..10 {
        if i > 0 {
            text.push_str("---\n");
        }
        if i == 4 {
            text.push_str(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: [broken\n",
            );
        } else {
            text.push_str(&component(&format!("svc-{i}")));
        }
    }
    write(dir.path(), "ten.yaml", &text);
    let report = walk_files(&[dir.path().join("ten.yaml")]);
    assert_eq!(report.entities.len(), 9);
    assert_eq!(report.rejected, 1);
    let found = lines(&report, dir.path());
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("ten.yaml:40:"), "{}", found[0]);
    assert!(found[0].contains("error: invalid YAML"), "{}", found[0]);
}

#[test]
fn same_entity_in_two_files_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yaml", &component("shared"));
    write(dir.path(), "b.yaml", &component("Shared"));
    // The first file processed keeps the entity; the order of the roots decides.
    let report = walk_files(&[dir.path().join("b.yaml"), dir.path().join("a.yaml")]);
    assert_eq!(report.entities.len(), 1);
    assert_eq!(report.entities[0].validated.entity.metadata.name, "Shared");
    let found = lines(&report, dir.path());
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with(
            "a.yaml:1:1: error: metadata.name: entity component:default/shared is already defined at "
        ),
        "{}",
        found[0]
    );
}

#[test]
fn oversized_and_non_utf8_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!(
        "{}  description: \"{}\"\n",
        component("big"),
        "x".repeat(11 * 1024 * 1024)
    );
    write(dir.path(), "big.yaml", &big);
    fs::write(
        dir.path().join("latin1.yaml"),
        b"apiVersion: v1\nkind: Component\nmetadata:\n  name: caf\xe9\n",
    )
    .unwrap();
    let report = walk_files(&[dir.path().join("big.yaml"), dir.path().join("latin1.yaml")]);
    let found = lines(&report, dir.path());
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("big.yaml: error: ")
            && found[0].contains("larger than the limit of 10485760 bytes"),
        "{}",
        found[0]
    );
    assert_eq!(
        found[1],
        "latin1.yaml:4:12: error: file is not valid UTF-8; save it as UTF-8"
    );
}

#[test]
fn relative_placeholders_resolve_and_failures_point_at_the_field() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "defs/api.yaml",
        "openapi: 3.0.0\ninfo: {title: t}\n",
    );
    write(dir.path(), "defs/extra.json", "{\"a\": [1, 2]}");
    write(
        dir.path(),
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api\n  annotations:\n    example.com/extra: {$text: ./defs/extra.json}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ./defs/api.yaml\n---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: broken\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ./defs/missing.yaml\n",
    );
    let report = walk_files(&[dir.path().join("catalog-info.yaml")]);
    assert_eq!(report.entities.len(), 1);
    let api = &report.entities[0].validated.entity;
    assert_eq!(
        api.spec_str("definition"),
        Some("openapi: 3.0.0\ninfo: {title: t}\n")
    );
    assert_eq!(
        api.metadata.annotations["example.com/extra"],
        "{\"a\": [1, 2]}"
    );
    let found = lines(&report, dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("catalog-info.yaml:22:3: error: spec.definition: $text placeholder: ")
            && found[0].ends_with("missing.yaml does not exist"),
        "{}",
        found[0]
    );
}

#[test]
fn reference_without_required_kind_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "c.yaml",
        &format!(
            "{}  dependsOn:\n    - resource:db\n    - db\n",
            component("svc")
        ),
    );
    let report = walk_files(&[dir.path().join("c.yaml")]);
    let found = lines(&report, dir.path());
    assert_eq!(
        found,
        [
            "c.yaml:11:7: error: spec.dependsOn[1]: entity reference \"db\" had missing or empty kind (e.g. did not start with \"component:\" or similar); expected a reference of the form <kind>:[<namespace>/]<name> (the kind is required here), found \"db\""
        ]
    );
}

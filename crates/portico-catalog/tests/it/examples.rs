//! Backstage's example catalog (`all.yaml` and `acme-corp.yaml`, 67 entities): every entity
//! validates, and the relations match Backstage's relation table (expected lists below were
//! checked by hand against the example files and `backstage.md` §1.5).

use std::collections::BTreeMap;

use portico_catalog::{Severity, WalkReport};

use crate::{testdata, walk_files};

fn example_catalog() -> WalkReport {
    let dir = testdata().join("backstage-examples");
    walk_files(&[dir.join("all.yaml"), dir.join("acme-corp.yaml")])
}

/// Every relation whose source is `entity_ref`, as `type target`, sorted: what the stitched
/// entity's `relations` array holds.
fn relations_of(report: &WalkReport, entity_ref: &str) -> Vec<String> {
    let mut out: Vec<String> = report
        .entities
        .iter()
        .flat_map(|e| e.validated.relations.iter())
        .filter(|r| r.source.canonical() == entity_ref)
        .map(|r| format!("{} {}", r.relation_type, r.target))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn all_67_example_entities_validate() {
    let report = example_catalog();
    let errors: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &report.entities {
        *kinds.entry(e.validated.entity.kind.as_str()).or_default() += 1;
    }
    let expected: BTreeMap<&str, usize> = [
        ("User", 17),
        ("Component", 13),
        ("API", 10),
        ("Location", 9),
        ("Group", 8),
        ("AiResource", 3),
        ("Domain", 3),
        ("System", 3),
        ("Resource", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(kinds, expected);
    assert_eq!(report.entities.len(), 67);
    assert_eq!(report.rejected, 0);
}

#[test]
fn remote_placeholders_are_reported_as_not_fetched() {
    let report = example_catalog();
    let warnings: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| {
            d.field
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(warnings, ["spec.definition"; 3]);
}

#[test]
fn relative_text_placeholders_are_embedded() {
    let report = example_catalog();
    let petstore = report
        .entities
        .iter()
        .find(|e| e.validated.entity.entity_ref().canonical() == "api:default/petstore-webhook")
        .expect("petstore-webhook API");
    let definition = petstore.validated.entity.spec_str("definition").unwrap();
    assert!(
        definition.contains("openapi:"),
        "definition should hold the OpenAPI file's text, got {definition:.80}"
    );
}

#[test]
fn component_relations() {
    let report = example_catalog();
    // spec.owner team-a, spec.system, spec.dependsOn resource:artists-db;
    // `apiConsumedBy` in its spec is not a relation field and yields nothing.
    assert_eq!(
        relations_of(&report, "component:default/artist-lookup"),
        [
            "dependsOn resource:default/artists-db",
            "ownedBy group:default/team-a",
            "partOf system:default/artist-engagement-portal",
        ]
    );
    assert_eq!(
        relations_of(&report, "resource:default/artists-db"),
        [
            "dependencyOf component:default/artist-lookup",
            "ownedBy group:default/team-a",
            "partOf system:default/artist-engagement-portal",
        ]
    );
}

#[test]
fn system_and_domain_relations() {
    let report = example_catalog();
    assert_eq!(
        relations_of(&report, "system:default/audio-playback"),
        [
            "hasPart component:default/playback-order",
            "hasPart component:default/playback-sdk",
            "hasPart component:default/shuffle-api",
            "ownedBy group:default/team-c",
            "partOf domain:default/playback",
        ]
    );
    // The owner is a user here: `user:` overrides the default kind Group.
    assert_eq!(
        relations_of(&report, "domain:default/playback"),
        [
            "hasPart system:default/audio-playback",
            "hasPart system:default/podcast",
            "ownedBy user:default/frank.tiernan",
        ]
    );
}

#[test]
fn group_and_user_relations() {
    let report = example_catalog();
    let team_a = relations_of(&report, "group:default/team-a");
    assert!(team_a.contains(&"childOf group:default/backstage".to_owned()));
    assert!(team_a.contains(&"hasMember user:default/breanna.davison".to_owned()));
    assert!(team_a.contains(&"ownerOf component:default/artist-lookup".to_owned()));
    assert!(team_a.contains(&"ownerOf airesource:default/code-review-plugin".to_owned()));
    assert_eq!(
        relations_of(&report, "user:default/breanna.davison"),
        ["memberOf group:default/team-a"]
    );
    let backstage = relations_of(&report, "group:default/backstage");
    assert!(backstage.contains(&"parentOf group:default/team-a".to_owned()));
    assert!(backstage.contains(&"parentOf group:default/team-b".to_owned()));
}

#[test]
fn ai_resource_relations_include_dangling_targets() {
    let report = example_catalog();
    assert_eq!(
        relations_of(&report, "airesource:default/code-review-plugin"),
        [
            "hasSkill airesource:default/security-review",
            "hasSkill airesource:default/typescript-best-practices",
            "ownedBy group:default/team-a",
            "partOf system:default/artist-engagement-portal",
        ]
    );
    // The targets do not exist, but the reverse relation is still emitted on them.
    assert_eq!(
        relations_of(&report, "airesource:default/security-review"),
        ["skillOf airesource:default/code-review-plugin"]
    );
}

#[test]
fn sample_templates_validate() {
    let dir = testdata().join("backstage-sample-templates");
    let report = walk_files(&[dir.join("all-templates.yaml")]);
    assert_eq!(report.error_count(), 0, "{:#?}", report.diagnostics);
    let templates = report
        .entities
        .iter()
        .filter(|e| e.validated.entity.kind == "Template")
        .count();
    assert!(templates >= 4, "found {templates} templates");
}

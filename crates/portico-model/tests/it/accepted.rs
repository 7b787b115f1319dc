//! Entities that look odd but that Backstage 1.55 accepts (`backstage.md` §15): we accept them
//! too, so existing catalogs load unchanged.

use crate::check;

const HEAD: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n";

fn component_with(extra_metadata: &str, spec: &str) -> String {
    format!("{HEAD}{extra_metadata}spec:\n  type: service\n  lifecycle: production\n{spec}")
}

#[test]
fn backstage_quirks_are_accepted() {
    let cases = [
        // Tags may contain ':' (and '+', '#').
        component_with("  tags: [lang:go, c++, c#]\n", "  owner: team-a\n"),
        // Reserved words under spec are accepted in this release.
        component_with("", "  owner: team-a\n  name: x\n  kind: y\n"),
        // Link icon: any non-empty string.
        component_with(
            "  links:\n    - url: https://x.example\n      icon: Some Icon!\n",
            "  owner: team-a\n",
        ),
        // References are split at the first ':' and '/' only.
        component_with("", "  owner: group:default:team-a\n"),
        component_with("", "  owner: group:default/team/a\n"),
        component_with("", "  owner: team a\n"),
        // YAML 1.1 booleans and dates stay strings.
        component_with(
            "  annotations:\n    example.com/flag: yes\n    example.com/date: 2024-01-01\n",
            "  owner: team-a\n",
        ),
        // javascript: URLs pass validation (the UI must never render them as links).
        component_with(
            "  links:\n    - url: javascript:alert(1)\n",
            "  owner: team-a\n",
        ),
    ];
    for yaml in cases {
        if let Err(issues) = check(&yaml) {
            panic!("rejected:\n{yaml}\n{issues:#?}");
        }
    }
}

#[test]
fn location_with_empty_spec_is_valid() {
    let validated = check(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: loc}\nspec: {}\n",
    )
    .unwrap();
    assert!(validated.relations.is_empty());
}

#[test]
fn namespace_defaults_and_is_inherited_by_references() {
    let validated = check(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  namespace: payments\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  system: other/core\n",
    )
    .unwrap();
    let rendered: Vec<String> = validated
        .relations
        .iter()
        .map(|r| format!("{} {} {}", r.source, r.relation_type, r.target))
        .collect();
    assert_eq!(
        rendered,
        [
            "component:payments/svc ownedBy group:payments/team-a",
            "group:payments/team-a ownerOf component:payments/svc",
            "component:payments/svc partOf system:other/core",
            "system:other/core hasPart component:payments/svc",
        ]
    );
    let plain = check(&component_with("", "  owner: team-a\n")).unwrap();
    assert_eq!(plain.entity.metadata.namespace.as_deref(), Some("default"));
}

#[test]
fn api_v1alpha2_and_mcp_server_without_definition() {
    check("apiVersion: backstage.io/v1alpha2\nkind: API\nmetadata: {name: a}\nspec:\n  type: mcp-server\n  lifecycle: production\n  owner: team-a\n  remotes:\n    - type: sse\n      url: https://mcp.example.com\n").unwrap();
}

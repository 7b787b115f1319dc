//! One or more invalid entities per validation rule. Each case names the field that must be
//! reported, where (line:column in the YAML), and a fragment of the message.

use crate::check;

struct Case {
    name: &'static str,
    yaml: String,
    field: &'static str,
    at: (u32, u32),
    message: &'static str,
}

const V1: &str = "apiVersion: backstage.io/v1alpha1\n";

fn component(metadata: &str, spec: &str) -> String {
    format!("{V1}kind: Component\nmetadata:\n  name: svc\n{metadata}spec:\n{spec}")
}

const SPEC: &str = "  type: service\n  lifecycle: production\n  owner: team-a\n";

fn case(
    name: &'static str,
    yaml: String,
    field: &'static str,
    at: (u32, u32),
    message: &'static str,
) -> Case {
    Case {
        name,
        yaml,
        field,
        at,
        message,
    }
}

fn cases() -> Vec<Case> {
    vec![
        // Envelope
        case("not a mapping", "- a\n- b\n".into(), "<root>", (1, 1), "an entity must be a mapping"),
        case("missing apiVersion", format!("kind: Component\nmetadata: {{name: a}}\nspec:\n{SPEC}"), "apiVersion", (1, 1), "missing required field \"apiVersion\""),
        case("bad apiVersion", format!("apiVersion: backstage.io/v1-alpha\nkind: Component\nmetadata: {{name: a}}\nspec:\n{SPEC}"), "apiVersion", (1, 1), "\"apiVersion\" is not valid"),
        case("apiVersion is a number", format!("apiVersion: 1\nkind: Component\nmetadata: {{name: a}}\nspec:\n{SPEC}"), "apiVersion", (1, 1), "found the number 1"),
        case("missing kind", format!("{V1}metadata: {{name: a}}\n"), "kind", (1, 1), "missing required field \"kind\""),
        case("bad kind syntax", format!("{V1}kind: 9lives\nmetadata: {{name: a}}\n"), "kind", (2, 1), "\"kind\" is not valid"),
        case("unknown kind", format!("{V1}kind: Widget\nmetadata: {{name: a}}\nspec: {{}}\n"), "kind", (2, 1), "No processor recognized the entity widget:a"),
        case("wrong-case kind", format!("{V1}kind: component\nmetadata: {{name: a}}\nspec:\n{SPEC}"), "kind", (2, 1), "kinds are case-sensitive"),
        case("Template with old apiVersion", "apiVersion: scaffolder.backstage.io/v1beta2\nkind: Template\nmetadata: {name: t}\nspec: {type: service, steps: []}\n".into(), "kind", (2, 1), "apiVersion scaffolder.backstage.io/v1beta3 for kind Template"),
        case("API with unknown version", format!("apiVersion: backstage.io/v1alpha9\nkind: API\nmetadata: {{name: a}}\nspec:\n{SPEC}  definition: x\n"), "kind", (2, 1), "No processor recognized"),
        case("unknown root field", format!("{}foo: bar\n", component("", SPEC)), "foo", (9, 1), "unknown field \"foo\""),
        case("relations at the root", format!("{}relations: []\n", component("", SPEC)), "relations", (9, 1), "set by the catalog"),
        case("status at the root", format!("{}status: {{}}\n", component("", SPEC)), "status", (9, 1), "set by the catalog"),
        // Metadata
        case("missing metadata", format!("{V1}kind: Component\nspec:\n{SPEC}"), "metadata", (1, 1), "missing required field \"metadata\""),
        case("metadata is a list", format!("{V1}kind: Component\nmetadata: [a]\nspec:\n{SPEC}"), "metadata", (3, 1), "\"metadata\" is not valid"),
        case("missing name", format!("{V1}kind: Component\nmetadata:\n  title: T\nspec:\n{SPEC}"), "metadata.name", (3, 1), "missing required field \"name\""),
        case("name with space", format!("{V1}kind: Component\nmetadata:\n  name: my svc\nspec:\n{SPEC}"), "metadata.name", (4, 3), "found \"my svc\""),
        case("name starting with dash", format!("{V1}kind: Component\nmetadata:\n  name: -svc\nspec:\n{SPEC}"), "metadata.name", (4, 3), "sequences of [a-zA-Z0-9] separated by any of [-_.]"),
        case("name too long", format!("{V1}kind: Component\nmetadata:\n  name: {}\nspec:\n{SPEC}", "a".repeat(64)), "metadata.name", (4, 3), "at most 63 characters"),
        case("name is a number", format!("{V1}kind: Component\nmetadata:\n  name: 42\nspec:\n{SPEC}"), "metadata.name", (4, 3), "found the number 42"),
        case("uppercase namespace", component("  namespace: Payments\n", SPEC), "metadata.namespace", (5, 3), "sequences of [a-z0-9] separated by [-]"),
        case("empty title", component("  title: ''\n", SPEC), "metadata.title", (5, 3), "expected a non-empty string"),
        case("description is a number", component("  description: 12\n", SPEC), "metadata.description", (5, 3), "expected a string, found the number 12"),
        case("labels is a list", component("  labels: [a]\n", SPEC), "metadata.labels", (5, 3), "a mapping of keys to strings"),
        case("label key with three parts", component("  labels:\n    a/b/c: x\n", SPEC), "metadata.labels[\"a/b/c\"]", (6, 5), "label key is not valid"),
        case("label value with space", component("  labels:\n    team: a b\n", SPEC), "metadata.labels.team", (6, 5), "label value is not valid"),
        case("annotation key with uppercase prefix", component("  annotations:\n    Example.com/x: y\n", SPEC), "metadata.annotations[\"Example.com/x\"]", (6, 5), "annotation key is not valid"),
        case("annotation value is a boolean", component("  annotations:\n    example.com/enabled: true\n", SPEC), "metadata.annotations[\"example.com/enabled\"]", (6, 5), "quote numbers and booleans"),
        case("tags is a string", component("  tags: java\n", SPEC), "metadata.tags", (5, 3), "a list of tags"),
        case("uppercase tag", component("  tags:\n    - ok\n    - Java\n", SPEC), "metadata.tags[1]", (7, 7), "found \"Java\""),
        case("tag with underscore", component("  tags: [snake_case]\n", SPEC), "metadata.tags[0]", (5, 10), "tag is not valid"),
        case("link without url", component("  links:\n    - title: Docs\n", SPEC), "metadata.links[0]", (6, 7), "missing required field \"url\""),
        case("relative link url", component("  links:\n    - url: /docs\n", SPEC), "metadata.links[0].url", (6, 7), "an absolute URL with a scheme"),
        case("empty link title", component("  links:\n    - url: https://x.example\n      title: ''\n", SPEC), "metadata.links[0].title", (7, 7), "non-empty string"),
        case("link is a string", component("  links:\n    - https://x.example\n", SPEC), "metadata.links[0]", (6, 7), "link is not valid"),
        case("keys differing only in case", component("  annotations:\n    example.com/a: x\n    example.com/A: y\n", SPEC), "metadata.annotations[\"example.com/A\"]", (7, 5), "differs only in case"),
        // Spec, per kind
        case("component without spec", format!("{V1}kind: Component\nmetadata: {{name: a}}\n"), "spec", (1, 1), "a mapping with type, lifecycle, owner"),
        case("spec is a string", format!("{V1}kind: Component\nmetadata: {{name: a}}\nspec: x\n"), "spec", (4, 1), "\"spec\" is not valid"),
        case("component without type", component("", "  lifecycle: production\n  owner: team-a\n"), "spec.type", (5, 1), "missing required field \"type\""),
        case("component with empty owner", component("", "  type: service\n  lifecycle: production\n  owner: ''\n"), "spec.owner", (8, 3), "non-empty string"),
        case("lifecycle is a number", component("", "  type: service\n  lifecycle: 1\n  owner: a\n"), "spec.lifecycle", (7, 3), "found the number 1"),
        case("providesApis is a string", component("", &format!("{SPEC}  providesApis: petstore\n")), "spec.providesApis", (9, 3), "a list of non-empty strings"),
        case("consumesApis entry is a number", component("", &format!("{SPEC}  consumesApis: [a, 2]\n")), "spec.consumesApis[1]", (9, 21), "entry of \"consumesApis\" is not valid"),
        case("dependsOn without kind", component("", &format!("{SPEC}  dependsOn: [db]\n")), "spec.dependsOn[0]", (9, 15), "had missing or empty kind"),
        case("owner reference with empty name", component("", "  type: service\n  lifecycle: production\n  owner: 'group:'\n"), "spec.owner", (8, 3), "was not on the form"),
        case("system reference with empty namespace", component("", &format!("{SPEC}  system: 'system:/core'\n")), "spec.system", (9, 3), "was not on the form"),
        case("API without definition", format!("{V1}kind: API\nmetadata: {{name: a}}\nspec:\n{SPEC}"), "spec.definition", (4, 1), "missing required field \"definition\""),
        case("mcp-server without remotes", format!("{V1}kind: API\nmetadata: {{name: a}}\nspec:\n  type: mcp-server\n  lifecycle: x\n  owner: y\n"), "spec.remotes", (4, 1), "missing required field \"remotes\""),
        case("mcp-server remote of unknown type", format!("{V1}kind: API\nmetadata: {{name: a}}\nspec:\n  type: mcp-server\n  lifecycle: x\n  owner: y\n  remotes:\n    - type: websocket\n      url: wss://x\n"), "spec.remotes[0].type", (9, 7), "one of streamable-http, sse"),
        case("group without children", format!("{V1}kind: Group\nmetadata: {{name: g}}\nspec:\n  type: team\n"), "spec.children", (4, 1), "missing required field \"children\""),
        case("group profile is a string", format!("{V1}kind: Group\nmetadata: {{name: g}}\nspec:\n  type: team\n  children: []\n  profile: x\n"), "spec.profile", (7, 3), "expected a mapping"),
        case("user without memberOf", format!("{V1}kind: User\nmetadata: {{name: u}}\nspec: {{}}\n"), "spec.memberOf", (4, 1), "missing required field \"memberOf\""),
        case("location with unknown presence", format!("{V1}kind: Location\nmetadata: {{name: l}}\nspec:\n  presence: maybe\n"), "spec.presence", (5, 3), "one of required, optional"),
        case("resource without owner", format!("{V1}kind: Resource\nmetadata: {{name: r}}\nspec:\n  type: database\n"), "spec.owner", (4, 1), "missing required field \"owner\""),
        case("system without owner", format!("{V1}kind: System\nmetadata: {{name: s}}\nspec: {{}}\n"), "spec.owner", (4, 1), "missing required field \"owner\""),
        case("domain owner is a list", format!("{V1}kind: Domain\nmetadata: {{name: d}}\nspec:\n  owner: [a]\n"), "spec.owner", (5, 3), "found a list"),
        case("template without steps", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n".into(), "spec.steps", (4, 1), "missing required field \"steps\""),
        case("template step without action", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps:\n    - id: fetch\n".into(), "spec.steps[0].action", (7, 7), "missing required field \"action\""),
        case("template parameters is a string", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps: []\n  parameters: x\n".into(), "spec.parameters", (7, 3), "a mapping or a list of mappings"),
        case("template step condition is a number", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps:\n    - action: debug:log\n      if: 1\n".into(), "spec.steps[0].if", (8, 7), "a string expression or a boolean"),
        case("template step loop is a number", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps:\n    - action: debug:log\n      each: 5\n".into(), "spec.steps[0].each", (8, 7), "a string expression, a list or a mapping"),
        case("template steps share an id", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps:\n    - {id: a, action: debug:log}\n    - id: a\n      action: debug:log\n".into(), "spec.steps[1].id", (8, 7), "an id no earlier step uses"),
        case("template output links is a string", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps: []\n  output:\n    links: nope\n".into(), "spec.output.links", (8, 5), "a list of mappings"),
        case("template output text entry is a string", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps: []\n  output:\n    text:\n      - hello\n".into(), "spec.output.text[0]", (9, 9), "a mapping"),
        case("ai rule without rationale", format!("{V1}kind: AiResource\nmetadata: {{name: r}}\nspec:\n  type: rule\n  lifecycle: production\n  owner: team-a\n  category: x\n"), "spec.rationale", (4, 1), "missing required field \"rationale\""),
        case("ai plugin without skills", format!("{V1}kind: AiResource\nmetadata: {{name: p}}\nspec:\n  type: plugin\n  lifecycle: production\n  owner: team-a\n"), "spec.skills", (4, 1), "missing required field \"skills\""),
    ]
}

#[test]
fn every_rule_reports_field_position_and_message() {
    let mut failures = Vec::new();
    for case in cases() {
        match check(&case.yaml) {
            Ok(_) => failures.push(format!("{}: accepted", case.name)),
            Err(issues) => {
                let hit = issues
                    .iter()
                    .find(|(issue, _)| issue.path.to_string() == case.field);
                match hit {
                    None => failures.push(format!(
                        "{}: no issue at {}; got {:?}",
                        case.name,
                        case.field,
                        issues
                            .iter()
                            .map(|(i, p)| format!("{p} {}: {i}", i.path))
                            .collect::<Vec<_>>()
                    )),
                    Some((issue, position)) => {
                        if (position.line, position.column) != case.at {
                            failures.push(format!(
                                "{}: at {position}, expected {:?}",
                                case.name, case.at
                            ));
                        }
                        let text = issue.to_string();
                        if !text.contains(case.message) {
                            failures.push(format!(
                                "{}: message {text:?} lacks {:?}",
                                case.name, case.message
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn all_problems_of_an_entity_are_reported_together() {
    let yaml = format!(
        "{V1}kind: Component\nmetadata:\n  name: -bad\n  tags: [Bad]\nspec:\n  type: service\n  lifecycle: 1\n  owner: team-a\n  dependsOn: [db]\n"
    );
    let issues = check(&yaml).unwrap_err();
    let fields: Vec<String> = issues.iter().map(|(i, _)| i.path.to_string()).collect();
    assert_eq!(
        fields,
        [
            "metadata.name",
            "metadata.tags[0]",
            "spec.lifecycle",
            "spec.dependsOn[0]"
        ]
    );
}

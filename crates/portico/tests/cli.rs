//! End-to-end tests of `portico validate` as a user runs it: the real binary, real files,
//! checking output lines, the summary and the exit status.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn portico(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(args)
        .output()
        .expect("run portico")
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/backstage-examples")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn backstage_examples_are_valid() {
    let dir = examples();
    let all = dir.join("all.yaml");
    let acme = dir.join("acme-corp.yaml");
    let output = portico(&["validate", all.to_str().unwrap(), acme.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.ends_with(
            "67 valid entities in 49 files (17 User, 13 Component, 10 API, 9 Location, 8 Group, 3 AiResource, 3 Domain, 3 System, 1 Resource); 0 invalid; 0 errors, 3 warnings\n"
        ),
        "{text}"
    );
}

#[test]
fn a_directory_skips_non_descriptor_yaml() {
    // The folder also holds OpenAPI documents (petstore.oas.yaml), which are not entities.
    let output = portico(&["validate", examples().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("68 valid entities in 50 files"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn invalid_entity_exits_1_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: my service\nspec:\n  type: service\n  owner: team-a\n",
    )
    .unwrap();
    let output = portico(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let path = file.display();
    assert!(text.contains(&format!("{path}:4:3: error: metadata.name: \"name\" is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total, found \"my service\"\n")), "{text}");
    assert!(
        text.contains(&format!(
            "{path}:5:1: error: spec.lifecycle: missing required field \"lifecycle\""
        )),
        "{text}"
    );
    assert!(
        text.ends_with("0 valid entities in 1 file (none); 1 invalid; 2 errors, 0 warnings\n"),
        "{text}"
    );
}

#[test]
fn a_broken_template_parameter_schema_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("template.yaml");
    std::fs::write(
        &file,
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: broken\n\
         spec:\n  type: service\n  parameters:\n    - title: Basics\n      required: name\n\
         \x20     properties:\n        name:\n          type: strin\n          ui:widget: textarea\n\
         \x20   - properties: 3\n  steps: []\n",
    )
    .unwrap();
    let output = portico(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    let path = file.display();
    for line in [
        format!(
            "{path}:9:7: error: spec.parameters[0].required: invalid JSON Schema in a parameter page; expected a list of property names (strings), without repeats, found \"name\"\n"
        ),
        format!(
            "{path}:12:11: error: spec.parameters[0].properties.name.type: invalid JSON Schema in a parameter page; expected one of \"string\", \"number\", \"integer\", \"boolean\", \"object\", \"array\", \"null\", or a list of them, found \"strin\"\n"
        ),
        format!(
            "{path}:14:7: error: spec.parameters[1].properties: invalid JSON Schema in a parameter page; expected a mapping from names to schemas, found the number 3\n"
        ),
    ] {
        assert!(text.contains(&line), "{line}\nnot in\n{text}");
    }
    assert!(
        text.ends_with("1 invalid; 3 errors, 0 warnings\n"),
        "{text}"
    );
}

#[test]
fn the_testdata_templates_are_valid() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata");
    for folder in ["backstage-software-templates", "backstage-sample-templates"] {
        let output = portico(&["validate", testdata.join(folder).to_str().unwrap()]);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(0), "{folder}: {text}");
        assert!(text.contains(" Template"), "{folder}: {text}");
    }
}

#[test]
fn json_format_and_glob() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\nspec: {type: team, children: []}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b.yaml"), "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: 'x y'}\nspec: {type: team, children: []}\n").unwrap();
    let pattern = format!("{}/*.yaml", dir.path().display());
    let output = portico(&["validate", "--format", "json", &pattern]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["summary"]["entities"], 1);
    assert_eq!(json["summary"]["kinds"]["Group"], 1);
    let diagnostic = &json["diagnostics"][0];
    assert_eq!(diagnostic["line"], 3);
    assert_eq!(diagnostic["column"], 12);
    assert_eq!(diagnostic["field"], "metadata.name");
    assert_eq!(diagnostic["severity"], "error");
}

#[test]
fn usage_errors_exit_2_and_unreadable_files_exit_1() {
    assert_eq!(portico(&["validate"]).status.code(), Some(2));
    assert_eq!(
        portico(&["validate", "--format", "xml", "x.yaml"])
            .status
            .code(),
        Some(2)
    );
    let dir = tempfile::tempdir().unwrap();
    let pattern = format!("{}/*.yaml", dir.path().display());
    let output = portico(&["validate", &pattern]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("matches no files"));
    let missing = dir.path().join("missing.yaml");
    let output = portico(&["validate", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("does not exist"));
}

#[test]
fn fetch_reads_url_locations_and_placeholders_from_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("team/apis")).unwrap();
    std::fs::write(
        dir.path().join("team/catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: team}\nspec:\n  type: url\n  targets: [./apis/api.yaml, ./apis/missing.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("team/apis/api.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: orders}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ./orders.oas.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("team/apis/orders.oas.yaml"),
        "openapi: 3.0.0\n",
    )
    .unwrap();
    let server = portico_testkit::static_http::StaticServer::start(dir.path()).unwrap();
    let root = server.url("/team/catalog-info.yaml");

    let output = portico(&["validate", "--fetch", &root]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "{root}:6:30: error: spec.targets[1]: location target {} does not exist",
            server.url("/team/apis/missing.yaml")
        )),
        "{text}"
    );
    assert!(
        text.ends_with(
            "2 valid entities in 2 files (1 API, 1 Location); 0 invalid; 1 error, 0 warnings\n"
        ),
        "{text}"
    );
    // Sibling targets are read in parallel, so only their set is fixed; the root comes first.
    let mut requests = server.requests();
    assert_eq!(
        requests.first().map(String::as_str),
        Some("/team/catalog-info.yaml")
    );
    requests.sort();
    assert_eq!(
        requests,
        [
            "/team/apis/api.yaml",
            "/team/apis/missing.yaml",
            "/team/apis/orders.oas.yaml",
            "/team/catalog-info.yaml",
        ]
    );

    // Without --fetch nothing is requested and the URL is reported as not fetched.
    let before = server.requests().len();
    let output = portico(&["validate", &root]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("was not fetched"),
        "{}",
        stdout(&output)
    );
    assert_eq!(server.requests().len(), before);
}

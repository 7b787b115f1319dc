//! End-to-end tests of `portico scaffold` as a template author runs it: the real binary on the
//! scaffolder's hand-written fixture and on Backstage's sample templates, checking the produced
//! files, the progress on stderr, the output on stdout and the exit status.

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

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../portico-scaffolder/tests/fixtures/names/template.yaml")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn scaffolds_the_fixture_into_out() {
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, "name: orders\nwithDocs: false\n").unwrap();
    let out = dir.path().join("out");
    let output = portico(&[
        "scaffold",
        fixture().to_str().unwrap(),
        "--values",
        values.to_str().unwrap(),
        "--set",
        "owner=group:default/shop",
        "--secret",
        "token=tok-123456",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("[1/5] Fetch skeleton (fetch)"), "{stderr}");
    assert!(stderr.contains("Token is ***"), "{stderr}");
    assert!(!stderr.contains("tok-123456") && !text(&output.stdout).contains("tok-123456"));
    assert_eq!(
        text(&output.stdout),
        "Repository: https://git.example.com/orders\n## Secret check\ntoken=***\n"
    );
    let readme = std::fs::read_to_string(out.join("out/orders/orders.md")).unwrap();
    assert_eq!(readme, "# orders\n\nOwned by shop.\n");
}

#[test]
fn refuses_bad_values_and_unknown_actions_before_any_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = portico(&[
        "scaffold",
        fixture().to_str().unwrap(),
        "--set",
        "name=Bad Name",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("Basics: instance.name"), "{stderr}");
    assert!(!stderr.contains("[1/"), "no step may run: {stderr}");

    let rails = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/backstage-software-templates/rails-demo/template.yaml");
    let out2 = dir.path().join("out2");
    let output = portico(&[
        "scaffold",
        rails.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("unknown action \"fetch:rails\""),
        "{}",
        text(&output.stderr)
    );
}

/// A parameter page that is not valid JSON Schema is refused before any step, with the file
/// and line of the field, as `portico validate` reports it.
#[test]
fn a_broken_parameter_schema_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.yaml");
    std::fs::write(
        &template,
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: broken\n\
         spec:\n  type: service\n  parameters:\n    - title: Basics\n      properties:\n\
         \x20       name:\n          type: strin\n  steps:\n    - id: log\n      action: debug:log\n\
         \x20     input: {message: hi}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let output = portico(&[
        "scaffold",
        template.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:11:11: spec.parameters[0].properties.name.type: invalid JSON Schema in a parameter page; expected one of \"string\"",
            template.display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("[1/"), "no step may run: {stderr}");
}

#[test]
fn runs_a_backstage_sample_template_and_prints_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/testdata/backstage-sample-templates/conditional-output-demo/template.yaml",
    );
    let out = dir.path().join("out");
    let output = portico(&[
        "scaffold",
        template.to_str().unwrap(),
        "--set",
        "name=svc",
        "--set",
        "enableCI=No",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["status"], "completed");
    assert_eq!(
        report["output"]["links"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    assert_eq!(
        report["output"]["text"].as_array().unwrap().len(),
        2,
        "{report}"
    );
}

#[test]
fn a_non_empty_out_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let output = portico(&[
        "scaffold",
        fixture().to_str().unwrap(),
        "--set",
        "name=x",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("is not empty"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
        "mine"
    );
}

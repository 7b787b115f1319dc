//! End-to-end runs of real templates: the hand-written fixture (values in file and folder names),
//! Backstage's sample templates that use only supported actions, and the fetch steps of
//! Backstage's software templates against their real skeletons. Produced files are snapshots.

use super::common;

use super::common::{fixture, listing, load, report_json, run, testdata};
use portico_scaffolder::{ActionRegistry, PrepareError, RunStatus, Runner, StepStatus};
use serde_json::{Value, json};

#[tokio::test]
async fn fixture_renders_names_contents_and_blocks() {
    let dir = fixture("names");
    let template = load(&dir.join("template.yaml"));
    let result = run(
        template,
        &dir,
        json!({"name": "billing", "owner": "group:default/payments"}),
        json!({"token": "s3cr3t-t0ken"}),
        false,
    )
    .await;
    assert_eq!(
        result.report.status,
        RunStatus::Completed,
        "{}",
        report_json(&result.report)
    );
    insta::assert_snapshot!("names_files", listing(result.workspace.path()));
    insta::assert_snapshot!("names_report", report_json(&result.report));
    let everything = format!(
        "{}{}",
        report_json(&result.report),
        listing(result.workspace.path())
    );
    assert!(!everything.contains("s3cr3t-t0ken"), "a secret leaked");
    assert!(everything.contains("Token is ***"));
}

#[tokio::test]
async fn fixture_with_docs_keeps_the_conditional_folder() {
    let dir = fixture("names");
    let result = run(
        load(&dir.join("template.yaml")),
        &dir,
        json!({"name": "web", "withDocs": true, "extraFiles": []}),
        json!({}),
        true,
    )
    .await;
    assert_eq!(
        result.report.status,
        RunStatus::Completed,
        "{}",
        report_json(&result.report)
    );
    let files = listing(result.workspace.path());
    assert!(
        files.contains("== out/docs/index.md\n# docs for web\n"),
        "{files}"
    );
    assert!(
        files.contains("== out/web/scratch.tmp"),
        "fs:delete was skipped: {files}"
    );
    assert!(files.contains("Docs are enabled."), "{files}");
    let links = &result.report.output["links"];
    assert_eq!(links.as_array().map(Vec::len), Some(2), "{links}");
}

#[tokio::test]
async fn invalid_values_are_refused_before_anything_runs() {
    let dir = fixture("names");
    let runner = Runner::new(ActionRegistry::builtin());
    let values = json!({"name": "Not Valid"}).as_object().cloned().unwrap();
    let error = runner
        .prepare(&load(&dir.join("template.yaml")), &values)
        .unwrap_err();
    assert!(error.to_string().contains("instance.name"), "{error}");
}

/// Backstage's sample templates whose every action is supported, with values a user could
/// submit through the form.
#[tokio::test]
async fn backstage_sample_templates_run() {
    let cases = [
        (
            "conditional-output-demo",
            json!({"name": "svc", "enableCI": "Yes"}),
        ),
        (
            "conditional-parameters-demo",
            json!({"name": "svc", "cloudProvider": "GCP", "gcpProjectId": "proj-1"}),
        ),
        ("bui-kitchen-sink-demo", kitchen_sink_values()),
    ];
    let runner = Runner::new(ActionRegistry::builtin());
    for (name, values) in cases {
        let dir = testdata(&format!("backstage-sample-templates/{name}"));
        let template = load(&dir.join("template.yaml"));
        let values_map = values.as_object().cloned().unwrap();
        if let Err(error) = runner.prepare(&template, &values_map) {
            panic!("{name}: {error}");
        }
        let result = run(template, &dir, values, json!({}), false).await;
        assert_eq!(
            result.report.status,
            RunStatus::Completed,
            "{name}: {}",
            report_json(&result.report)
        );
        insta::assert_snapshot!(format!("sample_{name}"), report_json(&result.report));
    }
}

fn kitchen_sink_values() -> Value {
    let template = load(&testdata(
        "backstage-sample-templates/bui-kitchen-sink-demo/template.yaml",
    ));
    common::fill_required(&template, json!({"name": "sink"}))
}

/// The software templates publish to GitHub, which this build does not do: that is refused
/// before the first step, naming the action and the step.
#[tokio::test]
async fn unsupported_actions_are_refused_up_front() {
    let runner = Runner::new(ActionRegistry::builtin());
    let template = load(&testdata(
        "backstage-software-templates/rails-demo/template.yaml",
    ));
    let error = runner
        .prepare(&template, &serde_json::Map::new())
        .unwrap_err();
    let PrepareError::UnknownActions(unknown) = &error else {
        panic!("{error}")
    };
    // publish:github (step 2) and catalog:register are known; only fetch:rails is not.
    let actions: Vec<&str> = unknown.iter().map(|u| u.action.as_str()).collect();
    assert_eq!(actions, ["fetch:rails"]);
    assert!(
        error.to_string().contains(
            "unknown action \"fetch:rails\" in step \"fetch-base\" (spec.steps[0].action)"
        ),
        "{error}"
    );
}

/// The fetch steps of Backstage's software templates, on their real skeletons (the publish and
/// register steps, which need GitHub, are left out).
#[tokio::test]
async fn backstage_software_template_skeletons_render() {
    let registry = ActionRegistry::builtin();
    for name in [
        "docs-template",
        "react-ssr-template",
        "springboot-grpc-template",
        "create-react-app",
    ] {
        let dir = testdata(&format!("backstage-software-templates/{name}"));
        let mut template = load(&dir.join("template.yaml"));
        template
            .steps
            .retain(|step| registry.get(&step.action).is_some());
        template.output = json!({});
        let values = common::fill_required(
            &template,
            json!({
                "name": "demo-svc", "component_id": "demo-svc", "description": "A demo",
                "owner": "group:default/team-a", "repoUrl": "github.com?owner=acme&repo=demo-svc",
                "java_package_name": "io.acme.demo", "artifact_id": "demo-svc",
            }),
        );
        let result = run(template, &dir, values, json!({}), true).await;
        assert_eq!(
            result.report.status,
            RunStatus::Completed,
            "{name}: {}",
            report_json(&result.report)
        );
        assert!(
            result
                .report
                .steps
                .iter()
                .any(|s| s.status == StepStatus::Completed),
            "{name}"
        );
        insta::assert_snapshot!(format!("skeleton_{name}"), listing(result.workspace.path()));
    }
}

/// clean-architecture-app's skeleton uses `values.destination`, which its template never passes:
/// Backstage (JavaScript `+`) would write `undefined/undefined`; Portico stops with the file and
/// the expression instead.
#[tokio::test]
async fn a_skeleton_using_an_undefined_value_in_arithmetic_fails_clearly() {
    let registry = ActionRegistry::builtin();
    let dir = testdata("backstage-software-templates/clean-architecture-app");
    let mut template = load(&dir.join("template.yaml"));
    template
        .steps
        .retain(|step| registry.get(&step.action).is_some());
    let values = common::fill_required(&template, json!({"name": "demo"}));
    let result = run(template, &dir, values, json!({}), true).await;
    assert_eq!(result.report.status, RunStatus::Failed);
    let error = result.report.error.unwrap_or_default();
    assert!(
        error.contains("in catalog-info.yaml")
            && error.contains("`values.destination` is undefined"),
        "{error}"
    );
}

/// cookiecutterCompat on the cookiecutter skeleton of Backstage's docs template.
#[tokio::test]
async fn cookiecutter_compat_renders_a_cookiecutter_skeleton() {
    let dir = testdata("backstage-software-templates/docs-template-cookiecutter");
    let template = portico_scaffolder::Template::from_entity(&json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
        "metadata": {"name": "cc"},
        "spec": {"type": "documentation", "steps": [{"id": "fetch", "action": "fetch:template", "input": {
            "url": "./skeleton", "cookiecutterCompat": true,
            "values": {"name": "${{ parameters.name }}", "description": "Docs", "destination": {"owner": "acme", "repo": "docs"}, "owner": "team-a"},
        }}]},
    }))
    .unwrap();
    let result = run(template, &dir, json!({"name": "handbook"}), json!({}), true).await;
    assert_eq!(
        result.report.status,
        RunStatus::Completed,
        "{}",
        report_json(&result.report)
    );
    let files = listing(result.workspace.path());
    assert!(!files.contains("{{ cookiecutter"), "{files}");
    insta::assert_snapshot!("cookiecutter_docs", files);
}

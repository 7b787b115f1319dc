//! Built-in actions against real files and real git: publish:git pushes to a bare repository
//! (`git init --bare`) that is then cloned; inputs that would escape the workspace or the
//! template's directory are refused; dry-runs skip side effects; custom actions plug in.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use super::common::{object, report_json, run};
use portico_plugin_api::{ActionContext, BoxFuture, PluginError, ScaffolderAction};
use portico_scaffolder::dry_run::{DryRunRequest, TemplateFiles, dry_run};
use portico_scaffolder::{
    ActionRegistry, NoObserver, ParametersError, PrepareError, RunStatus, Runner, StepStatus,
    Template,
};
use serde_json::{Map, Value, json};

fn template(steps: Value) -> Template {
    Template::from_entity(&json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
        "metadata": {"name": "t"},
        "spec": {"type": "service", "steps": steps,
                 "output": {"links": [{"title": "Repo", "url": "${{ steps.publish.output.remoteUrl }}"}]}},
    }))
    .unwrap()
}

fn template_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("skeleton/src")).unwrap();
    std::fs::write(
        dir.path().join("skeleton/README.md"),
        "# ${{ values.name }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("skeleton/src/main.txt"),
        "main of ${{ values.name }}\n",
    )
    .unwrap();
    dir
}

fn git(args: &[&str], cwd: &Path) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[tokio::test]
async fn publish_git_pushes_to_a_real_bare_repository() {
    let dir = template_dir();
    let remotes = tempfile::tempdir().unwrap();
    git(&["init", "--bare", "--quiet", "svc.git"], remotes.path());
    let remote = format!("file://{}", remotes.path().join("svc.git").display());
    let steps = json!([
        {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
        {"id": "publish", "action": "publish:git", "input": {"remoteUrl": remote, "defaultBranch": "trunk", "gitCommitMessage": "Create ${{ parameters.name }}"}},
    ]);
    let result = run(
        template(steps),
        dir.path(),
        json!({"name": "svc"}),
        json!({}),
        false,
    )
    .await;
    assert_eq!(
        result.report.status,
        RunStatus::Completed,
        "{}",
        report_json(&result.report)
    );
    assert_eq!(result.report.output["links"][0]["url"], remote.as_str());
    assert!(
        !result.workspace.path().join(".git").exists(),
        "the workspace stays clean"
    );

    let clones = tempfile::tempdir().unwrap();
    git(
        &["clone", "--quiet", "--branch", "trunk", &remote, "svc"],
        clones.path(),
    );
    let clone = clones.path().join("svc");
    assert_eq!(
        std::fs::read_to_string(clone.join("README.md")).unwrap(),
        "# svc\n"
    );
    assert_eq!(
        std::fs::read_to_string(clone.join("src/main.txt")).unwrap(),
        "main of svc\n"
    );
    assert_eq!(
        git(&["log", "--format=%s|%an"], &clone),
        "Create svc|Scaffolder"
    );
}

#[tokio::test]
async fn publish_git_reports_a_failing_push_without_the_credentials() {
    let dir = template_dir();
    let steps = json!([{"id": "publish", "action": "publish:git",
        "input": {"remoteUrl": "https://user:hunter2@127.0.0.1:9/nothing.git"}}]);
    let result = run(template(steps), dir.path(), json!({}), json!({}), false).await;
    assert_eq!(result.report.status, RunStatus::Failed);
    let error = result.report.error.clone().unwrap_or_default();
    assert!(error.contains("git push failed"), "{error}");
    assert!(!report_json(&result.report).contains("hunter2"), "{error}");
}

#[tokio::test]
async fn inputs_cannot_escape_the_workspace_or_the_template() {
    let dir = template_dir();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
    let outside_url = format!("file://{}", outside.path().display());
    let cases = [
        (
            json!({"action": "fetch:template", "input": {"url": "./skeleton", "targetPath": "../escaped"}}),
            "outside the workspace",
        ),
        (
            json!({"action": "fetch:plain", "input": {"url": "../"}}),
            "outside the template directory",
        ),
        (
            json!({"action": "fetch:plain", "input": {"url": outside_url}}),
            "outside the template's directory",
        ),
        (
            json!({"action": "fetch:plain", "input": {"url": "https://example.com/x.tgz"}}),
            "reads no URLs",
        ),
        (
            json!({"action": "fetch:plain:file", "input": {"url": "./skeleton/README.md", "targetPath": "/tmp/x"}}),
            "outside the workspace",
        ),
        (
            json!({"action": "catalog:write", "input": {"filePath": "../../x.yaml", "entity": {}}}),
            "outside the workspace",
        ),
        (
            json!({"action": "fs:delete", "input": {"files": ["../*"]}}),
            "outside the workspace",
        ),
        (
            json!({"action": "fs:rename", "input": {"files": [{"from": "README.md", "to": "/etc/x"}]}}),
            "outside the workspace",
        ),
    ];
    for (step, expected) in cases {
        let result = run(
            template(json!([step.clone()])),
            dir.path(),
            json!({}),
            json!({}),
            false,
        )
        .await;
        assert_eq!(result.report.status, RunStatus::Failed, "{step}");
        let error = result.report.error.clone().unwrap_or_default();
        assert!(error.contains(expected), "{step}: {error}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_skeleton_symlink_pointing_outside_is_refused() {
    let dir = template_dir();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("skeleton/passwd")).unwrap();
    let steps = json!([{"action": "fetch:template", "input": {"url": "./skeleton"}}]);
    let result = run(template(steps), dir.path(), json!({}), json!({}), false).await;
    assert_eq!(result.report.status, RunStatus::Failed);
    assert!(result.report.error.unwrap_or_default().contains("symlink"));
    assert!(!result.workspace.path().join("passwd").exists());
}

#[tokio::test]
async fn dry_run_returns_files_and_skips_side_effects() {
    let steps = json!([
        {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
        {"id": "publish", "action": "publish:git", "input": {"remoteUrl": "file:///nonexistent/repo.git"}},
        {"id": "register", "action": "catalog:register", "input": {"repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}"}},
    ]);
    let runner = Runner::new(ActionRegistry::builtin());
    let request = DryRunRequest {
        template: template(steps),
        values: object(json!({"name": "dry"})),
        secrets: Map::new(),
        user: json!({}),
        files: TemplateFiles::Contents(vec![
            (
                "skeleton/a.txt".to_owned(),
                b"a ${{ values.name }}".to_vec(),
            ),
            (
                "skeleton/${{ values.name }}/b.txt".to_owned(),
                b"b".to_vec(),
            ),
        ]),
        catalog: None,
    };
    let result = dry_run(&runner, request, Arc::new(NoObserver))
        .await
        .unwrap();
    assert_eq!(
        result.report.status,
        RunStatus::Completed,
        "{:?}",
        result.report
    );
    let paths: Vec<_> = result.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["a.txt", "dry/b.txt"]);
    assert_eq!(result.files[0].base64_content, "YSBkcnk=");
    let statuses: Vec<_> = result.report.steps.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            StepStatus::Completed,
            StepStatus::Skipped,
            StepStatus::Skipped
        ]
    );
    // Backstage's step lines, as its workflow runner writes them in a dry-run's log: a step
    // skipped because its action cannot dry-run has no "Finished" line.
    let log: Vec<(Option<&str>, &str)> = result
        .report
        .log
        .iter()
        .map(|l| (l.step_id.as_deref(), l.message.as_str()))
        .collect();
    assert_eq!(
        log,
        [
            (None, "Starting up task with 3 steps"),
            (Some("fetch"), "Beginning step fetch:template"),
            (Some("fetch"), "Fetching template content from ./skeleton"),
            (Some("fetch"), "Wrote 2 file(s)"),
            (Some("fetch"), "Finished step fetch:template"),
            (Some("publish"), "Beginning step publish:git"),
            (
                Some("publish"),
                "Skipping because publish:git does not support dry-run"
            ),
            (Some("register"), "Beginning step catalog:register"),
            (
                Some("register"),
                "Skipping because catalog:register does not support dry-run"
            ),
        ]
    );
    let json = serde_json::to_value(&result).unwrap();
    assert!(
        json["directoryContents"][0]["base64Content"].is_string(),
        "{json}"
    );
}

/// A template that did not come through the catalog (a dry-run's, the CLI's) and has a broken
/// parameter page is refused before any step, naming the field as the catalog would.
#[tokio::test]
async fn a_broken_parameter_page_names_its_field() {
    let runner = Runner::new(ActionRegistry::builtin());
    let mut broken = template(json!([{"id": "x", "action": "debug:log"}]));
    broken.parameters = vec![
        json!({"properties": {"name": {"type": "string"}}}),
        json!({"properties": {"name": {"type": "strin"}}}),
    ];
    let error = runner.prepare(&broken, &Map::new()).unwrap_err();
    let PrepareError::Parameters(ParametersError::Schema { page, message }) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*page, 1);
    assert!(
        message.starts_with("spec.parameters[1].properties.name.type: invalid JSON Schema"),
        "{message}"
    );
}

#[tokio::test]
async fn unknown_actions_and_bad_inputs_are_reported() {
    let runner = Runner::new(ActionRegistry::builtin());
    let unknown = template(json!([{"id": "x", "action": "acme:deploy"}]));
    let error = runner.prepare(&unknown, &Map::new()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("unknown action \"acme:deploy\" in step \"x\""),
        "{error}"
    );

    let dir = template_dir();
    let bad = template(json!([{"id": "w", "action": "debug:wait", "input": {"seconds": "soon"}}]));
    let result = run(bad, dir.path(), json!({}), json!({}), false).await;
    let error = result.report.error.unwrap_or_default();
    assert!(
        error.contains("invalid input for debug:wait") && error.contains("input.seconds"),
        "{error}"
    );
}

#[derive(Debug)]
struct Shout;

impl ScaffolderAction for Shout {
    fn id(&self) -> &str {
        "acme:shout"
    }
    fn description(&self) -> &str {
        "Upper-cases its message"
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}})
    }
    fn handle(&self, ctx: ActionContext) -> BoxFuture<'_, Result<Map<String, Value>, PluginError>> {
        Box::pin(async move {
            let message = ctx.input["message"]
                .as_str()
                .unwrap_or_default()
                .to_uppercase();
            ctx.log(&format!("shouting with {}", ctx.secrets["key"]));
            Ok(object(json!({"loud": message})))
        })
    }
}

#[tokio::test]
async fn plugins_add_actions_and_each_collects_outputs() {
    let mut registry = ActionRegistry::builtin();
    registry.register(Arc::new(Shout));
    assert!(
        registry
            .list()
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == "acme:shout")
    );
    let runner = Runner::new(registry);
    let template = Template::from_entity(&json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "t"},
        "spec": {"type": "service",
            "steps": [{"id": "shout", "action": "acme:shout", "each": "${{ parameters.words }}",
                       "input": {"message": "${{ each.value }}!"}}],
            "output": {"all": "${{ steps.shout.output.loud | join(' ') }}"}},
    }))
    .unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let request = portico_scaffolder::RunRequest {
        template,
        values: object(json!({"words": ["a", "b"]})),
        secrets: object(json!({"key": "k3y-value"})),
        user: json!({}),
        template_dir: None,
        template_url: None,
        workspace: workspace.path().to_path_buf(),
        dry_run: false,
        catalog: None,
        task_id: "t".into(),
        cancel: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    let report = runner.run(request, Arc::new(NoObserver)).await.unwrap();
    assert_eq!(report.output["all"], "A! B!");
    assert!(report.log.iter().all(|l| !l.message.contains("k3y-value")));
    assert!(
        report
            .log
            .iter()
            .any(|l| l.message == "shouting with \"***\"")
    );
}

/// `fetch:template`'s `templateFileExtension` renders only the `.njk` files (dropping the
/// extension) while every path is still rendered; `fetch:template:file` renders one file, skips
/// a file that exists unless `replace` is set; `projectSlug` gives `owner/repo` of a repoUrl.
#[tokio::test]
async fn template_file_extension_single_files_and_replace() {
    let dir = tempfile::tempdir().unwrap();
    let skeleton = dir.path().join("skeleton");
    std::fs::create_dir_all(skeleton.join("${{ values.name }}")).unwrap();
    std::fs::write(
        skeleton.join("README.md.njk"),
        "# ${{ values.name }} in ${{ values.slug }}\n",
    )
    .unwrap();
    std::fs::write(skeleton.join("raw.txt"), "kept ${{ values.name }}\n").unwrap();
    std::fs::write(
        skeleton.join("${{ values.name }}/deep.txt.njk"),
        "deep ${{ values.name | upper }}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("one.txt"), "one for ${{ values.name }}\n").unwrap();
    let values = json!({"name": "${{ parameters.name }}", "slug": "${{ parameters.repoUrl | projectSlug }}"});
    let steps = json!([
        {"id": "fetch", "action": "fetch:template",
         "input": {"url": "./skeleton", "templateFileExtension": true, "values": values}},
        {"id": "kept", "action": "fetch:template:file",
         "input": {"url": "./one.txt", "targetPath": "raw.txt", "values": values}},
        {"id": "replaced", "action": "fetch:template:file",
         "input": {"url": "./one.txt", "targetPath": "README.md", "replace": true, "values": values}},
        {"id": "new", "action": "fetch:template:file",
         "input": {"url": "./one.txt", "targetPath": "docs/one.txt", "values": values}},
    ]);
    let result = run(
        template(steps),
        dir.path(),
        json!({"name": "svc", "repoUrl": "github.com?owner=acme&repo=svc-repo"}),
        json!({}),
        false,
    )
    .await;
    assert_eq!(
        result.report.status,
        RunStatus::Completed,
        "{}",
        report_json(&result.report)
    );
    let read = |path: &str| std::fs::read_to_string(result.workspace.path().join(path)).unwrap();
    assert_eq!(read("README.md"), "one for svc\n", "replace overwrote it");
    assert_eq!(
        read("raw.txt"),
        "kept ${{ values.name }}\n",
        "not a .njk file, and kept"
    );
    assert_eq!(read("svc/deep.txt"), "deep SVC\n");
    assert_eq!(read("docs/one.txt"), "one for svc\n");
    assert!(
        result.report.log.iter().any(|l| l
            .message
            .contains("Skipping \"raw.txt\": it exists already")),
        "{}",
        report_json(&result.report)
    );

    // Before the replace, the .njk file was rendered with the slug.
    let first = run(
        template(json!([{"id": "fetch", "action": "fetch:template",
            "input": {"url": "./skeleton", "templateFileExtension": ".njk", "values": values}}])),
        dir.path(),
        json!({"name": "svc", "repoUrl": "github.com?owner=acme&repo=svc-repo"}),
        json!({}),
        false,
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(first.workspace.path().join("README.md")).unwrap(),
        "# svc in acme/svc-repo\n"
    );
    assert!(!first.workspace.path().join("README.md.njk").exists());
}

//! `/api/scaffolder/v2` on a real `portico serve`: a template registered from a file location is
//! run as a durable task that renders a skeleton, pushes it to a real bare git repository,
//! registers an entity and reads one back (`catalog:fetch`);
//! its events stream over SSE until completion; invalid values get Backstage's `{errors}` 400;
//! dry-run returns the files; the secret never reaches the database or the server's log.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn write_template(dir: &Path, remote: &str) {
    std::fs::create_dir_all(dir.join("skeleton")).unwrap();
    std::fs::write(dir.join("skeleton/README.md"), "# ${{ values.name }}\n").unwrap();
    std::fs::write(
        dir.join("registered.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Registered-Svc\nspec:\n  type: service\n  lifecycle: experimental\n  owner: group:default/platform\n",
    )
    .unwrap();
    let registered = dir.join("registered.yaml");
    std::fs::write(
        dir.join("template.yaml"),
        format!(
            r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: git-demo
  title: Git demo
spec:
  owner: group:default/platform
  type: service
  parameters:
    - title: Basics
      required: [name]
      properties:
        name: {{type: string, pattern: '^[a-z-]+$'}}
  steps:
    - id: fetch
      name: Fetch
      action: fetch:template
      input:
        url: ./skeleton
        values: {{name: '${{{{ parameters.name }}}}'}}
    - id: log
      action: debug:log
      input: {{message: 'using ${{{{ secrets.token }}}}'}}
    - id: publish
      name: Publish
      action: publish:git
      input: {{remoteUrl: '{remote}'}}
    - id: register
      name: Register
      action: catalog:register
      input: {{catalogInfoUrl: 'file://{registered}'}}
    - id: lookup
      name: Look up
      action: catalog:fetch
      input: {{entityRef: git-demo, defaultKind: template}}
  output:
    links:
      - title: Repository
        url: ${{{{ steps.publish.output.remoteUrl }}}}
      - title: In the catalog
        entityRef: ${{{{ steps.register.output.entityRef }}}}
    text:
      - title: Made with
        content: ${{{{ steps.lookup.output.entity.metadata.title }}}}
"#,
            registered = registered.display()
        ),
    )
    .unwrap();
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_run_stream_and_publish_through_the_api() {
    let work = tempfile::tempdir().unwrap();
    let remotes = work.path().join("remotes");
    std::fs::create_dir_all(&remotes).unwrap();
    assert!(
        Command::new("git")
            .args(["init", "--bare", "--quiet", "svc.git"])
            .current_dir(&remotes)
            .status()
            .unwrap()
            .success()
    );
    let remote = format!("file://{}", remotes.join("svc.git").display());
    let templates = work.path().join("templates");
    write_template(&templates, &remote);
    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\ncatalog:\n  rules:\n    - allow: [Component, Template, Location]\n  locations:\n    - type: file\n      target: {}\n",
            work.path().join("data").display(),
            templates.join("template.yaml").display(),
        ),
    )
    .unwrap();
    let (server, api) = start_server(&config, work.path());
    let client = reqwest::Client::new();

    // The template is in the catalog once loading is done.
    let mut schema = Value::Null;
    for _ in 0..200 {
        let (status, body) = call(
            &client,
            reqwest::Method::GET,
            &format!("{api}/templates/default/template/git-demo/parameter-schema"),
            None,
        )
        .await;
        if status == 200 {
            schema = body;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(schema["title"], "Git demo", "{schema}");
    assert_eq!(schema["steps"][0]["title"], "Basics");

    let (_, actions) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/actions"),
        None,
    )
    .await;
    assert!(
        actions
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == "publish:git" && a["schema"]["input"].is_object())
    );

    let (status, body) = call(
        &client,
        reqwest::Method::POST,
        &format!("{api}/tasks"),
        Some(json!({"templateRef": "template:default/git-demo", "values": {"name": "Bad Name"}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["property"], "instance.name", "{body}");

    let (status, body) = call(&client, reqwest::Method::POST, &format!("{api}/tasks"),
        Some(json!({"templateRef": "template:default/git-demo", "values": {"name": "svc"}, "secrets": {"token": "sup3r-s3cret"}}))).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();

    // The event stream ends by itself after the completion event.
    let stream = client
        .get(format!("{api}/tasks/{id}/eventstream"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let text = tokio::time::timeout(std::time::Duration::from_secs(60), stream.text())
        .await
        .unwrap()
        .unwrap();
    assert!(text.contains("event: completion"), "{text}");
    assert!(text.contains("using ***"), "{text}");
    assert!(!text.contains("sup3r-s3cret"));

    let (_, task) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/tasks/{id}"),
        None,
    )
    .await;
    let (_, events) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/tasks/{id}/events"),
        None,
    )
    .await;
    assert_eq!(task["status"], "completed", "{events}");
    assert_eq!(
        task["spec"]["templateInfo"]["entityRef"],
        "template:default/git-demo"
    );
    let last = events.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last["body"]["output"]["links"][0]["url"],
        remote.as_str(),
        "{last}"
    );
    // catalog:fetch read the template itself from the catalog.
    assert_eq!(
        last["body"]["output"]["text"][0]["content"], "Git demo",
        "{last}"
    );
    // catalog:register outputs the registered entity (kind lower-cased, name as written).
    assert_eq!(
        last["body"]["output"]["links"][1]["entityRef"], "component:default/Registered-Svc",
        "{last}"
    );
    let (_, list) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/tasks?status=completed"),
        None,
    )
    .await;
    assert_eq!(list["totalTasks"], 1, "{list}");
    // The creator filter, and the events after a given one (the long poll's cursor).
    let creator = task["createdBy"].as_str().unwrap().to_owned();
    for (who, count) in [(creator.as_str(), 1), ("user:default/someone-else", 0)] {
        let (_, list) = call(
            &client,
            reqwest::Method::GET,
            &format!("{api}/tasks?createdBy={who}"),
            None,
        )
        .await;
        assert_eq!(list["totalTasks"], count, "{who}: {list}");
    }
    let all = events.as_array().unwrap();
    let before_last = &all[all.len() - 2]["id"];
    let (_, after) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/tasks/{id}/events?after={before_last}"),
        None,
    )
    .await;
    assert_eq!(after, json!([last]), "events after {before_last}");
    let (status, _) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/tasks/nope"),
        None,
    )
    .await;
    assert_eq!(status, 404);

    let clone = work.path().join("clone");
    assert!(
        Command::new("git")
            .args(["clone", "--quiet", "--branch", "main", &remote])
            .arg(&clone)
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(
        std::fs::read_to_string(clone.join("README.md")).unwrap(),
        "# svc\n"
    );

    let template: Value = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "dry"},
        "spec": {"type": "service", "steps": [
            {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
            {"id": "publish", "action": "publish:git", "input": {"remoteUrl": remote}},
        ]},
    });
    let (status, dry) = call(&client, reqwest::Method::POST, &format!("{api}/dry-run"), Some(json!({
        "template": template, "values": {"name": "dry"},
        "directoryContents": [{"path": "skeleton/${{ values.name }}.txt", "base64Content": "aGk="}],
    }))).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["directoryContents"][0]["path"], "dry.txt", "{dry}");
    assert_eq!(dry["steps"][1]["status"], "skipped");

    drop(server);
    assert_not_in_server_log(work.path(), "sup3r-s3cret");
    for entry in std::fs::read_dir(work.path().join("data")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(12).any(|w| w == b"sup3r-s3cret"),
            "a secret reached the database"
        );
    }
}

/// Starts `portico serve`; its log (the scaffolder's at debug level) is appended to
/// `work/server.log`, which [`assert_not_in_server_log`] reads.
fn start_server(config: &Path, work: &Path) -> (Server, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(work.join("server.log"))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .current_dir(work)
        .env(
            "PORTICO_LOG",
            "info,portico=debug,portico_server=debug,portico_scaffolder=debug",
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("Portico listening on ")
        .unwrap()
        .to_owned();
    (Server(child), format!("{base}/api/scaffolder/v2"))
}

fn assert_not_in_server_log(work: &Path, secret: &str) {
    let log = std::fs::read_to_string(work.join("server.log")).unwrap();
    assert!(log.contains("INFO"), "the server logged nothing: {log}");
    assert!(
        !log.contains(secret),
        "a secret reached the server log: {log}"
    );
}

/// `kill -9` while a task runs, then restart: once the dead worker's lease has expired
/// (`scaffolder.EXPERIMENTAL_recoverTasksTimeout`, 3 s here instead of the default 30 s) the
/// task is claimed again, started over with a `recovered` event, and completes. The workspace
/// lives in `backend.workingDirectory` and is gone afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn a_task_interrupted_by_kill_9_ends_after_the_restart() {
    let work = tempfile::tempdir().unwrap();
    let templates = work.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("template.yaml"),
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: slow}\nspec:\n  type: service\n  steps:\n    - {id: wait, action: 'debug:wait', input: {seconds: 3}}\n    - {id: done, action: 'debug:log', input: {message: finished}}\n",
    )
    .unwrap();
    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  workingDirectory: {}\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\ncatalog:\n  rules:\n    - allow: [Template, Location]\n  locations:\n    - type: file\n      target: {}\nscaffolder:\n  EXPERIMENTAL_recoverTasksTimeout: {{seconds: 3}}\n",
            work.path().join("workspaces").display(),
            work.path().join("data").display(),
            templates.join("template.yaml").display(),
        ),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let (server, api) = start_server(&config, work.path());
    let mut id = String::new();
    for _ in 0..200 {
        let (status, body) = call(
            &client,
            reqwest::Method::POST,
            &format!("{api}/tasks"),
            Some(json!({"templateRef": "template:default/slow"})),
        )
        .await;
        if status == 201 {
            id = body["id"].as_str().unwrap().to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!id.is_empty(), "the template never became available");
    // Wait until it runs, then kill the process without warning.
    for _ in 0..200 {
        let (_, task) = call(
            &client,
            reqwest::Method::GET,
            &format!("{api}/tasks/{id}"),
            None,
        )
        .await;
        if task["status"] == "processing" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut server = server;
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    std::mem::forget(server);

    let (_server, api) = start_server(&config, work.path());
    let started = std::time::Instant::now();
    let task = loop {
        let (status, task) = call(
            &client,
            reqwest::Method::GET,
            &format!("{api}/tasks/{id}"),
            None,
        )
        .await;
        if status == 200
            && ["completed", "failed", "cancelled"].contains(&task["status"].as_str().unwrap_or(""))
        {
            break task;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the task never ended: {task}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(task["status"], "completed", "{task}");
    let (_, events) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/tasks/{id}/events"),
        None,
    )
    .await;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(types.contains(&"recovered"), "{types:?}");
    assert_eq!(types.last(), Some(&"completion"));
    let workspaces = work.path().join("workspaces/scaffolder");
    assert!(
        workspaces.is_dir(),
        "the workspace root is in backend.workingDirectory"
    );
    assert!(
        !workspaces.join(&id).exists(),
        "the task's workspace is removed"
    );
}

async fn wait_for_task_end(client: &reqwest::Client, api: &str, id: &str) -> Value {
    for _ in 0..600 {
        let (_, task) = call(
            client,
            reqwest::Method::GET,
            &format!("{api}/tasks/{id}"),
            None,
        )
        .await;
        if ["completed", "failed", "cancelled"].contains(&task["status"].as_str().unwrap_or("")) {
            return task;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("task {id} never ended");
}

/// Retry re-opens the same task, as Backstage's `POST /v2/tasks/:id/retry` does. The task had
/// a secret, which is never stored: a retry without one is refused with a message saying what
/// to send, a retry with one runs (the push fails the first time because the remote does not
/// exist yet, and succeeds once it does).
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_task_is_retried_under_its_id_with_secrets_from_the_body() {
    let work = tempfile::tempdir().unwrap();
    let remotes = work.path().join("remotes");
    std::fs::create_dir_all(&remotes).unwrap();
    let remote = format!("file://{}", remotes.join("svc.git").display());
    let templates = work.path().join("templates");
    write_template(&templates, &remote);
    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\ncatalog:\n  rules:\n    - allow: [Component, Template, Location]\n  locations:\n    - type: file\n      target: {}\n",
            work.path().join("data").display(),
            templates.join("template.yaml").display(),
        ),
    )
    .unwrap();
    let (server, api) = start_server(&config, work.path());
    let client = reqwest::Client::new();
    let mut id = String::new();
    for _ in 0..200 {
        let (status, body) = call(&client, reqwest::Method::POST, &format!("{api}/tasks"),
            Some(json!({"templateRef": "template:default/git-demo", "values": {"name": "svc"}, "secrets": {"token": "first-s3cret"}}))).await;
        if status == 201 {
            id = body["id"].as_str().unwrap().to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!id.is_empty(), "the template never became available");
    let task = wait_for_task_end(&client, &api, &id).await;
    assert_eq!(task["status"], "failed", "{task}");

    let (status, body) = call(
        &client,
        reqwest::Method::POST,
        &format!("{api}/tasks/{id}/retry"),
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["name"], "InputError", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("never stores secrets") && message.contains("\"secrets\""),
        "{message}"
    );
    let (_, still) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/tasks/{id}"),
        None,
    )
    .await;
    assert_eq!(still["status"], "failed", "a refused retry changes nothing");

    assert!(
        Command::new("git")
            .args(["init", "--bare", "--quiet", "svc.git"])
            .current_dir(&remotes)
            .status()
            .unwrap()
            .success()
    );
    let (status, body) = call(
        &client,
        reqwest::Method::POST,
        &format!("{api}/tasks/{id}/retry"),
        Some(json!({"secrets": {"token": "second-s3cret"}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["id"], id.as_str(), "the same task runs again");
    let task = wait_for_task_end(&client, &api, &id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let (_, events) = call(
        &client,
        reqwest::Method::GET,
        &format!("{api}/tasks/{id}/events"),
        None,
    )
    .await;
    let events = events.as_array().unwrap();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types.iter().filter(|t| **t == "completion").count(),
        1,
        "the failed run's completion is gone: {types:?}"
    );
    assert!(types.contains(&"recovered"), "{types:?}");
    assert_eq!(types.last(), Some(&"completion"));
    assert_eq!(events.last().unwrap()["body"]["status"], "completed");
    let text = serde_json::to_string(events).unwrap();
    assert!(text.contains("using ***"), "{text}");
    let (_, list) = call(&client, reqwest::Method::GET, &format!("{api}/tasks"), None).await;
    assert_eq!(list["totalTasks"], 1, "no second task: {list}");

    let (status, body) = call(
        &client,
        reqwest::Method::POST,
        &format!("{api}/tasks/missing/retry"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404, "{body}");

    drop(server);
    assert_not_in_server_log(work.path(), "first-s3cret");
    assert_not_in_server_log(work.path(), "second-s3cret");
    for entry in std::fs::read_dir(work.path().join("data")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for secret in [&b"first-s3cret"[..], b"second-s3cret"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "a secret reached the database"
            );
        }
    }
}

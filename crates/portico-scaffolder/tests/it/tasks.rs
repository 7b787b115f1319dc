//! Durable tasks on a real SQLite file (and PostgreSQL when `PORTICO_TEST_PG_URL` is set): a
//! task runs to completion with its events stored, secrets never reach the database, a task
//! whose worker died is started over or failed with a clear message, cancel works.

use std::sync::Arc;
use std::time::Duration;

use portico_scaffolder::{ActionRegistry, NewRun, Runner, TaskEngine, TaskOptions, Template};
use portico_store::TaskStore;
use portico_store_sql::SqlStore;
use serde_json::{Map, Value, json};

fn template(steps: Value) -> Template {
    Template::from_entity(&json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
        "metadata": {"name": "durable"},
        "spec": {"type": "service", "steps": steps, "output": {"text": [{"title": "t", "content": "${{ secrets.token }}"}]}},
    }))
    .unwrap()
}

fn options(dir: &std::path::Path, lease_ms: u64) -> TaskOptions {
    TaskOptions {
        concurrency: 2,
        lease: Duration::from_millis(lease_ms),
        max_attempts: 3,
        work_root: dir.join("work"),
    }
}

async fn wait_for_end<S: TaskStore>(engine: &TaskEngine<S>, id: &str) -> Value {
    for _ in 0..200 {
        let task = engine.get(id).await.unwrap().unwrap();
        if ["completed", "failed", "cancelled"].contains(&task["status"].as_str().unwrap_or("")) {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} did not end");
}

fn run(values: Value, secrets: Value, steps: Value) -> NewRun {
    NewRun {
        template: template(steps),
        template_dir: None,
        template_url: None,
        values: values.as_object().cloned().unwrap_or_default(),
        secrets: secrets.as_object().cloned().unwrap_or_default(),
        created_by: Some("user:default/jane".into()),
        user_entity: None,
    }
}

fn start<S: TaskStore>(engine: &Arc<TaskEngine<S>>) -> tokio::sync::watch::Sender<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(Arc::clone(engine).run_worker(stopped));
    stop
}

async fn completes_with_events_and_no_secret_in_the_database<S: TaskStore>(
    store: Arc<S>,
    dir: &std::path::Path,
) -> Arc<S> {
    let engine = Arc::new(TaskEngine::new(
        store.clone(),
        Runner::new(ActionRegistry::builtin()),
        options(dir, 2000),
        None,
    ));
    let _stop = start(&engine);
    let steps = json!([{"id": "say", "name": "Say", "action": "debug:log", "input": {"message": "hello ${{ parameters.who }} with ${{ secrets.token }}"}}]);
    let id = engine
        .create(run(
            json!({"who": "world"}),
            json!({"token": "tok-SECRET-42"}),
            steps,
        ))
        .await
        .unwrap();
    let task = wait_for_end(&engine, &id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["createdBy"], "user:default/jane");
    let events = engine.events(&id, None).await.unwrap();
    let messages: Vec<&str> = events
        .iter()
        .filter_map(|e| e["body"]["message"].as_str())
        .collect();
    assert!(messages.contains(&"hello world with ***"), "{messages:?}");
    // Both ends of a step name it as the template does (Backstage's log lines).
    assert!(
        messages.contains(&"Beginning step Say") && messages.contains(&"Finished step Say"),
        "{messages:?}"
    );
    let completion = events.last().unwrap();
    assert_eq!(completion["type"], "completion");
    assert_eq!(completion["body"]["output"]["text"][0]["content"], "***");
    let after = engine.events(&id, events[0]["id"].as_i64()).await.unwrap();
    assert_eq!(after.len(), events.len() - 1);
    let everything = format!("{task}{}", serde_json::to_string(&events).unwrap());
    assert!(!everything.contains("tok-SECRET-42"));
    assert!(
        !dir.join("work").join(&id).exists(),
        "the workspace is removed"
    );
    store
}

#[tokio::test]
async fn a_task_completes_and_no_secret_reaches_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("portico.db");
    let store = Arc::new(SqlStore::open_sqlite(&db).await.unwrap());
    let store = completes_with_events_and_no_secret_in_the_database(store, dir.path()).await;
    store.close().await;
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let path = file.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(13).any(|w| w == b"tok-SECRET-42");
            assert!(!found, "a secret is in {}", path.display());
        }
    }
}

#[tokio::test]
async fn a_task_completes_on_postgres() {
    let Some(server) = portico_testkit::pg::TestServer::from_env() else {
        return;
    };
    let db = server.create_database();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::connect(&db.url).await.unwrap());
    let store = completes_with_events_and_no_secret_in_the_database(store, dir.path()).await;
    store.close().await;
}

/// The task's log has Backstage's step lines with each step's status: a skipped step says why
/// (status `skipped`) and has no "Finished" line, as in Backstage's workflow runner.
#[tokio::test]
async fn task_events_carry_backstage_step_lines() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open_sqlite(&dir.path().join("portico.db"))
            .await
            .unwrap(),
    );
    let engine = Arc::new(TaskEngine::new(
        store,
        Runner::new(ActionRegistry::builtin()),
        options(dir.path(), 2000),
        None,
    ));
    let _stop = start(&engine);
    let steps = json!([
        {"id": "say", "name": "Say", "action": "debug:log", "input": {"message": "hi"}},
        {"id": "never", "name": "Never", "if": "${{ parameters.who === 'nobody' }}", "action": "debug:log", "input": {"message": "no"}},
    ]);
    let id = engine
        .create(run(json!({"who": "world"}), json!({}), steps))
        .await
        .unwrap();
    let task = wait_for_end(&engine, &id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let events = engine.events(&id, None).await.unwrap();
    let lines: Vec<(String, String, String)> = events
        .iter()
        .filter(|e| e["type"] == "log")
        .map(|e| {
            let text = |key: &str| e["body"][key].as_str().unwrap_or("").to_owned();
            (text("stepId"), text("message"), text("status"))
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("", "Starting up task with 2 steps", ""),
        ("say", "Beginning step Say", "processing"),
        ("say", "hi", ""),
        ("say", "Finished step Say", "completed"),
        ("never", "Beginning step Never", "processing"),
        (
            "never",
            "Skipping step never because its if condition was false",
            "skipped",
        ),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(lines, expected);
}

/// A worker died mid-task (its claim is never renewed): after the lease the task is claimed
/// again; without secrets it starts over and completes, with secrets it fails saying why.
#[tokio::test]
async fn an_interrupted_task_is_started_over_or_failed_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open_sqlite(&dir.path().join("portico.db"))
            .await
            .unwrap(),
    );
    let steps = json!([{"id": "log", "action": "debug:log", "input": {"message": "working"}}]);
    let first = Arc::new(TaskEngine::new(
        store.clone(),
        Runner::new(ActionRegistry::builtin()),
        options(dir.path(), 300),
        None,
    ));
    let plain = first
        .create(run(json!({}), json!({}), steps.clone()))
        .await
        .unwrap();
    let secret = first
        .create(run(json!({}), json!({"token": "t0k"}), steps))
        .await
        .unwrap();
    // The dead worker: claims both, then never heartbeats.
    let now = 1;
    assert!(store.claim_task("dead", now, 300).await.unwrap().is_some());
    assert!(store.claim_task("dead", now, 300).await.unwrap().is_some());
    // A new process (its memory holds no secrets).
    let second = Arc::new(TaskEngine::new(
        store.clone(),
        Runner::new(ActionRegistry::builtin()),
        options(dir.path(), 300),
        None,
    ));
    let _stop = start(&second);
    let done = wait_for_end(&second, &plain).await;
    assert_eq!(done["status"], "completed", "{done}");
    let events = second.events(&plain, None).await.unwrap();
    assert!(
        events.iter().any(|e| e["type"] == "recovered"),
        "{events:?}"
    );
    let failed = wait_for_end(&second, &secret).await;
    assert_eq!(failed["status"], "failed");
    let events = second.events(&secret, None).await.unwrap();
    let message = events.last().unwrap()["body"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("secrets are not stored"), "{message}");
    store.close().await;
}

#[tokio::test]
async fn open_and_running_tasks_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open_sqlite(&dir.path().join("portico.db"))
            .await
            .unwrap(),
    );
    let engine = Arc::new(TaskEngine::new(
        store.clone(),
        Runner::new(ActionRegistry::builtin()),
        options(dir.path(), 300),
        None,
    ));
    let steps = json!([
        // A minute: the task ends within wait_for_end's 10 s only because the wait stops.
        {"id": "wait", "action": "debug:wait", "input": {"seconds": 60}},
        {"id": "after", "action": "debug:log", "input": {"message": "should not run"}},
    ]);
    let open = engine
        .create(run(json!({}), json!({}), steps.clone()))
        .await
        .unwrap();
    assert_eq!(engine.cancel(&open).await.unwrap(), "cancelled");
    let running = engine
        .create(run(json!({}), json!({}), steps))
        .await
        .unwrap();
    let _stop = start(&engine);
    for _ in 0..100 {
        if engine.get(&running).await.unwrap().unwrap()["status"] == "processing" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(engine.cancel(&running).await.unwrap(), "processing");
    let task = wait_for_end(&engine, &running).await;
    assert_eq!(task["status"], "cancelled", "{task}");
    let events = engine.events(&running, None).await.unwrap();
    assert!(
        events
            .iter()
            .all(|e| e["body"]["message"] != "should not run")
    );
    assert!(matches!(
        engine.cancel("missing").await,
        Err(portico_scaffolder::TaskError::NotFound(_))
    ));
    let retried = engine.retry(&running, Map::new()).await.unwrap();
    assert_eq!(retried, running, "a retry keeps the task's id");
    store.close().await;
}

async fn wait_for_step<S: TaskStore>(engine: &TaskEngine<S>, id: &str, step: &str) {
    for _ in 0..200 {
        let events = engine.events(id, None).await.unwrap();
        if events
            .iter()
            .any(|e| e["body"]["stepId"] == step && e["body"]["status"] == "processing")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("step {step} of task {id} did not start");
}

/// Asserts a task ended `cancelled` while `step` (its last) ran, and the log says so.
async fn assert_cancelled_during<S: TaskStore>(engine: &TaskEngine<S>, id: &str, step: &str) {
    let task = wait_for_end(engine, id).await;
    assert_eq!(task["status"], "cancelled", "{task}");
    let events = engine.events(id, None).await.unwrap();
    let completion = events.last().unwrap();
    assert_eq!(completion["type"], "completion", "{events:?}");
    assert_eq!(completion["body"]["status"], "cancelled", "{completion}");
    let finished = events
        .iter()
        .find(|e| {
            e["body"]["stepId"] == step
                && e["body"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("Finished step "))
        })
        .unwrap_or_else(|| panic!("no end of step {step}: {events:?}"));
    assert_eq!(finished["body"]["status"], "cancelled", "{finished}");
    assert!(
        events.iter().any(|e| e["type"] == "cancelled"),
        "{events:?}"
    );
}

/// A cancel while the last step runs used to end the task `completed`: the runner only looked
/// at the flag before each step. The step here waits a minute, so the task ends within the
/// test's 10 s only because the cancel stops it.
#[tokio::test]
async fn a_cancel_during_the_last_step_ends_the_task_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open_sqlite(&dir.path().join("portico.db"))
            .await
            .unwrap(),
    );
    // A long lease: the cancel must not need a heartbeat to arrive.
    let engine = Arc::new(TaskEngine::new(
        store.clone(),
        Runner::new(ActionRegistry::builtin()),
        options(dir.path(), 60_000),
        None,
    ));
    let steps = json!([
        {"id": "log", "action": "debug:log", "input": {"message": "first"}},
        {"id": "wait", "action": "debug:wait", "input": {"seconds": 60}},
    ]);
    let id = engine
        .create(run(json!({}), json!({}), steps))
        .await
        .unwrap();
    let _stop = start(&engine);
    wait_for_step(&engine, &id, "wait").await;
    assert!(
        matches!(
            engine.retry(&id, Map::new()).await,
            Err(portico_scaffolder::TaskError::NotFinished { .. })
        ),
        "a running task is not retried"
    );
    assert_eq!(engine.cancel(&id).await.unwrap(), "processing");
    assert_cancelled_during(&engine, &id, "wait").await;
    let events = engine.events(&id, None).await.unwrap();
    assert!(
        events.iter().any(|e| e["body"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("cancelled while step wait ran"))),
        "{events:?}"
    );
    store.close().await;
}

/// The cancel is asked of another replica (only the database knows): the worker learns it
/// from its heartbeat and still ends the task `cancelled`.
#[tokio::test]
async fn a_cancel_through_the_database_reaches_the_last_step() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open_sqlite(&dir.path().join("portico.db"))
            .await
            .unwrap(),
    );
    let engine = Arc::new(TaskEngine::new(
        store.clone(),
        Runner::new(ActionRegistry::builtin()),
        options(dir.path(), 300),
        None,
    ));
    let steps = json!([{"id": "wait", "action": "debug:wait", "input": {"seconds": 60}}]);
    let id = engine
        .create(run(json!({}), json!({}), steps))
        .await
        .unwrap();
    let _stop = start(&engine);
    wait_for_step(&engine, &id, "wait").await;
    assert_eq!(
        store.request_cancel(&id).await.unwrap().as_deref(),
        Some("processing")
    );
    assert_cancelled_during(&engine, &id, "wait").await;
    store.close().await;
}

/// A reader that only waits on `events_appended` (never sleeps and polls) sees every event up
/// to the completion: each appended event notifies it. Without notifications it would wait
/// forever and hit the safety timeout.
#[tokio::test]
async fn event_readers_are_woken_by_appended_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open_sqlite(&dir.path().join("portico.db"))
            .await
            .unwrap(),
    );
    let engine = Arc::new(TaskEngine::new(
        store,
        Runner::new(ActionRegistry::builtin()),
        options(dir.path(), 2000),
        None,
    ));
    let mut appended = engine.events_appended();
    let steps = json!([
        {"id": "one", "action": "debug:log", "input": {"message": "first"}},
        {"id": "two", "action": "debug:log", "input": {"message": "second"}},
    ]);
    let id = engine
        .create(run(json!({}), json!({}), steps))
        .await
        .unwrap();
    let _stop = start(&engine);
    let mut seen: Vec<Value> = Vec::new();
    while seen
        .last()
        .is_none_or(|event| event["type"] != "completion")
    {
        appended.borrow_and_update();
        let after = seen.last().and_then(|event| event["id"].as_i64());
        let new = engine.events(&id, after).await.unwrap();
        if new.is_empty() {
            tokio::time::timeout(Duration::from_secs(60), appended.changed())
                .await
                .expect("no event notification arrived")
                .unwrap();
        }
        seen.extend(new);
    }
    let messages: Vec<&str> = seen
        .iter()
        .filter_map(|event| event["body"]["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"first") && messages.contains(&"second"),
        "{messages:?}"
    );
}

/// With `concurrency: 1` a second task waits `open` while the first runs, and runs once the
/// first ends; `user.ref` and `user.entity` reach the steps' expressions.
#[tokio::test]
async fn the_concurrency_limit_holds_tasks_back_until_a_slot_frees() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqlStore::open_sqlite(&dir.path().join("portico.db"))
            .await
            .unwrap(),
    );
    let mut one_at_a_time = options(dir.path(), 2000);
    one_at_a_time.concurrency = 1;
    let engine = Arc::new(TaskEngine::new(
        store.clone(),
        Runner::new(ActionRegistry::builtin()),
        one_at_a_time,
        None,
    ));
    let slow = json!([{"id": "wait", "action": "debug:wait", "input": {"seconds": 60}}]);
    let first = engine
        .create(run(json!({}), json!({}), slow))
        .await
        .unwrap();
    let _stop = start(&engine);
    wait_for_step(&engine, &first, "wait").await;
    let mut second_run = run(
        json!({}),
        json!({}),
        json!([{"id": "who", "action": "debug:log",
                "input": {"message": "by ${{ user.ref }} (${{ user.entity.metadata.name }})"}}]),
    );
    second_run.user_entity = Some(json!({"kind": "User", "metadata": {"name": "jane"}}));
    let second = engine.create(second_run).await.unwrap();
    // The worker claims no second task while its only slot is taken: several rounds of
    // polling later (the first task's wait has a minute left) the second is still open.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            engine.get(&second).await.unwrap().unwrap()["status"],
            "open"
        );
    }
    engine.cancel(&first).await.unwrap();
    assert_eq!(wait_for_end(&engine, &first).await["status"], "cancelled");
    let task = wait_for_end(&engine, &second).await;
    assert_eq!(task["status"], "completed", "{task}");
    let events = engine.events(&second, None).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["body"]["message"] == "by user:default/jane (jane)"),
        "{events:?}"
    );
    store.close().await;
}

//! `/api/scaffolder` asks the authorizer before any handler runs: a policy that refuses task
//! permissions gets Backstage's `NotAllowedError` on every task route, while the routes it
//! allows keep working — over a real scaffolder on a SQLite file and a real listener.

use std::sync::Arc;

use portico_catalog::engine::{CatalogSettings, Engine, system_clock};
use portico_plugin_api::{
    Authorizer, BoxFuture, Decision, Permission, PluginError, Principal, ScaffolderCatalog,
};
use portico_scaffolder::{
    ActionRegistry, Runner, Scaffolder, ScaffolderService, TaskEngine, TaskOptions,
};
use portico_server::{AppState, app};
use portico_store_sql::SqlStore;
use serde_json::{Value, json};

/// Refuses every scaffolder task permission, allows the rest.
struct NoTasks;

impl Authorizer for NoTasks {
    fn authorize(&self, _: &Principal, permission: Permission, _: Option<&Value>) -> Decision {
        if permission.0.starts_with("scaffolder.task.") {
            Decision::Deny
        } else {
            Decision::Allow
        }
    }
}

/// The catalog as the scaffolder sees it: the engine's read model.
struct ReadModel(Arc<Engine<SqlStore>>);

impl ScaffolderCatalog for ReadModel {
    fn get_entity(&self, entity_ref: &str) -> BoxFuture<'_, Result<Option<Value>, PluginError>> {
        let found = self
            .0
            .read_model()
            .by_ref(entity_ref)
            .and_then(|json| serde_json::from_str(&json).ok());
        Box::pin(async move { Ok(found) })
    }

    fn register_location(&self, target: &str) -> BoxFuture<'_, Result<Vec<String>, PluginError>> {
        let message = format!("this test registers nothing ({target})");
        Box::pin(async move { Err(PluginError::Failed(message)) })
    }
}

#[tokio::test]
async fn task_routes_ask_the_authorizer() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open_sqlite(&dir.path().join("p.db"))
        .await
        .unwrap();
    let engine = Arc::new(
        Engine::open(
            Arc::new(store.clone()),
            Arc::new(portico_catalog::LocalReader),
            CatalogSettings::default(),
            system_clock(),
        )
        .await
        .unwrap(),
    );
    let catalog: Arc<dyn ScaffolderCatalog> = Arc::new(ReadModel(Arc::clone(&engine)));
    let tasks = Arc::new(TaskEngine::new(
        Arc::new(store),
        Runner::new(ActionRegistry::builtin()),
        TaskOptions {
            concurrency: 1,
            lease: std::time::Duration::from_secs(30),
            max_attempts: 1,
            work_root: dir.path().join("work"),
        },
        Some(Arc::clone(&catalog)),
    ));
    let service: Arc<dyn ScaffolderService> = Arc::new(Scaffolder::new(tasks, catalog));
    let mut state = AppState::new(engine);
    state.authorizer = Arc::new(NoTasks);
    state.scaffolder = Some(service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });
    let client = reqwest::Client::new();

    let refused = [
        ("GET", "/api/scaffolder/v2/tasks", "scaffolder.task.read"),
        (
            "GET",
            "/api/scaffolder/v2/tasks/some-id",
            "scaffolder.task.read",
        ),
        (
            "GET",
            "/api/scaffolder/v2/tasks/some-id/events",
            "scaffolder.task.read",
        ),
        (
            "GET",
            "/api/scaffolder/v2/tasks/some-id/eventstream",
            "scaffolder.task.read",
        ),
        ("POST", "/api/scaffolder/v2/tasks", "scaffolder.task.create"),
        (
            "POST",
            "/api/scaffolder/v2/tasks/some-id/retry",
            "scaffolder.task.create",
        ),
        (
            "POST",
            "/api/scaffolder/v2/dry-run",
            "scaffolder.task.create",
        ),
        (
            "POST",
            "/api/scaffolder/v2/tasks/some-id/cancel",
            "scaffolder.task.cancel",
        ),
    ];
    for (method, path, permission) in refused {
        let request = match method {
            "GET" => client.get(format!("{base}{path}")),
            _ => client
                .post(format!("{base}{path}"))
                .json(&json!({"templateRef": "template:default/x"})),
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["name"], "NotAllowedError", "{method} {path}");
        assert_eq!(
            body["error"]["message"],
            format!("You are not allowed to perform {permission}")
        );
        assert_eq!(body["request"]["method"], method);
    }

    // Reading the actions needs only catalog read, which the policy allows.
    let actions = client
        .get(format!("{base}/api/scaffolder/v2/actions"))
        .send()
        .await
        .unwrap();
    assert_eq!(actions.status().as_u16(), 200);
    let actions: Value = actions.json().await.unwrap();
    assert!(
        actions
            .as_array()
            .is_some_and(|list| list.iter().any(|a| a["id"] == "fetch:template"))
    );
}

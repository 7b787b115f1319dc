//! Conformance checks for [`TaskStore`]: tasks are created, listed with filters, claimed as
//! exclusive leases that expire, heartbeated, finished, cancelled, and their events are
//! appended and paged in order, and finished tasks are re-opened under their own id.

use std::future::Future;

use crate::{NewTask, TaskFilter, TaskStore};

fn task(id: &str, by: &str, at: i64) -> NewTask {
    NewTask {
        id: id.to_owned(),
        spec_json: format!("{{\"id\":\"{id}\"}}"),
        created_by: Some(by.to_owned()),
        has_secrets: id.ends_with('s'),
        created_at: at,
    }
}

/// Runs every task check, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: TaskStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    tasks_are_created_and_listed(&make().await).await;
    claims_are_exclusive_until_the_lease_expires(&make().await).await;
    cancel_depends_on_the_state(&make().await).await;
    retry_reopens_a_finished_task(&make().await).await;
    events_are_appended_in_order(&make().await).await;
}

async fn tasks_are_created_and_listed(store: &impl TaskStore) {
    store
        .create_task(task("a", "user:default/jane", 10))
        .await
        .unwrap();
    store
        .create_task(task("bs", "user:default/joe", 20))
        .await
        .unwrap();
    store
        .create_task(task("c", "user:default/jane", 30))
        .await
        .unwrap();
    assert!(
        store
            .create_task(task("a", "user:default/x", 40))
            .await
            .is_err(),
        "ids are unique"
    );
    let a = store.task("a").await.unwrap().unwrap();
    assert_eq!(a.status, "open");
    assert_eq!(a.spec_json, "{\"id\":\"a\"}");
    assert!(!a.has_secrets);
    assert!(store.task("bs").await.unwrap().unwrap().has_secrets);
    assert!(store.task("nope").await.unwrap().is_none());

    let all = TaskFilter {
        limit: 10,
        ..TaskFilter::default()
    };
    let (tasks, total) = store.list_tasks(&all).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(
        tasks.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["a", "bs", "c"]
    );
    let jane = TaskFilter {
        created_by: vec!["user:default/jane".into()],
        newest_first: true,
        limit: 1,
        ..TaskFilter::default()
    };
    let (tasks, total) = store.list_tasks(&jane).await.unwrap();
    assert_eq!((tasks[0].id.as_str(), total), ("c", 2));
    let page2 = TaskFilter { offset: 1, ..jane };
    assert_eq!(store.list_tasks(&page2).await.unwrap().0[0].id, "a");
    let none = TaskFilter {
        status: vec!["completed".into()],
        limit: 10,
        ..TaskFilter::default()
    };
    assert_eq!(store.list_tasks(&none).await.unwrap().1, 0);
}

async fn claims_are_exclusive_until_the_lease_expires(store: &impl TaskStore) {
    store.create_task(task("a", "u", 10)).await.unwrap();
    store.create_task(task("b", "u", 20)).await.unwrap();
    let first = store.claim_task("w1", 100, 1000).await.unwrap().unwrap();
    assert_eq!(
        (first.id.as_str(), first.status.as_str(), first.attempts),
        ("a", "processing", 1)
    );
    let second = store.claim_task("w2", 100, 1000).await.unwrap().unwrap();
    assert_eq!(second.id, "b", "a claimed task is not handed out twice");
    assert!(store.claim_task("w3", 500, 1000).await.unwrap().is_none());

    let beat = store.heartbeat("a", "w1", 900, 1000).await.unwrap();
    assert!(beat.owned && !beat.cancel_requested);
    assert!(
        !store.heartbeat("a", "w2", 900, 1000).await.unwrap().owned,
        "only the owner beats"
    );
    assert_eq!(
        store.task("a").await.unwrap().unwrap().last_heartbeat_at,
        Some(900)
    );

    // w2 dies: after its lease, b is claimable again, with the attempt counted.
    let again = store.claim_task("w3", 1200, 1000).await.unwrap().unwrap();
    assert_eq!(
        (
            again.id.as_str(),
            again.attempts,
            again.lease_owner.as_deref()
        ),
        ("b", 2, Some("w3"))
    );
    assert!(
        !store
            .finish_task("b", "w2", "completed", 1300)
            .await
            .unwrap(),
        "a lost lease cannot finish"
    );
    assert!(store.finish_task("b", "w3", "failed", 1300).await.unwrap());
    assert_eq!(store.task("b").await.unwrap().unwrap().status, "failed");
    assert!(
        store
            .finish_task("a", "w1", "completed", 1300)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_task("w4", 99_999, 1000)
            .await
            .unwrap()
            .is_none(),
        "finished tasks stay finished"
    );
}

async fn cancel_depends_on_the_state(store: &impl TaskStore) {
    store.create_task(task("open", "u", 10)).await.unwrap();
    assert_eq!(
        store.request_cancel("open").await.unwrap().as_deref(),
        Some("cancelled")
    );
    assert!(
        store.claim_task("w", 100, 1000).await.unwrap().is_none(),
        "a cancelled task is not run"
    );
    store.create_task(task("run", "u", 20)).await.unwrap();
    store.claim_task("w", 100, 1000).await.unwrap().unwrap();
    assert_eq!(
        store.request_cancel("run").await.unwrap().as_deref(),
        Some("processing")
    );
    assert!(
        store
            .heartbeat("run", "w", 200, 1000)
            .await
            .unwrap()
            .cancel_requested
    );
    assert!(
        store
            .finish_task("run", "w", "cancelled", 300)
            .await
            .unwrap()
    );
    assert_eq!(
        store.request_cancel("run").await.unwrap().as_deref(),
        Some("cancelled")
    );
    assert_eq!(store.request_cancel("missing").await.unwrap(), None);
}

async fn retry_reopens_a_finished_task(store: &impl TaskStore) {
    store.create_task(task("t", "u", 10)).await.unwrap();
    assert_eq!(
        store
            .retry_task("t", false, "{}", 20)
            .await
            .unwrap()
            .as_deref(),
        Some("open"),
        "an open task is not re-opened"
    );
    store.claim_task("w", 100, 1000).await.unwrap().unwrap();
    store.request_cancel("t").await.unwrap();
    assert_eq!(
        store
            .retry_task("t", false, "{}", 150)
            .await
            .unwrap()
            .as_deref(),
        Some("processing"),
        "a running task is left alone"
    );
    store
        .append_event("t", "log", "{\"n\":1}", 200)
        .await
        .unwrap();
    store
        .append_event("t", "cancelled", "{}", 210)
        .await
        .unwrap();
    store
        .append_event("t", "completion", "{}", 220)
        .await
        .unwrap();
    assert!(store.finish_task("t", "w", "cancelled", 230).await.unwrap());
    assert_eq!(
        store
            .retry_task("t", true, "{\"recoverStrategy\":\"none\"}", 300)
            .await
            .unwrap()
            .as_deref(),
        Some("cancelled")
    );
    let task = store.task("t").await.unwrap().unwrap();
    assert_eq!(task.status, "open");
    assert_eq!(task.lease_owner, None);
    assert!(!task.cancel_requested && task.has_secrets);
    let kinds: Vec<String> = store
        .task_events("t", None)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.event_type)
        .collect();
    assert_eq!(kinds, ["log", "recovered"]);
    let again = store.claim_task("w2", 400, 1000).await.unwrap().unwrap();
    assert_eq!((again.id.as_str(), again.attempts), ("t", 1));
    assert_eq!(
        store.retry_task("missing", false, "{}", 500).await.unwrap(),
        None
    );
}

async fn events_are_appended_in_order(store: &impl TaskStore) {
    store.create_task(task("a", "u", 10)).await.unwrap();
    store.create_task(task("b", "u", 10)).await.unwrap();
    let first = store
        .append_event("a", "log", "{\"message\":\"one\"}", 11)
        .await
        .unwrap();
    store.append_event("b", "log", "{}", 11).await.unwrap();
    let second = store
        .append_event("a", "completion", "{\"message\":\"done\"}", 12)
        .await
        .unwrap();
    assert!(second > first);
    let events = store.task_events("a", None).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        ["log", "completion"]
    );
    assert_eq!(events[0].body_json, "{\"message\":\"one\"}");
    let after = store.task_events("a", Some(first)).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, second);
    assert!(
        store
            .task_events("a", Some(second))
            .await
            .unwrap()
            .is_empty()
    );
}

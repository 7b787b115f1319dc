//! Conformance checks for [`TechDocsStore`]: builds are queued once per source hash, claimed
//! as exclusive leases that expire, finished as built or failed (a failure keeps the last good
//! build's hash and time), retried on request, listed and forgotten.

use std::future::Future;

use crate::{BUILD_BUILDING, BUILD_BUILT, BUILD_FAILED, BUILD_QUEUED, BuildOutcome, TechDocsStore};

const A: &str = "component:default/a";
const B: &str = "component:default/b";

fn ok(now: i64) -> BuildOutcome {
    BuildOutcome {
        error: None,
        warnings_json: "[{\"file\":\"docs/index.md\",\"line\":3,\"message\":\"broken link\"}]"
            .to_owned(),
        duration_ms: 40,
        now,
    }
}

fn failed(now: i64, error: &str) -> BuildOutcome {
    BuildOutcome {
        error: Some(error.to_owned()),
        warnings_json: "[]".to_owned(),
        duration_ms: 5,
        now,
    }
}

/// Runs every TechDocs check, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: TechDocsStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    builds_are_queued_once_per_hash(&make().await).await;
    claims_are_exclusive_until_the_lease_expires(&make().await).await;
    failures_keep_the_last_good_build(&make().await).await;
    a_new_hash_supersedes_a_running_build(&make().await).await;
}

async fn builds_are_queued_once_per_hash(store: &impl TechDocsStore) {
    assert!(store.docs_build(A).await.unwrap().is_none());
    assert!(
        store
            .enqueue_build(A, "h1", "{\"dir\":\"/a\"}", false, 10)
            .await
            .unwrap()
    );
    assert!(
        !store
            .enqueue_build(A, "h1", "{\"dir\":\"/a\"}", false, 11)
            .await
            .unwrap(),
        "the same hash is not queued twice"
    );
    assert!(
        !store.enqueue_build(A, "h1", "{}", true, 12).await.unwrap(),
        "retry only re-queues failures"
    );
    let record = store.docs_build(A).await.unwrap().unwrap();
    assert_eq!(record.state, BUILD_QUEUED);
    assert_eq!(record.source_hash, "h1");
    assert_eq!(record.spec_json, "{\"dir\":\"/a\"}");
    assert_eq!(record.requested_at, 10);
    assert_eq!(record.built_hash, None);
    assert_eq!(record.warnings_json, "[]");
    assert_eq!(record.attempts, 0);

    assert!(store.enqueue_build(B, "x", "{}", false, 5).await.unwrap());
    let all = store.docs_builds().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|r| r.entity_ref.as_str())
            .collect::<Vec<_>>(),
        [A, B]
    );
    assert!(store.remove_docs_build(B).await.unwrap());
    assert!(!store.remove_docs_build(B).await.unwrap());
    assert!(store.docs_build(B).await.unwrap().is_none());
}

async fn claims_are_exclusive_until_the_lease_expires(store: &impl TechDocsStore) {
    store.enqueue_build(A, "h1", "{}", false, 10).await.unwrap();
    store.enqueue_build(B, "h1", "{}", false, 20).await.unwrap();
    let first = store.claim_build("w1", 100, 1000).await.unwrap().unwrap();
    assert_eq!(
        (
            first.entity_ref.as_str(),
            first.state.as_str(),
            first.attempts,
            first.started_at
        ),
        (A, BUILD_BUILDING, 1, Some(100)),
        "the oldest request first"
    );
    let second = store.claim_build("w2", 100, 1000).await.unwrap().unwrap();
    assert_eq!(
        second.entity_ref, B,
        "a claimed job is not handed out twice"
    );
    assert!(store.claim_build("w3", 500, 1000).await.unwrap().is_none());

    assert!(store.heartbeat_build(A, "w1", 900, 1000).await.unwrap());
    assert!(
        !store.heartbeat_build(A, "w2", 900, 1000).await.unwrap(),
        "only the owner extends the lease"
    );
    // w2 dies; after its lease B is claimable again, with the attempt counted.
    let again = store.claim_build("w3", 1200, 1000).await.unwrap().unwrap();
    assert_eq!(
        (
            again.entity_ref.as_str(),
            again.attempts,
            again.lease_owner.as_deref()
        ),
        (B, 2, Some("w3"))
    );
    assert!(
        !store.finish_build(B, "w2", ok(1300)).await.unwrap(),
        "a lost lease cannot finish"
    );
    assert!(store.finish_build(B, "w3", ok(1300)).await.unwrap());
    let built = store.docs_build(B).await.unwrap().unwrap();
    assert_eq!(built.state, BUILD_BUILT);
    assert_eq!(built.built_hash.as_deref(), Some("h1"));
    assert_eq!(built.last_built_at, Some(1300));
    assert_eq!(built.duration_ms, Some(40));
    assert!(built.warnings_json.contains("broken link"));
    assert_eq!((built.lease_owner, built.lease_until), (None, None));
    assert!(store.finish_build(A, "w1", ok(1400)).await.unwrap());
    assert!(
        store
            .claim_build("w4", 99_999, 1000)
            .await
            .unwrap()
            .is_none(),
        "finished builds stay finished"
    );
    assert!(
        !store
            .enqueue_build(A, "h1", "{}", false, 2000)
            .await
            .unwrap(),
        "a built hash is current"
    );
}

async fn failures_keep_the_last_good_build(store: &impl TechDocsStore) {
    store.enqueue_build(A, "h1", "{}", false, 10).await.unwrap();
    store.claim_build("w", 20, 1000).await.unwrap().unwrap();
    store.finish_build(A, "w", ok(30)).await.unwrap();
    assert!(
        store
            .enqueue_build(A, "h2", "{\"v\":2}", false, 40)
            .await
            .unwrap()
    );
    let queued = store.docs_build(A).await.unwrap().unwrap();
    assert_eq!(
        (
            queued.state.as_str(),
            queued.source_hash.as_str(),
            queued.attempts
        ),
        (BUILD_QUEUED, "h2", 0),
        "a new hash starts a new job"
    );
    assert_eq!(queued.spec_json, "{\"v\":2}");
    store.claim_build("w", 50, 1000).await.unwrap().unwrap();
    assert!(
        store
            .finish_build(A, "w", failed(60, "mkdocs.yml:1: bad"))
            .await
            .unwrap()
    );
    let failure = store.docs_build(A).await.unwrap().unwrap();
    assert_eq!(failure.state, BUILD_FAILED);
    assert_eq!(failure.error.as_deref(), Some("mkdocs.yml:1: bad"));
    assert_eq!(failure.source_hash, "h2");
    assert_eq!(
        failure.built_hash.as_deref(),
        Some("h1"),
        "the last good build"
    );
    assert_eq!(failure.last_built_at, Some(30));
    assert_eq!(failure.warnings_json, "[]");
    assert!(
        !store.enqueue_build(A, "h2", "{}", false, 70).await.unwrap(),
        "a failed hash is not rebuilt by itself"
    );
    assert!(store.enqueue_build(A, "h2", "{}", true, 80).await.unwrap());
    let retried = store.claim_build("w", 90, 1000).await.unwrap().unwrap();
    assert_eq!(retried.attempts, 1);
    store.finish_build(A, "w", ok(100)).await.unwrap();
    let fixed = store.docs_build(A).await.unwrap().unwrap();
    assert_eq!(
        (
            fixed.state.as_str(),
            fixed.error,
            fixed.built_hash.as_deref()
        ),
        (BUILD_BUILT, None, Some("h2"))
    );
}

async fn a_new_hash_supersedes_a_running_build(store: &impl TechDocsStore) {
    store.enqueue_build(A, "h1", "{}", false, 10).await.unwrap();
    store.claim_build("w1", 20, 1000).await.unwrap().unwrap();
    assert!(
        !store.enqueue_build(A, "h1", "{}", false, 25).await.unwrap(),
        "the hash being built is not queued again"
    );
    assert!(store.enqueue_build(A, "h2", "{}", false, 30).await.unwrap());
    assert!(
        !store.heartbeat_build(A, "w1", 40, 1000).await.unwrap(),
        "the old build lost its job"
    );
    assert!(!store.finish_build(A, "w1", ok(50)).await.unwrap());
    let next = store.claim_build("w2", 60, 1000).await.unwrap().unwrap();
    assert_eq!((next.source_hash.as_str(), next.attempts), ("h2", 1));
}

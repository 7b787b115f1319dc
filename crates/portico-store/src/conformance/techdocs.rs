//! Conformance checks for [`TechDocsStore`]: builds are queued once per source hash, claimed
//! as exclusive leases that expire, finished as built or failed (a failure keeps the last good
//! build's hash and time), retried on request, recorded as unbuildable without a job; entities
//! map to sites, and a site no entity maps to is forgotten.

use std::future::Future;

use crate::{
    BUILD_BUILDING, BUILD_BUILT, BUILD_FAILED, BUILD_NO_CONFIG, BUILD_QUEUED, BuildOutcome,
    DocsEntityRow, Requeue, TechDocsStore,
};

/// Site keys.
const A: &str = "dir:/a";
const B: &str = "dir:/b";
const IF_CHANGED: Requeue = Requeue::IfChanged;

fn ok(now: i64) -> BuildOutcome {
    BuildOutcome {
        error: None,
        warnings_json: "[{\"file\":\"docs/index.md\",\"line\":3,\"message\":\"broken link\"}]"
            .to_owned(),
        duration_ms: 40,
        now,
        content_hash: None,
    }
}

fn failed(now: i64, error: &str) -> BuildOutcome {
    BuildOutcome {
        error: Some(error.to_owned()),
        warnings_json: "[]".to_owned(),
        duration_ms: 5,
        now,
        content_hash: None,
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
    entities_map_to_sites(&make().await).await;
    unbuildable_sources_are_recorded_without_a_job(&make().await).await;
}

async fn builds_are_queued_once_per_hash(store: &impl TechDocsStore) {
    assert!(store.docs_site(A).await.unwrap().is_none());
    assert!(
        store
            .enqueue_build(A, "h1", "{\"dir\":\"/a\"}", IF_CHANGED, 10)
            .await
            .unwrap()
    );
    assert!(
        !store
            .enqueue_build(A, "h1", "{\"dir\":\"/a\"}", IF_CHANGED, 11)
            .await
            .unwrap(),
        "the same hash is not queued twice"
    );
    assert!(
        !store
            .enqueue_build(A, "h1", "{}", Requeue::RetryFailed, 12)
            .await
            .unwrap(),
        "retry only re-queues failures"
    );
    let record = store.docs_site(A).await.unwrap().unwrap();
    assert_eq!(record.state, BUILD_QUEUED);
    assert_eq!(record.source_hash, "h1");
    assert_eq!(record.spec_json, "{\"dir\":\"/a\"}");
    assert_eq!(record.requested_at, 10);
    assert_eq!(record.built_hash, None);
    assert_eq!(record.warnings_json, "[]");
    assert_eq!(record.attempts, 0);

    assert!(
        store
            .enqueue_build(B, "x", "{}", IF_CHANGED, 5)
            .await
            .unwrap()
    );
    let all = store.docs_builds().await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.site_key.as_str()).collect::<Vec<_>>(),
        [A, B]
    );
    assert!(
        store
            .enqueue_build(A, "h1", "{}", Requeue::Always, 13)
            .await
            .is_ok_and(|queued| !queued),
        "a queued site stays queued once"
    );
}

async fn claims_are_exclusive_until_the_lease_expires(store: &impl TechDocsStore) {
    store
        .enqueue_build(A, "h1", "{}", IF_CHANGED, 10)
        .await
        .unwrap();
    store
        .enqueue_build(B, "h1", "{}", IF_CHANGED, 20)
        .await
        .unwrap();
    let first = store.claim_build("w1", 100, 1000).await.unwrap().unwrap();
    assert_eq!(
        (
            first.site_key.as_str(),
            first.state.as_str(),
            first.attempts,
            first.started_at
        ),
        (A, BUILD_BUILDING, 1, Some(100)),
        "the oldest request first"
    );
    let second = store.claim_build("w2", 100, 1000).await.unwrap().unwrap();
    assert_eq!(second.site_key, B, "a claimed job is not handed out twice");
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
            again.site_key.as_str(),
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
    let built = store.docs_site(B).await.unwrap().unwrap();
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
            .enqueue_build(A, "h1", "{}", IF_CHANGED, 2000)
            .await
            .unwrap(),
        "a built hash is current"
    );
}

async fn failures_keep_the_last_good_build(store: &impl TechDocsStore) {
    store
        .enqueue_build(A, "h1", "{}", IF_CHANGED, 10)
        .await
        .unwrap();
    store.claim_build("w", 20, 1000).await.unwrap().unwrap();
    store.finish_build(A, "w", ok(30)).await.unwrap();
    assert!(
        store
            .enqueue_build(A, "h2", "{\"v\":2}", IF_CHANGED, 40)
            .await
            .unwrap()
    );
    let queued = store.docs_site(A).await.unwrap().unwrap();
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
    let failure = store.docs_site(A).await.unwrap().unwrap();
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
        !store
            .enqueue_build(A, "h2", "{}", IF_CHANGED, 70)
            .await
            .unwrap(),
        "a failed hash is not rebuilt by itself"
    );
    assert!(
        store
            .enqueue_build(A, "h2", "{}", Requeue::RetryFailed, 80)
            .await
            .unwrap()
    );
    let retried = store.claim_build("w", 90, 1000).await.unwrap().unwrap();
    assert_eq!(retried.attempts, 1);
    store.finish_build(A, "w", ok(100)).await.unwrap();
    let fixed = store.docs_site(A).await.unwrap().unwrap();
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
    store
        .enqueue_build(A, "h1", "{}", IF_CHANGED, 10)
        .await
        .unwrap();
    store.claim_build("w1", 20, 1000).await.unwrap().unwrap();
    assert!(
        !store
            .enqueue_build(A, "h1", "{}", IF_CHANGED, 25)
            .await
            .unwrap(),
        "the hash being built is not queued again"
    );
    assert!(
        store
            .enqueue_build(A, "h2", "{}", IF_CHANGED, 30)
            .await
            .unwrap()
    );
    assert!(
        !store.heartbeat_build(A, "w1", 40, 1000).await.unwrap(),
        "the old build lost its job"
    );
    assert!(!store.finish_build(A, "w1", ok(50)).await.unwrap());
    let next = store.claim_build("w2", 60, 1000).await.unwrap().unwrap();
    assert_eq!((next.source_hash.as_str(), next.attempts), ("h2", 1));
}

fn row(entity_ref: &str, site_key: &str) -> DocsEntityRow {
    DocsEntityRow {
        entity_ref: entity_ref.to_owned(),
        site_key: site_key.to_owned(),
    }
}

async fn entities_map_to_sites(store: &impl TechDocsStore) {
    let (x, y, z) = (
        "component:default/x",
        "component:default/y",
        "system:default/z",
    );
    assert_eq!(
        store
            .map_docs_entities(&[row(x, A), row(y, A), row(z, B)])
            .await
            .unwrap(),
        [x, y, z]
    );
    assert!(
        store
            .map_docs_entities(&[row(x, A), row(y, A)])
            .await
            .unwrap()
            .is_empty(),
        "an unchanged mapping is not a change"
    );
    store
        .enqueue_build(A, "h1", "{}", IF_CHANGED, 10)
        .await
        .unwrap();
    store
        .enqueue_build(B, "h2", "{}", IF_CHANGED, 10)
        .await
        .unwrap();
    assert_eq!(store.site_entities(A).await.unwrap(), [x, y]);
    let of_y = store.docs_build(y).await.unwrap().unwrap();
    assert_eq!(
        (of_y.site_key.as_str(), of_y.source_hash.as_str()),
        (A, "h1")
    );
    assert!(
        store
            .docs_build("component:default/none")
            .await
            .unwrap()
            .is_none()
    );

    // The site is built once; an entity joining it asks for it again (to be published).
    store.claim_build("w", 20, 1000).await.unwrap().unwrap();
    store.finish_build(A, "w", ok(30)).await.unwrap();
    assert!(
        !store
            .enqueue_build(A, "h1", "{}", IF_CHANGED, 40)
            .await
            .unwrap(),
        "built and current"
    );
    assert!(
        store
            .enqueue_build(A, "h1", "{}", Requeue::Always, 41)
            .await
            .unwrap()
    );
    assert_eq!(
        store.docs_site(A).await.unwrap().unwrap().state,
        BUILD_QUEUED
    );
    // A fetched tree's content hash, learned while building, becomes the hash of record.
    let claimed = store.claim_build("w", 42, 1000).await.unwrap().unwrap();
    assert_eq!(claimed.site_key, B, "the oldest request first");
    let fetched = BuildOutcome {
        content_hash: Some("c1".to_owned()),
        ..ok(43)
    };
    assert!(store.finish_build(B, "w", fetched).await.unwrap());
    let site = store.docs_site(B).await.unwrap().unwrap();
    assert_eq!(
        (site.source_hash.as_str(), site.built_hash.as_deref()),
        ("c1", Some("c1"))
    );

    // z moves to A: B has no entity left and is forgotten.
    assert_eq!(store.map_docs_entities(&[row(z, A)]).await.unwrap(), [z]);
    assert!(store.docs_site(B).await.unwrap().is_none());
    assert_eq!(
        store.docs_entities().await.unwrap(),
        [row(x, A), row(y, A), row(z, A)]
    );
    assert_eq!(
        store
            .unmap_docs_entities(&[x.to_owned(), "component:default/none".to_owned()])
            .await
            .unwrap(),
        1
    );
    assert!(
        store.docs_site(A).await.unwrap().is_some(),
        "y and z remain"
    );
    store
        .unmap_docs_entities(&[y.to_owned(), z.to_owned()])
        .await
        .unwrap();
    assert!(store.docs_site(A).await.unwrap().is_none());
    assert!(store.docs_builds().await.unwrap().is_empty());
}

async fn unbuildable_sources_are_recorded_without_a_job(store: &impl TechDocsStore) {
    let why = "no mkdocs.yml in /a";
    assert!(
        store
            .record_unbuildable(A, "e1", "{}", BUILD_NO_CONFIG, why, 10)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_unbuildable(A, "e1", "{}", BUILD_NO_CONFIG, why, 11)
            .await
            .unwrap(),
        "recorded once"
    );
    let record = store.docs_site(A).await.unwrap().unwrap();
    assert_eq!(
        (record.state.as_str(), record.error.as_deref()),
        (BUILD_NO_CONFIG, Some(why))
    );
    assert!(
        store.claim_build("w", 20, 1000).await.unwrap().is_none(),
        "nothing to build"
    );
    // A config appears: a build is queued (no error left over), built; then the source
    // breaks for good.
    assert!(
        store
            .enqueue_build(A, "h1", "{}", IF_CHANGED, 30)
            .await
            .unwrap()
    );
    assert_eq!(store.docs_site(A).await.unwrap().unwrap().error, None);
    store.claim_build("w", 40, 1000).await.unwrap().unwrap();
    store.finish_build(A, "w", ok(50)).await.unwrap();
    assert!(
        store
            .record_unbuildable(A, "e2", "{}", BUILD_FAILED, "unsupported", 60)
            .await
            .unwrap()
    );
    let broken = store.docs_site(A).await.unwrap().unwrap();
    assert_eq!(broken.state, BUILD_FAILED);
    assert_eq!(
        (broken.built_hash.as_deref(), broken.last_built_at),
        (Some("h1"), Some(50)),
        "the last good build is kept"
    );
    assert!(
        store
            .enqueue_build(A, "e2", "{}", Requeue::RetryFailed, 70)
            .await
            .unwrap(),
        "a retry queues it"
    );
}

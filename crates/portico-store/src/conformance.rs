//! The store conformance suite: behaviour every [`CatalogStore`] must have, run by each
//! implementation's tests against a fresh, real database (`run_all`).
//!
//! Each check builds a small catalog through the trait alone and asserts what a user of the
//! catalog would observe: entities and their final form, relations in both directions,
//! orphans, conflicts, errors kept with the last good version, leases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod tasks;
pub mod techdocs;

use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    CatalogStore, ChildSource, EntityInput, ErrorItem, LocationOrigin, NewLocation, OrphanStrategy,
    RelationRow, SourceUpdate, StitchInput, Stitcher, StoredEntity,
};

/// A stitcher for tests: the final entity spells out every input, so assertions can see them.
#[derive(Debug, Default)]
pub struct EchoStitcher;

impl Stitcher for EchoStitcher {
    fn stitch(&self, input: &StitchInput<'_>) -> (String, String) {
        let entity: Value = serde_json::from_str(input.entity_json).unwrap_or(Value::Null);
        let text = json!({
            "entity": entity,
            "uid": input.uid,
            "relations": input.relations.iter().map(|(t, r)| format!("{t} {r}")).collect::<Vec<_>>(),
            "errors": input.errors.iter().map(|e| format!("{}: {}", e.name, e.message)).collect::<Vec<_>>(),
            "orphan": input.orphan,
        })
        .to_string();
        let etag = hash_of(&text);
        (text, etag)
    }
}

/// Runs every check, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: CatalogStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    locations_are_registered_listed_and_unique(&make().await).await;
    entities_are_stored_and_stitched_with_relations(&make().await).await;
    unchanged_input_writes_nothing(&make().await).await;
    invalid_new_version_keeps_last_good(&make().await).await;
    vanished_entities_are_orphaned_or_deleted(&make().await).await;
    second_source_cannot_take_an_entity(&make().await).await;
    read_failure_keeps_everything(&make().await).await;
    child_sources_are_added_and_removed_with_their_entities(&make().await).await;
    location_cycles_are_refused(&make().await).await;
    removing_a_location_removes_its_entities(&make().await).await;
    leases_are_exclusive_until_they_expire(&make().await).await;
    refresh_and_delete_by_uid(&make().await).await;
    partial_updates_only_retire_what_they_name(&make().await).await;
    changes_are_numbered_and_deletions_leave_tombstones(&make().await).await;
    expired_tombstones_are_pruned_and_the_horizon_moves(&make().await).await;
    recently_changed_lists_the_latest_writes_first(&make().await).await;
    several_sources_apply_in_order_in_one_call(&make().await).await;
    stale_stitches_are_not_written_and_batches_page_by_ref(&make().await).await;
}

fn hash_of(text: &str) -> String {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn entity(name: &str, owner: &str) -> EntityInput {
    let entity_ref = format!("component:default/{name}");
    let json = json!({"kind": "Component", "metadata": {"name": name}, "spec": {"owner": owner}})
        .to_string();
    EntityInput {
        input_hash: hash_of(&json),
        entity_json: json,
        relations: vec![
            RelationRow {
                source_ref: entity_ref.clone(),
                relation_type: "ownedBy".to_owned(),
                target_ref: format!("group:default/{owner}"),
            },
            RelationRow {
                source_ref: format!("group:default/{owner}"),
                relation_type: "ownerOf".to_owned(),
                target_ref: entity_ref.clone(),
            },
        ],
        entity_ref,
    }
}

fn group(name: &str) -> EntityInput {
    let json = json!({"kind": "Group", "metadata": {"name": name}}).to_string();
    EntityInput {
        entity_ref: format!("group:default/{name}"),
        input_hash: hash_of(&json),
        entity_json: json,
        relations: Vec::new(),
    }
}

async fn location<S: CatalogStore>(store: &S, target: &str) -> String {
    let record = store
        .add_location(NewLocation {
            id: format!("loc-{target}"),
            location_type: "file".to_owned(),
            target: target.to_owned(),
            origin: LocationOrigin::Api,
            now: 1,
        })
        .await
        .unwrap();
    record.source_key()
}

fn update(key: &str, entities: Vec<EntityInput>) -> SourceUpdate {
    SourceUpdate {
        key: key.to_owned(),
        content_hash: Some(format!("hash-{}", entities.len())),
        entities,
        next_refresh_at: 1_000,
        ..SourceUpdate::default()
    }
}

async fn stitch_all<S: CatalogStore>(store: &S) -> Vec<StoredEntity> {
    let mut all = Vec::new();
    loop {
        let batch = store.stitch_pending(&EchoStitcher, 2).await.unwrap();
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

async fn final_of<S: CatalogStore>(store: &S, entity_ref: &str) -> Option<Value> {
    store
        .final_entity(entity_ref)
        .await
        .unwrap()
        .map(|e| serde_json::from_str(&e.final_json).unwrap())
}

async fn all_refs<S: CatalogStore>(store: &S) -> Vec<String> {
    let mut refs = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.final_entities(after.as_deref(), 2).await.unwrap();
        let Some(last) = page.last() else { return refs };
        after = Some(last.entity_ref.clone());
        refs.extend(page.into_iter().map(|e| e.entity_ref));
    }
}

async fn locations_are_registered_listed_and_unique<S: CatalogStore>(store: &S) {
    let key = location(store, "/a.yaml").await;
    assert_eq!(key, "location:loc-/a.yaml");
    location(store, "/b.yaml").await;
    let listed = store.locations().await.unwrap();
    assert_eq!(
        listed.iter().map(|l| l.target.as_str()).collect::<Vec<_>>(),
        ["/a.yaml", "/b.yaml"]
    );
    let again = store
        .add_location(NewLocation {
            id: "other".to_owned(),
            location_type: "file".to_owned(),
            target: "/a.yaml".to_owned(),
            origin: LocationOrigin::Api,
            now: 2,
        })
        .await;
    assert!(
        matches!(again, Err(crate::StoreError::Conflict(_))),
        "{again:?}"
    );
    assert_eq!(
        store.location("loc-/b.yaml").await.unwrap().unwrap().target,
        "/b.yaml"
    );
    assert!(store.location("nope").await.unwrap().is_none());
    let source = store.source(&key).await.unwrap().unwrap();
    assert_eq!(source.next_refresh_at, 0, "a new location is due at once");
    store.ping().await.unwrap();
}

async fn entities_are_stored_and_stitched_with_relations<S: CatalogStore>(store: &S) {
    let key = location(store, "/c.yaml").await;
    let outcome = store
        .apply_source(
            update(&key, vec![entity("svc", "team-a"), group("team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    assert!(outcome.changed);
    let stitched = stitch_all(store).await;
    assert_eq!(stitched.len(), 2);
    let svc = final_of(store, "component:default/svc").await.unwrap();
    assert_eq!(svc["relations"], json!(["ownedBy group:default/team-a"]));
    let team = final_of(store, "group:default/team-a").await.unwrap();
    assert_eq!(team["relations"], json!(["ownerOf component:default/svc"]));
    assert_eq!(svc["orphan"], false);
    assert_eq!(
        all_refs(store).await,
        ["component:default/svc", "group:default/team-a"]
    );
    // The uid is stable across updates.
    let uid = svc["uid"].clone();
    store
        .apply_source(
            update(&key, vec![entity("svc", "team-b"), group("team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    let svc = final_of(store, "component:default/svc").await.unwrap();
    assert_eq!(svc["uid"], uid);
    assert_eq!(svc["relations"], json!(["ownedBy group:default/team-b"]));
    let team = final_of(store, "group:default/team-a").await.unwrap();
    assert_eq!(
        team["relations"],
        json!([]),
        "the old incoming relation is gone"
    );
}

async fn unchanged_input_writes_nothing<S: CatalogStore>(store: &S) {
    let key = location(store, "/d.yaml").await;
    store
        .apply_source(
            update(&key, vec![entity("svc", "team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    let outcome = store
        .apply_source(
            update(&key, vec![entity("svc", "team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    assert!(!outcome.changed, "{outcome:?}");
    assert!(stitch_all(store).await.is_empty());
}

async fn invalid_new_version_keeps_last_good<S: CatalogStore>(store: &S) {
    let key = location(store, "/e.yaml").await;
    store
        .apply_source(
            update(&key, vec![entity("svc", "team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    let broken = SourceUpdate {
        failed: vec![(
            "component:default/svc".to_owned(),
            vec![ErrorItem {
                name: "InputError".to_owned(),
                message: "spec.owner: missing".to_owned(),
            }],
        )],
        ..update(&key, Vec::new())
    };
    store
        .apply_source(broken, OrphanStrategy::Keep)
        .await
        .unwrap();
    stitch_all(store).await;
    let svc = final_of(store, "component:default/svc").await.unwrap();
    assert_eq!(
        svc["entity"]["spec"]["owner"], "team-a",
        "last good version kept"
    );
    assert_eq!(svc["errors"], json!(["InputError: spec.owner: missing"]));
    assert_eq!(svc["orphan"], false);
    // Fixing it clears the error.
    store
        .apply_source(
            update(&key, vec![entity("svc", "team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    assert_eq!(
        final_of(store, "component:default/svc").await.unwrap()["errors"],
        json!([])
    );
}

async fn vanished_entities_are_orphaned_or_deleted<S: CatalogStore>(store: &S) {
    let key = location(store, "/f.yaml").await;
    store
        .apply_source(
            update(
                &key,
                vec![entity("keep", "team-a"), entity("gone", "team-a")],
            ),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    store
        .apply_source(
            update(&key, vec![entity("keep", "team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    assert_eq!(
        final_of(store, "component:default/gone").await.unwrap()["orphan"],
        true
    );
    assert_eq!(
        final_of(store, "component:default/keep").await.unwrap()["orphan"],
        false
    );
    // With the delete strategy an entity that vanishes is removed.
    store
        .apply_source(update(&key, Vec::new()), OrphanStrategy::Delete)
        .await
        .unwrap();
    stitch_all(store).await;
    assert!(final_of(store, "component:default/keep").await.is_none());
    // The orphan stays orphaned (it was no longer the source's).
    assert!(final_of(store, "component:default/gone").await.is_some());
}

async fn second_source_cannot_take_an_entity<S: CatalogStore>(store: &S) {
    let first = location(store, "/g1.yaml").await;
    let second = location(store, "/g2.yaml").await;
    store
        .apply_source(
            update(&first, vec![entity("svc", "team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    let outcome = store
        .apply_source(
            update(&second, vec![entity("svc", "team-b")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    assert_eq!(
        outcome.conflicts,
        [("component:default/svc".to_owned(), first.clone())]
    );
    stitch_all(store).await;
    let svc = final_of(store, "component:default/svc").await.unwrap();
    assert_eq!(
        svc["entity"]["spec"]["owner"], "team-a",
        "never silently overwritten"
    );
    let source = store.source(&second).await.unwrap().unwrap();
    assert_eq!(source.errors.len(), 1);
    assert_eq!(source.errors[0].name, "ConflictError");
}

async fn read_failure_keeps_everything<S: CatalogStore>(store: &S) {
    let key = location(store, "/h.yaml").await;
    store
        .apply_source(
            update(&key, vec![entity("svc", "team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    let failed = SourceUpdate {
        key: key.clone(),
        content_hash: None,
        read_errors: vec![ErrorItem {
            name: "NotFoundError".to_owned(),
            message: "/h.yaml does not exist".to_owned(),
        }],
        next_refresh_at: 5,
        ..SourceUpdate::default()
    };
    store
        .apply_source(failed, OrphanStrategy::Delete)
        .await
        .unwrap();
    stitch_all(store).await;
    let svc = final_of(store, "component:default/svc").await.unwrap();
    assert_eq!(svc["orphan"], false);
    assert_eq!(
        svc["errors"],
        json!(["NotFoundError: /h.yaml does not exist"])
    );
    assert_eq!(
        store.source(&key).await.unwrap().unwrap().next_refresh_at,
        5
    );
}

async fn child_sources_are_added_and_removed_with_their_entities<S: CatalogStore>(store: &S) {
    let root = location(store, "/i.yaml").await;
    let location_entity = "location:default/root".to_owned();
    let with_child = SourceUpdate {
        children: vec![ChildSource {
            key: "file:/i.yaml".to_owned(),
            named_by: location_entity.clone(),
        }],
        ..update(&root, vec![group("root-owner")])
    };
    let outcome = store
        .apply_source(with_child.clone(), OrphanStrategy::Keep)
        .await
        .unwrap();
    assert_eq!(outcome.new_children, ["file:/i.yaml"]);
    let child = store.source("file:/i.yaml").await.unwrap().unwrap();
    assert_eq!(child.parent_key.as_deref(), Some(root.as_str()));
    assert_eq!(child.named_by.as_deref(), Some(location_entity.as_str()));
    store
        .apply_source(
            update("file:/i.yaml", vec![entity("child-svc", "team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    // Applying the parent again does not re-add the child.
    let outcome = store
        .apply_source(with_child, OrphanStrategy::Keep)
        .await
        .unwrap();
    assert!(outcome.new_children.is_empty());
    // Dropping the target removes the child source; its entity is orphaned.
    store
        .apply_source(
            update(&root, vec![group("root-owner")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    assert!(store.source("file:/i.yaml").await.unwrap().is_none());
    stitch_all(store).await;
    assert_eq!(
        final_of(store, "component:default/child-svc")
            .await
            .unwrap()["orphan"],
        true
    );
}

async fn location_cycles_are_refused<S: CatalogStore>(store: &S) {
    let root = location(store, "/j.yaml").await;
    let to_a = |named_by: &str| ChildSource {
        key: "file:/a.yaml".to_owned(),
        named_by: named_by.to_owned(),
    };
    store
        .apply_source(
            SourceUpdate {
                children: vec![to_a("location:default/root")],
                ..update(&root, Vec::new())
            },
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    store
        .apply_source(
            SourceUpdate {
                children: vec![ChildSource {
                    key: "file:/b.yaml".to_owned(),
                    named_by: "location:default/a".to_owned(),
                }],
                ..update("file:/a.yaml", Vec::new())
            },
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    let outcome = store
        .apply_source(
            SourceUpdate {
                children: vec![to_a("location:default/b")],
                ..update("file:/b.yaml", Vec::new())
            },
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    assert!(outcome.new_children.is_empty());
    let b = store.source("file:/b.yaml").await.unwrap().unwrap();
    assert_eq!(b.errors.len(), 1, "{:?}", b.errors);
    assert!(
        b.errors[0].message.contains("location cycle"),
        "{}",
        b.errors[0].message
    );
}

async fn removing_a_location_removes_its_entities<S: CatalogStore>(store: &S) {
    let mine = location(store, "/k1.yaml").await;
    let other = location(store, "/k2.yaml").await;
    store
        .apply_source(
            update(&mine, vec![entity("svc", "team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    store
        .apply_source(update(&other, vec![group("team-a")]), OrphanStrategy::Keep)
        .await
        .unwrap();
    stitch_all(store).await;
    assert_eq!(
        final_of(store, "group:default/team-a").await.unwrap()["relations"],
        json!(["ownerOf component:default/svc"])
    );
    let removal = store.remove_location("loc-/k1.yaml").await.unwrap();
    assert_eq!(removal.removed, ["component:default/svc"]);
    stitch_all(store).await;
    assert!(final_of(store, "component:default/svc").await.is_none());
    assert_eq!(
        final_of(store, "group:default/team-a").await.unwrap()["relations"],
        json!([])
    );
    assert!(store.source(&mine).await.unwrap().is_none());
    assert!(matches!(
        store.remove_location("loc-/k1.yaml").await,
        Err(crate::StoreError::NotFound(_))
    ));
}

async fn leases_are_exclusive_until_they_expire<S: CatalogStore>(store: &S) {
    let a = location(store, "/l1.yaml").await;
    let b = location(store, "/l2.yaml").await;
    assert_eq!(store.queue_depth(100).await.unwrap(), (2, 0));
    let first = store.claim_due_sources("one", 100, 50, 10).await.unwrap();
    let keys: Vec<_> = first.iter().map(|s| s.key.clone()).collect();
    assert_eq!(keys, [a.clone(), b.clone()]);
    assert!(
        store
            .claim_due_sources("two", 120, 50, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // After the lease runs out, another worker may take the work.
    assert_eq!(
        store
            .claim_due_sources("two", 151, 50, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    // Rescheduling releases the lease and sets the next due time.
    store.reschedule_source(&a, 10_000).await.unwrap();
    let due: Vec<_> = store
        .claim_due_sources("three", 300, 50, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.key)
        .collect();
    assert_eq!(due, [b]);
}

async fn refresh_and_delete_by_uid<S: CatalogStore>(store: &S) {
    let key = location(store, "/m.yaml").await;
    store
        .apply_source(
            update(&key, vec![entity("svc", "team-a"), group("team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    assert_eq!(
        store.source(&key).await.unwrap().unwrap().next_refresh_at,
        1_000
    );
    assert!(
        store
            .request_refresh("component:default/svc", 7)
            .await
            .unwrap()
    );
    assert_eq!(
        store.source(&key).await.unwrap().unwrap().next_refresh_at,
        7
    );
    assert!(
        !store
            .request_refresh("component:default/none", 7)
            .await
            .unwrap()
    );
    let (origin, source_key) = store
        .entity_origin("component:default/svc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (origin.target.as_str(), source_key.as_str()),
        ("/m.yaml", key.as_str())
    );
    let uid = store
        .final_entity("component:default/svc")
        .await
        .unwrap()
        .unwrap()
        .uid;
    let removal = store.delete_entity(&uid).await.unwrap().unwrap();
    assert_eq!(removal.removed, ["component:default/svc"]);
    assert!(store.delete_entity(&uid).await.unwrap().is_none());
    stitch_all(store).await;
    assert_eq!(
        final_of(store, "group:default/team-a").await.unwrap()["relations"],
        json!([])
    );
}

async fn partial_updates_only_retire_what_they_name<S: CatalogStore>(store: &S) {
    let key = location(store, "/n.yaml").await;
    store
        .apply_source(
            update(&key, vec![entity("a", "t"), entity("b", "t")]),
            OrphanStrategy::Delete,
        )
        .await
        .unwrap();
    let delta = SourceUpdate {
        partial: true,
        removed: vec!["component:default/a".to_owned()],
        ..update(&key, vec![entity("c", "t")])
    };
    let outcome = store
        .apply_source(delta, OrphanStrategy::Delete)
        .await
        .unwrap();
    assert_eq!(outcome.removed, ["component:default/a"]);
    stitch_all(store).await;
    let refs = all_refs(store).await;
    assert_eq!(refs, ["component:default/b", "component:default/c"]);
}

/// Every change to final entities, as `(ref, written?)`, after `since`, walked in pages of one.
async fn changes_since<S: CatalogStore>(
    store: &S,
    since: i64,
    foreign_only: bool,
) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut after: Option<(i64, String)> = None;
    loop {
        let page = store
            .final_changes(
                since,
                after.as_ref().map(|(s, r)| (*s, r.as_str())),
                foreign_only,
                1,
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { return out };
        assert!(last.seq > since);
        if let Some(entity) = &last.entity {
            assert_eq!(entity.entity_ref, last.entity_ref);
        }
        after = Some((last.seq, last.entity_ref.clone()));
        out.extend(page.into_iter().map(|c| (c.entity_ref, c.entity.is_some())));
    }
}

async fn changes_are_numbered_and_deletions_leave_tombstones<S: CatalogStore>(store: &S) {
    let start = store.change_position().await.unwrap();
    assert!(!start.instance.is_empty());
    let mine = location(store, "/m1.yaml").await;
    store
        .apply_source(
            update(&mine, vec![entity("svc", "team-a"), group("team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    let written = store.change_position().await.unwrap();
    assert_eq!(written.instance, start.instance);
    assert!(written.seq > start.seq);
    let mut seen = changes_since(store, start.seq, false).await;
    seen.sort();
    assert_eq!(
        seen,
        [
            ("component:default/svc".to_owned(), true),
            ("group:default/team-a".to_owned(), true)
        ]
    );
    // This handle wrote them: a sync that skips its own changes sees nothing.
    assert!(changes_since(store, start.seq, true).await.is_empty());
    assert!(changes_since(store, written.seq, false).await.is_empty());

    store
        .apply_source(update(&mine, vec![group("team-a")]), OrphanStrategy::Delete)
        .await
        .unwrap();
    stitch_all(store).await;
    let deleted = store.change_position().await.unwrap();
    assert!(deleted.seq > written.seq);
    // The deletion is listed (also to this handle), with the group restitched without it.
    assert_eq!(
        changes_since(store, written.seq, false).await,
        [
            ("component:default/svc".to_owned(), false),
            ("group:default/team-a".to_owned(), true)
        ]
    );
    assert_eq!(
        changes_since(store, written.seq, true).await,
        [("component:default/svc".to_owned(), false)]
    );
    // Written again, it is no longer deleted: only its latest state is listed.
    store
        .apply_source(
            update(&mine, vec![entity("svc", "team-a"), group("team-a")]),
            OrphanStrategy::Delete,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    let again = changes_since(store, written.seq, false).await;
    assert!(again.contains(&("component:default/svc".to_owned(), true)));
    assert!(!again.contains(&("component:default/svc".to_owned(), false)));
}

async fn expired_tombstones_are_pruned_and_the_horizon_moves<S: CatalogStore>(store: &S) {
    const HOUR: Duration = Duration::from_secs(3600);
    let start = store.change_position().await.unwrap();
    assert_eq!(start.pruned_through, 0);
    // Nothing deleted yet: nothing to prune, however short the retention.
    assert_eq!(store.prune_tombstones(Duration::ZERO).await.unwrap(), 0);
    let mine = location(store, "/p1.yaml").await;
    store
        .apply_source(
            update(
                &mine,
                vec![
                    entity("a", "team-a"),
                    entity("b", "team-a"),
                    group("team-a"),
                ],
            ),
            OrphanStrategy::Delete,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    store
        .apply_source(
            update(&mine, vec![entity("b", "team-a"), group("team-a")]),
            OrphanStrategy::Delete,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    let deleted = store.change_position().await.unwrap();
    assert!(
        changes_since(store, start.seq, false)
            .await
            .contains(&("component:default/a".to_owned(), false))
    );
    // Within the retention it is kept.
    assert_eq!(store.prune_tombstones(HOUR).await.unwrap(), 0);
    assert_eq!(store.change_position().await.unwrap().pruned_through, 0);
    // Past it, it is forgotten, and the store says up to which change deletions may be missing.
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        store
            .prune_tombstones(Duration::from_millis(1))
            .await
            .unwrap(),
        1
    );
    let pruned = store.change_position().await.unwrap();
    assert!(pruned.pruned_through > start.seq);
    assert!(pruned.pruned_through <= deleted.seq);
    assert_eq!(
        pruned.seq, deleted.seq,
        "pruning is not a change to entities"
    );
    assert!(
        !changes_since(store, start.seq, false)
            .await
            .iter()
            .any(|(_, present)| !present)
    );
    // Entities are untouched, and a later deletion is tracked again.
    assert!(
        store
            .final_entity("component:default/b")
            .await
            .unwrap()
            .is_some()
    );
    store
        .apply_source(update(&mine, vec![group("team-a")]), OrphanStrategy::Delete)
        .await
        .unwrap();
    stitch_all(store).await;
    assert!(
        changes_since(store, pruned.seq, false)
            .await
            .contains(&("component:default/b".to_owned(), false))
    );
    // The horizon never moves back.
    assert_eq!(store.prune_tombstones(HOUR).await.unwrap(), 0);
    assert_eq!(
        store.change_position().await.unwrap().pruned_through,
        pruned.pruned_through
    );
}

async fn recently_changed_lists_the_latest_writes_first<S: CatalogStore>(store: &S) {
    assert!(store.recently_changed(5).await.unwrap().is_empty());
    let first = location(store, "/r1.yaml").await;
    store
        .apply_source(
            update(&first, vec![entity("old", "team-a"), group("team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    let second = location(store, "/r2.yaml").await;
    store
        .apply_source(
            update(&second, vec![entity("newer", "team-b")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    let refs = |list: Vec<StoredEntity>| -> Vec<String> {
        list.into_iter().map(|e| e.entity_ref).collect()
    };
    let recent = refs(store.recently_changed(10).await.unwrap());
    assert_eq!(
        recent.first().map(String::as_str),
        Some("component:default/newer")
    );
    assert_eq!(
        recent.last().map(String::as_str),
        Some("group:default/team-a"),
        "written first, listed last: {recent:?}"
    );
    assert_eq!(recent.len(), 3, "{recent:?}");
    assert_eq!(store.recently_changed(1).await.unwrap().len(), 1);
    // Changing the old one makes it the most recent.
    store
        .apply_source(
            update(&first, vec![entity("old", "team-c"), group("team-a")]),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    stitch_all(store).await;
    let recent = refs(store.recently_changed(1).await.unwrap());
    assert!(
        recent == ["component:default/old"] || recent == ["group:default/team-a"],
        "{recent:?}"
    );
}

async fn several_sources_apply_in_order_in_one_call<S: CatalogStore>(store: &S) {
    let root = location(store, "/batch.yaml").await;
    let other = location(store, "/batch-other.yaml").await;
    let with_child = SourceUpdate {
        children: vec![ChildSource {
            key: "file:/batch-child.yaml".to_owned(),
            named_by: "location:default/batch".to_owned(),
        }],
        ..update(&root, vec![group("batch-team")])
    };
    // The second update claims the first one's entity: order decides, as with one call each.
    let outcomes = store
        .apply_sources(
            vec![
                with_child,
                update(
                    &other,
                    vec![group("batch-team"), entity("batch-svc", "batch-team")],
                ),
            ],
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0].new_children, ["file:/batch-child.yaml"]);
    assert_eq!(
        outcomes[1].conflicts,
        [("group:default/batch-team".to_owned(), root.clone())]
    );
    stitch_all(store).await;
    assert!(
        final_of(store, "component:default/batch-svc")
            .await
            .is_some()
    );
    let team = final_of(store, "group:default/batch-team").await.unwrap();
    assert!(
        team["relations"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r == "ownerOf component:default/batch-svc")),
        "relations from both sources of the batch: {team}"
    );
    // An empty batch is a no-op.
    assert!(
        store
            .apply_sources(Vec::new(), OrphanStrategy::Keep)
            .await
            .unwrap()
            .is_empty()
    );
}

/// What `pending_stitches` read is written only while it is current: an entity whose inputs
/// changed after the read, or that was deleted, is not written from the stale read (and the
/// first stays queued); batches page in ref order.
async fn stale_stitches_are_not_written_and_batches_page_by_ref<S: CatalogStore>(store: &S) {
    let key = location(store, "/stale.yaml").await;
    store
        .apply_source(
            update(
                &key,
                vec![
                    entity("a", "team-a"),
                    entity("b", "team-a"),
                    group("team-a"),
                ],
            ),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    let first = store.pending_stitches(None, 2).await.unwrap();
    let refs: Vec<&str> = first.iter().map(|p| p.entity_ref.as_str()).collect();
    assert_eq!(refs, ["component:default/a", "component:default/b"]);
    let rest = store
        .pending_stitches(Some("component:default/b"), 10)
        .await
        .unwrap();
    let refs: Vec<&str> = rest.iter().map(|p| p.entity_ref.as_str()).collect();
    assert_eq!(refs, ["group:default/team-a"]);
    assert_eq!(rest[0].relations.len(), 2, "{:?}", rest[0].relations);

    // "a" changes and "b" is deleted after the read.
    store
        .apply_source(
            update(
                &key,
                vec![
                    entity("a", "team-b"),
                    entity("b", "team-a"),
                    group("team-a"),
                ],
            ),
            OrphanStrategy::Keep,
        )
        .await
        .unwrap();
    let b_uid = first[1].uid.clone();
    let stitched = first
        .into_iter()
        .map(|p| {
            let (text, etag) = EchoStitcher.stitch(&p.input());
            p.into_stitched(text, etag)
        })
        .collect();
    assert!(store.delete_entity(&b_uid).await.unwrap().is_some());
    let written = store.write_stitched(stitched).await.unwrap();
    assert!(written.is_empty(), "stale results written: {written:?}");
    assert!(final_of(store, "component:default/b").await.is_none());
    stitch_all(store).await;
    let a = final_of(store, "component:default/a").await.unwrap();
    assert_eq!(a["relations"], json!(["ownedBy group:default/team-b"]));
    assert!(final_of(store, "component:default/b").await.is_none());
    assert!(store.pending_stitches(None, 10).await.unwrap().is_empty());
}

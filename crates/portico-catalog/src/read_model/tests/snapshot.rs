//! Snapshots: a read model written and read back answers every query as before and stays
//! maintainable (its hash tables are rebuilt); a truncated, corrupt or foreign file is an
//! error, never a panic or a wrong model.

use std::io::Cursor;

use super::generated::{Rng, generated_entity};
use super::*;

fn position() -> SnapshotPosition {
    SnapshotPosition {
        store_instance: "db-1".to_owned(),
        change_seq: 42,
    }
}

/// A generated model with churn, so that free lists and arena garbage are non-trivial.
fn churned_model(n: usize) -> ReadModel {
    let mut rng = Rng(7);
    let mut model = ReadModel::new();
    let entities: Vec<Value> = (0..n).map(|i| generated_entity(i, &mut rng)).collect();
    for e in &entities {
        model.upsert(e).unwrap();
    }
    for e in entities.iter().step_by(7) {
        let r = super::super::flatten::entity_ref_of(e).unwrap();
        model.remove(&r);
    }
    for (i, e) in entities.iter().enumerate().step_by(11) {
        let mut changed = e.clone();
        changed["metadata"]["description"] = json!(format!("changed {i}"));
        model.upsert(&changed).unwrap();
    }
    model
}

fn snapshot_bytes(model: &ReadModel) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    model.write_snapshot(&mut out, &position()).unwrap();
    out.into_inner()
}

fn answers(model: &ReadModel) -> Vec<String> {
    let mut out = Vec::new();
    for params in [
        &["kind=component"][..],
        &["kind=api,spec.type=grpc"],
        &["metadata.tags=rust", "kind=group"],
        &["metadata.namespace=other"],
    ] {
        let predicate = filter(params);
        out.push(format!("{:?}", model.refs_matching(&predicate)));
        let page = model
            .query(&EntityQuery {
                filter: predicate.clone(),
                order: vec![OrderField::desc("metadata.title")],
                full_text: Some(FullTextFilter {
                    term: "pay".to_owned(),
                    fields: vec!["metadata.name".to_owned()],
                }),
                limit: 25,
                ..EntityQuery::default()
            })
            .unwrap();
        out.push(format!("{:?} {}", names_of(&page.items), page.total_items));
        out.push(format!(
            "{:?}",
            model.facets(
                &["spec.type".to_owned(), "metadata.tags".to_owned()],
                &predicate
            )
        ));
    }
    let stats = model.stats();
    out.push(format!(
        "{} {} {} {} {}",
        stats.entities, stats.keys, stats.values, stats.rows, stats.json_bytes
    ));
    out
}

#[test]
fn a_snapshot_reads_back_to_the_same_answers_and_stays_maintainable() {
    let mut model = churned_model(3_000);
    let bytes = snapshot_bytes(&model);
    let (mut loaded, at) = ReadModel::read_snapshot(&bytes[..], DEFAULT_FULL_TEXT_KEYS).unwrap();
    assert_eq!(at, position());
    assert_eq!(loaded.len(), model.len());
    assert_eq!(answers(&loaded), answers(&model));
    let some_ref = model.refs_matching(&filter(&["kind=component"]))[3].clone();
    assert_eq!(loaded.by_ref(&some_ref), model.by_ref(&some_ref));
    let uid: Value = serde_json::from_str(&model.by_ref(&some_ref).unwrap()).unwrap();
    let uid = uid["metadata"]["uid"].as_str().unwrap();
    assert_eq!(loaded.by_uid(uid), model.by_uid(uid));

    // Lookups and updates after loading go through the rebuilt hash tables.
    let mut rng = Rng(99);
    for i in 5_000..5_200 {
        let e = generated_entity(i, &mut rng);
        model.upsert(&e).unwrap();
        loaded.upsert(&e).unwrap();
    }
    for r in model.refs_matching(&filter(&["kind=api"])).iter().take(50) {
        assert!(model.remove(r));
        assert!(loaded.remove(r));
    }
    assert_eq!(answers(&loaded), answers(&model));
    // And a snapshot of the loaded model is the same snapshot.
    assert_eq!(
        answers(
            &ReadModel::read_snapshot(&snapshot_bytes(&loaded)[..], DEFAULT_FULL_TEXT_KEYS)
                .unwrap()
                .0
        ),
        answers(&model)
    );
}

#[test]
fn an_empty_model_round_trips() {
    let bytes = snapshot_bytes(&ReadModel::new());
    let (loaded, _) = ReadModel::read_snapshot(&bytes[..], DEFAULT_FULL_TEXT_KEYS).unwrap();
    assert!(loaded.is_empty());
}

#[test]
fn corrupt_and_truncated_snapshots_are_errors() {
    let model = churned_model(200);
    let bytes = snapshot_bytes(&model);
    for len in [0, 10, 51, 52, 60, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            ReadModel::read_snapshot(&bytes[..len], DEFAULT_FULL_TEXT_KEYS).is_err(),
            "truncated to {len} bytes"
        );
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"junk");
    // Trailing bytes past the recorded length are not read; the body is intact.
    assert!(ReadModel::read_snapshot(&longer[..], DEFAULT_FULL_TEXT_KEYS).is_ok());
    // Every flipped byte, header or body, is detected (by the decoder or by the checksum).
    for at in (0..bytes.len()).step_by(bytes.len() / 300) {
        let mut broken = bytes.clone();
        broken[at] ^= 0x20;
        assert!(
            ReadModel::read_snapshot(&broken[..], DEFAULT_FULL_TEXT_KEYS).is_err(),
            "byte {at} flipped"
        );
    }
    let mut broken = bytes.clone();
    let last = broken.len() - 1;
    broken[last] ^= 1;
    assert!(matches!(
        ReadModel::read_snapshot(&broken[..], DEFAULT_FULL_TEXT_KEYS),
        Err(SnapshotError::Checksum | SnapshotError::Io(_))
    ));
}

#[test]
fn other_versions_and_other_full_text_keys_are_refused() {
    let bytes = snapshot_bytes(&churned_model(50));
    let mut other_version = bytes.clone();
    other_version[8] = 99;
    assert!(matches!(
        ReadModel::read_snapshot(&other_version[..], DEFAULT_FULL_TEXT_KEYS),
        Err(SnapshotError::Format(_))
    ));
    assert!(matches!(
        ReadModel::read_snapshot(
            &b"not a snapshot at all, just some text that is long"[..],
            DEFAULT_FULL_TEXT_KEYS
        ),
        Err(SnapshotError::Format(_))
    ));
    assert!(matches!(
        ReadModel::read_snapshot(&bytes[..], &["metadata.name"]),
        Err(SnapshotError::FullTextKeys { .. })
    ));
}

//! Unit tests of the read model: the two filter languages, indexing semantics (Backstage's
//! search rows), facets, ordering, cursor and offset pagination (also under concurrent
//! changes), full-text search, projection and index maintenance. Hand-written entities check
//! the rules one by one; a generated catalog of 5,000 entities is checked against a naive
//! evaluator that filters and sorts the flattened rows directly.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod generated;
mod indexing;
mod paging;
mod parsing;
mod snapshot;

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;

/// An entity with `metadata.uid` = `uid-<name>`, merging `extra` at the root (objects merged
/// one level deep into `metadata`/`spec`).
fn entity(kind: &str, name: &str, extra: Value) -> Value {
    let mut entity = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "uid": format!("uid-{name}")},
    });
    if let (Value::Object(target), Value::Object(extra)) = (&mut entity, extra) {
        for (key, value) in extra {
            match (target.get_mut(&key), value) {
                (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
                (_, value) => {
                    target.insert(key, value);
                }
            }
        }
    }
    entity
}

fn model_of(entities: &[Value]) -> ReadModel {
    let mut model = ReadModel::new();
    for e in entities {
        model.upsert(e).unwrap();
    }
    model
}

fn filter(params: &[&str]) -> Predicate {
    Predicate::from_filter_params(&params.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        .unwrap()
}

fn names_of(items: &[Arc<str>]) -> Vec<String> {
    items
        .iter()
        .map(|json| {
            let value: Value = serde_json::from_str(json).unwrap();
            value["metadata"]["name"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Names (as written) of every entity matching `filter`, through `refs_matching`, sorted.
fn matching_names(model: &ReadModel, predicate: &Predicate) -> Vec<String> {
    let items: Vec<Arc<str>> = model
        .refs_matching(predicate)
        .iter()
        .map(|r| model.by_ref(r).unwrap())
        .collect();
    let mut names = names_of(&items);
    names.sort();
    names
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

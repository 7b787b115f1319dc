//! A generated catalog of 5,000 entities checked against a naive evaluator that works on the
//! flattened rows directly: filters, ordering, full cursor walks in both directions, facets,
//! full-text search, index maintenance under churn, and cursor walks while the catalog changes.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::super::flatten::{FlatRow, flatten};
use super::*;

const ENTITIES: usize = 5_000;

/// SplitMix64: deterministic, no dependency.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "alpha", "billing", "cart", "delta", "echo", "ledger", "payments", "search",
];
const TAGS: &[&str] = &["java", "go", "python", "react", "rust", "Tier-1"];

pub(super) fn generated_entity(i: usize, rng: &mut Rng) -> Value {
    let roll = rng.below(100);
    let (kind, types): (&str, &[&str]) = match roll {
        0..55 => ("Component", &["service", "website", "library"]),
        55..75 => ("API", &["openapi", "grpc", "graphql"]),
        75..85 => ("Resource", &["database", "bucket"]),
        85..90 => ("Group", &["team"]),
        _ => ("User", &[]),
    };
    let name = format!("{}-{i}", rng.pick(WORDS));
    let mut metadata = json!({
        "name": name,
        "uid": format!("{:016x}", Rng(i as u64).next()),
    });
    if rng.below(10) == 0 {
        metadata["namespace"] = json!("other");
    }
    if rng.below(2) == 0 {
        // Few distinct titles: many ties; mixed case.
        metadata["title"] = json!(format!(
            "{} {}",
            rng.pick(&["Alpha", "beta", "Gamma"]),
            rng.below(40)
        ));
    }
    if rng.below(3) == 0 {
        metadata["description"] = json!(format!(
            "Handles {} for the {} team",
            rng.pick(WORDS),
            rng.pick(WORDS)
        ));
    }
    let tags: Vec<&str> = (0..rng.below(4)).map(|_| rng.pick(TAGS)).collect();
    if !tags.is_empty() {
        metadata["tags"] = json!(tags);
    }
    let owner = format!("group-{}", rng.below(20));
    let mut entity = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": metadata,
        "relations": [{"type": "ownedBy", "targetRef": format!("group:default/{owner}")}],
    });
    if !types.is_empty() {
        entity["spec"] = json!({
            "type": rng.pick(types),
            "lifecycle": rng.pick(&["production", "experimental", "deprecated"]),
            "owner": owner,
        });
    } else {
        entity["spec"] = json!({"profile": {"email": format!("{name}@acme.example")}});
    }
    entity
}

fn generated() -> Vec<Value> {
    let mut rng = Rng(7);
    (0..ENTITIES)
        .map(|i| generated_entity(i, &mut rng))
        .collect()
}

fn naive_match(rows: &[FlatRow], predicate: &Predicate) -> bool {
    let has = |key: &str, test: &dyn Fn(&str) -> bool| {
        rows.iter()
            .any(|r| r.key == key && r.value.as_ref().is_some_and(|v| test(&v.lower)))
    };
    match predicate {
        Predicate::MatchAll => true,
        Predicate::All(children) => children.iter().all(|c| naive_match(rows, c)),
        Predicate::Any(children) => children.iter().any(|c| naive_match(rows, c)),
        Predicate::Not(child) => !naive_match(rows, child),
        Predicate::Exists { key } => rows.iter().any(|r| r.key == *key),
        Predicate::In { key, values } => has(key, &|v| values.iter().any(|x| x == v)),
        Predicate::HasPrefix { key, prefix } => has(key, &|v| v.starts_with(prefix.as_str())),
    }
}

struct Naive {
    flat: Vec<(String, Option<String>, Vec<FlatRow>)>,
}

impl Naive {
    fn new(entities: &[Value]) -> Self {
        Naive {
            flat: entities
                .iter()
                .map(|e| {
                    let f = flatten(e).unwrap();
                    (f.entity_ref, f.uid, f.rows)
                })
                .collect(),
        }
    }

    /// Refs matching, in query order.
    fn query(
        &self,
        predicate: &Predicate,
        order: Option<&OrderField>,
        term: Option<(&str, &[&str])>,
    ) -> Vec<String> {
        let key = order.map_or("metadata.uid".to_owned(), |o| o.field.to_lowercase());
        let descending = order.is_some_and(|o| o.descending);
        let mut hits: Vec<(Option<String>, String, String)> = self
            .flat
            .iter()
            .filter(|(_, _, rows)| naive_match(rows, predicate))
            .filter(|(_, _, rows)| match term {
                None => true,
                Some((term, fields)) => rows.iter().any(|r| {
                    fields.contains(&r.key.as_str())
                        && r.value.as_ref().is_some_and(|v| v.lower.contains(term))
                }),
            })
            .map(|(r, uid, rows)| {
                let values = rows
                    .iter()
                    .filter(|row| row.key == key)
                    .filter_map(|row| row.value.as_ref())
                    .map(|v| v.lower.clone());
                let value = if descending {
                    values.max()
                } else {
                    values.min()
                };
                (value, uid.clone().unwrap_or_else(|| r.clone()), r.clone())
            })
            .collect();
        hits.sort_by(|a, b| {
            let directed = |o: Ordering| if descending { o.reverse() } else { o };
            match (&a.0, &b.0) {
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                _ => directed(
                    a.0.cmp(&b.0)
                        .then_with(|| a.1.cmp(&b.1))
                        .then_with(|| a.2.cmp(&b.2)),
                ),
            }
        });
        hits.into_iter().map(|(_, _, r)| r).collect()
    }
}

fn refs_of(items: &[Arc<str>]) -> Vec<String> {
    items
        .iter()
        .map(|json| {
            super::super::flatten::entity_ref_of(&serde_json::from_str(json).unwrap()).unwrap()
        })
        .collect()
}

fn predicates() -> Vec<Predicate> {
    vec![
        Predicate::MatchAll,
        filter(&["kind=component,spec.type=service"]),
        filter(&["kind=api"]),
        filter(&["relations.ownedby=group:default/group-3"]),
        filter(&["metadata.tags=java,metadata.tags=tier-1"]),
        filter(&["metadata.tags.go", "metadata.namespace=other"]),
        Predicate::from_json(&json!({"$not": {"kind": "component"}})).unwrap(),
        Predicate::from_json(&json!({"spec.lifecycle": {"$hasPrefix": "ex"}})).unwrap(),
        Predicate::from_json(
            &json!({"$all": [{"kind": "user"}, {"metadata.title": {"$exists": false}}]}),
        )
        .unwrap(),
    ]
}

fn orders() -> Vec<Option<OrderField>> {
    vec![
        None,
        Some(OrderField::asc("metadata.name")),
        Some(OrderField::asc("metadata.title")),
        Some(OrderField::desc("metadata.title")),
        Some(OrderField::asc("metadata.tags")),
        Some(OrderField::desc("metadata.tags")),
        Some(OrderField::desc("spec.type")),
        Some(OrderField::asc("spec.nothing")),
    ]
}

/// Every page forward, then every page back through `prev_cursor`; both must equal `expected`.
fn check_walk(
    model: &ReadModel,
    predicate: &Predicate,
    order: Option<&OrderField>,
    limit: usize,
    expected: &[String],
) {
    let context = format!("{predicate:?} {order:?} limit {limit}");
    let first = model
        .query(&EntityQuery {
            filter: predicate.clone(),
            order: order.cloned().into_iter().collect(),
            limit,
            ..EntityQuery::default()
        })
        .unwrap();
    assert_eq!(first.total_items, expected.len(), "{context}");
    assert!(first.prev_cursor.is_none(), "{context}");
    let mut pages = vec![first];
    while let Some(next) = pages.last().and_then(|p| p.next_cursor.clone()) {
        let page = model
            .query(&EntityQuery {
                cursor: Some(next),
                limit,
                ..EntityQuery::default()
            })
            .unwrap();
        assert!(page.prev_cursor.is_some(), "{context}");
        assert_eq!(page.total_items, expected.len(), "{context}");
        pages.push(page);
    }
    let forward: Vec<String> = pages.iter().flat_map(|p| refs_of(&p.items)).collect();
    assert_eq!(forward, expected, "{context}");
    if expected.is_empty() {
        return;
    }
    assert!(
        pages
            .iter()
            .all(|p| p.items.len() == limit || p.next_cursor.is_none()),
        "{context}"
    );

    // Backwards from the last page.
    let mut back: Vec<Vec<String>> = vec![refs_of(&pages.last().unwrap().items)];
    let mut cursor = pages.last().unwrap().prev_cursor.clone();
    while let Some(prev) = cursor {
        let page = model
            .query(&EntityQuery {
                cursor: Some(prev),
                limit,
                ..EntityQuery::default()
            })
            .unwrap();
        assert!(page.next_cursor.is_some(), "{context}");
        assert_eq!(page.items.len(), limit, "{context}");
        back.push(refs_of(&page.items));
        cursor = page.prev_cursor;
    }
    back.reverse();
    assert_eq!(back.concat(), expected, "{context} (backwards)");
}

#[test]
fn filters_and_cursor_walks_match_the_naive_evaluator() {
    let entities = generated();
    let model = model_of(&entities);
    let naive = Naive::new(&entities);
    assert_eq!(model.len(), ENTITIES);
    for predicate in predicates() {
        let expected_set: HashSet<String> =
            naive.query(&predicate, None, None).into_iter().collect();
        let actual: HashSet<String> = model.refs_matching(&predicate).into_iter().collect();
        assert_eq!(actual, expected_set, "{predicate:?}");
        for order in orders() {
            let expected = naive.query(&predicate, order.as_ref(), None);
            let limit = if expected.len() > 2_000 { 457 } else { 61 };
            check_walk(&model, &predicate, order.as_ref(), limit, &expected);
        }
    }
    // Small pages, once.
    let predicate = filter(&["relations.ownedby=group:default/group-3"]);
    let order = OrderField::asc("metadata.title");
    let expected = naive.query(&predicate, Some(&order), None);
    check_walk(&model, &predicate, Some(&order), 1, &expected);
    check_walk(&model, &predicate, Some(&order), 7, &expected);
}

#[test]
fn offsets_match_the_naive_order() {
    let entities = generated();
    let model = model_of(&entities);
    let naive = Naive::new(&entities);
    let predicate = filter(&["kind=component"]);
    let order = OrderField::desc("metadata.title");
    let expected = naive.query(&predicate, Some(&order), None);
    for offset in [
        0,
        1,
        50,
        1_000,
        expected.len() - 3,
        expected.len(),
        expected.len() + 10,
    ] {
        let page = model
            .query(&EntityQuery {
                filter: predicate.clone(),
                order: vec![order.clone()],
                offset: Some(offset),
                limit: 25,
                ..EntityQuery::default()
            })
            .unwrap();
        let want: Vec<String> = expected.iter().skip(offset).take(25).cloned().collect();
        assert_eq!(refs_of(&page.items), want, "offset {offset}");
        assert_eq!(
            page.next_cursor.is_some(),
            offset + 25 < expected.len(),
            "offset {offset}"
        );
        assert_eq!(page.prev_cursor.is_some(), offset > 0, "offset {offset}");
    }
}

#[test]
fn facets_and_full_text_match_the_naive_evaluator() {
    let entities = generated();
    let model = model_of(&entities);
    let naive = Naive::new(&entities);
    for predicate in [
        Predicate::MatchAll,
        filter(&["kind=component"]),
        filter(&["relations.ownedby=group:default/group-3"]),
    ] {
        let facets = model.facets(
            &strings(&[
                "spec.type",
                "metadata.tags",
                "metadata.title",
                "metadata.name",
            ]),
            &predicate,
        );
        for (facet, counts) in &facets {
            let mut expected: HashMap<String, usize> = HashMap::new();
            for (_, _, rows) in naive
                .flat
                .iter()
                .filter(|(_, _, rows)| naive_match(rows, &predicate))
            {
                for row in rows.iter().filter(|r| r.key == *facet) {
                    if let Some(v) = &row.value {
                        *expected.entry(v.lower.clone()).or_default() += 1;
                    }
                }
            }
            let actual: HashMap<String, usize> = counts
                .iter()
                .map(|c| (c.value.to_lowercase(), c.count))
                .collect();
            assert_eq!(actual, expected, "{facet} {predicate:?}");
            assert!(
                counts.windows(2).all(|w| w[0].count >= w[1].count),
                "{facet} sorted by count"
            );
        }
    }
    for (term, fields) in [
        ("pay", &["metadata.name"][..]),
        ("ts-1", &["metadata.name"][..]),
        ("7", &["metadata.name"][..]),
        ("gamma 1", &["metadata.title", "metadata.description"][..]),
        ("for the ledger", &["metadata.description"][..]),
        ("acme", &["spec.profile.email"][..]),
        ("o", &["spec.owner"][..]),
        ("group-1", &["spec.owner"][..]),
    ] {
        for predicate in [
            Predicate::MatchAll,
            filter(&["kind=component"]),
            filter(&["relations.ownedby=group:default/group-3"]),
        ] {
            let order = OrderField::asc("metadata.name");
            let expected = naive.query(&predicate, Some(&order), Some((term, fields)));
            let page = model
                .query(&EntityQuery {
                    filter: predicate.clone(),
                    order: vec![order],
                    full_text: Some(FullTextFilter {
                        term: term.to_uppercase(),
                        fields: strings(fields),
                    }),
                    limit: ENTITIES,
                    ..EntityQuery::default()
                })
                .unwrap();
            assert_eq!(page.total_items, expected.len(), "{term} {predicate:?}");
            assert_eq!(refs_of(&page.items), expected, "{term} {predicate:?}");
        }
    }
}

fn mutate(entity: &mut Value, rng: &mut Rng) {
    match rng.below(4) {
        0 => entity["metadata"]["tags"] = json!([rng.pick(TAGS), rng.pick(TAGS)]),
        1 => {
            if let Some(spec) = entity["spec"].as_object_mut() {
                spec.insert(
                    "type".to_owned(),
                    json!(rng.pick(&["service", "library", "other"])),
                );
            }
        }
        2 => {
            entity["metadata"]["annotations"] =
                json!({"acme.example/rev": format!("r{}", rng.below(1000))})
        }
        _ => {
            if let Some(metadata) = entity["metadata"].as_object_mut() {
                metadata.remove("description");
                metadata.remove("tags");
            }
        }
    }
}

#[test]
fn churn_leaves_the_same_index_as_a_fresh_build() {
    let mut entities = generated();
    let mut model = model_of(&entities);
    let mut rng = Rng(99);
    let mut removed: Vec<Value> = Vec::new();
    for step in 0..3_000 {
        let i = rng.below(entities.len());
        match step % 5 {
            0 => {
                let gone = entities.swap_remove(i);
                let r = super::super::flatten::entity_ref_of(&gone).unwrap();
                assert!(model.remove(&r));
                removed.push(gone);
            }
            1 if !removed.is_empty() => {
                let back = removed.swap_remove(rng.below(removed.len()));
                model.upsert(&back).unwrap();
                entities.push(back);
            }
            _ => {
                mutate(&mut entities[i], &mut rng);
                model.upsert(&entities[i]).unwrap();
            }
        }
    }
    let fresh = model_of(&entities);
    assert_eq!(model.len(), entities.len());
    let (a, b) = (model.stats(), fresh.stats());
    assert_eq!(
        (a.entities, a.keys, a.values, a.rows, a.json_bytes),
        (b.entities, b.keys, b.values, b.rows, b.json_bytes)
    );
    let naive = Naive::new(&entities);
    for predicate in predicates() {
        for order in [
            None,
            Some(OrderField::desc("metadata.tags")),
            Some(OrderField::asc("spec.type")),
        ] {
            let expected = naive.query(&predicate, order.as_ref(), None);
            let page = model
                .query(&EntityQuery {
                    filter: predicate.clone(),
                    order: order.clone().into_iter().collect(),
                    limit: ENTITIES,
                    ..EntityQuery::default()
                })
                .unwrap();
            assert_eq!(refs_of(&page.items), expected, "{predicate:?} {order:?}");
        }
    }
    let facets = |m: &ReadModel| {
        m.facets(
            &strings(&[
                "spec.type",
                "metadata.tags",
                "metadata.annotations.acme.example/rev",
            ]),
            &Predicate::MatchAll,
        )
    };
    let (x, y) = (facets(&model), facets(&fresh));
    for (facet, counts) in &x {
        let lower = |c: &Vec<FacetCount>| -> Vec<(String, usize)> {
            c.iter()
                .map(|f| (f.value.to_lowercase(), f.count))
                .collect()
        };
        assert_eq!(lower(counts), lower(&y[facet]), "{facet}");
    }
}

#[test]
fn cursor_walk_visits_stable_entities_once_while_the_catalog_changes() {
    for order in [
        None,
        Some(OrderField::asc("metadata.title")),
        Some(OrderField::desc("spec.type")),
    ] {
        let mut entities: HashMap<String, Value> = generated()
            .into_iter()
            .map(|e| (super::super::flatten::entity_ref_of(&e).unwrap(), e))
            .collect();
        let mut model = ReadModel::new();
        for e in entities.values() {
            model.upsert(e).unwrap();
        }
        let mut rng = Rng(5);
        let initial: HashSet<String> = entities.keys().cloned().collect();
        let mut touched: HashSet<String> = HashSet::new(); // removed or re-added at some point
        let mut removed_at: HashMap<String, usize> = HashMap::new();
        let mut seen: Vec<String> = Vec::new();
        let mut next_new = 0;
        let mut page = model
            .query(&EntityQuery {
                order: order.clone().into_iter().collect(),
                limit: 50,
                ..EntityQuery::default()
            })
            .unwrap();
        let mut page_no = 0;
        loop {
            for r in refs_of(&page.items) {
                assert!(
                    !removed_at.contains_key(&r),
                    "{r} returned after its removal"
                );
                seen.push(r);
            }
            let Some(next) = page.next_cursor.clone() else {
                break;
            };
            page_no += 1;
            // Between pages: remove 5, add 5 new, update 5 (not their sort values).
            let mut refs: Vec<String> = entities.keys().cloned().collect();
            refs.sort();
            for _ in 0..5 {
                let r = refs.swap_remove(rng.below(refs.len()));
                entities.remove(&r);
                assert!(model.remove(&r));
                touched.insert(r.clone());
                removed_at.insert(r, page_no);
            }
            for _ in 0..5 {
                let mut fresh = generated_entity(ENTITIES + next_new, &mut rng);
                next_new += 1;
                fresh["metadata"]["name"] = json!(format!("new-{next_new}"));
                let r = super::super::flatten::entity_ref_of(&fresh).unwrap();
                model.upsert(&fresh).unwrap();
                touched.insert(r.clone());
                entities.insert(r, fresh);
            }
            for _ in 0..5 {
                let r = refs[rng.below(refs.len())].clone();
                if let Some(e) = entities.get_mut(&r) {
                    e["metadata"]["annotations"] =
                        json!({"acme.example/page": page_no.to_string()});
                    model.upsert(e).unwrap();
                }
            }
            page = model
                .query(&EntityQuery {
                    cursor: Some(next),
                    limit: 50,
                    ..EntityQuery::default()
                })
                .unwrap();
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{order:?}: an entity was returned twice"
        );
        for r in initial.difference(&touched) {
            assert!(
                unique.contains(r),
                "{order:?}: stable entity {r} was skipped"
            );
        }
    }
}

#[test]
fn mass_removal_compacts_texts_and_keeps_answers() {
    let entities = generated();
    let mut model = model_of(&entities);
    let before = model.stats();
    let arena_before = before
        .index_parts
        .iter()
        .find(|(p, _)| *p == "value texts")
        .unwrap()
        .1;
    // Keep one entity in twenty.
    let kept: Vec<Value> = entities.iter().step_by(20).cloned().collect();
    for (i, e) in entities.iter().enumerate() {
        if i % 20 != 0 {
            assert!(model.remove(&super::super::flatten::entity_ref_of(e).unwrap()));
        }
    }
    let after = model.stats();
    let arena_after = after
        .index_parts
        .iter()
        .find(|(p, _)| *p == "value texts")
        .unwrap()
        .1;
    assert!(
        arena_after * 4 < arena_before,
        "texts compacted: {arena_before} -> {arena_after}"
    );
    let fresh = model_of(&kept);
    assert_eq!(
        (after.keys, after.values, after.rows),
        (fresh.stats().keys, fresh.stats().values, fresh.stats().rows)
    );
    let naive = Naive::new(&kept);
    for predicate in predicates() {
        for order in [
            None,
            Some(OrderField::asc("metadata.title")),
            Some(OrderField::desc("metadata.description")),
        ] {
            let expected = naive.query(&predicate, order.as_ref(), None);
            let page = model
                .query(&EntityQuery {
                    filter: predicate.clone(),
                    order: order.clone().into_iter().collect(),
                    limit: ENTITIES,
                    ..EntityQuery::default()
                })
                .unwrap();
            assert_eq!(refs_of(&page.items), expected, "{predicate:?} {order:?}");
        }
    }
    // Original spellings survive compaction.
    let facets = |m: &ReadModel| {
        m.facets(
            &strings(&["metadata.title", "metadata.tags"]),
            &Predicate::MatchAll,
        )
    };
    assert_eq!(facets(&model), facets(&fresh));
    assert!(
        facets(&model)["metadata.tags"]
            .iter()
            .any(|f| f.value == "Tier-1")
    );
    // And new entities index fine afterwards.
    model.upsert(&entities[1]).unwrap();
    assert_eq!(model.len(), kept.len() + 1);
    let r = super::super::flatten::entity_ref_of(&entities[1]).unwrap();
    assert_eq!(
        model.refs_matching(&Predicate::equals(
            "metadata.name",
            entities[1]["metadata"]["name"].as_str().unwrap()
        )),
        [r]
    );
}

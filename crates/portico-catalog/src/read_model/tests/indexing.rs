//! Indexing semantics on hand-written entities: what each key matches, facets, full-text
//! search, projection, and keeping postings right through upserts and removals.

use serde_json::json;

use super::*;

fn sample() -> Vec<Value> {
    vec![
        entity(
            "Component",
            "Payments",
            json!({
                "metadata": {
                    "title": "Payments Service",
                    "description": "Takes the money",
                    "tags": ["java", "Payments"],
                    "annotations": {
                        "backstage.io/orphan": "true",
                        "github.com/project-slug": "acme/payments"
                    }
                },
                "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "replicas": 3, "public": true, "notes": null},
                "relations": [
                    {"type": "ownedBy", "targetRef": "group:default/team-a"},
                    {"type": "partOf", "targetRef": "system:default/billing"}
                ]
            }),
        ),
        entity(
            "Component",
            "ledger",
            json!({
                "metadata": {"namespace": "finance", "tags": ["go"]},
                "spec": {"type": "Service", "lifecycle": "experimental", "owner": "team-b"},
                "relations": [{"type": "ownedBy", "targetRef": "group:finance/team-b"}]
            }),
        ),
        entity(
            "Component",
            "website",
            json!({
                "metadata": {"title": "Public Website", "tags": ["react"]},
                "spec": {"type": "website", "lifecycle": "production", "owner": "team-a"},
                "relations": [{"type": "ownedBy", "targetRef": "group:default/team-a"}]
            }),
        ),
        entity(
            "API",
            "payments-api",
            json!({
                "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-a", "definition": "x".repeat(300)},
                "relations": [{"type": "ownedBy", "targetRef": "group:default/team-a"}]
            }),
        ),
        entity(
            "Group",
            "team-a",
            json!({"spec": {"type": "team", "children": []}}),
        ),
    ]
}

#[test]
fn equality_exists_and_logic() {
    let model = model_of(&sample());
    assert_eq!(model.len(), 5);
    assert_eq!(
        matching_names(&model, &filter(&["kind=component,spec.type=service"])),
        ["Payments", "ledger"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["kind=api", "spec.type=website"])),
        ["payments-api", "website"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["spec.type=website,spec.type=openapi"])),
        ["payments-api", "website"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["metadata.title"])),
        ["Payments", "website"]
    );
    let not_production = Predicate::from_json(
        &json!({"$all": [{"kind": "component"}, {"$not": {"spec.lifecycle": "production"}}]}),
    )
    .unwrap();
    assert_eq!(matching_names(&model, &not_production), ["ledger"]);
    let any =
        Predicate::from_json(&json!({"$any": [{"metadata.name": "ledger"}, {"kind": "group"}]}))
            .unwrap();
    assert_eq!(matching_names(&model, &any), ["ledger", "team-a"]);
    assert_eq!(model.count(&Predicate::Any(vec![])), 0);
    assert_eq!(model.count(&Predicate::All(vec![])), 5);
    assert_eq!(model.count(&filter(&["kind=nope"])), 0);
    assert_eq!(model.count(&filter(&["nope.nope"])), 0);
    let prefix = Predicate::from_json(&json!({"metadata.name": {"$hasPrefix": "PAY"}})).unwrap();
    assert_eq!(
        matching_names(&model, &prefix),
        ["Payments", "payments-api"]
    );
}

#[test]
fn keys_and_values_are_case_insensitive() {
    let model = model_of(&sample());
    assert_eq!(
        matching_names(&model, &filter(&["KIND=COMPONENT,Spec.Type=SERVICE"])),
        ["Payments", "ledger"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["metadata.name=payments"])),
        ["Payments"]
    );
    assert_eq!(
        model.by_ref("COMPONENT:Default/PAYMENTS").is_some(),
        model.by_ref("component:default/payments").is_some()
    );
    assert!(model.by_ref("component:default/payments").is_some());
}

#[test]
fn scalars_nulls_and_defaults() {
    let model = model_of(&sample());
    assert_eq!(
        matching_names(&model, &filter(&["spec.replicas=3"])),
        ["Payments"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["spec.public=TRUE"])),
        ["Payments"]
    );
    // A null gives the key without a value: it exists, matches no value.
    assert_eq!(
        matching_names(&model, &filter(&["spec.notes"])),
        ["Payments"]
    );
    assert_eq!(model.count(&filter(&["spec.notes=null"])), 0);
    assert_eq!(model.count(&filter(&["spec.notes="])), 0);
    // Namespace defaults to `default`, and is always present.
    assert_eq!(model.count(&filter(&["metadata.namespace=default"])), 4);
    assert_eq!(
        matching_names(&model, &filter(&["metadata.namespace=finance"])),
        ["ledger"]
    );
    assert_eq!(model.count(&filter(&["metadata.uid"])), 5);
    assert_eq!(
        model.count(&filter(&["apiversion=backstage.io/v1alpha1"])),
        5
    );
    // etag and status are not indexed by the generic walk.
    let mut with_etag = entity(
        "Component",
        "tagged",
        json!({"metadata": {"etag": "abc"}, "status": {"items": []}}),
    );
    with_etag["metadata"]["etag"] = json!("abc");
    let model = model_of(&[with_etag]);
    assert_eq!(model.count(&filter(&["metadata.etag"])), 0);
    assert_eq!(model.count(&filter(&["status"])), 0);
    // An empty array gives no row.
    let model = model_of(&sample());
    assert_eq!(model.count(&filter(&["spec.children"])), 0);
}

#[test]
fn array_items_share_the_key_and_strings_give_synthetic_keys() {
    let model = model_of(&sample());
    assert_eq!(
        matching_names(&model, &filter(&["metadata.tags=java"])),
        ["Payments"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["metadata.tags.java"])),
        ["Payments"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["metadata.tags.payments=true"])),
        ["Payments"]
    );
    assert_eq!(
        matching_names(
            &model,
            &filter(&["metadata.tags.java,metadata.tags.payments"])
        ),
        ["Payments"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["metadata.tags=java,metadata.tags=go"])),
        ["Payments", "ledger"]
    );
    // Arrays of objects: fields share the parent key.
    let model = model_of(&[entity(
        "Component",
        "linked",
        json!({"metadata": {"links": [{"url": "https://a.example", "title": "A"}, {"url": "https://b.example"}]}}),
    )]);
    assert_eq!(
        model.count(&filter(&["metadata.links.url=https://b.example"])),
        1
    );
    assert_eq!(model.count(&filter(&["metadata.links.title=a"])), 1);
}

#[test]
fn relations_and_annotations_with_slashes() {
    let model = model_of(&sample());
    assert_eq!(
        matching_names(&model, &filter(&["relations.ownedby=group:default/team-a"])),
        ["Payments", "payments-api", "website"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["relations.ownedBy=Group:Finance/Team-B"])),
        ["ledger"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["relations.partof"])),
        ["Payments"]
    );
    assert_eq!(
        matching_names(
            &model,
            &filter(&["metadata.annotations.backstage.io/orphan=true"])
        ),
        ["Payments"]
    );
    assert_eq!(
        matching_names(
            &model,
            &filter(&["metadata.annotations.github.com/project-slug=ACME/payments"])
        ),
        ["Payments"]
    );
    // `relations` itself is not walked generically.
    assert_eq!(model.count(&filter(&["relations.type"])), 0);
}

#[test]
fn long_values_and_keys_are_not_matchable() {
    let model = model_of(&sample());
    let long = "x".repeat(300);
    assert_eq!(
        matching_names(&model, &filter(&["spec.definition"])),
        ["payments-api"]
    );
    assert_eq!(
        model.count(&filter(&[&format!("spec.definition={long}")])),
        0
    );
    let exactly_200 = "y".repeat(200);
    let long_key = "k".repeat(201);
    let model = model_of(&[entity(
        "Component",
        "edge",
        json!({"spec": {"ok": exactly_200.clone(), long_key.clone(): "v"}}),
    )]);
    assert_eq!(
        model.count(&filter(&[&format!("spec.ok={exactly_200}")])),
        1
    );
    assert_eq!(model.count(&filter(&[&format!("spec.{long_key}")])), 0);
    // Long values are left out of facets too.
    let model = model_of(&sample());
    assert!(
        model.facets(&strings(&["spec.definition"]), &Predicate::MatchAll)["spec.definition"]
            .is_empty()
    );
}

#[test]
fn invalid_entities_are_rejected() {
    let mut model = ReadModel::new();
    assert!(matches!(
        model.upsert(&json!({"metadata": {"name": "x"}})),
        Err(ReadModelError::InvalidEntity(_))
    ));
    assert!(matches!(
        model.upsert(&json!({"kind": "Component", "metadata": {}})),
        Err(ReadModelError::InvalidEntity(_))
    ));
    assert!(matches!(
        model.upsert(&json!([1, 2])),
        Err(ReadModelError::InvalidEntity(_))
    ));
    let error = model
        .upsert(&entity(
            "Component",
            "dup",
            json!({"spec": {"foo": 1, "Foo": 2}}),
        ))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Entity has duplicate keys that vary only in casing, 'spec.foo'"
    );
    assert!(model.is_empty());
    // Entities without uid are indexed but not found by uid.
    let mut no_uid = entity("Component", "anon", json!({}));
    no_uid["metadata"].as_object_mut().unwrap().remove("uid");
    model.upsert(&no_uid).unwrap();
    assert_eq!(model.len(), 1);
    assert!(model.by_ref("component:default/anon").is_some());
    assert_eq!(
        model.count(&filter(&["metadata.uid"])),
        1,
        "null uid row still exists"
    );
}

#[test]
fn facets_count_values_with_and_without_filter() {
    let model = model_of(&sample());
    let facets = model.facets(
        &strings(&["spec.type", "kind", "metadata.tags", "nope"]),
        &Predicate::MatchAll,
    );
    let as_pairs = |name: &str| -> Vec<(String, usize)> {
        facets[name]
            .iter()
            .map(|f| (f.value.clone(), f.count))
            .collect()
    };
    // "service" and "Service" group together; the first spelling seen is reported.
    assert_eq!(
        as_pairs("spec.type"),
        [
            ("service".to_owned(), 2),
            ("openapi".to_owned(), 1),
            ("team".to_owned(), 1),
            ("website".to_owned(), 1)
        ]
    );
    assert_eq!(
        as_pairs("kind"),
        [
            ("Component".to_owned(), 3),
            ("API".to_owned(), 1),
            ("Group".to_owned(), 1)
        ]
    );
    assert_eq!(
        as_pairs("metadata.tags"),
        [
            ("go".to_owned(), 1),
            ("java".to_owned(), 1),
            ("Payments".to_owned(), 1),
            ("react".to_owned(), 1)
        ]
    );
    assert!(facets["nope"].is_empty());

    let filtered = model.facets(
        &strings(&["spec.lifecycle", "Spec.Owner"]),
        &filter(&["kind=component"]),
    );
    assert_eq!(
        filtered["spec.lifecycle"],
        [
            FacetCount {
                value: "production".to_owned(),
                count: 2
            },
            FacetCount {
                value: "experimental".to_owned(),
                count: 1
            },
        ]
    );
    assert_eq!(
        filtered["Spec.Owner"],
        [
            FacetCount {
                value: "team-a".to_owned(),
                count: 2
            },
            FacetCount {
                value: "team-b".to_owned(),
                count: 1
            },
        ]
    );
    // A filter matching a single entity counts per entity (the per-entity path).
    let one = model.facets(
        &strings(&["metadata.name"]),
        &filter(&["metadata.name=ledger"]),
    );
    assert_eq!(
        one["metadata.name"],
        [FacetCount {
            value: "ledger".to_owned(),
            count: 1
        }]
    );
}

fn full_text(
    model: &ReadModel,
    term: &str,
    fields: &[&str],
    order: Option<OrderField>,
) -> Vec<String> {
    let page = model
        .query(&EntityQuery {
            full_text: Some(FullTextFilter {
                term: term.to_owned(),
                fields: strings(fields),
            }),
            order: order.into_iter().collect(),
            limit: 100,
            ..EntityQuery::default()
        })
        .unwrap();
    assert_eq!(page.total_items, page.items.len());
    let mut names = names_of(&page.items);
    names.sort();
    names
}

#[test]
fn full_text_matches_substrings_of_the_given_fields() {
    let model = model_of(&sample());
    // Trigram-indexed key, mixed case and padding in the term.
    assert_eq!(
        full_text(&model, "  PAYMENT ", &["metadata.name"], None),
        ["Payments", "payments-api"]
    );
    assert_eq!(
        full_text(&model, "ments-a", &["metadata.name"], None),
        ["payments-api"]
    );
    // Terms under three characters: through the trigrams containing them, and values too short
    // to have a trigram.
    assert_eq!(
        full_text(&model, "le", &["metadata.name"], None),
        ["ledger"]
    );
    assert_eq!(
        full_text(&model, "y", &["metadata.name"], None),
        ["Payments", "payments-api"]
    );
    let mut with_short = sample();
    with_short.push(entity("Component", "qz", json!({})));
    let short = model_of(&with_short);
    assert_eq!(full_text(&short, "z", &["metadata.name"], None), ["qz"]);
    assert_eq!(full_text(&short, "qz", &["metadata.name"], None), ["qz"]);
    assert!(full_text(&short, "zq", &["metadata.name"], None).is_empty());
    // Several fields: any of them.
    assert_eq!(
        full_text(&model, "site", &["metadata.name", "metadata.title"], None),
        ["website"]
    );
    assert_eq!(
        full_text(&model, "public", &["metadata.name", "metadata.title"], None),
        ["website"]
    );
    // A key without a trigram index.
    assert_eq!(
        full_text(&model, "team-b", &["spec.owner"], None),
        ["ledger"]
    );
    assert_eq!(
        full_text(
            &model,
            "acme/pay",
            &["metadata.annotations.github.com/project-slug"],
            None
        ),
        ["Payments"]
    );
    // Defaults: the order field, else metadata.uid.
    assert_eq!(
        full_text(&model, "web", &[], Some(OrderField::asc("metadata.name"))),
        ["website"]
    );
    assert_eq!(full_text(&model, "uid-led", &[], None), ["ledger"]);
    assert_eq!(
        full_text(&model, "web", &[], None),
        ["website"],
        "uid-website"
    );
    assert!(full_text(&model, "public", &[], None).is_empty());
    // No match, and a blank term filters nothing.
    assert!(full_text(&model, "zzz", &["metadata.name"], None).is_empty());
    assert_eq!(full_text(&model, "   ", &["metadata.name"], None).len(), 5);
    // Combined with a filter.
    let page = model
        .query(&EntityQuery {
            filter: filter(&["kind=api"]),
            full_text: Some(FullTextFilter {
                term: "pay".to_owned(),
                fields: strings(&["metadata.name"]),
            }),
            ..EntityQuery::default()
        })
        .unwrap();
    assert_eq!(names_of(&page.items), ["payments-api"]);
}

#[test]
fn upsert_replaces_and_remove_forgets() {
    let mut model = model_of(&sample());
    let before = model.stats();
    let mut changed = sample().remove(0);
    changed["spec"]["type"] = json!("library");
    changed["metadata"]["tags"] = json!(["kotlin"]);
    model.upsert(&changed).unwrap();
    assert_eq!(model.len(), 5);
    assert_eq!(
        matching_names(&model, &filter(&["spec.type=service"])),
        ["ledger"]
    );
    assert_eq!(
        matching_names(&model, &filter(&["spec.type=library"])),
        ["Payments"]
    );
    assert_eq!(model.count(&filter(&["metadata.tags.java"])), 0);
    assert_eq!(model.count(&filter(&["metadata.tags=kotlin"])), 1);
    let stored: Value =
        serde_json::from_str(&model.by_ref("component:default/payments").unwrap()).unwrap();
    assert_eq!(stored["spec"]["type"], "library");
    let facets = model.facets(&strings(&["metadata.tags"]), &Predicate::MatchAll);
    assert!(facets["metadata.tags"].iter().all(|f| f.value != "java"));

    // Changing back restores the very same index contents.
    model.upsert(&sample().remove(0)).unwrap();
    let after = model.stats();
    assert_eq!(
        (
            after.entities,
            after.keys,
            after.values,
            after.rows,
            after.json_bytes
        ),
        (
            before.entities,
            before.keys,
            before.values,
            before.rows,
            before.json_bytes
        )
    );
    assert_eq!(
        matching_names(&model, &filter(&["spec.type=service"])),
        ["Payments", "ledger"]
    );

    assert!(model.remove("Component:Default/Payments"));
    assert!(!model.remove("component:default/payments"));
    assert_eq!(model.len(), 4);
    assert!(model.by_ref("component:default/payments").is_none());
    assert!(model.by_uid("uid-Payments").is_none());
    assert_eq!(
        model.count(&filter(&["metadata.annotations.backstage.io/orphan"])),
        0
    );
    assert_eq!(model.count(&filter(&["relations.partof"])), 0);

    // Removing everything frees every key and value.
    for r in model.refs_matching(&Predicate::MatchAll) {
        assert!(model.remove(&r));
    }
    assert!(model.is_empty());
    let empty = model.stats();
    assert_eq!(
        (empty.keys, empty.values, empty.rows, empty.json_bytes),
        (0, 0, 0, 0)
    );
}

#[test]
fn read_model_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ReadModel>();
    assert_send_sync::<QueryPage>();
}

#[test]
fn identical_upsert_keeps_the_stored_text() {
    // The stored (compressed) bytes themselves, so that a no-op upsert is seen to write nothing.
    fn stored(model: &ReadModel) -> *const u8 {
        let doc = model.index.doc_by_ref("component:default/website").unwrap();
        model.index.slot(doc).unwrap().json.compressed().as_ptr()
    }
    let mut model = model_of(&sample());
    let before = stored(&model);
    model.upsert(&sample()[2]).unwrap();
    assert_eq!(
        before,
        stored(&model),
        "no-op upsert reuses the stored JSON"
    );
    let mut changed = sample()[2].clone();
    changed["spec"]["lifecycle"] = json!("deprecated");
    model.upsert(&changed).unwrap();
    assert_ne!(before, stored(&model));
    assert_eq!(
        matching_names(&model, &filter(&["spec.lifecycle=deprecated"])),
        ["website"]
    );
}

#[test]
fn by_uid_follows_uid_changes() {
    let mut model = model_of(&sample());
    assert!(model.by_uid("uid-ledger").is_some());
    assert!(model.by_uid("UID-LEDGER").is_none(), "uids are exact");
    let mut renamed = sample().remove(1);
    renamed["metadata"]["uid"] = json!("new-uid");
    model.upsert(&renamed).unwrap();
    assert!(model.by_uid("uid-ledger").is_none());
    let stored = model.by_uid("new-uid").unwrap();
    assert!(stored.contains("\"new-uid\""));
    assert_eq!(model.by_ref("component:finance/ledger").unwrap(), stored);
}

#[test]
fn stored_json_is_compact_and_compressed() {
    let model = model_of(&sample());
    let a = model.by_ref("component:default/website").unwrap();
    let b = model.by_uid("uid-website").unwrap();
    assert_eq!(a, b);
    let stats = model.stats();
    let text_bytes: usize = sample()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap().len())
        .sum();
    assert!(
        stats.json_bytes < text_bytes,
        "held compressed: {} bytes for {text_bytes} of text",
        stats.json_bytes
    );
    assert!(!a.contains('\n') && !a.contains(": "));
    let value: Value = serde_json::from_str(&a).unwrap();
    assert_eq!(value, sample()[2]);
}

#[test]
fn projection_keeps_paths_and_structure() {
    let model = model_of(&sample());
    let json = model.by_ref("component:default/payments").unwrap();
    let projected = project(
        &json,
        &strings(&["kind", "metadata.name", "spec.owner", "metadata.nope"]),
    )
    .unwrap();
    assert_eq!(
        projected,
        json!({"kind": "Component", "metadata": {"name": "Payments"}, "spec": {"owner": "team-a"}})
    );
    let annotations = project(
        &json,
        &strings(&["metadata.annotations.backstage.io/orphan", " ", "relations"]),
    )
    .unwrap();
    assert_eq!(
        annotations["metadata"]["annotations"],
        json!({"backstage.io/orphan": "true"})
    );
    assert_eq!(annotations["relations"].as_array().unwrap().len(), 2);
    // A whole subtree and a path inside it give the whole subtree, in either order.
    let both = project(&json, &strings(&["metadata.name", "metadata"])).unwrap();
    let whole = project(&json, &strings(&["metadata", "metadata.name"])).unwrap();
    assert_eq!(both, whole);
    assert_eq!(both["metadata"]["tags"], json!(["java", "Payments"]));
    // Empty fields: the whole entity. Arrays: rejected like Backstage.
    assert_eq!(project(&json, &[]).unwrap(), sample()[0]);
    let error = project(&json, &strings(&["metadata.tags[0]"])).unwrap_err();
    assert!(matches!(error, ReadModelError::InvalidFields(_)), "{error}");
    assert!(
        error
            .to_string()
            .contains("array type fields are not supported")
    );
}

#[test]
fn per_value_structures_stay_small() {
    // The memory budget (see the module docs) counts on these sizes.
    assert_eq!(size_of::<super::super::posting::Posting>(), 16);
    assert_eq!(size_of::<super::super::index::ValueEntry>(), 32);
    assert_eq!(size_of::<Option<super::super::index::Slot>>(), 64);
}

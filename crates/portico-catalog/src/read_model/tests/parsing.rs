//! Parsing of the legacy `filter` parameters, of v1.50 JSON predicates and of cursors.

use serde_json::json;

use super::*;

fn params(items: &[&str]) -> Result<Predicate, ReadModelError> {
    Predicate::from_filter_params(&strings(items))
}

fn eq(key: &str, values: &[&str]) -> Predicate {
    Predicate::In {
        key: key.to_owned(),
        values: strings(values),
    }
}

#[test]
fn filter_set_is_an_and_of_its_statements() {
    assert_eq!(
        params(&["kind=component,spec.type=service"]).unwrap(),
        Predicate::All(vec![
            eq("kind", &["component"]),
            eq("spec.type", &["service"])
        ])
    );
}

#[test]
fn several_filter_params_are_ored() {
    assert_eq!(
        params(&["kind=api", "kind=component,spec.lifecycle"]).unwrap(),
        Predicate::Any(vec![
            eq("kind", &["api"]),
            Predicate::All(vec![
                eq("kind", &["component"]),
                Predicate::Exists {
                    key: "spec.lifecycle".to_owned()
                },
            ]),
        ])
    );
}

#[test]
fn repeated_key_in_a_set_is_an_in_and_empty_value_is_kept() {
    assert_eq!(
        params(&["kind=api,kind=component"]).unwrap(),
        eq("kind", &["api", "component"])
    );
    assert_eq!(params(&["spec.type="]).unwrap(), eq("spec.type", &[""]));
    assert_eq!(
        params(&["metadata.tags"]).unwrap(),
        Predicate::Exists {
            key: "metadata.tags".to_owned()
        }
    );
}

#[test]
fn filter_keys_and_values_are_trimmed_and_lowercased() {
    assert_eq!(
        params(&[" Kind = Component , ,Spec.Type=Service "]).unwrap(),
        Predicate::All(vec![
            eq("kind", &["component"]),
            eq("spec.type", &["service"])
        ])
    );
    // Only the first `=` splits: the value may contain more.
    assert_eq!(params(&["a=b=c"]).unwrap(), eq("a", &["b=c"]));
}

#[test]
fn no_or_blank_filter_params_match_all() {
    assert_eq!(params(&[]).unwrap(), Predicate::MatchAll);
    assert_eq!(params(&["", " , "]).unwrap(), Predicate::MatchAll);
}

#[test]
fn empty_filter_key_is_rejected_with_backstages_message() {
    let error = params(&["kind=component,=foo"]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Invalid filter, '=foo' is not a valid statement (expected a string on the form a=b or a= or a)"
    );
    assert_eq!(
        params(&[" = "]).unwrap_err().to_string(),
        "Invalid filter, '=' is not a valid statement (expected a string on the form a=b or a= or a)"
    );
    assert_eq!(error.backstage_name(), "InputError");
}

#[test]
fn json_predicate_grammar() {
    let parsed = Predicate::from_json(&json!({
        "$all": [
            {"kind": "Component"},
            {"spec.type": {"$in": ["service", "Website"]}},
            {"$any": [{"spec.owner": "a"}, {"spec.owner": "b"}]},
            {"$not": {"spec.lifecycle": "experimental"}},
            {"metadata.tags": {"$exists": true}},
            {"metadata.annotations.x": {"$exists": false}},
            {"spec.replicas": 3, "spec.public": true},
            {"metadata.name": {"$hasPrefix": "Pay"}}
        ]
    }))
    .unwrap();
    assert_eq!(
        parsed,
        Predicate::All(vec![
            eq("kind", &["component"]),
            eq("spec.type", &["service", "website"]),
            Predicate::Any(vec![eq("spec.owner", &["a"]), eq("spec.owner", &["b"])]),
            Predicate::Not(Box::new(eq("spec.lifecycle", &["experimental"]))),
            Predicate::Exists {
                key: "metadata.tags".to_owned()
            },
            Predicate::Not(Box::new(Predicate::Exists {
                key: "metadata.annotations.x".to_owned()
            })),
            Predicate::All(vec![
                eq("spec.replicas", &["3"]),
                eq("spec.public", &["true"])
            ]),
            Predicate::HasPrefix {
                key: "metadata.name".to_owned(),
                prefix: "pay".to_owned()
            },
        ])
    );
    assert_eq!(
        Predicate::from_json(&json!({})).unwrap(),
        Predicate::MatchAll
    );
    assert_eq!(
        Predicate::from_json(&json!({"spec.weight": 1.0})).unwrap(),
        eq("spec.weight", &["1"])
    );
}

#[test]
fn json_predicate_round_trips() {
    let original = Predicate::from_json(&json!({
        "$any": [
            {"kind": "api", "spec.type": {"$in": ["openapi", "grpc"]}},
            {"$not": {"metadata.tags.java": {"$exists": true}}},
            {"metadata.name": {"$hasPrefix": "pay"}}
        ]
    }))
    .unwrap();
    assert_eq!(Predicate::from_json(&original.to_json()).unwrap(), original);
    let filter = params(&["kind=api,kind=component,spec.type", "a="]).unwrap();
    assert_eq!(Predicate::from_json(&filter.to_json()).unwrap(), filter);
    // A filter on a `$` key (no entity has one) still round-trips, as "nothing".
    let dollar = params(&["$foo=bar"]).unwrap();
    assert_eq!(
        Predicate::from_json(&dollar.to_json()).unwrap(),
        Predicate::Any(vec![])
    );
}

fn json_error(value: serde_json::Value) -> String {
    match Predicate::from_json(&value) {
        Err(error @ ReadModelError::InvalidPredicate { .. }) => error.to_string(),
        other => panic!("expected an invalid predicate error, got {other:?}"),
    }
}

#[test]
fn json_predicate_errors_name_the_offending_part() {
    let e = json_error(json!({"$all": [{"kind": "api"}, {"$foo": []}]}));
    assert!(
        e.contains("at $.$all[1].$foo:") && e.contains("unknown operator '$foo'"),
        "{e}"
    );

    let e = json_error(json!({"spec.type": {"$in": []}}));
    assert!(e.contains("$in needs at least one value"), "{e}");
    assert!(e.contains("at $[\"spec.type\"].$in:"), "{e}");

    let e = json_error(json!({"spec.type": {"$in": ["a", {"b": 1}]}}));
    assert!(e.contains("[1]") && e.contains("found an object"), "{e}");

    let e = json_error(json!({"spec.type": {"$exists": "yes"}}));
    assert!(
        e.contains("$exists expects true or false, found a string"),
        "{e}"
    );

    let e = json_error(json!({"spec.type": {"$regex": "x"}}));
    assert!(e.contains("unknown field operator '$regex'"), "{e}");

    let e = json_error(json!({"spec.type": {"$in": ["a"], "$exists": true}}));
    assert!(e.contains("exactly one entry"), "{e}");

    let e = json_error(json!({"spec.type": null}));
    assert!(e.contains("found null"), "{e}");

    let e = json_error(json!({"$all": {"kind": "api"}}));
    assert!(
        e.contains("$all expects an array of predicates, found an object"),
        "{e}"
    );

    let e = json_error(json!("component"));
    assert!(
        e.contains("top-level primitive values are not supported"),
        "{e}"
    );

    let e = json_error(json!([{"kind": "api"}]));
    assert!(
        e.contains("expected an object") && e.contains("found an array"),
        "{e}"
    );

    let e = json_error(json!({"": "x"}));
    assert!(e.contains("field names cannot be empty"), "{e}");

    let mut deep = json!({"kind": "api"});
    for _ in 0..=MAX_PREDICATE_DEPTH {
        deep = json!({ "$not": deep });
    }
    let e = json_error(deep);
    assert!(e.contains("nest at most"), "{e}");
}

#[test]
fn malformed_cursors_are_rejected() {
    let model = model_of(&[entity("Component", "a", json!({}))]);
    for bad in [
        "not base64!",
        "",
        "eyJ4IjoxfQ",                              // {"x":1}
        "W10",                                     // []
        "eyJ2IjoxLCJxIjoiY29tcG9uZW50IiwibiI6MX0", // q is a primitive
        "eyJ2Ijo5LCJxIjp7fSwibiI6MX0",             // version 9
    ] {
        let query = EntityQuery {
            cursor: Some(bad.to_owned()),
            ..EntityQuery::default()
        };
        let error = model.query(&query).unwrap_err();
        assert!(
            matches!(error, ReadModelError::InvalidCursor(_))
                && error.to_string().starts_with("Malformed cursor"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn empty_order_field_is_rejected() {
    let model = model_of(&[entity("Component", "a", json!({}))]);
    let query = EntityQuery {
        order: vec![OrderField::asc(" ")],
        ..EntityQuery::default()
    };
    assert!(matches!(
        model.query(&query),
        Err(ReadModelError::InvalidOrder(_))
    ));
}

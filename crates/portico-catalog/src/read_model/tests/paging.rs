//! Ordering, cursor and offset pagination on a handful of entities whose order is worked out
//! by hand.

use serde_json::json;

use super::*;

/// Titles: e1 "b", e2 "a", e3 none, e4 "C", e5 none, e6 "A" (a tie with e2 once lowercased).
fn titled() -> Vec<Value> {
    let titles = [Some("b"), Some("a"), None, Some("C"), None, Some("A")];
    titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let extra = match title {
                Some(t) => json!({"metadata": {"title": t}}),
                None => json!({}),
            };
            entity("Component", &format!("e{}", i + 1), extra)
        })
        .collect()
}

fn ordered(model: &ReadModel, order: Vec<OrderField>) -> Vec<String> {
    let page = model
        .query(&EntityQuery {
            order,
            limit: 100,
            ..EntityQuery::default()
        })
        .unwrap();
    assert!(page.next_cursor.is_none() && page.prev_cursor.is_none());
    names_of(&page.items)
}

#[test]
fn order_ascending_descending_and_missing_last() {
    let model = model_of(&titled());
    assert_eq!(
        ordered(&model, vec![]),
        ["e1", "e2", "e3", "e4", "e5", "e6"]
    );
    assert_eq!(
        ordered(&model, vec![OrderField::asc("metadata.title")]),
        ["e2", "e6", "e1", "e4", "e3", "e5"]
    );
    assert_eq!(
        ordered(&model, vec![OrderField::desc("Metadata.Title")]),
        ["e4", "e1", "e6", "e2", "e5", "e3"]
    );
    // Only the first order field counts.
    assert_eq!(
        ordered(
            &model,
            vec![
                OrderField::desc("metadata.title"),
                OrderField::asc("metadata.name")
            ]
        ),
        ["e4", "e1", "e6", "e2", "e5", "e3"]
    );
    // Ordering on a key nobody has: uid order (all values missing).
    assert_eq!(
        ordered(&model, vec![OrderField::desc("spec.nothing")]),
        ["e6", "e5", "e4", "e3", "e2", "e1"]
    );
}

#[test]
fn multi_valued_order_key_sorts_each_entity_once() {
    let model = model_of(&[
        entity("Component", "x", json!({"metadata": {"tags": ["b", "z"]}})),
        entity("Component", "y", json!({"metadata": {"tags": ["m"]}})),
        entity("Component", "w", json!({})),
    ]);
    assert_eq!(
        ordered(&model, vec![OrderField::asc("metadata.tags")]),
        ["x", "y", "w"]
    );
    assert_eq!(
        ordered(&model, vec![OrderField::desc("metadata.tags")]),
        ["x", "y", "w"]
    );
    let pages = walk_forward(&model, vec![OrderField::asc("metadata.tags")], 1);
    assert_eq!(pages.concat(), ["x", "y", "w"]);
}

fn page(model: &ReadModel, query: EntityQuery) -> (Vec<String>, QueryPage) {
    let page = model.query(&query).unwrap();
    (names_of(&page.items), page)
}

fn from_cursor(model: &ReadModel, cursor: &str, limit: usize) -> (Vec<String>, QueryPage) {
    page(
        model,
        EntityQuery {
            cursor: Some(cursor.to_owned()),
            limit,
            // Ignored with a cursor:
            filter: filter(&["kind=nothing"]),
            offset: Some(3),
            order: vec![OrderField::asc("metadata.name")],
            full_text: None,
        },
    )
}

fn walk_forward(model: &ReadModel, order: Vec<OrderField>, limit: usize) -> Vec<Vec<String>> {
    let (names, mut current) = page(
        model,
        EntityQuery {
            order,
            limit,
            ..EntityQuery::default()
        },
    );
    let mut pages = vec![names];
    while let Some(next) = current.next_cursor.clone() {
        let (names, p) = from_cursor(model, &next, limit);
        assert!(p.prev_cursor.is_some());
        pages.push(names);
        current = p;
        assert!(pages.len() < 100, "cursor walk does not end");
    }
    pages
}

#[test]
fn cursor_pages_forward_and_back() {
    let model = model_of(&titled());
    let order = vec![OrderField::asc("metadata.title")];
    let (first, p1) = page(
        &model,
        EntityQuery {
            order: order.clone(),
            limit: 2,
            ..EntityQuery::default()
        },
    );
    assert_eq!(first, ["e2", "e6"]);
    assert_eq!(p1.total_items, 6);
    assert!(p1.prev_cursor.is_none());
    let (second, p2) = from_cursor(&model, p1.next_cursor.as_deref().unwrap(), 2);
    assert_eq!(second, ["e1", "e4"]);
    assert_eq!(p2.total_items, 6);
    let (third, p3) = from_cursor(&model, p2.next_cursor.as_deref().unwrap(), 2);
    assert_eq!(third, ["e3", "e5"]);
    assert!(p3.next_cursor.is_none());
    // Back again.
    let (back2, b2) = from_cursor(&model, p3.prev_cursor.as_deref().unwrap(), 2);
    assert_eq!(back2, ["e1", "e4"]);
    assert!(b2.next_cursor.is_some() && b2.prev_cursor.is_some());
    let (back1, b1) = from_cursor(&model, b2.prev_cursor.as_deref().unwrap(), 2);
    assert_eq!(back1, ["e2", "e6"]);
    assert!(b1.prev_cursor.is_none());
    assert_eq!(
        from_cursor(&model, b1.next_cursor.as_deref().unwrap(), 2).0,
        ["e1", "e4"]
    );
    // The limit of the request applies to cursor pages.
    assert_eq!(
        from_cursor(&model, p1.next_cursor.as_deref().unwrap(), 10).0,
        ["e1", "e4", "e3", "e5"]
    );
    // Descending walk.
    let pages = walk_forward(&model, vec![OrderField::desc("metadata.title")], 4);
    assert_eq!(pages, [vec!["e4", "e1", "e6", "e2"], vec!["e5", "e3"]]);
}

#[test]
fn cursor_keeps_filter_and_total() {
    let mut model = model_of(&titled());
    let (first, p1) = page(
        &model,
        EntityQuery {
            filter: filter(&["metadata.title"]),
            limit: 3,
            ..EntityQuery::default()
        },
    );
    assert_eq!(first, ["e1", "e2", "e4"]);
    assert_eq!(p1.total_items, 4);
    // totalItems is carried in the cursor, as in Backstage, even if the catalog changes.
    model
        .upsert(&entity(
            "Component",
            "e7",
            json!({"metadata": {"title": "z"}}),
        ))
        .unwrap();
    let (rest, p2) = from_cursor(&model, p1.next_cursor.as_deref().unwrap(), 3);
    assert_eq!(rest, ["e6", "e7"]);
    assert_eq!(p2.total_items, 4);
}

#[test]
fn offset_and_limit() {
    let model = model_of(&titled());
    let order = vec![OrderField::asc("metadata.title")];
    let query = |offset: usize, limit: usize| EntityQuery {
        order: order.clone(),
        offset: Some(offset),
        limit,
        ..EntityQuery::default()
    };
    let (names, p) = page(&model, query(1, 2));
    assert_eq!(names, ["e6", "e1"]);
    assert!(p.prev_cursor.is_some() && p.next_cursor.is_some());
    assert_eq!(
        from_cursor(&model, p.next_cursor.as_deref().unwrap(), 2).0,
        ["e4", "e3"]
    );
    assert_eq!(
        from_cursor(&model, p.prev_cursor.as_deref().unwrap(), 2).0,
        ["e2"]
    );
    let (names, p) = page(&model, query(5, 2));
    assert_eq!(names, ["e5"]);
    assert!(p.next_cursor.is_none());
    let (names, p) = page(&model, query(10, 2));
    assert!(names.is_empty());
    assert_eq!(p.total_items, 6);
    assert_eq!(
        from_cursor(&model, p.prev_cursor.as_deref().unwrap(), 2).0,
        ["e3", "e5"]
    );
    // Limit 0: the count and a cursor, no items.
    let (names, p) = page(&model, query(0, 0));
    assert!(names.is_empty());
    assert_eq!(p.total_items, 6);
    assert_eq!(
        from_cursor(&model, p.next_cursor.as_deref().unwrap(), 3).0,
        ["e2", "e6", "e1"]
    );
    // Empty result.
    let (names, p) = page(
        &model,
        EntityQuery {
            filter: filter(&["kind=nothing"]),
            ..EntityQuery::default()
        },
    );
    assert!(names.is_empty() && p.next_cursor.is_none() && p.prev_cursor.is_none());
    assert_eq!(p.total_items, 0);
}

#[test]
fn cursor_survives_removal_of_its_edge_entity() {
    let mut model = model_of(&titled());
    let (_, p1) = page(
        &model,
        EntityQuery {
            order: vec![OrderField::asc("metadata.title")],
            limit: 2,
            ..EntityQuery::default()
        },
    );
    // The page ended on e6; remove it, the next page still starts right after its position.
    assert!(model.remove("component:default/e6"));
    let (names, _) = from_cursor(&model, p1.next_cursor.as_deref().unwrap(), 2);
    assert_eq!(names, ["e1", "e4"]);
}

#[test]
fn members_clustered_at_the_end_of_the_order() {
    // 300 APIs whose names all sort after 3,000 components: a walk of the sorted names meets
    // them late, runs over its budget and finishes by scanning them.
    let mut entities: Vec<Value> = (0..3_000)
        .map(|i| entity("Component", &format!("a-{i:04}"), json!({})))
        .collect();
    entities.extend((0..300).map(|i| entity("API", &format!("z-{i:03}"), json!({}))));
    let model = model_of(&entities);
    let mut names = Vec::new();
    let mut page = model
        .query(&EntityQuery {
            filter: filter(&["kind=api"]),
            order: vec![OrderField::asc("metadata.name")],
            limit: 10,
            ..EntityQuery::default()
        })
        .unwrap();
    loop {
        names.extend(names_of(&page.items));
        let Some(next) = page.next_cursor.clone() else {
            break;
        };
        page = from_cursor(&model, &next, 10).1;
    }
    let expected: Vec<String> = (0..300).map(|i| format!("z-{i:03}")).collect();
    assert_eq!(names, expected);
}

//! The relations graph of an entity: its neighbourhood up to a few hops over chosen relation
//! types, laid out in columns (what the entity depends on, provides or belongs to on the right;
//! what depends on it or belongs to it on the left) and drawn server-side as SVG whose nodes
//! link to their entity pages.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;

use portico_catalog::read_model::ReadModel;
use serde::Serialize;
use serde_json::Value;

use crate::entity_view;

/// Most nodes drawn; the walk stops there and says so.
pub(crate) const MAX_NODES: usize = 60;

/// Relation pairs: the "forward" type (drawn left to right) and its inverse.
const PAIRS: &[(&str, &str, &str)] = &[
    ("dependsOn", "dependencyOf", "Depends on"),
    ("providesApi", "apiProvidedBy", "Provides API"),
    ("consumesApi", "apiConsumedBy", "Consumes API"),
    ("partOf", "hasPart", "Part of"),
    ("ownedBy", "ownerOf", "Owned by"),
    ("memberOf", "hasMember", "Member of"),
    ("childOf", "parentOf", "Child of"),
];

const NODE_W: i32 = 200;
const NODE_H: i32 = 40;
const COL_GAP: i32 = 110;
const ROW_GAP: i32 = 16;
const PAD: i32 = 20;

/// A relation type the viewer can switch on or off.
#[derive(Debug, Serialize)]
pub(crate) struct RelationChoice {
    pub id: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The relation types to offer, with the chosen ones (all when none is chosen) checked.
pub(crate) fn relation_choices(chosen: &[String]) -> Vec<RelationChoice> {
    PAIRS
        .iter()
        .map(|(id, _, label)| RelationChoice {
            id,
            label,
            checked: chosen.is_empty() || chosen.iter().any(|c| c.eq_ignore_ascii_case(id)),
        })
        .collect()
}

/// A drawn graph.
#[derive(Debug)]
pub(crate) struct GraphView {
    pub svg: String,
    pub node_count: usize,
    pub truncated: bool,
}

struct Node {
    column: i32,
    label: String,
    kind: String,
    url: String,
}

/// The pair index and direction (`true` forward) of a relation type among `allowed` pairs.
fn classify(relation_type: &str, allowed: &[usize]) -> Option<(usize, bool)> {
    allowed.iter().find_map(|&i| {
        let (forward, inverse, _) = PAIRS[i];
        if relation_type.eq_ignore_ascii_case(forward) {
            Some((i, true))
        } else if relation_type.eq_ignore_ascii_case(inverse) {
            Some((i, false))
        } else {
            None
        }
    })
}

/// The neighbourhood of `root` up to `hops` over the `chosen` pairs (all when empty).
pub(crate) fn neighbourhood(
    read_model: &ReadModel,
    root: &str,
    hops: usize,
    chosen: &[String],
) -> GraphView {
    let allowed: Vec<usize> = (0..PAIRS.len())
        .filter(|&i| chosen.is_empty() || chosen.iter().any(|c| c.eq_ignore_ascii_case(PAIRS[i].0)))
        .collect();
    let mut nodes: HashMap<String, Node> = HashMap::new();
    // (from, to, pair): always stored in the forward direction, once.
    let mut edges: BTreeMap<(String, String, usize), ()> = BTreeMap::new();
    let mut queue = VecDeque::from([(root.to_owned(), 0usize)]);
    nodes.insert(root.to_owned(), node_of(read_model, root, 0));
    let mut truncated = false;
    while let Some((current, depth)) = queue.pop_front() {
        if depth >= hops {
            continue;
        }
        let Some(json) = read_model.by_ref(&current) else {
            continue;
        };
        let Ok(entity) = serde_json::from_str::<Value>(&json) else {
            continue;
        };
        let column = nodes.get(&current).map_or(0, |n| n.column);
        for (relation_type, target) in entity_view::relations(&entity) {
            let Some((pair, forward)) = classify(relation_type, &allowed) else {
                continue;
            };
            let target = target.to_lowercase();
            if !nodes.contains_key(&target) {
                if nodes.len() >= MAX_NODES {
                    truncated = true;
                    continue;
                }
                let next_column = if forward { column + 1 } else { column - 1 };
                nodes.insert(target.clone(), node_of(read_model, &target, next_column));
                queue.push_back((target.clone(), depth + 1));
            }
            let key = if forward {
                (current.clone(), target, pair)
            } else {
                (target, current.clone(), pair)
            };
            edges.insert(key, ());
        }
    }
    GraphView {
        svg: draw(root, &nodes, edges.keys()),
        node_count: nodes.len(),
        truncated,
    }
}

fn node_of(read_model: &ReadModel, entity_ref: &str, column: i32) -> Node {
    let title = read_model
        .by_ref(entity_ref)
        .and_then(|json| serde_json::from_str::<Value>(&json).ok())
        .and_then(|e| {
            e.pointer("/metadata/title")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    Node {
        column,
        label: title.unwrap_or_else(|| entity_view::label_of_ref(entity_ref)),
        kind: entity_view::kind_of_ref(entity_ref),
        url: entity_view::url_of_ref(entity_ref),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max - 1).collect();
        short.push('…');
        short
    }
}

fn draw<'a>(
    root: &str,
    nodes: &HashMap<String, Node>,
    edges: impl Iterator<Item = &'a (String, String, usize)>,
) -> String {
    let min_col = nodes.values().map(|n| n.column).min().unwrap_or(0);
    let max_col = nodes.values().map(|n| n.column).max().unwrap_or(0);
    let mut columns: BTreeMap<i32, Vec<(&String, &Node)>> = BTreeMap::new();
    for (r, n) in nodes {
        columns.entry(n.column).or_default().push((r, n));
    }
    for members in columns.values_mut() {
        members.sort_by(|a, b| {
            (a.1.kind.as_str(), a.1.label.as_str()).cmp(&(b.1.kind.as_str(), b.1.label.as_str()))
        });
    }
    let max_rows = columns.values().map(Vec::len).max().unwrap_or(1) as i32;
    let width = (max_col - min_col + 1) * NODE_W + (max_col - min_col) * COL_GAP + 2 * PAD;
    let height = max_rows * NODE_H + (max_rows - 1) * ROW_GAP + 2 * PAD;
    let mut position: HashMap<&str, (i32, i32)> = HashMap::new();
    for (column, members) in &columns {
        let x = PAD + (column - min_col) * (NODE_W + COL_GAP);
        let offset = (max_rows - members.len() as i32) * (NODE_H + ROW_GAP) / 2;
        for (row, (r, _)) in members.iter().enumerate() {
            position.insert(
                r.as_str(),
                (x, PAD + offset + row as i32 * (NODE_H + ROW_GAP)),
            );
        }
    }
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-labelledby="graph-title"><title id="graph-title">Relations of {}</title>"#,
        escape(root)
    );
    svg.push_str(r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="arrowhead"/></marker></defs>"#);
    for (from, to, pair) in edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) =
            (position.get(from.as_str()), position.get(to.as_str()))
        else {
            continue;
        };
        let (sx, tx) = if x1 <= x2 {
            (x1 + NODE_W, x2)
        } else {
            (x1, x2 + NODE_W)
        };
        let (sy, ty) = (y1 + NODE_H / 2, y2 + NODE_H / 2);
        let bend = if x1 == x2 {
            NODE_W / 2
        } else {
            (tx - sx).abs() / 2
        };
        let (c1, c2) = if x1 == x2 {
            (sx + bend, tx + bend)
        } else if sx < tx {
            (sx + bend, tx - bend)
        } else {
            (sx - bend, tx + bend)
        };
        let _ = write!(
            svg,
            r#"<path class="edge rel-{pair}" d="M{sx} {sy} C{c1} {sy} {c2} {ty} {tx} {ty}" marker-end="url(#arrow)"><title>{} {} {}</title></path>"#,
            escape(&entity_view::label_of_ref(from)),
            PAIRS[*pair].2.to_lowercase(),
            escape(&entity_view::label_of_ref(to)),
        );
    }
    for members in columns.values() {
        for (r, node) in members {
            let Some(&(x, y)) = position.get(r.as_str()) else {
                continue;
            };
            let class = if r.as_str() == root {
                "node root"
            } else {
                "node"
            };
            let _ = write!(
                svg,
                r#"<a href="{url}" class="{class} kind-{kind}" data-ref="{eref}"><title>{eref}</title><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="8"/><text x="{tx}" y="{ty1}" class="node-kind">{kind}</text><text x="{tx}" y="{ty2}" class="node-label">{label}</text></a>"#,
                url = escape(&node.url),
                kind = escape(&node.kind),
                eref = escape(r),
                tx = x + 12,
                ty1 = y + 15,
                ty2 = y + 31,
                label = escape(&truncate(&node.label, 23)),
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(kind: &str, name: &str, relations: &[(&str, &str)]) -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": kind,
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
            "relations": relations.iter().map(|(t, r)| json!({"type": t, "targetRef": r})).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn walks_hops_and_links_nodes() {
        let mut model = ReadModel::new();
        for e in [
            entity("Component", "a", &[("dependsOn", "component:default/b")]),
            entity(
                "Component",
                "b",
                &[
                    ("dependencyOf", "component:default/a"),
                    ("dependsOn", "component:default/c"),
                ],
            ),
            entity("Component", "c", &[("dependencyOf", "component:default/b")]),
        ] {
            model.upsert(&e).unwrap_or_else(|err| panic!("{err}"));
        }
        let one = neighbourhood(&model, "component:default/a", 1, &[]);
        assert_eq!(one.node_count, 2);
        assert!(
            one.svg.contains(r#"href="/catalog/default/component/b""#),
            "{}",
            one.svg
        );
        let two = neighbourhood(&model, "component:default/a", 2, &[]);
        assert_eq!(two.node_count, 3);
        // a→b appears once although both ends state it.
        assert_eq!(two.svg.matches("class=\"edge").count(), 2, "{}", two.svg);
        let none = neighbourhood(&model, "component:default/a", 2, &["ownedBy".to_owned()]);
        assert_eq!(none.node_count, 1);
    }

    #[test]
    fn escapes_labels() {
        assert_eq!(
            escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}

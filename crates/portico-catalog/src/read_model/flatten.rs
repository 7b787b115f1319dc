//! Flattening an entity into search rows, exactly like Backstage's `buildEntitySearch`: the
//! `(key, value)` pairs filters, facets, ordering and full-text search work on.
//!
//! - Objects are descended with dotted keys; array items share their parent's key (no index);
//!   each string item of an array also gives `<path>.<item>` = `true` (`metadata.tags.java`).
//! - Numbers and booleans become their text; `null` gives the key without a value.
//! - Keys are lowercased; values are lowercased for matching and kept as written for facets.
//! - Keys longer than [`MAX_KEY_LENGTH`] are dropped; values longer than [`MAX_VALUE_LENGTH`]
//!   keep their key but lose the value (Backstage stores `null`), so they cannot be matched.
//! - `attachments`, `relations`, `status`, `metadata.name/namespace/uid/etag` are skipped by the
//!   generic walk; `metadata.name`, `metadata.namespace` (plus `default` when unset) and
//!   `metadata.uid` are always added, and every relation adds `relations.<type>` = target ref.
//! - Rows are deduplicated by `(key, lowercase value)`.
//!
//! The walk uses an explicit stack, never recursion on the entity's shape.

use std::collections::HashSet;

use serde_json::Value;

use super::error::ReadModelError;
use super::predicate::js_number;

/// Longest key (in UTF-16 code units, as JavaScript counts) that is indexed at all.
pub const MAX_KEY_LENGTH: usize = 200;
/// Longest value (in UTF-16 code units) that is indexed for matching.
pub const MAX_VALUE_LENGTH: usize = 200;

/// Keys the generic walk skips (compared as written, like Backstage).
const SPECIAL_KEYS: &[&str] = &[
    "attachments",
    "relations",
    "status",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.etag",
];

/// A value of a search row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlatValue {
    /// Lowercased, what filters and ordering compare.
    pub lower: String,
    /// As written, what facets report.
    pub original: String,
}

/// One search row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlatRow {
    /// Lowercased dotted key.
    pub key: String,
    /// `None` for null, and for values too long to index.
    pub value: Option<FlatValue>,
}

/// An entity reduced to what the index needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Flattened {
    /// `kind:namespace/name`, lowercased, namespace `default` when unset.
    pub entity_ref: String,
    /// `metadata.uid` as written, if it is a non-empty string.
    pub uid: Option<String>,
    /// Search rows sorted by key then lowercase value (null first), without duplicates.
    pub rows: Vec<FlatRow>,
}

/// JavaScript's `.length`: UTF-16 code units.
fn js_length(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.encode_utf16().count()
    }
}

fn required_string<'a>(value: Option<&'a Value>, what: &str) -> Result<&'a str, ReadModelError> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(ReadModelError::InvalidEntity(format!(
            "{what} must not be empty"
        ))),
        Some(other) if !other.is_null() => Err(ReadModelError::InvalidEntity(format!(
            "{what} must be a string"
        ))),
        _ => Err(ReadModelError::InvalidEntity(format!("{what} is missing"))),
    }
}

/// The canonical reference of an entity: `kind:namespace/name`, lowercased.
pub(crate) fn entity_ref_of(entity: &Value) -> Result<String, ReadModelError> {
    let Value::Object(root) = entity else {
        return Err(ReadModelError::InvalidEntity(
            "an entity must be a JSON object".to_owned(),
        ));
    };
    let kind = required_string(root.get("kind"), "kind")?;
    let Some(Value::Object(metadata)) = root.get("metadata") else {
        return Err(ReadModelError::InvalidEntity(
            "metadata is missing or not an object".to_owned(),
        ));
    };
    let name = required_string(metadata.get("name"), "metadata.name")?;
    let namespace = match metadata.get("namespace") {
        None | Some(Value::Null) => "default",
        Some(Value::String(s)) if s.is_empty() => "default",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(ReadModelError::InvalidEntity(
                "metadata.namespace must be a string".to_owned(),
            ));
        }
    };
    Ok(format!(
        "{}:{}/{}",
        kind.to_lowercase(),
        namespace.to_lowercase(),
        name.to_lowercase()
    ))
}

/// Rows before lowercasing and limits: (key as written, value as written; `None` = null).
struct RawRows {
    rows: Vec<(String, Option<String>)>,
}

impl RawRows {
    fn push_scalar(&mut self, key: String, value: &Value) {
        let text = match value {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(js_number(n)),
            _ => None,
        };
        self.rows.push((key, text));
    }
}

/// Flattens `entity` into its search rows; fails if the envelope is unusable or two keys
/// differ only in case.
pub(crate) fn flatten(entity: &Value) -> Result<Flattened, ReadModelError> {
    let entity_ref = entity_ref_of(entity)?;
    let metadata = entity.get("metadata");
    let uid = metadata
        .and_then(|m| m.get("uid"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);

    let mut raw = RawRows { rows: Vec::new() };
    // Lowercased synthetic `<path>.<item>` keys already emitted (Backstage's `seenPathKeys`).
    let mut seen_path_keys: HashSet<String> = HashSet::new();
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), entity)];
    while let Some((path, current)) = stack.pop() {
        if SPECIAL_KEYS.contains(&path.as_str()) {
            continue;
        }
        match current {
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
                raw.push_scalar(path, current);
            }
            Value::Array(items) => {
                for item in items.iter().rev() {
                    if let Value::String(text) = item {
                        let path_key = format!("{path}.{text}");
                        if seen_path_keys.insert(path_key.to_lowercase()) {
                            raw.rows.push((path_key, Some("true".to_owned())));
                        }
                    }
                    stack.push((path.clone(), item));
                }
            }
            Value::Object(map) => {
                for (key, value) in map.iter().rev() {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    stack.push((child, value));
                }
            }
        }
    }

    // Always-present rows.
    let null = Value::Null;
    let meta_field = |field: &str| metadata.and_then(|m| m.get(field)).unwrap_or(&null);
    raw.push_scalar("metadata.name".to_owned(), meta_field("name"));
    let namespace = meta_field("namespace");
    raw.push_scalar("metadata.namespace".to_owned(), namespace);
    raw.push_scalar("metadata.uid".to_owned(), meta_field("uid"));
    let namespace_unset = match namespace {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        _ => false,
    };
    if namespace_unset {
        raw.rows
            .push(("metadata.namespace".to_owned(), Some("default".to_owned())));
    }
    if let Some(Value::Array(relations)) = entity.get("relations") {
        for relation in relations {
            if let (Some(Value::String(kind)), Some(Value::String(target))) =
                (relation.get("type"), relation.get("targetRef"))
            {
                raw.rows
                    .push((format!("relations.{kind}"), Some(target.clone())));
            }
        }
    }

    check_case_collisions(&raw.rows)?;

    let mut rows: Vec<FlatRow> = raw
        .rows
        .into_iter()
        .filter_map(|(key, value)| {
            let key = key.to_lowercase();
            if js_length(&key) > MAX_KEY_LENGTH {
                return None;
            }
            let value = value.and_then(|original| {
                let lower = original.to_lowercase();
                (js_length(&lower) <= MAX_VALUE_LENGTH).then_some(FlatValue { lower, original })
            });
            Some(FlatRow { key, value })
        })
        .collect();
    // Stable sort keeps the first original spelling of duplicate values.
    rows.sort_by(|a, b| {
        a.key.cmp(&b.key).then_with(|| match (&a.value, &b.value) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.lower.cmp(&y.lower),
        })
    });
    rows.dedup_by(|later, earlier| {
        later.key == earlier.key
            && match (&later.value, &earlier.value) {
                (None, None) => true,
                (Some(x), Some(y)) => x.lower == y.lower,
                _ => false,
            }
    });
    Ok(Flattened {
        entity_ref,
        uid,
        rows,
    })
}

/// Backstage rejects entities whose keys collide once lowercased (`spec.foo` and `spec.Foo`).
fn check_case_collisions(rows: &[(String, Option<String>)]) -> Result<(), ReadModelError> {
    let keys: HashSet<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    let mut lower_first: std::collections::HashMap<String, &str> =
        std::collections::HashMap::with_capacity(keys.len());
    let mut colliding: Vec<String> = Vec::new();
    for key in keys {
        let lower = key.to_lowercase();
        if lower_first.insert(lower.clone(), key).is_some() && !colliding.contains(&lower) {
            colliding.push(lower);
        }
    }
    if colliding.is_empty() {
        return Ok(());
    }
    colliding.sort();
    Err(ReadModelError::DuplicateKeys(format!(
        "'{}'",
        colliding.join("', '")
    )))
}

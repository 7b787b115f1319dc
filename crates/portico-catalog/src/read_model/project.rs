//! The `fields` projection of Backstage's entity endpoints: keep only the listed dotted paths,
//! each with its whole subtree, in the structure of the entity (`fields=kind,metadata.name`
//! gives `{"kind": .., "metadata": {"name": ..}}`).
//!
//! Paths are case-sensitive, like Backstage. A path segment may itself contain dots — an
//! annotation key such as `metadata.annotations.backstage.io/orphan` is found by trying the
//! shortest run of segments that names a key at each level. Paths that do not exist are left
//! out; paths through arrays are not supported (`[` is rejected, as in Backstage).

use serde_json::{Map, Value};

use super::error::ReadModelError;

/// Projects `entity_json` (an entity as stored) onto `fields`; empty `fields` (or only blank
/// entries) returns the whole entity.
pub fn project(entity_json: &str, fields: &[String]) -> Result<Value, ReadModelError> {
    let entity: Value = serde_json::from_str(entity_json)
        .map_err(|e| ReadModelError::InvalidEntity(format!("stored JSON does not parse: {e}")))?;
    project_value(&entity, fields)
}

/// [`project`] on a parsed entity.
pub fn project_value(entity: &Value, fields: &[String]) -> Result<Value, ReadModelError> {
    let fields: Vec<&str> = fields
        .iter()
        .map(|f| f.trim())
        .filter(|f| !f.is_empty())
        .collect();
    if fields.is_empty() {
        return Ok(entity.clone());
    }
    if let Some(field) = fields.iter().find(|f| f.contains('[')) {
        return Err(ReadModelError::InvalidFields(format!(
            "array type fields are not supported ('{field}')"
        )));
    }
    let mut output = Map::new();
    for field in fields {
        let segments: Vec<&str> = field.split('.').collect();
        if let Some((path, value)) = resolve(entity, &segments) {
            insert(&mut output, &path, value.clone());
        }
    }
    Ok(Value::Object(output))
}

/// Finds the keys `segments` spell in `entity`, joining consecutive segments with dots when a
/// single one names no key. Returns the keys and the value at the end.
fn resolve<'a>(entity: &'a Value, segments: &[&str]) -> Option<(Vec<String>, &'a Value)> {
    let mut path = Vec::new();
    let mut current = entity;
    let mut rest = segments;
    while !rest.is_empty() {
        let Value::Object(map) = current else {
            return None;
        };
        let mut found = None;
        for take in 1..=rest.len() {
            let candidate = rest.get(..take)?.join(".");
            if let Some(next) = map.get(&candidate) {
                found = Some((candidate, next, take));
                break;
            }
        }
        let (key, next, take) = found?;
        path.push(key);
        current = next;
        rest = rest.get(take..)?;
    }
    Some((path, current))
}

/// Sets `value` at `path` in `output`, creating objects on the way; a subtree already copied
/// whole is kept whole.
fn insert(output: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut target = output;
    for key in parents {
        let slot = target
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        match slot {
            Value::Object(map) => target = map,
            // A scalar parent can only come from an earlier, longer-reaching field: keep it.
            _ => return,
        }
    }
    target.insert(last.clone(), value);
}

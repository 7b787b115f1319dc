//! `$text`, `$json` and `$yaml` placeholders: a mapping with exactly one of these keys is replaced
//! by the content of the file or URL it names (relative references resolve against the
//! descriptor's own location), as text, parsed JSON or parsed YAML.
//!
//! Unlike Backstage, relative placeholders also work for `file` locations (§15 of the research
//! notes). A placeholder the reader declines to fetch is replaced by a stand-in string and
//! reported as not fetched, so that offline validation still checks everything else.

use portico_model::{FieldPath, PathSegment, YamlLimits, decode_utf8, parse_documents};
use serde_json::Value;

use crate::reader::{ReadError, SourceReader, Target};

/// Result of resolving the placeholders of one entity.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Placeholders that failed, with their field and reason.
    pub errors: Vec<(FieldPath, String)>,
    /// Placeholders the reader does not fetch; each was replaced by a stand-in string.
    pub not_fetched: Vec<(FieldPath, String)>,
}

const KINDS: [&str; 3] = ["$text", "$json", "$yaml"];

/// Replaces every placeholder in `value`.
pub fn resolve_placeholders(
    value: &mut Value,
    base: &Target,
    reader: &dyn SourceReader,
) -> Resolution {
    let mut resolution = Resolution::default();
    let mut at = Vec::new();
    visit(value, &mut at, base, reader, &mut resolution);
    resolution
}

// Recursion depth is bounded by the value's nesting (the YAML reader allows 64 levels).
fn visit(
    node: &mut Value,
    at: &mut Vec<PathSegment>,
    base: &Target,
    reader: &dyn SourceReader,
    resolution: &mut Resolution,
) {
    if let Some((kind, reference)) = placeholder(node) {
        let path = FieldPath::from_segments(at.clone());
        match resolve_one(kind, reference, base, reader) {
            Ok(resolved) => *node = resolved,
            Err(ReadError::NotFetched(what)) => {
                // A stand-in keeps the rest of the entity checkable offline.
                *node = Value::String(format!("(not fetched: {what})"));
                resolution.not_fetched.push((
                    path,
                    format!("{kind} {what} was not fetched (pass --fetch to fetch remote content)"),
                ));
            }
            Err(err) => resolution
                .errors
                .push((path, format!("{kind} placeholder: {err}"))),
        }
        return;
    }
    match node {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if child.is_object() || child.is_array() {
                    at.push(PathSegment::Key(key.clone()));
                    visit(child, at, base, reader, resolution);
                    at.pop();
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                if child.is_object() || child.is_array() {
                    at.push(PathSegment::Index(i));
                    visit(child, at, base, reader, resolution);
                    at.pop();
                }
            }
        }
        _ => {}
    }
}

/// The placeholder kind and its argument, if `node` is a placeholder.
fn placeholder(node: &Value) -> Option<(&'static str, &Value)> {
    let map = node.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (key, reference) = map.iter().next()?;
    let kind = KINDS.iter().find(|k| **k == key)?;
    Some((kind, reference))
}

fn resolve_one(
    kind: &str,
    reference: &Value,
    base: &Target,
    reader: &dyn SourceReader,
) -> Result<Value, ReadError> {
    let Some(reference) = reference.as_str() else {
        return Err(ReadError::Failed {
            target: kind.to_owned(),
            reason: "the placeholder's value must be a string path or URL".to_owned(),
        });
    };
    let target = base.join(reference).map_err(|reason| ReadError::Failed {
        target: reference.to_owned(),
        reason,
    })?;
    let bytes = reader.read(&target)?;
    let failed = |reason: String| ReadError::Failed {
        target: target.to_string(),
        reason,
    };
    let text =
        decode_utf8(&bytes).map_err(|err| failed(format!("{} at {}", err, err.position())))?;
    match kind {
        "$json" => serde_json::from_str(text).map_err(|err| failed(format!("invalid JSON: {err}"))),
        "$yaml" => {
            let mut docs = parse_documents(text, &YamlLimits::default());
            match docs.len() {
                0 => Ok(Value::Null),
                1 => docs
                    .remove(0)
                    .map(|doc| doc.value)
                    .map_err(|err| failed(format!("{err} at {}", err.position()))),
                n => Err(failed(format!(
                    "expected a single YAML document, found {n}"
                ))),
            }
        }
        _ => Ok(Value::String(text.to_owned())),
    }
}

//! The one predicate type behind both of Backstage's query languages: the legacy `filter` query
//! parameters (`kind=component,spec.type=service`, several parameters ORed) and the v1.50 JSON
//! predicates (`{"$all": [{"kind": "component"}, {"spec.type": {"$in": ["service"]}}]}`).
//!
//! Parsers normalise keys and values to lower case (the index stores them that way), so two
//! predicates that match the same entities compare equal more often; evaluation lowercases again,
//! so a hand-built predicate with upper-case letters works too. Parsing is bounded: at most
//! [`MAX_PREDICATE_DEPTH`] levels of nesting.

use serde_json::{Map, Value};

use super::error::ReadModelError;

/// Deepest nesting of `$all`/`$any`/`$not` accepted by [`Predicate::from_json`].
pub const MAX_PREDICATE_DEPTH: usize = 32;

/// A condition on entities, evaluated against the search rows of each entity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Predicate {
    /// Every entity.
    #[default]
    MatchAll,
    /// Entities matching every child (an empty list matches every entity).
    All(Vec<Predicate>),
    /// Entities matching at least one child (an empty list matches nothing).
    Any(Vec<Predicate>),
    /// Entities not matching the child.
    Not(Box<Predicate>),
    /// Entities that have the key, with or without a value (null and over-long values count).
    Exists {
        /// Dotted key, e.g. `metadata.tags.java`.
        key: String,
    },
    /// Entities with a value of `key` equal (case-insensitively) to one of `values`.
    In {
        /// Dotted key, e.g. `spec.type`.
        key: String,
        /// Accepted values; an empty list matches nothing.
        values: Vec<String>,
    },
    /// Entities with a value of `key` starting (case-insensitively) with `prefix` — Backstage's
    /// later `$hasPrefix` operator.
    HasPrefix {
        /// Dotted key.
        key: String,
        /// The prefix.
        prefix: String,
    },
}

impl Predicate {
    /// Parses Backstage's legacy `filter` query parameters. Each parameter is a filter set of
    /// comma-separated statements that must all hold; the entity matches if any set holds.
    /// Statements are `key` (exists), `key=value` (equality; `key=` matches the empty string);
    /// the same key repeated in one set means "any of these values". Keys and values are trimmed
    /// and matched case-insensitively; repeated keys are grouped as written (case-sensitively),
    /// like Backstage. No parameter, or only empty ones, gives [`Predicate::MatchAll`].
    pub fn from_filter_params(params: &[String]) -> Result<Predicate, ReadModelError> {
        let mut sets = Vec::new();
        for param in params {
            let statements: Vec<&str> = param
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if statements.is_empty() {
                continue;
            }
            // (key as written, values); insertion order kept so the predicate is deterministic.
            let mut by_key: Vec<(&str, Vec<String>)> = Vec::new();
            for statement in statements {
                let (key, value) = match statement.split_once('=') {
                    None => (statement, None),
                    Some((key, value)) => (key.trim(), Some(value.trim())),
                };
                if key.is_empty() {
                    return Err(ReadModelError::InvalidFilter {
                        statement: statement.to_owned(),
                    });
                }
                let index = match by_key.iter().position(|(k, _)| *k == key) {
                    Some(index) => index,
                    None => {
                        by_key.push((key, Vec::new()));
                        by_key.len() - 1
                    }
                };
                if let (Some(value), Some((_, values))) = (value, by_key.get_mut(index)) {
                    let value = value.to_lowercase();
                    if !values.contains(&value) {
                        values.push(value);
                    }
                }
            }
            let conditions: Vec<Predicate> = by_key
                .into_iter()
                .map(|(key, values)| {
                    let key = key.to_lowercase();
                    if values.is_empty() {
                        Predicate::Exists { key }
                    } else {
                        Predicate::In { key, values }
                    }
                })
                .collect();
            sets.push(Predicate::all(conditions));
        }
        Ok(match sets.len() {
            0 => Predicate::MatchAll,
            _ => Predicate::any(sets),
        })
    }

    /// Parses a v1.50 predicate: `{"$all": [P, ..]}`, `{"$any": [P, ..]}`, `{"$not": P}` or
    /// field expressions `{"<dotted.key>": V}` where `V` is a string, number or boolean
    /// (equality, compared as lower-case text), `{"$exists": bool}`, `{"$in": [primitive, ..]}`
    /// (non-empty) or `{"$hasPrefix": string}`. An object with several entries is the AND of
    /// them; `{}` matches every entity.
    pub fn from_json(value: &Value) -> Result<Predicate, ReadModelError> {
        if is_primitive(value) {
            return Err(invalid(
                "$",
                format!(
                    "top-level primitive values are not supported; wrap the value in a field \
                     expression, e.g. {{\"kind\": {value}}}"
                ),
            ));
        }
        parse_predicate(value, "$", 0)
    }

    /// The predicate in the v1.50 JSON grammar; [`Predicate::from_json`] reads it back to a
    /// predicate matching the same entities (equal, up to the lowercasing the parser applies,
    /// except that conditions that can match nothing are written as `{"$any": []}`).
    pub fn to_json(&self) -> Value {
        let object = |key: &str, value: Value| {
            let mut map = Map::new();
            map.insert(key.to_owned(), value);
            Value::Object(map)
        };
        // No entity has a key starting with `$` (its root keys are fixed), and the grammar
        // reads such keys as operators: a condition on one matches nothing, and says so.
        let nothing = || object("$any", Value::Array(Vec::new()));
        match self {
            Predicate::Exists { key }
            | Predicate::In { key, .. }
            | Predicate::HasPrefix { key, .. }
                if key.starts_with('$') =>
            {
                nothing()
            }
            Predicate::MatchAll => Value::Object(Map::new()),
            Predicate::All(children) => object(
                "$all",
                Value::Array(children.iter().map(Predicate::to_json).collect()),
            ),
            Predicate::Any(children) => object(
                "$any",
                Value::Array(children.iter().map(Predicate::to_json).collect()),
            ),
            Predicate::Not(child) => object("$not", child.to_json()),
            Predicate::Exists { key } => object(key, object("$exists", Value::Bool(true))),
            Predicate::In { key, values } => match values.as_slice() {
                // `$in: []` is rejected by the parser; "any of nothing" says the same.
                [] => nothing(),
                [single] => object(key, Value::String(single.clone())),
                many => object(
                    key,
                    object(
                        "$in",
                        Value::Array(many.iter().cloned().map(Value::String).collect()),
                    ),
                ),
            },
            Predicate::HasPrefix { key, prefix } => {
                object(key, object("$hasPrefix", Value::String(prefix.clone())))
            }
        }
    }

    /// `All` of `children`, without the wrapper when there is exactly one.
    pub fn all(mut children: Vec<Predicate>) -> Predicate {
        match children.len() {
            1 => children.pop().unwrap_or_default(),
            _ => Predicate::All(children),
        }
    }

    /// `Any` of `children`, without the wrapper when there is exactly one.
    pub fn any(mut children: Vec<Predicate>) -> Predicate {
        match children.len() {
            1 => children.pop().unwrap_or_default(),
            _ => Predicate::Any(children),
        }
    }

    /// Equality of `key` and `value` (case-insensitive), the `key=value` of a filter.
    pub fn equals(key: &str, value: &str) -> Predicate {
        Predicate::In {
            key: key.to_lowercase(),
            values: vec![value.to_lowercase()],
        }
    }
}

fn invalid(path: &str, message: impl Into<String>) -> ReadModelError {
    ReadModelError::InvalidPredicate {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn is_primitive(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A primitive as the search table stores it: `String(value)` in JavaScript, lowercased.
pub(crate) fn primitive_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(js_number(n)),
        _ => None,
    }
}

/// `String(n)` in JavaScript for the common cases: integers without a fraction part.
pub(crate) fn js_number(n: &serde_json::Number) -> String {
    if let Some(f) = n.as_f64()
        && !n.is_i64()
        && !n.is_u64()
        && f.fract() == 0.0
        && f.abs() < 1e21
    {
        return format!("{f:.0}");
    }
    n.to_string()
}

fn child_path(path: &str, key: &str) -> String {
    if key.is_empty() || key.contains(['.', '/', ' ', '[', ']', '"']) {
        format!("{path}[{}]", Value::String(key.to_owned()))
    } else {
        format!("{path}.{key}")
    }
}

fn parse_predicate(value: &Value, path: &str, depth: usize) -> Result<Predicate, ReadModelError> {
    if depth > MAX_PREDICATE_DEPTH {
        return Err(invalid(
            path,
            format!("predicates may nest at most {MAX_PREDICATE_DEPTH} levels deep"),
        ));
    }
    let Value::Object(map) = value else {
        return Err(invalid(
            path,
            format!(
                "expected an object ({{\"$all\": [..]}}, {{\"$any\": [..]}}, {{\"$not\": ..}} or \
                 {{\"<field>\": <value>}}), found {}",
                describe(value)
            ),
        ));
    };
    let mut parts = Vec::with_capacity(map.len());
    for (key, child) in map {
        let here = child_path(path, key);
        let part = match key.as_str() {
            "$all" | "$any" => {
                let Value::Array(items) = child else {
                    return Err(invalid(
                        &here,
                        format!(
                            "{key} expects an array of predicates, found {}",
                            describe(child)
                        ),
                    ));
                };
                let children = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| parse_predicate(item, &format!("{here}[{i}]"), depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                if key == "$all" {
                    Predicate::All(children)
                } else {
                    Predicate::Any(children)
                }
            }
            "$not" => Predicate::Not(Box::new(parse_predicate(child, &here, depth + 1)?)),
            operator if operator.starts_with('$') => {
                return Err(invalid(
                    &here,
                    format!(
                        "unknown operator '{operator}'; logical operators are $all, $any and \
                         $not, and $exists, $in and $hasPrefix apply to a field, as in \
                         {{\"spec.type\": {{\"$in\": [\"service\"]}}}}"
                    ),
                ));
            }
            "" => return Err(invalid(&here, "field names cannot be empty")),
            field => parse_field(field, child, &here)?,
        };
        parts.push(part);
    }
    Ok(match parts.len() {
        0 => Predicate::MatchAll,
        _ => Predicate::all(parts),
    })
}

fn parse_field(field: &str, value: &Value, path: &str) -> Result<Predicate, ReadModelError> {
    let key = field.to_lowercase();
    if let Some(text) = primitive_text(value) {
        return Ok(Predicate::In {
            key,
            values: vec![text],
        });
    }
    let Value::Object(map) = value else {
        return Err(invalid(
            path,
            format!(
                "a field expects a string, number or boolean, or one of {{\"$exists\": bool}}, \
                 {{\"$in\": [..]}}, {{\"$hasPrefix\": string}}; found {}",
                describe(value)
            ),
        ));
    };
    let mut entries = map.iter();
    let (Some((operator, operand)), None) = (entries.next(), entries.next()) else {
        return Err(invalid(
            path,
            format!(
                "a field's operator object must have exactly one entry ($exists, $in or \
                 $hasPrefix), found {}",
                map.len()
            ),
        ));
    };
    let here = child_path(path, operator);
    match operator.as_str() {
        "$exists" => match operand {
            Value::Bool(true) => Ok(Predicate::Exists { key }),
            Value::Bool(false) => Ok(Predicate::Not(Box::new(Predicate::Exists { key }))),
            other => Err(invalid(
                &here,
                format!("$exists expects true or false, found {}", describe(other)),
            )),
        },
        "$in" => {
            let Value::Array(items) = operand else {
                return Err(invalid(
                    &here,
                    format!(
                        "$in expects an array of strings, numbers or booleans, found {}",
                        describe(operand)
                    ),
                ));
            };
            if items.is_empty() {
                return Err(invalid(
                    &here,
                    "$in needs at least one value (an empty list would match nothing)",
                ));
            }
            let mut values = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let Some(text) = primitive_text(item) else {
                    return Err(invalid(
                        &format!("{here}[{i}]"),
                        format!(
                            "$in values must be strings, numbers or booleans, found {}",
                            describe(item)
                        ),
                    ));
                };
                if !values.contains(&text) {
                    values.push(text);
                }
            }
            Ok(Predicate::In { key, values })
        }
        "$hasPrefix" => match operand {
            Value::String(prefix) => Ok(Predicate::HasPrefix {
                key,
                prefix: prefix.to_lowercase(),
            }),
            other => Err(invalid(
                &here,
                format!("$hasPrefix expects a string, found {}", describe(other)),
            )),
        },
        other => Err(invalid(
            &here,
            format!(
                "unknown field operator '{other}'; a field accepts a plain value, $exists, $in \
                 or $hasPrefix"
            ),
        )),
    }
}

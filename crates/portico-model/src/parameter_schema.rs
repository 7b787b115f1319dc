//! Template parameter pages checked as JSON Schema (draft 7, what Backstage's forms and its
//! `POST /v2/tasks` validation use), so a broken schema is reported where entity problems are —
//! `portico validate`, the catalog's `status.items` — instead of when a task first runs.
//!
//! Each page is checked against the draft-7 meta-schema (which allows unknown keywords such as
//! `ui:widget`, as Backstage's forms need), then compiled, which also catches what the
//! meta-schema cannot see (a `$ref` to nothing). Problems name the exact field
//! (`spec.parameters[0].properties.name.type`), so the source map gives its line, and say what
//! the keyword allows; the meta-schema's own wording ("not valid under any of the schemas listed
//! in the 'anyOf' keyword") would not help a template author.

use serde_json::{Map, Value};

use crate::path::FieldPath;
use crate::validate::{Issue, describe};

/// Checks `spec.parameters` (one page or a list of pages) of a Template.
pub(crate) fn check_parameter_pages(
    spec: &Map<String, Value>,
    spec_path: &FieldPath,
    issues: &mut Vec<Issue>,
) {
    let path = spec_path.key("parameters");
    match spec.get("parameters") {
        Some(page @ Value::Object(_)) => check_page(page, &path, issues),
        Some(Value::Array(pages)) => {
            for (index, page) in pages.iter().enumerate() {
                // Entries that are not mappings are reported by the kind's field shape.
                if page.is_object() {
                    check_page(page, &path.index(index), issues);
                }
            }
        }
        _ => {}
    }
}

/// Checks parameter pages given as a list (the scaffolder's form of `spec.parameters`); the
/// issues' paths are `spec.parameters[<index>]…`.
pub fn check_pages(pages: &[Value]) -> Vec<Issue> {
    let path = FieldPath::dotted("spec.parameters");
    let mut issues = Vec::new();
    for (index, page) in pages.iter().enumerate() {
        if page.is_object() {
            check_page(page, &path.index(index), &mut issues);
        }
    }
    issues
}

fn check_page(page: &Value, page_path: &FieldPath, issues: &mut Vec<Issue>) {
    let before = issues.len();
    check_schema(page, page_path, issues);
    if issues.len() > before {
        return;
    }
    // The meta-schema accepts the page; compiling finds the rest (unresolvable `$ref`s). Only
    // a page with a `$ref` can fail there, and compiling costs as much again as the check.
    if !has_ref(page) {
        return;
    }
    if let Err(error) = jsonschema::draft7::new(page) {
        let pointer = error.instance_path().as_str().to_owned();
        let mut issue = issue_at(page, page_path, &pointer, &error.to_string());
        issue.message = format!("invalid JSON Schema in a parameter page: {error}");
        if error.kind().keyword() == "$ref" {
            issue.expected =
                "a $ref that points into the same page (\"#/definitions/<name>\")".to_owned();
        }
        issue.found = None;
        issues.push(issue);
    }
}

/// Whether a `$ref` key appears anywhere in `value`. Recursion is bounded by the nesting the
/// YAML reader allows.
fn has_ref(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.contains_key("$ref") || map.values().any(has_ref),
        Value::Array(items) => items.iter().any(has_ref),
        _ => false,
    }
}

/// Meta-validates one schema. Where the meta-schema offers alternatives (`items` is a schema or
/// a list of them; a `dependencies` entry a schema or a list of names), it reports only the
/// alternative's place, not what inside failed; such a schema is checked again on its own so
/// the issue names the innermost field.
fn check_schema(schema: &Value, schema_path: &FieldPath, issues: &mut Vec<Issue>) {
    let meta = jsonschema::draft7::meta::validator();
    let mut seen = std::collections::HashSet::new();
    for error in meta.iter_errors(schema) {
        let pointer = error.instance_path().as_str().to_owned();
        // One wrong value can fail several branches of the meta-schema; report it once.
        if !seen.insert(pointer.clone()) {
            continue;
        }
        let alternatives = matches!(error.kind().keyword(), "anyOf" | "oneOf");
        if alternatives && !pointer.is_empty() {
            let (inner_path, inner) = locate(schema, schema_path, &pointer);
            match inner {
                Some(inner @ Value::Object(_)) => {
                    let before = issues.len();
                    check_schema(inner, &inner_path, issues);
                    if issues.len() > before {
                        continue;
                    }
                }
                Some(Value::Array(items)) if pointer.ends_with("/items") => {
                    let before = issues.len();
                    for (index, item) in items.iter().enumerate() {
                        check_schema(item, &inner_path.index(index), issues);
                    }
                    if issues.len() > before {
                        continue;
                    }
                }
                _ => {}
            }
        }
        issues.push(issue_at(schema, schema_path, &pointer, &error.to_string()));
    }
}

/// One step of a JSON pointer walk: the unescaped segment, the node it leads to and the field
/// path extended by it (an index when `node` is an array).
fn pointer_step<'v>(
    node: Option<&'v Value>,
    path: &FieldPath,
    raw: &str,
) -> (String, Option<&'v Value>, FieldPath) {
    let segment = raw.replace("~1", "/").replace("~0", "~");
    let index = match node {
        Some(Value::Array(_)) => segment.parse::<usize>().ok(),
        _ => None,
    };
    let next = match (node, index) {
        (Some(Value::Array(items)), Some(index)) => items.get(index),
        (Some(Value::Object(map)), _) => map.get(&segment),
        _ => None,
    };
    let path = match index {
        Some(index) => path.index(index),
        None => path.key(&segment),
    };
    (segment, next, path)
}

/// The field path and value at a JSON pointer below `root`.
fn locate<'v>(
    root: &'v Value,
    root_path: &FieldPath,
    pointer: &str,
) -> (FieldPath, Option<&'v Value>) {
    let mut path = root_path.clone();
    let mut node = Some(root);
    for raw in pointer.split('/').skip(1) {
        (_, node, path) = pointer_step(node, &path, raw);
    }
    (path, node)
}

/// Where the walk through a schema stands after one segment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// At a schema: the next key is a keyword.
    Schema,
    /// In a keyword's map from names to schemas (`properties`, `definitions`, …).
    NamedSchemas,
    /// In a keyword's list of schemas (`allOf`, `items: [...]`, …).
    SchemaList,
    /// Inside `dependencies`: each entry is a schema or a list of property names.
    Dependencies,
    /// Inside a keyword's value that holds no schemas (`required`, `enum`, …).
    Value,
}

fn issue_at(page: &Value, page_path: &FieldPath, pointer: &str, fallback: &str) -> Issue {
    let mut path = page_path.clone();
    let mut node = Some(page);
    let mut place = Place::Schema;
    let mut keyword: Option<String> = None;
    // The last segment decides what the failing value should have been.
    let mut expected: Option<String> = None;
    for raw in pointer.split('/').skip(1) {
        let segment;
        (segment, node, path) = pointer_step(node, &path, raw);
        (place, expected) = match place {
            Place::Schema => {
                let next = match segment.as_str() {
                    "properties" | "patternProperties" | "definitions" => Place::NamedSchemas,
                    "allOf" | "anyOf" | "oneOf" => Place::SchemaList,
                    "items" if node.is_some_and(Value::is_array) => Place::SchemaList,
                    "dependencies" => Place::Dependencies,
                    "items" => Place::Schema,
                    keyword if ONE_SCHEMA_KEYWORDS.contains(&keyword) => Place::Schema,
                    _ => Place::Value,
                };
                let allowed = keyword_allows(&segment).map(str::to_owned);
                keyword = Some(segment);
                (next, allowed)
            }
            Place::NamedSchemas | Place::SchemaList => (Place::Schema, Some(SCHEMA.to_owned())),
            Place::Dependencies => (
                if node.is_some_and(Value::is_array) {
                    Place::Value
                } else {
                    Place::Schema
                },
                Some(format!("{SCHEMA}, or a list of property names")),
            ),
            Place::Value => (
                Place::Value,
                keyword
                    .as_deref()
                    .and_then(keyword_allows)
                    .map(str::to_owned),
            ),
        };
    }
    // A path that ends at the keyword names it already; one inside its value does not.
    let message = match &keyword {
        Some(keyword) if place == Place::Value && !pointer.ends_with(&format!("/{keyword}")) => {
            format!("invalid JSON Schema in a parameter page (keyword \"{keyword}\")")
        }
        _ => "invalid JSON Schema in a parameter page".to_owned(),
    };
    Issue::new(
        path,
        message,
        expected.unwrap_or_else(|| format!("a valid draft-07 JSON Schema ({fallback})")),
        node.map(describe).as_deref(),
    )
}

const SCHEMA: &str = "a schema (a mapping, or true/false)";

/// Draft-07 keywords whose value is always one schema (`items` may also be a list).
const ONE_SCHEMA_KEYWORDS: &[&str] = &[
    "additionalItems",
    "additionalProperties",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "not",
];

/// What a draft-07 keyword accepts, in words.
fn keyword_allows(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "type" => {
            "one of \"string\", \"number\", \"integer\", \"boolean\", \"object\", \"array\", \
             \"null\", or a list of them"
        }
        "required" => "a list of property names (strings), without repeats",
        "properties" | "patternProperties" | "definitions" => "a mapping from names to schemas",
        "dependencies" => "a mapping from property names to a schema or a list of property names",
        "items" => "a schema or a list of schemas",
        keyword if ONE_SCHEMA_KEYWORDS.contains(&keyword) => SCHEMA,
        "allOf" | "anyOf" | "oneOf" => "a non-empty list of schemas",
        "enum" => "a list of values",
        "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties" => {
            "a non-negative integer"
        }
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => "a number",
        "multipleOf" => "a number greater than 0",
        "pattern" => "a regular expression",
        "uniqueItems" | "readOnly" => "a boolean",
        "title" | "description" | "format" | "$id" | "$schema" | "$ref" | "$comment"
        | "contentMediaType" | "contentEncoding" => "a string",
        "examples" => "a list of values",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(parameters: Value) -> Vec<Issue> {
        let spec = json!({ "parameters": parameters });
        let mut issues = Vec::new();
        check_parameter_pages(
            spec.as_object().unwrap(),
            &FieldPath::dotted("spec"),
            &mut issues,
        );
        issues
    }

    #[test]
    fn names_the_keyword_and_says_what_it_allows() {
        let issues = check(json!([
            {"properties": {"name": {"type": "strin", "ui:widget": "textarea"}}},
            {"required": "name", "properties": {"a": {"type": "string"}}},
            {"properties": 3},
        ]));
        let paths: Vec<String> = issues.iter().map(|i| i.path.to_string()).collect();
        assert_eq!(
            paths,
            [
                "spec.parameters[0].properties.name.type",
                "spec.parameters[1].required",
                "spec.parameters[2].properties",
            ]
        );
        // The path ends at the keyword, so the message need not repeat it.
        assert_eq!(issues[0].message, "invalid JSON Schema in a parameter page");
        assert!(issues[0].expected.contains("\"string\""), "{}", issues[0]);
        assert_eq!(issues[0].found.as_deref(), Some("\"strin\""));
        assert!(issues[1].expected.contains("list of property names"));
        assert_eq!(issues[2].found.as_deref(), Some("the number 3"));
        // Indexes stay indexes, so the source map finds the line.
        assert_eq!(
            issues[0].path,
            FieldPath::dotted("spec.parameters")
                .index(0)
                .key("properties")
                .key("name")
                .key("type")
        );
    }

    #[test]
    fn inside_a_keyword_the_message_names_it() {
        let issues = check(json!([{"required": ["a", 3]}]));
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].path.to_string(), "spec.parameters[0].required[1]");
        assert_eq!(
            issues[0].message,
            "invalid JSON Schema in a parameter page (keyword \"required\")"
        );
        assert!(issues[0].expected.contains("list of property names"));
    }

    #[test]
    fn unknown_keywords_and_a_single_page_are_fine() {
        assert!(
            check(json!({"title": "T", "ui:order": ["a"], "properties": {
                "a": {"type": "string", "ui:field": "EntityPicker", "ui:options": {"x": 1}},
                "b": {"type": ["string", "null"], "enum": ["x", null]},
            }, "dependencies": {"a": {"oneOf": [{"properties": {"a": {"const": "x"}}}]}}}))
            .is_empty()
        );
    }

    #[test]
    fn nested_schemas_and_refs() {
        let issues = check(json!({"properties": {
            "list": {"type": "array", "items": {"type": "object", "properties": {"n": {"minLength": -1}}}},
            "pick": {"oneOf": [{"type": "string"}, 4]},
        }}));
        let paths: Vec<String> = issues.iter().map(|i| i.path.to_string()).collect();
        assert!(
            paths.contains(&"spec.parameters.properties.list.items.properties.n.minLength".into()),
            "{paths:?}"
        );
        assert!(
            paths.contains(&"spec.parameters.properties.pick.oneOf[1]".into()),
            "{paths:?}"
        );
        let reference = check(json!({"properties": {"a": {"$ref": "#/definitions/nope"}}}));
        assert_eq!(reference.len(), 1, "{reference:?}");
        assert!(
            reference[0].message.contains("/definitions/nope"),
            "{}",
            reference[0]
        );
    }
}

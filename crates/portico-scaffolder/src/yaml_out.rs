//! A small YAML writer for `catalog:write`: block mappings and sequences, scalars plain when
//! that reads back as the same string, otherwise JSON-quoted (a JSON string is a valid YAML
//! double-quoted scalar), so the output always parses back to the same JSON.

use serde_json::Value;

/// `value` as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (key, value) in map {
        indent(out, level);
        out.push_str(&string_text(key));
        out.push(':');
        write_child(out, value, level);
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for item in items {
        indent(out, level);
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first key goes on the dash's line, the rest aligned under it.
                let mut first = true;
                for (key, value) in map {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(out, level + 1);
                    }
                    out.push_str(&string_text(key));
                    out.push(':');
                    write_child(out, value, level + 1);
                }
            }
            other => write_child(out, other, level),
        }
    }
}

fn write_child(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, level + 1);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, level + 1);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => string_text(text),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
        other => other.to_string(),
    }
}

fn string_text(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_owned()
    } else {
        Value::String(text.to_owned()).to_string()
    }
}

/// Whether `text` written plain reads back as the same string under YAML 1.2's core schema.
fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let reserved = [
        "true", "false", "null", "True", "False", "Null", "TRUE", "FALSE", "NULL", "~", "yes",
        "no", "on", "off", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF",
    ];
    if reserved.contains(&text)
        || text.parse::<f64>().is_ok()
        || text.starts_with("0x")
        || text.starts_with("0o")
    {
        return false;
    }
    (first.is_ascii_alphanumeric() || first == '_' || first == '/' || first == '.')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@ ".contains(c))
        && !text.ends_with(' ')
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_the_catalog_reader() {
        let entity = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "svc", "description": "a: tricky # value", "tags": ["a", "true", "1.5"],
                          "annotations": {"github.com/project-slug": "acme/svc"}, "empty": {}, "list": []},
            "spec": {"type": "service", "lifecycle": "experimental", "owner": "group:team",
                      "n": 3, "flag": false, "nothing": null, "multi": "line1\nline2",
                      "items": [{"a": 1, "b": [1, 2]}, "x", [1]]},
        });
        let text = to_yaml(&entity);
        let documents = portico_model::yaml::parse_documents(&text, &Default::default());
        let parsed = documents.into_iter().next().unwrap().unwrap();
        assert_eq!(parsed.value, entity, "{text}");
        assert!(text.contains("kind: Component\n"), "{text}");
    }
}

//! The YAML view of an entity: JSON written back as block-style YAML (keys in stored order),
//! quoting every string that YAML would read as something else.

use serde_json::Value;

/// `value` as a YAML document.
pub(crate) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0, false),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => out.push_str(&scalar(other)),
    }
    out.push('\n');
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn new_line(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// A block mapping at `level`; `continued` means its first key goes on the current `- ` line.
fn write_map(
    out: &mut String,
    map: &serde_json::Map<String, Value>,
    level: usize,
    continued: bool,
) {
    for (i, (key, child)) in map.iter().enumerate() {
        if i > 0 || !continued {
            new_line(out);
            indent(out, level);
        }
        out.push_str(&scalar_string(key));
        out.push(':');
        write_child(out, child, level);
    }
}

/// A block sequence at `level` (items start with `- ` at the parent key's indentation).
fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for item in items {
        new_line(out);
        indent(out, level);
        match item {
            Value::Object(map) if !map.is_empty() => {
                out.push_str("- ");
                write_map(out, map, level + 1, true);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('-');
                write_seq(out, inner, level + 1);
            }
            other => {
                out.push_str("- ");
                out.push_str(&scalar(other));
            }
        }
    }
}

fn write_child(out: &mut String, child: &Value, level: usize) {
    match child {
        Value::Object(map) if !map.is_empty() => write_map(out, map, level + 1, false),
        Value::Array(items) if !items.is_empty() => write_seq(out, items, level),
        Value::String(text)
            if text.contains('\n') && !text.starts_with([' ', '\n']) && !text.contains('\r') =>
        {
            out.push_str(" |-\n");
            for line in text.lines() {
                if !line.is_empty() {
                    indent(out, level + 1);
                    out.push_str(line);
                }
                out.push('\n');
            }
            out.pop();
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_string(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// A string as a plain scalar when YAML reads it back as the same string, else double-quoted.
fn scalar_string(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !text.ends_with(' ')
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.contains(|c: char| c.is_control())
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        )
        && text.parse::<f64>().is_err();
    if plain {
        text.to_owned()
    } else {
        serde_json::Value::String(text.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::to_yaml;
    use serde_json::json;

    #[test]
    fn writes_nested_maps_lists_and_quotes_ambiguous_strings() {
        let yaml = to_yaml(&json!({
            "apiVersion": "backstage.io/v1alpha1",
            "metadata": {"name": "a", "tags": ["x", "true"], "links": [{"url": "https://e", "title": "T"}]},
            "spec": {"port": "8080", "text": "line1\nline2", "empty": []}
        }));
        assert_eq!(
            yaml,
            "apiVersion: backstage.io/v1alpha1\nmetadata:\n  name: a\n  tags:\n  - x\n  - \"true\"\n  links:\n  - url: https://e\n    title: T\nspec:\n  port: \"8080\"\n  text: |-\n    line1\n    line2\n  empty: []\n"
        );
    }
}

//! A template's parameter pages as HTML form fields: each JSON Schema property becomes one
//! field view (label, widget, constraints, default) the `create_template.html` template draws.
//!
//! Widgets follow Backstage's form (react-jsonschema-form): `ui:widget` picks textarea,
//! password, select, radio or checkbox; an `enum` is a select; an array of `enum` items is a
//! group of checkboxes; other arrays are one value per line. The browser's native constraints
//! (`required`, `pattern`, `min`/`max`, lengths) are set where the schema has them.

use serde::Serialize;
use serde_json::{Map, Value};

/// One choice of a select, radio group or checkbox group.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One form field.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct Field {
    pub name: String,
    pub id: String,
    pub label: String,
    pub description: String,
    pub help: String,
    pub placeholder: String,
    pub required: bool,
    pub autofocus: bool,
    /// text, number, textarea, password, checkbox, select, radio, checkboxes, lines.
    pub widget: &'static str,
    /// `1` for integers, `any` for numbers.
    pub step: &'static str,
    pub pattern: String,
    pub min: String,
    pub max: String,
    pub minlength: String,
    pub maxlength: String,
    pub value: String,
    pub checked: bool,
    pub choices: Vec<Choice>,
    /// `ui:field` (EntityPicker, OwnerPicker, RepoUrlPicker, …), shown as a hint.
    pub ui_field: String,
}

/// One parameter page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FormPage {
    pub title: String,
    pub description: String,
    pub fields: Vec<Field>,
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn number(value: Option<&Value>) -> String {
    value
        .filter(|v| v.is_number())
        .map(Value::to_string)
        .unwrap_or_default()
}

/// The fields of one page of `spec.parameters`, with `values` (or the defaults) filled in.
pub(crate) fn page(index: usize, schema: &Value, values: &Map<String, Value>) -> FormPage {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| {
                    let current = values.get(name).or_else(|| property.get("default"));
                    field(
                        index,
                        name,
                        property,
                        required.contains(&name.as_str()),
                        current,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    FormPage {
        title: text(schema.get("title")),
        description: text(schema.get("description")),
        fields,
    }
}

fn choices(
    options: Option<&Value>,
    labels: Option<&Value>,
    is_selected: impl Fn(&str) -> bool,
) -> Vec<Choice> {
    let labels = labels.and_then(Value::as_array);
    options
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .enumerate()
                .map(|(i, option)| {
                    let value = text(Some(option));
                    let label = labels
                        .and_then(|l| l.get(i))
                        .map_or_else(|| value.clone(), |l| text(Some(l)));
                    Choice {
                        selected: is_selected(&value),
                        value,
                        label,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn field(
    page: usize,
    name: &str,
    property: &Value,
    required: bool,
    current: Option<&Value>,
) -> Field {
    let kind = property
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    let widget_hint = property
        .get("ui:widget")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ui_field = text(property.get("ui:field"));
    let mut field = Field {
        name: name.to_owned(),
        id: format!("p{page}-{name}"),
        label: property
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_owned(),
        description: text(property.get("description")),
        help: text(property.get("ui:help")),
        placeholder: text(property.get("ui:placeholder")),
        required,
        autofocus: property
            .get("ui:autofocus")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        pattern: text(property.get("pattern")),
        min: number(property.get("minimum")),
        max: number(property.get("maximum")),
        minlength: number(property.get("minLength")),
        maxlength: number(property.get("maxLength")),
        ui_field,
        ..Field::default()
    };
    let current_text = text(current);
    field.widget = match kind {
        "boolean" => {
            field.checked = current.and_then(Value::as_bool).unwrap_or(false);
            "checkbox"
        }
        "number" | "integer" => {
            field.step = if kind == "integer" { "1" } else { "any" };
            field.value = current_text;
            "number"
        }
        "array" => {
            let items = property.get("items").unwrap_or(&Value::Null);
            let chosen: Vec<String> = current
                .and_then(Value::as_array)
                .map(|list| list.iter().map(|v| text(Some(v))).collect())
                .unwrap_or_default();
            if items.get("enum").is_some() {
                field.choices = choices(items.get("enum"), items.get("enumNames"), |v| {
                    chosen.iter().any(|c| c == v)
                });
                "checkboxes"
            } else {
                field.value = chosen.join("\n");
                "lines"
            }
        }
        _ if property.get("enum").is_some() => {
            field.choices = choices(property.get("enum"), property.get("enumNames"), |v| {
                v == current_text
            });
            if widget_hint == "radio" {
                "radio"
            } else {
                "select"
            }
        }
        _ => {
            field.value = current_text;
            match widget_hint {
                "textarea" => "textarea",
                "password" => "password",
                _ if field.ui_field == "Secret" => "password",
                _ => "text",
            }
        }
    };
    field
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn widgets_constraints_and_defaults() {
        let schema = json!({"title": "Basics", "required": ["name"], "properties": {
            "name": {"type": "string", "pattern": "^[a-z]+$", "ui:autofocus": true},
            "ci": {"type": "string", "enum": ["Yes", "No"], "default": "No", "ui:widget": "radio"},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 5},
            "langs": {"type": "array", "items": {"enum": ["go", "rust"]}, "default": ["rust"]},
            "token": {"type": "string", "ui:field": "Secret"},
            "public": {"type": "boolean", "default": true},
        }});
        let page = page(0, &schema, &Map::new());
        let by = |n: &str| page.fields.iter().find(|f| f.name == n).unwrap().clone();
        assert!(by("name").required && by("name").autofocus);
        assert_eq!(by("name").pattern, "^[a-z]+$");
        assert_eq!(by("ci").widget, "radio");
        assert!(
            by("ci")
                .choices
                .iter()
                .any(|c| c.value == "No" && c.selected)
        );
        assert_eq!(
            (by("replicas").min.as_str(), by("replicas").step),
            ("1", "1")
        );
        assert_eq!(by("langs").widget, "checkboxes");
        assert!(
            by("langs")
                .choices
                .iter()
                .any(|c| c.value == "rust" && c.selected)
        );
        assert_eq!(by("token").widget, "password");
        assert!(by("public").checked);
    }
}

//! A template's parameter pages as HTML form fields: each JSON Schema property becomes one
//! field view (label, widget, constraints, current value, error) the `create_template.html`
//! template draws.
//!
//! Widgets follow Backstage's form (react-jsonschema-form): `ui:widget` picks textarea,
//! password, select, radio, checkbox, hidden, color or range; an `enum` (or a `oneOf` of
//! `const`s) is a select; an array of `enum` items is a group of checkboxes; other arrays are one
//! value per line; objects are JSON. `ui:field` adds the pickers: `EntityPicker`/`OwnerPicker`
//! are text inputs with a `<datalist>` of entity refs, `MultiEntityPicker` is a group of
//! checkboxes of entity refs (plus one ref per line for others), `EntityTagsPicker` is one tag
//! per line with the catalog's tags offered, `RepoBranchPicker` is a branch name, `RepoUrlPicker`
//! is host/owner/repository, `Secret` is a password input whose value goes to the task's secrets. The browser's native
//! constraints (`required`, `pattern`, `min`/`max`, lengths) are set where the schema has them.
//!
//! `dependencies` (with or without `oneOf` branches) are resolved against the values so far:
//! the fields they add appear after the field they depend on ([`properties`]).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// One choice of a select, radio group, checkbox group or datalist.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The three parts of a `RepoUrlPicker` value (`host?owner=o&repo=r`).
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct RepoParts {
    pub host: String,
    pub owner: String,
    pub repo: String,
    /// `ui:options.allowedHosts`, as a select when there are some.
    pub hosts: Vec<Choice>,
    /// `ui:options.allowedOwners`, as a select when there are some.
    pub owners: Vec<Choice>,
}

/// One form field.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct Field {
    pub name: String,
    pub id: String,
    /// The element a link to this field should focus (the first input of a group).
    pub focus_id: String,
    pub label: String,
    pub description: String,
    pub help: String,
    pub placeholder: String,
    pub required: bool,
    pub autofocus: bool,
    /// text, email, url, date, color, number, range, textarea, password, hidden, checkbox,
    /// select, radio, checkboxes, lines, json, repo_url.
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
    /// Entity refs offered by an EntityPicker/OwnerPicker (a `<datalist>`), tags offered by an
    /// EntityTagsPicker.
    pub suggestions: Vec<Choice>,
    /// MultiEntityPicker: the chosen refs the catalog did not offer, one per line.
    pub more: String,
    pub repo: RepoParts,
    /// `ui:field` (EntityPicker, OwnerPicker, RepoUrlPicker, …), shown as a hint.
    pub ui_field: String,
    /// Other fields depend on this one (`dependencies`): changing it redraws the page.
    pub controls: bool,
    /// What is wrong with the value, from the last submission.
    pub error: String,
    /// The id of the hint paragraph, when there is one.
    pub hint_id: String,
    /// `aria-describedby`: the hint and the error.
    pub described_by: String,
}

/// One parameter page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FormPage {
    /// Its index in `spec.parameters`.
    pub index: usize,
    pub title: String,
    pub description: String,
    pub fields: Vec<Field>,
    /// The names of the fields drawn, as JSON (posted back, so absent checkboxes read false).
    pub shown: String,
    /// Some field has dependent fields.
    pub controls: bool,
}

/// One property of a page as the form shows it for the current values.
#[derive(Debug, Clone)]
pub(crate) struct Prop {
    pub name: String,
    pub schema: Value,
    pub required: bool,
    /// Other properties appear or change with its value.
    pub controls: bool,
}

impl Prop {
    /// `ui:field`.
    pub(crate) fn ui_field(&self) -> &str {
        self.schema
            .get("ui:field")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `ui:widget`.
    pub(crate) fn ui_widget(&self) -> &str {
        self.schema
            .get("ui:widget")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The JSON type (`string` when the schema does not say).
    pub(crate) fn kind(&self) -> &str {
        self.schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("string")
    }

    /// `title`, else the name.
    pub(crate) fn label(&self) -> &str {
        self.schema
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or(&self.name)
    }

    /// A `Secret` field: its value goes to the task's secrets.
    pub(crate) fn is_secret(&self) -> bool {
        self.ui_field() == "Secret"
    }
}

fn required_names(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn props_of(schema: &Value) -> Vec<Prop> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .iter()
                .map(|(name, schema)| Prop {
                    name: name.clone(),
                    schema: schema.clone(),
                    required: false,
                    controls: false,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a `oneOf` branch of a dependency fits `values`: every property it constrains with
/// `enum` or `const` has one of those values.
fn branch_matches(branch: &Value, values: &Map<String, Value>) -> bool {
    let Some(properties) = branch.get("properties").and_then(Value::as_object) else {
        return true;
    };
    properties.iter().all(|(name, schema)| {
        let value = values.get(name);
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            return value.is_some_and(|v| allowed.contains(v));
        }
        if let Some(constant) = schema.get("const") {
            return value == Some(constant);
        }
        true
    })
}

/// The properties of a page for `values`: its `properties`, then, for each `dependencies` entry
/// whose key has a value, the properties it adds (of the `oneOf` branch that fits the values,
/// when it has branches), right after the key's field.
pub(crate) fn properties(schema: &Value, values: &Map<String, Value>) -> Vec<Prop> {
    let mut required = required_names(schema);
    let mut props = props_of(schema);
    if let Some(dependencies) = schema.get("dependencies").and_then(Value::as_object) {
        for (key, dependency) in dependencies {
            if let Some(prop) = props.iter_mut().find(|p| &p.name == key) {
                prop.controls = true;
            }
            if values.get(key).is_none_or(Value::is_null) {
                continue;
            }
            let branch = match dependency {
                // A property dependency: the listed names become required.
                Value::Array(names) => {
                    required.extend(names.iter().filter_map(Value::as_str).map(str::to_owned));
                    None
                }
                Value::Object(_) => match dependency.get("oneOf").and_then(Value::as_array) {
                    Some(branches) => branches.iter().find(|b| branch_matches(b, values)),
                    None => Some(dependency),
                },
                _ => None,
            };
            let Some(branch) = branch else { continue };
            required.extend(required_names(branch));
            let added: Vec<Prop> = props_of(branch)
                .into_iter()
                .filter(|p| !props.iter().any(|q| q.name == p.name))
                .collect();
            let at = props
                .iter()
                .position(|p| &p.name == key)
                .map_or(props.len(), |i| i + 1);
            props.splice(at..at, added);
        }
    }
    for prop in &mut props {
        prop.required = required.contains(&prop.name);
    }
    props
}

pub(crate) fn text(value: Option<&Value>) -> String {
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

/// An HTML id from a property name (letters, digits, `-` and `_` only).
fn id_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Entity refs for a picker: `(ui:field, ui:options)` → choices.
pub(crate) type Suggest<'a> = &'a dyn Fn(&str, &Value) -> Vec<Choice>;

/// The fields of one page of `spec.parameters`, with `values` (or the defaults) filled in,
/// `secrets` in Secret fields and `errors` (by property name) next to their fields.
pub(crate) fn page(
    index: usize,
    schema: &Value,
    values: &Map<String, Value>,
    secrets: &Map<String, Value>,
    errors: &BTreeMap<String, String>,
    suggest: Suggest<'_>,
) -> FormPage {
    let fields: Vec<Field> = properties(schema, values)
        .iter()
        .map(|prop| {
            let current = if prop.is_secret() {
                secrets.get(&prop.name)
            } else {
                values.get(&prop.name)
            }
            .or_else(|| prop.schema.get("default"));
            let mut field = field(index, prop, current, suggest);
            if let Some(error) = errors.get(&prop.name) {
                field.error = error.clone();
            }
            let error_id = format!("{}-error", field.id);
            field.described_by = [
                field.hint_id.as_str(),
                if field.error.is_empty() {
                    ""
                } else {
                    error_id.as_str()
                },
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
            field
        })
        .collect();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    FormPage {
        index,
        title: match text(schema.get("title")) {
            t if t.is_empty() => format!("Step {}", index + 1),
            t => t,
        },
        description: text(schema.get("description")),
        shown: serde_json::to_string(&names).unwrap_or_default(),
        controls: fields.iter().any(|f| f.controls),
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

/// `oneOf`/`anyOf` branches that are all `const`s (rjsf draws them as choices): their values and
/// titles.
pub(crate) fn const_choices(property: &Value) -> Option<(Vec<Value>, Vec<Value>)> {
    let branches = property
        .get("oneOf")
        .or_else(|| property.get("anyOf"))
        .and_then(Value::as_array)?;
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for branch in branches {
        let constant = branch.get("const")?;
        values.push(constant.clone());
        labels.push(
            branch
                .get("title")
                .cloned()
                .unwrap_or_else(|| constant.clone()),
        );
    }
    (!values.is_empty()).then_some((values, labels))
}

/// The allowed values of a property drawn as a choice, with their labels.
pub(crate) fn enum_values(property: &Value) -> Option<(Vec<Value>, Vec<Value>)> {
    match property.get("enum").and_then(Value::as_array) {
        Some(values) => {
            let labels = property
                .get("enumNames")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_else(|| values.clone());
            Some((values.clone(), labels))
        }
        None => const_choices(property),
    }
}

/// Splits `host?owner=o&repo=r` into its parts.
pub(crate) fn split_repo_url(value: &str) -> (String, String, String) {
    let (host, query) = value.split_once('?').unwrap_or((value, ""));
    let mut owner = String::new();
    let mut repo = String::new();
    for (key, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "owner" | "organization" | "workspace" => owner = v.into_owned(),
            "repo" => repo = v.into_owned(),
            _ => {}
        }
    }
    (host.to_owned(), owner, repo)
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn field(page: usize, prop: &Prop, current: Option<&Value>, suggest: Suggest<'_>) -> Field {
    let property = &prop.schema;
    let widget_hint = prop.ui_widget();
    let ui_field = prop.ui_field().to_owned();
    let id = format!("p{page}-{}", id_part(&prop.name));
    let mut field = Field {
        name: prop.name.clone(),
        focus_id: id.clone(),
        id,
        label: prop.label().to_owned(),
        description: text(property.get("description")),
        help: text(property.get("ui:help")),
        placeholder: text(property.get("ui:placeholder")),
        required: prop.required,
        autofocus: property
            .get("ui:autofocus")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        pattern: text(property.get("pattern")),
        min: number(property.get("minimum")),
        max: number(property.get("maximum")),
        minlength: number(property.get("minLength")),
        maxlength: number(property.get("maxLength")),
        controls: prop.controls,
        ui_field,
        ..Field::default()
    };
    let current_text = text(current);
    let format = property.get("format").and_then(Value::as_str).unwrap_or("");
    field.widget = if widget_hint == "hidden" {
        field.value = current_text;
        "hidden"
    } else {
        match prop.kind() {
            "boolean" => {
                let on = current.and_then(Value::as_bool);
                if widget_hint == "radio" || const_choices(property).is_some() {
                    let (values, labels) = const_choices(property).unwrap_or_else(|| {
                        (
                            vec![Value::Bool(true), Value::Bool(false)],
                            vec![Value::from("Yes"), Value::from("No")],
                        )
                    });
                    field.choices = choices(
                        Some(&Value::Array(values)),
                        Some(&Value::Array(labels)),
                        |v| on.is_some_and(|on| v == on.to_string()),
                    );
                    "radio"
                } else {
                    field.checked = on.unwrap_or(false);
                    "checkbox"
                }
            }
            "array" => {
                let items = property.get("items").unwrap_or(&Value::Null);
                let chosen: Vec<String> = current
                    .and_then(Value::as_array)
                    .map(|list| list.iter().map(|v| text(Some(v))).collect())
                    .unwrap_or_default();
                let options = property.get("ui:options").unwrap_or(&Value::Null);
                if field.ui_field == "MultiEntityPicker" {
                    let offered = suggest(&field.ui_field, options);
                    let extra: Vec<&String> = chosen
                        .iter()
                        .filter(|c| !offered.iter().any(|o| &o.value == *c))
                        .collect();
                    field.more = extra
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("\n");
                    field.choices = offered
                        .into_iter()
                        .map(|mut choice| {
                            choice.selected = chosen.contains(&choice.value);
                            choice
                        })
                        .collect();
                    "multi_entity"
                } else if field.ui_field == "EntityTagsPicker" {
                    field.suggestions = suggest(&field.ui_field, options);
                    field.value = chosen.join("\n");
                    "lines"
                } else if let Some((values, labels)) = enum_values(items) {
                    field.choices = choices(
                        Some(&Value::Array(values)),
                        Some(&Value::Array(labels)),
                        |v| chosen.iter().any(|c| c == v),
                    );
                    "checkboxes"
                } else {
                    field.value = chosen.join("\n");
                    "lines"
                }
            }
            "object" => {
                field.value = match current {
                    Some(Value::String(raw)) => raw.clone(),
                    Some(value) => serde_json::to_string_pretty(value).unwrap_or_default(),
                    None => String::new(),
                };
                "json"
            }
            _ if enum_values(property).is_some() => {
                let (values, labels) = enum_values(property).unwrap_or_default();
                field.choices = choices(
                    Some(&Value::Array(values)),
                    Some(&Value::Array(labels)),
                    |v| v == current_text,
                );
                if widget_hint == "radio" {
                    "radio"
                } else {
                    "select"
                }
            }
            "number" | "integer" => {
                field.step = if prop.kind() == "integer" { "1" } else { "any" };
                field.value = current_text;
                if widget_hint == "range" {
                    "range"
                } else {
                    "number"
                }
            }
            _ => {
                field.value = current_text;
                let options = property.get("ui:options").unwrap_or(&Value::Null);
                match (field.ui_field.as_str(), widget_hint) {
                    ("Secret", _) | (_, "password") => "password",
                    ("RepoUrlPicker", _) => {
                        let (host, owner, repo) = split_repo_url(&field.value);
                        let hosts = string_list(options.get("allowedHosts"));
                        let owners = string_list(options.get("allowedOwners"));
                        let pick = |list: &[String], chosen: &str| -> Vec<Choice> {
                            list.iter()
                                .map(|v| Choice {
                                    value: v.clone(),
                                    label: v.clone(),
                                    selected: v == chosen,
                                })
                                .collect()
                        };
                        field.repo = RepoParts {
                            hosts: pick(&hosts, &host),
                            owners: pick(&owners, &owner),
                            host: if host.is_empty() {
                                hosts.first().cloned().unwrap_or_default()
                            } else {
                                host
                            },
                            owner,
                            repo,
                        };
                        field.focus_id = format!("{}-owner", field.id);
                        "repo_url"
                    }
                    (
                        "EntityPicker" | "OwnerPicker" | "OwnedEntityPicker" | "MyGroupsPicker",
                        _,
                    ) => {
                        field.suggestions = suggest(&field.ui_field, options);
                        "text"
                    }
                    (_, "textarea") => "textarea",
                    (_, "color") => "color",
                    _ => match format {
                        "email" => "email",
                        "uri" | "url" => "url",
                        "date" => "date",
                        _ => "text",
                    },
                }
            }
        }
    };
    if matches!(field.widget, "radio" | "checkboxes")
        || (field.widget == "multi_entity" && !field.choices.is_empty())
    {
        field.focus_id = format!("{}-1", field.id);
    } else if field.widget == "multi_entity" {
        field.focus_id = format!("{}-more", field.id);
    }
    let has_hint = !field.description.is_empty()
        || !field.help.is_empty()
        || !field.ui_field.is_empty()
        || matches!(field.widget, "lines" | "json" | "multi_entity");
    if has_hint && field.widget != "hidden" {
        field.hint_id = format!("{}-desc", field.id);
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_suggestions(_: &str, _: &Value) -> Vec<Choice> {
        Vec::new()
    }

    #[test]
    fn widgets_constraints_and_defaults() {
        let schema = json!({"title": "Basics", "required": ["name"], "properties": {
            "name": {"type": "string", "pattern": "^[a-z]+$", "ui:autofocus": true},
            "ci": {"type": "string", "enum": ["Yes", "No"], "default": "No", "ui:widget": "radio"},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 5},
            "langs": {"type": "array", "items": {"enum": ["go", "rust"]}, "default": ["rust"]},
            "token": {"type": "string", "ui:field": "Secret"},
            "public": {"type": "boolean", "default": true},
            "mail": {"type": "string", "format": "email"},
            "consent": {"type": "boolean", "oneOf": [{"const": true, "title": "I agree"}, {"const": false, "title": "No"}]},
            "repoUrl": {"type": "string", "ui:field": "RepoUrlPicker", "ui:options": {"allowedHosts": ["github.com", "gitlab.com"]}},
        }});
        let values = json!({"repoUrl": "gitlab.com?owner=me&repo=svc"});
        let page = page(
            0,
            &schema,
            values.as_object().unwrap(),
            &Map::new(),
            &BTreeMap::new(),
            &no_suggestions,
        );
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
        assert_eq!(by("mail").widget, "email");
        assert_eq!(by("consent").widget, "radio");
        assert_eq!(by("consent").choices[0].label, "I agree");
        let repo = by("repoUrl");
        assert_eq!(repo.widget, "repo_url");
        assert_eq!(
            (
                repo.repo.host.as_str(),
                repo.repo.owner.as_str(),
                repo.repo.repo.as_str()
            ),
            ("gitlab.com", "me", "svc")
        );
        assert!(
            repo.repo
                .hosts
                .iter()
                .any(|c| c.value == "gitlab.com" && c.selected)
        );
    }

    #[test]
    fn multi_entity_and_tags_pickers_offer_the_catalog() {
        let schema = json!({"properties": {
            "deps": {"type": "array", "items": {"type": "string"}, "ui:field": "MultiEntityPicker"},
            "tags": {"type": "array", "items": {"type": "string"}, "ui:field": "EntityTagsPicker"},
            "branch": {"type": "string", "ui:field": "RepoBranchPicker"},
        }});
        let offer = |ui_field: &str, _: &Value| -> Vec<Choice> {
            let values: &[&str] = match ui_field {
                "MultiEntityPicker" => &["component:default/a", "component:default/b"],
                "EntityTagsPicker" => &["java", "go"],
                _ => &[],
            };
            values
                .iter()
                .map(|v| Choice {
                    value: (*v).to_owned(),
                    label: (*v).to_owned(),
                    selected: false,
                })
                .collect()
        };
        let values = json!({"deps": ["component:default/b", "group:default/x"], "tags": ["go"], "branch": "dev"});
        let page = page(
            0,
            &schema,
            values.as_object().unwrap(),
            &Map::new(),
            &BTreeMap::new(),
            &offer,
        );
        let by = |n: &str| page.fields.iter().find(|f| f.name == n).unwrap().clone();
        let deps = by("deps");
        assert_eq!(deps.widget, "multi_entity");
        let chosen: Vec<(&str, bool)> = deps
            .choices
            .iter()
            .map(|c| (c.value.as_str(), c.selected))
            .collect();
        assert_eq!(
            chosen,
            [
                ("component:default/a", false),
                ("component:default/b", true)
            ]
        );
        assert_eq!(
            deps.more, "group:default/x",
            "refs the catalog did not offer"
        );
        assert_eq!(deps.focus_id, "p0-deps-1");
        let tags = by("tags");
        assert_eq!((tags.widget, tags.value.as_str()), ("lines", "go"));
        assert_eq!(tags.suggestions.len(), 2);
        assert_eq!(
            (by("branch").widget, by("branch").value.as_str()),
            ("text", "dev")
        );
    }

    #[test]
    fn dependencies_add_the_fields_of_the_matching_branch() {
        let schema = json!({"properties": {
            "cloud": {"type": "string", "enum": ["aws", "gcp"]},
            "name": {"type": "string"},
        }, "dependencies": {"cloud": {"oneOf": [
            {"properties": {"cloud": {"enum": ["aws"]}, "region": {"type": "string"}}, "required": ["region"]},
            {"properties": {"cloud": {"enum": ["gcp"]}, "project": {"type": "string"}}},
        ]}}});
        let names = |values: Value| -> Vec<(String, bool)> {
            properties(&schema, values.as_object().unwrap())
                .into_iter()
                .map(|p| (p.name, p.required))
                .collect()
        };
        assert_eq!(
            names(json!({})),
            vec![("cloud".to_owned(), false), ("name".to_owned(), false)]
        );
        assert_eq!(
            names(json!({"cloud": "aws"})),
            vec![
                ("cloud".to_owned(), false),
                ("region".to_owned(), true),
                ("name".to_owned(), false)
            ]
        );
        assert_eq!(names(json!({"cloud": "gcp"}))[1].0, "project");
        assert!(properties(&schema, &Map::new())[0].controls);
    }
}

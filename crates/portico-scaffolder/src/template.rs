//! The v1beta3 template model, read from a `Template` entity as JSON (the catalog's stored form
//! or a parsed `template.yaml`): parameter pages, steps and output (`backstage.md` §4.1).
//!
//! Parsing checks only what running needs and names the offending field (`spec.steps[2].action`)
//! so a template author can fix it; unknown keys are kept out of the way, as Backstage does.

use serde_json::{Map, Value};

/// The only template apiVersion the scaffolder runs.
pub const API_VERSION: &str = "scaffolder.backstage.io/v1beta3";

/// A template ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// `template:<namespace>/<name>`.
    pub entity_ref: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.title`, else the name.
    pub title: String,
    /// `metadata.description`.
    pub description: Option<String>,
    /// `spec.type`.
    pub spec_type: String,
    /// `spec.owner`.
    pub owner: Option<String>,
    /// `spec.parameters`, always as a list of pages (one object becomes one page).
    pub parameters: Vec<Value>,
    /// `spec.steps`.
    pub steps: Vec<Step>,
    /// `spec.output` (rendered after the steps), `{}` when absent.
    pub output: Value,
    /// The whole entity, for `templateInfo` and the parameter-schema endpoint.
    pub entity: Value,
}

/// One step of a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `id`, or `step-<n>` (1-based) when absent, as Backstage names them.
    pub id: String,
    /// `name`, or the action id.
    pub name: String,
    /// The action to call.
    pub action: String,
    /// The input, rendered before the call.
    pub input: Value,
    /// The condition (`${{ }}` string or boolean); the step is skipped when it is falsy.
    pub condition: Option<Value>,
    /// Runs the step once per item of this (rendered) list or object.
    pub each: Option<Value>,
}

/// Why a template cannot be run: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid template: {field}: {message}")]
pub struct TemplateError {
    /// Where, as a dotted path into the entity (`spec.steps[1].action`).
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> TemplateError {
    TemplateError {
        field: field.into(),
        message: message.into(),
    }
}

fn string_field(
    object: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<String>, TemplateError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(err(
            format!("{at}.{key}"),
            format!("must be a string, found {}", kind_of(other)),
        )),
    }
}

/// The JSON type name used in messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Template {
    /// Reads a template from its entity JSON.
    pub fn from_entity(entity: &Value) -> Result<Self, TemplateError> {
        let root = entity.as_object().ok_or_else(|| {
            err(
                "(root)",
                format!("must be an object, found {}", kind_of(entity)),
            )
        })?;
        let api_version = string_field(root, "apiVersion", "(root)")?.unwrap_or_default();
        if api_version != API_VERSION {
            return Err(err(
                "apiVersion",
                format!("is {api_version:?}; only {API_VERSION:?} templates can be run"),
            ));
        }
        let kind = string_field(root, "kind", "(root)")?.unwrap_or_default();
        if !kind.eq_ignore_ascii_case("template") {
            return Err(err("kind", format!("is {kind:?}, expected \"Template\"")));
        }
        let metadata = root
            .get("metadata")
            .and_then(Value::as_object)
            .ok_or_else(|| err("metadata", "is required and must be an object"))?;
        let name = string_field(metadata, "name", "metadata")?
            .filter(|name| !name.is_empty())
            .ok_or_else(|| err("metadata.name", "is required"))?;
        let namespace = string_field(metadata, "namespace", "metadata")?
            .unwrap_or_else(|| "default".to_owned());
        let title = string_field(metadata, "title", "metadata")?.unwrap_or_else(|| name.clone());
        let description = string_field(metadata, "description", "metadata")?;
        let spec = root
            .get("spec")
            .and_then(Value::as_object)
            .ok_or_else(|| err("spec", "is required and must be an object"))?;
        let spec_type = string_field(spec, "type", "spec")?.ok_or_else(|| {
            err(
                "spec.type",
                "is required (e.g. service, website, documentation)",
            )
        })?;
        let owner = string_field(spec, "owner", "spec")?;
        let parameters = match spec.get("parameters") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(pages)) => {
                for (index, page) in pages.iter().enumerate() {
                    if !page.is_object() {
                        return Err(err(
                            format!("spec.parameters[{index}]"),
                            format!("must be a JSON Schema object, found {}", kind_of(page)),
                        ));
                    }
                }
                pages.clone()
            }
            Some(page @ Value::Object(_)) => vec![page.clone()],
            Some(other) => {
                return Err(err(
                    "spec.parameters",
                    format!(
                        "must be an object or a list of objects, found {}",
                        kind_of(other)
                    ),
                ));
            }
        };
        let steps = match spec.get("steps") {
            Some(Value::Array(steps)) => steps
                .iter()
                .enumerate()
                .map(|(index, step)| parse_step(index, step))
                .collect::<Result<Vec<_>, _>>()?,
            None | Some(Value::Null) => {
                return Err(err(
                    "spec.steps",
                    "is required (a list of steps, may be empty)",
                ));
            }
            Some(other) => {
                return Err(err(
                    "spec.steps",
                    format!("must be a list, found {}", kind_of(other)),
                ));
            }
        };
        let mut seen = std::collections::HashSet::new();
        for (index, step) in steps.iter().enumerate() {
            if !seen.insert(step.id.as_str()) {
                return Err(err(
                    format!("spec.steps[{index}].id"),
                    format!(
                        "{:?} is used by an earlier step; step ids must be unique",
                        step.id
                    ),
                ));
            }
        }
        let output = match spec.get("output") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(output @ Value::Object(_)) => output.clone(),
            Some(other) => {
                return Err(err(
                    "spec.output",
                    format!("must be an object, found {}", kind_of(other)),
                ));
            }
        };
        Ok(Self {
            entity_ref: format!(
                "template:{}/{}",
                namespace.to_ascii_lowercase(),
                name.to_ascii_lowercase()
            ),
            name,
            title,
            description,
            spec_type,
            owner,
            parameters,
            steps,
            output,
            entity: entity.clone(),
        })
    }

    /// Reads the first `Template` document of a `template.yaml`.
    pub fn from_yaml(text: &str) -> Result<Self, TemplateError> {
        let limits = portico_model::yaml::YamlLimits::default();
        let mut first_error = None;
        for document in portico_model::yaml::parse_documents(text, &limits) {
            match document {
                Ok(document) => {
                    let is_template = document
                        .value
                        .get("kind")
                        .and_then(Value::as_str)
                        .is_some_and(|kind| kind.eq_ignore_ascii_case("template"));
                    if is_template {
                        return Self::from_entity(&document.value);
                    }
                }
                Err(error) => {
                    first_error.get_or_insert_with(|| err("(file)", error.to_string()));
                }
            }
        }
        Err(first_error.unwrap_or_else(|| err("kind", "the file has no document of kind Template")))
    }
}

fn parse_step(index: usize, step: &Value) -> Result<Step, TemplateError> {
    let at = format!("spec.steps[{index}]");
    let object = step
        .as_object()
        .ok_or_else(|| err(&at, format!("must be an object, found {}", kind_of(step))))?;
    let action = string_field(object, "action", &at)?
        .filter(|action| !action.trim().is_empty())
        .ok_or_else(|| err(format!("{at}.action"), "is required (e.g. fetch:template)"))?;
    let id = string_field(object, "id", &at)?.unwrap_or_else(|| format!("step-{}", index + 1));
    let name = string_field(object, "name", &at)?.unwrap_or_else(|| action.clone());
    let input = match object.get("input") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(input @ Value::Object(_)) => input.clone(),
        Some(other) => {
            return Err(err(
                format!("{at}.input"),
                format!("must be an object, found {}", kind_of(other)),
            ));
        }
    };
    let condition = match object.get("if") {
        None | Some(Value::Null) => None,
        Some(condition @ (Value::String(_) | Value::Bool(_))) => Some(condition.clone()),
        Some(other) => {
            return Err(err(
                format!("{at}.if"),
                format!("must be a string or a boolean, found {}", kind_of(other)),
            ));
        }
    };
    let each = object.get("each").filter(|each| !each.is_null()).cloned();
    Ok(Step {
        id,
        name,
        action,
        input,
        condition,
        each,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(spec: Value) -> Value {
        json!({
            "apiVersion": API_VERSION,
            "kind": "Template",
            "metadata": {"name": "demo"},
            "spec": spec,
        })
    }

    #[test]
    fn defaults_step_ids_and_names_and_wraps_a_single_page() {
        let parsed = Template::from_entity(&template(json!({
            "type": "service",
            "parameters": {"properties": {"name": {"type": "string"}}},
            "steps": [{"action": "debug:log"}, {"id": "x", "name": "X", "action": "fs:delete"}],
        })))
        .unwrap();
        assert_eq!(parsed.entity_ref, "template:default/demo");
        assert_eq!(parsed.parameters.len(), 1);
        assert_eq!(parsed.steps[0].id, "step-1");
        assert_eq!(parsed.steps[0].name, "debug:log");
        assert_eq!(parsed.steps[1].id, "x");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                json!({"type": "service", "steps": [{"id": "a"}]}),
                "spec.steps[0].action",
            ),
            (json!({"steps": []}), "spec.type"),
            (json!({"type": "s"}), "spec.steps"),
            (
                json!({"type": "s", "steps": [{"action": "a", "input": 3}]}),
                "spec.steps[0].input",
            ),
            (
                json!({"type": "s", "steps": [], "parameters": [1]}),
                "spec.parameters[0]",
            ),
            (
                json!({"type": "s", "steps": [{"id": "a", "action": "x"}, {"id": "a", "action": "y"}]}),
                "spec.steps[1].id",
            ),
        ];
        for (spec, field) in cases {
            let error = Template::from_entity(&template(spec.clone())).unwrap_err();
            assert_eq!(error.field, field, "{spec}: {error}");
        }
        let mut wrong_version = template(json!({"type": "s", "steps": []}));
        wrong_version["apiVersion"] = json!("scaffolder.backstage.io/v1beta2");
        assert_eq!(
            Template::from_entity(&wrong_version).unwrap_err().field,
            "apiVersion"
        );
    }

    #[test]
    fn reads_the_template_document_of_a_yaml_file() {
        let text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: c}\n---\n\
                    apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\n\
                    spec: {type: service, steps: []}\n";
        assert_eq!(Template::from_yaml(text).unwrap().name, "t");
        assert_eq!(
            Template::from_yaml("kind: Component\n").unwrap_err().field,
            "kind"
        );
    }
}

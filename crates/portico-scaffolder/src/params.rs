//! Parameter validation: the values a user submits are checked against the JSON Schema of every
//! parameter page (draft-07, as Backstage's `jsonschema` validation of `POST /v2/tasks` does),
//! after the pages' top-level `default`s have filled in what the form would have.
//!
//! Errors keep Backstage's shape (`property: "instance.name"`, `message`, `stack`) so an API
//! client shows them next to the right field.

use serde::Serialize;
use serde_json::{Map, Value};

/// One value that does not satisfy its page's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParameterError {
    /// The page (0-based) whose schema refused the value.
    pub page: usize,
    /// The page's `title`, when it has one.
    #[serde(rename = "pageTitle", skip_serializing_if = "Option::is_none")]
    pub page_title: Option<String>,
    /// JSON pointer of the value (`/name`, `/tags/0`; empty for the whole object).
    pub path: String,
    /// Backstage's form of the same place: `instance.name`.
    pub property: String,
    /// What is wrong.
    pub message: String,
    /// `property` and `message` together, as Backstage's `stack`.
    pub stack: String,
}

/// Why the parameters were refused: either a page's schema is not a schema, or values fail it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParametersError {
    /// A page of `spec.parameters` is not a valid JSON Schema.
    #[error("invalid template: {message}")]
    Schema {
        /// The page.
        page: usize,
        /// The field and what is wrong with it.
        message: String,
    },
    /// Some values do not satisfy their page.
    #[error("invalid parameters: {}", summary(.0))]
    Invalid(Vec<ParameterError>),
}

fn summary(errors: &[ParameterError]) -> String {
    errors
        .iter()
        .map(|error| error.stack.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The pages shown for `values`: a page with a `when:` condition (`${{ parameters.x === 'y' }}`)
/// counts only when it renders truthy. Defaults are applied in page order, so a condition can
/// see earlier pages' defaults. An unrenderable condition keeps the page (and its checks).
pub fn active_pages(pages: &[Value], values: &mut Map<String, Value>) -> Vec<Value> {
    let renderer = crate::expr::Renderer::new(crate::expr::Limits::default());
    let mut active = Vec::new();
    for page in pages {
        if let Some(condition) = page.get("when") {
            let context = serde_json::json!({ "parameters": values });
            let shown = renderer
                .render_value(condition, &context)
                .map(|value| crate::expr::is_truthy(Some(&value)))
                .unwrap_or(true);
            if !shown {
                continue;
            }
        }
        apply_defaults(std::slice::from_ref(page), values);
        active.push(page.clone());
    }
    active
}

/// Fills in each page's top-level property `default`s that `values` leaves out.
pub fn apply_defaults(pages: &[Value], values: &mut Map<String, Value>) {
    for page in pages {
        let Some(properties) = page.get("properties").and_then(Value::as_object) else {
            continue;
        };
        for (name, property) in properties {
            if let Some(default) = property.get("default")
                && !values.contains_key(name)
            {
                values.insert(name.clone(), default.clone());
            }
        }
    }
}

/// Checks `values` against every page; all problems of all pages are reported together.
pub fn validate_parameters(pages: &[Value], values: &Value) -> Result<(), ParametersError> {
    let mut problems = Vec::new();
    for (index, page) in pages.iter().enumerate() {
        let validator = jsonschema::draft7::new(page).map_err(|error| ParametersError::Schema {
            page: index,
            message: format!("spec.parameters[{index}] is not a valid JSON Schema: {error}"),
        })?;
        let page_title = page.get("title").and_then(Value::as_str).map(str::to_owned);
        for error in validator.iter_errors(values) {
            let path = error.instance_path().as_str().to_owned();
            let property = pointer_to_property(&path);
            let message = error.to_string();
            problems.push(ParameterError {
                page: index,
                page_title: page_title.clone(),
                stack: format!("{property} {message}"),
                path,
                property,
                message,
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ParametersError::Invalid(problems))
    }
}

/// `/a/0/b` → `instance.a[0].b`.
fn pointer_to_property(pointer: &str) -> String {
    let mut property = String::from("instance");
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|byte| byte.is_ascii_digit()) {
            property.push_str(&format!("[{segment}]"));
        } else {
            property.push('.');
            property.push_str(&segment);
        }
    }
    property
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pages() -> Vec<Value> {
        vec![
            json!({"title": "Basics", "required": ["name"], "properties": {
                "name": {"type": "string", "pattern": "^[a-z-]+$", "ui:field": "EntityNamePicker"},
                "ci": {"type": "string", "enum": ["Yes", "No"], "default": "Yes"},
            }}),
            json!({"required": ["repoUrl"], "properties": {"repoUrl": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}}}}),
        ]
    }

    #[test]
    fn valid_values_pass_and_defaults_fill_in() {
        let mut values = json!({"name": "svc", "repoUrl": "github.com?owner=o&repo=r"});
        apply_defaults(&pages(), values.as_object_mut().unwrap());
        assert_eq!(values["ci"], "Yes");
        validate_parameters(&pages(), &values).unwrap();
    }

    #[test]
    fn every_page_reports_with_the_field() {
        let values = json!({"name": "Not Valid", "tags": ["ok", 3]});
        let ParametersError::Invalid(errors) = validate_parameters(&pages(), &values).unwrap_err()
        else {
            panic!("expected invalid values");
        };
        let properties: Vec<_> = errors
            .iter()
            .map(|e| (e.page, e.property.as_str()))
            .collect();
        assert!(properties.contains(&(0, "instance.name")), "{errors:?}");
        assert!(
            properties.contains(&(1, "instance")),
            "missing repoUrl: {errors:?}"
        );
        assert!(properties.contains(&(1, "instance.tags[1]")), "{errors:?}");
        let missing = errors
            .iter()
            .find(|e| e.page == 1 && e.path.is_empty())
            .unwrap();
        assert!(missing.message.contains("repoUrl"), "{}", missing.message);
        assert_eq!(errors[0].page_title.as_deref(), Some("Basics"));
    }

    #[test]
    fn pages_hidden_by_when_neither_check_nor_default() {
        let pages = vec![
            json!({"properties": {"cloud": {"type": "string", "default": "AWS"}}}),
            json!({"when": "${{ parameters.cloud === 'GCP' }}", "required": ["project"],
                   "properties": {"project": {"type": "string"}, "region": {"default": "us-central1"}}}),
        ];
        let mut values = Map::new();
        let active = active_pages(&pages, &mut values);
        assert_eq!(active.len(), 1);
        assert!(!values.contains_key("region"));
        validate_parameters(&active, &Value::Object(values)).unwrap();
        let mut gcp = json!({"cloud": "GCP"}).as_object().unwrap().clone();
        let active = active_pages(&pages, &mut gcp);
        assert_eq!(active.len(), 2);
        assert_eq!(gcp["region"], "us-central1");
        assert!(validate_parameters(&active, &Value::Object(gcp)).is_err());
    }

    #[test]
    fn a_broken_schema_is_a_template_error() {
        let error = validate_parameters(&[json!({"type": 12})], &json!({})).unwrap_err();
        assert!(
            matches!(error, ParametersError::Schema { page: 0, .. }),
            "{error}"
        );
    }
}

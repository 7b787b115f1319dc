//! Running a software template, without JavaScript: `/create/templates/{namespace}/{name}` shows
//! one parameter page at a time (Backstage's stepper), each page drawn from its JSON Schema
//! ([`crate::schema_form`]) and read back into typed values ([`crate::form_values`]).
//!
//! The values collected so far travel in the form itself (hidden `_values` and `_secrets` JSON
//! fields), so the server keeps no state between pages and Back/Next never lose anything. *Next*
//! checks the page with the scaffolder's own validation (`portico_scaffolder::params`) and draws
//! it again with the messages next to the fields when something is wrong; pages hidden by a
//! `when:` condition are skipped; a choice that brings `dependencies` fields redraws the page
//! first. After the last page every shown page is checked again and the review lists the values
//! (password and Secret fields masked, `ui:backstage.review` honoured). *Create* posts to
//! `…/create`, which starts the task through the `ScaffolderService` (Secret fields go to the
//! task's secrets, never to its parameters) and redirects to the task's page.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use portico_catalog::read_model::Predicate;
use portico_plugin_api::Principal;
use portico_scaffolder::{
    ParametersError, ServiceError, active_pages, apply_defaults, validate_parameters,
};
use portico_store::CatalogStore;
use serde::Serialize;
use serde_json::{Map, Value};

use super::UiState;
use super::create::{Card, card};
use super::tasks::{actor_ref, task_url};
use crate::params::Params;
use crate::render::{Html, ser};
use crate::schema_form::{self, Choice, Prop};
use crate::{Ui, UiError, entity_view, form_values};

/// Entity refs one picker offers, at most.
const SUGGESTIONS: usize = 500;

/// A template as its form needs it.
struct Form {
    entity_ref: String,
    card: Card,
    pages: Vec<Value>,
    /// `(step id, action)` of each step, to warn before the form about actions this server
    /// lacks (the task would be refused only at *Create* otherwise).
    steps: Vec<(String, String)>,
}

fn load<S: CatalogStore>(ui: &Ui<S>, namespace: &str, name: &str) -> Result<Form, UiError> {
    ui.ensure_loaded()?;
    let entity_ref = format!(
        "template:{}/{}",
        namespace.to_lowercase(),
        name.to_lowercase()
    );
    let entity: Value = ui
        .engine
        .read_model()
        .by_ref(&entity_ref)
        .and_then(|json| serde_json::from_str(&json).ok())
        .ok_or_else(|| UiError::NotFound(format!("There is no template {namespace}/{name}.")))?;
    let pages = match entity.pointer("/spec/parameters") {
        Some(Value::Array(pages)) => pages.clone(),
        Some(page @ Value::Object(_)) => vec![page.clone()],
        _ => Vec::new(),
    };
    let steps = entity
        .pointer("/spec/steps")
        .and_then(Value::as_array)
        .map(|steps| {
            steps
                .iter()
                .enumerate()
                .map(|(k, step)| {
                    let id = step["id"]
                        .as_str()
                        .map_or_else(|| format!("step-{}", k + 1), str::to_owned);
                    (id, step["action"].as_str().unwrap_or_default().to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Form {
        entity_ref,
        card: card(&entity),
        pages,
        steps,
    })
}

/// One line per step whose action this server's scaffolder does not have (none without a
/// scaffolder: then nothing can run and the review says so).
fn unavailable_actions<S: CatalogStore>(ui: &Ui<S>, form: &Form) -> Vec<String> {
    let Some(service) = &ui.scaffolder else {
        return Vec::new();
    };
    let actions = service.actions();
    let known: Vec<&str> = actions
        .as_array()
        .map(|list| list.iter().filter_map(|a| a["id"].as_str()).collect())
        .unwrap_or_default();
    form.steps
        .iter()
        .filter(|(_, action)| !known.contains(&action.as_str()))
        .map(|(id, action)| {
            format!("step \"{id}\" uses the action \"{action}\", which this server does not have")
        })
        .collect()
}

/// The indices of the pages shown for `values`: a `when:` condition can hide a page. Defaults
/// of shown pages count for later conditions, as in the scaffolder's own check.
fn shown_pages(pages: &[Value], values: &Map<String, Value>) -> Vec<usize> {
    let mut seen = values.clone();
    pages
        .iter()
        .enumerate()
        .filter(|(_, page)| !active_pages(std::slice::from_ref(*page), &mut seen).is_empty())
        .map(|(index, _)| index)
        .collect()
}

fn page_title(page: &Value, index: usize) -> String {
    match page.get("title").and_then(Value::as_str) {
        Some(title) if !title.is_empty() => title.to_owned(),
        _ => format!("Step {}", index + 1),
    }
}

/// A problem, with the field it belongs to when there is one.
type Problem = (Option<String>, String);

/// The field a problem belongs to — the first segment of its path, or the property a
/// `required` names — and the message to show there.
fn field_message(path: &str, message: &str) -> Problem {
    let unescape = |s: &str| s.replace("~1", "/").replace("~0", "~");
    let mut segments = path.split('/').skip(1);
    if let Some(first) = segments.next().filter(|s| !s.is_empty()) {
        let rest: Vec<String> = segments.map(unescape).collect();
        let message = if rest.is_empty() {
            message.to_owned()
        } else {
            format!("{}: {message}", rest.join("."))
        };
        return (Some(unescape(first)), message);
    }
    if let Some(quoted) = message.strip_suffix(" is a required property")
        && let Ok(name) = serde_json::from_str::<String>(quoted)
    {
        return (Some(name), "This field is required.".to_owned());
    }
    (None, message.to_owned())
}

/// What the scaffolder's validation says about one page for `values` (with its defaults).
/// A required field of a `dependencies` branch fails the branch as a whole (`oneOf`), so
/// missing required fields are also named one by one, next to their fields.
fn page_errors(
    page: &Value,
    index: usize,
    values: &Map<String, Value>,
) -> Result<Vec<Problem>, UiError> {
    let mut with_defaults = values.clone();
    apply_defaults(std::slice::from_ref(page), &mut with_defaults);
    let mut problems: Vec<Problem> = match validate_parameters(
        std::slice::from_ref(page),
        &Value::Object(with_defaults.clone()),
    ) {
        Ok(()) => Vec::new(),
        Err(ParametersError::Invalid(problems)) => problems
            .iter()
            .map(|p| field_message(&p.path, &p.message))
            .collect(),
        Err(ParametersError::Schema { message, .. }) => {
            return Err(UiError::Input(format!(
                "This template cannot be run: {message} (parameter page {}).",
                page_title(page, index)
            )));
        }
    };
    if !problems.is_empty() {
        for prop in schema_form::properties(page, &with_defaults) {
            let missing = with_defaults.get(&prop.name).is_none_or(Value::is_null);
            let named = problems
                .iter()
                .any(|(field, _)| field.as_deref() == Some(&prop.name));
            if prop.required && missing && !named {
                problems.push((Some(prop.name), "This field is required.".to_owned()));
            }
        }
    }
    Ok(problems)
}

/// Where the wizard is.
enum At {
    /// A parameter page (an index into `spec.parameters`), what is wrong on it, and whether
    /// fields appeared because of a choice on it.
    Page(usize, Vec<Problem>, bool),
    /// The review, with why creating the task failed.
    Review(Vec<String>),
}

#[derive(Debug, Serialize)]
struct StepView {
    title: String,
    /// `done`, `current` or empty.
    state: &'static str,
}

#[derive(Debug, Serialize)]
struct SummaryLine {
    text: String,
    /// A link to the field, when it belongs to one.
    href: String,
}

#[derive(Debug, Serialize)]
struct ReviewRow {
    label: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct ReviewSection {
    title: String,
    rows: Vec<ReviewRow>,
}

/// A value as the review shows it: masked when the template says so or the field is secret.
fn review_value(prop: &Prop, value: &Value) -> String {
    if let Some(mask) = prop
        .schema
        .pointer("/ui:backstage/review/mask")
        .and_then(Value::as_str)
    {
        return mask.to_owned();
    }
    if prop.is_secret() || prop.ui_widget() == "password" {
        return "******".to_owned();
    }
    match value {
        Value::Bool(true) => "Yes".to_owned(),
        Value::Bool(false) => "No".to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|v| schema_form::text(Some(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn review_sections(
    pages: &[Value],
    shown: &[usize],
    values: &Map<String, Value>,
) -> Vec<ReviewSection> {
    shown
        .iter()
        .map(|&index| {
            let rows = schema_form::properties(&pages[index], values)
                .iter()
                .filter(|p| {
                    p.schema
                        .pointer("/ui:backstage/review/show")
                        .and_then(Value::as_bool)
                        != Some(false)
                })
                .filter_map(|p| {
                    let value = values.get(&p.name).filter(|v| !v.is_null())?;
                    Some(ReviewRow {
                        label: p.label().to_owned(),
                        value: review_value(p, value),
                    })
                })
                .collect();
            ReviewSection {
                title: page_title(&pages[index], index),
                rows,
            }
        })
        .collect()
}

/// Backstage's `catalogFilter` (one object of `key: value | [values] | {exists}`, or a list of
/// them, any of which may match) as a read-model predicate.
fn catalog_filter(filter: &Value) -> Predicate {
    match filter {
        Value::Array(list) => Predicate::any(list.iter().map(catalog_filter).collect()),
        Value::Object(map) => Predicate::all(
            map.iter()
                .map(|(key, value)| {
                    let key = key.to_lowercase();
                    match value {
                        Value::Array(values) => Predicate::In {
                            key,
                            values: values
                                .iter()
                                .map(|v| schema_form::text(Some(v)).to_lowercase())
                                .collect(),
                        },
                        Value::Object(condition) => {
                            match condition.get("exists").and_then(Value::as_bool) {
                                Some(true) => Predicate::Exists { key },
                                Some(false) => Predicate::Not(Box::new(Predicate::Exists { key })),
                                None => Predicate::MatchAll,
                            }
                        }
                        other => Predicate::In {
                            key,
                            values: vec![schema_form::text(Some(other)).to_lowercase()],
                        },
                    }
                })
                .collect(),
        ),
        _ => Predicate::MatchAll,
    }
}

/// The entity refs an EntityPicker, OwnerPicker or MultiEntityPicker offers:
/// `ui:options.catalogFilter`, else `allowedKinds`, else groups and users for owners; the
/// catalog's tags (most used first) for an EntityTagsPicker.
fn entity_choices<S: CatalogStore>(ui: &Ui<S>, ui_field: &str, options: &Value) -> Vec<Choice> {
    if ui_field == "EntityTagsPicker" {
        let facet = "metadata.tags".to_owned();
        return ui
            .engine
            .read_model()
            .facets(std::slice::from_ref(&facet), &Predicate::MatchAll)
            .remove(&facet)
            .unwrap_or_default()
            .into_iter()
            .take(SUGGESTIONS)
            .map(|count| Choice {
                label: count.value.clone(),
                value: count.value,
                selected: false,
            })
            .collect();
    }
    let filter = match options.get("catalogFilter") {
        Some(filter) => catalog_filter(filter),
        None => {
            let kinds: Vec<String> = match options.get("allowedKinds").and_then(Value::as_array) {
                Some(kinds) => kinds
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_lowercase)
                    .collect(),
                None => match ui_field {
                    "OwnerPicker" => vec!["group".to_owned(), "user".to_owned()],
                    "MyGroupsPicker" => vec!["group".to_owned()],
                    _ => Vec::new(),
                },
            };
            if kinds.is_empty() {
                Predicate::MatchAll
            } else {
                Predicate::In {
                    key: "kind".to_owned(),
                    values: kinds,
                }
            }
        }
    };
    let model = ui.engine.read_model();
    let mut refs = model.refs_matching(&filter);
    refs.sort();
    refs.into_iter()
        .take(SUGGESTIONS)
        .map(|entity_ref| {
            let title = model
                .by_ref(&entity_ref)
                .and_then(|json| serde_json::from_str::<Value>(&json).ok())
                .and_then(|e| {
                    e.pointer("/metadata/title")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            Choice {
                label: title.unwrap_or_else(|| entity_view::label_of_ref(&entity_ref)),
                value: entity_ref,
                selected: false,
            }
        })
        .collect()
}

fn render<S: CatalogStore>(
    ui: &Ui<S>,
    form: &Form,
    at: At,
    values: &Map<String, Value>,
    secrets: &Map<String, Value>,
    status: StatusCode,
) -> Result<Html, UiError> {
    let shown = shown_pages(&form.pages, values);
    let position = match &at {
        At::Page(index, ..) => shown.iter().position(|j| j == index),
        At::Review(_) => Some(shown.len()),
    };
    let mut steps: Vec<StepView> = shown
        .iter()
        .enumerate()
        .map(|(k, &index)| StepView {
            title: page_title(&form.pages[index], index),
            state: match position {
                Some(p) if k < p => "done",
                Some(p) if k == p => "current",
                _ => "",
            },
        })
        .collect();
    steps.push(StepView {
        title: "Review".to_owned(),
        state: if matches!(at, At::Review(_)) {
            "current"
        } else {
            ""
        },
    });
    let values_json = Value::Object(values.clone()).to_string();
    let secrets_json = Value::Object(secrets.clone()).to_string();
    let unavailable = unavailable_actions(ui, form);
    let ctx = match at {
        At::Page(index, problems, appeared) => {
            let schema = &form.pages[index];
            let props = schema_form::properties(schema, values);
            let mut field_errors = BTreeMap::new();
            let mut summary = Vec::new();
            for (field, message) in problems {
                let drawn = field.as_ref().and_then(|name| {
                    props
                        .iter()
                        .find(|p| &p.name == name && p.ui_widget() != "hidden")
                });
                match (field, drawn) {
                    (Some(name), Some(_)) => {
                        field_errors.entry(name).or_insert(message);
                    }
                    (Some(name), None) => summary.push(SummaryLine {
                        text: format!("{name}: {message}"),
                        href: String::new(),
                    }),
                    (None, _) => summary.push(SummaryLine {
                        text: message,
                        href: String::new(),
                    }),
                }
            }
            let suggest = |ui_field: &str, options: &Value| entity_choices(ui, ui_field, options);
            let page = schema_form::page(index, schema, values, secrets, &field_errors, &suggest);
            summary.extend(page.fields.iter().filter(|f| !f.error.is_empty()).map(|f| {
                SummaryLine {
                    text: format!("{}: {}", f.label, f.error),
                    href: format!("#{}", f.focus_id),
                }
            }));
            context! {
                template => ser(&form.card), steps => ser(&steps), page => ser(&page),
                errors => ser(&summary), appeared => appeared,
                has_back => shown.iter().any(|&j| j < index),
                last => !shown.iter().any(|&j| j > index),
                values_json => values_json, secrets_json => secrets_json,
                unavailable => unavailable,
            }
        }
        At::Review(problems) => {
            let summary: Vec<SummaryLine> = problems
                .into_iter()
                .map(|text| SummaryLine {
                    text,
                    href: String::new(),
                })
                .collect();
            context! {
                template => ser(&form.card), steps => ser(&steps),
                review => ser(&review_sections(&form.pages, &shown, values)),
                reviewing => true, errors => ser(&summary),
                has_back => !shown.is_empty(),
                can_create => ui.scaffolder.is_some(),
                values_json => values_json, secrets_json => secrets_json,
                unavailable => unavailable,
            }
        }
    };
    let mut html = ui.page(
        ui.shell(form.card.title.clone(), "create"),
        "create_template.html",
        ctx,
    )?;
    html.status = status;
    Ok(html)
}

/// A JSON object the form carries in a hidden field (`_values`, `_secrets`).
fn object_param(params: &Params, name: &str) -> Result<Map<String, Value>, UiError> {
    match params.get(name) {
        None => Ok(Map::new()),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(UiError::Input(format!(
                "The form's {name} field is not a JSON object; start again from the template's page."
            ))),
        },
    }
}

/// `GET /create/templates/{namespace}/{name}`: the first page.
pub(crate) async fn form<S: CatalogStore>(
    ui: UiState<S>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    let result = (|| {
        let form = load(&ui, &namespace, &name)?;
        let values = Map::new();
        let at = match shown_pages(&form.pages, &values).first() {
            Some(&index) => At::Page(index, Vec::new(), false),
            None => At::Review(Vec::new()),
        };
        render(&ui, &form, at, &values, &Map::new(), StatusCode::OK)
    })();
    ui.respond(result)
}

/// `POST /create/templates/{namespace}/{name}`: Next, Back or a redraw (`_action`) from a page
/// (`_page`) or from the review (`_page=review`).
pub(crate) async fn step<S: CatalogStore>(
    ui: UiState<S>,
    Path((namespace, name)): Path<(String, String)>,
    body: String,
) -> Response {
    let params = Params::parse(Some(&body));
    let result = (|| {
        let form = load(&ui, &namespace, &name)?;
        let mut values = object_param(&params, "_values")?;
        let mut secrets = object_param(&params, "_secrets")?;
        let from = params
            .get("_page")
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|&index| index < form.pages.len());
        let mut read_errors = BTreeMap::new();
        let mut appeared = false;
        if let Some(index) = from {
            let shown: Vec<String> = params
                .get("_shown")
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            let drawn = schema_form::properties(&form.pages[index], &values);
            read_errors =
                form_values::read_page(&drawn, &shown, &params, &mut values, &mut secrets);
            let now = schema_form::properties(&form.pages[index], &values);
            // The fields of a dependency branch no longer chosen leave with their values.
            for prop in drawn
                .iter()
                .filter(|p| !now.iter().any(|q| q.name == p.name))
            {
                values.remove(&prop.name);
                secrets.remove(&prop.name);
            }
            appeared = now.iter().any(|p| !shown.contains(&p.name));
        }
        let shown = shown_pages(&form.pages, &values);
        let to_page = |index: usize, problems: Vec<Problem>, appeared: bool, status| {
            render(
                &ui,
                &form,
                At::Page(index, problems, appeared),
                &values,
                &secrets,
                status,
            )
        };
        let read_problems: Vec<Problem> = read_errors
            .into_iter()
            .map(|(field, message)| (Some(field), message))
            .collect();
        match (params.get("_action").unwrap_or("next"), from) {
            ("back", Some(index)) => {
                match shown.iter().rev().find(|&&j| j < index).or(shown.first()) {
                    Some(&target) => to_page(target, Vec::new(), false, StatusCode::OK),
                    None => to_page(index, Vec::new(), false, StatusCode::OK),
                }
            }
            ("back", None) => match shown.last() {
                Some(&target) => to_page(target, Vec::new(), false, StatusCode::OK),
                None => render(
                    &ui,
                    &form,
                    At::Review(Vec::new()),
                    &values,
                    &secrets,
                    StatusCode::OK,
                ),
            },
            ("refresh", Some(index)) => to_page(index, read_problems, false, StatusCode::OK),
            (_, Some(index)) if appeared || !read_problems.is_empty() => {
                let status = if read_problems.is_empty() {
                    StatusCode::OK
                } else {
                    StatusCode::BAD_REQUEST
                };
                to_page(index, read_problems, appeared, status)
            }
            (_, from) => {
                if let Some(index) = from {
                    let problems = page_errors(&form.pages[index], index, &values)?;
                    if !problems.is_empty() {
                        return to_page(index, problems, false, StatusCode::BAD_REQUEST);
                    }
                    if let Some(&next) = shown.iter().find(|&&j| j > index) {
                        return to_page(next, Vec::new(), false, StatusCode::OK);
                    }
                }
                // Before the review every shown page is checked again: a later answer may have
                // changed what an earlier page must hold (a `when:` or a dependency).
                for &index in &shown {
                    let problems = page_errors(&form.pages[index], index, &values)?;
                    if !problems.is_empty() {
                        return to_page(index, problems, false, StatusCode::BAD_REQUEST);
                    }
                }
                render(
                    &ui,
                    &form,
                    At::Review(Vec::new()),
                    &values,
                    &secrets,
                    StatusCode::OK,
                )
            }
        }
    })();
    ui.respond(result)
}

/// `POST /create/templates/{namespace}/{name}/create`: starts the task with the reviewed values
/// and goes to its page; refused values send the form back to the page they belong to.
pub(crate) async fn create<S: CatalogStore>(
    ui: UiState<S>,
    principal: Option<Extension<Principal>>,
    Path((namespace, name)): Path<(String, String)>,
    body: String,
) -> Response {
    let params = Params::parse(Some(&body));
    let principal = principal.map_or(Principal::Guest, |Extension(p)| p);
    let result: Result<Response, UiError> = async {
        let form = load(&ui, &namespace, &name)?;
        let values = object_param(&params, "_values")?;
        let secrets = object_param(&params, "_secrets")?;
        let review = |problems: Vec<String>, status| {
            render(&ui, &form, At::Review(problems), &values, &secrets, status)
                .map(IntoResponse::into_response)
        };
        let Some(service) = ui.scaffolder.clone() else {
            return review(
                vec!["The scaffolder is not running in this server, so templates cannot be run here.".to_owned()],
                StatusCode::SERVICE_UNAVAILABLE,
            );
        };
        let created = service
            .create_task(
                form.entity_ref.clone(),
                values.clone(),
                secrets.clone(),
                actor_ref(&principal),
            )
            .await;
        match created {
            Ok(id) => Ok(Redirect::to(&task_url(&id)).into_response()),
            Err(ServiceError::Input {
                errors: Some(errors),
                message,
            }) => {
                // The scaffolder numbers the pages it checked: the shown ones, in order.
                let shown = shown_pages(&form.pages, &values);
                let list = errors.as_array().cloned().unwrap_or_default();
                let first = list.iter().filter_map(|e| e["page"].as_u64()).min();
                match first.and_then(|k| Some((k, *shown.get(usize::try_from(k).ok()?)?))) {
                    Some((k, index)) => {
                        let problems = list
                            .iter()
                            .filter(|e| e["page"].as_u64() == Some(k))
                            .map(|e| {
                                field_message(
                                    e["path"].as_str().unwrap_or_default(),
                                    e["message"].as_str().unwrap_or_default(),
                                )
                            })
                            .collect();
                        render(
                            &ui,
                            &form,
                            At::Page(index, problems, false),
                            &values,
                            &secrets,
                            StatusCode::BAD_REQUEST,
                        )
                        .map(IntoResponse::into_response)
                    }
                    None => review(vec![message], StatusCode::BAD_REQUEST),
                }
            }
            Err(ServiceError::Input { message, .. } | ServiceError::Conflict(message)) => {
                review(vec![message], StatusCode::BAD_REQUEST)
            }
            Err(ServiceError::NotFound(message)) => Err(UiError::NotFound(message)),
            Err(ServiceError::Internal(message)) => Err(UiError::Internal(message)),
        }
    }
    .await;
    match result {
        Ok(response) => response,
        Err(error) => ui.respond(Err(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn problems_find_their_fields() {
        assert_eq!(
            field_message("", "\"repoUrl\" is a required property"),
            (
                Some("repoUrl".to_owned()),
                "This field is required.".to_owned()
            )
        );
        assert_eq!(
            field_message("/name", "\"A\" does not match \"^[a-z]+$\"").0,
            Some("name".to_owned())
        );
        assert_eq!(
            field_message("/owner/displayName", "is bad"),
            (Some("owner".to_owned()), "displayName: is bad".to_owned())
        );
        assert_eq!(field_message("", "odd").0, None);
    }

    #[test]
    fn when_hides_pages_and_the_review_masks() {
        let pages = vec![
            json!({"properties": {"cloud": {"type": "string"}}}),
            json!({"when": "${{ parameters.cloud === 'GCP' }}", "properties": {"project": {"type": "string"}}}),
            json!({"properties": {
                "token": {"type": "string", "ui:field": "Secret"},
                "pass": {"type": "string", "ui:widget": "password"},
                "note": {"type": "string", "ui:backstage": {"review": {"show": false}}},
                "code": {"type": "string", "ui:backstage": {"review": {"mask": "(hidden)"}}},
                "on": {"type": "boolean"},
            }}),
        ];
        let values = json!({"cloud": "AWS", "token": "****", "pass": "p", "note": "n", "code": "c", "on": true});
        let values = values.as_object().unwrap();
        assert_eq!(shown_pages(&pages, values), vec![0, 2]);
        let mut gcp = values.clone();
        gcp.insert("cloud".into(), json!("GCP"));
        assert_eq!(shown_pages(&pages, &gcp), vec![0, 1, 2]);
        let review = review_sections(&pages, &[0, 2], values);
        let rows: Vec<(&str, &str)> = review[1]
            .rows
            .iter()
            .map(|r| (r.label.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("token", "******"),
                ("pass", "******"),
                ("code", "(hidden)"),
                ("on", "Yes")
            ]
        );
    }
}

//! A posted parameter page back into typed values: form fields are text, the scaffolder wants
//! the JSON types of each property's schema (numbers, booleans, lists, objects). Secret fields go
//! to the secrets, with a mask of the same length in the values (as Backstage's Secret field
//! does, so `required` still holds); RepoUrlPicker's three inputs become `host?owner=o&repo=r`;
//! MultiEntityPicker's checkboxes and extra lines become a list of refs. Entity refs, tags
//! (EntityTagsPicker) and branch names (RepoBranchPicker) are checked here, as Backstage's
//! fields validate them.
//!
//! Values that cannot be read (a number that is not one, JSON that does not parse, half a
//! repository location) are kept as typed, so the form shows them again, and reported by field.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::params::Params;
use crate::schema_form::{Prop, enum_values, text};

/// The posted text of a choice back into the allowed value it stands for.
fn choice_value(property: &Value, posted: &str) -> Value {
    enum_values(property)
        .and_then(|(values, _)| values.into_iter().find(|v| text(Some(v)) == posted))
        .unwrap_or_else(|| Value::String(posted.to_owned()))
}

fn number_value(kind: &str, posted: &str) -> Option<Value> {
    if kind == "integer" {
        posted.parse::<i64>().ok().map(Value::from)
    } else {
        posted
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
    }
}

/// A typed value from the text of a hidden field (`ui:widget: hidden`).
fn hidden_value(kind: &str, posted: &str) -> Value {
    match kind {
        "string" => Value::String(posted.to_owned()),
        "number" | "integer" => {
            number_value(kind, posted).unwrap_or_else(|| Value::String(posted.to_owned()))
        }
        "boolean" => Value::Bool(posted == "true"),
        _ => serde_json::from_str(posted).unwrap_or_else(|_| Value::String(posted.to_owned())),
    }
}

/// Reads the fields `shown` (the ones the page drew) of one page from `params` into `values`,
/// and Secret fields into `secrets`. A blank field removes its value, as an empty input leaves a
/// property out in Backstage's form. Returns messages by field for what could not be read.
pub(crate) fn read_page(
    props: &[Prop],
    shown: &[String],
    params: &Params,
    values: &mut Map<String, Value>,
    secrets: &mut Map<String, Value>,
) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    for prop in props.iter().filter(|p| shown.contains(&p.name)) {
        let name = prop.name.as_str();
        let posted = params.get(name);
        if prop.is_secret() {
            match posted {
                Some(secret) => {
                    values.insert(
                        name.to_owned(),
                        Value::String("*".repeat(secret.chars().count())),
                    );
                    secrets.insert(name.to_owned(), Value::String(secret.to_owned()));
                }
                None => {
                    values.remove(name);
                    secrets.remove(name);
                }
            }
            continue;
        }
        let value = if prop.ui_widget() == "hidden" {
            posted.map(|p| hidden_value(prop.kind(), p))
        } else if prop.ui_field() == "MultiEntityPicker" {
            let mut refs: Vec<String> = params.all(name);
            for line in params
                .get(&format!("{name}__more"))
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
            {
                if !refs.iter().any(|r| r == line) {
                    refs.push(line.to_owned());
                }
            }
            let bad: Vec<&str> = refs
                .iter()
                .map(String::as_str)
                .filter(|r| !is_entity_ref(r))
                .collect();
            if !bad.is_empty() {
                errors.insert(
                    name.to_owned(),
                    format!(
                        "Not an entity reference: {}. Write kind:namespace/name, such as component:default/orders.",
                        bad.join(", ")
                    ),
                );
            }
            (!refs.is_empty()).then(|| Value::Array(refs.into_iter().map(Value::String).collect()))
        } else if prop.ui_field() == "RepoUrlPicker" {
            let part = |p: &str| params.get(&format!("{name}__{p}")).unwrap_or_default();
            let (host, owner, repo) = (part("host"), part("owner"), part("repo"));
            if host.is_empty() && owner.is_empty() && repo.is_empty() {
                None
            } else {
                if host.is_empty() || owner.is_empty() || repo.is_empty() {
                    errors.insert(
                        name.to_owned(),
                        "Enter the host, the owner and the repository name.".to_owned(),
                    );
                }
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("owner", owner)
                    .append_pair("repo", repo)
                    .finish();
                Some(Value::String(format!("{host}?{query}")))
            }
        } else {
            match prop.kind() {
                "boolean" if prop.ui_widget() == "radio" || enum_values(&prop.schema).is_some() => {
                    posted.map(|p| Value::Bool(p == "true"))
                }
                // An unchecked checkbox is not posted at all: it means false.
                "boolean" => Some(Value::Bool(posted == Some("true"))),
                "array" => {
                    let items = prop.schema.get("items").unwrap_or(&Value::Null);
                    let list: Vec<Value> = if enum_values(items).is_some() {
                        params
                            .all(name)
                            .iter()
                            .map(|v| choice_value(items, v))
                            .collect()
                    } else {
                        let kind = items
                            .get("type")
                            .and_then(Value::as_str)
                            .unwrap_or("string");
                        posted
                            .unwrap_or_default()
                            .lines()
                            .map(str::trim)
                            .filter(|line| !line.is_empty())
                            .map(|line| match kind {
                                "number" | "integer" => number_value(kind, line)
                                    .unwrap_or_else(|| Value::String(line.to_owned())),
                                _ => Value::String(line.to_owned()),
                            })
                            .collect()
                    };
                    (!list.is_empty()).then_some(Value::Array(list))
                }
                "object" => posted.map(|p| {
                    serde_json::from_str::<Value>(p).unwrap_or_else(|error| {
                        errors.insert(name.to_owned(), format!("Enter a JSON object: {error}."));
                        Value::String(p.to_owned())
                    })
                }),
                _ if enum_values(&prop.schema).is_some() => {
                    posted.map(|p| choice_value(&prop.schema, p))
                }
                "number" | "integer" => posted.map(|p| {
                    number_value(prop.kind(), p).unwrap_or_else(|| {
                        errors.insert(name.to_owned(), "Enter a number.".to_owned());
                        Value::String(p.to_owned())
                    })
                }),
                _ => posted.map(|p| Value::String(p.to_owned())),
            }
        };
        if let Some(message) = picker_problem(prop.ui_field(), value.as_ref()) {
            errors.entry(name.to_owned()).or_insert(message);
        }
        match value {
            Some(value) => {
                values.insert(name.to_owned(), value);
            }
            None => {
                values.remove(name);
            }
        }
    }
    errors
}

/// Whether `text` reads as an entity ref with a kind (`kind:[namespace/]name`).
fn is_entity_ref(text: &str) -> bool {
    // No default kind: the kind is mandatory.
    portico_model::EntityRef::parse(text, portico_model::RefDefaults::default()).is_ok()
}

/// Backstage's tag rule (`KubernetesValidatorFunctions`-style): lower-case words of
/// `a-z 0-9 : + #` joined by single `-`, at most 63 characters.
fn is_tag(tag: &str) -> bool {
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+:#".contains(&b))
    };
    tag.len() <= 63 && tag.split('-').all(word)
}

/// A branch name git accepts (the rules of `git check-ref-format --branch`, without `@{-N}`).
fn is_branch(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['-', '/'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && name != "@"
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
        && name.split('/').all(|part| !part.starts_with('.'))
}

/// What is wrong with a picker's value, for the pickers whose values have a shape.
fn picker_problem(ui_field: &str, value: Option<&Value>) -> Option<String> {
    match (ui_field, value) {
        ("EntityTagsPicker", Some(Value::Array(tags))) => {
            let bad: Vec<String> = tags
                .iter()
                .map(|t| text(Some(t)))
                .filter(|t| !is_tag(t))
                .collect();
            (!bad.is_empty()).then(|| {
                format!(
                    "Not a valid tag: {}. Tags are lower-case letters, digits, ':', '+' and '#', in words joined by '-', at most 63 characters.",
                    bad.join(", ")
                )
            })
        }
        ("RepoBranchPicker", Some(Value::String(branch))) if !is_branch(branch) => Some(format!(
            "{branch:?} is not a branch name: no spaces, no \"..\", none of ~ ^ : ? * [ \\, and it may not start with '-' or end with '/', '.' or \".lock\"."
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema_form::properties;
    use serde_json::json;

    #[test]
    fn posted_text_becomes_typed_values() {
        let schema = json!({"properties": {
            "name": {"type": "string"},
            "count": {"type": "integer"},
            "ratio": {"type": "number"},
            "public": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "langs": {"type": "array", "items": {"enum": ["go", "rust"]}},
            "size": {"type": "integer", "enum": [1, 2]},
            "meta": {"type": "object"},
            "token": {"type": "string", "ui:field": "Secret"},
            "repoUrl": {"type": "string", "ui:field": "RepoUrlPicker"},
            "gone": {"type": "string"},
        }});
        let props = properties(&schema, &Map::new());
        let shown: Vec<String> = props.iter().map(|p| p.name.clone()).collect();
        let params = Params::parse(Some(
            "name=svc&count=3&ratio=0.5&tags=a%0D%0A%0D%0Ab&langs=go&langs=rust&size=2\
             &meta=%7B%22a%22%3A1%7D&token=s3cret&repoUrl__host=github.com\
             &repoUrl__owner=o&repoUrl__repo=r%20x&gone=",
        ));
        let mut values = json!({"gone": "old", "public": true})
            .as_object()
            .unwrap()
            .clone();
        let mut secrets = Map::new();
        let errors = read_page(&props, &shown, &params, &mut values, &mut secrets);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            Value::Object(values),
            json!({"name": "svc", "count": 3, "ratio": 0.5, "public": false, "tags": ["a", "b"],
                   "langs": ["go", "rust"], "size": 2, "meta": {"a": 1}, "token": "******",
                   "repoUrl": "github.com?owner=o&repo=r+x"})
        );
        assert_eq!(secrets["token"], "s3cret");
    }

    #[test]
    fn unreadable_values_are_kept_and_reported() {
        let schema = json!({"properties": {
            "count": {"type": "integer"},
            "repoUrl": {"type": "string", "ui:field": "RepoUrlPicker"},
            "other": {"type": "string"},
        }});
        let props = properties(&schema, &Map::new());
        // `other` was not drawn: its value stays.
        let shown = vec!["count".to_owned(), "repoUrl".to_owned()];
        let params = Params::parse(Some("count=many&repoUrl__host=github.com&repoUrl__owner=o"));
        let mut values = json!({"other": "kept"}).as_object().unwrap().clone();
        let errors = read_page(&props, &shown, &params, &mut values, &mut Map::new());
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(values["count"], "many");
        assert_eq!(values["other"], "kept");
    }

    #[test]
    fn pickers_read_lists_and_refuse_malformed_refs_tags_and_branches() {
        let schema = json!({"properties": {
            "deps": {"type": "array", "items": {"type": "string"}, "ui:field": "MultiEntityPicker"},
            "tags": {"type": "array", "items": {"type": "string"}, "ui:field": "EntityTagsPicker"},
            "branch": {"type": "string", "ui:field": "RepoBranchPicker"},
        }});
        let props = properties(&schema, &Map::new());
        let shown: Vec<String> = props.iter().map(|p| p.name.clone()).collect();
        let read = |query: &str| {
            let mut values = Map::new();
            let errors = read_page(
                &props,
                &shown,
                &Params::parse(Some(query)),
                &mut values,
                &mut Map::new(),
            );
            (Value::Object(values), errors)
        };
        // Checked refs, then the extra lines (a repeat counted once).
        let (values, errors) = read(
            "deps=component%3Adefault%2Fa&deps=api%3Adefault%2Fb\
             &deps__more=group%3Ateam-x%0D%0Aapi%3Adefault%2Fb&tags=java%0D%0Aspring-boot\
             &branch=feature%2Fnew-ui",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            values,
            json!({"deps": ["component:default/a", "api:default/b", "group:team-x"],
                   "tags": ["java", "spring-boot"], "branch": "feature/new-ui"})
        );
        let (values, errors) = read("deps__more=orders&tags=Java%0D%0Aok&branch=bad..branch");
        assert!(
            errors["deps"].starts_with("Not an entity reference: orders."),
            "{errors:?}"
        );
        assert!(
            errors["tags"].starts_with("Not a valid tag: Java."),
            "{errors:?}"
        );
        assert!(
            errors["branch"].starts_with("\"bad..branch\" is not a branch name"),
            "{errors:?}"
        );
        // The values are kept, so the form shows them again.
        assert_eq!(values["tags"], json!(["Java", "ok"]));
        for bad in [
            "-x", "a b", "x.lock", "a/", "a:b", "@", "a//b", ".hidden", "a/.b",
        ] {
            assert!(!is_branch(bad), "{bad}");
        }
        for good in ["main", "release/1.2", "feat_x-y"] {
            assert!(is_branch(good), "{good}");
        }
        assert!(is_tag("a:b+c#1-x") && !is_tag("a--b") && !is_tag(&"a".repeat(64)));
    }
}

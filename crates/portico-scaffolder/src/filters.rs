//! The filters Backstage adds to Nunjucks (`parseRepoUrl`, `parseEntityRef`, `pick`,
//! `projectSlug`) and the Nunjucks built-ins minijinja spells differently (`dump`, `truncate`).

use minijinja::value::{Serde, Value as JinjaValue};
use minijinja::{Environment, Error as JinjaError};
use serde_json::{Map, Value};

use crate::expr::filter_error;

type FilterResult = Result<JinjaValue, JinjaError>;

/// Adds every filter to `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("dump", dump);
    env.add_filter("parseRepoUrl", parse_repo_url_filter);
    env.add_filter("parseEntityRef", parse_entity_ref_filter);
    env.add_filter("pick", pick);
    env.add_filter("projectSlug", project_slug);
    env.add_filter("truncate", truncate);
}

fn to_json(value: &JinjaValue) -> Result<Value, JinjaError> {
    if value.is_undefined() {
        return Ok(Value::Null);
    }
    serde_json::to_value(value).map_err(|error| filter_error(format!("not a JSON value: {error}")))
}

/// Nunjucks `dump` (`JSON.stringify`), with an optional indent; unlike minijinja's `tojson` it
/// does not HTML-escape, so a value dumped into YAML stays readable.
pub(crate) fn dump(value: JinjaValue, indent: Option<usize>) -> Result<String, JinjaError> {
    let json = to_json(&value)?;
    let text = match indent {
        Some(indent) if indent > 0 => {
            let spaces = vec![b' '; indent.min(10)];
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(&spaces);
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(&json, &mut serializer)
                .map_err(|error| filter_error(error.to_string()))?;
            String::from_utf8_lossy(&out).into_owned()
        }
        _ => json.to_string(),
    };
    Ok(text)
}

/// The parts of a RepoUrlPicker value `host?owner=o&repo=r` (also `organization`, `workspace`,
/// `project`).
pub fn parse_repo_url(text: &str) -> Result<Map<String, Value>, String> {
    let url = url::Url::parse(&format!("https://{text}"))
        .map_err(|error| format!("invalid repo URL {text:?}: {error}"))?;
    let host = url
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| format!("invalid repo URL {text:?}: missing host"))?;
    let mut parts = Map::new();
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    parts.insert("host".to_owned(), Value::String(host));
    for (key, value) in url.query_pairs() {
        if matches!(
            &*key,
            "owner" | "repo" | "organization" | "workspace" | "project"
        ) {
            parts.insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }
    if !parts.contains_key("repo") {
        return Err(format!(
            "invalid repo URL {text:?}: missing repo (…?owner=o&repo=r)"
        ));
    }
    Ok(parts)
}

fn parse_repo_url_filter(value: String) -> FilterResult {
    let parts = parse_repo_url(&value).map_err(filter_error)?;
    Ok(JinjaValue::from(Serde(Value::Object(parts))))
}

fn project_slug(value: String) -> Result<String, JinjaError> {
    let parts = parse_repo_url(&value).map_err(filter_error)?;
    let owner = parts
        .get("owner")
        .or_else(|| parts.get("organization"))
        .or_else(|| parts.get("workspace"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let repo = parts
        .get("repo")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(format!("{owner}/{repo}"))
}

/// `[kind:][namespace/]name` into its parts, keeping their case (Backstage's `parseEntityRef`).
pub fn parse_entity_ref(
    text: &str,
    default_kind: Option<&str>,
    default_namespace: Option<&str>,
) -> Result<(String, String, String), String> {
    let malformed =
        || format!("entity reference {text:?} was not on the form [<kind>:][<namespace>/]<name>");
    let (kind, rest) = match text.split_once(':') {
        Some((kind, rest)) => (Some(kind), rest),
        None => (None, text),
    };
    let (namespace, name) = match rest.split_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, rest),
    };
    if kind == Some("") || namespace == Some("") || name.is_empty() || name.contains(['/', ':']) {
        return Err(malformed());
    }
    let kind = kind.or(default_kind).ok_or_else(|| {
        format!("entity reference {text:?} had missing or empty kind (e.g. did not start with \"component:\" or similar)")
    })?;
    let namespace = namespace.or(default_namespace).unwrap_or("default");
    Ok((kind.to_owned(), namespace.to_owned(), name.to_owned()))
}

fn parse_entity_ref_filter(value: String, options: Option<JinjaValue>) -> FilterResult {
    let option = |key: &str| -> Option<String> {
        options
            .as_ref()
            .and_then(|options| options.get_attr(key).ok())
            .and_then(|value| value.as_str().map(str::to_owned))
    };
    let default_kind = option("defaultKind");
    let default_namespace = option("defaultNamespace");
    let (kind, namespace, name) = parse_entity_ref(
        &value,
        default_kind.as_deref(),
        default_namespace.as_deref(),
    )
    .map_err(filter_error)?;
    Ok(JinjaValue::from(Serde(serde_json::json!({
        "kind": kind, "namespace": namespace, "name": name,
    }))))
}

/// `obj | pick('a.b')`: the value at a dotted path.
fn pick(value: JinjaValue, path: String) -> FilterResult {
    let mut current = value;
    for key in path.split('.') {
        current = current.get_attr(key).unwrap_or(JinjaValue::UNDEFINED);
        if current.is_undefined() {
            break;
        }
    }
    Ok(current)
}

/// Nunjucks `truncate(length=255, killwords=false, end='...')`.
fn truncate(
    value: String,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
) -> String {
    let length = length.unwrap_or(255);
    if value.chars().count() <= length {
        return value;
    }
    let end = end.unwrap_or_else(|| "...".to_owned());
    let mut cut: String = value.chars().take(length).collect();
    if !killwords.unwrap_or(false)
        && let Some(space) = cut.rfind(' ')
    {
        cut.truncate(space);
    }
    cut.push_str(&end);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn repo_urls() {
        let parts = parse_repo_url("github.com?owner=acme&repo=svc").unwrap();
        assert_eq!(
            Value::Object(parts),
            json!({"host": "github.com", "owner": "acme", "repo": "svc"})
        );
        let parts = parse_repo_url("gitlab.example.com:8443?owner=g%2Fsub&repo=r").unwrap();
        assert_eq!(parts["host"], "gitlab.example.com:8443");
        assert_eq!(parts["owner"], "g/sub");
        assert!(
            parse_repo_url("github.com?owner=acme")
                .unwrap_err()
                .contains("missing repo")
        );
    }

    #[test]
    fn entity_refs() {
        assert_eq!(
            parse_entity_ref("Group:Ns/Team", None, None).unwrap(),
            ("Group".into(), "Ns".into(), "Team".into())
        );
        assert_eq!(
            parse_entity_ref("team", Some("group"), Some("org")).unwrap(),
            ("group".into(), "org".into(), "team".into())
        );
        assert!(
            parse_entity_ref("team", None, None)
                .unwrap_err()
                .contains("missing or empty kind")
        );
        assert!(parse_entity_ref("a:/b", None, None).is_err());
    }

    #[test]
    fn truncate_like_nunjucks() {
        assert_eq!(
            truncate("hello world foo".into(), Some(12), None, None),
            "hello world..."
        );
        assert_eq!(
            truncate("hello world".into(), Some(7), Some(true), Some("!".into())),
            "hello w!"
        );
        assert_eq!(truncate("short".into(), None, None, None), "short");
    }
}

//! Entities as pages see them: links from refs, short labels, and the summary fields of the
//! catalog table, read from the stored JSON of the read model.

use portico_model::{EntityRef, RefDefaults};
use serde::Serialize;
use serde_json::Value;

/// A path segment with anything but URL-safe characters escaped.
fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The entity page of `kind`, `namespace`, `name`.
pub fn entity_url(kind: &str, namespace: &str, name: &str) -> String {
    format!(
        "/catalog/{}/{}/{}",
        segment(&namespace.to_lowercase()),
        segment(&kind.to_lowercase()),
        segment(name)
    )
}

/// Parses a ref (`kind:namespace/name`; namespace `default` when missing).
pub fn parse_ref(entity_ref: &str) -> Option<EntityRef> {
    EntityRef::parse(entity_ref, RefDefaults::default()).ok()
}

/// The entity page of a ref, or `#` for a ref that does not parse.
pub fn url_of_ref(entity_ref: &str) -> String {
    match parse_ref(entity_ref) {
        Some(r) => entity_url(r.kind(), r.namespace(), r.name()),
        None => "#".to_owned(),
    }
}

/// A ref without the default namespace: `name` or `namespace/name`.
pub fn label_of_ref(entity_ref: &str) -> String {
    match parse_ref(entity_ref) {
        Some(r) if r.namespace() == portico_model::DEFAULT_NAMESPACE => r.name().to_owned(),
        Some(r) => format!("{}/{}", r.namespace(), r.name()),
        None => entity_ref.to_owned(),
    }
}

/// The kind part of a ref, lower-case.
pub fn kind_of_ref(entity_ref: &str) -> String {
    parse_ref(entity_ref).map_or_else(String::new, |r| r.kind().to_owned())
}

/// The fields of one row of the catalog table (and of lists elsewhere).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub entity_ref: String,
    pub url: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: String,
    pub description: String,
    pub spec_type: String,
    pub lifecycle: String,
    pub owner: String,
    pub owner_url: String,
    pub system: String,
    pub system_url: String,
    pub tags: Vec<String>,
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The summary of a stored entity.
pub fn summary(entity: &Value) -> Summary {
    let kind = text(entity, "/kind");
    let namespace = match text(entity, "/metadata/namespace") {
        "" => portico_model::DEFAULT_NAMESPACE,
        ns => ns,
    };
    let name = text(entity, "/metadata/name");
    let owner = relation_target(entity, "ownedBy")
        .unwrap_or_else(|| text(entity, "/spec/owner").to_owned());
    let system = relation_target(entity, "partOf")
        .filter(|r| r.starts_with("system:"))
        .unwrap_or_default();
    Summary {
        entity_ref: format!(
            "{}:{}/{}",
            kind.to_lowercase(),
            namespace.to_lowercase(),
            name.to_lowercase()
        ),
        url: entity_url(kind, namespace, name),
        kind: kind.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        title: text(entity, "/metadata/title").to_owned(),
        description: text(entity, "/metadata/description").to_owned(),
        spec_type: text(entity, "/spec/type").to_owned(),
        lifecycle: text(entity, "/spec/lifecycle").to_owned(),
        owner_url: if owner.contains(':') {
            url_of_ref(&owner)
        } else {
            String::new()
        },
        owner: if owner.contains(':') {
            label_of_ref(&owner)
        } else {
            owner
        },
        system_url: if system.is_empty() {
            String::new()
        } else {
            url_of_ref(&system)
        },
        system: if system.is_empty() {
            String::new()
        } else {
            label_of_ref(&system)
        },
        tags: entity
            .pointer("/metadata/tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The target of the first relation of `relation_type`.
pub fn relation_target(entity: &Value, relation_type: &str) -> Option<String> {
    relations(entity)
        .find(|(t, _)| *t == relation_type)
        .map(|(_, target)| target.to_owned())
}

/// Every `(type, targetRef)` of an entity's relations.
pub fn relations(entity: &Value) -> impl Iterator<Item = (&str, &str)> {
    entity
        .get("relations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r.get("type")?.as_str()?, r.get("targetRef")?.as_str()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_labels_from_refs() {
        assert_eq!(
            url_of_ref("component:default/a-b"),
            "/catalog/default/component/a-b"
        );
        assert_eq!(url_of_ref("Group:Team-A/x"), "/catalog/team-a/group/x");
        assert_eq!(label_of_ref("component:default/a"), "a");
        assert_eq!(label_of_ref("component:ops/a"), "ops/a");
        assert_eq!(url_of_ref("::"), "#");
    }
}

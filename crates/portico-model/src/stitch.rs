//! Stitching: the final entity served by the catalog, assembled from the processed entity, its
//! relations, its processing errors and its orphan state — the shape Backstage's stitcher
//! produces (`backstage.md` §3.1 step 3), so its clients read it unchanged.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::entity_ref::{EntityRef, RefDefaults};

/// The annotation set on entities that no location emits any more.
pub const ORPHAN_ANNOTATION: &str = "backstage.io/orphan";
/// The `status.items[].type` of processing errors.
pub const PROCESSING_STATUS_TYPE: &str = "backstage.io/catalog-processing";

/// One processing error to show in `status.items`.
#[derive(Debug, Clone, Copy)]
pub struct StitchError<'a> {
    /// Error name, e.g. `InputError`.
    pub name: &'a str,
    /// Message.
    pub message: &'a str,
}

/// A hex SHA-256 of `bytes`, for input hashes and etags.
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Builds the final entity and returns it as JSON text with its etag.
///
/// `relations` are `(type, target_ref)` pairs, sorted and deduplicated by the caller. Each is
/// written as `{type, targetRef, target: {kind, namespace, name}}` (the legacy `target` object
/// Backstage still adds by default). `metadata.etag` is a hash of everything else.
pub fn stitch_entity(
    entity: &Value,
    uid: &str,
    relations: &[(String, String)],
    errors: &[StitchError<'_>],
    orphan: bool,
) -> (String, String) {
    let mut final_entity = entity.clone();
    if let Some(object) = final_entity.as_object_mut() {
        let metadata = object
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("uid".to_owned(), Value::from(uid));
            metadata.remove("etag");
            if orphan {
                let annotations = metadata
                    .entry("annotations")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(annotations) = annotations.as_object_mut() {
                    annotations.insert(ORPHAN_ANNOTATION.to_owned(), Value::from("true"));
                }
            }
        }
        object.insert(
            "relations".to_owned(),
            Value::Array(relations.iter().map(|(t, r)| relation_json(t, r)).collect()),
        );
        object.remove("status");
        if !errors.is_empty() {
            let items: Vec<Value> = errors
                .iter()
                .map(|e| {
                    json!({
                        "type": PROCESSING_STATUS_TYPE,
                        "level": "error",
                        "message": format!("{}: {}", e.name, e.message),
                        "error": {"name": e.name, "message": e.message},
                    })
                })
                .collect();
            object.insert("status".to_owned(), json!({ "items": items }));
        }
    }
    let without_etag = final_entity.to_string();
    let etag = content_hash(without_etag.as_bytes());
    if let Some(metadata) = final_entity
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
    {
        metadata.insert("etag".to_owned(), Value::from(etag.as_str()));
    }
    (final_entity.to_string(), etag)
}

fn relation_json(relation_type: &str, target_ref: &str) -> Value {
    let mut relation = json!({ "type": relation_type, "targetRef": target_ref });
    if let Ok(target) = EntityRef::parse(target_ref, RefDefaults::default())
        && let Some(object) = relation.as_object_mut()
    {
        object.insert(
            "target".to_owned(),
            json!({"kind": target.kind(), "namespace": target.namespace(), "name": target.name()}),
        );
    }
    relation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_entity_has_uid_etag_relations_status_and_orphan_flag() {
        let entity = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "svc", "namespace": "default", "etag": "from-source"},
            "spec": {"owner": "team-a"}});
        let relations = vec![("ownedBy".to_owned(), "group:default/team-a".to_owned())];
        let errors = [StitchError {
            name: "InputError",
            message: "bad",
        }];
        let (text, etag) = stitch_entity(&entity, "u-1", &relations, &errors, true);
        let stitched: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(stitched["metadata"]["uid"], "u-1");
        assert_eq!(stitched["metadata"]["etag"], etag.as_str());
        assert_eq!(
            stitched["metadata"]["annotations"][ORPHAN_ANNOTATION],
            "true"
        );
        assert_eq!(
            stitched["relations"][0],
            json!({"type": "ownedBy", "targetRef": "group:default/team-a",
                "target": {"kind": "group", "namespace": "default", "name": "team-a"}})
        );
        assert_eq!(stitched["status"]["items"][0]["message"], "InputError: bad");
        // Same input, same etag; any change, another etag.
        assert_eq!(
            stitch_entity(&entity, "u-1", &relations, &errors, true).1,
            etag
        );
        assert_ne!(stitch_entity(&entity, "u-1", &relations, &[], true).1, etag);
        assert_ne!(
            stitch_entity(&entity, "u-1", &relations, &errors, false).1,
            etag
        );
    }
}

//! The entity envelope: `apiVersion`, `kind`, `metadata`, `spec`, `relations`, `status`.
//!
//! Values of these types are only made by [`crate::validate_entity`] (from YAML or JSON input) or
//! by the catalog engine when it stitches a final entity, so their fields can be trusted to follow
//! the catalog's formats. Unknown metadata fields are kept (`metadata` allows additional
//! properties in Backstage); `spec` stays a JSON object whose shape depends on the kind.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::entity_ref::{DEFAULT_NAMESPACE, EntityRef};

/// A catalog entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// Version of the kind's schema, e.g. `backstage.io/v1alpha1`.
    pub api_version: String,
    /// The kind, e.g. `Component`.
    pub kind: String,
    /// Identity and descriptive data.
    pub metadata: Metadata,
    /// Kind-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<Map<String, Value>>,
    /// Relations to other entities; set by the catalog, never authored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<Relation>,
    /// Processing status; set by the catalog, never authored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EntityStatus>,
}

/// `metadata` of an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Name, unique within kind and namespace (case-insensitively).
    pub name: String,
    /// Namespace; `default` when the source leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Human-readable description (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Identifying key/value pairs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Non-identifying key/value pairs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Classification tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// External links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<EntityLink>,
    /// Catalog-assigned unique id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Catalog-assigned content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Any other metadata field, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An entry of `metadata.links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityLink {
    /// Absolute URL.
    pub url: String,
    /// Display text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Icon name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Free-form link type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub link_type: Option<String>,
}

/// An entry of `relations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relation {
    /// Relation type, e.g. `ownedBy`.
    #[serde(rename = "type")]
    pub relation_type: String,
    /// Canonical reference of the other end.
    pub target_ref: String,
}

/// `status` of an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EntityStatus {
    /// Status items, e.g. processing errors.
    #[serde(default)]
    pub items: Vec<StatusItem>,
}

/// One `status.items` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusItem {
    /// Item type, e.g. `backstage.io/catalog-processing`.
    #[serde(rename = "type")]
    pub item_type: String,
    /// `info`, `warning` or `error`.
    pub level: String,
    /// Human-readable message.
    pub message: String,
    /// The error, when the item reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StatusError>,
}

/// The error in a [`StatusItem`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusError {
    /// Error name, e.g. `InputError`.
    pub name: String,
    /// Error message.
    pub message: String,
}

impl Entity {
    /// The entity's namespace, `default` when unset.
    pub fn namespace(&self) -> &str {
        self.metadata
            .namespace
            .as_deref()
            .unwrap_or(DEFAULT_NAMESPACE)
    }

    /// A reference to this entity.
    pub fn entity_ref(&self) -> EntityRef {
        EntityRef::new(&self.kind, self.namespace(), &self.metadata.name)
    }

    /// A string field of `spec`, if present.
    pub fn spec_str(&self, key: &str) -> Option<&str> {
        self.spec.as_ref()?.get(key)?.as_str()
    }
}

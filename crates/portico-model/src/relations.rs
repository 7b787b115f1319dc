//! Relation types and their generation from spec fields.
//!
//! Every relation is emitted in both directions: the outgoing type on the entity that declares
//! it, the reverse type on the target (which need not exist). Which spec fields produce which
//! relations is declared per kind in [`crate::kinds`]; this module walks those declarations.

use serde_json::Value;

use crate::entity::Entity;
use crate::entity_ref::{EntityRef, RefDefaults};
use crate::kinds::KindRegistry;
use crate::path::FieldPath;
use crate::validate::Issue;

/// `ownedBy`: the entity is owned by the target.
pub const OWNED_BY: &str = "ownedBy";
/// `ownerOf`: reverse of [`OWNED_BY`].
pub const OWNER_OF: &str = "ownerOf";
/// `partOf`: the entity is part of the target.
pub const PART_OF: &str = "partOf";
/// `hasPart`: reverse of [`PART_OF`].
pub const HAS_PART: &str = "hasPart";
/// `dependsOn`: the entity depends on the target.
pub const DEPENDS_ON: &str = "dependsOn";
/// `dependencyOf`: reverse of [`DEPENDS_ON`].
pub const DEPENDENCY_OF: &str = "dependencyOf";
/// `providesApi`: the component provides the target API.
pub const PROVIDES_API: &str = "providesApi";
/// `apiProvidedBy`: reverse of [`PROVIDES_API`].
pub const API_PROVIDED_BY: &str = "apiProvidedBy";
/// `consumesApi`: the component consumes the target API.
pub const CONSUMES_API: &str = "consumesApi";
/// `apiConsumedBy`: reverse of [`CONSUMES_API`].
pub const API_CONSUMED_BY: &str = "apiConsumedBy";
/// `parentOf`: the group is the parent of the target group.
pub const PARENT_OF: &str = "parentOf";
/// `childOf`: reverse of [`PARENT_OF`].
pub const CHILD_OF: &str = "childOf";
/// `memberOf`: the user is a member of the target group.
pub const MEMBER_OF: &str = "memberOf";
/// `hasMember`: reverse of [`MEMBER_OF`].
pub const HAS_MEMBER: &str = "hasMember";
/// `hasSkill`: the AI plugin contains the target skill.
pub const HAS_SKILL: &str = "hasSkill";
/// `skillOf`: reverse of [`HAS_SKILL`].
pub const SKILL_OF: &str = "skillOf";
/// `hasPlugin`: the AI marketplace contains the target plugin.
pub const HAS_PLUGIN: &str = "hasPlugin";
/// `pluginOf`: reverse of [`HAS_PLUGIN`].
pub const PLUGIN_OF: &str = "pluginOf";

/// A spec field whose references produce a pair of relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationField {
    /// Key under `spec`; a string or an array of strings.
    pub field: &'static str,
    /// Kind assumed when a reference has none; `None` means the reference must name its kind.
    pub default_kind: Option<&'static str>,
    /// Relation type on the declaring entity.
    pub outgoing: &'static str,
    /// Relation type on the target.
    pub incoming: &'static str,
}

/// One directed relation between two entities.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmittedRelation {
    /// The entity the relation is on.
    pub source: EntityRef,
    /// The relation type.
    pub relation_type: &'static str,
    /// The other end.
    pub target: EntityRef,
}

/// All relations an entity's spec declares, in both directions, or the reference errors.
///
/// The entity is assumed valid for its kind (see [`crate::validate_entity`]); a field of the wrong
/// shape is skipped here because validation has already reported it.
pub fn emit_relations(
    entity: &Entity,
    kinds: &KindRegistry,
) -> Result<Vec<EmittedRelation>, Vec<Issue>> {
    let Some(definition) = kinds.find(entity) else {
        return Ok(Vec::new());
    };
    let Some(spec) = entity.spec.as_ref() else {
        return Ok(Vec::new());
    };
    let self_ref = entity.entity_ref();
    let namespace = entity.namespace();
    let mut relations = Vec::new();
    let mut issues = Vec::new();
    for field in definition.relation_fields(entity) {
        let path = FieldPath::root().key("spec").key(field.field);
        let targets: Vec<(FieldPath, &str)> = match spec.get(field.field) {
            Some(Value::String(s)) => vec![(path, s.as_str())],
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.as_str().map(|s| (path.index(i), s)))
                .collect(),
            _ => Vec::new(),
        };
        for (path, text) in targets {
            let defaults = RefDefaults {
                kind: field.default_kind,
                namespace: Some(namespace),
            };
            match EntityRef::parse(text, defaults) {
                Ok(target) => {
                    relations.push(EmittedRelation {
                        source: self_ref.clone(),
                        relation_type: field.outgoing,
                        target: target.clone(),
                    });
                    relations.push(EmittedRelation {
                        source: target,
                        relation_type: field.incoming,
                        target: self_ref.clone(),
                    });
                }
                Err(err) => issues.push(Issue::new(
                    path,
                    err.to_string(),
                    match field.default_kind {
                        Some(kind) => format!(
                            "a reference of the form [<kind>:][<namespace>/]<name> (kind defaults to {kind})"
                        ),
                        None => "a reference of the form <kind>:[<namespace>/]<name> (the kind is required here)".to_owned(),
                    },
                    Some(&serde_json::Value::from(text).to_string()),
                )),
            }
        }
    }
    if issues.is_empty() {
        Ok(relations)
    } else {
        Err(issues)
    }
}

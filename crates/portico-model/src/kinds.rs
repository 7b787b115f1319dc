//! The built-in kinds: which apiVersions each accepts, the shape of its `spec`, and which spec
//! fields produce relations.
//!
//! Kinds are data, not code paths: a [`KindDefinition`] lists fields and relation fields, and
//! optional variants chosen by `spec.type` (API `mcp-server`, the AiResource types). Validation
//! and relation emission both walk these tables, so a kind is described once. An entity whose
//! kind and apiVersion match no definition is rejected, as in Backstage; custom kinds will be an
//! explicit registration, never a silent default.

use serde_json::{Map, Value};

use crate::entity::Entity;
use crate::path::FieldPath;
use crate::relations::{
    API_CONSUMED_BY, API_PROVIDED_BY, CHILD_OF, CONSUMES_API, DEPENDENCY_OF, DEPENDS_ON,
    HAS_MEMBER, HAS_PART, HAS_PLUGIN, HAS_SKILL, MEMBER_OF, OWNED_BY, OWNER_OF, PARENT_OF, PART_OF,
    PLUGIN_OF, PROVIDES_API, RelationField, SKILL_OF,
};
use crate::validate::Issue;

/// What a spec field must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldShape {
    /// A non-empty string.
    Text,
    /// A list of non-empty strings.
    TextList,
    /// A mapping.
    Mapping,
    /// A list of mappings.
    MappingList,
    /// A mapping or a list of mappings (template `parameters`).
    MappingOrMappingList,
    /// One of the given strings.
    OneOf(&'static [&'static str]),
    /// Anything.
    Any,
}

/// A field under `spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecField {
    /// Key under `spec`.
    pub name: &'static str,
    /// What it must hold.
    pub shape: FieldShape,
    /// Whether it must be present.
    pub required: bool,
}

/// Extra checks that a table cannot express, run on `spec`.
pub type SpecCheck = fn(&Map<String, Value>, &FieldPath, &mut Vec<Issue>);

/// Fields and relations that apply when `spec.type` has a given value.
#[derive(Debug, Clone, Copy)]
pub struct KindVariant {
    /// The `spec.type` value selecting this variant.
    pub spec_type: &'static str,
    /// Fields added to (or replacing, by name) the kind's fields.
    pub fields: &'static [SpecField],
    /// Relation fields added to the kind's.
    pub relations: &'static [RelationField],
    /// Extra checks.
    pub check: Option<SpecCheck>,
}

/// A kind the catalog knows.
#[derive(Debug, Clone, Copy)]
pub struct KindDefinition {
    /// The kind as written in entities (matched case-sensitively, as Backstage does).
    pub kind: &'static str,
    /// Accepted `apiVersion` values.
    pub api_versions: &'static [&'static str],
    /// Spec fields common to all variants.
    pub fields: &'static [SpecField],
    /// Relation fields common to all variants.
    pub relations: &'static [RelationField],
    /// Variants chosen by `spec.type`.
    pub variants: &'static [KindVariant],
    /// Extra checks.
    pub check: Option<SpecCheck>,
}

impl KindDefinition {
    /// The variant that `spec` selects, if any.
    pub fn variant(&self, spec: Option<&Map<String, Value>>) -> Option<&KindVariant> {
        let spec_type = spec?.get("type")?.as_str()?;
        self.variants.iter().find(|v| v.spec_type == spec_type)
    }

    /// The fields that apply to `spec`: the variant's, then the kind's that the variant does not
    /// redefine.
    pub fn fields_for(&self, spec: Option<&Map<String, Value>>) -> Vec<SpecField> {
        let variant_fields = self.variant(spec).map_or(&[][..], |v| v.fields);
        variant_fields
            .iter()
            .copied()
            .chain(
                self.fields
                    .iter()
                    .filter(|f| !variant_fields.iter().any(|v| v.name == f.name))
                    .copied(),
            )
            .collect()
    }

    /// The relation fields that apply to `entity`.
    pub fn relation_fields(&self, entity: &Entity) -> Vec<RelationField> {
        let variant = self
            .variant(entity.spec.as_ref())
            .map_or(&[][..], |v| v.relations);
        self.relations.iter().chain(variant).copied().collect()
    }
}

/// The kinds an entity may have.
#[derive(Debug, Clone)]
pub struct KindRegistry {
    kinds: Vec<KindDefinition>,
}

impl Default for KindRegistry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl KindRegistry {
    /// Backstage's built-in kinds plus the scaffolder's Template and the AiResource kind.
    pub fn builtin() -> Self {
        Self {
            kinds: BUILTIN_KINDS.to_vec(),
        }
    }

    /// The definition matching the entity's kind and apiVersion.
    pub fn find(&self, entity: &Entity) -> Option<&KindDefinition> {
        self.lookup(&entity.kind, &entity.api_version)
    }

    /// The definition for `kind` (case-sensitive) that accepts `api_version`.
    pub fn lookup(&self, kind: &str, api_version: &str) -> Option<&KindDefinition> {
        self.kinds
            .iter()
            .find(|k| k.kind == kind && k.api_versions.contains(&api_version))
    }

    /// The definition whose kind equals `kind` ignoring case, whatever the apiVersion.
    pub fn lookup_loosely(&self, kind: &str) -> Option<&KindDefinition> {
        self.kinds
            .iter()
            .find(|k| k.kind.eq_ignore_ascii_case(kind))
    }

    /// All kinds, in registration order.
    pub fn kinds(&self) -> &[KindDefinition] {
        &self.kinds
    }
}

const BACKSTAGE_V1: &[&str] = &["backstage.io/v1alpha1", "backstage.io/v1beta1"];

const fn field(name: &'static str, shape: FieldShape, required: bool) -> SpecField {
    SpecField {
        name,
        shape,
        required,
    }
}

const fn relation(
    field: &'static str,
    default_kind: Option<&'static str>,
    outgoing: &'static str,
    incoming: &'static str,
) -> RelationField {
    RelationField {
        field,
        default_kind,
        outgoing,
        incoming,
    }
}

use FieldShape::{Any, Mapping, MappingList, MappingOrMappingList, OneOf, Text, TextList};

const OWNER: RelationField = relation("owner", Some("Group"), OWNED_BY, OWNER_OF);
const SYSTEM: RelationField = relation("system", Some("System"), PART_OF, HAS_PART);
const DEPENDS: RelationField = relation("dependsOn", None, DEPENDS_ON, DEPENDENCY_OF);
const DEPENDENCY: RelationField = relation("dependencyOf", None, DEPENDENCY_OF, DEPENDS_ON);

const BUILTIN_KINDS: &[KindDefinition] = &[
    KindDefinition {
        kind: "Component",
        api_versions: BACKSTAGE_V1,
        fields: &[
            field("type", Text, true),
            field("lifecycle", Text, true),
            field("owner", Text, true),
            field("system", Text, false),
            field("subcomponentOf", Text, false),
            field("providesApis", TextList, false),
            field("consumesApis", TextList, false),
            field("dependsOn", TextList, false),
            field("dependencyOf", TextList, false),
        ],
        relations: &[
            OWNER,
            SYSTEM,
            relation("subcomponentOf", Some("Component"), PART_OF, HAS_PART),
            relation("providesApis", Some("API"), PROVIDES_API, API_PROVIDED_BY),
            relation("consumesApis", Some("API"), CONSUMES_API, API_CONSUMED_BY),
            DEPENDS,
            DEPENDENCY,
        ],
        variants: &[],
        check: None,
    },
    KindDefinition {
        kind: "API",
        api_versions: &[
            "backstage.io/v1alpha1",
            "backstage.io/v1beta1",
            "backstage.io/v1alpha2",
        ],
        fields: &[
            field("type", Text, true),
            field("lifecycle", Text, true),
            field("owner", Text, true),
            field("definition", Text, true),
            field("system", Text, false),
        ],
        relations: &[OWNER, SYSTEM],
        variants: &[KindVariant {
            spec_type: "mcp-server",
            fields: &[
                field("definition", Text, false),
                field("remotes", MappingList, true),
            ],
            relations: &[],
            check: Some(check_mcp_remotes),
        }],
        check: None,
    },
    KindDefinition {
        kind: "Resource",
        api_versions: BACKSTAGE_V1,
        fields: &[
            field("type", Text, true),
            field("owner", Text, true),
            field("system", Text, false),
            field("dependsOn", TextList, false),
            field("dependencyOf", TextList, false),
        ],
        relations: &[OWNER, SYSTEM, DEPENDS, DEPENDENCY],
        variants: &[],
        check: None,
    },
    KindDefinition {
        kind: "System",
        api_versions: BACKSTAGE_V1,
        fields: &[
            field("owner", Text, true),
            field("domain", Text, false),
            field("type", Text, false),
        ],
        relations: &[OWNER, relation("domain", Some("Domain"), PART_OF, HAS_PART)],
        variants: &[],
        check: None,
    },
    KindDefinition {
        kind: "Domain",
        api_versions: BACKSTAGE_V1,
        fields: &[
            field("owner", Text, true),
            field("subdomainOf", Text, false),
            field("type", Text, false),
        ],
        relations: &[
            OWNER,
            relation("subdomainOf", Some("Domain"), PART_OF, HAS_PART),
        ],
        variants: &[],
        check: None,
    },
    KindDefinition {
        kind: "Group",
        api_versions: BACKSTAGE_V1,
        fields: &[
            field("type", Text, true),
            field("children", TextList, true),
            field("profile", Mapping, false),
            field("parent", Text, false),
            field("members", TextList, false),
        ],
        relations: &[
            relation("parent", Some("Group"), CHILD_OF, PARENT_OF),
            relation("children", Some("Group"), PARENT_OF, CHILD_OF),
            relation("members", Some("User"), HAS_MEMBER, MEMBER_OF),
        ],
        variants: &[],
        check: None,
    },
    KindDefinition {
        kind: "User",
        api_versions: BACKSTAGE_V1,
        fields: &[
            field("memberOf", TextList, true),
            field("profile", Mapping, false),
        ],
        relations: &[relation("memberOf", Some("Group"), MEMBER_OF, HAS_MEMBER)],
        variants: &[],
        check: None,
    },
    KindDefinition {
        kind: "Location",
        api_versions: BACKSTAGE_V1,
        fields: &[
            field("type", Text, false),
            field("target", Text, false),
            field("targets", TextList, false),
            field("presence", OneOf(&["required", "optional"]), false),
        ],
        relations: &[],
        variants: &[],
        check: None,
    },
    KindDefinition {
        kind: "Template",
        api_versions: &["scaffolder.backstage.io/v1beta3"],
        fields: &[
            field("type", Text, true),
            field("steps", MappingList, true),
            field("owner", Text, false),
            field("lifecycle", Text, false),
            field("parameters", MappingOrMappingList, false),
            field("output", Mapping, false),
            field("presentation", Mapping, false),
        ],
        relations: &[OWNER],
        variants: &[],
        check: Some(check_template),
    },
    KindDefinition {
        kind: "AiResource",
        api_versions: &["backstage.io/v1alpha1"],
        fields: &[
            field("type", Text, true),
            field("lifecycle", Text, true),
            field("owner", Text, true),
            field("system", Text, false),
        ],
        relations: &[OWNER, SYSTEM],
        variants: &[
            KindVariant {
                spec_type: "skill",
                fields: &[
                    field("disciplines", TextList, false),
                    field("categories", TextList, false),
                    field("agents", TextList, false),
                    field("dependsOn", TextList, false),
                    field("allowedTools", Any, false),
                    field("license", Text, false),
                    field("compatibility", Text, false),
                ],
                relations: &[relation(
                    "dependsOn",
                    Some("AiResource"),
                    DEPENDS_ON,
                    DEPENDENCY_OF,
                )],
                check: None,
            },
            KindVariant {
                spec_type: "rule",
                fields: &[
                    field("disciplines", TextList, false),
                    field("category", Text, true),
                    field("rationale", Text, true),
                ],
                relations: &[],
                check: None,
            },
            KindVariant {
                spec_type: "plugin",
                fields: &[
                    field("skills", TextList, true),
                    field("version", Text, false),
                ],
                relations: &[relation("skills", Some("AiResource"), HAS_SKILL, SKILL_OF)],
                check: None,
            },
            KindVariant {
                spec_type: "marketplace",
                fields: &[
                    field("plugins", TextList, true),
                    field("version", Text, false),
                ],
                relations: &[relation(
                    "plugins",
                    Some("AiResource"),
                    HAS_PLUGIN,
                    PLUGIN_OF,
                )],
                check: None,
            },
        ],
        check: None,
    },
];

fn check_mcp_remotes(spec: &Map<String, Value>, spec_path: &FieldPath, issues: &mut Vec<Issue>) {
    let Some(Value::Array(remotes)) = spec.get("remotes") else {
        return;
    };
    let path = spec_path.key("remotes");
    if remotes.is_empty() {
        issues.push(Issue::new(
            path.clone(),
            "an mcp-server API needs at least one remote",
            "a list of {type, url} with at least one entry",
            None,
        ));
    }
    for (i, remote) in remotes.iter().enumerate() {
        let Some(remote) = remote.as_object() else {
            continue;
        };
        let item = path.index(i);
        crate::validate::check_field(
            remote,
            &item,
            field("type", OneOf(&["streamable-http", "sse"]), true),
            issues,
        );
        crate::validate::check_field(remote, &item, field("url", Text, true), issues);
    }
}

fn check_template(spec: &Map<String, Value>, spec_path: &FieldPath, issues: &mut Vec<Issue>) {
    crate::parameter_schema::check_parameter_pages(spec, spec_path, issues);
    let Some(Value::Array(steps)) = spec.get("steps") else {
        return;
    };
    let path = spec_path.key("steps");
    for (i, step) in steps.iter().enumerate() {
        let Some(step) = step.as_object() else {
            continue;
        };
        let item = path.index(i);
        for step_field in [
            field("action", Text, true),
            field("id", Text, false),
            field("name", Text, false),
            field("input", Mapping, false),
        ] {
            crate::validate::check_field(step, &item, step_field, issues);
        }
        if let Some(condition) = step.get("if")
            && !matches!(condition, Value::String(_) | Value::Bool(_))
        {
            issues.push(Issue::new(
                item.key("if"),
                "invalid step condition",
                "a string expression or a boolean",
                Some(&crate::validate::describe(condition)),
            ));
        }
        if let Some(each) = step.get("each")
            && !matches!(each, Value::String(_) | Value::Array(_) | Value::Object(_))
        {
            issues.push(Issue::new(
                item.key("each"),
                "invalid step loop",
                "a string expression, a list or a mapping",
                Some(&crate::validate::describe(each)),
            ));
        }
    }
    // The scaffolder refuses to run a template whose steps share an id (a later step's output
    // would hide an earlier one's); say so where the catalog reports everything else.
    let mut seen = std::collections::HashSet::new();
    for (i, step) in steps.iter().enumerate() {
        if let Some(Value::String(id)) = step.get("id")
            && !seen.insert(id.as_str())
        {
            issues.push(Issue::new(
                path.index(i).key("id"),
                "duplicate step id",
                "an id no earlier step uses",
                Some(&crate::validate::describe(&Value::String(id.clone()))),
            ));
        }
    }
    if let Some(Value::Object(output)) = spec.get("output") {
        let output_path = spec_path.key("output");
        for key in ["links", "text"] {
            let Some(list) = output.get(key) else {
                continue;
            };
            let entries: &[Value] = match list {
                Value::Array(entries) => entries,
                other => {
                    issues.push(Issue::new(
                        output_path.key(key),
                        "invalid template output",
                        "a list of mappings",
                        Some(&crate::validate::describe(other)),
                    ));
                    continue;
                }
            };
            for (i, entry) in entries.iter().enumerate() {
                if !entry.is_object() {
                    issues.push(Issue::new(
                        output_path.key(key).index(i),
                        "invalid template output",
                        "a mapping",
                        Some(&crate::validate::describe(entry)),
                    ));
                }
            }
        }
    }
}

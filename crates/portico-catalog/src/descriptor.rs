//! Processing one descriptor file: YAML documents → placeholders → validation → relations, plus
//! the targets of any `Location` entities in it.
//!
//! Every problem becomes a [`Diagnostic`] with the file, line, column and field; one broken
//! document never hides the others.

use std::fmt;

use portico_model::{
    DEFAULT_NAMESPACE, EntityRef, FieldPath, KindRegistry, Position, SourceMap, ValidatedEntity,
    YamlLimits, decode_utf8, parse_documents, validate_entity,
};
use serde_json::Value;

use crate::placeholders::resolve_placeholders;
use crate::reader::{SourceReader, Target};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The entity or file is rejected.
    Error,
    /// Worth knowing; nothing is rejected.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A problem found while processing, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file or URL.
    pub source: Target,
    /// Line and column, when known.
    pub position: Option<Position>,
    /// The field, when the problem is about one.
    pub field: Option<FieldPath>,
    /// What is wrong and what would be right.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: error: field: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(position) = self.position {
            write!(f, ":{}:{}", position.line, position.column)?;
        }
        write!(f, ": {}: ", self.severity)?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// A valid entity and where it was defined.
#[derive(Debug, Clone)]
pub struct ProcessedEntity {
    /// The entity and its relations.
    pub validated: ValidatedEntity,
    /// The file or URL that defined it.
    pub source: Target,
    /// Where its document starts.
    pub position: Position,
}

/// A target named by a `Location` entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationLink {
    /// The resolved target.
    pub target: Target,
    /// The field naming it (`spec.target` or `spec.targets[i]`).
    pub field: FieldPath,
    /// The Location entity naming it.
    pub named_by: EntityRef,
    /// Where the target is written.
    pub position: Position,
    /// `spec.presence: optional`: a missing target is not an error.
    pub optional: bool,
}

/// Everything one descriptor file produced.
#[derive(Debug, Default)]
pub struct DescriptorResult {
    /// Valid entities.
    pub entities: Vec<ProcessedEntity>,
    /// Problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// Targets of Location entities, to be processed next.
    pub links: Vec<LocationLink>,
    /// Number of documents rejected.
    pub rejected: usize,
    /// Rejected documents whose kind, namespace and name could be read: the catalog keeps the
    /// last good version of such an entity and shows these errors on it.
    pub failed: Vec<(EntityRef, Vec<Diagnostic>)>,
}

/// Processes the bytes of one descriptor file read from `source`.
pub fn process_descriptor(
    bytes: &[u8],
    source: &Target,
    reader: &dyn SourceReader,
    kinds: &KindRegistry,
) -> DescriptorResult {
    let mut result = DescriptorResult::default();
    let text = match decode_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            result.diagnostics.push(Diagnostic {
                severity: Severity::Error,
                source: source.clone(),
                position: Some(err.position()),
                field: None,
                message: err.to_string(),
            });
            return result;
        }
    };
    for document in parse_documents(text, &YamlLimits::default()) {
        match document {
            Ok(document) => {
                process_document(
                    document.value,
                    &document.source_map,
                    source,
                    reader,
                    kinds,
                    &mut result,
                );
            }
            Err(err) => {
                result.rejected += 1;
                result.diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    source: source.clone(),
                    position: Some(err.position()),
                    field: None,
                    message: err.to_string(),
                });
            }
        }
    }
    result
}

fn process_document(
    mut value: Value,
    source_map: &SourceMap,
    source: &Target,
    reader: &dyn SourceReader,
    kinds: &KindRegistry,
    result: &mut DescriptorResult,
) {
    let diagnostic = |severity, field: FieldPath, message: String| Diagnostic {
        severity,
        source: source.clone(),
        position: Some(source_map.locate(&field)),
        field: (!field.is_root()).then_some(field),
        message,
    };
    let resolution = resolve_placeholders(&mut value, source, reader);
    // A placeholder that failed or was not fetched cannot be judged by validation; it has its
    // own diagnostic.
    let unresolved: Vec<FieldPath> = resolution
        .errors
        .iter()
        .chain(&resolution.not_fetched)
        .map(|(path, _)| path.clone())
        .collect();
    let mut errors: Vec<Diagnostic> = resolution
        .errors
        .into_iter()
        .map(|(field, message)| diagnostic(Severity::Error, field, message))
        .collect();
    for (field, message) in &resolution.not_fetched {
        result.diagnostics.push(diagnostic(
            Severity::Warning,
            field.clone(),
            message.clone(),
        ));
    }
    let validated = match validate_entity(&value, kinds) {
        Ok(validated) => Some(validated),
        Err(issues) => {
            errors.extend(
                issues
                    .into_iter()
                    .filter(|issue| !unresolved.iter().any(|path| issue.path.starts_with(path)))
                    .map(|issue| {
                        diagnostic(Severity::Error, issue.path.clone(), issue.to_string())
                    }),
            );
            None
        }
    };
    if !errors.is_empty() {
        result.rejected += 1;
        if let Some(entity_ref) = readable_ref(&value) {
            result.failed.push((entity_ref, errors.clone()));
        }
        result.diagnostics.extend(errors);
        return;
    }
    let Some(validated) = validated else {
        // Only issues under unfetched placeholders (reported as warnings above): nothing else is
        // wrong, but the entity cannot be built without their content.
        result.rejected += 1;
        return;
    };
    if validated.entity.kind == "Location" {
        collect_links(&validated, source_map, source, result);
    }
    result.entities.push(ProcessedEntity {
        validated,
        source: source.clone(),
        position: source_map.document_position(),
    });
}

/// The ref of a document that failed validation, when its kind and name are readable strings.
fn readable_ref(value: &Value) -> Option<EntityRef> {
    let kind = value.get("kind")?.as_str()?;
    let metadata = value.get("metadata")?;
    let name = metadata.get("name")?.as_str()?;
    let namespace = match metadata.get("namespace") {
        None => DEFAULT_NAMESPACE,
        Some(namespace) => namespace.as_str()?,
    };
    (!kind.is_empty() && !name.is_empty() && !namespace.is_empty())
        .then(|| EntityRef::new(kind, namespace, name))
}

fn collect_links(
    validated: &ValidatedEntity,
    source_map: &SourceMap,
    source: &Target,
    result: &mut DescriptorResult,
) {
    let entity = &validated.entity;
    let optional = entity.spec_str("presence") == Some("optional");
    let spec_path = FieldPath::root().key("spec");
    let mut targets: Vec<(FieldPath, &str)> = Vec::new();
    if let Some(target) = entity.spec_str("target") {
        targets.push((spec_path.key("target"), target));
    }
    if let Some(Value::Array(items)) = entity.spec.as_ref().and_then(|s| s.get("targets")) {
        for (i, item) in items.iter().enumerate() {
            if let Some(target) = item.as_str() {
                targets.push((spec_path.key("targets").index(i), target));
            }
        }
    }
    let declared_type = entity.spec_str("type");
    for (path, reference) in targets {
        let position = source_map.locate(&path);
        let resolved = source
            .join(reference)
            .and_then(|target| match (declared_type, &target) {
                (Some("file"), Target::Url(_)) | (Some("url"), Target::File(_)) => Err(format!(
                    "target \"{reference}\" does not fit the location type \"{}\"",
                    declared_type.unwrap_or_default()
                )),
                (Some(other), _) if other != "file" && other != "url" => Err(format!(
                    "location type \"{other}\" is not supported here; use file or url"
                )),
                _ => Ok(target),
            });
        match resolved {
            Ok(target) => result.links.push(LocationLink {
                target,
                field: path,
                named_by: entity.entity_ref(),
                position,
                optional,
            }),
            Err(message) => result.diagnostics.push(Diagnostic {
                severity: Severity::Error,
                source: source.clone(),
                position: Some(position),
                field: Some(path),
                message,
            }),
        }
    }
}

//! Processing one source into a [`SourceUpdate`]: read it, run the descriptor pipeline, annotate the
//! entities with where they came from, apply `catalog.rules`, and sort problems into entity
//! errors (the last good version stays) and source errors.
//!
//! Pure apart from the reader; runs on a blocking thread.

use portico_model::stitch::content_hash;
use portico_model::{EmittedRelation, Entity, KindRegistry};
use portico_store::{
    ChildSource, EntityInput, ErrorItem, LocationRecord, RelationRow, SourceUpdate,
};

use crate::descriptor::{Diagnostic, ProcessedEntity, process_descriptor};
use crate::engine::settings::CatalogSettings;
use crate::reader::{ReadError, SourceReader, Target};

/// Annotation: the location (`<type>:<target>`) of the file that defined the entity.
pub const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";
/// Annotation: the registered location the entity was found through.
pub const MANAGED_BY_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";

/// The `<type>:<target>` reference of a registered location.
pub fn location_ref(location: &LocationRecord) -> String {
    format!("{}:{}", location.location_type, location.target)
}

/// The name of the Location entity that represents a registered location, like Backstage's
/// `generated-<hash>`.
pub fn generated_location_name(location: &LocationRecord) -> String {
    let hash = content_hash(location_ref(location).as_bytes());
    format!("generated-{}", &hash[..40])
}

/// The target a registered location points at.
pub fn location_target(location: &LocationRecord) -> Option<Target> {
    match location.location_type.as_str() {
        "file" => Some(Target::File(location.target.clone().into())),
        "url" => url::Url::parse(&location.target).ok().map(Target::Url),
        _ => None,
    }
}

/// Processes `key`. Returns `None` when the content is unchanged since `previous_hash`.
pub(crate) fn process_source(
    key: &str,
    previous_hash: Option<&str>,
    location: &LocationRecord,
    reader: &dyn SourceReader,
    kinds: &KindRegistry,
    settings: &CatalogSettings,
) -> Option<SourceUpdate> {
    let Some(target) = Target::from_source_key(key) else {
        return Some(read_failure(
            key,
            "InputError",
            format!("{key} is not a location this catalog can read"),
        ));
    };
    let bytes = match reader.read(&target) {
        Ok(bytes) => bytes,
        Err(err) => {
            let name = match err {
                ReadError::NotFound(_) => "NotFoundError",
                ReadError::NotAllowed(_) => "NotAllowedError",
                _ => "InputError",
            };
            return Some(read_failure(key, name, err.to_string()));
        }
    };
    let hash = content_hash(&bytes);
    if previous_hash == Some(hash.as_str()) {
        return None;
    }
    let result = process_descriptor(&bytes, &target, reader, kinds);
    let origin = location_ref(location);
    let mut update = SourceUpdate {
        key: key.to_owned(),
        content_hash: Some(hash),
        ..SourceUpdate::default()
    };
    let failed_diagnostics: Vec<&Diagnostic> =
        result.failed.iter().flat_map(|(_, d)| d.iter()).collect();
    for (entity_ref, diagnostics) in &result.failed {
        update.failed.push((
            entity_ref.to_string(),
            diagnostics.iter().map(error_item).collect(),
        ));
    }
    update.source_errors = result
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::descriptor::Severity::Error)
        .filter(|d| !failed_diagnostics.contains(d))
        .map(error_item)
        .collect();
    for processed in result.entities {
        let entity_ref = processed.validated.entity.entity_ref();
        if !settings.allows_kind_at(
            &processed.validated.entity.kind,
            &location.location_type,
            &location.target,
        ) {
            update.failed.push((
                entity_ref.to_string(),
                vec![ErrorItem {
                    name: "NotAllowedError".to_owned(),
                    message: format!(
                        "{key}: kind {} is not allowed by catalog.rules; add it to an allow list in catalog.rules to accept it",
                        processed.validated.entity.kind
                    ),
                }],
            ));
            continue;
        }
        update.entities.push(entity_input(&processed, key, &origin));
    }
    for link in result.links {
        update.children.push(ChildSource {
            key: link.target.source_key(),
            named_by: link.named_by.to_string(),
        });
    }
    Some(update)
}

fn error_item(diagnostic: &Diagnostic) -> ErrorItem {
    let mut message = diagnostic.source.to_string();
    if let Some(position) = diagnostic.position {
        message.push_str(&format!(":{}:{}", position.line, position.column));
    }
    message.push_str(": ");
    if let Some(field) = &diagnostic.field {
        message.push_str(&format!("{field}: "));
    }
    message.push_str(&diagnostic.message);
    ErrorItem {
        name: "InputError".to_owned(),
        message,
    }
}

fn read_failure(key: &str, name: &str, message: String) -> SourceUpdate {
    SourceUpdate {
        key: key.to_owned(),
        read_errors: vec![ErrorItem {
            name: name.to_owned(),
            message,
        }],
        ..SourceUpdate::default()
    }
}

/// The entity as stored: with the managed-by annotations set (`managed_by` is the
/// `<type>:<target>` of the file or provider that defined it, `origin` that of the registered
/// location), hashed, with its relations as rows.
pub(crate) fn stored_entity(
    mut entity: Entity,
    relations: &[EmittedRelation],
    managed_by: &str,
    origin: &str,
) -> EntityInput {
    entity
        .metadata
        .annotations
        .insert(MANAGED_BY_LOCATION.to_owned(), managed_by.to_owned());
    entity
        .metadata
        .annotations
        .insert(MANAGED_BY_ORIGIN_LOCATION.to_owned(), origin.to_owned());
    let entity_json = serde_json::to_string(&entity).unwrap_or_default();
    EntityInput {
        entity_ref: entity.entity_ref().to_string(),
        input_hash: content_hash(entity_json.as_bytes()),
        entity_json,
        relations: relations
            .iter()
            .map(|r| RelationRow {
                source_ref: r.source.to_string(),
                relation_type: r.relation_type.to_owned(),
                target_ref: r.target.to_string(),
            })
            .collect(),
    }
}

fn entity_input(processed: &ProcessedEntity, key: &str, origin: &str) -> EntityInput {
    stored_entity(
        processed.validated.entity.clone(),
        &processed.validated.relations,
        key,
        origin,
    )
}

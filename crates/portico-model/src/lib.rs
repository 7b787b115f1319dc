//! Portico's catalog entity model: the envelope and its kinds, entity references, relations and
//! validation with Backstage's rules, and the YAML reader that keeps source positions.
//!
//! This crate is pure: it does no IO (files, network, clock, database). Everything that reads
//! locations or stores entities lives in the engine crates and passes text or values in here.

pub mod entity;
pub mod entity_ref;
pub mod formats;
pub mod kinds;
pub mod parameter_schema;
pub mod path;
pub mod relations;
pub mod source;
pub mod stitch;
pub mod validate;
pub mod yaml;

pub use entity::{Entity, EntityLink, EntityStatus, Metadata, Relation, StatusError, StatusItem};
pub use entity_ref::{DEFAULT_NAMESPACE, EntityRef, RefDefaults, RefError};
pub use kinds::{KindDefinition, KindRegistry};
pub use path::{FieldPath, PathSegment};
pub use relations::{EmittedRelation, RelationField, emit_relations};
pub use source::{Position, SourceMap};
pub use validate::{Issue, ValidatedEntity, validate_entity};
pub use yaml::{YamlDocument, YamlError, YamlLimits, decode_utf8, parse_documents};

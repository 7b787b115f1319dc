//! Integration tests of the entity model: a table of invalid entities (one or more per rule,
//! with the exact field and position of the error), entities Backstage accepts that we must
//! accept too, and property tests (reference round-trips, random input never panics).

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accepted;
mod invalid;
mod properties;

use portico_model::{
    Issue, KindRegistry, Position, ValidatedEntity, YamlLimits, parse_documents, validate_entity,
};

/// Parses one YAML document and validates it, returning issues with their source positions.
pub fn check(yaml: &str) -> Result<ValidatedEntity, Vec<(Issue, Position)>> {
    let mut docs = parse_documents(yaml, &YamlLimits::default());
    assert_eq!(docs.len(), 1, "one document expected");
    let doc = docs.remove(0).expect("valid YAML");
    validate_entity(&doc.value, &KindRegistry::builtin()).map_err(|issues| {
        issues
            .into_iter()
            .map(|issue| {
                let position = doc.source_map.locate(&issue.path);
                (issue, position)
            })
            .collect()
    })
}

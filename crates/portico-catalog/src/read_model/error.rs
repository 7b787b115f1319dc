//! Errors of the read model. Every variant is a problem with the caller's input (a filter, a
//! predicate, a cursor, a `fields` list, an order field or an entity handed to `upsert`), so the
//! HTTP layer maps all of them to Backstage's `InputError` (400); each message says what to fix.

use thiserror::Error;

/// Why a read-model call rejected its input. All variants map to Backstage's `InputError` (400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadModelError {
    /// A legacy `filter` statement with an empty key (`=x`, ` =`). The message is Backstage's.
    #[error(
        "Invalid filter, '{statement}' is not a valid statement (expected a string on the form a=b or a= or a)"
    )]
    InvalidFilter {
        /// The offending statement, trimmed, as the caller wrote it.
        statement: String,
    },
    /// A predicate (`query` of `POST /entities/by-query`, `POST /entity-facets`) that does not
    /// follow the grammar `{$all: [..]} | {$any: [..]} | {$not: P} | {"<key>": V}`.
    #[error("Invalid query predicate at {path}: {message}")]
    InvalidPredicate {
        /// Where in the predicate, e.g. `$.$all[1].spec.type`.
        path: String,
        /// What is wrong there and what is accepted instead.
        message: String,
    },
    /// A cursor that was not produced by this catalog, or was altered.
    #[error("Malformed cursor: {0}")]
    InvalidCursor(String),
    /// A `fields` projection that cannot be applied.
    #[error("Invalid fields, {0}")]
    InvalidFields(String),
    /// An order field that cannot be used.
    #[error("Invalid order field: {0}")]
    InvalidOrder(String),
    /// An entity given to `upsert` without the envelope the index needs.
    #[error("Invalid entity: {0}")]
    InvalidEntity(String),
    /// An entity whose flattened keys collide once lowercased (`spec.foo` and `spec.Foo`); the
    /// message lists them as Backstage's stitcher does.
    #[error("Entity has duplicate keys that vary only in casing, {0}")]
    DuplicateKeys(String),
}

impl ReadModelError {
    /// The Backstage error name the HTTP layer should report: always `InputError` (status 400).
    pub fn backstage_name(&self) -> &'static str {
        "InputError"
    }
}

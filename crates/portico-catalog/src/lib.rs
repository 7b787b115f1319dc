//! Portico's catalog engine: reading locations and descriptor files, resolving placeholders,
//! validating entities and generating their relations.
//!
//! This crate knows nothing of HTTP or SQL. Where bytes come from is behind [`SourceReader`];
//! the binary wires a reader that honours the configured allow-list.

pub mod descriptor;
pub mod engine;
pub mod placeholders;
pub mod read_model;
pub mod reader;
pub mod walk;

pub use descriptor::{
    DescriptorResult, Diagnostic, LocationLink, ProcessedEntity, Severity, process_descriptor,
};
pub use reader::{
    AllowRule, LocalReader, MAX_SOURCE_BYTES, ReadAllowList, ReadError, SourceReader, Target,
    read_file,
};
pub use walk::{WalkReport, walk, walk_with};

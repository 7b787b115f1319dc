//! `techdocs_metadata.json`, the file Backstage's TechDocs backend reads from a published site
//! (`GET /api/techdocs/metadata/techdocs/:namespace/:kind/:name` returns it).

use serde::{Deserialize, Serialize};

/// The metadata file's name at the site root.
pub const METADATA_FILE: &str = "techdocs_metadata.json";

/// The content of `techdocs_metadata.json`, in Backstage's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechDocsMetadata {
    /// `site_name` from `mkdocs.yml`.
    pub site_name: String,
    /// `site_description` from `mkdocs.yml` (empty when unset).
    #[serde(default)]
    pub site_description: String,
    /// Changes whenever the docs source changes (a content hash).
    pub etag: String,
    /// Milliseconds since the Unix epoch, like JavaScript's `Date.now()`.
    pub build_timestamp: u64,
    /// Every file of the site, relative to its root.
    #[serde(default)]
    pub files: Vec<String>,
}

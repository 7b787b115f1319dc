//! Portico TechDocs: builds a docs-like-code site — `mkdocs.yml` plus Markdown, written for
//! mkdocs with `mkdocs-techdocs-core` — into static HTML natively, with no Python.
//!
//! [`Site`] builds (and incrementally rebuilds) a folder; [`publish`] stores built sites per
//! entity in Backstage's layout; [`builds`] builds the docs of catalog entities when their
//! source changes, as leased jobs in a [`portico_store::TechDocsStore`]. No HTTP, no SQL.
//!
//! Pipeline per page: front matter → [`preprocess`] (snippets, admonitions, details, tabs) →
//! comrak (CommonMark + GFM) → syntax-tree passes in [`markdown`] (heading ids and TOC,
//! highlighted code, mermaid, link rewriting and checks, `^^ins^^`) → HTML → [`sanitize`] →
//! the page shell in [`template`].

pub mod builds;
pub mod config;
pub mod diagnostics;
pub mod embed;
pub mod highlight;
pub mod markdown;
pub mod metadata;
pub mod nav;
pub mod preprocess;
pub mod publish;
pub mod sanitize;
pub mod search;
pub mod site;
pub mod slug;
pub mod template;
pub mod urls;

pub use builds::{
    BuildStatus, BuilderMode, BuilderOptions, DocsBuilder, DocsBuilds, DocsCatalog, DocsFetcher,
    SyncEvent,
};
pub use config::MkdocsConfig;
pub use diagnostics::{TechDocsError, Warning};
pub use metadata::{METADATA_FILE, TechDocsMetadata};
pub use publish::{EntityTriplet, LocalPublisher, PublishError, Publisher};
pub use site::{BuildOptions, BuildReport, Site, build_site};

//! The per-site search index, `search/search_index.json`, in the shape mkdocs' search plugin
//! writes (so Backstage's TechDocs collator and reader search can read it): one entry per
//! page and one per section.

use serde::Serialize;

/// The index file.
#[derive(Debug, Serialize)]
pub struct SearchIndex<'a> {
    config: SearchConfig,
    docs: Vec<SearchDoc<'a>>,
}

#[derive(Debug, Serialize)]
struct SearchConfig {
    lang: [&'static str; 1],
    separator: &'static str,
    pipeline: [&'static str; 1],
}

/// One searchable entry.
#[derive(Debug, Serialize)]
pub struct SearchDoc<'a> {
    /// URL relative to the site root, with `#anchor` for sections.
    pub location: String,
    /// Page or section title.
    pub title: &'a str,
    /// Plain text.
    pub text: std::borrow::Cow<'a, str>,
}

impl<'a> SearchIndex<'a> {
    /// An index of `docs`.
    pub fn new(docs: Vec<SearchDoc<'a>>) -> Self {
        Self {
            config: SearchConfig {
                lang: ["en"],
                separator: "[\\s\\-]+",
                pipeline: ["stopWordFilter"],
            },
            docs,
        }
    }
}

//! The site's navigation: from `nav` in `mkdocs.yml` (missing targets warned about, with the
//! config line), or — without `nav` — every page in folder order like mkdocs (`index.md`
//! first, then files and folders by name; folders become titled sections).

use std::collections::{BTreeMap, HashMap};

use crate::config::{MkdocsConfig, NavEntry};
use crate::diagnostics::Warning;
use crate::urls::page_url;

/// One resolved navigation item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum NavItem {
    /// A page of the site.
    Page {
        /// Shown title.
        title: String,
        /// The page's built URL.
        url: String,
        /// The Markdown file, relative to `docs_dir`.
        path: String,
    },
    /// A link elsewhere.
    Link {
        /// Shown title.
        title: String,
        /// Target URL.
        url: String,
    },
    /// A group.
    Section {
        /// Shown title.
        title: String,
        /// Its items.
        children: Vec<NavItem>,
    },
}

/// Builds the navigation; `titles` are the pages' own titles (front matter or first `#`).
pub fn build_nav(
    config: &MkdocsConfig,
    pages: &[String],
    titles: &HashMap<String, String>,
    warnings: &mut Vec<Warning>,
) -> Vec<NavItem> {
    let title_of = |path: &str| {
        titles
            .get(path)
            .cloned()
            .unwrap_or_else(|| title_from_file_name(path))
    };
    match &config.nav {
        Some(entries) => from_config(entries, config, pages, &title_of, warnings),
        None => from_folders(pages, &title_of),
    }
}

fn from_config(
    entries: &[NavEntry],
    config: &MkdocsConfig,
    pages: &[String],
    title_of: &dyn Fn(&str) -> String,
    warnings: &mut Vec<Warning>,
) -> Vec<NavItem> {
    let mut items = Vec::new();
    for entry in entries {
        match entry {
            NavEntry::Page { title, path, line } => {
                let normalized = crate::urls::resolve("", path).unwrap_or_default();
                if pages.contains(&normalized) {
                    items.push(NavItem::Page {
                        title: title.clone().unwrap_or_else(|| title_of(&normalized)),
                        url: page_url(&normalized),
                        path: normalized,
                    });
                } else {
                    warnings.push(Warning::at(
                        &config.file,
                        Some(*line),
                        format!(
                            "nav target {path} is not a Markdown page in {}/; it is left out of the navigation",
                            config.docs_dir
                        ),
                    ));
                }
            }
            NavEntry::Link { title, url } => items.push(NavItem::Link {
                title: title.clone(),
                url: url.clone(),
            }),
            NavEntry::Section { title, children } => items.push(NavItem::Section {
                title: title.clone(),
                children: from_config(children, config, pages, title_of, warnings),
            }),
        }
    }
    items
}

#[derive(Default)]
struct Folder {
    index: Option<String>,
    files: BTreeMap<String, String>,
    folders: BTreeMap<String, Folder>,
}

fn from_folders(pages: &[String], title_of: &dyn Fn(&str) -> String) -> Vec<NavItem> {
    let mut root = Folder::default();
    for page in pages {
        let mut folder = &mut root;
        let mut parts: Vec<&str> = page.split('/').collect();
        let Some(name) = parts.pop() else { continue };
        for part in parts {
            folder = folder.folders.entry(part.to_owned()).or_default();
        }
        if name == "index.md" || (name.eq_ignore_ascii_case("readme.md") && folder.index.is_none())
        {
            folder.index = Some(page.clone());
        } else {
            folder.files.insert(name.to_owned(), page.clone());
        }
    }
    folder_items(&root, title_of)
}

fn folder_items(folder: &Folder, title_of: &dyn Fn(&str) -> String) -> Vec<NavItem> {
    let mut items = Vec::new();
    let page = |path: &String| NavItem::Page {
        title: title_of(path),
        url: page_url(path),
        path: path.clone(),
    };
    if let Some(index) = &folder.index {
        items.push(page(index));
    }
    // Files and folders interleaved by name, as mkdocs sorts them.
    let mut named: Vec<(&String, Option<&String>, Option<&Folder>)> = folder
        .files
        .iter()
        .map(|(name, path)| (name, Some(path), None))
        .chain(
            folder
                .folders
                .iter()
                .map(|(name, sub)| (name, None, Some(sub))),
        )
        .collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    for (name, file, sub) in named {
        if let Some(path) = file {
            items.push(page(path));
        }
        if let Some(sub) = sub {
            items.push(NavItem::Section {
                title: title_from_file_name(name),
                children: folder_items(sub, title_of),
            });
        }
    }
    items
}

/// `getting-started.md` → `Getting started`.
pub fn title_from_file_name(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.strip_suffix(".md").unwrap_or(name);
    let spaced = stem.replace(['-', '_'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The pages in navigation order (for previous/next links).
pub fn page_order(items: &[NavItem]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<std::slice::Iter<'_, NavItem>> = vec![items.iter()];
    while let Some(iter) = stack.last_mut() {
        match iter.next() {
            Some(NavItem::Page { title, url, path }) => {
                out.push((path.clone(), url.clone(), title.clone()))
            }
            Some(NavItem::Section { children, .. }) => stack.push(children.iter()),
            Some(NavItem::Link { .. }) => {}
            None => {
                stack.pop();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_order_puts_index_first_and_folders_as_sections() {
        let pages: Vec<String> = ["b.md", "index.md", "a/x.md", "a/index.md", "c.md"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let config = MkdocsConfig::parse("mkdocs.yml", b"site_name: x\n").expect("config");
        let nav = build_nav(&config, &pages, &HashMap::new(), &mut Vec::new());
        let order: Vec<String> = page_order(&nav).into_iter().map(|(p, _, _)| p).collect();
        assert_eq!(order, ["index.md", "a/index.md", "a/x.md", "b.md", "c.md"]);
        assert!(matches!(&nav[1], NavItem::Section { title, .. } if title == "A"));
    }
}

//! `mkdocs.yml`: the settings Portico's builder uses (site name and description, `docs_dir`,
//! `repo_url`/`edit_uri`, `nav`, `plugins`, `markdown_extensions`). Read with Portico's YAML
//! reader, which keeps line numbers for warnings and reads mkdocs' Python tags
//! (`!!python/name:…`) as plain strings instead of failing.

use std::path::{Path, PathBuf};

use portico_model::path::FieldPath;
use portico_model::source::SourceMap;
use portico_model::yaml::{YamlLimits, parse_documents};
use serde_json::Value;

use crate::diagnostics::{TechDocsError, Warning, io_error};

/// The config file names mkdocs accepts, in the order it looks for them.
pub const CONFIG_FILES: [&str; 2] = ["mkdocs.yml", "mkdocs.yaml"];

/// Plugins the builder implements (or that need nothing from it).
const SUPPORTED_PLUGINS: &[&str] = &["techdocs-core", "search"];

/// Markdown extensions the builder implements. techdocs-core turns on the common ones anyway;
/// listing them again is fine.
const SUPPORTED_EXTENSIONS: &[&str] = &[
    "admonition",
    "codehilite",
    "def_list",
    "extra",
    "fenced_code",
    "footnotes",
    "markdown.extensions.admonition",
    "markdown.extensions.toc",
    "markdown.extensions.tables",
    "markdown.extensions.footnotes",
    "markdown.extensions.fenced_code",
    "meta",
    "pymdownx.betterem",
    "pymdownx.caret",
    "pymdownx.details",
    "pymdownx.emoji",
    "pymdownx.highlight",
    "pymdownx.inlinehilite",
    "pymdownx.magiclink",
    "pymdownx.mark",
    "pymdownx.snippets",
    "pymdownx.superfences",
    "pymdownx.tabbed",
    "pymdownx.tasklist",
    "pymdownx.tilde",
    "sane_lists",
    "tables",
    "toc",
];

/// One entry of `nav`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NavEntry {
    /// A page of the site: `path` is relative to `docs_dir`, as written.
    Page {
        /// The title given in `nav` (`- Title: page.md`), if any.
        title: Option<String>,
        /// The Markdown file, relative to `docs_dir`.
        path: String,
        /// Line in `mkdocs.yml`.
        line: usize,
    },
    /// A link out of the site (`- Title: https://…`).
    Link {
        /// The link text.
        title: String,
        /// The URL.
        url: String,
    },
    /// A titled group of entries.
    Section {
        /// The section title.
        title: String,
        /// Its entries.
        children: Vec<NavEntry>,
    },
}

/// The parts of `mkdocs.yml` the builder uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkdocsConfig {
    /// The config file's name relative to the site root (`mkdocs.yml`).
    pub file: String,
    /// `site_name` (required by mkdocs).
    pub site_name: String,
    /// `site_description`.
    pub site_description: Option<String>,
    /// `docs_dir`, relative to the site root (default `docs`).
    pub docs_dir: String,
    /// `repo_url`.
    pub repo_url: Option<String>,
    /// `edit_uri` (relative to `repo_url`, or absolute).
    pub edit_uri: Option<String>,
    /// `nav`, when given; without it pages are listed in folder order.
    pub nav: Option<Vec<NavEntry>>,
    /// Folders (relative to the site root) that `pymdownx.snippets` includes are read from.
    pub snippet_base_paths: Vec<String>,
    /// Problems found in the config that do not stop the build.
    pub warnings: Vec<Warning>,
}

impl MkdocsConfig {
    /// Finds and reads the config file in `site_root`.
    pub fn load(site_root: &Path) -> Result<(Self, Vec<u8>), TechDocsError> {
        let Some((name, path)) = CONFIG_FILES
            .iter()
            .map(|name| (*name, site_root.join(name)))
            .find(|(_, path)| path.is_file())
        else {
            return Err(TechDocsError::NoConfig(site_root.to_path_buf()));
        };
        let bytes = std::fs::read(&path).map_err(io_error("reading", &path))?;
        let config = Self::parse(name, &bytes)?;
        Ok((config, bytes))
    }

    /// Reads a config file's content; `file` names it in messages.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self, TechDocsError> {
        let bad = |line: usize, message: String| TechDocsError::BadConfig {
            file: file.to_owned(),
            line,
            message,
        };
        let text =
            std::str::from_utf8(bytes).map_err(|err| bad(1, format!("not UTF-8 text ({err})")))?;
        let document = match parse_documents(text, &YamlLimits::default())
            .into_iter()
            .next()
        {
            Some(Ok(document)) => document,
            Some(Err(err)) => {
                let position = err.position();
                return Err(bad(position.line as usize, err.to_string()));
            }
            None => {
                return Err(bad(
                    1,
                    "the file is empty; it needs at least `site_name`".into(),
                ));
            }
        };
        let Value::Object(root) = &document.value else {
            return Err(bad(
                1,
                "expected a mapping of settings (`site_name: …`)".into(),
            ));
        };
        let map = &document.source_map;
        let line_of = |path: &FieldPath| map.locate(path).line as usize;
        let string = |key: &str| -> Result<Option<String>, TechDocsError> {
            match root.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(bad(
                    line_of(&FieldPath::root().key(key)),
                    format!("`{key}` must be a string"),
                )),
            }
        };
        let site_name = string("site_name")?.ok_or_else(|| {
            bad(
                1,
                "`site_name` is missing; mkdocs requires it (e.g. `site_name: My service`)".into(),
            )
        })?;
        let mut warnings = Vec::new();
        let nav = match root.get("nav") {
            None | Some(Value::Null) => None,
            Some(value) => Some(parse_nav(
                value,
                &FieldPath::root().key("nav"),
                map,
                file,
                &mut warnings,
            )),
        };
        let docs_dir = string("docs_dir")?.unwrap_or_else(|| "docs".to_owned());
        check_relative(&docs_dir).map_err(|why| {
            bad(
                line_of(&FieldPath::root().key("docs_dir")),
                format!("docs_dir {docs_dir:?} refused: {why}"),
            )
        })?;
        let mut snippet_base_paths = vec![".".to_owned()];
        for (name, _, path) in named_items(root.get("plugins"), &FieldPath::root().key("plugins")) {
            if !SUPPORTED_PLUGINS.contains(&name.as_str()) {
                warnings.push(Warning::at(
                    file,
                    Some(line_of(&path)),
                    format!("plugin `{name}` is not supported by Portico's TechDocs builder; it is ignored"),
                ));
            }
        }
        for (name, options, path) in named_items(
            root.get("markdown_extensions"),
            &FieldPath::root().key("markdown_extensions"),
        ) {
            if !SUPPORTED_EXTENSIONS.contains(&name.as_str()) {
                warnings.push(Warning::at(
                    file,
                    Some(line_of(&path)),
                    format!("markdown extension `{name}` is not supported by Portico's TechDocs builder; it is ignored"),
                ));
            }
            if name == "pymdownx.snippets"
                && let Some(base) = options.and_then(|o| o.get("base_path"))
            {
                snippet_base_paths = match base {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(items) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                    _ => snippet_base_paths,
                };
            }
        }
        snippet_base_paths.retain(|base| match check_relative(base) {
            Ok(()) => true,
            Err(why) => {
                warnings.push(Warning::at(
                    file,
                    None,
                    format!("snippets base_path {base:?} refused: {why}"),
                ));
                false
            }
        });
        Ok(Self {
            file: file.to_owned(),
            site_name,
            site_description: string("site_description")?,
            docs_dir,
            repo_url: string("repo_url")?,
            edit_uri: string("edit_uri")?,
            nav,
            snippet_base_paths,
            warnings,
        })
    }

    /// The docs folder on disk.
    pub fn docs_path(&self, site_root: &Path) -> PathBuf {
        site_root.join(&self.docs_dir)
    }

    /// The "edit this page" URL of a page (path relative to `docs_dir`), when `repo_url` is set.
    pub fn edit_url(&self, page: &str) -> Option<String> {
        let repo = self.repo_url.as_deref()?;
        let edit_uri = match &self.edit_uri {
            Some(uri) if uri.is_empty() => return None,
            Some(uri) => uri.clone(),
            // mkdocs' defaults for the two big forges.
            None if repo.contains("github.com") => "edit/master/docs/".to_owned(),
            None if repo.contains("gitlab.com") => "-/edit/master/docs/".to_owned(),
            None => return None,
        };
        if edit_uri.contains("://") {
            return Some(format!("{}/{page}", edit_uri.trim_end_matches('/')));
        }
        Some(format!(
            "{}/{}/{page}",
            repo.trim_end_matches('/'),
            edit_uri.trim_matches('/')
        ))
    }
}

/// `plugins`/`markdown_extensions` come as a list of names or `{name: options}` maps, or as
/// one map of name → options.
fn named_items<'v>(
    value: Option<&'v Value>,
    path: &FieldPath,
) -> Vec<(String, Option<&'v Value>, FieldPath)> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| {
                let item_path = path.index(index);
                match item {
                    Value::String(name) => Some((name.clone(), None, item_path)),
                    Value::Object(map) => map
                        .iter()
                        .next()
                        .map(|(name, options)| (name.clone(), Some(options), item_path.key(name))),
                    _ => None,
                }
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, options)| (name.clone(), Some(options), path.key(name)))
            .collect(),
        _ => Vec::new(),
    }
}

fn parse_nav(
    value: &Value,
    path: &FieldPath,
    map: &SourceMap,
    file: &str,
    warnings: &mut Vec<Warning>,
) -> Vec<NavEntry> {
    let line_of = |path: &FieldPath| map.locate(path).line as usize;
    let Value::Array(items) = value else {
        warnings.push(Warning::at(
            file,
            Some(line_of(path)),
            "`nav` must be a list; it is ignored",
        ));
        return Vec::new();
    };
    let mut entries = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_path = path.index(index);
        let (title, target, target_path) = match item {
            Value::String(target) => (None, Value::String(target.clone()), item_path.clone()),
            Value::Object(object) if object.len() == 1 => {
                let Some((title, target)) = object.iter().next() else {
                    continue;
                };
                (Some(title.clone()), target.clone(), item_path.key(title))
            }
            _ => {
                warnings.push(Warning::at(
                    file,
                    Some(line_of(&item_path)),
                    "a nav entry must be `page.md`, `Title: page.md`, `Title: https://…` or `Title: [entries]`; it is ignored",
                ));
                continue;
            }
        };
        let line = line_of(&target_path);
        match target {
            Value::Array(_) => entries.push(NavEntry::Section {
                title: title.unwrap_or_default(),
                children: parse_nav(&target, &target_path, map, file, warnings),
            }),
            Value::String(target) if is_external(&target) => entries.push(NavEntry::Link {
                title: title.unwrap_or_else(|| target.clone()),
                url: target,
            }),
            Value::String(target) => match check_relative(&target) {
                Ok(()) => entries.push(NavEntry::Page {
                    title,
                    path: target,
                    line,
                }),
                Err(why) => warnings.push(Warning::at(
                    file,
                    Some(line),
                    format!("nav target {target:?} refused: {why}"),
                )),
            },
            _ => warnings.push(Warning::at(
                file,
                Some(line),
                "a nav target must be a path, a URL or a list of entries; it is ignored",
            )),
        }
    }
    entries
}

/// An absolute URL (`https://…`, `mailto:…`) or protocol-relative `//host`.
pub fn is_external(target: &str) -> bool {
    target.starts_with("//")
        || target.split_once(':').is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
                && scheme.len() > 1
        })
}

/// A path inside the site: relative, no `..` that climbs out, no backslashes or NULs.
pub fn check_relative(path: &str) -> Result<(), &'static str> {
    if path.starts_with('/') || path.starts_with('\\') || path.contains('\0') || path.contains('\\')
    {
        return Err("only relative paths inside the site are allowed");
    }
    if path.len() > 1 && path.as_bytes()[1] == b':' {
        return Err("only relative paths inside the site are allowed");
    }
    let mut depth: usize = 0;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth = depth
                    .checked_sub(1)
                    .ok_or("the path climbs out of its folder with `..`")?;
            }
            _ => depth += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nav_plugins_and_python_tags() {
        let yaml = "site_name: Demo\nnav:\n  - index.md\n  - Guide:\n      - Start: guide/start.md\n      - Upstream: https://example.com\n  - Bad: ../../etc/passwd.md\nplugins:\n  - techdocs-core\n  - macros\nmarkdown_extensions:\n  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions.emoji.twemoji\n  - smarty\n";
        let config = MkdocsConfig::parse("mkdocs.yml", yaml.as_bytes()).expect("config");
        assert_eq!(config.site_name, "Demo");
        let nav = config.nav.expect("nav");
        assert_eq!(nav.len(), 2, "{nav:?}");
        assert!(
            matches!(&nav[1], NavEntry::Section { title, children } if title == "Guide" && children.len() == 2)
        );
        let messages: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("mkdocs.yml:7:") && m.contains("refused")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("plugin `macros`")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("`smarty`")),
            "{messages:?}"
        );
        assert!(
            !messages.iter().any(|m| m.contains("emoji")),
            "{messages:?}"
        );
    }

    #[test]
    fn relative_paths_only() {
        assert!(check_relative("a/../b.md").is_ok());
        assert!(check_relative("a/../../b.md").is_err());
        assert!(check_relative("/etc/passwd").is_err());
        assert!(check_relative("C:/x").is_err());
        assert!(is_external("https://x"));
        assert!(!is_external("page.md"));
    }

    #[test]
    fn missing_site_name_is_explained() {
        let err = MkdocsConfig::parse("mkdocs.yml", b"nav: []\n").expect_err("no site_name");
        assert!(err.to_string().contains("site_name"), "{err}");
    }
}

//! Build diagnostics: warnings with the file and line they come from, and the crate's error
//! type. A warning never stops a build unless the build is `strict`.

use std::fmt;
use std::path::PathBuf;

/// One problem found while building, pointing at the file (relative to the site's root, where
/// `mkdocs.yml` lives) and, when known, the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Warning {
    /// The file, relative to the site root, `/`-separated (e.g. `docs/guide.md`).
    pub file: String,
    /// 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl Warning {
    /// A warning at `file:line`.
    pub fn at(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Why a build could not produce a site.
#[derive(Debug, thiserror::Error)]
pub enum TechDocsError {
    /// No `mkdocs.yml` (or `mkdocs.yaml`) in the site directory.
    #[error(
        "no mkdocs.yml in {0}: a TechDocs site needs one (minimal: `site_name: My docs` and `plugins: [techdocs-core]`)"
    )]
    NoConfig(PathBuf),
    /// `mkdocs.yml` is not valid YAML or has a wrong shape.
    #[error("{file}:{line}: {message}")]
    BadConfig {
        /// The config file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// `docs_dir` does not exist or is not a folder.
    #[error(
        "docs_dir {0} does not exist or is not a folder (set docs_dir in mkdocs.yml or create docs/)"
    )]
    NoDocsDir(PathBuf),
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// `reading`, `writing`, …
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A strict build found warnings; nothing was written.
    #[error("strict mode: {} warning(s) make the build fail:\n{}", .0.len(), join_lines(.0))]
    Strict(Vec<Warning>),
}

fn join_lines(warnings: &[Warning]) -> String {
    warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Shorthand for IO errors with their path.
pub(crate) fn io_error(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> TechDocsError {
    let path = path.into();
    move |source| TechDocsError::Io {
        action,
        path,
        source,
    }
}

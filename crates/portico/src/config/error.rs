//! What the config loader reports: a [`ConfigError`] that stops loading, and [`ConfigWarning`]s
//! for keys it ignores. Both print as `file:line:col: key.path: message`, the format editors and
//! CI annotators understand (`docs/adr/0002-error-style.md`).

use std::fmt;
use std::path::{Path, PathBuf};

use portico_model::Position;

/// Why the configuration could not be loaded.
///
/// `file` is the path as given on the command line, or as an `$include`/`$file` directive names
/// it (joined to the including file's folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A config file cannot be read (missing, unreadable, a directory, larger than 10 MiB).
    Read {
        /// The file.
        file: PathBuf,
        /// What went wrong, e.g. `no such file`.
        reason: String,
    },
    /// A config file is not valid YAML (or JSON), or not UTF-8.
    Syntax {
        /// The file.
        file: PathBuf,
        /// Where the parser stopped.
        position: Position,
        /// The parser's description.
        message: String,
    },
    /// A value is wrong: a substitution or directive that cannot be resolved, a value of the
    /// wrong type or out of range, a missing required key.
    Invalid {
        /// The file the offending value was written in.
        file: PathBuf,
        /// Where in that file (the key of the value), when known.
        position: Option<Position>,
        /// The dotted key path in the merged configuration (`catalog.locations[0].target`);
        /// empty for the document as a whole.
        path: String,
        /// What was found and what is expected.
        message: String,
    },
}

// Only tests look inside an error; the binary prints it.
#[cfg(test)]
impl ConfigError {
    /// The file the problem is in.
    pub fn file(&self) -> &Path {
        match self {
            Self::Read { file, .. } | Self::Syntax { file, .. } | Self::Invalid { file, .. } => {
                file
            }
        }
    }

    /// Where in the file, when known.
    pub fn position(&self) -> Option<Position> {
        match self {
            Self::Read { .. } => None,
            Self::Syntax { position, .. } => Some(*position),
            Self::Invalid { position, .. } => *position,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { file, reason } => {
                write!(
                    f,
                    "{}: cannot read the config file: {reason}",
                    file.display()
                )
            }
            Self::Syntax {
                file,
                position,
                message,
            } => write!(f, "{}:{position}: {message}", file.display()),
            Self::Invalid {
                file,
                position,
                path,
                message,
            } => write_located(f, file, *position, path, message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A key the loader ignored, or a value it accepted but that probably does not do what was meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The file the key was written in.
    pub file: PathBuf,
    /// Where in that file, when known.
    pub position: Option<Position>,
    /// The dotted key path in the merged configuration.
    pub path: String,
    /// What is ignored and why, e.g. `unknown key "titel" (ignored); did you mean "title"?`.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_located(f, &self.file, self.position, &self.path, &self.message)
    }
}

fn write_located(
    f: &mut fmt::Formatter<'_>,
    file: &Path,
    position: Option<Position>,
    path: &str,
    message: &str,
) -> fmt::Result {
    write!(f, "{}", file.display())?;
    if let Some(position) = position {
        write!(f, ":{position}")?;
    }
    if path.is_empty() {
        write!(f, ": {message}")
    } else {
        write!(f, ": {path}: {message}")
    }
}

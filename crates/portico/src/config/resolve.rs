//! Resolving one config file's tree: `${VAR}` substitution on every string value and the
//! `$env`, `$file` and `$include` directives, with paths relative to the file that writes them.
//!
//! A directive is a mapping with one key starting with `$` (as in Backstage, any `$` key makes
//! the mapping a directive, so `$envv` is an error rather than a silently kept key). The
//! directive's argument is substituted first (`$file: ${SECRETS}/token`). `$file` yields the
//! file's text without trailing whitespace; `$env` the variable's value; neither is substituted
//! again. `$include: path[#dot.path]` yields the parsed `.yaml`, `.yml` or `.json` file (or the
//! value at `dot.path` inside it), which is resolved in turn relative to its own folder;
//! cycles are reported with the chain of files.
//!
//! A value that cannot be resolved (unset variable, unreadable file, bad directive) becomes
//! [`Value::Unresolved`] and is an error only if the typed configuration reads it: a Backstage
//! config may refer, in sections Portico ignores, to secrets that are not there. Crossing a
//! resource limit (depth, number of values or includes) stops loading at once.

use std::fs;
use std::path::{Path, PathBuf};

use portico_model::FieldPath;

use super::error::ConfigError;
use super::node::{
    Budget, MAX_DEPTH, MAX_INCLUDES, Node, Origin, Value, parse_file, quote, read_bytes,
};
use super::substitute::substitute;

/// Why a directive could not be resolved.
enum Failure {
    /// A resource limit was crossed: loading stops.
    Fatal(ConfigError),
    /// The value cannot be resolved: it becomes [`Value::Unresolved`], an error only if the
    /// typed configuration reads it.
    Deferred(ConfigError),
}

impl From<ConfigError> for Failure {
    fn from(err: ConfigError) -> Self {
        Self::Deferred(err)
    }
}

/// Resolves the trees of one load; shares the budget and the include chain.
pub(super) struct Resolver<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    budget: &'a mut Budget,
    /// Files being resolved, outermost first: canonical path (for cycle detection) and the
    /// path as shown in messages.
    chain: Vec<(PathBuf, PathBuf)>,
}

impl<'a> Resolver<'a> {
    pub(super) fn new(env: &'a dyn Fn(&str) -> Option<String>, budget: &'a mut Budget) -> Self {
        Self {
            env,
            budget,
            chain: Vec::new(),
        }
    }

    /// Resolves the tree read from the config file `file`.
    pub(super) fn resolve_file(&mut self, node: Node, file: &Path) -> Result<Node, ConfigError> {
        let canonical = fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        self.chain.push((canonical, file.to_path_buf()));
        let resolved = self.resolve(node, &folder_of(file), &FieldPath::root());
        self.chain.pop();
        resolved
    }

    /// Resolves `node`, found at `path` of the merged configuration, in a file in `dir`.
    /// Recursion is bounded: `path` may not grow deeper than [`MAX_DEPTH`].
    fn resolve(&mut self, node: Node, dir: &Path, path: &FieldPath) -> Result<Node, ConfigError> {
        if path.segments().len() > MAX_DEPTH {
            return Err(node.origin.error(
                path,
                format!("the configuration is nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let Node { value, origin } = node;
        let value = match value {
            Value::String(text) => match self.substitute(&text, &origin, path) {
                Ok(text) => Value::String(text),
                Err(err) => Value::Unresolved(Box::new(err)),
            },
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| self.resolve(item, dir, &path.index(i)))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(entries) if entries.iter().any(|(key, _)| key.starts_with('$')) => {
                return match self.directive(entries, origin.clone(), dir, path) {
                    Ok(node) => Ok(node),
                    Err(Failure::Fatal(err)) => Err(err),
                    Err(Failure::Deferred(err)) => Ok(Node {
                        value: Value::Unresolved(Box::new(err)),
                        origin,
                    }),
                };
            }
            Value::Object(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(key, item)| {
                        let item = self.resolve(item, dir, &path.key(&key))?;
                        Ok((key, item))
                    })
                    .collect::<Result<_, ConfigError>>()?,
            ),
            scalar @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::Unresolved(_)) => {
                scalar
            }
        };
        Ok(Node { value, origin })
    }

    fn substitute(
        &self,
        text: &str,
        origin: &Origin,
        path: &FieldPath,
    ) -> Result<String, ConfigError> {
        substitute(text, self.env).map_err(|err| origin.error(path, err.message()))
    }

    /// A mapping with a `$` key: exactly one key, a known directive, a string argument.
    fn directive(
        &mut self,
        entries: Vec<(String, Node)>,
        origin: Origin,
        dir: &Path,
        path: &FieldPath,
    ) -> Result<Node, Failure> {
        let keys: Vec<String> = entries.iter().map(|(key, _)| key.clone()).collect();
        let mut entries = entries.into_iter();
        let (key, argument) = match (entries.next(), entries.next()) {
            (Some(entry), None) => entry,
            _ => {
                let directive = keys
                    .iter()
                    .find(|k| k.starts_with('$'))
                    .map_or("$", String::as_str);
                let others: Vec<String> = keys
                    .iter()
                    .filter(|k| k.as_str() != directive)
                    .map(|k| quote(k))
                    .collect();
                return Err(Failure::Deferred(origin.error(
                    path,
                    format!(
                        "{directive} must be the only key of its mapping; found also {}",
                        others.join(", ")
                    ),
                )));
            }
        };
        if !matches!(key.as_str(), "$env" | "$file" | "$include") {
            return Err(Failure::Deferred(origin.error(
                path,
                format!(
                    "unknown directive {}; expected $env, $file or $include",
                    quote(&key)
                ),
            )));
        }
        let Value::String(raw) = &argument.value else {
            return Err(Failure::Deferred(origin.error(
                path,
                format!("{key} expects a string, found {}", argument.describe()),
            )));
        };
        let text = self.substitute(raw, &argument.origin, path)?;
        match key.as_str() {
            "$env" => {
                let name = text.trim();
                match (self.env)(name) {
                    Some(value) => Ok(Node {
                        value: Value::String(value),
                        origin,
                    }),
                    None => Err(Failure::Deferred(origin.error(
                        path,
                        format!("environment variable {name} is not set ($env: {name})"),
                    ))),
                }
            }
            "$file" => {
                let target = tidy(dir.join(&text));
                let bytes = read_bytes(&target).map_err(|reason| {
                    origin.error(
                        path,
                        format!("cannot read {} ($file): {reason}", target.display()),
                    )
                })?;
                let content = String::from_utf8(bytes).map_err(|_| {
                    origin.error(
                        path,
                        format!("{} ($file) is not valid UTF-8", target.display()),
                    )
                })?;
                Ok(Node {
                    value: Value::String(content.trim_end().to_owned()),
                    origin,
                })
            }
            _ => self.include(&text, &origin, dir, path),
        }
    }

    /// `$include: file[#dot.path]`.
    fn include(
        &mut self,
        spec: &str,
        origin: &Origin,
        dir: &Path,
        path: &FieldPath,
    ) -> Result<Node, Failure> {
        let (file, selector) = match spec.split_once('#') {
            Some((file, selector)) => (file, selector),
            None => (spec, ""),
        };
        let extension = Path::new(file)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(extension.as_deref(), Some("yaml" | "yml" | "json")) {
            return Err(Failure::Deferred(origin.error(
                path,
                format!(
                    "$include needs a .yaml, .yml or .json file, found {}",
                    quote(file)
                ),
            )));
        }
        let target = tidy(dir.join(file));
        let cannot_read = |reason: String| {
            origin.error(
                path,
                format!("cannot read {} ($include): {reason}", target.display()),
            )
        };
        let canonical = fs::canonicalize(&target).map_err(|err| {
            cannot_read(match err.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_owned(),
                _ => err.to_string(),
            })
        })?;
        if let Some(start) = self.chain.iter().position(|(c, _)| *c == canonical) {
            let files: Vec<String> = self.chain[start..]
                .iter()
                .map(|(_, shown)| shown.display().to_string())
                .chain(std::iter::once(target.display().to_string()))
                .collect();
            return Err(Failure::Deferred(
                origin.error(path, format!("include cycle: {}", files.join(" → "))),
            ));
        }
        if !self.budget.take_include() {
            return Err(Failure::Fatal(origin.error(
                path,
                format!("more than {MAX_INCLUDES} $include directives in the configuration"),
            )));
        }
        let bytes = read_bytes(&target).map_err(cannot_read)?;
        let mut node = parse_file(&target, &bytes, self.budget).map_err(|err| {
            if self.budget.nodes_exhausted() {
                Failure::Fatal(err)
            } else {
                Failure::Deferred(err)
            }
        })?;
        let mut walked: Vec<&str> = Vec::new();
        for part in selector.split('.').filter(|part| !part.is_empty()) {
            let Value::Object(entries) = node.value else {
                let at = if walked.is_empty() {
                    "the top".to_owned()
                } else {
                    quote(&walked.join("."))
                };
                return Err(Failure::Deferred(origin.error(
                    path,
                    format!(
                        "the value at {at} in {} is not a mapping, so it has no {}",
                        target.display(),
                        quote(part)
                    ),
                )));
            };
            walked.push(part);
            node = entries
                .into_iter()
                .find(|(key, _)| key == part)
                .map(|(_, value)| value)
                .ok_or_else(|| {
                    origin.error(
                        path,
                        format!(
                            "{} has no value at {}",
                            target.display(),
                            quote(&walked.join("."))
                        ),
                    )
                })?;
        }
        self.chain.push((canonical, target.clone()));
        let resolved = self
            .resolve(node, &folder_of(&target), path)
            .map_err(Failure::Fatal);
        self.chain.pop();
        resolved
    }
}

/// The folder relative paths in `file` resolve against (empty: the working directory).
pub(super) fn folder_of(file: &Path) -> PathBuf {
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Drops `.` components (`conf/./db.yaml` → `conf/db.yaml`) so messages show tidy paths.
fn tidy(path: PathBuf) -> PathBuf {
    path.components().collect()
}

//! The configuration tree before it is typed: every value keeps the file and the place in that
//! file it came from, so that errors found after merging and substitution still point at the
//! line that wrote the value. Also reading one config file into such a tree, and merging the
//! trees of several files the way Backstage does.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use portico_model::{FieldPath, Position, SourceMap, YamlLimits, decode_utf8, parse_documents};
use serde_json::Number;

use super::error::ConfigError;

/// Largest config file (or `$file`/`$include` target) read, as for descriptor files.
pub(super) const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Deepest key path allowed once includes are expanded (each file is limited to this too).
pub(super) const MAX_DEPTH: usize = 64;
/// Most nodes all config files and included files may hold together.
const MAX_NODES: usize = 1_000_000;
/// Most `$include` directives one load may expand (a file may be included several times).
pub(super) const MAX_INCLUDES: usize = 256;

/// A parsed file: its path for messages and the positions of its nodes.
#[derive(Debug)]
pub(super) struct Source {
    file: PathBuf,
    map: Option<SourceMap>,
}

/// Where a node was written: the file and the node's path inside that file's document.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    source: Rc<Source>,
    path: FieldPath,
}

impl Origin {
    /// The file the node was written in.
    pub(super) fn file(&self) -> &Path {
        &self.source.file
    }

    /// The line and column of the node's key (of the item, in a list).
    pub(super) fn position(&self) -> Option<Position> {
        self.source.map.as_ref().map(|map| map.locate(&self.path))
    }

    /// An error about this node, named by its `path` in the merged configuration.
    pub(super) fn error(&self, path: &FieldPath, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file().to_path_buf(),
            position: self.position(),
            path: path_text(path),
            message: message.into(),
        }
    }
}

/// A key path as shown in messages; the root is empty.
pub(super) fn path_text(path: &FieldPath) -> String {
    if path.is_root() {
        String::new()
    } else {
        path.to_string()
    }
}

/// One value of the configuration with its origin.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) value: Value,
    pub(super) origin: Origin,
}

/// A JSON-like value whose children are [`Node`]s. Object entries keep document order.
#[derive(Debug, Clone)]
pub(super) enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
    /// A value whose substitution or directive failed. It is an error only when the typed
    /// configuration reads it, so that a Backstage section Portico ignores (`auth`, …) may
    /// refer to variables and files that are not there.
    Unresolved(Box<ConfigError>),
}

impl Node {
    /// The value under `key` when this is a mapping; `null` counts as absent.
    pub(super) fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Object(entries) => entries
                .iter()
                .find(|(k, v)| k == key && !matches!(v.value, Value::Null))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// How the value reads in a "found …" message: strings quoted (and shortened), collections
    /// by their kind.
    pub(super) fn describe(&self) -> String {
        match &self.value {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => quote(s),
            Value::Array(_) => "a list".to_owned(),
            Value::Object(_) => "a mapping".to_owned(),
            Value::Unresolved(_) => "an unresolved value".to_owned(),
        }
    }
}

/// A string in double quotes, shortened to 80 characters.
pub(super) fn quote(s: &str) -> String {
    const LIMIT: usize = 80;
    if s.chars().count() <= LIMIT {
        serde_json::Value::from(s).to_string()
    } else {
        let short: String = s.chars().take(LIMIT).collect();
        format!("{}…", serde_json::Value::from(short))
    }
}

/// What one load may still read: nodes and includes, so that includes that fan out cannot
/// expand without bound.
#[derive(Debug)]
pub(super) struct Budget {
    nodes_left: usize,
    includes_left: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            nodes_left: MAX_NODES,
            includes_left: MAX_INCLUDES,
        }
    }
}

impl Budget {
    /// Whether the node budget ran out (an error then stops loading).
    pub(super) fn nodes_exhausted(&self) -> bool {
        self.nodes_left == 0
    }

    /// Takes one include from the budget; `false` when none is left.
    pub(super) fn take_include(&mut self) -> bool {
        match self.includes_left.checked_sub(1) {
            Some(left) => {
                self.includes_left = left;
                true
            }
            None => false,
        }
    }
}

/// Reads a file of at most [`MAX_FILE_BYTES`]. The error is a reason to print after the name.
pub(super) fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    let file = File::open(path).map_err(describe_io)?;
    if file.metadata().map_err(describe_io)?.is_dir() {
        return Err("it is a directory".to_owned());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(describe_io)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_FILE_BYTES {
        return Err("it is larger than 10 MiB".to_owned());
    }
    Ok(bytes)
}

fn describe_io(err: io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}

/// Parses the content of one YAML or JSON file into a tree. An empty file is `null`; a file
/// with several YAML documents is refused (Backstage refuses it too).
pub(super) fn parse_file(
    path: &Path,
    bytes: &[u8],
    budget: &mut Budget,
) -> Result<Node, ConfigError> {
    let syntax = |err: portico_model::YamlError| ConfigError::Syntax {
        file: path.to_path_buf(),
        position: err.position(),
        message: err.to_string(),
    };
    let text = decode_utf8(bytes).map_err(syntax)?;
    let mut documents = Vec::new();
    for document in parse_documents(text, &YamlLimits::default()) {
        documents.push(document.map_err(syntax)?);
    }
    let mut documents = documents.into_iter();
    let Some(document) = documents.next() else {
        let source = Rc::new(Source {
            file: path.to_path_buf(),
            map: None,
        });
        return Ok(Node {
            value: Value::Null,
            origin: Origin {
                source,
                path: FieldPath::root(),
            },
        });
    };
    if let Some(second) = documents.next() {
        return Err(ConfigError::Invalid {
            file: path.to_path_buf(),
            position: Some(second.source_map.document_position()),
            path: String::new(),
            message: "a config file holds one YAML document; this is a second one".to_owned(),
        });
    }
    let source = Rc::new(Source {
        file: path.to_path_buf(),
        map: Some(document.source_map),
    });
    from_json(document.value, &source, FieldPath::root(), budget).map_err(|TooLarge| {
        ConfigError::Invalid {
            file: path.to_path_buf(),
            position: None,
            path: String::new(),
            message: format!(
                "the configuration (with its included files) holds more than {MAX_NODES} values"
            ),
        }
    })
}

/// The node budget ran out.
struct TooLarge;

/// Converts a parsed document into a tree. Recursion is bounded by the YAML reader's nesting
/// limit.
fn from_json(
    value: serde_json::Value,
    source: &Rc<Source>,
    path: FieldPath,
    budget: &mut Budget,
) -> Result<Node, TooLarge> {
    budget.nodes_left = budget.nodes_left.checked_sub(1).ok_or(TooLarge)?;
    let value = match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Number(n),
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| from_json(item, source, path.index(i), budget))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(key, item)| {
                    let child = from_json(item, source, path.key(&key), budget)?;
                    Ok((key, child))
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(Node {
        value,
        origin: Origin {
            source: Rc::clone(source),
            path,
        },
    })
}

/// Merges `over` (a later file) onto `base`: mappings merge key by key, anything else in
/// `over` — lists, scalars and `null` — replaces what `base` had. Recursion is bounded by
/// [`MAX_DEPTH`], which the resolver enforces.
pub(super) fn merge(base: Node, over: Node) -> Node {
    match (base.value, over.value) {
        (Value::Object(mut entries), Value::Object(over_entries)) => {
            let mut index: HashMap<String, usize> = entries
                .iter()
                .enumerate()
                .map(|(i, (key, _))| (key.clone(), i))
                .collect();
            for (key, value) in over_entries {
                match index.get(&key).and_then(|&i| entries.get_mut(i)) {
                    Some(slot) => {
                        let placeholder = Node {
                            value: Value::Null,
                            origin: value.origin.clone(),
                        };
                        let old = std::mem::replace(&mut slot.1, placeholder);
                        slot.1 = merge(old, value);
                    }
                    None => {
                        index.insert(key.clone(), entries.len());
                        entries.push((key, value));
                    }
                }
            }
            Node {
                value: Value::Object(entries),
                origin: over.origin,
            }
        }
        (_, value) => Node {
            value,
            origin: over.origin,
        },
    }
}

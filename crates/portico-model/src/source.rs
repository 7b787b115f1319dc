//! Source positions: where in a descriptor file a value came from.
//!
//! Validation works on plain JSON values (entities also arrive over HTTP, where there is no file),
//! and reports problems by [`FieldPath`]. When the entity was read from YAML, a [`SourceMap`]
//! built alongside the value turns that path back into a line and column.

use std::fmt;

use crate::path::{FieldPath, PathSegment};

/// A 1-based line and column in a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column number in characters, starting at 1.
    pub column: u32,
}

impl Position {
    /// A position from 1-based line and column.
    pub fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Positions of every node of one parsed document, shaped like the document itself.
///
/// Mapping entries are stored in document order, which is also the order of the keys in the
/// JSON object built from the same document (the workspace enables `serde_json/preserve_order`).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceMap {
    root: SourceNode,
}

/// The position of one node and, for collections, of its children.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceNode {
    pub(crate) position: Position,
    pub(crate) children: SourceChildren,
}

/// Children of a [`SourceNode`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SourceChildren {
    Scalar,
    /// Entries in document order: the key's text and position, then the value's node.
    Mapping(Vec<(String, Position, SourceNode)>),
    Sequence(Vec<SourceNode>),
}

impl SourceMap {
    pub(crate) fn new(root: SourceNode) -> Self {
        Self { root }
    }

    /// Where the document starts.
    pub fn document_position(&self) -> Position {
        self.root.position
    }

    /// The best position for a problem at `path`: the key of the deepest mapping entry on the
    /// path that exists in the source (a missing field is reported at its parent), or the
    /// element of a sequence.
    pub fn locate(&self, path: &FieldPath) -> Position {
        let mut node = &self.root;
        let mut best = node.position;
        for segment in path.segments() {
            match (segment, &node.children) {
                (PathSegment::Key(key), SourceChildren::Mapping(entries)) => {
                    match entries.iter().find(|(k, _, _)| k == key) {
                        Some((_, key_position, child)) => {
                            best = *key_position;
                            node = child;
                        }
                        None => return best,
                    }
                }
                (PathSegment::Index(index), SourceChildren::Sequence(items)) => {
                    match items.get(*index) {
                        Some(child) => {
                            best = child.position;
                            node = child;
                        }
                        None => return best,
                    }
                }
                _ => return best,
            }
        }
        best
    }

    /// The position of the value (not the key) at `path`, if that exact node exists.
    pub fn value_position(&self, path: &FieldPath) -> Option<Position> {
        let mut node = &self.root;
        for segment in path.segments() {
            node = match (segment, &node.children) {
                (PathSegment::Key(key), SourceChildren::Mapping(entries)) => {
                    &entries.iter().find(|(k, _, _)| k == key)?.2
                }
                (PathSegment::Index(index), SourceChildren::Sequence(items)) => {
                    items.get(*index)?
                }
                _ => return None,
            };
        }
        Some(node.position)
    }
}

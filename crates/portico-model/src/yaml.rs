//! Reading catalog descriptor YAML into JSON values with source positions.
//!
//! Built on `saphyr-parser`'s event stream so that every node keeps its line and column, and so
//! that the rules Backstage applies hold (see `backstage.md` §15): YAML 1.2 core-schema scalars
//! (`yes`/`no`/dates stay strings), a duplicate key fails its document, merge keys (`<<`) are not
//! applied, a document that is not a mapping is the caller's business, empty documents are
//! skipped. Hostile input is bounded: nesting depth and the number of nodes a document may expand
//! to (alias bombs) are limited, and nothing recurses on the input's shape.
//!
//! Documents are split at `---` / `...` lines before parsing (YAML forbids those markers at the
//! start of a line inside content), so a syntax error in one document of a file does not stop the
//! others from being read.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};

use crate::source::{Position, SourceChildren, SourceMap, SourceNode};

/// Bounds on what one document may cost to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YamlLimits {
    /// Deepest allowed nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes one document may contain once aliases are expanded.
    pub max_nodes: usize,
}

impl Default for YamlLimits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_nodes: 1_000_000,
        }
    }
}

/// One successfully read YAML document.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlDocument {
    /// The document's content as JSON.
    pub value: Value,
    /// Where each node of `value` stands in the file.
    pub source_map: SourceMap,
}

/// Why a document (or a whole file) could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum YamlError {
    /// The text is not valid YAML.
    #[error("invalid YAML: {message}")]
    Syntax {
        /// The parser's description of the problem.
        message: String,
        /// Where the parser stopped.
        position: Position,
    },
    /// A mapping has the same key twice.
    #[error(
        "duplicate key \"{key}\" in a mapping (first defined at line {first_line}); each key may appear once"
    )]
    DuplicateKey {
        /// The repeated key.
        key: String,
        /// Where it is repeated.
        position: Position,
        /// Line of its first definition.
        first_line: u32,
    },
    /// Mappings and sequences are nested too deeply.
    #[error("nesting is deeper than {limit} levels")]
    TooDeep {
        /// The allowed depth.
        limit: usize,
        /// Where the limit was crossed.
        position: Position,
    },
    /// Aliases expand the document past the node limit.
    #[error("document expands to more than {limit} nodes (aliases referring to aliases?)")]
    TooManyNodes {
        /// The allowed number of nodes.
        limit: usize,
        /// Where the limit was crossed.
        position: Position,
    },
    /// A mapping key is itself a mapping or a sequence.
    #[error("a mapping key must be a plain value, not a mapping or a sequence")]
    ComplexKey {
        /// Where the key starts.
        position: Position,
    },
    /// A value tagged with a core-schema tag does not fit the tag.
    #[error("value \"{value}\" is not a valid !!{tag}")]
    BadTaggedValue {
        /// The tag's suffix (`int`, `bool`, …).
        tag: String,
        /// The scalar's text.
        value: String,
        /// Where the scalar is.
        position: Position,
    },
    /// The bytes are not UTF-8.
    #[error("file is not valid UTF-8; save it as UTF-8")]
    NotUtf8 {
        /// Where the first invalid byte is.
        position: Position,
    },
}

impl YamlError {
    /// Where in the file the problem is.
    pub fn position(&self) -> Position {
        match self {
            Self::Syntax { position, .. }
            | Self::DuplicateKey { position, .. }
            | Self::TooDeep { position, .. }
            | Self::TooManyNodes { position, .. }
            | Self::ComplexKey { position }
            | Self::BadTaggedValue { position, .. }
            | Self::NotUtf8 { position } => *position,
        }
    }
}

/// Decodes file content as UTF-8 (dropping a byte-order mark), reporting where it is not.
pub fn decode_utf8(bytes: &[u8]) -> Result<&str, YamlError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|err| {
        let valid = bytes.get(..err.valid_up_to()).unwrap_or_default();
        // The prefix is valid UTF-8 by construction of `valid_up_to`.
        let prefix = String::from_utf8_lossy(valid);
        let line = prefix.matches('\n').count() + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        YamlError::NotUtf8 {
            position: Position::new(to_u32(line), to_u32(column)),
        }
    })
}

/// Reads every document of a YAML stream. Empty documents are skipped; each remaining document
/// is read or fails on its own.
pub fn parse_documents(text: &str, limits: &YamlLimits) -> Vec<Result<YamlDocument, YamlError>> {
    split_documents(text)
        .into_iter()
        .filter_map(|chunk| parse_chunk(chunk.text, chunk.first_line, limits).transpose())
        .collect()
}

struct Chunk<'a> {
    text: &'a str,
    /// 0-based line at which `text` starts in the file.
    first_line: usize,
}

fn is_marker_line(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

fn is_directive_or_blank(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || l.starts_with('%')
    })
}

/// Cuts the stream before each `---` line and after each `...` line.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 0usize;
    let mut offset = 0usize;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        if is_marker_line(line, "---") && offset > start {
            let candidate = &text[start..offset];
            // Directives belong to the document that the `---` opens.
            if !candidate.lines().any(|l| l.starts_with('%')) || !is_directive_or_blank(candidate) {
                chunks.push(Chunk {
                    text: candidate,
                    first_line: start_line,
                });
                start = offset;
                start_line = line_no;
            }
        }
        offset += line.len();
        if is_marker_line(line, "...") {
            chunks.push(Chunk {
                text: &text[start..offset],
                first_line: start_line,
            });
            start = offset;
            start_line = line_no + 1;
        }
    }
    if start < text.len() {
        chunks.push(Chunk {
            text: &text[start..],
            first_line: start_line,
        });
    }
    chunks
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A node that has been read completely.
struct Built {
    value: Value,
    node: SourceNode,
    /// Nodes in this subtree, counting expanded aliases.
    count: usize,
    /// For scalars: the text as written, used when the node is a mapping key.
    key_text: Option<String>,
}

enum Frame {
    Mapping {
        position: Position,
        anchor: usize,
        value: Map<String, Value>,
        entries: Vec<(String, Position, SourceNode)>,
        pending_key: Option<(String, Position)>,
        count: usize,
    },
    Sequence {
        position: Position,
        anchor: usize,
        items: Vec<Value>,
        nodes: Vec<SourceNode>,
        count: usize,
    },
}

struct Builder<'l> {
    limits: &'l YamlLimits,
    first_line: usize,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, SourceNode, usize)>,
    total_nodes: usize,
    result: Option<Built>,
}

fn parse_chunk(
    text: &str,
    first_line: usize,
    limits: &YamlLimits,
) -> Result<Option<YamlDocument>, YamlError> {
    let mut builder = Builder {
        limits,
        first_line,
        stack: Vec::new(),
        anchors: HashMap::new(),
        total_nodes: 0,
        result: None,
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|err| builder.syntax_error(&err))?;
        builder.handle(event, span)?;
    }
    // An empty document (`---` followed by nothing) reads as null; like Backstage, skip it.
    Ok(builder
        .result
        .filter(|built| !built.value.is_null())
        .map(|built| YamlDocument {
            value: built.value,
            source_map: SourceMap::new(built.node),
        }))
}

impl Builder<'_> {
    fn position(&self, span: &Span) -> Position {
        Position::new(
            to_u32(span.start.line() + self.first_line),
            to_u32(span.start.col() + 1),
        )
    }

    fn syntax_error(&self, err: &ScanError) -> YamlError {
        let marker = err.marker();
        YamlError::Syntax {
            message: err.info().to_owned(),
            position: Position::new(
                to_u32(marker.line() + self.first_line),
                to_u32(marker.col() + 1),
            ),
        }
    }

    fn count_nodes(&mut self, n: usize, position: Position) -> Result<(), YamlError> {
        self.total_nodes = self.total_nodes.saturating_add(n);
        if self.total_nodes > self.limits.max_nodes {
            return Err(YamlError::TooManyNodes {
                limit: self.limits.max_nodes,
                position,
            });
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame, position: Position) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError::TooDeep {
                limit: self.limits.max_depth,
                position,
            });
        }
        self.count_nodes(1, position)?;
        self.stack.push(frame);
        Ok(())
    }

    fn handle(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let position = self.position(&span);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.count_nodes(1, position)?;
                let value = resolve_scalar(&text, style, tag.as_deref(), position)?;
                let built = Built {
                    value,
                    node: SourceNode {
                        position,
                        children: SourceChildren::Scalar,
                    },
                    count: 1,
                    key_text: Some(text.into_owned()),
                };
                self.remember(anchor, &built);
                self.attach(built)
            }
            Event::Alias(id) => {
                let (value, node, count) = match self.anchors.get(&id) {
                    Some((value, node, count)) => (value.clone(), node.clone(), *count),
                    None => {
                        return Err(YamlError::Syntax {
                            message: "alias refers to an unknown anchor".to_owned(),
                            position,
                        });
                    }
                };
                self.count_nodes(count, position)?;
                let key_text = value.as_str().map(str::to_owned);
                self.attach(Built {
                    value,
                    node,
                    count,
                    key_text,
                })
            }
            Event::MappingStart(anchor, _) => self.open(
                Frame::Mapping {
                    position,
                    anchor,
                    value: Map::new(),
                    entries: Vec::new(),
                    pending_key: None,
                    count: 1,
                },
                position,
            ),
            Event::SequenceStart(anchor, _) => self.open(
                Frame::Sequence {
                    position,
                    anchor,
                    items: Vec::new(),
                    nodes: Vec::new(),
                    count: 1,
                },
                position,
            ),
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let (built, anchor) = match frame {
                    Frame::Mapping {
                        position,
                        anchor,
                        value,
                        entries,
                        count,
                        ..
                    } => (
                        Built {
                            value: Value::Object(value),
                            node: SourceNode {
                                position,
                                children: SourceChildren::Mapping(entries),
                            },
                            count,
                            key_text: None,
                        },
                        anchor,
                    ),
                    Frame::Sequence {
                        position,
                        anchor,
                        items,
                        nodes,
                        count,
                    } => (
                        Built {
                            value: Value::Array(items),
                            node: SourceNode {
                                position,
                                children: SourceChildren::Sequence(nodes),
                            },
                            count,
                            key_text: None,
                        },
                        anchor,
                    ),
                };
                self.remember(anchor, &built);
                self.attach(built)
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => Ok(()),
        }
    }

    fn remember(&mut self, anchor: usize, built: &Built) {
        if anchor != 0 {
            self.anchors.insert(
                anchor,
                (built.value.clone(), built.node.clone(), built.count),
            );
        }
    }

    fn attach(&mut self, built: Built) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                // A second root in one chunk cannot happen after splitting; keep the first.
                if self.result.is_none() {
                    self.result = Some(built);
                }
                Ok(())
            }
            Some(Frame::Sequence {
                items,
                nodes,
                count,
                ..
            }) => {
                *count += built.count;
                items.push(built.value);
                nodes.push(built.node);
                Ok(())
            }
            Some(Frame::Mapping {
                value,
                entries,
                pending_key,
                count,
                ..
            }) => match pending_key.take() {
                None => {
                    let key_position = built.node.position;
                    let Some(key) = built.key_text else {
                        return Err(YamlError::ComplexKey {
                            position: key_position,
                        });
                    };
                    if value.contains_key(&key) {
                        let first_line = entries
                            .iter()
                            .find(|(k, _, _)| *k == key)
                            .map_or(0, |(_, p, _)| p.line);
                        return Err(YamlError::DuplicateKey {
                            key,
                            position: key_position,
                            first_line,
                        });
                    }
                    *pending_key = Some((key, key_position));
                    Ok(())
                }
                Some((key, key_position)) => {
                    *count += built.count;
                    value.insert(key.clone(), built.value);
                    entries.push((key, key_position, built.node));
                    Ok(())
                }
            },
        }
    }
}

/// Resolves a scalar by the YAML 1.2 core schema: only plain scalars can be anything but a string.
fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    position: Position,
) -> Result<Value, YamlError> {
    let core_tag = tag
        .filter(|t| t.handle == "tag:yaml.org,2002:" || t.handle == "!!")
        .map(|t| t.suffix.as_str());
    let bad = |tag: &str| YamlError::BadTaggedValue {
        tag: tag.to_owned(),
        value: text.to_owned(),
        position,
    };
    match core_tag {
        Some("str") => return Ok(Value::String(text.to_owned())),
        Some("null") => return resolve_null(text).ok_or_else(|| bad("null")),
        Some("bool") => return resolve_bool(text).ok_or_else(|| bad("bool")),
        Some("int") => return resolve_int(text).ok_or_else(|| bad("int")),
        Some("float") => {
            return resolve_int(text)
                .or_else(|| resolve_float(text))
                .ok_or_else(|| bad("float"));
        }
        _ => {}
    }
    if style != ScalarStyle::Plain || tag.is_some() {
        return Ok(Value::String(text.to_owned()));
    }
    Ok(resolve_null(text)
        .or_else(|| resolve_bool(text))
        .or_else(|| resolve_int(text))
        .or_else(|| resolve_float(text))
        .unwrap_or_else(|| Value::String(text.to_owned())))
}

fn resolve_null(text: &str) -> Option<Value> {
    matches!(text, "" | "~" | "null" | "Null" | "NULL").then_some(Value::Null)
}

fn resolve_bool(text: &str) -> Option<Value> {
    match text {
        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
        _ => None,
    }
}

fn resolve_int(text: &str) -> Option<Value> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = text.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = text.strip_prefix("0o") {
        (8, oct)
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    if radix != 10 && text.len() != digits.len() + 2 {
        return None; // no sign allowed before 0x / 0o in the core schema
    }
    let magnitude = u64::from_str_radix(digits, radix).ok();
    let number = match (negative, magnitude) {
        (false, Some(m)) => Number::from(m),
        (true, Some(m)) if m <= i64::MAX as u64 + 1 => Number::from(0i64.wrapping_sub_unsigned(m)),
        _ => Number::from_f64(text.parse::<f64>().ok()?)?,
    };
    Some(Value::Number(number))
}

fn resolve_float(text: &str) -> Option<Value> {
    let unsigned = text.trim_start_matches(['-', '+']);
    if matches!(
        unsigned,
        ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"
    ) {
        // JSON has no infinities or NaN; keep the text rather than invent a value.
        return Some(Value::String(text.to_owned()));
    }
    let bytes = unsigned.as_bytes();
    let has_digit = bytes.iter().any(u8::is_ascii_digit);
    let allowed = bytes
        .iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if !has_digit
        || !allowed
        || !bytes
            .first()
            .is_some_and(|b| b.is_ascii_digit() || *b == b'.')
    {
        return None;
    }
    let parsed: f64 = text.parse().ok()?;
    Number::from_f64(parsed).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::FieldPath;

    fn one(text: &str) -> Result<YamlDocument, YamlError> {
        let mut docs = parse_documents(text, &YamlLimits::default());
        assert_eq!(docs.len(), 1, "expected one document in {text:?}");
        docs.remove(0)
    }

    #[test]
    fn core_schema_scalars() {
        let doc =
            one("a: yes\nb: true\nc: 2024-01-01\nd: 12\ne: '12'\nf: 1.5\ng: ~\nh: 0x1F\ni: -3\n")
                .unwrap();
        assert_eq!(
            doc.value,
            serde_json::json!({"a": "yes", "b": true, "c": "2024-01-01", "d": 12, "e": "12",
                "f": 1.5, "g": null, "h": 31, "i": -3})
        );
    }

    #[test]
    fn positions_of_keys_and_items() {
        let doc = one("metadata:\n  name: x\nspec:\n  targets:\n    - a\n    - b\n").unwrap();
        let map = &doc.source_map;
        assert_eq!(
            map.locate(&FieldPath::dotted("metadata.name")),
            Position::new(2, 3)
        );
        assert_eq!(
            map.locate(&FieldPath::dotted("spec.targets").index(1)),
            Position::new(6, 7)
        );
        // A missing field is reported at the deepest existing key.
        assert_eq!(
            map.locate(&FieldPath::dotted("spec.owner")),
            Position::new(3, 1)
        );
    }

    #[test]
    fn duplicate_key_fails_only_its_document() {
        let docs = parse_documents(
            "a: 1\na: 2\n---\nb: 1\n---\n\n---\n# only a comment\n",
            &YamlLimits::default(),
        );
        assert_eq!(docs.len(), 2);
        assert!(matches!(
            &docs[0],
            Err(YamlError::DuplicateKey { key, position, first_line: 1 })
                if key == "a" && *position == Position::new(2, 1)
        ));
        assert_eq!(docs[1].as_ref().unwrap().value, serde_json::json!({"b": 1}));
    }

    #[test]
    fn syntax_error_in_one_document_keeps_the_rest() {
        let docs = parse_documents(
            "a: [1, 2\n---\nb: ok\n---\nc: \"unterminated\n",
            &YamlLimits::default(),
        );
        assert_eq!(docs.len(), 3);
        assert!(matches!(&docs[0], Err(YamlError::Syntax { .. })));
        assert_eq!(
            docs[1].as_ref().unwrap().value,
            serde_json::json!({"b": "ok"})
        );
        let Err(YamlError::Syntax { position, .. }) = &docs[2] else {
            panic!("expected a syntax error, got {:?}", docs[2]);
        };
        assert!(
            position.line >= 5,
            "line counts across documents: {position}"
        );
    }

    #[test]
    fn merge_keys_are_not_applied() {
        let doc = one("base: &b {x: 1}\nother:\n  <<: *b\n").unwrap();
        assert_eq!(
            doc.value,
            serde_json::json!({"base": {"x": 1}, "other": {"<<": {"x": 1}}})
        );
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert!(matches!(one(&text), Err(YamlError::TooManyNodes { .. })));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let text = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(one(&text).is_err());
        let mut block = String::new();
        for depth in 0..200 {
            block.push_str(&" ".repeat(depth));
            block.push_str("k:\n");
        }
        assert!(matches!(one(&block), Err(YamlError::TooDeep { .. })));
    }

    #[test]
    fn non_utf8_reports_position() {
        let err = decode_utf8(b"a: 1\nb: \xff\n").unwrap_err();
        assert_eq!(err.position(), Position::new(2, 4));
        assert_eq!(decode_utf8(b"\xEF\xBB\xBFa: 1").unwrap(), "a: 1");
    }

    #[test]
    fn complex_keys_are_rejected() {
        assert!(matches!(
            one("? [a, b]\n: 1\n"),
            Err(YamlError::ComplexKey { .. })
        ));
    }

    #[test]
    fn directives_stay_with_their_document() {
        let docs = parse_documents("%YAML 1.2\n---\na: 1\n", &YamlLimits::default());
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].as_ref().unwrap().value, serde_json::json!({"a": 1}));
    }
}

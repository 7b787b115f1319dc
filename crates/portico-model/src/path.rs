//! Field paths such as `spec.owner` or `metadata.links[1].url`, used to name the field a
//! validation problem is about.

use std::fmt;

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A key of an object.
    Key(String),
    /// An index into an array.
    Index(usize),
}

/// A path from the root of an entity to one of its fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldPath {
    segments: Vec<PathSegment>,
}

impl FieldPath {
    /// The root of the entity.
    pub fn root() -> Self {
        Self::default()
    }

    /// Parses a dotted path (`spec.owner`); no index syntax, keys may not contain dots.
    pub fn dotted(path: &str) -> Self {
        Self {
            segments: path
                .split('.')
                .filter(|s| !s.is_empty())
                .map(|s| PathSegment::Key(s.to_owned()))
                .collect(),
        }
    }

    /// A path from its steps.
    pub fn from_segments(segments: Vec<PathSegment>) -> Self {
        Self { segments }
    }

    /// This path extended by an object key.
    pub fn key(&self, key: &str) -> Self {
        let mut segments = self.segments.clone();
        segments.push(PathSegment::Key(key.to_owned()));
        Self { segments }
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.segments.clone();
        segments.push(PathSegment::Index(index));
        Self { segments }
    }

    /// The steps of the path, from the root.
    pub fn segments(&self) -> &[PathSegment] {
        &self.segments
    }

    /// Whether `self` equals `prefix` or lies below it.
    pub fn starts_with(&self, prefix: &FieldPath) -> bool {
        self.segments.starts_with(&prefix.segments)
    }

    /// Whether this is the root path.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-')
}

impl fmt::Display for FieldPath {
    /// Dotted form: `metadata.annotations["backstage.io/techdocs-ref"]`, `spec.targets[2]`;
    /// the root prints as `<root>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("<root>");
        }
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                PathSegment::Key(key) if is_plain_key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                PathSegment::Key(key) => write!(f, "[{}]", serde_json::Value::from(key.as_str()))?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_dotted_and_bracketed_forms() {
        let path = FieldPath::root()
            .key("metadata")
            .key("annotations")
            .key("backstage.io/techdocs-ref");
        assert_eq!(
            path.to_string(),
            r#"metadata.annotations["backstage.io/techdocs-ref"]"#
        );
        assert_eq!(
            FieldPath::dotted("spec.targets").index(2).to_string(),
            "spec.targets[2]"
        );
        assert_eq!(FieldPath::root().to_string(), "<root>");
    }
}

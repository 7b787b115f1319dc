//! Entity references: `[<kind>:][<namespace>/]<name>`.
//!
//! Parsing follows Backstage (`backstage.md` §1.3 and §15): the string is trimmed, split at the
//! first `:` (unless a `/` comes before it) and the first `/`; only empty parts are errors. A
//! missing kind comes from the referring field's default kind, a missing namespace from the
//! referring entity's namespace. A reference is kept in its canonical form, `kind:namespace/name`
//! in lower case (as Backstage's `stringifyEntityRef` prints it), so equality ignores case.

use std::fmt;
use std::hash::{Hash, Hasher};

/// The namespace of entities that do not name one.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A reference to an entity by kind, namespace and name, held in canonical (lower-case) form.
///
/// One string with two split points: references are created for every relation of every
/// entity, so they cost a single allocation.
#[derive(Debug, Clone)]
pub struct EntityRef {
    canonical: String,
    kind_end: usize,
    namespace_end: usize,
}

/// What to fill in when a reference leaves parts out.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefDefaults<'a> {
    /// The kind used when the reference has none; `None` makes a kind mandatory.
    pub kind: Option<&'a str>,
    /// The namespace used when the reference has none (`default` if `None`).
    pub namespace: Option<&'a str>,
}

/// Why a string is not an entity reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// Empty or with an empty part.
    #[error("entity reference \"{0}\" was not on the form [<kind>:][<namespace>/]<name>")]
    Malformed(String),
    /// No kind, and the field has no default kind.
    #[error(
        "entity reference \"{0}\" had missing or empty kind (e.g. did not start with \"component:\" or similar)"
    )]
    MissingKind(String),
}

impl EntityRef {
    /// A reference from its three parts (lower-cased).
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        let canonical = format!("{kind}:{namespace}/{name}").to_lowercase();
        // Lower-casing may change byte lengths (non-ASCII); find the split points again. The
        // kind has no ':' and the namespace no '/', so the first of each is the separator.
        let kind_end = canonical.find(':').unwrap_or(0);
        let namespace_end = canonical[kind_end..]
            .find('/')
            .map_or(canonical.len(), |i| kind_end + i);
        Self {
            canonical,
            kind_end,
            namespace_end,
        }
    }

    /// Parses a reference, filling missing parts from `defaults`.
    pub fn parse(text: &str, defaults: RefDefaults<'_>) -> Result<Self, RefError> {
        let trimmed = text.trim();
        let slash = trimmed.find('/');
        let colon = trimmed.find(':').filter(|c| slash.is_none_or(|s| *c < s));
        let kind = colon.map(|c| &trimmed[..c]);
        let after_kind = colon.map_or(0, |c| c + 1);
        let namespace = slash.map(|s| &trimmed[after_kind..s]);
        let name = &trimmed[slash.map_or(after_kind, |s| s + 1)..];
        if trimmed.is_empty()
            || kind.is_some_and(str::is_empty)
            || namespace.is_some_and(str::is_empty)
            || name.is_empty()
        {
            return Err(RefError::Malformed(text.to_owned()));
        }
        let kind = kind
            .or(defaults.kind)
            .ok_or_else(|| RefError::MissingKind(text.to_owned()))?;
        let namespace = namespace
            .or(defaults.namespace)
            .unwrap_or(DEFAULT_NAMESPACE);
        Ok(Self::new(kind, namespace, name))
    }

    /// The kind, lower case.
    pub fn kind(&self) -> &str {
        &self.canonical[..self.kind_end]
    }

    /// The namespace, lower case.
    pub fn namespace(&self) -> &str {
        self.canonical
            .get(self.kind_end + 1..self.namespace_end)
            .unwrap_or_default()
    }

    /// The name, lower case.
    pub fn name(&self) -> &str {
        self.canonical
            .get(self.namespace_end + 1..)
            .unwrap_or_default()
    }

    /// `kind:namespace/name`, lower case.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

impl PartialEq for EntityRef {
    fn eq(&self, other: &Self) -> bool {
        self.canonical == other.canonical
    }
}

impl Eq for EntityRef {}

impl Hash for EntityRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.canonical.hash(state);
    }
}

impl PartialOrd for EntityRef {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for EntityRef {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.canonical.cmp(&other.canonical)
    }
}

impl fmt::Display for EntityRef {
    /// The canonical form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, kind: Option<&str>, namespace: Option<&str>) -> Result<String, RefError> {
        EntityRef::parse(text, RefDefaults { kind, namespace }).map(|r| r.to_string())
    }

    #[test]
    fn fills_defaults_and_lowercases() {
        assert_eq!(
            parse("team-a", Some("Group"), None).unwrap(),
            "group:default/team-a"
        );
        assert_eq!(
            parse("user:guest", Some("Group"), Some("ops")).unwrap(),
            "user:ops/guest"
        );
        assert_eq!(
            parse(" Component:Prod/My-Svc ", None, None).unwrap(),
            "component:prod/my-svc"
        );
    }

    #[test]
    fn splits_at_first_colon_and_slash_only() {
        let r = EntityRef::parse("group:default:team-a", RefDefaults::default()).unwrap();
        assert_eq!(
            (r.kind(), r.namespace(), r.name()),
            ("group", "default", "default:team-a")
        );
        let r = EntityRef::parse("group:default/team/a", RefDefaults::default()).unwrap();
        assert_eq!(
            (r.kind(), r.namespace(), r.name()),
            ("group", "default", "team/a")
        );
        let r = EntityRef::parse(
            "ns/a:b",
            RefDefaults {
                kind: Some("Component"),
                namespace: None,
            },
        )
        .unwrap();
        assert_eq!(
            (r.kind(), r.namespace(), r.name()),
            ("component", "ns", "a:b")
        );
        assert!(
            EntityRef::parse(
                "team a",
                RefDefaults {
                    kind: Some("Group"),
                    namespace: None
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn rejects_empty_parts_and_missing_kind() {
        for bad in ["", "  ", "group:", ":x", "group:/x", "x/"] {
            assert!(
                matches!(parse(bad, Some("Group"), None), Err(RefError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse("x", None, None),
            Err(RefError::MissingKind(_))
        ));
    }

    #[test]
    fn equality_ignores_case() {
        assert_eq!(
            EntityRef::new("Component", "default", "Foo"),
            EntityRef::new("component", "DEFAULT", "foo")
        );
    }
}

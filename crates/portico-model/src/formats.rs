//! The string formats of the catalog: entity names, namespaces, kinds, API versions, label and
//! annotation keys, tags. Each rule matches Backstage's default field validators
//! (`backstage.md` §1.2, corrected by §15) and comes with the sentence that explains it.

/// What a valid `metadata.name` (and label value, and key suffix) looks like.
pub const OBJECT_NAME_EXPECTED: &str = "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total";
/// What a valid namespace looks like.
pub const DNS_LABEL_EXPECTED: &str =
    "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total";
/// What a valid tag looks like.
pub const TAG_EXPECTED: &str =
    "a string that is sequences of [a-z0-9:+#] separated by [-], at most 63 characters in total";
/// What a valid kind looks like.
pub const KIND_EXPECTED: &str =
    "a string that starts with a letter and has only [a-zA-Z0-9], at most 63 characters in total";
/// What a valid apiVersion looks like.
pub const API_VERSION_EXPECTED: &str =
    "a string of the form [<DNS subdomain>/]<version>, such as backstage.io/v1alpha1";
/// What a valid label or annotation key looks like.
pub const KEY_EXPECTED: &str = "a string of the form [<DNS subdomain>/]<name>, where the name is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters";

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `metadata.name`: 1–63 chars, `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`.
pub fn is_valid_object_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes.first().copied().is_some_and(is_alnum)
        && bytes.last().copied().is_some_and(is_alnum)
        && bytes
            .iter()
            .all(|&b| is_alnum(b) || matches!(b, b'-' | b'_' | b'.'))
}

/// A DNS label: 1–63 chars, `^[a-z0-9]+(-[a-z0-9]+)*$`. Used for namespaces.
pub fn is_valid_dns_label(value: &str) -> bool {
    is_dash_separated(value, |b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A tag: 1–63 chars of `[a-z0-9:+#]` in sequences separated by single dashes.
pub fn is_valid_tag(value: &str) -> bool {
    is_dash_separated(value, |b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'+' | b'#')
    })
}

fn is_dash_separated(value: &str, allowed: impl Fn(u8) -> bool) -> bool {
    (1..=63).contains(&value.len())
        && value
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(&allowed))
}

/// A DNS subdomain: at most 253 chars of dot-separated DNS labels.
pub fn is_valid_dns_subdomain(value: &str) -> bool {
    (1..=253).contains(&value.len()) && value.split('.').all(is_valid_dns_label)
}

/// `kind`: 1–63 chars, `^[a-zA-Z][a-z0-9A-Z]*$`.
pub fn is_valid_kind(value: &str) -> bool {
    let bytes = value.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes.iter().copied().all(is_alnum)
}

/// `apiVersion`: an optional DNS-subdomain prefix and `/`, then 1–63 of `[a-zA-Z0-9]`.
pub fn is_valid_api_version(value: &str) -> bool {
    is_valid_prefix_and_suffix(value, |suffix| {
        (1..=63).contains(&suffix.len()) && suffix.bytes().all(is_alnum)
    })
}

/// Label and annotation keys: an optional DNS-subdomain prefix and `/`, then an object name.
pub fn is_valid_key(value: &str) -> bool {
    is_valid_prefix_and_suffix(value, is_valid_object_name)
}

fn is_valid_prefix_and_suffix(value: &str, suffix_ok: impl Fn(&str) -> bool) -> bool {
    let mut parts = value.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(suffix), None, None) => suffix_ok(suffix),
        (Some(prefix), Some(suffix), None) => is_valid_dns_subdomain(prefix) && suffix_ok(suffix),
        _ => false,
    }
}

/// Label values: empty, or an object name.
pub fn is_valid_label_value(value: &str) -> bool {
    value.is_empty() || is_valid_object_name(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names() {
        for ok in [
            "a",
            "A1",
            "my-service",
            "my_service.v2",
            "a..b",
            "x".repeat(63).as_str(),
        ] {
            assert!(is_valid_object_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a b", "é", "a/b", "x".repeat(64).as_str()] {
            assert!(!is_valid_object_name(bad), "{bad}");
        }
    }

    #[test]
    fn tags_follow_backstage_1_55() {
        for ok in ["java", "lang:go", "c++", "c#", "tier-1"] {
            assert!(is_valid_tag(ok), "{ok}");
        }
        for bad in [
            "Java",
            "snake_case",
            "two words",
            "",
            "-a",
            "a--b",
            "x".repeat(64).as_str(),
        ] {
            assert!(!is_valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn keys_and_api_versions() {
        assert!(is_valid_key("backstage.io/techdocs-ref"));
        assert!(is_valid_key("simple"));
        assert!(!is_valid_key("Backstage.io/x"));
        assert!(!is_valid_key("a/b/c"));
        assert!(!is_valid_key("backstage.io/"));
        assert!(is_valid_api_version("backstage.io/v1alpha1"));
        assert!(is_valid_api_version("scaffolder.backstage.io/v1beta3"));
        assert!(!is_valid_api_version("backstage.io/v1-alpha"));
        assert!(is_valid_kind("AiResource"));
        assert!(!is_valid_kind("1Kind"));
    }
}

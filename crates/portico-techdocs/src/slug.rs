//! Heading slugs the way mkdocs' `toc` extension makes them (so links written for mkdocs keep
//! working): lower case, word characters, spaces and hyphens kept, runs of spaces/hyphens
//! become one `-`; repeated slugs on a page get `_1`, `_2`, ….

use std::collections::HashSet;

/// mkdocs' `slugify`: `"Getting Started!"` → `"getting-started"`.
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    let mut pending_dash = false;
    for ch in text.trim().chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() || ch == '_' {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(ch);
        } else if ch == ' ' || ch == '-' || ch.is_whitespace() {
            pending_dash = true;
        }
    }
    slug
}

/// Hands out unique slugs for one page.
#[derive(Debug, Default)]
pub struct SlugSet {
    used: HashSet<String>,
}

impl SlugSet {
    /// A unique slug for `text`.
    pub fn unique(&mut self, text: &str) -> String {
        let base = match slugify(text) {
            s if s.is_empty() => "section".to_owned(),
            s => s,
        };
        if self.used.insert(base.clone()) {
            return base;
        }
        let mut n = 1;
        loop {
            let candidate = format!("{base}_{n}");
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_like_mkdocs() {
        assert_eq!(slugify("Getting Started!"), "getting-started");
        assert_eq!(slugify("  A -- b  c "), "a-b-c");
        assert_eq!(slugify("Über C++ & Rust"), "über-c-rust");
        let mut set = SlugSet::default();
        assert_eq!(set.unique("Usage"), "usage");
        assert_eq!(set.unique("Usage"), "usage_1");
        assert_eq!(set.unique("!!!"), "section");
    }
}

//! Paths and URLs inside a built site: where a page lands (`guide.md` → `guide/`, mkdocs'
//! `use_directory_urls`), how a link in one page reaches another, and normalising relative
//! paths without ever leaving the docs folder.

/// The built URL (relative to the site root, `/`-separated, ending in `/` or empty for the
/// root) of a Markdown page given relative to `docs_dir`.
pub fn page_url(page: &str) -> String {
    let stem = page.strip_suffix(".md").unwrap_or(page);
    let (dir, name) = match stem.rsplit_once('/') {
        Some((dir, name)) => (Some(dir), name),
        None => (None, stem),
    };
    let is_index = name == "index" || name.eq_ignore_ascii_case("readme");
    match (dir, is_index) {
        (None, true) => String::new(),
        (None, false) => format!("{name}/"),
        (Some(dir), true) => format!("{dir}/"),
        (Some(dir), false) => format!("{dir}/{name}/"),
    }
}

/// The output file of a page URL.
pub fn page_file(url: &str) -> String {
    format!("{url}index.html")
}

/// The folder (relative to `docs_dir`, no trailing slash) a page's relative links start from.
pub fn source_dir(page: &str) -> &str {
    page.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Joins a relative `target` to `base_dir` and normalises `.`/`..`; `None` when it climbs
/// out of the docs folder.
pub fn resolve(base_dir: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    let start = if target.starts_with('/') {
        ""
    } else {
        base_dir
    };
    for part in start.split('/').chain(target.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The relative URL from the page at `from_url` (a folder URL such as `a/b/`) to `to`, a path
/// from the site root (a page URL like `c/` or a file like `img/x.png`).
pub fn relative_url(from_url: &str, to: &str) -> String {
    let from: Vec<&str> = from_url.split('/').filter(|s| !s.is_empty()).collect();
    let to_parts: Vec<&str> = to.split('/').collect();
    let (to_dirs, last) = to_parts.split_at(to_parts.len().saturating_sub(1));
    let common = from
        .iter()
        .zip(to_dirs.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = "../".repeat(from.len() - common);
    for dir in &to_dirs[common..] {
        out.push_str(dir);
        out.push('/');
    }
    if let Some(last) = last.first() {
        out.push_str(last);
    }
    if out.is_empty() { "./".to_owned() } else { out }
}

/// Splits `path#fragment` (a `?query` stays with the path).
pub fn split_fragment(target: &str) -> (&str, Option<&str>) {
    match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (target, None),
    }
}

/// Percent-decodes `%20` and friends in a link target (authors write `my%20page.md`).
pub fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(index + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(index + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_land_in_folders() {
        assert_eq!(page_url("index.md"), "");
        assert_eq!(page_url("guide.md"), "guide/");
        assert_eq!(page_url("a/index.md"), "a/");
        assert_eq!(page_url("a/b.md"), "a/b/");
        assert_eq!(page_url("a/README.md"), "a/");
    }

    #[test]
    fn relative_urls_between_pages() {
        assert_eq!(relative_url("a/b/", "c/"), "../../c/");
        assert_eq!(relative_url("a/b/", ""), "../../");
        assert_eq!(relative_url("", "c/"), "c/");
        assert_eq!(relative_url("", ""), "./");
        assert_eq!(relative_url("a/b/", "a/img.png"), "../img.png");
        assert_eq!(relative_url("a/", "a/b/"), "b/");
    }

    #[test]
    fn resolve_stays_inside() {
        assert_eq!(resolve("a/b", "../c.md").as_deref(), Some("a/c.md"));
        assert_eq!(resolve("a", "../../c.md"), None);
        assert_eq!(resolve("a", "/c.md").as_deref(), Some("c.md"));
        assert_eq!(percent_decode("my%20page.md"), "my page.md");
        assert_eq!(percent_decode("100%"), "100%");
    }
}

//! Markdown in descriptions: rendered with comrak (GitHub-flavoured) and sanitized with ammonia,
//! so a catalog file can format text but never inject script or styles.

/// Safe HTML for `text`.
pub(crate) fn render(text: &str) -> String {
    if text.trim().is_empty() {
        return String::new();
    }
    let mut options = comrak::Options::default();
    options.extension.strikethrough = true;
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.tasklist = true;
    let html = comrak::markdown_to_html(text, &options);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn formats_markdown_and_removes_script() {
        let html = render("**bold** <script>alert(1)</script> [x](javascript:alert(1))");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn blank_is_empty() {
        assert_eq!(render("  "), "");
    }
}

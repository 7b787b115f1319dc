//! Taking a built page apart again so a portal can show it inside its own layout (Portico's
//! `/docs` reader): the navigation, the table of contents, the "edit this page" link, the
//! content and the previous/next links of a page [`crate::template::render`] wrote.
//!
//! Every part is passed through [`crate::sanitize::sanitize`] again, so a file that only looks
//! like a built page (an `.html` file an author put in the docs folder) still cannot bring
//! script into the portal.

use crate::sanitize::sanitize;

/// The parts of a built page, each sanitized HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageParts {
    /// The `<title>` text (already escaped HTML text).
    pub title: String,
    /// The site navigation list (`<ul class="md-nav__list">…`).
    pub nav: String,
    /// The table of contents (empty when the page has no headings).
    pub toc: String,
    /// The page content (the article, without the edit link).
    pub content: String,
    /// The "edit this page" URL, if the page has one.
    pub edit_url: Option<String>,
    /// Previous and next links (`<a … rel="prev">`), empty when there are none.
    pub footer: String,
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(&html[from..from + len])
}

/// The parts of `html`, or `None` when it is not a page the builder wrote.
pub fn page_parts(html: &str) -> Option<PageParts> {
    if !html.contains("<meta name=\"generator\" content=\"portico-techdocs\">") {
        return None;
    }
    let title = between(html, "<title>", "</title>")?.to_owned();
    let primary = between(
        html,
        "<nav class=\"md-nav md-nav--primary\" aria-label=\"Navigation\">",
        "</nav>\n</div></div>\n</div>\n<div class=\"md-sidebar md-sidebar--secondary\"",
    )?;
    // Drop the site-name label: the reader shows the site name itself.
    let nav = primary
        .find("<ul class=\"md-nav__list\">")
        .map_or("", |at| &primary[at..]);
    let toc = between(
        html,
        "data-md-type=\"toc\">\n<div class=\"md-sidebar__scrollwrap\"><div class=\"md-sidebar__inner\">\n",
        "</div></div>\n</div>\n<div class=\"md-content\"",
    )?;
    let article = between(
        html,
        "<article class=\"md-content__inner md-typeset\">\n",
        "</article>\n</div>\n</div>\n</main>\n",
    )?;
    let (edit_url, content) = match article.strip_prefix("<a href=\"") {
        Some(rest) if rest.contains("title=\"Edit this page\"") => {
            let (href, _) = rest.split_once('"')?;
            let (_, content) = rest.split_once("</a>\n")?;
            (Some(unescape_attribute(href)), content)
        }
        _ => (None, article),
    };
    let footer = between(
        html,
        "<nav class=\"md-footer__inner md-grid\" aria-label=\"Footer\">\n",
        "</nav>\n</footer>",
    )
    .unwrap_or("");
    Some(PageParts {
        title,
        nav: sanitize(nav),
        toc: sanitize(toc),
        content: sanitize(content),
        edit_url: edit_url.filter(|url| url.starts_with("https://") || url.starts_with("http://")),
        footer: sanitize(footer),
    })
}

fn unescape_attribute(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::{BuildOptions, build_site};

    #[test]
    fn splits_a_built_page_and_refuses_other_html() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("src");
        std::fs::create_dir_all(root.join("docs")).expect("mkdir");
        std::fs::write(
            root.join("mkdocs.yml"),
            "site_name: Demo\nrepo_url: https://example.com/r\nedit_uri: edit/main/docs/\nnav:\n  - Home: index.md\n  - Guide: guide.md\n",
        )
        .expect("write");
        std::fs::write(
            root.join("docs/index.md"),
            "# Home\n\n## Part\n\nHello <img src=x onerror=alert(1)>\n",
        )
        .expect("write");
        std::fs::write(root.join("docs/guide.md"), "# Guide\n").expect("write");
        let out = dir.path().join("out");
        build_site(&root, &out, BuildOptions::default()).expect("build");
        let html = std::fs::read_to_string(out.join("index.html")).expect("read");
        let parts = page_parts(&html).expect("a built page");
        assert!(parts.nav.contains("Guide"), "{}", parts.nav);
        assert!(parts.toc.contains("#part"), "{}", parts.toc);
        assert!(parts.content.contains("Hello"), "{}", parts.content);
        assert!(!parts.content.contains("onerror"), "{}", parts.content);
        assert!(parts.footer.contains("guide/"), "{}", parts.footer);
        assert_eq!(
            parts.edit_url.as_deref(),
            Some("https://example.com/r/edit/main/docs/index.md")
        );
        assert_eq!(page_parts("<html><script>x</script></html>"), None);
    }
}

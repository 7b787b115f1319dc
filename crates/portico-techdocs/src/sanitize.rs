//! The HTML allow-list every page's content passes before it is written: raw HTML in
//! Markdown may format text, but never run script — no `<script>`, `<style>`, `<iframe>`,
//! `<svg>` or forms, no `on*` handlers, no `style`, and only http(s), mailto and relative URLs.

use std::collections::HashSet;
use std::sync::OnceLock;

use ammonia::Builder;

fn builder() -> &'static Builder<'static> {
    static BUILDER: OnceLock<Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = Builder::default();
        builder
            .add_tags([
                "details",
                "summary",
                "mark",
                "ins",
                "del",
                "input",
                "label",
                "aside",
                "figure",
                "figcaption",
                "section",
                "kbd",
                "abbr",
                "dl",
                "dt",
                "dd",
                "sup",
                "sub",
            ])
            .add_generic_attributes(["class", "id", "title", "align", "data-tabs"])
            .add_tag_attributes(
                "input",
                ["type", "checked", "disabled", "name", "aria-label"],
            )
            .add_tag_attributes("label", ["for"])
            .add_tag_attributes("details", ["open"])
            .add_tag_attributes(
                "a",
                ["aria-hidden", "data-footnote-ref", "data-footnote-backref"],
            )
            .add_tag_attributes("ol", ["start"])
            .add_tag_attributes("img", ["loading"])
            .url_schemes(HashSet::from(["http", "https", "mailto"]))
            .link_rel(None)
            // Relative URLs are the docs' own links and images.
            .url_relative(ammonia::UrlRelative::PassThrough)
            .strip_comments(true);
        builder
    })
}

/// Cleans rendered page content.
pub fn sanitize(html: &str) -> String {
    builder().clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_go_formatting_stays() {
        let html = sanitize(
            "<p onclick=\"x()\">a<script>alert(1)</script><a href=\"javascript:alert(1)\">l</a><mark class=\"m\">m</mark></p>",
        );
        assert_eq!(html, "<p>a<a>l</a><mark class=\"m\">m</mark></p>");
    }
}

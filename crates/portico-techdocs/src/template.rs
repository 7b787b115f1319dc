//! The HTML shell around each page's content. Class names follow mkdocs-material's
//! (`md-sidebar--primary`, `md-nav`, `md-content`, `md-typeset`), which Backstage's TechDocs
//! reader looks for when it embeds a page. Everything here is Portico's own markup; only
//! the content in the middle comes from the author, and it has been sanitized.
//!
//! Each page carries the top level of the navigation and the sections on the way to the page
//! (not the whole tree), so a page's size does not grow with the size of the site.

use std::fmt::Write as _;

use crate::markdown::TocEntry;
use crate::nav::NavItem;
use crate::preprocess::escape_html;
use crate::urls::relative_url;

/// Where the builder's own assets go in a site.
pub const ASSET_DIR: &str = "assets/portico";
/// The stylesheet, relative to the site root.
pub const STYLESHEET: &str = "assets/portico/techdocs.css";
/// The mermaid renderer, relative to the site root.
pub const MERMAID_JS: &str = "assets/portico/mermaid.min.js";
/// Path the `serve` command answers live-reload requests on.
pub const LIVE_RELOAD_PATH: &str = "/.portico/livereload";

/// What the shell needs to know about one page.
#[derive(Debug)]
pub struct PageView<'a> {
    /// `site_name`.
    pub site_name: &'a str,
    /// The page's title.
    pub title: &'a str,
    /// The page's built URL.
    pub url: &'a str,
    /// Sanitized content.
    pub content: &'a str,
    /// Table of contents.
    pub toc: &'a [TocEntry],
    /// The site's navigation.
    pub nav: &'a [NavItem],
    /// Previous and next pages: (url, title).
    pub previous: Option<(&'a str, &'a str)>,
    /// Next page.
    pub next: Option<(&'a str, &'a str)>,
    /// "Edit this page" link.
    pub edit_url: Option<&'a str>,
    /// Load the mermaid renderer.
    pub mermaid: bool,
    /// Add the live-reload client (`portico techdocs serve`).
    pub live_reload: bool,
}

/// The whole HTML document of a page.
pub fn render(view: &PageView<'_>) -> String {
    let root = relative_url(view.url, "");
    let mut html = String::with_capacity(view.content.len() + 4096);
    let title = if view.title == view.site_name || view.title.is_empty() {
        escape_html(view.site_name)
    } else {
        format!(
            "{} - {}",
            escape_html(view.title),
            escape_html(view.site_name)
        )
    };
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"portico-techdocs\">\n<title>{title}</title>\n\
         <link rel=\"stylesheet\" href=\"{root}{STYLESHEET}\">\n</head>\n<body>\n\
         <div class=\"md-container\">\n<main class=\"md-main\">\n<div class=\"md-main__inner md-grid\">\n"
    );
    html.push_str("<div class=\"md-sidebar md-sidebar--primary\" data-md-component=\"sidebar\" data-md-type=\"navigation\">\n<div class=\"md-sidebar__scrollwrap\"><div class=\"md-sidebar__inner\">\n");
    let _ = write!(
        html,
        "<nav class=\"md-nav md-nav--primary\" aria-label=\"Navigation\">\n<label class=\"md-nav__title\">{}</label>\n",
        escape_html(view.site_name)
    );
    nav_list(&mut html, view.nav, view.url);
    html.push_str("</nav>\n</div></div>\n</div>\n");
    html.push_str("<div class=\"md-sidebar md-sidebar--secondary\" data-md-component=\"sidebar\" data-md-type=\"toc\">\n<div class=\"md-sidebar__scrollwrap\"><div class=\"md-sidebar__inner\">\n");
    toc_list(&mut html, view.toc);
    html.push_str("</div></div>\n</div>\n");
    html.push_str("<div class=\"md-content\" data-md-component=\"content\">\n<article class=\"md-content__inner md-typeset\">\n");
    if let Some(edit) = view.edit_url {
        let _ = writeln!(
            html,
            "<a href=\"{}\" title=\"Edit this page\" class=\"md-content__button md-icon\">Edit this page</a>",
            escape_html(edit)
        );
    }
    html.push_str(view.content);
    html.push_str("</article>\n</div>\n</div>\n</main>\n");
    footer(&mut html, view);
    html.push_str("</div>\n");
    if view.mermaid {
        let _ = write!(
            html,
            "<script src=\"{root}{MERMAID_JS}\"></script>\n\
             <script>mermaid.initialize({{startOnLoad: true, securityLevel: 'strict', theme: \
             window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'default'}});</script>\n"
        );
    }
    if view.live_reload {
        let _ = writeln!(
            html,
            "<script>new EventSource('{LIVE_RELOAD_PATH}').onmessage = () => location.reload();</script>"
        );
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn contains_url(items: &[NavItem], url: &str) -> bool {
    items.iter().any(|item| match item {
        NavItem::Page { url: u, .. } => u == url,
        NavItem::Section { children, .. } => contains_url(children, url),
        NavItem::Link { .. } => false,
    })
}

fn nav_list(html: &mut String, items: &[NavItem], current: &str) {
    html.push_str("<ul class=\"md-nav__list\">\n");
    for item in items {
        match item {
            NavItem::Page { title, url, .. } => {
                let active = if url == current {
                    " md-nav__item--active"
                } else {
                    ""
                };
                let link_active = if url == current {
                    " md-nav__link--active"
                } else {
                    ""
                };
                let _ = writeln!(
                    html,
                    "<li class=\"md-nav__item{active}\"><a href=\"{}\" class=\"md-nav__link{link_active}\">{}</a></li>",
                    escape_html(&relative_url(current, url)),
                    escape_html(title)
                );
            }
            NavItem::Link { title, url } => {
                let _ = writeln!(
                    html,
                    "<li class=\"md-nav__item\"><a href=\"{}\" class=\"md-nav__link\">{}</a></li>",
                    escape_html(url),
                    escape_html(title)
                );
            }
            NavItem::Section { title, children } => {
                let open = contains_url(children, current);
                let _ = writeln!(
                    html,
                    "<li class=\"md-nav__item md-nav__item--nested{}\"><label class=\"md-nav__link\">{}</label>",
                    if open { " md-nav__item--active" } else { "" },
                    escape_html(title)
                );
                if open {
                    let _ = writeln!(
                        html,
                        "<nav class=\"md-nav\" aria-label=\"{}\">",
                        escape_html(title)
                    );
                    nav_list(html, children, current);
                    html.push_str("</nav>\n");
                } else if let Some(first) = first_url(children) {
                    // Collapsed: one link into the section keeps it reachable.
                    let _ = writeln!(
                        html,
                        "<a href=\"{}\" class=\"md-nav__link md-nav__link--section\">{}</a>",
                        escape_html(&relative_url(current, first)),
                        escape_html(title)
                    );
                }
                html.push_str("</li>\n");
            }
        }
    }
    html.push_str("</ul>\n");
}

fn first_url(items: &[NavItem]) -> Option<&str> {
    items.iter().find_map(|item| match item {
        NavItem::Page { url, .. } => Some(url.as_str()),
        NavItem::Section { children, .. } => first_url(children),
        NavItem::Link { .. } => None,
    })
}

fn toc_list(html: &mut String, toc: &[TocEntry]) {
    if toc.is_empty() {
        return;
    }
    html.push_str("<nav class=\"md-nav md-nav--secondary\" aria-label=\"Table of contents\">\n<label class=\"md-nav__title\">Table of contents</label>\n<ul class=\"md-nav__list\">\n");
    for entry in toc {
        let _ = writeln!(
            html,
            "<li class=\"md-nav__item md-nav__item--level{}\"><a href=\"#{}\" class=\"md-nav__link\">{}</a></li>",
            entry.level,
            escape_html(&entry.id),
            escape_html(&entry.title)
        );
    }
    html.push_str("</ul>\n</nav>\n");
}

fn footer(html: &mut String, view: &PageView<'_>) {
    if view.previous.is_none() && view.next.is_none() {
        return;
    }
    html.push_str("<footer class=\"md-footer\">\n<nav class=\"md-footer__inner md-grid\" aria-label=\"Footer\">\n");
    if let Some((url, title)) = view.previous {
        let _ = writeln!(
            html,
            "<a href=\"{}\" class=\"md-footer__link md-footer__link--prev\" rel=\"prev\">← {}</a>",
            escape_html(&relative_url(view.url, url)),
            escape_html(title)
        );
    }
    if let Some((url, title)) = view.next {
        let _ = writeln!(
            html,
            "<a href=\"{}\" class=\"md-footer__link md-footer__link--next\" rel=\"next\">{} →</a>",
            escape_html(&relative_url(view.url, url)),
            escape_html(title)
        );
    }
    html.push_str("</nav>\n</footer>\n");
}

/// The site stylesheet: layout, admonitions, tabs, task lists, and code highlighting.
pub fn stylesheet() -> String {
    let mut css = String::from(BASE_CSS);
    // CSS-only tabs: the n-th checked radio shows the n-th block.
    for n in 1..=20 {
        let _ = writeln!(
            css,
            ".tabbed-set > input:nth-child({n}):checked ~ .tabbed-content > .tabbed-block:nth-child({n}) {{ display: block; }}\n\
             .tabbed-set > input:nth-child({n}):checked ~ .tabbed-labels > label:nth-child({n}) {{ border-bottom-color: var(--accent); color: var(--accent); }}"
        );
    }
    css.push_str(&crate::highlight::stylesheet());
    css
}

const BASE_CSS: &str = r#"/* Portico TechDocs */
:root { --fg: #1f2328; --bg: #ffffff; --muted: #59636e; --line: #d1d9e0; --accent: #0969da; --code-bg: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #3d444d; --accent: #4493f8; --code-bg: #151b23; } }
body { margin: 0; color: var(--fg); background: var(--bg); font: 16px/1.6 system-ui, -apple-system, "Segoe UI", sans-serif; }
.md-main__inner { display: grid; grid-template-columns: 16rem minmax(0, 1fr) 14rem; gap: 2rem; max-width: 80rem; margin: 0 auto; padding: 1rem; }
.md-sidebar--primary { order: 1; } .md-content { order: 2; } .md-sidebar--secondary { order: 3; }
@media (max-width: 60rem) { .md-main__inner { grid-template-columns: 1fr; } .md-sidebar { order: 0; } }
.md-nav__list { list-style: none; margin: 0; padding-left: 0.75rem; }
.md-nav__title { font-weight: 600; display: block; margin-bottom: 0.5rem; }
.md-nav__link { color: var(--fg); text-decoration: none; display: block; padding: 0.1rem 0; }
.md-nav__link--active { color: var(--accent); font-weight: 600; }
label.md-nav__link { font-weight: 600; }
.md-nav__link--section { display: none; }
.md-content__button { float: right; font-size: 0.85rem; }
.md-typeset a { color: var(--accent); }
.md-typeset table { border-collapse: collapse; display: block; overflow-x: auto; }
.md-typeset th, .md-typeset td { border: 1px solid var(--line); padding: 0.3rem 0.6rem; }
.md-typeset code { background: var(--code-bg); padding: 0.1em 0.3em; border-radius: 4px; font-size: 0.9em; }
.md-typeset pre { background: var(--code-bg); padding: 0.8rem; overflow-x: auto; border-radius: 6px; }
.md-typeset pre code { background: none; padding: 0; }
.md-typeset .highlight .filename { display: block; font-size: 0.85em; font-weight: 600; padding: 0.3rem 0.8rem; background: var(--line); border-radius: 6px 6px 0 0; }
.md-typeset .highlight .filename + pre { border-radius: 0 0 6px 6px; margin-top: 0; }
.headerlink { margin-left: 0.4rem; opacity: 0; text-decoration: none; }
h1:hover .headerlink, h2:hover .headerlink, h3:hover .headerlink, h4:hover .headerlink, h5:hover .headerlink, h6:hover .headerlink { opacity: 0.6; }
.admonition, details { border-left: 4px solid var(--accent); background: var(--code-bg); border-radius: 4px; padding: 0 1rem; margin: 1rem 0; }
.admonition-title, details > summary { font-weight: 600; margin: 0; padding: 0.5rem 0; cursor: default; }
details > summary { cursor: pointer; }
.admonition.warning, details.warning, .admonition.caution, details.caution, .admonition.attention { border-left-color: #d29922; }
.admonition.danger, details.danger, .admonition.error, details.error, .admonition.failure, details.failure, .admonition.bug, details.bug { border-left-color: #cf222e; }
.admonition.tip, details.tip, .admonition.success, details.success, .admonition.hint, details.hint { border-left-color: #1a7f37; }
.admonition.example, details.example, .admonition.question, details.question { border-left-color: #8250df; }
.tabbed-set { margin: 1rem 0; border: 1px solid var(--line); border-radius: 6px; }
.tabbed-set > input { display: none; }
.tabbed-labels { display: flex; gap: 1rem; padding: 0 0.8rem; border-bottom: 1px solid var(--line); }
.tabbed-labels > label { cursor: pointer; padding: 0.4rem 0; border-bottom: 2px solid transparent; }
.tabbed-block { display: none; padding: 0 0.8rem; }
.task-list-item { list-style: none; } .task-list-item input { margin-right: 0.4rem; }
pre.mermaid { background: none; text-align: center; }
mark { background: #fff8c5; } ins { text-decoration: underline; }
.md-footer__inner { display: flex; justify-content: space-between; max-width: 80rem; margin: 0 auto; padding: 1rem; border-top: 1px solid var(--line); }
"#;

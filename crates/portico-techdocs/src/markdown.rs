//! One page: front matter, preprocessing, CommonMark + GFM parsing (comrak), then passes over
//! the syntax tree — heading ids and the table of contents, highlighted code, mermaid blocks,
//! links rewritten to built URLs and checked, `^^ins^^` — rendering, and the sanitizer.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Mutex;

use comrak::adapters::{HeadingAdapter, HeadingMeta};
use comrak::nodes::{AstNode, NodeHtmlBlock, NodeValue, Sourcepos};
use comrak::options::Plugins;
use comrak::{Arena, Options, format_html_with_plugins, parse_document};
use portico_model::yaml::{YamlLimits, parse_documents};
use serde_json::Value;

use crate::config::is_external;
use crate::diagnostics::Warning;
use crate::highlight::highlight;
use crate::preprocess::{Preprocessed, SnippetContext, escape_html, preprocess};
use crate::sanitize::sanitize;
use crate::slug::SlugSet;
use crate::urls::{percent_decode, relative_url, resolve, source_dir, split_fragment};

/// What the renderer knows about the whole site.
#[derive(Debug, Default)]
pub struct SiteIndex {
    /// Markdown pages (relative to `docs_dir`) → their built URL.
    pub pages: HashMap<String, String>,
    /// Other files under `docs_dir` (images, downloads).
    pub assets: HashSet<String>,
}

/// An entry of a page's table of contents.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TocEntry {
    /// Heading level (2–6; the page title's `#` is not listed).
    pub level: u8,
    /// The heading's text.
    pub title: String,
    /// Its anchor.
    pub id: String,
}

/// A link to check once every page is rendered: does `page` have `#anchor`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorCheck {
    /// Target page, relative to `docs_dir`.
    pub page: String,
    /// The fragment.
    pub anchor: String,
    /// Line in the linking page.
    pub line: usize,
}

/// A section of a page for the search index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchSection {
    /// The heading (or the page title for text before the first heading).
    pub title: String,
    /// The heading's anchor, `None` for the page's own section.
    pub anchor: Option<String>,
    /// Plain text.
    pub text: String,
}

/// A rendered page, before it is put into the site's HTML shell.
#[derive(Debug, Clone, Default)]
pub struct RenderedPage {
    /// Front matter `title`, else the first `#` heading.
    pub title: Option<String>,
    /// Sanitized HTML of the content.
    pub content: String,
    /// Headings below the title.
    pub toc: Vec<TocEntry>,
    /// Every anchor the page defines.
    pub anchors: HashSet<String>,
    /// Links with fragments to check.
    pub anchor_checks: Vec<AnchorCheck>,
    /// Whether the page has a mermaid diagram (and needs the renderer).
    pub has_mermaid: bool,
    /// Text for the search index.
    pub sections: Vec<SearchSection>,
    /// Snippet files the page includes.
    pub snippet_files: Vec<std::path::PathBuf>,
    /// Problems found in the page.
    pub warnings: Vec<Warning>,
}

/// The page to render.
#[derive(Debug, Clone, Copy)]
pub struct PageInput<'a> {
    /// Relative to `docs_dir`.
    pub path: &'a str,
    /// The page as written in warnings (`docs/guide.md`).
    pub display_path: &'a str,
    /// Built URL of the page.
    pub url: &'a str,
    /// The file's text.
    pub text: &'a str,
}

fn comrak_options() -> Options<'static> {
    let mut options = Options::default();
    let ext = &mut options.extension;
    ext.strikethrough = true;
    ext.table = true;
    ext.autolink = true;
    ext.tasklist = true;
    ext.footnotes = true;
    ext.description_lists = true;
    ext.shortcodes = true;
    ext.highlight = true;
    options.render.r#unsafe = true;
    options.render.tasklist_classes = true;
    options
}

/// Renders one page.
pub fn render_page(
    page: &PageInput<'_>,
    site: &SiteIndex,
    snippets: &SnippetContext<'_>,
) -> RenderedPage {
    let mut rendered = RenderedPage::default();
    let (meta_title, body, first_line) = split_front_matter(page, &mut rendered.warnings);
    let pre = preprocess(body, first_line, snippets, &mut rendered.warnings);
    let options = comrak_options();
    let arena = Arena::new();
    let root = parse_document(&arena, &pre.text, &options);

    let mut pass = Pass {
        page,
        site,
        pre: &pre,
        arena: &arena,
        slugs: SlugSet::default(),
        heading_ids: VecDeque::new(),
        out: &mut rendered,
        first_h1: None,
    };
    pass.run(root);
    let heading_ids = std::mem::take(&mut pass.heading_ids);
    let first_h1 = pass.first_h1.take();

    let headings = HeadingIds {
        ids: Mutex::new(heading_ids),
        open: Mutex::new(Vec::new()),
    };
    let mut plugins = Plugins::default();
    plugins.render.heading_adapter = Some(&headings);
    let mut html = String::with_capacity(pre.text.len() * 2);
    if format_html_with_plugins(root, &options, &mut html, &plugins).is_err() {
        rendered.warnings.push(Warning::at(
            page.display_path,
            None,
            "the page could not be rendered",
        ));
    }
    rendered.content = label_task_checkboxes(sanitize(&html));
    rendered.title = meta_title.or(first_h1);
    rendered.snippet_files = pre.snippet_files;
    rendered
}

/// Gives task-list checkboxes an accessible name (a checkbox without one fails axe's `label`
/// rule). Runs on sanitized output, whose markup for them is fixed; the names are constants.
fn label_task_checkboxes(html: String) -> String {
    const CHECKED: &str =
        r#"<input type="checkbox" class="task-list-item-checkbox" checked="" disabled="">"#;
    const UNCHECKED: &str =
        r#"<input type="checkbox" class="task-list-item-checkbox" disabled="">"#;
    if !html.contains("task-list-item-checkbox") {
        return html;
    }
    html.replace(
        CHECKED,
        r#"<input type="checkbox" class="task-list-item-checkbox" checked="" disabled="" aria-label="Done">"#,
    )
    .replace(
        UNCHECKED,
        r#"<input type="checkbox" class="task-list-item-checkbox" disabled="" aria-label="To do">"#,
    )
}

/// Strips `---` front matter; returns its `title`, the body and the body's first line.
fn split_front_matter<'t>(
    page: &PageInput<'t>,
    warnings: &mut Vec<Warning>,
) -> (Option<String>, &'t str, usize) {
    let text = page.text.strip_prefix('\u{feff}').unwrap_or(page.text);
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return (None, text, 1);
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            let yaml = &rest[..offset];
            let body = &rest[offset + line.len()..];
            let first_line = 2 + yaml.lines().count() + 1;
            let title = match parse_documents(yaml, &YamlLimits::default())
                .into_iter()
                .next()
            {
                Some(Ok(doc)) => match doc.value {
                    Value::Object(map) => {
                        map.get("title").and_then(Value::as_str).map(str::to_owned)
                    }
                    Value::Null => None,
                    _ => {
                        warnings.push(Warning::at(
                            page.display_path,
                            Some(2),
                            "front matter must be a mapping (`title: …`); it is ignored",
                        ));
                        None
                    }
                },
                Some(Err(err)) => {
                    warnings.push(Warning::at(
                        page.display_path,
                        Some(1 + err.position().line as usize),
                        format!("front matter is not valid YAML ({err}); it is ignored"),
                    ));
                    None
                }
                None => None,
            };
            return (title, body, first_line);
        }
        offset += line.len();
    }
    // No closing `---`: a thematic break, not front matter.
    (None, text, 1)
}

struct Pass<'p, 'a> {
    page: &'p PageInput<'p>,
    site: &'p SiteIndex,
    pre: &'p Preprocessed,
    arena: &'a Arena<'a>,
    slugs: SlugSet,
    heading_ids: VecDeque<String>,
    out: &'p mut RenderedPage,
    first_h1: Option<String>,
}

impl<'a> Pass<'_, 'a> {
    fn line(&self, sourcepos: Sourcepos) -> usize {
        self.pre.origin(sourcepos.start.line)
    }

    fn warn(&mut self, line: usize, message: String) {
        self.out
            .warnings
            .push(Warning::at(self.page.display_path, Some(line), message));
    }

    fn section_text(&mut self) -> &mut String {
        if self.out.sections.is_empty() {
            self.out.sections.push(SearchSection {
                title: String::new(),
                anchor: None,
                text: String::new(),
            });
        }
        let last = self.out.sections.len() - 1;
        &mut self.out.sections[last].text
    }

    fn run(&mut self, root: &'a AstNode<'a>) {
        let nodes: Vec<&'a AstNode<'a>> = root.descendants().collect();
        for node in nodes {
            let (value, sourcepos) = {
                let data = node.data();
                (classify(&data.value), data.sourcepos)
            };
            match value {
                Kind::Heading(level) => self.heading(node, level),
                Kind::Code => self.code_block(node),
                Kind::Link | Kind::Image => self.link(node, sourcepos),
                Kind::Text => {
                    if !inside_heading(node) {
                        let text = text_literal(node);
                        let section = self.section_text();
                        section.push_str(&text);
                    }
                    self.insert_marks(node);
                }
                Kind::Break => self.section_text().push(' '),
                Kind::Block => {
                    let section = self.section_text();
                    if !section.is_empty() && !section.ends_with(' ') {
                        section.push(' ');
                    }
                }
                Kind::Other => {}
            }
        }
        for section in &mut self.out.sections {
            section.text = section
                .text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
        }
    }

    fn heading(&mut self, node: &'a AstNode<'a>, level: u8) {
        let title = collect_text(node);
        let id = self.slugs.unique(&title);
        self.out.anchors.insert(id.clone());
        self.heading_ids.push_back(id.clone());
        if level == 1 && self.first_h1.is_none() {
            self.first_h1 = Some(title.clone());
        } else {
            self.out.toc.push(TocEntry {
                level,
                title: title.clone(),
                id: id.clone(),
            });
        }
        self.out.sections.push(SearchSection {
            title,
            anchor: Some(id),
            text: String::new(),
        });
    }

    fn code_block(&mut self, node: &'a AstNode<'a>) {
        let mut data = node.data_mut();
        let NodeValue::CodeBlock(block) = &data.value else {
            return;
        };
        let (lang, attributes) = block
            .info
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((block.info.trim(), ""));
        let lang = lang
            .trim_start_matches('.')
            .trim_matches(|c| c == '{' || c == '}')
            .to_owned();
        let literal = block.literal.clone();
        let html = if lang == "mermaid" {
            self.out.has_mermaid = true;
            format!(
                "<pre class=\"mermaid\"><code>{}</code></pre>\n",
                escape_html(&literal)
            )
        } else {
            let title = attribute(attributes, "title")
                .map(|t| format!("<span class=\"filename\">{}</span>", escape_html(&t)))
                .unwrap_or_default();
            let class = if lang.is_empty() {
                String::new()
            } else {
                format!(" class=\"language-{}\"", escape_html(&lang))
            };
            format!(
                "<div class=\"highlight\">{title}<pre><code{class}>{}</code></pre></div>\n",
                highlight(&literal, &lang)
            )
        };
        data.value = NodeValue::HtmlBlock(NodeHtmlBlock {
            block_type: 0,
            literal: html,
        });
        drop(data);
        let section = self.section_text();
        section.push(' ');
        section.push_str(&literal);
    }

    fn link(&mut self, node: &'a AstNode<'a>, sourcepos: Sourcepos) {
        let line = self.line(sourcepos);
        let (url, is_image) = {
            let data = node.data();
            match &data.value {
                NodeValue::Link(link) => (link.url.clone(), false),
                NodeValue::Image(link) => (link.url.clone(), true),
                _ => return,
            }
        };
        let Some(new_url) = self.rewrite(&url, is_image, line) else {
            return;
        };
        let mut data = node.data_mut();
        if let NodeValue::Link(link) | NodeValue::Image(link) = &mut data.value {
            link.url = new_url;
        }
    }

    /// The built URL for a link target, or `None` to leave it as written.
    fn rewrite(&mut self, url: &str, is_image: bool, line: usize) -> Option<String> {
        if url.is_empty() || is_external(url) {
            return None;
        }
        let (path, fragment) = split_fragment(url);
        if path.is_empty() {
            if let Some(anchor) = fragment {
                self.out.anchor_checks.push(AnchorCheck {
                    page: self.page.path.to_owned(),
                    anchor: anchor.to_owned(),
                    line,
                });
            }
            return None;
        }
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let decoded = percent_decode(path);
        let Some(target) = resolve(source_dir(self.page.path), &decoded) else {
            self.warn(line, format!("link {url:?} points outside the docs folder"));
            return None;
        };
        let suffix = |fragment: Option<&str>| {
            let mut s = String::new();
            if let Some(query) = query {
                s.push('?');
                s.push_str(query);
            }
            if let Some(fragment) = fragment {
                s.push('#');
                s.push_str(fragment);
            }
            s
        };
        if !is_image && decoded.ends_with(".md") {
            let Some(target_url) = self.site.pages.get(&target) else {
                self.warn(
                    line,
                    format!("link to {url:?}: no page {target} in the docs folder"),
                );
                return None;
            };
            if let Some(anchor) = fragment {
                self.out.anchor_checks.push(AnchorCheck {
                    page: target.clone(),
                    anchor: anchor.to_owned(),
                    line,
                });
            }
            return Some(relative_url(self.page.url, target_url) + &suffix(fragment));
        }
        let target_dir = format!("{target}/index.md");
        if let Some(target_url) = self.site.pages.get(&target_dir).filter(|_| !is_image) {
            // A link to a folder that has an index page.
            return Some(relative_url(self.page.url, target_url) + &suffix(fragment));
        }
        if !self.site.assets.contains(&target) {
            let what = if is_image { "image" } else { "link" };
            self.warn(
                line,
                format!("{what} {url:?}: no file {target} in the docs folder"),
            );
            return None;
        }
        Some(relative_url(self.page.url, &target) + &suffix(fragment))
    }

    /// `^^inserted^^` (pymdownx.caret) inside one text node becomes `<ins>`.
    fn insert_marks(&mut self, node: &'a AstNode<'a>) {
        let text = text_literal(node);
        let Some(start) = text.find("^^") else {
            return;
        };
        let Some(len) = text[start + 2..].find("^^").filter(|len| *len > 0) else {
            return;
        };
        let inner = &text[start + 2..start + 2 + len];
        if inner.starts_with(' ') || inner.ends_with(' ') {
            return;
        }
        let before = text[..start].to_owned();
        let inner = inner.to_owned();
        let after = text[start + 2 + len + 2..].to_owned();
        node.data_mut().value = NodeValue::Text(before.into());
        let pieces = [
            NodeValue::HtmlInline("<ins>".to_owned()),
            NodeValue::Text(inner.into()),
            NodeValue::HtmlInline("</ins>".to_owned()),
        ];
        let mut last = node;
        for value in pieces {
            let new = self.arena.alloc(AstNode::from(value));
            last.insert_after(new);
            last = new;
        }
        let rest = self
            .arena
            .alloc(AstNode::from(NodeValue::Text(after.into())));
        last.insert_after(rest);
        // The remainder may hold more marks.
        self.insert_marks(rest);
    }
}

enum Kind {
    Heading(u8),
    Code,
    Link,
    Image,
    Text,
    Break,
    Block,
    Other,
}

fn classify(value: &NodeValue) -> Kind {
    match value {
        NodeValue::Heading(heading) => Kind::Heading(heading.level),
        NodeValue::CodeBlock(_) => Kind::Code,
        NodeValue::Link(_) => Kind::Link,
        NodeValue::Image(_) => Kind::Image,
        NodeValue::Text(_) | NodeValue::Code(_) => Kind::Text,
        NodeValue::SoftBreak | NodeValue::LineBreak => Kind::Break,
        NodeValue::Paragraph
        | NodeValue::Item(_)
        | NodeValue::TableCell
        | NodeValue::TaskItem(_) => Kind::Block,
        _ => Kind::Other,
    }
}

fn text_literal(node: &AstNode<'_>) -> String {
    match &node.data().value {
        NodeValue::Text(text) => text.to_string(),
        NodeValue::Code(code) => code.literal.clone(),
        _ => String::new(),
    }
}

fn collect_text<'a>(node: &'a AstNode<'a>) -> String {
    let mut text = String::new();
    for child in node.descendants() {
        match &child.data().value {
            NodeValue::Text(t) => text.push_str(t),
            NodeValue::Code(code) => text.push_str(&code.literal),
            NodeValue::SoftBreak | NodeValue::LineBreak => text.push(' '),
            _ => {}
        }
    }
    text.trim().to_owned()
}

fn inside_heading<'a>(node: &'a AstNode<'a>) -> bool {
    let mut current = node.parent();
    while let Some(parent) = current {
        if matches!(parent.data().value, NodeValue::Heading(_)) {
            return true;
        }
        current = parent.parent();
    }
    false
}

/// `title="x"` from a fence's attributes.
fn attribute(attributes: &str, name: &str) -> Option<String> {
    let start = attributes.find(&format!("{name}="))? + name.len() + 1;
    let rest = &attributes[start..];
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let end = rest[1..].find(quote)?;
    Some(rest[1..1 + end].to_owned())
}

/// Gives headings mkdocs' markup: `<h2 id="slug">Title<a class="headerlink" …>¶</a></h2>`,
/// with the ids the pass computed, in document order.
struct HeadingIds {
    ids: Mutex<VecDeque<String>>,
    open: Mutex<Vec<String>>,
}

impl HeadingAdapter for HeadingIds {
    fn enter(
        &self,
        output: &mut dyn fmt::Write,
        heading: &HeadingMeta,
        _sourcepos: Option<Sourcepos>,
    ) -> fmt::Result {
        let id = self
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front()
            .unwrap_or_default();
        write!(output, "<h{} id=\"{}\">", heading.level, escape_html(&id))?;
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(id);
        Ok(())
    }

    fn exit(&self, output: &mut dyn fmt::Write, heading: &HeadingMeta) -> fmt::Result {
        let id = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
            .unwrap_or_default();
        write!(
            output,
            "<a class=\"headerlink\" href=\"#{}\" title=\"Permanent link\">¶</a></h{}>",
            escape_html(&id),
            heading.level
        )
    }
}

//! Line-based preprocessing of the mkdocs/pymdownx block syntax that CommonMark does not know,
//! before the Markdown parser runs:
//!
//! - `pymdownx.snippets`: `--8<-- "file"` lines (and the block form) include other files, read
//!   only from the configured base folders (no `..`, no absolute paths, no symlinks out);
//! - admonitions `!!! type "Title"`, collapsible `??? type` / `???+ type` (pymdownx.details);
//! - tabs `=== "Tab"` (pymdownx.tabbed), consecutive ones forming one tab set.
//!
//! Blocks become HTML wrappers with blank lines around their body, so the body is still parsed
//! as Markdown. Every output line remembers the line of the page it came from, so warnings
//! point at the author's file and line.

use std::path::{Path, PathBuf};

use crate::config::check_relative;
use crate::diagnostics::Warning;

/// Largest file the builder reads (pages and snippets alike).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// How deep snippets may include snippets.
const MAX_SNIPPET_DEPTH: usize = 8;

/// A line of preprocessed text and the 1-based line of the page it stems from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The text, without its line break.
    pub text: String,
    /// Line in the original page.
    pub origin: usize,
}

/// The preprocessed page.
#[derive(Debug, Clone, Default)]
pub struct Preprocessed {
    /// Markdown for the parser.
    pub text: String,
    /// For each line of `text` (0-based), the 1-based line in the page.
    pub line_map: Vec<usize>,
    /// Files included through snippets (so a change to them rebuilds the page).
    pub snippet_files: Vec<PathBuf>,
}

impl Preprocessed {
    /// The page line of a 1-based line of `text`.
    pub fn origin(&self, line: usize) -> usize {
        line.checked_sub(1)
            .and_then(|index| self.line_map.get(index))
            .copied()
            .unwrap_or(line)
    }
}

/// Where snippets come from.
#[derive(Debug, Clone, Copy)]
pub struct SnippetContext<'a> {
    /// The site root (folder of `mkdocs.yml`).
    pub site_root: &'a Path,
    /// Base folders relative to the site root, already checked to stay inside it.
    pub bases: &'a [String],
    /// The page, relative to the site root, for warnings.
    pub page_file: &'a str,
}

/// Runs snippets, then the block extensions, over a page body whose first line is `first_line`.
pub fn preprocess(
    body: &str,
    first_line: usize,
    snippets: &SnippetContext<'_>,
    warnings: &mut Vec<Warning>,
) -> Preprocessed {
    let lines: Vec<Line> = body
        .lines()
        .enumerate()
        .map(|(index, text)| Line {
            text: expand_leading_tabs(text),
            origin: first_line + index,
        })
        .collect();
    let mut deps = SnippetDeps::default();
    let lines = expand_snippets(lines, snippets, &mut deps, warnings, 0);
    let snippet_files = deps.found;
    let mut tab_sets = 0;
    let lines = transform_blocks(&lines, &mut tab_sets);
    let mut text = String::with_capacity(body.len() + 256);
    let mut line_map = Vec::with_capacity(lines.len());
    for line in lines {
        text.push_str(&line.text);
        text.push('\n');
        line_map.push(line.origin);
    }
    Preprocessed {
        text,
        line_map,
        snippet_files,
    }
}

fn expand_leading_tabs(text: &str) -> String {
    if !text.starts_with('\t') && !text.starts_with(" \t") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut column = 0;
    let mut rest = text;
    while let Some(ch) = rest.chars().next() {
        match ch {
            ' ' => {
                out.push(' ');
                column += 1;
            }
            '\t' => {
                let width = 4 - column % 4;
                out.extend(std::iter::repeat_n(' ', width));
                column += width;
            }
            _ => break,
        }
        rest = &rest[1..];
    }
    out.push_str(rest);
    out
}

fn indent_of(text: &str) -> usize {
    text.len() - text.trim_start_matches(' ').len()
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

// ----- snippets ---------------------------------------------------------------------------

/// The files a page's snippets read, recursively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnippetDeps {
    /// Files included (real paths).
    pub found: Vec<PathBuf>,
    /// Paths looked up in vain: a file appearing there changes what the page includes.
    pub missing: Vec<PathBuf>,
}

/// What the snippets of a page (`text`, front matter and all) read, without rendering it:
/// the docs source hash follows these files too, so editing an included file outside
/// `docs_dir` rebuilds the site.
pub fn snippet_dependencies(text: &str, snippets: &SnippetContext<'_>) -> SnippetDeps {
    let lines = text
        .lines()
        .enumerate()
        .map(|(index, text)| Line {
            text: expand_leading_tabs(text),
            origin: index + 1,
        })
        .collect();
    let mut deps = SnippetDeps::default();
    expand_snippets(lines, snippets, &mut deps, &mut Vec::new(), 0);
    deps
}

/// `--8<--` with any number of dashes on each side.
fn snippet_marker(text: &str) -> Option<&str> {
    let dashes = text.len() - text.trim_start_matches('-').len();
    let rest = text[dashes..].strip_prefix("8<")?;
    let after = rest.trim_start_matches('-');
    (dashes > 0 && after.len() < rest.len()).then_some(after)
}

fn expand_snippets(
    lines: Vec<Line>,
    context: &SnippetContext<'_>,
    files: &mut SnippetDeps,
    warnings: &mut Vec<Warning>,
    depth: usize,
) -> Vec<Line> {
    let mut out = Vec::with_capacity(lines.len());
    let mut iter = lines.into_iter();
    while let Some(line) = iter.next() {
        let indent = indent_of(&line.text);
        let trimmed = line.text[indent..].trim_end();
        // `;--8<--` is the escape for a literal marker.
        if let Some(escaped) = trimmed.strip_prefix(';')
            && snippet_marker(escaped).is_some()
        {
            out.push(Line {
                text: format!("{}{}", " ".repeat(indent), escaped),
                origin: line.origin,
            });
            continue;
        }
        let Some(after) = snippet_marker(trimmed) else {
            out.push(line);
            continue;
        };
        let mut targets = Vec::new();
        if after.trim().is_empty() {
            // Block form: file names on the following lines up to the closing marker.
            for inner in iter.by_ref() {
                let name = inner.text.trim();
                if snippet_marker(name).is_some_and(|rest| rest.trim().is_empty()) {
                    break;
                }
                if !name.is_empty() && !name.starts_with(';') {
                    targets.push(name.to_owned());
                }
            }
        } else {
            let quoted = after.trim();
            let unquoted = quoted
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| quoted.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')));
            match unquoted {
                Some(name) => targets.push(name.to_owned()),
                None => {
                    out.push(line);
                    continue;
                }
            }
        }
        for target in targets {
            if depth >= MAX_SNIPPET_DEPTH {
                warnings.push(Warning::at(
                    context.page_file,
                    Some(line.origin),
                    format!("snippet {target:?} not included: snippets nest deeper than {MAX_SNIPPET_DEPTH} levels (a cycle?)"),
                ));
                continue;
            }
            match read_snippet(&target, context, &mut files.missing) {
                Ok((path, text)) => {
                    files.found.push(path);
                    let included: Vec<Line> = text
                        .lines()
                        .map(|l| Line {
                            text: format!("{}{}", " ".repeat(indent), expand_leading_tabs(l)),
                            origin: line.origin,
                        })
                        .collect();
                    out.extend(expand_snippets(
                        included,
                        context,
                        files,
                        warnings,
                        depth + 1,
                    ));
                }
                Err(why) => warnings.push(Warning::at(
                    context.page_file,
                    Some(line.origin),
                    format!("snippet {target:?} {why}"),
                )),
            }
        }
    }
    out
}

/// Reads a snippet (`file`, `file:start`, `file:start:end`) from the first base folder that
/// has it.
/// Candidates of earlier base folders that do not exist go to `missing`.
fn read_snippet(
    target: &str,
    context: &SnippetContext<'_>,
    missing: &mut Vec<PathBuf>,
) -> Result<(PathBuf, String), String> {
    let (name, range) = split_line_range(target);
    check_relative(name).map_err(|why| format!("refused: {why}"))?;
    for base in context.bases {
        let base_path = context.site_root.join(base);
        let candidate = base_path.join(name);
        if !candidate.is_file() {
            missing.push(candidate);
            continue;
        }
        // Symlinks must not lead out of the base folder either.
        let (Ok(real_base), Ok(real_file)) = (base_path.canonicalize(), candidate.canonicalize())
        else {
            continue;
        };
        if !real_file.starts_with(&real_base) {
            return Err("refused: it resolves outside the snippet base folder".to_owned());
        }
        let size = std::fs::metadata(&real_file).map(|m| m.len()).unwrap_or(0);
        if size > MAX_FILE_BYTES {
            return Err(format!("is larger than {MAX_FILE_BYTES} bytes"));
        }
        let text =
            std::fs::read_to_string(&real_file).map_err(|err| format!("cannot be read: {err}"))?;
        let text = match range {
            None => text,
            Some((start, end)) => text
                .lines()
                .skip(start.saturating_sub(1))
                .take(end.map_or(usize::MAX, |end| {
                    end.saturating_sub(start.saturating_sub(1))
                }))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        return Ok((real_file, text));
    }
    Err(format!(
        "not found in the snippet base folder(s) {}",
        context.bases.join(", ")
    ))
}

fn split_line_range(target: &str) -> (&str, Option<(usize, Option<usize>)>) {
    let mut parts = target.rsplitn(3, ':');
    let last = parts.next().unwrap_or_default();
    let middle = parts.next();
    let first = parts.next();
    match (first, middle, last.parse::<usize>()) {
        (Some(name), Some(start), Ok(end)) => match start.parse::<usize>() {
            Ok(start) => (name, Some((start, Some(end)))),
            Err(_) => (target, None),
        },
        (None, Some(name), Ok(start)) => (name, Some((start, None))),
        _ => (target, None),
    }
}

// ----- admonitions, details, tabs ---------------------------------------------------------

enum Block {
    Admonition {
        kind: String,
        title: Option<String>,
    },
    Details {
        kind: String,
        title: String,
        open: bool,
    },
    Tab {
        title: String,
        new_set: bool,
    },
}

fn parse_block_start(rest: &str) -> Option<Block> {
    let (marker, after) = rest.split_once(' ').unwrap_or((rest, ""));
    match marker {
        "!!!" | "???" | "???+" => {
            let after = after.trim();
            let (words, title) = match after.find('"') {
                Some(quote) => {
                    let title = after[quote + 1..].strip_suffix('"')?;
                    (&after[..quote], Some(title.to_owned()))
                }
                None => (after, None),
            };
            let classes: Vec<&str> = words.split_whitespace().collect();
            let first = classes.first()?;
            if !classes.iter().all(|c| {
                c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            }) {
                return None;
            }
            let kind = classes.join(" ");
            let default_title = capitalize(first);
            Some(if marker == "!!!" {
                Block::Admonition {
                    kind,
                    title: match title {
                        Some(t) if t.is_empty() => None,
                        Some(t) => Some(t),
                        None => Some(default_title),
                    },
                }
            } else {
                Block::Details {
                    kind,
                    title: title.filter(|t| !t.is_empty()).unwrap_or(default_title),
                    open: marker == "???+",
                }
            })
        }
        "===" | "===!" | "===+" | "===!+" | "===+!" => {
            let title = after.trim().strip_prefix('"')?.strip_suffix('"')?;
            Some(Block::Tab {
                title: title.to_owned(),
                new_set: marker.contains('!'),
            })
        }
        _ => None,
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// HTML-escapes text for element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The body of a block starting at `start` (the line after the marker): blank lines and lines
/// indented by at least `indent + 4`. Returns the body (dedented to `indent`) and where it ends.
fn block_body(lines: &[Line], start: usize, indent: usize) -> (Vec<Line>, usize) {
    let mut end = start;
    let mut last_content = start;
    while end < lines.len() {
        let text = &lines[end].text;
        if is_blank(text) {
            end += 1;
            continue;
        }
        if indent_of(text) < indent + 4 {
            break;
        }
        end += 1;
        last_content = end;
    }
    let body = lines[start..last_content]
        .iter()
        .map(|line| Line {
            text: if is_blank(&line.text) {
                String::new()
            } else {
                format!("{}{}", " ".repeat(indent), &line.text[indent + 4..])
            },
            origin: line.origin,
        })
        .collect();
    (body, last_content)
}

fn transform_blocks(lines: &[Line], tab_sets: &mut usize) -> Vec<Line> {
    let mut out = Vec::with_capacity(lines.len());
    let mut fence: Option<(char, usize)> = None;
    let mut index = 0;
    while index < lines.len() {
        let line = &lines[index];
        let indent = indent_of(&line.text);
        let rest = line.text[indent..].trim_end();
        if let Some((fence_char, fence_len)) = fence {
            let run = rest.len() - rest.trim_start_matches(fence_char).len();
            if run >= fence_len && rest.trim_start_matches(fence_char).trim().is_empty() {
                fence = None;
            }
            out.push(line.clone());
            index += 1;
            continue;
        }
        if let Some(fence_char) = rest.chars().next().filter(|c| *c == '`' || *c == '~') {
            let run = rest.len() - rest.trim_start_matches(fence_char).len();
            if run >= 3 {
                fence = Some((fence_char, run));
                out.push(line.clone());
                index += 1;
                continue;
            }
        }
        let Some(block) = parse_block_start(rest) else {
            out.push(line.clone());
            index += 1;
            continue;
        };
        let pad = " ".repeat(indent);
        let emit = |out: &mut Vec<Line>, text: String| {
            out.push(Line {
                text: if text.is_empty() {
                    text
                } else {
                    format!("{pad}{text}")
                },
                origin: line.origin,
            });
        };
        match block {
            Block::Admonition { kind, title } => {
                let (body, end) = block_body(lines, index + 1, indent);
                emit(
                    &mut out,
                    format!("<div class=\"admonition {}\">", escape_html(&kind)),
                );
                if let Some(title) = title {
                    emit(
                        &mut out,
                        format!("<p class=\"admonition-title\">{}</p>", escape_html(&title)),
                    );
                }
                emit(&mut out, String::new());
                out.extend(transform_blocks(&body, tab_sets));
                emit(&mut out, String::new());
                emit(&mut out, "</div>".to_owned());
                emit(&mut out, String::new());
                index = end;
            }
            Block::Details { kind, title, open } => {
                let (body, end) = block_body(lines, index + 1, indent);
                let open = if open { " open" } else { "" };
                emit(
                    &mut out,
                    format!("<details class=\"{}\"{open}>", escape_html(&kind)),
                );
                emit(
                    &mut out,
                    format!("<summary>{}</summary>", escape_html(&title)),
                );
                emit(&mut out, String::new());
                out.extend(transform_blocks(&body, tab_sets));
                emit(&mut out, String::new());
                emit(&mut out, "</details>".to_owned());
                emit(&mut out, String::new());
                index = end;
            }
            Block::Tab { .. } => {
                *tab_sets += 1;
                let set = *tab_sets;
                let mut tabs: Vec<(String, Vec<Line>)> = Vec::new();
                let mut cursor = index;
                while let Some(Block::Tab { title, new_set }) = lines
                    .get(cursor)
                    .filter(|l| indent_of(&l.text) == indent)
                    .and_then(|l| parse_block_start(l.text[indent..].trim_end()))
                {
                    if new_set && !tabs.is_empty() {
                        break;
                    }
                    let (body, end) = block_body(lines, cursor + 1, indent);
                    tabs.push((title, transform_blocks(&body, tab_sets)));
                    index = end;
                    cursor = end;
                    while lines.get(cursor).is_some_and(|l| is_blank(&l.text)) {
                        cursor += 1;
                    }
                }
                let count = tabs.len();
                emit(
                    &mut out,
                    format!(
                        "<div class=\"tabbed-set tabbed-alternate\" data-tabs=\"{set}:{count}\">"
                    ),
                );
                let mut inputs = String::new();
                let mut labels = String::from("<div class=\"tabbed-labels\">");
                for (n, (title, _)) in tabs.iter().enumerate() {
                    let checked = if n == 0 { " checked=\"checked\"" } else { "" };
                    let n = n + 1;
                    inputs.push_str(&format!(
                        "<input{checked} id=\"__tabbed_{set}_{n}\" name=\"__tabbed_{set}\" type=\"radio\">"
                    ));
                    labels.push_str(&format!(
                        "<label for=\"__tabbed_{set}_{n}\">{}</label>",
                        escape_html(title)
                    ));
                }
                labels.push_str("</div>");
                emit(&mut out, inputs);
                emit(&mut out, labels);
                emit(&mut out, "<div class=\"tabbed-content\">".to_owned());
                for (_, body) in tabs {
                    emit(&mut out, "<div class=\"tabbed-block\">".to_owned());
                    emit(&mut out, String::new());
                    out.extend(body);
                    emit(&mut out, String::new());
                    emit(&mut out, "</div>".to_owned());
                }
                emit(&mut out, "</div>".to_owned());
                emit(&mut out, "</div>".to_owned());
                emit(&mut out, String::new());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Preprocessed {
        let context = SnippetContext {
            site_root: Path::new("/nonexistent"),
            bases: &[],
            page_file: "docs/p.md",
        };
        let mut warnings = Vec::new();
        preprocess(text, 1, &context, &mut warnings)
    }

    #[test]
    fn admonition_body_stays_markdown_and_keeps_lines() {
        let out =
            run("Intro\n\n!!! warning \"Careful <now>\"\n    Body **bold**\n\n    more\n\nAfter\n");
        assert!(out.text.contains("<div class=\"admonition warning\">\n<p class=\"admonition-title\">Careful &lt;now&gt;</p>\n\nBody **bold**\n\nmore\n\n</div>"), "{}", out.text);
        let body_line = out
            .text
            .lines()
            .position(|l| l == "Body **bold**")
            .expect("body");
        assert_eq!(out.line_map[body_line], 4);
        assert!(out.text.ends_with("After\n"));
    }

    #[test]
    fn markers_inside_fences_are_left_alone() {
        let out = run("```\n!!! note\n    x\n```\n");
        assert_eq!(out.text, "```\n!!! note\n    x\n```\n");
    }

    #[test]
    fn consecutive_tabs_form_one_set() {
        let out = run("=== \"One\"\n    1\n\n=== \"Two\"\n    2\n");
        assert_eq!(out.text.matches("tabbed-set").count(), 1, "{}", out.text);
        assert_eq!(out.text.matches("tabbed-block").count(), 2);
        assert!(out.text.contains("data-tabs=\"1:2\""));
    }

    #[test]
    fn details_open_and_closed() {
        let out = run("???+ tip\n    shown\n\n??? danger \"Hidden\"\n    hidden\n");
        assert!(
            out.text
                .contains("<details class=\"tip\" open>\n<summary>Tip</summary>"),
            "{}",
            out.text
        );
        assert!(
            out.text
                .contains("<details class=\"danger\">\n<summary>Hidden</summary>")
        );
    }

    #[test]
    fn line_ranges_split() {
        assert_eq!(split_line_range("a.md:2:4"), ("a.md", Some((2, Some(4)))));
        assert_eq!(split_line_range("a.md:3"), ("a.md", Some((3, None))));
        assert_eq!(split_line_range("a.md"), ("a.md", None));
    }
}

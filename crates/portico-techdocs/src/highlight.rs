//! Server-side syntax highlighting of fenced code with syntect and bat's larger grammar set
//! (two-face). Code gets CSS classes (`hl-…`), so one stylesheet carries a light and a dark
//! theme and pages need no script.

use std::sync::OnceLock;

use syntect::html::{ClassStyle, ClassedHTMLGenerator, css_for_theme_with_class_style};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;
use two_face::theme::EmbeddedThemeName;

use crate::preprocess::escape_html;

const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(two_face::syntax::extra_newlines)
}

/// Highlights `code` written in `lang` (a fence's first word: `rust`, `ts`, `yaml`, …). Unknown
/// languages come back escaped but uncoloured. The result is the inside of `<code>`.
pub fn highlight(code: &str, lang: &str) -> String {
    let set = syntaxes();
    let Some(syntax) = (!lang.is_empty())
        .then(|| set.find_syntax_by_token(lang))
        .flatten()
    else {
        return escape_html(code);
    };
    let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, set, CLASS_STYLE);
    for line in LinesWithEndings::from(code) {
        if generator
            .parse_html_for_line_which_includes_newline(line)
            .is_err()
        {
            // A grammar failure must not lose the code: show it plain.
            return escape_html(code);
        }
    }
    generator.finalize()
}

/// The stylesheet for highlighted code: a light theme, and a dark one under
/// `prefers-color-scheme: dark` or `[data-theme=dark]`.
pub fn stylesheet() -> String {
    let themes = two_face::theme::extra();
    let light =
        css_for_theme_with_class_style(themes.get(EmbeddedThemeName::InspiredGithub), CLASS_STYLE)
            .unwrap_or_default();
    let dark =
        css_for_theme_with_class_style(themes.get(EmbeddedThemeName::OneHalfDark), CLASS_STYLE)
            .unwrap_or_default();
    let dark_scoped = scope_rules(&dark, "[data-theme=dark] ");
    format!(
        "/* Code highlighting: light */\n{light}\n/* dark */\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n{dark_scoped}\n"
    )
}

/// Prefixes every selector of simple `selector { … }` CSS with `scope`.
fn scope_rules(css: &str, scope: &str) -> String {
    let mut out = String::with_capacity(css.len() * 2);
    for rule in css.split_inclusive('}') {
        match rule.split_once('{') {
            Some((selectors, body))
                if !selectors.trim().is_empty() && !selectors.contains("/*") =>
            {
                let scoped: Vec<String> = selectors
                    .split(',')
                    .map(|s| format!("{scope}{}", s.trim()))
                    .collect();
                out.push_str(&scoped.join(", "));
                out.push_str(" {");
                out.push_str(body);
            }
            _ => out.push_str(rule),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_get_classes_unknown_are_escaped() {
        let html = highlight("fn main() {}\n", "rust");
        assert!(html.contains("class=\"hl-"), "{html}");
        assert!(highlight("let x: number = 1;\n", "ts").contains("hl-"));
        assert_eq!(highlight("<b>\n", "nosuchlang"), "&lt;b&gt;\n");
        let css = stylesheet();
        assert!(css.contains(".hl-") && css.contains("prefers-color-scheme: dark"));
    }
}

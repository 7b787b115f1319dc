//! A small syntax highlighter for API definitions shown as code (GraphQL SDL, protobuf, and a
//! fallback for anything else): comments, strings, keywords and type names become `<span>`s with
//! classes the stylesheet colours. Everything else is HTML-escaped, so the output is safe.

/// Languages with their keywords and line-comment marker.
fn keywords(language: &str) -> (&'static [&'static str], &'static str) {
    match language {
        "graphql" => (
            &[
                "type",
                "interface",
                "union",
                "enum",
                "input",
                "scalar",
                "schema",
                "extend",
                "implements",
                "directive",
                "query",
                "mutation",
                "subscription",
                "fragment",
                "on",
                "repeatable",
            ],
            "#",
        ),
        "grpc" | "proto" | "protobuf" => (
            &[
                "syntax", "package", "import", "option", "message", "enum", "service", "rpc",
                "returns", "stream", "repeated", "optional", "required", "oneof", "map",
                "reserved", "extend", "public", "weak",
            ],
            "//",
        ),
        _ => (&[], "#"),
    }
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn span(out: &mut String, class: &str, text: &str) {
    out.push_str("<span class=\"hl-");
    out.push_str(class);
    out.push_str("\">");
    escape_into(out, text);
    out.push_str("</span>");
}

/// Highlighted, escaped HTML of `code` in `language` (`graphql`, `grpc`, …).
pub(crate) fn highlight(code: &str, language: &str) -> String {
    let (words, comment) = keywords(&language.to_ascii_lowercase());
    let mut out = String::with_capacity(code.len() * 2);
    let mut rest = code;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with(comment) || (comment == "//" && rest.starts_with("/*")) {
            let end = if rest.starts_with("/*") {
                rest.find("*/").map_or(rest.len(), |i| i + 2)
            } else {
                rest.find('\n').unwrap_or(rest.len())
            };
            span(&mut out, "comment", &rest[..end]);
            rest = &rest[end..];
        } else if c == '"' {
            let triple = rest.starts_with("\"\"\"");
            let end = if triple {
                rest[3..].find("\"\"\"").map_or(rest.len(), |i| i + 6)
            } else {
                let mut end = rest.len();
                let mut escaped = false;
                for (i, ch) in rest.char_indices().skip(1) {
                    match ch {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => {
                            end = i + 1;
                            break;
                        }
                        '\n' => {
                            end = i;
                            break;
                        }
                        _ => escaped = false,
                    }
                }
                end
            };
            span(&mut out, "string", &rest[..end]);
            rest = &rest[end..];
        } else if c.is_ascii_alphabetic() || c == '_' || c == '@' {
            let end = rest
                .char_indices()
                .skip(1)
                .find(|(_, ch)| !(ch.is_ascii_alphanumeric() || *ch == '_'))
                .map_or(rest.len(), |(i, _)| i);
            let word = &rest[..end];
            if words.contains(&word) {
                span(&mut out, "keyword", word);
            } else if word.starts_with('@') {
                span(&mut out, "directive", word);
            } else if word.starts_with(|ch: char| ch.is_ascii_uppercase()) {
                span(&mut out, "type", word);
            } else {
                escape_into(&mut out, word);
            }
            rest = &rest[end..];
        } else {
            escape_into(&mut out, &rest[..c.len_utf8()]);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::highlight;

    #[test]
    fn graphql_keywords_types_comments_strings() {
        let html = highlight(
            "# People\ntype Person { name: String @deprecated(reason: \"<no>\") }",
            "graphql",
        );
        assert!(
            html.starts_with("<span class=\"hl-comment\"># People</span>"),
            "{html}"
        );
        assert!(
            html.contains(
                "<span class=\"hl-keyword\">type</span> <span class=\"hl-type\">Person</span>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"hl-directive\">@deprecated</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"hl-string\">&quot;&lt;no&gt;&quot;</span>"),
            "{html}"
        );
    }

    #[test]
    fn proto_block_comments_and_unterminated_strings_are_safe() {
        let html = highlight(
            "/* a */ service S { rpc Get(R) returns (R); } \"open <b>",
            "grpc",
        );
        assert!(
            html.contains("<span class=\"hl-comment\">/* a */</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"hl-keyword\">rpc</span>"),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
    }
}

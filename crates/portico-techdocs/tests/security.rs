//! Hostile docs: an XSS corpus in Markdown renders inert (no script, no event handler, no
//! `javascript:`/`data:` URL, no SVG/iframe/form), and paths that would read outside the site —
//! through nav, snippets, symlinks or `docs_dir` — are refused.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use portico_techdocs::{BuildOptions, TechDocsError, build_site};

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const XSS_CORPUS: &str = r#"---
title: "<script>alert('title')</script>"
---

# XSS corpus <img src=x onerror=alert(1)>

<script>alert(1)</script>
<SCRIPT SRC=//evil.example/x.js></SCRIPT>
<<script>script>alert(1)<</script>/script>
<img src=x onerror=alert(1)>
<img src="javascript:alert(1)">
<a href="javascript:alert(1)">plain</a>
<a href="JaVaScRiPt:alert(1)">mixed case</a>
<a href="&#106;avascript:alert(1)">decimal entity</a>
<a href="&#x6A;&#x61;vascript&colon;alert(1)">hex entity</a>
<a href="java&#x09;script:alert(1)">tab entity</a>
<a href="  javascript:alert(1)">leading spaces</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data url</a>
<a href="vbscript:msgbox(1)">vbscript</a>
<svg onload=alert(1)><script>alert(1)</script></svg>
<svg><a xlink:href="javascript:alert(1)"><text x="0" y="20">svg link</text></a></svg>
<svg><animate onbegin=alert(1) attributeName=x dur=1s>
<math><mi xlink:href="javascript:alert(1)">math</mi></math>
<iframe src="https://evil.example"></iframe>
<iframe srcdoc="<script>alert(1)</script>"></iframe>
<object data="javascript:alert(1)"></object>
<embed src="javascript:alert(1)">
<form action="javascript:alert(1)"><button>go</button></form>
<style>body { background: url(javascript:alert(1)) }</style>
<div style="background:url(javascript:alert(1))">styled</div>
<details open ontoggle=alert(1)><summary>t</summary></details>
<input autofocus onfocus=alert(1)>
<body onload=alert(1)>
<base href="javascript:alert(1)//">
<meta http-equiv="refresh" content="0;url=javascript:alert(1)">
<link rel="stylesheet" href="javascript:alert(1)">
<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>
<p title="&quot; onmouseover=&quot;alert(1)">attribute break-out</p>
<a href="https://ok.example" onclick="alert(1)">handler on a good link</a>

[markdown link](javascript:alert(1))
[markdown entity link](&#106;avascript:alert(1))
[markdown data link](data:text/html,<script>alert(1)</script>)
![markdown image](javascript:alert(1))
[titled](https://ok.example "x\" onmouseover=\"alert(1)")
<javascript:alert(1)>

!!! note "<img src=x onerror=alert(1)>"
    Admonition title payload.

=== "\"><script>alert(1)</script>"
    Tab title payload.

```"><script>alert(1)</script>
fence info payload
```

```html
<script>alert("shown as code, not run")</script>
```
"#;

/// Every tag name and attribute (name, value) in serialized HTML. The builder's output is
/// html5ever-serialized, so every literal `<` starts a tag and values are double-quoted.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let mut end = 0;
        let mut quote = false;
        for (i, ch) in rest.char_indices() {
            match ch {
                '"' => quote = !quote,
                '>' if !quote => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let tag = &rest[..end];
        rest = &rest[end..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect::<String>()
            .to_ascii_lowercase();
        let mut attrs = Vec::new();
        let mut body = &tag[tag.find(char::is_whitespace).unwrap_or(tag.len())..];
        loop {
            body = body.trim_start();
            let Some(eq) = body.find('=') else { break };
            let attr = body[..eq].trim().to_ascii_lowercase();
            let after = &body[eq + 1..];
            let Some(value_start) = after.strip_prefix('"') else {
                break;
            };
            let value_end = value_start.find('"').unwrap_or(value_start.len());
            attrs.push((
                attr.rsplit(' ').next().unwrap_or("").to_owned(),
                value_start[..value_end].to_owned(),
            ));
            body = &value_start[(value_end + 1).min(value_start.len())..];
        }
        out.push((name, attrs));
    }
    out
}

#[test]
fn xss_corpus_renders_inert() {
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "mkdocs.yml", "site_name: XSS\n");
    write(site.path(), "docs/index.md", XSS_CORPUS);
    let out = tempfile::tempdir().unwrap();
    build_site(site.path(), out.path(), BuildOptions::default()).unwrap();
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();

    let forbidden_tags = [
        "script", "iframe", "object", "embed", "form", "style", "svg", "math", "base", "meta",
        "link", "noscript", "body", "button", "animate",
    ];
    for (name, attrs) in tags(&html) {
        // The shell's own <meta charset>, <link rel=stylesheet> and <body> are outside the
        // author's content; they are checked below.
        let shell = matches!(name.as_str(), "meta" | "link" | "body")
            && attrs.iter().all(|(a, v)| {
                matches!(a.as_str(), "charset" | "name" | "content" | "rel" | "href")
                    && !v.to_ascii_lowercase().contains("javascript")
            });
        assert!(
            !forbidden_tags.contains(&name.as_str()) || shell,
            "forbidden <{name}> survived: {attrs:?}"
        );
        for (attr, value) in &attrs {
            assert!(
                !attr.starts_with("on"),
                "event handler {attr}={value:?} on <{name}>"
            );
            assert!(
                attr != "style" && attr != "srcdoc" && !attr.contains("xlink"),
                "{attr} on <{name}>"
            );
            if matches!(
                attr.as_str(),
                "href" | "src" | "action" | "data" | "formaction"
            ) {
                let lower: String = value.to_ascii_lowercase().split_whitespace().collect();
                assert!(
                    !lower.contains("javascript:")
                        && !lower.contains("vbscript:")
                        && !lower.starts_with("data:"),
                    "dangerous URL {attr}={value:?} on <{name}>"
                );
            }
        }
    }
    // Text payloads are shown, escaped, not dropped silently: the code block keeps its text.
    assert!(html.contains("shown as code, not run"), "{html}");
    // The page title from front matter is escaped in <title> and the nav.
    assert!(
        html.contains("<title>&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; - XSS</title>"),
        "{html}"
    );
    // The shell's own markup has no script on this page (no diagram, no live reload).
    assert!(!html.to_ascii_lowercase().contains("<script"));
}

#[test]
fn snippets_cannot_read_outside_their_base() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("secret.txt"), "TOP-SECRET").unwrap();
    let site = root.path().join("site");
    write(&site, "mkdocs.yml", "site_name: S\n");
    write(&site, "includes/ok.md", "included fine");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        root.path().join("secret.txt"),
        site.join("includes/link.md"),
    )
    .unwrap();
    let secret = root.path().join("secret.txt");
    write(
        &site,
        "docs/index.md",
        &format!(
            "# S\n\n--8<-- \"includes/ok.md\"\n\n--8<-- \"../secret.txt\"\n\n--8<-- \"{}\"\n\n--8<-- \"includes/link.md\"\n\n--8<--\nincludes/../../secret.txt\n--8<--\n",
            secret.display()
        ),
    );
    let out = tempfile::tempdir().unwrap();
    let report = build_site(&site, out.path(), BuildOptions::default()).unwrap();
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(html.contains("included fine"));
    assert!(!html.contains("TOP-SECRET"));
    let refused = report
        .warnings
        .iter()
        .filter(|w| w.message.contains("refused"))
        .count();
    let expected = if cfg!(unix) { 4 } else { 3 };
    assert_eq!(refused, expected, "{:?}", report.warnings);
    assert!(
        report
            .warnings
            .iter()
            .all(|w| w.file == "docs/index.md" && w.line.is_some())
    );
}

#[test]
fn nav_and_docs_dir_cannot_leave_the_site() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("outside.md"), "# OUTSIDE-PAGE").unwrap();
    let site = root.path().join("site");
    write(
        &site,
        "mkdocs.yml",
        "site_name: S\nnav:\n  - index.md\n  - Out: ../outside.md\n  - Abs: /etc/passwd\n",
    );
    write(&site, "docs/index.md", "# S\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.path().join("outside.md"), site.join("docs/linked.md"))
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = build_site(&site, out.path(), BuildOptions::default()).unwrap();
    for file in &report.metadata.files {
        let text = std::fs::read_to_string(out.path().join(file)).unwrap_or_default();
        assert!(!text.contains("OUTSIDE-PAGE"), "{file}");
    }
    let messages: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("mkdocs.yml:4:") && m.contains("refused")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("mkdocs.yml:5:") && m.contains("refused")),
        "{messages:?}"
    );
    if cfg!(unix) {
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("docs/linked.md") && m.contains("symbolic link")),
            "{messages:?}"
        );
    }

    write(&site, "mkdocs.yml", "site_name: S\ndocs_dir: ../\n");
    match build_site(&site, out.path(), BuildOptions::default()) {
        Err(TechDocsError::BadConfig { line, message, .. }) => {
            assert_eq!(line, 2);
            assert!(message.contains("refused"), "{message}");
        }
        other => panic!("docs_dir ../ must be refused, got {other:?}"),
    }
}

//! `${{ }}` expressions with Backstage's (Nunjucks) semantics, on minijinja.
//!
//! Two syntaxes: template.yaml values and skeleton files use `${{ … }}` for output and `{% … %}`
//! for blocks, so a plain `{{ … }}` (a GitHub Actions file, a Helm chart) passes through untouched;
//! `cookiecutterCompat` files use `{{ cookiecutter.x }}`. A value that is *only* one expression
//! keeps its JSON type (a list stays a list), as Backstage does. Nunjucks spellings minijinja does
//! not know are rewritten inside the delimiters before compiling: `===`/`!==` and bare object keys
//! (`{ defaultKind: 'group' }`).
//!
//! Rendering is sandboxed and bounded: no loader (so no `include` of files), no network, no
//! globals beyond the context, a fuel budget per render, a recursion limit and a size cap on the
//! output.

use minijinja::value::{Serde, Value as JinjaValue};
use minijinja::{AutoEscape, Environment, Error as JinjaError, ErrorKind, UndefinedBehavior};
use serde_json::{Map, Value};

use crate::filters;

/// Bounds on one render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Instructions one render may execute (minijinja fuel).
    pub fuel: u64,
    /// Largest rendered output, in bytes.
    pub max_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 2_000_000,
            max_output: 16 * 1024 * 1024,
        }
    }
}

/// Why an expression or template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot render {source_text:?}: {message}")]
pub struct ExprError {
    /// The template text (shortened).
    pub source_text: String,
    /// minijinja's explanation.
    pub message: String,
}

impl ExprError {
    fn new(source: &str, error: &JinjaError) -> Self {
        let mut message = error.to_string();
        if let Some(detail) = error.detail()
            && !message.contains(detail)
        {
            message = format!("{message}: {detail}");
        }
        Self {
            source_text: shorten(source),
            message,
        }
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Which delimiters a renderer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Syntax {
    /// `{{ }}` instead of `${{ }}` (fetch:template's `cookiecutterCompat`).
    pub cookiecutter: bool,
    /// Nunjucks `trimBlocks`: drop the first newline after a block tag.
    pub trim_blocks: bool,
    /// Nunjucks `lstripBlocks`: strip whitespace before a block tag on its line.
    pub lstrip_blocks: bool,
}

/// A sandboxed renderer for one syntax.
#[derive(Debug)]
pub struct Renderer {
    env: Environment<'static>,
    limits: Limits,
    variable_start: &'static str,
}

impl Renderer {
    /// The renderer for template.yaml values (`${{ }}`).
    pub fn new(limits: Limits) -> Self {
        Self::with_syntax(Syntax::default(), limits)
    }

    /// A renderer with the given delimiters and whitespace rules.
    pub fn with_syntax(syntax: Syntax, limits: Limits) -> Self {
        let variable_start = if syntax.cookiecutter { "{{" } else { "${{" };
        let mut env = Environment::new();
        let mut builder = minijinja::syntax::SyntaxConfig::builder();
        builder
            .variable_delimiters(variable_start, "}}")
            .block_delimiters("{%", "%}")
            .comment_delimiters("{#", "#}")
            .trim_blocks(syntax.trim_blocks)
            .lstrip_blocks(syntax.lstrip_blocks)
            // Nunjucks keeps a file's last newline; minijinja would drop it.
            .keep_trailing_newline(true);
        if let Ok(config) = builder.build() {
            env.set_syntax(config);
        }
        // Nunjucks: a missing attribute of a missing value is undefined, printed as "".
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_fuel(Some(limits.fuel));
        env.set_recursion_limit(100);
        filters::register(&mut env);
        if syntax.cookiecutter {
            env.add_filter("jsonify", filters::dump);
        }
        Self {
            env,
            limits,
            variable_start,
        }
    }

    /// Renders a whole template text (a file, a path, a string with text around expressions).
    pub fn render_str(&self, text: &str, context: &Value) -> Result<String, ExprError> {
        if !text.contains(self.variable_start) && !text.contains("{%") && !text.contains("{#") {
            return Ok(text.to_owned());
        }
        let source = nunjucks_compat(text, self.variable_start);
        let rendered = self
            .env
            .render_str(&source, JinjaValue::from(Serde(context)))
            .map_err(|error| ExprError::new(text, &error))?;
        self.check_size(text, rendered)
    }

    fn check_size(&self, text: &str, rendered: String) -> Result<String, ExprError> {
        if rendered.len() > self.limits.max_output {
            return Err(ExprError {
                source_text: shorten(text),
                message: format!("the result is larger than {} bytes", self.limits.max_output),
            });
        }
        Ok(rendered)
    }

    /// Evaluates one expression (the text between `${{` and `}}`) to a JSON value; `None` when
    /// it is undefined.
    pub fn eval(&self, expression: &str, context: &Value) -> Result<Option<Value>, ExprError> {
        let source = rewrite_expression(expression);
        let compiled = self
            .env
            .compile_expression(&source)
            .map_err(|error| ExprError::new(expression, &error))?;
        let value = compiled
            .eval(JinjaValue::from(Serde(context)))
            .map_err(|error| ExprError::new(expression, &error))?;
        if value.is_undefined() {
            return Ok(None);
        }
        let json = serde_json::to_value(&value).map_err(|error| ExprError {
            source_text: shorten(expression),
            message: format!("the result cannot be represented as JSON: {error}"),
        })?;
        if let Value::String(text) = &json {
            self.check_size(expression, text.clone())?;
        }
        Ok(Some(json))
    }

    /// Renders a template.yaml value: strings are templates, a string that is only one
    /// `${{ }}` keeps the expression's JSON type, objects and lists are rendered item by item,
    /// and an object key whose value is undefined is left out (as in JSON from JavaScript).
    pub fn render_value(&self, value: &Value, context: &Value) -> Result<Value, ExprError> {
        Ok(self.render_optional(value, context)?.unwrap_or(Value::Null))
    }

    fn render_optional(&self, value: &Value, context: &Value) -> Result<Option<Value>, ExprError> {
        match value {
            Value::String(text) => match single_expression(text) {
                Some(expression) => self.eval(expression, context),
                None => self
                    .render_str(text, context)
                    .map(|text| Some(Value::String(text))),
            },
            Value::Array(items) => {
                let mut rendered = Vec::with_capacity(items.len());
                for item in items {
                    rendered.push(self.render_optional(item, context)?.unwrap_or(Value::Null));
                }
                Ok(Some(Value::Array(rendered)))
            }
            Value::Object(object) => {
                let mut rendered = Map::new();
                for (key, item) in object {
                    if let Some(item) = self.render_optional(item, context)? {
                        rendered.insert(key.clone(), item);
                    }
                }
                Ok(Some(Value::Object(rendered)))
            }
            other => Ok(Some(other.clone())),
        }
    }
}

/// The expression inside a string that is exactly `${{ … }}`, if it is one.
pub fn single_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("${{")?.strip_suffix("}}")?;
    if inner.contains("}}") || inner.contains("${{") || inner.trim().is_empty() {
        return None;
    }
    Some(inner)
}

/// JavaScript truthiness, which Backstage applies to `if:` (`false`, `null`, `""`, `0`, `[]`
/// and an absent value are false; Backstage also treats an empty list as false).
pub fn is_truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(number)) => number.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(_)) => true,
    }
}

/// Rewrites the Nunjucks-only spellings inside every `${{ }}`/`{{ }}` and `{% %}` of a template.
fn nunjucks_compat(text: &str, variable_start: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next_var = rest
            .find(variable_start)
            .map(|at| (at, variable_start, "}}"));
        let next_block = rest.find("{%").map(|at| (at, "{%", "%}"));
        let next = match (next_var, next_block) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((at, open, close)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at + open.len()]);
        let inside = &rest[at + open.len()..];
        let Some(end) = find_closing(inside, close) else {
            out.push_str(inside);
            return out;
        };
        out.push_str(&rewrite_expression(&inside[..end]));
        out.push_str(close);
        rest = &inside[end + close.len()..];
    }
}

/// Where `close` ends an expression, skipping string literals.
fn find_closing(text: &str, close: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut quote = None;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match quote {
            Some(_) if byte == b'\\' => index += 1,
            Some(q) if byte == q => quote = None,
            Some(_) => {}
            None if byte == b'\'' || byte == b'"' => quote = Some(byte),
            None if text[index..].starts_with(close) => return Some(index),
            None => {}
        }
        index += 1;
    }
    None
}

/// `===` → `==`, `!==` → `!=`, `{ key: v }` → `{ 'key': v }`, outside string literals.
fn rewrite_expression(expression: &str) -> String {
    let bytes = expression.as_bytes();
    let mut out = String::with_capacity(expression.len() + 8);
    let mut quote: Option<u8> = None;
    let mut index = 0;
    // The last significant character outside strings, to spot keys after `{` or `,`.
    let mut last_significant = b' ';
    while index < bytes.len() {
        let byte = bytes[index];
        if let Some(q) = quote {
            let end = if byte == b'\\' {
                (index + 2).min(bytes.len())
            } else {
                index + 1
            };
            out.push_str(&expression[index..end]);
            if byte == q {
                quote = None;
            }
            index = end;
            continue;
        }
        if byte == b'\'' || byte == b'"' {
            quote = Some(byte);
            out.push(byte as char);
            last_significant = byte;
            index += 1;
            continue;
        }
        if expression[index..].starts_with("===") || expression[index..].starts_with("!==") {
            out.push_str(&expression[index..index + 2]);
            last_significant = b'=';
            index += 3;
            continue;
        }
        if (byte.is_ascii_alphabetic() || byte == b'_')
            && (last_significant == b'{' || last_significant == b',')
        {
            let end = expression[index..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(expression.len(), |len| index + len);
            let after = expression[end..].trim_start();
            if after.starts_with(':') && inside_braces(&out) {
                out.push('\'');
                out.push_str(&expression[index..end]);
                out.push('\'');
            } else {
                out.push_str(&expression[index..end]);
            }
            last_significant = b'a';
            index = end;
            continue;
        }
        let ch = expression[index..].chars().next().unwrap_or(' ');
        out.push(ch);
        if !ch.is_whitespace() {
            last_significant = if ch.is_ascii() { byte } else { b'a' };
        }
        index += ch.len_utf8();
    }
    out
}

/// Whether the innermost open bracket of `prefix` (strings ignored) is a `{`.
fn inside_braces(prefix: &str) -> bool {
    let mut stack = Vec::new();
    let mut quote = None;
    let mut escaped = false;
    for ch in prefix.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '\'' | '"' => quote = Some(ch),
            '{' | '[' | '(' => stack.push(ch),
            '}' | ']' | ')' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.last() == Some(&'{')
}

/// An error raised from a filter for bad input.
pub(crate) fn filter_error(message: impl Into<String>) -> JinjaError {
    JinjaError::new(ErrorKind::InvalidOperation, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Value {
        json!({
            "parameters": {
                "name": "svc", "count": 3, "tags": ["a", "b"], "flag": false,
                "repoUrl": "github.com?owner=acme&repo=svc",
                "owner": "group:default/team-a",
            },
            "steps": {"fetch": {"output": {"x": 1}}},
        })
    }

    fn render(value: Value) -> Value {
        Renderer::new(Limits::default())
            .render_value(&value, &context())
            .unwrap()
    }

    #[test]
    fn a_single_expression_keeps_its_type() {
        assert_eq!(render(json!("${{ parameters.tags }}")), json!(["a", "b"]));
        assert_eq!(render(json!("${{ parameters.count }}")), json!(3));
        assert_eq!(render(json!("${{ parameters.flag }}")), json!(false));
        assert_eq!(render(json!("${{ steps.fetch.output }}")), json!({"x": 1}));
        assert_eq!(render(json!("${{ steps['fetch'].output.x }}")), json!(1));
        assert_eq!(render(json!("n=${{ parameters.count }}")), json!("n=3"));
    }

    #[test]
    fn undefined_keys_are_left_out_and_missing_chains_are_empty() {
        assert_eq!(
            render(json!({"a": "${{ parameters.nope }}", "b": "x${{ parameters.nope.deeper }}y"})),
            json!({"b": "xy"})
        );
        assert_eq!(render(json!(["${{ parameters.nope }}"])), json!([null]));
    }

    #[test]
    fn nunjucks_spellings_work() {
        assert_eq!(
            render(json!("${{ parameters.name === 'svc' }}")),
            json!(true)
        );
        assert_eq!(
            render(json!("${{ parameters.flag !== true }}")),
            json!(true)
        );
        assert_eq!(
            render(json!("${{ parameters.name + '/' + parameters.name }}")),
            json!("svc/svc")
        );
        assert_eq!(
            render(json!("${{ parameters.tags | join(',') | upper }}")),
            json!("A,B")
        );
        assert_eq!(
            render(json!("${{ parameters.tags | dump }}")),
            json!("[\"a\",\"b\"]")
        );
        assert_eq!(
            render(json!("${{ parameters.missing | default('d') }}")),
            json!("d")
        );
        assert_eq!(
            render(json!("${{ parameters.name if parameters.nope else 'x' }}")),
            json!("x")
        );
        assert_eq!(
            render(json!(
                "${{ parameters.owner | parseEntityRef({ defaultKind: 'group' }) | pick('name') }}"
            )),
            json!("team-a")
        );
        assert_eq!(
            render(json!("${{ 'a === b' }}")),
            json!("a === b"),
            "strings are not rewritten"
        );
    }

    #[test]
    fn plain_double_braces_pass_through_and_blocks_work() {
        let renderer = Renderer::new(Limits::default());
        let text = "run: {{ github.sha }} ${{ parameters.name }}{% if parameters.count > 2 %} big{% endif %}\n";
        assert_eq!(
            renderer.render_str(text, &context()).unwrap(),
            "run: {{ github.sha }} svc big\n"
        );
    }

    #[test]
    fn cookiecutter_syntax() {
        let renderer = Renderer::with_syntax(
            Syntax {
                cookiecutter: true,
                ..Syntax::default()
            },
            Limits::default(),
        );
        let ctx = json!({"cookiecutter": {"name": "x", "list": [1]}});
        assert_eq!(
            renderer
                .render_str(
                    "{{ cookiecutter.name }} {{ cookiecutter.list | jsonify }}",
                    &ctx
                )
                .unwrap(),
            "x [1]"
        );
    }

    #[test]
    fn runaway_templates_stop() {
        let renderer = Renderer::new(Limits {
            fuel: 10_000,
            max_output: 1024,
        });
        let error = renderer
            .render_str(
                "{% for i in range(100000) %}${{ i }}{% endfor %}",
                &json!({}),
            )
            .unwrap_err();
        assert!(error.message.contains("fuel"), "{error}");
        let error = renderer
            .render_str("${{ 'x' * 5000 }}", &json!({}))
            .unwrap_err();
        assert!(error.message.contains("larger"), "{error}");
        let error = renderer
            .render_str("{% include 'etc/passwd' %}", &json!({}))
            .unwrap_err();
        assert!(!error.message.is_empty());
    }

    #[test]
    fn truthiness_is_javascript_like() {
        for falsy in [json!(false), json!(null), json!(""), json!(0), json!([])] {
            assert!(!is_truthy(Some(&falsy)), "{falsy}");
        }
        assert!(!is_truthy(None));
        for truthy in [json!(true), json!("x"), json!(1), json!([0]), json!({})] {
            assert!(is_truthy(Some(&truthy)), "{truthy}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn text_without_delimiters_is_unchanged(text in "[^$%{#]*") {
                let renderer = Renderer::new(Limits::default());
                prop_assert_eq!(renderer.render_str(&text, &context()).unwrap(), text);
            }

            #[test]
            fn a_single_expression_round_trips_any_string(text in "\\PC*") {
                let renderer = Renderer::new(Limits::default());
                let ctx = json!({"parameters": {"v": text.clone()}});
                prop_assert_eq!(
                    renderer.render_value(&json!("${{ parameters.v }}"), &ctx).unwrap(),
                    Value::String(text)
                );
            }

            #[test]
            fn integers_keep_their_type(n in any::<i64>()) {
                let renderer = Renderer::new(Limits::default());
                let ctx = json!({"parameters": {"n": n}});
                prop_assert_eq!(
                    renderer.render_value(&json!("${{ parameters.n }}"), &ctx).unwrap(),
                    json!(n)
                );
            }
        }
    }
}

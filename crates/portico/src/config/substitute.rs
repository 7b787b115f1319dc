//! `${VAR}` substitution in one string value, after parsing (never on the file's text, so a
//! variable's content can never change the YAML structure).
//!
//! The forms are Backstage's: `${VAR}` is the variable's value, `${VAR:-default}` uses `default`
//! when the variable is unset or empty, `$${…}` is a literal `${…}`. The name and the default
//! are trimmed; a `${` without a closing `}` (or with a `{` before it) is kept as written.
//! Unlike Backstage, which silently drops a value whose variable is unset, an unset `${VAR}`
//! without a default is an error, and `${VAR:-}` gives an empty string.

/// Why a string could not be substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SubstError {
    /// `${NAME}` names a variable that is not set and has no default.
    Unset(String),
    /// `${}` or `${:-x}`.
    EmptyName,
}

impl SubstError {
    /// The message shown after the file and key path.
    pub(super) fn message(&self) -> String {
        match self {
            Self::Unset(name) => format!(
                "environment variable {name} is not set; set it, or give a default with \
                 ${{{name}:-value}}"
            ),
            Self::EmptyName => "\"${}\" names no variable; write ${NAME} or $${…} for a literal \
                                \"${…}\""
                .to_owned(),
        }
    }
}

/// Replaces every `${…}` reference in `text`.
pub(super) fn substitute(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SubstError> {
    if !text.contains("${") {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        // The reference ends at the first `}`, and must not contain `{`.
        let end = after
            .find(['{', '}'])
            .filter(|&i| after[i..].starts_with('}'));
        let Some(end) = end else {
            // Not a reference: keep everything up to and including this `$`.
            out.push_str(&rest[..=start]);
            rest = &rest[start + 1..];
            continue;
        };
        let body = &after[..end];
        let before = &rest[..start];
        match before.strip_suffix('$') {
            Some(kept) => {
                out.push_str(kept);
                out.push_str("${");
                out.push_str(body);
                out.push('}');
            }
            None => {
                out.push_str(before);
                out.push_str(&lookup(body, env)?);
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of one reference's body (`NAME` or `NAME:-default`).
fn lookup(body: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, SubstError> {
    match body.split_once(":-") {
        Some((name, default)) => {
            let name = name.trim();
            if name.is_empty() {
                return Err(SubstError::EmptyName);
            }
            Ok(env(name)
                .filter(|value| !value.is_empty())
                .unwrap_or_else(|| default.trim().to_owned()))
        }
        None => {
            let name = body.trim();
            if name.is_empty() {
                return Err(SubstError::EmptyName);
            }
            env(name).ok_or_else(|| SubstError::Unset(name.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.internal".to_owned()),
            "EMPTY" => Some(String::new()),
            "BRACES" => Some("${HOST}".to_owned()),
            _ => None,
        }
    }

    fn sub(text: &str) -> Result<String, SubstError> {
        substitute(text, &env)
    }

    #[test]
    fn replaces_references_and_defaults() {
        assert_eq!(sub("plain").unwrap(), "plain");
        assert_eq!(sub("${HOST}").unwrap(), "db.internal");
        assert_eq!(
            sub("pg://${ HOST }:${PORT:-5432}/x").unwrap(),
            "pg://db.internal:5432/x"
        );
        assert_eq!(sub("${EMPTY}").unwrap(), "");
        assert_eq!(sub("${EMPTY:-fallback}").unwrap(), "fallback");
        assert_eq!(sub("${HOST:-fallback}").unwrap(), "db.internal");
        assert_eq!(sub("${UNSET:- spaced default }").unwrap(), "spaced default");
        assert_eq!(sub("${UNSET:-}").unwrap(), "");
        assert_eq!(sub("${UNSET:-a:-b}").unwrap(), "a:-b");
    }

    #[test]
    fn values_are_not_substituted_again() {
        assert_eq!(sub("${BRACES}").unwrap(), "${HOST}");
    }

    #[test]
    fn escapes_and_non_references_stay_literal() {
        assert_eq!(sub("$${HOST}").unwrap(), "${HOST}");
        assert_eq!(sub("$$${HOST}").unwrap(), "$${HOST}");
        assert_eq!(sub("$${UNSET}").unwrap(), "${UNSET}");
        assert_eq!(sub("cost: $5 {x}").unwrap(), "cost: $5 {x}");
        assert_eq!(sub("${unclosed").unwrap(), "${unclosed");
        assert_eq!(sub("${a${HOST}}").unwrap(), "${adb.internal}");
        assert_eq!(sub("$${a${HOST}}").unwrap(), "$${adb.internal}");
        assert_eq!(sub("é${HOST}ü").unwrap(), "édb.internalü");
    }

    #[test]
    fn unset_variables_and_empty_names_are_errors() {
        assert_eq!(
            sub("x-${UNSET}"),
            Err(SubstError::Unset("UNSET".to_owned()))
        );
        assert_eq!(sub("${}"), Err(SubstError::EmptyName));
        assert_eq!(sub("${ :-x}"), Err(SubstError::EmptyName));
        assert_eq!(
            SubstError::Unset("DB_PASSWORD".to_owned()).message(),
            "environment variable DB_PASSWORD is not set; set it, or give a default with \
             ${DB_PASSWORD:-value}"
        );
    }
}

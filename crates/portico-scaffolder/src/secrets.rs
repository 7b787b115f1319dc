//! Masking secrets: every string a task was given as a secret is replaced by `***` wherever it
//! would leave the run — log lines, error messages, outputs.

use serde_json::{Map, Value};

/// Replaces the secret values of one task.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    // Longest first, so a secret containing another is masked whole.
    secrets: Vec<String>,
}

/// What a secret is replaced with.
pub const MASK: &str = "***";

impl Masker {
    /// A masker for the string leaves of `secrets` (numbers are masked as their text too).
    pub fn new(secrets: &Map<String, Value>) -> Self {
        let mut found = Vec::new();
        let mut stack: Vec<&Value> = secrets.values().collect();
        while let Some(value) = stack.pop() {
            match value {
                Value::String(text) if !text.is_empty() => found.push(text.clone()),
                Value::Number(number) => found.push(number.to_string()),
                Value::Array(items) => stack.extend(items),
                Value::Object(map) => stack.extend(map.values()),
                _ => {}
            }
        }
        found.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        found.dedup();
        Self { secrets: found }
    }

    /// `text` with every secret masked.
    pub fn mask(&self, text: &str) -> String {
        let mut masked = text.to_owned();
        for secret in &self.secrets {
            if masked.contains(secret.as_str()) {
                masked = masked.replace(secret.as_str(), MASK);
            }
        }
        masked
    }

    /// `value` with every secret masked in its strings (keys included).
    pub fn mask_value(&self, value: &Value) -> Value {
        if self.secrets.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(text) => Value::String(self.mask(text)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.mask_value(item)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, item)| (self.mask(key), self.mask_value(item)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_nested_secrets_longest_first() {
        let secrets = json!({"token": "abc", "long": "abcdef", "nested": {"k": ["s3cr3t"]}});
        let masker = Masker::new(secrets.as_object().unwrap());
        assert_eq!(masker.mask("x abcdef y abc z s3cr3t"), "x *** y *** z ***");
        assert_eq!(
            masker.mask_value(&json!({"url": "https://abc@host", "n": 1})),
            json!({"url": "https://***@host", "n": 1})
        );
    }
}

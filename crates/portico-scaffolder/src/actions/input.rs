//! Reading an action's (already schema-checked) input without panicking on a surprise.

use portico_plugin_api::PluginError;
use serde_json::Value;

/// The action input, with typed getters that report the field on a wrong type.
pub(crate) struct Input<'a> {
    action: &'a str,
    value: &'a Value,
}

impl<'a> Input<'a> {
    pub(crate) fn new(action: &'a str, value: &'a Value) -> Self {
        Self { action, value }
    }

    fn wrong(&self, key: &str, expected: &str) -> PluginError {
        PluginError::Input(format!("{}: input.{key} must be {expected}", self.action))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.value.get(key).filter(|value| !value.is_null())
    }

    pub(crate) fn str(&self, key: &str) -> Result<Option<&'a str>, PluginError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(self.wrong(key, "a string")),
        }
    }

    pub(crate) fn required_str(&self, key: &str) -> Result<&'a str, PluginError> {
        self.str(key)?
            .ok_or_else(|| PluginError::Input(format!("{}: input.{key} is required", self.action)))
    }

    pub(crate) fn bool(&self, key: &str) -> Result<bool, PluginError> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(_) => Err(self.wrong(key, "a boolean")),
        }
    }

    pub(crate) fn strings(&self, key: &str) -> Result<Vec<String>, PluginError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| self.wrong(key, "a list of strings"))
                })
                .collect(),
            Some(_) => Err(self.wrong(key, "a list of strings")),
        }
    }
}

/// A workspace/path error as the action's failure.
pub(crate) fn failed(action: &str, error: impl std::fmt::Display) -> PluginError {
    PluginError::Failed(format!("{action}: {error}"))
}

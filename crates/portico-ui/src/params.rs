//! Query strings and form bodies as ordered `(name, value)` pairs, with repeated names kept
//! (a facet with several values checked is `owner=a&owner=b`).

use url::form_urlencoded;

/// Decoded pairs of a query string or an `application/x-www-form-urlencoded` body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(text: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(text.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first non-blank value of `name`, trimmed.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }

    /// Every non-blank value of `name`, trimmed, without repeats.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        let mut values: Vec<String> = Vec::new();
        for (k, v) in &self.0 {
            let v = v.trim();
            if k == name && !v.is_empty() && !values.iter().any(|x| x == v) {
                values.push(v.to_owned());
            }
        }
        values
    }
}

/// Builds a query string from pairs (blank values dropped).
pub(crate) fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            serializer.append_pair(k, v);
        }
    }
    serializer.finish()
}

//! Opaque cursors: URL-safe base64 (no padding) of a small JSON document carrying the query
//! (filter as a v1.50 predicate, order field, full-text filter), the position of the page edge
//! (sort value, tie-breaker and ref of the first or last item), the direction and the total
//! item count computed on the first page — like Backstage, which also embeds its query and
//! `totalItems` in the cursor. Decoding checks every part and reports a malformed cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ReadModelError;
use super::predicate::Predicate;
use super::query::SortPosition;
use super::{FullTextFilter, OrderField};

/// Version of the cursor document; others are rejected.
const VERSION: u8 = 1;
/// Longest cursor accepted, in characters (a cursor embeds its filter, so allow some room).
const MAX_CURSOR_LEN: usize = 64 * 1024;

/// What a page needs to know to continue a query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuerySpec {
    pub filter: Predicate,
    pub order: Option<OrderField>,
    pub full_text: Option<FullTextFilter>,
}

/// A decoded cursor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cursor {
    pub spec: QuerySpec,
    /// Edge of the page the cursor continues from; `None`: the very start (or end, backwards).
    pub position: Option<SortPosition>,
    /// Walk backwards (a `prevCursor`).
    pub backward: bool,
    /// `totalItems` of the first page.
    pub total_items: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    v: u8,
    q: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<OrderField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<FullTextFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<SortPosition>,
    #[serde(default)]
    b: bool,
    n: usize,
}

impl Cursor {
    /// The opaque text form.
    pub fn encode(&self) -> String {
        let payload = Payload {
            v: VERSION,
            q: self.spec.filter.to_json(),
            o: self.spec.order.clone(),
            t: self.spec.full_text.clone(),
            p: self.position.clone(),
            b: self.backward,
            n: self.total_items,
        };
        // Serialising plain data to a String cannot fail.
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor produced by [`Cursor::encode`].
    pub fn decode(text: &str) -> Result<Cursor, ReadModelError> {
        let malformed = |why: &str| ReadModelError::InvalidCursor(why.to_owned());
        let text = text.trim();
        if text.is_empty() {
            return Err(malformed("the cursor is empty"));
        }
        if text.len() > MAX_CURSOR_LEN {
            return Err(malformed("the cursor is too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| malformed("not a cursor returned by this catalog (invalid base64)"))?;
        let payload: Payload = serde_json::from_slice(&bytes).map_err(|e| {
            ReadModelError::InvalidCursor(format!(
                "not a cursor returned by this catalog (invalid content: {e})"
            ))
        })?;
        if payload.v != VERSION {
            return Err(malformed("unsupported cursor version"));
        }
        let filter = Predicate::from_json(&payload.q)
            .map_err(|e| ReadModelError::InvalidCursor(format!("its query is invalid: {e}")))?;
        Ok(Cursor {
            spec: QuerySpec {
                filter,
                order: payload.o,
                full_text: payload.t,
            },
            position: payload.p,
            backward: payload.b,
            total_items: payload.n,
        })
    }
}

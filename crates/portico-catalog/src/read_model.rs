//! The catalog's in-memory read model: an index over final (stitched) entities that answers
//! Backstage's catalog queries — filters, predicates, ordering, cursor and offset pagination,
//! full-text search, facets and `fields` projection — without scanning every entity.
//!
//! It is pure (no IO, no async, no clock) and single-writer: the engine keeps it behind a lock,
//! calls [`ReadModel::upsert`] / [`ReadModel::remove`] as entities are stitched or deleted, and
//! answers reads with `&self` methods.
//!
//! Semantics follow Backstage's `search` table (see `flatten.rs`), its filter and predicate
//! languages ([`Predicate`]), and `queryEntities` ordering and paging (see `query.rs`):
//! - one order field (the rest are ignored), default `metadata.uid` ascending; ties broken by
//!   uid (the ref for entities without uid), in the same direction; entities without a value
//!   of the order field come last in both directions;
//! - `full_text.term` is trimmed and lowercased and matched as a substring of the values of
//!   `full_text.fields` (default: the order field, else `metadata.uid`);
//! - a cursor carries the query, the page edge, the direction and `totalItems` (computed once,
//!   on the first page); with a cursor only `limit` of the request is used. Pages continue from
//!   the edge's sort position (keyset pagination), so walking `next_cursor` to the end visits
//!   every entity that matched throughout exactly once, even while others are added or removed.
//!
//! Entities are stored as compact JSON text (`Arc<str>`), serialised once per upsert; readers
//! get the shared text and parse only the page they project (see [`project`]).
//!
//! Deliberate differences from Backstage, all on edge cases: facet values are grouped
//! case-insensitively (reported with the first spelling seen) and count entities, not rows;
//! an entity with several values of the order field appears once, not once per value; `$any`
//! of nothing matches nothing; `$in: []` is rejected; `fields` paths may name keys containing
//! dots (annotations); cursors know where they are, so `prevCursor` is given exactly when
//! items precede the page (also for `offset` pages).
//!
//! # Design
//!
//! - **Index** (`index.rs`): every distinct lowercase key and `(key, value)` pair is interned
//!   once; a value holds the set of entities carrying it (a posting list: inline up to
//!   three ids, a vector up to 32, then a roaring bitmap); a key holds the entities having it
//!   and its value ids in sorted order. Each entity keeps its rows (4 bytes each) to update
//!   postings by difference on upsert and to read its own values. Value texts live in one
//!   arena string, compacted when half garbage; hash tables store ids only.
//! - **Filters** evaluate to bitmaps: equality is a posting, `$in`/`$any` unions, `$all`
//!   intersections (smallest first, negations subtracted last), `$not` a difference with
//!   all entities, `$hasPrefix` a range of the key's sorted values.
//! - **Order and pages** (`query.rs`) never sort the matching set: a page is either read off
//!   the order key's sorted values (intersecting each posting with the set) or selected from
//!   the set's members in linear time with a bounded buffer, whichever is estimated cheaper;
//!   a sorted walk that overruns its budget (members clustered late) switches to selection.
//! - **Full text** (`ngram.rs`): keys in [`DEFAULT_FULL_TEXT_KEYS`] keep a trigram index over
//!   their distinct values — candidates are the intersection of the term's trigrams, then
//!   verified; terms of one or two characters take the union of the trigrams containing
//!   them. Other keys test their distinct values (or, for a small filtered set, just its
//!   members' values): proportional to that key's values, never to the catalog.
//! - **Facets** count postings (no filter), intersect each value's posting with the filter
//!   set (few values), or count the filter set's members' rows (many values).
//!
//! At 100,000 generated entities (2.9 million rows, 1.1 million distinct values, 690,000
//! relations) the index takes about 150 MiB next to 125 MiB of JSON; `cargo xtask
//! bench-read-model` measures it. Limits: at most 2^31 distinct values; value texts up to
//! 64 KiB (Backstage indexes at most 200 characters anyway).

mod codec;
mod compact;
mod cursor;
mod error;
mod flatten;
mod index;
mod ngram;
mod posting;
mod predicate;
mod project;
mod query;
mod snapshot;
mod sorted;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use error::ReadModelError;

/// An entity flattened and compressed for the index ([`ReadModel::prepare`]).
#[derive(Debug)]
pub struct PreparedEntity {
    flat: flatten::Flattened,
    json: compact::CompactJson,
}
pub use flatten::{MAX_KEY_LENGTH, MAX_VALUE_LENGTH};
pub use index::ReadModelStats;
pub use predicate::{MAX_PREDICATE_DEPTH, Predicate};
pub use project::{project, project_value};
pub use query::FacetCount;
pub use snapshot::{SNAPSHOT_FORMAT, SnapshotError, SnapshotPosition};

use cursor::{Cursor, QuerySpec};
use index::Index;
use query::{Sort, SortPosition};

/// Page size when a caller does not say (Backstage's documented default for `by-query`).
pub const DEFAULT_LIMIT: usize = 20;

/// Keys whose values get a trigram index, so that full-text search on them does not test every
/// value: the fields Backstage's catalog table searches, plus the description and e-mail.
pub const DEFAULT_FULL_TEXT_KEYS: &[&str] = &[
    "metadata.name",
    "metadata.title",
    "metadata.description",
    "spec.profile.displayname",
    "spec.profile.email",
];

/// The order of a query: one field and a direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderField {
    /// Dotted key, matched case-insensitively (e.g. `metadata.name`).
    pub field: String,
    /// `desc` rather than `asc`.
    #[serde(default)]
    pub descending: bool,
}

impl OrderField {
    /// Ascending order on `field`.
    pub fn asc(field: &str) -> Self {
        Self {
            field: field.to_owned(),
            descending: false,
        }
    }

    /// Descending order on `field`.
    pub fn desc(field: &str) -> Self {
        Self {
            field: field.to_owned(),
            descending: true,
        }
    }
}

/// Substring search over some keys' values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullTextFilter {
    /// The text to find; trimmed and lowercased. Blank means no filtering.
    pub term: String,
    /// Keys whose values are searched; empty means the order field, else `metadata.uid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// A paginated query (`GET`/`POST /entities/by-query`).
#[derive(Debug, Clone, PartialEq)]
pub struct EntityQuery {
    /// Which entities.
    pub filter: Predicate,
    /// Order; only the first field is used.
    pub order: Vec<OrderField>,
    /// Optional substring search.
    pub full_text: Option<FullTextFilter>,
    /// Page size (0 returns no items, only the count and cursors).
    pub limit: usize,
    /// Items to skip before the page (ignored with a cursor).
    pub offset: Option<usize>,
    /// Continue from a `next_cursor` / `prev_cursor`; the other fields but `limit` are ignored.
    pub cursor: Option<String>,
}

impl Default for EntityQuery {
    fn default() -> Self {
        Self {
            filter: Predicate::MatchAll,
            order: Vec::new(),
            full_text: None,
            limit: DEFAULT_LIMIT,
            offset: None,
            cursor: None,
        }
    }
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPage {
    /// The entities of the page, as stored JSON text.
    pub items: Vec<Arc<str>>,
    /// Matching entities in the whole query (as of its first page when paging by cursor).
    pub total_items: usize,
    /// Present iff more items follow this page.
    pub next_cursor: Option<String>,
    /// Present iff items precede this page.
    pub prev_cursor: Option<String>,
}

/// The in-memory index of final entities. See the module docs.
#[derive(Debug, Clone)]
pub struct ReadModel {
    index: Index,
}

impl Default for ReadModel {
    fn default() -> Self {
        Self::with_full_text_keys(DEFAULT_FULL_TEXT_KEYS)
    }
}

impl ReadModel {
    /// An empty read model with trigram indexes on [`DEFAULT_FULL_TEXT_KEYS`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty read model with trigram indexes on `keys` (dotted, case-insensitive). Full-text
    /// search works on every key; these just avoid testing each distinct value.
    pub fn with_full_text_keys(keys: &[&str]) -> Self {
        Self {
            index: Index::with_ngram_keys(keys.iter().map(|k| (*k).to_owned()).collect()),
        }
    }

    /// Adds `entity` (a final entity), replacing any entity with the same ref
    /// (`kind:namespace/name`, case-insensitive, namespace `default` when unset).
    ///
    /// Upserting an entity identical to the stored one (same JSON text) changes nothing and
    /// costs a serialisation and a comparison.
    pub fn upsert(&mut self, entity: &serde_json::Value) -> Result<(), ReadModelError> {
        let json = serde_json::to_string(entity)
            .map_err(|e| ReadModelError::InvalidEntity(e.to_string()))?;
        self.upsert_serialized(entity, json)
    }

    /// Like [`Self::upsert`] for an entity whose compact JSON text the caller already has
    /// (the store keeps it), which is stored as given instead of serializing `entity` again.
    pub fn upsert_serialized(
        &mut self,
        entity: &serde_json::Value,
        json: String,
    ) -> Result<(), ReadModelError> {
        self.upsert_prepared(Self::prepare(entity, &json)?);
        Ok(())
    }

    /// Does the part of [`Self::upsert_serialized`] that needs no model — flattening and
    /// compressing — so that a batch can be prepared on several threads outside the model's
    /// lock, then applied with [`Self::upsert_prepared`].
    pub fn prepare(
        entity: &serde_json::Value,
        json: &str,
    ) -> Result<PreparedEntity, ReadModelError> {
        Ok(PreparedEntity {
            flat: flatten::flatten(entity)?,
            json: compact::CompactJson::new(json),
        })
    }

    /// Indexes a prepared entity, replacing the one with its ref; nothing changes if its JSON
    /// is the same.
    pub fn upsert_prepared(&mut self, prepared: PreparedEntity) {
        if let Some(doc) = self.index.doc_by_ref(&prepared.flat.entity_ref)
            && self
                .index
                .slot(doc)
                .is_some_and(|slot| slot.json.compressed() == prepared.json.compressed())
        {
            return;
        }
        self.index.upsert(prepared.flat, prepared.json);
    }

    /// Removes the entity with this ref (case-insensitive); returns whether it was there.
    pub fn remove(&mut self, entity_ref: &str) -> bool {
        self.index.remove(&entity_ref.to_lowercase())
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no entities.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored JSON of the entity with this ref (case-insensitive).
    pub fn by_ref(&self, entity_ref: &str) -> Option<Arc<str>> {
        let doc = self.index.doc_by_ref(&entity_ref.to_lowercase())?;
        self.index.slot(doc).and_then(|s| s.json.text())
    }

    /// Whether the entity with this ref (case-insensitive) is in the model; cheaper than
    /// [`Self::by_ref`], which decompresses its JSON.
    pub fn contains_ref(&self, entity_ref: &str) -> bool {
        self.index.doc_by_ref(&entity_ref.to_lowercase()).is_some()
    }

    /// The stored JSON of the entity with this `metadata.uid` (exact).
    pub fn by_uid(&self, uid: &str) -> Option<Arc<str>> {
        let doc = self.index.doc_by_uid(uid)?;
        self.index.slot(doc).and_then(|s| s.json.text())
    }

    /// Canonical refs of the entities matching `filter`, sorted.
    pub fn refs_matching(&self, filter: &Predicate) -> Vec<String> {
        let set = self.index.eval(filter);
        let mut refs: Vec<String> = set
            .iter()
            .filter_map(|doc| self.index.slot(doc))
            .map(|slot| slot.entity_ref().to_owned())
            .collect();
        refs.sort_unstable();
        refs
    }

    /// Number of entities matching `filter`.
    pub fn count(&self, filter: &Predicate) -> usize {
        self.index.eval(filter).len() as usize
    }

    /// Value counts of each facet key among the entities matching `filter`, by count
    /// descending then value. Keyed by the facet as given; values are grouped
    /// case-insensitively and reported as first written.
    pub fn facets(
        &self,
        facets: &[String],
        filter: &Predicate,
    ) -> BTreeMap<String, Vec<FacetCount>> {
        let within = match filter {
            Predicate::MatchAll => None,
            other => Some(self.index.eval(other)),
        };
        facets
            .iter()
            .map(|facet| {
                (
                    facet.clone(),
                    self.index.facet(facet, within.as_ref().map(|w| w.as_ref())),
                )
            })
            .collect()
    }

    /// Counts and estimated memory of the index.
    pub fn stats(&self) -> ReadModelStats {
        self.index.stats()
    }

    /// One page of a query. See the module docs for order, cursors and full-text semantics.
    pub fn query(&self, query: &EntityQuery) -> Result<QueryPage, ReadModelError> {
        let (spec, position, backward, carried_total) = match &query.cursor {
            Some(text) => {
                let cursor = Cursor::decode(text)?;
                (
                    cursor.spec,
                    cursor.position,
                    cursor.backward,
                    Some(cursor.total_items),
                )
            }
            None => (
                QuerySpec {
                    filter: query.filter.clone(),
                    order: query.order.first().cloned(),
                    full_text: query.full_text.clone(),
                },
                None,
                false,
                None,
            ),
        };
        let order_key = match &spec.order {
            Some(order) => {
                let field = order.field.trim().to_lowercase();
                if field.is_empty() {
                    return Err(ReadModelError::InvalidOrder(
                        "the order field is empty; give a dotted key such as metadata.name"
                            .to_owned(),
                    ));
                }
                field
            }
            None => "metadata.uid".to_owned(),
        };
        let sort = Sort {
            key: self.index.key_id(&order_key),
            descending: spec.order.as_ref().is_some_and(|o| o.descending),
        };

        let mut set = self.index.eval(&spec.filter).into_owned();
        if let Some(full_text) = &spec.full_text {
            let term = full_text.term.trim().to_lowercase();
            if !term.is_empty() {
                let fields: Vec<String> = if full_text.fields.is_empty() {
                    vec![order_key.clone()]
                } else {
                    full_text
                        .fields
                        .iter()
                        .map(|f| f.trim().to_lowercase())
                        .collect()
                };
                set = self.index.full_text(&term, &fields, &set);
            }
        }
        let total_items = carried_total.unwrap_or(set.len() as usize);
        let limit = query.limit;
        let cursor_for = |position: Option<SortPosition>, backward: bool| {
            Cursor {
                spec: spec.clone(),
                position,
                backward,
                total_items,
            }
            .encode()
        };
        let position_of = |doc: u32| self.index.position_of(doc, &sort);
        let any_beyond = |from: Option<&SortPosition>, backward: bool| {
            !self.index.walk(&set, &sort, from, backward, 1).is_empty()
        };

        let (docs, next_cursor, prev_cursor) = if query.cursor.is_some() && backward {
            let mut docs = self.index.walk(
                &set,
                &sort,
                position.as_ref(),
                true,
                limit.saturating_add(1),
            );
            let more_before = docs.len() > limit;
            docs.truncate(limit);
            docs.reverse();
            let first = docs.first().and_then(|&d| position_of(d));
            let last = docs.last().and_then(|&d| position_of(d));
            let prev = if more_before {
                Some(cursor_for(first.or(position.clone()), true))
            } else {
                None
            };
            let next = match last {
                Some(last) => any_beyond(Some(&last), false).then(|| cursor_for(Some(last), false)),
                None => match &position {
                    // Nothing before the position: continue forward from the start.
                    Some(_) => (!set.is_empty()).then(|| cursor_for(None, false)),
                    None => None,
                },
            };
            (docs, next, prev)
        } else if query.cursor.is_some() {
            let mut docs = self.index.walk(
                &set,
                &sort,
                position.as_ref(),
                false,
                limit.saturating_add(1),
            );
            let more_after = docs.len() > limit;
            docs.truncate(limit);
            let first = docs.first().and_then(|&d| position_of(d));
            let last = docs.last().and_then(|&d| position_of(d));
            let next = more_after.then(|| cursor_for(last.or(position.clone()), false));
            let prev = match first {
                Some(first) => {
                    any_beyond(Some(&first), true).then(|| cursor_for(Some(first), true))
                }
                None => match &position {
                    Some(p) => any_beyond(Some(p), true).then(|| cursor_for(Some(p.clone()), true)),
                    None => None,
                },
            };
            (docs, next, prev)
        } else {
            let offset = query.offset.unwrap_or(0);
            let mut docs = self.index.walk(
                &set,
                &sort,
                None,
                false,
                offset.saturating_add(limit).saturating_add(1),
            );
            // The last entity skipped by the offset: where a cursor continues from when the
            // page itself is empty.
            let before_page = offset
                .checked_sub(1)
                .and_then(|i| docs.get(i).copied())
                .and_then(position_of);
            let mut docs = docs.split_off(offset.min(docs.len()));
            let more_after = docs.len() > limit;
            docs.truncate(limit);
            let first = docs.first().and_then(|&d| position_of(d));
            let last = docs.last().and_then(|&d| position_of(d));
            let next = more_after.then(|| cursor_for(last.or(before_page.clone()), false));
            let prev = if offset == 0 || set.is_empty() {
                None
            } else {
                match first {
                    Some(first) => Some(cursor_for(Some(first), true)),
                    // Offset past the end: the previous page is the last one.
                    None => Some(cursor_for(None, true)),
                }
            };
            (docs, next, prev)
        };

        let items = docs
            .iter()
            .filter_map(|&doc| self.index.slot(doc))
            .filter_map(|slot| slot.json.text())
            .collect();
        Ok(QueryPage {
            items,
            total_items,
            next_cursor,
            prev_cursor,
        })
    }
}

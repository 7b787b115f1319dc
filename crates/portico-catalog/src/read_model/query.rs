//! Answering queries from the [`Index`]: predicate evaluation to bitmaps, full-text candidate
//! generation, facet counting and the ordered walk that pagination is built on.
//!
//! **Order.** Entities are ordered by the lowercase value of one key, then by a tie-breaker
//! (the uid, or the ref for entities without one, then the ref), both in the requested
//! direction; entities without a value of the key come last in both directions (SQL `NULLS
//! LAST`). An entity with several values of the key sorts once, by its smallest value when
//! ascending and its largest when descending (Backstage's SQL join would list it once per value).
//!
//! **Walk.** [`Index::walk`] returns the `k` entities of a set that follow a position in that
//! order (or precede it, walking backwards). It never sorts the whole set: either it walks the
//! key's values in order from the position and intersects each value's posting with the set
//! (cheap when the set is dense), or it reads the sort value of each member of the set through
//! its rows and keeps the best `k` (cheap when the set is sparse). The cheaper plan is chosen
//! from the set's size and the key's value count. Entities without a value are selected by
//! tie-breaker among the set minus the key's valued entities.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use super::index::{Index, KeyEntry, Slot, prefix_u64};
use super::predicate::Predicate;

/// A count of one value of a facet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    /// The value as first written in the catalog (values are grouped case-insensitively).
    pub value: String,
    /// Number of entities with that value.
    pub count: usize,
}

/// The ordering of a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sort {
    /// The key sorted on; `None` when no entity has it (everything is "missing").
    pub key: Option<u32>,
    pub descending: bool,
}

/// Where a page starts or ends: the sort value and tie-breakers of an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SortPosition {
    /// Lowercase sort value; `None` for an entity without one.
    #[serde(rename = "v")]
    pub value: Option<String>,
    /// uid, or ref when there is no uid.
    #[serde(rename = "t")]
    pub tiebreak: String,
    /// Canonical ref.
    #[serde(rename = "r")]
    pub entity_ref: String,
}

/// The comparable part of an entity (or of a [`SortPosition`]).
#[derive(Debug, Clone, Copy)]
struct ItemKey<'a> {
    value: Option<&'a str>,
    tb_prefix: u64,
    tiebreak: &'a str,
    entity_ref: &'a str,
}

impl<'a> ItemKey<'a> {
    fn of_position(position: &'a SortPosition) -> Self {
        ItemKey {
            value: position.value.as_deref(),
            tb_prefix: prefix_u64(&position.tiebreak),
            tiebreak: &position.tiebreak,
            entity_ref: &position.entity_ref,
        }
    }

    fn of_slot(slot: &'a Slot, value: Option<&'a str>) -> Self {
        ItemKey {
            value,
            tb_prefix: slot.tb_prefix,
            tiebreak: slot.tiebreak(),
            entity_ref: slot.entity_ref(),
        }
    }
}

/// Direction of a walk: values (and tie-breakers) ascending or not, missing values first or
/// last.
#[derive(Debug, Clone, Copy)]
struct WalkOrder {
    ascending: bool,
    missing_first: bool,
}

impl WalkOrder {
    fn new(sort: &Sort, backward: bool) -> Self {
        WalkOrder {
            ascending: sort.descending == backward,
            missing_first: backward,
        }
    }

    fn cmp(&self, a: &ItemKey<'_>, b: &ItemKey<'_>) -> Ordering {
        let tiebreak = || {
            a.tb_prefix
                .cmp(&b.tb_prefix)
                .then_with(|| a.tiebreak.cmp(b.tiebreak))
                .then_with(|| a.entity_ref.cmp(b.entity_ref))
        };
        let directed = |o: Ordering| if self.ascending { o } else { o.reverse() };
        match (a.value, b.value) {
            (Some(x), Some(y)) => directed(x.cmp(y).then_with(tiebreak)),
            (None, None) => directed(tiebreak()),
            (Some(_), None) if self.missing_first => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) if self.missing_first => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
        }
    }
}

/// Keeps the `k` smallest items pushed, in amortised O(1) per push: a buffer pruned to `k` by
/// selection whenever it reaches `2k`, and a threshold that rejects items no better than the
/// current `k`-th.
struct Selector<'a> {
    k: usize,
    order: WalkOrder,
    buf: Vec<(u32, ItemKey<'a>)>,
    threshold: Option<ItemKey<'a>>,
}

impl<'a> Selector<'a> {
    fn new(k: usize, order: WalkOrder) -> Self {
        Selector {
            k,
            order,
            buf: Vec::new(),
            threshold: None,
        }
    }

    fn push(&mut self, doc: u32, key: ItemKey<'a>) {
        if self.k == 0 {
            return;
        }
        if let Some(threshold) = &self.threshold
            && self.order.cmp(&key, threshold) != Ordering::Less
        {
            return;
        }
        self.buf.push((doc, key));
        if self.buf.len() >= (2 * self.k).max(64) {
            self.prune();
        }
    }

    fn prune(&mut self) {
        let order = self.order;
        if self.buf.len() > self.k {
            self.buf
                .select_nth_unstable_by(self.k - 1, |a, b| order.cmp(&a.1, &b.1));
            self.buf.truncate(self.k);
            self.threshold = self
                .buf
                .iter()
                .map(|(_, key)| *key)
                .max_by(|a, b| order.cmp(a, b));
        }
    }

    fn finish(mut self) -> Vec<u32> {
        let order = self.order;
        self.prune();
        self.buf.sort_by(|a, b| order.cmp(&a.1, &b.1));
        self.buf.into_iter().map(|(doc, _)| doc).collect()
    }
}

impl Index {
    /// The entities matching `predicate`.
    pub fn eval(&self, predicate: &Predicate) -> Cow<'_, RoaringBitmap> {
        match predicate {
            Predicate::MatchAll => Cow::Borrowed(&self.live),
            Predicate::Exists { key } => match self.key_entry(key) {
                Some(entry) => entry.exists.as_bitmap(),
                None => Cow::Owned(RoaringBitmap::new()),
            },
            Predicate::In { key, values } => {
                let Some(key_id) = self.key_id(&key.to_lowercase()) else {
                    return Cow::Owned(RoaringBitmap::new());
                };
                let postings: Vec<_> = values
                    .iter()
                    .filter_map(|v| self.value_id(key_id, &v.to_lowercase()))
                    .filter_map(|id| self.value(id))
                    .collect();
                match postings.as_slice() {
                    [] => Cow::Owned(RoaringBitmap::new()),
                    [single] => single.docs.as_bitmap(),
                    many => {
                        let mut union = RoaringBitmap::new();
                        for value in many {
                            value.docs.union_into(&mut union);
                        }
                        Cow::Owned(union)
                    }
                }
            }
            Predicate::HasPrefix { key, prefix } => {
                let mut union = RoaringBitmap::new();
                if let Some(entry) = self.key_entry(key) {
                    let prefix = prefix.to_lowercase();
                    let texts = self.texts();
                    let start = entry.sorted.lower_bound(&prefix, texts);
                    for id in entry.sorted.ascending_from(start) {
                        if !texts.lower(id).starts_with(prefix.as_str()) {
                            break;
                        }
                        if let Some(value) = self.value(id) {
                            value.docs.union_into(&mut union);
                        }
                    }
                }
                Cow::Owned(union)
            }
            Predicate::Not(inner) => Cow::Owned(&self.live - self.eval(inner).as_ref()),
            Predicate::Any(children) => {
                let mut union = RoaringBitmap::new();
                for child in children {
                    union |= self.eval(child).as_ref();
                }
                Cow::Owned(union)
            }
            Predicate::All(children) => {
                let (negated, positive): (Vec<&Predicate>, Vec<&Predicate>) = children
                    .iter()
                    .partition(|c| matches!(c, Predicate::Not(_)));
                let mut sets: Vec<Cow<'_, RoaringBitmap>> =
                    positive.into_iter().map(|c| self.eval(c)).collect();
                sets.sort_by_key(|s| s.len());
                let mut sets = sets.into_iter();
                let mut acc = match sets.next() {
                    Some(first) => first,
                    None => Cow::Borrowed(&self.live),
                };
                for set in sets {
                    if acc.is_empty() {
                        break;
                    }
                    acc = Cow::Owned(acc.as_ref() & set.as_ref());
                }
                for child in negated {
                    if acc.is_empty() {
                        break;
                    }
                    if let Predicate::Not(inner) = child {
                        acc = Cow::Owned(acc.as_ref() - self.eval(inner).as_ref());
                    }
                }
                acc
            }
        }
    }

    fn key_entry(&self, key: &str) -> Option<&KeyEntry> {
        self.key_id(&key.to_lowercase()).and_then(|id| self.key(id))
    }

    /// Entities of `within` with a value of one of `fields` containing `term` (lowercase,
    /// non-empty). Keys with a trigram index find candidate values through it; other keys test
    /// the key's distinct values — or, when `within` holds fewer entities than the key has
    /// values, just those entities' values.
    pub fn full_text(
        &self,
        term: &str,
        fields: &[String],
        within: &RoaringBitmap,
    ) -> RoaringBitmap {
        let mut found = RoaringBitmap::new();
        for field in fields {
            let Some(key_id) = self.key_id(&field.to_lowercase()) else {
                continue;
            };
            let Some(entry) = self.key(key_id) else {
                continue;
            };
            let texts = self.texts();
            let contains = |id: u32| texts.lower(id).contains(term);
            if let Some(candidates) = entry.ngrams().map(|n| n.candidates(term)) {
                for id in candidates.iter().filter(|id| contains(*id)) {
                    if let Some(value) = self.value(id) {
                        value.docs.union_into(&mut found);
                    }
                }
                continue;
            }
            let members = entry.exists.as_bitmap();
            let in_scope = members.intersection_len(within);
            if (in_scope as usize) < entry.sorted.len() {
                for doc in within & members.as_ref() {
                    if self
                        .slot(doc)
                        .is_some_and(|slot| self.values_of(slot, key_id).any(contains))
                    {
                        found.insert(doc);
                    }
                }
            } else {
                for id in entry.sorted.iter().filter(|id| contains(*id)) {
                    if let Some(value) = self.value(id) {
                        value.docs.union_into(&mut found);
                    }
                }
            }
        }
        found & within
    }

    /// Counts of the values of `facet` among `within` (every entity when `None`), by count
    /// descending then lowercase value.
    pub fn facet(&self, facet: &str, within: Option<&RoaringBitmap>) -> Vec<FacetCount> {
        let Some(key_id) = self.key_id(&facet.to_lowercase()) else {
            return Vec::new();
        };
        let Some(entry) = self.key(key_id) else {
            return Vec::new();
        };
        let mut counts: Vec<(u32, usize)> = Vec::new();
        match within {
            None => {
                for id in entry.sorted.iter() {
                    if let Some(value) = self.value(id) {
                        counts.push((id, value.docs.len() as usize));
                    }
                }
            }
            Some(within) => {
                let members = within & entry.exists.as_bitmap().as_ref();
                if entry.sorted.len() as u64 <= members.len().saturating_mul(2) {
                    for id in entry.sorted.iter() {
                        if let Some(value) = self.value(id) {
                            counts.push((id, value.docs.intersection_len(&members) as usize));
                        }
                    }
                } else {
                    let mut by_value: HashMap<u32, usize> = HashMap::new();
                    for doc in &members {
                        if let Some(slot) = self.slot(doc) {
                            for id in self.values_of(slot, key_id) {
                                *by_value.entry(id).or_default() += 1;
                            }
                        }
                    }
                    counts.extend(by_value);
                }
            }
        }
        let texts = self.texts();
        let mut counts: Vec<(&str, &str, usize)> = counts
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(id, count)| (texts.lower(id), texts.original(id), count))
            .collect();
        counts.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(b.0)));
        counts
            .into_iter()
            .map(|(_, value, count)| FacetCount {
                value: value.to_owned(),
                count,
            })
            .collect()
    }

    /// The sort value of an entity: its smallest value of the key (largest when descending).
    fn sort_value<'a>(&'a self, slot: &'a Slot, sort: &Sort) -> Option<&'a str> {
        let key = sort.key?;
        let mut best: Option<&str> = None;
        for id in self.values_of(slot, key) {
            let text = self.texts().lower(id);
            best = match best {
                Some(b) if (text > b) != sort.descending => Some(b),
                _ => Some(text),
            };
        }
        best
    }

    /// The position of entity `doc` in `sort` order (for cursors).
    pub fn position_of(&self, doc: u32, sort: &Sort) -> Option<SortPosition> {
        let slot = self.slot(doc)?;
        Some(SortPosition {
            value: self.sort_value(slot, sort).map(str::to_owned),
            tiebreak: slot.tiebreak().to_owned(),
            entity_ref: slot.entity_ref().to_owned(),
        })
    }

    /// Up to `k` entities of `set` strictly after `from` (from the start when `None`) in `sort`
    /// order, or strictly before it in reverse order when `backward` (from the end when
    /// `None`).
    pub fn walk(
        &self,
        set: &RoaringBitmap,
        sort: &Sort,
        from: Option<&SortPosition>,
        backward: bool,
        k: usize,
    ) -> Vec<u32> {
        let mut out = Vec::new();
        if k == 0 || set.is_empty() {
            return out;
        }
        let order = WalkOrder::new(sort, backward);
        let entry = sort.key.and_then(|key| self.key(key));
        let bound = from.map(ItemKey::of_position);
        let from_missing = from.is_some_and(|p| p.value.is_none());
        // Phases in walk order; a position skips the phases before its own.
        let valued_phase_first = !order.missing_first;
        let phases: [bool; 2] = if valued_phase_first {
            [true, false]
        } else {
            [false, true]
        };
        let mut started = from.is_none();
        for valued_phase in phases {
            let own_phase = from.is_some() && valued_phase != from_missing;
            if !started && !own_phase {
                continue;
            }
            started = true;
            let phase_bound = if own_phase { bound } else { None };
            let remaining = k - out.len();
            if remaining == 0 {
                break;
            }
            if valued_phase {
                if let Some(entry) = entry {
                    self.walk_values(set, sort, entry, phase_bound, order, remaining, &mut out);
                }
            } else {
                self.walk_missing(set, entry, phase_bound, order, remaining, &mut out);
            }
        }
        out
    }

    /// Members of `set` without a value of the key, by tie-breaker.
    fn walk_missing(
        &self,
        set: &RoaringBitmap,
        entry: Option<&KeyEntry>,
        bound: Option<ItemKey<'_>>,
        order: WalkOrder,
        k: usize,
        out: &mut Vec<u32>,
    ) {
        let missing = match entry {
            None => Cow::Borrowed(set),
            Some(entry) => {
                let mut valued = entry.exists.as_bitmap().into_owned();
                if let Some(unvalued) = entry.unvalued() {
                    valued -= unvalued.as_bitmap().as_ref();
                }
                Cow::Owned(set - &valued)
            }
        };
        let mut selector = Selector::new(k, order);
        for doc in missing.iter() {
            let Some(slot) = self.slot(doc) else {
                continue;
            };
            let key = ItemKey::of_slot(slot, None);
            if bound.is_some_and(|b| order.cmp(&key, &b) != Ordering::Greater) {
                continue;
            }
            selector.push(doc, key);
        }
        out.extend(selector.finish());
    }

    /// Members of `set` with a value of the key, in value order, after `bound`: by a sorted
    /// walk of the key's values when that looks cheaper, else (or when the walk overruns its
    /// budget because the members cluster far from the start) by scanning the members.
    #[allow(clippy::too_many_arguments, reason = "one walk's state, spelled out")]
    fn walk_values(
        &self,
        set: &RoaringBitmap,
        sort: &Sort,
        entry: &KeyEntry,
        bound: Option<ItemKey<'_>>,
        order: WalkOrder,
        k: usize,
        out: &mut Vec<u32>,
    ) {
        let members = set & entry.exists.as_bitmap().as_ref();
        let candidates = members.len();
        if candidates == 0 {
            return;
        }
        let value_count = entry.sorted.len() as u64;
        // Values a sorted walk is expected to visit before it has k + 1 members (if they are
        // spread evenly), against the cost of reading the sort value of every member (a few
        // times dearer per entity than visiting a value).
        let walk_cost =
            value_count.min((k as u64 + 1).saturating_mul(value_count) / candidates + 1);
        let scan_cost = candidates.saturating_mul(4);
        if walk_cost > scan_cost {
            self.scan_values(&members, sort, bound, None, order, k, out);
            return;
        }

        let texts = self.texts();
        let bound_value = bound.and_then(|b| b.value);
        let ids: Box<dyn Iterator<Item = u32> + '_> = match (order.ascending, bound_value) {
            (true, None) => Box::new(entry.sorted.iter()),
            (true, Some(v)) => Box::new(
                entry
                    .sorted
                    .ascending_from(entry.sorted.lower_bound(v, texts)),
            ),
            (false, None) => Box::new(entry.sorted.descending_before((usize::MAX, 0))),
            (false, Some(v)) => Box::new(
                entry
                    .sorted
                    .descending_before(entry.sorted.upper_bound(v, texts)),
            ),
        };
        let budget = scan_cost.max(256);
        let mut visited = 0u64;
        let mut last_value: Option<&str> = None;
        let mut remaining = k;
        for id in ids {
            visited += 1;
            if visited > budget {
                // The members are not where an even spread would put them: finish by scanning
                // them, past the last value fully handled.
                self.scan_values(&members, sort, bound, last_value, order, remaining, out);
                return;
            }
            let Some(value) = self.value(id) else {
                continue;
            };
            let text = texts.lower(id);
            last_value = Some(text);
            let at_bound = bound_value == Some(text);
            let mut selector = Selector::new(remaining, order);
            let mut consider = |doc: u32| {
                let Some(slot) = self.slot(doc) else {
                    return;
                };
                if entry.is_multi(doc) && self.sort_value(slot, sort) != Some(text) {
                    return;
                }
                let item = ItemKey::of_slot(slot, Some(text));
                if at_bound
                    && let Some(b) = &bound
                    && order.cmp(&item, b) != Ordering::Greater
                {
                    return;
                }
                selector.push(doc, item);
            };
            match &value.docs {
                super::posting::Posting::Many(docs) => {
                    for doc in docs.as_ref() & &members {
                        consider(doc);
                    }
                }
                small => {
                    for doc in small.iter().filter(|d| members.contains(*d)) {
                        consider(doc);
                    }
                }
            }
            let chosen = selector.finish();
            remaining -= chosen.len();
            out.extend(chosen);
            if remaining == 0 {
                break;
            }
        }
    }

    /// The first `k` of `members` (entities with a value of the sort key) after `bound` and,
    /// if given, with a sort value strictly past `after_value` in walk order, by reading each
    /// member's sort value.
    #[allow(clippy::too_many_arguments, reason = "one walk's state, spelled out")]
    fn scan_values(
        &self,
        members: &RoaringBitmap,
        sort: &Sort,
        bound: Option<ItemKey<'_>>,
        after_value: Option<&str>,
        order: WalkOrder,
        k: usize,
        out: &mut Vec<u32>,
    ) {
        let mut selector = Selector::new(k, order);
        for doc in members {
            let Some(slot) = self.slot(doc) else {
                continue;
            };
            let Some(value) = self.sort_value(slot, sort) else {
                continue;
            };
            if let Some(after) = after_value
                && (if order.ascending {
                    value <= after
                } else {
                    value >= after
                })
            {
                continue;
            }
            let item = ItemKey::of_slot(slot, Some(value));
            if bound.is_some_and(|b| order.cmp(&item, &b) != Ordering::Greater) {
                continue;
            }
            selector.push(doc, item);
        }
        out.extend(selector.finish());
    }
}

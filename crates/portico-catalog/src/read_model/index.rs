//! The inverted index behind [`super::ReadModel`]: entity slots, interned keys and values with
//! their posting lists, and the per-entity row list used to update it.
//!
//! Layout (ids are dense `u32`s, recycled through free lists):
//! - a **slot** per entity: canonical ref, uid, the stored JSON text (`Arc<str>`) and its rows
//!   `(key id, value id)` sorted by key — the "forward index" used to remove old postings on
//!   update, to read one entity's sort value and to count facets of a small filtered set;
//! - a **key** per distinct lowercase key: which entities have it (`exists`), which have it
//!   only without a value (`unvalued`), which have several values (`multi`), its values in
//!   sorted order ([`SortedValues`]) and, for a few text keys, a trigram index ([`NgramIndex`]);
//! - a **value** per distinct `(key, lowercase value)`: the text, the first original spelling
//!   when it differs, and the entities carrying it ([`Posting`]).
//!
//! Strings are stored once: the hash tables hold only ids and hash the strings they point to.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use hashbrown::HashTable;
use roaring::RoaringBitmap;

use super::flatten::Flattened;
use super::ngram::NgramIndex;
use super::posting::Posting;
use super::sorted::SortedValues;

/// Value id of a row whose key has no value (null, or too long to index).
pub(crate) const NO_VALUE: u32 = u32::MAX;
/// Key id marking a free value slot.
const FREE: u32 = u32::MAX;

/// One search row of an entity, as ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Row {
    pub key: u32,
    pub value: u32,
}

/// A distinct `(key, lowercase value)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueEntry {
    /// Owning key ([`FREE`] when the slot is unused).
    pub key: u32,
    /// Lowercase text.
    pub lower: Box<str>,
    /// The spelling first seen, when it differs from `lower`.
    pub original: Option<Box<str>>,
    /// Entities carrying this value.
    pub docs: Posting,
}

impl ValueEntry {
    /// The value as written (first spelling seen), for facets.
    pub fn display(&self) -> &str {
        self.original.as_deref().unwrap_or(&self.lower)
    }
}

/// A distinct lowercase key.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyEntry {
    /// Lowercase dotted key; empty when the slot is unused.
    pub name: Box<str>,
    /// Entities with at least one row of this key.
    pub exists: Posting,
    /// Entities whose rows of this key all lack a value.
    pub unvalued: Posting,
    /// Entities with two or more values of this key.
    pub multi: Posting,
    /// Value ids in lowercase order.
    pub sorted: SortedValues,
    /// Trigram index of the values, for keys configured for full-text search.
    pub ngrams: Option<Box<NgramIndex>>,
}

/// One stored entity.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// `kind:namespace/name`, lowercase.
    pub entity_ref: Box<str>,
    /// `metadata.uid` as written.
    pub uid: Option<Box<str>>,
    /// Compact JSON text of the entity.
    pub json: Arc<str>,
    /// Search rows as ids, sorted, distinct.
    pub rows: Box<[Row]>,
    /// First 8 bytes of [`Slot::tiebreak`], big-endian: most comparisons stop here.
    pub tb_prefix: u64,
}

impl Slot {
    /// The tie-breaker of ordering: the uid, or the ref for entities without one.
    pub fn tiebreak(&self) -> &str {
        self.uid.as_deref().unwrap_or(&self.entity_ref)
    }

    /// The value ids of `key` in this entity (without [`NO_VALUE`]).
    pub fn values_of(&self, key: u32) -> impl Iterator<Item = u32> + '_ {
        let start = self.rows.partition_point(|r| r.key < key);
        self.rows
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |r| r.key == key)
            .filter(|r| r.value != NO_VALUE)
            .map(|r| r.value)
    }
}

/// Big-endian prefix of the first 8 bytes, so that integer order agrees with string order.
pub(crate) fn prefix_u64(text: &str) -> u64 {
    let mut bytes = [0u8; 8];
    for (slot, byte) in bytes.iter_mut().zip(text.bytes()) {
        *slot = byte;
    }
    u64::from_be_bytes(bytes)
}

/// Counts of the index's contents and an estimate of their heap size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadModelStats {
    /// Stored entities.
    pub entities: usize,
    /// Distinct lowercase keys.
    pub keys: usize,
    /// Distinct `(key, lowercase value)` pairs.
    pub values: usize,
    /// Search rows over all entities.
    pub rows: usize,
    /// Bytes of stored entity JSON.
    pub json_bytes: usize,
    /// Estimated heap bytes of everything else (tables, postings, strings, rows).
    pub index_bytes: usize,
}

/// The index's data and its maintenance; queries live in `query.rs`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    hasher: RandomState,
    pub keys: Vec<KeyEntry>,
    free_keys: Vec<u32>,
    key_table: HashTable<u32>,
    pub values: Vec<ValueEntry>,
    free_values: Vec<u32>,
    value_table: HashTable<u32>,
    pub slots: Vec<Option<Slot>>,
    free_slots: Vec<u32>,
    ref_table: HashTable<u32>,
    uid_table: HashTable<u32>,
    /// Every stored entity.
    pub live: RoaringBitmap,
    /// Keys given a trigram index when created.
    ngram_keys: Vec<String>,
}

fn value_hash(hasher: &RandomState, key: u32, lower: &str) -> u64 {
    hasher.hash_one((key, lower))
}

impl Index {
    pub fn with_ngram_keys(ngram_keys: Vec<String>) -> Self {
        Self {
            ngram_keys: ngram_keys.into_iter().map(|k| k.to_lowercase()).collect(),
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.live.len() as usize
    }

    pub fn slot(&self, doc: u32) -> Option<&Slot> {
        self.slots.get(doc as usize).and_then(Option::as_ref)
    }

    pub fn key(&self, key: u32) -> Option<&KeyEntry> {
        self.keys.get(key as usize)
    }

    pub fn value(&self, value: u32) -> Option<&ValueEntry> {
        self.values.get(value as usize)
    }

    /// The id of a lowercase key.
    pub fn key_id(&self, name: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.key_table
            .find(hash, |&id| {
                self.keys.get(id as usize).is_some_and(|k| &*k.name == name)
            })
            .copied()
    }

    /// The id of a lowercase value of a key.
    pub fn value_id(&self, key: u32, lower: &str) -> Option<u32> {
        let hash = value_hash(&self.hasher, key, lower);
        self.value_table
            .find(hash, |&id| {
                self.values
                    .get(id as usize)
                    .is_some_and(|v| v.key == key && &*v.lower == lower)
            })
            .copied()
    }

    /// The entity with this canonical (lowercase) ref.
    pub fn doc_by_ref(&self, entity_ref: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(entity_ref);
        self.ref_table
            .find(hash, |&doc| {
                self.slot(doc).is_some_and(|s| &*s.entity_ref == entity_ref)
            })
            .copied()
    }

    /// The entity with this uid.
    pub fn doc_by_uid(&self, uid: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(uid);
        self.uid_table
            .find(hash, |&doc| {
                self.slot(doc)
                    .is_some_and(|s| s.uid.as_deref() == Some(uid))
            })
            .copied()
    }

    fn intern_key(&mut self, name: &str) -> u32 {
        if let Some(id) = self.key_id(name) {
            return id;
        }
        let entry = KeyEntry {
            name: name.into(),
            ngrams: self.ngram_keys.iter().any(|k| k == name).then(Box::default),
            ..KeyEntry::default()
        };
        let id = match self.free_keys.pop() {
            Some(id) => {
                if let Some(slot) = self.keys.get_mut(id as usize) {
                    *slot = entry;
                }
                id
            }
            None => {
                self.keys.push(entry);
                (self.keys.len() - 1) as u32
            }
        };
        let Index {
            hasher,
            keys,
            key_table,
            ..
        } = self;
        key_table.insert_unique(hasher.hash_one(name), id, |&k| {
            hasher.hash_one(keys.get(k as usize).map_or("", |e| &*e.name))
        });
        id
    }

    fn intern_value(&mut self, key: u32, lower: String, original: String) -> u32 {
        if let Some(id) = self.value_id(key, &lower) {
            return id;
        }
        let original = (original != lower).then(|| original.into_boxed_str());
        let entry = ValueEntry {
            key,
            lower: lower.into_boxed_str(),
            original,
            docs: Posting::default(),
        };
        let id = match self.free_values.pop() {
            Some(id) => {
                if let Some(slot) = self.values.get_mut(id as usize) {
                    *slot = entry;
                }
                id
            }
            None => {
                self.values.push(entry);
                (self.values.len() - 1) as u32
            }
        };
        let Index {
            hasher,
            keys,
            values,
            value_table,
            ..
        } = self;
        let text = values.get(id as usize).map_or("", |v| &*v.lower);
        value_table.insert_unique(value_hash(hasher, key, text), id, |&v| {
            values
                .get(v as usize)
                .map_or(0, |e| value_hash(hasher, e.key, &e.lower))
        });
        if let Some(entry) = keys.get_mut(key as usize) {
            entry.sorted.insert(id, values);
            if let Some(ngrams) = entry.ngrams.as_mut() {
                ngrams.insert(id, text);
            }
        }
        id
    }

    fn free_value(&mut self, id: u32) {
        let Index {
            hasher,
            keys,
            values,
            value_table,
            free_values,
            ..
        } = self;
        let Some(entry) = values.get(id as usize) else {
            return;
        };
        if entry.key == FREE || !entry.docs.is_empty() {
            return;
        }
        let key = entry.key;
        let hash = value_hash(hasher, key, &entry.lower);
        if let Ok(found) = value_table.find_entry(hash, |&v| v == id) {
            found.remove();
        }
        if let Some(key_entry) = keys.get_mut(key as usize) {
            key_entry.sorted.remove(id, values);
            if let Some(ngrams) = key_entry.ngrams.as_mut() {
                ngrams.remove(id, &entry.lower);
            }
        }
        if let Some(entry) = values.get_mut(id as usize) {
            *entry = ValueEntry {
                key: FREE,
                ..ValueEntry::default()
            };
        }
        free_values.push(id);
    }

    fn free_key(&mut self, id: u32) {
        let Some(entry) = self.keys.get(id as usize) else {
            return;
        };
        if entry.name.is_empty() || !entry.exists.is_empty() || entry.sorted.len() > 0 {
            return;
        }
        let hash = self.hasher.hash_one(&*entry.name);
        if let Ok(found) = self.key_table.find_entry(hash, |&k| k == id) {
            found.remove();
        }
        if let Some(entry) = self.keys.get_mut(id as usize) {
            *entry = KeyEntry::default();
        }
        self.free_keys.push(id);
    }

    /// Adds or replaces the entity `flat` describes, stored as `json`.
    pub fn upsert(&mut self, flat: Flattened, json: Arc<str>) {
        let mut rows: Vec<Row> = Vec::with_capacity(flat.rows.len());
        for row in flat.rows {
            let key = self.intern_key(&row.key);
            let value = match row.value {
                None => NO_VALUE,
                Some(v) => self.intern_value(key, v.lower, v.original),
            };
            rows.push(Row { key, value });
        }
        rows.sort_unstable();
        rows.dedup();

        let uid: Option<Box<str>> = flat.uid.map(String::into_boxed_str);
        let existing = self.doc_by_ref(&flat.entity_ref);
        let doc = match existing {
            Some(doc) => doc,
            None => self.allocate_slot(),
        };
        let old_rows: Box<[Row]> = match existing {
            Some(doc) => {
                let old_uid = self.slot(doc).and_then(|s| s.uid.clone());
                if old_uid != uid
                    && let Some(old_uid) = old_uid
                {
                    self.unmap_uid(&old_uid, doc);
                }
                self.slots
                    .get_mut(doc as usize)
                    .and_then(Option::as_mut)
                    .map(|s| std::mem::take(&mut s.rows))
                    .unwrap_or_default()
            }
            None => Box::default(),
        };
        self.apply_rows(doc, &old_rows, &rows);

        let tb_prefix = prefix_u64(uid.as_deref().unwrap_or(&flat.entity_ref));
        let slot = Slot {
            entity_ref: flat.entity_ref.into_boxed_str(),
            uid,
            json,
            rows: rows.into_boxed_slice(),
            tb_prefix,
        };
        if let Some(place) = self.slots.get_mut(doc as usize) {
            *place = Some(slot);
        }
        if existing.is_none() {
            self.map_ref(doc);
        }
        self.map_uid(doc);
        self.live.insert(doc);
    }

    /// Removes the entity with this canonical ref; returns whether it was there.
    pub fn remove(&mut self, entity_ref: &str) -> bool {
        let Some(doc) = self.doc_by_ref(entity_ref) else {
            return false;
        };
        let Some(slot) = self.slots.get_mut(doc as usize).and_then(Option::take) else {
            return false;
        };
        // Unmap while the slot's strings are still at hand (the tables hash them).
        let hash = self.hasher.hash_one(&*slot.entity_ref);
        if let Ok(found) = self.ref_table.find_entry(hash, |&d| d == doc) {
            found.remove();
        }
        if let Some(uid) = &slot.uid {
            self.unmap_uid(uid, doc);
        }
        self.apply_rows(doc, &slot.rows, &[]);
        self.live.remove(doc);
        self.free_slots.push(doc);
        true
    }

    fn allocate_slot(&mut self) -> u32 {
        match self.free_slots.pop() {
            Some(doc) => doc,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn map_ref(&mut self, doc: u32) {
        let Index {
            hasher,
            slots,
            ref_table,
            ..
        } = self;
        let Some(slot) = slots.get(doc as usize).and_then(Option::as_ref) else {
            return;
        };
        ref_table.insert_unique(hasher.hash_one(&*slot.entity_ref), doc, |&d| {
            hasher.hash_one(
                slots
                    .get(d as usize)
                    .and_then(Option::as_ref)
                    .map_or("", |s| &*s.entity_ref),
            )
        });
    }

    /// Maps the slot's uid to `doc`; a uid already mapped to another entity is taken over.
    fn map_uid(&mut self, doc: u32) {
        let Index {
            hasher,
            slots,
            uid_table,
            ..
        } = self;
        let Some(uid) = slots
            .get(doc as usize)
            .and_then(Option::as_ref)
            .and_then(|s| s.uid.as_deref())
        else {
            return;
        };
        let hash = hasher.hash_one(uid);
        let uid_of = |d: u32| {
            slots
                .get(d as usize)
                .and_then(Option::as_ref)
                .and_then(|s| s.uid.as_deref())
        };
        match uid_table.find_mut(hash, |&d| d == doc || uid_of(d) == Some(uid)) {
            Some(mapped) => *mapped = doc,
            None => {
                uid_table.insert_unique(hash, doc, |&d| hasher.hash_one(uid_of(d).unwrap_or("")));
            }
        }
    }

    /// Drops the uid mapping of `doc` if `uid` still points to it.
    fn unmap_uid(&mut self, uid: &str, doc: u32) {
        let hash = self.hasher.hash_one(uid);
        if let Ok(found) = self.uid_table.find_entry(hash, |&d| d == doc) {
            found.remove();
        }
    }

    /// Moves `doc`'s postings from `old` rows to `new` rows (both sorted), then frees values and
    /// keys nobody uses any more.
    fn apply_rows(&mut self, doc: u32, old: &[Row], new: &[Row]) {
        let mut touched_keys: Vec<u32> = Vec::new();
        let mut emptied_values: Vec<u32> = Vec::new();
        let (mut i, mut j) = (0, 0);
        loop {
            let order = match (old.get(i), new.get(j)) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(b),
            };
            match order {
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
                std::cmp::Ordering::Less => {
                    if let Some(row) = old.get(i) {
                        touched_keys.push(row.key);
                        if let Some(value) = self.values.get_mut(row.value as usize) {
                            value.docs.remove(doc);
                            if value.docs.is_empty() {
                                emptied_values.push(row.value);
                            }
                        }
                    }
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    if let Some(row) = new.get(j) {
                        touched_keys.push(row.key);
                        if let Some(value) = self.values.get_mut(row.value as usize) {
                            value.docs.insert(doc);
                        }
                    }
                    j += 1;
                }
            }
        }
        touched_keys.dedup();
        for &key in &touched_keys {
            let start = new.partition_point(|r| r.key < key);
            let of_key = new
                .get(start..)
                .unwrap_or_default()
                .iter()
                .take_while(|r| r.key == key);
            let (mut present, mut valued) = (false, 0usize);
            for row in of_key {
                present = true;
                if row.value != NO_VALUE {
                    valued += 1;
                }
            }
            if let Some(entry) = self.keys.get_mut(key as usize) {
                set(&mut entry.exists, doc, present);
                set(&mut entry.unvalued, doc, present && valued == 0);
                set(&mut entry.multi, doc, valued >= 2);
            }
        }
        for value in emptied_values {
            self.free_value(value);
        }
        for key in touched_keys {
            if self
                .keys
                .get(key as usize)
                .is_some_and(|k| k.exists.is_empty())
            {
                self.free_key(key);
            }
        }
    }

    /// Counts and estimated heap bytes (walks everything: for benchmarks and diagnostics).
    pub fn stats(&self) -> ReadModelStats {
        let mut stats = ReadModelStats {
            entities: self.len(),
            ..ReadModelStats::default()
        };
        let mut bytes = self.keys.capacity() * size_of::<KeyEntry>()
            + self.values.capacity() * size_of::<ValueEntry>()
            + self.slots.capacity() * size_of::<Option<Slot>>()
            + (self.key_table.capacity()
                + self.value_table.capacity()
                + self.ref_table.capacity()
                + self.uid_table.capacity())
                * 5
            + self.live.serialized_size();
        for key in self.keys.iter().filter(|k| !k.name.is_empty()) {
            stats.keys += 1;
            bytes += key.name.len()
                + key.exists.heap_bytes()
                + key.unvalued.heap_bytes()
                + key.multi.heap_bytes()
                + key.sorted.heap_bytes()
                + key.ngrams.as_ref().map_or(0, |n| n.heap_bytes());
        }
        for value in self.values.iter().filter(|v| v.key != FREE) {
            stats.values += 1;
            bytes += value.lower.len()
                + value.original.as_ref().map_or(0, |o| o.len())
                + value.docs.heap_bytes();
        }
        for slot in self.slots.iter().flatten() {
            stats.rows += slot.rows.len();
            stats.json_bytes += slot.json.len();
            bytes += slot.entity_ref.len()
                + slot.uid.as_ref().map_or(0, |u| u.len())
                + slot.rows.len() * size_of::<Row>();
        }
        stats.index_bytes = bytes;
        stats
    }
}

fn set(posting: &mut Posting, doc: u32, member: bool) {
    if member {
        posting.insert(doc);
    } else {
        posting.remove(doc);
    }
}

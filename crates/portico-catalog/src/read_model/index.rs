//! The inverted index behind [`super::ReadModel`]: entity slots, interned keys and values with
//! their posting lists, and the per-entity row list used to update it.
//!
//! Layout (ids are dense `u32`s, recycled through free lists):
//! - a **slot** per entity: canonical ref and uid (one allocation), the stored JSON text
//!   (`Arc<str>`) and its rows sorted by key — the "forward index" used to remove old postings
//!   on update, to read one entity's sort value and to count facets of a small filtered set. A
//!   row is 4 bytes: a value id (the value knows its key), or for a key without a value, the
//!   key id tagged with [`NULL_ROW`];
//! - a **key** per distinct lowercase key: which entities have it (`exists`), its values in
//!   sorted order ([`SortedValues`]) and, only when needed, which entities have it without a
//!   value or with several values, and a trigram index ([`NgramIndex`]) for full-text keys;
//! - a **value** per distinct `(key, lowercase value)`: 32 bytes — its key, where its text
//!   lives in the text arena, and the entities carrying it ([`Posting`]).
//!
//! Value texts (lowercase, then the first original spelling when it differs) are appended to
//! one arena string; freed texts are counted and the arena is compacted when more than half of
//! it is garbage. Hash tables hold only ids and hash the strings they point to, so every string
//! is stored once.

mod snapshot;

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;
use roaring::RoaringBitmap;

use super::compact::CompactJson;
use super::flatten::{FlatValue, Flattened};
use super::ngram::NgramIndex;
use super::posting::Posting;
use super::sorted::SortedValues;

/// Tag of a row that is a key id without a value (null, or too long to index); other rows are
/// value ids, which therefore stay below this.
pub(crate) const NULL_ROW: u32 = 1 << 31;
/// Key id marking a free value slot.
const FREE: u32 = u32::MAX;
/// The arena is compacted only past this size (bytes).
const ARENA_COMPACT_MIN: usize = 1 << 16;

/// A distinct `(key, lowercase value)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueEntry {
    /// Owning key ([`FREE`] when the slot is unused).
    pub key: u32,
    /// Bytes of the lowercase text at `offset` in the arena.
    lower_len: u16,
    /// Bytes of the original spelling right after it; 0 when it equals the lowercase text.
    original_len: u16,
    offset: u64,
    /// Entities carrying this value.
    pub docs: Posting,
}

/// Reads value texts from the arena.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Texts<'a> {
    values: &'a [ValueEntry],
    arena: &'a str,
}

impl<'a> Texts<'a> {
    fn span(&self, offset: u64, len: u16) -> &'a str {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        self.arena
            .get(start..start.saturating_add(usize::from(len)))
            .unwrap_or_default()
    }

    /// The lowercase text of value `id`.
    pub fn lower(&self, id: u32) -> &'a str {
        self.values
            .get(id as usize)
            .map_or("", |v| self.span(v.offset, v.lower_len))
    }

    /// The value as first written, for facets.
    pub fn original(&self, id: u32) -> &'a str {
        match self.values.get(id as usize) {
            Some(v) if v.original_len > 0 => {
                self.span(v.offset + u64::from(v.lower_len), v.original_len)
            }
            _ => self.lower(id),
        }
    }
}

/// Per-key sets that are usually empty, kept out of line.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyExtra {
    /// Entities whose rows of this key all lack a value.
    pub unvalued: Posting,
    /// Entities with two or more values of this key.
    pub multi: Posting,
    /// Trigram index of the values, for keys configured for full-text search.
    pub ngrams: Option<NgramIndex>,
}

/// A distinct lowercase key.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyEntry {
    /// Lowercase dotted key; empty when the slot is unused.
    pub name: Box<str>,
    /// Entities with at least one row of this key.
    pub exists: Posting,
    /// Value ids in lowercase order.
    pub sorted: SortedValues,
    pub extra: Option<Box<KeyExtra>>,
}

impl KeyEntry {
    pub fn unvalued(&self) -> Option<&Posting> {
        self.extra
            .as_ref()
            .map(|e| &e.unvalued)
            .filter(|p| !p.is_empty())
    }

    pub fn is_multi(&self, doc: u32) -> bool {
        self.extra.as_ref().is_some_and(|e| e.multi.contains(doc))
    }

    pub fn ngrams(&self) -> Option<&NgramIndex> {
        self.extra.as_ref().and_then(|e| e.ngrams.as_ref())
    }
}

/// One stored entity.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// Compact JSON text of the entity, compressed.
    pub json: CompactJson,
    /// The canonical ref followed by the uid (if any).
    ids: Box<str>,
    /// Search rows (value ids, or [`NULL_ROW`]-tagged key ids), sorted by key then row.
    rows: Box<[u32]>,
    /// First 8 bytes of [`Slot::tiebreak`], big-endian: most comparisons stop here.
    pub tb_prefix: u64,
    ref_len: u32,
}

impl Slot {
    /// `kind:namespace/name`, lowercase.
    pub fn entity_ref(&self) -> &str {
        self.ids.get(..self.ref_len as usize).unwrap_or_default()
    }

    /// `metadata.uid` as written.
    pub fn uid(&self) -> Option<&str> {
        self.ids
            .get(self.ref_len as usize..)
            .filter(|uid| !uid.is_empty())
    }

    /// The tie-breaker of ordering: the uid, or the ref for entities without one.
    pub fn tiebreak(&self) -> &str {
        self.uid().unwrap_or_else(|| self.entity_ref())
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadModelStats {
    /// Stored entities.
    pub entities: usize,
    /// Distinct lowercase keys.
    pub keys: usize,
    /// Distinct `(key, lowercase value)` pairs.
    pub values: usize,
    /// Search rows over all entities.
    pub rows: usize,
    /// Bytes of stored entity JSON (compressed, as held in memory).
    pub json_bytes: usize,
    /// Estimated heap bytes of the index (everything but the JSON), by part, allocator
    /// overhead included.
    pub index_parts: Vec<(&'static str, usize)>,
}

impl ReadModelStats {
    /// Estimated heap bytes of the index, JSON excluded.
    pub fn index_bytes(&self) -> usize {
        self.index_parts.iter().map(|(_, bytes)| bytes).sum()
    }
}

/// The index's data and its maintenance; queries live in `query.rs`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    hasher: RandomState,
    pub keys: Vec<KeyEntry>,
    free_keys: Vec<u32>,
    key_table: HashTable<u32>,
    values: Vec<ValueEntry>,
    free_values: Vec<u32>,
    value_table: HashTable<u32>,
    arena: String,
    arena_garbage: usize,
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

    pub fn texts(&self) -> Texts<'_> {
        Texts {
            values: &self.values,
            arena: &self.arena,
        }
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

    /// The key of a row.
    fn key_of(values: &[ValueEntry], row: u32) -> u32 {
        if row & NULL_ROW != 0 {
            row & !NULL_ROW
        } else {
            values.get(row as usize).map_or(FREE, |v| v.key)
        }
    }

    /// The value ids of `key` in entity `slot` (rows without a value left out).
    pub fn values_of<'a>(&'a self, slot: &'a Slot, key: u32) -> impl Iterator<Item = u32> + 'a {
        let values = &self.values;
        let start = slot
            .rows
            .partition_point(|&r| Self::key_of(values, r) < key);
        slot.rows
            .get(start..)
            .unwrap_or_default()
            .iter()
            .copied()
            .take_while(move |&r| Self::key_of(values, r) == key)
            .filter(|&r| r & NULL_ROW == 0)
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
        let texts = self.texts();
        self.value_table
            .find(hash, |&id| {
                self.values.get(id as usize).is_some_and(|v| v.key == key)
                    && texts.lower(id) == lower
            })
            .copied()
    }

    /// The entity with this canonical (lowercase) ref.
    pub fn doc_by_ref(&self, entity_ref: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(entity_ref);
        self.ref_table
            .find(hash, |&doc| {
                self.slot(doc).is_some_and(|s| s.entity_ref() == entity_ref)
            })
            .copied()
    }

    /// The entity with this uid.
    pub fn doc_by_uid(&self, uid: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(uid);
        self.uid_table
            .find(hash, |&doc| {
                self.slot(doc).is_some_and(|s| s.uid() == Some(uid))
            })
            .copied()
    }

    fn intern_key(&mut self, name: &str) -> u32 {
        if let Some(id) = self.key_id(name) {
            return id;
        }
        let extra = self.ngram_keys.iter().any(|k| k == name).then(|| {
            Box::new(KeyExtra {
                ngrams: Some(NgramIndex::default()),
                ..KeyExtra::default()
            })
        });
        let entry = KeyEntry {
            name: name.into(),
            extra,
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

    /// The id of `value` for `key`, created if new; `None` if its text cannot be stored.
    fn intern_value(&mut self, key: u32, value: &FlatValue) -> Option<u32> {
        if let Some(id) = self.value_id(key, &value.lower) {
            return Some(id);
        }
        if self.values.len() >= NULL_ROW as usize && self.free_values.is_empty() {
            return None;
        }
        let lower_len = u16::try_from(value.lower.len()).ok()?;
        let original_len = if value.original == value.lower {
            0
        } else {
            u16::try_from(value.original.len()).ok()?
        };
        let offset = self.arena.len() as u64;
        self.arena.push_str(&value.lower);
        if original_len > 0 {
            self.arena.push_str(&value.original);
        }
        let entry = ValueEntry {
            key,
            lower_len,
            original_len,
            offset,
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
            arena,
            ..
        } = self;
        let texts = Texts { values, arena };
        value_table.insert_unique(value_hash(hasher, key, &value.lower), id, |&v| {
            values
                .get(v as usize)
                .map_or(0, |e| value_hash(hasher, e.key, texts.lower(v)))
        });
        if let Some(entry) = keys.get_mut(key as usize) {
            entry.sorted.insert(id, texts);
            if let Some(ngrams) = entry.extra.as_mut().and_then(|e| e.ngrams.as_mut()) {
                ngrams.insert(id, &value.lower);
            }
        }
        Some(id)
    }

    fn free_value(&mut self, id: u32) {
        let Index {
            hasher,
            keys,
            values,
            value_table,
            free_values,
            arena,
            arena_garbage,
            ..
        } = self;
        let Some(entry) = values.get(id as usize) else {
            return;
        };
        if entry.key == FREE || !entry.docs.is_empty() {
            return;
        }
        let key = entry.key;
        let garbage = usize::from(entry.lower_len) + usize::from(entry.original_len);
        let texts = Texts { values, arena };
        let lower = texts.lower(id);
        let hash = value_hash(hasher, key, lower);
        if let Ok(found) = value_table.find_entry(hash, |&v| v == id) {
            found.remove();
        }
        if let Some(key_entry) = keys.get_mut(key as usize) {
            key_entry.sorted.remove(id, texts);
            if let Some(ngrams) = key_entry.extra.as_mut().and_then(|e| e.ngrams.as_mut()) {
                ngrams.remove(id, lower);
            }
        }
        if let Some(entry) = values.get_mut(id as usize) {
            *entry = ValueEntry {
                key: FREE,
                ..ValueEntry::default()
            };
        }
        *arena_garbage += garbage;
        free_values.push(id);
    }

    /// Rewrites the arena without the texts of freed values.
    fn compact_arena(&mut self) {
        let mut arena = String::with_capacity(self.arena.len() - self.arena_garbage);
        let texts = Texts {
            values: &self.values,
            arena: &self.arena,
        };
        let mut offsets = Vec::with_capacity(self.values.len());
        for (id, entry) in self.values.iter().enumerate() {
            let offset = arena.len() as u64;
            if entry.key != FREE {
                arena.push_str(texts.lower(id as u32));
                if entry.original_len > 0 {
                    arena.push_str(texts.original(id as u32));
                }
            }
            offsets.push(offset);
        }
        for (entry, offset) in self.values.iter_mut().zip(offsets) {
            entry.offset = offset;
        }
        self.arena = arena;
        self.arena_garbage = 0;
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
    pub fn upsert(&mut self, flat: Flattened, json: CompactJson) {
        let mut rows: Vec<(u32, u32)> = Vec::with_capacity(flat.rows.len());
        for row in &flat.rows {
            let key = self.intern_key(&row.key);
            let value = row
                .value
                .as_ref()
                .and_then(|v| self.intern_value(key, v))
                .unwrap_or(NULL_ROW | key);
            rows.push((key, value));
        }
        rows.sort_unstable();
        rows.dedup();
        let rows: Vec<u32> = rows.into_iter().map(|(_, row)| row).collect();

        let existing = self.doc_by_ref(&flat.entity_ref);
        let doc = match existing {
            Some(doc) => doc,
            None => self.allocate_slot(),
        };
        let old_rows: Box<[u32]> = match existing {
            Some(doc) => {
                let old_uid = self.slot(doc).and_then(|s| s.uid().map(str::to_owned));
                if old_uid != flat.uid
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

        let uid = flat.uid.as_deref().unwrap_or_default();
        let tb_prefix = prefix_u64(if uid.is_empty() {
            &flat.entity_ref
        } else {
            uid
        });
        let ref_len = u32::try_from(flat.entity_ref.len()).unwrap_or(u32::MAX);
        let mut ids = flat.entity_ref;
        ids.push_str(uid);
        let slot = Slot {
            json,
            ids: ids.into_boxed_str(),
            rows: rows.into_boxed_slice(),
            tb_prefix,
            ref_len,
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
        let hash = self.hasher.hash_one(slot.entity_ref());
        if let Ok(found) = self.ref_table.find_entry(hash, |&d| d == doc) {
            found.remove();
        }
        if let Some(uid) = slot.uid() {
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
        let ref_of = |d: u32| {
            slots
                .get(d as usize)
                .and_then(Option::as_ref)
                .map_or("", Slot::entity_ref)
        };
        ref_table.insert_unique(hasher.hash_one(ref_of(doc)), doc, |&d| {
            hasher.hash_one(ref_of(d))
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
        let uid_of = |d: u32| {
            slots
                .get(d as usize)
                .and_then(Option::as_ref)
                .and_then(Slot::uid)
        };
        let Some(uid) = uid_of(doc) else {
            return;
        };
        let hash = hasher.hash_one(uid);
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

    /// Moves `doc`'s postings from `old` rows to `new` rows (both sorted by key then row), then
    /// frees values and keys nobody uses any more.
    fn apply_rows(&mut self, doc: u32, old: &[u32], new: &[u32]) {
        let mut touched_keys: Vec<u32> = Vec::new();
        let mut emptied_values: Vec<u32> = Vec::new();
        let (mut i, mut j) = (0, 0);
        loop {
            let key_row = |row: Option<&u32>| row.map(|&r| (Self::key_of(&self.values, r), r));
            let (a, b) = (key_row(old.get(i)), key_row(new.get(j)));
            let order = match (a, b) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(&b),
            };
            match (order, a, b) {
                (std::cmp::Ordering::Equal, _, _) => {
                    i += 1;
                    j += 1;
                }
                (std::cmp::Ordering::Less, Some((key, row)), _) => {
                    touched_keys.push(key);
                    if let Some(value) = self.values.get_mut(row as usize) {
                        value.docs.remove(doc);
                        if value.docs.is_empty() {
                            emptied_values.push(row);
                        }
                    }
                    i += 1;
                }
                (_, _, Some((key, row))) => {
                    touched_keys.push(key);
                    if let Some(value) = self.values.get_mut(row as usize) {
                        value.docs.insert(doc);
                    }
                    j += 1;
                }
                _ => break,
            }
        }
        touched_keys.sort_unstable();
        touched_keys.dedup();
        for &key in &touched_keys {
            let values = &self.values;
            let start = new.partition_point(|&r| Self::key_of(values, r) < key);
            let of_key = new
                .get(start..)
                .unwrap_or_default()
                .iter()
                .take_while(|&&r| Self::key_of(values, r) == key);
            let (mut present, mut valued) = (false, 0usize);
            for &row in of_key {
                present = true;
                if row & NULL_ROW == 0 {
                    valued += 1;
                }
            }
            if let Some(entry) = self.keys.get_mut(key as usize) {
                set(&mut entry.exists, doc, present);
                let unvalued = present && valued == 0;
                let multi = valued >= 2;
                if unvalued || multi || entry.extra.is_some() {
                    let extra = entry.extra.get_or_insert_with(Box::default);
                    set(&mut extra.unvalued, doc, unvalued);
                    set(&mut extra.multi, doc, multi);
                    if extra.unvalued.is_empty() && extra.multi.is_empty() && extra.ngrams.is_none()
                    {
                        entry.extra = None;
                    }
                }
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
        if self.arena.len() > ARENA_COMPACT_MIN && self.arena_garbage * 2 > self.arena.len() {
            self.compact_arena();
        }
    }

    /// Counts and estimated heap bytes (walks everything: for benchmarks and diagnostics).
    pub fn stats(&self) -> ReadModelStats {
        let mut stats = ReadModelStats {
            entities: self.len(),
            ..ReadModelStats::default()
        };
        let (mut keys, mut key_postings, mut orders, mut ngrams) = (0, 0, 0, 0);
        for key in self.keys.iter().filter(|k| !k.name.is_empty()) {
            stats.keys += 1;
            keys += heap(key.name.len());
            key_postings += key.exists.heap_bytes();
            if let Some(extra) = &key.extra {
                keys += heap(size_of::<KeyExtra>());
                key_postings += extra.unvalued.heap_bytes() + extra.multi.heap_bytes();
                ngrams += extra.ngrams.as_ref().map_or(0, NgramIndex::heap_bytes);
            }
            orders += key.sorted.heap_bytes();
        }
        let mut postings = 0;
        for value in self.values.iter().filter(|v| v.key != FREE) {
            stats.values += 1;
            postings += value.docs.heap_bytes();
        }
        let (mut rows, mut slots) = (0, 0);
        for slot in self.slots.iter().flatten() {
            stats.rows += slot.rows.len();
            stats.json_bytes += slot.json.compressed().len();
            rows += heap(slot.rows.len() * size_of::<u32>());
            slots += heap(slot.ids.len());
        }
        let tables = (self.key_table.capacity()
            + self.value_table.capacity()
            + self.ref_table.capacity()
            + self.uid_table.capacity())
            * 5
            * 8
            / 7;
        stats.index_parts = vec![
            ("values", self.values.len() * size_of::<ValueEntry>()),
            ("value texts", self.arena.len()),
            ("value postings", postings),
            ("hash tables", tables),
            ("entity rows", rows),
            (
                "entity slots",
                self.slots.len() * size_of::<Option<Slot>>() + slots,
            ),
            ("keys", self.keys.len() * size_of::<KeyEntry>() + keys),
            ("key postings", key_postings + self.live.serialized_size()),
            ("key value orders", orders),
            ("trigram indexes", ngrams),
        ];
        stats
    }
}

/// Bytes the allocator takes for `n` requested (glibc: 8 bytes of header, 16-byte steps, 32
/// at least); 0 for no allocation.
pub(crate) fn heap(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        ((n + 8 + 15) & !15).max(32)
    }
}

fn set(posting: &mut Posting, doc: u32, member: bool) {
    if member {
        posting.insert(doc);
    } else {
        posting.remove(doc);
    }
}

//! The index written to and read back from a snapshot, field by field: everything but the hash
//! tables, which hold only ids and are rebuilt on load with a fresh hasher (their contents —
//! which ids are mapped — are written, so lookups after a load answer exactly as before).

use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read, Write};

use hashbrown::HashTable;

use super::super::codec::{Decoder, Encoder};
use super::super::compact::CompactJson;
use super::super::ngram::NgramIndex;
use super::super::posting::Posting;
use super::super::sorted::SortedValues;
use super::{FREE, Index, KeyEntry, KeyExtra, Slot, Texts, ValueEntry, value_hash};

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corrupt snapshot: {what}"),
    )
}

impl Index {
    /// Writes the index.
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> io::Result<()> {
        enc.len(self.ngram_keys.len())?;
        for key in &self.ngram_keys {
            enc.str(key)?;
        }
        enc.len(self.keys.len())?;
        for key in &self.keys {
            enc.str(&key.name)?;
            key.exists.encode(enc)?;
            key.sorted.encode(enc)?;
            match &key.extra {
                None => enc.u8(0)?,
                Some(extra) => {
                    enc.u8(1)?;
                    extra.unvalued.encode(enc)?;
                    extra.multi.encode(enc)?;
                    match &extra.ngrams {
                        None => enc.u8(0)?,
                        Some(ngrams) => {
                            enc.u8(1)?;
                            ngrams.encode(enc)?;
                        }
                    }
                }
            }
        }
        enc.u32s(&self.free_keys)?;
        enc.len(self.values.len())?;
        for value in &self.values {
            enc.u32(value.key)?;
            enc.u16(value.lower_len)?;
            enc.u16(value.original_len)?;
            enc.u64(value.offset)?;
            value.docs.encode(enc)?;
        }
        enc.u32s(&self.free_values)?;
        enc.str(&self.arena)?;
        enc.u64(self.arena_garbage as u64)?;
        enc.len(self.slots.len())?;
        for slot in &self.slots {
            match slot {
                None => enc.u8(0)?,
                Some(slot) => {
                    enc.u8(1)?;
                    enc.bytes(slot.json.compressed())?;
                    enc.str(&slot.ids)?;
                    enc.u32s(&slot.rows)?;
                    enc.u64(slot.tb_prefix)?;
                    enc.u32(slot.ref_len)?;
                }
            }
        }
        enc.u32s(&self.free_slots)?;
        let mut ref_docs: Vec<u32> = self.ref_table.iter().copied().collect();
        ref_docs.sort_unstable();
        enc.u32s(&ref_docs)?;
        let mut uid_docs: Vec<u32> = self.uid_table.iter().copied().collect();
        uid_docs.sort_unstable();
        enc.u32s(&uid_docs)?;
        enc.bitmap(&self.live)
    }

    /// Reads an index written by [`Index::encode`] and rebuilds its hash tables.
    pub fn decode<R: Read>(dec: &mut Decoder<R>) -> io::Result<Index> {
        let n = dec.len(8)?;
        let mut ngram_keys = Vec::with_capacity(n);
        for _ in 0..n {
            ngram_keys.push(dec.string()?);
        }
        let n = dec.len(11)?;
        let mut keys = Vec::with_capacity(n);
        for _ in 0..n {
            let name = dec.string()?.into_boxed_str();
            let exists = Posting::decode(dec)?;
            let sorted = SortedValues::decode(dec)?;
            let extra = match dec.u8()? {
                0 => None,
                1 => {
                    let unvalued = Posting::decode(dec)?;
                    let multi = Posting::decode(dec)?;
                    let ngrams = match dec.u8()? {
                        0 => None,
                        1 => Some(NgramIndex::decode(dec)?),
                        _ => return Err(corrupt("unknown trigram flag")),
                    };
                    Some(Box::new(KeyExtra {
                        unvalued,
                        multi,
                        ngrams,
                    }))
                }
                _ => return Err(corrupt("unknown key flag")),
            };
            keys.push(KeyEntry {
                name,
                exists,
                sorted,
                extra,
            });
        }
        let free_keys = dec.u32s()?;
        let n = dec.len(17)?;
        let mut values = Vec::with_capacity(n);
        for _ in 0..n {
            let key = dec.u32()?;
            let lower_len = dec.u16()?;
            let original_len = dec.u16()?;
            let offset = dec.u64()?;
            let docs = Posting::decode(dec)?;
            values.push(ValueEntry {
                key,
                lower_len,
                original_len,
                offset,
                docs,
            });
        }
        let free_values = dec.u32s()?;
        let arena = dec.string()?;
        let arena_garbage = usize::try_from(dec.u64()?).unwrap_or(usize::MAX);
        if values.iter().any(|v| {
            v.key != FREE
                && v.offset + u64::from(v.lower_len) + u64::from(v.original_len)
                    > arena.len() as u64
        }) {
            return Err(corrupt("a value lies outside the text arena"));
        }
        let n = dec.len(1)?;
        let mut slots = Vec::with_capacity(n);
        for _ in 0..n {
            slots.push(match dec.u8()? {
                0 => None,
                1 => {
                    let json = CompactJson::from_compressed(dec.bytes()?);
                    let ids = dec.string()?.into_boxed_str();
                    let rows = dec.u32s()?.into_boxed_slice();
                    let tb_prefix = dec.u64()?;
                    let ref_len = dec.u32()?;
                    if !ids.is_char_boundary(ref_len as usize) {
                        return Err(corrupt("an entity's ref length"));
                    }
                    Some(Slot {
                        json,
                        ids,
                        rows,
                        tb_prefix,
                        ref_len,
                    })
                }
                _ => return Err(corrupt("unknown slot flag")),
            });
        }
        let free_slots = dec.u32s()?;
        let ref_docs = dec.u32s()?;
        let uid_docs = dec.u32s()?;
        let live = dec.bitmap()?;

        let hasher = RandomState::new();
        let mut key_table = HashTable::with_capacity(keys.len());
        for (id, key) in keys.iter().enumerate() {
            if !key.name.is_empty() {
                key_table.insert_unique(hasher.hash_one(&*key.name), id as u32, |&k| {
                    hasher.hash_one(keys.get(k as usize).map_or("", |e| &*e.name))
                });
            }
        }
        let texts = Texts {
            values: &values,
            arena: &arena,
        };
        let mut value_table = HashTable::with_capacity(values.len());
        for (id, value) in values.iter().enumerate() {
            if value.key != FREE {
                let id = id as u32;
                value_table.insert_unique(
                    value_hash(&hasher, value.key, texts.lower(id)),
                    id,
                    |&v| {
                        values
                            .get(v as usize)
                            .map_or(0, |e| value_hash(&hasher, e.key, texts.lower(v)))
                    },
                );
            }
        }
        let slot_of = |d: u32| slots.get(d as usize).and_then(Option::as_ref);
        let mut ref_table = HashTable::with_capacity(ref_docs.len());
        for &doc in &ref_docs {
            let Some(slot) = slot_of(doc) else {
                return Err(corrupt("a ref maps to an empty slot"));
            };
            ref_table.insert_unique(hasher.hash_one(slot.entity_ref()), doc, |&d| {
                hasher.hash_one(slot_of(d).map_or("", Slot::entity_ref))
            });
        }
        let mut uid_table = HashTable::with_capacity(uid_docs.len());
        for &doc in &uid_docs {
            let Some(uid) = slot_of(doc).and_then(Slot::uid) else {
                return Err(corrupt("a uid maps to an entity without one"));
            };
            uid_table.insert_unique(hasher.hash_one(uid), doc, |&d| {
                hasher.hash_one(slot_of(d).and_then(Slot::uid).unwrap_or(""))
            });
        }
        Ok(Index {
            hasher,
            keys,
            free_keys,
            key_table,
            values,
            free_values,
            value_table,
            arena,
            arena_garbage,
            slots,
            free_slots,
            ref_table,
            uid_table,
            live,
            ngram_keys,
        })
    }

    /// The keys given a trigram index, lowercase.
    pub fn ngram_keys(&self) -> &[String] {
        &self.ngram_keys
    }
}

//! Trigram index over the distinct values of one key, for substring (full-text) search without
//! reading every value.
//!
//! Each distinct lowercase value is cut into its character trigrams; a trigram maps to the
//! bitmap of value ids containing it. A term of three or more characters can only occur in a
//! value holding all of the term's trigrams, so the intersection of those bitmaps is a small
//! candidate set that the caller verifies with a real substring test. A term of one or two
//! characters occurs in a value exactly when it occurs in one of the value's trigrams, so the
//! union over the (few thousand) distinct trigrams containing it is the answer — plus the
//! values too short to have a trigram, kept apart.

use std::collections::HashMap;

use roaring::RoaringBitmap;

use super::posting::Posting;

/// Trigram → ids of the values that contain it.
#[derive(Debug, Default, Clone)]
pub(crate) struct NgramIndex {
    grams: HashMap<u64, Posting>,
    /// Values of fewer than three characters.
    short: RoaringBitmap,
}

/// Three characters packed into one integer (21 bits each: every `char` fits).
fn pack(a: char, b: char, c: char) -> u64 {
    (u64::from(a) << 42) | (u64::from(b) << 21) | u64::from(c)
}

/// The distinct trigrams of `text`, in no particular order.
fn trigrams(text: &str) -> Vec<u64> {
    let chars: Vec<char> = text.chars().collect();
    let mut grams: Vec<u64> = chars
        .windows(3)
        .filter_map(|w| match w {
            [a, b, c] => Some(pack(*a, *b, *c)),
            _ => None,
        })
        .collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

impl NgramIndex {
    /// Indexes value `id` whose lowercase text is `text`.
    pub fn insert(&mut self, id: u32, text: &str) {
        let grams = trigrams(text);
        if grams.is_empty() {
            self.short.insert(id);
        }
        for gram in grams {
            self.grams.entry(gram).or_default().insert(id);
        }
    }

    /// Forgets value `id` whose lowercase text is `text`.
    pub fn remove(&mut self, id: u32, text: &str) {
        self.short.remove(id);
        for gram in trigrams(text) {
            if let Some(ids) = self.grams.get_mut(&gram) {
                ids.remove(id);
                if ids.is_empty() {
                    self.grams.remove(&gram);
                }
            }
        }
    }

    /// Value ids that may contain `term` (lowercase, not empty): a superset of the true
    /// matches, to be verified.
    pub fn candidates(&self, term: &str) -> RoaringBitmap {
        let grams = trigrams(term);
        if grams.is_empty() {
            return self.short_term_candidates(term);
        }
        let mut sets: Vec<&Posting> = Vec::with_capacity(grams.len());
        for gram in &grams {
            match self.grams.get(gram) {
                Some(ids) => sets.push(ids),
                None => return RoaringBitmap::new(),
            }
        }
        sets.sort_by_key(|ids| ids.len());
        let Some((smallest, others)) = sets.split_first() else {
            return RoaringBitmap::new();
        };
        if smallest.len() <= 256 {
            return smallest
                .iter()
                .filter(|id| others.iter().all(|o| o.contains(*id)))
                .collect();
        }
        let mut result = smallest.as_bitmap().into_owned();
        for ids in others {
            if result.is_empty() {
                break;
            }
            result &= ids.as_bitmap().as_ref();
        }
        result
    }

    /// For a term of one or two characters: the values with a trigram containing it, and the
    /// short values.
    fn short_term_candidates(&self, term: &str) -> RoaringBitmap {
        const MASK: u64 = (1 << 21) - 1;
        let chars: Vec<u64> = term.chars().map(u64::from).collect();
        let found = |gram: u64| {
            let (a, b, c) = (gram >> 42, (gram >> 21) & MASK, gram & MASK);
            match chars.as_slice() {
                [x] => a == *x || b == *x || c == *x,
                [x, y] => (a == *x && b == *y) || (b == *x && c == *y),
                _ => false,
            }
        };
        let mut result = self.short.clone();
        for (gram, ids) in &self.grams {
            if found(*gram) {
                ids.union_into(&mut result);
            }
        }
        result
    }

    /// Approximate heap bytes held (for statistics).
    pub fn heap_bytes(&self) -> usize {
        self.short.serialized_size()
            + self.grams.capacity() * 25 * 8 / 7
            + self.grams.values().map(Posting::heap_bytes).sum::<usize>()
    }
}

impl NgramIndex {
    /// Writes the trigram postings for a snapshot.
    pub fn encode<W: std::io::Write>(
        &self,
        enc: &mut super::codec::Encoder<W>,
    ) -> std::io::Result<()> {
        enc.len(self.grams.len())?;
        for (gram, posting) in &self.grams {
            enc.u64(*gram)?;
            posting.encode(enc)?;
        }
        enc.bitmap(&self.short)
    }

    /// Reads an index written by [`NgramIndex::encode`].
    pub fn decode<R: std::io::Read>(
        dec: &mut super::codec::Decoder<R>,
    ) -> std::io::Result<NgramIndex> {
        let n = dec.len(9)?;
        let mut grams = HashMap::with_capacity(n);
        for _ in 0..n {
            let gram = dec.u64()?;
            grams.insert(gram, Posting::decode(dec)?);
        }
        Ok(NgramIndex {
            grams,
            short: dec.bitmap()?,
        })
    }
}

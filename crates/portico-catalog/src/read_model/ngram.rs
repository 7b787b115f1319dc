//! Trigram index over the distinct values of one key, for substring (full-text) search without
//! reading every value.
//!
//! Each distinct lowercase value is cut into its character trigrams; a trigram maps to the
//! bitmap of value ids containing it. A term of three or more characters can only occur in a
//! value holding all of the term's trigrams, so the intersection of those bitmaps is a small
//! candidate set that the caller verifies with a real substring test. Shorter terms have no
//! trigram; [`NgramIndex::candidates`] says so and the caller scans the key's values instead.

use std::collections::HashMap;

use roaring::RoaringBitmap;

/// Trigram → ids of the values that contain it.
#[derive(Debug, Default, Clone)]
pub(crate) struct NgramIndex {
    grams: HashMap<u64, RoaringBitmap>,
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
        for gram in trigrams(text) {
            self.grams.entry(gram).or_default().insert(id);
        }
    }

    /// Forgets value `id` whose lowercase text is `text`.
    pub fn remove(&mut self, id: u32, text: &str) {
        for gram in trigrams(text) {
            if let Some(ids) = self.grams.get_mut(&gram) {
                ids.remove(id);
                if ids.is_empty() {
                    self.grams.remove(&gram);
                }
            }
        }
    }

    /// Value ids that may contain `term` (lowercase): a superset of the true matches, to be
    /// verified. `None` when `term` is shorter than three characters.
    pub fn candidates(&self, term: &str) -> Option<RoaringBitmap> {
        let grams = trigrams(term);
        if grams.is_empty() {
            return None;
        }
        let mut sets: Vec<&RoaringBitmap> = Vec::with_capacity(grams.len());
        for gram in &grams {
            match self.grams.get(gram) {
                Some(ids) => sets.push(ids),
                None => return Some(RoaringBitmap::new()),
            }
        }
        sets.sort_by_key(|ids| ids.len());
        let mut sets = sets.into_iter();
        let mut result = sets.next().cloned().unwrap_or_default();
        for ids in sets {
            if result.is_empty() {
                break;
            }
            result &= ids;
        }
        Some(result)
    }

    /// Approximate heap bytes held (for statistics).
    pub fn heap_bytes(&self) -> usize {
        self.grams.capacity() * 40
            + self
                .grams
                .values()
                .map(|ids| ids.serialized_size() + 48)
                .sum::<usize>()
    }
}

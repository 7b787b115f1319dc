//! The values of one key in lowercase order, as a chunked sorted vector of value ids.
//!
//! Ordering, cursors and `$hasPrefix` walk a key's values in order starting from any value;
//! facets and short full-text terms enumerate them. Chunks of at most [`CHUNK_MAX`] ids keep an
//! insert or remove at O(log n) comparisons plus a copy of one chunk, and each id costs 4 bytes
//! (the strings live once, in the value table). Comparisons read the strings through the
//! value table passed in, so this type holds no strings itself.

use super::index::ValueEntry;

/// Largest chunk before it is split in two.
const CHUNK_MAX: usize = 512;

/// A position between two values: `(chunk, index)`, `(chunks.len(), 0)` is the end.
pub(crate) type Position = (usize, usize);

/// Value ids of one key, sorted by their lowercase text (distinct within a key).
#[derive(Debug, Default, Clone)]
pub(crate) struct SortedValues {
    chunks: Vec<Vec<u32>>,
    len: usize,
}

fn text(values: &[ValueEntry], id: u32) -> &str {
    values.get(id as usize).map_or("", |v| &v.lower)
}

impl SortedValues {
    pub fn len(&self) -> usize {
        self.len
    }

    /// First position whose value is `>= s` (`strict`: `> s`).
    fn bound(&self, s: &str, values: &[ValueEntry], strict: bool) -> Position {
        let before = |id: &u32| {
            let t = text(values, *id);
            if strict { t <= s } else { t < s }
        };
        let c = self
            .chunks
            .partition_point(|chunk| chunk.last().is_some_and(before));
        match self.chunks.get(c) {
            None => (self.chunks.len(), 0),
            Some(chunk) => (c, chunk.partition_point(before)),
        }
    }

    /// First position whose value is `>= s`.
    pub fn lower_bound(&self, s: &str, values: &[ValueEntry]) -> Position {
        self.bound(s, values, false)
    }

    /// First position whose value is `> s`.
    pub fn upper_bound(&self, s: &str, values: &[ValueEntry]) -> Position {
        self.bound(s, values, true)
    }

    /// Inserts `id`, whose text is `values[id].lower`.
    pub fn insert(&mut self, id: u32, values: &[ValueEntry]) {
        let s = text(values, id);
        let (mut c, mut i) = self.lower_bound(s, values);
        if self.chunks.is_empty() {
            self.chunks.push(Vec::new());
        }
        if c == self.chunks.len() {
            c -= 1;
            i = self.chunks.get(c).map_or(0, Vec::len);
        }
        if let Some(chunk) = self.chunks.get_mut(c) {
            chunk.insert(i, id);
            if chunk.len() > CHUNK_MAX {
                let tail = chunk.split_off(chunk.len() / 2);
                self.chunks.insert(c + 1, tail);
            }
            self.len += 1;
        }
    }

    /// Removes `id` (its text must still be in `values`); returns whether it was there.
    pub fn remove(&mut self, id: u32, values: &[ValueEntry]) -> bool {
        let (c, i) = self.lower_bound(text(values, id), values);
        let Some(chunk) = self.chunks.get_mut(c) else {
            return false;
        };
        if chunk.get(i) != Some(&id) {
            return false;
        }
        chunk.remove(i);
        if chunk.is_empty() {
            self.chunks.remove(c);
        }
        self.len -= 1;
        true
    }

    /// Ids from `from` to the end, in increasing order.
    pub fn ascending_from(&self, from: Position) -> impl Iterator<Item = u32> + '_ {
        let (c, i) = from;
        let first = self.chunks.get(c).and_then(|chunk| chunk.get(i..));
        let rest = self.chunks.get(c + 1..).unwrap_or_default();
        first
            .into_iter()
            .chain(rest.iter().map(Vec::as_slice))
            .flatten()
            .copied()
    }

    /// Ids strictly before `before`, in decreasing order.
    pub fn descending_before(&self, before: Position) -> impl Iterator<Item = u32> + '_ {
        let (c, i) = before;
        let c = c.min(self.chunks.len());
        let first = self.chunks.get(c).and_then(|chunk| chunk.get(..i));
        let rest = self.chunks.get(..c).unwrap_or_default();
        first
            .into_iter()
            .chain(rest.iter().rev().map(Vec::as_slice))
            .flat_map(|chunk| chunk.iter().rev())
            .copied()
    }

    /// Every id, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.chunks.iter().flatten().copied()
    }

    /// Approximate heap bytes held (for statistics).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * 24 + self.chunks.iter().map(|c| c.capacity() * 4).sum::<usize>()
    }
}

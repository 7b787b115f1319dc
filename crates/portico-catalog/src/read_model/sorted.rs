//! The values of one key in lowercase order, as a chunked sorted vector of value ids.
//!
//! Ordering, cursors and `$hasPrefix` walk a key's values in order starting from any value;
//! facets and short full-text terms enumerate them. Chunks of at most [`CHUNK_MAX`] ids keep an
//! insert or remove at O(log n) comparisons plus a copy of one chunk, and each id costs 4 bytes
//! (the strings live once, in the value table). A key with a single value — most keys: every
//! `<array>.<item>` key has only `true` — keeps it inline, without allocating. Comparisons
//! read the strings through the [`Texts`] passed in, so this type holds no strings itself.

use super::index::Texts;

/// Largest chunk before it is split in two.
const CHUNK_MAX: usize = 512;

/// A position between two values: `(chunk, index)`; `(chunks, 0)` is the end. For a single
/// inline value, `(0, 0)` is before it and `(1, 0)` after it.
pub(crate) type Position = (usize, usize);

/// Value ids of one key, sorted by their lowercase text (distinct within a key).
#[derive(Debug, Default, Clone)]
pub(crate) enum SortedValues {
    #[default]
    Empty,
    One(u32),
    Chunked(Box<Chunks>),
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Chunks {
    chunks: Vec<Vec<u32>>,
    len: usize,
}

/// Iterator over some of the ids.
pub(crate) enum SortedIter<I> {
    Done,
    One(u32),
    Many(I),
}

impl<I: Iterator<Item = u32>> Iterator for SortedIter<I> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match self {
            SortedIter::Done => None,
            SortedIter::One(id) => {
                let id = *id;
                *self = SortedIter::Done;
                Some(id)
            }
            SortedIter::Many(iter) => iter.next(),
        }
    }
}

impl Chunks {
    /// First position whose value is `>= s` (`strict`: `> s`).
    fn bound(&self, s: &str, texts: Texts<'_>, strict: bool) -> Position {
        let before = |id: &u32| {
            let t = texts.lower(*id);
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

    fn insert(&mut self, id: u32, texts: Texts<'_>) {
        let (mut c, mut i) = self.bound(texts.lower(id), texts, false);
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
                chunk.shrink_to_fit();
                self.chunks.insert(c + 1, tail);
            }
            self.len += 1;
        }
    }

    fn remove(&mut self, id: u32, texts: Texts<'_>) -> bool {
        let (c, i) = self.bound(texts.lower(id), texts, false);
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

    fn ascending_from(&self, (c, i): Position) -> impl Iterator<Item = u32> + '_ {
        let first = self.chunks.get(c).and_then(|chunk| chunk.get(i..));
        let rest = self.chunks.get(c + 1..).unwrap_or_default();
        first
            .into_iter()
            .chain(rest.iter().map(Vec::as_slice))
            .flatten()
            .copied()
    }

    fn descending_before(&self, (c, i): Position) -> impl Iterator<Item = u32> + '_ {
        let c = c.min(self.chunks.len());
        let first = self.chunks.get(c).and_then(|chunk| chunk.get(..i));
        let rest = self.chunks.get(..c).unwrap_or_default();
        first
            .into_iter()
            .chain(rest.iter().rev().map(Vec::as_slice))
            .flat_map(|chunk| chunk.iter().rev())
            .copied()
    }
}

impl SortedValues {
    pub fn len(&self) -> usize {
        match self {
            SortedValues::Empty => 0,
            SortedValues::One(_) => 1,
            SortedValues::Chunked(chunks) => chunks.len,
        }
    }

    fn bound(&self, s: &str, texts: Texts<'_>, strict: bool) -> Position {
        match self {
            SortedValues::Empty => (0, 0),
            SortedValues::One(id) => {
                let t = texts.lower(*id);
                let before = if strict { t <= s } else { t < s };
                (usize::from(before), 0)
            }
            SortedValues::Chunked(chunks) => chunks.bound(s, texts, strict),
        }
    }

    /// First position whose value is `>= s`.
    pub fn lower_bound(&self, s: &str, texts: Texts<'_>) -> Position {
        self.bound(s, texts, false)
    }

    /// First position whose value is `> s`.
    pub fn upper_bound(&self, s: &str, texts: Texts<'_>) -> Position {
        self.bound(s, texts, true)
    }

    /// Inserts `id` (not present yet).
    pub fn insert(&mut self, id: u32, texts: Texts<'_>) {
        match self {
            SortedValues::Empty => *self = SortedValues::One(id),
            SortedValues::One(existing) => {
                let existing = *existing;
                let pair = if texts.lower(existing) < texts.lower(id) {
                    vec![existing, id]
                } else {
                    vec![id, existing]
                };
                *self = SortedValues::Chunked(Box::new(Chunks {
                    chunks: vec![pair],
                    len: 2,
                }));
            }
            SortedValues::Chunked(chunks) => chunks.insert(id, texts),
        }
    }

    /// Removes `id` (its text must still be readable); returns whether it was there.
    pub fn remove(&mut self, id: u32, texts: Texts<'_>) -> bool {
        match self {
            SortedValues::Empty => false,
            SortedValues::One(existing) => {
                let found = *existing == id;
                if found {
                    *self = SortedValues::Empty;
                }
                found
            }
            SortedValues::Chunked(chunks) => {
                let removed = chunks.remove(id, texts);
                if chunks.len == 1
                    && let Some(&only) = chunks.chunks.first().and_then(|c| c.first())
                {
                    *self = SortedValues::One(only);
                }
                removed
            }
        }
    }

    /// Ids from `from` to the end, in increasing order.
    pub fn ascending_from(&self, from: Position) -> impl Iterator<Item = u32> + '_ {
        match self {
            SortedValues::Empty => SortedIter::Done,
            SortedValues::One(id) if from == (0, 0) => SortedIter::One(*id),
            SortedValues::One(_) => SortedIter::Done,
            SortedValues::Chunked(chunks) => SortedIter::Many(chunks.ascending_from(from)),
        }
    }

    /// Ids strictly before `before`, in decreasing order.
    pub fn descending_before(&self, before: Position) -> impl Iterator<Item = u32> + '_ {
        match self {
            SortedValues::Empty => SortedIter::Done,
            SortedValues::One(id) if before != (0, 0) => SortedIter::One(*id),
            SortedValues::One(_) => SortedIter::Done,
            SortedValues::Chunked(chunks) => SortedIter::Many(chunks.descending_before(before)),
        }
    }

    /// Every id, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ascending_from((0, 0))
    }

    /// Approximate heap bytes held (for statistics).
    pub fn heap_bytes(&self) -> usize {
        let SortedValues::Chunked(chunks) = self else {
            return 0;
        };
        super::index::heap(size_of::<Chunks>())
            + super::index::heap(chunks.chunks.capacity() * size_of::<Vec<u32>>())
            + chunks
                .chunks
                .iter()
                .map(|c| super::index::heap(c.capacity() * 4))
                .sum::<usize>()
    }
}

impl SortedValues {
    /// Writes the ids, chunk by chunk, for a snapshot.
    pub fn encode<W: std::io::Write>(
        &self,
        enc: &mut super::codec::Encoder<W>,
    ) -> std::io::Result<()> {
        match self {
            SortedValues::Empty => enc.u8(0),
            SortedValues::One(id) => {
                enc.u8(1)?;
                enc.u32(*id)
            }
            SortedValues::Chunked(chunks) => {
                enc.u8(2)?;
                enc.len(chunks.chunks.len())?;
                for chunk in &chunks.chunks {
                    enc.u32s(chunk)?;
                }
                Ok(())
            }
        }
    }

    /// Reads ids written by [`SortedValues::encode`] (their order is trusted: the snapshot's
    /// checksum covers it).
    pub fn decode<R: std::io::Read>(
        dec: &mut super::codec::Decoder<R>,
    ) -> std::io::Result<SortedValues> {
        match dec.u8()? {
            0 => Ok(SortedValues::Empty),
            1 => Ok(SortedValues::One(dec.u32()?)),
            2 => {
                let n = dec.len(8)?;
                let mut chunks = Vec::with_capacity(n);
                let mut len = 0;
                for _ in 0..n {
                    let chunk = dec.u32s()?;
                    len += chunk.len();
                    if !chunk.is_empty() {
                        chunks.push(chunk);
                    }
                }
                Ok(SortedValues::Chunked(Box::new(Chunks { chunks, len })))
            }
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "corrupt snapshot: unknown sorted-values form",
            )),
        }
    }
}

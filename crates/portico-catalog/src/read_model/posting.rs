//! Posting lists: the set of entity ids (or value ids) that carry one key or value.
//!
//! Most values of a catalog belong to one entity (names, uids, descriptions, URLs) or a few
//! (relation targets), so a [`Posting`] keeps up to [`INLINE`] ids inline, up to [`FEW_MAX`] in
//! a boxed sorted vector and only then switches to a compressed [`RoaringBitmap`]: a value
//! carried by one to three entities costs 16 bytes and no allocation, instead of ~100 bytes
//! for a one-element bitmap.

use std::borrow::Cow;

use roaring::RoaringBitmap;

/// Ids kept inline.
pub(crate) const INLINE: usize = 3;
/// Most ids kept in the sorted-vector form before switching to a bitmap.
pub(crate) const FEW_MAX: usize = 32;

/// A set of `u32` ids (16 bytes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Posting {
    /// Up to [`INLINE`] sorted, distinct ids (`len` of them).
    Inline { len: u8, ids: [u32; INLINE] },
    /// [`INLINE`] + 1 to [`FEW_MAX`] sorted, distinct ids (boxed to keep the enum small).
    #[allow(
        clippy::box_collection,
        reason = "a thin pointer keeps every posting at 16 bytes; a Vec would make it 24"
    )]
    Few(Box<Vec<u32>>),
    /// More ids.
    Many(Box<RoaringBitmap>),
}

impl Default for Posting {
    fn default() -> Self {
        Posting::Inline {
            len: 0,
            ids: [0; INLINE],
        }
    }
}

fn bitmap_of(ids: &[u32]) -> RoaringBitmap {
    RoaringBitmap::from_sorted_iter(ids.iter().copied())
        .unwrap_or_else(|_| ids.iter().copied().collect())
}

impl Posting {
    /// The ids of the inline and vector forms.
    fn as_slice(&self) -> Option<&[u32]> {
        match self {
            Posting::Inline { len, ids } => ids.get(..usize::from(*len)),
            Posting::Few(ids) => Some(ids),
            Posting::Many(_) => None,
        }
    }

    fn from_sorted(ids: &[u32]) -> Posting {
        if ids.len() <= INLINE {
            let mut inline = [0; INLINE];
            for (slot, id) in inline.iter_mut().zip(ids) {
                *slot = *id;
            }
            Posting::Inline {
                len: ids.len() as u8,
                ids: inline,
            }
        } else if ids.len() <= FEW_MAX {
            Posting::Few(Box::new(ids.to_vec()))
        } else {
            Posting::Many(Box::new(bitmap_of(ids)))
        }
    }

    /// Adds `id`; returns whether it was absent.
    pub fn insert(&mut self, id: u32) -> bool {
        match self {
            Posting::Many(bitmap) => bitmap.insert(id),
            Posting::Few(ids) if ids.len() < FEW_MAX => match ids.binary_search(&id) {
                Ok(_) => false,
                Err(at) => {
                    ids.insert(at, id);
                    true
                }
            },
            other => {
                let Some(ids) = other.as_slice() else {
                    return false;
                };
                let Err(at) = ids.binary_search(&id) else {
                    return false;
                };
                let mut grown = Vec::with_capacity(ids.len() + 1);
                grown.extend_from_slice(ids);
                grown.insert(at, id);
                *other = Posting::from_sorted(&grown);
                true
            }
        }
    }

    /// Removes `id`; returns whether it was present.
    pub fn remove(&mut self, id: u32) -> bool {
        match self {
            Posting::Many(bitmap) => {
                let removed = bitmap.remove(id);
                if removed && bitmap.len() <= (FEW_MAX / 2) as u64 {
                    let ids: Vec<u32> = bitmap.iter().collect();
                    *self = Posting::from_sorted(&ids);
                }
                removed
            }
            other => {
                let Some(ids) = other.as_slice() else {
                    return false;
                };
                let Ok(at) = ids.binary_search(&id) else {
                    return false;
                };
                let mut shrunk = ids.to_vec();
                shrunk.remove(at);
                if shrunk.len() > INLINE
                    && let Posting::Few(ids) = other
                {
                    ids.remove(at);
                } else {
                    *other = Posting::from_sorted(&shrunk);
                }
                true
            }
        }
    }

    pub fn contains(&self, id: u32) -> bool {
        match self {
            Posting::Many(bitmap) => bitmap.contains(id),
            other => other
                .as_slice()
                .is_some_and(|ids| ids.binary_search(&id).is_ok()),
        }
    }

    pub fn len(&self) -> u64 {
        match self {
            Posting::Many(bitmap) => bitmap.len(),
            other => other.as_slice().map_or(0, |ids| ids.len() as u64),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids in increasing order.
    pub fn iter(&self) -> PostingIter<'_> {
        match self {
            Posting::Many(bitmap) => PostingIter::Many(bitmap.iter()),
            other => PostingIter::Slice(other.as_slice().unwrap_or_default().iter()),
        }
    }

    /// The set as a bitmap, borrowed when it already is one.
    pub fn as_bitmap(&self) -> Cow<'_, RoaringBitmap> {
        match self {
            Posting::Many(bitmap) => Cow::Borrowed(bitmap),
            other => Cow::Owned(bitmap_of(other.as_slice().unwrap_or_default())),
        }
    }

    /// Adds every id to `target`.
    pub fn union_into(&self, target: &mut RoaringBitmap) {
        match self {
            Posting::Many(bitmap) => *target |= bitmap.as_ref(),
            other => {
                for id in other.as_slice().unwrap_or_default() {
                    target.insert(*id);
                }
            }
        }
    }

    /// `|self ∩ other|` without building the intersection.
    pub fn intersection_len(&self, other: &RoaringBitmap) -> u64 {
        match self {
            Posting::Many(bitmap) => bitmap.intersection_len(other),
            small => small
                .as_slice()
                .unwrap_or_default()
                .iter()
                .filter(|id| other.contains(**id))
                .count() as u64,
        }
    }

    /// Approximate heap bytes held (for statistics).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Posting::Inline { .. } => 0,
            Posting::Few(ids) => {
                super::index::heap(size_of::<Vec<u32>>()) + super::index::heap(ids.capacity() * 4)
            }
            Posting::Many(bitmap) => roaring_heap(bitmap),
        }
    }
}

/// Approximate heap bytes of a boxed bitmap: the box, each container's entry and allocation,
/// and the data (estimated from the serialized size).
pub(crate) fn roaring_heap(bitmap: &RoaringBitmap) -> usize {
    let mut containers = 0;
    let mut last_high = None;
    for id in bitmap {
        let high = id >> 16;
        if last_high != Some(high) {
            containers += 1;
            last_high = Some(high);
        }
    }
    super::index::heap(size_of::<RoaringBitmap>()) + bitmap.serialized_size() + containers * 40
}

/// Iterator over a [`Posting`].
pub(crate) enum PostingIter<'a> {
    Slice(std::slice::Iter<'a, u32>),
    Many(roaring::bitmap::Iter<'a>),
}

impl Iterator for PostingIter<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match self {
            PostingIter::Slice(ids) => ids.next().copied(),
            PostingIter::Many(iter) => iter.next(),
        }
    }
}

impl Posting {
    /// Writes the posting for a snapshot.
    pub fn encode<W: std::io::Write>(
        &self,
        enc: &mut super::codec::Encoder<W>,
    ) -> std::io::Result<()> {
        match self {
            Posting::Many(bitmap) => {
                enc.u8(1)?;
                enc.bitmap(bitmap)
            }
            other => {
                enc.u8(0)?;
                enc.u32s(other.as_slice().unwrap_or_default())
            }
        }
    }

    /// Reads a posting written by [`Posting::encode`].
    pub fn decode<R: std::io::Read>(
        dec: &mut super::codec::Decoder<R>,
    ) -> std::io::Result<Posting> {
        match dec.u8()? {
            0 => {
                let mut ids = dec.u32s()?;
                ids.sort_unstable();
                ids.dedup();
                Ok(Posting::from_sorted(&ids))
            }
            1 => Ok(Posting::Many(Box::new(dec.bitmap()?))),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "corrupt snapshot: unknown posting form",
            )),
        }
    }
}

//! Posting lists: the set of entity ids (or value ids) that carry one key or value.
//!
//! Most values of a catalog belong to a single entity (names, uids, descriptions, URLs), so a
//! [`Posting`] keeps one id inline, a few in a sorted vector and only switches to a compressed
//! [`RoaringBitmap`] past [`FEW_MAX`] ids: a unique value costs 24 bytes instead of ~100.

use std::borrow::Cow;

use roaring::RoaringBitmap;

/// Most ids kept in the sorted-vector form before switching to a bitmap.
pub(crate) const FEW_MAX: usize = 32;

/// A set of `u32` ids, small sets stored inline or in a vector.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Posting {
    /// Exactly one id.
    One(u32),
    /// Sorted, distinct ids; empty for the empty set (no allocation).
    Few(Vec<u32>),
    /// More than [`FEW_MAX`] ids.
    Many(Box<RoaringBitmap>),
}

impl Default for Posting {
    fn default() -> Self {
        Posting::Few(Vec::new())
    }
}

impl Posting {
    /// Adds `id`; returns whether it was absent.
    pub fn insert(&mut self, id: u32) -> bool {
        match self {
            Posting::One(existing) => {
                let existing = *existing;
                if existing == id {
                    return false;
                }
                let mut ids = vec![existing, id];
                ids.sort_unstable();
                *self = Posting::Few(ids);
                true
            }
            Posting::Few(ids) => match ids.binary_search(&id) {
                Ok(_) => false,
                Err(at) => {
                    if ids.is_empty() {
                        *self = Posting::One(id);
                    } else if ids.len() < FEW_MAX {
                        ids.insert(at, id);
                    } else {
                        let mut bitmap = RoaringBitmap::from_sorted_iter(ids.iter().copied())
                            .unwrap_or_else(|_| ids.iter().copied().collect());
                        bitmap.insert(id);
                        *self = Posting::Many(Box::new(bitmap));
                    }
                    true
                }
            },
            Posting::Many(bitmap) => bitmap.insert(id),
        }
    }

    /// Removes `id`; returns whether it was present.
    pub fn remove(&mut self, id: u32) -> bool {
        match self {
            Posting::One(existing) => {
                if *existing == id {
                    *self = Posting::Few(Vec::new());
                    true
                } else {
                    false
                }
            }
            Posting::Few(ids) => match ids.binary_search(&id) {
                Ok(at) => {
                    ids.remove(at);
                    if let [only] = ids.as_slice() {
                        *self = Posting::One(*only);
                    }
                    true
                }
                Err(_) => false,
            },
            Posting::Many(bitmap) => {
                let removed = bitmap.remove(id);
                if removed && bitmap.len() <= (FEW_MAX / 2) as u64 {
                    *self = Posting::Few(bitmap.iter().collect());
                }
                removed
            }
        }
    }

    pub fn contains(&self, id: u32) -> bool {
        match self {
            Posting::One(existing) => *existing == id,
            Posting::Few(ids) => ids.binary_search(&id).is_ok(),
            Posting::Many(bitmap) => bitmap.contains(id),
        }
    }

    pub fn len(&self) -> u64 {
        match self {
            Posting::One(_) => 1,
            Posting::Few(ids) => ids.len() as u64,
            Posting::Many(bitmap) => bitmap.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Posting::One(_) => false,
            Posting::Few(ids) => ids.is_empty(),
            Posting::Many(bitmap) => bitmap.is_empty(),
        }
    }

    /// The ids in increasing order.
    pub fn iter(&self) -> PostingIter<'_> {
        match self {
            Posting::One(id) => PostingIter::One(Some(*id)),
            Posting::Few(ids) => PostingIter::Few(ids.iter()),
            Posting::Many(bitmap) => PostingIter::Many(bitmap.iter()),
        }
    }

    /// The set as a bitmap, borrowed when it already is one.
    pub fn as_bitmap(&self) -> Cow<'_, RoaringBitmap> {
        match self {
            Posting::Many(bitmap) => Cow::Borrowed(bitmap),
            Posting::One(id) => {
                let mut bitmap = RoaringBitmap::new();
                bitmap.insert(*id);
                Cow::Owned(bitmap)
            }
            Posting::Few(ids) => Cow::Owned(
                RoaringBitmap::from_sorted_iter(ids.iter().copied())
                    .unwrap_or_else(|_| ids.iter().copied().collect()),
            ),
        }
    }

    /// Adds every id to `target`.
    pub fn union_into(&self, target: &mut RoaringBitmap) {
        match self {
            Posting::One(id) => {
                target.insert(*id);
            }
            Posting::Few(ids) => {
                for id in ids {
                    target.insert(*id);
                }
            }
            Posting::Many(bitmap) => *target |= bitmap.as_ref(),
        }
    }

    /// `|self ∩ other|` without building the intersection.
    pub fn intersection_len(&self, other: &RoaringBitmap) -> u64 {
        match self {
            Posting::One(id) => u64::from(other.contains(*id)),
            Posting::Few(ids) => ids.iter().filter(|id| other.contains(**id)).count() as u64,
            Posting::Many(bitmap) => bitmap.intersection_len(other),
        }
    }

    /// Approximate heap bytes held (for statistics).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Posting::One(_) => 0,
            Posting::Few(ids) => ids.capacity() * 4,
            Posting::Many(bitmap) => bitmap.serialized_size() + 64,
        }
    }
}

/// Iterator over a [`Posting`].
pub(crate) enum PostingIter<'a> {
    One(Option<u32>),
    Few(std::slice::Iter<'a, u32>),
    Many(roaring::bitmap::Iter<'a>),
}

impl Iterator for PostingIter<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match self {
            PostingIter::One(id) => id.take(),
            PostingIter::Few(ids) => ids.next().copied(),
            PostingIter::Many(iter) => iter.next(),
        }
    }
}

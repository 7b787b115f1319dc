//! A tiny seeded pseudo-random number generator (SplitMix64) for the catalog generator.
//!
//! We keep our own instead of using the `rand` crate so that a seed produces the same catalog
//! forever, whatever `rand` version the lock file resolves to.

/// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state word, passes BigCrush, and is more
/// than good enough to pick names and shapes for test data.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (Lemire's multiply-shift; the bias is negligible for our `n`).
    /// Returns 0 when `n == 0`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// `true` with probability `percent / 100`.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A random element of a non-empty word list, or `""` if it is empty.
    pub(crate) fn pick(&mut self, items: &[&'static str]) -> &'static str {
        let i = self.below(items.len());
        items.get(i).copied().unwrap_or("")
    }

    /// A random index into a list of `len` elements, or `None` if it is empty.
    pub(crate) fn index(&mut self, len: usize) -> Option<usize> {
        (len > 0).then(|| self.below(len))
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn matches_the_reference_sequence() {
        // First outputs of the reference C implementation for seed 1234567.
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(rng.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64::new(7);
        assert_eq!(rng.below(0), 0);
        for n in 1..200 {
            assert!(rng.below(n) < n);
        }
    }
}

//! `Mask`: which units survive pruning, one bit per unit (1 = kept), packed in `u64` words so
//! that a search over ~1e7 weights can keep a mask per epoch per ratio and compare any two with
//! a popcount instead of a tensor op.

use serde::{Deserialize, Serialize};

use super::{PruneError, Result};

const WORD_BITS: usize = 64;

/// A set over `len` units; bit `i` of word `i / 64` is unit `i`, 1 = kept.
///
/// Invariant: the bits of the last word beyond `len` are zero, so popcounts over whole words
/// count units only.
///
/// Serialised compactly as `{"len": n, "words": "<hex>"}`: 16 lowercase hex digits per word,
/// word 0 (units 0..64) first, each word written most significant digit first (as `{:016x}`).
/// Deserialising checks the digit count and that no bit beyond `len` is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MaskRepr", into = "MaskRepr")]
pub struct Mask {
    words: Vec<u64>,
    len: usize,
}

impl Mask {
    /// A mask over `len` units with every unit kept.
    pub fn all_kept(len: usize) -> Self {
        let mut words = vec![u64::MAX; len.div_ceil(WORD_BITS)];
        clear_tail(&mut words, len);
        Self { words, len }
    }

    /// `kept[i]` says whether unit `i` survives.
    pub fn from_kept(kept: &[bool]) -> Self {
        let mut words = vec![0u64; kept.len().div_ceil(WORD_BITS)];
        for (i, _) in kept.iter().enumerate().filter(|(_, &k)| k) {
            words[i / WORD_BITS] |= 1 << (i % WORD_BITS);
        }
        Self {
            words,
            len: kept.len(),
        }
    }

    /// Number of units the mask covers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mask covers no unit.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether unit `i` is kept. Panics if `i >= len`, like slice indexing: callers index
    /// with positions taken from the same layout the mask was built on.
    pub fn get(&self, i: usize) -> bool {
        assert!(i < self.len, "unit {i} out of a mask of {} units", self.len);
        self.words[i / WORD_BITS] >> (i % WORD_BITS) & 1 == 1
    }

    /// Marks unit `i` pruned (selection builds masks this way from `all_kept`).
    pub(crate) fn prune(&mut self, i: usize) {
        assert!(i < self.len, "unit {i} out of a mask of {} units", self.len);
        self.words[i / WORD_BITS] &= !(1 << (i % WORD_BITS));
    }

    /// Number of kept units.
    pub fn count_kept(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Number of pruned units.
    pub fn count_pruned(&self) -> usize {
        self.len - self.count_kept()
    }

    /// Number of kept units among `start .. start + len` (one block's share of the mask).
    pub fn count_kept_in(&self, start: usize, len: usize) -> Result<usize> {
        let end = start
            .checked_add(len)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| {
                PruneError::Invalid(format!(
                    "units {start}..{start}+{len} are outside a mask of {} units",
                    self.len
                ))
            })?;
        if start == end {
            return Ok(0);
        }
        let (first, last) = (start / WORD_BITS, (end - 1) / WORD_BITS);
        let low = u64::MAX << (start % WORD_BITS); // bits >= start in the first word
        let high = u64::MAX >> (WORD_BITS - 1 - (end - 1) % WORD_BITS); // bits < end in the last
        if first == last {
            return Ok((self.words[first] & low & high).count_ones() as usize);
        }
        let middle: usize = self.words[first + 1..last]
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum();
        Ok((self.words[first] & low).count_ones() as usize
            + middle
            + (self.words[last] & high).count_ones() as usize)
    }

    /// Kept flags of all units in order.
    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len).map(|i| self.get(i))
    }

    /// |A Δ B|: the number of units kept in one mask and pruned in the other.
    pub fn xor_count(&self, other: &Mask) -> Result<usize> {
        if self.len != other.len {
            return Err(PruneError::LengthMismatch {
                what: "masks compared".into(),
                expected: self.len,
                found: other.len,
            });
        }
        Ok(self
            .words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| (a ^ b).count_ones() as usize)
            .sum())
    }
}

/// Zeroes the bits of the last word beyond `len` (the type's invariant).
fn clear_tail(words: &mut [u64], len: usize) {
    if !len.is_multiple_of(WORD_BITS) {
        if let Some(last) = words.last_mut() {
            *last &= (1u64 << (len % WORD_BITS)) - 1;
        }
    }
}

/// The on-disk form of a `Mask`.
#[derive(Clone, Serialize, Deserialize)]
struct MaskRepr {
    len: usize,
    words: String,
}

impl From<Mask> for MaskRepr {
    fn from(m: Mask) -> Self {
        let mut words = String::with_capacity(m.words.len() * 16);
        for w in &m.words {
            words.push_str(&format!("{w:016x}"));
        }
        MaskRepr { len: m.len, words }
    }
}

impl TryFrom<MaskRepr> for Mask {
    type Error = PruneError;

    fn try_from(r: MaskRepr) -> Result<Self> {
        let n_words = r.len.div_ceil(WORD_BITS);
        if r.words.len() != n_words * 16 {
            return Err(PruneError::Invalid(format!(
                "mask of {} units needs {} hex digits, found {}",
                r.len,
                n_words * 16,
                r.words.len()
            )));
        }
        if let Some(bad) = r.words.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(PruneError::Invalid(format!(
                "mask words contain {bad:?}, not a hex digit"
            )));
        }
        // All ASCII hex digits, so every 16-byte slice is on a char boundary and parses.
        let words: Vec<u64> = (0..n_words)
            .map(|w| u64::from_str_radix(&r.words[w * 16..(w + 1) * 16], 16).unwrap())
            .collect();
        let mut checked = words.clone();
        clear_tail(&mut checked, r.len);
        if checked != words {
            return Err(PruneError::Invalid(format!(
                "mask of {} units has bits set beyond its length",
                r.len
            )));
        }
        Ok(Mask { words, len: r.len })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<bool> {
        (0..len).map(|i| (i * 7 + i / 3) % 5 < 2).collect()
    }

    #[test]
    fn from_kept_round_trips_and_counts() {
        for len in [0, 1, 63, 64, 65, 130] {
            let kept = pattern(len);
            let m = Mask::from_kept(&kept);
            assert_eq!(m.len(), len);
            assert_eq!(m.iter().collect::<Vec<_>>(), kept);
            let k = kept.iter().filter(|&&k| k).count();
            assert_eq!(m.count_kept(), k);
            assert_eq!(m.count_pruned(), len - k);
        }
    }

    #[test]
    fn all_kept_has_no_bits_beyond_len() {
        let m = Mask::all_kept(70);
        assert_eq!(m.count_kept(), 70);
        assert_eq!(m, Mask::from_kept(&[true; 70]));
    }

    #[test]
    fn count_kept_in_matches_a_loop() {
        let kept = pattern(200);
        let m = Mask::from_kept(&kept);
        for (start, len) in [
            (0, 0),
            (0, 200),
            (3, 10),
            (60, 8),
            (63, 1),
            (64, 64),
            (10, 150),
            (199, 1),
        ] {
            let expected = kept[start..start + len].iter().filter(|&&k| k).count();
            assert_eq!(
                m.count_kept_in(start, len).unwrap(),
                expected,
                "{start}+{len}"
            );
        }
        assert!(m.count_kept_in(150, 51).is_err());
    }

    #[test]
    fn xor_count_rejects_other_lengths() {
        let a = Mask::all_kept(10);
        let b = Mask::all_kept(11);
        assert!(matches!(
            a.xor_count(&b),
            Err(PruneError::LengthMismatch {
                expected: 10,
                found: 11,
                ..
            })
        ));
    }

    #[test]
    fn prune_clears_one_bit() {
        let mut m = Mask::all_kept(100);
        m.prune(64);
        m.prune(3);
        assert_eq!(m.count_pruned(), 2);
        assert!(!m.get(64) && !m.get(3) && m.get(65));
    }

    #[test]
    fn serde_is_hex_and_validated() {
        let m = Mask::from_kept(&[true, false, true, true]);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"len":4,"words":"000000000000000d"}"#);
        let back: Mask = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert!(serde_json::from_str::<Mask>(r#"{"len":4,"words":"00000000000000fd"}"#).is_err());
        assert!(serde_json::from_str::<Mask>(r#"{"len":4,"words":"0d"}"#).is_err());
        assert!(serde_json::from_str::<Mask>(r#"{"len":4,"words":"zz0000000000000d"}"#).is_err());
    }
}

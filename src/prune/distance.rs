//! Distances between masks and the incremental epoch×epoch matrix.
//!
//! Two normalisations of the same count |A Δ B|: the paper's Hamming distance over all units,
//! and the distance over the pruned units only. The second exists because of a trap: two masks
//! at ratio p differ in at most 2p of all units, so with the Hamming distance ε = 0.1 at p = 0.1
//! is met whatever the masks do (architecture.md, "A trap we measured").

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::mask::Mask;
use super::{PruneError, Result};

/// Which normalisation the early-bird criterion reads (`search.distance`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DistanceKind {
    /// |A Δ B| / len, in [0, 1] (You et al. 2020).
    Hamming,
    /// |A Δ B| / (pruned(A) + pruned(B)), in [0, 1].
    Pruned,
}

impl FromStr for DistanceKind {
    type Err = PruneError;

    /// Parses `search.distance`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "hamming" => Ok(DistanceKind::Hamming),
            "pruned" => Ok(DistanceKind::Pruned),
            other => Err(PruneError::Invalid(format!(
                "search.distance: {other:?} (expected hamming or pruned)"
            ))),
        }
    }
}

/// The paper's normalised Hamming distance |A Δ B| / len (0 for empty masks).
pub fn hamming(a: &Mask, b: &Mask) -> Result<f64> {
    Ok(hamming_from(a.xor_count(b)?, a.len()))
}

/// |A Δ B| / (pruned(A) + pruned(B)): for equal pruned counts k this is |A Δ B| / 2k, one minus
/// the overlap of the two pruned sets. 0 when neither mask prunes anything.
pub fn pruned_distance(a: &Mask, b: &Mask) -> Result<f64> {
    Ok(pruned_from(
        a.xor_count(b)?,
        a.count_pruned() + b.count_pruned(),
    ))
}

/// The distance of `kind` between two masks.
pub fn distance(kind: DistanceKind, a: &Mask, b: &Mask) -> Result<f64> {
    match kind {
        DistanceKind::Hamming => hamming(a, b),
        DistanceKind::Pruned => pruned_distance(a, b),
    }
}

fn hamming_from(xor: usize, len: usize) -> f64 {
    if len == 0 {
        0.0
    } else {
        xor as f64 / len as f64
    }
}

fn pruned_from(xor: usize, pruned_sum: usize) -> f64 {
    if pruned_sum == 0 {
        0.0
    } else {
        xor as f64 / pruned_sum as f64
    }
}

/// The masks of one ratio over a search and all their pairwise distances, grown one mask at a
/// time: `push` costs one popcount pass per stored mask, never a recomputation of the matrix.
///
/// Only |A Δ B| is stored (lower triangle); both normalisations are derived from it.
#[derive(Clone, Debug, Default)]
pub struct DistanceMatrix {
    masks: Vec<Mask>,
    /// `xor[i][j]` = |M_i Δ M_j| for j < i.
    xor: Vec<Vec<usize>>,
}

impl DistanceMatrix {
    /// An empty matrix.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next mask (it must have the length of the first) and returns its index.
    pub fn push(&mut self, mask: Mask) -> Result<usize> {
        let row = self
            .masks
            .iter()
            .map(|m| m.xor_count(&mask))
            .collect::<Result<Vec<usize>>>()?;
        self.xor.push(row);
        self.masks.push(mask);
        Ok(self.masks.len() - 1)
    }

    /// Number of masks (rows and columns).
    pub fn len(&self) -> usize {
        self.masks.len()
    }

    /// Whether no mask was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.masks.is_empty()
    }

    /// Mask `i`, if pushed.
    pub fn mask(&self, i: usize) -> Option<&Mask> {
        self.masks.get(i)
    }

    /// Hamming distance between masks `i` and `j` (None if either is out of range).
    pub fn get(&self, i: usize, j: usize) -> Option<f64> {
        self.get_kind(DistanceKind::Hamming, i, j)
    }

    /// Pruned-normalised distance between masks `i` and `j` (None if either is out of range).
    pub fn get_pruned(&self, i: usize, j: usize) -> Option<f64> {
        self.get_kind(DistanceKind::Pruned, i, j)
    }

    /// The distance of `kind` between masks `i` and `j` (None if either is out of range).
    pub fn get_kind(&self, kind: DistanceKind, i: usize, j: usize) -> Option<f64> {
        let (a, b) = (self.masks.get(i)?, self.masks.get(j)?);
        let xor = match i.cmp(&j) {
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => self.xor[i][j],
            std::cmp::Ordering::Less => self.xor[j][i],
        };
        Some(match kind {
            DistanceKind::Hamming => hamming_from(xor, a.len()),
            DistanceKind::Pruned => pruned_from(xor, a.count_pruned() + b.count_pruned()),
        })
    }

    /// Distances of `kind` from mask `i` to every earlier mask, oldest first (length `i`).
    pub fn to_earlier(&self, kind: DistanceKind, i: usize) -> Vec<f64> {
        (0..i.min(self.len()))
            .filter_map(|j| self.get_kind(kind, i, j))
            .collect()
    }

    /// The full symmetric matrix of `kind`, one row per mask (for CSV and heatmaps).
    pub fn rows(&self, kind: DistanceKind) -> Vec<Vec<f64>> {
        (0..self.len())
            .map(|i| {
                (0..self.len())
                    .filter_map(|j| self.get_kind(kind, i, j))
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_distances() {
        let a = Mask::from_kept(&[true, true, false, false, true, true, true, true]);
        let b = Mask::from_kept(&[true, false, true, false, true, true, true, true]);
        // differ at units 1 and 2; 2 pruned each
        assert_eq!(hamming(&a, &b).unwrap(), 2.0 / 8.0);
        assert_eq!(pruned_distance(&a, &b).unwrap(), 2.0 / 4.0);
        let all = Mask::all_kept(8);
        assert_eq!(pruned_distance(&all, &all).unwrap(), 0.0);
        assert_eq!(
            hamming(&Mask::all_kept(0), &Mask::all_kept(0)).unwrap(),
            0.0
        );
        assert!(hamming(&a, &Mask::all_kept(9)).is_err());
    }

    #[test]
    fn matrix_rejects_a_mask_of_another_length() {
        let mut m = DistanceMatrix::new();
        m.push(Mask::all_kept(5)).unwrap();
        assert!(m.push(Mask::all_kept(6)).is_err());
        assert_eq!(m.len(), 1);
        assert_eq!(m.get(0, 1), None);
    }

    #[test]
    fn distance_kind_parses_config_words() {
        assert_eq!(
            "pruned".parse::<DistanceKind>().unwrap(),
            DistanceKind::Pruned
        );
        assert!("cosine".parse::<DistanceKind>().is_err());
    }
}

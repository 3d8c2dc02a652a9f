//! The early-bird criterion exactly as in You et al. 2020's code: a FIFO of the last `window`
//! masks; once it is full, the newest mask is compared with each older one, and the ticket has
//! emerged when every one of those distances is at most ε.

use std::collections::VecDeque;

use super::distance::{distance, DistanceKind};
use super::mask::Mask;
use super::{PruneError, Result};

/// Watches the masks of one ratio, one snapshot at a time.
#[derive(Clone, Debug)]
pub struct EarlyBirdDetector {
    window: usize,
    epsilon: f64,
    kind: DistanceKind,
    /// (snapshot index, mask), oldest first; at most `window` entries.
    fifo: VecDeque<(usize, Mask)>,
}

impl EarlyBirdDetector {
    /// `window` ≥ 2 masks (the paper's 5), threshold `epsilon` in (0, 1].
    pub fn new(window: usize, epsilon: f64, kind: DistanceKind) -> Result<Self> {
        if window < 2 {
            return Err(PruneError::Invalid(format!(
                "search.window: {window} must be at least 2"
            )));
        }
        if !(epsilon > 0.0 && epsilon <= 1.0) {
            return Err(PruneError::Invalid(format!(
                "search.epsilon: {epsilon} is not in (0, 1]"
            )));
        }
        Ok(Self {
            window,
            epsilon,
            kind,
            fifo: VecDeque::with_capacity(window),
        })
    }

    /// Adds the mask of snapshot `index` (indices must increase). Returns the distances from it
    /// to each older mask in the window, oldest first, when the window is full and all of them
    /// are ≤ ε; `None` otherwise.
    pub fn push(&mut self, index: usize, mask: &Mask) -> Result<Option<Vec<f64>>> {
        if let Some((last, _)) = self.fifo.back() {
            if index <= *last {
                return Err(PruneError::Invalid(format!(
                    "early-bird detector got snapshot {index} after snapshot {last}"
                )));
            }
        }
        // Distances first, so a mask of the wrong length leaves the window untouched.
        let full = self.fifo.len() + 1 >= self.window;
        let oldest_kept = usize::from(self.fifo.len() == self.window);
        let dists = self
            .fifo
            .iter()
            .skip(oldest_kept)
            .map(|(_, m)| distance(self.kind, mask, m))
            .collect::<Result<Vec<f64>>>()?;
        if self.fifo.len() == self.window {
            self.fifo.pop_front();
        }
        self.fifo.push_back((index, mask.clone()));
        Ok((full && dists.iter().all(|&d| d <= self.epsilon)).then_some(dists))
    }
}

/// Whether the criterion holds whatever the masks do, so that a ticket "found" under it means
/// nothing. With the Hamming distance two masks that each prune a fraction p of the units
/// differ in at most 2·min(p, 1 − p) of them (2p for p ≤ 0.5, the case architecture.md
/// measured), so ε at or above that bound cannot fail; the pruned-normalised distance reaches 1,
/// so only ε ≥ 1 cannot fail with it.
pub fn criterion_cannot_fail(kind: DistanceKind, ratio: f64, epsilon: f64) -> bool {
    match kind {
        DistanceKind::Hamming => epsilon >= 2.0 * ratio.min(1.0 - ratio),
        DistanceKind::Pruned => epsilon >= 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_settings_and_indices() {
        assert!(EarlyBirdDetector::new(1, 0.1, DistanceKind::Hamming).is_err());
        assert!(EarlyBirdDetector::new(3, 0.0, DistanceKind::Hamming).is_err());
        let mut d = EarlyBirdDetector::new(2, 0.1, DistanceKind::Hamming).unwrap();
        d.push(3, &Mask::all_kept(4)).unwrap();
        assert!(d.push(3, &Mask::all_kept(4)).is_err());
        assert!(d.push(4, &Mask::all_kept(5)).is_err());
        // the bad pushes left the window as it was
        assert_eq!(d.push(4, &Mask::all_kept(4)).unwrap(), Some(vec![0.0]));
    }

    #[test]
    fn cannot_fail_bound() {
        assert!(criterion_cannot_fail(DistanceKind::Hamming, 0.1, 0.2));
        assert!(!criterion_cannot_fail(DistanceKind::Hamming, 0.1, 0.19));
        assert!(criterion_cannot_fail(DistanceKind::Hamming, 0.9, 0.2));
        assert!(!criterion_cannot_fail(DistanceKind::Pruned, 0.1, 0.5));
    }
}

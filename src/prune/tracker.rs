//! `SearchTracker`: the early-bird search for every ratio of `search.ratios` side by side (as
//! You et al. run three detectors). The engine hands it the masks of each snapshot; it returns the
//! `MaskSnapshot` event for the dashboard and a `TicketCandidate` for every ratio whose criterion
//! holds. It knows nothing about training, so it runs in tests on hand-made masks.

use std::fmt::Write;

use super::apply::layer_kept;
use super::distance::{DistanceKind, DistanceMatrix};
use super::early_bird::EarlyBirdDetector;
use super::layout::MaskLayout;
use super::mask::Mask;
use super::{PruneError, Result};
use crate::engine::events::{MaskSnapshot, RatioSnapshot, TicketCandidate};

/// Ratios closer than this are the same ratio (they come from the same TOML numbers).
const RATIO_TOLERANCE: f64 = 1e-9;

/// Everything tracked for one ratio.
#[derive(Clone, Debug)]
struct RatioTrack {
    ratio: f64,
    matrix: DistanceMatrix,
    detector: EarlyBirdDetector,
    /// Snapshot index at which the criterion held for the first time.
    first_ticket: Option<usize>,
}

/// The search state of all ratios.
#[derive(Clone, Debug)]
pub struct SearchTracker {
    tracks: Vec<RatioTrack>,
    /// Epoch (1-based) of every snapshot, by index: the labels of the distance CSV.
    epochs: Vec<usize>,
}

impl SearchTracker {
    /// One distance matrix and one detector (`window`, `epsilon`, `kind`) per ratio.
    pub fn new(ratios: &[f64], window: usize, epsilon: f64, kind: DistanceKind) -> Result<Self> {
        if ratios.is_empty() {
            return Err(PruneError::Invalid(
                "search.ratios: needs at least one ratio".into(),
            ));
        }
        let tracks = ratios
            .iter()
            .map(|&ratio| {
                if !(0.0..=1.0).contains(&ratio) {
                    return Err(PruneError::BadRatio(ratio));
                }
                Ok(RatioTrack {
                    ratio,
                    matrix: DistanceMatrix::new(),
                    detector: EarlyBirdDetector::new(window, epsilon, kind)?,
                    first_ticket: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            tracks,
            epochs: Vec::new(),
        })
    }

    /// Records the masks of snapshot `index` (0, 1, 2, ... in order; one mask per tracked ratio,
    /// in any order) taken at `epoch` / optimiser `step`. Returns the snapshot event and the
    /// candidates (with `awaiting_answer: false`; the engine decides whether to ask).
    pub fn observe(
        &mut self,
        index: usize,
        epoch: usize,
        step: usize,
        masks: Vec<(f64, Mask)>,
        layout: &MaskLayout,
        num_layers: usize,
    ) -> Result<(MaskSnapshot, Vec<TicketCandidate>)> {
        if index != self.epochs.len() {
            return Err(PruneError::Invalid(format!(
                "snapshot {index} observed, expected snapshot {}",
                self.epochs.len()
            )));
        }
        if let Some(first) = self.tracks[0].matrix.mask(0) {
            if first.len() != layout.len() {
                return Err(PruneError::LengthMismatch {
                    what: format!("layout of snapshot {index} against snapshot 0"),
                    expected: first.len(),
                    found: layout.len(),
                });
            }
        }
        let mut by_track: Vec<Option<Mask>> = vec![None; self.tracks.len()];
        for (ratio, mask) in masks {
            layout.check_mask(&mask)?;
            let t = self.position(ratio).ok_or_else(|| {
                PruneError::Invalid(format!("mask for ratio {ratio}, which search.ratios lacks"))
            })?;
            if by_track[t].replace(mask).is_some() {
                return Err(PruneError::Invalid(format!("two masks for ratio {ratio}")));
            }
        }
        // Every check before any state changes, so a bad call leaves the tracker as it was.
        let masks = by_track
            .into_iter()
            .zip(&self.tracks)
            .map(|(m, t)| {
                m.ok_or_else(|| {
                    PruneError::Invalid(format!(
                        "snapshot {index} has no mask for ratio {}",
                        t.ratio
                    ))
                })
            })
            .collect::<Result<Vec<Mask>>>()?;
        let layers = masks
            .iter()
            .map(|m| layer_kept(m, layout, num_layers))
            .collect::<Result<Vec<_>>>()?;

        let mut ratios = Vec::with_capacity(self.tracks.len());
        let mut candidates = Vec::new();
        for ((track, mask), layers) in self.tracks.iter_mut().zip(masks).zip(layers) {
            let window = track.detector.push(index, &mask)?;
            track.matrix.push(mask)?;
            ratios.push(RatioSnapshot {
                ratio: track.ratio,
                distances: track.matrix.to_earlier(DistanceKind::Hamming, index),
                pruned_distances: track.matrix.to_earlier(DistanceKind::Pruned, index),
                distance_to_first: track.matrix.get(index, 0).unwrap_or(0.0),
                layers,
            });
            if let Some(window_distances) = window {
                track.first_ticket.get_or_insert(index);
                candidates.push(TicketCandidate {
                    ratio: track.ratio,
                    index,
                    epoch,
                    window_distances,
                    awaiting_answer: false,
                });
            }
        }
        self.epochs.push(epoch);
        let snapshot = MaskSnapshot {
            index,
            epoch,
            step,
            ratios,
        };
        Ok((snapshot, candidates))
    }

    /// Snapshot index at which the criterion first held for `ratio` (None: not yet, or an
    /// untracked ratio).
    pub fn first_ticket(&self, ratio: f64) -> Option<usize> {
        self.track(ratio)?.first_ticket
    }

    /// The distance matrix of `ratio`.
    pub fn matrix(&self, ratio: f64) -> Option<&DistanceMatrix> {
        Some(&self.track(ratio)?.matrix)
    }

    /// The mask of `ratio` at snapshot `index`.
    pub fn mask(&self, ratio: f64, index: usize) -> Option<&Mask> {
        self.track(ratio)?.matrix.mask(index)
    }

    /// Epoch of every snapshot so far, by index.
    pub fn epochs(&self) -> &[usize] {
        &self.epochs
    }

    /// The distance matrix of `ratio` as CSV text (see `distances_csv`).
    pub fn distances_csv(&self, ratio: f64, kind: DistanceKind) -> Option<String> {
        let m = self.matrix(ratio)?;
        let lower: Vec<Vec<f64>> = (0..m.len()).map(|i| m.to_earlier(kind, i)).collect();
        // lower has one row per epoch label and row i has i values by construction.
        distances_csv(&self.epochs, &lower).ok()
    }

    fn position(&self, ratio: f64) -> Option<usize> {
        self.tracks
            .iter()
            .position(|t| (t.ratio - ratio).abs() < RATIO_TOLERANCE)
    }

    fn track(&self, ratio: f64) -> Option<&RatioTrack> {
        self.tracks.get(self.position(ratio)?)
    }
}

/// A distance matrix as CSV text: header `epoch,<e_0>,<e_1>,...`, then one row per snapshot
/// `<e_i>,d(i,0),d(i,1),...` with 6 decimals, the full symmetric matrix (zero diagonal).
/// `epochs` labels the snapshots (1-based epochs); `lower[i]` holds the distances from snapshot
/// `i` to the earlier ones, oldest first, as in `RatioSnapshot::distances`, so the engine and the
/// dashboard (which only has the events) write the same file.
pub fn distances_csv(epochs: &[usize], lower: &[Vec<f64>]) -> Result<String> {
    if epochs.len() != lower.len() {
        return Err(PruneError::LengthMismatch {
            what: "distance rows for the snapshot labels".into(),
            expected: epochs.len(),
            found: lower.len(),
        });
    }
    if let Some((i, row)) = lower.iter().enumerate().find(|(i, r)| r.len() != *i) {
        return Err(PruneError::LengthMismatch {
            what: format!("distances of snapshot {i} to the earlier ones"),
            expected: i,
            found: row.len(),
        });
    }
    let mut out = String::from("epoch");
    for e in epochs {
        // Writing to a String cannot fail.
        write!(out, ",{e}").unwrap();
    }
    out.push('\n');
    for (i, e) in epochs.iter().enumerate() {
        write!(out, "{e}").unwrap();
        for (j, _) in epochs.iter().enumerate() {
            let d = match j.cmp(&i) {
                std::cmp::Ordering::Less => lower[i][j],
                std::cmp::Ordering::Equal => 0.0,
                std::cmp::Ordering::Greater => lower[j][i],
            };
            write!(out, ",{d:.6}").unwrap();
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_mirrors_the_lower_triangle() {
        let csv = distances_csv(&[1, 2, 3], &[vec![], vec![0.25], vec![0.5, 0.125]]).unwrap();
        assert_eq!(
            csv,
            "epoch,1,2,3\n\
             1,0.000000,0.250000,0.500000\n\
             2,0.250000,0.000000,0.125000\n\
             3,0.500000,0.125000,0.000000\n"
        );
        assert!(distances_csv(&[1, 2], &[vec![], vec![]]).is_err());
        assert!(distances_csv(&[1], &[]).is_err());
    }
}

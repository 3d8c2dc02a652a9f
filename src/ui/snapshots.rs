//! The mask snapshots the dashboard keeps: for each snapshot and ratio, its distances to the
//! earlier snapshots (one row of the lower triangle of the epoch×epoch matrix) and the per-block
//! kept fractions. Memory is bounded: only the newest [`MAX_SNAPSHOTS`] snapshots are kept and
//! each row only reaches back to the oldest kept snapshot, so the store is O(MAX_SNAPSHOTS²).

use std::collections::VecDeque;

use crate::engine::events::{LayerKept, MaskSnapshot};

/// Snapshots kept for the heatmap (a search rarely has more than a few dozen epochs; with
/// `search.every_steps` the window slides over the newest ones).
pub(crate) const MAX_SNAPSHOTS: usize = 256;

/// Which distance the heatmap shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DistanceKind {
    /// The paper's normalised Hamming distance over all units (never above 2p at ratio p).
    Hamming,
    /// |A Δ B| / 2k: one minus the overlap of the pruned sets (the full [0, 1] range).
    Pruned,
}

impl DistanceKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            DistanceKind::Hamming => "Hamming",
            DistanceKind::Pruned => "pruned",
        }
    }
}

/// Ratios are compared with a tolerance: they travel as f64 through config and events.
pub(crate) fn same_ratio(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// One ratio of one snapshot.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RatioRecord {
    pub ratio: f64,
    /// Snapshot index of `hamming[0]` / `pruned[0]`.
    row_start: usize,
    hamming: Vec<f64>,
    pruned: Vec<f64>,
    pub to_first: f64,
    pub layers: Vec<LayerKept>,
}

impl RatioRecord {
    fn row(&self, kind: DistanceKind) -> &[f64] {
        match kind {
            DistanceKind::Hamming => &self.hamming,
            DistanceKind::Pruned => &self.pruned,
        }
    }
}

/// One snapshot: where it was taken and its records per ratio.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SnapshotRecord {
    pub index: usize,
    pub epoch: usize,
    /// Optimiser step of the dense run when the masks were drawn.
    pub step: usize,
    pub ratios: Vec<RatioRecord>,
}

impl SnapshotRecord {
    pub(crate) fn ratio(&self, ratio: f64) -> Option<&RatioRecord> {
        self.ratios.iter().find(|r| same_ratio(r.ratio, ratio))
    }
}

/// The bounded window of snapshots, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SnapshotHistory {
    records: VecDeque<SnapshotRecord>,
    /// Snapshots that slid out of the window.
    dropped: usize,
}

impl SnapshotHistory {
    /// Adds a snapshot; one whose index is not newer than the last is refused (the message says
    /// which), since rows are addressed by index.
    pub(crate) fn push(&mut self, snap: MaskSnapshot) -> Result<(), String> {
        if let Some(last) = self.records.back() {
            if snap.index <= last.index {
                return Err(format!(
                    "mask snapshot {} arrived after snapshot {}; ignored",
                    snap.index, last.index
                ));
            }
        }
        let keep = MAX_SNAPSHOTS - 1;
        let ratios = snap
            .ratios
            .into_iter()
            .map(|r| {
                let trim = |mut v: Vec<f64>| {
                    let cut = v.len().saturating_sub(keep);
                    v.drain(..cut);
                    v
                };
                // `distances` reaches back to snapshot 0 (length = index); after trimming it
                // starts `len` snapshots before this one.
                let hamming = trim(r.distances);
                let pruned = trim(r.pruned_distances);
                RatioRecord {
                    ratio: r.ratio,
                    row_start: snap.index.saturating_sub(hamming.len()),
                    hamming,
                    pruned,
                    to_first: r.distance_to_first,
                    layers: r.layers,
                }
            })
            .collect();
        self.records.push_back(SnapshotRecord {
            index: snap.index,
            epoch: snap.epoch,
            step: snap.step,
            ratios,
        });
        if self.records.len() > MAX_SNAPSHOTS {
            self.records.pop_front();
            self.dropped += 1;
        }
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Snapshots seen in total, including those that slid out of the window.
    pub(crate) fn total(&self) -> usize {
        self.dropped + self.records.len()
    }

    pub(crate) fn records(
        &self,
    ) -> impl DoubleEndedIterator<Item = &SnapshotRecord> + ExactSizeIterator {
        self.records.iter()
    }

    pub(crate) fn last(&self) -> Option<&SnapshotRecord> {
        self.records.back()
    }

    /// The newest `n` snapshots, oldest first.
    pub(crate) fn newest(&self, n: usize) -> Vec<&SnapshotRecord> {
        let skip = self.records.len().saturating_sub(n);
        self.records.iter().skip(skip).collect()
    }

    /// Distance between two snapshots at `ratio` (symmetric, 0 on the diagonal); `None` when the
    /// engine did not report it (e.g. no pruned-normalised distances) or it left the window.
    pub(crate) fn distance(
        a: &SnapshotRecord,
        b: &SnapshotRecord,
        ratio: f64,
        kind: DistanceKind,
    ) -> Option<f64> {
        if a.index == b.index {
            return Some(0.0);
        }
        let (newer, older) = if a.index > b.index { (a, b) } else { (b, a) };
        let rec = newer.ratio(ratio)?;
        let col = older.index.checked_sub(rec.row_start)?;
        rec.row(kind).get(col).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::RatioSnapshot;

    /// Snapshot `i` whose distance to snapshot `j` is `(i + j) / 1000` (Hamming) and twice
    /// that (pruned), so every cell names its coordinates.
    fn snap(i: usize) -> MaskSnapshot {
        MaskSnapshot {
            index: i,
            epoch: i + 1,
            step: (i + 1) * 10,
            ratios: vec![RatioSnapshot {
                ratio: 0.3,
                distances: (0..i).map(|j| (i + j) as f64 / 1000.0).collect(),
                pruned_distances: (0..i).map(|j| 2.0 * (i + j) as f64 / 1000.0).collect(),
                distance_to_first: i as f64 / 1000.0,
                layers: vec![],
            }],
        }
    }

    #[test]
    fn matrix_is_symmetric_with_zero_diagonal() {
        let mut h = SnapshotHistory::default();
        for i in 0..5 {
            h.push(snap(i)).unwrap();
        }
        let r: Vec<_> = h.records().collect();
        let d = |a: usize, b: usize, k| SnapshotHistory::distance(r[a], r[b], 0.3, k);
        assert_eq!(d(3, 1, DistanceKind::Hamming), Some(0.004));
        assert_eq!(d(1, 3, DistanceKind::Hamming), Some(0.004));
        assert_eq!(d(1, 3, DistanceKind::Pruned), Some(0.008));
        assert_eq!(d(2, 2, DistanceKind::Pruned), Some(0.0));
        assert_eq!(
            SnapshotHistory::distance(r[1], r[0], 0.5, DistanceKind::Hamming),
            None
        );
    }

    #[test]
    fn out_of_order_snapshot_is_refused() {
        let mut h = SnapshotHistory::default();
        h.push(snap(0)).unwrap();
        h.push(snap(1)).unwrap();
        let err = h.push(snap(1)).unwrap_err();
        assert!(err.contains("snapshot 1 arrived after snapshot 1"), "{err}");
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn window_is_bounded_and_rows_stay_addressable() {
        let mut h = SnapshotHistory::default();
        let n = MAX_SNAPSHOTS + 100;
        for i in 0..n {
            h.push(snap(i)).unwrap();
        }
        assert_eq!(h.len(), MAX_SNAPSHOTS);
        assert_eq!(h.total(), n);
        let stored: usize = h
            .records()
            .map(|r| r.ratios[0].hamming.len() + r.ratios[0].pruned.len())
            .sum();
        assert!(
            stored <= 2 * MAX_SNAPSHOTS * (MAX_SNAPSHOTS - 1),
            "{stored}"
        );
        let r: Vec<_> = h.records().collect();
        let (first, last) = (r[0], r[r.len() - 1]);
        assert_eq!(first.index, 100);
        let d = SnapshotHistory::distance(last, first, 0.3, DistanceKind::Hamming);
        assert_eq!(d, Some((n - 1 + 100) as f64 / 1000.0));
    }
}

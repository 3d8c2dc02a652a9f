//! Where each panel goes. A pure function of the terminal size and of two facts about the run
//! (whether the comparison arrived, how many blocks the sparsity panel lists), so rendering and
//! mouse hit-testing agree without storing rectangles in the state.
//!
//! ```text
//! ┌ Mask distance ──────┐┌ Distance curve ───────────────────┐
//! │   epoch × epoch     ││ consecutive, to first, ε          │
//! │   heatmap           │├ Layer sparsity ───────────────────┤
//! │                     ││ kept per block                    │
//! └─────────────────────┘└───────────────────────────────────┘
//! ┌ Accuracy ─────────────────────┐┌ Loss ────────────────────┐
//! └───────────────────────────────┘└──────────────────────────┘
//! ┌ Comparison (once it arrives) ─────────────────────────────┐
//! └───────────────────────────────────────────────────────────┘
//!  phase · epoch · elapsed · ETA · ticket          (status)
//!  error / warning / export path / run dir         (message)
//!  key hints                                       (hints)
//! ```

use ratatui::layout::Rect;

/// Below this the dashboard says "terminal too small" instead of drawing panels.
pub(crate) const MIN_WIDTH: u16 = 48;
pub(crate) const MIN_HEIGHT: u16 = 14;

/// Rows of the status area at the bottom.
const STATUS_ROWS: u16 = 3;

/// The panels that can take focus, in `Tab` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Panel {
    Heatmap,
    Distance,
    Sparsity,
    Accuracy,
    Loss,
    Comparison,
}

/// Rectangles of every panel for one terminal size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Panels {
    pub heatmap: Rect,
    pub distance: Rect,
    pub sparsity: Rect,
    pub accuracy: Rect,
    pub loss: Rect,
    pub comparison: Option<Rect>,
    pub status: Rect,
}

impl Panels {
    /// `None` when `area` is below the minimum size. `comparison_rows` is the number of table
    /// rows (0: no comparison yet); `layers` the number of blocks in the sparsity panel.
    pub(crate) fn compute(area: Rect, comparison_rows: usize, layers: usize) -> Option<Self> {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            return None;
        }
        let (x, y, w, h) = (area.x, area.y, area.width, area.height);
        let status = Rect::new(x, y + h - STATUS_ROWS, w, STATUS_ROWS);
        let rest = h - STATUS_ROWS;
        let comparison_h = if comparison_rows == 0 {
            0
        } else {
            // Border (2) + header (1) + rows, but never more than a third of the screen.
            (comparison_rows as u16 + 3).min(rest / 3)
        };
        let panels_h = rest - comparison_h;
        let top_h = panels_h * 3 / 5;
        let bottom_h = panels_h - top_h;

        // The heatmap is square in "pixels" (one column × half a row), so it needs about twice
        // as many columns as rows; the rest of the width goes to the curves.
        let heat_w = (2 * top_h + 6).max(w * 2 / 5).min(w / 2);
        let right_w = w - heat_w;
        // The sparsity panel wants one row per block plus borders, title line and footer.
        let wanted = layers as u16 + 3;
        let sparsity_h = wanted.min(top_h / 2).max(top_h.min(4));
        let distance_h = top_h - sparsity_h;

        let half = w / 2;
        Some(Panels {
            heatmap: Rect::new(x, y, heat_w, top_h),
            distance: Rect::new(x + heat_w, y, right_w, distance_h),
            sparsity: Rect::new(x + heat_w, y + distance_h, right_w, sparsity_h),
            accuracy: Rect::new(x, y + top_h, half, bottom_h),
            loss: Rect::new(x + half, y + top_h, w - half, bottom_h),
            comparison: (comparison_h > 0).then(|| Rect::new(x, y + panels_h, w, comparison_h)),
            status,
        })
    }

    /// The focusable panel under a screen position (for mouse clicks).
    pub(crate) fn hit(&self, col: u16, row: u16) -> Option<Panel> {
        let p = ratatui::layout::Position::new(col, row);
        let all = [
            (Panel::Heatmap, Some(self.heatmap)),
            (Panel::Distance, Some(self.distance)),
            (Panel::Sparsity, Some(self.sparsity)),
            (Panel::Accuracy, Some(self.accuracy)),
            (Panel::Loss, Some(self.loss)),
            (Panel::Comparison, self.comparison),
        ];
        all.into_iter()
            .find(|(_, r)| r.is_some_and(|r| r.contains(p)))
            .map(|(panel, _)| panel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Panels tile the screen: no overlap, nothing outside, every cell covered.
    fn assert_tiles(p: &Panels, area: Rect) {
        let mut rects = vec![
            p.heatmap, p.distance, p.sparsity, p.accuracy, p.loss, p.status,
        ];
        rects.extend(p.comparison);
        let covered: u32 = rects.iter().map(|r| r.area()).sum();
        assert_eq!(covered, area.area());
        for (i, a) in rects.iter().enumerate() {
            assert_eq!(a.intersection(area), *a);
            for b in &rects[i + 1..] {
                assert!(!a.intersects(*b), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn tiles_at_common_sizes() {
        for (w, h) in [(48, 14), (80, 24), (100, 30), (160, 48), (200, 60)] {
            for rows in [0, 3] {
                let area = Rect::new(0, 0, w, h);
                let p = Panels::compute(area, rows, 4).unwrap();
                assert_tiles(&p, area);
                assert_eq!(p.comparison.is_some(), rows > 0);
            }
        }
    }

    #[test]
    fn sizes_at_80x24() {
        let p = Panels::compute(Rect::new(0, 0, 80, 24), 0, 4).unwrap();
        assert_eq!(p.heatmap, Rect::new(0, 0, 32, 12));
        assert_eq!(p.sparsity.height, 6);
        assert_eq!(p.accuracy, Rect::new(0, 12, 40, 9));
        assert_eq!(p.status, Rect::new(0, 21, 80, 3));
        assert_eq!(p.hit(5, 5), Some(Panel::Heatmap));
        assert_eq!(p.hit(60, 20), Some(Panel::Loss));
        assert_eq!(p.hit(60, 22), None);
    }

    #[test]
    fn too_small() {
        assert_eq!(Panels::compute(Rect::new(0, 0, 47, 30), 0, 4), None);
        assert_eq!(Panels::compute(Rect::new(0, 0, 100, 13), 0, 4), None);
        assert_eq!(Panels::compute(Rect::new(0, 0, 0, 0), 0, 4), None);
    }
}

//! The epoch×epoch mask-distance heatmap of the selected ratio (the paper's Fig. 2): dark where
//! two snapshots prune the same units, bright where they differ. With colour, each cell is drawn
//! with half blocks (`▀`, foreground = upper cell, background = lower cell), so a matrix cell is
//! one column by half a row — about square — and an n-epoch matrix needs n columns × n/2 rows.
//! Without colour (`NO_COLOR`), cells are two glyphs wide and shaded `·░▒▓█`. Cells grow with
//! the panel; when the matrix does not fit, only the newest snapshots are shown.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::run_dir::format_ratio;
use crate::ui::app::App;
use crate::ui::panels::{block, put};
use crate::ui::snapshots::{SnapshotHistory, SnapshotRecord};
use crate::ui::theme::{shade, ColorMode, Theme, SHADES};

/// Colour of a cell whose distance the engine did not report.
const MISSING_RGB: (u8, u8, u8) = (48, 48, 48);
/// Widest colour bar of the legend.
const LEGEND_BAR: u16 = 16;

/// Where the matrix goes inside the panel and how big its cells are. Sizes are in "pixels":
/// with colour a pixel is one column × half a row (about square); with glyphs it is one column
/// × one row (twice as tall as wide).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geometry {
    /// Snapshots shown (the newest ones).
    n: usize,
    /// Cell width in columns.
    sx: u16,
    /// Cell height in pixels.
    sy: u16,
    glyphs: bool,
}

impl Geometry {
    /// Fits `wanted` snapshots into `inner`, keeping one row for the x labels and `label_w + 1`
    /// columns for the y labels and the ticket marker. Cells are as large as fits, at most twice
    /// as wide as tall, so the matrix fills the panel without turning into stripes.
    fn fit(inner: Rect, wanted: usize, label_w: u16, glyphs: bool) -> Self {
        let cols = inner.width.saturating_sub(label_w + 1) as usize;
        let rows = inner.height.saturating_sub(1) as usize;
        // Pixel rows available, and how many columns make a cell as wide as one pixel row is tall.
        let (px_h, square) = if glyphs { (rows, 2) } else { (2 * rows, 1) };
        let n = wanted.min(cols).min(px_h);
        if n == 0 {
            return Self {
                n: 0,
                sx: 0,
                sy: 0,
                glyphs,
            };
        }
        let sy = px_h / n;
        let sx = (cols / n).min(2 * square * sy);
        let clamp = |v: usize| v.min(u16::MAX as usize) as u16;
        Self {
            n,
            sx: clamp(sx),
            sy: clamp(sy),
            glyphs,
        }
    }

    /// Terminal rows of the whole matrix.
    fn height(&self) -> u16 {
        let px = self.n as u16 * self.sy;
        if self.glyphs {
            px
        } else {
            px.div_ceil(2)
        }
    }

    /// Terminal row (relative to the matrix) where matrix row `k` starts.
    fn row_of(&self, k: usize) -> u16 {
        let px = k as u16 * self.sy;
        if self.glyphs {
            px
        } else {
            px / 2
        }
    }

    /// The matrix row shown in pixel row `py`.
    fn row_at(&self, py: usize) -> usize {
        py / self.sy.max(1) as usize
    }

    /// The matrix row that starts on terminal row `r`, if any (the upper one when two do).
    fn starts_on(&self, r: u16) -> Option<usize> {
        let s = self.sy.max(1);
        let pixels: &[u16] = if self.glyphs {
            &[r]
        } else {
            &[2 * r, 2 * r + 1]
        };
        pixels
            .iter()
            .find(|&&py| py % s == 0 && (py / s) < self.n as u16)
            .map(|&py| (py / s) as usize)
    }
}

pub(crate) fn render(frame: &mut Frame, area: Rect, app: &App, focused: bool) {
    let theme = &app.theme;
    let inner = Block::bordered().inner(area);
    let Some(ratio) = app.selected_ratio() else {
        let b = block(" Mask distance ", focused, theme);
        frame.render_widget(waiting("waiting for the run to start…").block(b), area);
        return;
    };
    let total = app.snapshots.len();
    let wanted = app.heatmap.zoom.unwrap_or(total).min(total);
    let max_epoch = app.snapshots.last().map_or(0, |r| r.epoch);
    let label_w = max_epoch.max(1).to_string().len() as u16;
    let geo = Geometry::fit(inner, wanted, label_w, theme.mode == ColorMode::Mono);
    let records = app.snapshots.newest(geo.n);

    let mut title = format!(" Mask distance p={} ", format_ratio(ratio));
    let seen = app.snapshots.total();
    if geo.n < seen {
        title.push_str(&format!("· last {} ", geo.n));
    }
    let marker = app
        .ticket_marker()
        .and_then(|t| records.iter().position(|r| r.index == t));
    // (n, n) distances, symmetric, None where unknown.
    let values = matrix(&records, ratio, app);
    let scale = if app.heatmap.auto_contrast {
        max_distance(&values)
    } else {
        1.0
    };
    let legend = legend(app, &records, marker, scale, inner.width);
    frame.render_widget(block(title, focused, theme).title_bottom(legend), area);
    if total == 0 {
        frame.render_widget(waiting("waiting for the first mask snapshot…"), inner);
        return;
    }
    if geo.n == 0 {
        return;
    }

    let mx = inner.x + label_w + 1;
    let buf = frame.buffer_mut();
    draw_cells(buf, mx, inner.y, &geo, &values, scale, theme);

    // Epoch labels on the left, ticket marker between them and the matrix.
    for r in 0..geo.height() {
        if let Some(k) = geo.starts_on(r) {
            let text = format!("{:>w$}", records[k].epoch, w = label_w as usize);
            put(buf, inner.x, inner.y + r, &text, theme.dim());
        }
    }
    if let Some(k) = marker {
        put(buf, mx - 1, inner.y + geo.row_of(k), "▶", theme.warning());
    }

    // Epoch labels under the matrix, spaced so they never touch; the marker wins its column.
    let label_y = inner.y + geo.height();
    let cw = geo.sx;
    let right = inner.x + inner.width;
    let marker_x = marker.map(|k| mx + k as u16 * cw + (cw - 1) / 2);
    let mut next_free = mx;
    for (j, rec) in records.iter().enumerate() {
        let x = mx + j as u16 * cw;
        let text = rec.epoch.to_string();
        let end = x + text.len() as u16;
        let hides_marker = marker_x.is_some_and(|m| m >= x && m < end);
        if x >= next_free && end <= right && !hides_marker {
            put(buf, x, label_y, &text, theme.dim());
            next_free = end + 1;
        }
    }
    if let Some(m) = marker_x {
        put(buf, m, label_y, "▲", theme.warning());
    }
}

/// Distances between the shown snapshots at `ratio`, in the chosen normalisation.
fn matrix(records: &[&SnapshotRecord], ratio: f64, app: &App) -> Vec<Vec<Option<f64>>> {
    records
        .iter()
        .map(|a| {
            records
                .iter()
                .map(|b| SnapshotHistory::distance(a, b, ratio, app.heatmap.kind))
                .collect()
        })
        .collect()
}

/// Largest shown distance (the auto-contrast scale); 1 when there is none.
fn max_distance(values: &[Vec<Option<f64>>]) -> f64 {
    let max = values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if max > 0.0 {
        max
    } else {
        1.0
    }
}

/// Paints the matrix cells with their top-left corner at (`x0`, `y0`).
fn draw_cells(
    buf: &mut ratatui::buffer::Buffer,
    x0: u16,
    y0: u16,
    geo: &Geometry,
    values: &[Vec<Option<f64>>],
    scale: f64,
    theme: &Theme,
) {
    let n = geo.n;
    let px = n * geo.sy as usize;
    let cell_w = geo.sx as usize;
    let scaled = |v: Option<f64>| v.map(|v| v / scale);
    for r in 0..geo.height() as usize {
        for c in 0..n * cell_w {
            let j = c / cell_w;
            let Some(cell) = buf.cell_mut((x0 + c as u16, y0 + r as u16)) else {
                continue;
            };
            if geo.glyphs {
                let ch = scaled(values[geo.row_at(r)][j]).map_or(' ', shade);
                cell.set_char(ch);
                continue;
            }
            let (top, bottom) = (2 * r, 2 * r + 1);
            let color = |py: usize| {
                let v = scaled(values[geo.row_at(py)][j]);
                let rgb = v.map_or(MISSING_RGB, crate::ui::theme::viridis);
                theme.rgb(rgb).unwrap_or(Color::Reset)
            };
            cell.set_char('▀').set_fg(color(top));
            cell.set_bg(if bottom < px {
                color(bottom)
            } else {
                Color::Reset
            });
        }
    }
}

/// `0 ▕gradient▏ 1.00  ▶▲ ticket ep 7` — what the colours (or glyphs) mean.
fn legend(
    app: &App,
    records: &[&SnapshotRecord],
    marker: Option<usize>,
    scale: f64,
    width: u16,
) -> Line<'static> {
    let theme = &app.theme;
    let mut spans = vec![Span::raw("0 ")];
    if theme.mode == ColorMode::Mono {
        spans.push(Span::raw(SHADES.iter().collect::<String>()));
    } else {
        let bw = LEGEND_BAR.min(width / 4).max(2);
        for i in 0..bw {
            let t = i as f64 / (bw - 1) as f64;
            let style = theme.heat(t).map_or(Style::new(), |c| Style::new().fg(c));
            spans.push(Span::styled("█", style));
        }
    }
    let top = if app.heatmap.auto_contrast {
        format!(" {scale:.2}")
    } else {
        " 1".to_string()
    };
    spans.push(Span::raw(top));
    spans.push(Span::raw(format!(" {} ", app.heatmap.kind.label())));
    if let Some(k) = marker {
        spans.push(Span::styled(
            format!("▶▲ ep {} ", records[k].epoch),
            theme.warning(),
        ));
    }
    Line::from(spans)
}

fn waiting(text: &str) -> Paragraph<'_> {
    Paragraph::new(text).wrap(Wrap { trim: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_at_80x24_and_160x48() {
        // Inner heatmap areas of the two reference sizes (panel minus borders).
        let (small, large) = (Rect::new(1, 1, 30, 10), Rect::new(1, 1, 62, 25));
        let g = |area, n, glyphs| {
            let g = Geometry::fit(area, n, 2, glyphs);
            (g.n, g.sx, g.sy, g.height())
        };
        assert_eq!(g(small, 12, false), (12, 2, 1, 6));
        assert_eq!(g(small, 9, false), (9, 3, 2, 9));
        assert_eq!(g(large, 12, false), (12, 4, 4, 24));
        // Glyphs: a row per pixel, so at 80×24 only the newest 9 of 12 fit.
        assert_eq!(g(small, 12, true), (9, 3, 1, 9));
        assert_eq!(g(large, 12, true), (12, 4, 2, 24));
        assert_eq!(g(Rect::new(0, 0, 2, 2), 12, false).0, 0);
    }

    #[test]
    fn row_starts() {
        let g = Geometry {
            n: 4,
            sx: 3,
            sy: 3,
            glyphs: false,
        };
        // Pixel rows 0..12: matrix rows start at 0, 3, 6, 9 → terminal rows 0, 1, 3, 4.
        let starts: Vec<_> = (0..g.height()).map(|r| g.starts_on(r)).collect();
        assert_eq!(starts, vec![Some(0), Some(1), None, Some(2), Some(3), None]);
        assert_eq!(g.row_of(3), 4);
        assert_eq!(g.row_at(8), 2);
    }
}

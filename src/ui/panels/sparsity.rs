//! Kept fraction per block at the selected ratio in the newest snapshot; for structured pruning
//! also heads and MLP neurons kept of the total. A global ratio prunes blocks unevenly, and this
//! is where that shows. Once the ticket is pruned, the footer gives the pruned model's size.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::engine::events::LayerKept;
use crate::run_dir::format_ratio;
use crate::ui::app::App;
use crate::ui::format;
use crate::ui::panels::block;
use crate::ui::theme::Series;

/// Bars never grow past this; the numbers matter more than the length.
const MAX_BAR: usize = 30;

pub(crate) fn render(frame: &mut Frame, area: Rect, app: &App, focused: bool) {
    let theme = &app.theme;
    let ratio = app.selected_ratio();
    let newest = app.snapshots.last();
    let layers: &[LayerKept] = match (ratio, newest) {
        (Some(r), Some(s)) => s.ratio(r).map_or(&[], |x| x.layers.as_slice()),
        _ => &[],
    };
    let mut title = " Layer sparsity".to_string();
    if let Some(r) = ratio {
        title.push_str(&format!(" p={}", format_ratio(r)));
    }
    if let Some(s) = newest {
        title.push_str(&format!(" · ep {}", s.epoch));
    }
    title.push(' ');
    let mut b = block(title, focused, theme);
    if let Some(p) = &app.pruned {
        let whole = app.info.as_ref().map_or(0, |i| i.params);
        let mut footer = format!(
            " pruned: {} params ({})",
            format::count(p.params),
            format::times(p.params as f64, whole as f64)
        );
        if !p.heads.is_empty() {
            let heads: Vec<String> = p.heads.iter().map(|h| h.to_string()).collect();
            footer.push_str(&format!(" · heads {}", heads.join(",")));
        }
        footer.push(' ');
        b = b.title_bottom(footer);
    }
    let inner = b.inner(area);
    frame.render_widget(b, area);
    if layers.is_empty() {
        frame.render_widget(
            Paragraph::new("waiting for the first mask snapshot…").wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }

    let width = inner.width as usize;
    let label_w = format!("L{}", layers.len().saturating_sub(1)).len();
    let rows = inner.height as usize;
    let shown = if layers.len() > rows {
        rows.saturating_sub(1)
    } else {
        layers.len()
    };
    let columns = Columns::fit(layers, label_w, width);
    let mut lines: Vec<Line> = layers[..shown]
        .iter()
        .map(|l| columns.line(l, theme))
        .collect();
    if shown < layers.len() && rows > 0 {
        lines.push(Line::styled(
            format!("… {} more blocks", layers.len() - shown),
            theme.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Column widths shared by every row, so bars and counts line up.
struct Columns {
    label_w: usize,
    bar_w: usize,
    /// Width of the `k/t` heads and neurons counts; `None` when left out for room.
    heads_w: Option<usize>,
    neurons_w: Option<usize>,
}

/// `L0 ████████░░  81%  heads 3/4  neurons 104/128` is `label bar pct heads neurons`.
const PCT_W: usize = 6;
const HEADS_LABEL: &str = "  heads ";
const NEURONS_LABEL: &str = "  neurons ";
/// The counts are dropped (neurons first) before the bar gets shorter than this.
const MIN_BAR: usize = 6;

impl Columns {
    fn fit(layers: &[LayerKept], label_w: usize, width: usize) -> Self {
        let count_w = |f: fn(&LayerKept) -> Option<(usize, usize)>| {
            layers
                .iter()
                .filter_map(|l| f(l).map(|(k, t)| format!("{k}/{t}").len()))
                .max()
        };
        let mut heads_w = count_w(|l| l.heads);
        let mut neurons_w = count_w(|l| l.neurons);
        let fixed = |h: Option<usize>, n: Option<usize>| {
            label_w
                + 1
                + PCT_W
                + h.map_or(0, |w| HEADS_LABEL.len() + w)
                + n.map_or(0, |w| NEURONS_LABEL.len() + w)
        };
        if fixed(heads_w, neurons_w) + MIN_BAR > width {
            neurons_w = None;
        }
        if fixed(heads_w, neurons_w) + MIN_BAR > width {
            heads_w = None;
        }
        let bar_w = width.saturating_sub(fixed(heads_w, neurons_w)).min(MAX_BAR);
        Self {
            label_w,
            bar_w,
            heads_w,
            neurons_w,
        }
    }

    fn line(&self, l: &LayerKept, theme: &crate::ui::theme::Theme) -> Line<'static> {
        let kept = if l.kept_fraction.is_finite() {
            l.kept_fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let full = (kept * self.bar_w as f64).round() as usize;
        let label = format!("{:<w$} ", format!("L{}", l.layer), w = self.label_w);
        let count = |label: &str, w: Option<usize>, c: Option<(usize, usize)>| match (w, c) {
            (Some(w), Some((k, t))) => format!("{label}{:>w$}", format!("{k}/{t}")),
            (Some(w), None) => " ".repeat(label.len() + w),
            (None, _) => String::new(),
        };
        Line::from(vec![
            Span::styled(label, theme.dim()),
            Span::styled("█".repeat(full), theme.series(Series::Baseline)),
            Span::styled("░".repeat(self.bar_w - full), theme.dim()),
            Span::raw(format!("{:>PCT_W$}", format!("{:.0}%", 100.0 * kept))),
            Span::raw(count(HEADS_LABEL, self.heads_w, l.heads)),
            Span::raw(count(NEURONS_LABEL, self.neurons_w, l.neurons)),
        ])
    }
}

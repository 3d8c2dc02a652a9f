//! The final comparison: dense baseline vs the retrained early-bird ticket vs a random mask of
//! the same ratio — accuracy, size, speed and total cost, each also as a ratio to the baseline
//! (0.62× params), so the trade is read in one line.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Row, Table};
use ratatui::Frame;

use crate::engine::events::{Comparison, ComparisonRow, RunKind};
use crate::run_dir::format_ratio;
use crate::ui::app::App;
use crate::ui::format;
use crate::ui::panels::block;

pub(crate) fn render(frame: &mut Frame, area: Rect, app: &App, focused: bool) {
    let Some(c) = &app.comparison else {
        return;
    };
    let theme = &app.theme;
    let title = format!(
        " Comparison · ticket p={} @ epoch {} ({}) ",
        format_ratio(c.ticket_ratio),
        c.ticket_epoch,
        if c.converged {
            "converged"
        } else {
            "not converged: max epochs"
        }
    );
    // The size column (bytes) mostly repeats params; it goes first when the screen is narrow.
    let with_size = area.width >= WIDE;
    let header = [
        "run",
        "accuracy",
        "Δ acc",
        "params",
        "size",
        "step",
        "total cost",
    ];
    let header = Row::new(columns(header.map(String::from).to_vec(), with_size))
        .style(theme.dim().add_modifier(Modifier::BOLD));
    let rows: Vec<Row> = c
        .rows
        .iter()
        .map(|r| Row::new(columns(cells(c, r), with_size)))
        .collect();
    let widths = [8, 8, 8, 14, 17, 14].map(Constraint::Length);
    let mut widths = columns(widths.to_vec(), with_size);
    widths.push(Constraint::Min(10));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block(Line::from(title), focused, theme));
    frame.render_widget(table, area);
}

/// Below this width the size column is left out.
const WIDE: u16 = 92;
const SIZE_COLUMN: usize = 4;

/// The columns shown at this width.
fn columns<T>(all: Vec<T>, with_size: bool) -> Vec<T> {
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| with_size || *i != SIZE_COLUMN)
        .map(|(_, x)| x)
        .collect()
}

/// One run's cells; ratios are to the baseline row (when there is one).
fn cells(c: &Comparison, r: &ComparisonRow) -> Vec<String> {
    let base = c.rows.iter().find(|b| b.run == RunKind::Baseline);
    let ratio = |f: fn(&ComparisonRow) -> f64| match base {
        Some(b) if r.run != RunKind::Baseline => format!(" ({})", format::times(f(r), f(b))),
        _ => String::new(),
    };
    let delta = match base {
        Some(b) if r.run != RunKind::Baseline => {
            format!("{:+.1} pt", 100.0 * (r.accuracy - b.accuracy))
        }
        _ => "-".into(),
    };
    vec![
        r.run.as_str().to_string(),
        format::percent(r.accuracy),
        delta,
        format!("{}{}", format::count(r.params), ratio(|x| x.params as f64)),
        format!("{}{}", format::bytes(r.bytes), ratio(|x| x.bytes as f64)),
        format!("{:.1}ms{}", r.step_ms, ratio(|x| x.step_ms)),
        format!("{}{}", format::seconds(r.seconds), ratio(|x| x.seconds)),
    ]
}

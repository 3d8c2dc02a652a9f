//! Overlays drawn over the panels: the help (generated from the key table), the ticket and quit
//! dialogs, the "stopping…" wait, and the "terminal too small" notice.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::run_dir::format_ratio;
use crate::ui::app::{App, Overlay, TicketState};
use crate::ui::keymap::KEYS;
use crate::ui::layout::{MIN_HEIGHT, MIN_WIDTH};
use crate::ui::theme::ColorMode;

/// Draws the open overlay, if any.
pub(crate) fn render(frame: &mut Frame, app: &App) {
    let Some(overlay) = app.overlay else {
        return;
    };
    let (title, lines) = match overlay {
        Overlay::Help => (" Help · keys ", help_lines(app)),
        Overlay::ConfirmTicket => (" Early-bird ticket ", ticket_lines(app)),
        Overlay::ConfirmQuit => (
            " Quit ",
            vec![
                Line::from("Training is still running."),
                Line::from(""),
                Line::from(vec![
                    Span::raw("Stop training? "),
                    Span::styled("y", app.theme.key()),
                    Span::raw("/"),
                    Span::styled("n", app.theme.key()),
                ]),
            ],
        ),
        Overlay::Stopping { .. } => (
            " Stopping ",
            vec![
                Line::from("stopping… waiting for the trainer"),
                Line::from("to finish its batch and save."),
                Line::from(""),
                Line::from(vec![
                    Span::styled("Ctrl-C", app.theme.key()),
                    Span::raw(" quits at once"),
                ]),
            ],
        ),
    };
    let area = frame.area();
    let w = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 4;
    let h = lines.len() as u16 + 2;
    let rect = centered(area, w, h);
    let block = Block::bordered()
        .title(title)
        .border_style(app.theme.border(true));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block.padding(ratatui::widgets::Padding::horizontal(1)))
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// Every binding of the key table, then what the heatmap's marks mean.
fn help_lines(app: &App) -> Vec<Line<'static>> {
    let label_w = KEYS
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|b| {
            let pad = label_w - b.label.chars().count();
            Line::from(vec![
                Span::raw(" ".repeat(pad)),
                Span::styled(b.label, app.theme.key()),
                Span::raw(format!("  {}", b.help)),
            ])
        })
        .collect();
    let colour = match app.theme.mode {
        ColorMode::TrueColor => "truecolor",
        ColorMode::Ansi256 => "256 colours",
        ColorMode::Mono => "NO_COLOR: glyph shading",
    };
    lines.push(Line::from(""));
    lines.push(Line::styled(
        "heatmap: dark = same pruned units, bright = different;",
        app.theme.dim(),
    ));
    lines.push(Line::styled(
        format!("▶▲ mark the ticket; Hamming ≤ 2p at ratio p ({colour})"),
        app.theme.dim(),
    ));
    lines.push(Line::styled(
        "distance: consecutive snapshots (Hamming, pruned-norm = |AΔB|/2k),",
        app.theme.dim(),
    ));
    lines.push(Line::styled(
        "Hamming to the first mask, and the criterion's ε.",
        app.theme.dim(),
    ));
    lines
}

/// The offer, its evidence (the window's distances against ε) and the question.
fn ticket_lines(app: &App) -> Vec<Line<'static>> {
    let key = app.theme.key();
    let mut lines = vec![];
    if let TicketState::Offered(c) = &app.ticket {
        lines.push(Line::from(format!(
            "The early-bird criterion held at epoch {} for p={}:",
            c.epoch,
            format_ratio(c.ratio)
        )));
        let ds: Vec<String> = c
            .window_distances
            .iter()
            .map(|d| format!("{d:.3}"))
            .collect();
        let eps = app.info.as_ref().map_or(String::new(), |i| {
            format!(" ≤ ε={}", format_ratio(i.epsilon))
        });
        lines.push(Line::from(format!(
            "window distances {}{eps}",
            ds.join(" ")
        )));
        lines.push(Line::from(""));
    }
    if let Some(r) = app.selected_ratio() {
        lines.push(Line::from(vec![
            Span::raw("Take the ticket at "),
            Span::styled(
                format!("p={}", format_ratio(r)),
                ratatui::style::Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(", prune and retrain?"),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("y", key),
        Span::raw(" take it · "),
        Span::styled("n", key),
        Span::raw(" keep searching · "),
        Span::styled("Esc", key),
        Span::raw(" later"),
    ]));
    lines
}

/// Shown instead of the dashboard below the minimum size; wraps down to one column.
pub(crate) fn render_too_small(frame: &mut Frame) {
    let area = frame.area();
    let text = format!(
        "terminal too small: {}×{} (need {}×{})",
        area.width, area.height, MIN_WIDTH, MIN_HEIGHT
    );
    let y = area.y + area.height / 2;
    let rect = Rect::new(area.x, y.saturating_sub(1), area.width, area.height.min(3));
    frame.render_widget(
        Paragraph::new(text).centered().wrap(Wrap { trim: true }),
        rect.intersection(area),
    );
}

/// A `w`×`h` rectangle in the middle of `area`, shrunk to fit.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

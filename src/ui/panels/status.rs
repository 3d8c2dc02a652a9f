//! The three status rows: where the pipeline is (phase, epoch, elapsed, ETA, ticket), the most
//! important message (error, warning, export) beside the run directory or last export path, and
//! the key hints — taken from the same key table as the help overlay.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::run_dir::format_ratio;
use crate::ui::app::{App, Level, Overlay, TicketState};
use crate::ui::format;
use crate::ui::keymap::{Action, Context, KEYS};

pub(crate) fn render(frame: &mut Frame, area: Rect, app: &App) {
    let row = |i: u16| Rect::new(area.x, area.y + i, area.width, 1).intersection(area);
    frame.render_widget(Paragraph::new(progress_line(app)), row(0));
    render_message(frame, row(1), app);
    frame.render_widget(Paragraph::new(hints_line(app, area.width)), row(2));
}

/// `searching  search 7/12 33%  elapsed 1m23s  ETA ≤12s  ticket: none yet`: the current
/// run's epoch (and how far into it), time since the run started, the time left in the current
/// run (an upper bound while searching), and the ticket.
fn progress_line(app: &App) -> Line<'static> {
    let theme = &app.theme;
    let badge = match app.overlay {
        Some(Overlay::Stopping { .. }) => "stopping…".to_string(),
        _ if app.paused => "paused".to_string(),
        _ => app.phase.label().to_string(),
    };
    let mut parts: Vec<String> = vec![];
    if let Some(run) = app.current_run() {
        let epoch = match app.progress {
            Some(p) if p.run == run => p.epoch,
            _ => app
                .metrics
                .iter()
                .rev()
                .find(|m| m.run == run)
                .map_or(0, |m| m.epoch),
        };
        let total = app
            .planned_epochs(run)
            .map_or(String::new(), |t| format!("/{t}"));
        let mut s = format!("{} {epoch}{total}", run.as_str());
        if let Some(p) = app.progress {
            if p.run == run && p.step < p.steps {
                s.push_str(&format!(" {:.0}%", 100.0 * p.step as f64 / p.steps as f64));
            }
        }
        parts.push(s);
    }
    if let Some(e) = app.elapsed() {
        parts.push(format!("elapsed {}", format::duration(e)));
    }
    if let Some((eta, upper)) = app.eta() {
        let bound = if upper { "≤" } else { "" };
        parts.push(format!("ETA {bound}{}", format::duration(eta)));
    }
    let mut spans = vec![
        Span::styled(format!(" {badge} "), theme.badge()),
        Span::raw(" "),
    ];
    for p in parts {
        spans.push(Span::raw(p));
        spans.push(Span::raw("  "));
    }
    let offered = matches!(app.ticket, TicketState::Offered(_));
    let ticket_style = if offered {
        theme.warning()
    } else {
        ratatui::style::Style::new()
    };
    spans.push(Span::styled(ticket_text(&app.ticket), ticket_style));
    Line::from(spans)
}

fn ticket_text(t: &TicketState) -> String {
    match t {
        TicketState::None => "ticket: none yet".into(),
        TicketState::Candidate(c) => format!(
            "ticket: criterion held p={} @ep{}",
            format_ratio(c.ratio),
            c.epoch
        ),
        TicketState::Offered(c) => format!("offer p={} @ep{}", format_ratio(c.ratio), c.epoch),
        TicketState::Accepted { ratio } => {
            format!("ticket: confirming p={}…", format_ratio(*ratio))
        }
        TicketState::Rejected { epoch } => format!("ticket: rejected @ep{epoch}, searching"),
        TicketState::Confirmed {
            ratio,
            epoch,
            converged,
            ..
        } => format!(
            "ticket: p={} @ep{}{}",
            format_ratio(*ratio),
            epoch,
            if *converged { "" } else { " (max epochs)" }
        ),
    }
}

/// Left: the error, else the newest log line (with the warning count) — an export's path is
/// one; right: the run directory.
fn render_message(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let warnings = app.log.iter().filter(|l| l.level == Level::Warn).count();
    let message: Option<Span> = if let Some(e) = &app.failure {
        Some(Span::styled(format!(" ✖ {e}"), theme.error()))
    } else {
        app.log.back().map(|l| match l.level {
            Level::Error => Span::styled(format!(" ✖ {}", l.text), theme.error()),
            Level::Warn => {
                let more = if warnings > 1 {
                    format!(" ({warnings} warnings)")
                } else {
                    String::new()
                };
                Span::styled(format!(" ⚠ {}{more}", l.text), theme.warning())
            }
            Level::Info => Span::raw(format!(" {}", l.text)),
        })
    };
    // The newest export is named by its own log line (left) until something newer comes.
    let path = format!("run: {} ", app.run_dir.display());
    let Some(message) = message else {
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {path}"), theme.dim())),
            area,
        );
        return;
    };
    let path_w = (path.chars().count() as u16).min(area.width / 2);
    let left = Rect::new(
        area.x,
        area.y,
        (area.width - path_w).saturating_sub(1),
        area.height,
    );
    let right = Rect::new(area.x + area.width - path_w, area.y, path_w, area.height);
    frame.render_widget(Paragraph::new(message), left);
    frame.render_widget(
        Paragraph::new(Span::styled(path, theme.dim())).right_aligned(),
        right,
    );
}

/// Hints of the bindings live right now, in table order. Dialog answers, help and quit always
/// show; the others are left out from the right when the row is full.
fn hints_line(app: &App, width: u16) -> Line<'static> {
    let theme = &app.theme;
    let dialog = app.overlay.is_some_and(|o| o != Overlay::Help);
    let stopping = matches!(app.overlay, Some(Overlay::Stopping { .. }));
    let offered = matches!(app.ticket, TicketState::Offered(_));
    let live: Vec<(&'static str, bool)> = KEYS
        .iter()
        .filter(|b| match b.context {
            Context::Main => !dialog,
            Context::Dialog => dialog,
            Context::Always => true,
        })
        .filter(|b| match b.action {
            // While stopping only Ctrl-C does anything.
            _ if stopping => b.action == Action::Interrupt,
            Action::Interrupt => false,
            Action::ReviewTicket => offered,
            Action::Close => app.overlay.is_some(),
            Action::Pause => app.in_progress(),
            _ => true,
        })
        .filter_map(|b| {
            let essential = matches!(
                b.action,
                Action::Help
                    | Action::Quit
                    | Action::Yes
                    | Action::No
                    | Action::Close
                    | Action::Interrupt
            );
            b.hint.map(|h| (h, essential))
        })
        .collect();
    let cost = |h: &str| h.chars().count() + 2;
    let essential_w: usize = live.iter().filter(|h| h.1).map(|h| cost(h.0)).sum();
    let mut room = (width as usize).saturating_sub(1 + essential_w);
    let mut spans = vec![Span::raw(" ")];
    for (hint, essential) in live {
        if !essential {
            if cost(hint) > room {
                continue;
            }
            room -= cost(hint);
        }
        let (key, word) = hint.split_once(' ').unwrap_or((hint, ""));
        spans.push(Span::styled(key.to_string(), theme.key()));
        spans.push(Span::styled(format!(" {word}  "), theme.dim()));
    }
    Line::from(spans)
}

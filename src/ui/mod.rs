//! The live dashboard `ebt-tui`: watch the early-bird search, answer the ticket offer, compare
//! the pruned ticket with the dense baseline and a random mask.
//!
//! Shape: one merged [`UiEvent`] channel (keys, trainer events, ticks, signals) feeds a pure
//! [`App`] state ([`App::update`] returns [`Effect`]s the loop carries out); the screen is a
//! pure function of the state ([`render()`]), one module per panel under `panels/`, laid out by
//! `layout.rs` (ASCII picture there). [`run_loop`] is generic over the backend so the whole
//! loop runs in tests on `TestBackend`; [`run_terminal`] adds the real terminal, its restore on
//! every exit path, and the input/trainer/signal threads.

mod app;
pub mod demo;
mod event;
mod export;
mod format;
mod keymap;
mod layout;
mod panels;
mod render;
mod runloop;
mod snapshots;
mod terminal;
mod theme;

#[cfg(test)]
mod snapshot_tests;

pub use app::{App, Effect};
pub use event::{Outcome, UiEvent};
pub use render::render;
pub use runloop::run_loop;
pub use terminal::{run_terminal, stdout_is_tty, DashboardOptions};
pub use theme::ColorMode;

/// The screen `app` would show on a `width`×`height` terminal, as text (one line per row,
/// trailing blanks trimmed): for README screenshots and snapshot tests. Colours are dropped;
/// use [`ColorMode::Mono`] for a picture that keeps the heatmap's shading.
pub fn text_capture(width: u16, height: u16, app: &App) -> String {
    let backend = ratatui::backend::TestBackend::new(width, height);
    // TestBackend cannot fail.
    let mut terminal = ratatui::Terminal::new(backend).expect("TestBackend never fails");
    terminal
        .draw(|f| render(f, app))
        .expect("TestBackend never fails");
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0usize;
        for x in 0..buf.area.width {
            let sym = buf[(x, y)].symbol();
            if skip > 0 {
                skip -= 1;
                continue;
            }
            line.push_str(sym);
            skip = unicode_width(sym).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Columns a cell symbol covers (wide glyphs hide the next cell).
fn unicode_width(s: &str) -> usize {
    ratatui::text::Span::raw(s).width()
}

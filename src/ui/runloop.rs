//! The dashboard loop, generic over the ratatui backend so tests drive it on `TestBackend` with a
//! scripted event channel. It blocks on the one merged channel, drains everything pending,
//! carries out the effects, and redraws only when the state changed — at most once per
//! [`MIN_FRAME`]. Commands go to the trainer with `try_send`: the UI never blocks on it.

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError};
use ratatui::backend::Backend;
use ratatui::Terminal;

use crate::engine::events::Command;
use crate::ui::app::{App, Effect, Level};
use crate::ui::event::{Outcome, UiEvent};
use crate::ui::export::write_export;
use crate::ui::render::render;

/// Shortest time between two frames (≤ 10 fps, as burn-train); bursts of events are drawn once.
pub(crate) const MIN_FRAME: Duration = Duration::from_millis(100);

/// Runs the dashboard until the state says to quit (or `events` closes) and returns why.
pub fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    events: Receiver<UiEvent>,
    commands: Sender<Command>,
    app: &mut App,
) -> color_eyre::Result<Outcome> {
    let size = terminal.size()?;
    app.update(UiEvent::Resize(size.width, size.height));
    let mut last_draw: Option<Instant> = None;
    loop {
        let since_draw = last_draw.map(|t| t.elapsed());
        if app.needs_redraw() && since_draw.is_none_or(|d| d >= MIN_FRAME) {
            terminal.draw(|f| render(f, app))?;
            app.mark_drawn();
            last_draw = Some(Instant::now());
        }
        // Wait for input; with a redraw pending, only until the next frame is due.
        let first = if app.needs_redraw() {
            let wait = MIN_FRAME.saturating_sub(last_draw.map_or(MIN_FRAME, |t| t.elapsed()));
            match events.recv_timeout(wait) {
                Ok(e) => Some(e),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return Ok(close(app, &commands)),
            }
        } else {
            match events.recv() {
                Ok(e) => Some(e),
                Err(_) => return Ok(close(app, &commands)),
            }
        };
        let Some(first) = first else { continue };
        apply(app, first, &commands);
        while app.outcome().is_none() {
            match events.try_recv() {
                Ok(e) => apply(app, e, &commands),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Ok(close(app, &commands)),
            }
        }
        if let Some(outcome) = app.outcome() {
            return Ok(outcome.clone());
        }
    }
}

/// One event through the state, then its effects.
fn apply(app: &mut App, event: UiEvent, commands: &Sender<Command>) {
    for effect in app.update(event) {
        perform(app, effect, commands);
    }
}

fn perform(app: &mut App, effect: Effect, commands: &Sender<Command>) {
    match effect {
        Effect::Command(cmd) => match commands.try_send(cmd) {
            // A trainer that is gone needs no commands.
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(cmd)) => {
                app.push_log(Level::Warn, format!("trainer busy; {cmd:?} was dropped"));
            }
        },
        Effect::Export => {
            let result = write_export(app).map_err(|e| e.to_string());
            app.exported(result);
        }
    }
}

/// The input channel closed: settle with the state (a running trainer is told to stop).
fn close(app: &mut App, commands: &Sender<Command>) -> Outcome {
    let (outcome, effects) = app.input_closed();
    for effect in effects {
        perform(app, effect, commands);
    }
    outcome
}

//! The one merged input of the dashboard: keys, mouse, resizes, trainer events, clock ticks and
//! signals all arrive as a [`UiEvent`] on a single channel, so the real terminal and the tests
//! drive the same loop.

use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent};

use crate::engine::events::TrainerEvent;

/// Everything that can change the dashboard's state.
// `Trainer` is a few hundred bytes (RunInfo inline) against ~30 for a key; boxing would cost an
// allocation per event to save memory on a channel that holds a handful of events.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum UiEvent {
    Key(KeyEvent),
    /// Only delivered when mouse capture is on (`DashboardOptions::mouse`).
    Mouse(MouseEvent),
    /// New terminal size (columns, rows).
    Resize(u16, u16),
    Trainer(TrainerEvent),
    /// The trainer's sender was dropped: no more events will come.
    TrainerClosed,
    /// Time since the dashboard started. Elapsed time and the bounded stop wait are measured
    /// with this clock, never with the wall clock, so state and screenshots are reproducible.
    Tick(Duration),
    /// SIGTERM, SIGHUP or SIGINT arrived (by name).
    Signal(&'static str),
}

/// Why the dashboard ended; the binary turns it into an exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The pipeline finished and the user closed the dashboard.
    Finished,
    /// The pipeline reported an error (the one-line message); the user closed the dashboard.
    Failed(String),
    /// The user asked to stop the run (`q`, then `y`); `Command::Stop` was sent and the trainer
    /// confirmed (`Done` or its channel closed) — or did not within the wait bound, then
    /// `acknowledged` is false.
    Stopped { acknowledged: bool },
    /// Ctrl-C (or the input ending) during a run: quit at once; `Command::Stop` was sent.
    /// Ctrl-C after the run ended gives `Finished` / `Failed` like `q`.
    Interrupted,
    /// A termination signal (by name); `Command::Stop` was sent if the run was still going.
    Terminated(&'static str),
}

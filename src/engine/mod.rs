//! The trainer thread: runs the pipeline `search → ticket → prune → retrain → baseline → control →
//! compare`, reports `TrainerEvent`s and obeys `Command`s. Knows nothing about terminals; the
//! dashboard and the headless printer consume the same stream.

pub mod build;
pub mod control;
pub mod events;
pub mod masks;
pub mod pipeline;
pub mod recorder;

use std::path::PathBuf;
use std::thread::JoinHandle;

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::config::ExperimentConfig;
use events::{Command, Phase, TrainerEvent};

/// How the pipeline is driven.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Ask the user to confirm the ticket (dashboard); otherwise take `ticket.ratio` automatically.
    pub interactive: bool,
    /// The run directory (created if missing).
    pub run_dir: PathBuf,
}

/// The running trainer thread and its two channels.
pub struct EngineHandle {
    pub events: Receiver<TrainerEvent>,
    pub commands: Sender<Command>,
    /// Joins to the process exit code: 0 done, 2 bad config or data, 130 stopped, 1 other failures.
    pub thread: JoinHandle<i32>,
}

/// Starts the pipeline on a background thread.
pub fn spawn(config: ExperimentConfig, options: EngineOptions) -> EngineHandle {
    let (ev_tx, ev_rx) = unbounded();
    let (cmd_tx, cmd_rx) = unbounded();
    let thread = std::thread::Builder::new()
        .name("ebt-trainer".into())
        .spawn(move || {
            let run_dir = options.run_dir.clone();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pipeline::run(&config, &options, &ev_tx, &cmd_rx)
            }));
            let code = match outcome {
                Ok(Ok(())) => 0,
                Ok(Err(crate::error::EbtError::Stopped)) => {
                    let _ = ev_tx.send(TrainerEvent::Phase(Phase::Stopped));
                    130
                }
                Ok(Err(e)) => {
                    let _ = ev_tx.send(TrainerEvent::Error(e.to_string()));
                    let _ = ev_tx.send(TrainerEvent::Phase(Phase::Failed));
                    e.exit_code()
                }
                Err(p) => {
                    let msg = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown panic".into());
                    let _ = ev_tx.send(TrainerEvent::Error(format!("internal error: {msg}")));
                    let _ = ev_tx.send(TrainerEvent::Phase(Phase::Failed));
                    1
                }
            };
            let _ = ev_tx.send(TrainerEvent::Done { run_dir });
            code
        })
        .unwrap_or_else(|e| panic!("cannot start the trainer thread: {e}"));
    EngineHandle {
        events: ev_rx,
        commands: cmd_tx,
        thread,
    }
}

//! The dashboard's state and the one function that changes it, [`App::update`]. It never touches
//! the terminal, the trainer or the file system: it returns [`Effect`]s (commands to send, an
//! export to write) and the run loop carries them out. So every key and event can be tested
//! without a terminal.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use crate::engine::events::{
    Command, Comparison, EpochMetrics, Phase, RunInfo, RunKind, TicketCandidate, TrainerEvent,
};
use crate::ui::event::{Outcome, UiEvent};
use crate::ui::keymap::{self, Action};
use crate::ui::layout::{Panel, Panels};
use crate::ui::snapshots::{same_ratio, DistanceKind, SnapshotHistory};
use crate::ui::theme::{ColorMode, Theme};

/// Epoch rows kept for the curves and the export (every run together); far above any real run.
pub(crate) const MAX_EPOCH_ROWS: usize = 4096;
/// Log lines kept (warnings, errors, notes).
pub(crate) const MAX_LOG_LINES: usize = 100;
/// How long `q` → `y` waits for the trainer to confirm the stop before quitting anyway.
pub(crate) const STOP_WAIT: Duration = Duration::from_secs(10);
/// The heatmap never zooms in below this many snapshots.
const MIN_ZOOM: usize = 3;

/// Something the run loop must do after an update.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send this to the trainer (without blocking).
    Command(Command),
    /// Write a CSV snapshot of the current state under the run directory.
    Export,
}

/// An open dialog or overlay; at most one at a time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Overlay {
    Help,
    /// "Take this ticket?" for the offered ticket.
    ConfirmTicket,
    /// "Stop training?" after `q` during a run.
    ConfirmQuit,
    /// `Command::Stop` was sent at `since` (dashboard clock); waiting for the trainer.
    Stopping {
        since: Duration,
    },
}

impl Overlay {
    /// Dialogs take y/n; the help overlay leaves the dashboard keys live.
    fn is_dialog(self) -> bool {
        !matches!(self, Overlay::Help)
    }
}

/// Where the ticket stands.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TicketState {
    /// The criterion has not held yet.
    None,
    /// The criterion held and the engine decides by itself (non-interactive), or an offer
    /// lapsed (the engine moved on).
    Candidate(TicketCandidate),
    /// The engine waits for the user's answer.
    Offered(TicketCandidate),
    /// The user answered `y`; waiting for `TicketConfirmed`.
    Accepted { ratio: f64 },
    /// The user answered `n`; the search goes on.
    Rejected { epoch: usize },
    Confirmed {
        ratio: f64,
        index: usize,
        epoch: usize,
        converged: bool,
    },
}

/// How bad a log line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LogLine {
    pub level: Level,
    pub text: String,
}

/// Latest within-epoch progress (coalesced: only the newest is kept).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Progress {
    pub run: RunKind,
    pub epoch: usize,
    pub step: usize,
    pub steps: usize,
}

/// Sizes of the pruned model.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PrunedSizes {
    pub params: usize,
    pub bytes: usize,
    pub heads: Vec<usize>,
    pub neurons: Vec<usize>,
}

/// How the heatmap is shown.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct HeatmapView {
    /// Show only the newest N snapshots; `None`: all of them.
    pub zoom: Option<usize>,
    /// Scale colours to the largest visible distance instead of 1.
    pub auto_contrast: bool,
    pub kind: DistanceKind,
}

/// Everything the dashboard shows; rendering is a pure function of it.
#[derive(Clone, Debug)]
pub struct App {
    pub(crate) theme: Theme,
    pub(crate) run_dir: PathBuf,
    pub(crate) info: Option<RunInfo>,
    /// Ratios of the run (from `RunInfo`, plus any a snapshot brings that it did not list).
    pub(crate) ratios: Vec<f64>,
    pub(crate) selected: usize,
    pub(crate) phase: Phase,
    pub(crate) progress: Option<Progress>,
    /// Every finished epoch of every run, in arrival order (bounded).
    pub(crate) metrics: VecDeque<EpochMetrics>,
    pub(crate) snapshots: SnapshotHistory,
    pub(crate) ticket: TicketState,
    /// Newest snapshot index at which the criterion held, per ratio (heatmap marker).
    pub(crate) criteria: Vec<(f64, usize)>,
    pub(crate) pruned: Option<PrunedSizes>,
    /// Retraining length fixed by `TicketConfirmed` (it depends on the ticket's epoch).
    pub(crate) retrain_epochs: Option<usize>,
    pub(crate) comparison: Option<Comparison>,
    pub(crate) log: VecDeque<LogLine>,
    /// The first error the trainer reported.
    pub(crate) failure: Option<String>,
    pub(crate) overlay: Option<Overlay>,
    pub(crate) focus: Panel,
    pub(crate) heatmap: HeatmapView,
    pub(crate) paused: bool,
    pub(crate) done: bool,
    pub(crate) trainer_closed: bool,
    stop_sent: bool,
    /// Dashboard clock (from `UiEvent::Tick`).
    pub(crate) clock: Duration,
    pub(crate) started_at: Option<Duration>,
    pub(crate) finished_at: Option<Duration>,
    /// Terminal size, for mouse hit-testing.
    pub(crate) size: (u16, u16),
    dirty: bool,
    outcome: Option<Outcome>,
}

impl App {
    /// A dashboard waiting for the trainer's `RunStarted`; `run_dir` is shown (and exported to)
    /// until the trainer names its own.
    pub fn new(run_dir: PathBuf, color: ColorMode) -> Self {
        Self {
            theme: Theme::new(color),
            run_dir,
            info: None,
            ratios: Vec::new(),
            selected: 0,
            phase: Phase::Loading,
            progress: None,
            metrics: VecDeque::new(),
            snapshots: SnapshotHistory::default(),
            ticket: TicketState::None,
            criteria: Vec::new(),
            pruned: None,
            retrain_epochs: None,
            comparison: None,
            log: VecDeque::new(),
            failure: None,
            overlay: None,
            focus: Panel::Heatmap,
            heatmap: HeatmapView {
                zoom: None,
                // On by default: at ratio p two masks differ in at most 2p of the units, so on a
                // fixed 0..1 scale most of the matrix would look uniformly cold.
                auto_contrast: true,
                kind: DistanceKind::Hamming,
            },
            paused: false,
            done: false,
            trainer_closed: false,
            stop_sent: false,
            clock: Duration::ZERO,
            started_at: None,
            finished_at: None,
            size: (0, 0),
            dirty: true,
            outcome: None,
        }
    }

    /// Set once the dashboard should close; the run loop returns it.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Whether something changed since the last [`App::mark_drawn`].
    pub(crate) fn needs_redraw(&self) -> bool {
        self.dirty
    }

    pub(crate) fn mark_drawn(&mut self) {
        self.dirty = false;
    }

    /// Applies one event and returns what the run loop must do.
    pub fn update(&mut self, event: UiEvent) -> Vec<Effect> {
        match event {
            UiEvent::Key(key) => {
                self.dirty = true;
                self.on_key(key)
            }
            UiEvent::Mouse(m) => self.on_mouse(m),
            UiEvent::Resize(w, h) => {
                self.size = (w, h);
                self.dirty = true;
                Vec::new()
            }
            UiEvent::Trainer(ev) => {
                // Per-step progress only moves the status bar: the once-a-second clock redraw
                // shows it, so training steps never drive the frame rate.
                if !matches!(ev, TrainerEvent::Progress { .. }) {
                    self.dirty = true;
                }
                self.on_trainer(ev);
                Vec::new()
            }
            UiEvent::TrainerClosed => {
                self.dirty = true;
                if self.in_progress() {
                    self.push_log(Level::Warn, "the trainer ended without finishing".into());
                }
                self.trainer_closed = true;
                self.end_run();
                Vec::new()
            }
            UiEvent::Tick(now) => {
                // Redraw once a second for the elapsed time; other changes mark dirty anyway.
                if now.as_secs() != self.clock.as_secs() && self.finished_at.is_none() {
                    self.dirty = true;
                }
                self.clock = now;
                if let Some(Overlay::Stopping { since }) = self.overlay {
                    if now.saturating_sub(since) >= STOP_WAIT {
                        self.outcome = Some(Outcome::Stopped {
                            acknowledged: false,
                        });
                    }
                }
                Vec::new()
            }
            UiEvent::Signal(name) => {
                let effects = self.stop_if_running();
                self.outcome = Some(Outcome::Terminated(name));
                effects
            }
        }
    }

    /// What the dashboard does when its input ends (the event channel closed): tell a running
    /// trainer to stop, since nobody will answer it any more.
    pub(crate) fn input_closed(&mut self) -> (Outcome, Vec<Effect>) {
        let effects = self.stop_if_running();
        let outcome = match self.outcome.take() {
            Some(o) => o,
            None if self.in_progress() => Outcome::Interrupted,
            None => self.final_outcome(),
        };
        (outcome, effects)
    }

    /// The run loop reports where the export went (or why it failed).
    pub(crate) fn exported(&mut self, result: Result<PathBuf, String>) {
        self.dirty = true;
        match result {
            Ok(path) => {
                self.push_log(Level::Info, format!("exported → {}", path.display()));
            }
            Err(e) => self.push_log(Level::Error, format!("export failed: {e}")),
        }
    }

    /// Whether the trainer may still be working (and would need `Command::Stop`).
    pub fn in_progress(&self) -> bool {
        !(self.done
            || self.trainer_closed
            || matches!(self.phase, Phase::Finished | Phase::Stopped | Phase::Failed))
    }

    pub(crate) fn selected_ratio(&self) -> Option<f64> {
        self.ratios.get(self.selected).copied()
    }

    /// Epochs to shift the retrained runs by on the charts: the ticket's epoch when they continue
    /// from it (`retrain.mode = "continue"`), else 0.
    pub(crate) fn retrain_offset(&self) -> usize {
        match (&self.ticket, &self.info) {
            (TicketState::Confirmed { epoch, .. }, Some(info)) if info.retrain_continues => *epoch,
            _ => 0,
        }
    }

    /// Snapshot index to mark on the heatmap of the selected ratio: the confirmed ticket when it
    /// is at this ratio, else the newest snapshot at which the criterion held for it.
    pub(crate) fn ticket_marker(&self) -> Option<usize> {
        let ratio = self.selected_ratio()?;
        if let TicketState::Confirmed {
            ratio: r, index, ..
        } = self.ticket
        {
            if same_ratio(r, ratio) {
                return Some(index);
            }
        }
        self.criteria
            .iter()
            .find(|(r, _)| same_ratio(*r, ratio))
            .map(|(_, i)| *i)
    }

    /// Time since `RunStarted`, frozen when the run ends.
    pub(crate) fn elapsed(&self) -> Option<Duration> {
        let start = self.started_at?;
        Some(self.finished_at.unwrap_or(self.clock).saturating_sub(start))
    }

    /// The run currently training: the newest progress, else the newest epoch.
    pub(crate) fn current_run(&self) -> Option<RunKind> {
        self.progress
            .map(|p| p.run)
            .or_else(|| self.metrics.back().map(|m| m.run))
    }

    /// Planned epochs of a run; the search's is an upper bound (it ends at the ticket).
    pub(crate) fn planned_epochs(&self, run: RunKind) -> Option<usize> {
        let info = self.info.as_ref()?;
        Some(match run {
            RunKind::Search => info.max_search_epochs,
            RunKind::Baseline => info.epochs,
            RunKind::Pruned | RunKind::Random => self.retrain_epochs.unwrap_or(info.retrain_epochs),
        })
    }

    /// Epochs of the current run done so far, with the running epoch's fraction.
    fn epochs_done(&self, run: RunKind) -> f64 {
        let finished = self
            .metrics
            .iter()
            .rev()
            .find(|m| m.run == run)
            .map_or(0, |m| m.epoch);
        match self.progress {
            Some(p) if p.run == run && p.epoch > finished && p.steps > 0 => {
                (p.epoch - 1) as f64 + p.step.min(p.steps) as f64 / p.steps as f64
            }
            _ => finished as f64,
        }
    }

    /// Time left in the current run from the mean of its last five epochs; `true` when it is an
    /// upper bound (the search may stop early at a ticket).
    pub(crate) fn eta(&self) -> Option<(Duration, bool)> {
        if !self.in_progress() {
            return None;
        }
        let run = self.current_run()?;
        let planned = self.planned_epochs(run)? as f64;
        let recent: Vec<f64> = self
            .metrics
            .iter()
            .rev()
            .filter(|m| m.run == run && m.seconds.is_finite() && m.seconds >= 0.0)
            .take(5)
            .map(|m| m.seconds)
            .collect();
        if recent.is_empty() {
            return None;
        }
        let mean = recent.iter().sum::<f64>() / recent.len() as f64;
        let left = (planned - self.epochs_done(run)).max(0.0) * mean;
        let left = Duration::try_from_secs_f64(left).ok()?;
        Some((left, run == RunKind::Search))
    }

    /// The panels that `Tab` visits (the comparison only once it exists).
    fn focus_order(&self) -> Vec<Panel> {
        let mut order = vec![
            Panel::Heatmap,
            Panel::Distance,
            Panel::Sparsity,
            Panel::Accuracy,
            Panel::Loss,
        ];
        if self.comparison.is_some() {
            order.push(Panel::Comparison);
        }
        order
    }

    pub(crate) fn panels(&self, area: Rect) -> Option<Panels> {
        let rows = self.comparison.as_ref().map_or(0, |c| c.rows.len());
        let layers = self.info.as_ref().map_or(0, |i| i.num_layers);
        Panels::compute(area, rows, layers)
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let dialog = self.overlay.is_some_and(Overlay::is_dialog);
        let Some(action) = keymap::lookup(&key, dialog) else {
            return Vec::new();
        };
        match action {
            Action::Interrupt => {
                let effects = self.stop_if_running();
                self.outcome = Some(if effects.is_empty() && !self.stop_sent {
                    self.final_outcome()
                } else {
                    Outcome::Interrupted
                });
                effects
            }
            Action::Close => {
                if !matches!(self.overlay, Some(Overlay::Stopping { .. })) {
                    self.overlay = None;
                }
                Vec::new()
            }
            Action::Yes => self.answer(true),
            Action::No => self.answer(false),
            Action::Quit => {
                if self.in_progress() {
                    self.overlay = Some(Overlay::ConfirmQuit);
                } else {
                    self.outcome = Some(self.final_outcome());
                }
                Vec::new()
            }
            Action::Help => {
                self.overlay = match self.overlay {
                    Some(Overlay::Help) => None,
                    _ => Some(Overlay::Help),
                };
                Vec::new()
            }
            Action::RatioPrev => self.select_ratio(self.selected.saturating_sub(1)),
            Action::RatioNext => self.select_ratio(self.selected + 1),
            Action::ReviewTicket => {
                if matches!(self.ticket, TicketState::Offered(_)) {
                    self.overlay = Some(Overlay::ConfirmTicket);
                }
                Vec::new()
            }
            Action::Pause => {
                if !self.in_progress() {
                    return Vec::new();
                }
                self.paused = !self.paused;
                let cmd = if self.paused {
                    Command::Pause
                } else {
                    Command::Resume
                };
                vec![Effect::Command(cmd)]
            }
            Action::Export => {
                if self.info.is_none() && self.snapshots.is_empty() && self.metrics.is_empty() {
                    self.push_log(Level::Info, "nothing to export yet".into());
                    Vec::new()
                } else {
                    vec![Effect::Export]
                }
            }
            Action::FocusNext => {
                let order = self.focus_order();
                let at = order.iter().position(|p| *p == self.focus).unwrap_or(0);
                self.focus = order[(at + 1) % order.len()];
                Vec::new()
            }
            Action::ZoomIn => {
                self.zoom(true);
                Vec::new()
            }
            Action::ZoomOut => {
                self.zoom(false);
                Vec::new()
            }
            Action::AutoContrast => {
                self.heatmap.auto_contrast = !self.heatmap.auto_contrast;
                Vec::new()
            }
            Action::DistanceKind => {
                self.heatmap.kind = match self.heatmap.kind {
                    DistanceKind::Hamming => DistanceKind::Pruned,
                    DistanceKind::Pruned => DistanceKind::Hamming,
                };
                Vec::new()
            }
        }
    }

    /// `y`/`n` in the open dialog.
    fn answer(&mut self, yes: bool) -> Vec<Effect> {
        match (self.overlay, yes) {
            (Some(Overlay::ConfirmTicket), true) => {
                self.overlay = None;
                let Some(ratio) = self.selected_ratio() else {
                    return Vec::new();
                };
                self.ticket = TicketState::Accepted { ratio };
                vec![Effect::Command(Command::ConfirmTicket { ratio })]
            }
            (Some(Overlay::ConfirmTicket), false) => {
                self.overlay = None;
                let epoch = match &self.ticket {
                    TicketState::Offered(c) => c.epoch,
                    _ => 0,
                };
                self.ticket = TicketState::Rejected { epoch };
                vec![Effect::Command(Command::RejectTicket)]
            }
            (Some(Overlay::ConfirmQuit), true) => {
                if !self.in_progress() {
                    self.outcome = Some(self.final_outcome());
                    return Vec::new();
                }
                self.overlay = Some(Overlay::Stopping { since: self.clock });
                self.stop_if_running()
            }
            (Some(Overlay::ConfirmQuit), false) => {
                self.overlay = None;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let Some(panels) = self.panels(area) else {
            return Vec::new();
        };
        let Some(panel) = panels.hit(m.column, m.row) else {
            return Vec::new();
        };
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = panel;
                self.dirty = true;
            }
            MouseEventKind::ScrollUp if panel == Panel::Heatmap => {
                self.zoom(true);
                self.dirty = true;
            }
            MouseEventKind::ScrollDown if panel == Panel::Heatmap => {
                self.zoom(false);
                self.dirty = true;
            }
            _ => {}
        }
        Vec::new()
    }

    fn select_ratio(&mut self, idx: usize) -> Vec<Effect> {
        if idx >= self.ratios.len() || idx == self.selected {
            return Vec::new();
        }
        self.selected = idx;
        vec![Effect::Command(Command::SelectRatio(self.ratios[idx]))]
    }

    /// `+` halves the number of snapshots shown (down to [`MIN_ZOOM`]); `-` doubles it back to
    /// all of them.
    fn zoom(&mut self, zoom_in: bool) {
        let total = self.snapshots.len();
        let shown = self.heatmap.zoom.unwrap_or(total).min(total);
        let next = if zoom_in {
            (shown / 2).max(MIN_ZOOM)
        } else {
            shown.saturating_mul(2)
        };
        self.heatmap.zoom = (next < total).then_some(next);
    }

    fn stop_if_running(&mut self) -> Vec<Effect> {
        if self.in_progress() && !self.stop_sent {
            self.stop_sent = true;
            vec![Effect::Command(Command::Stop)]
        } else {
            Vec::new()
        }
    }

    fn final_outcome(&self) -> Outcome {
        if let Some(e) = &self.failure {
            Outcome::Failed(e.clone())
        } else if self.phase == Phase::Stopped || self.stop_sent {
            Outcome::Stopped { acknowledged: true }
        } else {
            Outcome::Finished
        }
    }

    /// The trainer is gone or done: freeze the clock, drop dialogs that can no longer be
    /// answered, and finish a pending stop.
    fn end_run(&mut self) {
        if self.finished_at.is_none() {
            self.finished_at = Some(self.clock);
        }
        self.paused = false;
        match self.overlay {
            Some(Overlay::Stopping { .. }) => {
                self.outcome = Some(Outcome::Stopped { acknowledged: true });
            }
            Some(Overlay::ConfirmTicket) => self.overlay = None,
            _ => {}
        }
        if let TicketState::Offered(c) = &self.ticket {
            self.ticket = TicketState::Candidate(c.clone());
        }
    }

    pub(crate) fn push_log(&mut self, level: Level, text: String) {
        if self.log.len() == MAX_LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(LogLine { level, text });
    }

    fn ratio_index(&mut self, ratio: f64) -> usize {
        match self.ratios.iter().position(|r| same_ratio(*r, ratio)) {
            Some(i) => i,
            None => {
                self.ratios.push(ratio);
                self.ratios.len() - 1
            }
        }
    }

    fn on_trainer(&mut self, ev: TrainerEvent) {
        match ev {
            TrainerEvent::RunStarted(info) => {
                self.ratios = info.ratios.clone();
                self.selected = self
                    .ratios
                    .iter()
                    .position(|r| same_ratio(*r, info.default_ratio))
                    .unwrap_or(0);
                self.run_dir = info.run_dir.clone();
                self.started_at = Some(self.clock);
                self.info = Some(info);
            }
            TrainerEvent::Phase(phase) => {
                let left_offer =
                    self.phase == Phase::TicketOffered && phase != Phase::TicketOffered;
                self.phase = phase;
                if left_offer {
                    if let TicketState::Offered(c) = &self.ticket {
                        self.ticket = TicketState::Candidate(c.clone());
                    }
                    if self.overlay == Some(Overlay::ConfirmTicket) {
                        self.overlay = None;
                    }
                }
                if matches!(phase, Phase::Finished | Phase::Stopped | Phase::Failed) {
                    self.end_run();
                }
            }
            TrainerEvent::Progress {
                run,
                epoch,
                step,
                steps,
            } => {
                self.progress = Some(Progress {
                    run,
                    epoch,
                    step,
                    steps,
                });
            }
            TrainerEvent::Epoch(m) => {
                if self.metrics.len() == MAX_EPOCH_ROWS {
                    self.metrics.pop_front();
                }
                self.metrics.push_back(m);
            }
            TrainerEvent::Masks(snap) => {
                for r in &snap.ratios {
                    self.ratio_index(r.ratio);
                }
                if let Err(e) = self.snapshots.push(snap) {
                    self.push_log(Level::Warn, e);
                }
            }
            TrainerEvent::TicketCandidate(c) => {
                self.ratio_index(c.ratio);
                match self
                    .criteria
                    .iter_mut()
                    .find(|(r, _)| same_ratio(*r, c.ratio))
                {
                    Some(entry) => entry.1 = c.index,
                    None => self.criteria.push((c.ratio, c.index)),
                }
                if c.awaiting_answer {
                    self.ticket = TicketState::Offered(c);
                } else if !matches!(self.ticket, TicketState::Confirmed { .. }) {
                    self.ticket = TicketState::Candidate(c);
                }
            }
            TrainerEvent::TicketConfirmed {
                ratio,
                index,
                epoch,
                converged,
                retrain_epochs,
            } => {
                self.ratio_index(ratio);
                self.retrain_epochs = Some(retrain_epochs);
                self.ticket = TicketState::Confirmed {
                    ratio,
                    index,
                    epoch,
                    converged,
                };
                if self.overlay == Some(Overlay::ConfirmTicket) {
                    self.overlay = None;
                }
            }
            TrainerEvent::Pruned {
                params,
                bytes,
                heads,
                neurons,
            } => {
                self.pruned = Some(PrunedSizes {
                    params,
                    bytes,
                    heads,
                    neurons,
                });
            }
            TrainerEvent::Comparison(c) => self.comparison = Some(c),
            TrainerEvent::Note(n) => self.push_log(Level::Info, n),
            TrainerEvent::Warning(w) => self.push_log(Level::Warn, w),
            TrainerEvent::Error(e) => {
                self.push_log(Level::Error, e.clone());
                self.failure.get_or_insert(e);
                self.phase = Phase::Failed;
                self.end_run();
            }
            TrainerEvent::Done { run_dir } => {
                self.run_dir = run_dir;
                self.done = true;
                if !matches!(self.phase, Phase::Stopped | Phase::Failed) {
                    self.phase = Phase::Finished;
                }
                self.end_run();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::demo::DemoRun;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(code: KeyCode) -> UiEvent {
        UiEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ch(c: char) -> UiEvent {
        key(KeyCode::Char(c))
    }

    fn ctrl_c() -> UiEvent {
        UiEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
    }

    /// An app that has seen the demo search up to `epochs`.
    fn running(epochs: usize) -> App {
        let demo = DemoRun::standard();
        let mut app = App::new("runs/x".into(), ColorMode::Mono);
        for ev in demo.search_events(epochs) {
            assert!(app.update(ev).is_empty());
        }
        app
    }

    fn feed(app: &mut App, ev: TrainerEvent) -> Vec<Effect> {
        app.update(UiEvent::Trainer(ev))
    }

    #[test]
    fn run_started_selects_the_default_ratio() {
        let app = running(0);
        assert_eq!(app.ratios, vec![0.1, 0.3, 0.5]);
        assert_eq!(app.selected_ratio(), Some(0.3));
        assert_eq!(app.run_dir, PathBuf::from("runs/demo-vit-digits"));
        assert_eq!(app.phase, Phase::Searching);
    }

    #[test]
    fn masks_grow_the_matrix() {
        let mut app = running(3);
        assert_eq!(app.snapshots.len(), 3);
        let demo = DemoRun::standard();
        feed(&mut app, TrainerEvent::Masks(demo.mask_snapshot(3)));
        assert_eq!(app.snapshots.len(), 4);
        let rows: Vec<_> = app.snapshots.records().collect();
        let d = SnapshotHistory::distance(rows[3], rows[0], 0.3, DistanceKind::Hamming).unwrap();
        assert!((d - demo.hamming(3, 0, 0.3)).abs() < 1e-12, "{d}");
    }

    #[test]
    fn ratio_keys_send_select_ratio_and_clamp() {
        let mut app = running(1);
        assert_eq!(
            app.update(key(KeyCode::Right)),
            vec![Effect::Command(Command::SelectRatio(0.5))]
        );
        assert!(app.update(ch('l')).is_empty(), "already at the last ratio");
        assert_eq!(
            app.update(ch('h')),
            vec![Effect::Command(Command::SelectRatio(0.3))]
        );
        assert_eq!(
            app.update(key(KeyCode::Left)),
            vec![Effect::Command(Command::SelectRatio(0.1))]
        );
        assert!(app.update(key(KeyCode::Left)).is_empty());
    }

    #[test]
    fn ticket_offer_enter_yes_confirms_selected_ratio() {
        let demo = DemoRun::standard();
        let mut app = running(7);
        assert!(app.update(key(KeyCode::Enter)).is_empty());
        assert_eq!(app.overlay, None, "no offer yet: Enter does nothing");
        feed(
            &mut app,
            TrainerEvent::TicketCandidate(demo.ticket_offer(7)),
        );
        feed(&mut app, TrainerEvent::Phase(Phase::TicketOffered));
        assert!(matches!(app.ticket, TicketState::Offered(_)));
        assert_eq!(app.overlay, None, "an offer never pops up by itself");
        // The user looks at another ratio, then takes the ticket there.
        app.update(key(KeyCode::Right));
        app.update(key(KeyCode::Enter));
        assert_eq!(app.overlay, Some(Overlay::ConfirmTicket));
        assert!(app.update(ch('q')).is_empty(), "q is not live in a dialog");
        assert_eq!(
            app.update(ch('y')),
            vec![Effect::Command(Command::ConfirmTicket { ratio: 0.5 })]
        );
        assert_eq!(app.overlay, None);
        assert_eq!(app.ticket, TicketState::Accepted { ratio: 0.5 });
        feed(
            &mut app,
            TrainerEvent::TicketConfirmed {
                ratio: 0.5,
                index: 6,
                epoch: 7,
                converged: true,
                retrain_epochs: 9,
            },
        );
        assert_eq!(app.ticket_marker(), Some(6));
        assert_eq!(app.planned_epochs(RunKind::Pruned), Some(9));
    }

    #[test]
    fn ticket_offer_rejected_with_n() {
        let demo = DemoRun::standard();
        let mut app = running(7);
        feed(
            &mut app,
            TrainerEvent::TicketCandidate(demo.ticket_offer(7)),
        );
        app.update(key(KeyCode::Enter));
        assert_eq!(
            app.update(ch('n')),
            vec![Effect::Command(Command::RejectTicket)]
        );
        assert_eq!(app.ticket, TicketState::Rejected { epoch: 7 });
        // Esc keeps the offer for later.
        feed(
            &mut app,
            TrainerEvent::TicketCandidate(demo.ticket_offer(8)),
        );
        app.update(key(KeyCode::Enter));
        assert!(app.update(key(KeyCode::Esc)).is_empty());
        assert!(matches!(app.ticket, TicketState::Offered(_)));
    }

    #[test]
    fn offer_lapses_when_the_engine_moves_on() {
        let demo = DemoRun::standard();
        let mut app = running(7);
        feed(&mut app, TrainerEvent::Phase(Phase::TicketOffered));
        feed(
            &mut app,
            TrainerEvent::TicketCandidate(demo.ticket_offer(7)),
        );
        app.update(key(KeyCode::Enter));
        feed(&mut app, TrainerEvent::Phase(Phase::Searching));
        assert_eq!(app.overlay, None);
        assert!(matches!(app.ticket, TicketState::Candidate(_)));
    }

    #[test]
    fn q_during_a_run_asks_then_stops_and_waits() {
        let mut app = running(3);
        assert!(app.update(ch('q')).is_empty());
        assert_eq!(app.overlay, Some(Overlay::ConfirmQuit));
        assert!(app.update(ch('n')).is_empty());
        assert_eq!(app.overlay, None);
        assert_eq!(app.outcome(), None);

        app.update(ch('q'));
        app.update(UiEvent::Tick(Duration::from_secs(4)));
        assert_eq!(app.update(ch('y')), vec![Effect::Command(Command::Stop)]);
        assert!(matches!(app.overlay, Some(Overlay::Stopping { .. })));
        assert_eq!(app.outcome(), None, "waits for the trainer");
        app.update(UiEvent::Tick(Duration::from_secs(6)));
        assert_eq!(app.outcome(), None);
        feed(
            &mut app,
            TrainerEvent::Done {
                run_dir: "runs/x".into(),
            },
        );
        assert_eq!(
            app.outcome(),
            Some(&Outcome::Stopped { acknowledged: true })
        );
    }

    #[test]
    fn stop_wait_is_bounded() {
        let mut app = running(3);
        app.update(ch('q'));
        app.update(ch('y'));
        app.update(UiEvent::Tick(STOP_WAIT - Duration::from_millis(100)));
        assert_eq!(app.outcome(), None);
        app.update(UiEvent::Tick(STOP_WAIT));
        assert_eq!(
            app.outcome(),
            Some(&Outcome::Stopped {
                acknowledged: false
            })
        );
    }

    #[test]
    fn q_after_finished_quits_without_asking() {
        let demo = DemoRun::standard();
        let mut app = App::new("runs/x".into(), ColorMode::Mono);
        for ev in demo.pipeline_events() {
            app.update(ev);
        }
        assert_eq!(app.phase, Phase::Finished);
        assert!(!app.in_progress());
        assert!(app.update(ch('q')).is_empty());
        assert_eq!(app.outcome(), Some(&Outcome::Finished));
    }

    #[test]
    fn ctrl_c_inside_a_dialog_quits_and_stops() {
        let demo = DemoRun::standard();
        let mut app = running(7);
        feed(
            &mut app,
            TrainerEvent::TicketCandidate(demo.ticket_offer(7)),
        );
        app.update(key(KeyCode::Enter));
        assert_eq!(app.overlay, Some(Overlay::ConfirmTicket));
        assert_eq!(app.update(ctrl_c()), vec![Effect::Command(Command::Stop)]);
        assert_eq!(app.outcome(), Some(&Outcome::Interrupted));
    }

    #[test]
    fn ctrl_c_while_stopping_does_not_resend_stop() {
        let mut app = running(2);
        app.update(ch('q'));
        assert_eq!(app.update(ch('y')), vec![Effect::Command(Command::Stop)]);
        assert!(app.update(ctrl_c()).is_empty());
        assert_eq!(app.outcome(), Some(&Outcome::Interrupted));
    }

    #[test]
    fn signal_stops_a_running_trainer() {
        let mut app = running(2);
        assert_eq!(
            app.update(UiEvent::Signal("SIGTERM")),
            vec![Effect::Command(Command::Stop)]
        );
        assert_eq!(app.outcome(), Some(&Outcome::Terminated("SIGTERM")));
    }

    #[test]
    fn error_fails_the_run_and_q_reports_it() {
        let mut app = running(2);
        feed(
            &mut app,
            TrainerEvent::Error("data: digits.csv: bad row 3".into()),
        );
        assert_eq!(app.phase, Phase::Failed);
        app.update(ch('q'));
        assert_eq!(
            app.outcome(),
            Some(&Outcome::Failed("data: digits.csv: bad row 3".into()))
        );
    }

    #[test]
    fn pause_toggles_only_while_running() {
        let mut app = running(2);
        assert_eq!(app.update(ch('p')), vec![Effect::Command(Command::Pause)]);
        assert!(app.paused);
        assert_eq!(app.update(ch('p')), vec![Effect::Command(Command::Resume)]);
        app.update(UiEvent::TrainerClosed);
        assert_eq!(
            app.log.back().map(|l| l.text.as_str()),
            Some("the trainer ended without finishing")
        );
        assert!(app.update(ch('p')).is_empty());
    }

    #[test]
    fn progress_is_coalesced_and_memory_bounded() {
        let mut app = running(1);
        for step in 0..10_000 {
            feed(
                &mut app,
                TrainerEvent::Progress {
                    run: RunKind::Search,
                    epoch: 2,
                    step,
                    steps: 10_000,
                },
            );
        }
        assert_eq!(
            app.progress,
            Some(Progress {
                run: RunKind::Search,
                epoch: 2,
                step: 9_999,
                steps: 10_000
            })
        );
        let demo = DemoRun::standard();
        for e in 0..(MAX_EPOCH_ROWS + 50) {
            feed(
                &mut app,
                TrainerEvent::Epoch(demo.epoch_metrics(RunKind::Search, e + 1)),
            );
            feed(&mut app, TrainerEvent::Warning(format!("w{e}")));
        }
        assert_eq!(app.metrics.len(), MAX_EPOCH_ROWS);
        assert_eq!(app.log.len(), MAX_LOG_LINES);
        assert_eq!(app.log.back().map(|l| l.text.as_str()), Some("w4145"));
    }

    #[test]
    fn elapsed_and_eta_come_from_the_injected_clock() {
        let demo = DemoRun::standard();
        let mut app = App::new("runs/x".into(), ColorMode::Mono);
        app.update(UiEvent::Tick(Duration::from_secs(2)));
        for ev in demo.search_events(4) {
            app.update(ev);
        }
        app.update(UiEvent::Tick(Duration::from_secs(12)));
        // RunStarted came at t = 2 s.
        assert_eq!(app.elapsed(), Some(Duration::from_secs(10)));
        // Demo epochs take 2.5, 2.6, 2.7, 2.5 s (mean 2.575); 12 planned, 4 done, half of the
        // fifth: 7.5 epochs left.
        feed(
            &mut app,
            TrainerEvent::Progress {
                run: RunKind::Search,
                epoch: 5,
                step: 25,
                steps: 50,
            },
        );
        let (eta, upper) = app.eta().unwrap();
        assert!((eta.as_secs_f64() - 7.5 * 2.575).abs() < 1e-9, "{eta:?}");
        assert!(upper);
    }

    #[test]
    fn zoom_halves_down_to_three_and_back() {
        let mut app = running(12);
        app.update(ch('+'));
        assert_eq!(app.heatmap.zoom, Some(6));
        app.update(ch('+'));
        assert_eq!(app.heatmap.zoom, Some(3));
        app.update(ch('+'));
        assert_eq!(app.heatmap.zoom, Some(3));
        app.update(ch('-'));
        assert_eq!(app.heatmap.zoom, Some(6));
        app.update(ch('-'));
        assert_eq!(app.heatmap.zoom, None);
        assert!(app.heatmap.auto_contrast);
        app.update(ch('a'));
        app.update(ch('d'));
        assert!(!app.heatmap.auto_contrast);
        assert_eq!(app.heatmap.kind, DistanceKind::Pruned);
    }

    #[test]
    fn tab_cycles_focus_and_help_toggles() {
        let mut app = running(1);
        let mut seen = vec![app.focus];
        for _ in 0..5 {
            app.update(key(KeyCode::Tab));
            seen.push(app.focus);
        }
        assert_eq!(
            seen,
            vec![
                Panel::Heatmap,
                Panel::Distance,
                Panel::Sparsity,
                Panel::Accuracy,
                Panel::Loss,
                Panel::Heatmap
            ]
        );
        app.update(ch('?'));
        assert_eq!(app.overlay, Some(Overlay::Help));
        app.update(ch('?'));
        assert_eq!(app.overlay, None);
    }

    #[test]
    fn mouse_click_focuses_the_panel_under_it() {
        let mut app = running(1);
        app.update(UiEvent::Resize(80, 24));
        let click = |col, row| {
            UiEvent::Mouse(MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column: col,
                row,
                modifiers: KeyModifiers::NONE,
            })
        };
        app.update(click(60, 15));
        assert_eq!(app.focus, Panel::Loss);
        app.update(click(5, 3));
        assert_eq!(app.focus, Panel::Heatmap);
    }

    #[test]
    fn export_needs_data() {
        let mut app = App::new("runs/x".into(), ColorMode::Mono);
        assert!(app.update(ch('e')).is_empty());
        let mut app = running(1);
        assert_eq!(app.update(ch('e')), vec![Effect::Export]);
        app.exported(Ok("runs/demo-vit-digits/snapshot-1".into()));
        assert_eq!(
            app.log.back().map(|l| l.text.as_str()),
            Some("exported → runs/demo-vit-digits/snapshot-1")
        );
        app.exported(Err("runs/x: permission denied".into()));
        assert_eq!(app.log.back().map(|l| l.level), Some(Level::Error));
    }

    #[test]
    fn input_closed_mid_run_stops_the_trainer() {
        let mut app = running(1);
        let (outcome, effects) = app.input_closed();
        assert_eq!(outcome, Outcome::Interrupted);
        assert_eq!(effects, vec![Effect::Command(Command::Stop)]);
    }
}

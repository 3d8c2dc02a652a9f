//! The two message types between the trainer thread and whoever watches it (the dashboard or the
//! headless printer). The engine knows nothing about terminals; the UI knows nothing about candle.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which training run a metric belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// The dense model while masks are observed (with `search.apply = false` it is also the
    /// first part of the baseline).
    Search,
    /// The dense model trained to the full length.
    Baseline,
    /// The pruned ticket, retrained.
    Pruned,
    /// A random mask of the same ratio, retrained the same way (the control).
    Random,
}

impl RunKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            RunKind::Search => "search",
            RunKind::Baseline => "baseline",
            RunKind::Pruned => "pruned",
            RunKind::Random => "random",
        }
    }
}

/// Where the pipeline is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Loading,
    Searching,
    /// A ticket waits for the user's answer (interactive mode only).
    TicketOffered,
    Baseline,
    Pruning,
    Retraining,
    Control,
    Finished,
    Stopped,
    Failed,
}

impl Phase {
    pub fn label(&self) -> &'static str {
        match self {
            Phase::Loading => "loading",
            Phase::Searching => "searching",
            Phase::TicketOffered => "ticket offered",
            Phase::Baseline => "baseline",
            Phase::Pruning => "pruning",
            Phase::Retraining => "retraining",
            Phase::Control => "random control",
            Phase::Finished => "finished",
            Phase::Stopped => "stopped",
            Phase::Failed => "failed",
        }
    }
}

/// Sent once, when data and model are ready.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub model: String,
    pub dataset: String,
    pub num_classes: usize,
    pub train_examples: usize,
    pub test_examples: usize,
    pub ratios: Vec<f64>,
    /// Ratio the ticket is taken at unless the user picks another.
    pub default_ratio: f64,
    pub epsilon: f64,
    pub window: usize,
    /// unstructured | structured
    pub prune_kind: String,
    /// global | layer
    pub scope: String,
    pub params: usize,
    pub bytes: usize,
    /// Full length of the dense training.
    pub epochs: usize,
    pub max_search_epochs: usize,
    /// Retraining length if the ticket came at `max_search_epochs` (the exact length follows in
    /// `TicketConfirmed`).
    pub retrain_epochs: usize,
    pub steps_per_epoch: usize,
    /// `retrain.mode = "continue"`: the retrained runs go on from the ticket's epoch (charts draw
    /// them from there); false for `reinit`, which starts over at epoch 1.
    pub retrain_continues: bool,
    /// Number of blocks (rows of the sparsity panel).
    pub num_layers: usize,
    pub run_dir: PathBuf,
}

/// One finished epoch of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub run: RunKind,
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub eval_loss: f64,
    /// In [0, 1].
    pub eval_acc: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Wall time of the epoch (training + evaluation).
    pub seconds: f64,
}

/// Kept units of one block at one ratio.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerKept {
    pub layer: usize,
    /// Fraction of the block's prunable weights (unstructured) or units (structured) kept.
    pub kept_fraction: f64,
    /// Structured only: (kept, total) heads and neurons.
    pub heads: Option<(usize, usize)>,
    pub neurons: Option<(usize, usize)>,
}

/// The mask at one ratio at one snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatioSnapshot {
    pub ratio: f64,
    /// Normalised Hamming distance to every earlier snapshot, oldest first (length = index).
    pub distances: Vec<f64>,
    /// The same distances normalised by the pruned count, |A Δ B| / 2k.
    pub pruned_distances: Vec<f64>,
    /// Hamming distance to the first mask.
    pub distance_to_first: f64,
    pub layers: Vec<LayerKept>,
}

/// Masks of every ratio after one epoch (or every `search.every_steps` steps).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskSnapshot {
    /// 0-based snapshot index: row/column of the distance matrix.
    pub index: usize,
    /// Epoch the snapshot was taken in (1-based) and the global optimiser step.
    pub epoch: usize,
    pub step: usize,
    pub ratios: Vec<RatioSnapshot>,
}

/// The early-bird criterion holds for `ratio` at snapshot `index`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketCandidate {
    pub ratio: f64,
    pub index: usize,
    pub epoch: usize,
    /// Distances between the newest mask and each older mask in the window, oldest first.
    pub window_distances: Vec<f64>,
    /// Whether the engine waits for `Command::ConfirmTicket` / `RejectTicket` (interactive runs).
    pub awaiting_answer: bool,
}

/// One row of the final comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// baseline | pruned | random
    pub run: RunKind,
    pub accuracy: f64,
    pub params: usize,
    pub bytes: usize,
    /// Median training step time in milliseconds.
    pub step_ms: f64,
    /// Total wall time this row cost (EB row: search + prune + retrain).
    pub seconds: f64,
}

/// The final comparison of baseline, pruned ticket and random control.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub ticket_ratio: f64,
    pub ticket_epoch: usize,
    /// false when the search hit `search.max_epochs` without the criterion holding.
    pub converged: bool,
    pub rows: Vec<ComparisonRow>,
}

/// Everything the trainer thread reports. Per-epoch events are never dropped; per-batch
/// progress is coalesced by the receiver (only the latest matters).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TrainerEvent {
    RunStarted(RunInfo),
    Phase(Phase),
    /// Within-epoch progress of the current run.
    Progress {
        run: RunKind,
        epoch: usize,
        step: usize,
        steps: usize,
    },
    Epoch(EpochMetrics),
    Masks(MaskSnapshot),
    TicketCandidate(TicketCandidate),
    /// The ticket that will be pruned and retrained.
    TicketConfirmed {
        ratio: f64,
        index: usize,
        epoch: usize,
        converged: bool,
        /// Epochs the pruned model (and the control) will be retrained for.
        retrain_epochs: usize,
    },
    /// Sizes of the pruned model once surgery is done.
    Pruned {
        params: usize,
        bytes: usize,
        heads: Vec<usize>,
        neurons: Vec<usize>,
    },
    Comparison(Comparison),
    /// Something the user should know that is not a problem (a download under way).
    Note(String),
    Warning(String),
    /// The run failed; the message is one line.
    Error(String),
    Done {
        run_dir: PathBuf,
    },
}

/// What the user can ask of the trainer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Ratio the user is looking at; a ticket is offered for this ratio.
    SelectRatio(f64),
    /// Take the offered ticket (at this ratio).
    ConfirmTicket {
        ratio: f64,
    },
    /// Keep searching.
    RejectTicket,
    Pause,
    Resume,
    /// Finish cleanly as soon as possible (the current batch ends, files are flushed).
    Stop,
}

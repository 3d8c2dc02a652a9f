//! What a finished run leaves behind: `ticket.json`, `summary.json`, the pruned model, and the
//! comparison table the headless mode prints. Cost accounting lives here so it is written once.

use serde::Serialize;

use crate::config::ExperimentConfig;
use crate::data::Dataset;
use crate::engine::events::{Comparison, ComparisonRow, MaskSnapshot, RunKind};
use crate::error::EbtError;
use crate::models::{ArchConfig, ParamStore};
use crate::run_dir::{write_atomic, RunDir};

/// One row of `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct RowSummary {
    pub accuracy: f64,
    pub params: usize,
    pub bytes: usize,
    pub step_ms: f64,
    pub seconds: f64,
}

impl From<&ComparisonRow> for RowSummary {
    fn from(r: &ComparisonRow) -> Self {
        Self {
            accuracy: r.accuracy,
            params: r.params,
            bytes: r.bytes,
            step_ms: r.step_ms,
            seconds: r.seconds,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct TicketSummary {
    pub ratio: f64,
    /// Epoch (1-based) the ticket was drawn at.
    pub epoch: usize,
    pub converged: bool,
    pub epsilon: f64,
    pub window: usize,
    pub distance: String,
    /// First epoch at which the criterion held, per ratio (null: never within the search).
    pub first_epoch_per_ratio: Vec<(f64, Option<usize>)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CostSummary {
    /// Search (training + mask bookkeeping up to the ticket) + surgery + retraining.
    pub eb_seconds: f64,
    /// The dense baseline trained to `train.epochs`.
    pub dense_seconds: f64,
    /// dense_seconds / eb_seconds.
    pub speedup: f64,
    pub search_seconds: f64,
    pub mask_seconds: f64,
    pub prune_seconds: f64,
    pub search_epochs: usize,
    /// Wall time of the whole pipeline (baseline and control included).
    pub total_seconds: f64,
}

/// `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub model: String,
    pub dataset: String,
    pub prune_kind: String,
    pub scope: String,
    pub retrain_mode: String,
    pub ticket: TicketSummary,
    pub baseline: RowSummary,
    pub pruned: RowSummary,
    pub random: Option<RowSummary>,
    pub cost: CostSummary,
}

impl Summary {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: &ExperimentConfig,
        data: &Dataset,
        cmp: &Comparison,
        search_epochs: usize,
        search_seconds: f64,
        mask_seconds: f64,
        prune_seconds: f64,
        total_seconds: f64,
        first_tickets: &[(f64, Option<usize>)],
    ) -> Self {
        let row = |k: RunKind| cmp.rows.iter().find(|r| r.run == k).map(RowSummary::from);
        let zero = RowSummary {
            accuracy: 0.0,
            params: 0,
            bytes: 0,
            step_ms: 0.0,
            seconds: 0.0,
        };
        let baseline = row(RunKind::Baseline).unwrap_or(zero.clone());
        let pruned = row(RunKind::Pruned).unwrap_or(zero);
        Self {
            model: cfg.model.arch.clone(),
            dataset: data.name.clone(),
            prune_kind: cfg.prune.kind.clone(),
            scope: cfg.prune.scope.clone(),
            retrain_mode: cfg.retrain.mode.clone(),
            ticket: TicketSummary {
                ratio: cmp.ticket_ratio,
                epoch: cmp.ticket_epoch,
                converged: cmp.converged,
                epsilon: cfg.epsilon(),
                window: cfg.search.window,
                distance: cfg.search.distance.clone(),
                first_epoch_per_ratio: first_tickets.to_vec(),
            },
            cost: CostSummary {
                eb_seconds: pruned.seconds,
                dense_seconds: baseline.seconds,
                speedup: baseline.seconds / pruned.seconds.max(1e-9),
                search_seconds,
                mask_seconds,
                prune_seconds,
                search_epochs,
                total_seconds,
            },
            baseline,
            pruned,
            random: row(RunKind::Random),
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub fn write_summary(dir: &RunDir, s: &Summary) -> Result<(), EbtError> {
    write_atomic(&dir.summary(), to_json(s).as_bytes())
}

/// `ticket.json`: the drawn ticket, the window distances that admitted it, and for context the
/// distances of its snapshot at every ratio.
#[allow(clippy::too_many_arguments)]
pub fn write_ticket(
    dir: &RunDir,
    ratio: f64,
    index: usize,
    epoch: usize,
    converged: bool,
    window_distances: &[f64],
    first_tickets: &[(f64, Option<usize>)],
    snapshots: &[MaskSnapshot],
) -> Result<(), EbtError> {
    let snap = snapshots.iter().find(|s| s.index == index);
    let v = serde_json::json!({
        "ratio": ratio,
        "snapshot": index,
        "epoch": epoch,
        "converged": converged,
        "window_distances": window_distances,
        "first_epoch_per_ratio": first_tickets,
        "masks": snap.map(|s| &s.ratios),
    });
    write_atomic(&dir.ticket(), to_json(&v).as_bytes())
}

/// `pruned.safetensors` + `pruned_config.json`, reloadable with `load_pruned`. (An unstructured
/// ticket's zeros are in the weights themselves.)
pub fn save_pruned(dir: &RunDir, arch: &ArchConfig, store: &ParamStore) -> Result<(), EbtError> {
    let path = dir.pruned_weights();
    store
        .save_safetensors(&path)
        .map_err(|e| EbtError::io(&path, e))?;
    write_atomic(&dir.pruned_config(), to_json(arch).as_bytes())
}

/// Reads a pruned model back: its config and a parameter store holding its weights.
pub fn load_pruned(
    dir: &std::path::Path,
    device: &candle_core::Device,
) -> Result<(ArchConfig, ParamStore), EbtError> {
    let cfg_path = dir.join("pruned_config.json");
    let text = std::fs::read_to_string(&cfg_path).map_err(|e| EbtError::io(&cfg_path, e))?;
    let arch: ArchConfig = serde_json::from_str(&text)
        .map_err(|e| EbtError::data(format!("{}: {e}", cfg_path.display())))?;
    let w_path = dir.join("pruned.safetensors");
    let tensors =
        candle_core::safetensors::load(&w_path, device).map_err(|e| EbtError::io(&w_path, e))?;
    let store = ParamStore::from_tensors(tensors.into_iter().collect(), 0, device)?;
    Ok((arch, store))
}

/// The comparison as a fixed-width text table.
pub fn comparison_table(c: &Comparison) -> String {
    let base = c.rows.iter().find(|r| r.run == RunKind::Baseline);
    let mut s = format!(
        "ticket: p = {} at epoch {}{}\n",
        c.ticket_ratio,
        c.ticket_epoch,
        if c.converged {
            ""
        } else {
            " (search did not converge)"
        }
    );
    s.push_str(&format!(
        "{:<9} {:>9} {:>11} {:>7} {:>11} {:>9} {:>9} {:>9}\n",
        "run", "accuracy", "params", "×params", "bytes", "step ms", "×step", "cost s"
    ));
    for r in &c.rows {
        let (pp, st) = match base {
            Some(b) => (
                r.params as f64 / b.params.max(1) as f64,
                r.step_ms / b.step_ms.max(1e-9),
            ),
            None => (1.0, 1.0),
        };
        s.push_str(&format!(
            "{:<9} {:>8.2}% {:>11} {:>7.2} {:>11} {:>9.2} {:>9.2} {:>9.1}\n",
            r.run.as_str(),
            r.accuracy * 100.0,
            r.params,
            pp,
            r.bytes,
            r.step_ms,
            st,
            r.seconds
        ));
    }
    s
}

//! Sends events and keeps the run directory's CSV files current, so a run stopped at any point
//! leaves readable metrics, distances and sparsity behind.

use crossbeam_channel::Sender;

use super::events::{EpochMetrics, LayerKept, MaskSnapshot, TrainerEvent};
use crate::error::EbtError;
use crate::run_dir::{write_atomic, RunDir};

/// The run's event sender plus its growing tables.
pub struct Recorder {
    pub dir: RunDir,
    tx: Sender<TrainerEvent>,
    pub metrics: Vec<EpochMetrics>,
    pub snapshots: Vec<MaskSnapshot>,
}

impl Recorder {
    pub fn new(dir: RunDir, tx: Sender<TrainerEvent>) -> Self {
        Self {
            dir,
            tx,
            metrics: Vec::new(),
            snapshots: Vec::new(),
        }
    }

    /// Sends an event; a closed channel (the watcher is gone) is not an error for training.
    pub fn emit(&self, ev: TrainerEvent) {
        let _ = self.tx.send(ev);
    }

    pub fn warn(&self, msg: impl Into<String>) {
        self.emit(TrainerEvent::Warning(msg.into()));
    }

    /// Records one epoch and rewrites `metrics.csv`.
    pub fn epoch(&mut self, m: EpochMetrics) -> Result<(), EbtError> {
        self.metrics.push(m.clone());
        write_atomic(&self.dir.metrics(), metrics_csv(&self.metrics).as_bytes())?;
        self.emit(TrainerEvent::Epoch(m));
        Ok(())
    }

    /// Records one mask snapshot and rewrites `sparsity.csv`.
    pub fn masks(&mut self, snap: MaskSnapshot) -> Result<(), EbtError> {
        self.snapshots.push(snap.clone());
        write_atomic(
            &self.dir.sparsity(),
            sparsity_csv(&self.snapshots).as_bytes(),
        )?;
        self.emit(TrainerEvent::Masks(snap));
        Ok(())
    }
}

/// `phase,epoch,train_loss,eval_loss,eval_acc,lr,seconds`
pub fn metrics_csv<'a>(rows: impl IntoIterator<Item = &'a EpochMetrics>) -> String {
    let mut s = String::from("phase,epoch,train_loss,eval_loss,eval_acc,lr,seconds\n");
    for m in rows {
        s.push_str(&format!(
            "{},{},{:.6},{:.6},{:.6},{:.8},{:.3}\n",
            m.run.as_str(),
            m.epoch,
            m.train_loss,
            m.eval_loss,
            m.eval_acc,
            m.lr,
            m.seconds
        ));
    }
    s
}

/// `snapshot,epoch,step,ratio,layer,kept_fraction,heads_kept,heads_total,neurons_kept,neurons_total`
/// (the head/neuron columns are empty for unstructured masks).
pub fn sparsity_csv(snaps: &[MaskSnapshot]) -> String {
    let mut s = String::from(SPARSITY_HEADER);
    for snap in snaps {
        for r in &snap.ratios {
            for l in &r.layers {
                push_sparsity_row(&mut s, snap.index, snap.epoch, snap.step, r.ratio, l);
            }
        }
    }
    s
}

/// Header of `sparsity.csv` (the run directory's and the dashboard export's).
pub const SPARSITY_HEADER: &str =
    "snapshot,epoch,step,ratio,layer,kept_fraction,heads_kept,heads_total,neurons_kept,neurons_total\n";

/// One row of `sparsity.csv`: a block of one ratio's mask at one snapshot.
pub fn push_sparsity_row(
    out: &mut String,
    snapshot: usize,
    epoch: usize,
    step: usize,
    ratio: f64,
    l: &LayerKept,
) {
    let opt = |x: Option<(usize, usize)>| match x {
        Some((k, t)) => (k.to_string(), t.to_string()),
        None => (String::new(), String::new()),
    };
    let (hk, ht) = opt(l.heads);
    let (nk, nt) = opt(l.neurons);
    out.push_str(&format!(
        "{snapshot},{epoch},{step},{ratio},{},{:.6},{hk},{ht},{nk},{nt}\n",
        l.layer, l.kept_fraction
    ));
}

//! Sends events and keeps the run directory's CSV files current, so a run stopped at any point
//! leaves readable metrics, distances and sparsity behind.

use crossbeam_channel::Sender;

use super::events::{EpochMetrics, MaskSnapshot, TrainerEvent};
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
    let mut s = String::from(
        "snapshot,epoch,step,ratio,layer,kept_fraction,heads_kept,heads_total,neurons_kept,neurons_total\n",
    );
    let opt = |x: Option<(usize, usize)>| match x {
        Some((k, t)) => (k.to_string(), t.to_string()),
        None => (String::new(), String::new()),
    };
    for snap in snaps {
        for r in &snap.ratios {
            for l in &r.layers {
                let (hk, ht) = opt(l.heads);
                let (nk, nt) = opt(l.neurons);
                s.push_str(&format!(
                    "{},{},{},{},{},{:.6},{hk},{ht},{nk},{nt}\n",
                    snap.index, snap.epoch, snap.step, r.ratio, l.layer, l.kept_fraction
                ));
            }
        }
    }
    s
}

//! A fabricated but plausible run, as the trainer would report it: masks that settle (distances
//! shrink epoch by epoch), accuracy that rises, a ticket offered at epoch 7, then retraining and
//! the comparison. Tests script the dashboard with it, the README screenshot comes from it, and
//! it shows the dashboard without training anything. Every number is a closed-form function of
//! (run, epoch, ratio, layer), so the events are the same on every machine.

use std::path::PathBuf;

use crate::engine::events::{
    Comparison, ComparisonRow, EpochMetrics, LayerKept, MaskSnapshot, Phase, RatioSnapshot,
    RunInfo, RunKind, TicketCandidate, TrainerEvent,
};
use crate::ui::event::UiEvent;

/// The shape of the fabricated run.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoRun {
    /// Dense epochs (search + baseline).
    pub epochs: usize,
    pub ratios: Vec<f64>,
    pub layers: usize,
    /// Epoch at which the ticket is offered (and taken).
    pub ticket_epoch: usize,
    pub retrain_epochs: usize,
}

const STEPS_PER_EPOCH: usize = 45;
const PARAMS: usize = 215_370;
const HEADS: usize = 4;
const NEURONS: usize = 128;

impl DemoRun {
    /// 12 epochs, ratios 0.1 / 0.3 / 0.5, 4 blocks, ticket at epoch 7, 5 retraining epochs (the
    /// `continue` default: the pruned run ends where the dense one does).
    pub fn standard() -> Self {
        Self {
            epochs: 12,
            ratios: vec![0.1, 0.3, 0.5],
            layers: 4,
            ticket_epoch: 7,
            retrain_epochs: 5,
        }
    }

    pub fn run_info(&self) -> RunInfo {
        RunInfo {
            model: "vit-tiny".into(),
            dataset: "digits".into(),
            num_classes: 10,
            train_examples: 1437,
            test_examples: 360,
            ratios: self.ratios.clone(),
            default_ratio: self
                .ratios
                .get(1)
                .or(self.ratios.first())
                .copied()
                .unwrap_or(0.3),
            epsilon: 0.1,
            window: 3,
            prune_kind: "structured".into(),
            scope: "global".into(),
            params: PARAMS,
            bytes: PARAMS * 4,
            epochs: self.epochs,
            max_search_epochs: self.epochs,
            retrain_epochs: self.retrain_epochs,
            steps_per_epoch: STEPS_PER_EPOCH,
            retrain_continues: true,
            num_layers: self.layers,
            run_dir: PathBuf::from("runs/demo-vit-digits"),
        }
    }

    /// Where the mask at `ratio` stands at snapshot `index`, from 0 (first mask) towards 1 (the
    /// mask it settles on); larger ratios settle sooner.
    fn settle(index: usize, ratio: f64) -> f64 {
        let tau = 2.0 + 4.0 * (0.5 - ratio).max(0.0);
        1.0 - (-(index as f64) / tau).exp()
    }

    /// Pruned-normalised distance between snapshots `i` and `j` at `ratio`.
    pub fn pruned_distance(&self, i: usize, j: usize, ratio: f64) -> f64 {
        0.9 * (Self::settle(i, ratio) - Self::settle(j, ratio)).abs()
    }

    /// Normalised Hamming distance: at most 2p of the units can differ at ratio p.
    pub fn hamming(&self, i: usize, j: usize, ratio: f64) -> f64 {
        (2.0 * ratio).min(1.0) * self.pruned_distance(i, j, ratio)
    }

    /// Kept fraction of block `layer` at snapshot `index`: uniform at first, later the first
    /// blocks keep more than the last ones.
    fn kept(&self, layer: usize, index: usize, ratio: f64) -> f64 {
        let spread = if self.layers > 1 {
            0.4 - 0.8 * layer as f64 / (self.layers - 1) as f64
        } else {
            0.0
        };
        let weight = 1.0 - spread * Self::settle(index, ratio);
        (1.0 - ratio * weight).clamp(0.0, 1.0)
    }

    fn layers_at(&self, index: usize, ratio: f64) -> Vec<LayerKept> {
        (0..self.layers)
            .map(|l| {
                let kept = self.kept(l, index, ratio);
                let count = |total: usize| ((total as f64 * kept).round() as usize, total);
                LayerKept {
                    layer: l,
                    kept_fraction: kept,
                    heads: Some(count(HEADS)),
                    neurons: Some(count(NEURONS)),
                }
            })
            .collect()
    }

    /// The masks after epoch `index + 1`.
    pub fn mask_snapshot(&self, index: usize) -> MaskSnapshot {
        MaskSnapshot {
            index,
            epoch: index + 1,
            step: (index + 1) * STEPS_PER_EPOCH,
            ratios: self
                .ratios
                .iter()
                .map(|&p| RatioSnapshot {
                    ratio: p,
                    distances: (0..index).map(|j| self.hamming(index, j, p)).collect(),
                    pruned_distances: (0..index)
                        .map(|j| self.pruned_distance(index, j, p))
                        .collect(),
                    distance_to_first: self.hamming(index, 0, p),
                    layers: self.layers_at(index, p),
                })
                .collect(),
        }
    }

    /// Metrics of epoch `epoch` (1-based) of `run`.
    pub fn epoch_metrics(&self, run: RunKind, epoch: usize) -> EpochMetrics {
        let e = epoch as f64;
        let (acc, loss, seconds) = match run {
            RunKind::Search | RunKind::Baseline => (
                0.55 + 0.4 * (1.0 - (-e / 3.0).exp()),
                0.2 + 2.1 * (-e / 3.0).exp(),
                2.5 + 0.1 * ((epoch.max(1) - 1) % 3) as f64,
            ),
            RunKind::Pruned => (
                0.5 + 0.43 * (1.0 - (-e / 2.0).exp()),
                0.25 + 1.9 * (-e / 2.0).exp(),
                1.6,
            ),
            RunKind::Random => (
                0.3 + 0.45 * (1.0 - (-e / 2.5).exp()),
                0.6 + 1.7 * (-e / 2.5).exp(),
                1.6,
            ),
        };
        let total = match run {
            RunKind::Search | RunKind::Baseline => self.epochs,
            RunKind::Pruned | RunKind::Random => self.retrain_epochs,
        }
        .max(1) as f64;
        EpochMetrics {
            run,
            epoch,
            train_loss: 0.9 * loss,
            eval_loss: loss,
            eval_acc: acc,
            lr: 1e-3 * 0.5 * (1.0 + (std::f64::consts::PI * e / total).cos()),
            seconds,
        }
    }

    /// The ticket at the default ratio, offered after epoch `epoch` (window of 3 masks).
    pub fn ticket_offer(&self, epoch: usize) -> TicketCandidate {
        let ratio = self.run_info().default_ratio;
        let index = epoch.saturating_sub(1);
        TicketCandidate {
            ratio,
            index,
            epoch,
            window_distances: (index.saturating_sub(2)..index)
                .map(|j| self.hamming(index, j, ratio))
                .collect(),
            awaiting_answer: true,
        }
    }

    /// `RunStarted`, then `epochs` search epochs, each with progress, metrics and masks.
    pub fn search_events(&self, epochs: usize) -> Vec<UiEvent> {
        let mut out = vec![
            TrainerEvent::RunStarted(self.run_info()),
            TrainerEvent::Phase(Phase::Searching),
        ];
        for e in 1..=epochs {
            out.push(TrainerEvent::Progress {
                run: RunKind::Search,
                epoch: e,
                step: STEPS_PER_EPOCH,
                steps: STEPS_PER_EPOCH,
            });
            out.push(TrainerEvent::Epoch(self.epoch_metrics(RunKind::Search, e)));
            out.push(TrainerEvent::Masks(self.mask_snapshot(e - 1)));
        }
        out.into_iter().map(UiEvent::Trainer).collect()
    }

    /// Epochs `from..=to` of `run` with a progress event before each.
    fn run_epochs(&self, run: RunKind, from: usize, to: usize) -> Vec<TrainerEvent> {
        (from..=to)
            .flat_map(|e| {
                [
                    TrainerEvent::Progress {
                        run,
                        epoch: e,
                        step: STEPS_PER_EPOCH,
                        steps: STEPS_PER_EPOCH,
                    },
                    TrainerEvent::Epoch(self.epoch_metrics(run, e)),
                ]
            })
            .collect()
    }

    /// The whole pipeline: search to the ticket (offered and confirmed), the rest of the
    /// dense baseline, pruning, retraining, the random control, the comparison, `Done`.
    pub fn pipeline_events(&self) -> Vec<UiEvent> {
        let mut out = self.search_events(self.ticket_epoch);
        let offer = self.ticket_offer(self.ticket_epoch);
        let (ratio, index) = (offer.ratio, offer.index);
        let mut rest = vec![
            TrainerEvent::TicketCandidate(offer),
            TrainerEvent::Phase(Phase::TicketOffered),
            TrainerEvent::TicketConfirmed {
                ratio,
                index,
                epoch: self.ticket_epoch,
                converged: true,
                retrain_epochs: self.retrain_epochs,
            },
            TrainerEvent::Phase(Phase::Baseline),
        ];
        rest.extend(self.run_epochs(RunKind::Baseline, self.ticket_epoch + 1, self.epochs));
        rest.push(TrainerEvent::Phase(Phase::Pruning));
        let layers = self.layers_at(index, ratio);
        rest.push(TrainerEvent::Pruned {
            params: self.pruned_params(ratio),
            bytes: self.pruned_params(ratio) * 4,
            heads: layers.iter().filter_map(|l| l.heads.map(|h| h.0)).collect(),
            neurons: layers
                .iter()
                .filter_map(|l| l.neurons.map(|n| n.0))
                .collect(),
        });
        rest.push(TrainerEvent::Phase(Phase::Retraining));
        rest.extend(self.run_epochs(RunKind::Pruned, 1, self.retrain_epochs));
        rest.push(TrainerEvent::Phase(Phase::Control));
        rest.extend(self.run_epochs(RunKind::Random, 1, self.retrain_epochs));
        rest.push(TrainerEvent::Comparison(self.comparison()));
        rest.push(TrainerEvent::Phase(Phase::Finished));
        rest.push(TrainerEvent::Done {
            run_dir: self.run_info().run_dir,
        });
        out.extend(rest.into_iter().map(UiEvent::Trainer));
        out
    }

    /// Prunable weights scale with the kept fraction; embeddings and head (a third) do not.
    fn pruned_params(&self, ratio: f64) -> usize {
        (PARAMS as f64 * (1.0 / 3.0 + 2.0 / 3.0 * (1.0 - ratio))).round() as usize
    }

    /// Baseline vs the early-bird ticket vs a random mask of the same ratio.
    pub fn comparison(&self) -> Comparison {
        let ratio = self.run_info().default_ratio;
        let secs =
            |run, n: usize| -> f64 { (1..=n).map(|e| self.epoch_metrics(run, e).seconds).sum() };
        let acc = |run, n| self.epoch_metrics(run, n).eval_acc;
        let pruned = self.pruned_params(ratio);
        let retrain = secs(RunKind::Pruned, self.retrain_epochs);
        let row = |run, accuracy, params: usize, step_ms, seconds| ComparisonRow {
            run,
            accuracy,
            params,
            bytes: params * 4,
            step_ms,
            seconds,
        };
        Comparison {
            ticket_ratio: ratio,
            ticket_epoch: self.ticket_epoch,
            converged: true,
            rows: vec![
                row(
                    RunKind::Baseline,
                    acc(RunKind::Baseline, self.epochs),
                    PARAMS,
                    48.0,
                    secs(RunKind::Baseline, self.epochs),
                ),
                row(
                    RunKind::Pruned,
                    acc(RunKind::Pruned, self.retrain_epochs),
                    pruned,
                    31.5,
                    secs(RunKind::Search, self.ticket_epoch) + retrain,
                ),
                row(
                    RunKind::Random,
                    acc(RunKind::Random, self.retrain_epochs),
                    pruned,
                    31.2,
                    retrain,
                ),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_shrink_and_respect_the_2p_bound() {
        let d = DemoRun::standard();
        for &p in &d.ratios {
            let consecutive: Vec<f64> = (1..12).map(|i| d.hamming(i, i - 1, p)).collect();
            assert!(
                consecutive.windows(2).all(|w| w[1] < w[0]),
                "{consecutive:?}"
            );
            assert!((0..12).all(|i| d.hamming(i, 0, p) <= 2.0 * p));
        }
        assert!((d.hamming(1, 0, 0.3) - 0.6 * 0.9 * (1.0 - (-1.0f64 / 2.8).exp())).abs() < 1e-12);
    }

    #[test]
    fn snapshot_rows_have_one_distance_per_earlier_snapshot() {
        let s = DemoRun::standard().mask_snapshot(5);
        assert_eq!(s.ratios.len(), 3);
        assert!(s
            .ratios
            .iter()
            .all(|r| r.distances.len() == 5 && r.layers.len() == 4));
        assert_eq!(s.ratios[1].layers[0].heads, Some((3, 4)));
    }

    #[test]
    fn pipeline_ends_with_done() {
        let ev = DemoRun::standard().pipeline_events();
        assert_eq!(ev.len(), 2 + 7 * 3 + 4 + 5 * 2 + 3 + 5 * 2 + 1 + 5 * 2 + 3);
        assert!(matches!(
            ev.last(),
            Some(UiEvent::Trainer(TrainerEvent::Done { .. }))
        ));
    }
}

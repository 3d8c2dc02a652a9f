//! One training epoch and one evaluation pass. Pruning hooks in from outside through the
//! optimizer's masks and the per-step callback (progress, pause, stop, step-wise mask snapshots).

use std::time::Instant;

use candle_core::{DType, Device, Result, D};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{AdamW, Schedule};
use crate::data::{DataShape, Examples};
use crate::models::Classifier;

/// What the per-step callback decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepControl {
    Continue,
    /// End the epoch now (the user stopped the run).
    Stop,
}

/// Summary of one epoch of training.
#[derive(Clone, Debug, Default)]
pub struct EpochStats {
    /// Mean training loss over the steps run.
    pub loss: f64,
    /// Wall time of each optimiser step (forward + backward + update), in milliseconds.
    pub step_ms: Vec<f64>,
    pub lr: f64,
    /// True when the callback stopped the epoch early.
    pub stopped: bool,
    /// Wall time of the part, filled in by the caller.
    pub seconds: f64,
}

impl EpochStats {
    /// Folds the stats of a later part of the same epoch into these.
    pub fn absorb(&mut self, later: EpochStats) {
        let (a, b) = (self.step_ms.len() as f64, later.step_ms.len() as f64);
        if a + b > 0.0 {
            self.loss = (self.loss * a + later.loss * b) / (a + b);
        }
        self.step_ms.extend(later.step_ms);
        self.lr = later.lr;
        self.stopped |= later.stopped;
        self.seconds += later.seconds;
    }
}

/// Trains `model` on the batches `batches` (0-based indices into this epoch's order; `0..usize::MAX`
/// for the whole pass) of `data` in a shuffled order seeded by `shuffle_seed`. The order depends
/// only on the seed, so an epoch split into ranges sees the same batches as one run whole.
/// `global_step` counts optimiser steps across epochs (it drives the schedule).
#[allow(clippy::too_many_arguments)]
pub fn train_epoch(
    model: &dyn Classifier,
    opt: &mut AdamW,
    schedule: &Schedule,
    global_step: &mut usize,
    data: &Examples,
    shape: &DataShape,
    batch_size: usize,
    shuffle_seed: u64,
    batches: std::ops::Range<usize>,
    device: &Device,
    on_step: &mut dyn FnMut(usize, usize, usize) -> Result<StepControl>,
) -> Result<EpochStats> {
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(shuffle_seed));
    let steps = order.len().div_ceil(batch_size);
    let mut stats = EpochStats::default();
    let mut loss_sum = 0.0;
    let take = batches.end.saturating_sub(batches.start);
    for (i, idx) in order
        .chunks(batch_size)
        .enumerate()
        .skip(batches.start)
        .take(take)
    {
        let t0 = Instant::now();
        let batch = data.batch(idx, shape, device)?;
        let logits = model.forward(&batch.input, true)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &batch.labels)?;
        let grads = loss.backward()?;
        let lr = schedule.lr(*global_step);
        opt.step(&grads, lr)?;
        let l = loss.to_scalar::<f32>()? as f64;
        if !l.is_finite() {
            candle_core::bail!(
                "training diverged: loss is {l} at step {} (try a lower train.lr)",
                *global_step + 1
            );
        }
        loss_sum += l;
        *global_step += 1;
        stats.lr = lr;
        stats.step_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        if on_step(i + 1, steps, *global_step)? == StepControl::Stop {
            stats.stopped = true;
            break;
        }
    }
    stats.loss = loss_sum / stats.step_ms.len().max(1) as f64;
    Ok(stats)
}

/// Mean loss and accuracy of `model` (built from the detached eval builder) on `data`.
pub fn evaluate(
    model: &dyn Classifier,
    data: &Examples,
    shape: &DataShape,
    batch_size: usize,
    device: &Device,
) -> Result<(f64, f64)> {
    let mut loss_sum = 0.0;
    let mut correct = 0usize;
    let order: Vec<usize> = (0..data.len()).collect();
    for idx in order.chunks(batch_size.max(1)) {
        let batch = data.batch(idx, shape, device)?;
        let logits = model.forward(&batch.input, false)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &batch.labels)?;
        loss_sum += loss.to_scalar::<f32>()? as f64 * idx.len() as f64;
        let pred = logits.argmax(D::Minus1)?;
        correct += pred
            .eq(&batch.labels)?
            .to_dtype(DType::U32)?
            .sum_all()?
            .to_scalar::<u32>()? as usize;
    }
    let n = data.len().max(1) as f64;
    Ok((loss_sum / n, correct as f64 / n))
}

/// Median of a list of step times (0 when empty).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

//! AdamW written here rather than taken from candle-nn: candle's decays every tensor (biases and
//! norms included), has no gradient clipping, keeps its moments private and orders parameters by
//! a `HashMap`. Here decay applies to weight matrices only, moments are ours to mask, and the order
//! is the `ParamStore`'s (sorted by name), so a run is reproducible.

use std::collections::BTreeMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

struct Slot {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
    decay: bool,
}

/// AdamW (Loshchilov & Hutter) with global-norm clipping and optional fixed masks.
pub struct AdamW {
    slots: Vec<Slot>,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    grad_clip: f64,
    step: usize,
    /// Entries kept at zero (unstructured ticket or a structured soft mask): gradients are
    /// masked before the moments see them and the weights are re-masked after the step.
    masks: BTreeMap<String, Tensor>,
}

impl AdamW {
    /// `vars` sorted by name (as `ParamStore::vars` returns them).
    pub fn new(vars: Vec<(String, Var)>, weight_decay: f64, grad_clip: f64) -> Result<Self> {
        let slots = vars
            .into_iter()
            .map(|(name, var)| {
                let z = var.as_tensor().zeros_like()?.detach();
                Ok(Slot {
                    decay: var.rank() >= 2,
                    m: z.clone(),
                    v: z,
                    name,
                    var,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            slots,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            grad_clip,
            step: 0,
            masks: BTreeMap::new(),
        })
    }

    /// Fixes masks (name → 0/1 tensor broadcastable to the parameter) and zeroes the masked
    /// weights now.
    pub fn set_masks(&mut self, masks: BTreeMap<String, Tensor>) -> Result<()> {
        self.masks = masks;
        self.apply_masks()
    }

    fn apply_masks(&self) -> Result<()> {
        for s in &self.slots {
            if let Some(m) = self.masks.get(&s.name) {
                s.var.set(&s.var.as_detached_tensor().broadcast_mul(m)?)?;
            }
        }
        Ok(())
    }

    /// One update at learning rate `lr`; returns the gradient norm before clipping.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<f64> {
        self.step += 1;
        let mut gs: Vec<Option<Tensor>> = Vec::with_capacity(self.slots.len());
        let mut sq = 0f64;
        for s in &self.slots {
            let g = match grads.get(s.var.as_tensor()) {
                Some(g) => {
                    let g = match self.masks.get(&s.name) {
                        Some(m) => g.broadcast_mul(m)?,
                        None => g.clone(),
                    };
                    sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
                    Some(g)
                }
                None => None,
            };
            gs.push(g);
        }
        let norm = sq.sqrt();
        let scale = if self.grad_clip > 0.0 && norm > self.grad_clip {
            self.grad_clip / (norm + 1e-6)
        } else {
            1.0
        };
        let bc1 = 1.0 - self.beta1.powi(self.step as i32);
        let bc2 = 1.0 - self.beta2.powi(self.step as i32);
        for (s, g) in self.slots.iter_mut().zip(gs) {
            let Some(g) = g else { continue };
            let g = if scale != 1.0 { (g * scale)? } else { g };
            s.m = ((&s.m * self.beta1)? + (&g * (1.0 - self.beta1))?)?;
            s.v = ((&s.v * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
            let mhat = (&s.m / bc1)?;
            let vhat = (&s.v / bc2)?;
            let theta = s.var.as_detached_tensor();
            let decayed = if s.decay && self.weight_decay > 0.0 {
                (&theta * (1.0 - lr * self.weight_decay))?
            } else {
                theta
            };
            let update = (mhat / (vhat.sqrt()? + self.eps)?)?;
            s.var.set(&(decayed - (update * lr)?)?)?;
        }
        if !self.masks.is_empty() {
            self.apply_masks()?;
        }
        Ok(norm)
    }
}

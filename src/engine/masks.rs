//! The engine's view of pruning: from the current weights to one mask per ratio, and from a mask
//! to a prunable model (cut out for structured masks, fixed zeros for unstructured ones). All the
//! selection logic lives in `prune`; this file only wires it to the config.

use std::collections::BTreeMap;

use candle_core::Tensor;

use crate::config::ExperimentConfig;
use crate::error::EbtError;
use crate::models::{ArchConfig, ModelStructure, ParamStore, UnitKind};
use crate::prune::apply;
use crate::prune::layout::MaskLayout;
use crate::prune::mask::Mask;
use crate::prune::score;
use crate::prune::select::{self, Scope};
use crate::prune::surgery;

/// Makes masks of one model at the configured kind, scope and ratios.
pub struct MaskMaker {
    structured: bool,
    scope: Scope,
    ratios: Vec<f64>,
    structure: ModelStructure,
    layout: MaskLayout,
}

impl MaskMaker {
    pub fn new(
        cfg: &ExperimentConfig,
        arch: &ArchConfig,
        store: &ParamStore,
    ) -> Result<Self, EbtError> {
        let structure = arch.structure();
        let structured = cfg.prune.kind == "structured";
        let layout = if structured {
            MaskLayout::structured(&structure)
        } else {
            let shapes: BTreeMap<String, Vec<usize>> = store
                .vars()
                .into_iter()
                .map(|(n, v)| (n, v.dims().to_vec()))
                .collect();
            MaskLayout::unstructured(&structure, |n| shapes.get(n).cloned())?
        };
        Ok(Self {
            structured,
            scope: if cfg.prune.scope == "layer" {
                Scope::Layer
            } else {
                Scope::Global
            },
            ratios: cfg.search.ratios.clone(),
            structure,
            layout,
        })
    }

    pub fn layout(&self) -> &MaskLayout {
        &self.layout
    }

    pub fn num_layers(&self) -> usize {
        self.structure.num_layers
    }

    /// At least one head and one neuron per block survive structured pruning.
    fn min_keep(&self) -> usize {
        usize::from(self.structured)
    }

    /// One magnitude mask per ratio of the current weights.
    pub fn masks(&self, weights: &BTreeMap<String, Tensor>) -> Result<Vec<(f64, Mask)>, EbtError> {
        let scores = score::magnitude_scores(&self.layout, &self.structure, weights)?;
        self.ratios
            .iter()
            .map(|&r| {
                Ok((
                    r,
                    select::select(&self.layout, &scores, r, self.scope, self.min_keep())?,
                ))
            })
            .collect()
    }

    /// A seeded random mask with the same counts as a magnitude mask at `ratio` (the control).
    pub fn random_mask(&self, ratio: f64, seed: u64) -> Result<Mask, EbtError> {
        Ok(select::random_mask(
            &self.layout,
            ratio,
            self.scope,
            self.min_keep(),
            seed,
        )?)
    }

    /// Element masks that keep a mask's zeros fixed during training.
    pub fn element_masks(
        &self,
        mask: &Mask,
        weights: &BTreeMap<String, Tensor>,
    ) -> Result<BTreeMap<String, Tensor>, EbtError> {
        let device = weights
            .values()
            .next()
            .map(|t| t.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        Ok(apply::element_masks(
            mask,
            &self.layout,
            &self.structure,
            |n| weights.get(n).map(|t| t.dims().to_vec()),
            &device,
        )?)
    }

    /// The model of `mask`: (config, tensors, fixed masks). Structured: the smaller config and its
    /// sliced tensors; unstructured: the same config, the masked tensors and their element masks.
    #[allow(clippy::type_complexity)]
    pub fn cut(
        &self,
        arch: &ArchConfig,
        weights: &BTreeMap<String, Tensor>,
        mask: &Mask,
    ) -> Result<
        (
            ArchConfig,
            BTreeMap<String, Tensor>,
            Option<BTreeMap<String, Tensor>>,
        ),
        EbtError,
    > {
        if self.structured {
            let plan = apply::structure_plan(mask, &self.layout, &self.structure)?;
            let (a, t) = surgery::shrink(arch, weights, &plan)?;
            Ok((a, t, None))
        } else {
            let em = self.element_masks(mask, weights)?;
            let mut t = weights.clone();
            for (name, m) in &em {
                if let Some(w) = t.get(name) {
                    let z = w.broadcast_mul(m)?;
                    t.insert(name.clone(), z);
                }
            }
            Ok((arch.clone(), t, Some(em)))
        }
    }

    /// Per-block head and neuron counts of a model.
    pub fn unit_counts(&self, arch: &ArchConfig) -> (Vec<usize>, Vec<usize>) {
        let s = arch.structure();
        let mut heads = vec![0; s.num_layers];
        let mut neurons = vec![0; s.num_layers];
        for g in &s.groups {
            match g.kind {
                UnitKind::Head => heads[g.layer] = g.count,
                UnitKind::Neuron => neurons[g.layer] = g.count,
            }
        }
        (heads, neurons)
    }

    /// Parameters that are not pruned: all of a structurally cut model; for an unstructured
    /// mask, the stored count less the masked weights (they still take memory in dense storage).
    pub fn effective_params(&self, store: &ParamStore, mask: &Mask) -> usize {
        if self.structured {
            store.num_params()
        } else {
            store.num_params() - mask.count_pruned()
        }
    }
}

//! Structured surgery: remove the pruned heads and FFN neurons from the weights and shrink the
//! config to match, so memory and time really drop. Written once over `ModelStructure`, so it is
//! the same code for all four families (GPT-2's fused `c_attn` is just three slices on one axis).
//!
//! `zero_units` is the masked-dense twin used to check surgery (same logits, ≤ 1e-4) and to apply a
//! structured mask while searching.

use std::collections::BTreeMap;

use candle_core::{Result, Tensor};

use crate::models::{ArchConfig, ModelStructure, UnitKind, UnitSlice};

/// Which units survive: `kept[g]` lists, ascending, the kept unit indices of `structure.groups[g]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructurePlan {
    pub kept: Vec<Vec<usize>>,
}

impl StructurePlan {
    /// Keeps every unit.
    pub fn keep_all(structure: &ModelStructure) -> Self {
        Self {
            kept: structure
                .groups
                .iter()
                .map(|g| (0..g.count).collect())
                .collect(),
        }
    }

    /// Checks the plan against the structure: one entry per group, indices ascending, in range,
    /// and at least one unit kept per group.
    pub fn validate(&self, structure: &ModelStructure) -> Result<()> {
        if self.kept.len() != structure.groups.len() {
            candle_core::bail!(
                "plan has {} groups, the model {}",
                self.kept.len(),
                structure.groups.len()
            );
        }
        for (g, (kept, group)) in self.kept.iter().zip(&structure.groups).enumerate() {
            if kept.is_empty() {
                candle_core::bail!("plan group {g} (layer {}) keeps no unit", group.layer);
            }
            if kept.windows(2).any(|w| w[0] >= w[1]) || kept.iter().any(|&u| u >= group.count) {
                candle_core::bail!(
                    "plan group {g}: kept units {kept:?} not ascending in 0..{}",
                    group.count
                );
            }
        }
        Ok(())
    }

    /// Per-layer head and neuron counts after the plan (for `ArchSpec::with_units`).
    pub fn unit_counts(&self, structure: &ModelStructure) -> (Vec<usize>, Vec<usize>) {
        let mut heads = vec![0; structure.num_layers];
        let mut neurons = vec![0; structure.num_layers];
        for (kept, group) in self.kept.iter().zip(&structure.groups) {
            match group.kind {
                UnitKind::Head => heads[group.layer] = kept.len(),
                UnitKind::Neuron => neurons[group.layer] = kept.len(),
            }
        }
        (heads, neurons)
    }
}

/// For every (tensor, axis) touched by a unit, the keep flag of each index along that axis.
/// Indices not covered by any slice are kept.
pub fn axis_keep_flags(
    structure: &ModelStructure,
    plan: &StructurePlan,
    dims_of: impl Fn(&str) -> Option<Vec<usize>>,
) -> Result<BTreeMap<(String, usize), Vec<bool>>> {
    plan.validate(structure)?;
    let mut flags: BTreeMap<(String, usize), Vec<bool>> = BTreeMap::new();
    for (kept, group) in plan.kept.iter().zip(&structure.groups) {
        for s in &group.slices {
            let dims = dims_of(&s.tensor).ok_or_else(|| {
                candle_core::Error::Msg(format!("structure names a missing tensor {}", s.tensor))
            })?;
            let dim = *dims.get(s.axis).ok_or_else(|| {
                candle_core::Error::Msg(format!(
                    "{}: no axis {} in shape {dims:?}",
                    s.tensor, s.axis
                ))
            })?;
            check_slice(s, group.count, dim)?;
            let f = flags
                .entry((s.tensor.clone(), s.axis))
                .or_insert_with(|| vec![true; dim]);
            let mut keep_unit = vec![false; group.count];
            for &u in kept {
                keep_unit[u] = true;
            }
            for (u, &k) in keep_unit.iter().enumerate() {
                if !k {
                    let start = s.offset + u * s.unit_len;
                    f[start..start + s.unit_len]
                        .iter_mut()
                        .for_each(|x| *x = false);
                }
            }
        }
    }
    Ok(flags)
}

fn check_slice(s: &UnitSlice, count: usize, dim: usize) -> Result<()> {
    if s.unit_len == 0 || s.offset + count * s.unit_len > dim {
        candle_core::bail!(
            "{}: slice offset {} + {count} units x {} exceeds axis {} of size {dim}",
            s.tensor,
            s.offset,
            s.unit_len,
            s.axis
        );
    }
    Ok(())
}

/// The masked-dense model: the same tensors with the pruned units' slices set to zero.
pub fn zero_units(
    structure: &ModelStructure,
    tensors: &BTreeMap<String, Tensor>,
    plan: &StructurePlan,
) -> Result<BTreeMap<String, Tensor>> {
    let flags = axis_keep_flags(structure, plan, |n| {
        tensors.get(n).map(|t| t.dims().to_vec())
    })?;
    let mut out = tensors.clone();
    for ((name, axis), keep) in flags {
        let t = &out[&name];
        let mut shape = vec![1usize; t.rank()];
        shape[axis] = keep.len();
        let m: Vec<f32> = keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
        let m = Tensor::from_vec(m, shape, t.device())?.to_dtype(t.dtype())?;
        let z = t.broadcast_mul(&m)?;
        out.insert(name, z);
    }
    Ok(out)
}

/// Physically removes the pruned units: returns the smaller config and its tensors (same names,
/// dtype and device). The caller rebuilds the model and a fresh optimizer from them.
pub fn shrink(
    arch: &ArchConfig,
    tensors: &BTreeMap<String, Tensor>,
    plan: &StructurePlan,
) -> Result<(ArchConfig, BTreeMap<String, Tensor>)> {
    let structure = arch.structure();
    let flags = axis_keep_flags(&structure, plan, |n| {
        tensors.get(n).map(|t| t.dims().to_vec())
    })?;
    let mut out = tensors.clone();
    for ((name, axis), keep) in flags {
        let t = &out[&name];
        let idx: Vec<u32> = keep
            .iter()
            .enumerate()
            .filter(|(_, &k)| k)
            .map(|(i, _)| i as u32)
            .collect();
        let idx = Tensor::from_vec(idx.clone(), idx.len(), t.device())?;
        let s = t.index_select(&idx, axis)?.contiguous()?;
        out.insert(name, s);
    }
    let (heads, neurons) = plan.unit_counts(&structure);
    Ok((arch.with_units(&heads, &neurons), out))
}

//! From a selected `Mask` to what the rest of the program consumes: per-tensor element masks for
//! masked training, the `StructurePlan` for surgery, and the per-block kept fractions the
//! dashboard's sparsity panel draws.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use super::layout::{MaskLayout, Units};
use super::mask::Mask;
use super::surgery::{axis_keep_flags, StructurePlan};
use super::{PruneError, Result};
use crate::engine::events::LayerKept;
use crate::models::{ModelStructure, UnitKind};

/// One f32 tensor per masked weight, 1 = keep, 0 = prune, with the **full shape** of the weight
/// it masks (for both kinds), so applying a mask is `w.mul(&m)` for the weight and for its
/// gradient, and a mask that does not fit its tensor fails on the shape check instead of
/// broadcasting silently.
///
/// Unstructured: one entry per weight segment. Structured: every tensor a pruned unit touches
/// (weights, biases, position tables), built from `surgery::axis_keep_flags`; tensors absent
/// from the map are not masked. `shapes_of` gives a tensor's shape by name.
pub fn element_masks(
    mask: &Mask,
    layout: &MaskLayout,
    structure: &ModelStructure,
    shapes_of: impl Fn(&str) -> Option<Vec<usize>>,
    device: &Device,
) -> Result<BTreeMap<String, Tensor>> {
    layout.check_mask(mask)?;
    // Flat keep flags per tensor, multiplied over every axis that carries unit flags.
    let mut flat: BTreeMap<String, (Vec<usize>, Vec<f32>)> = BTreeMap::new();
    for seg in &layout.segments {
        if let Units::Weight { tensor, shape } = &seg.what {
            let keep = (seg.start..seg.start + seg.len)
                .map(|i| if mask.get(i) { 1.0 } else { 0.0 })
                .collect();
            flat.insert(tensor.clone(), (shape.clone(), keep));
        }
    }
    let has_units = layout
        .segments
        .iter()
        .any(|s| !matches!(s.what, Units::Weight { .. }));
    if has_units {
        let plan = structure_plan(mask, layout, structure)?;
        for ((name, axis), keep) in axis_keep_flags(structure, &plan, &shapes_of)? {
            // axis_keep_flags resolved this name through shapes_of, so it has a shape.
            let shape = shapes_of(&name).ok_or_else(|| PruneError::MissingTensor(name.clone()))?;
            let entry = flat.entry(name).or_insert_with(|| {
                let n = shape.iter().product();
                (shape.clone(), vec![1.0; n])
            });
            let inner: usize = shape[axis + 1..].iter().product();
            // Row-major (outer, dim, inner): chunk c lies at index c % dim along the axis.
            for (c, chunk) in entry.1.chunks_mut(inner.max(1)).enumerate() {
                if !keep[c % keep.len()] {
                    chunk.iter_mut().for_each(|x| *x = 0.0);
                }
            }
        }
    }
    flat.into_iter()
        .map(|(name, (shape, keep))| Ok((name, Tensor::from_vec(keep, shape, device)?)))
        .collect()
}

/// The kept heads and neurons of every group, for `surgery::shrink` / `zero_units`. The layout
/// must be the structured layout of `structure` (one segment per group, counts equal).
pub fn structure_plan(
    mask: &Mask,
    layout: &MaskLayout,
    structure: &ModelStructure,
) -> Result<StructurePlan> {
    layout.check_mask(mask)?;
    let mut kept: Vec<Option<Vec<usize>>> = vec![None; structure.groups.len()];
    for seg in &layout.segments {
        let (group, kind) = match seg.what {
            Units::Heads { group } => (group, UnitKind::Head),
            Units::Neurons { group } => (group, UnitKind::Neuron),
            Units::Weight { ref tensor, .. } => {
                return Err(PruneError::Invalid(format!(
                    "a structure plan needs a structured mask; segment of weight {tensor} found"
                )))
            }
        };
        let g = structure.groups.get(group).ok_or_else(|| {
            PruneError::Invalid(format!(
                "layout names unit group {group}; the structure has {}",
                structure.groups.len()
            ))
        })?;
        if g.kind != kind || g.layer != seg.layer || g.count != seg.len {
            return Err(PruneError::Invalid(format!(
                "layout segment for group {group} ({kind:?}, layer {}, {} units) does not match \
                 the structure ({:?}, layer {}, {} units)",
                seg.layer, seg.len, g.kind, g.layer, g.count
            )));
        }
        let units = (0..seg.len).filter(|&u| mask.get(seg.start + u)).collect();
        if kept[group].replace(units).is_some() {
            return Err(PruneError::Invalid(format!(
                "layout has two segments for unit group {group}"
            )));
        }
    }
    let kept = kept
        .into_iter()
        .enumerate()
        .map(|(g, k)| {
            k.ok_or_else(|| {
                PruneError::Invalid(format!("layout has no segment for unit group {g}"))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let plan = StructurePlan { kept };
    plan.validate(structure)?;
    Ok(plan)
}

/// Kept fraction of every block `0..num_layers`: of its prunable weights (unstructured) or of
/// its heads and neurons together (structured, with both counts). A block without segments
/// reports 1.0.
pub fn layer_kept(mask: &Mask, layout: &MaskLayout, num_layers: usize) -> Result<Vec<LayerKept>> {
    layout.check_mask(mask)?;
    let mut rows: Vec<LayerKept> = (0..num_layers)
        .map(|layer| LayerKept {
            layer,
            kept_fraction: 1.0,
            heads: None,
            neurons: None,
        })
        .collect();
    let mut totals = vec![(0usize, 0usize); num_layers]; // (kept, total) per block
    for seg in &layout.segments {
        let row = rows.get_mut(seg.layer).ok_or_else(|| {
            PruneError::Invalid(format!(
                "layout segment in block {} but the model has {num_layers} blocks",
                seg.layer
            ))
        })?;
        let kept = mask.count_kept_in(seg.start, seg.len)?;
        let add = |slot: &mut Option<(usize, usize)>| {
            let (k, t) = slot.unwrap_or((0, 0));
            *slot = Some((k + kept, t + seg.len));
        };
        match seg.what {
            Units::Heads { .. } => add(&mut row.heads),
            Units::Neurons { .. } => add(&mut row.neurons),
            Units::Weight { .. } => {}
        }
        totals[seg.layer].0 += kept;
        totals[seg.layer].1 += seg.len;
    }
    for (row, (kept, total)) in rows.iter_mut().zip(totals) {
        if total > 0 {
            row.kept_fraction = kept as f64 / total as f64;
        }
    }
    Ok(rows)
}

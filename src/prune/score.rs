//! Magnitude importance scores, one `Vec<f32>` per layout segment: |w| per element for weight
//! segments (the paper's unstructured pruning), the L1 norm of each head's or neuron's scored
//! slices for unit segments (q/k/v rows plus output columns; fc1 row plus fc2 column).
//!
//! Every tensor is copied to the host once (`to_vec1`) and reduced with plain loops: a tensor op
//! per element or per unit would cost far more than the training step it follows.

use std::collections::BTreeMap;

use candle_core::{DType, Tensor};

use super::layout::{MaskLayout, Units};
use super::{PruneError, Result};
use crate::models::ModelStructure;

/// Scores of every segment of `layout`, from the model's current tensors. `structure` is the
/// one the layout was built from (unit segments read its slices).
pub fn magnitude_scores(
    layout: &MaskLayout,
    structure: &ModelStructure,
    tensors: &BTreeMap<String, Tensor>,
) -> Result<Vec<Vec<f32>>> {
    // L1 norm of every index along one axis of one tensor, shared by all slices on that axis
    // (GPT-2's fused c_attn has q, k and v on the same axis).
    let mut axis_l1: BTreeMap<(&str, usize), Vec<f64>> = BTreeMap::new();
    let mut out = Vec::with_capacity(layout.segments.len());
    for seg in &layout.segments {
        let scores = match &seg.what {
            Units::Weight { tensor, shape } => {
                let t = lookup(tensors, tensor)?;
                if t.dims() != shape.as_slice() {
                    return Err(PruneError::Invalid(format!(
                        "{tensor}: layout expects shape {shape:?}, the model has {:?}",
                        t.dims()
                    )));
                }
                let mut v = host_values(t)?;
                v.iter_mut().for_each(|x| *x = x.abs());
                v
            }
            Units::Heads { group } | Units::Neurons { group } => {
                let g = structure.groups.get(*group).ok_or_else(|| {
                    PruneError::Invalid(format!(
                        "layout names unit group {group}; the structure has {}",
                        structure.groups.len()
                    ))
                })?;
                if g.count != seg.len {
                    return Err(PruneError::LengthMismatch {
                        what: format!("unit group {group} (layer {})", g.layer),
                        expected: seg.len,
                        found: g.count,
                    });
                }
                let mut sums = vec![0f64; g.count];
                for s in g.slices.iter().filter(|s| s.scored) {
                    let key = (s.tensor.as_str(), s.axis);
                    if let std::collections::btree_map::Entry::Vacant(e) = axis_l1.entry(key) {
                        e.insert(l1_along_axis(lookup(tensors, &s.tensor)?, s.axis)?);
                    }
                    let l1 = &axis_l1[&key];
                    let end = s.offset + g.count * s.unit_len;
                    if s.unit_len == 0 || end > l1.len() {
                        return Err(PruneError::Invalid(format!(
                            "{}: slice offset {} + {} units x {} exceeds axis {} of size {}",
                            s.tensor,
                            s.offset,
                            g.count,
                            s.unit_len,
                            s.axis,
                            l1.len()
                        )));
                    }
                    for (u, sum) in sums.iter_mut().enumerate() {
                        let from = s.offset + u * s.unit_len;
                        *sum += l1[from..from + s.unit_len].iter().sum::<f64>();
                    }
                }
                sums.into_iter().map(|x| x as f32).collect()
            }
        };
        out.push(scores);
    }
    Ok(out)
}

fn lookup<'a>(tensors: &'a BTreeMap<String, Tensor>, name: &str) -> Result<&'a Tensor> {
    tensors
        .get(name)
        .ok_or_else(|| PruneError::MissingTensor(name.to_string()))
}

/// All elements of `t` as f32, row-major.
fn host_values(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

/// Sum of |x| over every axis but `axis`: one value per index along `axis`. Accumulated in f64
/// so that a wide row does not lose the small differences the ranking depends on.
fn l1_along_axis(t: &Tensor, axis: usize) -> Result<Vec<f64>> {
    let dims = t.dims();
    let dim = *dims.get(axis).ok_or_else(|| {
        PruneError::Invalid(format!("tensor of shape {dims:?} has no axis {axis}"))
    })?;
    let inner: usize = dims[axis + 1..].iter().product();
    let values = host_values(t)?;
    let mut l1 = vec![0f64; dim];
    // Row-major (outer, dim, inner): each chunk of `inner` values belongs to one index.
    for (c, chunk) in values.chunks(inner.max(1)).enumerate() {
        l1[c % dim] += chunk.iter().map(|x| x.abs() as f64).sum::<f64>();
    }
    Ok(l1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{UnitGroup, UnitKind, UnitSlice};
    use candle_core::Device;

    #[test]
    fn l1_along_each_axis_of_a_3d_tensor() {
        let v: Vec<f32> = (0..24)
            .map(|i| if i % 2 == 0 { i as f32 } else { -(i as f32) })
            .collect();
        let t = Tensor::from_vec(v, (2, 3, 4), &Device::Cpu).unwrap();
        // axis 1, index j: sum over o, k of |o*12 + j*4 + k|
        let expected: Vec<f64> = (0..3)
            .map(|j| {
                (0..2)
                    .flat_map(|o| (0..4).map(move |k| (o * 12 + j * 4 + k) as f64))
                    .sum()
            })
            .collect();
        assert_eq!(l1_along_axis(&t, 1).unwrap(), expected);
        // axis 2, index k: 6k + (0 + 12) * 3 + (0 + 4 + 8) * 2
        assert_eq!(l1_along_axis(&t, 2).unwrap(), vec![60.0, 66.0, 72.0, 78.0]);
        assert!(l1_along_axis(&t, 3).is_err());
    }

    /// GPT-2 style: q, k, v of 2 heads (size 1) fused on axis 1 of one [2, 6] tensor.
    #[test]
    fn fused_slices_on_one_axis_add_up() {
        let w: Vec<f32> = (1..=12).map(|x| x as f32).collect();
        let t = Tensor::from_vec(w, (2, 6), &Device::Cpu).unwrap();
        let slice = |offset| UnitSlice {
            tensor: "c_attn".into(),
            axis: 1,
            offset,
            unit_len: 1,
            scored: true,
        };
        let structure = ModelStructure {
            prunable_weights: vec![],
            groups: vec![UnitGroup {
                kind: UnitKind::Head,
                layer: 0,
                count: 2,
                slices: vec![slice(0), slice(2), slice(4)],
            }],
            num_layers: 1,
        };
        let layout = MaskLayout::structured(&structure);
        let tensors = BTreeMap::from([("c_attn".to_string(), t)]);
        let s = magnitude_scores(&layout, &structure, &tensors).unwrap();
        // column c sums to (c+1) + (c+7); head 0 has columns 0, 2, 4; head 1 has 1, 3, 5.
        assert_eq!(s, vec![vec![8.0 + 12.0 + 16.0, 10.0 + 14.0 + 18.0]]);
    }
}

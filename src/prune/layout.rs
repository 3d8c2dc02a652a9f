//! `MaskLayout`: how the flat bit positions of a `Mask` map onto a model. A mask is one long
//! vector (as in You et al. 2020); the layout cuts it into segments, one per prunable weight
//! (unstructured) or per head/neuron group (structured), and says which segments are ranked
//! together (`pool`): heads are never compared with neurons, whose magnitudes live on another
//! scale.

use serde::{Deserialize, Serialize};

use super::{PruneError, Result};
use crate::models::{ModelStructure, UnitKind};

/// What the units of one segment are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    /// Every element of one weight tensor, row-major.
    Weight { tensor: String, shape: Vec<usize> },
    /// The heads of `structure.groups[group]`.
    Heads { group: usize },
    /// The FFN neurons of `structure.groups[group]`.
    Neurons { group: usize },
}

/// A contiguous run of mask bits, `start .. start + len`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Flat block index the units belong to.
    pub layer: usize,
    pub what: Units,
    pub start: usize,
    pub len: usize,
    /// Units of the same pool are ranked together by a global selection.
    pub pool: usize,
}

/// The segments of a mask, in bit order, without gaps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskLayout {
    pub segments: Vec<Segment>,
}

/// Pool of attention heads in a structured layout.
pub const HEAD_POOL: usize = 0;
/// Pool of FFN neurons in a structured layout.
pub const NEURON_POOL: usize = 1;

impl MaskLayout {
    /// One segment per prunable weight matrix (every element is a unit), all in pool 0: the
    /// paper's magnitude pruning. `shapes_of` gives a tensor's shape by name.
    pub fn unstructured(
        structure: &ModelStructure,
        shapes_of: impl Fn(&str) -> Option<Vec<usize>>,
    ) -> Result<Self> {
        let mut start = 0;
        let mut segments = Vec::with_capacity(structure.prunable_weights.len());
        for (name, layer) in &structure.prunable_weights {
            let shape = shapes_of(name).ok_or_else(|| PruneError::MissingTensor(name.clone()))?;
            let len = shape.iter().product();
            segments.push(Segment {
                layer: *layer,
                what: Units::Weight {
                    tensor: name.clone(),
                    shape,
                },
                start,
                len,
                pool: 0,
            });
            start += len;
        }
        Ok(Self { segments })
    }

    /// One segment per head or neuron group, in the structure's group order (segment `g` is
    /// group `g`); heads in `HEAD_POOL`, neurons in `NEURON_POOL`.
    pub fn structured(structure: &ModelStructure) -> Self {
        let mut start = 0;
        let segments = structure
            .groups
            .iter()
            .enumerate()
            .map(|(g, group)| {
                let (what, pool) = match group.kind {
                    UnitKind::Head => (Units::Heads { group: g }, HEAD_POOL),
                    UnitKind::Neuron => (Units::Neurons { group: g }, NEURON_POOL),
                };
                let seg = Segment {
                    layer: group.layer,
                    what,
                    start,
                    len: group.count,
                    pool,
                };
                start += group.count;
                seg
            })
            .collect();
        Self { segments }
    }

    /// Total number of units (the length of every mask on this layout).
    pub fn len(&self) -> usize {
        self.segments.last().map_or(0, |s| s.start + s.len)
    }

    /// Whether the layout covers no unit.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that `mask` was built on this layout (same number of units).
    pub fn check_mask(&self, mask: &super::Mask) -> Result<()> {
        if mask.len() != self.len() {
            return Err(PruneError::LengthMismatch {
                what: "mask against its layout".into(),
                expected: self.len(),
                found: mask.len(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{UnitGroup, UnitSlice};

    fn group(kind: UnitKind, layer: usize, count: usize) -> UnitGroup {
        UnitGroup {
            kind,
            layer,
            count,
            slices: vec![UnitSlice {
                tensor: format!("l{layer}.w"),
                axis: 0,
                offset: 0,
                unit_len: 1,
                scored: true,
            }],
        }
    }

    #[test]
    fn structured_segments_follow_groups_and_pools() {
        let s = ModelStructure {
            prunable_weights: vec![],
            groups: vec![
                group(UnitKind::Head, 0, 2),
                group(UnitKind::Neuron, 0, 5),
                group(UnitKind::Head, 1, 3),
                group(UnitKind::Neuron, 1, 4),
            ],
            num_layers: 2,
        };
        let l = MaskLayout::structured(&s);
        let starts: Vec<_> = l
            .segments
            .iter()
            .map(|s| (s.start, s.len, s.pool, s.layer))
            .collect();
        assert_eq!(
            starts,
            vec![(0, 2, 0, 0), (2, 5, 1, 0), (7, 3, 0, 1), (10, 4, 1, 1)]
        );
        assert_eq!(l.segments[2].what, Units::Heads { group: 2 });
        assert_eq!(l.len(), 14);
    }

    #[test]
    fn unstructured_names_the_missing_tensor() {
        let s = ModelStructure {
            prunable_weights: vec![("a".into(), 0), ("b".into(), 1)],
            groups: vec![],
            num_layers: 2,
        };
        let l = MaskLayout::unstructured(&s, |n| (n == "a").then(|| vec![2, 3])).unwrap_err();
        assert!(l.to_string().contains("\"b\""), "{l}");
        let l = MaskLayout::unstructured(&s, |_| Some(vec![2, 3])).unwrap();
        assert_eq!(l.len(), 12);
        assert_eq!(l.segments[1].start, 6);
    }
}

//! What can be pruned in a model, described by tensor names and index ranges, so that mask
//! selection, masking and surgery are written once for all four families.

use serde::{Deserialize, Serialize};

/// Attention head or FFN neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    Head,
    Neuron,
}

/// The part of one tensor that belongs to the units of a group: along `axis`, unit `u` owns the
/// indices `offset + u * unit_len .. offset + (u + 1) * unit_len`.
///
/// Example (ViT layer, H heads of size D, `query.weight` stored `[H*D, hidden]`):
/// `UnitSlice { tensor: "...query.weight", axis: 0, offset: 0, unit_len: D, scored: true }`.
/// GPT-2's fused `c_attn.weight` `[hidden, 3*H*D]` has three slices on axis 1 (offsets 0, H*D, 2*H*D).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitSlice {
    pub tensor: String,
    pub axis: usize,
    pub offset: usize,
    pub unit_len: usize,
    /// Whether this slice counts in the unit's L1 importance (weights yes, biases and
    /// relative-position tables no); every slice is zeroed / removed with the unit.
    pub scored: bool,
}

/// The heads (or FFN neurons) of one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitGroup {
    pub kind: UnitKind,
    /// Flat block index (Swin: blocks of all stages in order).
    pub layer: usize,
    /// Number of units (heads, neurons) currently in the block.
    pub count: usize,
    pub slices: Vec<UnitSlice>,
}

/// Everything prunable in one model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelStructure {
    /// Weight matrices ranked by unstructured magnitude pruning (attention q/k/v/o and MLP
    /// fc1/fc2 of every block); embeddings, norms, biases and the classifier are excluded.
    /// Each entry: (tensor name, flat block index).
    pub prunable_weights: Vec<(String, usize)>,
    /// One head group and one neuron group per block, in block order (heads first).
    pub groups: Vec<UnitGroup>,
    /// Number of blocks.
    pub num_layers: usize,
}

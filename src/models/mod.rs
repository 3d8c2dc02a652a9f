//! The four Transformer families, one file each, behind one small interface the engine needs:
//! build from a config, forward a batch, and describe what can be pruned.
//!
//! Every config mirrors the Hugging Face `config.json` fields of its family and adds per-layer
//! head counts and FFN widths, so a structurally pruned model is just a model with a smaller
//! config. Parameter names are the HF safetensors names.

pub mod gpt2;
pub mod layers;
pub mod params;
pub mod pretrained;
pub mod roberta;
pub mod structure;
pub mod swin;
pub mod vit;

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

pub use layers::DropoutRng;
pub use params::ParamStore;
pub use structure::{ModelStructure, UnitGroup, UnitKind, UnitSlice};

/// One batch as the model sees it.
#[derive(Clone, Debug)]
pub enum ModelInput {
    /// `(B, C, H, W)` f32 pixels, already normalised.
    Images(Tensor),
    /// `ids`: `(B, T)` u32 token ids, right-padded; `mask`: `(B, T)` f32, 1 for a real token.
    Tokens { ids: Tensor, mask: Tensor },
}

impl ModelInput {
    pub fn batch_size(&self) -> Result<usize> {
        match self {
            ModelInput::Images(x) => x.dim(0),
            ModelInput::Tokens { ids, .. } => ids.dim(0),
        }
    }
}

/// A sequence/image classifier: logits `(B, num_labels)`.
pub trait Classifier: Send + Sync {
    /// `train` switches dropout on; the model built from `ParamStore::eval_builder` is the one
    /// to use for evaluation (no graph is recorded).
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor>;
}

/// What each family's config provides to the engine.
pub trait ArchSpec {
    /// Builds the model; every parameter is requested from `vb` under its HF name with its HF
    /// init hint (normal(0, initializer_range) weights, zero biases, unit norm weights).
    fn build(&self, vb: VarBuilder, dropout: DropoutRng) -> Result<Box<dyn Classifier>>;
    /// Prunable weight matrices (unstructured) and head/neuron groups (structured), in a fixed order.
    fn structure(&self) -> ModelStructure;
    /// The same config with per-layer head counts and FFN widths replaced (flat block index).
    fn with_units(&self, heads: &[usize], neurons: &[usize]) -> Self;
    fn num_labels(&self) -> usize;
}

/// The config of any of the four families; serialised as `pruned_config.json` with an `arch` tag.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "lowercase")]
pub enum ArchConfig {
    Vit(vit::VitConfig),
    Swin(swin::SwinConfig),
    Gpt2(gpt2::Gpt2Config),
    Roberta(roberta::RobertaConfig),
}

impl ArchConfig {
    pub fn name(&self) -> &'static str {
        match self {
            ArchConfig::Vit(_) => "vit",
            ArchConfig::Swin(_) => "swin",
            ArchConfig::Gpt2(_) => "gpt2",
            ArchConfig::Roberta(_) => "roberta",
        }
    }

    pub fn build(&self, vb: VarBuilder, dropout: DropoutRng) -> Result<Box<dyn Classifier>> {
        match self {
            ArchConfig::Vit(c) => c.build(vb, dropout),
            ArchConfig::Swin(c) => c.build(vb, dropout),
            ArchConfig::Gpt2(c) => c.build(vb, dropout),
            ArchConfig::Roberta(c) => c.build(vb, dropout),
        }
    }

    pub fn structure(&self) -> ModelStructure {
        match self {
            ArchConfig::Vit(c) => c.structure(),
            ArchConfig::Swin(c) => c.structure(),
            ArchConfig::Gpt2(c) => c.structure(),
            ArchConfig::Roberta(c) => c.structure(),
        }
    }

    pub fn with_units(&self, heads: &[usize], neurons: &[usize]) -> Self {
        match self {
            ArchConfig::Vit(c) => ArchConfig::Vit(c.with_units(heads, neurons)),
            ArchConfig::Swin(c) => ArchConfig::Swin(c.with_units(heads, neurons)),
            ArchConfig::Gpt2(c) => ArchConfig::Gpt2(c.with_units(heads, neurons)),
            ArchConfig::Roberta(c) => ArchConfig::Roberta(c.with_units(heads, neurons)),
        }
    }

    pub fn num_labels(&self) -> usize {
        match self {
            ArchConfig::Vit(c) => c.num_labels(),
            ArchConfig::Swin(c) => c.num_labels(),
            ArchConfig::Gpt2(c) => c.num_labels(),
            ArchConfig::Roberta(c) => c.num_labels(),
        }
    }

    /// Whether the model reads images (else tokens).
    pub fn is_vision(&self) -> bool {
        matches!(self, ArchConfig::Vit(_) | ArchConfig::Swin(_))
    }
}

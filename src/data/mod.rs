//! Datasets: the embedded defaults (UCI digits, lingua language identification), their seeded
//! stratified splits, and batching into model inputs.

pub mod batch;
pub mod digits;
pub mod langid;
pub mod split;

pub use batch::{Batch, Examples, Features};

use crate::config::DataSection;
use crate::error::EbtError;

/// What the model needs to know about the examples.
#[derive(Clone, Debug, PartialEq)]
pub enum DataShape {
    Image {
        channels: usize,
        height: usize,
        width: usize,
    },
    Text {
        vocab_size: usize,
        /// Tokens per example (including the start token).
        max_length: usize,
        pad_id: u32,
        /// Start token (`<s>` / CLS); RoBERTa classifies from it.
        bos_id: u32,
        eos_id: u32,
    },
}

/// A labelled train/test pair ready for training.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Short name for file names and the dashboard (`digits`, `langid`).
    pub name: String,
    pub shape: DataShape,
    pub class_names: Vec<String>,
    pub train: Examples,
    pub test: Examples,
}

impl Dataset {
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }
}

/// Loads `data.source` with a split seeded by `seed`.
pub fn load(section: &DataSection, seed: u64) -> Result<Dataset, EbtError> {
    match section.source.as_str() {
        "digits" => digits::load(section, seed),
        "langid" => langid::load(section, seed),
        other => Err(EbtError::config(format!(
            "data.source: unknown source {other:?} (expected digits or langid)"
        ))),
    }
}

//! Datasets: the embedded defaults (UCI digits, lingua language identification), file-based
//! real sets (MNIST idx, CIFAR-10 binary, an image folder, IMDB `aclImdb`, CSV/TSV/JSONL tables,
//! one-file-per-class line files, and CIFAR-10/IMDB as parquet tables, local or from the
//! Hugging Face hub), their seeded stratified splits, and batching into model inputs. Text is byte tokens (`tokens.rs`); images are `(C, H, W)` pixels in [-1, 1].

pub mod augment;
pub mod batch;
pub mod cifar;
pub mod digits;
mod files;
pub mod image_folder;
pub mod imdb;
mod labels;
pub mod langid;
pub mod mnist;
mod parquet;
pub mod split;
pub mod text_file;
pub mod text_lines;
pub mod tokens;

pub use batch::{Batch, Examples, Features};

use crate::config::{DataSection, DATA_SOURCES};
use crate::error::EbtError;
use crate::hub::HubEnv;

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
    /// Short name for file names and the dashboard (`digits`, `mnist`, a file's stem).
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

/// Loads `data.source` with a split seeded by `seed`; hub datasets are looked up as the
/// environment says (`HF_HUB_CACHE`, `HF_HOME`, `HF_HUB_OFFLINE`, `HF_ENDPOINT`).
pub fn load(section: &DataSection, seed: u64) -> Result<Dataset, EbtError> {
    load_with_hub(section, seed, &HubEnv::from_env())
}

/// `load` with an explicit hub cache and offline switch, so that tests (and callers that manage
/// their own cache) need not change the process's environment.
pub fn load_with_hub(section: &DataSection, seed: u64, hub: &HubEnv) -> Result<Dataset, EbtError> {
    match section.source.as_str() {
        "digits" => digits::load(section, seed),
        "langid" => langid::load(section, seed),
        "mnist" => mnist::load(section, seed),
        "cifar10" => cifar::load(section, seed, hub),
        "image-folder" => image_folder::load(section, seed),
        "imdb" => imdb::load(section, seed, hub),
        "text-csv" => text_file::load(section, seed),
        "text-lines" => text_lines::load(section, seed),
        other => {
            let names: Vec<&str> = DATA_SOURCES.iter().map(|(n, _)| *n).collect();
            Err(EbtError::config(format!(
                "data.source: unknown source {other:?} (expected one of {})",
                names.join(", ")
            )))
        }
    }
}

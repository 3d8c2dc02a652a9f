//! Datasets: the embedded defaults (UCI digits, lingua language identification), file-based
//! real sets (MNIST idx, CIFAR-10 binary, an image folder, IMDB `aclImdb`, CSV/TSV/JSONL tables,
//! one-file-per-class line files, and CIFAR-10/IMDB as parquet tables, local or from the
//! Hugging Face hub), their seeded stratified splits, and batching into model inputs. Text
//! loaders return texts; `load` tokenizes every split once the split is made (`tokenizer.rs`:
//! bytes, a `tokenizer.json`, or a BPE trained on the training split only). Images are
//! `(C, H, W)` pixels in [-1, 1].

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
pub mod resize;
pub mod split;
pub mod text_file;
pub mod text_lines;
pub mod tokenizer;
pub mod tokens;

pub use batch::{Batch, Examples, Features};

use crate::config::{DataSection, ModelSection, DATA_SOURCES};
use crate::error::EbtError;
use crate::hub::HubEnv;
use crate::run_dir::{write_atomic, RunDir};
use tokenizer::Origin;

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
    /// Text: which tokenizer the run uses and where it came from, for the user; `None` for images.
    pub tokenizer: Option<String>,
}

impl Dataset {
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }
}

/// Labelled texts split into train and test, before tokenization (what text loaders return).
#[derive(Clone, Debug)]
pub struct TextCorpus {
    pub name: String,
    pub class_names: Vec<String>,
    /// `Features::Texts`.
    pub train: Examples,
    /// `Features::Texts`.
    pub test: Examples,
}

/// Loads `data.source` with a split seeded by `seed`. Text is then tokenized with the tokenizer
/// `data.tokenizer` names (`model.pretrained` matters for `auto`); a tokenizer other than bytes
/// is written to the run directory, and a trained BPE is cached beside it. Hub datasets are looked
/// up as the environment says (`HF_HUB_CACHE`, `HF_HOME`, `HF_HUB_OFFLINE`, `HF_ENDPOINT`).
pub fn load(
    section: &DataSection,
    model: &ModelSection,
    run: &RunDir,
    seed: u64,
) -> Result<Dataset, EbtError> {
    load_with_hub(section, model, run, seed, &HubEnv::from_env())
}

/// `load` with an explicit hub cache and offline switch, so that tests (and callers that manage
/// their own cache) need not change the process's environment.
pub fn load_with_hub(
    section: &DataSection,
    model: &ModelSection,
    run: &RunDir,
    seed: u64,
    hub: &HubEnv,
) -> Result<Dataset, EbtError> {
    let corpus = match section.source.as_str() {
        "digits" => return resized(digits::load(section, seed)?, section),
        "mnist" => return resized(mnist::load(section, seed)?, section),
        "cifar10" => return resized(cifar::load(section, seed, hub)?, section),
        "image-folder" => return image_folder::load(section, seed),
        "langid" => langid::load(section, seed)?,
        "imdb" => imdb::load(section, seed, hub)?,
        "text-csv" => text_file::load(section, seed)?,
        "text-lines" => text_lines::load(section, seed)?,
        other => {
            let names: Vec<&str> = DATA_SOURCES.iter().map(|(n, _)| *n).collect();
            return Err(EbtError::config(format!(
                "data.source: unknown source {other:?} (expected one of {})",
                names.join(", ")
            )));
        }
    };
    tokenize(corpus, section, model, run).map(|(d, _)| d)
}

/// The dataset with every batch resampled to `data.image_size` when that is set and differs
/// from the images' own size (they stay at their size in memory).
fn resized(mut data: Dataset, section: &DataSection) -> Result<Dataset, EbtError> {
    let (Some(side), DataShape::Image { height, width, .. }) =
        (section.image_size, &mut data.shape)
    else {
        return Ok(data);
    };
    if (*height, *width) == (side, side) {
        return Ok(data);
    }
    let r = resize::Resize::new((*height, *width), side, &section.resize);
    (*height, *width) = (side, side);
    data.train.resize = Some(r);
    data.test.resize = Some(r);
    Ok(data)
}

/// Tokenizes both splits of `corpus` with the tokenizer of `data.tokenizer`, trained (if it is
/// a BPE) on the training texts alone; also says where the tokenizer came from.
pub fn tokenize(
    corpus: TextCorpus,
    section: &DataSection,
    model: &ModelSection,
    run: &RunDir,
) -> Result<(Dataset, Origin), EbtError> {
    let TextCorpus {
        name,
        class_names,
        mut train,
        mut test,
    } = corpus;
    let take =
        |e: &mut Examples| match std::mem::replace(&mut e.features, Features::Tokens(Vec::new())) {
            Features::Texts(t) => Ok(t),
            _ => Err(EbtError::data(format!(
                "{name}: the loader did not return texts"
            ))),
        };
    let (train_texts, test_texts) = (take(&mut train)?, take(&mut test)?);
    let resolved = tokenizer::resolve(section, model, run, &train_texts)?;
    let tok = resolved.tokenizer;
    if let Some(json) = tok.to_json()? {
        write_atomic(&run.tokenizer(), json.as_bytes())?;
    }
    train.features = Features::Tokens(tok.encode(&train_texts, section.max_length)?);
    test.features = Features::Tokens(tok.encode(&test_texts, section.max_length)?);
    Ok((
        Dataset {
            name,
            shape: tok.shape(section.max_length),
            class_names,
            train,
            test,
            tokenizer: Some(resolved.origin.describe(&tok)),
        },
        resolved.origin,
    ))
}

//! The experiment file (TOML): one struct per section, every key with a default, validation that
//! names the key at fault. `--set key=value` overrides are applied to the TOML tree before parsing,
//! so an override is checked exactly like a key in the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::EbtError;

/// One experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentConfig {
    pub model: ModelSection,
    pub data: DataSection,
    pub train: TrainSection,
    pub search: SearchSection,
    pub prune: PruneSection,
    pub ticket: TicketSection,
    pub retrain: RetrainSection,
}

/// Model family and size. Fields a family does not use are ignored by it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// vit | swin | gpt2 | roberta
    pub arch: String,
    /// Width of the residual stream (Swin: width of the first stage, `embed_dim`).
    pub hidden_size: usize,
    /// Number of blocks (ignored by Swin, which uses `depths`).
    pub num_layers: usize,
    /// Heads per block (Swin: heads of the first stage; doubled at each later stage, as in Swin-T).
    pub num_heads: usize,
    /// FFN width (Swin: `mlp_ratio * dim` per stage, from `mlp_ratio`).
    pub intermediate_size: usize,
    /// ViT / Swin: side of a square patch in pixels.
    pub patch_size: usize,
    /// Swin: blocks per stage.
    pub depths: Vec<usize>,
    /// Swin: side of the attention window in patches.
    pub window_size: usize,
    /// Swin: FFN width as a multiple of the stage width.
    pub mlp_ratio: f64,
    /// Dropout on hidden states (HF `hidden_dropout_prob` / `resid_pdrop`).
    pub dropout: f64,
    /// Dropout on attention probabilities.
    pub attention_dropout: f64,
    /// Std of the normal init of weights (HF `initializer_range`).
    pub initializer_range: f64,
    /// gelu | gelu_new | relu
    pub hidden_act: String,
    /// A Hugging Face repo id (`gpt2`, `google/vit-base-patch16-224-in21k`) or a local directory
    /// with `config.json` + `model.safetensors` (or shards). When set, the checkpoint's config
    /// replaces the size keys above and its weights are the starting point (fine-tuning).
    pub pretrained: Option<String>,
    /// Branch, tag or commit of `pretrained` on the hub (default `main`).
    pub revision: Option<String>,
}

impl Default for ModelSection {
    fn default() -> Self {
        Self {
            arch: "vit".into(),
            hidden_size: 64,
            num_layers: 4,
            num_heads: 4,
            intermediate_size: 128,
            patch_size: 2,
            depths: vec![2, 2],
            window_size: 4,
            mlp_ratio: 2.0,
            dropout: 0.0,
            attention_dropout: 0.0,
            initializer_range: 0.02,
            hidden_act: "gelu".into(),
            pretrained: None,
            revision: None,
        }
    }
}

/// Where the examples come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSection {
    /// digits | langid (embedded); mnist | cifar10 | image-folder (images from files);
    /// imdb | text-csv | text-lines (text from files). See `DATA_SOURCES`.
    pub source: String,
    /// File or directory of the file-based sources (all but text-lines). cifar10 and imdb also
    /// take parquet tables (a `.parquet` file, or a directory of them with `train`/`test` in
    /// their names) or a Hugging Face dataset repo id (`uoft-cs/cifar10`, `stanfordnlp/imdb`),
    /// fetched through the hub cache; nothing is checked here, since a repo id is not a path.
    pub path: Option<PathBuf>,
    /// text-lines: one file per class, one example per line; the class is named after the file.
    pub paths: Vec<PathBuf>,
    /// A second file or directory, in the format of `path`, holding the test split. Without it,
    /// a source's own test files are used (mnist t10k-*, cifar10 test_batch.bin, imdb test/,
    /// parquet tables with `test` in their names), else `test_fraction` of the examples is held
    /// out.
    pub test_path: Option<PathBuf>,
    /// Fraction of each class held out for evaluation (stratified, seeded).
    pub test_fraction: f64,
    /// Text: tokens per example after truncation, special tokens (`<s>`, `</s>`) included.
    pub max_length: usize,
    /// Text: how texts become token ids. `auto` = `model.pretrained`'s own `tokenizer.json` when
    /// that key is set, else `bpe`; `bytes` = UTF-8 bytes (259 ids, no vocabulary file); `bpe` =
    /// a byte-level BPE of `vocab_size` ids trained on the training split (cached under
    /// `<run dir>/../.cache/tokenizers/`, so a second run on the same data does not retrain);
    /// anything else = a `tokenizer.json` file, a directory holding one, or a hub repo id.
    pub tokenizer: String,
    /// Text, `tokenizer = "bpe"` (or `auto` without a pretrained model): ids of the trained BPE,
    /// its four special tokens and 256 bytes included. Small data may stop short of it.
    pub vocab_size: usize,
    /// langid: languages to tell apart (subset of english, french, german, spanish, italian, portuguese).
    pub languages: Vec<String>,
    /// Cap on examples per class (0 = all); keeps text runs short on 2 cores.
    pub max_per_class: usize,
    /// text-csv: csv | tsv | jsonl (default: from the file's extension).
    pub format: Option<String>,
    /// text-csv and imdb parquet tables: the text's column, a header name or a 0-based index
    /// (default: "text" with a header, in JSONL and in parquet; 0 without a header).
    pub text_column: Option<Column>,
    /// text-csv, and cifar10/imdb parquet tables: the label's column (default: "label", or 1
    /// without a header). text-csv labels may be integers (classes sorted by value) or strings
    /// (classes sorted by name); parquet labels are class indices or the source's class names.
    pub label_column: Option<Column>,
    /// cifar10 parquet tables: the image's column, a name or a 0-based index (default: "img",
    /// else "image"), as the hub's copies differ in it.
    pub image_column: Option<Column>,
    /// text-csv (csv, tsv): whether the first row names the columns.
    pub header: bool,
    /// Branch, tag or commit of a hub dataset named by `path` / `test_path` (default `main`).
    pub revision: Option<String>,
    /// image-folder: 1 (grey) or 3 (RGB) channels after conversion.
    pub channels: usize,
    /// Side of the square images the model sees, in pixels. image-folder resizes every file to it
    /// on load (default 32); mnist, cifar10 and digits keep their native size in memory and
    /// resample each batch when it is set (224 for a pretrained ViT-B/16 or Swin-T).
    pub image_size: Option<usize>,
    /// How images are resized: nearest | bilinear
    pub resize: String,
    /// cifar10, image-folder: random crop (pad 4) + horizontal flip of training batches.
    pub augment: bool,
}

/// Every `data.source`, and whether it yields images (else text).
pub const DATA_SOURCES: [(&str, bool); 8] = [
    ("digits", true),
    ("langid", false),
    ("mnist", true),
    ("cifar10", true),
    ("image-folder", true),
    ("imdb", false),
    ("text-csv", false),
    ("text-lines", false),
];

/// `train.device` as (is CUDA, ordinal); `None` when malformed.
pub fn parse_device(s: &str) -> Option<(bool, usize)> {
    match s {
        "cpu" => Some((false, 0)),
        "cuda" => Some((true, 0)),
        _ => s.strip_prefix("cuda:")?.parse().ok().map(|n| (true, n)),
    }
}

/// A table column: by header name or by 0-based position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Column {
    Index(usize),
    Name(String),
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Column::Index(i) => write!(f, "{i}"),
            Column::Name(n) => write!(f, "{n:?}"),
        }
    }
}

impl Default for DataSection {
    fn default() -> Self {
        Self {
            source: "digits".into(),
            path: None,
            paths: Vec::new(),
            test_path: None,
            test_fraction: 0.2,
            revision: None,
            max_length: 32,
            tokenizer: "auto".into(),
            vocab_size: 4096,
            languages: vec![
                "english".into(),
                "french".into(),
                "german".into(),
                "spanish".into(),
                "italian".into(),
                "portuguese".into(),
            ],
            max_per_class: 0,
            format: None,
            text_column: None,
            label_column: None,
            image_column: None,
            header: true,
            channels: 3,
            image_size: None,
            resize: "bilinear".into(),
            augment: false,
        }
    }
}

impl DataSection {
    /// Checks the `[data]` keys; the message names the key and the bad value.
    fn validate(&self, text_model: bool, arch: &str) -> Result<(), EbtError> {
        let bad = |key: &str, msg: String| Err(EbtError::config(format!("{key}: {msg}")));
        let src = self.source.as_str();
        let Some(&(_, images)) = DATA_SOURCES.iter().find(|(name, _)| *name == src) else {
            let names: Vec<&str> = DATA_SOURCES.iter().map(|(n, _)| *n).collect();
            return bad(
                "data.source",
                format!(
                    "unknown source {src:?} (expected one of {})",
                    names.join(", ")
                ),
            );
        };
        if images == text_model {
            return bad(
                "data.source",
                format!("{src:?} does not fit model.arch = {arch:?} (vision models need images, text models text)"),
            );
        }
        let file_based = !matches!(src, "digits" | "langid" | "text-lines");
        if file_based && self.path.is_none() {
            return bad(
                "data.path",
                format!(
                    "data.source = {src:?} reads files: set data.path to its file or directory"
                ),
            );
        }
        if src == "text-lines" && self.paths.len() < 2 {
            return bad(
                "data.paths",
                format!(
                    "text-lines needs at least two files, one per class (got {})",
                    self.paths.len()
                ),
            );
        }
        if self.test_path.is_some() && !file_based {
            return bad(
                "data.test_path",
                format!("not used by data.source = {src:?} (use data.test_fraction)"),
            );
        }
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return bad(
                "data.test_fraction",
                format!("{} is not in (0, 1)", self.test_fraction),
            );
        }
        if self.max_length < 2 {
            return bad(
                "data.max_length",
                format!("{} must be at least 2", self.max_length),
            );
        }
        if self.tokenizer.trim().is_empty() {
            return bad(
                "data.tokenizer",
                "is empty (expected auto, bytes, bpe, a tokenizer.json, a directory or a hub repo id)"
                    .into(),
            );
        }
        if self.vocab_size < crate::data::tokenizer::MIN_BPE_VOCAB {
            return bad(
                "data.vocab_size",
                format!(
                    "{} is below {} (4 special tokens + 256 bytes)",
                    self.vocab_size,
                    crate::data::tokenizer::MIN_BPE_VOCAB
                ),
            );
        }
        if let Some(f) = &self.format {
            if !["csv", "tsv", "jsonl"].contains(&f.as_str()) {
                return bad("data.format", format!("{f:?} (expected csv, tsv or jsonl)"));
            }
        }
        if ![1, 3].contains(&self.channels) {
            return bad(
                "data.channels",
                format!("{} (expected 1 for grey or 3 for RGB)", self.channels),
            );
        }
        if let Some(side) = self.image_size.filter(|s| !(1..=1024).contains(s)) {
            return bad("data.image_size", format!("{side} is not in 1..=1024"));
        }
        if !["nearest", "bilinear"].contains(&self.resize.as_str()) {
            return bad(
                "data.resize",
                format!("{:?} (expected nearest or bilinear)", self.resize),
            );
        }
        if self.image_column.is_some() && src != "cifar10" {
            return bad(
                "data.image_column",
                format!("applies to cifar10 parquet tables, not {src:?}"),
            );
        }
        if self.revision.is_some() && !matches!(src, "cifar10" | "imdb") {
            return bad(
                "data.revision",
                format!("applies to hub datasets (cifar10, imdb), not {src:?}"),
            );
        }
        if self.augment && !matches!(src, "cifar10" | "image-folder") {
            return bad(
                "data.augment",
                format!("crop + flip applies to cifar10 and image-folder, not {src:?}"),
            );
        }
        Ok(())
    }
}

/// Optimisation of the dense model (and, with the same values, of the retrained ticket).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    /// Full training length of the dense baseline.
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    /// Decoupled weight decay, applied to weight matrices only (not biases, norms, embeddings' positions).
    pub weight_decay: f64,
    /// Fraction of all steps spent in linear warmup.
    pub warmup_fraction: f64,
    /// cosine | linear | constant decay after warmup
    pub schedule: String,
    /// Global gradient-norm clip (0 = off).
    pub grad_clip: f64,
    pub seed: u64,
    /// Worker threads for the numeric kernels (0 = all cores but one).
    pub threads: usize,
    /// cpu | cuda | cuda:N (GPU N). CUDA needs a build with `--features cuda`.
    pub device: String,
}

impl Default for TrainSection {
    fn default() -> Self {
        Self {
            epochs: 12,
            batch_size: 64,
            lr: 1e-3,
            weight_decay: 0.05,
            warmup_fraction: 0.1,
            schedule: "cosine".into(),
            grad_clip: 1.0,
            seed: 42,
            threads: 0,
            device: "cpu".into(),
        }
    }
}

/// The early-bird search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSection {
    /// Pruning ratios tracked side by side.
    pub ratios: Vec<f64>,
    /// FIFO length of the early-bird criterion.
    pub window: usize,
    /// Threshold on the distance; default 0.1 for vision, 0.01 for text.
    pub epsilon: Option<f64>,
    /// Which distance the criterion reads: hamming (the paper's) | pruned (normalised by the
    /// pruned count, |A Δ B| / 2k).
    pub distance: String,
    /// Give up after this many search epochs (default: train.epochs).
    pub max_epochs: Option<usize>,
    /// false: observe masks only (Early-Bird); true: apply the current mask while searching.
    pub apply: bool,
    /// Also draw masks every this many optimiser steps inside an epoch (0: once per epoch).
    /// Fine-tuning runs only a few epochs, so EarlyBERT-style tickets need masks within one.
    pub every_steps: usize,
}

impl Default for SearchSection {
    fn default() -> Self {
        Self {
            ratios: vec![0.1, 0.3, 0.5],
            window: 5,
            epsilon: None,
            distance: "hamming".into(),
            max_epochs: None,
            apply: false,
            every_steps: 0,
        }
    }
}

/// What a mask selects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PruneSection {
    /// unstructured | structured
    pub kind: String,
    /// global | layer
    pub scope: String,
}

impl Default for PruneSection {
    fn default() -> Self {
        Self {
            kind: "structured".into(),
            scope: "global".into(),
        }
    }
}

/// Which ticket to take when no one is asked (headless).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TicketSection {
    /// Must be one of `search.ratios`.
    pub ratio: f64,
}

impl Default for TicketSection {
    fn default() -> Self {
        Self { ratio: 0.3 }
    }
}

/// Training the pruned model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrainSection {
    /// continue (from the ticket's weights) | reinit (fresh init, same hyper-parameters)
    pub mode: String,
    /// Default: the remaining `train.epochs - ticket epoch` for `continue` (the schedule goes on
    /// where the ticket left it), `train.epochs` for `reinit`.
    pub epochs: Option<usize>,
    /// Also retrain a random mask of the ticket's ratio as a control.
    pub random_control: bool,
}

impl Default for RetrainSection {
    fn default() -> Self {
        Self {
            mode: "continue".into(),
            epochs: None,
            random_control: true,
        }
    }
}

impl ExperimentConfig {
    /// Reads a TOML file and applies `key=value` overrides (value in TOML syntax; a bare word is a string).
    pub fn load(path: Option<&Path>, overrides: &[String]) -> Result<Self, EbtError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|e| {
                EbtError::config(format!("cannot read config {}: {e}", p.display()))
            })?,
            None => DEFAULT_CONFIG.to_string(),
        };
        let origin = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the embedded default config".into());
        Self::from_toml_str(&text, overrides, &origin)
    }

    pub fn from_toml_str(text: &str, overrides: &[String], origin: &str) -> Result<Self, EbtError> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            EbtError::config(format!("{origin}: {}", one_line(&e.to_string())))
        })?;
        for o in overrides {
            apply_override(&mut table, o)?;
        }
        let cfg: ExperimentConfig =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    EbtError::config(format!("{origin}: {}", one_line(&e.to_string())))
                })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The resolved config, as written to the run directory.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    pub fn is_text(&self) -> bool {
        matches!(self.model.arch.as_str(), "gpt2" | "roberta")
    }

    /// ε: the configured one, else 0.1 for vision and 0.01 for text (the paper's thresholds).
    pub fn epsilon(&self) -> f64 {
        self.search
            .epsilon
            .unwrap_or(if self.is_text() { 0.01 } else { 0.1 })
    }

    pub fn max_search_epochs(&self) -> usize {
        self.search.max_epochs.unwrap_or(self.train.epochs)
    }

    /// Epochs of retraining after a ticket drawn at `ticket_epoch`: the configured number, else
    /// what keeps the total equal to the dense run — the remaining epochs when continuing from the
    /// ticket (You et al.'s EB-Train), the full length when re-initialising.
    pub fn retrain_epochs(&self, ticket_epoch: usize) -> usize {
        self.retrain
            .epochs
            .unwrap_or(if self.retrain.mode == "continue" {
                self.train.epochs.saturating_sub(ticket_epoch).max(1)
            } else {
                self.train.epochs
            })
    }

    /// Checks every key a run depends on; the message names the key and the bad value.
    pub fn validate(&self) -> Result<(), EbtError> {
        let bad = |key: &str, msg: String| Err(EbtError::config(format!("{key}: {msg}")));
        let m = &self.model;
        if !["vit", "swin", "gpt2", "roberta"].contains(&m.arch.as_str()) {
            return bad(
                "model.arch",
                format!(
                    "unknown architecture {:?} (expected vit, swin, gpt2 or roberta)",
                    m.arch
                ),
            );
        }
        if m.hidden_size == 0 || m.num_heads == 0 || !m.hidden_size.is_multiple_of(m.num_heads) {
            return bad(
                "model.hidden_size",
                format!(
                    "{} must be a positive multiple of model.num_heads = {}",
                    m.hidden_size, m.num_heads
                ),
            );
        }
        if m.revision.is_some() && m.pretrained.is_none() {
            return bad(
                "model.revision",
                "applies to model.pretrained, which is not set".into(),
            );
        }
        if m.pretrained.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return bad(
                "model.pretrained",
                "empty; give a hub repo id or a directory, or remove the key".into(),
            );
        }
        if m.arch != "swin" && m.num_layers == 0 {
            return bad("model.num_layers", "must be at least 1".into());
        }
        if m.arch == "swin" && (m.depths.is_empty() || m.depths.contains(&0)) {
            return bad(
                "model.depths",
                format!("{:?}: every stage needs at least one block", m.depths),
            );
        }
        if m.intermediate_size == 0 {
            return bad("model.intermediate_size", "must be at least 1".into());
        }
        if m.patch_size == 0 {
            return bad("model.patch_size", "must be at least 1".into());
        }
        for (k, v) in [
            ("model.dropout", m.dropout),
            ("model.attention_dropout", m.attention_dropout),
        ] {
            if !(0.0..1.0).contains(&v) {
                return bad(k, format!("{v} is not in [0, 1)"));
            }
        }
        if m.initializer_range.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return bad(
                "model.initializer_range",
                format!("{} must be positive", m.initializer_range),
            );
        }
        if !["gelu", "gelu_new", "relu"].contains(&m.hidden_act.as_str()) {
            return bad(
                "model.hidden_act",
                format!("{:?} (expected gelu, gelu_new or relu)", m.hidden_act),
            );
        }
        self.data.validate(self.is_text(), &m.arch)?;
        let t = &self.train;
        if t.epochs == 0 {
            return bad("train.epochs", "must be at least 1".into());
        }
        if t.batch_size == 0 {
            return bad("train.batch_size", "must be at least 1".into());
        }
        if parse_device(&t.device).is_none() {
            return bad(
                "train.device",
                format!("{:?} (expected cpu, cuda or cuda:N)", t.device),
            );
        }
        if !(t.lr > 0.0 && t.lr.is_finite()) {
            return bad("train.lr", format!("{} must be a positive number", t.lr));
        }
        if t.weight_decay < 0.0 {
            return bad(
                "train.weight_decay",
                format!("{} must not be negative", t.weight_decay),
            );
        }
        if !(0.0..1.0).contains(&t.warmup_fraction) {
            return bad(
                "train.warmup_fraction",
                format!("{} is not in [0, 1)", t.warmup_fraction),
            );
        }
        if !["cosine", "linear", "constant"].contains(&t.schedule.as_str()) {
            return bad(
                "train.schedule",
                format!("{:?} (expected cosine, linear or constant)", t.schedule),
            );
        }
        if t.grad_clip < 0.0 {
            return bad(
                "train.grad_clip",
                format!("{} must not be negative", t.grad_clip),
            );
        }
        let s = &self.search;
        if s.ratios.is_empty() {
            return bad("search.ratios", "needs at least one ratio".into());
        }
        for &r in &s.ratios {
            if !(r > 0.0 && r < 1.0) {
                return bad("search.ratios", format!("{r} is not in (0, 1)"));
            }
        }
        if s.window < 2 {
            return bad("search.window", format!("{} must be at least 2", s.window));
        }
        if let Some(e) = s.epsilon {
            if !(e > 0.0 && e <= 1.0) {
                return bad("search.epsilon", format!("{e} is not in (0, 1]"));
            }
        }
        if !["hamming", "pruned"].contains(&s.distance.as_str()) {
            return bad(
                "search.distance",
                format!("{:?} (expected hamming or pruned)", s.distance),
            );
        }
        if s.max_epochs == Some(0) {
            return bad("search.max_epochs", "must be at least 1".into());
        }
        if let Some(me) = s.max_epochs {
            if me > t.epochs {
                return bad(
                    "search.max_epochs",
                    format!("{me} exceeds train.epochs = {}", t.epochs),
                );
            }
        }
        if !["unstructured", "structured"].contains(&self.prune.kind.as_str()) {
            return bad(
                "prune.kind",
                format!(
                    "{:?} (expected unstructured or structured)",
                    self.prune.kind
                ),
            );
        }
        if !["global", "layer"].contains(&self.prune.scope.as_str()) {
            return bad(
                "prune.scope",
                format!("{:?} (expected global or layer)", self.prune.scope),
            );
        }
        if !s
            .ratios
            .iter()
            .any(|&r| (r - self.ticket.ratio).abs() < 1e-9)
        {
            return bad(
                "ticket.ratio",
                format!(
                    "{} is not one of search.ratios = {:?}",
                    self.ticket.ratio, s.ratios
                ),
            );
        }
        if !["continue", "reinit"].contains(&self.retrain.mode.as_str()) {
            return bad(
                "retrain.mode",
                format!("{:?} (expected continue or reinit)", self.retrain.mode),
            );
        }
        if self.retrain.epochs == Some(0) {
            return bad("retrain.epochs", "must be at least 1".into());
        }
        Ok(())
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `a.b.c=value`: value parsed as TOML; if that fails, taken as a bare string.
fn apply_override(table: &mut toml::Table, spec: &str) -> Result<(), EbtError> {
    let (key, raw) = spec
        .split_once('=')
        .ok_or_else(|| EbtError::config(format!("--set {spec:?}: expected key=value")))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|p| p.is_empty()) {
        return Err(EbtError::config(format!("--set {spec:?}: bad key {key:?}")));
    }
    let raw = raw.trim();
    let value = match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or(toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let parts: Vec<&str> = key.split('.').collect();
    let mut cur = table;
    for p in &parts[..parts.len() - 1] {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| EbtError::config(format!("--set {key}: {p} is not a section")))?;
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// The embedded default experiment (`configs/digits-vit.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../configs/digits-vit.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn load(overrides: &[&str]) -> Result<ExperimentConfig, EbtError> {
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        ExperimentConfig::load(None, &o)
    }

    #[test]
    fn default_config_is_valid() {
        let c = load(&[]).unwrap();
        assert_eq!(c.model.arch, "vit");
        assert_eq!(c.data.source, "digits");
        assert_eq!(c.epsilon(), 0.1);
    }

    #[test]
    fn overrides_take_toml_values_and_bare_strings() {
        let c = load(&[
            "search.ratios=[0.1,0.3]",
            "train.epochs=3",
            "prune.kind=unstructured",
            "ticket.ratio=0.1",
        ])
        .unwrap();
        assert_eq!(c.search.ratios, vec![0.1, 0.3]);
        assert_eq!(c.train.epochs, 3);
        assert_eq!(c.prune.kind, "unstructured");
        let c = load(&["data.path=\"x.csv\""]).unwrap();
        assert_eq!(c.data.path.as_deref(), Some(Path::new("x.csv")));
    }

    #[test]
    fn errors_name_the_key() {
        for (o, key) in [
            ("model.arch=lstm", "model.arch"),
            ("search.ratios=[1.5]", "search.ratios"),
            ("ticket.ratio=0.2", "ticket.ratio"),
            ("train.epochs=0", "train.epochs"),
            ("prune.scope=row", "prune.scope"),
            ("data.source=langid", "data.source"),
            ("train.lr=-1", "train.lr"),
            ("noequals", "key=value"),
        ] {
            let e = load(&[o]).unwrap_err().to_string();
            assert!(e.contains(key), "{o}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        let e = load(&["train.epoch=3"]).unwrap_err().to_string();
        assert!(e.contains("epoch"), "{e}");
    }

    #[test]
    fn text_models_default_to_the_text_threshold() {
        let c = load(&[
            "model.arch=gpt2",
            "data.source=langid",
            "search.epsilon=0.01",
        ])
        .unwrap();
        assert_eq!(c.epsilon(), 0.01);
        let mut c2 = c.clone();
        c2.search.epsilon = None;
        assert_eq!(c2.epsilon(), 0.01);
    }

    #[test]
    fn shipped_configs_parse() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "toml") {
                ExperimentConfig::load(Some(&p), &[])
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                n += 1;
            }
        }
        assert!(n >= 10, "only {n} configs found in {}", dir.display());
    }

    #[test]
    fn data_keys_name_the_key() {
        for (o, key) in [
            (&["data.source=mnist"][..], "data.path"),
            (&["data.source=cifar"], "mnist, cifar10, image-folder, imdb"),
            (
                &[
                    "data.source=text-lines",
                    "model.arch=gpt2",
                    "data.paths=[\"a\"]",
                ],
                "data.paths",
            ),
            (&["data.channels=2"], "data.channels"),
            (&["data.image_size=0"], "data.image_size"),
            (&["data.resize=cubic"], "data.resize"),
            (&["data.format=xml"], "data.format"),
            (&["data.vocab_size=100"], "data.vocab_size"),
            (&["data.tokenizer=\"\""], "data.tokenizer"),
            (&["data.augment=true"], "data.augment"),
            (&["data.image_column=img"], "data.image_column"),
            (&["data.revision=v1"], "data.revision"),
            (&["data.test_path=\"t\""], "data.test_path"),
            (&["data.source=imdb"], "data.source"),
        ] {
            let e = load(o).unwrap_err().to_string();
            assert!(e.contains(key), "{o:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn hub_repo_ids_are_valid_data_paths() {
        let c = load(&[
            "data.source=cifar10",
            "data.path=\"uoft-cs/cifar10\"",
            "data.image_column=1",
        ])
        .unwrap();
        assert_eq!(c.data.path.as_deref(), Some(Path::new("uoft-cs/cifar10")));
        assert_eq!(c.data.image_column, Some(Column::Index(1)));
        let c = load(&[
            "model.arch=gpt2",
            "data.source=imdb",
            "data.path=\"stanfordnlp/imdb\"",
        ])
        .unwrap();
        assert_eq!(c.data.path.as_deref(), Some(Path::new("stanfordnlp/imdb")));
    }

    #[test]
    fn columns_take_names_or_indices() {
        let c = load(&[
            "model.arch=gpt2",
            "data.source=text-csv",
            "data.path=\"r.tsv\"",
            "data.text_column=2",
            "data.label_column=sentiment",
            "data.header=false",
        ])
        .unwrap();
        assert_eq!(c.data.text_column, Some(Column::Index(2)));
        assert_eq!(c.data.label_column, Some(Column::Name("sentiment".into())));
        // The resolved config round-trips through its TOML.
        let again = ExperimentConfig::from_toml_str(&c.to_toml(), &[], "resolved").unwrap();
        assert_eq!(again, c);
        let c = load(&["data.source=cifar10", "data.path=d", "data.augment=true"]).unwrap();
        assert!(c.data.augment);
    }
}

//! How texts become token ids (`data.tokenizer`): UTF-8 bytes, a Hugging Face `tokenizer.json`
//! (a file, a directory or hub repo holding one, or `model.pretrained`'s own), or a byte-level
//! BPE trained on the training split alone and cached beside the run folders.
//!
//! Every kind encodes the same way: the tokenizer's own special tokens (RoBERTa `<s> … </s>`,
//! GPT-2 none, our BPE `<s> … </s>`), then truncation to `data.max_length` ids that keeps the
//! start and may cut the closing token, and no padding (`batch.rs` pads each batch).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

use super::{tokens, DataShape};
use crate::config::{DataSection, ModelSection};
use crate::error::EbtError;
use crate::hub::{Fetcher, HubEnv, RepoKind, Source};
use crate::run_dir::{write_atomic, RunDir};

/// Special tokens of the trained BPE, in id order (0..=3).
const BPE_SPECIALS: [&str; 4] = ["<pad>", "<s>", "</s>", "<unk>"];
/// The smallest BPE vocabulary: the four special tokens and the 256 bytes.
pub const MIN_BPE_VOCAB: usize = BPE_SPECIALS.len() + 256;
/// Bumped whenever the trained BPE's recipe changes, so stale cache entries are not reused.
const BPE_RECIPE: u64 = 1;
/// Texts per `encode_batch_fast` call (no offsets): bounds the memory of the `Encoding`s (each
/// keeps its token strings) while leaving rayon enough work per call.
const ENCODE_CHUNK: usize = 2048;

/// A tokenizer and the ids the models need from it.
pub enum TextTokenizer {
    /// Bytes 0..=255, PAD 256, BOS 257, EOS 258 (`tokens.rs`); the start token only.
    Bytes,
    /// A `tokenizers` tokenizer with padding and truncation switched off (we do both).
    Hf(Box<HfTokenizer>),
}

/// A `tokenizer.json` tokenizer and its special ids.
pub struct HfTokenizer {
    tokenizer: Tokenizer,
    vocab_size: usize,
    pad_id: u32,
    bos_id: u32,
    eos_id: u32,
}

/// Where the tokenizer of a run came from (reported to the user, checked by tests).
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    Bytes,
    /// A `tokenizer.json` read from this path (a file, a directory, the hub cache).
    File(PathBuf),
    /// A BPE trained now and stored in the cache at this path.
    Trained(PathBuf),
    /// A BPE trained by an earlier run on the same texts, read from the cache.
    Cached(PathBuf),
}

impl Origin {
    /// One line for the user: the tokenizer's kind and size, and where it came from.
    pub fn describe(&self, tok: &TextTokenizer) -> String {
        let DataShape::Text { vocab_size, .. } = tok.shape(1) else {
            unreachable!("a text tokenizer has a text shape")
        };
        match self {
            Origin::Bytes => format!("tokenizer: UTF-8 bytes ({vocab_size} ids)"),
            Origin::File(p) => format!("tokenizer: {} ({vocab_size} ids)", p.display()),
            Origin::Trained(p) => format!(
                "tokenizer: byte-level BPE of {vocab_size} ids trained on the training split, cached at {}",
                p.display()
            ),
            Origin::Cached(p) => format!(
                "tokenizer: byte-level BPE of {vocab_size} ids from the cache {} (same training texts)",
                p.display()
            ),
        }
    }
}

/// The tokenizer of a run and where it came from.
pub struct Resolved {
    pub tokenizer: TextTokenizer,
    pub origin: Origin,
}

/// Picks the tokenizer `data.tokenizer` names; `train_texts` (the training split only) feed a
/// BPE. A trained BPE is cached under `run.tokenizer_cache(..)`, keyed by the texts and the
/// vocabulary size.
pub fn resolve(
    data: &DataSection,
    model: &ModelSection,
    run: &RunDir,
    train_texts: &[String],
) -> Result<Resolved, EbtError> {
    let file = |p: PathBuf, key: &str| -> Result<Resolved, EbtError> {
        Ok(Resolved {
            tokenizer: TextTokenizer::from_file(&p, key)?,
            origin: Origin::File(p),
        })
    };
    match data.tokenizer.as_str() {
        "bytes" => Ok(Resolved {
            tokenizer: TextTokenizer::Bytes,
            origin: Origin::Bytes,
        }),
        "bpe" => cached_bpe(train_texts, data.vocab_size, run),
        "auto" => match &model.pretrained {
            None => cached_bpe(train_texts, data.vocab_size, run),
            Some(p) => file(
                pretrained_json(p, model.revision.as_deref())?,
                "model.pretrained",
            ),
        },
        spec => {
            // The pretrained model's repo at its revision, any other repo at main.
            let revision = model
                .revision
                .as_deref()
                .filter(|_| model.pretrained.as_deref() == Some(spec));
            file(spec_json(spec, revision)?, "data.tokenizer")
        }
    }
}

/// `tokenizer.json` of `model.pretrained`, or an error naming both keys.
fn pretrained_json(spec: &str, revision: Option<&str>) -> Result<PathBuf, EbtError> {
    let src = Source::parse("model.pretrained", spec, revision, RepoKind::Model)?;
    let what = src.describe();
    let mut f = Fetcher::new("model.pretrained", src, HubEnv::from_env());
    f.fetch_optional("tokenizer.json")?.ok_or_else(|| {
        EbtError::config(format!(
            "data.tokenizer = \"auto\": model.pretrained = {what} has no tokenizer.json; set \
             data.tokenizer to a tokenizer.json, a directory or hub repo holding one, \"bpe\" or \"bytes\""
        ))
    })
}

/// A `tokenizer.json` file, a directory holding one, or a hub repo id.
fn spec_json(spec: &str, revision: Option<&str>) -> Result<PathBuf, EbtError> {
    let path = Path::new(spec);
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if spec.ends_with(".json") {
        return Err(EbtError::config(format!("data.tokenizer: no file {spec}")));
    }
    let src = Source::parse("data.tokenizer", spec, revision, RepoKind::Model)?;
    let mut f = Fetcher::new("data.tokenizer", src, HubEnv::from_env());
    Ok(f.fetch_all(&["tokenizer.json"])?.remove(0))
}

/// The BPE of these texts from the cache, else trained now and cached. An unreadable cache entry
/// is retrained and replaced.
fn cached_bpe(texts: &[String], vocab_size: usize, run: &RunDir) -> Result<Resolved, EbtError> {
    let cache = run.tokenizer_cache(&bpe_cache_key(texts, vocab_size));
    if cache.is_file() {
        if let Ok(tokenizer) = TextTokenizer::from_file(&cache, "data.tokenizer") {
            return Ok(Resolved {
                tokenizer,
                origin: Origin::Cached(cache),
            });
        }
    }
    let json = train_bpe_json(texts, vocab_size)?;
    write_atomic(&cache, json.as_bytes())?;
    Ok(Resolved {
        tokenizer: TextTokenizer::from_json(&json, "data.tokenizer (trained BPE)")?,
        origin: Origin::Trained(cache),
    })
}

/// `bpe-<vocab>-<hash>`: FNV-1a (64 bit, stable across Rust versions, unlike `DefaultHasher`)
/// of the recipe version, the vocabulary size and every text with its length.
fn bpe_cache_key(texts: &[String], vocab_size: usize) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(&BPE_RECIPE.to_le_bytes());
    eat(&(vocab_size as u64).to_le_bytes());
    eat(&(texts.len() as u64).to_le_bytes());
    for t in texts {
        eat(&(t.len() as u64).to_le_bytes());
        eat(t.as_bytes());
    }
    format!("bpe-{vocab_size}-{h:016x}")
}

/// Trains a byte-level BPE (GPT-2's pre-tokenizer without the prefix space, so decoding gives
/// the text back) of at most `vocab_size` ids with `<pad> <s> </s> <unk>` first and a
/// `<s> $A </s>` post-processor; returns its `tokenizer.json`. Deterministic: the trainer
/// breaks count ties by the pair, and the JSON lists the vocabulary by id.
fn train_bpe_json(texts: &[String], vocab_size: usize) -> Result<String, EbtError> {
    if texts.is_empty() {
        return Err(EbtError::data(
            "data.tokenizer: cannot train a BPE on an empty training split",
        ));
    }
    let fail = |what: &str, e: tokenizers::Error| {
        EbtError::data(format!(
            "data.tokenizer: {what} the BPE: {}",
            one_line(&e.to_string())
        ))
    };
    let mut tok = Tokenizer::new(BPE::default());
    tok.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
    tok.with_decoder(Some(ByteLevel::default()));
    let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(
            BPE_SPECIALS
                .iter()
                .map(|s| AddedToken::from(*s, true))
                .collect(),
        )
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect::<HashSet<char>>())
        .build()
        .into();
    tok.train(&mut trainer, texts.iter())
        .map_err(|e| fail("cannot train", e))?;
    let id = |s: &str| {
        tok.token_to_id(s)
            .ok_or_else(|| EbtError::data(format!("data.tokenizer: the trained BPE lacks {s}")))
    };
    let (bos, eos) = (id("<s>")?, id("</s>")?);
    let template = TemplateProcessing::builder()
        .try_single("<s> $A </s>")
        .map_err(|e| EbtError::data(format!("data.tokenizer: BPE template: {e}")))?
        .special_tokens(vec![("<s>", bos), ("</s>", eos)])
        .build()
        .map_err(|e| EbtError::data(format!("data.tokenizer: BPE template: {e}")))?;
    tok.with_post_processor(Some(template));
    tok.to_string(false).map_err(|e| fail("cannot save", e))
}

impl TextTokenizer {
    /// A byte-level BPE trained on `texts` (see `train_bpe_json`), not cached.
    pub fn train_bpe(texts: &[String], vocab_size: usize) -> Result<Self, EbtError> {
        Self::from_json(&train_bpe_json(texts, vocab_size)?, "trained BPE")
    }

    /// Reads a `tokenizer.json`; `key` is the config key that named it (for messages).
    pub fn from_file(path: &Path, key: &str) -> Result<Self, EbtError> {
        let what = format!("{key}: {}", path.display());
        let text = std::fs::read_to_string(path)
            .map_err(|e| EbtError::config(format!("{what}: cannot read: {e}")))?;
        Self::from_json(&text, &what)
    }

    /// Parses `tokenizer.json` text; `what` names its origin in messages.
    pub fn from_json(json: &str, what: &str) -> Result<Self, EbtError> {
        let mut tokenizer = Tokenizer::from_str(json).map_err(|e| {
            EbtError::config(format!(
                "{what}: not a valid tokenizer.json: {}",
                one_line(&e.to_string())
            ))
        })?;
        let padding_id = tokenizer.get_padding().map(|p| p.pad_id);
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| EbtError::config(format!("{what}: {e}")))?;
        let find = |names: &[&str]| names.iter().find_map(|n| tokenizer.token_to_id(n));
        let pad_id = padding_id
            .or_else(|| find(&["<pad>", "[PAD]", "<|endoftext|>"]))
            .ok_or_else(|| {
                EbtError::config(format!(
                    "{what}: no padding token (no padding section, <pad>, [PAD] or <|endoftext|>)"
                ))
            })?;
        let bos_id = find(&["<s>", "[CLS]", "<|endoftext|>"]).unwrap_or(pad_id);
        let eos_id = find(&["</s>", "[SEP]", "<|endoftext|>"]).unwrap_or(pad_id);
        // Added tokens may sit above the base vocabulary with gaps; the embedding must hold the
        // largest id.
        let max_id = tokenizer.get_vocab(true).into_values().max().unwrap_or(0);
        let vocab_size = tokenizer.get_vocab_size(true).max(max_id as usize + 1);
        Ok(TextTokenizer::Hf(Box::new(HfTokenizer {
            tokenizer,
            vocab_size,
            pad_id,
            bos_id,
            eos_id,
        })))
    }

    /// Token ids of every text: special tokens added, at most `max_length` ids, the start kept.
    /// Runs in parallel (rayon inside `tokenizers`).
    pub fn encode(&self, texts: &[String], max_length: usize) -> Result<Vec<Vec<u32>>, EbtError> {
        let h = match self {
            TextTokenizer::Bytes => {
                return Ok(texts
                    .iter()
                    .map(|t| tokens::encode(t, max_length))
                    .collect())
            }
            TextTokenizer::Hf(h) => h,
        };
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(ENCODE_CHUNK) {
            let inputs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let encodings = h.tokenizer.encode_batch_fast(inputs, true).map_err(|e| {
                EbtError::data(format!(
                    "data.tokenizer: cannot encode: {}",
                    one_line(&e.to_string())
                ))
            })?;
            out.extend(encodings.into_iter().map(|e| {
                let ids = e.get_ids();
                let mut ids = ids[..ids.len().min(max_length)].to_vec();
                // A text the tokenizer maps to nothing still needs one real position for the
                // models' readout (GPT-2: the last non-pad token).
                if ids.is_empty() {
                    ids.push(h.bos_id);
                }
                ids
            }));
        }
        Ok(out)
    }

    /// The text of `ids`, special tokens skipped (bytes: the bytes, lossily as UTF-8).
    pub fn decode(&self, ids: &[u32]) -> Result<String, EbtError> {
        match self {
            TextTokenizer::Bytes => {
                let bytes: Vec<u8> = ids.iter().filter_map(|&i| u8::try_from(i).ok()).collect();
                Ok(String::from_utf8_lossy(&bytes).into_owned())
            }
            TextTokenizer::Hf(h) => h.tokenizer.decode(ids, true).map_err(|e| {
                EbtError::data(format!(
                    "data.tokenizer: cannot decode: {}",
                    one_line(&e.to_string())
                ))
            }),
        }
    }

    /// What the models read: vocabulary size and special ids, for sequences of `max_length`.
    pub fn shape(&self, max_length: usize) -> DataShape {
        match self {
            TextTokenizer::Bytes => tokens::text_shape(max_length),
            TextTokenizer::Hf(h) => DataShape::Text {
                vocab_size: h.vocab_size,
                max_length,
                pad_id: h.pad_id,
                bos_id: h.bos_id,
                eos_id: h.eos_id,
            },
        }
    }

    /// The `tokenizer.json` text (`None` for bytes, which need no file).
    pub fn to_json(&self) -> Result<Option<String>, EbtError> {
        match self {
            TextTokenizer::Bytes => Ok(None),
            TextTokenizer::Hf(h) => h.tokenizer.to_string(false).map(Some).map_err(|e| {
                EbtError::data(format!(
                    "data.tokenizer: cannot serialise: {}",
                    one_line(&e.to_string())
                ))
            }),
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_depends_on_texts_order_and_vocab() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let k = bpe_cache_key(&t(&["ab", "c"]), 512);
        assert_eq!(k, bpe_cache_key(&t(&["ab", "c"]), 512));
        assert!(k.starts_with("bpe-512-"), "{k}");
        assert_ne!(k, bpe_cache_key(&t(&["a", "bc"]), 512));
        assert_ne!(k, bpe_cache_key(&t(&["c", "ab"]), 512));
        assert_ne!(k, bpe_cache_key(&t(&["ab", "c"]), 513));
    }
}

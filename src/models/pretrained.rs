//! `model.pretrained`: a Hugging Face checkpoint (hub repo id or local directory) as the starting
//! point of the search, i.e. fine-tuning instead of training from scratch.
//!
//! The checkpoint's `config.json` deserialises into our config of its `model_type` (our configs
//! mirror HF's fields), with `num_labels` set from the data. The safetensors weights (one file or
//! shards through `model.safetensors.index.json`) are renamed onto the names of the
//! `*ForSequenceClassification` / `*ForImageClassification` models (a bare `GPT2Model` checkpoint
//! like `gpt2` lacks the `transformer.` prefix, a `ViTModel` lacks `vit.`, ...), matched against
//! every parameter the model asks for, and checked shape by shape. What does not match is an
//! error naming the tensor, except the classification head, which starts fresh (with a note) when
//! the checkpoint has none or has one for another number of classes — the usual fine-tuning case.
//! GPT-2's `lm_head` is tied to `wte` and the pooler/LM heads are not part of a classifier, so they
//! are dropped with a note.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use candle_core::{Device, Tensor};

use super::{gpt2, roberta, swin, vit, ArchConfig, DropoutRng, ParamStore};
use crate::config::ModelSection;
use crate::data::DataShape;
use crate::error::EbtError;
use crate::hub::{Fetcher, HubEnv, RepoKind, Source};

const KEY: &str = "model.pretrained";

/// A checkpoint mapped onto one of our models.
#[derive(Debug)]
pub struct Pretrained {
    pub arch: ArchConfig,
    /// Every checkpoint tensor the model uses, under the model's names; parameters absent here
    /// (a fresh head) are initialised by the `ParamStore`.
    pub tensors: BTreeMap<String, Tensor>,
    /// What was adapted (fresh head, dropped tensors, resized position embeddings), for the user.
    pub notes: Vec<String>,
}

/// Loads `model.pretrained` for data of `shape` with `num_labels` classes.
pub fn load(
    m: &ModelSection,
    shape: &DataShape,
    num_labels: usize,
) -> Result<Pretrained, EbtError> {
    load_with_env(m, shape, num_labels, HubEnv::from_env())
}

/// `load` with an explicit hub environment (tests point it at a temporary cache).
pub fn load_with_env(
    m: &ModelSection,
    shape: &DataShape,
    num_labels: usize,
    env: HubEnv,
) -> Result<Pretrained, EbtError> {
    let spec = m
        .pretrained
        .as_deref()
        .ok_or_else(|| EbtError::config(format!("{KEY}: not set")))?;
    let source = Source::parse(KEY, spec, m.revision.as_deref(), RepoKind::Model)?;
    let mut fetcher = Fetcher::new(KEY, source, env);
    let weights = weight_files(&mut fetcher)?;
    let config_path = fetcher.fetch_all(&["config.json"])?.remove(0);
    let what = fetcher.source().describe();
    let arch = arch_from_config(&config_path, m, shape, num_labels, &what)?;
    let mut raw = HashMap::new();
    for f in &weights {
        let t = candle_core::safetensors::load(f, &Device::Cpu).map_err(|e| {
            EbtError::config(format!(
                "{KEY}: {}: not a safetensors file: {e}",
                f.display()
            ))
        })?;
        raw.extend(t);
    }
    match_tensors(arch, raw, &what)
}

/// `model.safetensors`, or the shards listed by `model.safetensors.index.json`.
fn weight_files(fetcher: &mut Fetcher) -> Result<Vec<PathBuf>, EbtError> {
    let single = match fetcher.fetch_optional("model.safetensors") {
        Ok(p) => p,
        // The hub cannot be asked: one error that names everything the run needs.
        Err(_) => return fetcher.fetch_all(&["config.json", "model.safetensors"]),
    };
    if let Some(p) = single {
        return Ok(vec![p]);
    }
    let Some(index) = fetcher.fetch_optional("model.safetensors.index.json")? else {
        // Ask for the single file so the error names it with the download hint.
        let bin = fetcher.fetch_optional("pytorch_model.bin").ok().flatten();
        if bin.is_some() {
            return Err(EbtError::config(format!(
                "{KEY}: {} has only pytorch_model.bin; convert it to model.safetensors \
                 (safetensors' convert script, or save_pretrained(safe_serialization=True))",
                fetcher.source().describe()
            )));
        }
        return fetcher.fetch_all(&["config.json", "model.safetensors"]);
    };
    let text = std::fs::read_to_string(&index).map_err(|e| EbtError::io(&index, e))?;
    let parsed: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| EbtError::config(format!("{KEY}: {}: bad JSON: {e}", index.display())))?;
    let mut shards: Vec<String> = parsed
        .get("weight_map")
        .and_then(|w| w.as_object())
        .ok_or_else(|| EbtError::config(format!("{KEY}: {}: no weight_map", index.display())))?
        .values()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    shards.sort();
    shards.dedup();
    let names: Vec<&str> = shards.iter().map(String::as_str).collect();
    fetcher.fetch_all(&names)
}

/// Our config of the checkpoint's family, fitted to the data.
fn arch_from_config(
    path: &std::path::Path,
    m: &ModelSection,
    shape: &DataShape,
    num_labels: usize,
    what: &str,
) -> Result<ArchConfig, EbtError> {
    let bad_json =
        |e: &dyn std::fmt::Display| EbtError::config(format!("{KEY}: {}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| EbtError::io(path, e))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad_json(&e))?;
    let model_type = json
        .get("model_type")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let family = match model_type.as_str() {
        "gpt2" | "roberta" | "vit" | "swin" => model_type.as_str(),
        "" => return Err(bad_json(&"config.json has no model_type")),
        other => {
            return Err(EbtError::config(format!(
                "{KEY}: {what} is a {other:?} checkpoint; supported model types are gpt2, roberta, vit and swin"
            )))
        }
    };
    if m.arch != family {
        return Err(EbtError::config(format!(
            "model.arch: {:?} but {KEY} = {what} is a {family} checkpoint; set model.arch = {family:?}",
            m.arch
        )));
    }
    let parse = |e: serde_json::Error| bad_json(&format!("does not fit a {family} config: {e}"));
    let arch = match family {
        "gpt2" => {
            let mut c: gpt2::Gpt2Config = serde_json::from_value(json.clone()).map_err(parse)?;
            let (_, max_len, pad) = text_fit(shape, c.vocab_size, what)?;
            if max_len > c.n_positions {
                return Err(too_long(max_len, c.n_positions, what));
            }
            c.num_labels = num_labels;
            c.pad_token_id = Some(pad);
            ArchConfig::Gpt2(c)
        }
        "roberta" => {
            let mut c: roberta::RobertaConfig =
                serde_json::from_value(json.clone()).map_err(parse)?;
            let (_, max_len, _) = text_fit(shape, c.vocab_size, what)?;
            // Positions start after the padding index, as in HF.
            let room = c
                .max_position_embeddings
                .saturating_sub(c.pad_token_id as usize + 1);
            if max_len > room {
                return Err(too_long(max_len, room, what));
            }
            c.num_labels = num_labels;
            ArchConfig::Roberta(c)
        }
        "vit" => {
            let mut c: vit::VitConfig = serde_json::from_value(json.clone()).map_err(parse)?;
            let (channels, side) = image_fit(shape, c.num_channels, c.patch_size, what)?;
            c.num_channels = channels;
            c.image_size = side;
            c.num_labels = num_labels;
            ArchConfig::Vit(c)
        }
        _ => {
            let mut c: swin::SwinConfig = serde_json::from_value(json.clone()).map_err(parse)?;
            let (channels, side) = image_fit(shape, c.num_channels, c.patch_size, what)?;
            c.num_channels = channels;
            c.image_size = side;
            c.num_labels = num_labels;
            ArchConfig::Swin(c)
        }
    };
    validate(&arch).map_err(|e| EbtError::config(format!("{KEY}: {what}: {e}")))?;
    Ok(arch)
}

fn validate(arch: &ArchConfig) -> Result<(), EbtError> {
    match arch {
        ArchConfig::Vit(c) => c.validate(),
        ArchConfig::Swin(c) => c.validate(),
        ArchConfig::Gpt2(c) => c.validate().map_err(|e| EbtError::config(e.to_string())),
        ArchConfig::Roberta(c) => c.validate().map_err(|e| EbtError::config(e.to_string())),
    }
}

/// (vocab, max length, pad id) of text data that fits a checkpoint with `vocab` embeddings.
fn text_fit(shape: &DataShape, vocab: usize, what: &str) -> Result<(usize, usize, u32), EbtError> {
    match shape {
        DataShape::Text {
            vocab_size,
            max_length,
            pad_id,
            ..
        } => {
            if *vocab_size > vocab {
                return Err(EbtError::config(format!(
                    "data.tokenizer: the tokenizer has {vocab_size} tokens but {what} embeds {vocab}; \
                     use the checkpoint's own tokenizer (data.tokenizer = \"auto\")"
                )));
            }
            Ok((*vocab_size, *max_length, *pad_id))
        }
        DataShape::Image { .. } => Err(EbtError::config(format!(
            "data.source: {what} is a text model but the data are images"
        ))),
    }
}

fn too_long(max_len: usize, room: usize, what: &str) -> EbtError {
    EbtError::config(format!(
        "data.max_length: {max_len} tokens, but {what} has {room} positions; lower data.max_length"
    ))
}

/// (channels, side) of image data that fits a checkpoint: same channels, side a multiple of the patch.
fn image_fit(
    shape: &DataShape,
    channels: usize,
    patch: usize,
    what: &str,
) -> Result<(usize, usize), EbtError> {
    match shape {
        DataShape::Image {
            channels: c,
            height,
            width,
        } => {
            if *c != channels {
                return Err(EbtError::config(format!(
                    "data: the images have {c} channel(s) but {what} expects {channels} \
                     (image-folder: set data.channels = {channels})"
                )));
            }
            if height != width || !height.is_multiple_of(patch) {
                return Err(EbtError::config(format!(
                    "data: {height}×{width} images do not cut into {patch}-pixel patches of {what}; \
                     use square images with a side that is a multiple of {patch} (image-folder: data.image_size)"
                )));
            }
            Ok((*c, *height))
        }
        DataShape::Text { .. } => Err(EbtError::config(format!(
            "data.source: {what} is a vision model but the data are text"
        ))),
    }
}

/// The name a checkpoint tensor has in our classifier of the same family.
fn our_name(arch: &ArchConfig, name: &str) -> String {
    let (prefix, bare) = match arch {
        ArchConfig::Gpt2(_) => ("transformer.", &["wte.", "wpe.", "h.", "ln_f."][..]),
        ArchConfig::Roberta(_) => ("roberta.", &["embeddings.", "encoder.", "pooler."][..]),
        ArchConfig::Vit(_) => (
            "vit.",
            &["embeddings.", "encoder.", "layernorm.", "pooler."][..],
        ),
        ArchConfig::Swin(_) => (
            "swin.",
            &["embeddings.", "encoder.", "layernorm.", "pooler."][..],
        ),
    };
    if bare.iter().any(|b| name.starts_with(b)) {
        format!("{prefix}{name}")
    } else {
        name.to_string()
    }
}

fn is_head(arch: &ArchConfig, name: &str) -> bool {
    match arch {
        ArchConfig::Gpt2(_) => name.starts_with("score."),
        _ => name.starts_with("classifier."),
    }
}

/// Renames, matches and shape-checks the checkpoint against every parameter the model asks for.
fn match_tensors(
    arch: ArchConfig,
    raw: HashMap<String, Tensor>,
    what: &str,
) -> Result<Pretrained, EbtError> {
    let mut ckpt: BTreeMap<String, Tensor> = raw
        .into_iter()
        .map(|(k, v)| (our_name(&arch, &k), v))
        .collect();
    let wanted = parameter_shapes(&arch)?;
    let mut tensors = BTreeMap::new();
    let mut notes = Vec::new();
    let mut missing = Vec::new();
    let mut fresh_head = Vec::new();
    for (name, dims) in &wanted {
        match ckpt.remove(name) {
            Some(t) if t.dims() == dims.as_slice() => {
                tensors.insert(name.clone(), t);
            }
            Some(_) if is_head(&arch, name) => fresh_head.push(name.clone()),
            Some(t) if name.ends_with("embeddings.position_embeddings") && arch.is_vision() => {
                let resized = resize_positions(&t, dims)?;
                notes.push(format!(
                    "position embeddings resized from {:?} to {:?} (bilinear over the patch grid) for the data's image size",
                    t.dims(),
                    dims
                ));
                tensors.insert(name.clone(), resized);
            }
            Some(t) => {
                return Err(EbtError::config(format!(
                    "{KEY}: {what}: tensor {name} has shape {:?} but the model needs {:?}",
                    t.dims(),
                    dims,
                )))
            }
            None if is_head(&arch, name) => fresh_head.push(name.clone()),
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(4).map(String::as_str).collect();
        return Err(EbtError::config(format!(
            "{KEY}: {what} lacks {} of the {} tensors a {} model needs, e.g. {} (is it a {} checkpoint with HF names?)",
            missing.len(),
            wanted.len(),
            arch.name(),
            shown.join(", "),
            arch.name()
        )));
    }
    if !fresh_head.is_empty() {
        notes.push(format!(
            "fresh classification head for {} classes ({}): the checkpoint has none for this task",
            arch.num_labels(),
            fresh_head.join(", ")
        ));
    }
    if !ckpt.is_empty() {
        let shown: Vec<&str> = ckpt.keys().take(3).map(String::as_str).collect();
        notes.push(format!(
            "{} checkpoint tensors not used by the classifier (LM head tied to the embeddings, pooler, buffers), e.g. {}",
            ckpt.len(),
            shown.join(", ")
        ));
    }
    Ok(Pretrained {
        arch,
        tensors,
        notes,
    })
}

/// Every parameter name and shape the model of `arch` asks for (built once on a scratch store).
fn parameter_shapes(arch: &ArchConfig) -> Result<BTreeMap<String, Vec<usize>>, EbtError> {
    let store = ParamStore::new(0, &Device::Cpu);
    arch.build(store.train_builder(), DropoutRng::new(0))?;
    Ok(store
        .vars()
        .into_iter()
        .map(|(k, v)| (k, v.as_tensor().dims().to_vec()))
        .collect())
}

/// ViT position embeddings `(1, 1 + g², H)` resized to `(1, 1 + n², H)`: the CLS row is kept and
/// the `g×g` grid is resampled bilinearly (HF's `interpolate_pos_encoding` is bicubic; bilinear
/// is within fine-tuning noise and needs no kernel we would write by hand twice).
fn resize_positions(t: &Tensor, dims: &[usize]) -> Result<Tensor, EbtError> {
    let (_, from, h) = t.dims3()?;
    let to = dims[1];
    let (g, n) = (isqrt(from - 1), isqrt(to - 1));
    if g * g + 1 != from || n * n + 1 != to {
        return Err(EbtError::config(format!(
            "{KEY}: position embeddings {:?} cannot be resized to {dims:?}",
            t.dims()
        )));
    }
    let src: Vec<f32> = t
        .to_dtype(candle_core::DType::F32)?
        .flatten_all()?
        .to_vec1()?;
    let mut out = Vec::with_capacity(to * h);
    out.extend_from_slice(&src[..h]);
    let scale = g as f32 / n as f32;
    let at = |y: usize, x: usize, c: usize| src[(1 + y * g + x) * h + c];
    for oy in 0..n {
        let fy = ((oy as f32 + 0.5) * scale - 0.5).clamp(0.0, (g - 1) as f32);
        let (y0, wy) = (fy.floor() as usize, fy - fy.floor());
        let y1 = (y0 + 1).min(g - 1);
        for ox in 0..n {
            let fx = ((ox as f32 + 0.5) * scale - 0.5).clamp(0.0, (g - 1) as f32);
            let (x0, wx) = (fx.floor() as usize, fx - fx.floor());
            let x1 = (x0 + 1).min(g - 1);
            for c in 0..h {
                let top = at(y0, x0, c) * (1.0 - wx) + at(y0, x1, c) * wx;
                let bottom = at(y1, x0, c) * (1.0 - wx) + at(y1, x1, c) * wx;
                out.push(top * (1.0 - wy) + bottom * wy);
            }
        }
    }
    Ok(Tensor::from_vec(out, (1, to, h), &Device::Cpu)?)
}

fn isqrt(n: usize) -> usize {
    (n as f64).sqrt().round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_checkpoint_names_get_the_classifier_prefix() {
        let g = ArchConfig::Gpt2(gpt2::Gpt2Config::tiny(10, 2));
        assert_eq!(
            our_name(&g, "h.0.ln_1.weight"),
            "transformer.h.0.ln_1.weight"
        );
        assert_eq!(our_name(&g, "wte.weight"), "transformer.wte.weight");
        assert_eq!(our_name(&g, "score.weight"), "score.weight");
        assert_eq!(
            our_name(&g, "transformer.ln_f.bias"),
            "transformer.ln_f.bias"
        );
    }

    #[test]
    fn resized_positions_keep_cls_and_a_constant_grid() {
        // A grid whose every position holds the same vector stays that vector at any size.
        let h = 3;
        let mut v = vec![9.0f32; h];
        v.extend(std::iter::repeat_n([1.0f32, 2.0, 3.0], 16).flatten());
        let t = Tensor::from_vec(v, (1, 17, h), &Device::Cpu).unwrap();
        let r = resize_positions(&t, &[1, 5, h]).unwrap();
        let got: Vec<f32> = r.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(&got[..3], &[9.0, 9.0, 9.0]);
        for p in 1..5 {
            assert_eq!(&got[p * h..(p + 1) * h], &[1.0, 2.0, 3.0]);
        }
    }
}

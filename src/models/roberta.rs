//! RoBERTa (Liu et al. 2019) as Hugging Face's `RobertaForSequenceClassification`: a post-LN
//! bidirectional encoder (BERT's layout) whose head reads the first token `<s>`.
//!
//! ```text
//! ids (B, T) ─► word + position + token_type(0) ─► LayerNorm ─► dropout
//!   ─► [ x = LN(x + attn(x)) ; x = LN(x + ffn(x)) ] × num_hidden_layers        (padding keys masked)
//!   ─► h[:, 0] ─► dropout ─► dense ─► tanh ─► dropout ─► out_proj
//! ```
//!
//! Position ids follow HF: `pad_token_id + cumsum(mask)` for real tokens and `pad_token_id` for pads,
//! so real positions start at `pad_token_id + 1` and `max_position_embeddings` must exceed
//! `T + pad_token_id`. Every parameter has its HF name and init; the head dimension
//! `hidden_size / num_attention_heads` stays fixed under pruning.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::gpt2::{check_experiment, check_per_layer, parse_activation, per_layer, text_dims};
use super::layers::{
    softmax_last, Activation, DropoutRng, Embedding, LayerNorm, Linear, MASK_VALUE,
};
use super::{ArchSpec, Classifier, ModelInput, ModelStructure, UnitGroup, UnitKind, UnitSlice};
use crate::config::ModelSection;
use crate::data::DataShape;
use crate::error::EbtError;

/// The fields of HF's `RobertaConfig` that shape the classifier, plus per-layer unit counts.
///
/// Missing fields take HF's `RobertaConfig` defaults and unknown ones (`bos_token_id`,
/// `position_embedding_type`, ...) are ignored, so a real `config.json` deserialises.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RobertaConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    /// Heads per unpruned layer; also fixes the head dimension `hidden_size / num_attention_heads`.
    pub num_attention_heads: usize,
    /// FFN width of an unpruned layer.
    pub intermediate_size: usize,
    pub hidden_act: Activation,
    /// Dropout on embeddings and after the attention and FFN output projections.
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities.
    pub attention_probs_dropout_prob: f64,
    /// Rows of the position table; real tokens use rows `pad_token_id + 1 ..= pad_token_id + T`.
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    /// Std of the normal init of weights and embeddings.
    pub initializer_range: f64,
    pub layer_norm_eps: f64,
    /// Also the position id of pads (HF's `padding_idx`).
    pub pad_token_id: u32,
    /// Dropout in the classification head; `None` means `hidden_dropout_prob`, as in HF.
    pub classifier_dropout: Option<f64>,
    /// Classes of the head (HF's default is 2 when `config.json` does not say).
    pub num_labels: usize,
    /// Heads of each layer after structured pruning (`None`: `num_attention_heads` everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_heads: Option<Vec<usize>>,
    /// FFN width of each layer after structured pruning (`None`: `intermediate_size` everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_intermediate: Option<Vec<usize>>,
}

impl Default for RobertaConfig {
    /// HF `RobertaConfig()` with a two-class head.
    fn default() -> Self {
        Self {
            vocab_size: 50265,
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            hidden_act: Activation::Gelu,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            initializer_range: 0.02,
            layer_norm_eps: 1e-12,
            pad_token_id: 1,
            classifier_dropout: None,
            num_labels: 2,
            layer_heads: None,
            layer_intermediate: None,
        }
    }
}

impl RobertaConfig {
    /// Maps the experiment's `[model]` section and the text data onto a RoBERTa config, sized as
    /// `roberta-base` is (one token type, LayerNorm eps 1e-5) with exactly enough positions for
    /// `max_length` tokens after the `pad_id` offset.
    pub fn from_experiment(
        m: &ModelSection,
        shape: &DataShape,
        num_labels: usize,
    ) -> crate::error::Result<Self> {
        let (vocab_size, max_length, pad_id) = text_dims(m, shape, "RoBERTa")?;
        check_experiment(m, num_labels)?;
        let cfg = Self {
            vocab_size,
            hidden_size: m.hidden_size,
            num_hidden_layers: m.num_layers,
            num_attention_heads: m.num_heads,
            intermediate_size: m.intermediate_size,
            hidden_act: parse_activation(&m.hidden_act)?,
            hidden_dropout_prob: m.dropout,
            attention_probs_dropout_prob: m.attention_dropout,
            max_position_embeddings: max_length + pad_id as usize + 1,
            type_vocab_size: 1,
            initializer_range: m.initializer_range,
            layer_norm_eps: 1e-5,
            pad_token_id: pad_id,
            classifier_dropout: None,
            num_labels,
            layer_heads: None,
            layer_intermediate: None,
        };
        cfg.validate()
            .map_err(|e| EbtError::config(e.to_string()))?;
        Ok(cfg)
    }

    /// A tiny model for tests: width 16, 2 layers of 2 heads, FFN 32, 12 tokens (pad id 1), no dropout.
    pub fn tiny(vocab_size: usize, num_labels: usize) -> Self {
        Self {
            vocab_size,
            hidden_size: 16,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            intermediate_size: 32,
            hidden_dropout_prob: 0.0,
            attention_probs_dropout_prob: 0.0,
            max_position_embeddings: 12 + 1 + 1,
            type_vocab_size: 1,
            layer_norm_eps: 1e-5,
            pad_token_id: 1,
            num_labels,
            ..Self::default()
        }
    }

    /// Size of every head, pruned or not.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Heads of layer `i`.
    pub fn heads(&self, i: usize) -> usize {
        per_layer(&self.layer_heads, i).unwrap_or(self.num_attention_heads)
    }

    /// FFN width of layer `i`.
    pub fn intermediate(&self, i: usize) -> usize {
        per_layer(&self.layer_intermediate, i).unwrap_or(self.intermediate_size)
    }

    /// Longest sequence the position table holds.
    pub fn max_length(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.pad_token_id as usize + 1)
    }

    /// Checks what the forward pass relies on; each message names the field at fault.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("type_vocab_size", self.type_vocab_size),
            ("num_labels", self.num_labels),
        ];
        for (field, v) in positive {
            if v == 0 {
                candle_core::bail!("roberta config: {field} must be at least 1");
            }
        }
        if self.hidden_size == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            candle_core::bail!(
                "roberta config: hidden_size = {} must be a positive multiple of num_attention_heads = {}",
                self.hidden_size,
                self.num_attention_heads
            );
        }
        if self.max_length() == 0 {
            candle_core::bail!(
                "roberta config: max_position_embeddings = {} leaves no position after pad_token_id = {}",
                self.max_position_embeddings,
                self.pad_token_id
            );
        }
        for (field, p) in [
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
            ("classifier_dropout", self.classifier_dropout.unwrap_or(0.0)),
        ] {
            if !(0.0..1.0).contains(&p) {
                candle_core::bail!("roberta config: {field} = {p} is not in [0, 1)");
            }
        }
        check_per_layer(
            "roberta config: layer_heads",
            &self.layer_heads,
            self.num_hidden_layers,
        )?;
        check_per_layer(
            "roberta config: layer_intermediate",
            &self.layer_intermediate,
            self.num_hidden_layers,
        )
    }
}

/// Prefix of layer `i`'s parameter names.
fn layer(i: usize) -> String {
    format!("roberta.encoder.layer.{i}")
}

impl ArchSpec for RobertaConfig {
    fn build(&self, vb: VarBuilder, dropout: DropoutRng) -> Result<Box<dyn Classifier>> {
        Ok(Box::new(RobertaModel::new(self, vb, dropout)?))
    }

    fn structure(&self) -> ModelStructure {
        let d = self.head_dim();
        let mut prunable_weights = Vec::new();
        let mut groups = Vec::new();
        for i in 0..self.num_hidden_layers {
            let p = layer(i);
            for w in [
                "attention.self.query",
                "attention.self.key",
                "attention.self.value",
                "attention.output.dense",
                "intermediate.dense",
                "output.dense",
            ] {
                prunable_weights.push((format!("{p}.{w}.weight"), i));
            }
            let slice = |tensor: String, axis, unit_len, scored| UnitSlice {
                tensor,
                axis,
                offset: 0,
                unit_len,
                scored,
            };
            // Linear weights are [out, in]: a head owns d output rows of q, k, v and d input
            // columns of the output projection.
            let mut head_slices = Vec::new();
            for qkv in ["query", "key", "value"] {
                head_slices.push(slice(
                    format!("{p}.attention.self.{qkv}.weight"),
                    0,
                    d,
                    true,
                ));
                head_slices.push(slice(format!("{p}.attention.self.{qkv}.bias"), 0, d, false));
            }
            head_slices.push(slice(
                format!("{p}.attention.output.dense.weight"),
                1,
                d,
                true,
            ));
            groups.push(UnitGroup {
                kind: UnitKind::Head,
                layer: i,
                count: self.heads(i),
                slices: head_slices,
            });
            groups.push(UnitGroup {
                kind: UnitKind::Neuron,
                layer: i,
                count: self.intermediate(i),
                slices: vec![
                    slice(format!("{p}.intermediate.dense.weight"), 0, 1, true),
                    slice(format!("{p}.intermediate.dense.bias"), 0, 1, false),
                    slice(format!("{p}.output.dense.weight"), 1, 1, true),
                ],
            });
        }
        ModelStructure {
            prunable_weights,
            groups,
            num_layers: self.num_hidden_layers,
        }
    }

    fn with_units(&self, heads: &[usize], neurons: &[usize]) -> Self {
        Self {
            layer_heads: Some(heads.to_vec()),
            layer_intermediate: Some(neurons.to_vec()),
            ..self.clone()
        }
    }

    fn num_labels(&self) -> usize {
        self.num_labels
    }
}

/// Dropout probabilities and the seeded stream they draw from.
#[derive(Clone)]
struct Dropouts {
    rng: DropoutRng,
    hidden: f64,
    attn: f64,
    classifier: f64,
}

/// Word + position + token-type embeddings, then LayerNorm and dropout.
struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
    pad_id: u32,
}

impl Embeddings {
    /// ids: (B, T) u32, mask: (B, T) f32 → (B, T, H)
    fn forward(&self, ids: &Tensor, mask: &Tensor, drop: &Dropouts, train: bool) -> Result<Tensor> {
        let (_, t) = ids.dims2()?;
        let rows = self.position.weight.dim(0)?;
        if t + self.pad_id as usize >= rows {
            candle_core::bail!(
                "roberta: {t} tokens need max_position_embeddings > {t} + pad_token_id {}, have {rows}",
                self.pad_id
            );
        }
        let pos = position_ids(mask, self.pad_id)?; // (B, T)
        let token_type = self.token_type.weight.narrow(0, 0, 1)?; // (1, H): every token has type 0
        let x =
            (self.word.forward(ids)? + self.position.forward(&pos)?)?.broadcast_add(&token_type)?;
        drop.rng
            .dropout(&self.norm.forward(&x)?, drop.hidden, train)
    }
}

/// HF's `create_position_ids_from_input_ids`, read from the mask: pads sit at `pad_id` (HF's
/// `padding_idx`), real tokens count up from `pad_id + 1`. mask: (B, T) f32 → (B, T) u32
fn position_ids(mask: &Tensor, pad_id: u32) -> Result<Tensor> {
    (mask.cumsum(1)? * mask)?
        .affine(1.0, pad_id as f64)?
        .to_dtype(DType::U32)
}

/// Bidirectional multi-head self-attention with its output projection (post-LN).
struct Attention {
    query: Linear,
    key: Linear,
    value: Linear,
    out: Linear,
    norm: LayerNorm,
    heads: usize,
    head_dim: usize,
}

impl Attention {
    /// x: (B, T, H); bias: (B, 1, 1, T) additive padding mask → LN(x + attn(x)), (B, T, H)
    fn forward(&self, x: &Tensor, bias: &Tensor, drop: &Dropouts, train: bool) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let split = |lin: &Linear| -> Result<Tensor> {
            lin.forward(x)? // (B, T, heads*D)
                .reshape((b, t, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous() // (B, heads, T, D)
        };
        let (q, k, v) = (split(&self.query)?, split(&self.key)?, split(&self.value)?);
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(bias)?; // (B, heads, T, T)
        let probs = drop
            .rng
            .dropout(&softmax_last(&scores)?, drop.attn, train)?;
        let ctx = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, t, self.heads * self.head_dim))?; // (B, T, heads*D)
        let a = drop
            .rng
            .dropout(&self.out.forward(&ctx)?, drop.hidden, train)?;
        self.norm.forward(&(a + x)?)
    }
}

/// Position-wise FFN with its residual and LayerNorm (post-LN).
struct FeedForward {
    intermediate: Linear,
    output: Linear,
    norm: LayerNorm,
    act: Activation,
}

impl FeedForward {
    /// x: (B, T, H) → LN(x + ffn(x)), (B, T, H)
    fn forward(&self, x: &Tensor, drop: &Dropouts, train: bool) -> Result<Tensor> {
        let h = self.act.forward(&self.intermediate.forward(x)?)?; // (B, T, intermediate)
        let o = drop
            .rng
            .dropout(&self.output.forward(&h)?, drop.hidden, train)?;
        self.norm.forward(&(o + x)?)
    }
}

/// One encoder layer.
struct Layer {
    attention: Attention,
    ffn: FeedForward,
}

impl Layer {
    fn new(cfg: &RobertaConfig, i: usize, vb: VarBuilder) -> Result<Self> {
        let h = cfg.hidden_size;
        let hd = cfg.heads(i) * cfg.head_dim();
        let inter = cfg.intermediate(i);
        let std = cfg.initializer_range;
        let eps = cfg.layer_norm_eps;
        let att = vb.pp("attention");
        Ok(Self {
            attention: Attention {
                query: Linear::new(h, hd, true, std, att.pp("self").pp("query"))?,
                key: Linear::new(h, hd, true, std, att.pp("self").pp("key"))?,
                value: Linear::new(h, hd, true, std, att.pp("self").pp("value"))?,
                out: Linear::new(hd, h, true, std, att.pp("output").pp("dense"))?,
                norm: LayerNorm::new(h, eps, att.pp("output").pp("LayerNorm"))?,
                heads: cfg.heads(i),
                head_dim: cfg.head_dim(),
            },
            ffn: FeedForward {
                intermediate: Linear::new(h, inter, true, std, vb.pp("intermediate").pp("dense"))?,
                output: Linear::new(inter, h, true, std, vb.pp("output").pp("dense"))?,
                norm: LayerNorm::new(h, eps, vb.pp("output").pp("LayerNorm"))?,
                act: cfg.hidden_act,
            },
        })
    }

    /// x: (B, T, H) → (B, T, H)
    fn forward(&self, x: &Tensor, bias: &Tensor, drop: &Dropouts, train: bool) -> Result<Tensor> {
        let x = self.attention.forward(x, bias, drop, train)?;
        self.ffn.forward(&x, drop, train)
    }
}

/// `RobertaClassificationHead`: reads `<s>`.
struct Head {
    dense: Linear,
    out_proj: Linear,
}

/// `RobertaForSequenceClassification`.
struct RobertaModel {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    head: Head,
    drop: Dropouts,
}

impl RobertaModel {
    fn new(cfg: &RobertaConfig, vb: VarBuilder, dropout: DropoutRng) -> Result<Self> {
        cfg.validate()?;
        let h = cfg.hidden_size;
        let std = cfg.initializer_range;
        let emb = vb.pp("roberta").pp("embeddings");
        let embeddings = Embeddings {
            word: Embedding::new(cfg.vocab_size, h, std, emb.pp("word_embeddings"))?,
            position: Embedding::new(
                cfg.max_position_embeddings,
                h,
                std,
                emb.pp("position_embeddings"),
            )?,
            token_type: Embedding::new(
                cfg.type_vocab_size,
                h,
                std,
                emb.pp("token_type_embeddings"),
            )?,
            norm: LayerNorm::new(h, cfg.layer_norm_eps, emb.pp("LayerNorm"))?,
            pad_id: cfg.pad_token_id,
        };
        let enc = vb.pp("roberta").pp("encoder").pp("layer");
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Layer::new(cfg, i, enc.pp(i)))
            .collect::<Result<Vec<_>>>()?;
        let cls = vb.pp("classifier");
        let head = Head {
            dense: Linear::new(h, h, true, std, cls.pp("dense"))?,
            out_proj: Linear::new(h, cfg.num_labels, true, std, cls.pp("out_proj"))?,
        };
        Ok(Self {
            embeddings,
            layers,
            head,
            drop: Dropouts {
                rng: dropout,
                hidden: cfg.hidden_dropout_prob,
                attn: cfg.attention_probs_dropout_prob,
                classifier: cfg.classifier_dropout.unwrap_or(cfg.hidden_dropout_prob),
            },
        })
    }
}

impl Classifier for RobertaModel {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let ModelInput::Tokens { ids, mask } = input else {
            candle_core::bail!("roberta reads token ids, but the batch holds images");
        };
        let (b, t) = ids.dims2()?;
        if mask.dims() != [b, t] {
            candle_core::bail!(
                "roberta: mask shape {:?} differs from ids shape {:?}",
                mask.dims(),
                ids.dims()
            );
        }
        let mask = mask.to_dtype(DType::F32)?;
        let mut x = self.embeddings.forward(ids, &mask, &self.drop, train)?; // (B, T, H)

        // Pads are hidden from every query; a pad query still sees the real keys, so no row is all -1e9.
        let bias = mask
            .affine(-MASK_VALUE, MASK_VALUE)?
            .reshape((b, 1, 1, t))?;
        for l in &self.layers {
            x = l.forward(&x, &bias, &self.drop, train)?;
        }
        let d = &self.drop;
        let first = x.narrow(1, 0, 1)?.squeeze(1)?; // (B, H): `<s>`
        let z = d.rng.dropout(&first, d.classifier, train)?;
        let z = self.head.dense.forward(&z)?.tanh()?;
        let z = d.rng.dropout(&z, d.classifier, train)?;
        self.head.out_proj.forward(&z) // (B, num_labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ParamStore;
    use candle_core::Device;

    /// Position ids as HF computes them for `<s> a b </s> <pad> <pad>` with padding_idx 1.
    #[test]
    fn position_ids_follow_hf() -> Result<()> {
        let dev = Device::Cpu;
        let mask = Tensor::new(
            &[[1f32, 1., 1., 1., 0., 0.], [1., 1., 1., 1., 1., 1.]],
            &dev,
        )?;
        let pos = position_ids(&mask, 1)?;
        assert_eq!(
            pos.to_vec2::<u32>()?,
            vec![vec![2, 3, 4, 5, 1, 1], vec![2, 3, 4, 5, 6, 7]]
        );
        Ok(())
    }

    #[test]
    fn too_long_input_names_the_limit() -> Result<()> {
        let dev = Device::Cpu;
        let cfg = RobertaConfig::tiny(20, 2);
        let model = cfg.build(ParamStore::new(0, &dev).train_builder(), DropoutRng::new(0))?;
        let ids = Tensor::zeros((1, 13), DType::U32, &dev)?;
        let mask = Tensor::ones((1, 13), DType::F32, &dev)?;
        let err = match model.forward(&ModelInput::Tokens { ids, mask }, false) {
            Ok(_) => panic!("13 tokens fit a 12-token position table"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("max_position_embeddings"), "{err}");
        let ids = Tensor::zeros((1, 12), DType::U32, &dev)?;
        let mask = Tensor::ones((1, 12), DType::F32, &dev)?;
        assert_eq!(
            model
                .forward(&ModelInput::Tokens { ids, mask }, false)?
                .dims(),
            [1, 2]
        );
        Ok(())
    }
}

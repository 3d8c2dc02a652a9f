//! GPT-2 (Radford et al. 2019) as Hugging Face's `GPT2ForSequenceClassification`: a pre-LN causal
//! decoder whose linear `score` head reads the hidden state of the last real token of each row.
//!
//! ```text
//! ids (B, T) ─► wte + wpe ─► dropout ─► [ x + attn(ln_1 x) ; x + mlp(ln_2 x) ] × n_layer ─► ln_f
//!                                          causal + padding mask                              │
//!                                              last real token (index = sum(mask) - 1) ◄──────┘ ─► score
//! ```
//!
//! Every parameter has its HF name (`transformer.h.{i}.attn.c_attn.weight`, ...) and its HF init, so a
//! pruned checkpoint is an HF state dict plus our config with per-layer head counts and FFN widths.
//! Weights of `Conv1D` layers are stored `[in, out]` as in HF; `c_attn` fuses q | k | v on its output axis.
//! The head dimension `n_embd / n_head` stays fixed under pruning: a pruned layer has fewer heads.

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::layers::{
    softmax_last, Activation, Conv1D, DropoutRng, Embedding, LayerNorm, Linear, MASK_VALUE,
};
use super::{ArchSpec, Classifier, ModelInput, ModelStructure, UnitGroup, UnitKind, UnitSlice};
use crate::config::ModelSection;
use crate::data::DataShape;
use crate::error::EbtError;

/// The fields of HF's `GPT2Config` that shape the classifier, plus per-layer unit counts.
///
/// Missing fields take HF's `GPT2Config` defaults and unknown ones (`n_ctx`, `bos_token_id`, ...) are
/// ignored, so a real `config.json` deserialises; `pruned_config.json` is this struct written back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Gpt2Config {
    pub vocab_size: usize,
    /// Number of position embeddings: the longest sequence the model accepts.
    pub n_positions: usize,
    /// Width of the residual stream.
    pub n_embd: usize,
    pub n_layer: usize,
    /// Heads per unpruned layer; also fixes the head dimension `n_embd / n_head`.
    pub n_head: usize,
    /// FFN width of an unpruned layer; `None` means `4 * n_embd`, as in HF.
    pub n_inner: Option<usize>,
    pub activation_function: Activation,
    /// Dropout after the attention and MLP projections.
    pub resid_pdrop: f64,
    /// Dropout on the summed token and position embeddings.
    pub embd_pdrop: f64,
    /// Dropout on attention probabilities.
    pub attn_pdrop: f64,
    pub layer_norm_epsilon: f64,
    /// Std of the normal init of weights and embeddings.
    pub initializer_range: f64,
    /// HF finds the last real token through this id; we read it from the attention mask instead.
    pub pad_token_id: Option<u32>,
    /// Classes of the `score` head (HF's default is 2 when `config.json` does not say).
    pub num_labels: usize,
    /// Heads of each layer after structured pruning (`None`: `n_head` everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_heads: Option<Vec<usize>>,
    /// FFN width of each layer after structured pruning (`None`: `n_inner` everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_inner: Option<Vec<usize>>,
}

impl Default for Gpt2Config {
    /// HF `GPT2Config()` (the 124M model) with a two-class head.
    fn default() -> Self {
        Self {
            vocab_size: 50257,
            n_positions: 1024,
            n_embd: 768,
            n_layer: 12,
            n_head: 12,
            n_inner: None,
            activation_function: Activation::GeluNew,
            resid_pdrop: 0.1,
            embd_pdrop: 0.1,
            attn_pdrop: 0.1,
            layer_norm_epsilon: 1e-5,
            initializer_range: 0.02,
            pad_token_id: None,
            num_labels: 2,
            layer_heads: None,
            layer_inner: None,
        }
    }
}

impl Gpt2Config {
    /// Maps the experiment's `[model]` section and the text data onto a GPT-2 config: the context is
    /// exactly `max_length` tokens, `dropout` goes to the residual and embedding dropouts.
    pub fn from_experiment(
        m: &ModelSection,
        shape: &DataShape,
        num_labels: usize,
    ) -> crate::error::Result<Self> {
        let (vocab_size, max_length, pad_id) = text_dims(m, shape, "GPT-2")?;
        check_experiment(m, num_labels)?;
        let cfg = Self {
            vocab_size,
            n_positions: max_length,
            n_embd: m.hidden_size,
            n_layer: m.num_layers,
            n_head: m.num_heads,
            n_inner: Some(m.intermediate_size),
            activation_function: parse_activation(&m.hidden_act)?,
            resid_pdrop: m.dropout,
            embd_pdrop: m.dropout,
            attn_pdrop: m.attention_dropout,
            layer_norm_epsilon: 1e-5,
            initializer_range: m.initializer_range,
            pad_token_id: Some(pad_id),
            num_labels,
            layer_heads: None,
            layer_inner: None,
        };
        cfg.validate()
            .map_err(|e| EbtError::config(e.to_string()))?;
        Ok(cfg)
    }

    /// A tiny model for tests: width 16, 2 layers of 2 heads, FFN 32, 12 positions, no dropout.
    pub fn tiny(vocab_size: usize, num_labels: usize) -> Self {
        Self {
            vocab_size,
            n_positions: 12,
            n_embd: 16,
            n_layer: 2,
            n_head: 2,
            n_inner: Some(32),
            resid_pdrop: 0.0,
            embd_pdrop: 0.0,
            attn_pdrop: 0.0,
            pad_token_id: Some(0),
            num_labels,
            ..Self::default()
        }
    }

    /// Size of every head, pruned or not.
    pub fn head_dim(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// Heads of layer `i`.
    pub fn heads(&self, i: usize) -> usize {
        per_layer(&self.layer_heads, i).unwrap_or(self.n_head)
    }

    /// FFN width of layer `i`.
    pub fn inner(&self, i: usize) -> usize {
        per_layer(&self.layer_inner, i).unwrap_or(self.n_inner.unwrap_or(4 * self.n_embd))
    }

    /// Checks what the forward pass relies on; each message names the field at fault.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("n_positions", self.n_positions),
            ("n_layer", self.n_layer),
            ("n_head", self.n_head),
            ("num_labels", self.num_labels),
        ];
        for (field, v) in positive {
            if v == 0 {
                candle_core::bail!("gpt2 config: {field} must be at least 1");
            }
        }
        if self.n_embd == 0 || !self.n_embd.is_multiple_of(self.n_head) {
            candle_core::bail!(
                "gpt2 config: n_embd = {} must be a positive multiple of n_head = {}",
                self.n_embd,
                self.n_head
            );
        }
        if self.n_inner == Some(0) {
            candle_core::bail!("gpt2 config: n_inner must be at least 1");
        }
        for (field, p) in [
            ("resid_pdrop", self.resid_pdrop),
            ("embd_pdrop", self.embd_pdrop),
            ("attn_pdrop", self.attn_pdrop),
        ] {
            if !(0.0..1.0).contains(&p) {
                candle_core::bail!("gpt2 config: {field} = {p} is not in [0, 1)");
            }
        }
        check_per_layer("gpt2 config: layer_heads", &self.layer_heads, self.n_layer)?;
        check_per_layer("gpt2 config: layer_inner", &self.layer_inner, self.n_layer)
    }
}

/// `Some(v[i])` if per-layer values are set (shared with RoBERTa).
pub(crate) fn per_layer(values: &Option<Vec<usize>>, i: usize) -> Option<usize> {
    values.as_ref().and_then(|v| v.get(i).copied())
}

/// A per-layer list must have one positive entry per layer (shared with RoBERTa).
pub(crate) fn check_per_layer(
    what: &str,
    values: &Option<Vec<usize>>,
    n_layer: usize,
) -> Result<()> {
    if let Some(v) = values {
        if v.len() != n_layer {
            candle_core::bail!("{what} has {} entries for {n_layer} layers", v.len());
        }
        if let Some(i) = v.iter().position(|&n| n == 0) {
            candle_core::bail!("{what}[{i}] is 0 (every layer keeps at least one unit)");
        }
    }
    Ok(())
}

/// The `[model]` keys GPT-2 and RoBERTa both need, checked with the key named.
/// (vocab size, max length, pad id) of text data; images are an error naming `model.arch`.
pub(crate) fn text_dims(
    m: &ModelSection,
    shape: &DataShape,
    family: &str,
) -> crate::error::Result<(usize, usize, u32)> {
    match shape {
        DataShape::Text {
            vocab_size,
            max_length,
            pad_id,
            ..
        } => Ok((*vocab_size, *max_length, *pad_id)),
        DataShape::Image { .. } => Err(EbtError::config(format!(
            "model.arch = {:?}: {family} reads text, but the data are images",
            m.arch
        ))),
    }
}

pub(crate) fn check_experiment(m: &ModelSection, num_labels: usize) -> crate::error::Result<()> {
    if m.num_heads == 0 || m.hidden_size == 0 || !m.hidden_size.is_multiple_of(m.num_heads) {
        return Err(EbtError::config(format!(
            "model.num_heads: {} heads do not divide model.hidden_size = {}",
            m.num_heads, m.hidden_size
        )));
    }
    if m.num_layers == 0 {
        return Err(EbtError::config("model.num_layers: must be at least 1"));
    }
    if m.intermediate_size == 0 {
        return Err(EbtError::config(
            "model.intermediate_size: must be at least 1",
        ));
    }
    for (key, p) in [
        ("model.dropout", m.dropout),
        ("model.attention_dropout", m.attention_dropout),
    ] {
        if !(0.0..1.0).contains(&p) {
            return Err(EbtError::config(format!("{key}: {p} is not in [0, 1)")));
        }
    }
    if num_labels == 0 {
        return Err(EbtError::config(
            "the data have no classes (num_labels = 0)",
        ));
    }
    Ok(())
}

/// `model.hidden_act` as an HF activation name.
pub(crate) fn parse_activation(name: &str) -> crate::error::Result<Activation> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        EbtError::config(format!(
            "model.hidden_act: {name:?} (expected gelu, gelu_new or relu)"
        ))
    })
}

/// Prefix of block `i`'s parameter names.
fn block(i: usize) -> String {
    format!("transformer.h.{i}")
}

impl ArchSpec for Gpt2Config {
    fn build(&self, vb: VarBuilder, dropout: DropoutRng) -> Result<Box<dyn Classifier>> {
        Ok(Box::new(Gpt2Model::new(self, vb, dropout)?))
    }

    fn structure(&self) -> ModelStructure {
        let d = self.head_dim();
        let mut prunable_weights = Vec::new();
        let mut groups = Vec::new();
        for i in 0..self.n_layer {
            let p = block(i);
            for w in ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"] {
                prunable_weights.push((format!("{p}.{w}.weight"), i));
            }
            let slice = |tensor: String, axis, offset, unit_len, scored| UnitSlice {
                tensor,
                axis,
                offset,
                unit_len,
                scored,
            };
            // c_attn's output axis is q | k | v, each `heads * d` wide: head u owns the same d columns
            // in each third.
            let hd = self.heads(i) * d;
            let mut head_slices: Vec<UnitSlice> = (0..3)
                .map(|part| slice(format!("{p}.attn.c_attn.weight"), 1, part * hd, d, true))
                .collect();
            head_slices.extend(
                (0..3).map(|part| slice(format!("{p}.attn.c_attn.bias"), 0, part * hd, d, false)),
            );
            head_slices.push(slice(format!("{p}.attn.c_proj.weight"), 0, 0, d, true));
            groups.push(UnitGroup {
                kind: UnitKind::Head,
                layer: i,
                count: self.heads(i),
                slices: head_slices,
            });
            groups.push(UnitGroup {
                kind: UnitKind::Neuron,
                layer: i,
                count: self.inner(i),
                slices: vec![
                    slice(format!("{p}.mlp.c_fc.weight"), 1, 0, 1, true),
                    slice(format!("{p}.mlp.c_fc.bias"), 0, 0, 1, false),
                    slice(format!("{p}.mlp.c_proj.weight"), 0, 0, 1, true),
                ],
            });
        }
        ModelStructure {
            prunable_weights,
            groups,
            num_layers: self.n_layer,
        }
    }

    fn with_units(&self, heads: &[usize], neurons: &[usize]) -> Self {
        Self {
            layer_heads: Some(heads.to_vec()),
            layer_inner: Some(neurons.to_vec()),
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
    resid: f64,
    embd: f64,
    attn: f64,
}

/// Causal multi-head self-attention with fused q | k | v.
struct Attention {
    c_attn: Conv1D,
    c_proj: Conv1D,
    heads: usize,
    head_dim: usize,
}

impl Attention {
    /// x: (B, T, E); bias: (B, 1, T, T) additive mask → (B, T, E)
    fn forward(&self, x: &Tensor, bias: &Tensor, drop: &Dropouts, train: bool) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let hd = self.heads * self.head_dim;
        let qkv = self.c_attn.forward(x)?; // (B, T, 3*H*D)
        let split = |part: usize| -> Result<Tensor> {
            qkv.narrow(D::Minus1, part * hd, hd)?
                .reshape((b, t, self.heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous() // (B, H, T, D)
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(bias)?; // (B, H, T, T)
        let probs = drop
            .rng
            .dropout(&softmax_last(&scores)?, drop.attn, train)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, hd))?; // (B, T, H*D)
        drop.rng
            .dropout(&self.c_proj.forward(&ctx)?, drop.resid, train) // (B, T, E)
    }
}

/// Position-wise FFN: c_fc → activation → c_proj.
struct Mlp {
    c_fc: Conv1D,
    c_proj: Conv1D,
    act: Activation,
}

impl Mlp {
    /// x: (B, T, E) → (B, T, E)
    fn forward(&self, x: &Tensor, drop: &Dropouts, train: bool) -> Result<Tensor> {
        let h = self.act.forward(&self.c_fc.forward(x)?)?; // (B, T, inner)
        drop.rng
            .dropout(&self.c_proj.forward(&h)?, drop.resid, train)
    }
}

/// One pre-LN block.
struct Block {
    ln_1: LayerNorm,
    attn: Attention,
    ln_2: LayerNorm,
    mlp: Mlp,
}

impl Block {
    fn new(cfg: &Gpt2Config, i: usize, vb: VarBuilder) -> Result<Self> {
        let e = cfg.n_embd;
        let hd = cfg.heads(i) * cfg.head_dim();
        let inner = cfg.inner(i);
        let std = cfg.initializer_range;
        // HF scales the init of every residual-stream projection by 1/sqrt(2 * n_layer) (GPT-2 paper, §2.3).
        let proj_std = std / (2.0 * cfg.n_layer as f64).sqrt();
        let eps = cfg.layer_norm_epsilon;
        Ok(Self {
            ln_1: LayerNorm::new(e, eps, vb.pp("ln_1"))?,
            attn: Attention {
                c_attn: Conv1D::new(e, 3 * hd, std, vb.pp("attn").pp("c_attn"))?,
                c_proj: Conv1D::new(hd, e, proj_std, vb.pp("attn").pp("c_proj"))?,
                heads: cfg.heads(i),
                head_dim: cfg.head_dim(),
            },
            ln_2: LayerNorm::new(e, eps, vb.pp("ln_2"))?,
            mlp: Mlp {
                c_fc: Conv1D::new(e, inner, std, vb.pp("mlp").pp("c_fc"))?,
                c_proj: Conv1D::new(inner, e, proj_std, vb.pp("mlp").pp("c_proj"))?,
                act: cfg.activation_function,
            },
        })
    }

    /// x: (B, T, E) → (B, T, E)
    fn forward(&self, x: &Tensor, bias: &Tensor, drop: &Dropouts, train: bool) -> Result<Tensor> {
        let x = (x + self
            .attn
            .forward(&self.ln_1.forward(x)?, bias, drop, train)?)?;
        &x + self.mlp.forward(&self.ln_2.forward(&x)?, drop, train)?
    }
}

/// `GPT2ForSequenceClassification`.
pub(crate) struct Gpt2Model {
    wte: Embedding,
    wpe: Embedding,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    score: Linear,
    drop: Dropouts,
}

impl Gpt2Model {
    fn new(cfg: &Gpt2Config, vb: VarBuilder, dropout: DropoutRng) -> Result<Self> {
        cfg.validate()?;
        let std = cfg.initializer_range;
        let tr = vb.pp("transformer");
        let blocks = (0..cfg.n_layer)
            .map(|i| Block::new(cfg, i, tr.pp("h").pp(i)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            wte: Embedding::new(cfg.vocab_size, cfg.n_embd, std, tr.pp("wte"))?,
            wpe: Embedding::new(cfg.n_positions, cfg.n_embd, std, tr.pp("wpe"))?,
            blocks,
            ln_f: LayerNorm::new(cfg.n_embd, cfg.layer_norm_epsilon, tr.pp("ln_f"))?,
            score: Linear::new(cfg.n_embd, cfg.num_labels, false, std, vb.pp("score"))?,
            drop: Dropouts {
                rng: dropout,
                resid: cfg.resid_pdrop,
                embd: cfg.embd_pdrop,
                attn: cfg.attn_pdrop,
            },
        })
    }

    /// ids: (B, T) u32, mask: (B, T) f32 → final hidden states after `ln_f`, (B, T, E).
    pub(crate) fn hidden_states(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let n_positions = self.wpe.weight.dim(0)?;
        if t > n_positions {
            candle_core::bail!("gpt2: sequence length {t} exceeds n_positions = {n_positions}");
        }
        if mask.dims() != [b, t] {
            candle_core::bail!(
                "gpt2: mask shape {:?} differs from ids shape {:?}",
                mask.dims(),
                ids.dims()
            );
        }
        let dev = ids.device();
        // Right padding keeps every real token at its unpadded position, so positions are 0..T.
        let pos = Tensor::arange(0u32, t as u32, dev)?;
        let x = self
            .wte
            .forward(ids)?
            .broadcast_add(&self.wpe.forward(&pos)?)?; // (B, T, E)
        let mut x = self.drop.rng.dropout(&x, self.drop.embd, train)?;
        let bias = attention_bias(mask)?;
        for blk in &self.blocks {
            x = blk.forward(&x, &bias, &self.drop, train)?;
        }
        self.ln_f.forward(&x)
    }
}

/// Additive mask (B, 1, T, T): 0 where query i may see key j (j ≤ i and j is a real token),
/// `MASK_VALUE` elsewhere.
fn attention_bias(mask: &Tensor) -> Result<Tensor> {
    let (b, t) = mask.dims2()?;
    let causal = Tensor::tril2(t, DType::F32, mask.device())?.reshape((1, 1, t, t))?;
    let allowed = causal.broadcast_mul(&mask.reshape((b, 1, 1, t))?)?; // (B, 1, T, T) of 0/1
    allowed.affine(-MASK_VALUE, MASK_VALUE)
}

impl Classifier for Gpt2Model {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let ModelInput::Tokens { ids, mask } = input else {
            candle_core::bail!("gpt2 reads token ids, but the batch holds images");
        };
        let mask = mask.to_dtype(DType::F32)?;
        let h = self.hidden_states(ids, &mask, train)?; // (B, T, E)
        let (b, t, e) = h.dims3()?;
        // HF reads the last non-pad token; with right padding its index is sum(mask) - 1. A row
        // without real tokens reads position 0, as HF's argmax does.
        let lengths: Vec<f32> = mask.sum(1)?.to_vec1()?;
        let rows: Vec<u32> = lengths
            .iter()
            .enumerate()
            .map(|(row, &n)| (row * t + (n.round() as usize).clamp(1, t) - 1) as u32)
            .collect();
        let rows = Tensor::from_vec(rows, b, h.device())?;
        let last = h.reshape((b * t, e))?.index_select(&rows, 0)?; // (B, E)
        self.score.forward(&last) // (B, num_labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ParamStore;
    use candle_core::Device;

    /// Changing the tokens after position `t` leaves the hidden states at positions ≤ `t` unchanged,
    /// and does change those after it (so the test can fail).
    #[test]
    fn attention_is_causal() -> Result<()> {
        let dev = Device::Cpu;
        let mut cfg = Gpt2Config::tiny(20, 3);
        cfg.initializer_range = 0.2;
        let store = ParamStore::new(7, &dev);
        let model = Gpt2Model::new(&cfg, store.train_builder(), DropoutRng::new(0))?;
        let a: Vec<u32> = vec![3, 5, 7, 9, 11, 13, 15, 17];
        let mut b = a.clone();
        b[5] = 2;
        b[7] = 19;
        let ids = Tensor::new(vec![a, b], &dev)?;
        let mask = Tensor::ones((2, 8), DType::F32, &dev)?;
        let h = model.hidden_states(&ids, &mask, false)?; // (2, 8, 16)
        let diff = (h.get(0)? - h.get(1)?)?
            .abs()?
            .max(D::Minus1)?
            .to_vec1::<f32>()?; // (8,)
        for (pos, d) in diff.iter().enumerate() {
            if pos < 5 {
                assert!(*d < 1e-6, "position {pos} changed by {d}");
            } else {
                assert!(*d > 1e-3, "position {pos} did not change ({d})");
            }
        }
        Ok(())
    }

    #[test]
    fn structure_slices_fit_the_tensor_shapes() -> Result<()> {
        let dev = Device::Cpu;
        let cfg = Gpt2Config::tiny(20, 3).with_units(&[1, 2], &[5, 32]);
        let store = ParamStore::new(1, &dev);
        cfg.build(store.train_builder(), DropoutRng::new(0))?;
        let s = cfg.structure();
        assert_eq!(s.num_layers, 2);
        assert_eq!(s.groups.len(), 4);
        assert_eq!(s.prunable_weights.len(), 8);
        for g in &s.groups {
            for sl in &g.slices {
                let v = store
                    .get(&sl.tensor)
                    .expect("structure names a tensor the model created");
                assert!(
                    sl.offset + g.count * sl.unit_len <= v.dim(sl.axis)?,
                    "{}",
                    sl.tensor
                );
            }
        }
        // The v slice of layer 0 (one head of 8) ends exactly at the fused width 3 * 8.
        let v_slice = &s.groups[0].slices[2];
        assert_eq!((v_slice.offset, v_slice.unit_len), (16, 8));
        assert_eq!(
            store
                .get("transformer.h.0.attn.c_attn.weight")
                .map(|v| v.dims().to_vec()),
            Some(vec![16, 24])
        );
        Ok(())
    }
}

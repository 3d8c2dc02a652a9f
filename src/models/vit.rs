//! Vision Transformer (Dosovitskiy et al., 2021) as Hugging Face's `ViTForImageClassification`:
//! same config fields, same tensor names, same init, so a checkpoint written here loads there.
//!
//! ```text
//! image (B, C, S, S) ─ patches (B, N, C·P·P) ─ projection ─┐
//!                                  [CLS] ─ cat ─ + position ─ dropout ─ (B, N+1, H)
//! block × L (pre-LN):  x += attention(layernorm_before(x));  x += mlp(layernorm_after(x))
//! layernorm ─ CLS token (B, H) ─ classifier ─ logits (B, num_labels)
//! ```
//!
//! A block may have fewer heads (`layer_heads`) or a narrower MLP (`layer_intermediate`) than
//! the config's uniform values: that is what structural pruning produces. The head size stays
//! `hidden_size / num_attention_heads`, so a pruned block keeps the scale of its scores.
//!
//! The patch embedding, attention and MLP defined here are shared with Swin (`swin.rs`), which
//! differs only in names, windows and an additive bias on the attention scores.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};
use serde::{Deserialize, Serialize};

use super::layers::{softmax_last, Activation, LayerNorm, Linear};
use super::{
    ArchSpec, Classifier, DropoutRng, ModelInput, ModelStructure, UnitGroup, UnitKind, UnitSlice,
};
use crate::config::ModelSection;
use crate::data::DataShape;
use crate::error::{self, EbtError};

/// Hugging Face `ViTConfig` (the fields this model reads) plus per-block head counts and MLP
/// widths. Missing fields take HF's defaults, unknown HF fields (`architectures`, `id2label`,
/// ...) are ignored, so an HF `config.json` parses (give it `num_labels`, which HF derives from
/// `id2label`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VitConfig {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    /// Heads per block before pruning; fixes the head size `hidden_size / num_attention_heads`.
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub hidden_act: Activation,
    pub hidden_dropout_prob: f64,
    pub attention_probs_dropout_prob: f64,
    pub initializer_range: f64,
    pub layer_norm_eps: f64,
    /// Side of the square input image in pixels.
    pub image_size: usize,
    pub patch_size: usize,
    pub num_channels: usize,
    pub qkv_bias: bool,
    pub num_labels: usize,
    /// Heads of each block (None: `num_attention_heads` everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_heads: Option<Vec<usize>>,
    /// MLP width of each block (None: `intermediate_size` everywhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_intermediate: Option<Vec<usize>>,
}

impl Default for VitConfig {
    /// HF's `ViTConfig()` defaults (ViT-Base/16 at 224 px), with HF's default of 2 labels.
    fn default() -> Self {
        Self {
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            hidden_act: Activation::Gelu,
            hidden_dropout_prob: 0.0,
            attention_probs_dropout_prob: 0.0,
            initializer_range: 0.02,
            layer_norm_eps: 1e-12,
            image_size: 224,
            patch_size: 16,
            num_channels: 3,
            qkv_bias: true,
            num_labels: 2,
            layer_heads: None,
            layer_intermediate: None,
        }
    }
}

impl VitConfig {
    /// A model small enough for unit tests: 8x8x1 images, patch 2 (16 patches), width 16,
    /// 2 blocks of 2 heads, MLP 32.
    pub fn tiny(num_labels: usize) -> Self {
        Self {
            hidden_size: 16,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            intermediate_size: 32,
            image_size: 8,
            patch_size: 2,
            num_channels: 1,
            num_labels,
            ..Self::default()
        }
    }

    /// Maps the experiment's `[model]` section and the data's image shape onto the HF config.
    pub fn from_experiment(
        m: &ModelSection,
        shape: &DataShape,
        num_labels: usize,
    ) -> error::Result<Self> {
        let (channels, side) = square_image(shape, "vit", m.patch_size)?;
        if m.num_heads == 0 || m.hidden_size == 0 || !m.hidden_size.is_multiple_of(m.num_heads) {
            return Err(EbtError::config(format!(
                "model.hidden_size: {} must be a positive multiple of model.num_heads = {}",
                m.hidden_size, m.num_heads
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
        check_init_and_dropout(m)?;
        if num_labels == 0 {
            return Err(EbtError::config(
                "data: the dataset has no classes (num_labels = 0)",
            ));
        }
        let cfg = Self {
            hidden_size: m.hidden_size,
            num_hidden_layers: m.num_layers,
            num_attention_heads: m.num_heads,
            intermediate_size: m.intermediate_size,
            hidden_act: parse_activation(&m.hidden_act)?,
            hidden_dropout_prob: m.dropout,
            attention_probs_dropout_prob: m.attention_dropout,
            initializer_range: m.initializer_range,
            layer_norm_eps: 1e-12,
            image_size: side,
            patch_size: m.patch_size,
            num_channels: channels,
            qkv_bias: true,
            num_labels,
            layer_heads: None,
            layer_intermediate: None,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the config as read from a file (a `pruned_config.json` may have been edited); the
    /// message names the HF field at fault.
    pub fn validate(&self) -> error::Result<()> {
        let bad = |msg: String| Err(EbtError::config(format!("vit config: {msg}")));
        if self.num_attention_heads == 0
            || self.hidden_size == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return bad(format!(
                "hidden_size = {} must be a positive multiple of num_attention_heads = {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.num_hidden_layers == 0 {
            return bad("num_hidden_layers must be at least 1".into());
        }
        check_image_fields(
            "vit",
            ImageFields {
                image_size: self.image_size,
                patch_size: self.patch_size,
                num_channels: self.num_channels,
                num_labels: self.num_labels,
                hidden_dropout_prob: self.hidden_dropout_prob,
                attention_probs_dropout_prob: self.attention_probs_dropout_prob,
            },
        )?;
        check_per_layer(
            "vit",
            "layer_heads",
            &self.layer_heads,
            self.num_hidden_layers,
        )?;
        check_per_layer(
            "vit",
            "layer_intermediate",
            &self.layer_intermediate,
            self.num_hidden_layers,
        )
    }

    /// Size of one head; fixed by the unpruned config (0 for a config that `validate` rejects,
    /// so that `structure` never panics on a bad file).
    pub fn head_dim(&self) -> usize {
        self.hidden_size
            .checked_div(self.num_attention_heads)
            .unwrap_or(0)
    }

    /// Heads of block `layer`.
    pub fn heads(&self, layer: usize) -> usize {
        per_layer(&self.layer_heads, layer, self.num_attention_heads)
    }

    /// MLP width of block `layer`.
    pub fn intermediate(&self, layer: usize) -> usize {
        per_layer(&self.layer_intermediate, layer, self.intermediate_size)
    }

    /// Patches per image (tokens without CLS).
    pub fn num_patches(&self) -> usize {
        self.image_size
            .checked_div(self.patch_size)
            .unwrap_or(0)
            .pow(2)
    }

    fn block_prefix(layer: usize) -> String {
        format!("vit.encoder.layer.{layer}")
    }
}

impl ArchSpec for VitConfig {
    fn build(&self, vb: VarBuilder, dropout: DropoutRng) -> Result<Box<dyn Classifier>> {
        Ok(Box::new(VitModel::new(self, vb, dropout)?))
    }

    fn structure(&self) -> ModelStructure {
        let d = self.head_dim();
        let mut prunable_weights = Vec::new();
        let mut groups = Vec::new();
        for layer in 0..self.num_hidden_layers {
            let p = Self::block_prefix(layer);
            let names = BlockNames {
                qkv: ["query", "key", "value"].map(|n| format!("{p}.attention.attention.{n}")),
                attention_output: format!("{p}.attention.output.dense"),
                intermediate: format!("{p}.intermediate.dense"),
                output: format!("{p}.output.dense"),
                relative_position_bias_table: None,
            };
            names.push_structure(
                layer,
                (self.heads(layer), d, self.qkv_bias),
                self.intermediate(layer),
                &mut prunable_weights,
                &mut groups,
            );
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

/// The HF names of one block's prunable tensors (without `.weight` / `.bias`), from which both
/// families describe their units the same way.
pub(crate) struct BlockNames {
    pub qkv: [String; 3],
    pub attention_output: String,
    pub intermediate: String,
    pub output: String,
    /// Swin only: `[(2w-1)², heads]`, one column per head.
    pub relative_position_bias_table: Option<String>,
}

impl BlockNames {
    /// Appends the block's six prunable matrices, its head group and its neuron group.
    /// `heads` = (count, head size, whether q/k/v have biases).
    pub fn push_structure(
        &self,
        layer: usize,
        heads: (usize, usize, bool),
        neurons: usize,
        prunable_weights: &mut Vec<(String, usize)>,
        groups: &mut Vec<UnitGroup>,
    ) {
        let (count, head_dim, qkv_bias) = heads;
        let slice = |tensor: String, axis, unit_len, scored| UnitSlice {
            tensor,
            axis,
            offset: 0,
            unit_len,
            scored,
        };
        for name in
            self.qkv
                .iter()
                .chain([&self.attention_output, &self.intermediate, &self.output])
        {
            prunable_weights.push((format!("{name}.weight"), layer));
        }
        let mut head_slices = Vec::new();
        for name in &self.qkv {
            // q/k/v weights `[heads·D, dim]`: head h owns rows h·D..(h+1)·D.
            head_slices.push(slice(format!("{name}.weight"), 0, head_dim, true));
            if qkv_bias {
                head_slices.push(slice(format!("{name}.bias"), 0, head_dim, false));
            }
        }
        // Output dense `[dim, heads·D]`: head h owns columns h·D..(h+1)·D.
        head_slices.push(slice(
            format!("{}.weight", self.attention_output),
            1,
            head_dim,
            true,
        ));
        if let Some(table) = &self.relative_position_bias_table {
            head_slices.push(slice(table.clone(), 1, 1, false));
        }
        groups.push(UnitGroup {
            kind: UnitKind::Head,
            layer,
            count,
            slices: head_slices,
        });
        groups.push(UnitGroup {
            kind: UnitKind::Neuron,
            layer,
            count: neurons,
            slices: vec![
                slice(format!("{}.weight", self.intermediate), 0, 1, true),
                slice(format!("{}.bias", self.intermediate), 0, 1, false),
                slice(format!("{}.weight", self.output), 1, 1, true),
            ],
        });
    }
}

/// The built model.
struct VitModel {
    patch_embeddings: PatchEmbedding,
    /// (1, 1, H)
    cls_token: Tensor,
    /// (1, N+1, H)
    position_embeddings: Tensor,
    blocks: Vec<VitBlock>,
    layernorm: LayerNorm,
    classifier: Linear,
    hidden_dropout: f64,
    rng: DropoutRng,
    /// (channels, side) the model was built for.
    image: (usize, usize),
}

impl VitModel {
    fn new(cfg: &VitConfig, vb: VarBuilder, rng: DropoutRng) -> Result<Self> {
        cfg.validate()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let std = cfg.initializer_range;
        let h = cfg.hidden_size;
        let normal = Init::Randn {
            mean: 0.0,
            stdev: std,
        };
        let emb = vb.pp("vit.embeddings");
        let patch_embeddings = PatchEmbedding::new(
            cfg.num_channels,
            h,
            cfg.patch_size,
            std,
            emb.pp("patch_embeddings.projection"),
        )?;
        let cls_token = emb.get_with_hints((1, 1, h), "cls_token", normal)?;
        let position_embeddings =
            emb.get_with_hints((1, cfg.num_patches() + 1, h), "position_embeddings", normal)?;
        let blocks = (0..cfg.num_hidden_layers)
            .map(|i| VitBlock::new(cfg, i, vb.pp(VitConfig::block_prefix(i))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            patch_embeddings,
            cls_token,
            position_embeddings,
            blocks,
            layernorm: LayerNorm::new(h, cfg.layer_norm_eps, vb.pp("vit.layernorm"))?,
            classifier: Linear::new(h, cfg.num_labels, true, std, vb.pp("classifier"))?,
            hidden_dropout: cfg.hidden_dropout_prob,
            rng,
            image: (cfg.num_channels, cfg.image_size),
        })
    }
}

impl Classifier for VitModel {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let x = images_of(input, "vit", self.image)?;
        let b = x.dim(0)?;
        let patches = self.patch_embeddings.forward(x)?.0; // (B, N, H)
        let h = patches.dim(2)?;
        let cls = self.cls_token.broadcast_as((b, 1, h))?; // (B, 1, H)
        let x = Tensor::cat(&[&cls, &patches], 1)?.broadcast_add(&self.position_embeddings)?;
        let mut x = self.rng.dropout(&x, self.hidden_dropout, train)?; // (B, N+1, H)
        for block in &self.blocks {
            x = block.forward(&x, &self.rng, train)?;
        }
        let x = self.layernorm.forward(&x)?;
        let cls = x.narrow(1, 0, 1)?.squeeze(1)?; // (B, H)
        self.classifier.forward(&cls) // (B, num_labels)
    }
}

/// One pre-LN encoder block.
struct VitBlock {
    layernorm_before: LayerNorm,
    attention: SelfAttention,
    layernorm_after: LayerNorm,
    mlp: FeedForward,
}

impl VitBlock {
    fn new(cfg: &VitConfig, layer: usize, vb: VarBuilder) -> Result<Self> {
        let h = cfg.hidden_size;
        let spec = AttentionSpec {
            dim: h,
            heads: cfg.heads(layer),
            head_dim: cfg.head_dim(),
            qkv_bias: cfg.qkv_bias,
            std: cfg.initializer_range,
            probs_dropout: cfg.attention_probs_dropout_prob,
            output_dropout: cfg.hidden_dropout_prob,
        };
        let mlp = FeedForwardSpec {
            dim: h,
            width: cfg.intermediate(layer),
            act: cfg.hidden_act,
            std: cfg.initializer_range,
            dropout: cfg.hidden_dropout_prob,
        };
        Ok(Self {
            layernorm_before: LayerNorm::new(h, cfg.layer_norm_eps, vb.pp("layernorm_before"))?,
            attention: SelfAttention::new(
                &spec,
                vb.pp("attention.attention"),
                vb.pp("attention.output.dense"),
            )?,
            layernorm_after: LayerNorm::new(h, cfg.layer_norm_eps, vb.pp("layernorm_after"))?,
            mlp: FeedForward::new(&mlp, vb.pp("intermediate.dense"), vb.pp("output.dense"))?,
        })
    }

    /// x: (B, T, H) → (B, T, H)
    fn forward(&self, x: &Tensor, rng: &DropoutRng, train: bool) -> Result<Tensor> {
        let a = self
            .attention
            .forward(&self.layernorm_before.forward(x)?, None, rng, train)?;
        let x = (x + a)?;
        let m = self
            .mlp
            .forward(&self.layernorm_after.forward(&x)?, rng, train)?;
        x + m
    }
}

/// Non-overlapping square patches projected to the model width: HF's `Conv2d(C, H, P, stride=P)`
/// computed as `patches (B, N, C·P·P) × W (H, C·P·P)ᵀ + b`. Same numbers, same stored weight
/// `(H, C, P, P)`, but one matrix product (faster on CPU than candle's conv) with a backward pass.
pub(crate) struct PatchEmbedding {
    /// (H, C·P·P)
    weight: Tensor,
    /// (H,)
    bias: Tensor,
    patch: usize,
}

impl PatchEmbedding {
    /// `vb` points at `...patch_embeddings.projection`.
    pub fn new(
        channels: usize,
        hidden: usize,
        patch: usize,
        std: f64,
        vb: VarBuilder,
    ) -> Result<Self> {
        let normal = Init::Randn {
            mean: 0.0,
            stdev: std,
        };
        let weight = vb.get_with_hints((hidden, channels, patch, patch), "weight", normal)?;
        let bias = vb.get_with_hints(hidden, "bias", Init::Const(0.0))?;
        Ok(Self {
            weight: weight.reshape((hidden, channels * patch * patch))?,
            bias,
            patch,
        })
    }

    /// x: (B, C, S_h, S_w) → ((B, N, H), (S_h/P, S_w/P)), patches in row-major order.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, (usize, usize))> {
        let (b, c, sh, sw) = x.dims4()?;
        let p = self.patch;
        if !sh.is_multiple_of(p) || !sw.is_multiple_of(p) {
            candle_core::bail!("patch size {p} does not divide the image {sh}x{sw}");
        }
        let (gh, gw) = (sh / p, sw / p);
        // (B, C, gh, P, gw, P) → (B, gh, gw, C, P, P): a patch's pixels in the conv weight's order.
        let patches = x
            .reshape((b, c, gh, p, gw, p))?
            .permute((0, 2, 4, 1, 3, 5))?
            .reshape((b, gh * gw, c * p * p))?;
        let y = patches
            .broadcast_matmul(&self.weight.t()?)?
            .broadcast_add(&self.bias)?;
        Ok((y, (gh, gw)))
    }
}

/// Sizes and dropout rates of one attention module.
pub(crate) struct AttentionSpec {
    /// Model width at this block (input and output of the module).
    pub dim: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub qkv_bias: bool,
    pub std: f64,
    /// Dropout on the attention probabilities.
    pub probs_dropout: f64,
    /// Dropout after the output dense (ViT: hidden dropout; Swin: attention dropout, as in HF).
    pub output_dropout: f64,
}

/// Multi-head self-attention whose q/k/v project to `heads · head_dim`, which after pruning may
/// be smaller than the model width.
pub(crate) struct SelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    heads: usize,
    head_dim: usize,
    probs_dropout: f64,
    output_dropout: f64,
}

impl SelfAttention {
    /// `vb_qkv` holds `query`, `key`, `value`; `vb_output` is the output dense itself.
    pub fn new(spec: &AttentionSpec, vb_qkv: VarBuilder, vb_output: VarBuilder) -> Result<Self> {
        let inner = spec.heads * spec.head_dim;
        let proj = |name| Linear::new(spec.dim, inner, spec.qkv_bias, spec.std, vb_qkv.pp(name));
        Ok(Self {
            query: proj("query")?,
            key: proj("key")?,
            value: proj("value")?,
            output: Linear::new(inner, spec.dim, true, spec.std, vb_output)?,
            heads: spec.heads,
            head_dim: spec.head_dim,
            probs_dropout: spec.probs_dropout,
            output_dropout: spec.output_dropout,
        })
    }

    /// x: (B', T, C) → (B', T, C).
    ///
    /// `score_bias`, if any, is added to the scaled scores before the softmax; shape (G, h, T, T)
    /// with B' = B·G and the G index running fastest (Swin: G windows per image, each with its
    /// own shift mask; G = 1 for a bias shared by all).
    pub fn forward(
        &self,
        x: &Tensor,
        score_bias: Option<&Tensor>,
        rng: &DropoutRng,
        train: bool,
    ) -> Result<Tensor> {
        let (bw, t, _) = x.dims3()?;
        let (h, d) = (self.heads, self.head_dim);
        // (B', T, h·D) → (B', h, T, D)
        let split = |y: Tensor| y.reshape((bw, t, h, d))?.transpose(1, 2)?.contiguous();
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? * (1.0 / (d as f64).sqrt()))?; // (B', h, T, T)
        let scores = match score_bias {
            Some(bias) => {
                let g = bias.dim(0)?;
                scores
                    .reshape((bw / g, g, h, t, t))?
                    .broadcast_add(bias)?
                    .reshape((bw, h, t, t))?
            }
            None => scores,
        };
        let probs = rng.dropout(&softmax_last(&scores)?, self.probs_dropout, train)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((bw, t, h * d))?; // (B', T, h·D)
        rng.dropout(&self.output.forward(&ctx)?, self.output_dropout, train)
    }
}

/// Sizes of one MLP.
pub(crate) struct FeedForwardSpec {
    pub dim: usize,
    pub width: usize,
    pub act: Activation,
    pub std: f64,
    pub dropout: f64,
}

/// HF's `intermediate.dense` → activation → `output.dense` → dropout.
pub(crate) struct FeedForward {
    intermediate: Linear,
    output: Linear,
    act: Activation,
    dropout: f64,
}

impl FeedForward {
    pub fn new(
        spec: &FeedForwardSpec,
        vb_intermediate: VarBuilder,
        vb_output: VarBuilder,
    ) -> Result<Self> {
        Ok(Self {
            intermediate: Linear::new(spec.dim, spec.width, true, spec.std, vb_intermediate)?,
            output: Linear::new(spec.width, spec.dim, true, spec.std, vb_output)?,
            act: spec.act,
            dropout: spec.dropout,
        })
    }

    /// x: (..., dim) → (..., dim)
    pub fn forward(&self, x: &Tensor, rng: &DropoutRng, train: bool) -> Result<Tensor> {
        let y = self.act.forward(&self.intermediate.forward(x)?)?; // (..., width)
        rng.dropout(&self.output.forward(&y)?, self.dropout, train)
    }
}

/// The `(B, C, S, S)` images of a batch, checked against the size the model was built for.
pub(crate) fn images_of<'a>(
    input: &'a ModelInput,
    arch: &str,
    image: (usize, usize),
) -> Result<&'a Tensor> {
    let x = match input {
        ModelInput::Images(x) => x,
        ModelInput::Tokens { .. } => {
            candle_core::bail!("{arch} classifies images, it was given token ids")
        }
    };
    let (c, s) = image;
    match x.dims() {
        [_, xc, xh, xw] if (*xc, *xh, *xw) == (c, s, s) => Ok(x),
        dims => candle_core::bail!("{arch} expects images (B, {c}, {s}, {s}), got {dims:?}"),
    }
}

/// `(channels, side)` of the data's square images, checked against the patch size.
pub(crate) fn square_image(
    shape: &DataShape,
    arch: &str,
    patch: usize,
) -> error::Result<(usize, usize)> {
    let (channels, height, width) = match shape {
        DataShape::Image {
            channels,
            height,
            width,
        } => (*channels, *height, *width),
        DataShape::Text { .. } => {
            return Err(EbtError::config(format!(
                "model.arch: {arch} classifies images but the data is text"
            )))
        }
    };
    if height != width || height == 0 || channels == 0 {
        return Err(EbtError::config(format!(
            "data: {arch} needs square images, the data has {height}x{width} pixels and {channels} channels"
        )));
    }
    if patch == 0 || !height.is_multiple_of(patch) {
        return Err(EbtError::config(format!(
            "model.patch_size: {patch} does not divide the image side {height}"
        )));
    }
    Ok((channels, height))
}

/// `model.hidden_act` as an HF activation name.
pub(crate) fn parse_activation(name: &str) -> error::Result<Activation> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        EbtError::config(format!(
            "model.hidden_act: {name:?} (expected gelu, gelu_new or relu)"
        ))
    })
}

/// `model.dropout` and `model.attention_dropout` in [0, 1).
pub(crate) fn check_init_and_dropout(m: &ModelSection) -> error::Result<()> {
    for (key, p) in [
        ("model.dropout", m.dropout),
        ("model.attention_dropout", m.attention_dropout),
    ] {
        if !(0.0..1.0).contains(&p) {
            return Err(EbtError::config(format!("{key}: {p} is not in [0, 1)")));
        }
    }
    if m.initializer_range <= 0.0 || !m.initializer_range.is_finite() {
        return Err(EbtError::config(format!(
            "model.initializer_range: {} must be positive",
            m.initializer_range
        )));
    }
    Ok(())
}

/// The per-block value, or the uniform one.
pub(crate) fn per_layer(values: &Option<Vec<usize>>, layer: usize, uniform: usize) -> usize {
    values
        .as_ref()
        .and_then(|v| v.get(layer).copied())
        .unwrap_or(uniform)
}

/// A per-block list, if present, has one positive entry per block.
pub(crate) fn check_per_layer(
    arch: &str,
    key: &str,
    values: &Option<Vec<usize>>,
    blocks: usize,
) -> error::Result<()> {
    let Some(v) = values else { return Ok(()) };
    if v.len() != blocks {
        return Err(EbtError::config(format!(
            "{arch} config: {key} has {} entries but the model has {blocks} blocks",
            v.len()
        )));
    }
    if let Some(i) = v.iter().position(|&n| n == 0) {
        return Err(EbtError::config(format!(
            "{arch} config: {key}[{i}] is 0; every block needs at least one unit"
        )));
    }
    Ok(())
}

/// The fields ViT and Swin configs share and check alike.
pub(crate) struct ImageFields {
    pub image_size: usize,
    pub patch_size: usize,
    pub num_channels: usize,
    pub num_labels: usize,
    pub hidden_dropout_prob: f64,
    pub attention_probs_dropout_prob: f64,
}

/// Patch/image sizes, channels, labels and dropout ranges of a vision config; the message names
/// the family and the HF field at fault.
pub(crate) fn check_image_fields(family: &str, f: ImageFields) -> error::Result<()> {
    let bad = |msg: String| Err(EbtError::config(format!("{family} config: {msg}")));
    if f.patch_size == 0 || f.image_size == 0 || !f.image_size.is_multiple_of(f.patch_size) {
        return bad(format!(
            "patch_size = {} does not divide image_size = {}",
            f.patch_size, f.image_size
        ));
    }
    if f.num_channels == 0 || f.num_labels == 0 {
        return bad(format!(
            "num_channels = {} and num_labels = {} must be at least 1",
            f.num_channels, f.num_labels
        ));
    }
    for (key, p) in [
        ("hidden_dropout_prob", f.hidden_dropout_prob),
        (
            "attention_probs_dropout_prob",
            f.attention_probs_dropout_prob,
        ),
    ] {
        if !(0.0..1.0).contains(&p) {
            return bad(format!("{key} = {p} is not in [0, 1)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// The matrix-product patch embedding gives the convolution's numbers.
    #[test]
    fn patch_embedding_equals_strided_conv() -> Result<()> {
        let dev = Device::Cpu;
        let store = crate::models::ParamStore::new(7, &dev);
        let pe = PatchEmbedding::new(3, 5, 2, 0.5, store.train_builder().pp("p"))?;
        let bias = Tensor::new(&[0.1f32, -0.2, 0.3, 0.0, 1.0], &dev)?;
        let pe = PatchEmbedding {
            bias: bias.clone(),
            ..pe
        };
        let x = Tensor::arange(0f32, 2.0 * 3.0 * 6.0 * 4.0, &dev)?
            .reshape((2, 3, 6, 4))?
            .affine(0.01, -0.5)?;
        let (y, grid) = pe.forward(&x)?;
        assert_eq!(grid, (3, 2));
        let w = pe.weight.reshape((5, 3, 2, 2))?;
        let conv = x.conv2d(&w, 0, 2, 1, 1)?; // (B, H, 3, 2)
        let conv = conv
            .flatten_from(2)?
            .transpose(1, 2)?
            .broadcast_add(&bias)?; // (B, 6, H)
        let diff = (y - conv)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "max diff {diff}");
        Ok(())
    }

    #[test]
    fn per_block_sizes_default_to_uniform() {
        let mut cfg = VitConfig::tiny(3);
        assert_eq!(
            (cfg.heads(1), cfg.intermediate(1), cfg.head_dim()),
            (2, 32, 8)
        );
        cfg.layer_heads = Some(vec![1, 2]);
        cfg.layer_intermediate = Some(vec![5, 7]);
        assert_eq!(
            (cfg.heads(0), cfg.intermediate(1), cfg.head_dim()),
            (1, 7, 8)
        );
        cfg.layer_heads = Some(vec![1]);
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("layer_heads has 1 entries"), "{err}");
        let zero_heads = VitConfig {
            num_attention_heads: 0,
            ..VitConfig::tiny(3)
        };
        assert_eq!(zero_heads.structure().groups.len(), 4);
        let err = zero_heads.validate().unwrap_err().to_string();
        assert!(err.contains("num_attention_heads = 0"), "{err}");
    }

    #[test]
    fn from_experiment_names_the_bad_key() {
        let m = ModelSection::default();
        let img = |c, h, w| DataShape::Image {
            channels: c,
            height: h,
            width: w,
        };
        let cfg = VitConfig::from_experiment(&m, &img(1, 8, 8), 10).unwrap();
        assert_eq!(
            (
                cfg.hidden_size,
                cfg.num_hidden_layers,
                cfg.num_attention_heads,
                cfg.num_patches()
            ),
            (64, 4, 4, 16)
        );
        let err = |shape: &DataShape, m: &ModelSection| {
            VitConfig::from_experiment(m, shape, 10)
                .unwrap_err()
                .to_string()
        };
        assert!(err(&img(1, 8, 6), &m).starts_with("data:"));
        let m3 = ModelSection {
            patch_size: 3,
            ..m.clone()
        };
        assert!(err(&img(1, 8, 8), &m3).starts_with("model.patch_size: 3"));
        let text = DataShape::Text {
            vocab_size: 9,
            max_length: 4,
            pad_id: 0,
            bos_id: 1,
            eos_id: 2,
        };
        assert!(err(&text, &m).starts_with("model.arch:"));
        let act = ModelSection {
            hidden_act: "swish".into(),
            ..m.clone()
        };
        assert!(err(&img(1, 8, 8), &act).starts_with("model.hidden_act:"));
    }
}

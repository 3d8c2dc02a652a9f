//! Swin Transformer (Liu et al., 2021) as Hugging Face's `SwinForImageClassification`: same
//! config fields, tensor names and init, so a checkpoint written here loads there.
//!
//! ```text
//! image (B, C, S, S) ─ patch projection ─ norm ─ dropout ─ (B, R·R, E)          R = S / P
//! stage s (width E·2^s, resolution R_s):
//!   block b (pre-LN):  x += window_attention(layernorm_before(x))   shifted by w/2 when b is odd
//!                      x += mlp(layernorm_after(x))
//!   patch merging (all stages but the last): 2x2 neighbours → (B, R_s/2 · R_s/2, 4·width)
//!                      ─ norm ─ reduction (no bias) ─ width·2
//! layernorm ─ mean over tokens (B, width) ─ classifier ─ logits (B, num_labels)
//! ```
//!
//! Window attention, as in HF: tokens attend within w×w windows, plus a learned bias per head
//! and relative offset (`relative_position_bias_table`, `(2w-1)², heads`; the index into it is
//! computed, not stored). Odd blocks roll the map by w/2 first and mask (-100) pairs that were
//! not neighbours before the roll. A stage whose resolution is ≤ the window uses one window of
//! the whole map and no shift; a map that is not a multiple of the window is zero-padded
//! (after `layernorm_before`, as HF does) and cropped back.
//!
//! Departures from HF: no stochastic depth (`drop_path_rate`; HF's default is 0.1, our
//! experiments use 0), no absolute position embeddings (HF's default is off too), and where HF
//! would fail — a stage smaller than the configured window — we index the same
//! `(2·window-1)²` table with the smaller window's offsets (a sub-table) instead of erroring.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::layers::{Activation, LayerNorm, Linear};
use super::vit::{
    check_image_fields, check_init_and_dropout, check_per_layer, images_of, parse_activation,
    per_layer, square_image, AttentionSpec, BlockNames, FeedForward, FeedForwardSpec, ImageFields,
    PatchEmbedding, SelfAttention,
};
use super::{ArchSpec, Classifier, DropoutRng, ModelInput, ModelStructure};
use crate::config::ModelSection;
use crate::data::DataShape;
use crate::error::{self, EbtError};

/// The score HF adds to pairs of tokens that a shifted window brought together.
const SHIFT_MASK_VALUE: f32 = -100.0;

/// PyTorch's `nn.LayerNorm` default eps, which HF keeps for `embeddings.norm` and the
/// patch-merging norms (only the block norms and the final norm read `layer_norm_eps`).
const TORCH_LAYER_NORM_EPS: f64 = 1e-5;

/// Hugging Face `SwinConfig` (the fields this model reads) plus flat per-block head counts and
/// MLP widths (block index runs over all stages in order). Missing fields take HF's defaults
/// (Swin-T at 224 px), unknown HF fields are ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SwinConfig {
    /// Side of the square input image in pixels.
    pub image_size: usize,
    pub patch_size: usize,
    pub num_channels: usize,
    /// Width of the first stage; stage s is `embed_dim · 2^s` wide.
    pub embed_dim: usize,
    /// Blocks per stage.
    pub depths: Vec<usize>,
    /// Heads per block of each stage before pruning; fixes each stage's head size.
    pub num_heads: Vec<usize>,
    /// Side of the attention window in tokens.
    pub window_size: usize,
    /// MLP width as a multiple of the stage width (HF truncates `mlp_ratio · dim` to an integer).
    pub mlp_ratio: f64,
    pub qkv_bias: bool,
    pub hidden_dropout_prob: f64,
    pub attention_probs_dropout_prob: f64,
    pub hidden_act: Activation,
    pub layer_norm_eps: f64,
    pub initializer_range: f64,
    pub num_labels: usize,
    /// Heads of each block, all stages flattened (None: `num_heads[stage]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_heads: Option<Vec<usize>>,
    /// MLP width of each block, all stages flattened (None: `mlp_ratio · stage width`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_intermediate: Option<Vec<usize>>,
}

impl Default for SwinConfig {
    /// HF's `SwinConfig()` defaults (Swin-T), with HF's default of 2 labels.
    fn default() -> Self {
        Self {
            image_size: 224,
            patch_size: 4,
            num_channels: 3,
            embed_dim: 96,
            depths: vec![2, 2, 6, 2],
            num_heads: vec![3, 6, 12, 24],
            window_size: 7,
            mlp_ratio: 4.0,
            qkv_bias: true,
            hidden_dropout_prob: 0.0,
            attention_probs_dropout_prob: 0.0,
            hidden_act: Activation::Gelu,
            layer_norm_eps: 1e-5,
            initializer_range: 0.02,
            num_labels: 2,
            layer_heads: None,
            layer_intermediate: None,
        }
    }
}

/// Where a flat block index sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BlockPos {
    flat: usize,
    stage: usize,
    block: usize,
}

impl SwinConfig {
    /// A model small enough for unit tests: 8x8x1 images, patch 2 (4x4 tokens), embed 8,
    /// two stages of 2 blocks with 1 and 2 heads, window 2 (so stage 0 shifts, stage 1 at 2x2
    /// tokens is a single window), MLP ratio 2.
    pub fn tiny(num_labels: usize) -> Self {
        Self {
            image_size: 8,
            patch_size: 2,
            num_channels: 1,
            embed_dim: 8,
            depths: vec![2, 2],
            num_heads: vec![1, 2],
            window_size: 2,
            mlp_ratio: 2.0,
            num_labels,
            ..Self::default()
        }
    }

    /// Maps the experiment's `[model]` section and the data's image shape onto the HF config:
    /// `embed_dim = hidden_size`, `num_heads[s] = num_heads · 2^s` (as in Swin-T).
    pub fn from_experiment(
        m: &ModelSection,
        shape: &DataShape,
        num_labels: usize,
    ) -> error::Result<Self> {
        let (channels, side) = square_image(shape, "swin", m.patch_size)?;
        if m.num_heads == 0 || m.hidden_size == 0 || !m.hidden_size.is_multiple_of(m.num_heads) {
            return Err(EbtError::config(format!(
                "model.hidden_size: {} must be a positive multiple of model.num_heads = {}",
                m.hidden_size, m.num_heads
            )));
        }
        if m.depths.is_empty() || m.depths.contains(&0) {
            return Err(EbtError::config(format!(
                "model.depths: {:?}: every stage needs at least one block",
                m.depths
            )));
        }
        if m.depths.len() > 8 {
            return Err(EbtError::config(format!(
                "model.depths: {} stages would make the last one 2^{} times wider; at most 8",
                m.depths.len(),
                m.depths.len() - 1
            )));
        }
        if m.window_size == 0 {
            return Err(EbtError::config("model.window_size: must be at least 1"));
        }
        if !(m.mlp_ratio > 0.0 && (m.mlp_ratio * m.hidden_size as f64) >= 1.0) {
            return Err(EbtError::config(format!(
                "model.mlp_ratio: {} gives no MLP neuron at width {}",
                m.mlp_ratio, m.hidden_size
            )));
        }
        check_init_and_dropout(m)?;
        if num_labels == 0 {
            return Err(EbtError::config(
                "data: the dataset has no classes (num_labels = 0)",
            ));
        }
        let cfg = Self {
            image_size: side,
            patch_size: m.patch_size,
            num_channels: channels,
            embed_dim: m.hidden_size,
            depths: m.depths.clone(),
            num_heads: (0..m.depths.len()).map(|s| m.num_heads << s).collect(),
            window_size: m.window_size,
            mlp_ratio: m.mlp_ratio,
            qkv_bias: true,
            hidden_dropout_prob: m.dropout,
            attention_probs_dropout_prob: m.attention_dropout,
            hidden_act: parse_activation(&m.hidden_act)?,
            layer_norm_eps: 1e-5,
            initializer_range: m.initializer_range,
            num_labels,
            layer_heads: None,
            layer_intermediate: None,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the config as read from a file; the message names the HF field at fault.
    pub fn validate(&self) -> error::Result<()> {
        let bad = |msg: String| Err(EbtError::config(format!("swin config: {msg}")));
        if self.depths.is_empty() || self.depths.contains(&0) {
            return bad(format!(
                "depths = {:?}: every stage needs a block",
                self.depths
            ));
        }
        if self.depths.len() > 8 {
            return bad(format!("depths = {:?}: at most 8 stages", self.depths));
        }
        if self.num_heads.len() != self.depths.len() {
            return bad(format!(
                "num_heads = {:?} needs one entry per stage of depths = {:?}",
                self.num_heads, self.depths
            ));
        }
        for s in 0..self.depths.len() {
            let (dim, heads) = (self.stage_dim(s), self.num_heads[s]);
            if heads == 0 || dim == 0 || !dim.is_multiple_of(heads) {
                return bad(format!(
                    "stage {s} width embed_dim·2^{s} = {dim} is not a positive multiple of num_heads[{s}] = {heads}"
                ));
            }
            if self.stage_intermediate(s) == 0 {
                return bad(format!(
                    "mlp_ratio = {} gives stage {s} no MLP neuron",
                    self.mlp_ratio
                ));
            }
        }
        if self.window_size == 0 {
            return bad("window_size must be at least 1".into());
        }
        check_image_fields(
            "swin",
            ImageFields {
                image_size: self.image_size,
                patch_size: self.patch_size,
                num_channels: self.num_channels,
                num_labels: self.num_labels,
                hidden_dropout_prob: self.hidden_dropout_prob,
                attention_probs_dropout_prob: self.attention_probs_dropout_prob,
            },
        )?;
        let n = self.num_blocks();
        check_per_layer("swin", "layer_heads", &self.layer_heads, n)?;
        check_per_layer("swin", "layer_intermediate", &self.layer_intermediate, n)
    }

    /// Width of stage `s` (the shift is clamped so that an absurd stage count in a bad file
    /// cannot overflow it; `validate` allows at most 8 stages).
    pub fn stage_dim(&self, s: usize) -> usize {
        self.embed_dim << s.min(usize::BITS as usize - 1)
    }

    /// Head size of stage `s`; fixed by the unpruned config (0 for a config that `validate`
    /// rejects, so that `structure` never panics on a bad file).
    pub fn head_dim(&self, s: usize) -> usize {
        self.stage_dim(s)
            .checked_div(self.stage_heads(s))
            .unwrap_or(0)
    }

    /// Unpruned heads of stage `s` (0 if the config lacks the entry).
    fn stage_heads(&self, s: usize) -> usize {
        self.num_heads.get(s).copied().unwrap_or(0)
    }

    /// Unpruned MLP width of stage `s` (HF: `int(mlp_ratio * dim)`).
    pub fn stage_intermediate(&self, s: usize) -> usize {
        (self.mlp_ratio * self.stage_dim(s) as f64) as usize
    }

    /// Blocks in all stages.
    pub fn num_blocks(&self) -> usize {
        self.depths.iter().sum()
    }

    /// Heads of flat block `layer`.
    pub fn heads(&self, layer: usize) -> usize {
        let stage = self.block_pos(layer).map_or(0, |p| p.stage);
        per_layer(&self.layer_heads, layer, self.stage_heads(stage))
    }

    /// MLP width of flat block `layer`.
    pub fn intermediate(&self, layer: usize) -> usize {
        let stage = self.block_pos(layer).map_or(0, |p| p.stage);
        per_layer(
            &self.layer_intermediate,
            layer,
            self.stage_intermediate(stage),
        )
    }

    /// Token-grid side of each stage: `image / patch`, then halved (rounding up) by each merge.
    pub fn stage_resolutions(&self) -> Vec<usize> {
        let mut r = self.image_size / self.patch_size;
        self.depths
            .iter()
            .map(|_| {
                let here = r;
                r = r.div_ceil(2);
                here
            })
            .collect()
    }

    fn blocks(&self) -> impl Iterator<Item = BlockPos> + '_ {
        self.depths
            .iter()
            .enumerate()
            .flat_map(move |(stage, &depth)| {
                let first: usize = self.depths[..stage].iter().sum();
                (0..depth).map(move |block| BlockPos {
                    flat: first + block,
                    stage,
                    block,
                })
            })
    }

    fn block_pos(&self, flat: usize) -> Option<BlockPos> {
        self.blocks().nth(flat)
    }

    fn block_prefix(p: BlockPos) -> String {
        format!("swin.encoder.layers.{}.blocks.{}", p.stage, p.block)
    }
}

impl ArchSpec for SwinConfig {
    fn build(&self, vb: VarBuilder, dropout: DropoutRng) -> Result<Box<dyn Classifier>> {
        Ok(Box::new(SwinModel::new(self, vb, dropout)?))
    }

    fn structure(&self) -> ModelStructure {
        let mut prunable_weights = Vec::new();
        let mut groups = Vec::new();
        for pos in self.blocks() {
            let p = Self::block_prefix(pos);
            let names = BlockNames {
                qkv: ["query", "key", "value"].map(|n| format!("{p}.attention.self.{n}")),
                attention_output: format!("{p}.attention.output.dense"),
                intermediate: format!("{p}.intermediate.dense"),
                output: format!("{p}.output.dense"),
                relative_position_bias_table: Some(format!(
                    "{p}.attention.self.relative_position_bias_table"
                )),
            };
            names.push_structure(
                pos.flat,
                (
                    self.heads(pos.flat),
                    self.head_dim(pos.stage),
                    self.qkv_bias,
                ),
                self.intermediate(pos.flat),
                &mut prunable_weights,
                &mut groups,
            );
        }
        ModelStructure {
            prunable_weights,
            groups,
            num_layers: self.num_blocks(),
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

/// The built model.
struct SwinModel {
    patch_embeddings: PatchEmbedding,
    embeddings_norm: LayerNorm,
    stages: Vec<SwinStage>,
    layernorm: LayerNorm,
    classifier: Linear,
    hidden_dropout: f64,
    rng: DropoutRng,
    /// (channels, side) the model was built for.
    image: (usize, usize),
}

struct SwinStage {
    blocks: Vec<SwinBlock>,
    downsample: Option<PatchMerging>,
    /// Token-grid side at the input of the stage.
    resolution: usize,
}

impl SwinModel {
    fn new(cfg: &SwinConfig, vb: VarBuilder, rng: DropoutRng) -> Result<Self> {
        cfg.validate()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let std = cfg.initializer_range;
        let emb = vb.pp("swin.embeddings");
        let patch_embeddings = PatchEmbedding::new(
            cfg.num_channels,
            cfg.embed_dim,
            cfg.patch_size,
            std,
            emb.pp("patch_embeddings.projection"),
        )?;
        let embeddings_norm = LayerNorm::new(cfg.embed_dim, TORCH_LAYER_NORM_EPS, emb.pp("norm"))?;
        let resolutions = cfg.stage_resolutions();
        let last = cfg.depths.len() - 1;
        let mut stages = Vec::with_capacity(cfg.depths.len());
        for (s, &resolution) in resolutions.iter().enumerate() {
            let blocks = cfg
                .blocks()
                .filter(|p| p.stage == s)
                .map(|p| SwinBlock::new(cfg, p, resolution, vb.pp(SwinConfig::block_prefix(p))))
                .collect::<Result<Vec<_>>>()?;
            let downsample = if s < last {
                let dvb = vb.pp(format!("swin.encoder.layers.{s}.downsample"));
                Some(PatchMerging::new(cfg.stage_dim(s), std, dvb)?)
            } else {
                None
            };
            stages.push(SwinStage {
                blocks,
                downsample,
                resolution,
            });
        }
        let width = cfg.stage_dim(last);
        Ok(Self {
            patch_embeddings,
            embeddings_norm,
            stages,
            layernorm: LayerNorm::new(width, cfg.layer_norm_eps, vb.pp("swin.layernorm"))?,
            classifier: Linear::new(width, cfg.num_labels, true, std, vb.pp("classifier"))?,
            hidden_dropout: cfg.hidden_dropout_prob,
            rng,
            image: (cfg.num_channels, cfg.image_size),
        })
    }
}

impl Classifier for SwinModel {
    fn forward(&self, input: &ModelInput, train: bool) -> Result<Tensor> {
        let x = images_of(input, "swin", self.image)?;
        let x = self.patch_embeddings.forward(x)?.0; // (B, R·R, E)
        let x = self.embeddings_norm.forward(&x)?;
        let mut x = self.rng.dropout(&x, self.hidden_dropout, train)?;
        for stage in &self.stages {
            for block in &stage.blocks {
                x = block.forward(&x, &self.rng, train)?;
            }
            if let Some(merge) = &stage.downsample {
                x = merge.forward(&x, stage.resolution)?; // (B, ⌈R/2⌉², 2·width)
            }
        }
        let x = self.layernorm.forward(&x)?.mean(1)?; // (B, width)
        self.classifier.forward(&x) // (B, num_labels)
    }
}

/// One (shifted-)window block.
struct SwinBlock {
    layernorm_before: LayerNorm,
    attention: SelfAttention,
    /// ((2·window_size-1)², heads)
    relative_position_bias_table: Tensor,
    layernorm_after: LayerNorm,
    mlp: FeedForward,
    geometry: WindowGeometry,
    /// (w²·w²,) u32 rows of the table for each (query, key) pair of a window.
    relative_position_index: Tensor,
    /// (nW, 1, w², w²): 0 or -100 for shifted blocks; None when not shifted.
    shift_mask: Option<Tensor>,
}

impl SwinBlock {
    fn new(cfg: &SwinConfig, pos: BlockPos, resolution: usize, vb: VarBuilder) -> Result<Self> {
        let dim = cfg.stage_dim(pos.stage);
        let heads = cfg.heads(pos.flat);
        let geometry = WindowGeometry::new(resolution, cfg.window_size, pos.block % 2 == 1);
        let spec = AttentionSpec {
            dim,
            heads,
            head_dim: cfg.head_dim(pos.stage),
            qkv_bias: cfg.qkv_bias,
            std: cfg.initializer_range,
            probs_dropout: cfg.attention_probs_dropout_prob,
            // HF's SwinSelfOutput drops out with the attention rate, not the hidden one.
            output_dropout: cfg.attention_probs_dropout_prob,
        };
        let mlp = FeedForwardSpec {
            dim,
            width: cfg.intermediate(pos.flat),
            act: cfg.hidden_act,
            std: cfg.initializer_range,
            dropout: cfg.hidden_dropout_prob,
        };
        let table_side = 2 * cfg.window_size - 1;
        // HF creates the table with zeros and its init leaves it so.
        let relative_position_bias_table = vb.pp("attention.self").get_with_hints(
            (table_side * table_side, heads),
            "relative_position_bias_table",
            candle_nn::Init::Const(0.0),
        )?;
        let dev = relative_position_bias_table.device().clone();
        let index = relative_position_index(geometry.window, cfg.window_size);
        let n = index.len();
        let relative_position_index = Tensor::from_vec(index, n, &dev)?;
        let shift_mask = match geometry.shift {
            0 => None,
            shift => {
                let w2 = geometry.window * geometry.window;
                let mask = shift_window_mask(geometry.padded, geometry.window, shift);
                let nw = mask.len() / (w2 * w2);
                Some(Tensor::from_vec(mask, (nw, 1, w2, w2), &dev)?)
            }
        };
        Ok(Self {
            layernorm_before: LayerNorm::new(dim, cfg.layer_norm_eps, vb.pp("layernorm_before"))?,
            attention: SelfAttention::new(
                &spec,
                vb.pp("attention.self"),
                vb.pp("attention.output.dense"),
            )?,
            relative_position_bias_table,
            layernorm_after: LayerNorm::new(dim, cfg.layer_norm_eps, vb.pp("layernorm_after"))?,
            mlp: FeedForward::new(&mlp, vb.pp("intermediate.dense"), vb.pp("output.dense"))?,
            geometry,
            relative_position_index,
            shift_mask,
        })
    }

    /// The additive score bias of every window: (1 or nW, h, w², w²).
    fn score_bias(&self) -> Result<Tensor> {
        let w2 = self.geometry.window * self.geometry.window;
        let heads = self.relative_position_bias_table.dim(1)?;
        let bias = self
            .relative_position_bias_table
            .index_select(&self.relative_position_index, 0)? // (w²·w², h)
            .reshape((w2, w2, heads))?
            .permute((2, 0, 1))?
            .unsqueeze(0)?; // (1, h, w², w²)
        match &self.shift_mask {
            Some(mask) => mask.broadcast_add(&bias), // (nW, h, w², w²)
            None => Ok(bias),
        }
    }

    /// x: (B, R·R, C) → (B, R·R, C)
    fn forward(&self, x: &Tensor, rng: &DropoutRng, train: bool) -> Result<Tensor> {
        let (b, l, c) = x.dims3()?;
        let WindowGeometry {
            resolution: r,
            window: w,
            shift,
            padded: rp,
        } = self.geometry;
        if l != r * r {
            candle_core::bail!("swin block built for {r}x{r} tokens got {l}");
        }
        let h = self.layernorm_before.forward(x)?.reshape((b, r, r, c))?;
        let h = h
            .pad_with_zeros(1, 0, rp - r)?
            .pad_with_zeros(2, 0, rp - r)?; // (B, R', R', C)
        let h = roll2(&h, -(shift as i32))?;
        let windows = window_partition(&h, w)?; // (B·nW, w², C)
        let bias = self.score_bias()?;
        let attended = self.attention.forward(&windows, Some(&bias), rng, train)?;
        let h = window_reverse(&attended, w, rp)?; // (B, R', R', C)
        let h = roll2(&h, shift as i32)?;
        let h = h.narrow(1, 0, r)?.narrow(2, 0, r)?.reshape((b, l, c))?;
        let x = (x + h)?;
        let m = self
            .mlp
            .forward(&self.layernorm_after.forward(&x)?, rng, train)?;
        x + m
    }
}

/// How one block tiles its token grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WindowGeometry {
    /// Side of the token grid.
    resolution: usize,
    /// Side of a window: the configured one, or the whole grid when that is not larger.
    window: usize,
    /// Cyclic shift before partitioning (0 for even blocks and single-window stages).
    shift: usize,
    /// Grid side after zero-padding to a multiple of the window.
    padded: usize,
}

impl WindowGeometry {
    /// HF `set_shift_and_window_size` + `maybe_pad`.
    fn new(resolution: usize, window_size: usize, odd_block: bool) -> Self {
        let (window, shift) = if resolution <= window_size {
            (resolution, 0)
        } else {
            (window_size, if odd_block { window_size / 2 } else { 0 })
        };
        Self {
            resolution,
            window,
            shift,
            padded: resolution.div_ceil(window) * window,
        }
    }
}

/// Rolls a (B, R, R, C) map by `shift` along both grid axes (torch.roll semantics).
fn roll2(x: &Tensor, shift: i32) -> Result<Tensor> {
    if shift == 0 {
        return Ok(x.clone());
    }
    x.roll(shift, 1)?.roll(shift, 2)
}

/// (B, R, R, C) → (B·nW, w², C), windows in row-major order within each image.
fn window_partition(x: &Tensor, w: usize) -> Result<Tensor> {
    let (b, r, _, c) = x.dims4()?;
    let n = r / w;
    x.reshape((b, n, w, n, w, c))?
        .permute((0, 1, 3, 2, 4, 5))? // (B, n, n, w, w, C)
        .reshape((b * n * n, w * w, c))
}

/// (B·nW, w², C) → (B, R, R, C); inverse of `window_partition`.
fn window_reverse(x: &Tensor, w: usize, r: usize) -> Result<Tensor> {
    let (bw, _, c) = x.dims3()?;
    let n = r / w;
    let b = bw / (n * n);
    x.reshape((b, n, n, w, w, c))?
        .permute((0, 1, 3, 2, 4, 5))? // (B, n, w, n, w, C)
        .reshape((b, r, r, c))
}

/// For each (query, key) pair of a `window`×`window` window, its row in a table built for
/// `table_window` (≥ window): `(Δrow + tw-1)·(2tw-1) + (Δcol + tw-1)`. Equal windows give
/// HF's `relative_position_index`.
fn relative_position_index(window: usize, table_window: usize) -> Vec<u32> {
    let side = 2 * table_window as i64 - 1;
    let off = table_window as i64 - 1;
    let w = window as i64;
    let mut index = Vec::with_capacity((w * w * w * w) as usize);
    for i in 0..w * w {
        for j in 0..w * w {
            let dr = i / w - j / w + off;
            let dc = i % w - j % w + off;
            index.push((dr * side + dc) as u32);
        }
    }
    index
}

/// HF's attention mask for shifted windows on a `padded`×`padded` grid: the rolled grid is cut
/// into 3×3 regions (`[0, R-w)`, `[R-w, R-s)`, `[R-s, R)` per axis); two tokens of one window
/// may attend to each other only if they come from the same region. Returns (nW·w²·w²) values,
/// 0 or -100, windows in row-major order.
fn shift_window_mask(padded: usize, w: usize, shift: usize) -> Vec<f32> {
    let band = |i: usize| {
        if i < padded - w {
            0
        } else if i < padded - shift {
            1
        } else {
            2
        }
    };
    let n = padded / w;
    let mut mask = Vec::with_capacity(n * n * w.pow(4));
    for wr in 0..n {
        for wc in 0..n {
            let region = |t: usize| 3 * band(wr * w + t / w) + band(wc * w + t % w);
            for i in 0..w * w {
                for j in 0..w * w {
                    let same = region(i) == region(j);
                    mask.push(if same { 0.0 } else { SHIFT_MASK_VALUE });
                }
            }
        }
    }
    mask
}

/// HF `SwinPatchMerging`: concatenates each 2×2 neighbourhood (zero-padding odd grids), norms
/// and halves the width: (B, R·R, C) → (B, ⌈R/2⌉², 2C).
struct PatchMerging {
    norm: LayerNorm,
    reduction: Linear,
}

impl PatchMerging {
    fn new(dim: usize, std: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm: LayerNorm::new(4 * dim, TORCH_LAYER_NORM_EPS, vb.pp("norm"))?,
            reduction: Linear::new(4 * dim, 2 * dim, false, std, vb.pp("reduction"))?,
        })
    }

    fn forward(&self, x: &Tensor, r: usize) -> Result<Tensor> {
        let merged = merge_neighbours(x, r)?; // (B, ⌈R/2⌉², 4C)
        self.reduction.forward(&self.norm.forward(&merged)?)
    }
}

/// (B, R·R, C) → (B, ⌈R/2⌉², 4C) with the four neighbours in HF's order:
/// (even row, even col), (odd, even), (even, odd), (odd, odd).
fn merge_neighbours(x: &Tensor, r: usize) -> Result<Tensor> {
    let (b, _, c) = x.dims3()?;
    let half = r.div_ceil(2);
    let pad = 2 * half - r;
    x.reshape((b, r, r, c))?
        .pad_with_zeros(1, 0, pad)?
        .pad_with_zeros(2, 0, pad)?
        .reshape((b, half, 2, half, 2, c))? // (B, row/2, row%2, col/2, col%2, C)
        .permute((0, 1, 3, 4, 2, 5))? // (B, row/2, col/2, col%2, row%2, C)
        .reshape((b, half * half, 4 * c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// HF's index for a 2x2 window, computed by hand from its formula.
    #[test]
    fn relative_position_index_matches_hf_for_window_2() {
        let idx = relative_position_index(2, 2);
        #[rustfmt::skip]
        let expected = [
            4, 3, 1, 0,
            5, 4, 2, 1,
            7, 6, 4, 3,
            8, 7, 5, 4,
        ];
        assert_eq!(idx, expected);
        // A 2x2 window in a 4x4 table uses the central offsets of the 7x7 grid.
        let sub = relative_position_index(2, 4);
        assert_eq!(sub[0], 3 * 7 + 3);
        assert_eq!(*sub.iter().max().unwrap(), 4 * 7 + 4);
        assert_eq!(*sub.iter().min().unwrap(), 2 * 7 + 2);
    }

    /// 4x4 grid, window 2, shift 1: the top-left window sees one region, the bottom-right window
    /// four (rows and cols 2 and 3 are different bands), the top-right two.
    #[test]
    fn shift_mask_separates_rolled_regions() {
        let mask = shift_window_mask(4, 2, 1);
        assert_eq!(mask.len(), 4 * 16);
        let window = |k: usize| &mask[k * 16..(k + 1) * 16];
        assert!(window(0).iter().all(|&v| v == 0.0));
        // Top-right window: tokens (0,2),(0,3),(1,2),(1,3) → col bands 1,2,1,2.
        #[rustfmt::skip]
        let top_right = [
            0.0, -100.0, 0.0, -100.0,
            -100.0, 0.0, -100.0, 0.0,
            0.0, -100.0, 0.0, -100.0,
            -100.0, 0.0, -100.0, 0.0,
        ];
        assert_eq!(window(1), top_right);
        let bottom_right = window(3);
        let allowed = bottom_right.iter().filter(|&&v| v == 0.0).count();
        assert_eq!(allowed, 4, "each token attends only to itself");
    }

    #[test]
    fn geometry_follows_hf() {
        let g = |r, w, odd| WindowGeometry::new(r, w, odd);
        assert_eq!(
            g(4, 2, true),
            WindowGeometry {
                resolution: 4,
                window: 2,
                shift: 1,
                padded: 4
            }
        );
        assert_eq!(g(4, 2, false).shift, 0);
        assert_eq!(
            g(2, 4, true),
            WindowGeometry {
                resolution: 2,
                window: 2,
                shift: 0,
                padded: 2
            }
        );
        assert_eq!(
            g(8, 3, true),
            WindowGeometry {
                resolution: 8,
                window: 3,
                shift: 1,
                padded: 9
            }
        );
    }

    #[test]
    fn window_partition_round_trips() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::arange(0f32, 2.0 * 4.0 * 4.0 * 3.0, &dev)?.reshape((2, 4, 4, 3))?;
        let w = window_partition(&x, 2)?;
        assert_eq!(w.dims(), &[8, 4, 3]);
        // Window 1 of image 0 is rows 0..2, cols 2..4; its second token is (0, 3).
        let token: Vec<f32> = w.get(1)?.get(1)?.to_vec1()?;
        assert_eq!(token, vec![9.0, 10.0, 11.0]);
        let back = window_reverse(&w, 2, 4)?;
        let diff = (back - x)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert_eq!(diff, 0.0);
        Ok(())
    }

    #[test]
    fn merge_takes_hf_neighbour_order_and_pads_odd_grids() -> Result<()> {
        let dev = Device::Cpu;
        // 1 image, 3x3 grid, 1 channel: value = 10·row + col.
        let vals: Vec<f32> = (0..9).map(|t| (10 * (t / 3) + t % 3) as f32).collect();
        let x = Tensor::from_vec(vals, (1, 9, 1), &dev)?;
        let m = merge_neighbours(&x, 3)?;
        assert_eq!(m.dims(), &[1, 4, 4]);
        let m: Vec<Vec<f32>> = m.squeeze(0)?.to_vec2()?;
        assert_eq!(m[0], vec![0.0, 10.0, 1.0, 11.0]);
        assert_eq!(m[1], vec![2.0, 12.0, 0.0, 0.0]);
        assert_eq!(m[3], vec![22.0, 0.0, 0.0, 0.0]);
        Ok(())
    }

    #[test]
    fn stage_sizes_and_flat_blocks() {
        let cfg = SwinConfig::tiny(10);
        assert_eq!(cfg.stage_resolutions(), vec![4, 2]);
        assert_eq!((cfg.head_dim(0), cfg.head_dim(1)), (8, 8));
        assert_eq!(
            (cfg.heads(1), cfg.heads(2), cfg.intermediate(3)),
            (1, 2, 32)
        );
        let hf = SwinConfig::default();
        assert_eq!(hf.stage_resolutions(), vec![56, 28, 14, 7]);
        assert_eq!(hf.num_blocks(), 12);
        assert_eq!(
            hf.block_pos(5),
            Some(BlockPos {
                flat: 5,
                stage: 2,
                block: 1
            })
        );
    }

    #[test]
    fn from_experiment_doubles_heads_per_stage() {
        let m = ModelSection {
            arch: "swin".into(),
            hidden_size: 16,
            num_heads: 2,
            depths: vec![2, 2, 2],
            ..ModelSection::default()
        };
        let img = DataShape::Image {
            channels: 1,
            height: 8,
            width: 8,
        };
        let cfg = SwinConfig::from_experiment(&m, &img, 10).unwrap();
        assert_eq!(cfg.num_heads, vec![2, 4, 8]);
        assert_eq!((cfg.embed_dim, cfg.stage_intermediate(2)), (16, 128));
        let bad = ModelSection {
            window_size: 0,
            ..m
        };
        let err = SwinConfig::from_experiment(&bad, &img, 10)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("model.window_size:"), "{err}");
    }

    /// A bad file is an error from `validate`, never a panic from `structure`.
    #[test]
    fn bad_configs_are_errors_not_panics() {
        let cfg = SwinConfig {
            num_heads: vec![],
            ..SwinConfig::tiny(3)
        };
        assert_eq!(cfg.structure().groups.len(), 8);
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("num_heads = []"), "{err}");
        let cfg = SwinConfig {
            layer_intermediate: Some(vec![4, 4, 0, 4]),
            ..SwinConfig::tiny(3)
        };
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("layer_intermediate[2] is 0"), "{err}");
    }
}

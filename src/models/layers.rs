//! Building blocks shared by the four model families, written so that every op has a backward
//! pass (candle's fused softmax / LayerNorm have none, see shared/docs/candle-notes.md) and every
//! weight is initialised as Hugging Face does: normal(0, initializer_range), zero biases, unit norms.

use std::sync::{Arc, Mutex};

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{Init, VarBuilder};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `y = x W^T + b`, weight stored `[out, in]` (PyTorch `nn.Linear`, HF names `weight`/`bias`).
#[derive(Clone, Debug)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    pub fn new(
        in_dim: usize,
        out_dim: usize,
        bias: bool,
        std: f64,
        vb: VarBuilder,
    ) -> Result<Self> {
        let weight = vb.get_with_hints(
            (out_dim, in_dim),
            "weight",
            Init::Randn {
                mean: 0.0,
                stdev: std,
            },
        )?;
        let bias = if bias {
            Some(vb.get_with_hints(out_dim, "bias", Init::Const(0.0))?)
        } else {
            None
        };
        Ok(Self { weight, bias })
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = x.broadcast_matmul(&self.weight.t()?)?;
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

/// GPT-2's `Conv1D`: a linear layer whose weight is stored transposed, `[in, out]`.
#[derive(Clone, Debug)]
pub struct Conv1D {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Conv1D {
    pub fn new(in_dim: usize, out_dim: usize, std: f64, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get_with_hints(
            (in_dim, out_dim),
            "weight",
            Init::Randn {
                mean: 0.0,
                stdev: std,
            },
        )?;
        let bias = vb.get_with_hints(out_dim, "bias", Init::Const(0.0))?;
        Ok(Self { weight, bias })
    }
}

impl Module for Conv1D {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.broadcast_matmul(&self.weight)?.broadcast_add(&self.bias)
    }
}

/// LayerNorm from mean/variance ops, so that gradients reach the norm and everything before it.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f64,
}

impl LayerNorm {
    pub fn new(dim: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get_with_hints(dim, "weight", Init::Const(1.0))?;
        let bias = vb.get_with_hints(dim, "bias", Init::Const(0.0))?;
        Ok(Self { weight, bias, eps })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centered = x.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centered.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

/// Token / position embedding table `[n, dim]`, normal(0, std) init.
#[derive(Clone, Debug)]
pub struct Embedding {
    pub weight: Tensor,
}

impl Embedding {
    pub fn new(n: usize, dim: usize, std: f64, vb: VarBuilder) -> Result<Self> {
        let weight = vb.get_with_hints(
            (n, dim),
            "weight",
            Init::Randn {
                mean: 0.0,
                stdev: std,
            },
        )?;
        Ok(Self { weight })
    }

    /// ids: any shape of u32 → ids.shape + [dim]
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let mut dims = ids.dims().to_vec();
        dims.push(self.weight.dim(1)?);
        self.weight
            .index_select(&ids.flatten_all()?, 0)?
            .reshape(dims)
    }
}

/// Softmax over the last dimension with a backward pass (candle's fused one has none).
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    candle_nn::ops::softmax(x, D::Minus1)
}

/// The activation named in a Hugging Face config (`hidden_act` / `activation_function`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum Activation {
    /// Exact GELU (erf), HF "gelu".
    #[default]
    #[serde(rename = "gelu")]
    Gelu,
    /// tanh approximation, HF "gelu_new" / "gelu_pytorch_tanh" (GPT-2's default); faster on CPU.
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluNew,
    #[serde(rename = "relu")]
    Relu,
}

impl Activation {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Gelu => x.gelu_erf(),
            Activation::GeluNew => x.gelu(),
            Activation::Relu => x.relu(),
        }
    }
}

/// The seeded random stream dropout draws from; shared by all dropout sites of one model so a
/// run is reproducible (candle's own dropout uses an unseeded thread RNG).
#[derive(Clone)]
pub struct DropoutRng(Arc<Mutex<ChaCha8Rng>>);

impl DropoutRng {
    pub fn new(seed: u64) -> Self {
        Self(Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed))))
    }

    /// Inverted dropout: zero with probability `p`, scale the rest by `1/(1-p)`; identity when
    /// not training or `p == 0`.
    pub fn dropout(&self, x: &Tensor, p: f64, train: bool) -> Result<Tensor> {
        if !train || p <= 0.0 {
            return Ok(x.clone());
        }
        if p >= 1.0 {
            return x.zeros_like();
        }
        let n = x.elem_count();
        let scale = (1.0 / (1.0 - p)) as f32;
        // Bulk random bytes (the generator's own optimised fill), then one threshold per element.
        let threshold = (p * u32::MAX as f64) as u32;
        let mut bytes = vec![0u8; n * 4];
        {
            let mut rng = self.0.lock().unwrap_or_else(|e| e.into_inner());
            rng.fill_bytes(&mut bytes);
        }
        let keep: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| {
                let r = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if r < threshold {
                    0.0
                } else {
                    scale
                }
            })
            .collect();
        let mask = Tensor::from_vec(keep, x.shape(), x.device())?;
        x * mask
    }
}

/// Large negative number used instead of -inf in attention masks (-inf gives NaN gradients).
pub const MASK_VALUE: f64 = -1e9;

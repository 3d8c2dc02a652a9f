//! The one place model parameters live: a name-sorted store of `Var`s with seeded initialisation.
//!
//! Why not `candle_nn::VarMap`: its order is a `HashMap`'s (unspecified), its initialisers draw from
//! candle's CPU RNG which cannot be seeded, and `VarMap::load` needs every name present. Here every
//! tensor is drawn from a ChaCha stream keyed by `(seed, name)`, so a run is reproducible and the
//! value of a tensor does not depend on the order in which the model asked for it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::{Init, VarBuilder};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// Name-sorted trainable parameters of one model.
#[derive(Clone)]
pub struct ParamStore {
    inner: Arc<Inner>,
}

struct Inner {
    vars: Mutex<BTreeMap<String, Var>>,
    seed: u64,
    device: Device,
}

impl ParamStore {
    /// An empty store; tensors are created on first request with the model's init hints.
    pub fn new(seed: u64, device: &Device) -> Self {
        Self {
            inner: Arc::new(Inner {
                vars: Mutex::new(BTreeMap::new()),
                seed,
                device: device.clone(),
            }),
        }
    }

    /// A store pre-filled with tensors (a checkpoint, a pruned model); names not present are
    /// still created with their init hints when the model asks (a fresh classification head).
    pub fn from_tensors(
        tensors: BTreeMap<String, Tensor>,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let store = Self::new(seed, device);
        {
            let mut vars = store.lock();
            for (name, t) in tensors {
                let t = t.to_device(device)?.to_dtype(DType::F32)?;
                vars.insert(name, Var::from_tensor(&t)?);
            }
        }
        Ok(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Var>> {
        // A poisoned lock only means another thread panicked mid-insert of a whole tensor; the map
        // itself is still consistent.
        self.inner.vars.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn device(&self) -> &Device {
        &self.inner.device
    }

    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// A builder whose tensors are the tracked `Var`s: use it for the training forward pass.
    pub fn train_builder(&self) -> VarBuilder<'static> {
        VarBuilder::from_backend(
            Box::new(Backend {
                store: self.clone(),
                detached: false,
            }),
            DType::F32,
            self.inner.device.clone(),
        )
    }

    /// A builder of detached views of the same storage: a model built from it sees every update
    /// but records no graph (candle has no no-grad mode), so evaluation is cheap.
    pub fn eval_builder(&self) -> VarBuilder<'static> {
        VarBuilder::from_backend(
            Box::new(Backend {
                store: self.clone(),
                detached: true,
            }),
            DType::F32,
            self.inner.device.clone(),
        )
    }

    /// All parameters, sorted by name.
    pub fn vars(&self) -> Vec<(String, Var)> {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn get(&self, name: &str) -> Option<Var> {
        self.lock().get(name).cloned()
    }

    /// Detached copies of the current values (a snapshot that later updates do not change).
    pub fn snapshot(&self) -> Result<BTreeMap<String, Tensor>> {
        self.lock()
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?.detach())))
            .collect()
    }

    /// Number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.lock().values().map(|v| v.elem_count()).sum()
    }

    /// Bytes the parameters take in memory (f32).
    pub fn num_bytes(&self) -> usize {
        self.lock()
            .values()
            .map(|v| v.elem_count() * v.dtype().size_in_bytes())
            .sum()
    }

    /// Saves every parameter under its (Hugging Face) name.
    pub fn save_safetensors(&self, path: &Path) -> Result<()> {
        let tensors = self.snapshot()?;
        candle_core::safetensors::save(&tensors.into_iter().collect(), path)
    }

    fn get_or_init(&self, shape: Shape, name: &str, init: Init, detached: bool) -> Result<Tensor> {
        let mut vars = self.lock();
        if let Some(v) = vars.get(name) {
            if v.shape() != &shape {
                candle_core::bail!(
                    "parameter {name}: stored shape {:?} but the model expects {:?}",
                    v.shape(),
                    shape
                );
            }
            return Ok(if detached {
                v.as_detached_tensor()
            } else {
                v.as_tensor().clone()
            });
        }
        if detached {
            candle_core::bail!("parameter {name} is missing: build the training model first");
        }
        let t = seeded_init(&shape, &init, self.inner.seed, name, &self.inner.device)?;
        let var = Var::from_tensor(&t)?;
        let out = var.as_tensor().clone();
        vars.insert(name.to_string(), var);
        Ok(out)
    }
}

struct Backend {
    store: ParamStore,
    detached: bool,
}

impl candle_nn::var_builder::SimpleBackend for Backend {
    fn get(&self, s: Shape, name: &str, h: Init, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        self.store.get_or_init(s, name, h, self.detached)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        match self.store.get(name) {
            Some(v) if self.detached => Ok(v.as_detached_tensor()),
            Some(v) => Ok(v.as_tensor().clone()),
            None => candle_core::bail!("parameter {name} is missing"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.store.get(name).is_some()
    }
}

/// FNV-1a of the name mixed with the seed: a stable per-tensor stream id.
pub fn name_seed(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Draws a tensor for `init` from a ChaCha stream keyed by `(seed, name)`.
pub fn seeded_init(
    shape: &Shape,
    init: &Init,
    seed: u64,
    name: &str,
    device: &Device,
) -> Result<Tensor> {
    let n = shape.elem_count();
    let mut rng = ChaCha8Rng::seed_from_u64(name_seed(seed, name));
    let data: Vec<f32> = match *init {
        Init::Const(c) => vec![c as f32; n],
        Init::Randn { mean, stdev } => {
            let d = Normal::new(mean as f32, stdev as f32)
                .map_err(|e| candle_core::Error::Msg(format!("init of {name}: {e}")))?;
            (0..n).map(|_| d.sample(&mut rng)).collect()
        }
        Init::Uniform { lo, up } => {
            let d = Uniform::new(lo as f32, up as f32)
                .map_err(|e| candle_core::Error::Msg(format!("init of {name}: {e}")))?;
            (0..n).map(|_| d.sample(&mut rng)).collect()
        }
        Init::Kaiming { .. } => {
            // PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
            let fan_in: usize = shape.dims().iter().skip(1).product::<usize>().max(1);
            let b = 1.0 / (fan_in as f32).sqrt();
            let d = Uniform::new(-b, b)
                .map_err(|e| candle_core::Error::Msg(format!("init of {name}: {e}")))?;
            (0..n).map(|_| d.sample(&mut rng)).collect()
        }
    };
    Tensor::from_vec(data, shape.clone(), device)
}

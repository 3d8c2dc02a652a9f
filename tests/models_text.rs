//! GPT-2 and RoBERTa on tiny configs: shapes, gradients reaching every parameter, padding
//! invariance, masked-dense == shrunk after surgery, an independent plain-loop GPT-2 forward,
//! HF names and init, and the HF `config.json` mapping.

use std::collections::BTreeMap;

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::Init;
use ebt::config::ModelSection;
use ebt::data::DataShape;
use ebt::models::gpt2::Gpt2Config;
use ebt::models::params::seeded_init;
use ebt::models::roberta::RobertaConfig;
use ebt::models::{ArchConfig, ArchSpec, Classifier, DropoutRng, ModelInput, ParamStore, UnitKind};
use ebt::prune::surgery::{shrink, zero_units, StructurePlan};

const VOCAB: usize = 20;
const LABELS: usize = 3;

fn tiny_gpt2() -> Gpt2Config {
    Gpt2Config::tiny(VOCAB, LABELS)
}

fn tiny_roberta() -> RobertaConfig {
    RobertaConfig::tiny(VOCAB, LABELS)
}

/// Both tiny families, with a weight scale large enough that logits depend visibly on every unit.
fn tiny_archs(initializer_range: f64) -> Vec<ArchConfig> {
    let mut g = tiny_gpt2();
    g.initializer_range = initializer_range;
    let mut r = tiny_roberta();
    r.initializer_range = initializer_range;
    vec![ArchConfig::Gpt2(g), ArchConfig::Roberta(r)]
}

fn pad_id(arch: &ArchConfig) -> u32 {
    match arch {
        ArchConfig::Gpt2(c) => c.pad_token_id.unwrap_or(0),
        ArchConfig::Roberta(c) => c.pad_token_id,
        _ => unreachable!("only text models here"),
    }
}

/// Deterministic token ids of row `row`: `len` real tokens in 2..VOCAB.
fn tokens(row: usize, len: usize) -> Vec<u32> {
    (0..len)
        .map(|p| 2 + ((row * 7 + p * 5 + p * p) % (VOCAB - 2)) as u32)
        .collect()
}

/// Right-padded batch of the given rows, `t` columns.
fn batch(rows: &[Vec<u32>], t: usize, pad: u32, dev: &Device) -> Result<ModelInput> {
    let mut ids = Vec::new();
    let mut mask = Vec::new();
    for r in rows {
        for p in 0..t {
            ids.push(r.get(p).copied().unwrap_or(pad));
            mask.push(if p < r.len() { 1f32 } else { 0.0 });
        }
    }
    Ok(ModelInput::Tokens {
        ids: Tensor::from_vec(ids, (rows.len(), t), dev)?,
        mask: Tensor::from_vec(mask, (rows.len(), t), dev)?,
    })
}

/// A padded batch of four rows of lengths 3, 8, 5, 1.
fn mixed_batch(pad: u32, dev: &Device) -> Result<ModelInput> {
    let rows: Vec<Vec<u32>> = [3, 8, 5, 1]
        .iter()
        .enumerate()
        .map(|(r, &n)| tokens(r, n))
        .collect();
    batch(&rows, 8, pad, dev)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
    (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
}

fn max_abs(t: &Tensor) -> Result<f32> {
    t.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
}

/// Builds `arch` over a store pre-filled with `tensors`, evaluation mode; fails if the model asks
/// for a tensor the map lacks.
fn eval_model(
    arch: &ArchConfig,
    tensors: BTreeMap<String, Tensor>,
    dev: &Device,
) -> Result<Box<dyn Classifier>> {
    let n = tensors.len();
    let store = ParamStore::from_tensors(tensors, 0, dev)?;
    let model = arch.build(store.eval_builder(), DropoutRng::new(0))?;
    assert_eq!(
        store.vars().len(),
        n,
        "{}: model created new tensors",
        arch.name()
    );
    Ok(model)
}

/// Every stored tensor plus N(0, 0.1) noise: biases and norms stop being 0 and 1, so a model that
/// ignores or misplaces one of them gives different logits.
fn perturbed(store: &ParamStore, dev: &Device) -> Result<BTreeMap<String, Tensor>> {
    let noise = Init::Randn {
        mean: 0.0,
        stdev: 0.1,
    };
    store
        .snapshot()?
        .into_iter()
        .map(|(name, t)| {
            let n = seeded_init(t.shape(), &noise, 99, &name, dev)?;
            Ok((name, (t + n)?))
        })
        .collect()
}

#[test]
fn forward_shape_and_eval_model_equals_train_model() -> Result<()> {
    let dev = Device::Cpu;
    for arch in tiny_archs(0.2) {
        let store = ParamStore::new(5, &dev);
        let train = arch.build(store.train_builder(), DropoutRng::new(1))?;
        let eval = arch.build(store.eval_builder(), DropoutRng::new(1))?;
        let input = mixed_batch(pad_id(&arch), &dev)?;
        let a = train.forward(&input, false)?;
        assert_eq!(a.dims(), [4, LABELS], "{}", arch.name());
        let b = eval.forward(&input, false)?;
        assert_eq!(max_abs_diff(&a, &b)?, 0.0, "{}", arch.name());
        // Rows differ, so the logits are not a constant.
        let rows = a.to_vec2::<f32>()?;
        assert!(
            (rows[0][0] - rows[1][0]).abs() > 1e-3,
            "{}: {rows:?}",
            arch.name()
        );
    }
    Ok(())
}

#[test]
fn image_input_is_an_error() -> Result<()> {
    let dev = Device::Cpu;
    for arch in tiny_archs(0.02) {
        let model = arch.build(ParamStore::new(0, &dev).train_builder(), DropoutRng::new(0))?;
        let images = ModelInput::Images(Tensor::zeros((1, 1, 8, 8), DType::F32, &dev)?);
        let err = model
            .forward(&images, false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("images"), "{}: {err:?}", arch.name());
    }
    Ok(())
}

/// One training step's gradients reach every parameter. The one exception is mathematical: the
/// key bias adds the same `q · b_k` to every score of a query row, which softmax ignores, so its
/// gradient is zero up to rounding (also in HF); the test checks it is at least 1e4 times smaller
/// than the query bias's. In GPT-2 that pins the key third of the fused `c_attn.bias`, i.e. the
/// q | k | v order.
fn assert_gradients_reach_every_parameter(arch: &ArchConfig, dev: &Device) -> Result<()> {
    let store = ParamStore::new(11, dev);
    let model = arch.build(store.train_builder(), DropoutRng::new(3))?;
    let input = mixed_batch(pad_id(arch), dev)?;
    let logits = model.forward(&input, true)?;
    let labels = Tensor::new(&[0u32, 1, 2, 1], dev)?;
    let loss = candle_nn::loss::cross_entropy(&logits, &labels)?;
    let grads = loss.backward()?;
    let grad_of = |name: &str| -> Tensor {
        let var = store
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not stored"));
        grads
            .get(var.as_tensor())
            .cloned()
            .unwrap_or_else(|| panic!("{}: {name} has no gradient", arch.name()))
    };
    let names: Vec<String> = store.vars().into_iter().map(|(n, _)| n).collect();
    assert!(
        names.len() >= 29,
        "{}: only {} tensors",
        arch.name(),
        names.len()
    );
    for name in names {
        let g = grad_of(&name);
        let (q, k) = if name.ends_with("attention.self.key.bias") {
            (grad_of(&name.replace(".key.", ".query.")), g.clone())
        } else if name.ends_with("attn.c_attn.bias") {
            let d = g.dim(0)? / 3; // q | k | v, each heads * head_dim
            assert!(
                max_abs(&g.narrow(0, 2 * d, d)?)? > 0.0,
                "{name}: value part {g}"
            );
            (g.narrow(0, 0, d)?, g.narrow(0, d, d)?)
        } else {
            assert!(
                max_abs(&g)? > 0.0,
                "{}: {name} has a zero gradient",
                arch.name()
            );
            continue;
        };
        let (q, k) = (max_abs(&q)?, max_abs(&k)?);
        assert!(
            q > 0.0 && k < 1e-4 * q,
            "{name}: key bias gradient {k}, query bias {q}"
        );
    }
    Ok(())
}

#[test]
fn gradients_reach_every_parameter() -> Result<()> {
    let dev = Device::Cpu;
    for arch in tiny_archs(0.02) {
        assert_gradients_reach_every_parameter(&arch, &dev)?;
    }
    Ok(())
}

#[test]
fn gradients_reach_every_parameter_with_dropout() -> Result<()> {
    let dev = Device::Cpu;
    let mut g = tiny_gpt2();
    (g.resid_pdrop, g.embd_pdrop, g.attn_pdrop) = (0.1, 0.1, 0.1);
    let mut r = tiny_roberta();
    (r.hidden_dropout_prob, r.attention_probs_dropout_prob) = (0.1, 0.1);
    for arch in [ArchConfig::Gpt2(g), ArchConfig::Roberta(r)] {
        assert_gradients_reach_every_parameter(&arch, &dev)?;
        // Dropout is active in training mode only.
        let store = ParamStore::new(2, &dev);
        let model = arch.build(store.train_builder(), DropoutRng::new(4))?;
        let input = mixed_batch(pad_id(&arch), &dev)?;
        let (a, b) = (model.forward(&input, true)?, model.forward(&input, true)?);
        assert!(max_abs_diff(&a, &b)? > 0.0, "{}", arch.name());
        let (a, b) = (model.forward(&input, false)?, model.forward(&input, false)?);
        assert_eq!(max_abs_diff(&a, &b)?, 0.0, "{}", arch.name());
    }
    Ok(())
}

#[test]
fn padding_does_not_change_a_prediction() -> Result<()> {
    let dev = Device::Cpu;
    for arch in tiny_archs(0.2) {
        let store = ParamStore::new(8, &dev);
        let model = arch.build(store.train_builder(), DropoutRng::new(0))?;
        let short = tokens(0, 5);
        let long = tokens(1, 10);
        let alone = model.forward(
            &batch(std::slice::from_ref(&short), 5, pad_id(&arch), &dev)?,
            false,
        )?;
        let padded = model.forward(&batch(&[short, long], 10, pad_id(&arch), &dev)?, false)?;
        let row0 = padded.narrow(0, 0, 1)?;
        let d = max_abs_diff(&alone, &row0)?;
        assert!(
            d <= 1e-4,
            "{}: padding moved the logits by {d}",
            arch.name()
        );
        // The other row is a different sequence with different logits (the check can fail).
        let row1 = padded.narrow(0, 1, 1)?;
        assert!(max_abs_diff(&row0, &row1)? > 1e-3, "{}", arch.name());
    }
    Ok(())
}

/// Heads {1} of layer 0 and both of layer 1; a scattered third of the neurons removed.
fn plan_for(structure: &ebt::models::ModelStructure) -> StructurePlan {
    let kept = structure
        .groups
        .iter()
        .map(|g| match (g.kind, g.layer) {
            (UnitKind::Head, 0) => vec![1],
            (UnitKind::Head, _) => (0..g.count).collect(),
            (UnitKind::Neuron, l) => (0..g.count).filter(|u| (u + l) % 3 != 1).collect(),
        })
        .collect();
    StructurePlan { kept }
}

#[test]
fn shrunk_model_equals_masked_dense_model() -> Result<()> {
    let dev = Device::Cpu;
    for arch in tiny_archs(0.2) {
        let store = ParamStore::new(21, &dev);
        arch.build(store.train_builder(), DropoutRng::new(0))?;
        let tensors = perturbed(&store, &dev)?;
        let structure = arch.structure();
        let plan = plan_for(&structure);
        let input = mixed_batch(pad_id(&arch), &dev)?;

        let full = eval_model(&arch, tensors.clone(), &dev)?.forward(&input, false)?;
        let zeroed = zero_units(&structure, &tensors, &plan)?;
        let masked = eval_model(&arch, zeroed, &dev)?.forward(&input, false)?;
        let (small_arch, small_tensors) = shrink(&arch, &tensors, &plan)?;
        let shrunk = eval_model(&small_arch, small_tensors, &dev)?.forward(&input, false)?;

        let d = max_abs_diff(&masked, &shrunk)?;
        assert!(d <= 1e-4, "{}: masked vs shrunk differ by {d}", arch.name());
        assert!(
            max_abs_diff(&full, &masked)? > 1e-3,
            "{}: the plan changed nothing",
            arch.name()
        );

        // 32 neurons per layer; layer 0 drops u = 1, 4, .. (11), layer 1 drops u = 0, 3, .. (11).
        match small_arch {
            ArchConfig::Gpt2(c) => {
                assert_eq!(c.layer_heads, Some(vec![1, 2]));
                assert_eq!(c.layer_inner, Some(vec![21, 21]));
                assert_eq!((c.n_head, c.n_inner, c.head_dim()), (2, Some(32), 8));
            }
            ArchConfig::Roberta(c) => {
                assert_eq!(c.layer_heads, Some(vec![1, 2]));
                assert_eq!(c.layer_intermediate, Some(vec![21, 21]));
                assert_eq!(
                    (c.num_attention_heads, c.intermediate_size, c.head_dim()),
                    (2, 32, 8)
                );
            }
            _ => unreachable!(),
        }
    }
    Ok(())
}

/// A `[rows, cols]` row-major matrix read from the store.
struct Mat {
    cols: usize,
    data: Vec<f64>,
}

impl Mat {
    fn at(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }
}

fn mat(t: &BTreeMap<String, Tensor>, name: &str) -> Mat {
    let v = &t[name];
    let (_, cols) = v.dims2().expect("a matrix");
    let data = v
        .flatten_all()
        .and_then(|f| f.to_vec1::<f32>())
        .expect("f32 data");
    Mat {
        cols,
        data: data.into_iter().map(f64::from).collect(),
    }
}

fn vector(t: &BTreeMap<String, Tensor>, name: &str) -> Vec<f64> {
    let data = t[name].to_vec1::<f32>().expect("an f32 vector");
    data.into_iter().map(f64::from).collect()
}

fn layer_norm(x: &[f64], w: &[f64], b: &[f64], eps: f64) -> Vec<f64> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let sd = (var + eps).sqrt();
    (0..x.len())
        .map(|i| (x[i] - mean) / sd * w[i] + b[i])
        .collect()
}

/// HF `Conv1D`: `y_j = sum_i x_i W[i, j] + b_j`, weight stored `[in, out]`.
fn conv1d(x: &[f64], w: &Mat, b: &[f64]) -> Vec<f64> {
    (0..w.cols)
        .map(|j| b[j] + (0..x.len()).map(|i| x[i] * w.at(i, j)).sum::<f64>())
        .collect()
}

/// The model's logits equal the reference's (within 1e-4), and the reference is not degenerate.
fn assert_matches_reference(got: &[f32], expected: &[f64]) {
    for (g, e) in got.iter().zip(expected) {
        assert!(
            (*g as f64 - e).abs() <= 1e-4,
            "model {got:?} vs reference {expected:?}"
        );
    }
    assert!(
        expected.iter().any(|e| e.abs() > 1e-2),
        "degenerate logits {expected:?}"
    );
}

fn gelu_new(x: f64) -> f64 {
    0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
}

/// GPT2ForSequenceClassification on one unpadded sequence, in plain loops, from the stored tensors.
fn reference_gpt2(cfg: &Gpt2Config, t: &BTreeMap<String, Tensor>, ids: &[u32]) -> Vec<f64> {
    let eps = cfg.layer_norm_epsilon;
    let d = cfg.head_dim();
    let (wte, wpe) = (
        mat(t, "transformer.wte.weight"),
        mat(t, "transformer.wpe.weight"),
    );
    let mut h: Vec<Vec<f64>> = ids
        .iter()
        .enumerate()
        .map(|(p, &id)| {
            (0..cfg.n_embd)
                .map(|e| wte.at(id as usize, e) + wpe.at(p, e))
                .collect()
        })
        .collect();
    for l in 0..cfg.n_layer {
        let p = |s: &str| format!("transformer.h.{l}.{s}");
        let (ln1w, ln1b) = (vector(t, &p("ln_1.weight")), vector(t, &p("ln_1.bias")));
        let (c_attn, c_attn_b) = (
            mat(t, &p("attn.c_attn.weight")),
            vector(t, &p("attn.c_attn.bias")),
        );
        let (a_proj, a_proj_b) = (
            mat(t, &p("attn.c_proj.weight")),
            vector(t, &p("attn.c_proj.bias")),
        );
        let heads = c_attn.cols / 3 / d;
        let hd = heads * d;
        let qkv: Vec<Vec<f64>> = h
            .iter()
            .map(|x| conv1d(&layer_norm(x, &ln1w, &ln1b, eps), &c_attn, &c_attn_b))
            .collect();
        for (i, hi) in h.iter_mut().enumerate() {
            let mut ctx = vec![0.0; hd];
            for head in 0..heads {
                let q = |pos: usize, c: usize| qkv[pos][head * d + c];
                let k = |pos: usize, c: usize| qkv[pos][hd + head * d + c];
                let v = |pos: usize, c: usize| qkv[pos][2 * hd + head * d + c];
                // Causal: query i sees keys 0..=i.
                let scores: Vec<f64> = (0..=i)
                    .map(|j| (0..d).map(|c| q(i, c) * k(j, c)).sum::<f64>() / (d as f64).sqrt())
                    .collect();
                let m = scores.iter().cloned().fold(f64::MIN, f64::max);
                let z: f64 = scores.iter().map(|s| (s - m).exp()).sum();
                for (j, s) in scores.iter().enumerate() {
                    let pj = (s - m).exp() / z;
                    for c in 0..d {
                        ctx[head * d + c] += pj * v(j, c);
                    }
                }
            }
            let out = conv1d(&ctx, &a_proj, &a_proj_b);
            *hi = hi.iter().zip(out).map(|(a, b)| a + b).collect();
        }
        let (ln2w, ln2b) = (vector(t, &p("ln_2.weight")), vector(t, &p("ln_2.bias")));
        let (fc, fc_b) = (
            mat(t, &p("mlp.c_fc.weight")),
            vector(t, &p("mlp.c_fc.bias")),
        );
        let (m_proj, m_proj_b) = (
            mat(t, &p("mlp.c_proj.weight")),
            vector(t, &p("mlp.c_proj.bias")),
        );
        for x in h.iter_mut() {
            let a: Vec<f64> = conv1d(&layer_norm(x, &ln2w, &ln2b, eps), &fc, &fc_b)
                .into_iter()
                .map(gelu_new)
                .collect();
            let out = conv1d(&a, &m_proj, &m_proj_b);
            *x = x.iter().zip(out).map(|(a, b)| a + b).collect();
        }
    }
    let last = h.last().expect("a non-empty sequence");
    let fin = layer_norm(
        last,
        &vector(t, "transformer.ln_f.weight"),
        &vector(t, "transformer.ln_f.bias"),
        eps,
    );
    let score = mat(t, "score.weight"); // [num_labels, n_embd]
    (0..cfg.num_labels)
        .map(|c| (0..cfg.n_embd).map(|e| score.at(c, e) * fin[e]).sum())
        .collect()
}

#[test]
fn gpt2_matches_a_plain_loop_reference() -> Result<()> {
    let dev = Device::Cpu;
    let mut base = tiny_gpt2();
    base.initializer_range = 0.2;
    // The unpruned model and one with different head counts and FFN widths per layer.
    for cfg in [base.clone(), base.with_units(&[1, 2], &[24, 32])] {
        let store = ParamStore::new(13, &dev);
        cfg.build(store.train_builder(), DropoutRng::new(0))?;
        let tensors = perturbed(&store, &dev)?;
        let ids = tokens(3, 6);
        let expected = reference_gpt2(&cfg, &tensors, &ids);
        let arch = ArchConfig::Gpt2(cfg);
        let got = eval_model(&arch, tensors, &dev)?
            .forward(&batch(&[ids], 6, 0, &dev)?, false)?
            .to_vec2::<f32>()?;
        assert_eq!(got[0].len(), LABELS);
        assert_matches_reference(&got[0], &expected);
    }
    Ok(())
}

/// A `GPT2Model` checkpoint as HF saves it (the `gpt2` repo): bare names without `transformer.`,
/// the `lm_head.weight` tied to `wte`, an old `attn.bias` causal buffer, and no `score` head. Loaded
/// through `model.pretrained`, the model must compute what the plain-loop GPT-2 computes from the
/// written tensors (plus the fresh head it drew).
#[test]
fn gpt2_checkpoint_with_hf_names_matches_the_reference(
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let dev = Device::Cpu;
    let mut cfg = tiny_gpt2();
    cfg.initializer_range = 0.2;
    let store = ParamStore::new(21, &dev);
    cfg.build(store.train_builder(), DropoutRng::new(0))?;
    let written = perturbed(&store, &dev)?;
    let dir = tempfile::tempdir()?;
    let mut ckpt: std::collections::HashMap<String, Tensor> = written
        .iter()
        .filter(|(k, _)| !k.starts_with("score."))
        .map(|(k, v)| (k.trim_start_matches("transformer.").to_string(), v.clone()))
        .collect();
    ckpt.insert(
        "lm_head.weight".into(),
        written["transformer.wte.weight"].clone(),
    );
    ckpt.insert(
        "h.0.attn.bias".into(),
        Tensor::ones((1, 1, 12, 12), DType::F32, &dev)?,
    );
    candle_core::safetensors::save(&ckpt, dir.path().join("model.safetensors"))?;
    let config = serde_json::json!({
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": VOCAB,
        "n_positions": 12, "n_ctx": 12, "n_embd": 16, "n_layer": 2, "n_head": 2, "n_inner": 32,
        "activation_function": "gelu_new", "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
        "layer_norm_epsilon": 1e-5, "initializer_range": 0.02, "bos_token_id": 19, "eos_token_id": 19,
        "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}}
    });
    std::fs::write(dir.path().join("config.json"), config.to_string())?;
    let section = ModelSection {
        arch: "gpt2".into(),
        pretrained: Some(dir.path().to_string_lossy().into_owned()),
        ..ModelSection::default()
    };
    let shape = DataShape::Text {
        vocab_size: VOCAB,
        max_length: 8,
        pad_id: 0,
        bos_id: 19,
        eos_id: 19,
    };
    let env = ebt::hub::HubEnv {
        cache_dir: dir.path().join("no-cache"),
        endpoint: "http://127.0.0.1:1".into(),
        offline: true,
    };
    let p = ebt::models::pretrained::load_with_env(&section, &shape, LABELS, env)?;
    let ArchConfig::Gpt2(loaded) = &p.arch else {
        panic!("not a GPT-2 config: {:?}", p.arch)
    };
    assert_eq!(
        (loaded.n_embd, loaded.n_layer, loaded.num_labels),
        (16, 2, LABELS)
    );
    assert_eq!(loaded.resid_pdrop, 0.1, "the checkpoint's dropout is kept");
    for (name, t) in &written {
        if name.starts_with("score.") {
            assert!(!p.tensors.contains_key(name), "{name} must start fresh");
        } else {
            assert_eq!(
                max_abs_diff(&p.tensors[name], t)?,
                0.0,
                "{name} changed on load"
            );
        }
    }
    assert!(p
        .notes
        .iter()
        .any(|n| n.contains("fresh classification head for 3 classes")));
    assert!(p
        .notes
        .iter()
        .any(|n| n.starts_with("2 checkpoint tensors not used")));

    let store = ParamStore::from_tensors(p.tensors.clone(), 5, &dev)?;
    p.arch.build(store.train_builder(), DropoutRng::new(0))?; // draws the fresh head
    let model = p.arch.build(store.eval_builder(), DropoutRng::new(0))?;
    let mut reference = written.clone();
    let head = store.get("score.weight").expect("a fresh head");
    reference.insert("score.weight".into(), head.as_tensor().clone());
    let ids = tokens(2, 7);
    let expected = reference_gpt2(loaded, &reference, &ids);
    let got = model
        .forward(&batch(&[ids], 7, 0, &dev)?, false)?
        .to_vec2::<f32>()?;
    assert_matches_reference(&got[0], &expected);
    Ok(())
}

/// HF `nn.Linear`: `y_o = sum_i W[o, i] x_i + b_o`, weight stored `[out, in]`.
fn linear(x: &[f64], w: &Mat, b: &[f64]) -> Vec<f64> {
    (0..b.len())
        .map(|o| b[o] + (0..x.len()).map(|i| w.at(o, i) * x[i]).sum::<f64>())
        .collect()
}

/// RobertaForSequenceClassification on one unpadded sequence, in plain loops, from the stored
/// tensors: positions from `pad + 1`, token type 0, post-LN layers, tanh head on the first token.
/// The activation is gelu_new (std has no erf); the model is run with the same.
fn reference_roberta(cfg: &RobertaConfig, t: &BTreeMap<String, Tensor>, ids: &[u32]) -> Vec<f64> {
    let eps = cfg.layer_norm_eps;
    let d = cfg.head_dim();
    let e = |s: &str| format!("roberta.embeddings.{s}");
    let (word, pos, typ) = (
        mat(t, &e("word_embeddings.weight")),
        mat(t, &e("position_embeddings.weight")),
        mat(t, &e("token_type_embeddings.weight")),
    );
    let (lnw, lnb) = (
        vector(t, &e("LayerNorm.weight")),
        vector(t, &e("LayerNorm.bias")),
    );
    let pad = cfg.pad_token_id as usize;
    let mut h: Vec<Vec<f64>> = ids
        .iter()
        .enumerate()
        .map(|(p, &id)| {
            let x: Vec<f64> = (0..cfg.hidden_size)
                .map(|c| word.at(id as usize, c) + pos.at(pad + 1 + p, c) + typ.at(0, c))
                .collect();
            layer_norm(&x, &lnw, &lnb, eps)
        })
        .collect();
    for l in 0..cfg.num_hidden_layers {
        let p = |s: &str| format!("roberta.encoder.layer.{l}.{s}");
        let lin = |s: &str| {
            (
                mat(t, &p(&format!("{s}.weight"))),
                vector(t, &p(&format!("{s}.bias"))),
            )
        };
        let (wq, bq) = lin("attention.self.query");
        let (wk, bk) = lin("attention.self.key");
        let (wv, bv) = lin("attention.self.value");
        let (wo, bo) = lin("attention.output.dense");
        let ln = |s: &str| {
            (
                vector(t, &p(&format!("{s}.weight"))),
                vector(t, &p(&format!("{s}.bias"))),
            )
        };
        let (ln1w, ln1b) = ln("attention.output.LayerNorm");
        let (wi, bi) = lin("intermediate.dense");
        let (wf, bf) = lin("output.dense");
        let (ln2w, ln2b) = ln("output.LayerNorm");
        let q: Vec<Vec<f64>> = h.iter().map(|x| linear(x, &wq, &bq)).collect();
        let k: Vec<Vec<f64>> = h.iter().map(|x| linear(x, &wk, &bk)).collect();
        let v: Vec<Vec<f64>> = h.iter().map(|x| linear(x, &wv, &bv)).collect();
        let heads = bq.len() / d;
        let n = h.len();
        let mut next = Vec::with_capacity(n);
        for i in 0..n {
            let mut ctx = vec![0.0; heads * d];
            for head in 0..heads {
                let r = head * d..(head + 1) * d;
                // Bidirectional: query i sees every key.
                let scores: Vec<f64> = (0..n)
                    .map(|j| r.clone().map(|c| q[i][c] * k[j][c]).sum::<f64>() / (d as f64).sqrt())
                    .collect();
                let m = scores.iter().cloned().fold(f64::MIN, f64::max);
                let z: f64 = scores.iter().map(|s| (s - m).exp()).sum();
                for (j, s) in scores.iter().enumerate() {
                    for c in r.clone() {
                        ctx[c] += (s - m).exp() / z * v[j][c];
                    }
                }
            }
            let a = linear(&ctx, &wo, &bo);
            let x: Vec<f64> = h[i].iter().zip(a).map(|(x, a)| x + a).collect();
            let x = layer_norm(&x, &ln1w, &ln1b, eps);
            let f: Vec<f64> = linear(&x, &wi, &bi).into_iter().map(gelu_new).collect();
            let o = linear(&f, &wf, &bf);
            let y: Vec<f64> = x.iter().zip(o).map(|(x, o)| x + o).collect();
            next.push(layer_norm(&y, &ln2w, &ln2b, eps));
        }
        h = next;
    }
    let (wd, bd) = (
        mat(t, "classifier.dense.weight"),
        vector(t, "classifier.dense.bias"),
    );
    let (wp, bp) = (
        mat(t, "classifier.out_proj.weight"),
        vector(t, "classifier.out_proj.bias"),
    );
    let z: Vec<f64> = linear(&h[0], &wd, &bd).into_iter().map(f64::tanh).collect();
    linear(&z, &wp, &bp)
}

#[test]
fn roberta_matches_a_plain_loop_reference() -> Result<()> {
    let dev = Device::Cpu;
    let mut base = tiny_roberta();
    base.initializer_range = 0.2;
    base.hidden_act = ebt::models::layers::Activation::GeluNew;
    for cfg in [base.clone(), base.with_units(&[2, 1], &[32, 24])] {
        let store = ParamStore::new(14, &dev);
        cfg.build(store.train_builder(), DropoutRng::new(0))?;
        let tensors = perturbed(&store, &dev)?;
        let ids = tokens(4, 6);
        let expected = reference_roberta(&cfg, &tensors, &ids);
        let arch = ArchConfig::Roberta(cfg);
        // In a padded batch, so that the position ids of a padded row are checked too.
        let input = batch(&[ids, tokens(5, 9)], 9, pad_id(&arch), &dev)?;
        let got = eval_model(&arch, tensors, &dev)?
            .forward(&input, false)?
            .to_vec2::<f32>()?;
        assert_matches_reference(&got[0], &expected);
    }
    Ok(())
}

fn param_names(arch: &ArchConfig, dev: &Device) -> Result<Vec<String>> {
    let store = ParamStore::new(0, dev);
    arch.build(store.train_builder(), DropoutRng::new(0))?;
    Ok(store.vars().into_iter().map(|(n, _)| n).collect())
}

#[test]
fn parameter_names_are_the_hugging_face_names() -> Result<()> {
    let dev = Device::Cpu;
    let mut gpt2 = vec![
        "score.weight".to_string(),
        "transformer.ln_f.bias".into(),
        "transformer.ln_f.weight".into(),
        "transformer.wpe.weight".into(),
        "transformer.wte.weight".into(),
    ];
    for l in 0..2 {
        for s in [
            "ln_1",
            "attn.c_attn",
            "attn.c_proj",
            "ln_2",
            "mlp.c_fc",
            "mlp.c_proj",
        ] {
            for p in ["weight", "bias"] {
                gpt2.push(format!("transformer.h.{l}.{s}.{p}"));
            }
        }
    }
    gpt2.sort();
    assert_eq!(param_names(&ArchConfig::Gpt2(tiny_gpt2()), &dev)?, gpt2);

    let mut roberta: Vec<String> = [
        "classifier.dense",
        "classifier.out_proj",
        "roberta.embeddings.LayerNorm",
    ]
    .iter()
    .flat_map(|m| [format!("{m}.weight"), format!("{m}.bias")])
    .collect();
    for e in ["word", "position", "token_type"] {
        roberta.push(format!("roberta.embeddings.{e}_embeddings.weight"));
    }
    for l in 0..2 {
        for s in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "attention.output.LayerNorm",
            "intermediate.dense",
            "output.dense",
            "output.LayerNorm",
        ] {
            for p in ["weight", "bias"] {
                roberta.push(format!("roberta.encoder.layer.{l}.{s}.{p}"));
            }
        }
    }
    roberta.sort();
    assert_eq!(
        param_names(&ArchConfig::Roberta(tiny_roberta()), &dev)?,
        roberta
    );
    Ok(())
}

#[test]
fn same_seed_gives_identical_parameters() -> Result<()> {
    let dev = Device::Cpu;
    for arch in tiny_archs(0.02) {
        let snap = |seed| -> Result<BTreeMap<String, Tensor>> {
            let store = ParamStore::new(seed, &dev);
            arch.build(store.train_builder(), DropoutRng::new(0))?;
            store.snapshot()
        };
        let (a, b, c) = (snap(17)?, snap(17)?, snap(18)?);
        let mut differs = 0;
        for (name, t) in &a {
            assert_eq!(max_abs_diff(t, &b[name])?, 0.0, "{name}");
            if max_abs_diff(t, &c[name])? > 0.0 {
                differs += 1;
            }
        }
        // Every randomly initialised tensor (weights, embeddings) changes with the seed.
        let random = a
            .keys()
            .filter(|n| n.ends_with(".weight") && !n.contains("ln_") && !n.contains("LayerNorm"));
        assert_eq!(differs, random.count(), "{}", arch.name());
    }
    Ok(())
}

/// Std of a tensor's entries.
fn std_of(t: &Tensor) -> Result<f64> {
    let v: Vec<f32> = t.flatten_all()?.to_vec1()?;
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    Ok((v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt())
}

#[test]
fn init_follows_hugging_face() -> Result<()> {
    let dev = Device::Cpu;
    // Width 64 so each matrix has >= 4096 entries and its std is within ~3% of the target.
    let mut g = Gpt2Config::tiny(VOCAB, LABELS);
    (g.n_embd, g.n_head, g.n_inner, g.n_layer) = (64, 4, Some(128), 2);
    let store = ParamStore::new(1, &dev);
    ArchConfig::Gpt2(g).build(store.train_builder(), DropoutRng::new(0))?;
    let std = |n: &str| std_of(store.get(n).expect(n).as_tensor());
    // c_proj: 0.02 / sqrt(2 * n_layer) = 0.01.
    for (name, target) in [
        ("transformer.h.0.attn.c_attn.weight", 0.02),
        ("transformer.h.1.mlp.c_fc.weight", 0.02),
        ("transformer.h.0.attn.c_proj.weight", 0.01),
        ("transformer.h.1.mlp.c_proj.weight", 0.01),
    ] {
        let s = std(name)?;
        assert!(
            (s - target).abs() < 0.05 * target,
            "{name}: std {s}, HF {target}"
        );
    }
    let mut r = RobertaConfig::tiny(VOCAB, LABELS);
    (r.hidden_size, r.num_attention_heads, r.intermediate_size) = (64, 4, 128);
    let store = ParamStore::new(1, &dev);
    ArchConfig::Roberta(r).build(store.train_builder(), DropoutRng::new(0))?;
    for (name, var) in store.vars() {
        let t = var.as_tensor();
        if name.contains("LayerNorm.weight") {
            assert_eq!(t.to_vec1::<f32>()?, vec![1.0; 64], "{name}");
        } else if name.ends_with(".bias") {
            assert_eq!(max_abs(t)?, 0.0, "{name}");
        } else if t.elem_count() >= 4096 {
            let s = std_of(t)?;
            assert!((s - 0.02).abs() < 0.001, "{name}: std {s}");
        }
    }
    Ok(())
}

#[test]
fn configs_round_trip_through_json_without_unset_per_layer_fields() -> serde_json::Result<()> {
    let g = tiny_gpt2();
    let text = serde_json::to_string(&g)?;
    assert!(
        !text.contains("layer_heads") && !text.contains("layer_inner"),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<Gpt2Config>(&text)?, g);
    let pruned = g.with_units(&[1, 2], &[7, 9]);
    assert_eq!(
        serde_json::from_str::<Gpt2Config>(&serde_json::to_string(&pruned)?)?,
        pruned
    );

    let r = tiny_roberta();
    let text = serde_json::to_string(&r)?;
    assert!(
        !text.contains("layer_heads") && !text.contains("layer_intermediate"),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<RobertaConfig>(&text)?, r);
    let pruned = ArchConfig::Roberta(r.with_units(&[2, 1], &[3, 30]));
    let text = serde_json::to_string(&pruned)?;
    assert!(text.contains(r#""arch":"roberta""#), "{text}");
    assert_eq!(serde_json::from_str::<ArchConfig>(&text)?, pruned);
    Ok(())
}

/// The `config.json` of the Hub's `gpt2`, extra fields and all.
const HF_GPT2_CONFIG: &str = r#"{
  "activation_function": "gelu_new",
  "architectures": ["GPT2LMHeadModel"],
  "attn_pdrop": 0.1,
  "bos_token_id": 50256,
  "embd_pdrop": 0.1,
  "eos_token_id": 50256,
  "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05,
  "model_type": "gpt2",
  "n_ctx": 1024,
  "n_embd": 768,
  "n_head": 12,
  "n_inner": null,
  "n_layer": 12,
  "n_positions": 1024,
  "resid_pdrop": 0.1,
  "summary_activation": null,
  "summary_first_dropout": 0.1,
  "summary_proj_to_labels": true,
  "summary_type": "cls_index",
  "summary_use_proj": true,
  "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
  "vocab_size": 50257
}"#;

/// The `config.json` of the Hub's `roberta-base`.
const HF_ROBERTA_CONFIG: &str = r#"{
  "architectures": ["RobertaForMaskedLM"],
  "attention_probs_dropout_prob": 0.1,
  "bos_token_id": 0,
  "eos_token_id": 2,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 768,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "layer_norm_eps": 1e-05,
  "max_position_embeddings": 514,
  "model_type": "roberta",
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "pad_token_id": 1,
  "type_vocab_size": 1,
  "vocab_size": 50265
}"#;

#[test]
fn hugging_face_config_json_deserialises() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let g: Gpt2Config = serde_json::from_str(HF_GPT2_CONFIG)?;
    assert_eq!(
        (g.vocab_size, g.n_positions, g.n_embd, g.n_layer, g.n_head),
        (50257, 1024, 768, 12, 12)
    );
    assert_eq!((g.n_inner, g.inner(11), g.head_dim()), (None, 3072, 64));
    assert_eq!(
        (g.layer_norm_epsilon, g.pad_token_id, g.num_labels),
        (1e-5, None, 2)
    );
    g.validate()?;
    let s = g.structure();
    assert_eq!((s.groups.len(), s.prunable_weights.len()), (24, 48));
    assert_eq!(s.groups[0].slices[2].offset, 2 * 768);

    let r: RobertaConfig = serde_json::from_str(HF_ROBERTA_CONFIG)?;
    assert_eq!(
        (
            r.hidden_size,
            r.num_hidden_layers,
            r.intermediate_size,
            r.max_position_embeddings
        ),
        (768, 12, 3072, 514)
    );
    assert_eq!(
        (
            r.pad_token_id,
            r.type_vocab_size,
            r.layer_norm_eps,
            r.max_length()
        ),
        (1, 1, 1e-5, 512)
    );
    r.validate()?;
    assert_eq!(r.structure().prunable_weights.len(), 72);
    Ok(())
}

fn experiment_model(arch: &str) -> ModelSection {
    ModelSection {
        arch: arch.into(),
        hidden_size: 64,
        num_layers: 2,
        num_heads: 4,
        intermediate_size: 128,
        dropout: 0.1,
        attention_dropout: 0.05,
        initializer_range: 0.03,
        hidden_act: "gelu_new".into(),
        ..ModelSection::default()
    }
}

const TEXT: DataShape = DataShape::Text {
    vocab_size: 260,
    max_length: 32,
    pad_id: 1,
    bos_id: 0,
    eos_id: 2,
};

#[test]
fn experiment_sections_map_onto_hf_configs() -> ebt::error::Result<()> {
    let g = Gpt2Config::from_experiment(&experiment_model("gpt2"), &TEXT, 6)?;
    assert_eq!(
        (
            g.vocab_size,
            g.n_positions,
            g.n_embd,
            g.n_layer,
            g.n_head,
            g.n_inner
        ),
        (260, 32, 64, 2, 4, Some(128))
    );
    assert_eq!(
        (g.resid_pdrop, g.embd_pdrop, g.attn_pdrop),
        (0.1, 0.1, 0.05)
    );
    assert_eq!(
        (g.initializer_range, g.pad_token_id, g.num_labels),
        (0.03, Some(1), 6)
    );
    assert_eq!(
        serde_json::to_value(g.activation_function).ok(),
        Some("gelu_new".into())
    );

    let r = RobertaConfig::from_experiment(&experiment_model("roberta"), &TEXT, 6)?;
    assert_eq!(
        (
            r.vocab_size,
            r.hidden_size,
            r.num_hidden_layers,
            r.num_attention_heads,
            r.intermediate_size
        ),
        (260, 64, 2, 4, 128)
    );
    assert_eq!(
        (r.max_position_embeddings, r.max_length(), r.pad_token_id),
        (34, 32, 1)
    );
    assert_eq!(
        (r.hidden_dropout_prob, r.attention_probs_dropout_prob),
        (0.1, 0.05)
    );
    assert_eq!(
        (r.type_vocab_size, r.layer_norm_eps, r.num_labels),
        (1, 1e-5, 6)
    );
    Ok(())
}

#[test]
fn bad_experiment_sections_name_the_key() {
    let image = DataShape::Image {
        channels: 1,
        height: 8,
        width: 8,
    };
    let mut odd_heads = experiment_model("gpt2");
    odd_heads.num_heads = 5;
    let mut bad_act = experiment_model("gpt2");
    bad_act.hidden_act = "swish".into();
    let cases = [
        (experiment_model("gpt2"), &image, "images"),
        (odd_heads, &TEXT, "model.num_heads"),
        (bad_act, &TEXT, "model.hidden_act"),
    ];
    for (m, shape, key) in cases {
        for err in [
            Gpt2Config::from_experiment(&m, shape, 2).err(),
            RobertaConfig::from_experiment(&m, shape, 2).err(),
        ] {
            let msg = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains(key), "expected {key:?} in {msg:?}");
        }
    }
}

#[test]
fn inconsistent_per_layer_fields_are_rejected_when_building() -> Result<()> {
    let dev = Device::Cpu;
    let bad = [
        ArchConfig::Gpt2(tiny_gpt2().with_units(&[1], &[4, 4])),
        ArchConfig::Roberta(tiny_roberta().with_units(&[1, 0], &[4, 4])),
    ];
    for arch in &bad {
        let err = arch
            .build(ParamStore::new(0, &dev).train_builder(), DropoutRng::new(0))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("layer_heads"), "{}: {err:?}", arch.name());
    }
    Ok(())
}

/// Measurement, not a check: training samples/s (forward + backward, batch 64, T = 32) at width 64,
/// 2 layers, 4 heads, FFN 128. Run with `cargo test --test models_text -- --ignored --nocapture`.
#[test]
#[ignore]
fn training_throughput() -> Result<()> {
    let dev = Device::Cpu;
    let shape = DataShape::Text {
        vocab_size: 260,
        max_length: 32,
        pad_id: 1,
        bos_id: 0,
        eos_id: 2,
    };
    let mut m = experiment_model("gpt2");
    (m.dropout, m.attention_dropout) = (0.1, 0.1);
    let archs = [
        ArchConfig::Gpt2(
            Gpt2Config::from_experiment(&m, &shape, 6).map_err(candle_core::Error::wrap)?,
        ),
        ArchConfig::Roberta(
            RobertaConfig::from_experiment(&m, &shape, 6).map_err(candle_core::Error::wrap)?,
        ),
    ];
    let rows: Vec<Vec<u32>> = (0..64)
        .map(|r| {
            (0..32 - r % 8)
                .map(|p| 3 + ((r * 31 + p * 17) % 250) as u32)
                .collect()
        })
        .collect();
    let input = batch(&rows, 32, 1, &dev)?;
    let labels = Tensor::from_vec((0..64u32).map(|i| i % 6).collect::<Vec<_>>(), 64, &dev)?;
    for arch in archs {
        let store = ParamStore::new(0, &dev);
        let model = arch.build(store.train_builder(), DropoutRng::new(0))?;
        let step = || -> Result<()> {
            let loss = candle_nn::loss::cross_entropy(&model.forward(&input, true)?, &labels)?;
            loss.backward()?;
            Ok(())
        };
        step()?;
        let steps = 5;
        let start = std::time::Instant::now();
        for _ in 0..steps {
            step()?;
        }
        let secs = start.elapsed().as_secs_f64();
        let rate = (steps * 64) as f64 / secs;
        println!("{}: {rate:.0} training samples/s", arch.name());
        assert!(rate > 0.0);
    }
    Ok(())
}

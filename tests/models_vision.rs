//! ViT and Swin on tiny 8x8 configs: shapes, train/eval agreement, gradient flow to every
//! parameter, masked-dense == shrunk after surgery, seeding, HF names, per-block sizes, serde.

use std::collections::{BTreeMap, BTreeSet};

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::Init;
use ebt::models::params::seeded_init;
use ebt::models::swin::SwinConfig;
use ebt::models::vit::VitConfig;
use ebt::models::{ArchConfig, ArchSpec, DropoutRng, ModelInput, ParamStore, UnitKind};
use ebt::prune::surgery::{shrink, zero_units, StructurePlan};

const LABELS: usize = 10;

/// The configs every test runs on: the two `tiny` ones plus Swin variants that exercise a
/// one-pixel patch with window 4 (shift 2, then a single-window stage) and window 3 on an 8x8
/// grid (zero padding to 9x9 and 6x6, shifted).
fn configs() -> Vec<(&'static str, ArchConfig)> {
    let swin_w4 = SwinConfig {
        patch_size: 1,
        window_size: 4,
        ..SwinConfig::tiny(LABELS)
    };
    let swin_pad = SwinConfig {
        patch_size: 1,
        window_size: 3,
        ..SwinConfig::tiny(LABELS)
    };
    vec![
        ("vit", ArchConfig::Vit(VitConfig::tiny(LABELS))),
        ("swin", ArchConfig::Swin(SwinConfig::tiny(LABELS))),
        ("swin patch 1 window 4", ArchConfig::Swin(swin_w4)),
        ("swin padded window 3", ArchConfig::Swin(swin_pad)),
    ]
}

/// The same config with both dropout rates set to `p`.
fn with_dropout(arch: &ArchConfig, p: f64) -> ArchConfig {
    match arch {
        ArchConfig::Vit(c) => ArchConfig::Vit(VitConfig {
            hidden_dropout_prob: p,
            attention_probs_dropout_prob: p,
            ..c.clone()
        }),
        ArchConfig::Swin(c) => ArchConfig::Swin(SwinConfig {
            hidden_dropout_prob: p,
            attention_probs_dropout_prob: p,
            ..c.clone()
        }),
        other => other.clone(),
    }
}

/// `b` seeded pseudo-random 8x8x1 images.
fn images(b: usize, seed: u64) -> Result<ModelInput> {
    let x = seeded_init(
        &(b, 1, 8, 8).into(),
        &Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        },
        seed,
        "images",
        &Device::Cpu,
    )?;
    Ok(ModelInput::Images(x))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
    (a - b)?.abs()?.max_all()?.to_scalar::<f32>()
}

/// Creates every parameter of `arch` in a fresh store with the model's init.
fn init_store(arch: &ArchConfig, seed: u64) -> Result<ParamStore> {
    let store = ParamStore::new(seed, &Device::Cpu);
    arch.build(store.train_builder(), DropoutRng::new(seed))?;
    Ok(store)
}

#[test]
fn forward_shape_and_eval_model_match_train_model() -> Result<()> {
    for (name, arch) in configs() {
        let store = init_store(&arch, 1)?;
        let x = images(5, 2)?;
        let train = arch.build(store.train_builder(), DropoutRng::new(3))?;
        let eval = arch.build(store.eval_builder(), DropoutRng::new(3))?;
        let a = train.forward(&x, false)?;
        let b = eval.forward(&x, false)?;
        assert_eq!(a.dims(), &[5, LABELS], "{name}");
        assert_eq!(max_abs_diff(&a, &b)?, 0.0, "{name}");
        // HF init: an untrained classifier gives near-uniform predictions.
        let spread = a.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(
            spread > 0.0 && spread < 0.5,
            "{name}: logits up to {spread}"
        );
    }
    Ok(())
}

#[test]
fn wrong_inputs_are_errors() -> Result<()> {
    let dev = Device::Cpu;
    for (name, arch) in configs() {
        let store = init_store(&arch, 1)?;
        let model = arch.build(store.eval_builder(), DropoutRng::new(0))?;
        let ids = Tensor::zeros((2, 4), DType::U32, &dev)?;
        let tokens = ModelInput::Tokens {
            ids,
            mask: Tensor::ones((2, 4), DType::F32, &dev)?,
        };
        let err = model.forward(&tokens, false).unwrap_err().to_string();
        assert!(err.contains("token ids"), "{name}: {err}");
        let big = ModelInput::Images(Tensor::zeros((2, 1, 10, 10), DType::F32, &dev)?);
        let err = model.forward(&big, false).unwrap_err().to_string();
        assert!(err.contains("expects images (B, 1, 8, 8)"), "{name}: {err}");
    }
    Ok(())
}

/// Every parameter must get a non-zero gradient from one cross-entropy step: a fused op
/// without backward (candle's softmax / LayerNorm) would silently cut some off.
#[test]
fn every_parameter_gets_a_gradient() -> Result<()> {
    let labels: Vec<u32> = (0..6).map(|i| (i * 7 % LABELS) as u32).collect();
    let labels = Tensor::from_vec(labels, 6, &Device::Cpu)?;
    for (name, arch) in configs() {
        for p in [0.0, 0.1] {
            let arch = with_dropout(&arch, p);
            let store = init_store(&arch, 4)?;
            let model = arch.build(store.train_builder(), DropoutRng::new(5))?;
            let logits = model.forward(&images(6, 6)?, true)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &labels)?;
            let grads = loss.backward()?;
            let vars = store.vars();
            assert!(vars.len() > 20, "{name}: only {} parameters", vars.len());
            for (tensor, var) in vars {
                let g = grads
                    .get(var.as_tensor())
                    .unwrap_or_else(|| panic!("{name} (dropout {p}): no gradient for {tensor}"));
                let norm = g.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
                assert!(
                    norm > 0.0 && norm.is_finite(),
                    "{name} (dropout {p}): {tensor} gradient norm {norm}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn dropout_only_acts_in_training() -> Result<()> {
    for (name, arch) in configs() {
        let arch = with_dropout(&arch, 0.2);
        let store = init_store(&arch, 1)?;
        let model = arch.build(store.train_builder(), DropoutRng::new(9))?;
        let x = images(4, 2)?;
        let eval_a = model.forward(&x, false)?;
        let eval_b = model.forward(&x, false)?;
        let train = model.forward(&x, true)?;
        assert_eq!(max_abs_diff(&eval_a, &eval_b)?, 0.0, "{name}");
        assert!(
            max_abs_diff(&eval_a, &train)? > 1e-4,
            "{name}: dropout had no effect"
        );
    }
    Ok(())
}

/// Every tensor the structure names exists, and its slices tile the unit axis exactly.
#[test]
fn structure_matches_the_parameters() -> Result<()> {
    for (name, arch) in configs() {
        let store = init_store(&arch, 1)?;
        let shapes: BTreeMap<String, Vec<usize>> = store
            .vars()
            .into_iter()
            .map(|(n, v)| (n, v.dims().to_vec()))
            .collect();
        let s = arch.structure();
        assert_eq!(s.groups.len(), 2 * s.num_layers, "{name}");
        assert_eq!(s.prunable_weights.len(), 6 * s.num_layers, "{name}");
        for (w, layer) in &s.prunable_weights {
            assert!(
                shapes.contains_key(w),
                "{name}: prunable {w} (layer {layer}) missing"
            );
        }
        for (g, group) in s.groups.iter().enumerate() {
            let kind = if g % 2 == 0 {
                UnitKind::Head
            } else {
                UnitKind::Neuron
            };
            assert_eq!((group.kind, group.layer), (kind, g / 2), "{name}");
            for sl in &group.slices {
                let dims = shapes
                    .get(&sl.tensor)
                    .unwrap_or_else(|| panic!("{name}: structure names missing {}", sl.tensor));
                assert_eq!(
                    dims[sl.axis],
                    group.count * sl.unit_len,
                    "{name}: {}",
                    sl.tensor
                );
            }
            let scored = group.slices.iter().filter(|s| s.scored).count();
            assert_eq!(scored, if kind == UnitKind::Head { 4 } else { 2 }, "{name}");
        }
    }
    Ok(())
}

/// Every tensor plus seeded noise, so that biases, norms and bias tables are not at their
/// (zero / one) init and zeroing a slice of them is visible.
fn perturbed_tensors(store: &ParamStore) -> Result<BTreeMap<String, Tensor>> {
    store
        .snapshot()?
        .into_iter()
        .map(|(name, t)| {
            let noise = seeded_init(
                t.shape(),
                &Init::Randn {
                    mean: 0.0,
                    stdev: 0.1,
                },
                11,
                &name,
                t.device(),
            )?;
            Ok((name, (t + noise)?))
        })
        .collect()
}

/// Keeps a few units of every group: heads {last} where a block has 2, every third neuron
/// (so some blocks lose most of their MLP).
fn sample_plan(arch: &ArchConfig) -> StructurePlan {
    let s = arch.structure();
    let kept = s
        .groups
        .iter()
        .map(|g| match g.kind {
            UnitKind::Head if g.count > 1 && g.layer % 2 == 0 => vec![g.count - 1],
            UnitKind::Head => (0..g.count).collect(),
            UnitKind::Neuron => (0..g.count).filter(|u| u % 3 == g.layer % 3).collect(),
        })
        .collect();
    StructurePlan { kept }
}

#[test]
fn masked_dense_equals_shrunk_model() -> Result<()> {
    for (name, arch) in configs() {
        let store = init_store(&arch, 21)?;
        let tensors = perturbed_tensors(&store)?;
        let plan = sample_plan(&arch);
        let x = images(4, 3)?;

        let zeroed = zero_units(&arch.structure(), &tensors, &plan)?;
        let dense = ParamStore::from_tensors(zeroed, 0, &Device::Cpu)?;
        let a = arch
            .build(dense.eval_builder(), DropoutRng::new(0))?
            .forward(&x, false)?;

        let (small_arch, small_tensors) = shrink(&arch, &tensors, &plan)?;
        let small = ParamStore::from_tensors(small_tensors, 0, &Device::Cpu)?;
        let b = small_arch
            .build(small.eval_builder(), DropoutRng::new(0))?
            .forward(&x, false)?;

        let diff = max_abs_diff(&a, &b)?;
        assert!(diff <= 1e-4, "{name}: masked vs shrunk max diff {diff}");
        assert!(small.num_params() < dense.num_params(), "{name}");
        // The masked model is not the unpruned one, so the check has teeth.
        let full = ParamStore::from_tensors(tensors, 0, &Device::Cpu)?;
        let c = arch
            .build(full.eval_builder(), DropoutRng::new(0))?
            .forward(&x, false)?;
        assert!(
            max_abs_diff(&a, &c)? > 1e-3,
            "{name}: pruning changed nothing"
        );

        let (heads, neurons) = plan.unit_counts(&arch.structure());
        match &small_arch {
            ArchConfig::Vit(c) => {
                assert_eq!(heads, vec![1, 2]);
                assert_eq!(c.layer_heads.as_deref(), Some(&heads[..]));
                assert_eq!(c.layer_intermediate.as_deref(), Some(&neurons[..]));
            }
            ArchConfig::Swin(c) => {
                assert_eq!(heads, vec![1, 1, 1, 2]);
                assert_eq!(c.layer_heads.as_deref(), Some(&heads[..]));
                assert_eq!(c.layer_intermediate.as_deref(), Some(&neurons[..]));
            }
            _ => unreachable!("vision configs only"),
        }
        assert_eq!(small_arch.structure().groups[0].count, heads[0], "{name}");
    }
    Ok(())
}

#[test]
fn seed_decides_the_parameters() -> Result<()> {
    for (name, arch) in configs() {
        let a = init_store(&arch, 7)?.snapshot()?;
        let b = init_store(&arch, 7)?.snapshot()?;
        let c = init_store(&arch, 8)?.snapshot()?;
        let mut differs = 0;
        for (n, t) in &a {
            assert_eq!(
                max_abs_diff(t, &b[n])?,
                0.0,
                "{name}: {n} differs under the same seed"
            );
            if max_abs_diff(t, &c[n])? > 0.0 {
                differs += 1;
            }
        }
        // Every randomly initialised tensor differs; constants (biases, norms, bias tables) do not.
        let random = a.keys().filter(|n| is_random_init(n)).count();
        assert_eq!(differs, random, "{name}");
    }
    Ok(())
}

/// Weights of linear layers and the patch projection, the CLS token and position embeddings
/// are drawn from normal(0, initializer_range); biases, norms and bias tables are constants.
fn is_random_init(name: &str) -> bool {
    let weight = name.ends_with(".weight") && !name.contains("norm");
    weight || name.ends_with("cls_token") || name.ends_with("position_embeddings")
}

fn block_names(prefix: &str, attention: &str, extra: &[&str]) -> Vec<String> {
    let mut names = vec![];
    for part in [
        "layernorm_before",
        "layernorm_after",
        "intermediate.dense",
        "output.dense",
    ] {
        names.push(format!("{prefix}.{part}.weight"));
        names.push(format!("{prefix}.{part}.bias"));
    }
    for qkv in ["query", "key", "value"] {
        names.push(format!("{prefix}.attention.{attention}.{qkv}.weight"));
        names.push(format!("{prefix}.attention.{attention}.{qkv}.bias"));
    }
    names.push(format!("{prefix}.attention.output.dense.weight"));
    names.push(format!("{prefix}.attention.output.dense.bias"));
    names.extend(extra.iter().map(|e| format!("{prefix}.{e}")));
    names
}

#[test]
fn parameter_names_and_shapes_are_hugging_face() -> Result<()> {
    let vit = ArchConfig::Vit(VitConfig::tiny(LABELS));
    let store = init_store(&vit, 1)?;
    let mut expected: BTreeSet<String> = [
        "vit.embeddings.cls_token",
        "vit.embeddings.position_embeddings",
        "vit.embeddings.patch_embeddings.projection.weight",
        "vit.embeddings.patch_embeddings.projection.bias",
        "vit.layernorm.weight",
        "vit.layernorm.bias",
        "classifier.weight",
        "classifier.bias",
    ]
    .map(String::from)
    .into();
    for i in 0..2 {
        expected.extend(block_names(
            &format!("vit.encoder.layer.{i}"),
            "attention",
            &[],
        ));
    }
    let names: BTreeSet<String> = store.vars().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, expected);
    let dims = |n: &str| store.get(n).map(|v| v.dims().to_vec());
    assert_eq!(dims("vit.embeddings.cls_token"), Some(vec![1, 1, 16]));
    assert_eq!(
        dims("vit.embeddings.position_embeddings"),
        Some(vec![1, 17, 16])
    );
    assert_eq!(
        dims("vit.embeddings.patch_embeddings.projection.weight"),
        Some(vec![16, 1, 2, 2])
    );
    assert_eq!(
        dims("vit.encoder.layer.1.intermediate.dense.weight"),
        Some(vec![32, 16])
    );
    assert_eq!(dims("classifier.weight"), Some(vec![LABELS, 16]));

    let swin = ArchConfig::Swin(SwinConfig::tiny(LABELS));
    let store = init_store(&swin, 1)?;
    let mut expected: BTreeSet<String> = [
        "swin.embeddings.patch_embeddings.projection.weight",
        "swin.embeddings.patch_embeddings.projection.bias",
        "swin.embeddings.norm.weight",
        "swin.embeddings.norm.bias",
        "swin.encoder.layers.0.downsample.reduction.weight",
        "swin.encoder.layers.0.downsample.norm.weight",
        "swin.encoder.layers.0.downsample.norm.bias",
        "swin.layernorm.weight",
        "swin.layernorm.bias",
        "classifier.weight",
        "classifier.bias",
    ]
    .map(String::from)
    .into();
    for s in 0..2 {
        for b in 0..2 {
            expected.extend(block_names(
                &format!("swin.encoder.layers.{s}.blocks.{b}"),
                "self",
                &["attention.self.relative_position_bias_table"],
            ));
        }
    }
    let names: BTreeSet<String> = store.vars().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, expected);
    let dims = |n: &str| store.get(n).map(|v| v.dims().to_vec());
    let table = "attention.self.relative_position_bias_table";
    assert_eq!(
        dims(&format!("swin.encoder.layers.0.blocks.1.{table}")),
        Some(vec![9, 1])
    );
    assert_eq!(
        dims(&format!("swin.encoder.layers.1.blocks.0.{table}")),
        Some(vec![9, 2])
    );
    assert_eq!(
        dims("swin.encoder.layers.0.downsample.reduction.weight"),
        Some(vec![16, 32])
    );
    assert_eq!(
        dims("swin.encoder.layers.1.blocks.0.intermediate.dense.weight"),
        Some(vec![32, 16])
    );
    assert_eq!(dims("classifier.weight"), Some(vec![LABELS, 16]));
    Ok(())
}

#[test]
fn per_block_head_counts_build_and_run() -> Result<()> {
    let vit = VitConfig {
        layer_heads: Some(vec![1, 2]),
        layer_intermediate: Some(vec![7, 32]),
        ..VitConfig::tiny(LABELS)
    };
    let swin = SwinConfig {
        layer_heads: Some(vec![1, 1, 2, 1]),
        layer_intermediate: Some(vec![3, 16, 32, 5]),
        ..SwinConfig::tiny(LABELS)
    };
    for arch in [ArchConfig::Vit(vit), ArchConfig::Swin(swin)] {
        let store = init_store(&arch, 1)?;
        let logits = arch
            .build(store.train_builder(), DropoutRng::new(0))?
            .forward(&images(3, 1)?, true)?;
        assert_eq!(logits.dims(), &[3, LABELS]);
        let s = arch.structure();
        let counts: Vec<usize> = s.groups.iter().map(|g| g.count).collect();
        match &arch {
            ArchConfig::Vit(_) => {
                assert_eq!(counts, vec![1, 7, 2, 32]);
                let q = store.get("vit.encoder.layer.0.attention.attention.query.weight");
                assert_eq!(q.map(|v| v.dims().to_vec()), Some(vec![8, 16]));
            }
            _ => assert_eq!(counts, vec![1, 3, 1, 16, 2, 32, 1, 5]),
        }
    }
    Ok(())
}

#[test]
fn config_json_round_trips_and_reads_hf_files() {
    let vit = VitConfig {
        layer_heads: Some(vec![1, 2]),
        ..VitConfig::tiny(LABELS)
    };
    let swin = SwinConfig::tiny(LABELS).with_units(&[1, 1, 2, 1], &[3, 16, 32, 5]);
    for (arch, uniform) in [
        (ArchConfig::Vit(VitConfig::tiny(LABELS)), true),
        (ArchConfig::Vit(vit), false),
        (ArchConfig::Swin(SwinConfig::tiny(LABELS)), true),
        (ArchConfig::Swin(swin), false),
    ] {
        let json = serde_json::to_string_pretty(&arch).unwrap();
        let back: ArchConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, arch);
        // Uniform configs do not write the per-block fields at all.
        assert_eq!(json.contains("layer_heads"), !uniform, "{json}");
    }
    // An excerpt of an HF config.json: unknown keys ignored, missing keys at HF defaults.
    let hf = r#"{"architectures": ["ViTForImageClassification"], "model_type": "vit",
        "hidden_size": 768, "num_hidden_layers": 12, "hidden_act": "gelu", "image_size": 224,
        "patch_size": 16, "qkv_bias": true, "torch_dtype": "float32", "num_labels": 1000}"#;
    let cfg: VitConfig = serde_json::from_str(hf).unwrap();
    assert_eq!(
        (cfg.num_attention_heads, cfg.num_labels, cfg.layer_norm_eps),
        (12, 1000, 1e-12)
    );
    let hf = r#"{"model_type": "swin", "embed_dim": 96, "depths": [2, 2, 6, 2],
        "num_heads": [3, 6, 12, 24], "window_size": 7, "drop_path_rate": 0.1,
        "encoder_stride": 32, "hidden_act": "gelu", "use_absolute_embeddings": false}"#;
    let cfg: SwinConfig = serde_json::from_str(hf).unwrap();
    assert_eq!(cfg, SwinConfig::default());
}

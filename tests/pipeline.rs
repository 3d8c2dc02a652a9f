//! One whole headless pipeline on a tiny config: search → ticket → prune → retrain → baseline →
//! random control → compare, and every file of the run directory.

use ebt::config::ExperimentConfig;
use ebt::engine::events::{Phase, RunKind, TrainerEvent};

fn tiny(arch: &str, extra: &[&str]) -> ExperimentConfig {
    let mut o: Vec<String> = vec![
        format!("model.arch={arch}"),
        "model.hidden_size=16".into(),
        "model.num_layers=2".into(),
        "model.num_heads=2".into(),
        "model.intermediate_size=32".into(),
        "model.depths=[1,1]".into(),
        "train.epochs=4".into(),
        "train.batch_size=64".into(),
        "search.window=2".into(),
        "search.ratios=[0.25,0.5]".into(),
        "ticket.ratio=0.5".into(),
        "retrain.epochs=2".into(),
        "data.max_per_class=30".into(),
    ];
    if arch == "gpt2" || arch == "roberta" {
        o.push("data.source=langid".into());
        o.push("data.max_length=16".into());
        o.push("data.languages=[\"english\",\"german\"]".into());
    }
    o.extend(extra.iter().map(|s| s.to_string()));
    ExperimentConfig::load(None, &o).unwrap()
}

mod common;

fn run(cfg: ExperimentConfig) -> (Vec<TrainerEvent>, i32, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (events, code) = common::run_headless(cfg, dir.path().join("run"));
    (events, code, dir)
}

#[test]
fn headless_structured_vit_writes_every_output() {
    let (events, code, dir) = run(tiny("vit", &[]));
    let errors: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, TrainerEvent::Error(_)))
        .collect();
    assert_eq!(code, 0, "{errors:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, TrainerEvent::Phase(Phase::Finished))));
    let epochs = |k: RunKind| {
        events
            .iter()
            .filter(|e| matches!(e, TrainerEvent::Epoch(m) if m.run == k))
            .count()
    };
    assert_eq!(epochs(RunKind::Search) + epochs(RunKind::Baseline), 4);
    assert_eq!(epochs(RunKind::Pruned), 2);
    assert_eq!(epochs(RunKind::Random), 2);
    let run = dir.path().join("run");
    for f in [
        "config.toml",
        "metrics.csv",
        "distances_p0.25.csv",
        "distances_p0.5.csv",
        "sparsity.csv",
        "ticket.json",
        "summary.json",
        "pruned.safetensors",
        "pruned_config.json",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    for k in [
        "/model",
        "/dataset",
        "/ticket/epoch",
        "/ticket/ratio",
        "/baseline/accuracy",
        "/pruned/accuracy",
        "/baseline/params",
        "/pruned/params",
        "/baseline/step_ms",
        "/pruned/step_ms",
        "/random/accuracy",
        "/cost/eb_seconds",
        "/cost/dense_seconds",
    ] {
        assert!(s.pointer(k).is_some(), "summary.json lacks {k}");
    }
    let bp = s.pointer("/baseline/params").unwrap().as_u64().unwrap();
    let pp = s.pointer("/pruned/params").unwrap().as_u64().unwrap();
    assert!(
        pp < bp,
        "structured pruning must shrink the model: {pp} vs {bp}"
    );
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(metrics.starts_with("phase,epoch,train_loss,eval_loss,eval_acc,lr,seconds\n"));
    assert_eq!(metrics.lines().count(), 1 + 4 + 2 + 2);

    // The saved pruned model reloads and gives the same logits as before saving.
    let (arch, store) = ebt::report::load_pruned(&run, &candle_core::Device::Cpu).unwrap();
    let model = arch
        .build(store.eval_builder(), ebt::models::DropoutRng::new(0))
        .unwrap();
    let x = candle_core::Tensor::zeros(
        (2, 1, 8, 8),
        candle_core::DType::F32,
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let y = model
        .forward(&ebt::models::ModelInput::Images(x), false)
        .unwrap();
    assert_eq!(y.dims(), &[2, 10]);
}

#[test]
fn same_seed_same_metrics() {
    let cfg = tiny(
        "vit",
        &[
            "train.epochs=2",
            "retrain.epochs=1",
            "retrain.random_control=false",
            "search.window=2",
        ],
    );
    let metrics = |events: &[TrainerEvent]| -> Vec<(f64, f64)> {
        events
            .iter()
            .filter_map(|e| match e {
                TrainerEvent::Epoch(m) => Some((m.train_loss, m.eval_acc)),
                _ => None,
            })
            .collect()
    };
    let (a, _, _) = run(cfg.clone());
    let (b, _, _) = run(cfg);
    assert_eq!(metrics(&a), metrics(&b));
    assert!(!metrics(&a).is_empty());
}

#[test]
fn unstructured_ticket_keeps_its_zeros() {
    let (events, code, dir) = run(tiny(
        "vit",
        &["prune.kind=unstructured", "prune.scope=layer"],
    ));
    assert_eq!(
        code,
        0,
        "{:?}",
        events
            .iter()
            .filter(|e| matches!(e, TrainerEvent::Error(_)))
            .collect::<Vec<_>>()
    );
    let run = dir.path().join("run");
    let tensors =
        candle_core::safetensors::load(run.join("pruned.safetensors"), &candle_core::Device::Cpu)
            .unwrap();
    // Layer scope at p = 0.5: each prunable matrix is half zeros after retraining.
    let q = &tensors["vit.encoder.layer.0.attention.attention.query.weight"];
    let v: Vec<f32> = q.flatten_all().unwrap().to_vec1().unwrap();
    let zeros = v.iter().filter(|x| **x == 0.0).count();
    assert_eq!(zeros, v.len() / 2, "{zeros} of {}", v.len());
}

#[test]
fn a_search_that_never_converges_says_so() {
    let (events, code, _dir) = run(tiny(
        "vit",
        &[
            "search.max_epochs=1",
            "train.epochs=2",
            "retrain.epochs=1",
            "retrain.random_control=false",
        ],
    ));
    assert_eq!(code, 0);
    assert!(events
        .iter()
        .any(|e| matches!(e, TrainerEvent::Warning(w) if w.contains("no early-bird ticket"))));
    assert!(events.iter().any(|e| matches!(
        e,
        TrainerEvent::TicketConfirmed {
            converged: false,
            ..
        }
    )));
}

/// `search.every_steps`: masks inside an epoch; a ticket drawn mid-epoch ends the search there and
/// the dense baseline trains the rest of that epoch, so it still sees every step of every epoch.
#[test]
fn masks_every_few_steps_can_draw_a_ticket_inside_an_epoch() {
    let cfg = tiny(
        "vit",
        &[
            "search.every_steps=2",
            "search.window=3",
            "search.epsilon=1.0", // any distance passes: the ticket comes with the first full window
            "retrain.random_control=false",
        ],
    );
    let scratch = tempfile::tempdir().unwrap();
    let run_dir = ebt::run_dir::RunDir::create(scratch.path()).unwrap();
    let data = ebt::data::load(&cfg.data, &cfg.model, &run_dir, cfg.train.seed).unwrap();
    let steps = data.train.len().div_ceil(cfg.train.batch_size);
    assert!(
        steps > 2,
        "the tiny set must need more than 2 steps per epoch ({steps})"
    );
    let (events, code, _dir) = run(cfg);
    assert_eq!(code, 0);
    let snapshots = events
        .iter()
        .filter(|e| matches!(e, TrainerEvent::Masks(_)))
        .count();
    // A window of 3 masks: after step 2 and at the end of epoch 1, then after step 2 of epoch 2,
    // where the ticket is drawn.
    assert_eq!(snapshots, 3);
    assert!(events.iter().any(|e| matches!(
        e,
        TrainerEvent::TicketConfirmed {
            epoch: 2,
            index: 2,
            ..
        }
    )));
    let rows = |k: RunKind| -> Vec<usize> {
        events
            .iter()
            .filter_map(|e| match e {
                TrainerEvent::Epoch(m) if m.run == k => Some(m.epoch),
                _ => None,
            })
            .collect()
    };
    assert_eq!(rows(RunKind::Search), vec![1, 2]);
    assert_eq!(rows(RunKind::Baseline), vec![2, 3, 4]);
}

//! `model.pretrained`: tiny checkpoints written with Hugging Face names and `config.json`s for every
//! family, loaded from a directory and from a hub cache; the adaptations (fresh head, dropped
//! tensors, resized ViT positions) and every error path. The GPT-2 check against an independent
//! forward lives in tests/models_text.rs beside its plain-loop reference.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use candle_core::{DType, Device, Tensor};
use ebt::config::ModelSection;
use ebt::data::DataShape;
use ebt::hub::HubEnv;
use ebt::models::pretrained::{load_with_env, Pretrained};
use ebt::models::roberta::RobertaConfig;
use ebt::models::swin::SwinConfig;
use ebt::models::vit::VitConfig;
use ebt::models::{ArchConfig, DropoutRng, ModelInput, ParamStore};

mod common;

type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

const VOCAB: usize = 20;

/// An environment that can never download: tests stay offline and fast.
fn offline(cache: &Path) -> HubEnv {
    HubEnv {
        cache_dir: cache.to_path_buf(),
        endpoint: "http://127.0.0.1:1".into(),
        offline: true,
    }
}

/// The parameters of `arch` drawn from `seed`, under our (classifier) names.
fn weights_of(arch: &ArchConfig, seed: u64) -> BTreeMap<String, Tensor> {
    let store = ParamStore::new(seed, &Device::Cpu);
    arch.build(store.train_builder(), DropoutRng::new(0))
        .unwrap();
    store.snapshot().unwrap()
}

/// Writes `config.json` (our config serialised, plus `model_type`) and `model.safetensors` with the
/// tensors renamed by `rename` (returning `None` drops a tensor) plus `extra` ones.
fn write_checkpoint(
    dir: &Path,
    arch: &ArchConfig,
    weights: &BTreeMap<String, Tensor>,
    rename: impl Fn(&str) -> Option<String>,
    extra: &[(&str, Tensor)],
) {
    let mut config = match arch {
        ArchConfig::Vit(c) => serde_json::to_value(c),
        ArchConfig::Swin(c) => serde_json::to_value(c),
        ArchConfig::Gpt2(c) => serde_json::to_value(c),
        ArchConfig::Roberta(c) => serde_json::to_value(c),
    }
    .unwrap();
    config["model_type"] = arch.name().into();
    config["architectures"] = serde_json::json!(["SomethingModel"]);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let mut ckpt: HashMap<String, Tensor> = weights
        .iter()
        .filter_map(|(k, v)| rename(k).map(|n| (n, v.clone())))
        .collect();
    for (k, v) in extra {
        ckpt.insert(k.to_string(), v.clone());
    }
    candle_core::safetensors::save(&ckpt, dir.join("model.safetensors")).unwrap();
}

fn section(arch: &str, dir: &Path) -> ModelSection {
    ModelSection {
        arch: arch.into(),
        pretrained: Some(dir.to_string_lossy().into_owned()),
        ..ModelSection::default()
    }
}

fn text_shape(max_length: usize) -> DataShape {
    DataShape::Text {
        vocab_size: VOCAB,
        max_length,
        pad_id: 1,
        bos_id: 0,
        eos_id: 2,
    }
}

fn image_shape(side: usize) -> DataShape {
    DataShape::Image {
        channels: 1,
        height: side,
        width: side,
    }
}

fn assert_loaded(p: &Pretrained, written: &BTreeMap<String, Tensor>, head: &str) {
    for (name, t) in written {
        if name.starts_with(head) {
            continue;
        }
        let got = p
            .tensors
            .get(name)
            .unwrap_or_else(|| panic!("{name} not loaded"));
        let diff = (got - t)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(diff, 0.0, "{name} changed on load");
    }
}

/// Builds the loaded model (drawing a fresh head if needed) and runs one forward pass.
fn forward(p: &Pretrained, input: &ModelInput) -> Tensor {
    let store = ParamStore::from_tensors(p.tensors.clone(), 3, &Device::Cpu).unwrap();
    p.arch
        .build(store.train_builder(), DropoutRng::new(0))
        .unwrap();
    let model = p
        .arch
        .build(store.eval_builder(), DropoutRng::new(0))
        .unwrap();
    model.forward(input, false).unwrap()
}

fn tokens_input(t: usize) -> ModelInput {
    let ids: Vec<u32> = (0..t as u32).map(|i| 3 + i % 10).collect();
    ModelInput::Tokens {
        ids: Tensor::from_vec(ids, (1, t), &Device::Cpu).unwrap(),
        mask: Tensor::ones((1, t), DType::F32, &Device::Cpu).unwrap(),
    }
}

#[test]
fn roberta_model_checkpoint_gets_the_prefix_and_a_fresh_head() -> TestResult {
    let dir = tempfile::tempdir()?;
    let arch = ArchConfig::Roberta(RobertaConfig::tiny(VOCAB, 2));
    let w = weights_of(&arch, 4);
    // `RobertaModel` as saved by HF: no `roberta.` prefix, a pooler and an LM head, no classifier.
    let dev = Device::Cpu;
    write_checkpoint(
        dir.path(),
        &arch,
        &w,
        |k| (!k.starts_with("classifier.")).then(|| k.trim_start_matches("roberta.").to_string()),
        &[
            (
                "pooler.dense.weight",
                Tensor::zeros((16, 16), DType::F32, &dev)?,
            ),
            ("lm_head.bias", Tensor::zeros(VOCAB, DType::F32, &dev)?),
        ],
    );
    let p = load_with_env(
        &section("roberta", dir.path()),
        &text_shape(8),
        5,
        offline(dir.path()),
    )?;
    assert_eq!(p.arch.num_labels(), 5);
    assert_loaded(&p, &w, "classifier.");
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("fresh classification head for 5 classes")),
        "{:?}",
        p.notes
    );
    assert!(p
        .notes
        .iter()
        .any(|n| n.starts_with("2 checkpoint tensors not used")));
    assert_eq!(forward(&p, &tokens_input(6)).dims(), &[1, 5]);
    Ok(())
}

#[test]
fn a_matching_classification_head_is_kept_and_another_is_replaced() -> TestResult {
    let dir = tempfile::tempdir()?;
    let arch = ArchConfig::Roberta(RobertaConfig::tiny(VOCAB, 3));
    let w = weights_of(&arch, 8);
    write_checkpoint(dir.path(), &arch, &w, |k| Some(k.to_string()), &[]);
    let p = load_with_env(
        &section("roberta", dir.path()),
        &text_shape(8),
        3,
        offline(dir.path()),
    )?;
    assert_eq!(p.tensors.len(), w.len());
    assert_loaded(&p, &w, "nothing");
    assert!(p.notes.is_empty(), "{:?}", p.notes);
    // The same checkpoint for a 2-class task: the 3-class head cannot be used.
    let p = load_with_env(
        &section("roberta", dir.path()),
        &text_shape(8),
        2,
        offline(dir.path()),
    )?;
    assert!(!p.tensors.contains_key("classifier.out_proj.weight"));
    assert!(p.tensors.contains_key("classifier.dense.weight"));
    assert!(p
        .notes
        .iter()
        .any(|n| n.contains("classifier.out_proj.weight")));
    Ok(())
}

#[test]
fn vit_model_checkpoint_resizes_position_embeddings_to_the_data() -> TestResult {
    let dir = tempfile::tempdir()?;
    let arch = ArchConfig::Vit(VitConfig::tiny(4)); // 8×8 images, patch 2: a 4×4 grid
    let w = weights_of(&arch, 6);
    write_checkpoint(
        dir.path(),
        &arch,
        &w,
        |k| (!k.starts_with("classifier.")).then(|| k.trim_start_matches("vit.").to_string()),
        &[],
    );
    // Same-size images: every tensor as written.
    let p = load_with_env(
        &section("vit", dir.path()),
        &image_shape(8),
        4,
        offline(dir.path()),
    )?;
    assert_loaded(&p, &w, "classifier.");
    // 12×12 images: a 6×6 grid; the CLS position is kept, the grid resampled.
    let p = load_with_env(
        &section("vit", dir.path()),
        &image_shape(12),
        4,
        offline(dir.path()),
    )?;
    let pos = &p.tensors["vit.embeddings.position_embeddings"];
    assert_eq!(pos.dims(), &[1, 37, 16]);
    let cls_before = w["vit.embeddings.position_embeddings"].narrow(1, 0, 1)?;
    let cls_after = pos.narrow(1, 0, 1)?;
    assert_eq!(
        (cls_before - cls_after)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?,
        0.0
    );
    assert!(p
        .notes
        .iter()
        .any(|n| n.contains("position embeddings resized")));
    let images = Tensor::zeros((2, 1, 12, 12), DType::F32, &Device::Cpu)?;
    assert_eq!(forward(&p, &ModelInput::Images(images)).dims(), &[2, 4]);
    Ok(())
}

#[test]
fn swin_checkpoint_with_classifier_names_loads() -> TestResult {
    let dir = tempfile::tempdir()?;
    let arch = ArchConfig::Swin(SwinConfig::tiny(3));
    let w = weights_of(&arch, 2);
    write_checkpoint(dir.path(), &arch, &w, |k| Some(k.to_string()), &[]);
    let p = load_with_env(
        &section("swin", dir.path()),
        &image_shape(8),
        3,
        offline(dir.path()),
    )?;
    assert_loaded(&p, &w, "nothing");
    let images = Tensor::zeros((1, 1, 8, 8), DType::F32, &Device::Cpu)?;
    assert_eq!(forward(&p, &ModelInput::Images(images)).dims(), &[1, 3]);
    // Larger images: the bias tables depend on the window only, so every tensor still fits.
    let p = load_with_env(
        &section("swin", dir.path()),
        &image_shape(16),
        3,
        offline(dir.path()),
    )?;
    assert_loaded(&p, &w, "nothing");
    let images = Tensor::zeros((1, 1, 16, 16), DType::F32, &Device::Cpu)?;
    assert_eq!(forward(&p, &ModelInput::Images(images)).dims(), &[1, 3]);
    Ok(())
}

#[test]
fn sharded_checkpoints_load_through_their_index() -> TestResult {
    let dir = tempfile::tempdir()?;
    let arch = ArchConfig::Roberta(RobertaConfig::tiny(VOCAB, 2));
    let w = weights_of(&arch, 1);
    write_checkpoint(dir.path(), &arch, &w, |k| Some(k.to_string()), &[]);
    std::fs::remove_file(dir.path().join("model.safetensors"))?;
    let (first, second): (Vec<_>, Vec<_>) = w.iter().partition(|(k, _)| k.contains("layer.0"));
    let mut map = serde_json::Map::new();
    for (file, part) in [("a.safetensors", first), ("b.safetensors", second)] {
        let t: HashMap<String, Tensor> = part
            .into_iter()
            .map(|(k, v)| {
                map.insert(k.clone(), file.into());
                (k.clone(), v.clone())
            })
            .collect();
        candle_core::safetensors::save(&t, dir.path().join(file))?;
    }
    let index = serde_json::json!({"metadata": {"total_size": 0}, "weight_map": map});
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        index.to_string(),
    )?;
    let p = load_with_env(
        &section("roberta", dir.path()),
        &text_shape(8),
        2,
        offline(dir.path()),
    )?;
    assert_loaded(&p, &w, "nothing");
    Ok(())
}

/// A cache laid out as huggingface_hub writes it, holding the given checkpoint directory.
fn cache_with(root: &Path, repo_folder: &str, checkpoint: &Path) {
    let sha = "89abcdef0123456789abcdef0123456789abcdef";
    let repo = root.join(repo_folder);
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), sha).unwrap();
    let snap = repo.join("snapshots").join(sha);
    std::fs::create_dir_all(&snap).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(checkpoint.join(f), snap.join(f)).unwrap();
    }
}

#[test]
fn a_repo_id_resolves_from_the_hub_cache_offline() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let arch = ArchConfig::Roberta(RobertaConfig::tiny(VOCAB, 2));
    let w = weights_of(&arch, 9);
    let ckpt = tmp.path().join("ckpt");
    write_checkpoint(&ckpt, &arch, &w, |k| Some(k.to_string()), &[]);
    let cache = tmp.path().join("hub");
    cache_with(&cache, "models--someone--tiny-roberta", &ckpt);
    let m = ModelSection {
        arch: "roberta".into(),
        pretrained: Some("someone/tiny-roberta".into()),
        ..ModelSection::default()
    };
    let p = load_with_env(&m, &text_shape(8), 2, offline(&cache))?;
    assert_loaded(&p, &w, "nothing");
    Ok(())
}

fn load_err(m: &ModelSection, shape: &DataShape, dir: &Path) -> String {
    let e = load_with_env(m, shape, 2, offline(dir)).unwrap_err();
    assert_eq!(e.exit_code(), 2, "{e}");
    let msg = e.to_string();
    assert_eq!(msg.lines().count(), 1, "{msg}");
    msg
}

#[test]
fn bad_checkpoints_are_one_line_errors_naming_the_cause() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("ckpt");
    let arch = ArchConfig::Roberta(RobertaConfig::tiny(VOCAB, 2));
    let w = weights_of(&arch, 3);
    write_checkpoint(&dir, &arch, &w, |k| Some(k.to_string()), &[]);

    let msg = load_err(&section("gpt2", &dir), &text_shape(8), &dir);
    assert!(
        msg.contains("is a roberta checkpoint; set model.arch = \"roberta\""),
        "{msg}"
    );

    let msg = load_err(&section("roberta", &dir), &image_shape(8), &dir);
    assert!(msg.contains("text model but the data are images"), "{msg}");

    let mut big = text_shape(8);
    if let DataShape::Text { vocab_size, .. } = &mut big {
        *vocab_size = 50_000;
    }
    let msg = load_err(&section("roberta", &dir), &big, &dir);
    assert!(
        msg.starts_with("data.tokenizer: the tokenizer has 50000 tokens"),
        "{msg}"
    );

    let msg = load_err(&section("roberta", &dir), &text_shape(500), &dir);
    assert!(msg.starts_with("data.max_length: 500 tokens"), "{msg}");

    // A tensor missing, then one of the wrong shape.
    let broken = tmp.path().join("broken");
    write_checkpoint(
        &broken,
        &arch,
        &w,
        |k| (!k.contains("layer.1.attention.self.query")).then(|| k.to_string()),
        &[],
    );
    let msg = load_err(&section("roberta", &broken), &text_shape(8), &dir);
    assert!(msg.contains("lacks 2 of the"), "{msg}");
    assert!(msg.contains("layer.1.attention.self.query"), "{msg}");
    let dev = Device::Cpu;
    write_checkpoint(
        &broken,
        &arch,
        &w,
        |k| Some(k.to_string()),
        &[(
            "roberta.embeddings.LayerNorm.weight",
            Tensor::ones(7, DType::F32, &dev)?,
        )],
    );
    let msg = load_err(&section("roberta", &broken), &text_shape(8), &dir);
    assert!(
        msg.contains("roberta.embeddings.LayerNorm.weight has shape [7]"),
        "{msg}"
    );

    // config.json without model_type; an unsupported family; only pytorch_model.bin.
    std::fs::write(broken.join("config.json"), "{\"hidden_size\": 16}")?;
    let msg = load_err(&section("roberta", &broken), &text_shape(8), &dir);
    assert!(msg.contains("no model_type"), "{msg}");
    std::fs::write(broken.join("config.json"), "{\"model_type\": \"llama\"}")?;
    let msg = load_err(&section("roberta", &broken), &text_shape(8), &dir);
    assert!(msg.contains("\"llama\" checkpoint"), "{msg}");
    std::fs::remove_file(broken.join("model.safetensors"))?;
    std::fs::write(broken.join("pytorch_model.bin"), b"pickle")?;
    let msg = load_err(&section("roberta", &broken), &text_shape(8), &dir);
    assert!(msg.contains("only pytorch_model.bin"), "{msg}");
    std::fs::remove_file(broken.join("pytorch_model.bin"))?;
    let msg = load_err(&section("roberta", &broken), &text_shape(8), &dir);
    assert!(msg.contains("lacks model.safetensors"), "{msg}");
    Ok(())
}

/// The binary offline with an empty cache: one line naming the missing files and the command that
/// fetches them, exit 2, at once (no network wait).
#[test]
fn offline_hub_miss_through_the_binary_is_one_line_and_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ebt-tui"))
        .env_remove("RUST_BACKTRACE")
        .env_remove("HF_HUB_CACHE")
        .env("HF_HOME", home.path())
        .env("HF_HUB_OFFLINE", "1")
        .args([
            "--headless",
            "--config",
            "configs/langid-gpt2.toml",
            "--set",
            "model.pretrained=\"openai-community/gpt2\"",
            "--out",
        ])
        .arg(home.path().join("run"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("missing config.json, model.safetensors"),
        "{err}"
    );
    assert!(
        err.contains("huggingface-cli download openai-community/gpt2"),
        "{err}"
    );
    assert!(err.contains("HF_HUB_OFFLINE"), "{err}");
    assert!(started.elapsed().as_secs() < 20);
}

/// The whole pipeline fine-tuning a tiny GPT-2 checkpoint with its own `tokenizer.json`
/// (`data.tokenizer = "auto"`): the run reads both, starts a fresh head (and says so), and
/// finishes with a pruned model.
#[test]
fn the_pipeline_fine_tunes_a_checkpoint_with_its_own_tokenizer() {
    use ebt::config::{DataSection, ExperimentConfig};
    use ebt::engine::events::{Phase, TrainerEvent};
    use ebt::models::gpt2::Gpt2Config;

    let tmp = tempfile::tempdir().unwrap();
    // A byte-level BPE trained by ebt itself, as a checkpoint would ship it.
    let texts: Vec<String> = [
        "the cat sat on the mat",
        "der Hund schläft im Haus",
        "a quick brown fox jumps",
        "ein kleines Boot auf dem See",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let bpe = DataSection {
        tokenizer: "bpe".into(),
        vocab_size: 300,
        ..DataSection::default()
    };
    let scratch = ebt::run_dir::RunDir::create(&tmp.path().join("scratch")).unwrap();
    let resolved =
        ebt::data::tokenizer::resolve(&bpe, &ModelSection::default(), &scratch, &texts).unwrap();
    let DataShape::Text { vocab_size, .. } = resolved.tokenizer.shape(12) else {
        panic!("a text tokenizer has a text shape")
    };
    let ckpt = tmp.path().join("tiny-gpt2");
    let arch = ArchConfig::Gpt2(Gpt2Config::tiny(vocab_size, 2));
    let w = weights_of(&arch, 12);
    write_checkpoint(
        &ckpt,
        &arch,
        &w,
        |k| (!k.starts_with("score.")).then(|| k.trim_start_matches("transformer.").to_string()),
        &[],
    );
    std::fs::write(
        ckpt.join("tokenizer.json"),
        resolved.tokenizer.to_json().unwrap().unwrap(),
    )
    .unwrap();

    let cfg = ExperimentConfig::load(
        None,
        &[
            "model.arch=gpt2".to_string(),
            format!("model.pretrained=\"{}\"", ckpt.display()),
            "data.source=langid".into(),
            "data.languages=[\"english\",\"german\"]".into(),
            "data.max_length=12".into(),
            "data.max_per_class=30".into(),
            "train.epochs=2".into(),
            "train.batch_size=32".into(),
            "search.window=2".into(),
            "search.ratios=[0.25,0.5]".into(),
            "ticket.ratio=0.5".into(),
            "retrain.epochs=1".into(),
            "retrain.random_control=false".into(),
        ],
    )
    .unwrap();
    let run_dir = tmp.path().join("run");
    let (events, code) = common::run_headless(cfg, run_dir.clone());
    let errors: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, TrainerEvent::Error(_)))
        .collect();
    assert_eq!(code, 0, "{errors:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, TrainerEvent::Phase(Phase::Finished))));
    assert!(events.iter().any(|e| matches!(
        e,
        TrainerEvent::Warning(w) if w.starts_with("model.pretrained: fresh classification head for 2 classes")
    )));
    // The run says which tokenizer it uses: the checkpoint's own.
    let tokenizer_json = ckpt.join("tokenizer.json").display().to_string();
    assert!(events.iter().any(|e| matches!(
        e,
        TrainerEvent::Note(n) if n.starts_with("tokenizer: ") && n.contains(&tokenizer_json)
    )));
    let started = events.iter().find_map(|e| match e {
        TrainerEvent::RunStarted(info) => Some(info.params),
        _ => None,
    });
    // Every checkpoint tensor plus the fresh 2-class score head (16 → 2, no bias).
    let ckpt_params: usize = w
        .iter()
        .filter(|(k, _)| !k.starts_with("score."))
        .map(|(_, t)| t.elem_count())
        .sum();
    assert_eq!(started, Some(ckpt_params + 16 * 2));
    for f in ["tokenizer.json", "pruned.safetensors", "summary.json"] {
        assert!(run_dir.join(f).exists(), "{f} missing");
    }
}

/// A minimal stand-in for the hub's `resolve` endpoint: answers `GET /<repo>/resolve/main/<file>`
/// with the headers hf-hub reads (`etag`, `x-repo-commit`, `content-range`) and honours `Range`;
/// anything else is a 404. Serves until the test process ends.
fn serve_repo(repo: &'static str, files: Vec<(String, Vec<u8>)>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut range_start = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(r) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range_start = r.split('-').next().unwrap().trim().parse().unwrap_or(0);
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let prefix = format!("/{repo}/resolve/main/");
            let file = path
                .strip_prefix(&prefix)
                .and_then(|f| files.iter().find(|(n, _)| n == f));
            let response = match file {
                Some((name, body)) => {
                    let part = &body[range_start.min(body.len())..];
                    let mut head = format!(
                        "HTTP/1.1 206 Partial Content\r\netag: \"{name}-etag\"\r\n\
                         x-repo-commit: 0123456789abcdef0123456789abcdef01234567\r\n\
                         content-range: bytes {range_start}-{}/{}\r\ncontent-length: {}\r\n\
                         connection: close\r\n\r\n",
                        body.len().saturating_sub(1),
                        body.len(),
                        part.len()
                    )
                    .into_bytes();
                    head.extend_from_slice(part);
                    head
                }
                None => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    format!("http://{addr}")
}

/// The real download path of hf-hub against a local server: the files land in the cache in the
/// `huggingface_hub` layout, progress is reported, and a second load works offline from the cache.
#[test]
fn a_repo_id_downloads_into_the_cache_then_loads_offline() -> TestResult {
    // hf-hub's client sends every request through a proxy named in the environment (it does not
    // read NO_PROXY), which would never reach the local server.
    let proxied: Vec<String> = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ]
    .iter()
    .filter(|k| std::env::var_os(k).is_some())
    .map(|k| k.to_string())
    .collect();
    if !proxied.is_empty() {
        eprintln!(
            "skipped: {proxied:?} set; the local hub stand-in cannot be reached through a proxy"
        );
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let arch = ArchConfig::Roberta(RobertaConfig::tiny(VOCAB, 2));
    let w = weights_of(&arch, 5);
    let ckpt = tmp.path().join("ckpt");
    write_checkpoint(&ckpt, &arch, &w, |k| Some(k.to_string()), &[]);
    let files = ["config.json", "model.safetensors"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(ckpt.join(f)).unwrap()))
        .collect();
    let endpoint = serve_repo("org/tiny", files);
    let cache = tmp.path().join("hub");
    let m = ModelSection {
        arch: "roberta".into(),
        pretrained: Some("org/tiny".into()),
        ..ModelSection::default()
    };
    let online = HubEnv {
        cache_dir: cache.clone(),
        endpoint,
        offline: false,
    };
    let lines = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let seen = lines.clone();
    let guard = ebt::hub::report_progress(move |l| seen.borrow_mut().push(l));
    let p = load_with_env(&m, &text_shape(8), 2, online)?;
    drop(guard);
    assert_loaded(&p, &w, "nothing");
    let snap = cache.join("models--org--tiny/snapshots/0123456789abcdef0123456789abcdef01234567");
    assert!(snap.join("model.safetensors").is_file());
    assert_eq!(
        std::fs::read_to_string(cache.join("models--org--tiny/refs/main"))?.trim(),
        "0123456789abcdef0123456789abcdef01234567"
    );
    let lines = lines.borrow();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("downloading model.safetensors (")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "downloaded config.json"),
        "{lines:?}"
    );
    // Offline now: everything comes from the cache.
    let p = load_with_env(&m, &text_shape(8), 2, offline(&cache))?;
    assert_loaded(&p, &w, "nothing");
    Ok(())
}

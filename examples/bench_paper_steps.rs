//! Optimiser-step time of the paper's four models at the sizes of `configs/{vit,swin}-cifar10.toml`
//! and `configs/{gpt2,roberta}-imdb.toml`, on the device of `train.device` (CPU unless built with
//! `--features cuda` and run with `EBT_DEVICE=cuda`): forward + backward + AdamW on one batch of
//! the config's batch size — CIFAR-sized images, or IMDB-length token sequences of `max_length`.
//! The fine-tuning models are GPT-2 small and RoBERTa-base with a random init: a step costs the
//! same as with the pretrained weights, and no download is needed. Prints the median of `STEPS`
//! steps after one warm-up step, and the implied time per epoch (50,000 CIFAR / 25,000 IMDB
//! training examples) and per run (`train.epochs`).
//!
//! Run: `cargo run --release --example bench_paper_steps [-- vit swin gpt2 roberta]`.

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use ebt::config::ExperimentConfig;
use ebt::data::DataShape;
use ebt::models::gpt2::Gpt2Config;
use ebt::models::roberta::RobertaConfig;
use ebt::models::swin::SwinConfig;
use ebt::models::vit::VitConfig;
use ebt::models::{ArchConfig, DropoutRng, ModelInput, ParamStore};
use ebt::train::AdamW;

const STEPS: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let device = match std::env::var("EBT_DEVICE").as_deref() {
        Ok("cuda") => Device::new_cuda(0)?,
        _ => Device::Cpu,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    println!("model | params | batch | step s (median of {STEPS}) | epoch h | run h");
    for (name, file, train_examples) in [
        ("vit", "vit-cifar10.toml", 50_000usize),
        ("swin", "swin-cifar10.toml", 50_000),
        ("gpt2", "gpt2-imdb.toml", 25_000),
        ("roberta", "roberta-imdb.toml", 25_000),
    ] {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        let cfg = ExperimentConfig::load(Some(&root.join(file)), &[])?;
        let (arch, input) = model_and_batch(&cfg, &device)?;
        let store = ParamStore::new(cfg.train.seed, &device);
        let model = arch.build(store.train_builder(), DropoutRng::new(1))?;
        let mut opt = AdamW::new(store.vars(), cfg.train.weight_decay, cfg.train.grad_clip)?;
        let b = cfg.train.batch_size;
        let labels = Tensor::zeros(b, DType::U32, &device)?;
        let mut times = Vec::new();
        for i in 0..=STEPS {
            let t0 = Instant::now();
            let logits = model.forward(&input, true)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &labels)?;
            let grads = loss.backward()?;
            opt.step(&grads, cfg.train.lr)?;
            device.synchronize()?;
            if i > 0 {
                times.push(t0.elapsed().as_secs_f64());
            }
        }
        let step = ebt::train::median(&times);
        let epoch_h = step * train_examples.div_ceil(b) as f64 / 3600.0;
        println!(
            "{name} | {} | {b} | {step:.2} | {epoch_h:.1} | {:.0}",
            store.num_params(),
            epoch_h * cfg.train.epochs as f64
        );
    }
    Ok(())
}

/// The model of a paper config and one training batch of its shape.
fn model_and_batch(
    cfg: &ExperimentConfig,
    device: &Device,
) -> Result<(ArchConfig, ModelInput), Box<dyn std::error::Error>> {
    let b = cfg.train.batch_size;
    let t = cfg.data.max_length;
    let tokens = |vocab: u32| -> candle_core::Result<ModelInput> {
        let ids: Vec<u32> = (0..b * t).map(|i| (i as u32 * 7919) % vocab).collect();
        Ok(ModelInput::Tokens {
            ids: Tensor::from_vec(ids, (b, t), device)?,
            mask: Tensor::ones((b, t), DType::F32, device)?,
        })
    };
    Ok(match cfg.model.arch.as_str() {
        "gpt2" => {
            // HF's GPT2Config() is GPT-2 small, the `openai-community/gpt2` checkpoint.
            let c = Gpt2Config::default();
            let input = tokens(c.vocab_size as u32)?;
            (ArchConfig::Gpt2(c), input)
        }
        "roberta" => {
            // HF's RobertaConfig() is BERT-base sized; roberta-base has 514 positions, 50,265 tokens.
            let c = RobertaConfig {
                vocab_size: 50_265,
                max_position_embeddings: 514,
                type_vocab_size: 1,
                ..RobertaConfig::default()
            };
            let input = tokens(c.vocab_size as u32)?;
            (ArchConfig::Roberta(c), input)
        }
        arch => {
            let shape = DataShape::Image {
                channels: 3,
                height: 32,
                width: 32,
            };
            let images = Tensor::zeros((b, 3, 32, 32), DType::F32, device)?;
            let c = if arch == "vit" {
                ArchConfig::Vit(VitConfig::from_experiment(&cfg.model, &shape, 10)?)
            } else {
                ArchConfig::Swin(SwinConfig::from_experiment(&cfg.model, &shape, 10)?)
            };
            (c, ModelInput::Images(images))
        }
    })
}

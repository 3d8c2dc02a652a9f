//! A structurally pruned model of every family, saved as `pruned.safetensors` +
//! `pruned_config.json`, reloads to identical logits.

use candle_core::{DType, Device, Tensor};
use ebt::models::{gpt2, roberta, swin, vit, ArchConfig, DropoutRng, ModelInput, ParamStore};
use ebt::prune::surgery::{shrink, StructurePlan};
use ebt::report::{load_pruned, save_pruned};
use ebt::run_dir::RunDir;

fn input(arch: &ArchConfig) -> ModelInput {
    let dev = Device::Cpu;
    if arch.is_vision() {
        let x: Vec<f32> = (0..2 * 64)
            .map(|i| ((i * 37 % 17) as f32 / 8.0) - 1.0)
            .collect();
        ModelInput::Images(Tensor::from_vec(x, (2, 1, 8, 8), &dev).unwrap())
    } else {
        let ids: Vec<u32> = (0..2 * 6).map(|i| (i * 7 % 20) as u32 + 1).collect();
        let mask = vec![1f32, 1., 1., 1., 1., 1., 1., 1., 1., 1., 0., 0.];
        ModelInput::Tokens {
            ids: Tensor::from_vec(ids, (2, 6), &dev).unwrap(),
            mask: Tensor::from_vec(mask, (2, 6), &dev).unwrap(),
        }
    }
}

fn logits(arch: &ArchConfig, store: &ParamStore, x: &ModelInput) -> Vec<f32> {
    let m = arch
        .build(store.eval_builder(), DropoutRng::new(0))
        .unwrap();
    m.forward(x, false)
        .unwrap()
        .to_dtype(DType::F32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn round_trip(arch: ArchConfig) {
    let dev = Device::Cpu;
    let store = ParamStore::new(11, &dev);
    arch.build(store.train_builder(), DropoutRng::new(0))
        .unwrap();
    // Drop the last head and neuron of every block.
    let structure = arch.structure();
    let plan = StructurePlan {
        kept: structure
            .groups
            .iter()
            .map(|g| (0..g.count.saturating_sub(1).max(1)).collect())
            .collect(),
    };
    let (small, tensors) = shrink(&arch, &store.snapshot().unwrap(), &plan).unwrap();
    let small_store = ParamStore::from_tensors(tensors, 0, &dev).unwrap();
    let x = input(&small);
    let before = logits(&small, &small_store, &x);

    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    save_pruned(&run, &small, &small_store).unwrap();
    let (arch2, store2) = load_pruned(dir.path(), &dev).unwrap();
    assert_eq!(arch2, small);
    assert_eq!(store2.num_params(), small_store.num_params());
    assert!(small_store.num_params() < store.num_params());
    assert_eq!(logits(&arch2, &store2, &x), before, "{}", arch.name());
}

#[test]
fn vit_round_trip() {
    round_trip(ArchConfig::Vit(vit::VitConfig::tiny(10)));
}

#[test]
fn swin_round_trip() {
    round_trip(ArchConfig::Swin(swin::SwinConfig::tiny(10)));
}

#[test]
fn gpt2_round_trip() {
    round_trip(ArchConfig::Gpt2(gpt2::Gpt2Config::tiny(32, 3)));
}

#[test]
fn roberta_round_trip() {
    round_trip(ArchConfig::Roberta(roberta::RobertaConfig::tiny(32, 3)));
}

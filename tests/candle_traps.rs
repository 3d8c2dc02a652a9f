//! The candle 0.11 behaviours our models work around (shared/docs/candle-notes.md), pinned so an
//! upgrade that changes them is noticed — and our replacements checked against them.

use candle_core::{Device, Module, Tensor, Var};
use ebt::models::layers::{softmax_last, LayerNorm};

fn input() -> Var {
    Var::from_tensor(
        &Tensor::new(
            &[[0.5f32, -1.0, 2.0, 0.25], [1.5, 0.0, -0.5, 3.0]],
            &Device::Cpu,
        )
        .unwrap(),
    )
    .unwrap()
}

#[test]
fn fused_softmax_has_no_backward_ours_does() {
    let x = input();
    let y = candle_nn::ops::softmax_last_dim(x.as_tensor()).unwrap();
    let w = Tensor::new(&[1f32, 2., 3., 4.], &Device::Cpu).unwrap();
    let loss = y.broadcast_mul(&w).unwrap().sum_all().unwrap();
    let g = loss.backward().unwrap();
    assert!(
        g.get(x.as_tensor()).is_none(),
        "candle's fused softmax now has a backward pass: the workaround can go"
    );

    let ours = softmax_last(x.as_tensor()).unwrap();
    let diff = (ours.clone() - y)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-6);
    let loss = ours.broadcast_mul(&w).unwrap().sum_all().unwrap();
    let g = loss.backward().unwrap();
    let gx = g
        .get(x.as_tensor())
        .expect("our softmax must pass gradients");
    assert!(
        gx.abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            > 0.0
    );
}

#[test]
fn fused_layer_norm_starves_its_input_ours_does_not() {
    let x = input();
    let w = Tensor::ones(4, candle_core::DType::F32, &Device::Cpu).unwrap();
    let b = Tensor::zeros(4, candle_core::DType::F32, &Device::Cpu).unwrap();
    let fused = candle_nn::ops::layer_norm(x.as_tensor(), &w, &b, 1e-5).unwrap();
    let coef = Tensor::new(&[1f32, -2., 3., 0.5], &Device::Cpu).unwrap();
    let g = fused
        .broadcast_mul(&coef)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert!(
        g.get(x.as_tensor()).is_none(),
        "candle's fused layer_norm now has a backward pass"
    );

    let ln = LayerNorm {
        weight: w,
        bias: b,
        eps: 1e-5,
    };
    let ours = ln.forward(x.as_tensor()).unwrap();
    let diff = (ours.clone() - fused)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-4, "{diff}");
    let g = ours
        .broadcast_mul(&coef)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert!(g.get(x.as_tensor()).is_some());
}

#[test]
fn cpu_rng_cannot_be_seeded() {
    assert!(
        Device::Cpu.set_seed(1).is_err(),
        "candle's CPU RNG is seedable now: dropout/init could use it"
    );
}

#[test]
fn our_init_is_seeded_and_hf_scaled() {
    let a = ebt::models::ParamStore::new(5, &Device::Cpu);
    let b = ebt::models::ParamStore::new(5, &Device::Cpu);
    let ta = a
        .train_builder()
        .get_with_hints(
            (64, 64),
            "w",
            candle_nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        )
        .unwrap();
    let tb = b
        .train_builder()
        .get_with_hints(
            (64, 64),
            "w",
            candle_nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        )
        .unwrap();
    let d = (ta.clone() - tb)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(d, 0.0);
    let std = ta
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
        .sqrt();
    assert!((std - 0.02).abs() < 0.002, "{std}");
}

//! From an experiment config and a dataset to a model config of the right family.

use crate::config::ExperimentConfig;
use crate::data::Dataset;
use crate::error::EbtError;
use crate::models::{gpt2, roberta, swin, vit, ArchConfig};

/// Maps `[model]` onto the Hugging Face-shaped config of `model.arch`.
pub fn arch_config(cfg: &ExperimentConfig, data: &Dataset) -> Result<ArchConfig, EbtError> {
    let m = &cfg.model;
    let n = data.num_classes();
    Ok(match m.arch.as_str() {
        "vit" => ArchConfig::Vit(vit::VitConfig::from_experiment(m, &data.shape, n)?),
        "swin" => ArchConfig::Swin(swin::SwinConfig::from_experiment(m, &data.shape, n)?),
        "gpt2" => ArchConfig::Gpt2(gpt2::Gpt2Config::from_experiment(m, &data.shape, n)?),
        "roberta" => {
            ArchConfig::Roberta(roberta::RobertaConfig::from_experiment(m, &data.shape, n)?)
        }
        other => {
            return Err(EbtError::config(format!(
                "model.arch: unknown architecture {other:?}"
            )))
        }
    })
}

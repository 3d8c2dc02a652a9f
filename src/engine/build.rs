//! From an experiment config and a dataset to a model config of the right family, and its
//! starting weights: a seeded init, or a pretrained checkpoint (`model.pretrained`).

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use crate::config::ExperimentConfig;
use crate::data::Dataset;
use crate::error::EbtError;
use crate::models::{gpt2, pretrained, roberta, swin, vit, ArchConfig, ParamStore};

/// The model to train and where its weights start.
pub struct ModelInit {
    pub arch: ArchConfig,
    /// The checkpoint's tensors under our names; `None` trains from a seeded init.
    pub weights: Option<BTreeMap<String, Tensor>>,
    /// What loading the checkpoint adapted (fresh head, dropped tensors), for the user.
    pub notes: Vec<String>,
}

impl ModelInit {
    /// A store holding the starting weights (a copy: training never changes `weights`); a fresh
    /// head and every parameter without a checkpoint value are drawn from `seed`.
    pub fn store(&self, seed: u64, device: &Device) -> Result<ParamStore, EbtError> {
        Ok(match &self.weights {
            Some(w) => ParamStore::from_tensors(w.clone(), seed, device)?,
            None => ParamStore::new(seed, device),
        })
    }
}

/// The model of `[model]`: `model.pretrained`'s checkpoint when set, else a fresh config.
pub fn model_init(cfg: &ExperimentConfig, data: &Dataset) -> Result<ModelInit, EbtError> {
    if cfg.model.pretrained.is_some() {
        let p = pretrained::load(&cfg.model, &data.shape, data.num_classes())?;
        return Ok(ModelInit {
            arch: p.arch,
            weights: Some(p.tensors),
            notes: p.notes,
        });
    }
    Ok(ModelInit {
        arch: arch_config(cfg, data)?,
        weights: None,
        notes: Vec::new(),
    })
}

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

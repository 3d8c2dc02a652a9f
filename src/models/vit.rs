//! PLACEHOLDER: to be written.


use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::{ArchSpec, Classifier, DropoutRng, ModelStructure};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VitConfig {
    pub num_labels: usize,
}

impl VitConfig {
    pub fn from_experiment(
        _m: &crate::config::ModelSection,
        _s: &crate::data::DataShape,
        _n: usize,
    ) -> Result<Self, crate::error::EbtError> {
        todo!()
    }
}

impl ArchSpec for VitConfig {
    fn build(&self, _vb: VarBuilder, _dropout: DropoutRng) -> candle_core::Result<Box<dyn Classifier>> {
        todo!()
    }
    fn structure(&self) -> ModelStructure {
        todo!()
    }
    fn with_units(&self, _heads: &[usize], _neurons: &[usize]) -> Self {
        todo!()
    }
    fn num_labels(&self) -> usize {
        self.num_labels
    }
}

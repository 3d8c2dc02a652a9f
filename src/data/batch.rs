//! Examples in memory and their batching into model inputs. Text batches are padded only to the
//! longest example of the batch (dynamic padding), which is most of the speed on short sentences.

use candle_core::{Device, Result, Tensor};

use super::augment::{batch_seed, Augment};
use super::resize::Resize;
use super::DataShape;
use crate::models::ModelInput;

/// Inputs of a split.
#[derive(Clone, Debug)]
pub enum Features {
    /// Flat `(N, C*H*W)` pixels, normalised.
    Images(Vec<f32>),
    /// One token sequence per example (special tokens included, no padding).
    Tokens(Vec<Vec<u32>>),
    /// Raw texts, as the text loaders return them; `data::load` tokenizes every split once the
    /// split is made, so a tokenizer can be trained on the training texts alone.
    Texts(Vec<String>),
}

/// One split: inputs and labels.
#[derive(Clone, Debug)]
pub struct Examples {
    pub features: Features,
    pub labels: Vec<u32>,
    /// Image augmentation applied to every batch drawn from this split (training splits only).
    pub augment: Option<Augment>,
    /// Resampling of every batch to the model's image size (images are stored at their own).
    pub resize: Option<Resize>,
}

/// One batch on the device.
pub struct Batch {
    pub input: ModelInput,
    /// `(B,)` u32 class indices.
    pub labels: Tensor,
}

impl Examples {
    /// Examples without augmentation.
    pub fn new(features: Features, labels: Vec<u32>) -> Self {
        Examples {
            features,
            labels,
            augment: None,
            resize: None,
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The examples at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Examples {
        let labels = idx.iter().map(|&i| self.labels[i]).collect();
        let features = match &self.features {
            Features::Images(px) => {
                let per = px.len() / self.labels.len().max(1);
                Features::Images(
                    idx.iter()
                        .flat_map(|&i| px[i * per..(i + 1) * per].iter().copied())
                        .collect(),
                )
            }
            Features::Tokens(t) => Features::Tokens(idx.iter().map(|&i| t[i].clone()).collect()),
            Features::Texts(t) => Features::Texts(idx.iter().map(|&i| t[i].clone()).collect()),
        };
        Examples {
            features,
            labels,
            augment: self.augment,
            resize: self.resize,
        }
    }

    /// Builds the batch of examples `idx`.
    pub fn batch(&self, idx: &[usize], shape: &DataShape, device: &Device) -> Result<Batch> {
        let b = idx.len();
        let labels = Tensor::from_vec(
            idx.iter().map(|&i| self.labels[i]).collect::<Vec<u32>>(),
            b,
            device,
        )?;
        let input = match (&self.features, shape) {
            (
                Features::Images(px),
                DataShape::Image {
                    channels,
                    height,
                    width,
                },
            ) => {
                // Stored size; `shape` is what the model sees (they differ when resizing).
                let (h, w) = self.resize.map_or((*height, *width), |r| r.from);
                let per = channels * h * w;
                let mut data = Vec::with_capacity(b * per);
                for &i in idx {
                    data.extend_from_slice(&px[i * per..(i + 1) * per]);
                }
                if let Some(a) = &self.augment {
                    a.apply(&mut data, *channels, h, w, batch_seed(idx));
                }
                if let Some(r) = &self.resize {
                    data = r.apply(&data, *channels);
                }
                ModelInput::Images(Tensor::from_vec(
                    data,
                    (b, *channels, *height, *width),
                    device,
                )?)
            }
            (Features::Tokens(seqs), DataShape::Text { pad_id, .. }) => {
                let t = idx.iter().map(|&i| seqs[i].len()).max().unwrap_or(1).max(1);
                let mut ids = vec![*pad_id; b * t];
                let mut mask = vec![0f32; b * t];
                for (row, &i) in idx.iter().enumerate() {
                    for (j, &tok) in seqs[i].iter().enumerate() {
                        ids[row * t + j] = tok;
                        mask[row * t + j] = 1.0;
                    }
                }
                ModelInput::Tokens {
                    ids: Tensor::from_vec(ids, (b, t), device)?,
                    mask: Tensor::from_vec(mask, (b, t), device)?,
                }
            }
            (Features::Texts(_), _) => {
                candle_core::bail!("texts must be tokenized before batching (data::load does it)")
            }
            _ => candle_core::bail!("the data's features do not match its shape"),
        };
        Ok(Batch { input, labels })
    }
}

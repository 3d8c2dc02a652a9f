//! Mask selection, distances, the early-bird criterion and surgery.
//!
//! The flow during a search, one concept per file:
//! `layout` says which units a mask covers, `score` ranks them by magnitude, `select` picks the
//! pruned ones at a ratio (a pure function, as open_lth's strategies), `mask` stores the result
//! bit-packed, `distance` and `early_bird` compare masks across epochs, `tracker` runs all of
//! that for every ratio, and `apply` / `surgery` turn a chosen mask into masked or smaller
//! tensors.

pub mod apply;
pub mod distance;
pub mod early_bird;
pub mod layout;
pub mod mask;
pub mod score;
pub mod select;
pub mod surgery;
pub mod tracker;

pub use distance::{DistanceKind, DistanceMatrix};
pub use early_bird::EarlyBirdDetector;
pub use layout::{MaskLayout, Segment, Units};
pub use mask::Mask;
pub use select::Scope;
pub use tracker::SearchTracker;

use thiserror::Error;

use crate::error::EbtError;

/// What can go wrong while selecting, comparing or applying masks. Every message names the
/// tensor, segment or value at fault.
#[derive(Debug, Error)]
pub enum PruneError {
    /// Two things that must have the same number of units (masks, scores, segments) do not.
    #[error("{what}: expected {expected} units, found {found}")]
    LengthMismatch {
        what: String,
        expected: usize,
        found: usize,
    },
    /// A pruning ratio outside [0, 1] (or not a number).
    #[error("pruning ratio {0} is not in [0, 1]")]
    BadRatio(f64),
    /// A tensor the structure names is not in the tensor map.
    #[error("structure names tensor {0:?}, which the model does not have")]
    MissingTensor(String),
    /// A mask, layout or setting that does not fit the structure or the call.
    #[error("{0}")]
    Invalid(String),
    /// A tensor operation failed (shape, dtype, device).
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
}

/// Results of this module.
pub type Result<T, E = PruneError> = std::result::Result<T, E>;

/// Lets the engine use `?` on pruning calls; mask errors are reported as model errors since
/// they mean the mask and the model disagree.
impl From<PruneError> for EbtError {
    fn from(e: PruneError) -> Self {
        match e {
            PruneError::Tensor(t) => EbtError::Model(t),
            other => EbtError::Model(candle_core::Error::Msg(format!("pruning: {other}"))),
        }
    }
}

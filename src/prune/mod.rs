//! Mask selection, distances, the early-bird criterion and surgery.

pub mod surgery;

//! Datasets: the embedded defaults (UCI digits, lingua language identification), their seeded
//! stratified splits, and batching into model inputs.

/// What the model needs to know about the examples.
#[derive(Clone, Debug, PartialEq)]
pub enum DataShape {
    Image {
        channels: usize,
        height: usize,
        width: usize,
    },
    Text {
        vocab_size: usize,
        /// Tokens per example (including the start token).
        max_length: usize,
        pad_id: u32,
        /// Start token (`<s>` / CLS); RoBERTa classifies from it.
        bos_id: u32,
        eos_id: u32,
    },
}

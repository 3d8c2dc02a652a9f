//! The UCI / scikit-learn handwritten digits (1,797 8×8 grey images, 10 classes), embedded through
//! smartcore's `datasets` feature: real data that needs no network and no file.

use super::batch::{Examples, Features};
use super::split;
use super::{DataShape, Dataset};
use crate::config::DataSection;
use crate::error::EbtError;

/// Pixel values are 0..=16 in the original; they are scaled to [-1, 1].
pub fn load(section: &DataSection, seed: u64) -> Result<Dataset, EbtError> {
    let raw = smartcore::dataset::digits::load_dataset();
    if raw.num_features != 64 || raw.data.len() != raw.num_samples * 64 {
        return Err(EbtError::data("embedded digits: unexpected shape"));
    }
    let pixels: Vec<f32> = raw.data.iter().map(|&v| v / 8.0 - 1.0).collect();
    let labels: Vec<u32> = raw.target.iter().map(|&y| y as u32).collect();
    if labels.iter().any(|&y| y > 9) {
        return Err(EbtError::data("embedded digits: label out of range 0..9"));
    }
    let all = Examples::new(Features::Images(pixels), labels);
    let (train, test) = split::train_test(all, None, 10, section, seed);
    Ok(Dataset {
        name: "digits".into(),
        shape: DataShape::Image {
            channels: 1,
            height: 8,
            width: 8,
        },
        class_names: (0..10).map(|d| d.to_string()).collect(),
        train,
        test,
        tokenizer: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_real_and_split() {
        let d = load(&DataSection::default(), 1).unwrap();
        assert_eq!(d.train.len() + d.test.len(), 1797);
        assert_eq!(d.num_classes(), 10);
        assert!((355..=365).contains(&d.test.len()), "{}", d.test.len());
        let Features::Images(px) = &d.train.features else {
            panic!()
        };
        assert!(px.iter().all(|v| (-1.0..=1.0).contains(v)));
    }
}

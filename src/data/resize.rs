//! Per-batch resizing of stored images to the side the model needs (`data.image_size` for mnist,
//! cifar10 and digits). Images stay at their native size in memory — CIFAR-10 at 224 pixels would
//! need 30 GB as f32 — and each batch is resampled as it is built, after augmentation, so a
//! pretrained ViT-B/16 or Swin-T sees the 224-pixel inputs it was trained on.

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Luma};

/// Resampling of `(C, H, W)` images to `(C, side, side)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resize {
    /// (height, width) of the stored images.
    pub from: (usize, usize),
    pub side: usize,
    /// Bilinear (`Triangle`) or nearest.
    pub filter: FilterType,
}

impl Resize {
    /// `data.resize`: `nearest`, else bilinear.
    pub fn new(from: (usize, usize), side: usize, method: &str) -> Self {
        let filter = if method == "nearest" {
            FilterType::Nearest
        } else {
            FilterType::Triangle
        };
        Resize { from, side, filter }
    }

    /// `b` images of `channels × from` pixels, flat, to `b × channels × side × side`.
    pub fn apply(&self, pixels: &[f32], channels: usize) -> Vec<f32> {
        let (h, w) = self.from;
        let s = self.side as u32;
        let mut out = Vec::with_capacity(pixels.len() / (h * w) * self.side * self.side);
        for plane in pixels.chunks_exact(h * w) {
            // The image crate clamps f32 pixels to [0, 1]; ours are in [-1, 1].
            let unit: Vec<f32> = plane.iter().map(|v| 0.5 * (v + 1.0)).collect();
            let img: ImageBuffer<Luma<f32>, Vec<f32>> =
                ImageBuffer::from_raw(w as u32, h as u32, unit)
                    .expect("a plane holds exactly h × w pixels");
            let resized = imageops::resize(&img, s, s, self.filter).into_raw();
            out.extend(resized.into_iter().map(|v| 2.0 * v - 1.0));
        }
        debug_assert_eq!(out.len() % (channels * self.side * self.side), 0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_image_stays_constant_and_takes_the_new_size() {
        let r = Resize::new((2, 3), 4, "bilinear");
        let px = [vec![0.5f32; 6], vec![-1.0f32; 6]].concat(); // two channels of one image
        let out = r.apply(&px, 2);
        assert_eq!(out.len(), 2 * 16);
        assert!(out[..16].iter().all(|v| (v - 0.5).abs() < 1e-6));
        assert!(out[16..].iter().all(|v| (v + 1.0).abs() < 1e-6));
    }

    #[test]
    fn nearest_doubling_repeats_each_pixel() {
        let r = Resize::new((2, 2), 4, "nearest");
        let out = r.apply(&[-1.0, -0.5, 0.5, 1.0], 1);
        assert_eq!(
            out,
            vec![
                -1.0, -1.0, -0.5, -0.5, -1.0, -1.0, -0.5, -0.5, 0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 1.0,
                1.0
            ]
        );
    }
}

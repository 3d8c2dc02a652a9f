//! Standard CIFAR augmentation at batch time, for training images only: a random crop of the image
//! padded by `pad` pixels on every side, then a horizontal flip with probability 1/2. Done per
//! batch (not once at load) so every epoch sees new crops.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Value of the padding: black, i.e. the lowest normalised pixel (torchvision pads before
/// normalising, with zeros).
const PAD_VALUE: f32 = -1.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Augment {
    /// Pixels of padding around the image before the crop (0 = no crop).
    pub pad: usize,
    pub flip: bool,
}

impl Augment {
    /// `RandomCrop(size, padding=4)` + `RandomHorizontalFlip()`.
    pub const CROP_FLIP: Augment = Augment { pad: 4, flip: true };

    /// Transforms a batch of `(B, C, H, W)` pixels in place; `seed` picks every crop and flip.
    pub fn apply(&self, data: &mut [f32], channels: usize, height: usize, width: usize, seed: u64) {
        let per = channels * height * width;
        if per == 0 {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut src = vec![0f32; per];
        for img in data.chunks_exact_mut(per) {
            let dy = rng.random_range(0..=2 * self.pad) as isize - self.pad as isize;
            let dx = rng.random_range(0..=2 * self.pad) as isize - self.pad as isize;
            let flip = self.flip && rng.random_bool(0.5);
            if dy == 0 && dx == 0 && !flip {
                continue;
            }
            src.copy_from_slice(img);
            for c in 0..channels {
                for y in 0..height {
                    let sy = y as isize + dy;
                    for x in 0..width {
                        // The flip mirrors the cropped window, so it reads the source from the right.
                        let cx = if flip { width - 1 - x } else { x };
                        let sx = cx as isize + dx;
                        img[(c * height + y) * width + x] = if (0..height as isize).contains(&sy)
                            && (0..width as isize).contains(&sx)
                        {
                            src[(c * height + sy as usize) * width + sx as usize]
                        } else {
                            PAD_VALUE
                        };
                    }
                }
            }
        }
    }
}

/// A seed for one batch. The batch's indices come from the epoch's seeded shuffle, so hashing them
/// ties the augmentation to the epoch seed (same run, same crops) without the trainer passing one.
pub fn batch_seed(idx: &[usize]) -> u64 {
    // FNV-1a over the indices, then a SplitMix64 finaliser to spread nearby index sets apart.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &i in idx {
        h ^= i as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×2×3 image with distinct pixels.
    fn image() -> Vec<f32> {
        vec![0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    }

    #[test]
    fn flip_only_mirrors_rows() {
        let a = Augment { pad: 0, flip: true };
        // Find a seed that flips and one that does not; both outcomes must be exact.
        let mut seen = [false, false];
        for seed in 0..32 {
            let mut px = image();
            a.apply(&mut px, 1, 2, 3, seed);
            if px == image() {
                seen[0] = true;
            } else {
                assert_eq!(px, vec![0.2, 0.1, 0.0, 0.5, 0.4, 0.3]);
                seen[1] = true;
            }
        }
        assert_eq!(seen, [true, true]);
    }

    #[test]
    fn crop_shifts_and_pads_with_black() {
        let a = Augment {
            pad: 1,
            flip: false,
        };
        let mut shifted = 0;
        for seed in 0..64 {
            let mut px = image();
            a.apply(&mut px, 1, 2, 3, seed);
            // Every output pixel is either a source pixel or the pad value.
            assert!(px.iter().all(|v| image().contains(v) || *v == PAD_VALUE));
            if px != image() {
                shifted += 1;
                assert!(px.contains(&PAD_VALUE), "{px:?}");
            }
        }
        // 8 of the 9 offsets move the image.
        assert!(shifted > 40, "{shifted}");
    }

    #[test]
    fn same_seed_same_batch_and_seeds_differ_by_indices() {
        let a = Augment::CROP_FLIP;
        let base: Vec<f32> = (0..2 * 3 * 8 * 8).map(|i| i as f32 / 384.0).collect();
        let (mut x, mut y) = (base.clone(), base.clone());
        a.apply(&mut x, 3, 8, 8, batch_seed(&[4, 1, 7]));
        a.apply(&mut y, 3, 8, 8, batch_seed(&[4, 1, 7]));
        assert_eq!(x, y);
        assert_ne!(batch_seed(&[4, 1, 7]), batch_seed(&[4, 7, 1]));
        assert_ne!(batch_seed(&[0]), batch_seed(&[1]));
    }
}

//! Seeded stratified train/test split: each class contributes the same fraction to the test set,
//! so small classes are never missing from evaluation.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::batch::Examples;
use crate::config::DataSection;

/// The train and test splits of a source: its own test set when it has one (each capped by
/// `data.max_per_class`), else a stratified, seeded hold-out of `data.test_fraction` of the pool
/// (capped before the split, so the cap bounds the whole class).
pub fn train_test(
    pool: Examples,
    test: Option<Examples>,
    num_classes: usize,
    section: &DataSection,
    seed: u64,
) -> (Examples, Examples) {
    let pool = cap_per_class(pool, num_classes, section.max_per_class);
    match test {
        Some(test) => (
            pool,
            cap_per_class(test, num_classes, section.max_per_class),
        ),
        None => {
            let (tr, te) = stratified(&pool.labels, num_classes, section.test_fraction, seed);
            (pool.subset(&tr), pool.subset(&te))
        }
    }
}

/// Keeps the first `cap` examples of each class (0 = all).
pub(crate) fn cap_per_class(all: Examples, num_classes: usize, cap: usize) -> Examples {
    if cap == 0 {
        return all;
    }
    let mut seen = vec![0usize; num_classes];
    let idx: Vec<usize> = (0..all.len())
        .filter(|&i| {
            let c = all.labels[i] as usize;
            seen[c] += 1;
            seen[c] <= cap
        })
        .collect();
    all.subset(&idx)
}

/// Returns (train indices, test indices), each sorted, for `labels` with `num_classes` classes.
pub fn stratified(
    labels: &[u32],
    num_classes: usize,
    test_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ SPLIT_SALT);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for c in 0..num_classes as u32 {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        idx.shuffle(&mut rng);
        let n_test = ((idx.len() as f64) * test_fraction).round() as usize;
        // Keep at least one training example of every class that has two or more.
        let n_test = n_test.min(idx.len().saturating_sub(1));
        test.extend_from_slice(&idx[..n_test]);
        train.extend_from_slice(&idx[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// A fixed salt so the split stream differs from the init stream of the same seed.
const SPLIT_SALT: u64 = 0x5eed_5011;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_is_per_class_and_seeded() {
        let labels: Vec<u32> = (0..100).map(|i| (i % 4) as u32).collect();
        let (tr, te) = stratified(&labels, 4, 0.2, 7);
        assert_eq!(te.len(), 20);
        assert_eq!(tr.len() + te.len(), 100);
        for c in 0..4 {
            assert_eq!(te.iter().filter(|&&i| labels[i] == c).count(), 5);
        }
        assert_eq!(stratified(&labels, 4, 0.2, 7), (tr.clone(), te.clone()));
        assert_ne!(stratified(&labels, 4, 0.2, 8).1, te);
    }
}

//! Choosing the pruned units: a pure function of scores, ratio and scope (open_lth's
//! `sparse_global` shape), kept apart from applying the mask (Torch-Pruning's split), plus the
//! random mask with exactly the same counts that serves as the control of the comparison.

use std::str::FromStr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::layout::MaskLayout;
use super::mask::Mask;
use super::{PruneError, Result};

/// Which units compete with each other for survival.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// All units of a pool are ranked together (You et al. 2020): a block may lose most of its
    /// units if they are all small.
    Global,
    /// Each segment (weight matrix, or one block's heads / neurons) loses the same fraction.
    Layer,
}

impl FromStr for Scope {
    type Err = PruneError;

    /// Parses `prune.scope`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "global" => Ok(Scope::Global),
            "layer" => Ok(Scope::Layer),
            other => Err(PruneError::Invalid(format!(
                "prune.scope: {other:?} (expected global or layer)"
            ))),
        }
    }
}

/// The mask that prunes the `round(ratio * n)` lowest-scored units of each ranking group (a
/// pool under `Global`, a segment under `Layer`), ties broken by the lower bit index first, so
/// the result is a pure function of its arguments.
///
/// No segment keeps fewer than `min_keep_per_segment` units (structured pruning uses 1: every
/// block keeps a head and a neuron): a unit whose segment is at that floor is skipped and the
/// next-lowest unit elsewhere in the group is pruned instead, so the total stays
/// `round(ratio * n)` unless the floors make that impossible (then as many as they allow).
///
/// `scores[s]` holds one score per unit of `layout.segments[s]`; NaN scores rank by
/// `f32::total_cmp` (above +inf), so they are pruned last.
pub fn select(
    layout: &MaskLayout,
    scores: &[Vec<f32>],
    ratio: f64,
    scope: Scope,
    min_keep_per_segment: usize,
) -> Result<Mask> {
    if !(0.0..=1.0).contains(&ratio) {
        return Err(PruneError::BadRatio(ratio));
    }
    if scores.len() != layout.segments.len() {
        return Err(PruneError::LengthMismatch {
            what: "score vectors for the layout's segments".into(),
            expected: layout.segments.len(),
            found: scores.len(),
        });
    }
    for (i, (seg, sc)) in layout.segments.iter().zip(scores).enumerate() {
        if sc.len() != seg.len {
            return Err(PruneError::LengthMismatch {
                what: format!("scores of segment {i} (layer {})", seg.layer),
                expected: seg.len,
                found: sc.len(),
            });
        }
    }
    if u32::try_from(layout.len()).is_err() {
        return Err(PruneError::Invalid(format!(
            "a mask of {} units exceeds the 2^32 units selection can index",
            layout.len()
        )));
    }

    let groups: Vec<Vec<usize>> = match scope {
        Scope::Layer => (0..layout.segments.len()).map(|s| vec![s]).collect(),
        Scope::Global => {
            let mut pools: Vec<usize> = layout.segments.iter().map(|s| s.pool).collect();
            pools.sort_unstable();
            pools.dedup();
            pools
                .iter()
                .map(|&p| {
                    let in_pool = |s: &usize| layout.segments[*s].pool == p;
                    (0..layout.segments.len()).filter(in_pool).collect()
                })
                .collect()
        }
    };

    let mut mask = Mask::all_kept(layout.len());
    for segs in groups {
        for unit in prune_in_group(layout, scores, &segs, ratio, min_keep_per_segment) {
            mask.prune(unit);
        }
    }
    Ok(mask)
}

/// A mask from seeded uniform random scores through the same `select`: the same number of
/// pruned units per pool (and per segment under `Layer`) as the magnitude mask, only which units
/// differs. The same seed gives the same mask.
pub fn random_mask(
    layout: &MaskLayout,
    ratio: f64,
    scope: Scope,
    min_keep_per_segment: usize,
    seed: u64,
) -> Result<Mask> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let scores: Vec<Vec<f32>> = layout
        .segments
        .iter()
        .map(|s| (0..s.len).map(|_| rng.random::<f32>()).collect())
        .collect();
    select(layout, &scores, ratio, scope, min_keep_per_segment)
}

/// Bit indices of the pruned units of one ranking group (the segments `segs`).
///
/// Walking all units in ascending (score, index) order and skipping those whose segment is at
/// its floor prunes, in every segment, only units below its `min_keep` best; so the result is the
/// k lowest among the units that are not their segment's `min_keep` best. That is computed with
/// two linear-time `select_nth_unstable` calls instead of a sort.
fn prune_in_group(
    layout: &MaskLayout,
    scores: &[Vec<f32>],
    segs: &[usize],
    ratio: f64,
    min_keep: usize,
) -> Vec<usize> {
    let n: usize = segs.iter().map(|&s| layout.segments[s].len).sum();
    let mut eligible: Vec<u64> = Vec::with_capacity(n);
    for &s in segs {
        let seg = &layout.segments[s];
        let mut keys: Vec<u64> = scores[s]
            .iter()
            .enumerate()
            .map(|(u, &x)| rank_key(x, seg.start + u))
            .collect();
        let cap = seg.len.saturating_sub(min_keep);
        if cap < keys.len() {
            if cap > 0 {
                keys.select_nth_unstable(cap - 1);
            }
            keys.truncate(cap);
        }
        eligible.extend(keys);
    }
    let k = ((ratio * n as f64).round() as usize).min(eligible.len());
    if k == 0 {
        return vec![];
    }
    if k < eligible.len() {
        eligible.select_nth_unstable(k - 1);
    }
    eligible[..k]
        .iter()
        .map(|&key| (key & 0xFFFF_FFFF) as usize)
        .collect()
}

/// A `u64` whose order is (score by `f32::total_cmp`, then bit index): the score's bits mapped
/// to an order-preserving `u32` in the high half, the index (< 2^32, checked) in the low half.
fn rank_key(score: f32, index: usize) -> u64 {
    let b = score.to_bits();
    let ordered = if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    };
    (u64::from(ordered) << 32) | index as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_key_orders_like_total_cmp() {
        let xs = [
            f32::NEG_INFINITY,
            -2.5,
            -0.0,
            0.0,
            1e-30,
            1.0,
            3.0,
            f32::INFINITY,
            f32::NAN,
        ];
        for w in xs.windows(2) {
            assert!(rank_key(w[0], 5) < rank_key(w[1], 0), "{} < {}", w[0], w[1]);
        }
        assert!(rank_key(1.0, 3) < rank_key(1.0, 4));
    }

    #[test]
    fn scope_parses_config_words() {
        assert_eq!("global".parse::<Scope>().unwrap(), Scope::Global);
        assert_eq!("layer".parse::<Scope>().unwrap(), Scope::Layer);
        let e = "blocks".parse::<Scope>().unwrap_err().to_string();
        assert!(e.contains("prune.scope") && e.contains("blocks"), "{e}");
    }
}

//! Learning-rate schedule: linear warmup to the peak, then cosine / linear decay to zero, or constant.

/// A schedule over a fixed number of optimiser steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub peak: f64,
    pub total_steps: usize,
    pub warmup_steps: usize,
    pub kind: String,
}

impl Schedule {
    pub fn new(peak: f64, total_steps: usize, warmup_fraction: f64, kind: &str) -> Self {
        Self {
            peak,
            total_steps: total_steps.max(1),
            warmup_steps: ((total_steps as f64) * warmup_fraction).round() as usize,
            kind: kind.to_string(),
        }
    }

    /// Learning rate of step `step` (0-based).
    pub fn lr(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.peak * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let decay_steps = (self.total_steps - self.warmup_steps).max(1) as f64;
        let t = ((step - self.warmup_steps) as f64 / decay_steps).min(1.0);
        match self.kind.as_str() {
            "linear" => self.peak * (1.0 - t),
            "constant" => self.peak,
            _ => self.peak * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        let s = Schedule::new(1.0, 100, 0.1, "cosine");
        assert!((s.lr(0) - 0.1).abs() < 1e-12);
        assert!((s.lr(9) - 1.0).abs() < 1e-12);
        assert!((s.lr(10) - 1.0).abs() < 1e-12);
        assert!((s.lr(55) - 0.5).abs() < 1e-9);
        assert!(s.lr(99) < 0.01);
        let l = Schedule::new(2.0, 10, 0.0, "linear");
        assert!((l.lr(5) - 1.0).abs() < 1e-12);
    }
}

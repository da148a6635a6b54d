//! Running observation normaliser: per-feature mean and variance merged batch by batch with
//! the parallel form of Welford's algorithm (Chan, Golub & LeVeque 1979), frozen for
//! evaluation, serialisable into checkpoints.

use serde::{Deserialize, Serialize};

/// Per-feature running mean and variance of the observations seen so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunningNorm {
    /// Observations merged so far (a float so that merges need no casts).
    pub count: f64,
    /// Per-feature mean, in observation units.
    pub mean: Vec<f64>,
    /// Per-feature sum of squared deviations from the mean (`var = m2 / count`).
    pub m2: Vec<f64>,
    /// When true, [`RunningNorm::update`] does nothing (evaluation, deployment).
    pub frozen: bool,
    /// Normalised values are clipped to `[-clip, clip]` standard deviations.
    pub clip: f64,
    /// Added to the variance before the square root, in squared observation units.
    pub epsilon: f64,
}

impl RunningNorm {
    /// An empty normaliser for `dim` features; until data arrives it maps `x` to
    /// `x / sqrt(1 + epsilon)` (mean 0, variance 1).
    pub fn new(dim: usize, clip: f64, epsilon: f64) -> Self {
        Self {
            count: 0.0,
            mean: vec![0.0; dim],
            m2: vec![0.0; dim],
            frozen: false,
            clip,
            epsilon,
        }
    }

    /// Number of features.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Population variance per feature (1 before any data).
    pub fn var(&self) -> Vec<f64> {
        if self.count == 0.0 {
            return vec![1.0; self.dim()];
        }
        self.m2.iter().map(|m| m / self.count).collect()
    }

    /// Merges a batch of rows, row-major `[rows, dim]`, unless frozen.
    ///
    /// # Panics
    /// If the batch length is not a multiple of the feature count.
    pub fn update(&mut self, batch: &[f32]) {
        let dim = self.dim();
        assert_eq!(batch.len() % dim, 0, "batch is not [rows, {dim}]");
        if self.frozen || batch.is_empty() {
            return;
        }
        let n_b = (batch.len() / dim) as f64;
        let mut mean_b = vec![0.0f64; dim];
        for row in batch.chunks(dim) {
            for (m, &x) in mean_b.iter_mut().zip(row) {
                *m += f64::from(x);
            }
        }
        mean_b.iter_mut().for_each(|m| *m /= n_b);
        let mut m2_b = vec![0.0f64; dim];
        for row in batch.chunks(dim) {
            for ((s, &x), m) in m2_b.iter_mut().zip(row).zip(&mean_b) {
                let d = f64::from(x) - m;
                *s += d * d;
            }
        }
        let n_a = self.count;
        let n = n_a + n_b;
        for j in 0..dim {
            let delta = mean_b[j] - self.mean[j];
            self.mean[j] += delta * n_b / n;
            self.m2[j] += m2_b[j] + delta * delta * n_a * n_b / n;
        }
        self.count = n;
    }

    /// Normalises rows, row-major `[rows, dim]`: `(x - mean) / sqrt(var + epsilon)`, clipped.
    pub fn normalize(&self, batch: &[f32]) -> Vec<f32> {
        let dim = self.dim();
        let scale: Vec<f64> = self
            .var()
            .iter()
            .map(|v| 1.0 / (v + self.epsilon).sqrt())
            .collect();
        batch
            .iter()
            .enumerate()
            .map(|(k, &x)| {
                let j = k % dim;
                ((f64::from(x) - self.mean[j]) * scale[j]).clamp(-self.clip, self.clip) as f32
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_batches_match_whole_batch_statistics() {
        let data: Vec<f32> = (0..300)
            .map(|i| ((i * 37 % 101) as f32) * 0.3 - 4.0 + (i % 3) as f32)
            .collect();
        let mut norm = RunningNorm::new(3, 10.0, 1e-8);
        for chunk in [&data[..30], &data[30..33], &data[33..210], &data[210..]] {
            norm.update(chunk);
        }
        for j in 0..3 {
            let col: Vec<f64> = data
                .iter()
                .skip(j)
                .step_by(3)
                .map(|&x| f64::from(x))
                .collect();
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / col.len() as f64;
            assert!((norm.mean[j] - mean).abs() < 1e-9, "mean {j}");
            assert!((norm.var()[j] - var).abs() < 1e-9, "var {j}");
        }
        assert_eq!(norm.count, 100.0);
    }

    #[test]
    fn frozen_ignores_updates_and_normalize_clips() {
        let mut norm = RunningNorm::new(1, 2.0, 0.0);
        norm.update(&[1.0, 3.0]);
        norm.frozen = true;
        norm.update(&[100.0]);
        assert_eq!(norm.mean, [2.0]);
        assert_eq!(norm.normalize(&[3.0, 100.0]), [1.0, 2.0]);
        let json = serde_json::to_string(&norm).unwrap();
        assert_eq!(serde_json::from_str::<RunningNorm>(&json).unwrap(), norm);
    }
}

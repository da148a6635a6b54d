//! The tree-ensemble predictor: random forests (smartcore's `RandomForestRegressor`, pure Rust,
//! seeded) of the window's value and of whether the customer buys in it.
//!
//! Why smartcore: it is maintained, pure Rust (no C++ toolchain or system library), seeds every
//! tree, and builds in seconds. The gradient-boosting crates tried first (`perpetual`) need a
//! nightly compiler; linfa has single trees only. smartcore fits one tree at a time, so the
//! forest is grown as [`ForestConfig::groups`] sub-forests in parallel (each its own seed) and
//! their predictions averaged, which keeps results identical for any thread count.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;

use super::PredictError;

/// Settings of the forests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForestConfig {
    /// Trees per sub-forest. Default 12.
    pub trees: usize,
    /// Sub-forests grown in parallel and averaged. Default 4 (48 trees in all).
    pub groups: usize,
    /// Deepest split level. Default 10.
    pub max_depth: u16,
    /// Fewest training customers in a leaf. Default 20.
    pub min_leaf: usize,
    /// Most training customers the forests see (the first ones of the training split); the
    /// exact splitter's cost grows with them. Default 20,000.
    pub max_rows: usize,
}

impl Default for ForestConfig {
    fn default() -> Self {
        Self {
            trees: 12,
            groups: 4,
            max_depth: 10,
            min_leaf: 20,
            max_rows: 20_000,
        }
    }
}

impl ForestConfig {
    /// Checks every field, naming the offending one.
    pub fn validate(&self) -> Result<(), PredictError> {
        let bad =
            |field: &str, why: &str| Err(PredictError::Config(format!("forest.{field} {why}")));
        if !(1..=1000).contains(&self.trees) {
            return bad("trees", "must be in 1..=1000");
        }
        if !(1..=64).contains(&self.groups) {
            return bad("groups", "must be in 1..=64");
        }
        if !(1..=64).contains(&self.max_depth) {
            return bad("max_depth", "must be in 1..=64");
        }
        if self.min_leaf == 0 {
            return bad("min_leaf", "must be at least 1");
        }
        if self.max_rows < 10 {
            return bad("max_rows", "must be at least 10");
        }
        Ok(())
    }
}

type Forest = RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

/// A forest regressor of one outcome on row-major features.
pub struct ForestRegressor {
    forests: Vec<Forest>,
    dim: usize,
}

/// Rows predicted per parallel task.
const PREDICT_CHUNK: usize = 4096;

fn matrix(features: &[f32], dim: usize) -> Result<DenseMatrix<f64>, PredictError> {
    let rows = features.len() / dim.max(1);
    let values: Vec<f64> = features.iter().map(|v| f64::from(*v)).collect();
    DenseMatrix::new(rows, dim, values, false).map_err(|e| PredictError::Model(e.to_string()))
}

impl ForestRegressor {
    /// Fits `cfg.groups` forests of `outcome` on the first `cfg.max_rows` rows of `features`
    /// (`dim` columns, row-major), seeded from `seed`.
    pub fn fit(
        features: &[f32],
        dim: usize,
        outcome: &[f64],
        cfg: &ForestConfig,
        seed: u64,
    ) -> Result<Self, PredictError> {
        let rows = outcome.len().min(cfg.max_rows);
        if rows == 0 || dim == 0 {
            return Err(PredictError::Model(
                "no training customers for the forest".into(),
            ));
        }
        let x = matrix(&features[..rows * dim], dim)?;
        let y = outcome[..rows].to_vec();
        let m = ((dim as f64).sqrt().ceil() as usize).max(1);
        let forests = (0..cfg.groups)
            .into_par_iter()
            .map(|g| {
                let params = RandomForestRegressorParameters::default()
                    .with_n_trees(cfg.trees)
                    .with_max_depth(cfg.max_depth)
                    .with_min_samples_leaf(cfg.min_leaf)
                    .with_min_samples_split(2 * cfg.min_leaf)
                    .with_m(m)
                    .with_seed(seed.wrapping_mul(1_000_003).wrapping_add(g as u64));
                Forest::fit(&x, &y, params).map_err(|e| PredictError::Model(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { forests, dim })
    }

    /// Predictions for every row of `features`.
    pub fn predict(&self, features: &[f32]) -> Result<Vec<f64>, PredictError> {
        let chunks: Vec<Vec<f64>> = features
            .par_chunks(PREDICT_CHUNK * self.dim)
            .map(|rows| {
                let x = matrix(rows, self.dim)?;
                let mut sum = vec![0.0; rows.len() / self.dim];
                for f in &self.forests {
                    let p = f
                        .predict(&x)
                        .map_err(|e| PredictError::Model(e.to_string()))?;
                    for (s, v) in sum.iter_mut().zip(p) {
                        *s += v;
                    }
                }
                let k = self.forests.len() as f64;
                Ok(sum.into_iter().map(|s| s / k).collect())
            })
            .collect::<Result<_, PredictError>>()?;
        Ok(chunks.concat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forest_learns_a_step_and_is_thread_invariant() {
        let n = 3000;
        let features: Vec<f32> = (0..n)
            .flat_map(|i| [((i * 37) % 100) as f32, ((i * 11) % 7) as f32])
            .collect();
        let y: Vec<f64> = (0..n)
            .map(|i| if (i * 37) % 100 >= 50 { 10.0 } else { 1.0 })
            .collect();
        let cfg = ForestConfig::default();
        let f = ForestRegressor::fit(&features, 2, &y, &cfg, 7).unwrap();
        let p = f.predict(&[80.0, 3.0, 20.0, 3.0]).unwrap();
        assert!(
            (p[0] - 10.0).abs() < 0.5 && (p[1] - 1.0).abs() < 0.5,
            "{p:?}"
        );
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let again = one.install(|| ForestRegressor::fit(&features, 2, &y, &cfg, 7).unwrap());
        assert_eq!(
            again.predict(&features).unwrap(),
            f.predict(&features).unwrap()
        );
    }
}

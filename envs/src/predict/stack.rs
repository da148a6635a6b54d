//! Fusing predictors (stacking): a linear model of the realised value on the predictors'
//! values, and a logistic model of churn on the predictors' log-odds, both fitted on
//! validation customers only, never on the customers they are judged on.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Probabilities are kept this far from 0 and 1 before taking log-odds.
pub const PROB_CLAMP: f64 = 1e-6;
/// Step of the grid of weights (on the simplex) the rank stack searches.
pub const RANK_STACK_GRID_STEP: f64 = 0.1;

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None` when singular.
pub fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|i, j| a[*i][col].abs().total_cmp(&a[*j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (top, below) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for (k, row) in below.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[col + 1 + k] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// A linear stack: `intercept + sum_k weights[k] * input_k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearStack {
    /// Intercept (units of the outcome).
    pub intercept: f64,
    /// One weight per input.
    pub weights: Vec<f64>,
}

impl LinearStack {
    /// Least squares with a ridge penalty `ridge` on the weights (inputs standardised
    /// internally, so the penalty is scale-free). `inputs[k][i]` is input k of customer i.
    pub fn fit(inputs: &[Vec<f64>], outcome: &[f64], ridge: f64) -> Option<Self> {
        let n = outcome.len() as f64;
        let (means, sds) = moments(inputs);
        let z: Vec<Vec<f64>> = standardise(inputs, &means, &sds);
        let k = z.len();
        let my = outcome.iter().sum::<f64>() / n.max(1.0);
        let mut a = vec![vec![0.0; k]; k];
        let mut b = vec![0.0; k];
        for i in 0..k {
            for j in 0..k {
                a[i][j] = z[i].iter().zip(&z[j]).map(|(p, q)| p * q).sum::<f64>();
            }
            a[i][i] += ridge * n;
            b[i] = z[i].iter().zip(outcome).map(|(p, y)| p * (y - my)).sum();
        }
        let beta = solve(a, b)?;
        let weights: Vec<f64> = beta.iter().zip(&sds).map(|(w, s)| w / s).collect();
        let intercept = my - weights.iter().zip(&means).map(|(w, m)| w * m).sum::<f64>();
        Some(Self { intercept, weights })
    }

    /// The stacked value of customer `i`.
    pub fn predict(&self, inputs: &[Vec<f64>], i: usize) -> f64 {
        self.intercept
            + self
                .weights
                .iter()
                .zip(inputs)
                .map(|(w, x)| w * x[i])
                .sum::<f64>()
    }
}

/// A logistic stack: `sigmoid(intercept + sum_k weights[k] * logit(p_k))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticStack {
    /// Intercept, log-odds.
    pub intercept: f64,
    /// One weight per input probability's log-odds.
    pub weights: Vec<f64>,
}

/// Log-odds of a probability clamped to [`PROB_CLAMP`] .. 1 - [`PROB_CLAMP`].
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(PROB_CLAMP, 1.0 - PROB_CLAMP);
    (p / (1.0 - p)).ln()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl LogisticStack {
    /// Maximum likelihood by Newton's method (at most `iterations` steps) with a ridge penalty
    /// `ridge` per customer on the weights. `probs[k][i]` is predictor k's probability for
    /// customer i.
    pub fn fit(probs: &[Vec<f64>], label: &[bool], ridge: f64, iterations: usize) -> Option<Self> {
        let n = label.len();
        let k = probs.len() + 1;
        let row = |i: usize| -> Vec<f64> {
            std::iter::once(1.0)
                .chain(probs.iter().map(|p| logit(p[i])))
                .collect()
        };
        let rows: Vec<Vec<f64>> = (0..n).into_par_iter().map(row).collect();
        let mut beta = vec![0.0; k];
        for _ in 0..iterations {
            let mut h = vec![vec![0.0; k]; k];
            let mut g = vec![0.0; k];
            for (x, y) in rows.iter().zip(label) {
                let z: f64 = x.iter().zip(&beta).map(|(a, b)| a * b).sum();
                let p = sigmoid(z);
                let w = (p * (1.0 - p)).max(1e-12);
                let r = f64::from(u8::from(*y)) - p;
                for a in 0..k {
                    g[a] += x[a] * r;
                    for b in 0..k {
                        h[a][b] += w * x[a] * x[b];
                    }
                }
            }
            for a in 1..k {
                h[a][a] += ridge * n as f64;
                g[a] -= ridge * n as f64 * beta[a];
            }
            let step = solve(h, g)?;
            for (b, s) in beta.iter_mut().zip(&step) {
                *b += s;
            }
            if step.iter().map(|s| s.abs()).fold(0.0, f64::max) < 1e-9 {
                break;
            }
        }
        Some(Self {
            intercept: beta[0],
            weights: beta[1..].to_vec(),
        })
    }

    /// The stacked probability of customer `i`.
    pub fn predict(&self, probs: &[Vec<f64>], i: usize) -> f64 {
        sigmoid(
            self.intercept
                + self
                    .weights
                    .iter()
                    .zip(probs)
                    .map(|(w, p)| w * logit(p[i]))
                    .sum::<f64>(),
        )
    }
}

/// A ranking stack for heavy-tailed values: the score z = exp(sum_k w_k ln(1 + max(p_k, 0))) - 1
/// (a weighted geometric mean in dollars, so one predictor's outliers cannot dominate), with
/// weights w on the simplex chosen on validation customers for the highest Spearman
/// correlation with the realised value, then put on the dollar scale by least squares
/// (`intercept + slope * z`, slope kept positive so the order is the score's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankStack {
    /// Weight of each input in the score (non-negative, summing to 1).
    pub weights: Vec<f64>,
    /// Dollar calibration intercept.
    pub intercept: f64,
    /// Dollar calibration slope (> 0).
    pub slope: f64,
    /// Spearman correlation of the chosen score on the validation customers.
    pub valid_spearman: f64,
}

/// Every weight vector of `k` non-negative multiples of 1/`steps` summing to 1.
fn simplex_grid(k: usize, steps: usize) -> Vec<Vec<f64>> {
    if k == 1 {
        return vec![vec![1.0]];
    }
    let mut out = vec![];
    for first in 0..=steps {
        for mut rest in simplex_grid(k - 1, steps - first) {
            let scale = (steps - first) as f64 / steps as f64;
            for r in &mut rest {
                *r *= scale;
            }
            let mut w = vec![first as f64 / steps as f64];
            w.extend(rest);
            out.push(w);
        }
    }
    out
}

impl RankStack {
    fn score(weights: &[f64], logs: &[Vec<f64>], i: usize) -> f64 {
        weights
            .iter()
            .zip(logs)
            .map(|(w, l)| w * l[i])
            .sum::<f64>()
            .exp()
            - 1.0
    }

    fn logs(inputs: &[Vec<f64>]) -> Vec<Vec<f64>> {
        inputs
            .iter()
            .map(|x| x.iter().map(|v| v.max(0.0).ln_1p()).collect())
            .collect()
    }

    /// Chooses the weights on validation customers (`inputs[k][i]`, `outcome[i]`).
    pub fn fit(inputs: &[Vec<f64>], outcome: &[f64]) -> Option<Self> {
        if inputs.is_empty() || outcome.is_empty() {
            return None;
        }
        let logs = Self::logs(inputs);
        let steps = (1.0 / RANK_STACK_GRID_STEP).round() as usize;
        let grid = simplex_grid(inputs.len(), steps);
        let n = outcome.len();
        let scored: Vec<(f64, usize)> = grid
            .par_iter()
            .enumerate()
            .map(|(g, w)| {
                let z: Vec<f64> = (0..n).map(|i| Self::score(w, &logs, i)).collect();
                (super::metrics::spearman(&z, outcome), g)
            })
            .collect();
        let (valid_spearman, best) = scored
            .into_iter()
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))?;
        let weights = grid[best].clone();
        let z: Vec<f64> = (0..n).map(|i| Self::score(&weights, &logs, i)).collect();
        let line = LinearStack::fit(&[z], outcome, 0.0)?;
        let slope = line.weights[0].max(f64::MIN_POSITIVE);
        Some(Self {
            weights,
            intercept: line.intercept,
            slope,
            valid_spearman,
        })
    }

    /// The fused values of every customer of `inputs`, dollars.
    pub fn predict(&self, inputs: &[Vec<f64>]) -> Vec<f64> {
        let logs = Self::logs(inputs);
        let n = inputs.first().map_or(0, |x| x.len());
        (0..n)
            .map(|i| self.intercept + self.slope * Self::score(&self.weights, &logs, i))
            .collect()
    }
}

fn moments(inputs: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    inputs
        .iter()
        .map(|x| {
            let n = x.len().max(1) as f64;
            let m = x.iter().sum::<f64>() / n;
            let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
            (m, v.sqrt().max(1e-12))
        })
        .unzip()
}

fn standardise(inputs: &[Vec<f64>], means: &[f64], sds: &[f64]) -> Vec<Vec<f64>> {
    inputs
        .iter()
        .zip(means.iter().zip(sds))
        .map(|(x, (m, s))| x.iter().map(|v| (v - m) / s).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_stack_recovers_known_weights() {
        let a: Vec<f64> = (0..200).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..200).map(|i| (i as f64 * 0.11).cos() * 3.0).collect();
        let y: Vec<f64> = a
            .iter()
            .zip(&b)
            .map(|(a, b)| 2.0 + 0.5 * a + 1.5 * b)
            .collect();
        let s = LinearStack::fit(&[a.clone(), b.clone()], &y, 0.0).unwrap();
        assert!((s.intercept - 2.0).abs() < 1e-9, "{s:?}");
        assert!((s.weights[0] - 0.5).abs() < 1e-9 && (s.weights[1] - 1.5).abs() < 1e-9);
        assert!((s.predict(&[a, b], 7) - y[7]).abs() < 1e-9);
    }

    #[test]
    fn logistic_stack_recovers_a_calibration() {
        // Labels drawn (deterministically, by a quasi-random sequence) with log-odds 0.5 + 2 * logit(p).
        let n = 20_000;
        let p: Vec<f64> = (0..n)
            .map(|i| 0.05 + 0.9 * ((i * 7919) % n) as f64 / n as f64)
            .collect();
        let label: Vec<bool> = (0..n)
            .map(|i| {
                let q = sigmoid(0.5 + 2.0 * logit(p[i]));
                let u = ((i as f64 + 0.5) * 0.618_033_988_75).fract();
                u < q
            })
            .collect();
        let s = LogisticStack::fit(&[p], &label, 0.0, 50).unwrap();
        assert!((s.intercept - 0.5).abs() < 0.1, "{s:?}");
        assert!((s.weights[0] - 2.0).abs() < 0.1, "{s:?}");
    }

    #[test]
    fn rank_stack_prefers_the_input_that_orders_the_outcome() {
        let n = 2000;
        let y: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64).collect();
        let good = y.clone();
        let noise: Vec<f64> = (0..n).map(|i| ((i * 53) % 97) as f64).collect();
        let s = RankStack::fit(&[noise.clone(), good.clone()], &y).unwrap();
        assert_eq!(s.weights, vec![0.0, 1.0], "{s:?}");
        assert!((s.valid_spearman - 1.0).abs() < 1e-12);
        let p = s.predict(&[noise, good]);
        assert!((crate::predict::metrics::spearman(&p, &y) - 1.0).abs() < 1e-12);
        assert_eq!(simplex_grid(3, 10).len(), 66);
    }

    #[test]
    fn solve_refuses_a_singular_system() {
        assert!(solve(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 2.0]).is_none());
        let x = solve(vec![vec![2.0, 1.0], vec![1.0, 3.0]], vec![3.0, 5.0]).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
    }
}

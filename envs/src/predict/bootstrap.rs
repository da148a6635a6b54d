//! Paired bootstrap intervals: the same resampled customers for both sides of a difference,
//! so the interval reflects how much the comparison, not each figure, moves.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A statistic on all customers with its percentile bootstrap 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapCi {
    /// The statistic on the customers as they are.
    pub estimate: f64,
    /// 2.5th percentile of the resampled statistics.
    pub lower: f64,
    /// 97.5th percentile of the resampled statistics.
    pub upper: f64,
}

impl BootstrapCi {
    /// Whether the interval lies strictly above zero.
    pub fn above_zero(&self) -> bool {
        self.lower > 0.0
    }
}

/// Draw `d`'s stream: the same for every thread count.
fn draw_rng(seed: u64, d: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(d as u64 + 1);
    rng
}

/// Bootstraps `stat` (a function of customer indices, e.g. the difference of two predictors'
/// Spearman correlation on those customers) over `draws` resamples of `n` customers with
/// replacement; resamples run in parallel, each from its own seeded stream.
pub fn paired_bootstrap<F>(n: usize, draws: usize, seed: u64, stat: F) -> BootstrapCi
where
    F: Fn(&[usize]) -> f64 + Sync,
{
    let all: Vec<usize> = (0..n).collect();
    let estimate = stat(&all);
    if n == 0 || draws == 0 {
        return BootstrapCi {
            estimate,
            lower: f64::NAN,
            upper: f64::NAN,
        };
    }
    let mut stats: Vec<f64> = (0..draws)
        .into_par_iter()
        .map(|d| {
            let mut rng = draw_rng(seed, d);
            let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
            stat(&idx)
        })
        .collect();
    stats.retain(|v| v.is_finite());
    stats.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        if stats.is_empty() {
            f64::NAN
        } else {
            stats[((q * (stats.len() - 1) as f64).round() as usize).min(stats.len() - 1)]
        }
    };
    BootstrapCi {
        estimate,
        lower: pick(0.025),
        upper: pick(0.975),
    }
}

/// `values` at `idx`.
pub fn gather<T: Copy>(values: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|i| values[*i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_of_a_mean_matches_the_normal_one_and_is_thread_invariant() {
        let n = 4000;
        let x: Vec<f64> = (0..n).map(|i| ((i * 7) % 13) as f64).collect();
        let mean = |idx: &[usize]| idx.iter().map(|i| x[*i]).sum::<f64>() / idx.len() as f64;
        let ci = paired_bootstrap(n, 400, 3, mean);
        let m = mean(&(0..n).collect::<Vec<_>>());
        let sd = (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64).sqrt();
        let half = 1.96 * sd / (n as f64).sqrt();
        // Percentile interval within 20% of the normal half-width on each side.
        assert!(
            ((m - ci.lower) - half).abs() < 0.2 * half,
            "{ci:?} vs {half}"
        );
        assert!(
            ((ci.upper - m) - half).abs() < 0.2 * half,
            "{ci:?} vs {half}"
        );
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let again = one.install(|| paired_bootstrap(n, 400, 3, mean));
        assert_eq!(ci, again);
    }
}

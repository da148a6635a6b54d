//! Judging one predictor on evaluation customers: value ranking and sizing, churn separation,
//! and paired bootstrap intervals of its difference to the reference (BG/NBD).

use serde::{Deserialize, Serialize};

use super::bootstrap::{BootstrapCi, gather, paired_bootstrap};
use super::metrics::{
    ReliabilityBin, auc, best_f1_threshold, brier, deciles, mae_rmse, normalised_gini,
    precision_recall_f1, reliability, spearman, top_decile_capture,
};

/// How well a predictor ranks and sizes the value realised in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueScore {
    /// Predictor name.
    pub predictor: String,
    /// Spearman rank correlation of prediction and realised value.
    pub spearman: f64,
    /// Normalised Gini (1 = the realised order, 0 = random).
    pub gini: f64,
    /// Share of the realised value held by the predicted top decile.
    pub top_decile: f64,
    /// Mean absolute error, dollars.
    pub mae: f64,
    /// Root mean squared error, dollars.
    pub rmse: f64,
    /// Mean prediction per predicted decile (highest first), dollars.
    pub predicted_by_decile: Vec<f64>,
    /// Mean realised value per predicted decile (highest first), dollars.
    pub realised_by_decile: Vec<f64>,
    /// Spearman minus the reference's, paired bootstrap 95% interval (absent for the reference).
    pub spearman_vs_reference: Option<BootstrapCi>,
    /// Top-decile capture minus the reference's, paired bootstrap 95% interval.
    pub top_decile_vs_reference: Option<BootstrapCi>,
}

/// How well a churn probability separates customers who do not buy in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnScore {
    /// Predictor name.
    pub predictor: String,
    /// Area under the ROC curve.
    pub auc: f64,
    /// Probability above which a customer is called a churner, chosen on validation customers
    /// (highest F1).
    pub threshold: f64,
    /// Precision at the threshold.
    pub precision: f64,
    /// Recall at the threshold.
    pub recall: f64,
    /// F1 at the threshold.
    pub f1: f64,
    /// Brier score (mean squared error of the probability).
    pub brier: f64,
    /// Predicted against observed churn by probability bin.
    pub reliability: Vec<ReliabilityBin>,
    /// AUC minus the reference's, paired bootstrap 95% interval (absent for the reference).
    pub auc_vs_reference: Option<BootstrapCi>,
}

/// Settings of the paired bootstrap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bootstrap {
    /// Resamples; 0 skips the intervals.
    pub draws: usize,
    /// Seed of the resamples (the same for every predictor, so intervals are comparable).
    pub seed: u64,
}

/// Scores `pred` against `realised` on evaluation customers; with `reference`, also the
/// paired intervals of the differences.
pub fn score_value(
    name: &str,
    pred: &[f64],
    realised: &[f64],
    reference: Option<&[f64]>,
    boot: Bootstrap,
) -> ValueScore {
    let (mae, rmse) = mae_rmse(pred, realised);
    let (predicted_by_decile, realised_by_decile) = deciles(pred, realised);
    let diff = |f: fn(&[f64], &[f64]) -> f64| {
        reference.map(|r| {
            paired_bootstrap(realised.len(), boot.draws, boot.seed, |idx| {
                let y = gather(realised, idx);
                f(&gather(pred, idx), &y) - f(&gather(r, idx), &y)
            })
        })
    };
    ValueScore {
        predictor: name.into(),
        spearman: spearman(pred, realised),
        gini: normalised_gini(pred, realised),
        top_decile: top_decile_capture(pred, realised),
        mae,
        rmse,
        predicted_by_decile,
        realised_by_decile,
        spearman_vs_reference: diff(spearman),
        top_decile_vs_reference: diff(top_decile_capture),
    }
}

/// Scores churn probabilities `prob` against `churned` on evaluation customers, at the
/// threshold chosen on validation customers (`valid_prob`, `valid_churned`).
pub fn score_churn(
    name: &str,
    valid: (&[f64], &[bool]),
    prob: &[f64],
    churned: &[bool],
    reference: Option<&[f64]>,
    boot: Bootstrap,
) -> ChurnScore {
    let threshold = best_f1_threshold(valid.0, valid.1);
    let (precision, recall, f1) = precision_recall_f1(prob, churned, threshold);
    ChurnScore {
        predictor: name.into(),
        auc: auc(prob, churned),
        threshold,
        precision,
        recall,
        f1,
        brier: brier(prob, churned),
        reliability: reliability(prob, churned),
        auc_vs_reference: reference.map(|r| {
            paired_bootstrap(churned.len(), boot.draws, boot.seed, |idx| {
                let y = gather(churned, idx);
                auc(&gather(prob, idx), &y) - auc(&gather(r, idx), &y)
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_better_ranking_has_an_interval_above_zero() {
        let n = 3000;
        let y: Vec<f64> = (0..n).map(|i| ((i * 31) % 97) as f64).collect();
        let good: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(i, v)| v + (i % 5) as f64)
            .collect();
        let poor: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(i, v)| v + (i % 90) as f64)
            .collect();
        let boot = Bootstrap {
            draws: 200,
            seed: 1,
        };
        let s = score_value("good", &good, &y, Some(&poor), boot);
        let d = s.spearman_vs_reference.unwrap();
        assert!(d.estimate > 0.0 && d.above_zero(), "{d:?}");
        assert!(s.spearman > 0.95);
        let churned: Vec<bool> = y.iter().map(|v| *v < 30.0).collect();
        let prob: Vec<f64> = y.iter().map(|v| 1.0 - v / 100.0).collect();
        let c = score_churn("p", (&prob, &churned), &prob, &churned, None, boot);
        assert!(
            (c.auc - 1.0).abs() < 1e-12 && (c.f1 - 1.0).abs() < 1e-12,
            "{c:?}"
        );
    }
}

//! How well a prediction ranks and sizes customers' value, and how well a probability
//! separates churners: the measures of `clv predict`, each tie-aware (customers with equal
//! predictions share their group's mean outcome, so a predictor gains nothing from the order in
//! which ties happen to be stored).

use serde::{Deserialize, Serialize};

/// Number of groups of the decile tables.
pub const DECILES: usize = 10;
/// Number of equal-width probability bins of the reliability table.
pub const RELIABILITY_BINS: usize = 10;

/// Average ranks (1-based), ties sharing the mean of their positions.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in &idx[i..=j] {
            r[*k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation (0 when either side is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().max(1) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    if va > 0.0 && vb > 0.0 {
        cov / (va * vb).sqrt()
    } else {
        0.0
    }
}

/// Spearman rank correlation (Pearson correlation of the average ranks).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// Indices in descending order of `pred` (ties by index), and the outcome of each position
/// replaced by the mean outcome of its tie group.
fn descending_tie_means(pred: &[f64], outcome: &[f64]) -> (Vec<usize>, Vec<f64>) {
    let mut order: Vec<usize> = (0..pred.len()).collect();
    order.sort_by(|i, j| pred[*j].total_cmp(&pred[*i]).then(i.cmp(j)));
    let mut shared = vec![0.0; order.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && pred[order[j + 1]] == pred[order[i]] {
            j += 1;
        }
        let mean = order[i..=j].iter().map(|k| outcome[*k]).sum::<f64>() / (j - i + 1) as f64;
        shared[i..=j].fill(mean);
        i = j + 1;
    }
    (order, shared)
}

/// Gini coefficient of the cumulative-gains (Lorenz) curve of `outcome` ordered by descending
/// `pred`: twice the area between the curve and the diagonal.
fn gini(pred: &[f64], outcome: &[f64]) -> f64 {
    let (_, shared) = descending_tie_means(pred, outcome);
    let total: f64 = shared.iter().sum();
    let n = shared.len() as f64;
    if total == 0.0 || shared.is_empty() {
        return 0.0;
    }
    let mut cum = 0.0;
    let mut area = 0.0;
    for v in &shared {
        cum += v;
        area += cum / total;
    }
    2.0 * (area / n - (n + 1.0) / (2.0 * n))
}

/// Normalised Gini: the Gini of `pred`'s ordering over that of the perfect ordering (1 = the
/// predictor orders customers as their realised value does; 0 = no better than random).
pub fn normalised_gini(pred: &[f64], outcome: &[f64]) -> f64 {
    let best = gini(outcome, outcome);
    if best == 0.0 {
        0.0
    } else {
        gini(pred, outcome) / best
    }
}

/// Share of the total realised value held by the predicted top decile (customers ranked by
/// `pred`; a tie group straddling the cut counts in proportion).
pub fn top_decile_capture(pred: &[f64], outcome: &[f64]) -> f64 {
    let (_, shared) = descending_tie_means(pred, outcome);
    let total: f64 = shared.iter().sum();
    if total == 0.0 {
        return f64::NAN;
    }
    let k = (shared.len() / DECILES).max(1).min(shared.len());
    shared[..k].iter().sum::<f64>() / total
}

/// Mean prediction and mean realised value per predicted decile, highest decile first.
pub fn deciles(pred: &[f64], outcome: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (order, shared) = descending_tie_means(pred, outcome);
    let n = order.len();
    let (mut predicted, mut realised) = (vec![], vec![]);
    if n == 0 {
        return (predicted, realised);
    }
    for d in 0..DECILES {
        let lo = d * n / DECILES;
        let hi = ((d + 1) * n / DECILES).max(lo + 1).min(n);
        let k = (hi - lo) as f64;
        predicted.push(order[lo..hi].iter().map(|i| pred[*i]).sum::<f64>() / k);
        realised.push(shared[lo..hi].iter().sum::<f64>() / k);
    }
    (predicted, realised)
}

/// Area under the ROC curve of `score` for the positives `label` (Mann-Whitney, ties count
/// one half); NaN when one class is empty.
pub fn auc(score: &[f64], label: &[bool]) -> f64 {
    let r = ranks(score);
    let pos = label.iter().filter(|l| **l).count() as f64;
    let neg = label.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    let sum: f64 = r
        .iter()
        .zip(label)
        .filter(|(_, l)| **l)
        .map(|(r, _)| r)
        .sum();
    (sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Mean squared difference between probability and outcome (0 or 1).
pub fn brier(prob: &[f64], label: &[bool]) -> f64 {
    let n = prob.len().max(1) as f64;
    prob.iter()
        .zip(label)
        .map(|(p, l)| (p - f64::from(u8::from(*l))).powi(2))
        .sum::<f64>()
        / n
}

/// Precision, recall and F1 of calling `prob >= threshold` positive.
pub fn precision_recall_f1(prob: &[f64], label: &[bool], threshold: f64) -> (f64, f64, f64) {
    let (mut tp, mut fp, mut fneg) = (0.0, 0.0, 0.0);
    for (p, l) in prob.iter().zip(label) {
        match (*p >= threshold, *l) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fneg += 1.0,
            (false, false) => {}
        }
    }
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fneg > 0.0 {
        tp / (tp + fneg)
    } else {
        0.0
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (precision, recall, f1)
}

/// The threshold among the predicted probabilities that maximises F1 (ties: the higher
/// threshold), found in one sweep over the sorted probabilities.
pub fn best_f1_threshold(prob: &[f64], label: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..prob.len()).collect();
    order.sort_by(|a, b| prob[*b].total_cmp(&prob[*a]));
    let positives = label.iter().filter(|l| **l).count() as f64;
    let (mut tp, mut called) = (0.0, 0.0);
    let (mut best, mut best_f1) = (1.0, -1.0);
    let mut i = 0;
    while i < order.len() {
        let p = prob[order[i]];
        while i < order.len() && prob[order[i]] == p {
            tp += f64::from(u8::from(label[order[i]]));
            called += 1.0;
            i += 1;
        }
        let f1 = if positives + called > 0.0 {
            2.0 * tp / (positives + called)
        } else {
            0.0
        };
        if f1 > best_f1 {
            (best, best_f1) = (p, f1);
        }
    }
    best
}

/// One bin of a reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin, probability.
    pub lower: f64,
    /// Customers whose predicted probability falls in the bin.
    pub customers: usize,
    /// Their mean predicted probability (NaN when empty).
    pub predicted: f64,
    /// Their observed rate (NaN when empty).
    pub observed: f64,
}

/// Predicted against observed rates in [`RELIABILITY_BINS`] equal-width probability bins.
pub fn reliability(prob: &[f64], label: &[bool]) -> Vec<ReliabilityBin> {
    let mut sums = [(0usize, 0.0, 0.0); RELIABILITY_BINS];
    for (p, l) in prob.iter().zip(label) {
        let b = ((p * RELIABILITY_BINS as f64) as usize).min(RELIABILITY_BINS - 1);
        sums[b].0 += 1;
        sums[b].1 += p;
        sums[b].2 += f64::from(u8::from(*l));
    }
    sums.iter()
        .enumerate()
        .map(|(b, (n, p, o))| ReliabilityBin {
            lower: b as f64 / RELIABILITY_BINS as f64,
            customers: *n,
            predicted: if *n > 0 { p / *n as f64 } else { f64::NAN },
            observed: if *n > 0 { o / *n as f64 } else { f64::NAN },
        })
        .collect()
}

/// Mean absolute error and root mean squared error.
pub fn mae_rmse(pred: &[f64], outcome: &[f64]) -> (f64, f64) {
    let n = pred.len().max(1) as f64;
    let (mut abs, mut sq) = (0.0, 0.0);
    for (p, y) in pred.iter().zip(outcome) {
        abs += (p - y).abs();
        sq += (p - y) * (p - y);
    }
    (abs / n, (sq / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_handles_ties_and_monotone_maps() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert!((spearman(&a, &[10.0, 20.0, 30.0, 40.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&a, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[5.0, 1.0, 5.0]), vec![2.5, 1.0, 2.5]);
    }

    #[test]
    fn gini_is_one_for_the_perfect_order_and_zero_for_a_constant() {
        let y: Vec<f64> = (0..100).map(|i| (i % 7) as f64).collect();
        assert!((normalised_gini(&y, &y) - 1.0).abs() < 1e-12);
        assert!(normalised_gini(&vec![1.0; 100], &y).abs() < 1e-12);
        let reversed: Vec<f64> = y.iter().map(|v| -v).collect();
        assert!((normalised_gini(&reversed, &y) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn top_decile_capture_by_hand() {
        // 20 customers, realised 1 each except two worth 9: perfect order captures 18 / 36.
        let mut y = vec![1.0; 20];
        y[3] = 9.0;
        y[11] = 9.0;
        assert!((top_decile_capture(&y, &y) - 0.5).abs() < 1e-12);
        // A constant prediction captures one tenth, however the rows are stored.
        assert!((top_decile_capture(&[0.0; 20], &y) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn auc_brier_and_f1_by_hand() {
        let p = [0.9, 0.8, 0.3, 0.2];
        let l = [true, false, true, false];
        // Positive-negative pairs ordered right: (0.9>0.8), (0.9>0.2), (0.3>0.2); wrong: (0.3<0.8).
        assert!((auc(&p, &l) - 0.75).abs() < 1e-12);
        let b = (0.01 + 0.64 + 0.49 + 0.04) / 4.0;
        assert!((brier(&p, &l) - b).abs() < 1e-12);
        let (pr, re, f1) = precision_recall_f1(&p, &l, 0.5);
        assert!((pr - 0.5).abs() < 1e-12 && (re - 0.5).abs() < 1e-12 && (f1 - 0.5).abs() < 1e-12);
        // Calling everything >= 0.3 positive: precision 2/3, recall 1, F1 0.8, the best.
        assert_eq!(best_f1_threshold(&p, &l), 0.3);
    }

    #[test]
    fn deciles_and_reliability_sum_up() {
        let pred: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let (p, r) = deciles(&pred, &pred);
        assert_eq!(p.len(), DECILES);
        assert!((p[0] - 47.0).abs() < 1e-12 && (r[9] - 2.0).abs() < 1e-12);
        let probs: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let labels: Vec<bool> = (0..100).map(|i| i % 2 == 0).collect();
        let bins = reliability(&probs, &labels);
        assert_eq!(bins.iter().map(|b| b.customers).sum::<usize>(), 100);
        assert!((bins[3].predicted - 0.345).abs() < 1e-12);
        assert!((bins[3].observed - 0.5).abs() < 1e-12);
    }
}

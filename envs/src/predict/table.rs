//! The prediction table: one row per customer with the firm-record features at the prediction
//! time, the classical BG/NBD x Gamma-Gamma predictions, and the truth over the next window.
//!
//! From a scenario, the truth is the realised future of the same simulated customers under a
//! named policy (their own random streams, so every predictor is judged on the same outcome);
//! from a log, it is what each calibration customer did in the holdout period.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::btyd::{BgNbdParams, GammaGammaParams, bgnbd, gamma_gamma};
use crate::fit::{CustomerDays, Summary, Transaction, purchase_days};
use crate::observation::{FeatureSet, FeatureSpec};
use crate::policy::{ACT_CHUNK, Policy};
use crate::population::Population;

/// Periods per block when discounting the classical value (expected purchases are evaluated at
/// block ends and discounted at block midpoints).
pub const CLASSICAL_BLOCK_PERIODS: u32 = 4;

/// Rows of customers: features, classical predictions and the truth.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Customer ids (log customer ids; simulated customers are numbered from 0).
    pub ids: Vec<String>,
    /// Feature names, in column order.
    pub feature_names: Vec<String>,
    /// Features, row-major (`ids.len()` x `feature_names.len()`).
    pub features: Vec<f32>,
    /// Realised value over the window: discounted profit (scenario) or spend (log), dollars.
    pub value: Vec<f64>,
    /// Whether the customer bought in the window.
    pub bought: Vec<bool>,
    /// BG/NBD x Gamma-Gamma predicted value over the window, dollars.
    pub bgnbd_value: Vec<f64>,
    /// BG/NBD probability of no purchase in the window.
    pub bgnbd_churn: Vec<f64>,
    /// BG/NBD P(alive | record).
    pub p_alive: Vec<f64>,
}

impl Table {
    /// Customers.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there is no customer.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Feature columns.
    pub fn dim(&self) -> usize {
        self.feature_names.len()
    }

    /// Churn (no purchase in the window) of each customer.
    pub fn churned(&self) -> Vec<bool> {
        self.bought.iter().map(|b| !b).collect()
    }

    /// The rows `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Table {
        let d = self.dim();
        Table {
            ids: idx.iter().map(|i| self.ids[*i].clone()).collect(),
            feature_names: self.feature_names.clone(),
            features: idx
                .iter()
                .flat_map(|i| self.features[i * d..(i + 1) * d].iter().copied())
                .collect(),
            value: idx.iter().map(|i| self.value[*i]).collect(),
            bought: idx.iter().map(|i| self.bought[*i]).collect(),
            bgnbd_value: idx.iter().map(|i| self.bgnbd_value[*i]).collect(),
            bgnbd_churn: idx.iter().map(|i| self.bgnbd_churn[*i]).collect(),
            p_alive: idx.iter().map(|i| self.p_alive[*i]).collect(),
        }
    }
}

/// BG/NBD probability that a customer with record (x, t_x, T) makes no purchase in the next
/// `window` time units: dead already, or alive and silent, (alpha + T) / (alpha + T + window))
/// ^ (r + x) under the posterior of the purchase rate.
pub fn prob_no_purchase_in(p: &BgNbdParams, window: f64, x: f64, t_x: f64, big_t: f64) -> f64 {
    let alive = bgnbd::p_alive(p, x, t_x, big_t);
    let silent = ((p.alpha + big_t) / (p.alpha + big_t + window)).powf(p.r + x);
    (1.0 - alive) + alive * silent
}

/// Builds the table of a simulated population at the start of its scored window, then runs
/// `policy` over it to record the truth. `pop` must have been built from a scenario whose
/// horizon is the window. Features are the [`FeatureSet::Extended`] observation.
pub fn scenario_table(pop: &mut Population, policy: &mut dyn Policy) -> Table {
    let s = pop.scenario().clone();
    let spec = FeatureSpec::with_set(&s, FeatureSet::Extended);
    let dim = spec.dim();
    let n = pop.len();
    let mut features = vec![0f32; n * dim];
    let batch = pop.batch();
    let mut start = 0;
    while start < n {
        let end = (start + ACT_CHUNK).min(n);
        batch.features_with(&spec, start..end, &mut features[start * dim..end * dim]);
        start = end;
    }
    let bgnbd_value = discounted_classical_values(pop, s.horizon);
    let w = s.period_weeks;
    let window_weeks = s.horizon as f64 * w;
    let bg = &s.population.bgnbd;
    let (bgnbd_churn, p_alive): (Vec<f64>, Vec<f64>) = (0..n)
        .map(|i| {
            let r = pop.record(i);
            let (x, tx, t) = (
                r.repeat_purchases as f64,
                r.last_purchase as f64 * w,
                r.age as f64 * w,
            );
            (
                prob_no_purchase_in(bg, window_weeks, x, tx, t),
                bgnbd::p_alive(bg, x, tx, t),
            )
        })
        .unzip();
    let before: Vec<u32> = (0..n).map(|i| pop.record(i).repeat_purchases).collect();
    let result = pop.evaluate(policy, &|_| {});
    let bought = (0..n)
        .map(|i| pop.record(i).repeat_purchases > before[i])
        .collect();
    Table {
        ids: (0..n).map(|i| i.to_string()).collect(),
        feature_names: spec.names(),
        features,
        value: result.clv,
        bought,
        bgnbd_value,
        bgnbd_churn,
        p_alive,
    }
}

/// BG/NBD conditional expected purchases x Gamma-Gamma conditional spend x margin, discounted
/// over the next `periods` periods, for every customer of `pop`, dollars.
pub fn discounted_classical_values(pop: &Population, periods: u32) -> Vec<f64> {
    let s = pop.scenario();
    let w = s.period_weeks;
    let delta = s.discount_factor();
    let bg = &s.population.bgnbd;
    (0..pop.len())
        .map(|i| {
            let r = pop.record(i);
            let x = r.repeat_purchases as f64;
            let (tx, big_t) = (r.last_purchase as f64 * w, r.age as f64 * w);
            let spend = gamma_gamma::conditional_expected_spend(
                &s.population.spend,
                x,
                r.mean_repeat_spend() as f64,
            );
            let mut value = 0.0;
            let mut prev = 0.0;
            let mut t = 0;
            while t < periods {
                let end = (t + CLASSICAL_BLOCK_PERIODS).min(periods);
                let e = bgnbd::conditional_expected_purchases(bg, end as f64 * w, x, tx, big_t);
                let mid = (t + end) as f64 / 2.0 + 0.5;
                value += (e - prev) * delta.powf(mid);
                prev = e;
                t = end;
            }
            value * spend * s.economics.gross_margin
        })
        .collect()
}

/// Names of the features of a log's table, in order: the calibration record (x = repeat
/// purchases, t_x and T in the summary's periods, recency T - t_x, mean repeat spend and first
/// spend in dollars, log(1 + total spend)) and the fitted BG/NBD's P(alive) and expected
/// purchases over the holdout length.
pub const LOG_FEATURES: [&str; 9] = [
    "frequency",
    "t_x",
    "age",
    "recency",
    "mean_repeat_spend",
    "first_spend",
    "log_total_spend",
    "p_alive_bgnbd",
    "expected_purchases_window",
];

/// Builds the table of a log's calibration customers: features from the calibration record,
/// classical predictions from the fitted `bg` / `gg` (rates in the summary's period unit), and
/// the truth from the purchases after the calibration end up to `holdout_end` (inclusive):
/// spend (dollars) and whether there was any.
pub fn log_table(
    transactions: &[Transaction],
    summary: &Summary,
    bg: &BgNbdParams,
    gg: &GammaGammaParams,
    holdout_end: NaiveDate,
) -> Table {
    log_table_days(&purchase_days(transactions), summary, bg, gg, holdout_end)
}

/// As [`log_table`], from each customer's purchase days ([`crate::fit::PurchaseDays`]).
pub fn log_table_days(
    days: &[CustomerDays],
    summary: &Summary,
    bg: &BgNbdParams,
    gg: &GammaGammaParams,
    holdout_end: NaiveDate,
) -> Table {
    let cal_end = summary.calibration_end;
    let length = (holdout_end - cal_end).num_days() as f64 / summary.period.days();
    let by_id: HashMap<&str, &Vec<(NaiveDate, f64)>> =
        days.iter().map(|(c, d)| (c.as_str(), d)).collect();
    let mut t = Table {
        feature_names: LOG_FEATURES.iter().map(|s| s.to_string()).collect(),
        ..Table::default()
    };
    for c in &summary.customers {
        let holdout: Vec<f64> = by_id
            .get(c.customer.as_str())
            .map(|d| {
                d.iter()
                    .filter(|d| d.0 > cal_end && d.0 <= holdout_end)
                    .map(|d| d.1)
                    .collect()
            })
            .unwrap_or_default();
        let alive = bgnbd::p_alive(bg, c.x, c.t_x, c.big_t);
        let purchases = bgnbd::conditional_expected_purchases(bg, length, c.x, c.t_x, c.big_t);
        let spend = gamma_gamma::conditional_expected_spend(gg, c.x, c.mean_repeat_spend());
        let total = c.first_spend + c.repeat_spend_total;
        t.features.extend([
            c.x as f32,
            c.t_x as f32,
            c.big_t as f32,
            (c.big_t - c.t_x) as f32,
            c.mean_repeat_spend() as f32,
            c.first_spend as f32,
            total.max(0.0).ln_1p() as f32,
            alive as f32,
            purchases as f32,
        ]);
        t.ids.push(c.customer.clone());
        t.value.push(holdout.iter().sum());
        t.bought.push(!holdout.is_empty());
        t.bgnbd_value.push(purchases * spend);
        t.bgnbd_churn
            .push(prob_no_purchase_in(bg, length, c.x, c.t_x, c.big_t));
        t.p_alive.push(alive);
    }
    t
}

/// Which part of the customers a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Fits the predictors.
    Train,
    /// Chooses thresholds, calibrations and the fusion weights.
    Validation,
    /// Judges the predictors, once.
    Evaluation,
}

/// Assigns a customer id to a split by a hash of the id (stable across runs and machines):
/// `train_share` of ids to training, `valid_share` to validation, the rest to evaluation.
pub fn split_of(id: &str, train_share: f64, valid_share: f64) -> Split {
    // FNV-1a, then a splitmix64 finaliser for well-mixed high bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    let u = (h >> 11) as f64 / (1u64 << 53) as f64;
    if u < train_share {
        Split::Train
    } else if u < train_share + valid_share {
        Split::Validation
    } else {
        Split::Evaluation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_purchase_probability_limits() {
        let p = BgNbdParams {
            r: 0.24,
            alpha: 4.41,
            a: 0.79,
            b: 2.43,
        };
        // No window: nobody can buy. A long window: only the dead stay silent.
        assert!((prob_no_purchase_in(&p, 0.0, 2.0, 30.0, 38.0) - 1.0).abs() < 1e-12);
        let alive = bgnbd::p_alive(&p, 2.0, 30.0, 38.0);
        let long = prob_no_purchase_in(&p, 1e9, 2.0, 30.0, 38.0);
        assert!(
            (long - (1.0 - alive)).abs() < 1e-3,
            "{long} vs {}",
            1.0 - alive
        );
        // A customer who never repeated (x = 0) is alive for sure: silent with the NBD odds.
        let silent = ((4.41f64 + 38.0) / (4.41 + 38.0 + 10.0)).powf(0.24);
        assert!((prob_no_purchase_in(&p, 10.0, 0.0, 0.0, 38.0) - silent).abs() < 1e-12);
    }

    #[test]
    fn splits_are_stable_and_in_proportion() {
        let n = 20_000;
        let train = (0..n)
            .filter(|i| split_of(&format!("c{i}"), 0.5, 0.2) == Split::Train)
            .count() as f64;
        assert!((train / n as f64 - 0.5).abs() < 0.02);
        assert_eq!(split_of("abc", 0.5, 0.2), split_of("abc", 0.5, 0.2));
    }
}

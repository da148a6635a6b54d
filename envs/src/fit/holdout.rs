//! Checking a fit on a holdout period after the calibration end: predicted against actual
//! repeat purchases in total, by calibration frequency, and period by period (the tracking
//! plot of FHL 2005, Figure 2, over calibration and holdout).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::error::FitError;
use super::log::Transaction;
use super::summary::{Summary, purchase_days};
use crate::btyd::{BgNbdParams, bgnbd};

/// Calibration frequencies shown one by one in the by-frequency table; larger ones are pooled
/// into a last `N+` row.
pub const FREQUENCY_ROWS: u32 = 7;

/// Customers with a given calibration frequency, and their holdout purchases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrequencyRow {
    /// Calibration repeat purchases: `0`, `1`, ..., or `7+`.
    pub frequency: String,
    /// Customers in the row.
    pub customers: usize,
    /// Mean actual repeat purchases in the holdout, per customer.
    pub actual_mean: f64,
    /// Mean predicted (E[Y(t) | x, t_x, T]) repeat purchases in the holdout, per customer.
    pub predicted_mean: f64,
}

/// One period of the tracking table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackingRow {
    /// Period index from the log's first date (0-based).
    pub period: usize,
    /// First day of the period.
    pub start: NaiveDate,
    /// Whether the period starts after the calibration end.
    pub holdout: bool,
    /// Actual repeat purchases of the calibration customers in the period.
    pub actual: f64,
    /// Expected repeat purchases, sum over customers of E[X(t)] increments since their first
    /// purchase.
    pub expected: f64,
    /// Actual repeat purchases up to the end of the period.
    pub cumulative_actual: f64,
    /// Expected repeat purchases up to the end of the period.
    pub cumulative_expected: f64,
}

/// The holdout comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldoutReport {
    /// Last day of the holdout (inclusive).
    pub holdout_end: NaiveDate,
    /// Holdout length, in the summary's periods.
    pub length: f64,
    /// Actual repeat purchases in the holdout, all calibration customers.
    pub total_actual: f64,
    /// Predicted repeat purchases in the holdout, all calibration customers.
    pub total_predicted: f64,
    /// By calibration frequency.
    pub by_frequency: Vec<FrequencyRow>,
    /// Period by period, from the log's first date to the holdout end.
    pub tracking: Vec<TrackingRow>,
}

/// Compares the fit `params` (in the summary's period unit) with what the calibration
/// customers of `summary` did between its calibration end and `holdout_end` (inclusive).
///
/// # Errors
/// [`FitError::BadOption`] when `holdout_end` is not after the calibration end.
pub fn holdout_report(
    transactions: &[Transaction],
    summary: &Summary,
    params: &BgNbdParams,
    holdout_end: NaiveDate,
) -> Result<HoldoutReport, FitError> {
    let cal_end = summary.calibration_end;
    if holdout_end <= cal_end {
        return Err(FitError::BadOption(format!(
            "the holdout end {holdout_end} must be after the calibration end {cal_end}"
        )));
    }
    let days_per = summary.period.days();
    let length = (holdout_end - cal_end).num_days() as f64 / days_per;
    let days = purchase_days(transactions);
    let by_id: BTreeMap<&str, &Vec<(NaiveDate, f64)>> =
        days.iter().map(|(c, d)| (c.as_str(), d)).collect();

    // Per customer: holdout purchases, prediction.
    let mut rows: BTreeMap<u32, (usize, f64, f64)> = BTreeMap::new();
    let (mut total_actual, mut total_predicted) = (0.0, 0.0);
    for c in &summary.customers {
        let actual = by_id[c.customer.as_str()]
            .iter()
            .filter(|d| d.0 > cal_end && d.0 <= holdout_end)
            .count() as f64;
        let predicted = bgnbd::conditional_expected_purchases(params, length, c.x, c.t_x, c.big_t);
        total_actual += actual;
        total_predicted += predicted;
        let key = (c.x as u32).min(FREQUENCY_ROWS);
        let row = rows.entry(key).or_insert((0, 0.0, 0.0));
        row.0 += 1;
        row.1 += actual;
        row.2 += predicted;
    }
    let by_frequency = rows
        .into_iter()
        .map(|(k, (n, actual, predicted))| FrequencyRow {
            frequency: if k == FREQUENCY_ROWS {
                format!("{k}+")
            } else {
                k.to_string()
            },
            customers: n,
            actual_mean: actual / n as f64,
            predicted_mean: predicted / n as f64,
        })
        .collect();

    let tracking = tracking_rows(summary, &by_id, params, holdout_end);
    Ok(HoldoutReport {
        holdout_end,
        length,
        total_actual,
        total_predicted,
        by_frequency,
        tracking,
    })
}

/// Period-by-period actual and expected repeat purchases of the calibration customers from the
/// log's first date to `end`. A purchase on day d falls in period floor((d - first date) /
/// period length); the customer who first bought at time s is expected to make
/// E[X(b - s)] - E[X(a - s)] repeat purchases in the period [a, b).
fn tracking_rows(
    summary: &Summary,
    by_id: &BTreeMap<&str, &Vec<(NaiveDate, f64)>>,
    params: &BgNbdParams,
    end: NaiveDate,
) -> Vec<TrackingRow> {
    let days_per = summary.period.days();
    let origin = summary.first_date;
    let horizon = ((end - origin).num_days() + 1) as f64 / days_per;
    let periods = horizon.ceil() as usize;
    let mut actual = vec![0.0; periods];
    // Customers grouped by first-purchase day, so E[X] is evaluated once per day and period.
    let mut cohorts: BTreeMap<i64, f64> = BTreeMap::new();
    for c in &summary.customers {
        *cohorts
            .entry((c.first_purchase - origin).num_days())
            .or_insert(0.0) += 1.0;
        for d in by_id[c.customer.as_str()].iter().skip(1) {
            if d.0 <= end {
                let k = ((d.0 - origin).num_days() as f64 / days_per).floor() as usize;
                actual[k.min(periods - 1)] += 1.0;
            }
        }
    }
    let cumulative_expected_at = |time: f64| -> f64 {
        cohorts
            .iter()
            .map(|(&day, &n)| {
                let age = time - day as f64 / days_per;
                if age > 0.0 {
                    n * bgnbd::expected_purchases(params, age)
                } else {
                    0.0
                }
            })
            .sum()
    };
    let mut rows = Vec::with_capacity(periods);
    let (mut cum_actual, mut cum_prev) = (0.0, 0.0);
    for (k, &act) in actual.iter().enumerate() {
        let upper = ((k + 1) as f64).min(horizon);
        let cum = cumulative_expected_at(upper);
        cum_actual += act;
        let start = origin + chrono::Duration::days((k as f64 * days_per).ceil() as i64);
        rows.push(TrackingRow {
            period: k,
            start,
            holdout: start > summary.calibration_end,
            actual: act,
            expected: cum - cum_prev,
            cumulative_actual: cum_actual,
            cumulative_expected: cum,
        });
        cum_prev = cum;
    }
    rows
}

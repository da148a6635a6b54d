//! The JSON of `clv fit --json` (printed on standard output; `clv fit` writes a scenario file,
//! not this).

use chrono::NaiveDate;
use clv_envs::btyd::{BgNbdParams, GammaGammaParams};
use clv_envs::fit::HoldoutReport;
use serde::Serialize;

/// Version of the layout of `clv fit --json`.
pub const FIT_REPORT_SCHEMA_VERSION: u32 = 1;

/// A fit of BG/NBD and Gamma-Gamma to a transaction log. Printed in field order.
///
/// No part of `clv` reads it back, and it is `Serialize` only: the holdout table is
/// `clv_envs::fit::HoldoutReport`, which does not deserialise.
#[derive(Debug, Serialize)]
pub struct FitReport<'a> {
    /// Layout version ([`FIT_REPORT_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The log, as given.
    pub transactions_file: String,
    /// Transactions (rows) read.
    pub transactions: usize,
    /// Customers whose first purchase is on or before the calibration end.
    pub customers: usize,
    /// Purchase days (same-day purchases of a customer merged) up to the calibration end.
    pub purchase_days: usize,
    /// Time unit of frequency, recency, age and the BG/NBD rates (`day`, `week`, `month`).
    pub period: &'static str,
    /// First date of the log.
    pub first_date: NaiveDate,
    /// Last day of the calibration period (inclusive).
    pub calibration_end: NaiveDate,
    /// The BG/NBD fit.
    pub bgnbd: FitBgNbd,
    /// The Gamma-Gamma fit.
    pub gamma_gamma: FitGammaGamma,
    /// Predicted against actual repeat purchases after the calibration end, with
    /// `--holdout-end`.
    pub holdout: Option<&'a HoldoutReport>,
    /// The scenario file written.
    pub scenario: String,
    /// Every file written.
    pub files: Vec<String>,
    /// Seconds of the two fits (informational).
    pub fit_seconds: f64,
    /// What looks wrong with the log or the fit (also printed on standard error and written
    /// at the top of the scenario): a date that alone sets the calibration end, estimates at
    /// the edge of the search or with standard errors that say the log does not identify
    /// them. Empty when nothing does.
    pub warnings: Vec<String>,
    /// What the log can and cannot identify.
    pub note: &'static str,
}

/// The BG/NBD part of [`FitReport`] (rates in the fit's unit).
#[derive(Debug, Serialize)]
pub struct FitBgNbd {
    /// Shape of the purchase-rate Gamma.
    pub r: f64,
    /// Rate of the purchase-rate Gamma, in periods of `unit` (E[lambda] = r / alpha per
    /// period).
    pub alpha: f64,
    /// Dropout Beta's first shape.
    pub a: f64,
    /// Dropout Beta's second shape.
    pub b: f64,
    /// Log-likelihood at the estimate.
    pub log_likelihood: f64,
    /// Standard errors of the four parameters.
    pub std_errors: BgNbdParams,
    /// The time unit (`day`, `week`, `month`).
    pub unit: &'static str,
    /// Customers in the fit.
    pub customers: usize,
    /// Objective evaluations the optimiser made (all restarts).
    pub evaluations: u64,
}

/// The Gamma-Gamma part of [`FitReport`] (dollars).
#[derive(Debug, Serialize)]
pub struct FitGammaGamma {
    /// Shape of the per-purchase spend Gamma.
    pub p: f64,
    /// Shape of the spend-rate Gamma.
    pub q: f64,
    /// Rate of the spend-rate Gamma, dollars.
    pub gamma: f64,
    /// Log-likelihood at the estimate.
    pub log_likelihood: f64,
    /// Standard errors of the three parameters.
    pub std_errors: GammaGammaParams,
    /// Customers in the fit (at least one repeat purchase and positive spend).
    pub customers: usize,
    /// Customers with repeat purchases left out because their mean repeat spend is 0.
    pub zero_spend_excluded: usize,
    /// Population mean spend per purchase, p * gamma / (q - 1), dollars.
    pub mean_spend: f64,
}

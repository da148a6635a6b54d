//! From transactions to each customer's frequency, recency and age (x, t_x, T) in continuous
//! time, and their repeat spend, as BG/NBD and Gamma-Gamma take them.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::error::FitError;
use super::log::Transaction;
use crate::btyd::CustomerHistory;

/// Days in a week.
pub const DAYS_PER_WEEK: f64 = 7.0;
/// Days in a month (365.25 / 12).
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// The time unit of x, t_x and T and of the fitted rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Period {
    /// Days.
    Day,
    /// Weeks of 7 days (the unit of scenarios).
    #[default]
    Week,
    /// Months of 365.25 / 12 days.
    Month,
}

impl Period {
    /// Length of the unit in days.
    pub fn days(self) -> f64 {
        match self {
            Period::Day => 1.0,
            Period::Week => DAYS_PER_WEEK,
            Period::Month => DAYS_PER_MONTH,
        }
    }

    /// Length of the unit in weeks.
    pub fn weeks(self) -> f64 {
        self.days() / DAYS_PER_WEEK
    }

    /// The unit's name, singular (`day`, `week`, `month`).
    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

/// One customer's calibration-period record.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSummary {
    /// Customer id as in the log.
    pub customer: String,
    /// Date of the first purchase.
    pub first_purchase: NaiveDate,
    /// Repeat purchases (purchase days after the first) up to the calibration end, count.
    pub x: f64,
    /// Time from the first to the last purchase, in periods.
    pub t_x: f64,
    /// Time from the first purchase to the calibration end, in periods.
    pub big_t: f64,
    /// Spend on the first purchase day, dollars.
    pub first_spend: f64,
    /// Total spend of the repeat purchases, dollars.
    pub repeat_spend_total: f64,
}

impl CustomerSummary {
    /// Mean spend per repeat purchase, dollars (0 when x = 0).
    pub fn mean_repeat_spend(&self) -> f64 {
        if self.x > 0.0 {
            self.repeat_spend_total / self.x
        } else {
            0.0
        }
    }

    /// The history in weeks, as the warm-start sampler and scenarios take it.
    pub fn history_in_weeks(&self, period: Period) -> CustomerHistory {
        let w = period.weeks();
        CustomerHistory {
            x: self.x,
            t_x: self.t_x * w,
            big_t: self.big_t * w,
            repeat_spend_total: self.repeat_spend_total,
        }
    }
}

/// The calibration summary of a log.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Time unit of x, t_x and T.
    pub period: Period,
    /// Earliest transaction date in the log.
    pub first_date: NaiveDate,
    /// Latest transaction date in the log.
    pub last_date: NaiveDate,
    /// End of calibration (inclusive).
    pub calibration_end: NaiveDate,
    /// Customers whose first purchase is on or before the calibration end, in order of first
    /// appearance in the log.
    pub customers: Vec<CustomerSummary>,
    /// Transactions (rows) read.
    pub transactions: usize,
    /// Purchase days (same-day purchases of a customer merged) up to the calibration end.
    pub purchase_days: usize,
}

impl Summary {
    /// Customers' x, t_x and T as parallel vectors (periods).
    pub fn xs_txs_ts(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let x = self.customers.iter().map(|c| c.x).collect();
        let t_x = self.customers.iter().map(|c| c.t_x).collect();
        let t = self.customers.iter().map(|c| c.big_t).collect();
        (x, t_x, t)
    }
}

/// One customer's purchase days with the day's total spend, in date order.
pub type CustomerDays = (String, Vec<(NaiveDate, f64)>);

/// Collects transactions, one at a time, into each customer's purchase days (see
/// [`purchase_days`]) without keeping the transactions.
#[derive(Debug, Default)]
pub struct PurchaseDays {
    index: HashMap<String, usize>,
    days: Vec<Vec<(NaiveDate, f64)>>,
    transactions: usize,
}

impl PurchaseDays {
    /// Adds one purchase.
    pub fn push(&mut self, customer: &str, date: NaiveDate, amount: f64) {
        let i = match self.index.get(customer) {
            Some(i) => *i,
            None => {
                self.index.insert(customer.to_string(), self.days.len());
                self.days.push(Vec::new());
                self.days.len() - 1
            }
        };
        self.days[i].push((date, amount));
        self.transactions += 1;
    }

    /// Transactions added.
    pub fn transactions(&self) -> usize {
        self.transactions
    }

    /// Each customer's purchase days, same-day purchases merged, in order of first appearance.
    pub fn finish(self) -> Vec<CustomerDays> {
        let mut ids: Vec<(usize, String)> = self.index.into_iter().map(|(k, v)| (v, k)).collect();
        ids.sort_unstable_by_key(|(i, _)| *i);
        ids.into_iter()
            .zip(self.days)
            .map(|((_, id), mut days)| {
                days.sort_by_key(|d| d.0);
                let mut merged: Vec<(NaiveDate, f64)> = Vec::with_capacity(days.len());
                for (date, amount) in days {
                    match merged.last_mut() {
                        Some(last) if last.0 == date => last.1 += amount,
                        _ => merged.push((date, amount)),
                    }
                }
                (id, merged)
            })
            .collect()
    }
}

/// Each customer's purchase days with the day's total spend, in date order (same-day
/// purchases merged), in order of the customer's first appearance in the log.
pub fn purchase_days(transactions: &[Transaction]) -> Vec<CustomerDays> {
    let mut acc = PurchaseDays::default();
    for t in transactions {
        acc.push(&t.customer, t.date, t.amount);
    }
    acc.finish()
}

/// Builds the calibration summary: same-day purchases merged, customers first seen after
/// `calibration_end` (default: the last date in the log) left out, times in `period` units
/// from day counts (e.g. days / 7 for weeks).
///
/// # Errors
/// [`FitError::Empty`] for no transactions, [`FitError::BadOption`] when no customer's first
/// purchase is on or before the calibration end.
pub fn summarise(
    transactions: &[Transaction],
    calibration_end: Option<NaiveDate>,
    period: Period,
) -> Result<Summary, FitError> {
    summarise_days(
        &purchase_days(transactions),
        transactions.len(),
        calibration_end,
        period,
    )
}

/// As [`summarise`], from each customer's purchase days ([`purchase_days`], [`PurchaseDays`])
/// and the number of transactions they came from.
///
/// # Errors
/// As [`summarise`].
pub fn summarise_days(
    days: &[CustomerDays],
    transactions: usize,
    calibration_end: Option<NaiveDate>,
    period: Period,
) -> Result<Summary, FitError> {
    let all = days.iter().flat_map(|(_, d)| d.iter().map(|d| d.0));
    let first_date = all.clone().min();
    let last_date = all.max();
    let (Some(first_date), Some(last_date)) = (first_date, last_date) else {
        return Err(FitError::Empty {
            detail: " (no transactions)".into(),
        });
    };
    let end = calibration_end.unwrap_or(last_date);
    let days_per = period.days();
    let mut customers = Vec::new();
    let mut purchase_day_count = 0;
    for (customer, days) in days {
        let calibration: Vec<_> = days.iter().filter(|d| d.0 <= end).collect();
        let Some(first) = calibration.first() else {
            continue;
        };
        let last = calibration.last().expect("non-empty");
        purchase_day_count += calibration.len();
        let span = |from: NaiveDate, to: NaiveDate| (to - from).num_days() as f64 / days_per;
        customers.push(CustomerSummary {
            customer: customer.clone(),
            first_purchase: first.0,
            x: (calibration.len() - 1) as f64,
            t_x: span(first.0, last.0),
            big_t: span(first.0, end),
            first_spend: first.1,
            repeat_spend_total: calibration[1..].iter().map(|d| d.1).sum(),
        });
    }
    if customers.is_empty() {
        return Err(FitError::BadOption(format!(
            "no customer made a first purchase on or before the calibration end {end} (the log starts {first_date})"
        )));
    }
    Ok(Summary {
        period,
        first_date,
        last_date,
        calibration_end: end,
        customers,
        transactions,
        purchase_days: purchase_day_count,
    })
}

//! A deterministic synthetic transaction log drawn from BG/NBD and Gamma-Gamma, shaped like
//! CDNOW (first purchases spread over the first weeks, then everyone observed to a common
//! end): what `clv bench fit` times `clv fit` on, at any size.
//!
//! Each customer draws lambda ~ Gamma(r, alpha), p ~ Beta(a, b) and nu ~ Gamma(q, gamma)
//! from a counter-based stream keyed by (seed, customer), makes a first purchase on a uniform
//! day of the entry window, then buys at exponential gaps (weeks) while alive, dropping out
//! after each repeat purchase with probability p; spend per purchase is Gamma(p_spend, nu)
//! dollars, rounded to cents.

use std::io::Write;

use chrono::NaiveDate;
use rand_distr::{Beta, Distribution, Gamma};

use super::log::Transaction;
use super::summary::DAYS_PER_WEEK;
use crate::btyd::{BgNbdParams, GammaGammaParams};
use crate::rng::{CustomerKey, Purpose, SeedDomain};

/// Cents per dollar (amounts are written to the cent).
const CENTS: f64 = 100.0;

/// The shape of a synthetic log.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticLog {
    /// Customers (each makes a first purchase).
    pub customers: usize,
    /// Seed of the draws.
    pub seed: u64,
    /// Date of the first day of the entry window.
    pub start: NaiveDate,
    /// Days over which first purchases are spread (CDNOW: the first 12 weeks of 1997).
    pub entry_days: u32,
    /// Days from `start` to the end of observation, inclusive of the last (CDNOW: to
    /// 1998-06-30).
    pub observed_days: u32,
}

impl Default for SyntheticLog {
    /// CDNOW's shape: 23,570 customers entering over 84 days from 1997-01-01, observed to
    /// 1998-06-30.
    fn default() -> Self {
        SyntheticLog {
            customers: 23_570,
            seed: 0,
            start: NaiveDate::from_ymd_opt(1997, 1, 1).expect("a valid date"),
            entry_days: 84,
            observed_days: 545,
        }
    }
}

/// Draws the log: every customer's purchases in date order, customers in index order, ids
/// `c0`, `c1`, ... The same arguments give the same log.
///
/// # Panics
/// When a parameter is not positive (see `validate` of the parameters).
pub fn synthetic_transactions(
    bg: &BgNbdParams,
    gg: &GammaGammaParams,
    shape: &SyntheticLog,
) -> Vec<Transaction> {
    let rate = Gamma::new(bg.r, 1.0 / bg.alpha).expect("valid BG/NBD parameters");
    let dropout = Beta::new(bg.a, bg.b).expect("valid BG/NBD parameters");
    let spend_rate = Gamma::new(gg.q, 1.0 / gg.gamma).expect("valid Gamma-Gamma parameters");
    let end_weeks = f64::from(shape.observed_days) / DAYS_PER_WEEK;
    let mut out = vec![];
    for i in 0..shape.customers {
        let key = CustomerKey::new(SeedDomain::Test, shape.seed, i as u64);
        let mut rng = key.rng(0, Purpose::Entry, 0);
        let lambda: f64 = rate.sample(&mut rng);
        let p: f64 = dropout.sample(&mut rng);
        let nu: f64 = spend_rate.sample(&mut rng);
        let spend = Gamma::new(gg.p, 1.0 / nu).expect("a positive spend rate");
        let first_day = (rng.uniform() * f64::from(shape.entry_days)).floor();
        let customer = format!("c{i}");
        let mut t = first_day / DAYS_PER_WEEK;
        let mut repeat = false;
        loop {
            let day = (t * DAYS_PER_WEEK).floor() as i64;
            let amount = (spend.sample(&mut rng) * CENTS).round() / CENTS;
            out.push(Transaction {
                customer: customer.clone(),
                date: shape.start + chrono::Duration::days(day),
                amount,
                line: out.len() as u64 + 2,
            });
            // The next purchase after an exponential gap, unless the customer dropped out
            // after this one (a repeat purchase).
            t += -rng.uniform().ln() / lambda;
            if t >= end_weeks || (repeat && rng.uniform() < p) {
                break;
            }
            repeat = true;
        }
    }
    out
}

/// Writes transactions as a `customer_id,date,amount` CSV (the columns `clv fit` reads by
/// default).
///
/// # Errors
/// Those of the writer.
pub fn write_log_csv(transactions: &[Transaction], mut w: impl Write) -> std::io::Result<()> {
    writeln!(w, "customer_id,date,amount")?;
    for t in transactions {
        writeln!(w, "{},{},{:.2}", t.customer, t.date, t.amount)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{LogOptions, Period, read_transactions, summarise};

    #[test]
    fn deterministic_and_reads_back() {
        let shape = SyntheticLog {
            customers: 300,
            ..SyntheticLog::default()
        };
        let (bg, gg) = (BgNbdParams::default(), GammaGammaParams::default());
        let log = synthetic_transactions(&bg, &gg, &shape);
        assert_eq!(log, synthetic_transactions(&bg, &gg, &shape));
        let mut csv = vec![];
        write_log_csv(&log, &mut csv).unwrap();
        let back = read_transactions(csv.as_slice(), &LogOptions::default()).unwrap();
        assert_eq!(back.len(), log.len());
        let summary = summarise(&back, None, Period::Week).unwrap();
        assert_eq!(summary.customers.len(), 300);
        assert!(summary.customers.iter().any(|c| c.x > 0.0));
    }
}

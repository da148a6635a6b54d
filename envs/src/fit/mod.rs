//! Fitting BG/NBD and Gamma-Gamma to a real transaction log (`clv fit`): reading the log,
//! building each customer's (x, t_x, T) and repeat spend, maximum-likelihood fits with
//! standard errors, and the holdout check.
//!
//! ```
//! use clv_envs::fit::{LogOptions, Period, fit_bgnbd, read_transactions, summarise};
//! let log = "customer_id,date,amount\n\
//!            a,2024-01-01,10\na,2024-01-15,12\na,2024-02-20,9\n\
//!            b,2024-01-03,30\nb,2024-01-03,5\n\
//!            c,2024-01-05,20\nc,2024-03-01,25\n";
//! let transactions = read_transactions(log.as_bytes(), &LogOptions::default())?;
//! let summary = summarise(&transactions, None, Period::Week)?;
//! assert_eq!(summary.customers[1].x, 0.0); // b's two purchases were on the same day
//! let fit = fit_bgnbd(&summary)?;
//! assert!(fit.log_likelihood.is_finite());
//! # Ok::<(), clv_envs::fit::FitError>(())
//! ```

mod error;
mod grouped;
mod holdout;
mod log;
mod mle;
mod summary;
mod synthetic;

pub use error::FitError;
pub use grouped::{BgNbdGroups, SpendGroups};
pub use holdout::{FREQUENCY_ROWS, FrequencyRow, HoldoutReport, TrackingRow, holdout_report};
pub use log::{
    DATE_FORMATS, EARLIEST_DATE, FUTURE_DAYS_ALLOWED, ISOLATED_GAP_MIN_DAYS, LogOptions,
    MAX_AMOUNT, RFC3339, Transaction, check_dates, for_each_transaction_file, isolated_last_date,
    parse_date, parse_date_with, read_transactions, read_transactions_file,
};
pub(crate) use mle::cholesky;
pub use mle::{
    BgNbdFit, GammaGammaFit, MAX_RELATIVE_STD_ERROR, PLAUSIBLE_PARAMS, fit_bgnbd, fit_gamma_gamma,
    fit_warnings,
};
pub use summary::{
    CustomerDays, CustomerSummary, DAYS_PER_MONTH, DAYS_PER_WEEK, Period, PurchaseDays, Summary,
    purchase_days, summarise, summarise_days,
};
pub use synthetic::{SyntheticLog, synthetic_transactions, write_log_csv};

//! The error type of fitting: every problem with the input names its line.

use std::path::PathBuf;

use thiserror::Error;

/// Errors of reading a transaction log and fitting models to it.
#[derive(Debug, Error)]
pub enum FitError {
    /// The log could not be opened or read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The log was refused (not a regular file, larger than the limit).
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    /// The log is empty (no header, or a header and no transactions).
    #[error("the transaction log is empty{detail}")]
    Empty {
        /// More detail, e.g. " (a header but no rows)".
        detail: String,
    },
    /// A required column is not in the header (line 1).
    #[error(
        "line 1: no column `{}` (the {role} column; set it with --{role}-column); the header has: {}", crate::files::excerpt(.column), crate::files::excerpt(.found)
    )]
    MissingColumn {
        /// The column looked for.
        column: String,
        /// Its role: `customer`, `date` or `amount`.
        role: &'static str,
        /// The header's columns, comma-separated.
        found: String,
    },
    /// A row could not be read as CSV (e.g. a wrong number of fields).
    #[error("line {line}: {}", crate::files::excerpt(.message))]
    Csv {
        /// 1-based line number in the file.
        line: u64,
        /// What went wrong.
        message: String,
    },
    /// A date could not be parsed.
    #[error("line {line}: cannot read date `{}` ({expected})", crate::files::excerpt(.value))]
    BadDate {
        /// 1-based line number in the file (0 for a date given on the command line).
        line: u64,
        /// The text found.
        value: String,
        /// The formats tried or required.
        expected: String,
    },
    /// An amount is not a finite number.
    #[error("line {line}: cannot read amount `{}` as a number", crate::files::excerpt(.value))]
    BadAmount {
        /// 1-based line number in the file.
        line: u64,
        /// The text found.
        value: String,
    },
    /// An amount is negative (returns must be netted out before fitting).
    #[error("line {line}: negative amount {value} (returns must be netted out before fitting)")]
    NegativeAmount {
        /// 1-based line number in the file.
        line: u64,
        /// The amount, dollars.
        value: f64,
    },
    /// An amount is larger than any plausible single purchase.
    #[error(
        "line {line}: amount {value:e} is above {limit:e}, the largest plausible single purchase \
         (one purchase per row, in dollars): fix or drop the row"
    )]
    ImplausibleAmount {
        /// 1-based line number in the file.
        line: u64,
        /// The amount.
        value: f64,
        /// The limit ([`MAX_AMOUNT`](crate::fit::MAX_AMOUNT)).
        limit: f64,
    },
    /// A date is outside the range a purchase log can hold (a sentinel such as 0001-01-01 or
    /// 9999-12-31, or a date in the future).
    #[error(
        "line {line}: date {date} is outside the plausible range {earliest} .. {latest} of a \
         purchase log ({why}): fix or drop the row"
    )]
    ImplausibleDate {
        /// 1-based line number in the file.
        line: u64,
        /// The date read.
        date: chrono::NaiveDate,
        /// The earliest date accepted.
        earliest: chrono::NaiveDate,
        /// The latest date accepted.
        latest: chrono::NaiveDate,
        /// Why the range is what it is.
        why: &'static str,
    },
    /// A customer id is empty.
    #[error("line {line}: empty customer id")]
    EmptyCustomer {
        /// 1-based line number in the file.
        line: u64,
    },
    /// An option is inconsistent with the data or with another option.
    #[error("{0}")]
    BadOption(String),
    /// Too few customers or purchases to fit a model.
    #[error("not enough data to fit {model}: {detail}")]
    NotEnoughData {
        /// `BG/NBD` or `Gamma-Gamma`.
        model: &'static str,
        /// What is missing.
        detail: String,
    },
    /// The optimiser failed.
    #[error("fitting {model}: the optimiser failed: {message}")]
    Optimiser {
        /// `BG/NBD` or `Gamma-Gamma`.
        model: &'static str,
        /// The optimiser's message.
        message: String,
    },
}

//! The options that say how to read a transaction log, shared by `clv fit`, `clv predict` and
//! `clv score`, and the checked read itself.

use std::path::Path;

use anyhow::{Context, anyhow};
use clv_envs::fit::{
    CustomerDays, LogOptions, PurchaseDays, Transaction, check_dates, for_each_transaction_file,
    read_transactions_file,
};

/// Columns, date format and delimiter of a transaction log.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Name of the customer id column.
    #[arg(long, default_value = "customer_id")]
    pub customer_column: String,
    /// Name of the date column.
    #[arg(long, default_value = "date")]
    pub date_column: String,
    /// Name of the amount column (dollars).
    #[arg(long, default_value = "amount")]
    pub amount_column: String,
    /// Date format in chrono's strftime syntax (e.g. `%d/%m/%Y`), or `rfc3339`; detected when
    /// omitted (day-first and month-first slash dates are ambiguous: give it for those).
    #[arg(long)]
    pub date_format: Option<String>,
    /// Field delimiter of the log (one character; `\t` for tab).
    #[arg(long, default_value = ",")]
    pub delimiter: String,
}

impl LogArgs {
    /// The reader's options.
    pub fn options(&self) -> anyhow::Result<LogOptions> {
        Ok(LogOptions {
            customer_column: self.customer_column.clone(),
            date_column: self.date_column.clone(),
            amount_column: self.amount_column.clone(),
            date_format: self.date_format.clone(),
            delimiter: delimiter_byte(&self.delimiter)?,
        })
    }

    /// Reads the log at `path` and checks its dates against today; errors name the file.
    pub fn read(&self, path: &Path) -> anyhow::Result<Vec<Transaction>> {
        let input = path.display().to_string();
        let transactions = read_transactions_file(path, &self.options()?)
            .with_context(|| format!("reading transactions from {input}"))?;
        check_dates(&transactions, today())
            .with_context(|| format!("reading transactions from {input}"))?;
        Ok(transactions)
    }

    /// Reads the log at `path` in two passes without holding its rows (same checks and errors
    /// as [`LogArgs::read`]): each customer's purchase days and the number of transactions.
    pub fn read_days(&self, path: &Path) -> anyhow::Result<(Vec<CustomerDays>, usize)> {
        let today = today();
        let mut acc = PurchaseDays::default();
        for_each_transaction_file(path, &self.options()?, |t| {
            check_dates(std::slice::from_ref(&t), today)?;
            acc.push(&t.customer, t.date, t.amount);
            Ok(())
        })
        .with_context(|| format!("reading transactions from {}", path.display()))?;
        let n = acc.transactions();
        Ok((acc.finish(), n))
    }
}

/// Today's date (UTC), the latest a purchase may be dated.
fn today() -> chrono::NaiveDate {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now()).date_naive()
}

/// The delimiter option as one byte.
fn delimiter_byte(text: &str) -> anyhow::Result<u8> {
    match text {
        "\\t" | "\t" | "tab" => Ok(b'\t'),
        t if t.len() == 1 && t.is_ascii() => Ok(t.as_bytes()[0]),
        t => Err(anyhow!(
            "--delimiter must be one ASCII character, got {t:?}"
        )),
    }
}

//! Reading a transaction log: one row per purchase with a customer id, a date and an amount,
//! column names configurable; dates in the common formats (detected) or a given one.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::error::FitError;

/// Date formats tried, in order, when none is given (chrono `strftime` syntax). Day-first and
/// month-first slash dates are ambiguous: the first format that reads every row wins, so a log
/// whose days are all <= 12 is read month-first; give `date_format` to decide.
pub const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%Y%m%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    RFC3339,
];

/// Largest amount of one purchase (one row) accepted, dollars: larger amounts are typing or
/// export errors (a 1e308 would make the fitted mean spend infinite).
pub const MAX_AMOUNT: f64 = 1e9;

/// Earliest purchase date accepted: earlier dates are sentinels (0001-01-01) or typing errors.
pub const EARLIEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date");

/// Days after today that a purchase date may be (time zones, clocks a little ahead).
pub const FUTURE_DAYS_ALLOWED: i64 = 2;

/// Pseudo-format name for RFC 3339 / ISO 8601 timestamps with an offset.
pub const RFC3339: &str = "rfc3339";

/// How to read a log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogOptions {
    /// Name of the customer id column.
    pub customer_column: String,
    /// Name of the purchase date column.
    pub date_column: String,
    /// Name of the amount column (dollars, or the log's currency).
    pub amount_column: String,
    /// Date format (chrono `strftime` syntax, or `rfc3339`); detected from [`DATE_FORMATS`]
    /// when `None`.
    pub date_format: Option<String>,
    /// Field delimiter byte (`b','` for CSV).
    pub delimiter: u8,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            customer_column: "customer_id".into(),
            date_column: "date".into(),
            amount_column: "amount".into(),
            date_format: None,
            delimiter: b',',
        }
    }
}

/// One purchase as read from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// Customer id, as written.
    pub customer: String,
    /// Purchase date (the time of day, if any, is dropped).
    pub date: NaiveDate,
    /// Amount, dollars (>= 0).
    pub amount: f64,
    /// 1-based line in the file.
    pub line: u64,
}

/// Parses `value` with one format (a chrono format or [`RFC3339`]).
pub fn parse_date_with(value: &str, format: &str) -> Option<NaiveDate> {
    if format == RFC3339 {
        return DateTime::parse_from_rfc3339(value)
            .ok()
            .map(|d| d.date_naive());
    }
    if format.contains("%H") {
        return NaiveDateTime::parse_from_str(value, format)
            .ok()
            .map(|d| d.date());
    }
    NaiveDate::parse_from_str(value, format).ok()
}

/// Parses a date given on the command line, in any of [`DATE_FORMATS`].
///
/// # Errors
/// [`FitError::BadDate`] with line 0.
pub fn parse_date(value: &str) -> Result<NaiveDate, FitError> {
    let value = value.trim();
    DATE_FORMATS
        .iter()
        .find_map(|f| parse_date_with(value, f))
        .ok_or_else(|| FitError::BadDate {
            line: 0,
            value: value.to_string(),
            expected: format!("tried {}", DATE_FORMATS.join(", ")),
        })
}

/// Reads a log file; see [`read_transactions`].
///
/// # Errors
/// [`FitError::File`] when the file is refused (not a regular file, over
/// [`MAX_CSV_BYTES`](crate::files::MAX_CSV_BYTES)) or cannot be opened, and those of
/// [`read_transactions`].
pub fn read_transactions_file(
    path: &Path,
    options: &LogOptions,
) -> Result<Vec<Transaction>, FitError> {
    let file = crate::files::open_limited(path, crate::files::MAX_CSV_BYTES)?;
    read_transactions(file, options)
}

/// A reader that turns each CRLF line ending into LF. The csv crate takes CRLF as one
/// terminator but dates a record from the `\r` before it, so that every line number after a
/// CRLF line would be one too small.
struct CrLfAsLf<R> {
    inner: R,
    /// A `\r` read at the end of the last chunk, not yet known to precede `\n`.
    pending_cr: bool,
}

impl<R: Read> CrLfAsLf<R> {
    fn new(inner: R) -> Self {
        CrLfAsLf {
            inner,
            pending_cr: false,
        }
    }
}

impl<R: Read> Read for CrLfAsLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // Room for a pending `\r` that turns out not to precede `\n`.
            let room = buf.len() - usize::from(self.pending_cr);
            let mut chunk = vec![0u8; room.max(1)];
            let n = self.inner.read(&mut chunk)?;
            let mut out = 0;
            if n == 0 {
                if self.pending_cr {
                    self.pending_cr = false;
                    buf[0] = b'\r';
                    return Ok(1);
                }
                return Ok(0);
            }
            let mut bytes = chunk[..n].iter().copied().peekable();
            if self.pending_cr {
                self.pending_cr = false;
                if bytes.peek() != Some(&b'\n') {
                    buf[out] = b'\r';
                    out += 1;
                }
            }
            while let Some(b) = bytes.next() {
                if b == b'\r' {
                    match bytes.peek() {
                        Some(b'\n') => continue,
                        None => {
                            self.pending_cr = true;
                            continue;
                        }
                        Some(_) => {}
                    }
                }
                buf[out] = b;
                out += 1;
            }
            if out > 0 {
                return Ok(out);
            }
        }
    }
}

/// A row's raw fields before parsing.
struct RawRow {
    line: u64,
    customer: String,
    date: String,
    amount: String,
}

/// Calls `each` with every non-empty row of a log with a header row, after finding the
/// customer, date and amount columns; returns the number of rows.
fn for_each_raw_row<R: Read>(
    reader: R,
    options: &LogOptions,
    mut each: impl FnMut(RawRow) -> Result<(), FitError>,
) -> Result<usize, FitError> {
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(CrLfAsLf::new(reader));
    let header = csv.headers().map_err(|e| csv_error(&e, 1))?.clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(FitError::Empty {
            detail: " (no header row)".into(),
        });
    }
    let column = |name: &str, role: &'static str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| FitError::MissingColumn {
                column: name.to_string(),
                role,
                found: header.iter().collect::<Vec<_>>().join(", "),
            })
    };
    let ci = column(&options.customer_column, "customer")?;
    let di = column(&options.date_column, "date")?;
    let ai = column(&options.amount_column, "amount")?;
    let mut rows = 0;
    for record in csv.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            csv_error(&e, line)
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        rows += 1;
        each(RawRow {
            line,
            customer: record[ci].to_string(),
            date: record[di].to_string(),
            amount: record[ai].to_string(),
        })?;
    }
    if rows == 0 {
        return Err(FitError::Empty {
            detail: " (a header but no transactions)".into(),
        });
    }
    Ok(rows)
}

/// Parses a raw row with the chosen date format.
fn parse_row(row: RawRow, format: &str) -> Result<Transaction, FitError> {
    if row.customer.is_empty() {
        return Err(FitError::EmptyCustomer { line: row.line });
    }
    let date = parse_date_with(&row.date, format).ok_or_else(|| FitError::BadDate {
        line: row.line,
        value: row.date.clone(),
        expected: format!("expected format {format}"),
    })?;
    let amount = parse_amount(&row.amount, row.line)?;
    Ok(Transaction {
        customer: row.customer,
        date,
        amount,
        line: row.line,
    })
}

/// Reads every transaction of a log with a header row.
///
/// # Errors
/// [`FitError::Empty`], [`FitError::MissingColumn`], [`FitError::Csv`],
/// [`FitError::BadDate`], [`FitError::BadAmount`], [`FitError::NegativeAmount`],
/// [`FitError::EmptyCustomer`], each naming the line.
pub fn read_transactions<R: Read>(
    reader: R,
    options: &LogOptions,
) -> Result<Vec<Transaction>, FitError> {
    let mut rows = Vec::new();
    let mut chooser = DateFormatChooser::new(options.date_format.as_deref());
    for_each_raw_row(reader, options, |row| {
        chooser.observe(&row);
        rows.push(row);
        Ok(())
    })?;
    let format = chooser.choose()?;
    rows.into_iter().map(|row| parse_row(row, format)).collect()
}

/// Reads a log file in two passes without holding its rows: the first chooses the date
/// format, the second parses every row (the same checks and errors as [`read_transactions`])
/// and hands it to `each`. Returns the number of transactions.
///
/// # Errors
/// Those of [`read_transactions_file`], and any `each` returns.
pub fn for_each_transaction_file(
    path: &Path,
    options: &LogOptions,
    mut each: impl FnMut(Transaction) -> Result<(), FitError>,
) -> Result<usize, FitError> {
    let mut chooser = DateFormatChooser::new(options.date_format.as_deref());
    let file = crate::files::open_limited(path, crate::files::MAX_CSV_BYTES)?;
    for_each_raw_row(file, options, |row| {
        chooser.observe(&row);
        Ok(())
    })?;
    let format = chooser.choose()?;
    let file = crate::files::open_limited(path, crate::files::MAX_CSV_BYTES)?;
    for_each_raw_row(file, options, |row| each(parse_row(row, format)?))
}

/// Chooses the date format while rows stream past: the given one, else the first of
/// [`DATE_FORMATS`] that reads every row; failing that, the one that reads the first row (so
/// that the error names the first row it cannot read).
struct DateFormatChooser<'a> {
    given: Option<&'a str>,
    /// Whether each of [`DATE_FORMATS`] has read every row so far.
    reads_all: [bool; DATE_FORMATS.len()],
    /// The first row's line and date.
    first: Option<(u64, String)>,
}

impl<'a> DateFormatChooser<'a> {
    fn new(given: Option<&'a str>) -> Self {
        Self {
            given,
            reads_all: [true; DATE_FORMATS.len()],
            first: None,
        }
    }

    fn observe(&mut self, row: &RawRow) {
        if self.given.is_some() {
            return;
        }
        if self.first.is_none() {
            self.first = Some((row.line, row.date.clone()));
        }
        for (ok, f) in self.reads_all.iter_mut().zip(DATE_FORMATS) {
            *ok = *ok && parse_date_with(&row.date, f).is_some();
        }
    }

    fn choose(self) -> Result<&'a str, FitError> {
        if let Some(f) = self.given {
            return Ok(f);
        }
        if let Some((_, f)) = self.reads_all.iter().zip(DATE_FORMATS).find(|(ok, _)| **ok) {
            return Ok(f);
        }
        let (line, date) = self.first.unwrap_or_default();
        DATE_FORMATS
            .iter()
            .find(|f| parse_date_with(&date, f).is_some())
            .copied()
            .ok_or_else(|| FitError::BadDate {
                line,
                value: date,
                expected: format!("tried {}; set --date-format", DATE_FORMATS.join(", ")),
            })
    }
}

/// Parses an amount: a finite, non-negative number, optionally with a leading `$`.
fn parse_amount(text: &str, line: u64) -> Result<f64, FitError> {
    let cleaned = text.strip_prefix('$').unwrap_or(text).trim();
    let value: f64 = cleaned.parse().map_err(|_| FitError::BadAmount {
        line,
        value: text.to_string(),
    })?;
    if !value.is_finite() {
        return Err(FitError::BadAmount {
            line,
            value: text.to_string(),
        });
    }
    if value < 0.0 {
        return Err(FitError::NegativeAmount { line, value });
    }
    if value > MAX_AMOUNT {
        return Err(FitError::ImplausibleAmount {
            line,
            value,
            limit: MAX_AMOUNT,
        });
    }
    Ok(value)
}

/// Checks that every transaction's date is between [`EARLIEST_DATE`] and `today` plus
/// [`FUTURE_DAYS_ALLOWED`] (a sentinel such as 9999-12-31 would otherwise move the calibration
/// end of every customer).
///
/// # Errors
/// [`FitError::ImplausibleDate`] naming the first such row.
pub fn check_dates(transactions: &[Transaction], today: NaiveDate) -> Result<(), FitError> {
    let latest = today + chrono::Duration::days(FUTURE_DAYS_ALLOWED);
    for t in transactions {
        let why = if t.date < EARLIEST_DATE {
            "earlier dates are placeholders or typing errors"
        } else if t.date > latest {
            "a purchase cannot be dated after today"
        } else {
            continue;
        };
        return Err(FitError::ImplausibleDate {
            line: t.line,
            date: t.date,
            earliest: EARLIEST_DATE,
            latest,
            why,
        });
    }
    Ok(())
}

/// Smallest gap, days, between the last purchase date and the one before it that
/// [`isolated_last_date`] reports (below it, a quiet spell is ordinary).
pub const ISOLATED_GAP_MIN_DAYS: i64 = 28;

/// The row whose date is the latest of the log when that date stands far after every other
/// (more than [`ISOLATED_GAP_MIN_DAYS`] and more than the span of all the other dates): it
/// alone sets the default calibration end. Returns the transaction and the gap in days.
pub fn isolated_last_date(transactions: &[Transaction]) -> Option<(&Transaction, i64)> {
    let last = transactions.iter().max_by_key(|t| (t.date, t.line))?;
    let others = transactions.iter().filter(|t| t.date < last.date);
    let (first, previous) = others.fold((None, None), |(lo, hi): (Option<NaiveDate>, _), t| {
        (
            Some(lo.map_or(t.date, |d| d.min(t.date))),
            Some(hi.map_or(t.date, |d: NaiveDate| d.max(t.date))),
        )
    });
    let (first, previous) = (first?, previous?);
    let gap = (last.date - previous).num_days();
    let span = (previous - first).num_days();
    (gap > ISOLATED_GAP_MIN_DAYS && gap > span).then_some((last, gap))
}

/// A CSV reader error as a [`FitError::Csv`] at `line`.
fn csv_error(e: &csv::Error, line: u64) -> FitError {
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields as in the header, found {len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
        _ => e.to_string(),
    };
    FitError::Csv { line, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<Transaction>, FitError> {
        read_transactions(text.as_bytes(), &LogOptions::default())
    }

    #[test]
    fn reads_the_common_date_formats() {
        for (date, want) in [
            ("1997-01-05", (1997, 1, 5)),
            ("19970105", (1997, 1, 5)),
            ("1997/01/05", (1997, 1, 5)),
            ("01/05/1997", (1997, 1, 5)),
            ("25/01/1997", (1997, 1, 25)),
            ("1997-01-05 13:45:00", (1997, 1, 5)),
            ("1997-01-05T13:45:00", (1997, 1, 5)),
            ("1997-01-05T13:45:00+02:00", (1997, 1, 5)),
        ] {
            let t = read(&format!("customer_id,date,amount\na,{date},1.5\n")).unwrap();
            let want = NaiveDate::from_ymd_opt(want.0, want.1, want.2).unwrap();
            assert_eq!(t[0].date, want, "{date}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let e = read("customer_id,date,amount\na,1997-01-01,1\na,1997-13-45,2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: cannot read date `1997-13-45` (expected format %Y-%m-%d)"
        );
        let e = read("customer_id,date,amount\na,1997-01-01,x1\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2: cannot read amount `x1` as a number");
        let e = read("customer_id,date,amount\na,1997-01-01,1\nb,1997-01-02,-3\n").unwrap_err();
        assert!(
            e.to_string().starts_with("line 3: negative amount -3"),
            "{e}"
        );
        let e = read("customer_id,day,amount\na,1997-01-01,1\n").unwrap_err();
        assert!(e.to_string().starts_with("line 1: no column `date`"), "{e}");
        assert!(matches!(read("").unwrap_err(), FitError::Empty { .. }));
        assert!(matches!(
            read("customer_id,date,amount\n").unwrap_err(),
            FitError::Empty { .. }
        ));
        let e = read("customer_id,date,amount\na,1997-01-01,1e308\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: amount 1e308 is above 1e9, the largest plausible single purchase (one \
             purchase per row, in dollars): fix or drop the row"
        );
        let e = read("customer_id,date,amount\na,1997-01-01\n").unwrap_err();
        assert!(
            e.to_string().starts_with("line 2: expected 3 fields"),
            "{e}"
        );
    }

    #[test]
    fn crlf_lines_are_numbered_as_lines() {
        let e =
            read("customer_id,date,amount\r\na,1997-01-01,1\r\nb,1997-01-02,x\r\n").unwrap_err();
        assert!(e.to_string().starts_with("line 3:"), "{e}");
        // A CR split from its LF by a one-byte reader, and a lone CR inside a quoted id.
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let Some((&b, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = b;
                self.0 = rest;
                Ok(1)
            }
        }
        let text = b"customer_id,date,amount\r\n\"a\rb\",1997-01-01,1\r\nc,1997-01-02,x\r\n";
        let e = read_transactions(OneByte(text), &LogOptions::default()).unwrap_err();
        assert!(e.to_string().starts_with("line 3:"), "{e}");
        let ok = b"customer_id,date,amount\r\n\"a\rb\",1997-01-01,1\r\n";
        let t = read_transactions(OneByte(ok), &LogOptions::default());
        assert_eq!(t.unwrap()[0].customer, "a\rb");
    }

    #[test]
    fn implausible_and_isolated_dates_are_found() {
        let t = read("customer_id,date,amount\na,1997-01-01,1\nb,1997-03-01,1\nc,9999-12-31,1\n")
            .unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let e = check_dates(&t, today).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "line 4: date 9999-12-31 is outside the plausible range 1900-01-01 .. 2026-01-03"
            ),
            "{e}"
        );
        let (row, gap) = isolated_last_date(&t).unwrap();
        assert_eq!(
            (row.line, gap),
            (
                4,
                (NaiveDate::from_ymd_opt(9999, 12, 31).unwrap()
                    - NaiveDate::from_ymd_opt(1997, 3, 1).unwrap())
                .num_days()
            )
        );
        let t = read("customer_id,date,amount\na,0001-01-01,1\n").unwrap();
        assert!(check_dates(&t, today).is_err());
        let t = read("customer_id,date,amount\na,1997-01-01,1\nb,1997-03-01,1\nc,1997-03-09,1\n")
            .unwrap();
        assert!(check_dates(&t, today).is_ok());
        assert!(isolated_last_date(&t).is_none());
    }
}

//! `clv fit`: fit BG/NBD and Gamma-Gamma to a real transaction log, report the estimates with
//! standard errors, optionally check them on a holdout period (table and tracking plot), and
//! write a scenario whose population uses the fit.
//!
//! Every output is staged under a temporary name beside its destination and renamed into place
//! only once all of them have been produced, so a failed run writes nothing.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, anyhow};
use chrono::NaiveDate;
use clv_envs::Scenario;
use clv_envs::Start;
use clv_envs::btyd::{BgNbdParams, bgnbd, gamma_gamma};
use clv_envs::fit::{
    BgNbdFit, GammaGammaFit, HoldoutReport, Period, Summary, fit_bgnbd, fit_gamma_gamma,
    fit_warnings, holdout_report, isolated_last_date, parse_date, summarise,
};
use clv_envs::scenario::parse_scenario;
use plotters::prelude::*;

use crate::run_files::{FIT_REPORT_SCHEMA_VERSION, FitBgNbd, FitGammaGamma, FitReport};

/// The documented defaults that the written scenario takes everything but the population from.
const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/default.ron");
/// Size of the tracking plot, pixels.
const PLOT_SIZE: (u32, u32) = (1000, 800);

/// The time unit of frequency, recency and age in the fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PeriodArg {
    /// Days.
    Day,
    /// Weeks (7 days): the unit of scenarios and of the published CDNOW estimates.
    Week,
    /// Months (365.25 / 12 days).
    Month,
}

impl From<PeriodArg> for Period {
    fn from(p: PeriodArg) -> Period {
        match p {
            PeriodArg::Day => Period::Day,
            PeriodArg::Week => Period::Week,
            PeriodArg::Month => Period::Month,
        }
    }
}

/// Arguments of `clv fit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Transaction log (a regular file of at most 2 GiB; amounts at most $1e9 a row, dates
    /// from 1900-01-01 to today): a CSV with a header row, one purchase per row (customer id, date,
    /// amount in dollars). Same-day purchases of a customer are merged.
    pub transactions: PathBuf,
    /// Scenario to write (RON). With --warm-start, `<stem>.histories.csv` is written beside it;
    /// with --holdout-end, `<stem>.tracking.csv`, `.png` and `.svg`.
    #[arg(long)]
    pub out: PathBuf,
    /// Last day of the calibration period (inclusive); default: the last date in the log.
    /// Any common format (2024-03-31, 20240331, 03/31/2024, ...).
    #[arg(long, value_name = "DATE")]
    pub calibration_end: Option<String>,
    /// Last day of a holdout period after the calibration end (inclusive): predicted and actual
    /// repeat purchases are compared in total, by calibration frequency and period by period.
    #[arg(long, value_name = "DATE", requires = "calibration_end")]
    pub holdout_end: Option<String>,
    /// Time unit of the fit (the scenario is always written in weeks).
    #[arg(long, value_enum, default_value = "week")]
    pub period: PeriodArg,
    /// How to read the log.
    #[command(flatten)]
    pub log: crate::log_args::LogArgs,
    /// Start the scenario's customers from their observed histories (x, t_x, T, repeat spend),
    /// hidden traits drawn from the BG/NBD posterior given each history.
    #[arg(long)]
    pub warm_start: bool,
    /// Print the fit as JSON on standard output instead of the readable report.
    #[arg(long)]
    pub json: bool,
}

/// What a log can and cannot tell, printed with every fit and written into the scenario.
const IDENTIFICATION_NOTE: &str = "The log reflects the marketing the firm already did, so \
these estimates are the baseline under the old policy; offer-response parameters (coupon \
response, recommendations, fatigue, habituation, win-back) cannot be identified from it and are \
left at the documented defaults of scenarios/default.ron, as assumptions.";

/// Runs `clv fit`.
pub fn run(args: Args) -> anyhow::Result<()> {
    crate::io::check_out_file(&args.out, "--out")?;
    let period = Period::from(args.period);
    let calibration_end = args
        .calibration_end
        .as_deref()
        .map(parse_date)
        .transpose()
        .context("--calibration-end")?;
    let holdout_end = args
        .holdout_end
        .as_deref()
        .map(parse_date)
        .transpose()
        .context("--holdout-end")?;
    let input = args.transactions.display().to_string();
    let transactions = args.log.read(&args.transactions)?;
    let mut warnings = vec![];
    if calibration_end.is_none()
        && let Some((row, gap)) = isolated_last_date(&transactions)
    {
        warnings.push(format!(
            "{input} line {}: the latest date {} is {gap} days after every other purchase and \
             alone sets the calibration end of every customer; check the row, or give \
             --calibration-end",
            row.line, row.date
        ));
    }
    let summary = summarise(&transactions, calibration_end, period)
        .with_context(|| format!("summarising {input}"))?;

    let started = Instant::now();
    let bg = fit_bgnbd(&summary)?;
    let gg = fit_gamma_gamma(&summary)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    warnings.extend(fit_warnings(&bg, &gg));
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let holdout = holdout_end
        .map(|end| holdout_report(&transactions, &summary, &bg.params, end))
        .transpose()?;

    // Stage every output, then move them all into place.
    let out = &args.out;
    let mut staged = Staged::default();
    let histories_path = sibling(out, "histories.csv")?;
    let scenario = build_scenario(&args, &summary, &bg, &gg, &histories_path).with_context(|| {
        if warnings.is_empty() {
            "no scenario written".to_string()
        } else {
            format!(
                "no scenario written: {} warning(s) above say the log does not identify the fit",
                warnings.len()
            )
        }
    })?;
    let scenario_text = scenario_text(&scenario, &input, &summary, &bg, &gg, &warnings)?;
    staged.bytes(out, scenario_text.as_bytes())?;
    if args.warm_start {
        staged.bytes(&histories_path, &histories_csv(&summary)?)?;
    }
    if let Some(h) = &holdout {
        crate::plots::register_fonts()?;
        staged.bytes(&sibling(out, "tracking.csv")?, &tracking_csv(h)?)?;
        let png = sibling(out, "tracking.png")?;
        let tmp = staged.path(&png)?;
        draw_tracking(
            BitMapBackend::new(&tmp, PLOT_SIZE).into_drawing_area(),
            h,
            &summary,
        )
        .with_context(|| format!("drawing {}", png.display()))?;
        let svg = sibling(out, "tracking.svg")?;
        let tmp = staged.path(&svg)?;
        draw_tracking(
            SVGBackend::new(&tmp, PLOT_SIZE).into_drawing_area(),
            h,
            &summary,
        )
        .with_context(|| format!("drawing {}", svg.display()))?;
    }
    let files = staged.commit()?;

    if args.json {
        let mut report = json_report(
            &args,
            &summary,
            &bg,
            &gg,
            holdout.as_ref(),
            &files,
            fit_seconds,
        );
        report.warnings = warnings;
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            text_report(
                &input,
                &summary,
                &bg,
                &gg,
                holdout.as_ref(),
                &files,
                fit_seconds
            )
        );
    }
    Ok(())
}

/// `<dir>/<stem>.<suffix>` beside the scenario `out`.
fn sibling(out: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    let stem = out
        .file_stem()
        .with_context(|| format!("--out {} is not a file path", out.display()))?;
    Ok(out.with_file_name(format!("{}.{suffix}", stem.to_string_lossy())))
}

/// The scenario: scenarios/default.ron's documented defaults with the fitted population (in
/// weeks), and, with --warm-start, a warm start from the histories file.
fn build_scenario(
    args: &Args,
    summary: &Summary,
    bg: &BgNbdFit,
    gg: &GammaGammaFit,
    histories_path: &Path,
) -> anyhow::Result<Scenario> {
    let mut s = parse_scenario(DEFAULT_SCENARIO, Path::new("scenarios/default.ron"))
        .context("reading the built-in default scenario")?;
    let stem = args
        .out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "fitted".into());
    s.name = stem;
    s.description = format!(
        "Fitted by clv fit to {} ({} customers, calibration to {}); marketing mechanisms at the default assumptions",
        args.transactions.display(),
        summary.customers.len(),
        summary.calibration_end
    );
    s.population.bgnbd = params_in_weeks(&bg.params, summary.period);
    s.population.spend = gg.params;
    // The estimates' covariance, for `compare --parameter-draws` (a matrix the scenario would
    // refuse, e.g. not positive definite after rounding, is left out).
    let uncertainty = clv_envs::scenario::ParameterUncertainty {
        bgnbd_log_covariance: bg.log_covariance.clone(),
        spend_log_covariance: gg.log_covariance.clone(),
        customers: summary.customers.len() as u64,
    };
    let known =
        uncertainty.bgnbd_log_covariance.is_some() || uncertainty.spend_log_covariance.is_some();
    s.population.uncertainty = Some(uncertainty);
    if !known || s.validate().is_err() {
        s.population.uncertainty = None;
    }
    if args.warm_start {
        s.population.customers = summary.customers.len() as u64;
        let name = histories_path
            .file_name()
            .context("histories path")?
            .to_string_lossy()
            .into_owned();
        s.start = Start::WarmStart { histories: name };
    }
    s.validate()
        .context("the fitted scenario does not validate")?;
    Ok(s)
}

/// BG/NBD parameters in `period` units converted to weeks: lambda per week = lambda per period
/// / (weeks per period), so alpha scales by weeks per period; r, a, b are unit-free.
fn params_in_weeks(p: &BgNbdParams, period: Period) -> BgNbdParams {
    BgNbdParams {
        alpha: p.alpha * period.weeks(),
        ..*p
    }
}

/// The scenario as RON with a header comment saying what was fitted and what is assumed.
fn scenario_text(
    s: &Scenario,
    input: &str,
    summary: &Summary,
    bg: &BgNbdFit,
    gg: &GammaGammaFit,
    warnings: &[String],
) -> anyhow::Result<String> {
    let w = params_in_weeks(&bg.std_errors, summary.period);
    let mut text = String::new();
    writeln!(text, "// Written by `clv fit` from {input}.")?;
    for warning in warnings {
        writeln!(text, "// WARNING: {}", warning.replace('\n', " "))?;
    }
    writeln!(
        text,
        "// {} customers whose first purchase is in {} .. {}; calibration to {}.",
        summary.customers.len(),
        summary.first_date,
        last_first_purchase(summary),
        summary.calibration_end
    )?;
    writeln!(
        text,
        "// FITTED (maximum likelihood, standard errors in brackets; weeks and dollars):"
    )?;
    let b = &s.population.bgnbd;
    writeln!(
        text,
        "//   population.bgnbd: r = {:.4} ({:.4}), alpha = {:.4} ({:.4}), a = {:.4} ({:.4}), b = {:.4} ({:.4}); LL = {:.2}",
        b.r, w.r, b.alpha, w.alpha, b.a, w.a, b.b, w.b, bg.log_likelihood
    )?;
    let g = &s.population.spend;
    let e = &gg.std_errors;
    writeln!(
        text,
        "//   population.spend: p = {:.4} ({:.4}), q = {:.4} ({:.4}), gamma = {:.4} ({:.4}); LL = {:.2}",
        g.p, e.p, g.q, e.q, g.gamma, e.gamma, gg.log_likelihood
    )?;
    if s.population.uncertainty.is_some() {
        writeln!(
            text,
            "//   population.uncertainty: the estimates' asymptotic covariance in log-parameters, for `clv compare --parameter-draws N`."
        )?;
    }
    writeln!(
        text,
        "// ASSUMPTIONS: everything else (economics, coupon response, recommendations, fatigue,"
    )?;
    writeln!(
        text,
        "// habituation, win-back, offers, horizon) is copied from the documented defaults of"
    )?;
    writeln!(
        text,
        "// scenarios/default.ron. A log reflects the marketing the firm already did, so the fit"
    )?;
    writeln!(
        text,
        "// is the baseline under the old policy, and offer-response parameters cannot be"
    )?;
    writeln!(
        text,
        "// identified from it: change them to what you believe."
    )?;
    if let Start::WarmStart { histories } = &s.start {
        writeln!(
            text,
            "// start: each customer starts from a real history in {histories} (weeks, dollars),"
        )?;
        writeln!(
            text,
            "// hidden traits drawn from the BG/NBD posterior given it; population.customers = histories."
        )?;
    }
    let cfg = ron::ser::PrettyConfig::new().struct_names(true);
    text.push_str(&ron::ser::to_string_pretty(s, cfg)?);
    text.push('\n');
    // The written text must read back as the same scenario.
    let back = parse_scenario(&text, Path::new("fitted scenario"))?;
    anyhow::ensure!(
        back == *s,
        "the written scenario does not read back as written"
    );
    Ok(text)
}

/// The latest first-purchase date among the calibration customers.
fn last_first_purchase(summary: &Summary) -> NaiveDate {
    summary
        .customers
        .iter()
        .map(|c| c.first_purchase)
        .max()
        .unwrap_or(summary.first_date)
}

/// Warm-start histories: `customer,x,t_x,T,repeat_spend_total` in weeks and dollars.
/// The warm-start histories of a summary's customers as CSV (weeks, dollars).
pub(crate) fn histories_csv(summary: &Summary) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(["customer", "x", "t_x", "T", "repeat_spend_total"])?;
    for c in &summary.customers {
        let h = c.history_in_weeks(summary.period);
        w.write_record([
            c.customer.clone(),
            h.x.to_string(),
            h.t_x.to_string(),
            h.big_t.to_string(),
            h.repeat_spend_total.to_string(),
        ])?;
    }
    w.into_inner()
        .map_err(|e| anyhow!("writing histories: {e}"))
}

/// The tracking table as CSV.
fn tracking_csv(h: &HoldoutReport) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "period",
        "start",
        "holdout",
        "actual",
        "expected",
        "cumulative_actual",
        "cumulative_expected",
    ])?;
    for r in &h.tracking {
        w.write_record([
            r.period.to_string(),
            r.start.to_string(),
            r.holdout.to_string(),
            r.actual.to_string(),
            format!("{:.4}", r.expected),
            r.cumulative_actual.to_string(),
            format!("{:.4}", r.cumulative_expected),
        ])?;
    }
    w.into_inner()
        .map_err(|e| anyhow!("writing tracking table: {e}"))
}

/// Picks (actual, expected) from a tracking row.
type RowValues = fn(&clv_envs::fit::TrackingRow) -> (f64, f64);

/// The tracking plot: repeat purchases per period (top) and cumulative (bottom), actual
/// against the model's expectation, with the calibration end marked.
fn draw_tracking<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    h: &HoldoutReport,
    summary: &Summary,
) -> anyhow::Result<()> {
    let err = |e: String| anyhow!(e);
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let unit = summary.period.name();
    let title = format!(
        "BG/NBD tracking: repeat purchases per {unit}, calibration to {}, holdout to {}",
        summary.calibration_end, h.holdout_end
    );
    let root = root
        .titled(&title, ("sans-serif", 20))
        .map_err(|e| err(e.to_string()))?;
    let (upper, lower) = root.split_vertically(PLOT_SIZE.1 / 2 - 20);
    let n = h.tracking.len() as f64;
    let cal_end =
        (summary.calibration_end - summary.first_date).num_days() as f64 / summary.period.days();
    let panels: [(_, &str, RowValues); 2] = [
        (upper, "repeat purchases per", |r| (r.actual, r.expected)),
        (lower, "cumulative repeat purchases to", |r| {
            (r.cumulative_actual, r.cumulative_expected)
        }),
    ];
    for (area, label, value) in panels {
        let ymax = h
            .tracking
            .iter()
            .map(|r| {
                let (a, e) = value(r);
                a.max(e)
            })
            .fold(1.0, f64::max)
            * 1.1;
        let mut chart = ChartBuilder::on(&area)
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..n, 0.0..ymax)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(format!(
                "{unit}s since {} (first purchase in the log)",
                summary.first_date
            ))
            .y_desc(format!("{label} {unit} (count)"))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(LineSeries::new(
                h.tracking
                    .iter()
                    .map(|r| (r.period as f64 + 1.0, value(r).0)),
                BLACK.stroke_width(2),
            ))
            .map_err(|e| err(e.to_string()))?
            .label("actual")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
        chart
            .draw_series(DashedLineSeries::new(
                h.tracking
                    .iter()
                    .map(|r| (r.period as f64 + 1.0, value(r).1)),
                8,
                5,
                RED.stroke_width(2),
            ))
            .map_err(|e| err(e.to_string()))?
            .label("BG/NBD expected")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                [(cal_end, 0.0), (cal_end, ymax)],
                BLUE.mix(0.6),
            ))
            .map_err(|e| err(e.to_string()))?
            .label("end of calibration")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.6)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(e.to_string()))?;
    }
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

/// The JSON output.
fn json_report<'a>(
    args: &Args,
    summary: &Summary,
    bg: &BgNbdFit,
    gg: &GammaGammaFit,
    holdout: Option<&'a HoldoutReport>,
    files: &[PathBuf],
    fit_seconds: f64,
) -> FitReport<'a> {
    FitReport {
        schema_version: FIT_REPORT_SCHEMA_VERSION,
        transactions_file: args.transactions.display().to_string(),
        transactions: summary.transactions,
        customers: summary.customers.len(),
        purchase_days: summary.purchase_days,
        period: summary.period.name(),
        first_date: summary.first_date,
        calibration_end: summary.calibration_end,
        bgnbd: FitBgNbd {
            r: bg.params.r,
            alpha: bg.params.alpha,
            a: bg.params.a,
            b: bg.params.b,
            log_likelihood: bg.log_likelihood,
            std_errors: bg.std_errors,
            unit: summary.period.name(),
            customers: bg.customers,
            evaluations: bg.evaluations,
        },
        gamma_gamma: FitGammaGamma {
            p: gg.params.p,
            q: gg.params.q,
            gamma: gg.params.gamma,
            log_likelihood: gg.log_likelihood,
            std_errors: gg.std_errors,
            customers: gg.customers,
            zero_spend_excluded: gg.zero_spend_excluded,
            mean_spend: gamma_gamma::mean_spend(&gg.params),
        },
        holdout,
        scenario: args.out.display().to_string(),
        files: files.iter().map(|f| f.display().to_string()).collect(),
        fit_seconds,
        warnings: vec![],
        note: IDENTIFICATION_NOTE,
    }
}

/// The readable report.
fn text_report(
    input: &str,
    summary: &Summary,
    bg: &BgNbdFit,
    gg: &GammaGammaFit,
    holdout: Option<&HoldoutReport>,
    files: &[PathBuf],
    fit_seconds: f64,
) -> String {
    let unit = summary.period.name();
    let mut s = String::new();
    let repeaters = summary.customers.iter().filter(|c| c.x > 0.0).count();
    let _ = writeln!(
        s,
        "Transactions: {input}: {} rows, {} customers first buying {} .. {}, calibration to {} ({} purchase days; {} customers with repeat purchases)",
        summary.transactions,
        summary.customers.len(),
        summary.first_date,
        last_first_purchase(summary),
        summary.calibration_end,
        summary.purchase_days,
        repeaters
    );
    let _ = writeln!(
        s,
        "\nBG/NBD (times in {unit}s), fitted in {fit_seconds:.2} s:"
    );
    let _ = writeln!(s, "  {:<8}{:>12}{:>12}", "param", "estimate", "std. error");
    let (p, e) = (&bg.params, &bg.std_errors);
    for (name, v, se) in [
        ("r", p.r, e.r),
        ("alpha", p.alpha, e.alpha),
        ("a", p.a, e.a),
        ("b", p.b, e.b),
    ] {
        let _ = writeln!(s, "  {name:<8}{v:>12.4}{se:>12.4}");
    }
    let _ = writeln!(
        s,
        "  log-likelihood {:.2} ({} customers)",
        bg.log_likelihood, bg.customers
    );
    let year = 365.25 / summary.period.days();
    let _ = writeln!(
        s,
        "  a new customer's expected repeat purchases in the first year: {:.3}",
        bgnbd::expected_purchases(p, year)
    );
    let _ = writeln!(s, "\nGamma-Gamma (dollars):");
    let _ = writeln!(s, "  {:<8}{:>12}{:>12}", "param", "estimate", "std. error");
    let (p, e) = (&gg.params, &gg.std_errors);
    for (name, v, se) in [
        ("p", p.p, e.p),
        ("q", p.q, e.q),
        ("gamma", p.gamma, e.gamma),
    ] {
        let _ = writeln!(s, "  {name:<8}{v:>12.4}{se:>12.4}");
    }
    let _ = writeln!(
        s,
        "  log-likelihood {:.2} ({} customers with repeat purchases{}); population mean spend ${:.2}",
        gg.log_likelihood,
        gg.customers,
        if gg.zero_spend_excluded > 0 {
            format!(", {} with $0 repeat spend left out", gg.zero_spend_excluded)
        } else {
            String::new()
        },
        gamma_gamma::mean_spend(p)
    );
    if let Some(h) = holdout {
        holdout_text(&mut s, summary, h);
    }
    let _ = writeln!(s, "\nNote: {IDENTIFICATION_NOTE}");
    let _ = writeln!(s, "\nWrote:");
    for f in files {
        let _ = writeln!(s, "  {}", f.display());
    }
    s
}

/// The holdout part of the readable report: totals, by calibration frequency, and period by
/// period.
fn holdout_text(s: &mut String, summary: &Summary, h: &HoldoutReport) {
    let unit = summary.period.name();
    let _ = writeln!(
        s,
        "\nHoldout {} .. {} ({:.2} {unit}s): repeat purchases actual {:.0}, predicted {:.1} ({:+.1}%)",
        summary.calibration_end,
        h.holdout_end,
        h.length,
        h.total_actual,
        h.total_predicted,
        100.0 * (h.total_predicted - h.total_actual) / h.total_actual.max(1.0)
    );
    let _ = writeln!(s, "  by calibration frequency (per customer):");
    let _ = writeln!(
        s,
        "  {:>6}{:>10}{:>10}{:>11}",
        "x", "customers", "actual", "predicted"
    );
    for r in &h.by_frequency {
        let _ = writeln!(
            s,
            "  {:>6}{:>10}{:>10.3}{:>11.3}",
            r.frequency, r.customers, r.actual_mean, r.predicted_mean
        );
    }
    let _ = writeln!(s, "  {unit} by {unit} (repeat purchases; * = holdout):");
    let _ = writeln!(
        s,
        "  {:>6} {:<11}{:>8}{:>10}{:>10}{:>10}",
        unit, "starts", "actual", "expected", "cum.act", "cum.exp"
    );
    for r in &h.tracking {
        let _ = writeln!(
            s,
            "  {:>6} {:<11}{:>8.0}{:>10.1}{:>10.0}{:>10.1}{}",
            r.period + 1,
            r.start.to_string(),
            r.actual,
            r.expected,
            r.cumulative_actual,
            r.cumulative_expected,
            if r.holdout { " *" } else { "" }
        );
    }
}

/// Outputs staged under temporary names beside their destinations; `commit` renames them all
/// into place, and dropping without committing removes them.
#[derive(Default)]
struct Staged {
    /// (temporary path, destination).
    files: Vec<(PathBuf, PathBuf)>,
    committed: bool,
}

impl Staged {
    /// A temporary path for `dest`, registered for the commit (the caller writes it).
    fn path(&mut self, dest: &Path) -> anyhow::Result<PathBuf> {
        crate::io::check_out_file(dest, "output")?;
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let name = dest
            .file_name()
            .with_context(|| format!("{} is not a file path", dest.display()))?;
        // Keep the extension last: plotters picks the image format from it.
        let tmp = dir.join(format!(
            ".tmp{}.{}",
            std::process::id(),
            name.to_string_lossy()
        ));
        self.files.push((tmp.clone(), dest.to_path_buf()));
        Ok(tmp)
    }

    /// Writes `bytes` to a temporary file for `dest`.
    fn bytes(&mut self, dest: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        let tmp = self.path(dest)?;
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("writing {}", dest.display()))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("writing {}", dest.display()))
    }

    /// Renames every staged file into place; returns the destinations.
    fn commit(mut self) -> anyhow::Result<Vec<PathBuf>> {
        for (tmp, dest) in &self.files {
            std::fs::rename(tmp, dest).with_context(|| format!("writing {}", dest.display()))?;
        }
        self.committed = true;
        Ok(self.files.iter().map(|(_, d)| d.clone()).collect())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            for (tmp, _) in &self.files {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}

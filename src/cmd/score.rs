//! `clv score LOG.csv --out customers.csv`: one row per customer of a transaction log, ready
//! for a CRM: recency, frequency, monetary value, P(alive), churn risk, predicted value from
//! every predictor and the fused one, value segment, and (with a scenario and a policy) the
//! action the policy would take now.
//!
//! The log is read in two passes (the first chooses the date format) without holding its rows:
//! only each customer's purchase days, summaries and features are kept.
//!
//! The learned predictors learn from the log itself: features at `--as-of` minus the window,
//! truth in the last window before `--as-of` (customers split by a hash of their id into
//! training and validation). They are then applied to every customer's record at `--as-of`,
//! with the window ahead as the prediction window.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use chrono::Duration;
use clv_envs::btyd::{BgNbdParams, GammaGammaParams};
use clv_envs::fit::{Period, Summary, fit_bgnbd, fit_gamma_gamma, parse_date, summarise_days};
use clv_envs::metrics::SEGMENTS;
use clv_envs::predict::{Split, Table, log_table_days, split_of};
use clv_envs::{Mode, NO_OFFER, Offer, Population, Scenario, SeedDomain, Start};

use crate::io;
use crate::predictors::{Prediction, Predictors};

/// Share of the log's customers the learned predictors train on (the rest validate).
pub const SCORE_TRAIN_SHARE: f64 = 0.7;
/// Most customers the learned predictors train on (a share of the customers chosen by the id
/// hash); the rest of a large log adds training time and little accuracy.
pub const SCORE_MAX_TRAIN: usize = 100_000;
/// Most validation customers (early stopping, fusion weights).
pub const SCORE_MAX_VALID: usize = 40_000;
/// Rows written per block (the rows of a block are built, then written and dropped).
pub const SCORE_BLOCK: usize = 65_536;
/// Days in a week.
const DAYS_PER_WEEK: f64 = 7.0;

/// Arguments of `clv score`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Transaction log (as `clv fit` reads it).
    pub transactions: PathBuf,
    /// Where to write the per-customer CSV (written to a temporary file, then renamed).
    #[arg(long)]
    pub out: PathBuf,
    /// A scenario (e.g. written by `clv fit`): its BG/NBD and Gamma-Gamma parameters are used
    /// instead of fitting them, and its offers for `--policy`.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// A policy (baseline or trained agent) whose action now is written per customer; needs
    /// `--scenario`. The customer acts from a warm start on their record.
    #[arg(long, requires = "scenario")]
    pub policy: Option<String>,
    /// Prediction window, weeks (the learned predictors train on the last window of the log).
    #[arg(long, default_value_t = 52.0)]
    pub window: f64,
    /// Date the scores are for (default: the last date in the log).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Seed of the learned predictors and the warm start.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How to read the log.
    #[command(flatten)]
    pub log: crate::log_args::LogArgs,
    /// Worker threads (0 = all cores). At most 256.
    #[arg(long, default_value_t = 0, value_parser = crate::scenario_args::threads_arg())]
    pub threads: usize,
}

/// Runs `clv score`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    io::check_out_file(&args.out, "--out")?;
    crate::scenario_args::set_threads(args.threads)?;
    anyhow::ensure!(
        args.window.is_finite() && args.window >= 1.0 && args.window <= 520.0,
        "--window must be 1..=520 weeks, got {}",
        args.window
    );
    let scenario = args
        .scenario
        .as_ref()
        .map(|p| {
            crate::scenario_args::ScenarioArgs {
                scenario: p.clone(),
                overrides: vec![],
            }
            .load()
        })
        .transpose()?;
    if let (Some(spec), Some(s)) = (&args.policy, &scenario) {
        crate::policies::resolve(spec, s)?;
    }
    let (days, n_transactions) = args.log.read_days(&args.transactions)?;
    let input = args.transactions.display().to_string();
    let dates = || days.iter().flat_map(|(_, d)| d.iter().map(|d| d.0));
    let last = dates().max().context("the log has no transactions")?;
    let first = dates().min().unwrap_or(last);
    let as_of = match &args.as_of {
        Some(d) => parse_date(d).context("--as-of")?,
        None => last,
    };
    anyhow::ensure!(
        as_of >= first,
        "--as-of {as_of} is before the first purchase of {input} ({first})"
    );
    let window_days = (args.window * DAYS_PER_WEEK).round() as i64;
    let train_end = as_of - Duration::days(window_days);
    anyhow::ensure!(
        train_end > first,
        "{input} spans {} weeks up to {as_of}; the learned predictors need more than --window \
         ({} weeks): they learn from the last window before {as_of}",
        (as_of - first).num_days() / 7,
        args.window
    );
    let now = summarise_days(&days, n_transactions, Some(as_of), Period::Week)
        .with_context(|| format!("summarising {input}"))?;
    let before = summarise_days(&days, n_transactions, Some(train_end), Period::Week)
        .with_context(|| format!("summarising {input} up to {train_end}"))?;
    let (bg_now, gg_now, bg_before, gg_before) = match &scenario {
        Some(s) => {
            let (bg, gg) = (s.population.bgnbd, s.population.spend);
            (bg, gg, bg, gg)
        }
        None => {
            let (bn, gn) = fit_both(&now)?;
            let (bb, gb) = fit_both(&before)?;
            (bn, gn, bb, gb)
        }
    };
    let learn = log_table_days(&days, &before, &bg_before, &gg_before, as_of);
    let n = learn.len().max(1) as f64;
    let train_share = SCORE_TRAIN_SHARE.min(SCORE_MAX_TRAIN as f64 / n);
    let valid_share = (1.0 - SCORE_TRAIN_SHARE).min(SCORE_MAX_VALID as f64 / n);
    let (mut train, mut valid) = (vec![], vec![]);
    for (i, id) in learn.ids.iter().enumerate() {
        match split_of(id, train_share, valid_share) {
            Split::Train => train.push(i),
            Split::Validation => valid.push(i),
            Split::Evaluation => {}
        }
    }
    anyhow::ensure!(
        train.len() >= 2 && valid.len() >= 2,
        "too few customers before {train_end} to learn from ({} training, {} validation)",
        train.len(),
        valid.len()
    );
    let fitted = Predictors::fit(
        &learn.subset(&train),
        &learn.subset(&valid),
        None,
        args.seed,
    )?;
    // Every customer's record at `as_of`, with the window ahead (its truth columns are not
    // used).
    let horizon_end = as_of + Duration::days(window_days);
    let scored = log_table_days(&days, &now, &bg_now, &gg_now, horizon_end);
    drop(days);
    warn_out_of_range(&learn, &scored);
    let preds = fitted.predict(&scored, None)?;
    let actions = match (&args.policy, &scenario) {
        (Some(spec), Some(s)) => Some(policy_actions(spec, s, &now, args.seed)?),
        _ => None,
    };
    let segments = segments(&preds.last().expect("fused").value, scenario.as_ref());
    write_rows(
        &args.out,
        &now,
        &scored,
        &preds,
        &segments,
        actions.as_deref(),
    )?;
    eprintln!(
        "scored {} customers of {input} as of {as_of} ({} weeks ahead) in {:.1} s; wrote {}",
        now.customers.len(),
        args.window,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

fn fit_both(summary: &Summary) -> anyhow::Result<(BgNbdParams, GammaGammaParams)> {
    Ok((fit_bgnbd(summary)?.params, fit_gamma_gamma(summary)?.params))
}

/// Share of scored customers with a feature outside the training range above which a warning
/// is printed.
pub const OUT_OF_RANGE_WARN_SHARE: f64 = 0.05;

/// Warns when many scored records lie outside what the learned predictors were trained on
/// (their features are clamped to the training range, so their learned columns saturate).
fn warn_out_of_range(train: &Table, scored: &Table) {
    let d = train.dim();
    let mut range = vec![(f32::INFINITY, f32::NEG_INFINITY); d];
    for row in train.features.chunks(d) {
        for (r, v) in range.iter_mut().zip(row) {
            *r = (r.0.min(*v), r.1.max(*v));
        }
    }
    let mut outside = vec![0usize; d];
    let mut any = 0usize;
    for row in scored.features.chunks(d) {
        let mut hit = false;
        for ((o, r), v) in outside.iter_mut().zip(&range).zip(row) {
            if *v < r.0 || *v > r.1 {
                *o += 1;
                hit = true;
            }
        }
        any += usize::from(hit);
    }
    let n = scored.len().max(1) as f64;
    if any as f64 / n > OUT_OF_RANGE_WARN_SHARE {
        let mut worst: Vec<(usize, &String, &(f32, f32))> = outside
            .iter()
            .zip(&train.feature_names)
            .zip(&range)
            .map(|((o, name), r)| (*o, name, r))
            .filter(|(o, _, _)| *o > 0)
            .collect();
        worst.sort_by_key(|w| std::cmp::Reverse(w.0));
        let list: Vec<String> = worst
            .iter()
            .take(3)
            .map(|(o, name, r)| {
                format!(
                    "{name} {:.0}% (trained on {}..{})",
                    100.0 * *o as f64 / n,
                    r.0,
                    r.1
                )
            })
            .collect();
        eprintln!(
            "warning: {:.0}% of the scored customers have a record outside the range the learned \
             predictors were trained on ({}); their learned columns (ziln, forest, fused) \
             saturate there: prefer value_bgnbd / churn_bgnbd for them",
            100.0 * any as f64 / n,
            list.join(", ")
        );
    }
}

/// The catalogue name of an offer (or a description of a continuous one).
fn action_name(o: &Offer, s: &Scenario) -> String {
    match s.offers.get(o.code as usize) {
        Some(spec) if o.code != NO_OFFER => spec.name.clone(),
        _ if !o.contact => "none".into(),
        _ => format!(
            "coupon {:.0}%{}",
            100.0 * o.discount,
            o.recommend
                .map(|c| format!(" + recommend category {c}"))
                .unwrap_or_default()
        ),
    }
}

/// The action `spec` takes now for every customer of `now`, each warm-started from their
/// record (hidden traits drawn from the BG/NBD posterior given it).
fn policy_actions(
    spec: &str,
    s: &Scenario,
    now: &Summary,
    seed: u64,
) -> anyhow::Result<Vec<String>> {
    let dir = tempfile::tempdir().context("creating a temporary folder for the warm start")?;
    std::fs::write(
        dir.path().join("histories.csv"),
        crate::cmd::fit::histories_csv(now)?,
    )
    .context("writing the warm-start histories")?;
    let mut warm = s.clone();
    warm.start = Start::WarmStart {
        histories: "histories.csv".into(),
    };
    let n = now.customers.len();
    let pop = Population::new(&warm, SeedDomain::Test, seed, n as u64, dir.path())?;
    let mut policy = crate::policies::resolve(spec, &warm)?;
    let mut offers = vec![Offer::nothing(NO_OFFER); n];
    policy.act(&pop.batch(), Mode::Greedy, &mut offers);
    Ok(offers.iter().map(|o| action_name(o, &warm)).collect())
}

/// Value segment of each customer by predicted value: the top `high_share` high, the next
/// `mid_share` mid (the scenario's shares, else the defaults), the rest low.
fn segments(value: &[f64], s: Option<&Scenario>) -> Vec<&'static str> {
    let shares = s.map(|s| s.segments.clone()).unwrap_or_default();
    let mut order: Vec<usize> = (0..value.len()).collect();
    order.sort_by(|a, b| value[*b].total_cmp(&value[*a]).then(a.cmp(b)));
    let n = value.len() as f64;
    let high = (shares.high_share * n).round() as usize;
    let mid = (shares.mid_share * n).round() as usize;
    let mut out = vec![SEGMENTS[2]; value.len()];
    for (rank, i) in order.into_iter().enumerate() {
        out[i] = if rank < high {
            SEGMENTS[0]
        } else if rank < high + mid {
            SEGMENTS[1]
        } else {
            SEGMENTS[2]
        };
    }
    out
}

/// Writes the rows block by block to a temporary file beside `out`, then renames it.
fn write_rows(
    out: &Path,
    now: &Summary,
    t: &Table,
    preds: &[Prediction],
    segments: &[&str],
    actions: Option<&[String]>,
) -> anyhow::Result<()> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(parent)
        .with_context(|| format!("creating a temporary file in {}", parent.display()))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(tmp.as_file()));
    let mut header: Vec<String> = [
        "customer_id",
        "recency_weeks",
        "frequency",
        "monetary_value",
        "tenure_weeks",
        "p_alive",
        "churn_risk",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(preds.iter().map(|p| format!("value_{}", p.name)));
    header.extend(
        preds
            .iter()
            .filter(|p| p.churn.is_some())
            .map(|p| format!("churn_{}", p.name)),
    );
    header.push("segment".into());
    if actions.is_some() {
        header.push("action".into());
    }
    w.write_record(&header)?;
    let fused_churn = preds
        .last()
        .and_then(|p| p.churn.as_ref())
        .context("no fused churn")?;
    for block in (0..t.len()).step_by(SCORE_BLOCK) {
        let end = (block + SCORE_BLOCK).min(t.len());
        for i in block..end {
            let c = &now.customers[i];
            let mut row = vec![
                c.customer.clone(),
                format!("{:.2}", c.big_t - c.t_x),
                format!("{}", c.x),
                format!(
                    "{:.2}",
                    if c.x > 0.0 {
                        c.mean_repeat_spend()
                    } else {
                        c.first_spend
                    }
                ),
                format!("{:.2}", c.big_t),
                format!("{:.4}", t.p_alive[i]),
                format!("{:.4}", fused_churn[i]),
            ];
            row.extend(preds.iter().map(|p| format!("{:.2}", p.value[i])));
            row.extend(
                preds
                    .iter()
                    .filter_map(|p| p.churn.as_ref())
                    .map(|c| format!("{:.4}", c[i])),
            );
            row.push(segments[i].into());
            if let Some(a) = actions {
                row.push(a[i].clone());
            }
            w.write_record(&row)?;
        }
        w.flush()?;
    }
    let file = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
    file.into_inner()
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?
        .sync_all()?;
    tmp.persist(out)
        .with_context(|| format!("moving the scores into {}", out.display()))?;
    Ok(())
}

//! `clv predict SCENARIO|LOG.csv`: every CLV / churn predictor, trained on training customers,
//! judged on disjoint evaluation customers against the truth.
//!
//! Predictors (each from the firm record only):
//! - `bgnbd`: BG/NBD conditional expected purchases x Gamma-Gamma conditional spend (x margin,
//!   discounted, on a scenario), and BG/NBD P(no purchase in the window) for churn;
//! - `ziln`: a neural network with a zero-inflated lognormal head on the record's features;
//! - `forest`: random forests of the value and of buying;
//! - `critic`: a trained DQN's max_a Q(s, a), linearly calibrated on validation customers
//!   (`--run`, scenarios only; value only);
//! - `fused`: a linear stack of the value predictions and a logistic stack of the churn
//!   probabilities, weights fitted on validation customers.
//!
//! On a scenario, training, validation and evaluation customers come from the three seed
//! domains; the truth is their realised future under `--policy` over the window. On a log,
//! calibration customers are split by a hash of their id; the truth is the holdout period.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clv_agents::ZilnFitLog;
use clv_envs::fit::{Period, fit_bgnbd, fit_gamma_gamma, parse_date, summarise};
use clv_envs::predict::{
    Bootstrap, ChurnScore, Split, Table, ValueScore, log_table, scenario_table, score_churn,
    score_value, split_of,
};
use clv_envs::{Population, Scenario, SeedDomain};
use serde::Serialize;

use crate::io;
use crate::predictors::{Fusion, Predictors, REFERENCE};

/// Version of `predict.json`.
pub const PREDICT_SCHEMA_VERSION: u32 = 1;
/// Share of a log's customers used for training (by a hash of the id).
pub const LOG_TRAIN_SHARE: f64 = 0.5;
/// Share of a log's customers used for validation; the rest are evaluation customers.
pub const LOG_VALID_SHARE: f64 = 0.2;

/// Arguments of `clv predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A scenario (.ron) or a transaction log (.csv, as `clv fit` reads).
    pub input: PathBuf,
    /// Prediction window: weeks (default 52) or `horizon` (the scenario's scored horizon).
    /// Scenarios only; on a log the window is the holdout period.
    #[arg(long, default_value = "52")]
    pub window: String,
    /// Policy the simulated customers live under in the window (scenarios only).
    #[arg(long, default_value = "none")]
    pub policy: String,
    /// Evaluation customers (scenarios only). At most 50,000,000.
    #[arg(long, default_value_t = 100_000, value_parser = crate::scenario_args::customers_arg())]
    pub customers: u64,
    /// Training customers (scenarios only).
    #[arg(long, default_value_t = 50_000, value_parser = crate::scenario_args::customers_arg())]
    pub train_customers: u64,
    /// Validation customers (scenarios only).
    #[arg(long, default_value_t = 20_000, value_parser = crate::scenario_args::customers_arg())]
    pub valid_customers: u64,
    /// Seed of the populations, the models and the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A `clv train --agent dqn` run directory: adds its critic as a predictor (scenarios only).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Paired bootstrap resamples of the differences to BG/NBD (0: no intervals).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub bootstrap: u64,
    /// End of the calibration period (logs; required there).
    #[arg(long, value_name = "DATE")]
    pub calibration_end: Option<String>,
    /// End of the holdout period, inclusive (logs; required there).
    #[arg(long, value_name = "DATE")]
    pub holdout_end: Option<String>,
    /// How to read the log.
    #[command(flatten)]
    pub log: crate::log_args::LogArgs,
    /// Worker threads (0 = all cores). At most 256.
    #[arg(long, default_value_t = 0, value_parser = crate::scenario_args::threads_arg())]
    pub threads: usize,
    /// Output directory (default results/predict-<unix seconds>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `clv predict` measured.
#[derive(Debug, Clone, Serialize)]
pub struct PredictReport {
    /// Schema version ([`PREDICT_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The input file.
    pub input: String,
    /// What the truth is (window, policy or holdout).
    pub truth: String,
    /// Training, validation and evaluation customers.
    pub customers: [usize; 3],
    /// Mean realised value of the evaluation customers, dollars.
    pub realised_mean: f64,
    /// Share of evaluation customers who did not buy in the window.
    pub churn_rate: f64,
    /// Feature names the learned predictors see.
    pub features: Vec<String>,
    /// Value scores, one per predictor.
    pub value: Vec<ValueScore>,
    /// Churn scores, one per predictor with a churn probability.
    pub churn: Vec<ChurnScore>,
    /// Fusion weights: value (a ranking stack over the value predictors) and churn (a
    /// logistic stack over the churn predictors' log-odds).
    pub fusion: Fusion,
    /// How the neural predictor's training went.
    pub ziln: ZilnFitLog,
    /// Wall time of the whole command, seconds.
    pub seconds: f64,
}

/// The three customer tables and what describes them.
struct Tables {
    train: Table,
    valid: Table,
    eval: Table,
    truth: String,
    /// Raw critic values on validation and evaluation customers, when `--run` is given.
    critic: Option<[Vec<f64>; 2]>,
}

/// Runs `clv predict`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    if let Some(out) = &args.out {
        io::check_out_dir(out, "--out")?;
    }
    crate::scenario_args::set_threads(args.threads)?;
    let is_log = args
        .input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let tables = if is_log {
        log_tables(&args)?
    } else {
        scenario_tables(&args)?
    };
    anyhow::ensure!(
        tables.train.len() >= 2 && tables.valid.len() >= 2 && tables.eval.len() >= 2,
        "too few customers to split: {} training, {} validation, {} evaluation (need 2 each)",
        tables.train.len(),
        tables.valid.len(),
        tables.eval.len()
    );
    let dir = io::run_dir(args.out.as_deref(), "predict")?;
    let report = predict(&args, &tables, started)?;
    write_outputs(&dir, &report)?;
    io::finish_run_dir(&dir)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", text_table(&report));
        eprintln!("wrote {}", dir.display());
    }
    Ok(())
}

/// Window in periods from `--window`.
fn window_periods(text: &str, s: &Scenario) -> anyhow::Result<u32> {
    if text == "horizon" {
        return Ok(s.horizon);
    }
    let weeks: f64 = text
        .parse()
        .ok()
        .filter(|w: &f64| w.is_finite() && *w > 0.0)
        .with_context(|| {
            format!("--window {text:?}: expected a number of weeks > 0, or horizon")
        })?;
    let periods = (weeks / s.period_weeks).round();
    anyhow::ensure!(
        (1.0..=f64::from(s.horizon.max(1)) * 10.0).contains(&periods),
        "--window {text}: {periods} periods of {} weeks; must be 1..={} periods",
        s.period_weeks,
        s.horizon.max(1) * 10
    );
    Ok(periods as u32)
}

fn scenario_tables(args: &Args) -> anyhow::Result<Tables> {
    let sa = crate::scenario_args::ScenarioArgs {
        scenario: args.input.clone(),
        overrides: vec![],
    };
    let mut scenario = sa.load()?;
    let periods = window_periods(&args.window, &scenario)?;
    scenario.horizon = periods;
    scenario.short_horizon = scenario.short_horizon.min(periods);
    scenario
        .validate()
        .context("the scenario with the prediction window")?;
    // Check the policy before any simulation.
    crate::policies::resolve(&args.policy, &scenario)?;
    let critic_agent = args
        .run
        .as_ref()
        .map(|run| crate::cmd::critic::load_critic(run, &scenario))
        .transpose()?;
    let bar = io::progress(3, "simulating customers", args.json);
    let build = |domain: SeedDomain, n: u64| -> anyhow::Result<(Table, Option<Vec<f64>>)> {
        let mut pop = Population::new(&scenario, domain, args.seed, n, sa.base_dir())?;
        let critic = critic_agent
            .as_ref()
            .map(|c| c.values(&pop, &scenario))
            .transpose()?;
        let mut policy = crate::policies::resolve(&args.policy, &scenario)?;
        let t = scenario_table(&mut pop, policy.as_mut());
        bar.inc(1);
        Ok((t, critic))
    };
    let (train, _) = build(SeedDomain::Train, args.train_customers)?;
    let (valid, cv) = build(SeedDomain::Validation, args.valid_customers)?;
    let (eval, ce) = build(SeedDomain::Test, args.customers)?;
    bar.finish_and_clear();
    Ok(Tables {
        train,
        valid,
        eval,
        truth: format!(
            "{}: realised discounted profit over the next {periods} periods ({} weeks) under `{}`; training / validation / evaluation customers from the train / validation / test seed domains, seed {}",
            scenario.name,
            f64::from(periods) * scenario.period_weeks,
            args.policy,
            args.seed
        ),
        critic: cv.zip(ce).map(|(a, b)| [a, b]),
    })
}

fn log_tables(args: &Args) -> anyhow::Result<Tables> {
    anyhow::ensure!(
        args.run.is_none(),
        "--run: a critic needs simulated customers; give a scenario, not a log"
    );
    let (Some(cal), Some(hold)) = (&args.calibration_end, &args.holdout_end) else {
        anyhow::bail!(
            "a log needs --calibration-end and --holdout-end: the predictors are judged on the holdout period"
        );
    };
    let calibration_end = parse_date(cal).context("--calibration-end")?;
    let holdout_end = parse_date(hold).context("--holdout-end")?;
    anyhow::ensure!(
        holdout_end > calibration_end,
        "--holdout-end {holdout_end} must be after --calibration-end {calibration_end}"
    );
    let input = args.input.display().to_string();
    let transactions = args.log.read(&args.input)?;
    let summary = summarise(&transactions, Some(calibration_end), Period::Week)
        .with_context(|| format!("summarising {input}"))?;
    let bg = fit_bgnbd(&summary)?;
    let gg = fit_gamma_gamma(&summary)?;
    let table = log_table(&transactions, &summary, &bg.params, &gg.params, holdout_end);
    let mut parts: [Vec<usize>; 3] = Default::default();
    for (i, id) in table.ids.iter().enumerate() {
        let k = match split_of(id, LOG_TRAIN_SHARE, LOG_VALID_SHARE) {
            Split::Train => 0,
            Split::Validation => 1,
            Split::Evaluation => 2,
        };
        parts[k].push(i);
    }
    Ok(Tables {
        train: table.subset(&parts[0]),
        valid: table.subset(&parts[1]),
        eval: table.subset(&parts[2]),
        truth: format!(
            "{input}: spend from {calibration_end} (exclusive) to {holdout_end} (inclusive) of the customers who bought by {calibration_end}; BG/NBD and Gamma-Gamma fitted to the calibration period; customers split by a hash of their id ({:.0}% training, {:.0}% validation, the rest evaluation)",
            100.0 * LOG_TRAIN_SHARE,
            100.0 * LOG_VALID_SHARE
        ),
        critic: None,
    })
}

fn predict(args: &Args, t: &Tables, started: Instant) -> anyhow::Result<PredictReport> {
    let seed = args.seed;
    let (cv, ce) = match &t.critic {
        Some([v, e]) => (Some(v.as_slice()), Some(e.as_slice())),
        None => (None, None),
    };
    let fitted = Predictors::fit(&t.train, &t.valid, cv, seed)?;
    let valid_preds = fitted.predict(&t.valid, cv)?;
    let preds = fitted.predict(&t.eval, ce)?;
    let valid_churned = t.valid.churned();
    let boot = Bootstrap {
        draws: args.bootstrap as usize,
        seed,
    };
    let eval_churned = t.eval.churned();
    let reference = &preds[0];
    let value = preds
        .iter()
        .map(|p| {
            let r = (p.name != REFERENCE).then_some(reference.value.as_slice());
            score_value(&p.name, &p.value, &t.eval.value, r, boot)
        })
        .collect();
    let reference_churn = reference.churn.as_ref().expect("bgnbd has churn");
    let churn = preds
        .iter()
        .zip(&valid_preds)
        .filter_map(|(p, v)| {
            let ce = p.churn.as_ref()?;
            let cv = v.churn.as_ref()?;
            let r = (p.name != REFERENCE).then_some(reference_churn.as_slice());
            Some(score_churn(
                &p.name,
                (cv, &valid_churned),
                ce,
                &eval_churned,
                r,
                boot,
            ))
        })
        .collect();
    let n = t.eval.len().max(1) as f64;
    Ok(PredictReport {
        schema_version: PREDICT_SCHEMA_VERSION,
        input: args.input.display().to_string(),
        truth: t.truth.clone(),
        customers: [t.train.len(), t.valid.len(), t.eval.len()],
        realised_mean: t.eval.value.iter().sum::<f64>() / n,
        churn_rate: eval_churned.iter().filter(|c| **c).count() as f64 / n,
        features: t.train.feature_names.clone(),
        value,
        churn,
        fusion: fitted.fusion.clone(),
        ziln: fitted.ziln_log.clone(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn ci_text(ci: Option<&clv_envs::predict::BootstrapCi>, percent: bool) -> String {
    let k = if percent { 100.0 } else { 1.0 };
    match ci {
        None => "reference".into(),
        Some(c) => format!(
            "{:+.3} ({:+.3}..{:+.3})",
            k * c.estimate,
            k * c.lower,
            k * c.upper
        ),
    }
}

/// The console table.
fn text_table(r: &PredictReport) -> String {
    let mut s = format!(
        "{}\n{} training / {} validation / {} evaluation customers; realised ${:.2} per evaluation customer, {:.1}% churned\n\n",
        r.truth,
        r.customers[0],
        r.customers[1],
        r.customers[2],
        r.realised_mean,
        100.0 * r.churn_rate
    );
    s.push_str(&format!(
        "{:<8} {:>8} {:>7} {:>9} {:>9} {:>9}  {:<32} {}\n",
        "value",
        "spearman",
        "gini",
        "top10%",
        "MAE $",
        "RMSE $",
        "spearman - bgnbd (95%)",
        "top10% - bgnbd, points (95%)"
    ));
    for v in &r.value {
        s.push_str(&format!(
            "{:<8} {:>8.3} {:>7.3} {:>8.1}% {:>9.2} {:>9.2}  {:<32} {}\n",
            v.predictor,
            v.spearman,
            v.gini,
            100.0 * v.top_decile,
            v.mae,
            v.rmse,
            ci_text(v.spearman_vs_reference.as_ref(), false),
            ci_text(v.top_decile_vs_reference.as_ref(), true)
        ));
    }
    s.push_str(&format!(
        "\n{:<8} {:>7} {:>9} {:>9} {:>7} {:>7} {:>7}  {}\n",
        "churn", "AUC", "threshold", "precision", "recall", "F1", "Brier", "AUC - bgnbd (95%)"
    ));
    for c in &r.churn {
        s.push_str(&format!(
            "{:<8} {:>7.3} {:>9.3} {:>9.3} {:>7.3} {:>7.3} {:>7.4}  {}\n",
            c.predictor,
            c.auc,
            c.threshold,
            c.precision,
            c.recall,
            c.f1,
            c.brier,
            ci_text(c.auc_vs_reference.as_ref(), false)
        ));
    }
    s.push_str(&format!("\n({:.1} s)\n", r.seconds));
    s
}

fn write_outputs(dir: &Path, r: &PredictReport) -> anyhow::Result<()> {
    io::write_json(&dir.join("predict.json"), r)?;
    let ci_cols = |c: Option<&clv_envs::predict::BootstrapCi>| -> [String; 3] {
        match c {
            Some(c) => [c.estimate, c.lower, c.upper].map(|v| v.to_string()),
            None => Default::default(),
        }
    };
    let value_rows: Vec<Vec<String>> = r
        .value
        .iter()
        .map(|v| {
            let mut row = vec![
                v.predictor.clone(),
                v.spearman.to_string(),
                v.gini.to_string(),
                v.top_decile.to_string(),
                v.mae.to_string(),
                v.rmse.to_string(),
            ];
            row.extend(ci_cols(v.spearman_vs_reference.as_ref()));
            row.extend(ci_cols(v.top_decile_vs_reference.as_ref()));
            row
        })
        .collect();
    io::write_csv(
        &dir.join("value.csv"),
        &[
            "predictor",
            "spearman",
            "normalised_gini",
            "top_decile_capture",
            "mae",
            "rmse",
            "spearman_diff",
            "spearman_diff_lower",
            "spearman_diff_upper",
            "top_decile_diff",
            "top_decile_diff_lower",
            "top_decile_diff_upper",
        ],
        &value_rows,
    )?;
    let churn_rows: Vec<Vec<String>> = r
        .churn
        .iter()
        .map(|c| {
            let mut row = vec![
                c.predictor.clone(),
                c.auc.to_string(),
                c.threshold.to_string(),
                c.precision.to_string(),
                c.recall.to_string(),
                c.f1.to_string(),
                c.brier.to_string(),
            ];
            row.extend(ci_cols(c.auc_vs_reference.as_ref()));
            row
        })
        .collect();
    io::write_csv(
        &dir.join("churn.csv"),
        &[
            "predictor",
            "auc",
            "threshold",
            "precision",
            "recall",
            "f1",
            "brier",
            "auc_diff",
            "auc_diff_lower",
            "auc_diff_upper",
        ],
        &churn_rows,
    )?;
    let mut decile_rows = vec![];
    for v in &r.value {
        for (d, (p, q)) in v
            .predicted_by_decile
            .iter()
            .zip(&v.realised_by_decile)
            .enumerate()
        {
            decile_rows.push(vec![
                v.predictor.clone(),
                (d + 1).to_string(),
                p.to_string(),
                q.to_string(),
            ]);
        }
    }
    io::write_csv(
        &dir.join("deciles.csv"),
        &["predictor", "decile", "predicted_mean", "realised_mean"],
        &decile_rows,
    )?;
    let mut rel_rows = vec![];
    for c in &r.churn {
        for b in &c.reliability {
            rel_rows.push(vec![
                c.predictor.clone(),
                b.lower.to_string(),
                b.customers.to_string(),
                b.predicted.to_string(),
                b.observed.to_string(),
            ]);
        }
    }
    io::write_csv(
        &dir.join("reliability.csv"),
        &[
            "predictor",
            "bin_lower",
            "customers",
            "predicted_churn",
            "observed_churn",
        ],
        &rel_rows,
    )?;
    decile_plot(
        &dir.join("deciles"),
        format!(
            "Value by predicted decile ({} evaluation customers)",
            r.customers[2]
        ),
        r.value
            .iter()
            .map(|v| (&v.predictor, &v.realised_by_decile, &v.predicted_by_decile)),
        [
            "Mean realised value by predicted decile (dashed: mean prediction)",
            "predicted decile (1 = highest predicted value)",
            "value per customer in the window ($)",
        ],
    )?;
    let bins: Vec<(String, Vec<f64>, Vec<f64>)> = r
        .churn
        .iter()
        .map(|c| {
            (
                c.predictor.clone(),
                c.reliability.iter().map(|b| b.observed).collect(),
                c.reliability.iter().map(|b| b.predicted).collect(),
            )
        })
        .collect();
    decile_plot(
        &dir.join("reliability"),
        format!(
            "Churn reliability ({} evaluation customers)",
            r.customers[2]
        ),
        bins.iter().map(|(n, o, p)| (n, o, p)),
        [
            "Observed churn rate by predicted-probability bin (dashed: mean predicted probability)",
            "bin of predicted churn probability (1 = 0-10%, 10 = 90-100%)",
            "churn rate",
        ],
    )?;
    io::write_atomic(&dir.join("report.md"), markdown(r).as_bytes())
}

/// Writes `<stem>.png/.svg`: per series (name, realised, predicted) by group, with the
/// caption and axis descriptions `labels`.
fn decile_plot<'a>(
    stem: &Path,
    title: String,
    series: impl Iterator<Item = (&'a String, &'a Vec<f64>, &'a Vec<f64>)>,
    labels: [&str; 3],
) -> anyhow::Result<()> {
    crate::plots::critic_deciles(
        stem,
        &crate::plots::CriticDeciles {
            title,
            series: series
                .map(|(name, realised, predicted)| crate::plots::DecileSeries {
                    name: name.clone(),
                    realised: realised.clone(),
                    predicted: predicted.clone(),
                })
                .collect(),
            labels: Some(crate::plots::DecileLabels {
                caption: labels[0].into(),
                x_desc: labels[1].into(),
                y_desc: labels[2].into(),
            }),
        },
    )?;
    Ok(())
}

fn markdown(r: &PredictReport) -> String {
    let mut md = format!(
        "# CLV and churn predictors\n\nTruth: {}.\n\n{} training, {} validation and {} evaluation customers; every figure below is on the **evaluation** customers (mean realised value ${:.2}, {:.1}% did not buy in the window). Thresholds, the critic's calibration and the fusion weights were chosen on the validation customers. Intervals: paired bootstrap 95% of the difference to `bgnbd` on the same customers.\n\n## Value\n\n| predictor | Spearman | normalised Gini | top-decile capture | MAE $ | RMSE $ | Spearman - bgnbd | top-decile - bgnbd (points) |\n|---|---:|---:|---:|---:|---:|---|---|\n",
        r.truth,
        r.customers[0],
        r.customers[1],
        r.customers[2],
        r.realised_mean,
        100.0 * r.churn_rate
    );
    for v in &r.value {
        md.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.1}% | {:.2} | {:.2} | {} | {} |\n",
            v.predictor,
            v.spearman,
            v.gini,
            100.0 * v.top_decile,
            v.mae,
            v.rmse,
            ci_text(v.spearman_vs_reference.as_ref(), false),
            ci_text(v.top_decile_vs_reference.as_ref(), true)
        ));
    }
    md.push_str("\n![deciles](deciles.png)\n\n[SVG](deciles.svg) · [data](deciles.csv) · [table](value.csv)\n\n## Churn (no purchase in the window)\n\n| predictor | AUC | threshold (validation) | precision | recall | F1 | Brier | AUC - bgnbd |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
    for c in &r.churn {
        md.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.4} | {} |\n",
            c.predictor,
            c.auc,
            c.threshold,
            c.precision,
            c.recall,
            c.f1,
            c.brier,
            ci_text(c.auc_vs_reference.as_ref(), false)
        ));
    }
    md.push_str(&format!(
        "\n![reliability](reliability.png)\n\n[SVG](reliability.svg) · [data](reliability.csv) · [table](churn.csv) · [JSON](predict.json)\n\n## Fusion weights (fitted on validation customers)\n\nValue (weights of the geometric-mean score, chosen for the highest validation Spearman, {:.3}; dollars = {:.3} + {:.4} x score): {}.\n\nChurn (log-odds): intercept {:.3}, {}.\n\nThe neural predictor trained {} epochs and kept epoch {} (lowest validation loss).\n\nFeatures: {}.\n",
        r.fusion.value.valid_spearman,
        r.fusion.value.intercept,
        r.fusion.value.slope,
        weights_text(&r.fusion.value_inputs, &r.fusion.value.weights),
        r.fusion.churn.intercept,
        weights_text(&r.fusion.churn_inputs, &r.fusion.churn.weights),
        r.ziln.epochs,
        r.ziln.best_epoch,
        r.features.join(", ")
    ));
    md
}

fn weights_text(names: &[String], weights: &[f64]) -> String {
    names
        .iter()
        .zip(weights)
        .map(|(n, w)| format!("{n} {w:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

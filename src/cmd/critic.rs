//! `clv critic RUN_DIR`: the trained critic as a CLV predictor.
//!
//! For each customer at the start of the scored window (after the burn-in, so histories
//! differ), the agent's value V(s) = max_a Q(s, a), with the reward scaling undone and one
//! period's discount applied (so that it is on the scale of realised CLV when gamma = delta),
//! is set against the CLV the customer then realises under the agent's greedy policy. A linear
//! calibration (realised = a + b * predicted) is fitted on validation customers and applied to
//! test customers, on whom everything is reported once.
//!
//! Beside it, the classical predictor: BG/NBD conditional expected purchases over the same
//! window x Gamma-Gamma conditional spend x gross margin, discounted, which ignores marketing.
//! For both: Spearman rank correlation, share of realised value captured by the predicted top
//! decile, mean absolute error (after calibration), and mean realised value by predicted
//! decile.

use std::path::{Path, PathBuf};

use crate::agent_policy::CatalogueAgent;
use crate::io;
use crate::run_files::{CRITIC_SCHEMA_VERSION, CriticReport, PredictorScore};
use anyhow::Context;
use clv_agents::{BEST_CHECKPOINT, DeviceChoice, LAST_CHECKPOINT, load_checkpoint};
use clv_envs::predict::metrics::spearman;
use clv_envs::{Population, Scenario, SeedDomain};

/// Arguments of `clv critic`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A `clv train SCENARIO --agent dqn` run directory.
    pub run: PathBuf,
    /// Scenario (default: the run's scenario.ron).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Validation customers (the calibration is fitted on them). At most 50,000,000.
    #[arg(long, default_value_t = 4000, value_parser = crate::scenario_args::customers_arg())]
    pub valid_customers: u64,
    /// Test customers (the reported figures). At most 50,000,000.
    #[arg(long, default_value_t = 20_000, value_parser = crate::scenario_args::customers_arg())]
    pub test_customers: u64,
    /// Output directory (default RUN/critic).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `clv critic`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(out) = &args.out {
        crate::io::check_out_dir(out, "--out")?;
    }
    let scenario_path = args
        .scenario
        .clone()
        .unwrap_or_else(|| args.run.join("scenario.ron"));
    let sa = crate::scenario_args::ScenarioArgs {
        scenario: scenario_path,
        overrides: vec![],
    };
    let scenario = sa.load()?;
    let out = args.out.clone().unwrap_or_else(|| args.run.join("critic"));
    // Another process writing the same directory is refused before any work.
    io::lock_run_dir(&out, "critic")?;
    let report = critic(
        &args.run,
        &scenario,
        sa.base_dir(),
        args.valid_customers,
        args.test_customers,
    )?;
    report.write(&out.join("critic.json"))?;
    write_plot_and_report(&out, &report)?;
    io::finish_run_dir(&out)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{}: realised CLV ${:.2} per test customer ({} customers)",
            report.scenario, report.realised_mean, report.test_customers
        );
        println!(
            "{:<12} {:>9} {:>12} {:>9} {:>9}",
            "predictor", "spearman", "top decile", "MAE $", "raw MAE $"
        );
        for p in &report.predictors {
            println!(
                "{:<12} {:>9.3} {:>11.1}% {:>9.2} {:>9.2}",
                p.predictor,
                p.spearman,
                100.0 * p.top_decile_share,
                p.mae,
                p.mae_raw
            );
        }
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// Writes `deciles.csv`, `deciles.png/.svg` and `critic.md` for a critic report.
pub fn write_plot_and_report(out: &Path, report: &CriticReport) -> anyhow::Result<()> {
    let mut rows = vec![];
    for p in &report.predictors {
        for (d, (r, q)) in p
            .realised_by_decile
            .iter()
            .zip(&p.predicted_by_decile)
            .enumerate()
        {
            rows.push(vec![
                p.predictor.clone(),
                (d + 1).to_string(),
                q.to_string(),
                r.to_string(),
            ]);
        }
    }
    io::write_csv(
        &out.join("deciles.csv"),
        &["predictor", "decile", "predicted_mean", "realised_mean"],
        &rows,
    )?;
    crate::plots::critic_deciles(
        &out.join("deciles"),
        &crate::plots::CriticDeciles {
            title: format!(
                "{}: the critic as a CLV predictor ({} test customers)",
                report.scenario, report.test_customers
            ),
            series: report
                .predictors
                .iter()
                .map(|p| crate::plots::DecileSeries {
                    name: p.predictor.clone(),
                    realised: p.realised_by_decile.clone(),
                    predicted: p.predicted_by_decile.clone(),
                })
                .collect(),
            labels: None,
        },
    )?;
    let mut md = format!(
        "# The critic as a CLV predictor: {}\n\nRun `{}`. For each customer at the start of the scored window, the critic's value max_a Q(s, a) (reward scaling undone, in dollars after a linear calibration fitted on {} validation customers) against the CLV realised under the agent's greedy policy, on {} test customers (mean ${:.2}). Beside it, the classical predictor: BG/NBD conditional expected purchases x Gamma-Gamma conditional spend x margin, discounted over the same window, which ignores marketing.\n\n| predictor | Spearman | top-decile share of realised value | MAE $ (calibrated) | MAE $ (raw) |\n|---|---:|---:|---:|---:|\n",
        report.scenario,
        report.run,
        report.valid_customers,
        report.test_customers,
        report.realised_mean
    );
    for p in &report.predictors {
        md.push_str(&format!(
            "| {} | {:.3} | {:.1}% | {:.2} | {:.2} |\n",
            p.predictor,
            p.spearman,
            100.0 * p.top_decile_share,
            p.mae,
            p.mae_raw
        ));
    }
    let better = report
        .predictors
        .iter()
        .max_by(|a, b| a.spearman.total_cmp(&b.spearman))
        .map(|p| p.predictor.clone())
        .unwrap_or_default();
    md.push_str(&format!(
        "\nThe **{better}** predictor ranks customers better (higher Spearman correlation).\n\n![deciles](deciles.png)\n\n[SVG](deciles.svg) · [data](deciles.csv) · [JSON](critic.json)\n"
    ));
    io::write_atomic(&out.join("critic.md"), md.as_bytes())
}

/// A trained DQN's critic as a predictor of customers' value.
pub struct Critic {
    agent: clv_agents::Dqn,
    features: clv_envs::FeatureSpec,
}

/// Loads the critic of a `clv train --agent dqn` run directory (best checkpoint, else last).
pub fn load_critic(run: &Path, scenario: &Scenario) -> anyhow::Result<Critic> {
    let root = run.join("checkpoint");
    let ck = [BEST_CHECKPOINT, LAST_CHECKPOINT]
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.is_dir())
        .with_context(|| format!("{} holds no checkpoint", run.display()))?;
    let device = DeviceChoice::Auto.resolve()?;
    let agent = load_checkpoint(&ck, device)
        .with_context(|| format!("loading {}", ck.display()))?
        .agent;
    let features = clv_envs::FeatureSpec::with_set(scenario, agent.config().recipe.observation);
    Ok(Critic { agent, features })
}

impl Critic {
    /// max_a Q(s, a) / reward_scale * delta for every customer of `pop`, dollars.
    pub fn values(&self, pop: &Population, scenario: &Scenario) -> anyhow::Result<Vec<f64>> {
        critic_values(pop, &self.agent, scenario, &self.features)
    }
}

/// Computes the critic and classical predictions against realised CLV.
pub fn critic(
    run: &Path,
    scenario: &Scenario,
    base_dir: &Path,
    valid_customers: u64,
    test_customers: u64,
) -> anyhow::Result<CriticReport> {
    let Critic { agent, features } = load_critic(run, scenario)?;
    let recipe = agent.config().recipe.clone();
    let mut policy =
        CatalogueAgent::new(agent, format!("dqn:{}", run.display()), scenario, &recipe)?;
    let seed = 0;
    let mut measure =
        |domain: SeedDomain, n: u64| -> anyhow::Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
            let mut pop = Population::new(scenario, domain, seed, n, base_dir)?;
            let critic = critic_values(&pop, &policy.agent, scenario, &features)?;
            let classical = clv_envs::predict::discounted_classical_values(&pop, scenario.horizon);
            let r = pop.evaluate(&mut policy, &|_| {});
            Ok((critic, classical, r.clv))
        };
    let (vc, vk, vr) = measure(SeedDomain::Validation, valid_customers)?;
    let (tc, tk, tr) = measure(SeedDomain::Test, test_customers)?;
    let realised_mean = tr.iter().sum::<f64>() / tr.len().max(1) as f64;
    let predictors = vec![
        score("critic", &vc, &vr, &tc, &tr),
        score("classical", &vk, &vr, &tk, &tr),
    ];
    Ok(CriticReport {
        schema_version: CRITIC_SCHEMA_VERSION,
        run: run.display().to_string(),
        scenario: scenario.name.clone(),
        valid_customers,
        test_customers,
        realised_mean,
        predictors,
    })
}

/// max_a Q(s, a) / reward_scale * delta for every customer of `pop`, dollars.
fn critic_values(
    pop: &Population,
    agent: &clv_agents::Dqn,
    scenario: &Scenario,
    features: &clv_envs::FeatureSpec,
) -> anyhow::Result<Vec<f64>> {
    let batch = pop.batch();
    let dim = features.dim();
    let n_actions = scenario.offers.len();
    let scale = agent.config().reward_scale;
    let delta = scenario.discount_factor();
    let mut out = Vec::with_capacity(pop.len());
    let mut obs = vec![];
    let mut start = 0;
    while start < pop.len() {
        let end = (start + clv_envs::policy::ACT_CHUNK).min(pop.len());
        obs.resize((end - start) * dim, 0.0);
        batch.features_with(features, start..end, &mut obs);
        let q = agent.q_values(&obs, end - start)?;
        out.extend(q.chunks(n_actions).map(|row| {
            let v = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            v / scale * delta
        }));
        start = end;
    }
    Ok(out)
}

fn fit_line(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len().max(1) as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - slope * mx, slope)
}

fn score(name: &str, vx: &[f64], vy: &[f64], tx: &[f64], ty: &[f64]) -> PredictorScore {
    let (a, b) = fit_line(vx, vy);
    let cal: Vec<f64> = tx.iter().map(|x| a + b * x).collect();
    let n = ty.len().max(1);
    let mae = cal.iter().zip(ty).map(|(p, y)| (p - y).abs()).sum::<f64>() / n as f64;
    let mae_raw = tx.iter().zip(ty).map(|(p, y)| (p - y).abs()).sum::<f64>() / n as f64;
    let mut order: Vec<usize> = (0..ty.len()).collect();
    order.sort_by(|i, j| tx[*j].total_cmp(&tx[*i]).then(i.cmp(j)));
    let total: f64 = ty.iter().sum();
    let mut realised_by_decile = vec![];
    let mut predicted_by_decile = vec![];
    for d in 0..10 {
        let lo = d * n / 10;
        let hi = ((d + 1) * n / 10).max(lo + 1).min(n);
        let ids = &order[lo..hi];
        let k = ids.len().max(1) as f64;
        realised_by_decile.push(ids.iter().map(|i| ty[*i]).sum::<f64>() / k);
        predicted_by_decile.push(ids.iter().map(|i| cal[*i]).sum::<f64>() / k);
    }
    let top: f64 = order[..(n / 10).max(1)].iter().map(|i| ty[*i]).sum();
    PredictorScore {
        predictor: name.into(),
        intercept: a,
        slope: b,
        spearman: spearman(tx, ty),
        top_decile_share: if total != 0.0 { top / total } else { f64::NAN },
        mae,
        mae_raw,
        realised_by_decile,
        predicted_by_decile,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_recovers_a_line() {
        let x: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| 3.0 + 0.5 * v).collect();
        let (a, b) = fit_line(&x, &y);
        assert!((a - 3.0).abs() < 1e-9 && (b - 0.5).abs() < 1e-9);
        let s = score("t", &x, &y, &x, &y);
        assert!(s.mae < 1e-9);
        assert!((s.realised_by_decile[0] - s.predicted_by_decile[0]).abs() < 1e-9);
    }
}

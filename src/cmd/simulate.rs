//! `clv simulate`: one policy over the scored window of a population; a summary on the
//! terminal or as JSON, and CSV / JSON / resolved scenario in the out dir.

use std::path::PathBuf;

use std::time::Instant;

use clv_envs::metrics::SEGMENTS;
use clv_envs::{Population, Summary};

use crate::io;
use crate::run_files::{self, SimulateSummary, SimulateTiming};
use crate::scenario_args::{EvalDomain, ScenarioArgs, set_threads};

/// Arguments of `clv simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Policy spec: none, random, fixed:OFFER, cadence:OFFER:WEEKS, rfm-winback[:WEEKS[:OFFER]],
    /// churn-risk[:P[:OFFER[:COOLDOWN]]], recommend-last[:WEEKS], oracle-myopic,
    /// oracle-rollout:DRAWS:MARGIN:PERIODS:INCUMBENT, dqn:RUN_DIR, ...
    #[arg(long, default_value = "none")]
    pub policy: String,
    /// Seed of the population, within --domain.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed domain of the population: `test` (the reported result) or `validation` (the
    /// customers `clv tune` and `clv train` choose on; diagnose policies there).
    #[arg(long, value_enum, default_value_t = EvalDomain::Test)]
    pub domain: EvalDomain,
    /// Customers (default: the scenario's population.customers). At most 50,000,000.
    #[arg(long, value_parser = crate::scenario_args::customers_arg())]
    pub customers: Option<u64>,
    /// Scored periods (default: the scenario's horizon). 1 to 10,000.
    #[arg(long)]
    pub periods: Option<u32>,
    /// Worker threads (0 = all cores). Results do not depend on it. At most 256.
    #[arg(long, default_value_t = 0, value_parser = crate::scenario_args::threads_arg())]
    pub threads: usize,
    /// Output directory for CSV / JSON / the resolved scenario (none written without it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `clv simulate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    set_threads(args.threads)?;
    if let Some(out) = &args.out {
        io::check_out_dir(out, "--out")?;
    }
    let mut scenario = args.scenario.load()?;
    if let Some(p) = args.periods {
        anyhow::ensure!(
            (1..=clv_envs::scenario::MAX_HORIZON).contains(&p),
            "--periods must be in 1..={}, got {p}",
            clv_envs::scenario::MAX_HORIZON
        );
        scenario.horizon = p;
    }
    let customers = args.customers.unwrap_or(scenario.population.customers);
    anyhow::ensure!(customers > 0, "--customers must be at least 1");
    let mut policy = crate::policies::resolve(&args.policy, &scenario)?;
    // Another process writing the same --out is refused before any work.
    if let Some(out) = &args.out {
        io::lock_run_dir(out, "simulate")?;
    }
    let started = Instant::now();
    let mut pop = Population::build(
        &scenario,
        args.domain.seed_domain(),
        args.seed,
        customers,
        args.scenario.base_dir(),
        clv_envs::TrailMode::for_policies(std::iter::once(policy.as_ref())),
    )?;
    let bar = io::progress(
        scenario.horizon as u64,
        "simulating",
        args.quiet || args.json,
    );
    let result = pop.evaluate(policy.as_mut(), &|t| bar.set_position(t as u64));
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let doc = simulate_summary(&scenario, &result, args.seed, args.domain, elapsed);
    if let Some(out) = &args.out {
        write_outputs(out, &scenario, &result, &doc)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&run_files::sorted(&doc)?)?);
    } else {
        print_summary(&scenario, &doc);
    }
    Ok(())
}

/// The summary of a simulation (`summary.json`, `--json`) of the population `seed` in
/// `domain`, which took `elapsed_seconds`.
fn simulate_summary(
    scenario: &clv_envs::Scenario,
    result: &clv_envs::EvalResult,
    seed: u64,
    domain: EvalDomain,
    elapsed_seconds: f64,
) -> SimulateSummary {
    let names = offer_names(scenario);
    let totals = result.totals();
    let customer_periods = totals.customers as f64 * scenario.horizon as f64;
    SimulateSummary {
        schema_version: run_files::SIMULATE_SUMMARY_SCHEMA_VERSION,
        scenario: scenario.name.clone(),
        policy: result.policy.clone(),
        seed,
        seed_domain: domain.name().to_string(),
        periods: scenario.horizon,
        horizon: scenario.horizon,
        short_horizon: result.short_horizon,
        all: Summary::new(result, &totals, None, &names),
        segments: SEGMENTS
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let s = Summary::new(result, &result.by_segment[k], Some(k as u8), &names);
                (name.to_string(), s)
            })
            .collect(),
        budget: crate::budget_report::budget_report(scenario, std::slice::from_ref(result), &[0]),
        timing: SimulateTiming {
            elapsed_seconds,
            evaluation_seconds: result.elapsed_seconds,
            customer_periods_per_second: customer_periods / result.elapsed_seconds.max(1e-9),
        },
    }
}

/// The scenario's offer names, in catalogue order.
fn offer_names(scenario: &clv_envs::Scenario) -> Vec<String> {
    scenario.offers.iter().map(|o| o.name.clone()).collect()
}

/// Writes scenario.ron, summary.json and series.csv (per-period sums) into `out`.
fn write_outputs(
    out: &std::path::Path,
    scenario: &clv_envs::Scenario,
    result: &clv_envs::EvalResult,
    doc: &SimulateSummary,
) -> anyhow::Result<()> {
    io::write_scenario(&out.join("scenario.ron"), scenario)?;
    run_files::write_sorted(&out.join("summary.json"), doc)?;
    let names = offer_names(scenario);
    let mut header = vec!["period", "reward", "purchases", "contacts", "alive"];
    let offer_cols: Vec<String> = names.iter().map(|n| format!("offers_{n}")).collect();
    header.extend(offer_cols.iter().map(String::as_str));
    header.extend([
        "marketing",
        "budget_spend",
        "budget",
        "capped_offers",
        "cut_offers",
    ]);
    let rows: Vec<Vec<String>> = result
        .series
        .iter()
        .enumerate()
        .map(|(t, r)| {
            let mut v = vec![
                (t + 1).to_string(),
                r.reward.to_string(),
                r.purchases.to_string(),
                r.contacts.to_string(),
                r.alive.to_string(),
            ];
            v.extend(r.offers.iter().take(names.len()).map(|c| c.to_string()));
            v.extend([
                r.marketing.to_string(),
                r.committed.to_string(),
                r.budget.map(|b| b.to_string()).unwrap_or_default(),
                r.capped.to_string(),
                r.cut.to_string(),
            ]);
            v
        })
        .collect();
    io::write_csv(&out.join("series.csv"), &header, &rows)?;
    io::finish_run_dir(out)
}

/// The summary on the terminal.
fn print_summary(scenario: &clv_envs::Scenario, doc: &SimulateSummary) {
    let summary = &doc.all;
    println!(
        "{} | policy {} | {} customers x {} periods | seed {}",
        scenario.name, doc.policy, summary.customers, scenario.horizon, doc.seed
    );
    println!(
        "CLV per customer over {} periods: ${:.2} (95% CI {:.2} .. {:.2}); over {} periods: ${:.2}",
        scenario.horizon,
        summary.clv_mean,
        summary.clv_ci95[0],
        summary.clv_ci95[1],
        doc.short_horizon,
        summary.clv52_mean
    );
    println!(
        "margin ${:.2}, marketing cost ${:.2}, purchases {:.3}, AOV ${:.2}, contacts {:.2}, redeemed {:.3} per customer",
        summary.margin_per_customer,
        summary.marketing_cost_per_customer,
        summary.purchases_per_customer,
        summary.avg_order_value,
        summary.contacts_per_customer,
        summary.coupons_redeemed_per_customer
    );
    println!(
        "active at end {:.1}%, opted out {:.1}%   ({:.2} s, {:.1} M customer-periods/s)",
        100.0 * summary.active_share_end,
        100.0 * summary.opt_out_share,
        doc.timing.elapsed_seconds,
        doc.timing.customer_periods_per_second / 1e6
    );
    if let Some(b) = &doc.budget {
        print!("{}", crate::budget_report::table(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `clv simulate` writes reads back as the same summary.
    #[test]
    fn the_summary_reads_back() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut scenario =
            clv_envs::load_scenario(&root.join("scenarios/default.ron"), &[]).unwrap();
        scenario.horizon = 4;
        let domain = EvalDomain::Test;
        let mut pop = Population::new(&scenario, domain.seed_domain(), 0, 300, root).unwrap();
        let mut policy = crate::policies::resolve("none", &scenario).unwrap();
        let result = pop.evaluate(policy.as_mut(), &|_| {});
        let doc = simulate_summary(&scenario, &result, 0, domain, 0.0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        run_files::write_sorted(&path, &doc).unwrap();
        let back: SimulateSummary = run_files::read(&path).unwrap();
        // serde_json parses floats to within an ulp, not always to the same bits.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
        assert!(close(back.all.clv_mean, doc.all.clv_mean));
        assert!(close(
            back.all.margin_per_customer,
            doc.all.margin_per_customer
        ));
        assert_eq!(back.all.customers, 300);
        assert_eq!(back.all.offers_per_customer.len(), scenario.offers.len());
        let keys = |m: &std::collections::BTreeMap<String, clv_envs::Summary>| {
            m.keys().cloned().collect::<Vec<_>>()
        };
        assert_eq!(keys(&back.segments), keys(&doc.segments));
        assert_eq!(
            back.schema_version,
            run_files::SIMULATE_SUMMARY_SCHEMA_VERSION
        );
    }
}

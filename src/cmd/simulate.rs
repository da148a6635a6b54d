//! `clv simulate`: one policy over the scored window of a population; a summary on the
//! terminal or as JSON, and CSV / JSON / resolved scenario in the out dir.

use std::path::PathBuf;
use std::time::Instant;

use clv_envs::metrics::SEGMENTS;
use clv_envs::{Population, Summary};
use serde_json::json;

use crate::io;
use crate::scenario_args::{EvalDomain, ScenarioArgs, set_threads};

/// Version of the JSON layout printed by `--json` and written as summary.json.
pub const SCHEMA_VERSION: u32 = 1;

/// Arguments of `clv simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Policy spec: none, random, fixed:OFFER, cadence:OFFER:WEEKS, rfm-winback[:WEEKS[:OFFER]],
    /// churn-risk[:P[:OFFER[:COOLDOWN]]], recommend-last[:WEEKS], oracle-myopic, dqn:RUN_DIR, ...
    #[arg(long, default_value = "none")]
    pub policy: String,
    /// Seed of the population, within --domain.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed domain of the population: `test` (the reported result) or `validation` (the
    /// customers `clv tune` and `clv train` choose on; diagnose policies there).
    #[arg(long, value_enum, default_value_t = EvalDomain::Test)]
    pub domain: EvalDomain,
    /// Customers (default: the scenario's population.customers).
    #[arg(long)]
    pub customers: Option<u64>,
    /// Scored periods (default: the scenario's horizon).
    #[arg(long)]
    pub periods: Option<u32>,
    /// Worker threads (0 = all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
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
    let started = Instant::now();
    let mut pop = Population::new(
        &scenario,
        args.domain.seed_domain(),
        args.seed,
        customers,
        args.scenario.base_dir(),
    )?;
    let bar = io::progress(
        scenario.horizon as u64,
        "simulating",
        args.quiet || args.json,
    );
    let result = pop.evaluate(policy.as_mut(), &|t| bar.set_position(t as u64));
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let names: Vec<String> = scenario.offers.iter().map(|o| o.name.clone()).collect();
    let totals = result.totals();
    let summary = Summary::new(&result, &totals, None, &names);
    let customer_periods = customers as f64 * scenario.horizon as f64;
    let mut obj = serde_json::to_value(&summary)?;
    let extra = json!({
        "schema_version": SCHEMA_VERSION,
        "scenario": scenario.name,
        "policy": result.policy,
        "seed": args.seed,
        "seed_domain": args.domain.name(),
        "customers": customers,
        "periods": scenario.horizon,
        "horizon": scenario.horizon,
        "short_horizon": result.short_horizon,
        "timing": {
            "elapsed_seconds": elapsed,
            "evaluation_seconds": result.elapsed_seconds,
            "customer_periods_per_second": customer_periods / result.elapsed_seconds.max(1e-9),
        },
    });
    merge(&mut obj, extra);
    let mut segs = serde_json::Map::new();
    for (k, name) in SEGMENTS.iter().enumerate() {
        let s = Summary::new(&result, &result.by_segment[k], Some(k as u8), &names);
        segs.insert(name.to_string(), serde_json::to_value(s)?);
    }
    obj["segments"] = serde_json::Value::Object(segs);

    if let Some(out) = &args.out {
        std::fs::create_dir_all(out)?;
        io::write_scenario(&out.join("scenario.ron"), &scenario)?;
        io::write_json(&out.join("summary.json"), &obj)?;
        let mut header = vec!["period", "reward", "purchases", "contacts", "alive"];
        let offer_cols: Vec<String> = names.iter().map(|n| format!("offers_{n}")).collect();
        header.extend(offer_cols.iter().map(String::as_str));
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
                v
            })
            .collect();
        io::write_csv(&out.join("series.csv"), &header, &rows)?;
    }

    if args.json {
        println!("{}", serde_json::to_string(&obj)?);
    } else {
        println!(
            "{} | policy {} | {} customers x {} periods | seed {}",
            scenario.name, result.policy, customers, scenario.horizon, args.seed
        );
        println!(
            "CLV per customer over {} periods: ${:.2} (95% CI {:.2} .. {:.2}); over {} periods: ${:.2}",
            scenario.horizon,
            summary.clv_mean,
            summary.clv_ci95[0],
            summary.clv_ci95[1],
            result.short_horizon,
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
            elapsed,
            customer_periods / result.elapsed_seconds.max(1e-9) / 1e6
        );
    }
    Ok(())
}

/// Adds the keys of `extra` to `obj` (both JSON objects).
pub fn merge(obj: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(o), serde_json::Value::Object(e)) = (obj.as_object_mut(), extra) {
        for (k, v) in e {
            o.insert(k, v);
        }
    }
}

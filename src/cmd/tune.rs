//! `clv tune`: searches a parameterised baseline's grid on validation seeds and prints the
//! best spec, so that agents are always compared with tuned heuristics.

use clv_envs::SeedDomain;
use clv_envs::metrics::mean_ci;
use clv_envs::policy::tuning_grid;

use crate::evaluation::evaluate_policies;
use crate::io;
use crate::scenario_args::{ScenarioArgs, set_threads};

/// Arguments of `clv tune`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Baseline kind to tune: fixed, cadence, rfm-winback, churn-risk, recommend-last.
    #[arg(long)]
    pub policy: String,
    /// Validation populations (seeds) to pool.
    #[arg(long, default_value_t = 1)]
    pub seeds: u64,
    /// Customers per seed. At most 50,000,000.
    #[arg(long, default_value_t = 10_000, value_parser = crate::scenario_args::customers_arg())]
    pub customers: u64,
    /// Worker threads (0 = all cores). At most 256.
    #[arg(long, default_value_t = 0, value_parser = crate::scenario_args::threads_arg())]
    pub threads: usize,
    /// Print the ranking as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// The best spec of `kind` on validation seeds, with the ranking (spec, mean CLV, CI).
pub fn tune(
    scenario: &clv_envs::Scenario,
    base_dir: &std::path::Path,
    kind: &str,
    seeds: u64,
    customers: u64,
    progress: &dyn Fn(u64, u64),
) -> anyhow::Result<Vec<(String, f64, [f64; 2])>> {
    let grid = tuning_grid(kind, scenario)?;
    let mut policies = grid
        .iter()
        .map(|s| crate::policies::resolve(s, scenario))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let seeds: Vec<u64> = (0..seeds).collect();
    let total = scenario.horizon as u64 * seeds.len() as u64 * policies.len() as u64;
    let results = evaluate_policies(
        scenario,
        base_dir,
        SeedDomain::Validation,
        &seeds,
        customers,
        &mut policies,
        &|d| progress(d, total),
    )?;
    let mut ranking: Vec<(String, f64, [f64; 2])> = results
        .iter()
        .map(|r| {
            let m = mean_ci(r.clv.iter().copied());
            (r.policy.clone(), m.mean, m.ci95)
        })
        .collect();
    ranking.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(ranking)
}

/// Runs `clv tune`.
pub fn run(args: Args) -> anyhow::Result<()> {
    set_threads(args.threads)?;
    let scenario = args.scenario.load()?;
    anyhow::ensure!(args.seeds >= 1, "--seeds must be at least 1");
    anyhow::ensure!(args.customers >= 1, "--customers must be at least 1");
    let bar = io::progress(1, "tuning", args.quiet || args.json);
    let ranking = tune(
        &scenario,
        args.scenario.base_dir(),
        &args.policy,
        args.seeds,
        args.customers,
        &|d, total| {
            bar.set_length(total);
            bar.set_position(d)
        },
    )?;
    bar.finish_and_clear();
    if args.json {
        let v: Vec<_> = ranking
            .iter()
            .map(|(s, m, ci)| serde_json::json!({"policy": s, "clv_mean": m, "clv_ci95": ci}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"kind": args.policy, "best": ranking[0].0, "seed_domain": "validation", "ranking": v})
        );
    } else {
        eprintln!("validation CLV per customer (top 5 of {}):", ranking.len());
        for (s, m, ci) in ranking.iter().take(5) {
            eprintln!("  {s:<40} {m:>8.2}  ({:.2} .. {:.2})", ci[0], ci[1]);
        }
        println!("{}", ranking[0].0);
    }
    Ok(())
}

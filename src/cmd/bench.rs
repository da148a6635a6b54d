//! `clv bench`: measured speed figures (never asserted in tests).
//!
//! `clv bench sim`: customer-periods per second of the population engine (policy acting,
//! stepping, metrics), with one thread and with all threads, under `none` and `rfm-winback`,
//! and bytes of state per customer.

use std::time::Instant;

use clap::Subcommand;
use clv_envs::{Population, SeedDomain};
use serde_json::json;

use crate::scenario_args::ScenarioArgs;

/// Arguments of `clv bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which benchmark.
    #[command(subcommand)]
    pub which: Which,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum Which {
    /// Simulator throughput (customer-periods per second) and state bytes per customer.
    Sim(SimArgs),
    /// The agents' acceptance result: tuned baselines vs trained DQN on test seeds.
    Acceptance(crate::cmd::acceptance::Args),
    /// What each lever of the DQN recipe is worth on a scenario, on validation customers.
    Ablation(crate::cmd::ablation::Args),
    /// Cost of the training signals: training-population steps per second with realised
    /// rewards, expected rewards and paired counterfactuals, and the replay bytes each adds.
    Signals(SignalArgs),
}

/// Arguments of `clv bench signals`.
#[derive(Debug, clap::Args)]
pub struct SignalArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Customers in the training population.
    #[arg(long, default_value_t = 4096)]
    pub customers: usize,
    /// Periods stepped per configuration.
    #[arg(long, default_value_t = 100)]
    pub periods: u32,
    /// Incumbent baseline whose action in every counterfactual next state is computed (as
    /// the recipe's `bootstrap: Incumbent` needs).
    #[arg(long, default_value = "rfm-winback")]
    pub incumbent: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `clv bench sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Customers. At most 50,000,000.
    #[arg(long, default_value_t = 1_000_000, value_parser = crate::scenario_args::customers_arg())]
    pub customers: u64,
    /// Periods timed (from the start of the scored window).
    #[arg(long, default_value_t = 52)]
    pub periods: u32,
    /// Policies to time.
    #[arg(long = "policy", default_values_t = vec!["none".to_string(), "rfm-winback".to_string()])]
    pub policies: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `clv bench`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.which {
        Which::Sim(a) => sim(a),
        Which::Acceptance(a) => crate::cmd::acceptance::run(a),
        Which::Ablation(a) => crate::cmd::ablation::run(a),
        Which::Signals(a) => signals(a),
    }
}

/// Steps a catalogue training population `periods` times with the given signals; returns
/// customer-periods per second (real steps, counterfactual steps not counted).
fn time_signals(
    args: &SignalArgs,
    scenario: &clv_envs::Scenario,
    reward: clv_envs::RewardSignal,
    counterfactual: bool,
) -> anyhow::Result<f64> {
    use clv_envs::{Actions, VecEnv};
    let mut env = clv_envs::PopulationEnv::new(
        scenario,
        args.customers,
        clv_envs::OfferActions::Catalogue,
        SeedDomain::Train,
        args.scenario.base_dir(),
    )?
    .with_reward(reward)
    .with_counterfactuals(counterfactual)
    .with_incumbent(Some(clv_envs::parse_baseline(&args.incumbent, scenario)?));
    env.reset(0);
    let n_actions = scenario.offers.len() as u32;
    let started = Instant::now();
    for t in 0..args.periods {
        let a: Vec<u32> = (0..args.customers as u32)
            .map(|i| (i + t) % n_actions)
            .collect();
        env.step(Actions::Discrete(&a));
    }
    Ok(args.customers as f64 * args.periods as f64 / started.elapsed().as_secs_f64())
}

fn signals(args: SignalArgs) -> anyhow::Result<()> {
    use clv_envs::RewardSignal::{Expected, Realised};
    let scenario = args.scenario.load()?;
    anyhow::ensure!(args.customers >= 1, "--customers must be at least 1");
    anyhow::ensure!(args.periods >= 1, "--periods must be at least 1");
    let dim = clv_envs::FeatureSpec::new(&scenario).dim();
    let n_actions = scenario.offers.len();
    // One replay transition: obs, next obs, action, reward, discount, terminated (f32 each).
    let plain_bytes = (2 * dim + 4) * 4;
    // Per action: reward, next observation and the incumbent's next action.
    let counterfactual_bytes = n_actions * (dim + 2) * 4;
    let mut rows = vec![];
    for (name, reward, cf) in [
        ("realised", Realised, false),
        ("expected", Expected, false),
        ("realised+counterfactual", Realised, true),
        ("expected+counterfactual", Expected, true),
    ] {
        let cps = time_signals(&args, &scenario, reward, cf)?;
        eprintln!("{name:<24} {:>8.3} M customer-periods/s", cps / 1e6);
        rows.push(json!({"signals": name, "customer_periods_per_second": cps}));
    }
    let doc = json!({
        "scenario": scenario.name,
        "customers": args.customers,
        "periods": args.periods,
        "obs_dim": dim,
        "actions": n_actions,
        "replay_bytes_per_transition": plain_bytes,
        "counterfactual_replay_bytes_per_transition": counterfactual_bytes,
        "runs": rows,
    });
    if args.json {
        println!("{doc}");
    } else {
        println!(
            "replay: {plain_bytes} bytes per transition, +{counterfactual_bytes} with counterfactuals ({n_actions} actions x {dim} features)"
        );
    }
    Ok(())
}

fn sim(args: SimArgs) -> anyhow::Result<()> {
    let mut scenario = args.scenario.load()?;
    anyhow::ensure!(args.periods >= 1, "--periods must be at least 1");
    scenario.horizon = args.periods;
    let all = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut threads = vec![1];
    if all > 1 {
        threads.push(all);
    }
    eprintln!(
        "building {} customers ({:?} start)...",
        args.customers, scenario.start
    );
    let built = Instant::now();
    let start = Population::new(
        &scenario,
        SeedDomain::Test,
        0,
        args.customers,
        args.scenario.base_dir(),
    )?;
    let build_seconds = built.elapsed().as_secs_f64();
    let state_bytes = Population::state_bytes_per_customer();
    let eval_bytes = clv_envs::scenario::estimate_bytes(1);
    let mut rows = vec![];
    for spec in &args.policies {
        for &t in &threads {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build()?;
            let mut policy = crate::policies::resolve(spec, &scenario)?;
            let mut pop = start.clone();
            let r = pool.install(|| pop.evaluate(policy.as_mut(), &|_| {}));
            let cps = args.customers as f64 * args.periods as f64 / r.elapsed_seconds;
            eprintln!(
                "{spec:<14} threads {t}: {:>7.2} M customer-periods/s ({:.2} s)",
                cps / 1e6,
                r.elapsed_seconds
            );
            rows.push(json!({"policy": spec, "threads": t, "customer_periods_per_second": cps, "seconds": r.elapsed_seconds}));
        }
    }
    let doc = json!({
        "scenario": scenario.name,
        "customers": args.customers,
        "periods": args.periods,
        "build_seconds": build_seconds,
        "state_bytes_per_customer": state_bytes,
        "bytes_per_customer_during_evaluation": eval_bytes,
        "runs": rows,
    });
    if args.json {
        println!("{doc}");
    } else {
        println!(
            "state: {state_bytes} bytes per customer ({eval_bytes} with evaluation buffers); population built in {build_seconds:.2} s"
        );
    }
    Ok(())
}

//! `clv bench`: measured speed figures (never asserted in tests).
//!
//! `clv bench sim`: customer-periods per second of the population engine (policy acting,
//! stepping, metrics), with one thread and with all threads, under `none` and `rfm-winback`,
//! and bytes of state per customer.
//!
//! `clv bench fit`: seconds of each stage of `clv fit` (reading the log, summarising, the
//! BG/NBD and Gamma-Gamma fits, the holdout tables) on a synthetic CDNOW-shaped log of any
//! size drawn from the published estimates, and the estimates themselves.

use std::time::Instant;

use clap::Subcommand;
use clv_envs::{Population, SeedDomain, TrailMode};
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
    /// `clv fit` stage by stage on a synthetic CDNOW-shaped log: seconds and estimates.
    Fit(FitArgs),
}

/// Arguments of `clv bench fit`.
#[derive(Debug, clap::Args)]
pub struct FitArgs {
    /// Customers in the synthetic log (CDNOW's master file has 23,570).
    #[arg(long, default_value_t = 60_000)]
    pub customers: usize,
    /// Seed of the synthetic log.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also keep the log here (a CSV `clv fit` reads), e.g. to time `clv fit` itself.
    #[arg(long)]
    pub write_log: Option<std::path::PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
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
        Which::Fit(a) => fit(a),
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
    // Every policy resolved first (a bad spec is refused before any work); the customers'
    // trails are kept only if one of them reads observations (a learner), as in `simulate`
    // and `compare`.
    let mut policies = args
        .policies
        .iter()
        .map(|spec| crate::policies::resolve(spec, &scenario))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let trail_mode = TrailMode::for_policies(policies.iter().map(|p| p.as_ref()));
    eprintln!(
        "building {} customers ({:?} start)...",
        args.customers, scenario.start
    );
    let built = Instant::now();
    let start = Population::build(
        &scenario,
        SeedDomain::Test,
        0,
        args.customers,
        args.scenario.base_dir(),
        trail_mode,
    )?;
    let build_seconds = built.elapsed().as_secs_f64();
    let state_bytes = Population::state_bytes_per_customer(trail_mode);
    let eval_bytes = clv_envs::scenario::estimate_bytes(1, trail_mode);
    let learner_state_bytes = Population::state_bytes_per_customer(TrailMode::Keep);
    let mut rows = vec![];
    for (spec, policy) in args.policies.iter().zip(policies.iter_mut()) {
        for &t in &threads {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build()?;
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
        "trails_kept": trail_mode == TrailMode::Keep,
        "state_bytes_per_customer_with_trails": learner_state_bytes,
        "runs": rows,
    });
    if args.json {
        println!("{doc}");
    } else {
        let trails = match trail_mode {
            TrailMode::Keep => "trails kept: a learner acts".to_string(),
            TrailMode::Drop => format!(
                "no trails: only rules act; {learner_state_bytes} with the trails a learner reads"
            ),
        };
        println!(
            "state: {state_bytes} bytes per customer ({trails}; {eval_bytes} with evaluation buffers); population built in {build_seconds:.2} s"
        );
    }
    Ok(())
}

/// Calibration end of the synthetic log in days from its start (1997-09-30, as in FHL 2005).
const FIT_CALIBRATION_DAYS: i64 = 272;

fn fit(args: FitArgs) -> anyhow::Result<()> {
    use clv_envs::btyd::{BgNbdParams, GammaGammaParams};
    use clv_envs::fit as f;
    anyhow::ensure!(args.customers >= 1, "--customers must be at least 1");
    let shape = f::SyntheticLog {
        customers: args.customers,
        seed: args.seed,
        ..f::SyntheticLog::default()
    };
    let log = f::synthetic_transactions(
        &BgNbdParams::default(),
        &GammaGammaParams::default(),
        &shape,
    );
    let path = args.write_log.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("clv-bench-fit-{}.csv", std::process::id()))
    });
    let file = std::fs::File::create(&path)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    f::write_log_csv(&log, std::io::BufWriter::new(file))?;
    let calibration_end = shape.start + chrono::Duration::days(FIT_CALIBRATION_DAYS);
    let holdout_end = shape.start + chrono::Duration::days(i64::from(shape.observed_days));

    let mut stages = vec![];
    let mut timed = |name: &'static str, started: Instant| {
        stages.push((name, started.elapsed().as_secs_f64()));
    };
    let t = Instant::now();
    let transactions = f::read_transactions_file(&path, &f::LogOptions::default())?;
    timed("read", t);
    let t = Instant::now();
    let summary = f::summarise(&transactions, Some(calibration_end), f::Period::Week)?;
    timed("summarise", t);
    let t = Instant::now();
    let bg = f::fit_bgnbd(&summary)?;
    timed("bgnbd", t);
    let t = Instant::now();
    let gg = f::fit_gamma_gamma(&summary)?;
    timed("gamma_gamma", t);
    let t = Instant::now();
    let holdout = f::holdout_report(&transactions, &summary, &bg.params, holdout_end)?;
    timed("holdout", t);
    if args.write_log.is_none() {
        std::fs::remove_file(&path).ok();
    }
    let total: f64 = stages.iter().map(|s| s.1).sum();
    let doc = json!({
        "customers": args.customers,
        "transactions": transactions.len(),
        "seed": args.seed,
        "calibration_end": calibration_end,
        "holdout_end": holdout_end,
        "seconds": stages.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "total_seconds": total,
        "bgnbd": {"params": bg.params, "std_errors": bg.std_errors, "log_likelihood": bg.log_likelihood, "evaluations": bg.evaluations},
        "gamma_gamma": {"params": gg.params, "std_errors": gg.std_errors, "log_likelihood": gg.log_likelihood, "evaluations": gg.evaluations},
        "holdout_total_actual": holdout.total_actual,
        "holdout_total_predicted": holdout.total_predicted,
    });
    if args.json {
        println!("{doc}");
    } else {
        println!(
            "{} transactions from {} customers (calibration to {calibration_end}, holdout to {holdout_end})",
            transactions.len(),
            args.customers
        );
        for (name, secs) in &stages {
            println!("  {name:<12}{secs:>9.3} s");
        }
        println!("  {:<12}{total:>9.3} s", "total");
        let (p, e) = (&bg.params, &bg.std_errors);
        println!(
            "BG/NBD: r {:.6} ({:.6}) alpha {:.6} ({:.6}) a {:.6} ({:.6}) b {:.6} ({:.6}); LL {:.4}; {} evaluations",
            p.r, e.r, p.alpha, e.alpha, p.a, e.a, p.b, e.b, bg.log_likelihood, bg.evaluations
        );
        let (p, e) = (&gg.params, &gg.std_errors);
        println!(
            "Gamma-Gamma: p {:.6} ({:.6}) q {:.6} ({:.6}) gamma {:.6} ({:.6}); LL {:.4}; {} evaluations",
            p.p, e.p, p.q, e.q, p.gamma, e.gamma, gg.log_likelihood, gg.evaluations
        );
    }
    Ok(())
}

//! `clv demo`: the whole pipeline on one scenario, end to end: tune every parameterised
//! baseline on validation seeds, train DQN and TD3 with two seeds each at the default budget,
//! compare everything once on test seeds (common random numbers), score the DQN critic as a
//! CLV predictor, then plots and reports.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use crate::cmd::acceptance::TUNED_KINDS;
use crate::run_files::{self, BestBaseline, Comparison, TrainSummary};
use crate::scenario_args::ScenarioArgs;

/// Validation customers of the agents' runs (checkpoint choice and the baseline reference).
const VALID_CUSTOMERS: u64 = 4000;
/// Validation customers the critic's calibration is fitted on.
const CRITIC_VALID_CUSTOMERS: u64 = 4000;

/// Arguments of `clv demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Output directory.
    #[arg(long, default_value = "results/demo")]
    pub out: PathBuf,
    /// Training seeds of the agents.
    #[arg(long, default_values_t = vec![0u64, 1])]
    pub train_seeds: Vec<u64>,
    /// Validation customers for tuning the baselines. At most 50,000,000.
    #[arg(long, default_value_t = 5000, value_parser = crate::scenario_args::customers_arg())]
    pub tune_customers: u64,
    /// Test customers of the comparison. At most 50,000,000.
    #[arg(long, default_value_t = 20_000, value_parser = crate::scenario_args::customers_arg())]
    pub test_customers: u64,
    /// Override the agents' environment-step budget (default: the config's).
    #[arg(long)]
    pub steps: Option<u64>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Adds `best_baseline` {policy, return_mean} to a training run's summary.json: the best tuned
/// baseline's realised CLV per customer on the run's own validation customers (the population
/// its validation curve was measured on), so the training plot can draw it as a reference.
fn add_baseline_reference(
    run: &std::path::Path,
    scenario: &clv_envs::Scenario,
    base_dir: &std::path::Path,
    spec: &str,
    seed: u64,
) -> anyhow::Result<()> {
    let mut pop = clv_envs::Population::new(
        scenario,
        clv_envs::SeedDomain::Validation,
        seed,
        VALID_CUSTOMERS,
        base_dir,
    )?;
    let mut policy = crate::policies::resolve(spec, scenario)?;
    let r = pop.evaluate(policy.as_mut(), &|_| {});
    let mean = r.clv.iter().sum::<f64>() / r.clv.len().max(1) as f64;
    let path = run.join("summary.json");
    let mut summary: TrainSummary = run_files::read(&path)?;
    summary.best_baseline = Some(BestBaseline {
        policy: spec.to_string(),
        return_mean: mean,
        customers: Some(VALID_CUSTOMERS),
        seed: Some(seed),
    });
    // Sorted keys and a final newline, as `clv demo` has always rewritten it.
    run_files::write_sorted(&path, &summary)?;
    crate::cmd::report::report_dir(run, None)?;
    Ok(())
}

/// Runs `clv demo`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    crate::io::check_out_dir(&args.out, "--out")?;
    let scenario = args.scenario.load()?;
    let say = |m: String| {
        if !args.quiet {
            eprintln!("[{:>5.0} s] {m}", started.elapsed().as_secs_f64());
        }
    };
    crate::io::lock_run_dir(&args.out, "demo")?;
    let (mut policies, best_tuned) = tune_baselines(&args, &scenario, &say)?;
    train_agents(&args, &scenario, best_tuned.as_ref(), &say, &mut policies)?;
    say(format!(
        "comparing {} policies on {} test customers",
        policies.len(),
        args.test_customers
    ));
    let cmp_dir = args.out.join("comparison");
    // Paired differences against the best tuned baseline: the incumbent the learners improve
    // on (`fixed:none` is `none` under another name).
    let reference = match &best_tuned {
        Some((spec, _)) if spec != "fixed:none" => spec.clone(),
        _ => "none".to_string(),
    };
    let (comparison, _) = crate::cmd::compare::compare_to_dir(
        &scenario,
        args.scenario.base_dir(),
        &policies,
        &reference,
        crate::scenario_args::EvalDomain::Test,
        &[0],
        args.test_customers,
        Some(&cmp_dir),
        args.quiet,
        0,
    )?;
    crate::cmd::report::report_dir(&cmp_dir, Some(&format!("clv demo: {}", scenario.name)))?;
    crate::cmd::report::report_dir(&args.out.join("training-dqn"), Some("DQN training"))?;
    crate::cmd::report::report_dir(&args.out.join("training-td3"), Some("TD3 training"))?;
    say("scoring the DQN critic as a CLV predictor".into());
    score_critic(&args, &scenario)?;
    write_index(&args, &scenario, &comparison, &reference, started)?;
    crate::io::finish_run_dir(&args.out)
}

/// Tunes every parameterised baseline kind on validation seeds: the policies to compare
/// (`none`, `oracle-myopic` and the best setting of each kind) and the best tuned baseline
/// with its validation CLV.
#[allow(clippy::type_complexity)]
fn tune_baselines(
    args: &Args,
    scenario: &clv_envs::Scenario,
    say: &dyn Fn(String),
) -> anyhow::Result<(Vec<String>, Option<(String, f64)>)> {
    let mut policies = vec!["none".to_string(), "oracle-myopic".to_string()];
    let mut best_tuned: Option<(String, f64)> = None;
    for kind in TUNED_KINDS {
        say(format!("tuning {kind} on validation seeds"));
        let ranking = crate::cmd::tune::tune(
            scenario,
            args.scenario.base_dir(),
            kind,
            1,
            args.tune_customers,
            &|_, _| {},
        )?;
        say(format!(
            "  best: {} (validation CLV ${:.2})",
            ranking[0].0, ranking[0].1
        ));
        if best_tuned.as_ref().is_none_or(|b| ranking[0].1 > b.1) {
            best_tuned = Some((ranking[0].0.clone(), ranking[0].1));
        }
        // `fixed:none` is `none` under another name.
        if ranking[0].0 != "fixed:none" && !policies.contains(&ranking[0].0) {
            policies.push(ranking[0].0.clone());
        }
    }
    Ok((policies, best_tuned))
}

/// Training runs the demo runs at once: each run's results do not depend on threads, and one
/// run keeps about one of the two cores busy (libtorch updates are single-threaded), so two at
/// a time finish the four runs in a little over half the time.
pub const PARALLEL_TRAINING_RUNS: usize = 2;

/// Trains DQN and TD3 with every training seed ([`PARALLEL_TRAINING_RUNS`] at a time), adds the
/// best tuned baseline to each run's summary as a reference, and appends the agents to
/// `policies` (in the order DQN seeds, then TD3 seeds).
fn train_agents(
    args: &Args,
    scenario: &clv_envs::Scenario,
    best_tuned: Option<&(String, f64)>,
    say: &dyn Fn(String),
    policies: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut jobs = vec![];
    for (kind, agent) in [
        ("dqn", crate::cmd::train::AgentKind::Dqn),
        ("td3", crate::cmd::train::AgentKind::Td3),
    ] {
        for seed in &args.train_seeds {
            let dir = args
                .out
                .join(format!("training-{kind}"))
                .join(format!("{kind}-seed{seed}"));
            jobs.push((kind, agent, *seed, dir));
        }
    }
    let train_args = |agent, seed, dir: &std::path::Path| crate::cmd::train::Args {
        scenario: Some(args.scenario.scenario.clone()),
        overrides: args.scenario.overrides.clone(),
        gamma: None,
        action_margin: None,
        incumbent: best_tuned.as_ref().map(|(spec, _)| spec.clone()),
        valid_customers: VALID_CUSTOMERS,
        test_customers: 1000,
        env: None,
        agent,
        config: None,
        steps: args.steps,
        seed,
        out: Some(dir.to_path_buf()),
        device: clv_agents::DeviceChoice::Auto,
        resume: None,
        quiet: true,
    };
    for batch in jobs.chunks(PARALLEL_TRAINING_RUNS) {
        for (kind, _, seed, dir) in batch {
            say(format!("training {kind} seed {seed} -> {}", dir.display()));
        }
        let results: Vec<anyhow::Result<()>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|(_, agent, seed, dir)| {
                    let a = train_args(*agent, *seed, dir);
                    scope.spawn(move || crate::cmd::train::run(a))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a training run panicked")))
                })
                .collect()
        });
        for ((kind, _, seed, dir), result) in batch.iter().zip(results) {
            result.with_context(|| format!("training {kind} seed {seed}"))?;
            if let Some((spec, _)) = best_tuned {
                add_baseline_reference(dir, scenario, args.scenario.base_dir(), spec, *seed)?;
            }
            policies.push(format!("{kind}:{}", dir.display()));
        }
    }
    Ok(())
}

/// Scores the first DQN run's critic as a CLV predictor into `critic/`.
fn score_critic(args: &Args, scenario: &clv_envs::Scenario) -> anyhow::Result<()> {
    let critic_dir = args.out.join("critic");
    let first = args.train_seeds[0];
    let critic = crate::cmd::critic::critic(
        &args
            .out
            .join("training-dqn")
            .join(format!("dqn-seed{first}")),
        scenario,
        args.scenario.base_dir(),
        CRITIC_VALID_CUSTOMERS,
        args.test_customers,
    )?;
    std::fs::create_dir_all(&critic_dir)?;
    critic.write(&critic_dir.join("critic.json"))?;
    crate::cmd::critic::write_plot_and_report(&critic_dir, &critic)
}

/// The demo's one-line headline (printed on stdout): the best deployable policy on the test
/// customers, and for each learner whether it beat the best tuned baseline on the same
/// customers, by how much, with the paired 95% interval. Policies that read hidden traits
/// never headline.
fn headline(comparison: &Comparison) -> String {
    let Some(d) = &comparison.decision else {
        return "no deployable policy in the comparison".into();
    };
    let best = comparison.policies.iter().find(|r| r.policy == d.best);
    let mut h = format!(
        "best deployable policy on {}: `{}` (${:.2} per customer)",
        crate::cmd::headline::comparison_customers(comparison),
        d.best,
        best.map_or(f64::NAN, |r| r.summary.clv_mean)
    );
    if let (Some(r), Some(m)) = (&d.runner_up, &d.best_vs_runner_up) {
        let _ = write!(
            h,
            ", {:+.2} over `{r}` (paired 95% CI {:+.2} .. {:+.2})",
            m.mean, m.ci95[0], m.ci95[1]
        );
    }
    for l in &d.learners {
        let [lo, hi] = l.diff_vs_baseline.ci95;
        let verdict = crate::cmd::headline::Side::of([lo, hi]).say([
            "beat it",
            "lost to it",
            "no difference shown",
        ]);
        let _ = write!(
            h,
            "; `{}` vs `{}` {:+.2} (paired 95% CI {lo:+.2} .. {hi:+.2}): {verdict}",
            l.policy,
            d.baseline.as_deref().unwrap_or("-"),
            l.diff_vs_baseline.mean
        );
    }
    h
}

/// Writes the demo's report.md (the headline and links to the parts) and prints the headline.
fn write_index(
    args: &Args,
    scenario: &clv_envs::Scenario,
    comparison: &Comparison,
    reference: &str,
    started: Instant,
) -> anyhow::Result<()> {
    let headline = headline(comparison);
    let report = args.out.join("report.md");
    let decision = crate::cmd::headline::comparison_decision(comparison).unwrap_or_default();
    let text = format!(
        "# clv demo: {}\n\n{decision}Reference of the paired differences in the comparison: `{reference}`. Baselines tuned on validation seeds ({} customers), DQN and TD3 trained with seeds {:?} (each validated on its own validation customers and tested on its own test customers), one comparison of every policy on test seed 0 ({} customers, common random numbers), {:.0} s in all.\n\n- [Policy comparison](comparison/report.md) (test customers: seed 0, {} customers; the figures above)\n- [DQN training curves](training-dqn/report.md) (training and validation customers of each run; final test on each run's own test customers)\n- [TD3 training curves](training-td3/report.md) (the same)\n- [The DQN critic as a CLV predictor](critic/critic.md) (calibrated on validation customers, scored on test customers)\n",
        scenario.name,
        args.tune_customers,
        args.train_seeds,
        args.test_customers,
        started.elapsed().as_secs_f64(),
        args.test_customers,
    );
    crate::io::write_atomic(&report, text.as_bytes())?;
    println!("{headline}");
    println!(
        "report: {} ({:.0} s)",
        report.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

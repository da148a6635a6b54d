//! `clv bench acceptance`: the agents' acceptance result, end to end and honest.
//!
//! For every scenario given (default: every file in `scenarios/`):
//! 1. every parameterised baseline kind is tuned on validation seeds (`clv tune`), and the best
//!    tuned baseline other than `oracle-myopic` is chosen, on validation seeds too;
//! 2. DQN is trained at its default budget with each training seed (and, where `--myopic`
//!    names the scenario, the same learner with gamma = 0);
//! 3. everything is compared once on test seeds with common random numbers.
//!
//! A DQN seed passes when the lower bound of its paired 95% interval against the best tuned
//! baseline exceeds max($0.25, 5% of |best tuned baseline - none|) per customer (and, on the
//! `--myopic` scenarios, the same against the myopic learner of the same seed). The scenario
//! passes when at least `--need` seeds pass.
//!
//! With `--td3` (default on), TD3 is trained on the continuous offer with the same seeds at
//! its default budget (agents/configs/population-td3.ron) and compared in the same test
//! evaluation. A TD3 seed passes by the same margin rule against the same best tuned baseline
//! as DQN (every baseline kind); it is also reported against DQN of the same seed (paired
//! difference with its interval, no pass rule). TD3 passes on a scenario when at least
//! `--need` seeds pass.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clv_envs::SeedDomain;
use clv_envs::metrics::{mean_ci, paired_diff};

use crate::evaluation::{Diff, evaluate_policies};
use crate::io;
use crate::run_files::{
    self, ACCEPTANCE_SCHEMA_VERSION, AcceptanceReport, AcceptanceScenario, DqnSeedResult,
    Td3Acceptance, Td3SeedResult, TestClv, TrainSummary, TunedBaseline,
};

/// Baseline kinds tuned before the comparison.
pub const TUNED_KINDS: [&str; 5] = [
    "fixed",
    "cadence",
    "rfm-winback",
    "churn-risk",
    "recommend-last",
];

/// Arguments of `clv bench acceptance`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files (default: every .ron file in scenarios/).
    pub scenarios: Vec<PathBuf>,
    /// Training seeds of the agents.
    #[arg(long, default_values_t = vec![0u64, 1, 2])]
    pub train_seeds: Vec<u64>,
    /// Seeds that must pass per scenario.
    #[arg(long, default_value_t = 2)]
    pub need: usize,
    /// Test customers of the final comparison. At most 50,000,000.
    #[arg(long, default_value_t = 100_000, value_parser = crate::scenario_args::customers_arg())]
    pub test_customers: u64,
    /// Validation customers for tuning baselines and choosing the best one. At most 50,000,000.
    #[arg(long, default_value_t = 10_000, value_parser = crate::scenario_args::customers_arg())]
    pub tune_customers: u64,
    /// Validation customers for the agents' checkpoint choice. At most 50,000,000.
    #[arg(long, default_value_t = 10_000, value_parser = crate::scenario_args::customers_arg())]
    pub valid_customers: u64,
    /// Override the agents' environment-step budget (default: the config's).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Train and report TD3 on the continuous offer beside DQN (`--td3 false` skips it).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub td3: bool,
    /// Scenario names (not files) on which DQN must also beat the myopic learner; each must be
    /// the name of a scenario of the run. Default: `habituation`, where it is one of them.
    #[arg(long)]
    pub myopic: Option<Vec<String>>,
    /// Override a scenario field in every scenario (`--set path=value`), e.g. a shorter horizon
    /// for a smoke run.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Output directory (default results/acceptance-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `clv bench acceptance`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let scenarios = if args.scenarios.is_empty() {
        let mut v: Vec<PathBuf> = std::fs::read_dir("scenarios")
            .context("listing scenarios/ (run from the repository root, or name the files)")?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "ron"))
            .collect();
        v.sort();
        v
    } else {
        args.scenarios.clone()
    };
    anyhow::ensure!(!scenarios.is_empty(), "no scenarios to run");
    check_args(&args, &scenarios)?;
    let out = io::run_dir(args.out.as_deref(), "acceptance")?;
    let mut docs = vec![];
    let mut md = String::new();
    let _ = writeln!(md, "# Acceptance: DQN and TD3 against tuned baselines\n");
    let _ = writeln!(
        md,
        "Baselines tuned and the best one chosen on validation seeds ({} customers); agents trained with seeds {:?} at {}; one comparison on test seeds, {} customers, common random numbers. A seed passes when the lower bound of its paired 95% interval against the best tuned baseline exceeds max($0.25, 5% of |best - none|). Intervals are per comparison, unadjusted.\n",
        args.tune_customers,
        args.train_seeds,
        args.steps
            .map_or("the default budget".to_string(), |s| format!(
                "{s} customer-periods"
            )),
        args.test_customers
    );
    for path in &scenarios {
        let doc = one_scenario(&args, path, &out, &mut md)
            .with_context(|| format!("acceptance on {}", path.display()))?;
        docs.push(doc);
    }
    let all = AcceptanceReport {
        schema_version: ACCEPTANCE_SCHEMA_VERSION,
        scenarios: docs,
    };
    all.write(&out.join("acceptance.json"))?;
    io::write_atomic(&out.join("acceptance.md"), md.as_bytes())?;
    print!("{md}");
    eprintln!("wrote {}", out.display());
    // The run is complete whatever its verdict.
    io::finish_run_dir(&out)?;
    let failed = failed_verdicts(&all);
    anyhow::ensure!(
        failed.is_empty(),
        "acceptance FAILED: {} (see {})",
        failed.join(", "),
        out.join("acceptance.md").display()
    );
    Ok(())
}

/// Every argument checked before any work: seeds, `--need` (no more than the seeds trained),
/// every scenario loads, and every `--myopic` name is one of theirs.
fn check_args(args: &Args, scenarios: &[PathBuf]) -> anyhow::Result<()> {
    anyhow::ensure!(!args.train_seeds.is_empty(), "--train-seeds is empty");
    anyhow::ensure!(
        (1..=args.train_seeds.len()).contains(&args.need),
        "--need {} must be in 1..={} (the number of --train-seeds {:?})",
        args.need,
        args.train_seeds.len(),
        args.train_seeds
    );
    let mut names = vec![];
    for path in scenarios {
        let sa = crate::scenario_args::ScenarioArgs {
            scenario: path.to_path_buf(),
            overrides: args.overrides.clone(),
        };
        names.push(sa.load()?.name);
    }
    for m in args.myopic.iter().flatten() {
        anyhow::ensure!(
            names.contains(m),
            "--myopic {m:?} names no scenario of this run (scenario names: {})",
            names.join(", ")
        );
    }
    Ok(())
}

/// The scenario names `--myopic` gives, else [`DEFAULT_MYOPIC`].
fn myopic_names(args: &Args) -> impl Iterator<Item = &str> {
    args.myopic
        .as_deref()
        .map_or(vec![DEFAULT_MYOPIC], |v| {
            v.iter().map(String::as_str).collect()
        })
        .into_iter()
}

/// The scenario on which DQN must also beat the myopic learner when `--myopic` is not given.
const DEFAULT_MYOPIC: &str = "habituation";

/// The verdicts that failed (`default: DQN`, `default: TD3`), in scenario order.
fn failed_verdicts(report: &AcceptanceReport) -> Vec<String> {
    let mut failed = vec![];
    for s in &report.scenarios {
        if !s.pass {
            failed.push(format!("{}: DQN", s.scenario));
        }
        if s.td3.as_ref().is_some_and(|t| !t.pass) {
            failed.push(format!("{}: TD3", s.scenario));
        }
    }
    failed
}

/// The greedy-acting margin a DQN run chose on validation (its summary.json), if it has one.
fn chosen_margin(spec: &str) -> anyhow::Result<Option<f64>> {
    let Some((_, dir)) = spec.split_once(':') else {
        return Ok(None);
    };
    let summary: TrainSummary = run_files::read(&Path::new(dir).join("summary.json"))?;
    Ok(summary.action_margin)
}

/// Smallest lift of `oracle-myopic` over `none` (dollars per customer) below which a share of
/// it is not reported: where the oracle gains nothing (marketing off) or loses (habituation's
/// myopic trap), a ratio to it says nothing.
const MIN_ORACLE_LIFT: f64 = 0.01;

/// An agent's lift over `none` as a share of `oracle-myopic`'s, or `None` where the oracle's own
/// lift is under [`MIN_ORACLE_LIFT`] (all arguments in dollars per customer).
fn oracle_share(agent: f64, none: f64, oracle: f64) -> Option<f64> {
    (oracle - none >= MIN_ORACLE_LIFT).then(|| (agent - none) / (oracle - none))
}

/// The table cell for [`oracle_share`]: a percentage, or "n/a" with no oracle lift to share.
fn share_cell(share: Option<f64>) -> String {
    share.map_or("n/a".into(), |s| format!("{:.0}%", 100.0 * s))
}

fn say(quiet: bool, msg: String) {
    if !quiet {
        eprintln!("{msg}");
    }
}

/// The smallest lower bound a seed's paired interval must exceed, dollars per customer.
const MIN_REQUIRED_GAIN: f64 = 0.25;
/// The lower bound as a share of |baseline - none| where that is larger.
const REQUIRED_GAIN_SHARE: f64 = 0.05;

/// The lower bound a seed's paired 95% interval against `baseline` must exceed:
/// max([`MIN_REQUIRED_GAIN`], [`REQUIRED_GAIN_SHARE`] x |baseline - none|), dollars per
/// customer.
fn required_lower_bound(baseline: f64, none: f64) -> f64 {
    (REQUIRED_GAIN_SHARE * (baseline - none).abs()).max(MIN_REQUIRED_GAIN)
}

/// A paired difference as saved: mean and interval.
fn diff(a: &[f64], b: &[f64]) -> Diff {
    let d = paired_diff(a, b, None);
    Diff {
        mean: d.mean,
        ci95: d.ci95,
    }
}

/// Mean realised CLV per customer of one result, dollars.
fn clv_mean(r: &clv_envs::EvalResult) -> f64 {
    mean_ci(r.clv.iter().copied()).mean
}

/// A paired difference in the tables: `+1.23 (+0.50 .. +1.96)`.
fn diff_cell(d: &Diff) -> String {
    format!("{:+.2} ({:+.2} .. {:+.2})", d.mean, d.ci95[0], d.ci95[1])
}

/// Writes the verdict line of one table (`**PASS**: 2 of 3 seeds pass (need 2).`, the label
/// before PASS / FAIL); returns the seeds that pass and whether they are enough.
fn md_verdict(md: &mut String, label: &str, passed: &[bool], need: usize) -> (usize, bool) {
    let passes = passed.iter().filter(|p| **p).count();
    let ok = passes >= need;
    let _ = writeln!(
        md,
        "\n**{label}{}**: {passes} of {} seeds pass (need {need}).\n",
        if ok { "PASS" } else { "FAIL" },
        passed.len(),
    );
    (passes, ok)
}

/// A trained agent of the comparison: kind (`dqn`, `td3`, `myopic`), seed and policy spec.
type AgentSpec = (&'static str, u64, String);

/// The test-seed comparison of one scenario: policy specs and their results, in the same order.
struct Evaluated {
    specs: Vec<String>,
    results: Vec<clv_envs::EvalResult>,
}

impl Evaluated {
    /// The result of policy `spec`.
    fn of(&self, spec: &str) -> &clv_envs::EvalResult {
        &self.results[self.specs.iter().position(|x| x == spec).expect("listed")]
    }
}

/// Tunes every kind of [`TUNED_KINDS`] on validation seeds: the best setting of each with its
/// validation CLV, best first.
fn tune_baselines(
    args: &Args,
    scenario: &clv_envs::Scenario,
    base_dir: &Path,
) -> anyhow::Result<Vec<(String, f64)>> {
    let name = &scenario.name;
    say(
        args.quiet,
        format!("[{name}] tuning baselines on validation seeds"),
    );
    let mut tuned = vec![];
    for kind in TUNED_KINDS {
        let ranking =
            crate::cmd::tune::tune(scenario, base_dir, kind, 1, args.tune_customers, &|_, _| {})?;
        let (spec, mean, _) = ranking[0].clone();
        say(
            args.quiet,
            format!("[{name}]   {kind:<15} best {spec} (validation CLV {mean:.2})"),
        );
        tuned.push((spec, mean));
    }
    tuned.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(tuned)
}

/// Trains DQN (and TD3, and the myopic learner where asked) with every training seed into
/// `dir`, each improving on `incumbent` (the best tuned baseline); returns the agents as
/// policy specs.
fn train_agents(
    args: &Args,
    path: &Path,
    name: &str,
    dir: &Path,
    incumbent: &str,
) -> anyhow::Result<Vec<AgentSpec>> {
    let train = |agent, seed: u64, run_dir: &Path| {
        crate::cmd::train::run(crate::cmd::train::Args {
            scenario: Some(path.to_path_buf()),
            overrides: args.overrides.clone(),
            gamma: None,
            action_margin: None,
            incumbent: Some(incumbent.to_string()),
            valid_customers: args.valid_customers,
            test_customers: 1000,
            env: None,
            agent,
            config: None,
            steps: args.steps,
            seed,
            out: Some(run_dir.to_path_buf()),
            device: clv_agents::DeviceChoice::Cpu,
            resume: None,
            quiet: true,
        })
    };
    let mut kinds = vec![("dqn", crate::cmd::train::AgentKind::Dqn)];
    if args.td3 {
        kinds.push(("td3", crate::cmd::train::AgentKind::Td3));
    }
    let mut agent_specs = vec![];
    for seed in &args.train_seeds {
        for (kind, agent) in &kinds {
            let run_dir = dir.join(format!("{kind}-seed{seed}"));
            say(args.quiet, format!("[{name}] training {kind} seed {seed}"));
            train(*agent, *seed, &run_dir)?;
            agent_specs.push((*kind, *seed, format!("{kind}:{}", run_dir.display())));
        }
    }
    if myopic_names(args).any(|m| m == name) {
        // The myopic learner chooses its action margin on validation like DQN does
        // (population-dqn.ron's margin_candidates), so it is tuned like every baseline.
        for seed in &args.train_seeds {
            let run_dir = dir.join(format!("myopic-seed{seed}"));
            say(args.quiet, format!("[{name}] training myopic seed {seed}"));
            train(crate::cmd::train::AgentKind::Myopic, *seed, &run_dir)?;
            agent_specs.push(("myopic", *seed, format!("myopic:{}", run_dir.display())));
        }
    }
    Ok(agent_specs)
}

/// Runs `none`, `oracle-myopic`, every tuned baseline and every agent once on test seeds.
fn evaluate_on_test(
    args: &Args,
    scenario: &clv_envs::Scenario,
    base_dir: &Path,
    tuned: &[(String, f64)],
    agent_specs: &[AgentSpec],
) -> anyhow::Result<Evaluated> {
    let mut specs: Vec<String> = vec!["none".into(), "oracle-myopic".into()];
    for (s, _) in tuned {
        if !specs.contains(s) {
            specs.push(s.clone());
        }
    }
    specs.extend(agent_specs.iter().map(|a| a.2.clone()));
    let mut policies = specs
        .iter()
        .map(|s| crate::policies::resolve(s, scenario))
        .collect::<anyhow::Result<Vec<_>>>()?;
    say(
        args.quiet,
        format!(
            "[{}] comparing {} policies on {} test customers",
            scenario.name,
            specs.len(),
            args.test_customers
        ),
    );
    let results = evaluate_policies(
        scenario,
        base_dir,
        SeedDomain::Test,
        &[0],
        args.test_customers,
        &mut policies,
        &|_| {},
    )?;
    Ok(Evaluated { specs, results })
}

fn one_scenario(
    args: &Args,
    path: &Path,
    out: &Path,
    md: &mut String,
) -> anyhow::Result<AcceptanceScenario> {
    let sa = crate::scenario_args::ScenarioArgs {
        scenario: path.to_path_buf(),
        overrides: args.overrides.clone(),
    };
    let scenario = sa.load()?;
    let name = scenario.name.clone();
    let dir = out.join(&name);
    std::fs::create_dir_all(&dir)?;
    // 1. Tune every kind on validation seeds; pick the best tuned baseline on validation.
    let tuned = tune_baselines(args, &scenario, sa.base_dir())?;
    let best_baseline = tuned[0].0.clone();
    // 2. Train the agents.
    let agent_specs = train_agents(args, path, &name, &dir, &best_baseline)?;
    // 3. One comparison on test seeds.
    let eval = evaluate_on_test(args, &scenario, sa.base_dir(), &tuned, &agent_specs)?;
    let test_clv = TestClv {
        none: clv_mean(eval.of("none")),
        best_baseline: clv_mean(eval.of(&best_baseline)),
        oracle_myopic: clv_mean(eval.of("oracle-myopic")),
    };
    let margin = required_lower_bound(test_clv.best_baseline, test_clv.none);
    let _ = writeln!(md, "## {name}\n");
    let _ = writeln!(
        md,
        "Best tuned baseline (validation): `{best_baseline}`; test CLV ${:.2} per customer, `none` ${:.2}, `oracle-myopic` ${:.2}. Required lower bound: ${margin:.2}.\n",
        test_clv.best_baseline, test_clv.none, test_clv.oracle_myopic
    );
    let _ = writeln!(
        md,
        "| agent | seed | margin | CLV $ | vs best baseline $ (95% CI) | lift % | vs myopic $ (95% CI) | share of oracle lift | pass |"
    );
    let _ = writeln!(md, "|---|---:|---|---:|---|---:|---|---:|---|");
    let rows = dqn_rows(&eval, &best_baseline, &agent_specs, &test_clv, margin, md)?;
    let passed: Vec<bool> = rows.iter().map(|r| r.pass).collect();
    let (passes, ok) = md_verdict(md, "", &passed, args.need);
    let td3 = if args.td3 {
        Some(td3_rows(args, &eval, &tuned, &agent_specs, &test_clv, md)?)
    } else {
        None
    };
    Ok(AcceptanceScenario {
        td3,
        scenario: name,
        best_tuned_baseline: best_baseline,
        tuned: tuned
            .iter()
            .map(|(s, v)| TunedBaseline {
                policy: s.clone(),
                validation_clv: *v,
            })
            .collect(),
        test_clv,
        required_lower_bound: margin,
        dqn: rows,
        passes,
        pass: ok,
    })
}

/// The DQN rows of one scenario: each seed against the best tuned baseline by the margin rule
/// (and, where trained, against the myopic learner of the same seed); one table row each.
fn dqn_rows(
    eval: &Evaluated,
    best_baseline: &str,
    agent_specs: &[AgentSpec],
    test_clv: &TestClv,
    margin: f64,
    md: &mut String,
) -> anyhow::Result<Vec<DqnSeedResult>> {
    let best = eval.of(best_baseline);
    let mut rows = vec![];
    for (_, seed, spec) in agent_specs.iter().filter(|a| a.0 == "dqn") {
        let r = eval.of(spec);
        let d = diff(&r.clv, &best.clv);
        let myopic = agent_specs
            .iter()
            .find(|(k, s, _)| *k == "myopic" && s == seed);
        let vs_myopic = myopic.map(|(_, _, ms)| diff(&r.clv, &eval.of(ms).clv));
        let dqn_margin = chosen_margin(spec)?;
        let myopic_margin = match myopic {
            Some((_, _, ms)) => chosen_margin(ms)?,
            None => None,
        };
        let margin_cell = match (dqn_margin, myopic_margin) {
            (Some(a), Some(b)) => format!("{a} / {b}"),
            (Some(a), None) => format!("{a}"),
            _ => "-".into(),
        };
        let pass = d.ci95[0] > margin && vs_myopic.is_none_or(|v| v.ci95[0] > margin);
        let share = oracle_share(clv_mean(r), test_clv.none, test_clv.oracle_myopic);
        let _ = writeln!(
            md,
            "| dqn | {seed} | {margin_cell} | {:.2} | {} | {:+.1}% | {} | {} | {} |",
            clv_mean(r),
            diff_cell(&d),
            100.0 * d.mean / test_clv.best_baseline.abs().max(1e-9),
            vs_myopic.as_ref().map_or("-".into(), diff_cell),
            share_cell(share),
            if pass { "yes" } else { "no" }
        );
        rows.push(DqnSeedResult {
            seed: *seed,
            clv_mean: clv_mean(r),
            action_margin: dqn_margin,
            myopic_action_margin: myopic_margin,
            diff_vs_best_baseline: d,
            diff_vs_myopic: vs_myopic,
            share_of_oracle_lift: share,
            pass,
        });
    }
    Ok(rows)
}

/// The TD3 rows of one scenario: each seed against the best tuned baseline (chosen on
/// validation, the same as DQN's) by the margin rule, and against DQN of the same seed.
fn td3_rows(
    args: &Args,
    eval: &Evaluated,
    tuned: &[(String, f64)],
    agent_specs: &[AgentSpec],
    test_clv: &TestClv,
    md: &mut String,
) -> anyhow::Result<Td3Acceptance> {
    // `tuned` is sorted best first on validation.
    let (fc_spec, fc_valid) = tuned.first().context("no tuned baseline")?;
    let fc = eval.of(fc_spec);
    let fc_m = clv_mean(fc);
    let margin = required_lower_bound(fc_m, test_clv.none);
    let _ = writeln!(
        md,
        "### TD3 (continuous offer)\n\nThe same best tuned baseline (validation ${fc_valid:.2}): `{fc_spec}`; test CLV ${fc_m:.2}. Required lower bound: ${margin:.2}.\n"
    );
    let _ = writeln!(
        md,
        "| agent | seed | margin | CLV $ | vs `{fc_spec}` $ (95% CI) | lift % | vs DQN same seed $ (95% CI) | share of oracle lift | pass |"
    );
    let _ = writeln!(md, "|---|---:|---|---:|---|---:|---|---:|---|");
    let mut rows = vec![];
    for (_, seed, spec) in agent_specs.iter().filter(|a| a.0 == "td3") {
        let r = eval.of(spec);
        let d = diff(&r.clv, &fc.clv);
        let pass = d.ci95[0] > margin;
        let td3_margin = chosen_margin(spec)?;
        let vs_dqn = agent_specs
            .iter()
            .find(|(k, s, _)| *k == "dqn" && s == seed)
            .map(|(_, _, ds)| diff(&r.clv, &eval.of(ds).clv));
        let share = oracle_share(clv_mean(r), test_clv.none, test_clv.oracle_myopic);
        let _ = writeln!(
            md,
            "| td3 | {seed} | {} | {:.2} | {} | {:+.1}% | {} | {} | {} |",
            td3_margin.map_or("-".into(), |x| x.to_string()),
            clv_mean(r),
            diff_cell(&d),
            100.0 * d.mean / fc_m.abs().max(1e-9),
            vs_dqn.as_ref().map_or("-".into(), diff_cell),
            share_cell(share),
            if pass { "yes" } else { "no" }
        );
        rows.push(Td3SeedResult {
            seed: *seed,
            clv_mean: clv_mean(r),
            action_margin: td3_margin,
            diff_vs_baseline: d,
            diff_vs_dqn: vs_dqn,
            share_of_oracle_lift: share,
            pass,
        });
    }
    let passed: Vec<bool> = rows.iter().map(|r| r.pass).collect();
    let (passes, ok) = md_verdict(md, "TD3 ", &passed, args.need);
    Ok(Td3Acceptance {
        baseline: fc_spec.clone(),
        test_clv_baseline: fc_m,
        required_lower_bound: margin,
        seeds: rows,
        passes,
        pass: ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_share_is_reported_only_when_the_oracle_gains() {
        assert_eq!(oracle_share(30.0, 29.0, 33.0), Some(0.25));
        assert_eq!(share_cell(oracle_share(30.0, 29.0, 33.0)), "25%");
        // Marketing off: the oracle is `none`; habituation: the oracle loses.
        assert_eq!(oracle_share(24.2, 24.33, 24.33), None);
        assert_eq!(oracle_share(29.2, 29.62, 29.44), None);
        assert_eq!(share_cell(None), "n/a");
    }
}

//! `clv bench ablation`: what each lever of the DQN offer-policy recipe
//! (`agents/src/recipe.rs`) is worth on a scenario, measured on validation customers only.
//!
//! Every variant is the built-in population DQN config (`agents/configs/population-dqn.ron`)
//! with one lever turned off (or the old recipe, every lever off, with its n-step returns),
//! trained with the same seed and budget and improving on the same incumbent (given, or the
//! best tuned baseline on validation). Each trained policy is then scored once on a third set
//! of validation-domain customers, disjoint from the ones the runs chose and confirmed their
//! checkpoints on, paired with the incumbent on the same customers (common random numbers).
//! Test customers are never touched.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clv_agents::{Bootstrap, DqnConfig, Recipe};
use clv_envs::metrics::paired_diff;
use clv_envs::{FeatureSet, Population, RewardSignal, SeedDomain};

use crate::io;
use crate::run_files::{
    self, ABLATION_SCHEMA_VERSION, AblationReport, AblationRow, LEARNED_MARGIN, TrainSummary,
};
use crate::scenario_args::ScenarioArgs;

/// Seed salt of the scoring customers (disjoint from the selection set, drawn from the run
/// seed, and the confirmation set).
const ABLATION_SEED_SALT: u64 = 0xAB1A_7E5E_ED00_0003;

/// n-step return length of the old recipe.
const OLD_RECIPE_N_STEP: usize = 4;

/// The recipe variants: name, what it changes, and the change.
const VARIANTS: [(&str, &str); 7] = [
    ("full", "the recipe as shipped"),
    ("no-observation", "lever 1 off: Basic features"),
    ("no-expected-reward", "lever 2 off: realised rewards"),
    (
        "no-counterfactual",
        "lever 3 off: one-step targets on the taken action only (Q learning)",
    ),
    (
        "no-incumbent",
        "lever 4 off: the guard keeps `none`, no incumbent exploration",
    ),
    (
        "no-paired-selection",
        "lever 5 off: checkpoints by mean CLV, no confirmation",
    ),
    (
        "old-recipe",
        "every lever off, 4-step returns (the previous population DQN)",
    ),
];

/// Arguments of `clv bench ablation`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// The incumbent (a baseline spec); default: the best tuned baseline on validation.
    #[arg(long)]
    pub incumbent: Option<String>,
    /// Variants to run (default: all): full, no-observation, no-expected-reward,
    /// no-counterfactual, no-incumbent, no-paired-selection, old-recipe.
    #[arg(long = "variant")]
    pub variants: Vec<String>,
    /// Training seed of every variant.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Environment-step budget of every variant (default: the config's).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Validation customers each run chooses its checkpoint on. At most 50,000,000.
    #[arg(long, default_value_t = 4000, value_parser = crate::scenario_args::customers_arg())]
    pub valid_customers: u64,
    /// Validation customers (a disjoint set) every variant is scored on. At most 50,000,000.
    #[arg(long, default_value_t = 20_000, value_parser = crate::scenario_args::customers_arg())]
    pub customers: u64,
    /// Validation customers for tuning the baselines (when no --incumbent). At most 50,000,000.
    #[arg(long, default_value_t = 10_000, value_parser = crate::scenario_args::customers_arg())]
    pub tune_customers: u64,
    /// Output directory (default results/ablation-<time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// The built-in population DQN config with variant `name` applied.
fn variant_config(name: &str, incumbent: &str) -> anyhow::Result<DqnConfig> {
    let mut c = DqnConfig::from_ron_str(
        crate::cmd::train::POPULATION_DQN_RON,
        crate::cmd::train::POPULATION_DQN_PATH,
    )?;
    c.recipe.incumbent = Some(incumbent.to_string());
    let r = &mut c.recipe;
    match name {
        "full" => {}
        "no-observation" => r.observation = FeatureSet::Basic,
        "no-expected-reward" => r.reward = RewardSignal::Realised,
        "no-counterfactual" => {
            r.counterfactual = false;
            r.bootstrap = Bootstrap::Max;
            r.paired_loss = false;
        }
        "no-incumbent" => {
            r.incumbent = None;
            r.incumbent_explore = 0.0;
            if r.bootstrap != Bootstrap::Max {
                r.incumbent = Some("none".into());
            }
        }
        "no-paired-selection" => {
            r.paired_selection = false;
            r.confirm_customers = 0;
        }
        "old-recipe" => {
            *r = Recipe::default();
            c.n_step = OLD_RECIPE_N_STEP;
        }
        other => anyhow::bail!(
            "unknown variant `{other}`; expected one of: {}",
            VARIANTS.map(|v| v.0).join(", ")
        ),
    }
    c.validate()?;
    Ok(c)
}

/// The best tuned baseline on validation customers (the acceptance's choice).
fn best_tuned(sa: &ScenarioArgs, customers: u64, quiet: bool) -> anyhow::Result<String> {
    let scenario = sa.load()?;
    let mut best: Option<(String, f64)> = None;
    for kind in crate::cmd::acceptance::TUNED_KINDS {
        let ranking =
            crate::cmd::tune::tune(&scenario, sa.base_dir(), kind, 1, customers, &|_, _| {})?;
        let (spec, mean, _) = ranking[0].clone();
        if !quiet {
            eprintln!("tuned {kind:<15} best {spec} (validation CLV {mean:.2})");
        }
        if best.as_ref().is_none_or(|b| mean > b.1) {
            best = Some((spec, mean));
        }
    }
    Ok(best.context("no baseline kinds to tune")?.0)
}

/// Trains variant `name` into `dir`.
fn train_variant(args: &Args, name: &str, incumbent: &str, dir: &Path) -> anyhow::Result<()> {
    let config = variant_config(name, incumbent)?;
    std::fs::create_dir_all(dir)?;
    let config_path = dir.join("variant-config.ron");
    io::write_atomic(&config_path, config.to_ron().as_bytes())?;
    crate::cmd::train::run(crate::cmd::train::Args {
        scenario: Some(args.scenario.scenario.clone()),
        overrides: args.scenario.overrides.clone(),
        gamma: None,
        action_margin: None,
        incumbent: None,
        valid_customers: args.valid_customers,
        test_customers: 1,
        env: None,
        agent: crate::cmd::train::AgentKind::Dqn,
        config: Some(config_path),
        steps: args.steps,
        seed: args.seed,
        out: Some(dir.join("run")),
        device: clv_agents::DeviceChoice::Cpu,
        resume: None,
        quiet: true,
    })
    .with_context(|| format!("training variant {name}"))
}

/// Per-customer CLV on `start` of run `run`'s last checkpoint acting at [`LEARNED_MARGIN`]
/// (the learned policy itself, whatever the selection chose).
fn learned_policy_clv(
    run: &Path,
    scenario: &clv_envs::Scenario,
    start: &Population,
) -> anyhow::Result<Vec<f64>> {
    let ck = run.join("checkpoint").join(clv_agents::LAST_CHECKPOINT);
    let mut agent = clv_agents::load_checkpoint(&ck, tch::Device::Cpu)
        .with_context(|| format!("loading {}", ck.display()))?
        .agent;
    agent.set_action_margin(LEARNED_MARGIN)?;
    let recipe = agent.config().recipe.clone();
    let mut policy = clv_agents::CatalogueAgent::new(agent, "learned".into(), scenario, &recipe)?;
    Ok(start.clone().evaluate(&mut policy, &|_| {}).clv)
}

/// Runs `clv bench ablation`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let names: Vec<String> = if args.variants.is_empty() {
        VARIANTS.iter().map(|v| v.0.to_string()).collect()
    } else {
        args.variants.clone()
    };
    // Every argument checked before any work.
    for n in &names {
        variant_config(n, "none")?;
    }
    let scenario = args.scenario.load()?;
    if let Some(spec) = &args.incumbent {
        clv_envs::parse_baseline(spec, &scenario).context("--incumbent")?;
    }
    let incumbent = match &args.incumbent {
        Some(s) => s.clone(),
        None => best_tuned(&args.scenario, args.tune_customers, args.quiet)?,
    };
    let out = io::run_dir(args.out.as_deref(), "ablation")?;
    let start = Population::new(
        &scenario,
        SeedDomain::Validation,
        args.seed ^ ABLATION_SEED_SALT,
        args.customers,
        args.scenario.base_dir(),
    )?;
    let mut reference = crate::policies::resolve(&incumbent, &scenario)?;
    let inc = start.clone().evaluate(reference.as_mut(), &|_| {});
    let incumbent_clv = inc.clv.iter().sum::<f64>() / inc.clv.len().max(1) as f64;
    let mut rows = vec![];
    for name in &names {
        if !args.quiet {
            eprintln!("[ablation] training {name}");
        }
        let dir = out.join(name);
        train_variant(&args, name, &incumbent, &dir)?;
        let run = dir.join("run");
        let summary: TrainSummary = run_files::read(&run.join("summary.json"))?;
        let mut policy = crate::policies::resolve(&format!("dqn:{}", run.display()), &scenario)?;
        let r = start.clone().evaluate(policy.as_mut(), &|_| {});
        let d = paired_diff(&r.clv, &inc.clv, None);
        let learned = learned_policy_clv(&run, &scenario, &start)?;
        let dl = paired_diff(&learned, &inc.clv, None);
        let change = VARIANTS
            .iter()
            .find(|v| v.0 == name)
            .map_or("", |v| v.1)
            .to_string();
        rows.push(AblationRow {
            variant: name.clone(),
            change,
            run: run.display().to_string(),
            clv: r.clv.iter().sum::<f64>() / r.clv.len().max(1) as f64,
            lift: d.mean,
            lift_ci95: d.ci95,
            action_margin: summary.action_margin,
            learned_lift: dl.mean,
            learned_lift_ci95: dl.ci95,
            wall_seconds: summary.wall_seconds,
        });
        if !args.quiet {
            let last = rows.last().expect("pushed");
            eprintln!(
                "[ablation] {name}: lift {:+.2} (95% CI {:+.2} .. {:+.2}); learned policy {:+.2} ({:+.2} .. {:+.2})",
                last.lift,
                last.lift_ci95[0],
                last.lift_ci95[1],
                last.learned_lift,
                last.learned_lift_ci95[0],
                last.learned_lift_ci95[1]
            );
        }
    }
    let report = AblationReport {
        schema_version: ABLATION_SCHEMA_VERSION,
        scenario: scenario.name.clone(),
        incumbent,
        seed: args.seed,
        steps: args.steps,
        customers: args.customers,
        incumbent_clv,
        variants: rows,
    };
    io::write_json(&out.join("ablation.json"), &report)?;
    let md = markdown(&report);
    io::write_atomic(&out.join("ablation.md"), md.as_bytes())?;
    io::finish_run_dir(&out)?;
    print!("{md}");
    Ok(())
}

/// The ablation table as Markdown.
fn markdown(r: &AblationReport) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Ablation of the DQN recipe on `{}`\n\nEvery variant trained with seed {} ({} steps), improving on `{}`; scored once on {} validation customers disjoint from the ones the runs chose on (incumbent ${:.2} per customer). Paired differences, 95% intervals unadjusted.\n",
        r.scenario,
        r.seed,
        r.steps.map_or("the config's".into(), |s| s.to_string()),
        r.incumbent,
        r.customers,
        r.incumbent_clv
    );
    let _ = writeln!(
        md,
        "| variant | change | CLV $ | vs incumbent $ (95% CI) | margin | learned policy at margin {LEARNED_MARGIN} vs incumbent $ (95% CI) | train s |"
    );
    let _ = writeln!(md, "|---|---|---:|---|---:|---|---:|");
    for v in &r.variants {
        let _ = writeln!(
            md,
            "| {} | {} | {:.2} | {:+.2} ({:+.2} .. {:+.2}) | {} | {:+.2} ({:+.2} .. {:+.2}) | {:.0} |",
            v.variant,
            v.change,
            v.clv,
            v.lift,
            v.lift_ci95[0],
            v.lift_ci95[1],
            v.action_margin.map_or("-".into(), |m| format!("{m}")),
            v.learned_lift,
            v.learned_lift_ci95[0],
            v.learned_lift_ci95[1],
            v.wall_seconds
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_builds_a_valid_config_that_changes_its_lever() {
        let full = variant_config("full", "rfm-winback").unwrap();
        for (name, _) in VARIANTS {
            let c = variant_config(name, "rfm-winback").unwrap();
            assert_eq!(name == "full", c == full, "{name}");
        }
        assert_eq!(
            variant_config("no-observation", "none")
                .unwrap()
                .recipe
                .observation,
            FeatureSet::Basic
        );
        assert!(
            !variant_config("no-counterfactual", "none")
                .unwrap()
                .recipe
                .counterfactual
        );
        assert!(variant_config("bogus", "none").is_err());
    }
}

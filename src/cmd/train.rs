//! `clv train`: trains an agent on a scenario's customer population or on a classic control
//! task, writing a run directory:
//! - `config.ron`: the resolved agent config;
//! - `metrics.csv`: one row per `log_every` steps and per evaluation (steps, returns, loss,
//!   epsilon, mean Q, ...);
//! - `checkpoint/last`, `checkpoint/best`: checkpoints (best = highest validation return);
//! - `summary.json`: env steps, updates, wall seconds, and the test-seed evaluation of the
//!   best-on-validation checkpoint (`eval_return_mean`, `eval_return_std`; on a scenario also
//!   `eval_clv_mean`, `eval_clv_ci95`: realised CLV per customer of test-seed customers);
//! - `scenario.ron` (scenario runs): the resolved scenario.
//!
//! On a scenario, validation (checkpoint choice) is the mean realised CLV per customer of a
//! validation-seed population under the greedy policy; the test population is used once, at
//! the end.
//!
//! Every file is written atomically (a temporary file renamed into place).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clv_agents::{
    BEST_CHECKPOINT, DeviceChoice, DqnConfig, DqnTrainer, EpisodeValidator, EvalStats,
    LAST_CHECKPOINT, MetricsRow, SeedDomain, TrainEvent, TrainOptions, derive_seed, evaluate,
    load_checkpoint,
};
use clv_envs::VecEnv;
use clv_envs::classic::CartPoleVecEnv;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// The tuned CartPole DQN settings, used when `--env cartpole` is given without `--config`.
const CARTPOLE_DQN_RON: &str = include_str!("../../agents/configs/cartpole-dqn.ron");
/// Where that file lives in the repository (for messages and the summary).
const CARTPOLE_DQN_PATH: &str = "agents/configs/cartpole-dqn.ron";

/// A classic control task to train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassicEnv {
    /// CartPole-v1 (discrete: DQN).
    Cartpole,
    /// Pendulum-v1 (continuous: DDPG / TD3).
    Pendulum,
}

/// The learning algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// Double DQN over a discrete action set (on a scenario: the offer catalogue).
    Dqn,
    /// The same DQN learner with gamma = 0 (greedy on one period's reward): the baseline a
    /// far-sighted agent must beat.
    Myopic,
}

/// The tuned population DQN settings, used for scenarios without `--config`.
const POPULATION_DQN_RON: &str = include_str!("../../agents/configs/population-dqn.ron");
/// Where that file lives in the repository.
const POPULATION_DQN_PATH: &str = "agents/configs/population-dqn.ron";

/// Arguments of `clv train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (RON) to train on its customer population.
    pub scenario: Option<PathBuf>,
    /// Override a scenario field (`--set field.path=value`, repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Discount per period of the agent (default on a scenario: the scenario's delta; 0 for
    /// --agent myopic; on a classic task: the config's).
    #[arg(long)]
    pub gamma: Option<f64>,
    /// Greedy acting keeps the empty offer unless another beats it by this margin, in
    /// scaled-reward units (overrides the config's `action_margin`).
    #[arg(long)]
    pub action_margin: Option<f64>,
    /// Validation customers (scenario runs): checkpoints are chosen on their realised CLV.
    #[arg(long, default_value_t = 4000)]
    pub valid_customers: u64,
    /// Test customers (scenario runs): the final report, used once.
    #[arg(long, default_value_t = 20000)]
    pub test_customers: u64,
    /// Train on a classic control task instead of a scenario.
    #[arg(long, value_enum)]
    pub env: Option<ClassicEnv>,
    /// Learning algorithm.
    #[arg(long, value_enum, default_value = "dqn")]
    pub agent: AgentKind,
    /// Agent config (RON; missing fields take defaults, unknown fields are errors). Default for
    /// CartPole: agents/configs/cartpole-dqn.ron.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Environment-step budget (overrides the config's total_env_steps).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Run seed: training, validation and test seeds are derived from it in disjoint domains.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run directory. Default: results/<env>-<agent>-seed<seed>-<UTC timestamp>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Device for the networks: cpu, cuda or auto (CUDA when available).
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// Resume the run in this directory from its checkpoint/last (writes into it unless --out).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// What `summary.json` holds.
#[derive(Debug, Serialize)]
struct Summary {
    /// `cartpole`, or the scenario's name.
    env: String,
    /// The scenario file of a scenario run.
    scenario: Option<String>,
    gamma: f64,
    agent: AgentKind,
    seed: u64,
    device: String,
    config_source: String,
    env_steps: u64,
    updates: u64,
    stop: String,
    /// Seconds spent training (across resumes), excluding the final test evaluation.
    wall_seconds: f64,
    /// Seconds of this command, including the final test evaluation.
    command_wall_seconds: f64,
    /// Which checkpoint the test evaluation used.
    eval_checkpoint: String,
    eval_episodes: usize,
    eval_return_mean: f64,
    eval_return_std: f64,
    eval_return_min: f64,
    best_valid_return_mean: Option<f64>,
    best_valid_env_steps: Option<u64>,
    /// The last checkpoint on the same test seeds, for comparison.
    last_eval_return_mean: f64,
    last_eval_return_std: f64,
    /// Scenario runs: mean realised CLV per test customer of the evaluated checkpoint, dollars.
    eval_clv_mean: Option<f64>,
    /// Scenario runs: its 95% interval.
    eval_clv_ci95: Option<[f64; 2]>,
    /// Scenario runs: test customers.
    eval_customers: Option<u64>,
}

use crate::io::write_atomic;

fn write_metrics(path: &Path, rows: &[MetricsRow]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).context("serialising a metrics row")?;
    }
    let bytes = w.into_inner().context("flushing metrics CSV")?;
    write_atomic(path, &bytes)
}

/// `YYYYMMDD-HHMMSS` in UTC (Hinnant's days-to-civil algorithm; no date crate needed).
fn utc_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    let target = if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} steps {msg}")
            .expect("valid progress template")
            .progress_chars("=> "),
    );
    bar
}

/// Where the agent trains and is scored.
enum Task {
    Classic,
    Scenario {
        scenario: Box<clv_envs::Scenario>,
        path: PathBuf,
        base_dir: PathBuf,
    },
}

/// Scores the greedy policy by the mean realised CLV per customer of a fixed population
/// (validation or test seeds), each evaluation on a fresh copy of the same start state.
struct PopulationValidator {
    start: clv_envs::Population,
}

impl PopulationValidator {
    fn new(
        task_scenario: &clv_envs::Scenario,
        base: &Path,
        domain: clv_envs::SeedDomain,
        seed: u64,
        customers: u64,
    ) -> anyhow::Result<Self> {
        Ok(PopulationValidator {
            start: clv_envs::Population::new(task_scenario, domain, seed, customers, base)?,
        })
    }

    fn score(
        &self,
        agent: &mut clv_agents::Dqn,
    ) -> Result<clv_envs::EvalResult, clv_agents::AgentError> {
        let scenario = self.start.scenario();
        let mut policy = crate::agent_policy::CatalogueAgent::new(agent, "dqn".into(), scenario)
            .map_err(|e| clv_agents::AgentError::EnvMismatch(e.to_string()))?;
        let mut pop = self.start.clone();
        Ok(pop.evaluate(&mut policy, &|_| {}))
    }
}

impl clv_agents::Validator for PopulationValidator {
    fn validate(
        &mut self,
        agent: &mut clv_agents::Dqn,
        _seed: u64,
    ) -> Result<EvalStats, clv_agents::AgentError> {
        let r = self.score(agent)?;
        Ok(EvalStats::from_returns(r.clv))
    }
}

/// Runs `clv train`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let task = match (&args.scenario, args.env) {
        (Some(_), Some(_)) => bail!("give either a SCENARIO or --env, not both"),
        (None, None) => bail!("nothing to train on: give a SCENARIO file or --env cartpole"),
        (None, Some(ClassicEnv::Pendulum)) => bail!(
            "--env pendulum has a continuous action space; --agent dqn needs discrete actions (DDPG / TD3 are not built yet)"
        ),
        (None, Some(ClassicEnv::Cartpole)) => {
            anyhow::ensure!(args.overrides.is_empty(), "--set applies to scenarios only");
            Task::Classic
        }
        (Some(path), None) => {
            let sa = crate::scenario_args::ScenarioArgs {
                scenario: path.clone(),
                overrides: args.overrides.clone(),
            };
            Task::Scenario {
                scenario: Box::new(sa.load()?),
                base_dir: sa.base_dir().to_path_buf(),
                path: path.clone(),
            }
        }
    };
    let device = args.device.resolve().context("resolving --device")?;
    let env_name = match &task {
        Task::Classic => "cartpole".to_string(),
        Task::Scenario { scenario, .. } => scenario.name.clone(),
    };
    let agent_name = match args.agent {
        AgentKind::Dqn => "dqn",
        AgentKind::Myopic => "myopic",
    };

    // Config: the saved one when resuming, else --config, else the built-in file for the task.
    let (mut trainer, config_source, out) = if let Some(run_dir) = &args.resume {
        let ck = run_dir.join("checkpoint").join(LAST_CHECKPOINT);
        if args.config.is_some() || args.gamma.is_some() || args.action_margin.is_some() {
            bail!(
                "--resume uses the config saved in the checkpoint; drop --config / --gamma / --action-margin"
            );
        }
        let trainer = DqnTrainer::resume(&ck, device, args.steps)
            .with_context(|| format!("resuming from {}", ck.display()))?;
        let out = args.out.clone().unwrap_or_else(|| run_dir.clone());
        (trainer, format!("checkpoint {}", ck.display()), out)
    } else {
        let (builtin, builtin_path) = match &task {
            Task::Classic => (CARTPOLE_DQN_RON, CARTPOLE_DQN_PATH),
            Task::Scenario { .. } => (POPULATION_DQN_RON, POPULATION_DQN_PATH),
        };
        let (mut config, source) = match &args.config {
            Some(path) => (
                DqnConfig::from_ron_file(path)
                    .with_context(|| format!("loading config {}", path.display()))?,
                path.display().to_string(),
            ),
            None => (
                DqnConfig::from_ron_str(builtin, builtin_path)
                    .context("loading the built-in config")?,
                builtin_path.to_string(),
            ),
        };
        if let Some(steps) = args.steps {
            config.total_env_steps = steps;
        }
        if let Some(m) = args.action_margin {
            config.action_margin = m;
        }
        match (&task, args.agent, args.gamma) {
            (_, AgentKind::Myopic, Some(g)) if g != 0.0 => {
                bail!("--agent myopic trains with gamma 0; drop --gamma {g}")
            }
            (_, AgentKind::Myopic, _) => config.gamma = 0.0,
            (_, AgentKind::Dqn, Some(g)) => config.gamma = g,
            (Task::Scenario { scenario, .. }, AgentKind::Dqn, None) => {
                config.gamma = scenario.discount_factor()
            }
            (Task::Classic, AgentKind::Dqn, None) => {}
        }
        // On a scenario, the empty offer is the action kept when Q differences are within
        // the config's margin (unless the config names another).
        if let Task::Scenario { scenario, .. } = &task
            && config.keep_action.is_none()
        {
            config.keep_action = scenario
                .offers
                .iter()
                .position(|o| !o.contact)
                .map(|i| i as u32);
        }
        config.validate().context("checking the config")?;
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("results").join(format!(
                "{env_name}-{agent_name}-seed{}-{}",
                args.seed,
                utc_timestamp()
            ))
        });
        let (obs_dim, n_actions) = match &task {
            Task::Classic => (CartPoleVecEnv::new(1, 0).obs_dim(), 2),
            Task::Scenario { scenario, .. } => (
                clv_envs::FeatureSpec::new(scenario).dim(),
                scenario.offers.len(),
            ),
        };
        let trainer = DqnTrainer::new(config, obs_dim, n_actions, device, args.seed)
            .context("building the DQN agent")?;
        (trainer, source, out)
    };
    let seed = trainer.state.seed;
    let cfg = trainer.config().clone();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&out.join("config.ron"), cfg.to_ron().as_bytes())?;
    if let Task::Scenario { scenario, .. } = &task {
        crate::io::write_scenario(&out.join("scenario.ron"), scenario)?;
    }

    let ck_root = out.join("checkpoint");
    let opts = TrainOptions {
        checkpoint_dir: Some(ck_root.clone()),
    };
    let bar = progress_bar(cfg.total_env_steps, args.quiet);
    bar.set_position(trainer.agent.env_steps);
    let mut rows = trainer.state.rows.clone();
    let mut on_event = |ev: TrainEvent<'_>| match ev {
        TrainEvent::Progress(p) => {
            bar.set_position(p.env_steps);
            if p.env_steps % 500 < cfg.num_envs as u64 {
                bar.set_message(format!(
                    "eps {:.2} train {} valid {}",
                    p.epsilon,
                    p.train_return_mean
                        .map_or("-".into(), |r| format!("{r:.1}")),
                    p.last_valid_return
                        .map_or("-".into(), |r| format!("{r:.2}"))
                ));
            }
        }
        TrainEvent::Row(r) => rows.push(r.clone()),
    };
    let result = match &task {
        Task::Classic => {
            let mut train_env = CartPoleVecEnv::new(cfg.num_envs, 0);
            let mut valid_env = CartPoleVecEnv::new(cfg.eval_episodes, 0);
            let mut validator =
                EpisodeValidator::new(&mut valid_env, cfg.eval_episodes, cfg.eval_max_steps);
            trainer.run(&mut train_env, &mut validator, &opts, &mut on_event)
        }
        Task::Scenario {
            scenario, base_dir, ..
        } => {
            let mut train_env = clv_envs::PopulationEnv::new(
                scenario,
                cfg.num_envs,
                clv_envs::OfferActions::Catalogue,
                clv_envs::SeedDomain::Train,
                base_dir,
            )?;
            let mut validator = PopulationValidator::new(
                scenario,
                base_dir,
                clv_envs::SeedDomain::Validation,
                seed,
                args.valid_customers,
            )?;
            trainer.run(&mut train_env, &mut validator, &opts, &mut on_event)
        }
    };
    bar.finish_and_clear();
    write_metrics(&out.join("metrics.csv"), &rows)?;
    let report = result.context("training")?;

    // Final report: the best-on-validation checkpoint on test seeds (used once), and the last
    // checkpoint on the same seeds for comparison.
    let best_dir = ck_root.join(BEST_CHECKPOINT);
    let mut best = if best_dir.exists() {
        Some(
            load_checkpoint(&best_dir, device)
                .with_context(|| format!("loading {}", best_dir.display()))?
                .agent,
        )
    } else {
        None
    };
    let eval_checkpoint = if best.is_some() {
        BEST_CHECKPOINT
    } else {
        LAST_CHECKPOINT
    };
    let (test, last, clv) = match &task {
        Task::Classic => {
            let test_seed = derive_seed(SeedDomain::Test, seed, 0);
            let mut test_env = CartPoleVecEnv::new(cfg.test_episodes, 0);
            let mut run = |agent: &mut clv_agents::Dqn| {
                evaluate(
                    agent,
                    &mut test_env,
                    test_seed,
                    cfg.test_episodes,
                    cfg.eval_max_steps,
                )
            };
            let last = run(&mut trainer.agent)?;
            let test = match best.as_mut() {
                Some(b) => run(b)?,
                None => last.clone(),
            };
            (test, last, None)
        }
        Task::Scenario {
            scenario, base_dir, ..
        } => {
            let v = PopulationValidator::new(
                scenario,
                base_dir,
                clv_envs::SeedDomain::Test,
                seed,
                args.test_customers,
            )?;
            let last_r = v.score(&mut trainer.agent)?;
            let test_r = match best.as_mut() {
                Some(b) => v.score(b)?,
                None => last_r.clone(),
            };
            let ci = clv_envs::metrics::mean_ci(test_r.clv.iter().copied());
            (
                EvalStats::from_returns(test_r.clv),
                EvalStats::from_returns(last_r.clv),
                Some((ci, args.test_customers)),
            )
        }
    };
    let summary = Summary {
        env: env_name,
        scenario: match &task {
            Task::Scenario { path, .. } => Some(path.display().to_string()),
            Task::Classic => None,
        },
        gamma: cfg.gamma,
        agent: args.agent,
        seed,
        device: format!("{device:?}"),
        config_source,
        env_steps: report.env_steps,
        updates: report.updates,
        stop: format!("{:?}", report.stop),
        wall_seconds: report.wall_seconds,
        command_wall_seconds: started.elapsed().as_secs_f64(),
        eval_checkpoint: eval_checkpoint.to_string(),
        eval_episodes: test.returns.len(),
        eval_return_mean: test.mean,
        eval_return_std: test.std,
        eval_return_min: test.returns.iter().copied().fold(f64::INFINITY, f64::min),
        best_valid_return_mean: report.best_valid.map(|b| b.0),
        best_valid_env_steps: report.best_valid.map(|b| b.1),
        last_eval_return_mean: last.mean,
        last_eval_return_std: last.std,
        eval_clv_mean: clv.map(|c| c.0.mean),
        eval_clv_ci95: clv.map(|c| c.0.ci95),
        eval_customers: clv.map(|c| c.1),
    };
    write_atomic(
        &out.join("summary.json"),
        &serde_json::to_vec_pretty(&summary)?,
    )?;
    crate::cmd::report::report_dir(&out, None)?;
    if !args.quiet {
        let what = if summary.eval_clv_mean.is_some() {
            format!(
                "test CLV per customer ({} customers, {} checkpoint from step {}) ${:.2} (95% CI {:.2} .. {:.2})",
                args.test_customers,
                eval_checkpoint,
                summary
                    .best_valid_env_steps
                    .map_or("-".into(), |s| s.to_string()),
                test.mean,
                summary.eval_clv_ci95.map_or(f64::NAN, |c| c[0]),
                summary.eval_clv_ci95.map_or(f64::NAN, |c| c[1]),
            )
        } else {
            format!(
                "test return ({} episodes, {} checkpoint from step {}) {:.1} +- {:.1}",
                summary.eval_episodes,
                eval_checkpoint,
                summary
                    .best_valid_env_steps
                    .map_or("-".into(), |s| s.to_string()),
                test.mean,
                test.std
            )
        };
        println!(
            "{}: {} env steps, {} updates in {:.1} s; {what}",
            out.display(),
            report.env_steps,
            report.updates,
            report.wall_seconds,
        );
    }
    Ok(())
}

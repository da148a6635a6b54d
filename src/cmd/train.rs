//! `clv train`: trains an agent on a scenario's customer population or on a classic control
//! task: DQN (`--agent dqn`, and `myopic` = DQN with gamma 0) on CartPole or the offer
//! catalogue, DDPG / TD3 (`--agent ddpg|td3`) on Pendulum or the continuous offer. Every
//! learner goes through the same training loop and writes the same run directory:
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
    BEST_CHECKPOINT, DdpgConfig, DdpgTrainer, DeviceChoice, DqnConfig, DqnTrainer,
    EpisodeValidator, EvalStats, LAST_CHECKPOINT, Learner, MetricsRow, SeedDomain, TrainEvent,
    TrainOptions, Trainer, derive_seed, evaluate, load_checkpoint, load_ddpg_checkpoint,
    read_ddpg_checkpoint_meta,
};
use clv_envs::VecEnv;
use clv_envs::classic::{CartPoleVecEnv, PendulumVecEnv};

use crate::agent_policy::ScenarioAgent;
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
    /// DDPG over a continuous action box (on a scenario: the continuous offer), TD3's
    /// options off.
    Ddpg,
    /// DDPG with TD3's options on: twin critics, target policy smoothing, delayed actor.
    Td3,
}

/// The tuned Pendulum TD3 settings, used for `--env pendulum --agent td3` without `--config`.
const PENDULUM_TD3_RON: &str = include_str!("../../agents/configs/pendulum-td3.ron");
/// Where that file lives in the repository.
const PENDULUM_TD3_PATH: &str = "agents/configs/pendulum-td3.ron";
/// The Pendulum DDPG settings (TD3's file with the options off).
const PENDULUM_DDPG_RON: &str = include_str!("../../agents/configs/pendulum-ddpg.ron");
/// Where that file lives in the repository.
const PENDULUM_DDPG_PATH: &str = "agents/configs/pendulum-ddpg.ron";
/// The population TD3 settings (DDPG: the same with TD3's options off), used for scenarios.
const POPULATION_TD3_RON: &str = include_str!("../../agents/configs/population-td3.ron");
/// Where that file lives in the repository.
const POPULATION_TD3_PATH: &str = "agents/configs/population-td3.ron";

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
    /// Greedy acting keeps the empty offer unless the agent values another above it by this
    /// margin, in scaled-reward units: a fixed margin (overrides the config's `action_margin`
    /// and its `margin_candidates`, so no margin is chosen on validation).
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
    /// Agent config (RON; missing fields take defaults, unknown fields are errors). Defaults:
    /// agents/configs/cartpole-dqn.ron, pendulum-td3.ron / pendulum-ddpg.ron,
    /// population-dqn.ron, population-td3.ron (DDPG: TD3's options turned off).
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
    /// Resume the run in this directory from its checkpoint/last (writes into it unless --out);
    /// the learner and its config are the checkpoint's.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

// The layout of summary.json: `crate::run_files::TrainSummary`.
use crate::run_files::{TRAIN_SUMMARY_SCHEMA_VERSION, TrainSummary as Summary, serde_name};

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
    Classic(ClassicEnv),
    Scenario {
        scenario: Box<clv_envs::Scenario>,
        path: PathBuf,
        base_dir: PathBuf,
    },
}

impl ClassicEnv {
    fn name(self) -> &'static str {
        match self {
            ClassicEnv::Cartpole => "cartpole",
            ClassicEnv::Pendulum => "pendulum",
        }
    }

    /// `n` copies of the task (reset before use).
    fn vec_env(self, n: usize) -> Box<dyn VecEnv> {
        match self {
            ClassicEnv::Cartpole => Box::new(CartPoleVecEnv::new(n, 0)),
            ClassicEnv::Pendulum => Box::new(PendulumVecEnv::new(n, 0)),
        }
    }
}

impl AgentKind {
    fn name(self) -> &'static str {
        match self {
            AgentKind::Dqn => "dqn",
            AgentKind::Myopic => "myopic",
            AgentKind::Ddpg => "ddpg",
            AgentKind::Td3 => "td3",
        }
    }

    /// DDPG or TD3: the continuous learner.
    fn continuous(self) -> bool {
        matches!(self, AgentKind::Ddpg | AgentKind::Td3)
    }
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

    fn score<A: ScenarioAgent>(
        &self,
        agent: &mut A,
    ) -> Result<clv_envs::EvalResult, clv_agents::AgentError> {
        let scenario = self.start.scenario();
        let mut policy = agent
            .scenario_policy("agent".into(), scenario)
            .map_err(|e| clv_agents::AgentError::EnvMismatch(e.to_string()))?;
        let mut pop = self.start.clone();
        Ok(pop.evaluate(policy.as_mut(), &|_| {}))
    }
}

impl<A: ScenarioAgent> clv_agents::Validator<A> for PopulationValidator {
    /// Scores the greedy policy; an agent with margin candidates is scored with each, on the
    /// same customers, and keeps the best (the first of equals).
    fn validate(&mut self, agent: &mut A, _seed: u64) -> Result<EvalStats, clv_agents::AgentError> {
        let candidates = agent.margin_candidates();
        if candidates.is_empty() {
            return Ok(EvalStats::from_returns(self.score(agent)?.clv));
        }
        let mut best: Option<(f64, EvalStats)> = None;
        for m in candidates {
            agent.set_action_margin(m)?;
            let stats = EvalStats::from_returns(self.score(agent)?.clv);
            if best.as_ref().is_none_or(|(_, b)| stats.mean > b.mean) {
                best = Some((m, stats));
            }
        }
        let (m, stats) = best.expect("candidates is not empty");
        agent.set_action_margin(m)?;
        Ok(stats)
    }
}

/// The loop fields the command needs, whichever the learner.
struct RunSettings {
    num_envs: usize,
    total_env_steps: u64,
    eval_episodes: usize,
    eval_max_steps: u64,
    test_episodes: usize,
    gamma: f64,
}

/// A trainer ready to run, with where its config came from and where the run goes.
struct Prepared<L> {
    trainer: Trainer<L>,
    config_source: String,
    config_ron: String,
    out: PathBuf,
    settings: RunSettings,
    agent: AgentKind,
}

/// The default run directory.
fn default_out(args: &Args, env_name: &str) -> PathBuf {
    args.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!(
            "{env_name}-{}-seed{}-{}",
            args.agent.name(),
            args.seed,
            utc_timestamp()
        ))
    })
}

/// Whether the checkpoint at `ck` is a DDPG / TD3 one (its JSON names the algorithm).
fn is_ddpg_checkpoint(ck: &Path) -> bool {
    read_ddpg_checkpoint_meta(ck).is_ok()
}

/// Runs `clv train`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let task = match (&args.scenario, args.env) {
        (Some(_), Some(_)) => bail!("give either a SCENARIO or --env, not both"),
        (None, None) => {
            bail!("nothing to train on: give a SCENARIO file or --env cartpole|pendulum")
        }
        (None, Some(env)) => {
            anyhow::ensure!(args.overrides.is_empty(), "--set applies to scenarios only");
            Task::Classic(env)
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
        Task::Classic(env) => env.name().to_string(),
        Task::Scenario { scenario, .. } => scenario.name.clone(),
    };
    let resume_ck = args
        .resume
        .as_ref()
        .map(|d| d.join("checkpoint").join(LAST_CHECKPOINT));
    if resume_ck.is_some()
        && (args.config.is_some() || args.gamma.is_some() || args.action_margin.is_some())
    {
        bail!(
            "--resume uses the config saved in the checkpoint; drop --config / --gamma / --action-margin"
        );
    }
    // On a resume the checkpoint says which learner it holds.
    let continuous = match &resume_ck {
        Some(ck) => is_ddpg_checkpoint(ck),
        None => args.agent.continuous(),
    };
    match (&task, continuous) {
        (Task::Classic(ClassicEnv::Pendulum), false) => bail!(
            "--env pendulum has a continuous action space; --agent {} needs discrete actions: use --agent td3 or --agent ddpg",
            args.agent.name()
        ),
        (Task::Classic(ClassicEnv::Cartpole), true) => bail!(
            "--env cartpole has discrete actions; --agent {} needs a continuous action space: use --agent dqn",
            args.agent.name()
        ),
        _ => {}
    }
    if continuous {
        let prep = prepare_ddpg(&args, &task, &env_name, device, resume_ck.as_deref())?;
        execute(
            &args,
            &task,
            env_name,
            prep,
            device,
            started,
            &|dir, device| Ok(load_ddpg_checkpoint(dir, device)?.agent),
            clv_envs::OfferActions::Continuous,
        )
    } else {
        let prep = prepare_dqn(&args, &task, &env_name, device, resume_ck.as_deref())?;
        execute(
            &args,
            &task,
            env_name,
            prep,
            device,
            started,
            &|dir, device| Ok(load_checkpoint(dir, device)?.agent),
            clv_envs::OfferActions::Catalogue,
        )
    }
}

/// DQN (and myopic): the saved config when resuming, else --config, else the built-in file.
fn prepare_dqn(
    args: &Args,
    task: &Task,
    env_name: &str,
    device: tch::Device,
    resume: Option<&Path>,
) -> anyhow::Result<Prepared<clv_agents::Dqn>> {
    let (trainer, config_source, out) = if let Some(ck) = resume {
        let trainer = DqnTrainer::resume(ck, device, args.steps)
            .with_context(|| format!("resuming from {}", ck.display()))?;
        let run_dir = args.resume.clone().expect("resuming");
        let out = args.out.clone().unwrap_or(run_dir);
        (trainer, format!("checkpoint {}", ck.display()), out)
    } else {
        let (builtin, builtin_path) = match task {
            Task::Classic(_) => (CARTPOLE_DQN_RON, CARTPOLE_DQN_PATH),
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
            // A margin given on the command line is used as it is, not chosen on validation.
            config.action_margin = m;
            config.margin_candidates.clear();
        }
        match (task, args.agent, args.gamma) {
            (_, AgentKind::Myopic, Some(g)) if g != 0.0 => {
                bail!("--agent myopic trains with gamma 0; drop --gamma {g}")
            }
            (_, AgentKind::Myopic, _) => config.gamma = 0.0,
            (_, _, Some(g)) => config.gamma = g,
            (Task::Scenario { scenario, .. }, _, None) => config.gamma = scenario.discount_factor(),
            (Task::Classic(_), _, None) => {}
        }
        // On a scenario, the empty offer is the action kept when Q differences are within
        // the config's margin (unless the config names another).
        if let Task::Scenario { scenario, .. } = task
            && config.keep_action.is_none()
        {
            config.keep_action = scenario
                .offers
                .iter()
                .position(|o| !o.contact)
                .map(|i| i as u32);
        }
        config.validate().context("checking the config")?;
        let (obs_dim, n_actions) = match task {
            Task::Classic(_) => (CartPoleVecEnv::new(1, 0).obs_dim(), 2),
            Task::Scenario { scenario, .. } => (
                clv_envs::FeatureSpec::new(scenario).dim(),
                scenario.offers.len(),
            ),
        };
        let trainer = DqnTrainer::new(config, obs_dim, n_actions, device, args.seed)
            .context("building the DQN agent")?;
        (trainer, source, default_out(args, env_name))
    };
    let cfg = trainer.config().clone();
    Ok(Prepared {
        settings: RunSettings {
            num_envs: cfg.num_envs,
            total_env_steps: cfg.total_env_steps,
            eval_episodes: cfg.eval_episodes,
            eval_max_steps: cfg.eval_max_steps,
            test_episodes: cfg.test_episodes,
            gamma: cfg.gamma,
        },
        config_ron: cfg.to_ron(),
        trainer,
        config_source,
        out,
        agent: args.agent,
    })
}

/// DDPG / TD3: the saved config when resuming, else --config, else the built-in file, with
/// TD3's options on for `--agent td3` and off for `--agent ddpg`.
fn prepare_ddpg(
    args: &Args,
    task: &Task,
    env_name: &str,
    device: tch::Device,
    resume: Option<&Path>,
) -> anyhow::Result<Prepared<clv_agents::Ddpg>> {
    let (trainer, config_source, out) = if let Some(ck) = resume {
        let trainer = DdpgTrainer::resume(ck, device, args.steps)
            .with_context(|| format!("resuming from {}", ck.display()))?;
        let run_dir = args.resume.clone().expect("resuming");
        let out = args.out.clone().unwrap_or(run_dir);
        (trainer, format!("checkpoint {}", ck.display()), out)
    } else {
        let td3 = args.agent == AgentKind::Td3;
        let (builtin, builtin_path) = match (task, td3) {
            (Task::Classic(_), true) => (PENDULUM_TD3_RON, PENDULUM_TD3_PATH),
            (Task::Classic(_), false) => (PENDULUM_DDPG_RON, PENDULUM_DDPG_PATH),
            (Task::Scenario { .. }, _) => (POPULATION_TD3_RON, POPULATION_TD3_PATH),
        };
        let (config, source) = match &args.config {
            Some(path) => (
                DdpgConfig::from_ron_file(path)
                    .with_context(|| format!("loading config {}", path.display()))?,
                path.display().to_string(),
            ),
            None => (
                DdpgConfig::from_ron_str(builtin, builtin_path)
                    .context("loading the built-in config")?,
                builtin_path.to_string(),
            ),
        };
        let mut config = config.with_td3(td3);
        if let Some(steps) = args.steps {
            config.total_env_steps = steps;
        }
        if let Some(m) = args.action_margin {
            config.action_margin = m;
            config.margin_candidates.clear();
        }
        match (task, args.gamma) {
            (_, Some(g)) => config.gamma = g,
            (Task::Scenario { scenario, .. }, None) => config.gamma = scenario.discount_factor(),
            (Task::Classic(_), None) => {}
        }
        let (obs_dim, (low, high)) = match task {
            Task::Classic(env) => {
                let e = env.vec_env(1);
                match e.action_space() {
                    clv_envs::ActionSpace::Box { low, high } => (e.obs_dim(), (low, high)),
                    other => bail!("{} has no continuous action box: {other:?}", env.name()),
                }
            }
            Task::Scenario { scenario, .. } => (
                clv_envs::FeatureSpec::new(scenario).dim(),
                crate::agent_policy::continuous_bounds(scenario),
            ),
        };
        // On a scenario, the low corner of the box (no discount, no contact) is the offer
        // kept unless the critic values the actor's offer above it by the margin.
        if let Task::Scenario { .. } = task
            && config.keep_action.is_none()
        {
            config.keep_action = Some(low.clone());
        }
        config.validate().context("checking the config")?;
        let trainer = DdpgTrainer::new(config, obs_dim, &low, &high, device, args.seed)
            .context("building the DDPG / TD3 agent")?;
        (trainer, source, default_out(args, env_name))
    };
    let cfg = trainer.config().clone();
    Ok(Prepared {
        settings: RunSettings {
            num_envs: cfg.num_envs,
            total_env_steps: cfg.total_env_steps,
            eval_episodes: cfg.eval_episodes,
            eval_max_steps: cfg.eval_max_steps,
            test_episodes: cfg.test_episodes,
            gamma: cfg.gamma,
        },
        config_ron: cfg.to_ron(),
        agent: if cfg.is_td3() {
            AgentKind::Td3
        } else {
            AgentKind::Ddpg
        },
        trainer,
        config_source,
        out,
    })
}

/// Loads the agent saved in a checkpoint folder.
type LoadAgent<'a, L> = &'a dyn Fn(&Path, tch::Device) -> Result<L, clv_agents::AgentError>;

/// Trains, writes the run directory, evaluates the best-on-validation checkpoint on test seeds
/// and writes the summary: the same for every learner.
#[allow(clippy::too_many_arguments)]
fn execute<L: Learner + ScenarioAgent>(
    args: &Args,
    task: &Task,
    env_name: String,
    prep: Prepared<L>,
    device: tch::Device,
    started: Instant,
    load: LoadAgent<'_, L>,
    actions: clv_envs::OfferActions,
) -> anyhow::Result<()> {
    let Prepared {
        mut trainer,
        config_source,
        config_ron,
        out,
        settings: cfg,
        agent,
    } = prep;
    let seed = trainer.state.seed;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&out.join("config.ron"), config_ron.as_bytes())?;
    if let Task::Scenario { scenario, .. } = task {
        crate::io::write_scenario(&out.join("scenario.ron"), scenario)?;
    }

    let ck_root = out.join("checkpoint");
    let opts = TrainOptions {
        checkpoint_dir: Some(ck_root.clone()),
    };
    let bar = progress_bar(cfg.total_env_steps, args.quiet);
    bar.set_position(trainer.agent.env_steps());
    let explore_label = if agent.continuous() { "noise" } else { "eps" };
    let mut rows = trainer.state.rows.clone();
    let mut on_event = |ev: TrainEvent<'_>| match ev {
        TrainEvent::Progress(p) => {
            bar.set_position(p.env_steps);
            if p.env_steps % 500 < cfg.num_envs as u64 {
                bar.set_message(format!(
                    "{explore_label} {:.2} train {} valid {}",
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
    let result = match task {
        Task::Classic(env) => {
            let mut train_env = env.vec_env(cfg.num_envs);
            let mut valid_env = env.vec_env(cfg.eval_episodes);
            let mut validator =
                EpisodeValidator::new(&mut *valid_env, cfg.eval_episodes, cfg.eval_max_steps);
            trainer.run(&mut *train_env, &mut validator, &opts, &mut on_event)
        }
        Task::Scenario {
            scenario, base_dir, ..
        } => {
            let mut train_env = clv_envs::PopulationEnv::new(
                scenario,
                cfg.num_envs,
                actions,
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
        Some(load(&best_dir, device).with_context(|| format!("loading {}", best_dir.display()))?)
    } else {
        None
    };
    let eval_checkpoint = if best.is_some() {
        BEST_CHECKPOINT
    } else {
        LAST_CHECKPOINT
    };
    let (test, last, clv) = match task {
        Task::Classic(env) => {
            let test_seed = derive_seed(SeedDomain::Test, seed, 0);
            let mut test_env = env.vec_env(cfg.test_episodes);
            let mut run = |agent: &mut L| {
                evaluate(
                    agent,
                    &mut *test_env,
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
    let action_margin = match (task, best.as_ref()) {
        (Task::Classic(_), _) => None,
        (_, Some(b)) => b.action_margin(),
        (_, None) => trainer.agent.action_margin(),
    };
    let summary = Summary {
        schema_version: TRAIN_SUMMARY_SCHEMA_VERSION,
        best_baseline: None,
        action_margin,
        env: env_name,
        scenario: match task {
            Task::Scenario { path, .. } => Some(path.display().to_string()),
            Task::Classic(_) => None,
        },
        gamma: cfg.gamma,
        agent: serde_name(&agent),
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
    summary.write(&out.join("summary.json"))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use clv_agents::Validator;

    /// Validation with margin candidates scores each on the same customers and leaves the
    /// agent with the best one.
    #[test]
    fn validation_keeps_the_best_margin_candidate() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let scenario = clv_envs::load_scenario(
            &root.join("scenarios/default.ron"),
            &["horizon=12".into(), "short_horizon=6".into()],
        )
        .unwrap();
        let n_actions = scenario.offers.len();
        let candidates = vec![0.0, 0.003, 0.01, 1e9];
        let config = DqnConfig {
            hidden: vec![16],
            keep_action: Some(0),
            margin_candidates: candidates.clone(),
            ..DqnConfig::default()
        };
        let dim = clv_envs::FeatureSpec::new(&scenario).dim();
        let mut agent =
            clv_agents::Dqn::new(config, dim, n_actions, tch::Device::Cpu, 3, 4).unwrap();
        let mut v =
            PopulationValidator::new(&scenario, root, clv_envs::SeedDomain::Validation, 0, 400)
                .unwrap();
        let chosen = v.validate(&mut agent, 0).unwrap();
        let margin = agent.config().action_margin;
        assert!(candidates.contains(&margin), "{margin}");
        let mut means = vec![];
        for m in &candidates {
            agent.set_action_margin(*m).unwrap();
            let r = v.score(&mut agent).unwrap();
            means.push(EvalStats::from_returns(r.clv).mean);
        }
        let best = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(chosen.mean, best, "{means:?}");
        let first_best = candidates[means.iter().position(|m| *m == best).unwrap()];
        assert_eq!(margin, first_best);
        // An untrained network's offers differ from the empty one's CLV, so the candidates
        // really were different policies.
        assert!(means.iter().any(|m| *m != means[3]), "{means:?}");
    }
}

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
    AgentConfig, BEST_CHECKPOINT, DDPG_ALGORITHM, Ddpg, DdpgConfig, DeviceChoice, Dqn, DqnConfig,
    EpisodeValidator, EvalStats, INCUMBENT_ONLY_MARGIN, LAST_CHECKPOINT, Learner, MetricsRow,
    PopulationValidator, ScenarioAgent, SeedDomain, TrainConfig, TrainEvent, TrainOptions,
    TrainReport, Trainer, checkpoint_algorithm, derive_seed, evaluate,
};
use clv_envs::classic::{CartPoleVecEnv, PendulumVecEnv};
use clv_envs::{ActionSpace, FeatureSet, VecEnv};

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
pub(crate) const POPULATION_DQN_RON: &str = include_str!("../../agents/configs/population-dqn.ron");
/// Where that file lives in the repository.
pub(crate) const POPULATION_DQN_PATH: &str = "agents/configs/population-dqn.ron";

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
    /// Validation customers (scenario runs): checkpoints are chosen on their realised CLV (with
    /// paired selection, on the lower bound of their lift over the incumbent). At most 50,000,000.
    #[arg(long, default_value_t = 10_000, value_parser = crate::scenario_args::customers_arg())]
    pub valid_customers: u64,
    /// Incumbent policy (a baseline spec, e.g. the best tuned one) the learner's guard falls
    /// back to and validation compares with (overrides the config's `recipe.incumbent`).
    #[arg(long)]
    pub incumbent: Option<String>,
    /// Test customers (scenario runs): the final report, used once. At most 50,000,000.
    #[arg(long, default_value_t = 20000, value_parser = crate::scenario_args::customers_arg())]
    pub test_customers: u64,
    /// Train on a classic control task instead of a scenario.
    #[arg(long, value_enum)]
    pub env: Option<ClassicEnv>,
    /// Learning algorithm.
    #[arg(long, value_enum, default_value = "dqn")]
    pub agent: AgentKind,
    /// Agent config (RON, at most 16 MiB; missing fields take defaults, unknown fields are
    /// errors; hidden layers at most 16,384 units wide, 16.8 million weights). Defaults:
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
use crate::run_files::{
    Confirmation, TRAIN_SUMMARY_SCHEMA_VERSION, TrainSummary as Summary, serde_name,
};

use crate::io::write_atomic;

/// Writes the metrics rows as CSV (atomically: the whole file replaced).
fn write_metrics(path: &Path, rows: &[MetricsRow]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).context("serialising a metrics row")?;
    }
    let bytes = w.into_inner().context("flushing metrics CSV")?;
    write_atomic(path, &bytes)
}

/// `metrics.csv` written as training goes: started with the rows a resumed checkpoint holds
/// (so rows logged after that checkpoint by a run that was stopped are dropped, and none is
/// repeated), then one row appended and flushed at a time, so that a crash (even `kill -9`)
/// loses at most the row being written.
struct MetricsLog {
    path: PathBuf,
    /// The open file; `None` after a write failed (warned once, the end rewrites the file).
    writer: Option<csv::Writer<std::fs::File>>,
}

impl MetricsLog {
    /// Writes `path` with the `rows` so far (header included when there are rows) and opens
    /// it to append.
    fn start(path: &Path, rows: &[MetricsRow]) -> anyhow::Result<Self> {
        write_metrics(path, rows)?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("opening {} to append", path.display()))?;
        let writer = csv::WriterBuilder::new()
            .has_headers(rows.is_empty())
            .from_writer(file);
        Ok(Self {
            path: path.to_path_buf(),
            writer: Some(writer),
        })
    }

    /// Appends one row and flushes it to the file.
    fn append(&mut self, row: &MetricsRow) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let written = w
            .serialize(row)
            .map_err(anyhow::Error::from)
            .and_then(|()| w.flush().map_err(anyhow::Error::from));
        if let Err(e) = written {
            eprintln!(
                "warning: appending to {}: {e:#}; the file is rewritten at the end of training",
                self.path.display()
            );
            self.writer = None;
        }
    }

    /// Rewrites the file with every row (atomically), closing the appending handle first.
    fn finish(mut self, rows: &[MetricsRow]) -> anyhow::Result<()> {
        self.writer = None;
        write_metrics(&self.path, rows)
    }
}

/// The UTC timestamp in default run directory names: `YYYYMMDD-HHMMSS`.
const RUN_DIR_TIMESTAMP: &str = "%Y%m%d-%H%M%S";

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

/// Every how many environment steps the progress bar's message is refreshed.
const PROGRESS_MESSAGE_PERIOD: u64 = 500;

/// What `clv train` does differently per algorithm: its built-in configs, the command-line
/// options only it has, and how it acts on a scenario. Adding an algorithm to the command is
/// one impl of this trait and one line in [`run`].
trait CliLearner: Learner + ScenarioAgent {
    /// How its actions map to offers on a scenario.
    const OFFER_ACTIONS: clv_envs::OfferActions;
    /// The built-in config for `task` and `agent` (RON text, repository path).
    fn builtin(task: &Task, agent: AgentKind) -> (&'static str, &'static str);
    /// Parses and validates a RON config; `origin` names it in errors.
    fn parse(text: &str, origin: &str) -> Result<Self::Config, clv_agents::AgentError>;
    /// Applies what only this algorithm has: `--agent` variants (myopic, TD3's options) and,
    /// on a scenario, the action kept unless another is valued above it by the margin.
    fn adapt(
        config: &mut Self::Config,
        args: &Args,
        task: &Task,
        space: &ActionSpace,
    ) -> anyhow::Result<()>;
    /// The agent kind `config` trains (`requested` where the config does not say).
    fn kind(config: &Self::Config, requested: AgentKind) -> AgentKind;
}

impl CliLearner for Dqn {
    const OFFER_ACTIONS: clv_envs::OfferActions = clv_envs::OfferActions::Catalogue;

    fn builtin(task: &Task, _agent: AgentKind) -> (&'static str, &'static str) {
        match task {
            Task::Classic(_) => (CARTPOLE_DQN_RON, CARTPOLE_DQN_PATH),
            Task::Scenario { .. } => (POPULATION_DQN_RON, POPULATION_DQN_PATH),
        }
    }

    fn parse(text: &str, origin: &str) -> Result<DqnConfig, clv_agents::AgentError> {
        DqnConfig::from_ron_str(text, origin)
    }

    fn adapt(
        config: &mut DqnConfig,
        args: &Args,
        task: &Task,
        _space: &ActionSpace,
    ) -> anyhow::Result<()> {
        if args.agent == AgentKind::Myopic {
            if let Some(g) = args.gamma.filter(|g| *g != 0.0) {
                bail!("--agent myopic trains with gamma 0; drop --gamma {g}")
            }
            config.gamma = 0.0;
        }
        // On a scenario, the empty offer is the action kept when Q differences are within
        // the config's margin (unless the config names another).
        if let Task::Scenario { scenario, .. } = task
            && config.keep_action.is_none()
        {
            config.keep_action = scenario.empty_offer_index().map(|i| i as u32);
        }
        Ok(())
    }

    fn kind(_config: &DqnConfig, requested: AgentKind) -> AgentKind {
        requested
    }
}

impl CliLearner for Ddpg {
    const OFFER_ACTIONS: clv_envs::OfferActions = clv_envs::OfferActions::Continuous;

    fn builtin(task: &Task, agent: AgentKind) -> (&'static str, &'static str) {
        match (task, agent == AgentKind::Td3) {
            (Task::Classic(_), true) => (PENDULUM_TD3_RON, PENDULUM_TD3_PATH),
            (Task::Classic(_), false) => (PENDULUM_DDPG_RON, PENDULUM_DDPG_PATH),
            (Task::Scenario { .. }, _) => (POPULATION_TD3_RON, POPULATION_TD3_PATH),
        }
    }

    fn parse(text: &str, origin: &str) -> Result<DdpgConfig, clv_agents::AgentError> {
        DdpgConfig::from_ron_str(text, origin)
    }

    /// TD3's options on for `--agent td3`, off for `--agent ddpg`.
    fn adapt(
        config: &mut DdpgConfig,
        args: &Args,
        task: &Task,
        space: &ActionSpace,
    ) -> anyhow::Result<()> {
        *config = config.clone().with_td3(args.agent == AgentKind::Td3);
        // On a scenario, the low corner of the box (no discount, no contact) is the offer
        // kept unless the critic values the actor's offer above it by the margin.
        if let (Task::Scenario { .. }, ActionSpace::Box { low, .. }) = (task, space)
            && config.keep_action.is_none()
        {
            config.keep_action = Some(low.clone());
        }
        Ok(())
    }

    fn kind(config: &DdpgConfig, _requested: AgentKind) -> AgentKind {
        if config.is_td3() {
            AgentKind::Td3
        } else {
            AgentKind::Ddpg
        }
    }
}

/// A trainer ready to run, with where its config came from and where the run goes.
struct Prepared<L> {
    trainer: Trainer<L>,
    config_source: String,
    config_ron: String,
    out: PathBuf,
    /// The loop settings of the trainer's config.
    train: TrainConfig,
    /// The agent's discount per step.
    gamma: f64,
    agent: AgentKind,
    device: tch::Device,
}

/// The default run directory.
fn default_out(args: &Args, env_name: &str) -> PathBuf {
    args.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!(
            "{env_name}-{}-seed{}-{}",
            args.agent.name(),
            args.seed,
            chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
                .format(RUN_DIR_TIMESTAMP)
        ))
    })
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

impl Task {
    /// From `clv train`'s SCENARIO / --env / --set.
    fn from_args(args: &Args) -> anyhow::Result<Self> {
        Ok(match (&args.scenario, args.env) {
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
        })
    }

    /// `cartpole`, `pendulum`, or the scenario's name.
    fn name(&self) -> String {
        match self {
            Task::Classic(env) => env.name().to_string(),
            Task::Scenario { scenario, .. } => scenario.name.clone(),
        }
    }

    /// Observation size and action space an agent observing `features` and acting with
    /// `actions` sees (classic tasks have their own observations and action space).
    fn spaces(
        &self,
        actions: clv_envs::OfferActions,
        features: FeatureSet,
    ) -> (usize, ActionSpace) {
        match self {
            Task::Classic(env) => {
                let e = env.vec_env(1);
                (e.obs_dim(), e.action_space())
            }
            Task::Scenario { scenario, .. } => (
                clv_envs::FeatureSpec::with_set(scenario, features).dim(),
                actions.space(scenario),
            ),
        }
    }
}

/// Whether the checkpoint at `ck` is a DDPG / TD3 one (its JSON names the algorithm).
fn is_ddpg_checkpoint(ck: &Path) -> bool {
    checkpoint_algorithm(ck).is_ok_and(|a| a == DDPG_ALGORITHM)
}

/// Runs `clv train`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    if let Some(out) = &args.out {
        crate::io::check_out_dir(out, "--out")?;
    }
    let task = Task::from_args(&args)?;
    let device = args.device.resolve().context("resolving --device")?;
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
    let resume = resume_ck.as_deref();
    // The algorithms `clv train` knows, one line each.
    if continuous {
        execute(
            &args,
            &task,
            prepare::<Ddpg>(&args, &task, device, resume)?,
            started,
        )
    } else {
        execute(
            &args,
            &task,
            prepare::<Dqn>(&args, &task, device, resume)?,
            started,
        )
    }
}

/// The learner's config: --config, else the built-in file, with the command-line options
/// applied and validated; and where it came from.
fn configure<L: CliLearner>(
    args: &Args,
    task: &Task,
    space: &ActionSpace,
) -> anyhow::Result<(L::Config, String)> {
    let (mut config, source) = match &args.config {
        Some(path) => {
            let text = clv_envs::files::read_text(path, clv_envs::files::MAX_TEXT_BYTES)
                .with_context(|| format!("loading config {}", path.display()))?;
            let origin = path.display().to_string();
            let config = L::parse(&text, &origin)
                .with_context(|| format!("loading config {}", path.display()))?;
            (config, origin)
        }
        None => {
            let (text, path) = L::builtin(task, args.agent);
            let config = L::parse(text, path).context("loading the built-in config")?;
            (config, path.to_string())
        }
    };
    if let Some(steps) = args.steps {
        config.train_mut().total_env_steps = steps;
    }
    if let Some(m) = args.action_margin {
        // A margin given on the command line is used as it is, not chosen on validation.
        config.fix_action_margin(m);
    }
    if let Some(spec) = &args.incumbent {
        anyhow::ensure!(
            matches!(task, Task::Scenario { .. }),
            "--incumbent applies to scenarios only"
        );
        config.recipe_mut().incumbent = Some(spec.clone());
    }
    match (task, args.gamma) {
        (_, Some(g)) => config.set_gamma(g),
        (Task::Scenario { scenario, .. }, None) => config.set_gamma(scenario.discount_factor()),
        (Task::Classic(_), None) => {}
    }
    L::adapt(&mut config, args, task, space)?;
    config.validate().context("checking the config")?;
    // The incumbent must be a baseline of this scenario: checked before any file is written.
    if let (Task::Scenario { scenario, .. }, Some(spec)) = (task, &config.recipe().incumbent) {
        clv_envs::parse_baseline(spec, scenario)
            .context("the incumbent (recipe.incumbent / --incumbent)")?;
    }
    Ok((config, source))
}

/// The trainer: resumed from `resume` (the saved config), else fresh from [`configure`].
fn prepare<L: CliLearner>(
    args: &Args,
    task: &Task,
    device: tch::Device,
    resume: Option<&Path>,
) -> anyhow::Result<Prepared<L>> {
    let (trainer, config_source, out) = if let Some(ck) = resume {
        let trainer = Trainer::<L>::resume(ck, device, args.steps)
            .with_context(|| format!("resuming from {}", ck.display()))?;
        let run_dir = args.resume.clone().expect("resuming");
        let out = args.out.clone().unwrap_or(run_dir);
        (trainer, format!("checkpoint {}", ck.display()), out)
    } else {
        let (_, space) = task.spaces(L::OFFER_ACTIONS, FeatureSet::default());
        let (config, source) = configure::<L>(args, task, &space)?;
        let (obs_dim, _) = task.spaces(L::OFFER_ACTIONS, config.recipe().observation);
        let trainer = Trainer::<L>::new(config, obs_dim, &space, device, args.seed)
            .context("building the agent")?;
        (trainer, source, default_out(args, &task.name()))
    };
    let cfg = trainer.config().clone();
    Ok(Prepared {
        train: cfg.train().clone(),
        gamma: cfg.gamma(),
        config_ron: cfg.to_ron(),
        agent: L::kind(&cfg, args.agent),
        device,
        trainer,
        config_source,
        out,
    })
}

/// The progress bar's view of training events; metrics rows are appended to `log`.
fn on_event<'a>(
    bar: &'a ProgressBar,
    explore_label: &'static str,
    num_envs: usize,
    log: &'a mut MetricsLog,
) -> impl FnMut(TrainEvent<'_>) + 'a {
    move |ev| match ev {
        TrainEvent::Progress(p) => {
            bar.set_position(p.env_steps);
            if p.env_steps % PROGRESS_MESSAGE_PERIOD < num_envs as u64 {
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
        TrainEvent::Row(r) => log.append(r),
    }
}

/// Trains on the task's training env, validating on its validation env or population.
fn train_on_task<L: CliLearner>(
    args: &Args,
    task: &Task,
    prep: &mut Prepared<L>,
    opts: &TrainOptions,
    on_event: &mut dyn FnMut(TrainEvent<'_>),
) -> anyhow::Result<Result<TrainReport, clv_agents::AgentError>> {
    let cfg = &prep.train;
    let trainer = &mut prep.trainer;
    Ok(match task {
        Task::Classic(env) => {
            let mut train_env = env.vec_env(cfg.num_envs);
            let mut valid_env = env.vec_env(cfg.eval_episodes);
            let mut validator =
                EpisodeValidator::new(&mut *valid_env, cfg.eval_episodes, cfg.eval_max_steps);
            trainer.run(&mut *train_env, &mut validator, opts, on_event)
        }
        Task::Scenario {
            scenario, base_dir, ..
        } => {
            let recipe = trainer.agent.recipe();
            let incumbent = recipe
                .incumbent
                .as_deref()
                .map(|spec| clv_envs::parse_baseline(spec, scenario))
                .transpose()
                .context("the incumbent (recipe.incumbent / --incumbent)")?;
            let mut train_env = clv_envs::PopulationEnv::new(
                scenario,
                cfg.num_envs,
                L::OFFER_ACTIONS,
                clv_envs::SeedDomain::Train,
                base_dir,
            )?
            .with_features(recipe.observation)
            .with_reward(recipe.reward)
            .with_counterfactuals(recipe.counterfactual)
            .with_rollouts(
                (recipe.bootstrap == clv_agents::Bootstrap::Rollout)
                    .then(|| trainer.agent.config().gamma()),
                recipe.rollout_draws,
                recipe.rollout_periods,
            )
            .with_incumbent(incumbent);
            let mut validator = PopulationValidator::new(
                scenario,
                base_dir,
                clv_envs::SeedDomain::Validation,
                trainer.state.seed,
                args.valid_customers,
            )?
            .paired(&recipe)?;
            trainer.run(&mut train_env, &mut validator, opts, on_event)
        }
    })
}

/// The test-seed scores of the best-on-validation checkpoint (`best`, else the last agent)
/// and of the last agent, and on a scenario the CLV interval and the test customer count.
struct TestScores {
    test: EvalStats,
    last: EvalStats,
    clv: Option<(clv_envs::MeanCi, u64)>,
    /// The evaluated checkpoint's paired CLV difference to the incumbent on the same test
    /// customers (scenario runs with an incumbent).
    vs_incumbent: Option<crate::evaluation::Diff>,
}

/// The paired CLV difference of `clv` (per test customer) to the incumbent `spec` on the
/// same test customers (test domain, `seed`, `--test-customers`); `None` without an incumbent.
fn incumbent_diff(
    scenario: &clv_envs::Scenario,
    base_dir: &Path,
    seed: u64,
    args: &Args,
    spec: Option<&str>,
    clv: &[f64],
) -> anyhow::Result<Option<crate::evaluation::Diff>> {
    let Some(spec) = spec else {
        return Ok(None);
    };
    let mut pop = clv_envs::Population::new(
        scenario,
        clv_envs::SeedDomain::Test,
        seed,
        args.test_customers,
        base_dir,
    )?;
    let mut policy = clv_envs::parse_baseline(spec, scenario)?;
    let inc = pop.evaluate(&mut policy, &|_| {}).clv;
    let d = clv_envs::metrics::paired_diff(clv, &inc, None);
    Ok(Some(crate::evaluation::Diff {
        mean: d.mean,
        ci95: d.ci95,
    }))
}

/// Scores `best` and `last` once on the test seeds (classic task) or test customers, and on a
/// scenario the evaluated checkpoint against `incumbent` (a baseline spec) on the same
/// customers.
fn test_scores<L: CliLearner>(
    args: &Args,
    task: &Task,
    train: &TrainConfig,
    seed: u64,
    incumbent: Option<&str>,
    last: &mut L,
    best: Option<&mut L>,
) -> anyhow::Result<TestScores> {
    Ok(match task {
        Task::Classic(env) => {
            let test_seed = derive_seed(SeedDomain::Test, seed, 0);
            let mut test_env = env.vec_env(train.test_episodes);
            let mut run = |agent: &mut L| {
                evaluate(
                    agent,
                    &mut *test_env,
                    test_seed,
                    train.test_episodes,
                    train.eval_max_steps,
                )
            };
            let last = run(last)?;
            let test = match best {
                Some(b) => run(b)?,
                None => last.clone(),
            };
            TestScores {
                test,
                last,
                clv: None,
                vs_incumbent: None,
            }
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
            let last_r = v.score(last)?;
            let test_r = match best {
                Some(b) => v.score(b)?,
                None => last_r.clone(),
            };
            let ci = clv_envs::metrics::mean_ci(test_r.clv.iter().copied());
            let vs_incumbent =
                incumbent_diff(scenario, base_dir, seed, args, incumbent, &test_r.clv)?;
            TestScores {
                vs_incumbent,
                test: EvalStats::from_returns(test_r.clv),
                last: EvalStats::from_returns(last_r.clv),
                clv: Some((ci, args.test_customers)),
            }
        }
    })
}

/// Trains, writes the run directory, evaluates the best-on-validation checkpoint on test seeds
/// and writes the summary: the same for every learner.
fn execute<L: CliLearner>(
    args: &Args,
    task: &Task,
    mut prep: Prepared<L>,
    started: Instant,
) -> anyhow::Result<()> {
    let out = prep.out.clone();
    if let Some(run) = &args.resume {
        check_same_run::<L>(run, task, &prep)?;
    }
    crate::io::lock_run_dir(&out, "train")?;
    write_atomic(&out.join("config.ron"), prep.config_ron.as_bytes())?;
    if let Task::Scenario { scenario, .. } = task {
        crate::io::write_scenario(&out.join("scenario.ron"), scenario)?;
    }
    let ck_root = out.join("checkpoint");
    let opts = TrainOptions {
        checkpoint_dir: Some(ck_root.clone()),
    };
    let bar = progress_bar(prep.train.total_env_steps, args.quiet);
    bar.set_position(prep.trainer.agent.env_steps());
    let explore_label = if prep.agent.continuous() {
        "noise"
    } else {
        "eps"
    };
    let mut log = MetricsLog::start(&out.join("metrics.csv"), &prep.trainer.state.rows)?;
    let result = {
        let num_envs = prep.train.num_envs;
        let mut on_event = on_event(&bar, explore_label, num_envs, &mut log);
        train_on_task(args, task, &mut prep, &opts, &mut on_event)?
    };
    bar.finish_and_clear();
    log.finish(&prep.trainer.state.rows)?;
    let report = result.context("training")?;

    let summary = final_report(args, task, &mut prep, &ck_root, &report, started)?;
    summary.write(&out.join("summary.json"))?;
    crate::cmd::report::report_dir(&out, None)?;
    crate::io::finish_run_dir(&out)?;
    if !args.quiet {
        print_result(&out, &summary, &report, args.test_customers);
    }
    Ok(())
}

/// Config fields a run changes as it goes, left out when a resumed checkpoint's config is
/// compared with the run's `config.ron`: the acting margin (chosen on validation) and the
/// step budget (`--steps` on a resume).
const RESUME_FREE_FIELDS: [&str; 2] = ["action_margin:", "total_env_steps:"];

/// Relative difference below which two numbers of a resumed run's files are the same (a
/// number written as RON text and read back may differ in its last bit).
const RESUME_NUMBER_TOLERANCE: f64 = 1e-12;

/// Whether two lines of pretty RON say the same: equal, or `field: number,` with the same
/// field and numbers within [`RESUME_NUMBER_TOLERANCE`].
fn same_ron_line(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let split = |l: &str| {
        let (field, value) = l.split_once(':')?;
        let v: f64 = value.trim().trim_end_matches(',').parse().ok()?;
        Some((field.to_string(), v))
    };
    match (split(a), split(b)) {
        (Some((fa, va)), Some((fb, vb))) => {
            fa == fb && (va - vb).abs() <= RESUME_NUMBER_TOLERANCE * va.abs().max(vb.abs())
        }
        _ => false,
    }
}

/// The first line where `a` and `b` differ (1-based, see [`same_ron_line`]) and the two
/// lines, shortened.
fn first_difference(a: &str, b: &str) -> Option<(usize, String, String)> {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for i in 1.. {
        match (la.next(), lb.next()) {
            (None, None) => return None,
            (Some(x), Some(y)) if same_ron_line(x, y) => {}
            (x, y) => {
                let show = |l: Option<&str>| {
                    l.map_or("(end of file)".into(), |l| {
                        clv_envs::files::excerpt(l.trim())
                    })
                };
                return Some((i, show(x), show(y)));
            }
        }
    }
    None
}

/// A config's RON without the fields a run changes as it goes.
fn config_for_resume(ron: &str) -> String {
    ron.lines()
        .filter(|l| {
            !RESUME_FREE_FIELDS
                .iter()
                .any(|f| l.trim_start().starts_with(f))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A resume continues the run in `run` on what it trained on: the scenario (with `--set`) is
/// the run's `scenario.ron` (or, for a classic-task run, there is none), and the checkpoint's
/// config is the run's `config.ron`, both compared after parsing and writing them again.
fn check_same_run<L: CliLearner>(
    run: &Path,
    task: &Task,
    prep: &Prepared<L>,
) -> anyhow::Result<()> {
    let saved_scenario = run.join("scenario.ron");
    let has_saved = saved_scenario.exists();
    match task {
        Task::Classic(env) => anyhow::ensure!(
            !has_saved,
            "--resume {}: the run was trained on the scenario saved in {}, not on --env {}; \
             resume it with that scenario",
            run.display(),
            saved_scenario.display(),
            env.name()
        ),
        Task::Scenario { scenario, path, .. } => {
            anyhow::ensure!(
                has_saved,
                "--resume {}: the run has no {} (a classic-task run, or not a run directory), \
                 so it cannot continue on the scenario {}",
                run.display(),
                saved_scenario.display(),
                path.display()
            );
            let text = clv_envs::files::read_text(&saved_scenario, clv_envs::files::MAX_TEXT_BYTES)
                .with_context(|| format!("--resume {}", run.display()))?;
            let saved = clv_envs::scenario::parse_scenario(&text, &saved_scenario)
                .with_context(|| format!("--resume {}", run.display()))?;
            let (given, saved) = (
                crate::io::scenario_ron(scenario)?,
                crate::io::scenario_ron(&saved)?,
            );
            if let Some((line, g, s)) = first_difference(&given, &saved) {
                bail!(
                    "--resume {}: the scenario {} (with any --set) differs from the run's {} \
                     (first difference at line {line}: `{g}` vs `{s}`); resume with the \
                     scenario and --set the run was trained on",
                    run.display(),
                    path.display(),
                    saved_scenario.display()
                );
            }
        }
    }
    let saved_config = run.join("config.ron");
    if saved_config.exists() {
        let text = clv_envs::files::read_text(&saved_config, clv_envs::files::MAX_TEXT_BYTES)
            .with_context(|| format!("--resume {}", run.display()))?;
        let origin = saved_config.display().to_string();
        let saved = L::parse(&text, &origin)
            .with_context(|| format!("--resume {}: reading {origin}", run.display()))?;
        let ck = run.join("checkpoint").join(LAST_CHECKPOINT);
        if let Some((line, c, s)) = first_difference(
            &config_for_resume(&prep.config_ron),
            &config_for_resume(&saved.to_ron()),
        ) {
            bail!(
                "--resume {}: the config of the checkpoint {} differs from the run's {} \
                 (first difference at line {line}: `{c}` vs `{s}`): the checkpoint is not from \
                 this run, or the config was edited",
                run.display(),
                ck.display(),
                saved_config.display()
            );
        }
    }
    Ok(())
}

/// The final report: the best-on-validation checkpoint on test seeds (used once), and the
/// last checkpoint on the same seeds for comparison.
fn final_report<L: CliLearner>(
    args: &Args,
    task: &Task,
    prep: &mut Prepared<L>,
    ck_root: &Path,
    report: &TrainReport,
    started: Instant,
) -> anyhow::Result<Summary> {
    let best_dir = ck_root.join(BEST_CHECKPOINT);
    let mut best = if best_dir.exists() {
        let loaded = L::load(&best_dir, prep.device)
            .with_context(|| format!("loading {}", best_dir.display()))?;
        Some(loaded.agent)
    } else {
        None
    };
    let seed = prep.trainer.state.seed;
    let confirm = match (task, best.as_mut()) {
        (
            Task::Scenario {
                scenario, base_dir, ..
            },
            Some(b),
        ) => confirm_choice(b, scenario, base_dir, seed, &best_dir)?,
        _ => None,
    };
    let incumbent = prep.trainer.agent.recipe().incumbent;
    let scores = test_scores(
        args,
        task,
        &prep.train,
        seed,
        incumbent.as_deref(),
        &mut prep.trainer.agent,
        best.as_mut(),
    )?;
    let action_margin = match (task, best.as_ref()) {
        (Task::Classic(_), _) => None,
        (_, Some(b)) => b.action_margin(),
        (_, None) => prep.trainer.agent.action_margin(),
    };
    let eval_checkpoint = if best.is_some() {
        BEST_CHECKPOINT
    } else {
        LAST_CHECKPOINT
    };
    Ok(Summary {
        schema_version: TRAIN_SUMMARY_SCHEMA_VERSION,
        best_baseline: None,
        action_margin,
        env: task.name(),
        scenario: match task {
            Task::Scenario { path, .. } => Some(path.display().to_string()),
            Task::Classic(_) => None,
        },
        gamma: prep.gamma,
        agent: serde_name(&prep.agent),
        seed,
        device: format!("{:?}", prep.device),
        config_source: prep.config_source.clone(),
        env_steps: report.env_steps,
        updates: report.updates,
        stop: format!("{:?}", report.stop),
        wall_seconds: report.wall_seconds,
        command_wall_seconds: started.elapsed().as_secs_f64(),
        eval_checkpoint: eval_checkpoint.to_string(),
        eval_episodes: scores.test.returns.len(),
        eval_return_mean: scores.test.mean,
        eval_return_std: scores.test.std,
        eval_return_min: scores
            .test
            .returns
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min),
        best_valid_return_mean: report.best_valid.map(|b| b.0),
        best_valid_env_steps: report.best_valid.map(|b| b.1),
        last_eval_return_mean: scores.last.mean,
        last_eval_return_std: scores.last.std,
        eval_clv_mean: scores.clv.map(|c| c.0.mean),
        eval_clv_ci95: scores.clv.map(|c| c.0.ci95),
        eval_customers: scores.clv.map(|c| c.1),
        incumbent,
        confirmation: confirm,
        eval_vs_incumbent: scores.vs_incumbent,
    })
}

/// Seed salt of the second, disjoint validation set that confirms the final choice (recipe
/// lever 5): its customers are drawn from `seed ^ CONFIRM_SEED_SALT` in the validation domain.
const CONFIRM_SEED_SALT: u64 = 0xC0FF_1A7E_5EED_0001;

/// Recipe lever 5: the chosen checkpoint must beat the incumbent on a second validation set
/// of disjoint customers (lower bound of the paired 95% interval above 0), or its margin
/// becomes [`INCUMBENT_ONLY_MARGIN`] and the checkpoint is re-saved so. `None` when the recipe
/// does not confirm.
fn confirm_choice<L: CliLearner>(
    best: &mut L,
    scenario: &clv_envs::Scenario,
    base_dir: &Path,
    seed: u64,
    best_dir: &Path,
) -> anyhow::Result<Option<Confirmation>> {
    let recipe = best.recipe();
    if recipe.confirm_customers == 0 || !recipe.paired_selection {
        return Ok(None);
    }
    if best.action_margin() == Some(INCUMBENT_ONLY_MARGIN) {
        return Ok(Some(Confirmation {
            customers: 0,
            lift: None,
            fell_back: true,
        }));
    }
    let v = PopulationValidator::new(
        scenario,
        base_dir,
        clv_envs::SeedDomain::Validation,
        seed ^ CONFIRM_SEED_SALT,
        recipe.confirm_customers,
    )?
    .paired(&recipe)?;
    let clv = v.score(best)?.clv;
    let lift = v.lift(&clv).expect("a paired validator");
    let fell_back = lift.lower <= 0.0;
    if fell_back {
        best.set_action_margin(INCUMBENT_ONLY_MARGIN)?;
        best.save(best_dir, None, None)
            .with_context(|| format!("re-saving {}", best_dir.display()))?;
    }
    Ok(Some(Confirmation {
        customers: recipe.confirm_customers,
        lift: Some(lift),
        fell_back,
    }))
}

/// The run's one-line result on stdout.
fn print_result(out: &Path, summary: &Summary, report: &TrainReport, test_customers: u64) {
    let from = summary
        .best_valid_env_steps
        .map_or("-".into(), |s| s.to_string());
    let what = if summary.eval_clv_mean.is_some() {
        format!(
            "test CLV per customer ({} customers, {} checkpoint from step {from}) ${:.2} (95% CI {:.2} .. {:.2})",
            test_customers,
            summary.eval_checkpoint,
            summary.eval_return_mean,
            summary.eval_clv_ci95.map_or(f64::NAN, |c| c[0]),
            summary.eval_clv_ci95.map_or(f64::NAN, |c| c[1]),
        )
    } else {
        format!(
            "test return ({} episodes, {} checkpoint from step {from}) {:.1} +- {:.1}",
            summary.eval_episodes,
            summary.eval_checkpoint,
            summary.eval_return_mean,
            summary.eval_return_std
        )
    };
    let vs = match (&summary.incumbent, &summary.eval_vs_incumbent) {
        (Some(inc), Some(d)) => format!(
            "; vs incumbent `{inc}` on the same test customers {:+.2} (paired 95% CI {:+.2} .. {:+.2})",
            d.mean, d.ci95[0], d.ci95[1]
        ),
        _ => String::new(),
    };
    println!(
        "{}: {} env steps, {} updates in {:.1} s; {what}{vs}",
        out.display(),
        report.env_steps,
        report.updates,
        report.wall_seconds,
    );
}

//! `clv train`: trains an agent on a classic control task (and, once the simulator's population
//! env is wired in, on a scenario), writing a run directory:
//! - `config.ron`: the resolved agent config;
//! - `metrics.csv`: one row per `log_every` steps and per evaluation (steps, returns, loss,
//!   epsilon, mean Q, ...);
//! - `checkpoint/last`, `checkpoint/best`: checkpoints (best = highest validation return);
//! - `summary.json`: env steps, updates, wall seconds, and the test-seed evaluation of the
//!   best-on-validation checkpoint (`eval_return_mean`, `eval_return_std`).
//!
//! Every file is written atomically (a temporary file renamed into place).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clv_agents::{
    BEST_CHECKPOINT, DeviceChoice, DqnConfig, DqnTrainer, EvalStats, LAST_CHECKPOINT, MetricsRow,
    Policy, SeedDomain, TrainEvent, TrainOptions, derive_seed, evaluate, load_checkpoint,
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
    /// Double DQN over a discrete action set.
    Dqn,
}

/// Arguments of `clv train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (RON) to train on the customer population (needs the simulator env).
    pub scenario: Option<PathBuf>,
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
    env: ClassicEnv,
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
}

/// Writes `bytes` to `path` atomically: a temporary sibling, then a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} into place", tmp.display()))
}

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

/// Runs `clv train`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let env = match (&args.scenario, args.env) {
        (Some(s), None) => bail!(
            "scenario training ({}) needs the simulator's population env, which is not wired into `clv train` yet; train on a classic task with --env cartpole for now",
            s.display()
        ),
        (Some(_), Some(_)) => bail!("give either a SCENARIO or --env, not both"),
        (None, None) => bail!("nothing to train on: give a SCENARIO file or --env cartpole"),
        (None, Some(e)) => e,
    };
    if env == ClassicEnv::Pendulum {
        bail!(
            "--env pendulum has a continuous action space; --agent dqn needs discrete actions (DDPG / TD3 are not built yet)"
        );
    }
    let device = args.device.resolve().context("resolving --device")?;

    // Config: the saved one when resuming, else --config, else the tuned CartPole file.
    let (mut trainer, config_source, out) = if let Some(run_dir) = &args.resume {
        let ck = run_dir.join("checkpoint").join(LAST_CHECKPOINT);
        if args.config.is_some() {
            bail!("--resume uses the config saved in the checkpoint; drop --config");
        }
        let trainer = DqnTrainer::resume(&ck, device, args.steps)
            .with_context(|| format!("resuming from {}", ck.display()))?;
        let out = args.out.clone().unwrap_or_else(|| run_dir.clone());
        (trainer, format!("checkpoint {}", ck.display()), out)
    } else {
        let (mut config, source) = match &args.config {
            Some(path) => (
                DqnConfig::from_ron_file(path)
                    .with_context(|| format!("loading config {}", path.display()))?,
                path.display().to_string(),
            ),
            None => (
                DqnConfig::from_ron_str(CARTPOLE_DQN_RON, CARTPOLE_DQN_PATH)
                    .context("loading the built-in CartPole config")?,
                CARTPOLE_DQN_PATH.to_string(),
            ),
        };
        if let Some(steps) = args.steps {
            config.total_env_steps = steps;
        }
        config.validate().context("checking the config")?;
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("results").join(format!(
                "{}-{}-seed{}-{}",
                "cartpole",
                "dqn",
                args.seed,
                utc_timestamp()
            ))
        });
        let obs_dim = CartPoleVecEnv::new(1, 0).obs_dim();
        let trainer = DqnTrainer::new(config, obs_dim, 2, device, args.seed)
            .context("building the DQN agent")?;
        (trainer, source, out)
    };
    let seed = trainer.state.seed;
    let cfg = trainer.config().clone();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&out.join("config.ron"), cfg.to_ron().as_bytes())?;

    let mut train_env = CartPoleVecEnv::new(cfg.num_envs, 0);
    let mut valid_env = CartPoleVecEnv::new(cfg.eval_episodes, 0);
    let ck_root = out.join("checkpoint");
    let opts = TrainOptions {
        checkpoint_dir: Some(ck_root.clone()),
    };
    let bar = progress_bar(cfg.total_env_steps, args.quiet);
    bar.set_position(trainer.agent.env_steps);
    let mut rows = trainer.state.rows.clone();
    let result = trainer.run(&mut train_env, &mut valid_env, &opts, &mut |ev| match ev {
        TrainEvent::Progress(p) => {
            bar.set_position(p.env_steps);
            if p.env_steps % 500 < cfg.num_envs as u64 {
                bar.set_message(format!(
                    "eps {:.2} train {} valid {}",
                    p.epsilon,
                    p.train_return_mean
                        .map_or("-".into(), |r| format!("{r:.1}")),
                    p.last_valid_return
                        .map_or("-".into(), |r| format!("{r:.1}"))
                ));
            }
        }
        TrainEvent::Row(r) => rows.push(r.clone()),
    });
    bar.finish_and_clear();
    write_metrics(&out.join("metrics.csv"), &rows)?;
    let report = result.context("training")?;

    // Final report: the best-on-validation checkpoint on test seeds (used once).
    let test_seed = derive_seed(SeedDomain::Test, seed, 0);
    let mut test_env = CartPoleVecEnv::new(cfg.test_episodes, 0);
    let best_dir = ck_root.join(BEST_CHECKPOINT);
    let (eval_checkpoint, test): (&str, EvalStats) = if best_dir.exists() {
        let mut best = load_checkpoint(&best_dir, device)
            .with_context(|| format!("loading {}", best_dir.display()))?
            .agent;
        let s = evaluate(
            &mut best,
            &mut test_env,
            test_seed,
            cfg.test_episodes,
            cfg.eval_max_steps,
        )?;
        (BEST_CHECKPOINT, s)
    } else {
        let s = evaluate(
            &mut trainer.agent,
            &mut test_env,
            test_seed,
            cfg.test_episodes,
            cfg.eval_max_steps,
        )?;
        (LAST_CHECKPOINT, s)
    };
    let last = evaluate(
        &mut trainer.agent,
        &mut test_env,
        test_seed,
        cfg.test_episodes,
        cfg.eval_max_steps,
    )?;
    debug_assert_eq!(trainer.agent.n_actions(), 2);
    let summary = Summary {
        env,
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
    };
    write_atomic(
        &out.join("summary.json"),
        &serde_json::to_vec_pretty(&summary)?,
    )?;
    if !args.quiet {
        println!(
            "{}: {} env steps, {} updates in {:.1} s; test return ({} episodes, {} checkpoint from step {}) {:.1} +- {:.1}",
            out.display(),
            report.env_steps,
            report.updates,
            report.wall_seconds,
            summary.eval_episodes,
            eval_checkpoint,
            summary
                .best_valid_env_steps
                .map_or("-".into(), |s| s.to_string()),
            test.mean,
            test.std
        );
    }
    Ok(())
}

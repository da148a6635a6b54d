//! The training loop shared by every learner ([`Trainer`], generic over a [`Learner`]): DQN
//! ([`DqnTrainer`]) on a discrete action space and DDPG / TD3 ([`DdpgTrainer`]) on a
//! continuous one, over any [`VecEnv`]: CartPole and Pendulum to validate the agents, the
//! customer population for the real task (f32 feature observations, dollar rewards scaled by
//! `reward_scale`, the horizon end `terminated`).
//!
//! Budgets count environment transitions and gradient updates, never wall-clock time.
//! `replay_ratio` is the number of transitions sampled per transition collected: every
//! `train_every` transitions the loop runs `replay_ratio * collected / batch_size` updates
//! (fractions carried over), once `learning_starts` transitions are in. Every `eval_every`
//! transitions the greedy policy is evaluated on validation seeds (a domain disjoint from the
//! training and test seeds), the `last` checkpoint is written, and the `best` one when the
//! validation mean return improves. A non-finite loss or gradient norm stops training before
//! the optimiser step with [`AgentError::Diverged`], leaving the last good checkpoint in place.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::Device;

use clv_envs::VecEnv;

use crate::AgentError;
use crate::checkpoint::{LoadedCheckpoint, load_checkpoint, save_checkpoint};
use crate::config::DqnConfig;
use crate::ddpg::{Ddpg, LoadedDdpgCheckpoint, load_ddpg_checkpoint, save_ddpg_checkpoint};
use crate::ddpg_config::DdpgConfig;
use crate::dqn::{Dqn, UpdateStats};
use crate::normalize::RunningNorm;
use crate::policy::{EnvActor, Mode};
use crate::replay::{Batch, ReplayBuffer, ReplaySpec};
use crate::seeds::{SeedDomain, derive_seed, mix64, stream};

/// Folder name of the latest checkpoint under the checkpoint root.
pub const LAST_CHECKPOINT: &str = "last";
/// Folder name of the best-on-validation checkpoint under the checkpoint root.
pub const BEST_CHECKPOINT: &str = "best";

/// Mean and spread of episode returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalStats {
    /// Mean undiscounted episode return, env reward units.
    pub mean: f64,
    /// Population standard deviation of the returns, env reward units.
    pub std: f64,
    /// Every episode's return, in sub-env then round order.
    pub returns: Vec<f64>,
}

impl EvalStats {
    /// Mean and standard deviation of `returns`.
    pub fn from_returns(returns: Vec<f64>) -> Self {
        let n = returns.len().max(1) as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
        Self { mean, std, returns }
    }
}

/// Runs `episodes` greedy episodes of `policy` on `env` and returns their undiscounted returns.
/// Each round resets `env` with a seed hashed from `(seed, round)` and runs until every
/// sub-env has finished its first episode; rounds repeat until enough episodes are in.
/// `max_steps` bounds one round's vector steps.
pub fn evaluate<P: EnvActor + ?Sized, E: VecEnv + ?Sized>(
    policy: &mut P,
    env: &mut E,
    seed: u64,
    episodes: usize,
    max_steps: u64,
) -> Result<EvalStats, AgentError> {
    policy.check_env(env.obs_dim(), &env.action_space())?;
    let n = env.num_envs();
    let mut returns = Vec::with_capacity(episodes);
    let mut round = 0u64;
    while returns.len() < episodes {
        let mut obs = env.reset(mix64(seed ^ mix64(round)));
        let mut acc = vec![0.0f64; n];
        let mut done = vec![false; n];
        let mut steps = 0u64;
        while done.iter().any(|d| !d) {
            if steps >= max_steps {
                return Err(AgentError::EnvMismatch(format!(
                    "evaluation episodes did not end within {max_steps} steps (dqn.eval_max_steps / ddpg.eval_max_steps)"
                )));
            }
            let actions = policy.act_env(&obs, n, Mode::Greedy)?;
            let b = env.step(actions.as_actions());
            for i in 0..n {
                if !done[i] {
                    acc[i] += f64::from(b.reward[i]);
                    done[i] = b.terminated[i] || b.truncated[i];
                }
            }
            obs = b.obs;
            steps += 1;
        }
        let take = (episodes - returns.len()).min(n);
        returns.extend_from_slice(&acc[..take]);
        round += 1;
    }
    Ok(EvalStats::from_returns(returns))
}

/// How the training loop scores the greedy policy of an agent `A` when it chooses
/// checkpoints: on validation seeds, higher is better.
pub trait Validator<A: ?Sized = Dqn> {
    /// Scores `agent`'s greedy policy; `seed` is from the validation domain.
    fn validate(&mut self, agent: &mut A, seed: u64) -> Result<EvalStats, AgentError>;
}

/// Greedy episodes on a vector env (see [`evaluate`]).
pub struct EpisodeValidator<'a, V: VecEnv + ?Sized> {
    env: &'a mut V,
    episodes: usize,
    max_steps: u64,
}

impl<'a, V: VecEnv + ?Sized> EpisodeValidator<'a, V> {
    /// `episodes` greedy episodes on `env` per validation, each round within `max_steps`
    /// vector steps.
    pub fn new(env: &'a mut V, episodes: usize, max_steps: u64) -> Self {
        EpisodeValidator {
            env,
            episodes,
            max_steps,
        }
    }
}

impl<A: EnvActor + ?Sized, V: VecEnv + ?Sized> Validator<A> for EpisodeValidator<'_, V> {
    fn validate(&mut self, agent: &mut A, seed: u64) -> Result<EvalStats, AgentError> {
        evaluate(agent, self.env, seed, self.episodes, self.max_steps)
    }
}

/// One row of training metrics, written every `log_every` transitions and at every evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// Environment transitions collected.
    pub env_steps: u64,
    /// Gradient updates done (DDPG / TD3: critic updates).
    pub updates: u64,
    /// Training episodes finished.
    pub episodes: u64,
    /// Mean return of the last `return_window` training episodes (exploring), env units.
    pub train_return_mean: Option<f64>,
    /// Mean loss of the updates since the previous row (DQN: Huber; DDPG / TD3: the critic's
    /// squared error, summed over critics), scaled-reward units.
    pub loss: Option<f64>,
    /// Mean batch Q value of those updates (DDPG / TD3: the first critic's), scaled-reward units.
    pub q_mean: Option<f64>,
    /// Mean gradient norm (before clipping) of those updates (DDPG / TD3: the critic's).
    pub grad_norm: Option<f64>,
    /// Exploration at this step: DQN's epsilon; DDPG / TD3's noise standard deviation in half
    /// action ranges (1 while actions are uniform over the box).
    pub epsilon: f64,
    /// Greedy validation mean return, when an evaluation ran at this row, env units.
    pub valid_return_mean: Option<f64>,
    /// Greedy validation return standard deviation, when an evaluation ran.
    pub valid_return_std: Option<f64>,
    /// Seconds of training so far (accumulated across resumes).
    pub wall_seconds: f64,
    /// DDPG / TD3: mean actor loss `-Q_1(s, mu(s))` of the actor updates since the previous
    /// row, scaled-reward units. DQN: none.
    #[serde(default)]
    pub actor_loss: Option<f64>,
}

/// The training loop's own state, saved in checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// The run seed.
    pub seed: u64,
    /// Times this run was resumed.
    pub resumes: u64,
    /// Training episodes finished.
    pub episodes: u64,
    /// Returns of the latest training episodes (at most `return_window`).
    pub recent_returns: VecDeque<f64>,
    /// Transition count at the last training phase.
    pub last_train_step: u64,
    /// Updates owed but not yet run (fractional carry of `replay_ratio`).
    pub update_credit: f64,
    /// Next transition count at which to write a metrics row.
    pub next_log: u64,
    /// Next transition count at which to evaluate.
    pub next_eval: u64,
    /// Best validation mean return so far, and the step it was reached at.
    pub best_valid: Option<(f64, u64)>,
    /// Seconds of training before this session.
    pub wall_seconds: f64,
    /// Metrics rows so far.
    pub rows: Vec<MetricsRow>,
}

/// Where and how a training run writes.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Checkpoint root: `last/` and `best/` are written under it. None: no checkpoints.
    pub checkpoint_dir: Option<PathBuf>,
}

/// A progress snapshot for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Environment transitions collected.
    pub env_steps: u64,
    /// The transition budget.
    pub total_env_steps: u64,
    /// Gradient updates done.
    pub updates: u64,
    /// Exploration (see [`MetricsRow::epsilon`]).
    pub epsilon: f64,
    /// Mean return of recent training episodes, env units.
    pub train_return_mean: Option<f64>,
    /// Latest validation mean return, env units.
    pub last_valid_return: Option<f64>,
}

/// What the training loop reports as it goes.
#[derive(Debug)]
pub enum TrainEvent<'a> {
    /// After every vector step.
    Progress(&'a Progress),
    /// A new metrics row.
    Row(&'a MetricsRow),
}

/// Why training stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// `total_env_steps` reached.
    EnvSteps,
    /// `max_updates` reached.
    Updates,
}

/// The outcome of [`Trainer::run`].
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// Transitions collected.
    pub env_steps: u64,
    /// Updates done.
    pub updates: u64,
    /// Which budget ended the run.
    pub stop: StopReason,
    /// Best validation mean return and the step it was reached at.
    pub best_valid: Option<(f64, u64)>,
    /// Seconds of training (accumulated across resumes).
    pub wall_seconds: f64,
}

/// What one update of any learner measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LearnerStats {
    /// The (critic's) loss of the batch, scaled-reward units.
    pub loss: f64,
    /// Global gradient L2 norm of the (critic's) update before clipping.
    pub grad_norm: f64,
    /// Mean `Q(s, a)` over the batch, scaled-reward units.
    pub q_mean: f64,
    /// Actor loss, when this update also updated an actor.
    pub actor_loss: Option<f64>,
}

impl From<UpdateStats> for LearnerStats {
    fn from(s: UpdateStats) -> Self {
        Self {
            loss: s.loss,
            grad_norm: s.grad_norm,
            q_mean: s.q_mean,
            actor_loss: None,
        }
    }
}

/// The settings of the training loop, read from a learner's config (DQN and DDPG configs hold
/// the same loop fields, documented there).
#[derive(Debug, Clone, PartialEq)]
pub struct LoopSettings {
    /// Budget: environment transitions.
    pub total_env_steps: u64,
    /// Budget: updates, if set.
    pub max_updates: Option<u64>,
    /// Training sub-environments.
    pub num_envs: usize,
    /// Transitions before the first update.
    pub learning_starts: u64,
    /// Transitions between training phases.
    pub train_every: u64,
    /// Transitions sampled per transition collected.
    pub replay_ratio: f64,
    /// Transitions per update.
    pub batch_size: usize,
    /// Transitions between evaluations (0 = none).
    pub eval_every: u64,
    /// Transitions between metrics rows.
    pub log_every: u64,
    /// Episodes averaged into `train_return_mean`.
    pub return_window: usize,
    /// Whether the learner normalises observations (the loop feeds its normaliser).
    pub normalize_obs: bool,
    /// Whether checkpoints hold the replay rows.
    pub checkpoint_replay: bool,
    /// The replay buffer's shape and returns.
    pub replay: ReplaySpec,
}

/// An agent the shared loop can train: it acts (an [`EnvActor`]), learns from replay batches,
/// counts its steps and saves itself.
pub trait Learner: EnvActor {
    /// The loop settings of the learner's config.
    fn settings(&self) -> LoopSettings;
    /// Environment transitions collected so far.
    fn env_steps(&self) -> u64;
    /// Counts `n` more collected transitions.
    fn add_env_steps(&mut self, n: u64);
    /// Gradient updates done.
    fn updates(&self) -> u64;
    /// The observation normaliser (the loop merges training observations into it).
    fn normalizer_mut(&mut self) -> &mut RunningNorm;
    /// Exploration at the current step (see [`MetricsRow::epsilon`]).
    fn exploration(&self) -> f64;
    /// One gradient update on `batch`.
    fn learn(&mut self, batch: &Batch) -> Result<LearnerStats, AgentError>;
    /// Replaces the transition budget.
    fn set_total_env_steps(&mut self, total: u64) -> Result<(), AgentError>;
    /// Writes a checkpoint folder at `dir`.
    fn save(
        &self,
        dir: &Path,
        replay: Option<&ReplayBuffer>,
        state: Option<&LoopState>,
    ) -> Result<(), AgentError>;
}

impl Learner for Dqn {
    fn settings(&self) -> LoopSettings {
        let c = self.config();
        LoopSettings {
            total_env_steps: c.total_env_steps,
            max_updates: c.max_updates,
            num_envs: c.num_envs,
            learning_starts: c.learning_starts,
            train_every: c.train_every,
            replay_ratio: c.replay_ratio,
            batch_size: c.batch_size,
            eval_every: c.eval_every,
            log_every: c.log_every,
            return_window: c.return_window,
            normalize_obs: c.normalize_obs,
            checkpoint_replay: c.checkpoint_replay,
            replay: ReplaySpec {
                capacity: c.buffer_size,
                obs_dim: crate::Policy::obs_dim(self),
                action_dim: 1,
                num_envs: c.num_envs,
                n_step: c.n_step,
                gamma: c.gamma,
            },
        }
    }
    fn env_steps(&self) -> u64 {
        self.env_steps
    }
    fn add_env_steps(&mut self, n: u64) {
        self.env_steps += n;
    }
    fn updates(&self) -> u64 {
        Dqn::updates(self)
    }
    fn normalizer_mut(&mut self) -> &mut RunningNorm {
        &mut self.normalizer
    }
    fn exploration(&self) -> f64 {
        self.epsilon()
    }
    fn learn(&mut self, batch: &Batch) -> Result<LearnerStats, AgentError> {
        self.update(batch).map(LearnerStats::from)
    }
    fn set_total_env_steps(&mut self, total: u64) -> Result<(), AgentError> {
        Dqn::set_total_env_steps(self, total)
    }
    fn save(
        &self,
        dir: &Path,
        replay: Option<&ReplayBuffer>,
        state: Option<&LoopState>,
    ) -> Result<(), AgentError> {
        save_checkpoint(dir, self, replay, state)
    }
}

impl Learner for Ddpg {
    fn settings(&self) -> LoopSettings {
        let c = self.config();
        LoopSettings {
            total_env_steps: c.total_env_steps,
            max_updates: c.max_updates,
            num_envs: c.num_envs,
            learning_starts: c.learning_starts,
            train_every: c.train_every,
            replay_ratio: c.replay_ratio,
            batch_size: c.batch_size,
            eval_every: c.eval_every,
            log_every: c.log_every,
            return_window: c.return_window,
            normalize_obs: c.normalize_obs,
            checkpoint_replay: c.checkpoint_replay,
            replay: ReplaySpec {
                capacity: c.buffer_size,
                obs_dim: self.obs_dim(),
                action_dim: self.low().len(),
                num_envs: c.num_envs,
                n_step: c.n_step,
                gamma: c.gamma,
            },
        }
    }
    fn env_steps(&self) -> u64 {
        self.env_steps
    }
    fn add_env_steps(&mut self, n: u64) {
        self.env_steps += n;
    }
    fn updates(&self) -> u64 {
        Ddpg::updates(self)
    }
    fn normalizer_mut(&mut self) -> &mut RunningNorm {
        &mut self.normalizer
    }
    fn exploration(&self) -> f64 {
        if self.env_steps < self.config().random_steps {
            1.0
        } else {
            self.config().explore_noise
        }
    }
    fn learn(&mut self, batch: &Batch) -> Result<LearnerStats, AgentError> {
        self.update(batch)
    }
    fn set_total_env_steps(&mut self, total: u64) -> Result<(), AgentError> {
        Ddpg::set_total_env_steps(self, total)
    }
    fn save(
        &self,
        dir: &Path,
        replay: Option<&ReplayBuffer>,
        state: Option<&LoopState>,
    ) -> Result<(), AgentError> {
        save_ddpg_checkpoint(dir, self, replay, state)
    }
}

/// Running sums of update statistics between metrics rows.
#[derive(Debug, Default)]
struct UpdateSums {
    n: u64,
    loss: f64,
    q: f64,
    grad: f64,
    actor_n: u64,
    actor: f64,
}

/// An agent with its replay buffer and loop state: build fresh or resume, then
/// [`run`](Self::run).
#[derive(Debug)]
pub struct Trainer<L> {
    /// The agent.
    pub agent: L,
    /// The replay buffer.
    pub replay: ReplayBuffer,
    /// The loop state.
    pub state: LoopState,
}

/// The DQN trainer.
pub type DqnTrainer = Trainer<Dqn>;
/// The DDPG / TD3 trainer.
pub type DdpgTrainer = Trainer<Ddpg>;

impl Trainer<Dqn> {
    /// A fresh trainer for an env with `obs_dim` observations and `n_actions` actions, every
    /// RNG seeded from `seed` in the training domain (network initialisation, exploration,
    /// replay sampling, training envs each on their own stream).
    pub fn new(
        config: DqnConfig,
        obs_dim: usize,
        n_actions: usize,
        device: Device,
        seed: u64,
    ) -> Result<Self, AgentError> {
        let train = |s| derive_seed(SeedDomain::Train, seed, s);
        let agent = Dqn::new(
            config,
            obs_dim,
            n_actions,
            device,
            train(stream::TORCH),
            train(stream::EXPLORE),
        )?;
        Ok(Self::fresh(agent, seed))
    }

    /// Resumes from a checkpoint folder written by [`run`](Self::run) (see
    /// the checkpoint module doc for what is restored). `total_env_steps`, when given, replaces
    /// the saved transition budget (to train further).
    pub fn resume(
        dir: &Path,
        device: Device,
        total_env_steps: Option<u64>,
    ) -> Result<Self, AgentError> {
        let LoadedCheckpoint {
            agent,
            replay,
            loop_state,
        } = load_checkpoint(dir, device)?;
        Self::from_checkpoint(dir, agent, replay, loop_state, total_env_steps)
    }

    /// The agent's config.
    pub fn config(&self) -> &DqnConfig {
        self.agent.config()
    }
}

impl Trainer<Ddpg> {
    /// A fresh DDPG / TD3 trainer for an env with `obs_dim` observations and the action box
    /// `[low, high]`, every RNG seeded from `seed` in the training domain (as
    /// [`DqnTrainer::new`]).
    pub fn new(
        config: DdpgConfig,
        obs_dim: usize,
        low: &[f32],
        high: &[f32],
        device: Device,
        seed: u64,
    ) -> Result<Self, AgentError> {
        let train = |s| derive_seed(SeedDomain::Train, seed, s);
        let agent = Ddpg::new(
            config,
            obs_dim,
            low,
            high,
            device,
            train(stream::TORCH),
            train(stream::EXPLORE),
        )?;
        Ok(Self::fresh(agent, seed))
    }

    /// Resumes from a DDPG / TD3 checkpoint folder written by [`run`](Self::run) (see the
    /// checkpoint module doc for what is restored). `total_env_steps`, when given, replaces
    /// the saved transition budget.
    pub fn resume(
        dir: &Path,
        device: Device,
        total_env_steps: Option<u64>,
    ) -> Result<Self, AgentError> {
        let LoadedDdpgCheckpoint {
            agent,
            replay,
            loop_state,
        } = load_ddpg_checkpoint(dir, device)?;
        Self::from_checkpoint(dir, agent, replay, loop_state, total_env_steps)
    }

    /// The agent's config.
    pub fn config(&self) -> &DdpgConfig {
        self.agent.config()
    }
}

impl<L: Learner> Trainer<L> {
    /// A trainer around a fresh `agent` with an empty replay buffer (sampling stream of the
    /// training domain of `seed`).
    fn fresh(agent: L, seed: u64) -> Self {
        let spec = agent.settings().replay;
        Self {
            agent,
            replay: ReplayBuffer::new(spec, derive_seed(SeedDomain::Train, seed, stream::REPLAY)),
            state: LoopState {
                seed,
                ..Default::default()
            },
        }
    }

    /// A trainer from the parts of a loaded checkpoint: counts the resume, applies a new
    /// budget, and rebuilds an empty replay buffer (on a fresh sampling stream) when its rows
    /// were not saved.
    fn from_checkpoint(
        dir: &Path,
        mut agent: L,
        replay: Option<ReplayBuffer>,
        loop_state: Option<LoopState>,
        total_env_steps: Option<u64>,
    ) -> Result<Self, AgentError> {
        let mut state = loop_state.ok_or_else(|| AgentError::Checkpoint {
            path: dir.to_path_buf(),
            reason: "holds no training-loop state (not written by the trainer)".into(),
        })?;
        state.resumes += 1;
        if let Some(t) = total_env_steps {
            agent.set_total_env_steps(t)?;
        }
        let spec = agent.settings().replay;
        let replay = match replay {
            Some(r) => r,
            None => ReplayBuffer::new(
                spec,
                derive_seed(
                    SeedDomain::Train,
                    state.seed,
                    stream::REPLAY ^ mix64(state.resumes),
                ),
            ),
        };
        Ok(Self {
            agent,
            replay,
            state,
        })
    }

    fn save(&self, root: &Path, name: &str) -> Result<PathBuf, AgentError> {
        let dir = root.join(name);
        let replay = self
            .agent
            .settings()
            .checkpoint_replay
            .then_some(&self.replay);
        self.agent.save(&dir, replay, Some(&self.state))?;
        Ok(dir)
    }

    /// Trains until a budget is spent. `env` must have `num_envs` sub-envs (the config's);
    /// `validator` scores the greedy policy on validation-domain seeds. `on_event` sees every
    /// step's progress and every metrics row.
    pub fn run<E: VecEnv + ?Sized>(
        &mut self,
        env: &mut E,
        validator: &mut dyn Validator<L>,
        opts: &TrainOptions,
        on_event: &mut dyn FnMut(TrainEvent<'_>),
    ) -> Result<TrainReport, AgentError> {
        let cfg = self.agent.settings();
        self.agent.check_env(env.obs_dim(), &env.action_space())?;
        if env.num_envs() != cfg.num_envs {
            return Err(AgentError::EnvMismatch(format!(
                "training env has {} sub-envs, the config's num_envs is {}",
                env.num_envs(),
                cfg.num_envs
            )));
        }
        let started = Instant::now();
        let wall = |s: &LoopState| s.wall_seconds + started.elapsed().as_secs_f64();
        let n = env.num_envs();
        let o = env.obs_dim();
        let valid_seed = derive_seed(SeedDomain::Validation, self.state.seed, 0);
        let mut obs = env.reset(derive_seed(
            SeedDomain::Train,
            self.state.seed,
            stream::ENV + self.state.resumes,
        ));
        let mut ep_return = vec![0.0f64; n];
        let mut sums = UpdateSums::default();
        let mut last_valid: Option<f64> = self.state.best_valid.map(|b| b.0);
        let mut last_good: Option<PathBuf> = None;
        if self.state.next_log == 0 {
            self.state.next_log = cfg.log_every;
        }
        if self.state.next_eval == 0 {
            self.state.next_eval = cfg.eval_every;
        }
        let stop = loop {
            if self.agent.env_steps() >= cfg.total_env_steps {
                break StopReason::EnvSteps;
            }
            if cfg.max_updates.is_some_and(|m| self.agent.updates() >= m) {
                break StopReason::Updates;
            }
            // Collect one vector step.
            if cfg.normalize_obs && !self.agent.normalizer_mut().frozen {
                self.agent.normalizer_mut().update(&obs);
            }
            let actions = self.agent.act_env(&obs, n, Mode::Explore)?;
            let b = env.step(actions.as_actions());
            let mut next_true = b.obs.clone();
            for (i, last) in &b.final_obs {
                next_true[i * o..(i + 1) * o].copy_from_slice(last);
            }
            self.replay.push(
                &obs,
                &actions.replay_rows(),
                &b.reward,
                &b.terminated,
                &b.truncated,
                &next_true,
            );
            for (i, ret) in ep_return.iter_mut().enumerate() {
                *ret += f64::from(b.reward[i]);
                if b.terminated[i] || b.truncated[i] {
                    self.state.episodes += 1;
                    self.state.recent_returns.push_back(*ret);
                    if self.state.recent_returns.len() > cfg.return_window {
                        self.state.recent_returns.pop_front();
                    }
                    *ret = 0.0;
                }
            }
            obs = b.obs;
            self.agent.add_env_steps(n as u64);
            let steps = self.agent.env_steps();

            // Train.
            if steps > cfg.learning_starts {
                let fresh = (steps - cfg.learning_starts).min(n as u64);
                self.state.update_credit += cfg.replay_ratio * fresh as f64 / cfg.batch_size as f64;
            }
            if steps >= self.state.last_train_step + cfg.train_every {
                self.state.last_train_step = steps;
                while self.state.update_credit >= 1.0
                    && cfg.max_updates.is_none_or(|m| self.agent.updates() < m)
                {
                    self.state.update_credit -= 1.0;
                    let batch = self.replay.sample(cfg.batch_size);
                    let s = self.agent.learn(&batch).map_err(|e| match e {
                        AgentError::Diverged {
                            env_steps,
                            updates,
                            loss,
                            grad_norm,
                            ..
                        } => AgentError::Diverged {
                            env_steps,
                            updates,
                            loss,
                            grad_norm,
                            last_good: last_good.clone(),
                        },
                        other => other,
                    })?;
                    sums.n += 1;
                    sums.loss += s.loss;
                    sums.q += s.q_mean;
                    sums.grad += s.grad_norm;
                    if let Some(a) = s.actor_loss {
                        sums.actor_n += 1;
                        sums.actor += a;
                    }
                }
            }

            // Evaluate, checkpoint, log.
            let last_step = steps >= cfg.total_env_steps
                || cfg.max_updates.is_some_and(|m| self.agent.updates() >= m);
            let mut valid = None;
            let mut save_best = false;
            if cfg.eval_every > 0 && (steps >= self.state.next_eval || last_step) {
                while self.state.next_eval <= steps {
                    self.state.next_eval += cfg.eval_every;
                }
                let stats = validator.validate(&mut self.agent, valid_seed)?;
                last_valid = Some(stats.mean);
                let improved = self
                    .state
                    .best_valid
                    .is_none_or(|(best, _)| stats.mean > best);
                if improved {
                    self.state.best_valid = Some((stats.mean, steps));
                    save_best = true;
                }
                valid = Some(stats);
            }
            if steps >= self.state.next_log || valid.is_some() || last_step {
                while self.state.next_log <= steps {
                    self.state.next_log += cfg.log_every;
                }
                let per = |x: f64| (sums.n > 0).then(|| x / sums.n as f64);
                let recent = &self.state.recent_returns;
                let row = MetricsRow {
                    env_steps: steps,
                    updates: self.agent.updates(),
                    episodes: self.state.episodes,
                    train_return_mean: (!recent.is_empty())
                        .then(|| recent.iter().sum::<f64>() / recent.len() as f64),
                    loss: per(sums.loss),
                    q_mean: per(sums.q),
                    grad_norm: per(sums.grad),
                    epsilon: self.agent.exploration(),
                    valid_return_mean: valid.as_ref().map(|v| v.mean),
                    valid_return_std: valid.as_ref().map(|v| v.std),
                    wall_seconds: wall(&self.state),
                    actor_loss: (sums.actor_n > 0).then(|| sums.actor / sums.actor_n as f64),
                };
                sums = UpdateSums::default();
                self.state.rows.push(row);
                on_event(TrainEvent::Row(
                    self.state.rows.last().expect("just pushed"),
                ));
            }
            if let (Some(_), Some(root)) = (&valid, &opts.checkpoint_dir) {
                let saved_wall = self.state.wall_seconds;
                self.state.wall_seconds = wall(&self.state);
                last_good = Some(self.save(root, LAST_CHECKPOINT)?);
                if save_best {
                    self.save(root, BEST_CHECKPOINT)?;
                }
                self.state.wall_seconds = saved_wall;
            }
            let recent = &self.state.recent_returns;
            on_event(TrainEvent::Progress(&Progress {
                env_steps: steps,
                total_env_steps: cfg.total_env_steps,
                updates: self.agent.updates(),
                epsilon: self.agent.exploration(),
                train_return_mean: (!recent.is_empty())
                    .then(|| recent.iter().sum::<f64>() / recent.len() as f64),
                last_valid_return: last_valid,
            }));
        };
        self.state.wall_seconds = wall(&self.state);
        if let Some(root) = &opts.checkpoint_dir {
            self.save(root, LAST_CHECKPOINT)?;
        }
        Ok(TrainReport {
            env_steps: self.agent.env_steps(),
            updates: self.agent.updates(),
            stop,
            best_valid: self.state.best_valid,
            wall_seconds: self.state.wall_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clv_envs::{ActionSpace, Actions, StepBatch};

    /// A toy vector env: obs `[t, 1]`, 2 actions, reward 1 per step (NaN from
    /// transition `nan_after` on, when set), terminated after `len` steps.
    struct Toy {
        n: usize,
        len: u32,
        t: Vec<u32>,
        collected: u64,
        nan_after: Option<u64>,
    }

    impl Toy {
        fn new(n: usize, len: u32, nan_after: Option<u64>) -> Self {
            Self {
                n,
                len,
                t: vec![0; n],
                collected: 0,
                nan_after,
            }
        }
        fn obs(&self) -> Vec<f32> {
            self.t.iter().flat_map(|&t| [t as f32 * 0.1, 1.0]).collect()
        }
    }

    impl VecEnv for Toy {
        fn num_envs(&self) -> usize {
            self.n
        }
        fn obs_dim(&self) -> usize {
            2
        }
        fn action_space(&self) -> ActionSpace {
            ActionSpace::Discrete { n: 2 }
        }
        fn reset(&mut self, _seed: u64) -> Vec<f32> {
            self.t.iter_mut().for_each(|t| *t = 0);
            self.obs()
        }
        fn step(&mut self, _actions: Actions<'_>) -> StepBatch {
            let mut b = StepBatch::default();
            for i in 0..self.n {
                self.t[i] += 1;
                self.collected += 1;
                let nan = self.nan_after.is_some_and(|k| self.collected > k);
                b.reward.push(if nan { f32::NAN } else { 1.0 });
                let end = self.t[i] >= self.len;
                b.terminated.push(end);
                b.truncated.push(false);
                if end {
                    b.final_obs.push((i, vec![self.t[i] as f32 * 0.1, 1.0]));
                    self.t[i] = 0;
                }
            }
            b.obs = self.obs();
            b
        }
    }

    fn small() -> DqnConfig {
        DqnConfig {
            hidden: vec![8],
            batch_size: 32,
            buffer_size: 1000,
            learning_starts: 100,
            train_every: 10,
            replay_ratio: 3.2, // 0.1 updates per transition
            total_env_steps: 300,
            eval_every: 100,
            eval_episodes: 3,
            log_every: 50,
            ..Default::default()
        }
    }

    #[test]
    fn budgets_replay_ratio_and_learning_starts_take_effect() {
        let mut t = DqnTrainer::new(small(), 2, 2, Device::Cpu, 0).unwrap();
        let (mut env, mut valid) = (Toy::new(1, 5, None), Toy::new(3, 5, None));
        let r = t
            .run(
                &mut env,
                &mut EpisodeValidator::new(&mut valid, 3, 1000),
                &TrainOptions::default(),
                &mut |_| {},
            )
            .unwrap();
        assert_eq!((r.env_steps, r.stop), (300, StopReason::EnvSteps));
        assert_eq!(r.updates, 20, "(300 - 100) transitions * 3.2 / 32");
        assert_eq!(t.state.episodes, 60);
        assert_eq!(r.best_valid.unwrap().0, 5.0, "every toy episode returns 5");
        let first_update_row = t.state.rows.iter().find(|r| r.updates > 0).unwrap();
        assert!(
            first_update_row.env_steps > 100,
            "no update before learning_starts"
        );
        assert_eq!(
            t.state
                .rows
                .iter()
                .filter(|r| r.valid_return_mean.is_some())
                .count(),
            3
        );
        // max_updates stops the run; more sub-envs count more transitions per step.
        let cfg = DqnConfig {
            max_updates: Some(7),
            num_envs: 4,
            ..small()
        };
        let mut t = DqnTrainer::new(cfg, 2, 2, Device::Cpu, 0).unwrap();
        let mut env = Toy::new(4, 5, None);
        let r = t
            .run(
                &mut env,
                &mut EpisodeValidator::new(&mut valid, 3, 1000),
                &TrainOptions::default(),
                &mut |_| {},
            )
            .unwrap();
        assert_eq!((r.updates, r.stop), (7, StopReason::Updates));
        assert_eq!(r.env_steps % 4, 0);
    }

    #[test]
    fn same_seed_same_run() {
        let run = || {
            let mut t = DqnTrainer::new(small(), 2, 2, Device::Cpu, 3).unwrap();
            let (mut env, mut valid) = (Toy::new(1, 5, None), Toy::new(3, 5, None));
            t.run(
                &mut env,
                &mut EpisodeValidator::new(&mut valid, 3, 1000),
                &TrainOptions::default(),
                &mut |_| {},
            )
            .unwrap();
            t.state
                .rows
                .iter()
                .map(|r| (r.loss, r.q_mean))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    /// A NaN reward makes the loss non-finite: training stops with `Diverged`, naming the last
    /// good checkpoint, which is still there and loads.
    #[test]
    fn divergence_stops_and_keeps_the_last_good_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = DqnTrainer::new(small(), 2, 2, Device::Cpu, 0).unwrap();
        let (mut env, mut valid) = (Toy::new(1, 5, Some(205)), Toy::new(3, 5, None));
        let opts = TrainOptions {
            checkpoint_dir: Some(dir.path().to_path_buf()),
        };
        let err = t
            .run(
                &mut env,
                &mut EpisodeValidator::new(&mut valid, 3, 1000),
                &opts,
                &mut |_| {},
            )
            .unwrap_err();
        let AgentError::Diverged {
            last_good: Some(path),
            env_steps,
            ..
        } = &err
        else {
            panic!("expected Diverged with a checkpoint, got {err:?}");
        };
        assert!(*env_steps > 205 && *env_steps <= 300, "{env_steps}");
        assert!(
            err.to_string().contains("last good checkpoint kept at"),
            "{err}"
        );
        let loaded = load_checkpoint(path, Device::Cpu).unwrap();
        assert_eq!(loaded.agent.env_steps, 200);
        let obs = [0.1f32, 1.0];
        assert!(
            loaded
                .agent
                .q_values(&obs, 1)
                .unwrap()
                .iter()
                .all(|q| q.is_finite())
        );
    }

    #[test]
    fn evaluate_counts_first_episodes_over_rounds() {
        let mut agent = Dqn::new(small(), 2, 2, Device::Cpu, 0, 0).unwrap();
        let mut env = Toy::new(3, 4, None);
        let s = evaluate(&mut agent, &mut env, 1, 7, 100).unwrap();
        assert_eq!(s.returns, vec![4.0; 7]);
        assert_eq!((s.mean, s.std), (4.0, 0.0));
        let err = evaluate(&mut agent, &mut env, 1, 1, 2).unwrap_err();
        assert!(err.to_string().contains("eval_max_steps"), "{err}");
        let mut wrong = crate::dqn::Dqn::new(small(), 3, 2, Device::Cpu, 0, 0).unwrap();
        assert!(matches!(
            evaluate(&mut wrong, &mut env, 1, 1, 100),
            Err(AgentError::EnvMismatch(_))
        ));
    }
}

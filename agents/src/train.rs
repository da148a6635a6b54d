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

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::Device;

use clv_envs::{ActionSpace, VecEnv};

use crate::checkpoint::{BEST_CHECKPOINT, LAST_CHECKPOINT};
use crate::ddpg::Ddpg;
use crate::dqn::Dqn;
use crate::error::AgentError;
use crate::learner::{Learner, LearnerStats, LoadedCheckpoint, LoopState, MetricsRow, TrainConfig};
use crate::policy::Mode;
use crate::replay::ReplayBuffer;
use crate::seeds::{SeedDomain, derive_seed, mix64, stream};
use crate::validate::{EvalStats, Validator};

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

impl UpdateSums {
    fn add(&mut self, s: &LearnerStats) {
        self.n += 1;
        self.loss += s.loss;
        self.q += s.q_mean;
        self.grad += s.grad_norm;
        if let Some(a) = s.actor_loss {
            self.actor_n += 1;
            self.actor += a;
        }
    }
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

/// What one [`Trainer::run`] session tracks besides the saved [`LoopState`].
struct Session {
    /// When this session started (wall time accumulates across resumes).
    started: Instant,
    /// The training envs' current observations, `[num_envs, obs_dim]`.
    obs: Vec<f32>,
    /// Return so far of each sub-env's episode in flight, env units.
    ep_return: Vec<f64>,
    /// Update statistics since the last metrics row.
    sums: UpdateSums,
    /// The latest validation mean return, env units.
    last_valid: Option<f64>,
    /// The last checkpoint written, named by a divergence error.
    last_good: Option<PathBuf>,
    /// The validation seed (the same customers / episodes at every validation).
    valid_seed: u64,
}

impl Session {
    /// Seconds of training: before this session plus this session's.
    fn wall(&self, state: &LoopState) -> f64 {
        state.wall_seconds + self.started.elapsed().as_secs_f64()
    }
}

/// A validation that ran at this step, and whether it improved on the best.
struct Validation {
    stats: EvalStats,
    improved: bool,
}

/// `err` with the last good checkpoint filled in, when it is a divergence.
fn with_last_good(err: AgentError, last_good: &Option<PathBuf>) -> AgentError {
    match err {
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
    }
}

/// Mean of the recent training returns, if any.
fn recent_mean(state: &LoopState) -> Option<f64> {
    let recent = &state.recent_returns;
    (!recent.is_empty()).then(|| recent.iter().sum::<f64>() / recent.len() as f64)
}

impl<L: Learner> Trainer<L> {
    /// A fresh trainer for an env with `obs_dim` observations and the action `space`, every
    /// RNG seeded from `seed` in the training domain (network initialisation, exploration,
    /// replay sampling, training envs each on their own stream).
    pub fn new(
        config: L::Config,
        obs_dim: usize,
        space: &ActionSpace,
        device: Device,
        seed: u64,
    ) -> Result<Self, AgentError> {
        let train = |s| derive_seed(SeedDomain::Train, seed, s);
        let agent = L::build(
            config,
            obs_dim,
            space,
            device,
            train(stream::TORCH),
            train(stream::EXPLORE),
        )?;
        let mut replay = ReplayBuffer::new(agent.replay_spec(), train(stream::REPLAY));
        if agent.counterfactual_actions() > 0 {
            replay.enable_counterfactual(agent.counterfactual_actions());
        }
        Ok(Self {
            agent,
            replay,
            state: LoopState {
                seed,
                ..Default::default()
            },
        })
    }

    /// Resumes from a checkpoint folder written by [`run`](Self::run) (see the checkpoint
    /// module doc for what is restored): counts the resume, applies a new budget
    /// (`total_env_steps`, when given, replaces the saved one, to train further), and rebuilds
    /// an empty replay buffer (on a fresh sampling stream) when its rows were not saved.
    pub fn resume(
        dir: &Path,
        device: Device,
        total_env_steps: Option<u64>,
    ) -> Result<Self, AgentError> {
        let LoadedCheckpoint {
            mut agent,
            replay,
            loop_state,
        } = L::load(dir, device)?;
        let mut state = loop_state.ok_or_else(|| AgentError::Checkpoint {
            path: dir.to_path_buf(),
            reason: "holds no training-loop state (not written by the trainer)".into(),
        })?;
        state.resumes += 1;
        if let Some(t) = total_env_steps {
            agent.set_total_env_steps(t)?;
        }
        let mut replay = match replay {
            Some(r) => r,
            None => ReplayBuffer::new(
                agent.replay_spec(),
                derive_seed(
                    SeedDomain::Train,
                    state.seed,
                    stream::REPLAY ^ mix64(state.resumes),
                ),
            ),
        };
        if agent.counterfactual_actions() > 0 && !replay.has_counterfactual() {
            replay.enable_counterfactual(agent.counterfactual_actions());
        }
        Ok(Self {
            agent,
            replay,
            state,
        })
    }

    /// The agent's config.
    pub fn config(&self) -> &L::Config {
        self.agent.config()
    }

    fn save(&self, root: &Path, name: &str) -> Result<PathBuf, AgentError> {
        let dir = root.join(name);
        let replay = self
            .agent
            .train_config()
            .checkpoint_replay
            .then_some(&self.replay);
        self.agent.save(&dir, replay, Some(&self.state))?;
        Ok(dir)
    }

    /// Trains until a budget is spent. `env` must have `num_envs` sub-envs (the config's);
    /// `validator` scores the greedy policy on validation-domain seeds. `on_event` sees every
    /// step's progress and every metrics row. Each vector step: [collect](Self::collect),
    /// [train](Self::train_phase), [validate](Self::validate_step), [log](Self::log_step),
    /// [checkpoint](Self::checkpoint_step).
    pub fn run<E: VecEnv + ?Sized>(
        &mut self,
        env: &mut E,
        validator: &mut dyn Validator<L>,
        opts: &TrainOptions,
        on_event: &mut dyn FnMut(TrainEvent<'_>),
    ) -> Result<TrainReport, AgentError> {
        let cfg = self.agent.train_config().clone();
        let mut s = self.start(env, &cfg)?;
        let stop = loop {
            if let Some(stop) = self.budget_spent(&cfg) {
                break stop;
            }
            self.collect(env, &mut s, &cfg)?;
            self.train_phase(&mut s, &cfg)?;
            let last_step = self.budget_spent(&cfg).is_some();
            let valid = self.validate_step(validator, &mut s, &cfg, last_step)?;
            self.log_step(&mut s, &cfg, valid.as_ref(), last_step, on_event);
            if let (Some(v), Some(root)) = (&valid, &opts.checkpoint_dir) {
                self.checkpoint_step(root, &mut s, v.improved)?;
            }
            on_event(TrainEvent::Progress(&Progress {
                env_steps: self.agent.env_steps(),
                total_env_steps: cfg.total_env_steps,
                updates: self.agent.updates(),
                epsilon: self.agent.exploration(),
                train_return_mean: recent_mean(&self.state),
                last_valid_return: s.last_valid,
            }));
        };
        self.state.wall_seconds = s.wall(&self.state);
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

    /// Checks `env` against the agent and the config, resets it on this session's training
    /// stream and schedules the first log and evaluation.
    fn start<E: VecEnv + ?Sized>(
        &mut self,
        env: &mut E,
        cfg: &TrainConfig,
    ) -> Result<Session, AgentError> {
        self.agent.check_env(env.obs_dim(), &env.action_space())?;
        if env.num_envs() != cfg.num_envs {
            return Err(AgentError::EnvMismatch(format!(
                "training env has {} sub-envs, the config's train.num_envs is {}",
                env.num_envs(),
                cfg.num_envs
            )));
        }
        let started = Instant::now();
        let obs = env.reset(derive_seed(
            SeedDomain::Train,
            self.state.seed,
            stream::ENV + self.state.resumes,
        ));
        if self.state.next_log == 0 {
            self.state.next_log = cfg.log_every;
        }
        if self.state.next_eval == 0 {
            self.state.next_eval = cfg.eval_every;
        }
        Ok(Session {
            started,
            obs,
            ep_return: vec![0.0; env.num_envs()],
            sums: UpdateSums::default(),
            last_valid: self.state.best_valid.map(|b| b.0),
            last_good: None,
            valid_seed: derive_seed(SeedDomain::Validation, self.state.seed, 0),
        })
    }

    /// Which budget is spent, if one is.
    fn budget_spent(&self, cfg: &TrainConfig) -> Option<StopReason> {
        if self.agent.env_steps() >= cfg.total_env_steps {
            Some(StopReason::EnvSteps)
        } else if cfg.max_updates.is_some_and(|m| self.agent.updates() >= m) {
            Some(StopReason::Updates)
        } else {
            None
        }
    }

    /// Collects one vector step with the exploring policy into the replay buffer, and
    /// counts finished episodes.
    fn collect<E: VecEnv + ?Sized>(
        &mut self,
        env: &mut E,
        s: &mut Session,
        cfg: &TrainConfig,
    ) -> Result<(), AgentError> {
        let (n, o) = (env.num_envs(), env.obs_dim());
        if cfg.normalize_obs && !self.agent.normalizer_mut().frozen {
            self.agent.normalizer_mut().update(&s.obs);
        }
        self.agent.set_incumbent_actions(env.incumbent_actions());
        let actions = self.agent.act_env(&s.obs, n, Mode::Explore)?;
        let b = env.step(actions.as_actions());
        let mut next_true = b.obs.clone();
        for (i, last) in &b.final_obs {
            next_true[i * o..(i + 1) * o].copy_from_slice(last);
        }
        self.replay.push(
            &s.obs,
            &actions.replay_rows(),
            &b.reward,
            &b.terminated,
            &b.truncated,
            &next_true,
        );
        if self.replay.has_counterfactual() {
            let cf = env.counterfactual().ok_or_else(|| {
                AgentError::EnvMismatch(
                    "the learner regresses counterfactual outcomes (recipe.counterfactual), but the environment computes none".into(),
                )
            })?;
            self.replay.push_counterfactual(cf);
        }
        for (i, ret) in s.ep_return.iter_mut().enumerate() {
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
        s.obs = b.obs;
        self.agent.add_env_steps(n as u64);
        Ok(())
    }

    /// Earns update credit for the fresh transitions (after `learning_starts`) and, every
    /// `train_every` transitions, spends it on updates.
    fn train_phase(&mut self, s: &mut Session, cfg: &TrainConfig) -> Result<(), AgentError> {
        let steps = self.agent.env_steps();
        if steps > cfg.learning_starts {
            let fresh = (steps - cfg.learning_starts).min(cfg.num_envs as u64);
            self.state.update_credit += cfg.replay_ratio * fresh as f64 / cfg.batch_size as f64;
        }
        if steps < self.state.last_train_step + cfg.train_every {
            return Ok(());
        }
        self.state.last_train_step = steps;
        while self.state.update_credit >= 1.0
            && cfg.max_updates.is_none_or(|m| self.agent.updates() < m)
        {
            self.state.update_credit -= 1.0;
            let batch = self.replay.sample(cfg.batch_size);
            let stats = self
                .agent
                .learn(&batch)
                .map_err(|e| with_last_good(e, &s.last_good))?;
            s.sums.add(&stats);
        }
        Ok(())
    }

    /// Every `eval_every` transitions and at the last step: scores the greedy policy on the
    /// validation seed and records a new best.
    fn validate_step(
        &mut self,
        validator: &mut dyn Validator<L>,
        s: &mut Session,
        cfg: &TrainConfig,
        last_step: bool,
    ) -> Result<Option<Validation>, AgentError> {
        let steps = self.agent.env_steps();
        if cfg.eval_every == 0 || (steps < self.state.next_eval && !last_step) {
            return Ok(None);
        }
        while self.state.next_eval <= steps {
            self.state.next_eval += cfg.eval_every;
        }
        let stats = validator.validate(&mut self.agent, s.valid_seed)?;
        s.last_valid = Some(stats.mean);
        let improved = self
            .state
            .best_valid
            .is_none_or(|(best, _)| stats.mean > best);
        if improved {
            self.state.best_valid = Some((stats.mean, steps));
        }
        Ok(Some(Validation { stats, improved }))
    }

    /// Every `log_every` transitions, at every validation and at the last step: a metrics row.
    fn log_step(
        &mut self,
        s: &mut Session,
        cfg: &TrainConfig,
        valid: Option<&Validation>,
        last_step: bool,
        on_event: &mut dyn FnMut(TrainEvent<'_>),
    ) {
        let steps = self.agent.env_steps();
        if steps < self.state.next_log && valid.is_none() && !last_step {
            return;
        }
        while self.state.next_log <= steps {
            self.state.next_log += cfg.log_every;
        }
        let sums = std::mem::take(&mut s.sums);
        let per = |x: f64| (sums.n > 0).then(|| x / sums.n as f64);
        let row = MetricsRow {
            env_steps: steps,
            updates: self.agent.updates(),
            episodes: self.state.episodes,
            train_return_mean: recent_mean(&self.state),
            loss: per(sums.loss),
            q_mean: per(sums.q),
            grad_norm: per(sums.grad),
            epsilon: self.agent.exploration(),
            valid_return_mean: valid.map(|v| v.stats.mean),
            valid_return_std: valid.map(|v| v.stats.std),
            wall_seconds: s.wall(&self.state),
            actor_loss: (sums.actor_n > 0).then(|| sums.actor / sums.actor_n as f64),
            valid_lift_mean: valid.and_then(|v| v.stats.lift).map(|l| l.mean),
            valid_lift_lower: valid.and_then(|v| v.stats.lift).map(|l| l.lower),
            valid_lift_upper: valid.and_then(|v| v.stats.lift).map(|l| l.upper),
        };
        self.state.rows.push(row);
        on_event(TrainEvent::Row(
            self.state.rows.last().expect("just pushed"),
        ));
    }

    /// After a validation: writes `last` (and `best` when it improved), with the wall time so
    /// far in the saved state.
    fn checkpoint_step(
        &mut self,
        root: &Path,
        s: &mut Session,
        improved: bool,
    ) -> Result<(), AgentError> {
        let saved_wall = self.state.wall_seconds;
        self.state.wall_seconds = s.wall(&self.state);
        s.last_good = Some(self.save(root, LAST_CHECKPOINT)?);
        if improved {
            self.save(root, BEST_CHECKPOINT)?;
        }
        self.state.wall_seconds = saved_wall;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DqnConfig;
    use crate::validate::{EpisodeValidator, evaluate};
    use clv_envs::{Actions, StepBatch};

    const TWO_ACTIONS: ActionSpace = ActionSpace::Discrete { n: 2 };

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
            train: TrainConfig {
                batch_size: 32,
                buffer_size: 1000,
                learning_starts: 100,
                train_every: 10,
                replay_ratio: 3.2, // 0.1 updates per transition
                total_env_steps: 300,
                eval_every: 100,
                eval_episodes: 3,
                log_every: 50,
                ..TrainConfig::dqn_defaults()
            },
            ..Default::default()
        }
    }

    #[test]
    fn budgets_replay_ratio_and_learning_starts_take_effect() {
        let mut t = DqnTrainer::new(small(), 2, &TWO_ACTIONS, Device::Cpu, 0).unwrap();
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
        let mut cfg = small();
        cfg.train.max_updates = Some(7);
        cfg.train.num_envs = 4;
        let mut t = DqnTrainer::new(cfg, 2, &TWO_ACTIONS, Device::Cpu, 0).unwrap();
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
            let mut t = DqnTrainer::new(small(), 2, &TWO_ACTIONS, Device::Cpu, 3).unwrap();
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
        let mut t = DqnTrainer::new(small(), 2, &TWO_ACTIONS, Device::Cpu, 0).unwrap();
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
        let loaded = Dqn::load(path, Device::Cpu).unwrap();
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

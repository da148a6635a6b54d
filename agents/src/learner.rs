//! The one boundary between a learning algorithm and the training loop (border's `Agent`
//! apart from its `Trainer`, burn-rl's learner apart from its loop):
//! - [`TrainConfig`]: the loop's settings (budgets, replay, evaluation, logging), one
//!   documented struct nested as the `train: (...)` section of every algorithm's config;
//! - [`Learner`]: what an algorithm implements so that [`crate::Trainer`] can train it (act,
//!   learn from a replay batch, count its steps, save and load itself);
//! - [`LearnerStats`], [`LoopState`], [`MetricsRow`]: what crosses that boundary and what the
//!   loop records.
//!
//! Adding an algorithm is one file implementing [`Learner`] (with its config holding a
//! [`TrainConfig`]) and one line where the CLI lists algorithms.

use std::collections::VecDeque;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};
use tch::Device;

use clv_envs::ActionSpace;

use crate::error::AgentError;
use crate::fields::{at_least_one, check, positive};
use crate::normalize::RunningNorm;
use crate::policy::EnvActor;
use crate::replay::{Batch, ReplayBuffer, ReplaySpec};

/// The training loop's settings, shared by every algorithm: the `train: (...)` section of
/// [`crate::DqnConfig`] and [`crate::DdpgConfig`]. "Steps" are environment transitions (one
/// per sub-environment per vector step); "updates" are (critic) gradient steps. The defaults
/// of a missing field are the algorithm's ([`TrainConfig::dqn_defaults`],
/// [`TrainConfig::ddpg_defaults`]); `Default` is DQN's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Training sub-environments stepped together (at least 1). Default `1`.
    pub num_envs: usize,
    /// Budget: environment transitions to collect. Default DQN `50000`, DDPG `1000000`.
    pub total_env_steps: u64,
    /// Budget: stop after this many (critic) updates, if set (`Some(n)` in RON). Default `None`.
    pub max_updates: Option<u64>,
    /// Transitions collected before the first update. Default DQN `10000`, DDPG `25000`.
    pub learning_starts: u64,
    /// Transitions collected between training phases. Default DQN `10`, DDPG `1`.
    pub train_every: u64,
    /// Transitions sampled per transition collected (so updates per phase =
    /// `replay_ratio * collected / batch_size`, fractions carried over). Default DQN `12.8`
    /// (one update of 128 every 10 steps), DDPG `256` (one update per step).
    pub replay_ratio: f64,
    /// Transitions per gradient update. Default DQN `128`, DDPG `256`.
    pub batch_size: usize,
    /// Replay capacity, transitions. Default DQN `10000`, DDPG `1000000`.
    pub buffer_size: usize,
    /// Normalise observations with running mean / variance (frozen during evaluation). Default `false`.
    pub normalize_obs: bool,
    /// Normalised observations are clipped to `+-obs_clip` standard deviations (> 0). Default `10.0`.
    pub obs_clip: f64,
    /// Steps between validation evaluations (and checkpoint writes); 0 disables. Default DQN
    /// `2500`, DDPG `5000`.
    pub eval_every: u64,
    /// Greedy validation episodes per evaluation (seeds from the validation domain). Default
    /// DQN `20`, DDPG `10`.
    pub eval_episodes: usize,
    /// Greedy test episodes for the final report (seeds from the test domain). Default DQN
    /// `100`, DDPG `20`.
    pub test_episodes: usize,
    /// Guard: vector-env steps one evaluation round may take before it gives up. Default `100000`.
    pub eval_max_steps: u64,
    /// Steps between metrics rows. Default `1000`.
    pub log_every: u64,
    /// Training episodes averaged into a metrics row's `train_return_mean`. Default `20`.
    pub return_window: usize,
    /// libtorch intra-op threads (`tch::set_num_threads`), at least 1. Default `1`.
    pub num_threads: usize,
    /// Observations per forward pass when acting on a large batch (bounds memory). Default `4096`.
    pub act_chunk: usize,
    /// Save the replay buffer's rows in checkpoints (exact resume; large for big buffers).
    /// Default `true`.
    pub checkpoint_replay: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self::dqn_defaults()
    }
}

impl TrainConfig {
    /// DQN's loop defaults: CleanRL's `dqn.py` CartPole settings.
    pub fn dqn_defaults() -> Self {
        Self {
            num_envs: 1,
            total_env_steps: 50_000,
            max_updates: None,
            learning_starts: 10_000,
            train_every: 10,
            replay_ratio: 12.8,
            batch_size: 128,
            buffer_size: 10_000,
            normalize_obs: false,
            obs_clip: 10.0,
            eval_every: 2_500,
            eval_episodes: 20,
            test_episodes: 100,
            eval_max_steps: 100_000,
            log_every: 1_000,
            return_window: 20,
            num_threads: 1,
            act_chunk: 4096,
            checkpoint_replay: true,
        }
    }

    /// DDPG / TD3's loop defaults: CleanRL's `td3_continuous_action.py` settings.
    pub fn ddpg_defaults() -> Self {
        Self {
            total_env_steps: 1_000_000,
            learning_starts: 25_000,
            train_every: 1,
            replay_ratio: 256.0,
            batch_size: 256,
            buffer_size: 1_000_000,
            eval_every: 5_000,
            eval_episodes: 10,
            test_episodes: 20,
            ..Self::dqn_defaults()
        }
    }

    /// Checks every field's range; the error names the first bad field
    /// (`train.batch_size must be at least 1, got 0`).
    pub fn validate(&self) -> Result<(), AgentError> {
        at_least_one(self.batch_size as u64, "train.batch_size")?;
        at_least_one(self.buffer_size as u64, "train.buffer_size")?;
        check(
            self.buffer_size >= self.batch_size,
            "train.buffer_size",
            || {
                format!(
                    "must be at least train.batch_size ({}), got {}",
                    self.batch_size, self.buffer_size
                )
            },
        )?;
        at_least_one(self.train_every, "train.train_every")?;
        positive(self.replay_ratio, "train.replay_ratio")?;
        positive(self.obs_clip, "train.obs_clip")?;
        at_least_one(self.num_envs as u64, "train.num_envs")?;
        at_least_one(self.total_env_steps, "train.total_env_steps")?;
        if let Some(m) = self.max_updates {
            at_least_one(m, "train.max_updates")?;
        }
        at_least_one(self.eval_episodes as u64, "train.eval_episodes")?;
        at_least_one(self.test_episodes as u64, "train.test_episodes")?;
        at_least_one(self.eval_max_steps, "train.eval_max_steps")?;
        at_least_one(self.log_every, "train.log_every")?;
        at_least_one(self.return_window as u64, "train.return_window")?;
        at_least_one(self.num_threads as u64, "train.num_threads")?;
        at_least_one(self.act_chunk as u64, "train.act_chunk")?;
        Ok(())
    }

    /// Reads a (possibly partial) `train: (...)` section over `defaults`: fields it names
    /// replace the defaults, unknown fields are errors. Works for any self-describing format
    /// (the RON config files, the JSON of checkpoints).
    pub(crate) fn deserialize_over<'de, D: Deserializer<'de>>(
        deserializer: D,
        defaults: Self,
    ) -> Result<Self, D::Error> {
        use serde::de::Error;
        use serde_json::Value;
        let given = match Value::deserialize(deserializer)? {
            Value::Object(map) => map,
            other => {
                return Err(D::Error::custom(format!(
                    "train must be a struct of fields, got {other}"
                )));
            }
        };
        let Value::Object(mut merged) = serde_json::to_value(defaults).map_err(D::Error::custom)?
        else {
            unreachable!("TrainConfig serialises to a JSON object");
        };
        merged.extend(given);
        serde_json::from_value(Value::Object(merged)).map_err(D::Error::custom)
    }
}

/// What the loop and the command line need of every algorithm's config: its `train` section,
/// its discount, its acting margin, validation and RON.
pub trait AgentConfig: Clone {
    /// The loop settings (the `train: (...)` section).
    fn train(&self) -> &TrainConfig;
    /// The loop settings, to change (e.g. the budget from `--steps`).
    fn train_mut(&mut self) -> &mut TrainConfig;
    /// Discount per environment step.
    fn gamma(&self) -> f64;
    /// Replaces the discount per environment step (e.g. a scenario's per-period delta).
    fn set_gamma(&mut self, gamma: f64);
    /// Acts with this greedy-acting margin (scaled-reward units) as it is, with no candidates
    /// to choose from on validation.
    fn fix_action_margin(&mut self, margin: f64);
    /// Greedy-acting margins to choose from at each validation (scaled-reward units).
    fn margin_candidates(&self) -> &[f64];
    /// The greedy-acting margin (scaled-reward units) when the config keeps a default action.
    fn acting_margin(&self) -> Option<f64>;
    /// Checks every field's range; the error names the first bad field.
    fn validate(&self) -> Result<(), AgentError>;
    /// The config as pretty RON (every field, resolved).
    fn to_ron(&self) -> String;
    /// The offer-policy recipe (the `recipe: (...)` section).
    fn recipe(&self) -> &crate::recipe::Recipe;
    /// The recipe, to change (e.g. the incumbent from `--incumbent`).
    fn recipe_mut(&mut self) -> &mut crate::recipe::Recipe;
}

/// Implements [`AgentConfig`] for an algorithm's config with fields `train`, `gamma`,
/// `keep_action`, `action_margin`, `margin_candidates`, `recipe` and inherent `validate` and
/// `to_ron`.
macro_rules! impl_agent_config {
    ($config:ty) => {
        impl $crate::learner::AgentConfig for $config {
            fn train(&self) -> &$crate::learner::TrainConfig {
                &self.train
            }
            fn train_mut(&mut self) -> &mut $crate::learner::TrainConfig {
                &mut self.train
            }
            fn gamma(&self) -> f64 {
                self.gamma
            }
            fn set_gamma(&mut self, gamma: f64) {
                self.gamma = gamma;
            }
            fn fix_action_margin(&mut self, margin: f64) {
                self.action_margin = margin;
                self.margin_candidates.clear();
            }
            fn margin_candidates(&self) -> &[f64] {
                &self.margin_candidates
            }
            fn acting_margin(&self) -> Option<f64> {
                self.keep_action.is_some().then_some(self.action_margin)
            }
            fn validate(&self) -> Result<(), $crate::error::AgentError> {
                <$config>::validate(self)
            }
            fn to_ron(&self) -> String {
                <$config>::to_ron(self)
            }
            fn recipe(&self) -> &$crate::recipe::Recipe {
                &self.recipe
            }
            fn recipe_mut(&mut self) -> &mut $crate::recipe::Recipe {
                &mut self.recipe
            }
        }
    };
}
pub(crate) use impl_agent_config;

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
    /// Paired selection: the best learned candidate's validation CLV lift over the incumbent
    /// on the same customers (highest lower bound), dollars per customer, when an evaluation
    /// ran.
    #[serde(default)]
    pub valid_lift_mean: Option<f64>,
    /// Lower bound of its 95% interval.
    #[serde(default)]
    pub valid_lift_lower: Option<f64>,
    /// Upper bound of its 95% interval.
    #[serde(default)]
    pub valid_lift_upper: Option<f64>,
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

/// A checkpoint loaded by a [`Learner`]: the agent and, when saved, its replay buffer and the
/// training loop's state.
#[derive(Debug)]
pub struct LoadedCheckpoint<A> {
    /// The agent with weights, normaliser, counters and RNGs restored (fresh optimisers).
    pub agent: A,
    /// The replay buffer, when its rows were saved.
    pub replay: Option<ReplayBuffer>,
    /// The training loop state, when saved.
    pub loop_state: Option<LoopState>,
}

/// An agent the shared loop can train: it acts (an [`EnvActor`]), learns from replay batches,
/// counts its steps, and saves and loads itself.
pub trait Learner: EnvActor + Sized {
    /// The algorithm's config (its `train` section is a [`TrainConfig`]).
    type Config: AgentConfig;

    /// Validates `config` and builds a fresh agent for observations of `obs_dim` values and
    /// the env's action `space` on `device`: `torch_seed` seeds network initialisation,
    /// `explore_seed` the exploration RNG.
    fn build(
        config: Self::Config,
        obs_dim: usize,
        space: &ActionSpace,
        device: Device,
        torch_seed: u64,
        explore_seed: u64,
    ) -> Result<Self, AgentError>;
    /// Loads a checkpoint folder written by [`Learner::save`] onto `device`.
    fn load(dir: &Path, device: Device) -> Result<LoadedCheckpoint<Self>, AgentError>;
    /// Writes a checkpoint folder at `dir` (atomically).
    fn save(
        &self,
        dir: &Path,
        replay: Option<&ReplayBuffer>,
        state: Option<&LoopState>,
    ) -> Result<(), AgentError>;

    /// The agent's config.
    fn config(&self) -> &Self::Config;
    /// The loop settings of the agent's config.
    fn train_config(&self) -> &TrainConfig {
        self.config().train()
    }
    /// The replay buffer this agent learns from (capacity, row sizes, n-step returns).
    fn replay_spec(&self) -> ReplaySpec;
    /// Replaces the transition budget (`train.total_env_steps`).
    fn set_total_env_steps(&mut self, total: u64) -> Result<(), AgentError>;

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
    /// The incumbent's action per row for the next `act_env` call, where the environment has
    /// an incumbent (recipe lever 4). Learners without an incumbent guard ignore it.
    fn set_incumbent_actions(&mut self, _rows: Option<Vec<u32>>) {}
    /// Actions whose paired counterfactual outcomes the learner regresses (recipe lever 3);
    /// 0 = none.
    fn counterfactual_actions(&self) -> usize {
        0
    }
}

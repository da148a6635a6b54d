//! The environment interface the training loop drives, after Gymnasium's vector envs:
//! `reset(seed)`, `step(actions)` with `terminated` and `truncated` kept apart, declared
//! observation size and action space, and auto-reset with the true final observation kept.

/// The actions an environment accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpace {
    /// `n` discrete actions, indices `0..n`.
    Discrete {
        /// Number of actions.
        n: usize,
    },
    /// A box of `low.len()` continuous dimensions, each within `[low[i], high[i]]`.
    Box {
        /// Lower bound per dimension.
        low: Vec<f32>,
        /// Upper bound per dimension.
        high: Vec<f32>,
    },
}

impl ActionSpace {
    /// Number of values one action takes in an action batch (1 for discrete).
    pub fn action_dim(&self) -> usize {
        match self {
            ActionSpace::Discrete { .. } => 1,
            ActionSpace::Box { low, .. } => low.len(),
        }
    }
}

/// A batch of actions, one per sub-environment, in sub-environment order.
#[derive(Debug, Clone, Copy)]
pub enum Actions<'a> {
    /// One index per sub-environment.
    Discrete(&'a [u32]),
    /// `action_dim` values per sub-environment, row-major `[num_envs, action_dim]`.
    Continuous(&'a [f32]),
}

/// What one `step` returns, for every sub-environment.
#[derive(Debug, Clone, Default)]
pub struct StepBatch {
    /// Observation after the step, row-major `[num_envs, obs_dim]`. For a sub-environment
    /// whose episode ended this step, it is the first observation of the next episode
    /// (auto-reset); the true last observation is in `final_obs`.
    pub obs: Vec<f32>,
    /// Reward of the step, per sub-environment.
    pub reward: Vec<f32>,
    /// The episode reached a terminal state (no bootstrapping from it).
    pub terminated: Vec<bool>,
    /// The episode was cut short (time limit): bootstrap from `final_obs`.
    pub truncated: Vec<bool>,
    /// For each sub-environment whose episode ended (`terminated || truncated`), its index and
    /// its true last observation (`obs_dim` values).
    pub final_obs: Vec<(usize, Vec<f32>)>,
}

/// Paired counterfactual outcomes of the last `step`: every sub-environment stepped from the
/// same state under every discrete action with the same random numbers (common random
/// numbers), so action differences are paired. The taken action's entry equals the real step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counterfactual {
    /// Number of actions per sub-environment.
    pub n_actions: usize,
    /// Reward of each action, row-major `[num_envs, n_actions]`.
    pub reward: Vec<f32>,
    /// Next observation of each action, row-major `[num_envs, n_actions, obs_dim]`: the true
    /// next observation, never an auto-reset one (termination is the same for every action).
    pub next_obs: Vec<f32>,
    /// The incumbent policy's action in each action's next state, `[num_envs, n_actions]`,
    /// where the environment has an incumbent (for targets that bootstrap on the incumbent's
    /// value); empty otherwise.
    pub next_incumbent: Vec<u32>,
}

/// A batch of independent environments stepped together.
pub trait VecEnv {
    /// Number of sub-environments.
    fn num_envs(&self) -> usize;
    /// Length of one observation vector.
    fn obs_dim(&self) -> usize;
    /// The action space of every sub-environment.
    fn action_space(&self) -> ActionSpace;
    /// Resets every sub-environment from `seed` and returns the observations, row-major
    /// `[num_envs, obs_dim]`. The same seed gives the same observations.
    fn reset(&mut self, seed: u64) -> Vec<f32>;
    /// Steps every sub-environment with one action each; ended episodes reset automatically.
    fn step(&mut self, actions: Actions<'_>) -> StepBatch;
    /// The paired counterfactual outcomes of the last `step`, where the environment computes
    /// them (discrete actions only); `None` otherwise.
    fn counterfactual(&self) -> Option<&Counterfactual> {
        None
    }
    /// The incumbent policy's discrete action for every sub-environment in its current state,
    /// where the environment has an incumbent (for exploration that mixes its actions).
    fn incumbent_actions(&mut self) -> Option<Vec<u32>> {
        None
    }
}

//! Acting on a batch of observations, apart from learning: what evaluation, the CLI and the
//! simulator's comparisons call.

use crate::AgentError;

/// How a policy acts: the simulator's own [`clv_envs::Mode`] (`Explore` with the agent's
/// exploration, as during training; `Greedy`: the best action by the current estimate, no
/// randomness), so that one enum serves agents and simulator policies.
pub use clv_envs::Mode;

/// A policy over a discrete action catalogue, acting on whole batches of raw observation rows
/// (any env). Not [`clv_envs::Policy`], which maps a population's customers to offers without
/// tensors; [`crate::CatalogueAgent`] bridges the two.
pub trait Policy {
    /// Values per observation.
    fn obs_dim(&self) -> usize;
    /// Number of discrete actions.
    fn n_actions(&self) -> usize;
    /// One action index in `0..n_actions` for each of the `n` observations in `obs`,
    /// row-major `[n, obs_dim]` (raw, unnormalised; the policy applies its own normaliser).
    fn act(&mut self, obs: &[f32], n: usize, mode: Mode) -> Result<Vec<u32>, AgentError>;
    /// The incumbent's action per row for the next `act` call (consumed by it), for agents
    /// whose guard falls back to an incumbent; others ignore it.
    fn set_incumbent_actions(&mut self, _rows: Option<Vec<u32>>) {}
    /// The estimated value of `actions[i]` over `reference[i]` for each of the `n` rows of
    /// `obs` (e.g. Q(s, a) - Q(s, reference)), the policy's value units; `None` for a policy
    /// without value estimates. Ranks offers when a marketing budget binds.
    fn advantages(
        &mut self,
        _obs: &[f32],
        _n: usize,
        _actions: &[u32],
        _reference: &[u32],
    ) -> Result<Option<Vec<f32>>, AgentError> {
        Ok(None)
    }
}

impl<P: Policy + ?Sized> Policy for &mut P {
    fn obs_dim(&self) -> usize {
        (**self).obs_dim()
    }
    fn n_actions(&self) -> usize {
        (**self).n_actions()
    }
    fn act(&mut self, obs: &[f32], n: usize, mode: Mode) -> Result<Vec<u32>, AgentError> {
        (**self).act(obs, n, mode)
    }
    fn set_incumbent_actions(&mut self, rows: Option<Vec<u32>>) {
        (**self).set_incumbent_actions(rows)
    }
    fn advantages(
        &mut self,
        obs: &[f32],
        n: usize,
        actions: &[u32],
        reference: &[u32],
    ) -> Result<Option<Vec<f32>>, AgentError> {
        (**self).advantages(obs, n, actions, reference)
    }
}

/// A policy over a continuous action box, acting on whole batches.
pub trait ContinuousPolicy {
    /// Values per observation.
    fn obs_dim(&self) -> usize;
    /// Lower bound of each action value, env units.
    fn action_low(&self) -> &[f32];
    /// Upper bound of each action value, env units.
    fn action_high(&self) -> &[f32];
    /// `action_dim` values within the bounds for each of the `n` observations in `obs`,
    /// row-major `[n, obs_dim]` (raw); returns row-major `[n, action_dim]`.
    fn act_continuous(&mut self, obs: &[f32], n: usize, mode: Mode)
    -> Result<Vec<f32>, AgentError>;
    /// The incumbent's action per row (`[n, action_dim]`) for the next `act_continuous` call
    /// (consumed by it), for agents whose guard falls back to an incumbent; others ignore it.
    fn set_incumbent_rows(&mut self, _rows: Option<Vec<f32>>) {}
    /// The estimated value of each row of `actions` over the same row of `reference` (both
    /// `[n, action_dim]`, env units) for the `n` rows of `obs`, the policy's value units;
    /// `None` for a policy without value estimates. Ranks offers when a budget binds.
    fn advantages_continuous(
        &mut self,
        _obs: &[f32],
        _n: usize,
        _actions: &[f32],
        _reference: &[f32],
    ) -> Result<Option<Vec<f32>>, AgentError> {
        Ok(None)
    }
}

/// An owned batch of actions for a vector env, one per sub-environment.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvActions {
    /// One index per sub-environment.
    Discrete(Vec<u32>),
    /// `action_dim` values per sub-environment, row-major, env units.
    Continuous(Vec<f32>),
}

impl EnvActions {
    /// The batch as the env's [`clv_envs::Actions`].
    pub fn as_actions(&self) -> clv_envs::Actions<'_> {
        match self {
            EnvActions::Discrete(a) => clv_envs::Actions::Discrete(a),
            EnvActions::Continuous(a) => clv_envs::Actions::Continuous(a),
        }
    }

    /// The batch as replay rows (`f32` values, `action_dim` per sub-environment; a discrete
    /// index as its value).
    pub fn replay_rows(&self) -> Vec<f32> {
        match self {
            EnvActions::Discrete(a) => a.iter().map(|&x| x as f32).collect(),
            EnvActions::Continuous(a) => a.clone(),
        }
    }
}

/// Anything that acts on a vector env's observation batches: every discrete [`Policy`], and
/// the continuous agents. What evaluation and the training loop drive.
pub trait EnvActor {
    /// Checks that the env's observation size and action space fit the actor.
    fn check_env(&self, obs_dim: usize, space: &clv_envs::ActionSpace) -> Result<(), AgentError>;
    /// Actions for `n` raw observations, row-major `[n, obs_dim]`.
    fn act_env(&mut self, obs: &[f32], n: usize, mode: Mode) -> Result<EnvActions, AgentError>;
}

impl<P: Policy + ?Sized> EnvActor for P {
    fn check_env(&self, obs_dim: usize, space: &clv_envs::ActionSpace) -> Result<(), AgentError> {
        match space {
            clv_envs::ActionSpace::Discrete { n }
                if *n == self.n_actions() && obs_dim == self.obs_dim() =>
            {
                Ok(())
            }
            other => Err(AgentError::EnvMismatch(format!(
                "agent expects obs_dim {} and {} discrete actions; env has obs_dim {obs_dim} and {other:?}",
                self.obs_dim(),
                self.n_actions()
            ))),
        }
    }

    fn act_env(&mut self, obs: &[f32], n: usize, mode: Mode) -> Result<EnvActions, AgentError> {
        Ok(EnvActions::Discrete(self.act(obs, n, mode)?))
    }
}

impl<P: ContinuousPolicy + ?Sized> ContinuousPolicy for &mut P {
    fn obs_dim(&self) -> usize {
        (**self).obs_dim()
    }
    fn action_low(&self) -> &[f32] {
        (**self).action_low()
    }
    fn action_high(&self) -> &[f32] {
        (**self).action_high()
    }
    fn act_continuous(
        &mut self,
        obs: &[f32],
        n: usize,
        mode: Mode,
    ) -> Result<Vec<f32>, AgentError> {
        (**self).act_continuous(obs, n, mode)
    }
    fn set_incumbent_rows(&mut self, rows: Option<Vec<f32>>) {
        (**self).set_incumbent_rows(rows)
    }
    fn advantages_continuous(
        &mut self,
        obs: &[f32],
        n: usize,
        actions: &[f32],
        reference: &[f32],
    ) -> Result<Option<Vec<f32>>, AgentError> {
        (**self).advantages_continuous(obs, n, actions, reference)
    }
}

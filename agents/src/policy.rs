//! Acting on a batch of observations, apart from learning: what evaluation, the CLI and the
//! simulator's comparisons call.

use crate::AgentError;

/// How a policy acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// With the agent's exploration (epsilon-greedy for DQN), as during training.
    Explore,
    /// The best action by the current estimate; no randomness.
    Greedy,
}

/// A policy over a discrete action catalogue, acting on whole batches.
pub trait Policy {
    /// Values per observation.
    fn obs_dim(&self) -> usize;
    /// Number of discrete actions.
    fn n_actions(&self) -> usize;
    /// One action index in `0..n_actions` for each of the `n` observations in `obs`,
    /// row-major `[n, obs_dim]` (raw, unnormalised; the policy applies its own normaliser).
    fn act(&mut self, obs: &[f32], n: usize, mode: Mode) -> Result<Vec<u32>, AgentError>;
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
}

//! The learning recipe for offer policies: the switches that let a learner beat tuned rules,
//! each measurable on its own (`clv bench acceptance --ablation`).
//!
//! 1. Observation parity ([`Recipe::observation`]): the learner sees every input a baseline uses
//!    plus the record's evidence of responsiveness.
//! 2. A low-variance training signal ([`Recipe::reward`]): the period's expected profit given the
//!    full simulated state, same expectation as the realised profit.
//! 3. Paired counterfactual targets ([`Recipe::counterfactual`], DQN): every catalogue offer's
//!    reward and next observation from the same state and random numbers, all regressed at once.
//! 4. An incumbent to improve on ([`Recipe::incumbent`]): acting keeps the incumbent's offer
//!    unless the learned value beats it by the margin; exploration mixes its actions; a
//!    checkpoint is kept only when it beats the incumbent on paired validation customers
//!    (safe policy improvement, Laroche et al. 2019, SPIBB).
//! 5. Selection without a winner's curse ([`Recipe::paired_selection`],
//!    [`Recipe::confirm_customers`]): candidates scored by the lower bound of their paired
//!    difference to the incumbent, and the choice confirmed on a second, disjoint validation set.

use clv_envs::{FeatureSet, RewardSignal};
use serde::{Deserialize, Serialize};

use crate::error::AgentError;
use crate::fields::{check, unit};

/// z value of the two-sided 95% normal interval used by paired selection.
pub const Z95: f64 = 1.959964;

/// The value counterfactual targets bootstrap on (see [`Recipe::bootstrap`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bootstrap {
    /// `max_a' Q'(s', a')` (double DQN when configured).
    Max,
    /// `Q'(s', incumbent(s'))`.
    Incumbent,
    /// No bootstrapping: each offer's target is the Monte-Carlo return of following the
    /// incumbent after it to the end of the scored horizon, with the customer's own random
    /// numbers for every offer (the environment's counterfactual rollouts), so the targets are
    /// Q^incumbent(s, a) without the bias of a bootstrapped value.
    Rollout,
}

/// Most Monte-Carlo futures per rollout label (`recipe.rollout_draws`); the cost of a label
/// grows linearly with them.
pub const MAX_ROLLOUT_DRAWS: u32 = 1024;

/// The recipe's switches (see the module doc). Defaults are the old recipe (every lever off),
/// so classic-control configs are unaffected; `agents/configs/population-*.ron` turn them on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Recipe {
    /// Features the learner observes on the customer population. Default `Basic`.
    pub observation: FeatureSet,
    /// Training reward on the customer population (validation and test always score realised
    /// CLV). Default `Realised`.
    pub reward: RewardSignal,
    /// DQN: regress every catalogue action on paired counterfactual outcomes (one-step
    /// targets; needs `n_step: 1`). Default `false`.
    pub counterfactual: bool,
    /// What the counterfactual targets bootstrap on: the learner's own greedy value (`Max`, Q
    /// learning) or the incumbent's action in each next state (`Incumbent`: the targets then
    /// evaluate the incumbent, Q^inc(s, a), and greedy acting is one step of policy
    /// improvement over it). Default `Max`.
    pub bootstrap: Bootstrap,
    /// With `bootstrap: Rollout`: Monte-Carlo futures averaged into each return (the first
    /// with the customer's own random numbers, the others independent replicas, shared by
    /// every offer so the returns stay paired), at least 1. Default `1`.
    pub rollout_draws: u32,
    /// With `bootstrap: Rollout`: periods each return covers, the offer's included (at least
    /// 1), cut at the horizon's end; `None` runs every return to the horizon's end. Shorter
    /// returns cost less and vary less but leave out the offer's effects beyond them (the
    /// target is then the value of the offer over this window, not Q^incumbent). Default
    /// `None`.
    pub rollout_periods: Option<u32>,
    /// DQN with counterfactual targets: regress the mean over offers of Q(s, .) on the mean
    /// target (Huber) and the offers' differences from that mean on the targets' differences
    /// (squared error), instead of each offer on its own target (Huber). The paired targets'
    /// differences have far less variance than the targets, and the mean (not a robust
    /// location) is what an expected-value decision needs. Default `false`.
    pub paired_loss: bool,
    /// Policy spec of the incumbent (a baseline, e.g. `churn-risk:0.7:coupon30:4`) the guard
    /// falls back to; `None` keeps the empty offer. `clv demo` and `clv bench acceptance` pass
    /// the best tuned baseline. Default `None`.
    pub incumbent: Option<String>,
    /// Probability that an exploring (non-random) step takes the incumbent's action instead of
    /// the greedy one, in `[0, 1]`. Default `0.0`.
    pub incumbent_explore: f64,
    /// Score validation candidates by the lower bound of the paired 95% interval of their CLV
    /// difference to the incumbent (or `none`) on the same customers, with the incumbent itself
    /// (an infinite margin) among the candidates; checkpoints are kept only on a better bound.
    /// Default `false` (mean realised CLV).
    pub paired_selection: bool,
    /// Customers of a second validation set (disjoint seeds) on which the final choice must
    /// beat the incumbent (lower bound above 0) or the learner falls back to it; 0 = off.
    /// Default `0`.
    pub confirm_customers: u64,
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            observation: FeatureSet::Basic,
            reward: RewardSignal::Realised,
            counterfactual: false,
            bootstrap: Bootstrap::Max,
            paired_loss: false,
            rollout_draws: 1,
            rollout_periods: None,
            incumbent: None,
            incumbent_explore: 0.0,
            paired_selection: false,
            confirm_customers: 0,
        }
    }
}

impl Recipe {
    /// Checks the ranges (fields named `recipe.*`); `n_step` is the learner's return length,
    /// `None` for a learner without counterfactual targets (a continuous action).
    pub fn validate(&self, n_step: Option<usize>) -> Result<(), AgentError> {
        unit(self.incumbent_explore, "recipe.incumbent_explore")?;
        match n_step {
            _ if !self.counterfactual => {}
            None => check(false, "recipe.counterfactual", || {
                "paired counterfactual targets need a discrete offer catalogue (DQN)".into()
            })?,
            Some(n) => check(n == 1, "recipe.counterfactual", || {
                format!("needs one-step targets (n_step: 1), got n_step {n}")
            })?,
        }
        check(
            self.bootstrap == Bootstrap::Max || self.counterfactual,
            "recipe.bootstrap",
            || "Incumbent bootstraps counterfactual targets: set counterfactual: true".into(),
        )?;
        check(
            (1..=MAX_ROLLOUT_DRAWS).contains(&self.rollout_draws),
            "recipe.rollout_draws",
            || {
                format!(
                    "must be in 1..={MAX_ROLLOUT_DRAWS}, got {}",
                    self.rollout_draws
                )
            },
        )?;
        check(
            self.rollout_periods != Some(0),
            "recipe.rollout_periods",
            || "must be at least 1 (or None: to the horizon's end), got 0".into(),
        )?;
        check(
            !self.paired_loss || self.counterfactual,
            "recipe.paired_loss",
            || "regresses paired counterfactual targets: set counterfactual: true".into(),
        )?;
        if let Some(spec) = &self.incumbent {
            check(!spec.trim().is_empty(), "recipe.incumbent", || {
                "must be a policy spec, got an empty string".into()
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_settings_are_checked_by_name() {
        let rollout = Recipe {
            counterfactual: true,
            bootstrap: Bootstrap::Rollout,
            ..Recipe::default()
        };
        assert!(rollout.validate(Some(1)).is_ok());
        for (bad, field) in [
            (
                Recipe {
                    rollout_draws: 0,
                    ..rollout.clone()
                },
                "recipe.rollout_draws",
            ),
            (
                Recipe {
                    rollout_periods: Some(0),
                    ..rollout.clone()
                },
                "recipe.rollout_periods",
            ),
            (
                Recipe {
                    paired_loss: true,
                    ..Recipe::default()
                },
                "recipe.paired_loss",
            ),
        ] {
            let e = bad.validate(Some(1)).unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
    }
}

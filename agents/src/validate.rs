//! Scoring a greedy policy: [`evaluate`] runs greedy episodes on a vector env; a [`Validator`]
//! is what the training loop calls to choose checkpoints, on validation seeds: greedy
//! episodes ([`EpisodeValidator`]) or the realised CLV of a fixed population of customers
//! ([`PopulationValidator`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use clv_envs::{EvalResult, Population, Scenario, VecEnv};

use crate::error::AgentError;
use crate::policy::{EnvActor, Mode};
use crate::recipe::{Recipe, Z95};
use crate::scenario_policy::ScenarioAgent;
use crate::seeds::mix64;

/// Mean and spread of episode returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalStats {
    /// Mean undiscounted episode return, env reward units.
    pub mean: f64,
    /// Population standard deviation of the returns, env reward units.
    pub std: f64,
    /// Every episode's return, in sub-env then round order.
    pub returns: Vec<f64>,
    /// Paired selection: the CLV lift over the incumbent on the same customers, with its 95%
    /// interval, of the best learned candidate (highest lower bound; `mean` is the chosen
    /// candidate's lower bound, 0 when the incumbent itself is kept).
    #[serde(default)]
    pub lift: Option<PairedLift>,
}

/// A paired difference of mean realised CLV per customer to a reference policy on the same
/// customers, dollars, with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedLift {
    /// Mean difference, dollars per customer.
    pub mean: f64,
    /// Lower bound of the 95% interval.
    pub lower: f64,
    /// Upper bound of the 95% interval.
    pub upper: f64,
}

impl EvalStats {
    /// Mean and standard deviation of `returns`.
    pub fn from_returns(returns: Vec<f64>) -> Self {
        let n = returns.len().max(1) as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
        Self {
            mean,
            std,
            returns,
            lift: None,
        }
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
                return Err(AgentError::EpisodesTooLong { max_steps });
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
pub trait Validator<A: ?Sized> {
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

/// Scores the greedy policy by the mean realised CLV per customer of a fixed population
/// (validation or test seeds), each evaluation on a fresh copy of the same start state.
pub struct PopulationValidator {
    start: Population,
    /// Paired selection: per-customer CLV of the reference policy (the incumbent, or `none`)
    /// on `start`.
    reference: Option<Vec<f64>>,
}

/// A margin so large that the guard never leaves the incumbent (scaled-reward units): the
/// "incumbent only" candidate of paired selection, and the fallback when the choice fails
/// confirmation.
pub const INCUMBENT_ONLY_MARGIN: f64 = 1e9;

impl PopulationValidator {
    /// `customers` customers of `scenario` drawn from `seed` in `domain` (validation or
    /// test); `base` resolves the scenario's relative paths.
    pub fn new(
        scenario: &Scenario,
        base: &Path,
        domain: clv_envs::SeedDomain,
        seed: u64,
        customers: u64,
    ) -> Result<Self, clv_envs::EnvError> {
        Ok(PopulationValidator {
            start: Population::new(scenario, domain, seed, customers, base)?,
            reference: None,
        })
    }

    /// Switches to paired selection (recipe lever 5) when `recipe.paired_selection`:
    /// candidates are scored by the lower bound of the 95% interval of their CLV difference to
    /// the incumbent (`none` without one) on the same customers, and the incumbent itself is a
    /// candidate (lift 0).
    pub fn paired(mut self, recipe: &Recipe) -> Result<Self, clv_envs::EnvError> {
        if recipe.paired_selection {
            let spec = recipe.incumbent.as_deref().unwrap_or("none");
            let mut reference = clv_envs::parse_baseline(spec, self.start.scenario())?;
            let mut pop = self.start.clone();
            self.reference = Some(pop.evaluate(&mut reference, &|_| {}).clv);
        }
        Ok(self)
    }

    /// The paired lift of per-customer CLVs `clv` over the reference, where paired.
    pub fn lift(&self, clv: &[f64]) -> Option<PairedLift> {
        let r = self.reference.as_ref()?;
        let d = clv_envs::metrics::paired_diff(clv, r, None);
        Some(PairedLift {
            mean: d.mean,
            lower: d.mean - Z95 * d.se,
            upper: d.mean + Z95 * d.se,
        })
    }

    /// The greedy policy of `agent` on a fresh copy of the population: realised CLV per
    /// customer, dollars.
    pub fn score<A: ScenarioAgent>(&self, agent: &mut A) -> Result<EvalResult, AgentError> {
        let scenario = self.start.scenario();
        let mut policy = agent.scenario_policy("agent".into(), scenario)?;
        let mut pop = self.start.clone();
        Ok(pop.evaluate(policy.as_mut(), &|_| {}))
    }

    /// The agent's score at its current margin: mean CLV, or with paired selection the lower
    /// bound of its lift (the lift attached).
    fn candidate<A: ScenarioAgent>(&self, agent: &mut A) -> Result<EvalStats, AgentError> {
        let clv = self.score(agent)?.clv;
        let lift = self.lift(&clv);
        let mut stats = EvalStats::from_returns(clv);
        if let Some(l) = lift {
            stats.mean = l.lower;
            stats.lift = Some(l);
        }
        Ok(stats)
    }
}

impl<A: ScenarioAgent> Validator<A> for PopulationValidator {
    /// Scores the greedy policy; an agent with margin candidates is scored with each, on the
    /// same customers, and keeps the best (the first of equals). With paired selection the
    /// incumbent itself (margin [`INCUMBENT_ONLY_MARGIN`], lift 0) is the first candidate.
    fn validate(&mut self, agent: &mut A, _seed: u64) -> Result<EvalStats, AgentError> {
        let mut candidates = agent.margin_candidates();
        if self.reference.is_none() && candidates.is_empty() {
            return self.candidate(agent);
        }
        if candidates.is_empty() {
            candidates.extend(agent.action_margin());
        }
        let mut best: Option<(f64, EvalStats)> = self.reference.as_ref().map(|r| {
            let zero = PairedLift {
                mean: 0.0,
                lower: 0.0,
                upper: 0.0,
            };
            let mut stats = EvalStats::from_returns(r.clone());
            stats.mean = 0.0;
            stats.lift = Some(zero);
            (INCUMBENT_ONLY_MARGIN, stats)
        });
        // The best learned candidate's lift, reported even when the incumbent is kept.
        let mut learned: Option<PairedLift> = None;
        for m in candidates {
            agent.set_action_margin(m)?;
            let stats = self.candidate(agent)?;
            if let Some(l) = stats.lift
                && learned.is_none_or(|b| l.lower > b.lower)
            {
                learned = Some(l);
            }
            if best.as_ref().is_none_or(|(_, b)| stats.mean > b.mean) {
                best = Some((m, stats));
            }
        }
        let (m, mut stats) = best.expect("candidates is not empty");
        agent.set_action_margin(m)?;
        stats.lift = learned.or(stats.lift);
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DqnConfig;
    use crate::dqn::Dqn;

    /// Validation with margin candidates scores each on the same customers and leaves the
    /// agent with the best one.
    #[test]
    fn validation_keeps_the_best_margin_candidate() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
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
        let dim = clv_envs::FeatureSpec::with_set(&scenario, config.recipe.observation).dim();
        let mut agent = Dqn::new(config, dim, n_actions, tch::Device::Cpu, 3, 4).unwrap();
        let mut v =
            PopulationValidator::new(&scenario, &root, clv_envs::SeedDomain::Validation, 0, 400)
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

    /// Paired selection scores candidates by the lower bound of their lift over the
    /// incumbent, keeps the incumbent itself (lift 0) when no candidate's bound is above 0,
    /// and reports the best learned candidate's lift.
    #[test]
    fn paired_selection_keeps_the_incumbent_unless_a_candidate_beats_it() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let scenario = clv_envs::load_scenario(
            &root.join("scenarios/default.ron"),
            &["horizon=12".into(), "short_horizon=6".into()],
        )
        .unwrap();
        let recipe = Recipe {
            incumbent: Some("rfm-winback:4:recommend".into()),
            paired_selection: true,
            ..Recipe::default()
        };
        // An untrained agent at margin 0 acts on noise: it cannot beat the tuned rule.
        let config = DqnConfig {
            hidden: vec![16],
            keep_action: Some(0),
            margin_candidates: vec![0.0],
            recipe: recipe.clone(),
            ..DqnConfig::default()
        };
        let dim = clv_envs::FeatureSpec::with_set(&scenario, recipe.observation).dim();
        let n_actions = scenario.offers.len();
        let mut agent = Dqn::new(config, dim, n_actions, tch::Device::Cpu, 3, 4).unwrap();
        let mut v =
            PopulationValidator::new(&scenario, &root, clv_envs::SeedDomain::Validation, 0, 400)
                .unwrap()
                .paired(&recipe)
                .unwrap();
        let chosen = v.validate(&mut agent, 0).unwrap();
        let lift = chosen.lift.expect("paired selection reports a lift");
        // The incumbent is kept, and scoring the agent now reproduces the incumbent exactly.
        assert_eq!(
            agent.config().action_margin,
            INCUMBENT_ONLY_MARGIN,
            "{lift:?}"
        );
        assert_eq!(chosen.mean, 0.0);
        assert!(lift.lower <= 0.0 && lift.lower <= lift.mean && lift.mean <= lift.upper);
        let kept = v.score(&mut agent).unwrap().clv;
        let same = v.lift(&kept).unwrap();
        assert_eq!((same.mean, same.lower), (0.0, 0.0));
    }
}

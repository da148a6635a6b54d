//! Trained agents as simulator policies ([`clv_envs::Policy`]): the batched greedy forward
//! pass over the firm-record features of every customer (in chunks of `ACT_CHUNK` rows, so
//! memory stays bounded), mapped to catalogue offers (DQN) or through
//! [`Offer::from_continuous`] (DDPG / TD3); and loading an agent from its run directory
//! (`dqn:RUN_DIR`, `myopic:RUN_DIR`, `ddpg:RUN_DIR`, `td3:RUN_DIR`).
//!
//! Why two `Policy` traits: [`crate::Policy`] maps raw observation rows to action indices (what
//! a learner is, on any env), while [`clv_envs::Policy`] maps a population's customers to
//! offers (what the simulator compares, baselines included, with no tensors in `clv-envs`).
//! The wrappers here are the one bridge between them.

use std::path::Path;

use clv_envs::policy::{ACT_CHUNK, Baseline};
use clv_envs::{FeatureSpec, Mode, ObsBatch, Offer, OfferActions, Policy, Scenario};

use crate::checkpoint::{BEST_CHECKPOINT, LAST_CHECKPOINT};
use crate::ddpg::{Ddpg, load_ddpg_checkpoint};
use crate::device::DeviceChoice;
use crate::dqn::{Dqn, load_checkpoint};
use crate::error::AgentError;
use crate::learner::{AgentConfig, Learner};
use crate::policy::ContinuousPolicy;
use crate::recipe::Recipe;

/// Calls `f(start, rows, features)` for each chunk of at most `ACT_CHUNK` customers of
/// `batch` (bounding the forward pass's memory), their features (layout `spec`) row-major in
/// `buf`.
fn for_each_chunk(
    batch: &ObsBatch<'_>,
    spec: &FeatureSpec,
    buf: &mut Vec<f32>,
    mut f: impl FnMut(usize, usize, &[f32]),
) {
    let (dim, n) = (spec.dim(), batch.len());
    let mut start = 0;
    while start < n {
        let end = (start + ACT_CHUNK).min(n);
        buf.resize((end - start) * dim, 0.0);
        batch.features_with(spec, start..end, buf);
        f(start, end - start, buf);
        start = end;
    }
}

/// The incumbent a wrapper's guard falls back to (recipe lever 4): the baseline and its offers
/// for the batch being acted on.
struct Incumbent {
    baseline: Baseline,
    offers: Vec<Offer>,
}

impl Incumbent {
    /// The incumbent baseline named by `spec`, for `scenario`; `name` names the agent in errors.
    fn parse(
        name: &str,
        spec: Option<&str>,
        scenario: &Scenario,
    ) -> Result<Option<Self>, AgentError> {
        spec.map(|s| {
            clv_envs::parse_baseline(s, scenario)
                .map(|baseline| Incumbent {
                    baseline,
                    offers: vec![],
                })
                .map_err(|e| AgentError::AgentSpec {
                    spec: name.to_string(),
                    reason: format!("its incumbent `{s}` is not a baseline policy: {e}"),
                })
        })
        .transpose()
    }

    /// The incumbent's offer for every customer of `batch`.
    fn offers_for(&mut self, batch: &ObsBatch<'_>) -> &[Offer] {
        self.offers.resize(batch.len(), Offer::default());
        self.baseline.act(batch, Mode::Greedy, &mut self.offers);
        &self.offers
    }
}

/// A discrete-action agent acting on a population through the offer catalogue, on its own
/// feature set, guarded by an incumbent baseline where it has one: the agent's choice replaces
/// the incumbent's offer only where its Q value beats the incumbent's action by the agent's
/// margin (see [`crate::Dqn::set_incumbent_rows`]).
pub struct CatalogueAgent<P> {
    /// The agent.
    pub agent: P,
    name: String,
    features: FeatureSpec,
    incumbent: Option<Incumbent>,
    obs: Vec<f32>,
}

impl<P: crate::Policy + Send> CatalogueAgent<P> {
    /// Wraps `agent`, named `name` in reports, observing `recipe.observation` and guarded by
    /// `recipe.incumbent` if any; checks it fits `scenario`'s observation size and catalogue.
    pub fn new(
        agent: P,
        name: String,
        scenario: &Scenario,
        recipe: &Recipe,
    ) -> Result<Self, AgentError> {
        let features = FeatureSpec::with_set(scenario, recipe.observation);
        let dim = features.dim();
        if agent.obs_dim() != dim || agent.n_actions() != scenario.offers.len() {
            return Err(AgentError::EnvMismatch(format!(
                "{name}: the agent expects {} observation features and {} offers; scenario `{}` has {} and {}",
                agent.obs_dim(),
                agent.n_actions(),
                scenario.name,
                dim,
                scenario.offers.len()
            )));
        }
        let incumbent = Incumbent::parse(&name, recipe.incumbent.as_deref(), scenario)?;
        Ok(CatalogueAgent {
            agent,
            name,
            features,
            incumbent,
            obs: vec![],
        })
    }

    /// The observation layout the agent reads.
    pub fn feature_spec(&self) -> &FeatureSpec {
        &self.features
    }
}

impl<P: crate::Policy + Send> Policy for CatalogueAgent<P> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn reads_observations(&self) -> bool {
        true
    }

    fn act(&mut self, batch: &ObsBatch<'_>, mode: Mode, out: &mut [Offer]) {
        let incumbent = self.incumbent.as_mut().map(|inc| inc.offers_for(batch));
        let agent = &mut self.agent;
        for_each_chunk(batch, &self.features, &mut self.obs, |start, rows, obs| {
            if let Some(incumbent) = incumbent {
                let codes = incumbent[start..start + rows]
                    .iter()
                    .map(|o| u32::from(o.code))
                    .collect();
                agent.set_incumbent_actions(Some(codes));
            }
            // Shapes were checked against the scenario in `new`; a failure here is a libtorch
            // fault, not bad input.
            let actions = agent
                .act(obs, rows, mode)
                .expect("forward pass of a shape-checked agent");
            for (j, a) in actions.into_iter().enumerate() {
                let i = start + j;
                out[i] = match incumbent.map(|inc| inc[i]) {
                    // The incumbent's own offer (e.g. recommend-last's category) when kept.
                    Some(o) if u32::from(o.code) == a => o,
                    _ => batch.catalogue_offer(i, a as usize),
                };
            }
        });
    }

    /// The agent's value advantage of each offer over no offer (the catalogue's empty entry):
    /// Q(s, a) - Q(s, nothing), what keeping the offer is worth when the budget would
    /// otherwise leave the customer with nothing; 0 for an agent without Q values.
    fn priorities(&mut self, batch: &ObsBatch<'_>, offers: &[Offer], out: &mut [f64]) {
        let nothing = batch.scenario().empty_offer_index().unwrap_or(0) as u32;
        let agent = &mut self.agent;
        for_each_chunk(batch, &self.features, &mut self.obs, |start, rows, obs| {
            let actions: Vec<u32> = offers[start..start + rows]
                .iter()
                .map(|o| u32::from(o.code))
                .collect();
            let reference = vec![nothing; rows];
            let advantages = agent
                .advantages(obs, rows, &actions, &reference)
                .expect("forward pass of a shape-checked agent");
            fill_priorities(&mut out[start..start + rows], advantages);
        });
    }
}

/// Writes `advantages` (or zeros where the agent has none) as priorities.
fn fill_priorities(out: &mut [f64], advantages: Option<Vec<f32>>) {
    match advantages {
        Some(a) => out.iter_mut().zip(a).for_each(|(p, a)| *p = f64::from(a)),
        None => out.fill(0.0),
    }
}

/// Index of the customer's policy-stream uniform that draws the contact coin of a continuous
/// offer (see [`ContinuousAgent`]).
pub const CONTACT_COIN_INDEX: u32 = 0;

/// A continuous-action agent (DDPG / TD3) acting on a population: its action per customer
/// is `[depth]` or, where the scenario enables a contact probability, `[depth, p]`, mapped to
/// an offer by [`Offer::from_continuous`]: a depth below the scenario's `min_discount` is no
/// coupon and no contact, else a coupon of that depth (with the configured recommendation);
/// without a coupon the customer is contacted when the uniform `u` < `p`, where `u` is
/// [`ObsBatch::uniform`]`(i, CONTACT_COIN_INDEX)`: the customer's own policy stream for the
/// period, so that two policies evaluated on the same seeds draw the same coins.
pub struct ContinuousAgent<P> {
    /// The agent.
    pub agent: P,
    name: String,
    features: FeatureSpec,
    incumbent: Option<Incumbent>,
    obs: Vec<f32>,
}

/// The continuous action (`[depth]`, or `[depth, contact probability]` when `a_dim` is 2)
/// that stands for a catalogue `offer` in the guard's comparison: its discount depth, and a
/// contact probability of 1 when it contacts without a coupon.
fn continuous_row(offer: &Offer, a_dim: usize) -> impl Iterator<Item = f32> {
    let contact = if offer.contact && offer.discount == 0.0 {
        1.0
    } else {
        0.0
    };
    [offer.discount, contact].into_iter().take(a_dim)
}

/// The action box of the continuous offer of `scenario` (`[0, max_discount]`, and `[0, 1]`
/// for the contact probability where enabled), as `(low, high)`: the box
/// [`OfferActions::space`] computes.
pub fn continuous_bounds(scenario: &Scenario) -> (Vec<f32>, Vec<f32>) {
    match OfferActions::Continuous.space(scenario) {
        clv_envs::ActionSpace::Box { low, high } => (low, high),
        other => unreachable!("the continuous offer is a box, got {other:?}"),
    }
}

impl<P: ContinuousPolicy + Send> ContinuousAgent<P> {
    /// Wraps `agent`, named `name` in reports, observing `recipe.observation`; checks it fits
    /// `scenario`'s observation size and continuous-offer bounds.
    pub fn new(
        agent: P,
        name: String,
        scenario: &Scenario,
        recipe: &Recipe,
    ) -> Result<Self, AgentError> {
        let features = FeatureSpec::with_set(scenario, recipe.observation);
        let dim = features.dim();
        let (low, high) = continuous_bounds(scenario);
        if agent.obs_dim() != dim || agent.action_low() != low || agent.action_high() != high {
            return Err(AgentError::EnvMismatch(format!(
                "{name}: the agent expects {} observation features and the action box {:?}..{:?}; scenario `{}` has {} and {:?}..{:?}",
                agent.obs_dim(),
                agent.action_low(),
                agent.action_high(),
                scenario.name,
                dim,
                low,
                high
            )));
        }
        let incumbent = Incumbent::parse(&name, recipe.incumbent.as_deref(), scenario)?;
        Ok(ContinuousAgent {
            agent,
            name,
            features,
            incumbent,
            obs: vec![],
        })
    }
}

impl<P: ContinuousPolicy + Send> Policy for ContinuousAgent<P> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn reads_observations(&self) -> bool {
        true
    }

    fn act(&mut self, batch: &ObsBatch<'_>, mode: Mode, out: &mut [Offer]) {
        let a_dim = self.agent.action_low().len();
        let cfg = &batch.scenario().continuous;
        let incumbent = self.incumbent.as_mut().map(|inc| inc.offers_for(batch));
        let agent = &mut self.agent;
        for_each_chunk(batch, &self.features, &mut self.obs, |start, rows, obs| {
            let kept: Option<Vec<f32>> = incumbent.map(|inc| {
                inc[start..start + rows]
                    .iter()
                    .flat_map(|o| continuous_row(o, a_dim))
                    .collect()
            });
            if kept.is_some() {
                agent.set_incumbent_rows(kept.clone());
            }
            // Shapes were checked against the scenario in `new`.
            let actions = agent
                .act_continuous(obs, rows, mode)
                .expect("forward pass of a shape-checked agent");
            for (j, a) in actions.chunks(a_dim).enumerate() {
                let i = start + j;
                if let (Some(kept), Some(inc)) = (&kept, incumbent)
                    && a == &kept[j * a_dim..(j + 1) * a_dim]
                {
                    // The guard kept the incumbent: its own catalogue offer.
                    out[i] = inc[i];
                    continue;
                }
                let prob = (a_dim == 2).then(|| a[1]);
                let u = batch.uniform(i, CONTACT_COIN_INDEX);
                out[i] = Offer::from_continuous(cfg, a[0], prob, u, batch.record(i));
            }
        });
    }

    /// The critics' value advantage of each offer (as its action row: depth, and contact
    /// probability 1 for a contact without a coupon) over no offer (the zero action):
    /// min_i Q_i(s, a) - min_i Q_i(s, 0).
    fn priorities(&mut self, batch: &ObsBatch<'_>, offers: &[Offer], out: &mut [f64]) {
        let a_dim = self.agent.action_low().len();
        let agent = &mut self.agent;
        for_each_chunk(batch, &self.features, &mut self.obs, |start, rows, obs| {
            let actions: Vec<f32> = offers[start..start + rows]
                .iter()
                .flat_map(|o| continuous_row(o, a_dim))
                .collect();
            let reference = vec![0.0; rows * a_dim];
            let advantages = agent
                .advantages_continuous(obs, rows, &actions, &reference)
                .expect("forward pass of a shape-checked agent");
            fill_priorities(&mut out[start..start + rows], advantages);
        });
    }
}

/// A trained agent that can act on a scenario's population as a simulator [`Policy`].
pub trait ScenarioAgent: Learner {
    /// The agent (borrowed) as a greedy policy named `name`, checked against `scenario`.
    fn scenario_policy<'a>(
        &'a mut self,
        name: String,
        scenario: &Scenario,
    ) -> Result<Box<dyn Policy + 'a>, AgentError>;

    /// Acts greedily with `margin` (scaled-reward units, >= 0) from now on.
    fn set_action_margin(&mut self, margin: f64) -> Result<(), AgentError>;

    /// Greedy-acting margins to choose from at each validation (scaled-reward units); empty
    /// when the agent has none to choose.
    fn margin_candidates(&self) -> Vec<f64> {
        self.config().margin_candidates().to_vec()
    }

    /// The greedy-acting margin in use, where the agent keeps a default action.
    fn action_margin(&self) -> Option<f64> {
        self.config().acting_margin()
    }

    /// The agent's offer-policy recipe.
    fn recipe(&self) -> Recipe {
        self.config().recipe().clone()
    }
}

impl ScenarioAgent for Dqn {
    fn scenario_policy<'a>(
        &'a mut self,
        name: String,
        scenario: &Scenario,
    ) -> Result<Box<dyn Policy + 'a>, AgentError> {
        let recipe = self.config().recipe.clone();
        Ok(Box::new(CatalogueAgent::new(
            self, name, scenario, &recipe,
        )?))
    }

    fn set_action_margin(&mut self, margin: f64) -> Result<(), AgentError> {
        Dqn::set_action_margin(self, margin)
    }
}

impl ScenarioAgent for Ddpg {
    fn scenario_policy<'a>(
        &'a mut self,
        name: String,
        scenario: &Scenario,
    ) -> Result<Box<dyn Policy + 'a>, AgentError> {
        let recipe = self.config().recipe.clone();
        Ok(Box::new(ContinuousAgent::new(
            self, name, scenario, &recipe,
        )?))
    }

    fn set_action_margin(&mut self, margin: f64) -> Result<(), AgentError> {
        Ddpg::set_action_margin(self, margin)
    }
}

/// Loads the agent of `kind` (`dqn`, `myopic`, `ddpg`, `td3`) saved in run directory `dir`
/// (its best-on-validation checkpoint, else its last), as a greedy policy for `scenario`.
pub fn load_agent_policy(
    kind: &str,
    dir: &Path,
    scenario: &Scenario,
) -> Result<Box<dyn Policy>, AgentError> {
    let root = dir.join("checkpoint");
    let ck = [BEST_CHECKPOINT, LAST_CHECKPOINT]
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.is_dir())
        .ok_or_else(|| AgentError::Checkpoint {
            path: dir.to_path_buf(),
            reason: format!(
                "holds no checkpoint (expected {}/best or last: is it a `clv train` run directory?)",
                root.display()
            ),
        })?;
    let spec = format!("{kind}:{}", dir.display());
    let wrong = |reason: String| AgentError::AgentSpec {
        spec: spec.clone(),
        reason,
    };
    match kind {
        "dqn" | "myopic" => {
            let agent = load_checkpoint(&ck, DeviceChoice::Auto.resolve()?)?.agent;
            let gamma = agent.config().gamma;
            if kind == "myopic" && gamma != 0.0 {
                return Err(wrong(format!(
                    "trained with gamma {gamma}; a myopic run has gamma 0 (clv train --agent myopic)"
                )));
            }
            let recipe = agent.config().recipe.clone();
            Ok(Box::new(CatalogueAgent::new(
                agent,
                spec.clone(),
                scenario,
                &recipe,
            )?))
        }
        "ddpg" | "td3" => {
            let agent = load_ddpg_checkpoint(&ck, DeviceChoice::Auto.resolve()?)?.agent;
            let trained = if agent.config().is_td3() {
                "td3"
            } else {
                "ddpg"
            };
            if trained != kind {
                return Err(wrong(format!(
                    "trained as {trained} (clv train --agent {trained})"
                )));
            }
            let recipe = agent.config().recipe.clone();
            Ok(Box::new(ContinuousAgent::new(
                agent,
                spec.clone(),
                scenario,
                &recipe,
            )?))
        }
        other => Err(wrong(format!(
            "{other} agents are not available in this build (dqn, myopic, ddpg and td3 are)"
        ))),
    }
}

//! Trained agents as simulator policies: the batched greedy forward pass over the firm-record
//! features of every customer (in chunks of `ACT_CHUNK` rows, so memory stays bounded), mapped
//! to catalogue offers (DQN) or through [`Offer::from_continuous`] (DDPG / TD3); and loading
//! an agent from its run directory (`dqn:RUN_DIR`, `myopic:RUN_DIR`, `ddpg:RUN_DIR`,
//! `td3:RUN_DIR`).

use std::path::Path;

use anyhow::Context;
use clv_agents::{
    BEST_CHECKPOINT, ContinuousPolicy, DeviceChoice, LAST_CHECKPOINT, load_checkpoint,
    load_ddpg_checkpoint,
};
use clv_envs::policy::ACT_CHUNK;
use clv_envs::{Mode, ObsBatch, Offer, Policy, Scenario};

/// A discrete-action agent acting on a population through the offer catalogue.
pub struct CatalogueAgent<P> {
    /// The agent.
    pub agent: P,
    name: String,
    obs: Vec<f32>,
}

impl<P: clv_agents::Policy + Send> CatalogueAgent<P> {
    /// Wraps `agent`, named `name` in reports; checks it fits `scenario`'s observation size
    /// and catalogue.
    pub fn new(agent: P, name: String, scenario: &Scenario) -> anyhow::Result<Self> {
        let dim = clv_envs::FeatureSpec::new(scenario).dim();
        anyhow::ensure!(
            agent.obs_dim() == dim && agent.n_actions() == scenario.offers.len(),
            "{name}: the agent expects {} observation features and {} offers; scenario `{}` has {} and {}",
            agent.obs_dim(),
            agent.n_actions(),
            scenario.name,
            dim,
            scenario.offers.len()
        );
        Ok(CatalogueAgent {
            agent,
            name,
            obs: vec![],
        })
    }
}

impl<P: clv_agents::Policy + Send> Policy for CatalogueAgent<P> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn act(&mut self, batch: &ObsBatch<'_>, mode: Mode, out: &mut [Offer]) {
        let dim = batch.obs_dim();
        let n = batch.len();
        let mode = match mode {
            Mode::Greedy => clv_agents::Mode::Greedy,
            Mode::Explore => clv_agents::Mode::Explore,
        };
        let mut start = 0;
        while start < n {
            let end = (start + ACT_CHUNK).min(n);
            self.obs.resize((end - start) * dim, 0.0);
            batch.features_into(start..end, &mut self.obs);
            // Shapes were checked against the scenario in `new`; a failure here is a libtorch
            // fault, not bad input.
            let actions = self
                .agent
                .act(&self.obs, end - start, mode)
                .expect("forward pass of a shape-checked agent");
            for (j, a) in actions.into_iter().enumerate() {
                out[start + j] = batch.catalogue_offer(start + j, a as usize);
            }
            start = end;
        }
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
    obs: Vec<f32>,
}

/// The action box of the continuous offer of `scenario` (`[0, max_discount]`, and `[0, 1]`
/// for the contact probability where enabled), as `(low, high)`.
pub fn continuous_bounds(scenario: &Scenario) -> (Vec<f32>, Vec<f32>) {
    let max = scenario.continuous.max_discount as f32;
    if scenario.continuous.contact_probability {
        (vec![0.0, 0.0], vec![max, 1.0])
    } else {
        (vec![0.0], vec![max])
    }
}

impl<P: ContinuousPolicy + Send> ContinuousAgent<P> {
    /// Wraps `agent`, named `name` in reports; checks it fits `scenario`'s observation size
    /// and continuous-offer bounds.
    pub fn new(agent: P, name: String, scenario: &Scenario) -> anyhow::Result<Self> {
        let dim = clv_envs::FeatureSpec::new(scenario).dim();
        let (low, high) = continuous_bounds(scenario);
        anyhow::ensure!(
            agent.obs_dim() == dim && agent.action_low() == low && agent.action_high() == high,
            "{name}: the agent expects {} observation features and the action box {:?}..{:?}; scenario `{}` has {} and {:?}..{:?}",
            agent.obs_dim(),
            agent.action_low(),
            agent.action_high(),
            scenario.name,
            dim,
            low,
            high
        );
        Ok(ContinuousAgent {
            agent,
            name,
            obs: vec![],
        })
    }
}

impl<P: ContinuousPolicy + Send> Policy for ContinuousAgent<P> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn act(&mut self, batch: &ObsBatch<'_>, mode: Mode, out: &mut [Offer]) {
        let dim = batch.obs_dim();
        let n = batch.len();
        let a_dim = self.agent.action_low().len();
        let mode = match mode {
            Mode::Greedy => clv_agents::Mode::Greedy,
            Mode::Explore => clv_agents::Mode::Explore,
        };
        let cfg = &batch.scenario().continuous;
        let mut start = 0;
        while start < n {
            let end = (start + ACT_CHUNK).min(n);
            self.obs.resize((end - start) * dim, 0.0);
            batch.features_into(start..end, &mut self.obs);
            // Shapes were checked against the scenario in `new`.
            let actions = self
                .agent
                .act_continuous(&self.obs, end - start, mode)
                .expect("forward pass of a shape-checked agent");
            for (j, a) in actions.chunks(a_dim).enumerate() {
                let i = start + j;
                let prob = (a_dim == 2).then(|| a[1]);
                let u = batch.uniform(i, CONTACT_COIN_INDEX);
                out[i] = Offer::from_continuous(cfg, a[0], prob, u, batch.record(i));
            }
            start = end;
        }
    }
}

/// A trained agent that can act on a scenario's population as a simulator [`Policy`].
pub trait ScenarioAgent {
    /// The agent (borrowed) as a greedy policy named `name`, checked against `scenario`.
    fn scenario_policy<'a>(
        &'a mut self,
        name: String,
        scenario: &Scenario,
    ) -> anyhow::Result<Box<dyn Policy + 'a>>;

    /// Greedy-acting margins to choose from at each validation (scaled-reward units); empty
    /// when the agent has none to choose.
    fn margin_candidates(&self) -> Vec<f64> {
        Vec::new()
    }

    /// The greedy-acting margin in use, where the agent has one.
    fn action_margin(&self) -> Option<f64> {
        None
    }

    /// Acts greedily with `margin` from now on (agents without a margin ignore it).
    fn set_action_margin(&mut self, _margin: f64) -> Result<(), clv_agents::AgentError> {
        Ok(())
    }
}

impl ScenarioAgent for clv_agents::Dqn {
    fn scenario_policy<'a>(
        &'a mut self,
        name: String,
        scenario: &Scenario,
    ) -> anyhow::Result<Box<dyn Policy + 'a>> {
        Ok(Box::new(CatalogueAgent::new(self, name, scenario)?))
    }

    fn margin_candidates(&self) -> Vec<f64> {
        self.config().margin_candidates.clone()
    }

    fn action_margin(&self) -> Option<f64> {
        self.config()
            .keep_action
            .is_some()
            .then_some(self.config().action_margin)
    }

    fn set_action_margin(&mut self, margin: f64) -> Result<(), clv_agents::AgentError> {
        clv_agents::Dqn::set_action_margin(self, margin)
    }
}

impl ScenarioAgent for clv_agents::Ddpg {
    fn scenario_policy<'a>(
        &'a mut self,
        name: String,
        scenario: &Scenario,
    ) -> anyhow::Result<Box<dyn Policy + 'a>> {
        Ok(Box::new(ContinuousAgent::new(self, name, scenario)?))
    }

    fn margin_candidates(&self) -> Vec<f64> {
        self.config().margin_candidates.clone()
    }

    fn action_margin(&self) -> Option<f64> {
        self.config()
            .keep_action
            .is_some()
            .then_some(self.config().action_margin)
    }

    fn set_action_margin(&mut self, margin: f64) -> Result<(), clv_agents::AgentError> {
        clv_agents::Ddpg::set_action_margin(self, margin)
    }
}

/// Loads the agent of `kind` (`dqn`, `myopic`, `ddpg`, `td3`) saved in run directory `dir`
/// (its best-on-validation checkpoint, else its last), as a greedy policy for `scenario`.
pub fn load(kind: &str, dir: &Path, scenario: &Scenario) -> anyhow::Result<Box<dyn Policy>> {
    let root = dir.join("checkpoint");
    let ck = [BEST_CHECKPOINT, LAST_CHECKPOINT]
        .iter()
        .map(|n| root.join(n))
        .find(|p| p.is_dir())
        .with_context(|| {
            format!(
                "{} holds no checkpoint (expected {}/best or last: is it a `clv train` run directory?)",
                dir.display(),
                root.display()
            )
        })?;
    match kind {
        "dqn" | "myopic" => {
            let device = DeviceChoice::Auto.resolve()?;
            let agent = load_checkpoint(&ck, device)
                .with_context(|| format!("loading {}", ck.display()))?
                .agent;
            let gamma = agent.config().gamma;
            anyhow::ensure!(
                kind != "myopic" || gamma == 0.0,
                "myopic:{} was trained with gamma {gamma}; a myopic run has gamma 0 (clv train --agent myopic)",
                dir.display()
            );
            let name = format!("{kind}:{}", dir.display());
            Ok(Box::new(CatalogueAgent::new(agent, name, scenario)?))
        }
        "ddpg" | "td3" => {
            let device = DeviceChoice::Auto.resolve()?;
            let agent = load_ddpg_checkpoint(&ck, device)
                .with_context(|| format!("loading {}", ck.display()))?
                .agent;
            let td3 = agent.config().is_td3();
            anyhow::ensure!(
                td3 == (kind == "td3"),
                "{kind}:{} was trained as {} (clv train --agent {})",
                dir.display(),
                if td3 { "td3" } else { "ddpg" },
                if td3 { "td3" } else { "ddpg" }
            );
            let name = format!("{kind}:{}", dir.display());
            Ok(Box::new(ContinuousAgent::new(agent, name, scenario)?))
        }
        other => anyhow::bail!(
            "{other}:{}: {other} agents are not available in this build (dqn, myopic, ddpg and td3 are)",
            dir.display()
        ),
    }
}

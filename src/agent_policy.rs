//! Trained agents as simulator policies: the batched greedy forward pass over the firm-record
//! features of every customer (in chunks of `ACT_CHUNK` rows, so memory stays bounded), mapped
//! to catalogue offers; and loading an agent from its run directory (`dqn:RUN_DIR`).

use std::path::Path;

use anyhow::Context;
use clv_agents::{BEST_CHECKPOINT, DeviceChoice, LAST_CHECKPOINT, load_checkpoint};
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

/// Loads the agent of `kind` saved in run directory `dir` (its best-on-validation checkpoint,
/// else its last), as a greedy policy for `scenario`.
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
        other => anyhow::bail!(
            "{other}:{}: {other} agents are not available in this build (dqn and myopic are)",
            dir.display()
        ),
    }
}

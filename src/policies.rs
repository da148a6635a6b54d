//! Turns policy specs into policies: baselines from `clv-envs`, trained agents from run
//! directories (`dqn:DIR`, `myopic:DIR`, `ddpg:DIR`, `td3:DIR`).

use anyhow::Context;
use clv_envs::{Policy, PolicySpec, Scenario};

/// Builds the policy a spec names, for `scenario`.
pub fn resolve(spec: &str, scenario: &Scenario) -> anyhow::Result<Box<dyn Policy>> {
    match PolicySpec::parse(spec, scenario)? {
        PolicySpec::Baseline(_) => Ok(Box::new(clv_envs::parse_baseline(spec, scenario)?)),
        PolicySpec::Agent { kind, dir } => clv_agents::load_agent_policy(&kind, &dir, scenario)
            .with_context(|| format!("loading policy {spec}")),
    }
}

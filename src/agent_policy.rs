//! Loading a trained agent from its run directory as a policy.

use std::path::Path;

use clv_envs::{Policy, Scenario};

/// Loads the agent of `kind` saved in run directory `dir`, as a greedy policy for `scenario`.
pub fn load(kind: &str, dir: &Path, _scenario: &Scenario) -> anyhow::Result<Box<dyn Policy>> {
    anyhow::bail!(
        "no trained {kind} agent can be loaded from {}: agent policies are not available in this build",
        dir.display()
    )
}

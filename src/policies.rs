//! Turns policy specs into policies: baselines from `clv-envs`, trained agents from run
//! directories (`dqn:DIR`, `myopic:DIR`, `ddpg:DIR`, `td3:DIR`).

use anyhow::Context;
use clv_envs::{Policy, PolicySpec, Scenario};

/// Builds the policy a spec names, for `scenario`.
///
/// `random-rank:SPEC` is SPEC with its offers kept in a random order when a budget binds (the
/// control for ranking by priority; see `clv_envs::budget::RandomRank`).
pub fn resolve(spec: &str, scenario: &Scenario) -> anyhow::Result<Box<dyn Policy>> {
    if let Some(inner) = spec.strip_prefix(clv_envs::budget::RANDOM_RANK_PREFIX) {
        anyhow::ensure!(
            !inner.starts_with(clv_envs::budget::RANDOM_RANK_PREFIX),
            "policy {spec:?}: `{}` once is enough",
            clv_envs::budget::RANDOM_RANK_PREFIX
        );
        let inner = resolve(inner, scenario)?;
        return Ok(Box::new(clv_envs::budget::RandomRank::new(inner)));
    }
    match PolicySpec::parse(spec, scenario)? {
        PolicySpec::Baseline(_) => Ok(Box::new(clv_envs::parse_baseline(spec, scenario)?)),
        PolicySpec::Agent { kind, dir } => clv_agents::load_agent_policy(&kind, &dir, scenario)
            .with_context(|| format!("loading policy {spec}")),
    }
}

/// Checks that `spec` names a policy for `scenario` (its grammar, offers and thresholds; a
/// trained agent's directory is read only by [`resolve`]), `random-rank:` included.
pub fn check(spec: &str, scenario: &Scenario) -> anyhow::Result<()> {
    let inner = spec
        .strip_prefix(clv_envs::budget::RANDOM_RANK_PREFIX)
        .unwrap_or(spec);
    PolicySpec::parse(inner, scenario)?;
    Ok(())
}

//! The scenario arguments every command that reads a scenario takes: the file and `--set`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clv_envs::Scenario;

/// A scenario file plus overrides.
#[derive(Debug, Clone, clap::Args)]
pub struct ScenarioArgs {
    /// Scenario file (RON), e.g. scenarios/default.ron.
    pub scenario: PathBuf,
    /// Override a scenario field: `--set field.path=value` (repeatable), e.g.
    /// `--set economics.contact_cost=0.5`, `--set offers.2.discount=0.15`, `--set start=Cohort`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
}

impl ScenarioArgs {
    /// Loads, overrides and validates the scenario.
    pub fn load(&self) -> anyhow::Result<Scenario> {
        clv_envs::load_scenario(&self.scenario, &self.overrides)
            .with_context(|| format!("loading scenario {}", self.scenario.display()))
    }

    /// The folder relative paths in the scenario are resolved against.
    pub fn base_dir(&self) -> &Path {
        self.scenario
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }
}

/// Sets rayon's global thread count (0 = all cores).
pub fn set_threads(threads: usize) -> anyhow::Result<()> {
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("setting the thread count")?;
    }
    Ok(())
}

/// Which seed domain an evaluation command draws its customers from (`--domain`). Training
/// seeds are not offered: they belong to learning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalDomain {
    /// Validation seeds: where baselines are tuned and checkpoints chosen; diagnose here.
    Validation,
    /// Test seeds: the reported result, to be used once.
    Test,
}

impl EvalDomain {
    /// The simulator's seed domain.
    pub fn seed_domain(self) -> clv_envs::SeedDomain {
        match self {
            EvalDomain::Validation => clv_envs::SeedDomain::Validation,
            EvalDomain::Test => clv_envs::SeedDomain::Test,
        }
    }

    /// The name written in JSON outputs (`seed_domain`), as `clv tune` writes it.
    pub fn name(self) -> &'static str {
        match self {
            EvalDomain::Validation => "validation",
            EvalDomain::Test => "test",
        }
    }
}

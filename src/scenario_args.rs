//! The scenario arguments every command that reads a scenario takes: the file and `--set`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clv_envs::Scenario;

/// A scenario file plus overrides.
#[derive(Debug, Clone, clap::Args)]
pub struct ScenarioArgs {
    /// Scenario file (RON, a regular file of at most 16 MiB), e.g. scenarios/default.ron.
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

/// The populations an evaluation command draws (`compare`, `sweep`): how many seeds, from
/// which, in which domain, of how many customers.
#[derive(Debug, Clone, clap::Args)]
pub struct PopulationArgs {
    /// Populations (seeds) to pool; each has --customers customers.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// First seed, within --domain.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed domain of the populations: `test` (the reported result) or `validation` (the
    /// customers `clv tune` and `clv train` choose on; diagnose policies there).
    #[arg(long, value_enum, default_value_t = EvalDomain::Test)]
    pub domain: EvalDomain,
    /// Customers per seed (default: the scenario's population.customers). At most 50,000,000.
    #[arg(long, value_parser = customers_arg())]
    pub customers: Option<u64>,
}

impl PopulationArgs {
    /// The seeds `seed`, `seed + 1`, ... (`seeds` of them).
    pub fn seed_list(&self) -> Vec<u64> {
        (self.seed..self.seed.saturating_add(self.seeds)).collect()
    }

    /// Customers per seed: `--customers`, or the scenario's population.
    pub fn customers_of(&self, scenario: &Scenario) -> u64 {
        self.customers.unwrap_or(scenario.population.customers)
    }
}

/// Most worker threads `--threads` accepts. More threads than cores only adds overhead; the
/// cap keeps a typo (`--threads 100000`) from spawning a thread storm.
pub const MAX_THREADS: usize = 256;

/// The parser of `--threads`: 0 (all cores) to [`MAX_THREADS`].
pub fn threads_arg() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(0..=MAX_THREADS as u64)
}

/// The parser of customer-count flags (`--customers`, `--test-customers`, ...): 1 to
/// [`MAX_CUSTOMERS`](clv_envs::scenario::MAX_CUSTOMERS), checked before anything is allocated.
pub fn customers_arg() -> clap::builder::RangedU64ValueParser<u64> {
    clap::builder::RangedU64ValueParser::<u64>::new().range(1..=clv_envs::scenario::MAX_CUSTOMERS)
}

/// Sets rayon's global thread count (0 = all cores).
pub fn set_threads(threads: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        threads <= MAX_THREADS,
        "--threads must be at most {MAX_THREADS}, got {threads}"
    );
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

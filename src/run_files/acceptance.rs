//! `acceptance.json` of `clv bench acceptance`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RunFile;
use crate::evaluation::Diff;

/// Version of the layout of `acceptance.json`.
pub const ACCEPTANCE_SCHEMA_VERSION: u32 = 2;

/// The agents' acceptance result on every scenario run. Written with sorted keys. Money is
/// realised CLV in dollars per test customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AcceptanceReport {
    /// Layout version ([`ACCEPTANCE_SCHEMA_VERSION`]; 0 when written before it existed).
    #[serde(default)]
    pub schema_version: u32,
    /// One entry per scenario, in the order run.
    pub scenarios: Vec<AcceptanceScenario>,
}

/// The acceptance result on one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AcceptanceScenario {
    /// Scenario name.
    pub scenario: String,
    /// The best tuned baseline on validation seeds (a policy spec).
    pub best_tuned_baseline: String,
    /// The best setting of every tuned kind, best first.
    pub tuned: Vec<TunedBaseline>,
    /// Reference CLVs on test seeds.
    pub test_clv: TestClv,
    /// The lower bound a seed's paired interval must exceed, dollars per customer.
    pub required_lower_bound: f64,
    /// DQN, one row per training seed.
    pub dqn: Vec<DqnSeedResult>,
    /// DQN seeds that pass.
    pub passes: usize,
    /// Whether enough DQN seeds pass.
    pub pass: bool,
    /// TD3 on the continuous offer (`null` with `--td3 false`).
    pub td3: Option<Td3Acceptance>,
}

/// The best setting of one tuned baseline kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TunedBaseline {
    /// Policy spec.
    pub policy: String,
    /// Mean realised CLV per validation customer, dollars.
    pub validation_clv: f64,
}

/// Mean realised CLV per test customer of the reference policies, dollars.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestClv {
    /// `none`.
    pub none: f64,
    /// The best tuned baseline.
    pub best_baseline: f64,
    /// `oracle-myopic`.
    pub oracle_myopic: f64,
}

/// One DQN training seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DqnSeedResult {
    /// Training seed.
    pub seed: u64,
    /// Mean realised CLV per test customer, dollars.
    pub clv_mean: f64,
    /// The greedy-acting margin the run chose on validation (scaled-reward units).
    pub action_margin: Option<f64>,
    /// The myopic learner's margin of the same seed, where it was trained.
    pub myopic_action_margin: Option<f64>,
    /// Paired difference to the best tuned baseline.
    pub diff_vs_best_baseline: Diff,
    /// Paired difference to the myopic learner of the same seed, where it was trained.
    pub diff_vs_myopic: Option<Diff>,
    /// Lift over `none` as a share of `oracle-myopic`'s (`null` where the oracle gains
    /// nothing).
    pub share_of_oracle_lift: Option<f64>,
    /// Whether the seed passes.
    pub pass: bool,
}

/// TD3 on one scenario, against the same best tuned baseline as DQN (schema 2; schema 1
/// judged TD3 against the best tuned `fixed` or `cadence` baseline).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Td3Acceptance {
    /// That baseline (a policy spec), chosen on validation.
    pub baseline: String,
    /// Its mean realised CLV per test customer, dollars.
    pub test_clv_baseline: f64,
    /// The lower bound a seed's paired interval must exceed, dollars per customer.
    pub required_lower_bound: f64,
    /// One row per training seed.
    pub seeds: Vec<Td3SeedResult>,
    /// Seeds that pass.
    pub passes: usize,
    /// Whether enough seeds pass.
    pub pass: bool,
}

/// One TD3 training seed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Td3SeedResult {
    /// Training seed.
    pub seed: u64,
    /// Mean realised CLV per test customer, dollars.
    pub clv_mean: f64,
    /// The run's greedy-acting margin, if it has one.
    pub action_margin: Option<f64>,
    /// Paired difference to the best tuned baseline.
    pub diff_vs_baseline: Diff,
    /// Paired difference to DQN of the same seed.
    pub diff_vs_dqn: Option<Diff>,
    /// Lift over `none` as a share of `oracle-myopic`'s.
    pub share_of_oracle_lift: Option<f64>,
    /// Whether the seed passes.
    pub pass: bool,
}

impl RunFile for AcceptanceReport {
    const FILE: &'static str = "acceptance.json";
    const SCHEMA_VERSION: u32 = ACCEPTANCE_SCHEMA_VERSION;
}

impl AcceptanceReport {
    /// Writes the report to `path` atomically: pretty JSON, sorted keys, final newline.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        super::write_sorted(path, self)
    }
}

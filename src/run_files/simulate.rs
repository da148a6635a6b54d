//! `summary.json` of `clv simulate --out`, and the object `clv simulate --json` prints.

use std::collections::BTreeMap;

use clv_envs::Summary;
use serde::{Deserialize, Serialize};

use super::RunFile;

/// Version of the layout of `clv simulate`'s summary.
pub const SIMULATE_SUMMARY_SCHEMA_VERSION: u32 = 1;

/// One policy over the scored window of one population: the summary over all customers
/// (its fields inline, `customers` included), the run's settings, and the summary by value
/// segment. Written with sorted keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimulateSummary {
    /// Layout version ([`SIMULATE_SUMMARY_SCHEMA_VERSION`]; 0 when written before it existed).
    #[serde(default)]
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// The policy as it names itself (the spec, possibly in a longer form).
    pub policy: String,
    /// Seed of the population, within `seed_domain`.
    pub seed: u64,
    /// `test` or `validation`.
    pub seed_domain: String,
    /// Scored periods.
    pub periods: u32,
    /// Scored periods (the scenario's horizon after `--periods`; same as `periods`).
    pub horizon: u32,
    /// Periods of the short-horizon CLV (`clv52_*`).
    pub short_horizon: u32,
    /// Summary over all customers (money in dollars per customer).
    #[serde(flatten)]
    pub all: Summary,
    /// The same by value segment (`high`, `mid`, `low`).
    pub segments: BTreeMap<String, Summary>,
    /// The marketing budget and contact cap the policy acted under, with its spend against
    /// it; absent when the scenario sets neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::budget_report::BudgetReport>,
    /// Run time (informational: varies between runs).
    pub timing: SimulateTiming,
}

/// Run time of `clv simulate` (informational).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimulateTiming {
    /// Seconds of the whole simulation, population included.
    pub elapsed_seconds: f64,
    /// Seconds of the evaluation loop.
    pub evaluation_seconds: f64,
    /// Customer-periods simulated per second of the evaluation loop.
    pub customer_periods_per_second: f64,
}

impl RunFile for SimulateSummary {
    const FILE: &'static str = "summary.json";
    const SCHEMA_VERSION: u32 = SIMULATE_SUMMARY_SCHEMA_VERSION;
}

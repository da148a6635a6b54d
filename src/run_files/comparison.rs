//! `comparison.json` of `clv compare`, and the object `clv compare --json` prints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::RunFile;
use crate::evaluation::PolicyReport;

/// Version of the layout of `comparison.json`.
/// 2: `incremental_margin_vs_none` and `return_on_marketing_spend` are discounted (like the
/// CLV) and paired per customer, with intervals and the `roms_not_distinguishable_from_none`
/// flag beside them (1: undiscounted totals, no intervals).
pub const COMPARISON_SCHEMA_VERSION: u32 = 2;

/// Several policies on the same customers and random streams, with paired differences to a
/// reference, overall and by value segment. Written with sorted keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// Layout version ([`COMPARISON_SCHEMA_VERSION`]; 0 when written before it existed).
    #[serde(default)]
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// Customers per seed.
    pub customers_per_seed: u64,
    /// Population seeds pooled, within `seed_domain`.
    pub seeds: Vec<u64>,
    /// `test` or `validation` (comparisons saved before the field existed were on test seeds).
    #[serde(default = "test_domain")]
    pub seed_domain: String,
    /// Scored periods.
    pub horizon: u32,
    /// The reference policy of the paired differences, as given (a spec).
    pub reference: String,
    /// What the intervals are, in words.
    #[serde(default)]
    pub intervals: String,
    /// What the return on marketing spend is, in words (empty before schema 2).
    #[serde(default)]
    pub roms_definition: String,
    /// The decision the comparison supports (best deployable policy, its paired margin, the
    /// learners against the best baseline); absent before schema 2.
    #[serde(default)]
    pub decision: Option<crate::evaluation::Decision>,
    /// One row per policy over all customers, in the order given.
    pub policies: Vec<PolicyReport>,
    /// The same rows by value segment (`high`, `mid`, `low`).
    #[serde(default)]
    pub segments: BTreeMap<String, Vec<PolicyReport>>,
    /// On a warm start: that every seed starts from the same real customers' histories, so
    /// the intervals over customers count repeated real customers (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start_note: Option<String>,
    /// The marketing budget and contact cap the policies acted under, with each policy's
    /// spend against it; absent when the scenario sets neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<crate::budget_report::BudgetReport>,
    /// The comparison over draws of the fitted population parameters (`--parameter-draws`):
    /// each policy's interval split into simulation noise and estimation uncertainty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_draws: Option<crate::parameter_draws::ParameterDraws>,
    /// Run time (informational: varies between runs).
    #[serde(default)]
    pub timing: ComparisonTiming,
}

/// Run time of `clv compare` (informational).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ComparisonTiming {
    /// Seconds of the evaluation of every policy.
    pub elapsed_seconds: f64,
}

/// The seed domain of a comparison saved without one.
fn test_domain() -> String {
    "test".into()
}

impl RunFile for Comparison {
    const FILE: &'static str = "comparison.json";
    const SCHEMA_VERSION: u32 = COMPARISON_SCHEMA_VERSION;
}

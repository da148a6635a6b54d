//! `ablation.json` of `clv bench ablation`.

use serde::{Deserialize, Serialize};

use super::RunFile;

/// Greedy-acting margin (scaled-reward units, 0.1 = $1) at which `learned_lift` scores each
/// variant's last checkpoint.
pub const LEARNED_MARGIN: f64 = 0.1;

/// Version of the layout of `ablation.json`.
pub const ABLATION_SCHEMA_VERSION: u32 = 1;

/// What each lever of the DQN offer-policy recipe is worth on one scenario, on validation
/// customers only. Written in field order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AblationReport {
    /// Layout version ([`ABLATION_SCHEMA_VERSION`]).
    #[serde(default)]
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// The incumbent every variant improves on (a baseline spec).
    pub incumbent: String,
    /// Training seed of every variant.
    pub seed: u64,
    /// Environment-step budget of every variant (None: the config's).
    pub steps: Option<u64>,
    /// Customers of the scoring set: validation-domain customers disjoint from those the
    /// runs chose and confirmed on.
    pub customers: u64,
    /// Mean realised CLV per scoring customer of the incumbent, dollars.
    pub incumbent_clv: f64,
    /// One row per variant.
    pub variants: Vec<AblationRow>,
}

/// One variant of the recipe.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AblationRow {
    /// Variant name (`full`, `no-observation`, ..., `old-recipe`).
    pub variant: String,
    /// What the variant changes.
    pub change: String,
    /// Its run directory.
    pub run: String,
    /// Mean realised CLV per scoring customer, dollars.
    pub clv: f64,
    /// Paired difference to the incumbent on the same customers, dollars per customer.
    pub lift: f64,
    /// Its 95% interval (unadjusted).
    pub lift_ci95: [f64; 2],
    /// The run's greedy-acting margin (scaled-reward units; 1e9 = fell back to the incumbent).
    pub action_margin: Option<f64>,
    /// The learned policy itself, without the fallback: the last checkpoint acting at margin
    /// [`LEARNED_MARGIN`] on the same customers, paired difference to the incumbent, dollars
    /// per customer.
    pub learned_lift: f64,
    /// Its 95% interval.
    pub learned_lift_ci95: [f64; 2],
    /// Seconds the run trained.
    pub wall_seconds: f64,
}

impl RunFile for AblationReport {
    const FILE: &'static str = "ablation.json";
    const SCHEMA_VERSION: u32 = ABLATION_SCHEMA_VERSION;
}

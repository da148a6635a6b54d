//! `sweep.json` of `clv sweep`, and the object `clv sweep --json` prints.

use serde::{Deserialize, Serialize};

use super::RunFile;

/// Version of the layout of `sweep.json`.
pub const SWEEP_SCHEMA_VERSION: u32 = 1;

/// A sensitivity sweep: paired CLV differences between policies as scenario assumptions
/// move, one at a time and (optionally) over a two-way grid, every point on the same
/// customers. Written with sorted keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepReport {
    /// Layout version ([`SWEEP_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Scenario name.
    pub scenario: String,
    /// The `--set` overrides applied at every point, as given.
    pub overrides: Vec<String>,
    /// `test` or `validation`: the seed domain of the customers.
    pub seed_domain: String,
    /// Population seeds pooled at every point, within `seed_domain`.
    pub seeds: Vec<u64>,
    /// Customers per seed (the same customer keys at every point).
    pub customers_per_seed: u64,
    /// Policy specs run at every point, in run order.
    pub policies: Vec<String>,
    /// What each difference is, in words (`A minus B`, or each policy minus `none`).
    pub differences: String,
    /// What the intervals are, in words.
    pub intervals: String,
    /// The differences at the scenario's values (no `--vary` applied), one per pair.
    pub base: Vec<PairDiff>,
    /// One-at-a-time sweeps, in the order of `--vary`.
    pub parameters: Vec<ParameterSweep>,
    /// The two-way grid over the first two `--vary` (with `--grid`).
    pub grid: Option<GridSweep>,
    /// Run time (informational: varies between runs).
    pub timing: SweepTiming,
}

/// The paired difference of realised CLV per customer between two policies at one point.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PairDiff {
    /// The first policy (spec).
    pub policy_a: String,
    /// The second policy (spec).
    pub policy_b: String,
    /// Mean of CLV(a) - CLV(b) per customer, dollars.
    pub diff_mean: f64,
    /// Its 95% interval, dollars.
    pub diff_ci95: [f64; 2],
    /// Mean realised CLV per customer under `policy_a`, dollars.
    pub clv_a: f64,
    /// Mean realised CLV per customer under `policy_b`, dollars.
    pub clv_b: f64,
    /// Customers the means are over (all seeds).
    pub customers: u64,
}

/// One assumption swept alone, every other field at the scenario's value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParameterSweep {
    /// The scenario field path (`--set` grammar).
    pub path: String,
    /// The field's value in the scenario (with `--set`), in its unit.
    pub base_value: f64,
    /// The values swept, evenly spaced from the range's LO to HI.
    pub values: Vec<f64>,
    /// Per value (in the order of `values`), the differences, one per pair.
    pub points: Vec<Vec<PairDiff>>,
    /// Per pair: where the difference changes sign along the range.
    pub break_even: Vec<BreakEven>,
}

/// Where one pair's difference changes sign along a swept range (linear interpolation
/// between adjacent values), and how far it moves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BreakEven {
    /// The first policy.
    pub policy_a: String,
    /// The second policy.
    pub policy_b: String,
    /// Values of the field at which the difference is zero; empty: none in range.
    pub values: Vec<f64>,
    /// The difference at the range's LO, dollars per customer.
    pub diff_at_lo: f64,
    /// The difference at the range's HI, dollars per customer.
    pub diff_at_hi: f64,
    /// Largest minus smallest difference over the range (the tornado bar's length when the
    /// curve is monotone), dollars per customer.
    pub swing: f64,
    /// The crossing in words (`policy_a wins below 3.2, policy_b above`, or `no break-even in
    /// range: policy_a wins throughout`).
    pub summary: String,
}

/// Two assumptions swept together over every pair of their values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GridSweep {
    /// The first field (columns of the heat map).
    pub x: String,
    /// The second field (rows of the heat map).
    pub y: String,
    /// The values of `x`.
    pub x_values: Vec<f64>,
    /// The values of `y`.
    pub y_values: Vec<f64>,
    /// One cell per (x, y), x varying fastest: `cells[j * x_values.len() + i]` is at
    /// (`x_values[i]`, `y_values[j]`).
    pub cells: Vec<GridCell>,
    /// Per row (value of `y`) and pair: where the difference changes sign along `x`.
    pub break_even_along_x: Vec<GridBreakEven>,
}

/// Where one pair's difference changes sign along a grid row (`x` varying, `y` fixed).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GridBreakEven {
    /// The row's value of the grid's `y` field.
    pub y: f64,
    /// The first policy.
    pub policy_a: String,
    /// The second policy.
    pub policy_b: String,
    /// Values of `x` at which the difference is zero (linear interpolation); empty: none.
    pub values: Vec<f64>,
}

/// One point of a two-way grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GridCell {
    /// Value of the grid's `x` field.
    pub x: f64,
    /// Value of the grid's `y` field.
    pub y: f64,
    /// The policy with the highest mean realised CLV here.
    pub winner: String,
    /// The differences, one per pair.
    pub diffs: Vec<PairDiff>,
}

/// Run time of `clv sweep` (informational).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SweepTiming {
    /// Points evaluated (base, one-at-a-time values, grid cells).
    pub points: usize,
    /// Seconds of the evaluation of every point.
    pub elapsed_seconds: f64,
}

impl RunFile for SweepReport {
    const FILE: &'static str = "sweep.json";
    const SCHEMA_VERSION: u32 = SWEEP_SCHEMA_VERSION;
}

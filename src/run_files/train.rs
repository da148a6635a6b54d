//! `summary.json` of a training run (`clv train`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{RunFile, nan, nullable_f64};

/// Version of the layout of a training run's `summary.json`.
pub const TRAIN_SUMMARY_SCHEMA_VERSION: u32 = 1;

/// What a training run's `summary.json` holds: the budget spent and the test-seed evaluation
/// of the best-on-validation checkpoint. Numbers a file does not hold (or holds as `null`)
/// read as NaN.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Layout version ([`TRAIN_SUMMARY_SCHEMA_VERSION`]; 0 when written before it existed).
    #[serde(default)]
    pub schema_version: u32,
    /// `cartpole`, `pendulum`, or the scenario's name.
    pub env: String,
    /// The scenario file of a scenario run.
    pub scenario: Option<String>,
    /// Discount factor of the learner (informational).
    #[serde(default = "nan", deserialize_with = "nullable_f64")]
    pub gamma: f64,
    /// The learner: `dqn`, `myopic`, `ddpg` or `td3` (as `clv train --agent` names it).
    pub agent: String,
    /// Training seed.
    pub seed: u64,
    /// Device of the networks, e.g. `Cpu` (informational).
    #[serde(default)]
    pub device: String,
    /// Where the agent's config came from (a file, or the built-in default) (informational).
    #[serde(default)]
    pub config_source: String,
    /// Environment steps trained (customer-periods on a scenario).
    pub env_steps: u64,
    /// Gradient updates.
    pub updates: u64,
    /// Why training stopped, e.g. `EnvSteps`.
    pub stop: String,
    /// Seconds spent training (across resumes), excluding the final test evaluation
    /// (informational).
    #[serde(default = "nan", deserialize_with = "nullable_f64")]
    pub wall_seconds: f64,
    /// Seconds of this command, including the final test evaluation (informational).
    #[serde(default = "nan", deserialize_with = "nullable_f64")]
    pub command_wall_seconds: f64,
    /// Which checkpoint the test evaluation used (`best` or `last`).
    pub eval_checkpoint: String,
    /// Test episodes (test customers on a scenario).
    pub eval_episodes: usize,
    /// Mean test return (reward units; dollars per customer on a scenario).
    #[serde(deserialize_with = "nullable_f64")]
    pub eval_return_mean: f64,
    /// Standard deviation of the test returns, same unit.
    #[serde(deserialize_with = "nullable_f64")]
    pub eval_return_std: f64,
    /// Lowest test return, same unit.
    #[serde(default = "nan", deserialize_with = "nullable_f64")]
    pub eval_return_min: f64,
    /// Highest mean validation return, same unit.
    pub best_valid_return_mean: Option<f64>,
    /// Environment steps at which it was reached.
    pub best_valid_env_steps: Option<u64>,
    /// The last checkpoint on the same test seeds, for comparison: mean return.
    #[serde(default = "nan", deserialize_with = "nullable_f64")]
    pub last_eval_return_mean: f64,
    /// Standard deviation of the last checkpoint's test returns.
    #[serde(default = "nan", deserialize_with = "nullable_f64")]
    pub last_eval_return_std: f64,
    /// DQN on a scenario: the evaluated checkpoint's greedy-acting margin (scaled-reward
    /// units), chosen on validation when the config lists `margin_candidates`.
    pub action_margin: Option<f64>,
    /// Scenario runs: mean realised CLV per test customer of the evaluated checkpoint, dollars.
    pub eval_clv_mean: Option<f64>,
    /// Scenario runs: its 95% interval, dollars.
    pub eval_clv_ci95: Option<[f64; 2]>,
    /// Scenario runs: test customers.
    pub eval_customers: Option<u64>,
    /// Added by `clv demo`: the best tuned baseline on the run's own validation customers,
    /// drawn as a reference line by `clv report`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_baseline: Option<BestBaseline>,
    /// Scenario runs: the incumbent policy the learner's guard falls back to (recipe lever 4),
    /// if any.
    #[serde(default)]
    pub incumbent: Option<String>,
    /// Scenario runs with paired selection: the chosen checkpoint's check on a second,
    /// disjoint validation set (recipe lever 5).
    #[serde(default)]
    pub confirmation: Option<Confirmation>,
    /// Scenario runs with an incumbent: the evaluated checkpoint's paired CLV difference to
    /// the incumbent on the same test customers, dollars per customer, with its 95% interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_vs_incumbent: Option<crate::evaluation::Diff>,
}

/// The confirmation of the chosen checkpoint on a second validation set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Confirmation {
    /// Customers of the second validation set (0 when the choice was already the incumbent).
    pub customers: u64,
    /// Paired CLV lift over the incumbent on them, dollars per customer, with its 95% interval.
    pub lift: Option<clv_agents::PairedLift>,
    /// Whether the learner fell back to the incumbent (lower bound not above 0, or the
    /// incumbent was already chosen on the first validation set).
    pub fell_back: bool,
}

/// The best tuned baseline on a training run's validation customers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BestBaseline {
    /// Policy spec.
    pub policy: String,
    /// Its mean realised CLV per validation customer, dollars.
    pub return_mean: f64,
    /// The validation customers it was measured on: their count (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customers: Option<u64>,
    /// Their population seed, in the validation domain (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl RunFile for TrainSummary {
    const FILE: &'static str = "summary.json";
    const SCHEMA_VERSION: u32 = TRAIN_SUMMARY_SCHEMA_VERSION;
}

impl TrainSummary {
    /// Writes the summary to `path` atomically, as `clv train` does: pretty JSON in field
    /// order, without a final newline.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        crate::io::write_atomic(path, &serde_json::to_vec_pretty(self)?)
    }
}

/// The name serde gives a unit enum variant (`AgentKind::Td3` -> `td3`), or its `Debug` form
/// for a value that does not serialise to a string.
pub fn serde_name<T: Serialize + std::fmt::Debug>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{value:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_files::{known, parse};

    /// A summary as the report's tests and older versions wrote it: no `schema_version`,
    /// `gamma`, `device`, ... and `null` for a number.
    #[test]
    fn reads_older_and_partial_summaries() {
        let text = r#"{"env": "cartpole", "scenario": null, "agent": "dqn", "seed": 1,
            "env_steps": 10, "updates": 2, "stop": "EnvSteps", "wall_seconds": 1.0,
            "eval_checkpoint": "best", "eval_episodes": 3, "eval_return_mean": 2.5,
            "eval_return_std": null}"#;
        let s: TrainSummary = parse(text, Path::new("summary.json")).unwrap();
        assert_eq!(s.schema_version, 0);
        assert_eq!(known(s.eval_return_mean), Some(2.5));
        assert_eq!(known(s.eval_return_std), None);
        assert_eq!(known(s.gamma), None);
        assert!(s.best_baseline.is_none() && s.action_margin.is_none());
    }

    #[test]
    fn agent_names_are_serdes() {
        #[derive(Debug, Serialize)]
        #[serde(rename_all = "lowercase")]
        enum Kind {
            Td3,
        }
        assert_eq!(serde_name(&Kind::Td3), "td3");
    }
}

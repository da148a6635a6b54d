//! `critic.json` of `clv critic` (and of `clv demo`'s critic), and `clv critic --json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{RunFile, nullable_f64};

/// Version of the layout of `critic.json`.
pub const CRITIC_SCHEMA_VERSION: u32 = 1;

/// The trained critic as a CLV predictor, beside the classical BG/NBD x Gamma-Gamma one.
/// Written in field order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CriticReport {
    /// Layout version ([`CRITIC_SCHEMA_VERSION`]; 0 when written before it existed).
    #[serde(default)]
    pub schema_version: u32,
    /// Run directory of the scored agent.
    pub run: String,
    /// Scenario name.
    pub scenario: String,
    /// Validation customers (the calibration is fitted on them).
    pub valid_customers: u64,
    /// Test customers (the reported figures).
    pub test_customers: u64,
    /// Mean realised CLV per test customer under the agent, dollars.
    pub realised_mean: f64,
    /// The critic and the classical predictor.
    pub predictors: Vec<PredictorScore>,
}

/// Accuracy of one predictor on test customers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictorScore {
    /// Predictor name (`critic`, `classical`).
    pub predictor: String,
    /// Calibration fitted on validation customers: realised = intercept + slope * raw, dollars.
    pub intercept: f64,
    /// Slope of the calibration.
    pub slope: f64,
    /// Spearman rank correlation of prediction and realised CLV.
    pub spearman: f64,
    /// Share of the total realised CLV held by the customers in the predicted top decile
    /// (`null` where the total is zero).
    #[serde(deserialize_with = "nullable_f64")]
    pub top_decile_share: f64,
    /// Mean absolute error of the calibrated prediction, dollars.
    pub mae: f64,
    /// Mean absolute error of the raw prediction, dollars.
    pub mae_raw: f64,
    /// Mean realised CLV by predicted decile (1 = highest predictions), dollars.
    pub realised_by_decile: Vec<f64>,
    /// Mean calibrated prediction by predicted decile, dollars.
    pub predicted_by_decile: Vec<f64>,
}

impl RunFile for CriticReport {
    const FILE: &'static str = "critic.json";
    const SCHEMA_VERSION: u32 = CRITIC_SCHEMA_VERSION;
}

impl CriticReport {
    /// Writes the report to `path` atomically: pretty JSON in field order, final newline.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        crate::io::write_json(path, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_files_without_a_version() {
        let r = CriticReport {
            schema_version: CRITIC_SCHEMA_VERSION,
            run: "r".into(),
            scenario: "default".into(),
            valid_customers: 4,
            test_customers: 10,
            realised_mean: 2.5,
            predictors: vec![PredictorScore {
                predictor: "critic".into(),
                intercept: 0.0,
                slope: 1.0,
                spearman: 0.5,
                top_decile_share: f64::NAN,
                mae: 1.0,
                mae_raw: 2.0,
                realised_by_decile: vec![1.0],
                predicted_by_decile: vec![1.5],
            }],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("critic.json");
        r.write(&path).unwrap();
        let back: CriticReport = crate::run_files::read(&path).unwrap();
        assert_eq!(back.schema_version, CRITIC_SCHEMA_VERSION);
        assert!(back.predictors[0].top_decile_share.is_nan());
        let mut old = serde_json::to_value(&r).unwrap();
        old.as_object_mut().unwrap().remove("schema_version");
        let back: CriticReport =
            crate::run_files::parse(&old.to_string(), Path::new("critic.json")).unwrap();
        assert_eq!(back.schema_version, 0);
    }
}

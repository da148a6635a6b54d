//! CLV and churn prediction from the firm record, judged on the truth: the pieces of
//! `clv predict` and `clv score` that need no libtorch.
//!
//! - [`table`]: one row per customer (features, classical BG/NBD x Gamma-Gamma predictions, the
//!   realised value and churn in the window) from a simulated population or a log's holdout;
//! - [`forest`]: the tree-ensemble predictor (smartcore random forests);
//! - [`stack`]: fusing predictors with weights fitted on validation customers;
//! - [`metrics`], [`score`], [`bootstrap`]: how each predictor is judged, with paired
//!   bootstrap intervals of its difference to BG/NBD.

pub mod bootstrap;
pub mod forest;
pub mod metrics;
pub mod score;
pub mod stack;
pub mod table;

pub use bootstrap::{BootstrapCi, paired_bootstrap};
pub use forest::{ForestConfig, ForestRegressor};
pub use score::{Bootstrap, ChurnScore, ValueScore, score_churn, score_value};
pub use stack::{LinearStack, LogisticStack, RankStack};
pub use table::{
    LOG_FEATURES, Split, Table, discounted_classical_values, log_table, log_table_days,
    prob_no_purchase_in, scenario_table, split_of,
};

/// Errors of the prediction pieces.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// A setting out of its range, naming the field.
    #[error("{0}")]
    Config(String),
    /// A model could not be fitted or applied.
    #[error("model: {0}")]
    Model(String),
}

//! `clv-envs`: the customer population simulator and everything that does not need libtorch:
//! scenarios, the customer model, the vectorised population, metrics, baseline policies,
//! BG/NBD and Gamma-Gamma, fitting, and classic control tasks.
#![warn(missing_docs)]

pub mod btyd;
pub mod budget;
mod check;
pub mod classic;
#[cfg(test)]
mod closed_form_tests;
mod customer;
mod error;
pub mod evidence;
mod expected;
pub mod explain;
pub mod files;
pub mod fit;
pub mod metrics;
mod observation;
mod offer;
pub mod policy;
mod population;
pub mod predict;
pub mod rng;
mod rollout;
pub mod scenario;
mod trail;
mod train_env;
mod vec_env;

pub use check::{
    CheckConfig, CheckError, CheckReport, DEFAULT_CHECK_OTHER_SEED, DEFAULT_CHECK_SEED,
    DEFAULT_CHECK_STEPS, FinalObsFault, check_env,
};
pub use customer::{Customer, Dynamics, NO_OFFER, PeriodOutcome, Record, ResponseType};
pub use error::{EnvError, Result};
pub use expected::expected_reward;
pub use metrics::{EvalResult, MeanCi, Summary, Totals};
pub use observation::{EVIDENCE_FEATURES, FIXED_FEATURES, FeatureSet, FeatureSpec};
pub use offer::{CONTINUOUS_CODE, Offer};
pub use policy::{Mode, ObsBatch, Policy, PolicySpec, parse_baseline};
pub use population::{CHUNK, Population, classical_value, read_histories};
pub use rng::SeedDomain;
pub use scenario::{Scenario, Start, load_scenario};
pub use trail::{TRACE_HALF_LIVES_WEEKS, Trail, TrailMode};
pub use train_env::{OfferActions, PopulationEnv, RewardSignal};
pub use vec_env::{ActionSpace, Actions, Counterfactual, StepBatch, VecEnv};

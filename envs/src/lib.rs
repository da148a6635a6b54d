//! `clv-envs`: the customer population simulator and everything that does not need libtorch.
#![warn(missing_docs)]

pub mod btyd;
pub mod classic;
pub mod fit;
mod vec_env;

pub use vec_env::{ActionSpace, Actions, StepBatch, VecEnv};

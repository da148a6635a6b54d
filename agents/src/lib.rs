//! `clv-agents`: learning agents on libtorch for `clv-envs`.
#![warn(missing_docs)]

mod device;
mod error;
mod smoke;

pub use device::DeviceChoice;
pub use error::AgentError;
pub use smoke::{SmokeReport, smoke_regression};

//! The error type of the BTYD models.

use thiserror::Error;

/// Errors of the BTYD models: invalid parameters or customer histories.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BtydError {
    /// A model parameter is out of its domain.
    #[error("{field} must be {requirement}, got {value}")]
    InvalidParam {
        /// Dotted name of the parameter, e.g. `bgnbd.alpha`.
        field: &'static str,
        /// What the value must satisfy, e.g. `> 0`.
        requirement: &'static str,
        /// The value given.
        value: f64,
    },
    /// A customer history is inconsistent (e.g. last purchase after the end of observation).
    #[error("customer history: {field} must be {requirement}, got {value}")]
    InvalidHistory {
        /// Name of the history field, e.g. `t_x`.
        field: &'static str,
        /// What the value must satisfy.
        requirement: &'static str,
        /// The value given.
        value: f64,
    },
    /// Slices given to a summed log-likelihood have different lengths.
    #[error("slices of customer data have different lengths: {0} and {1}")]
    LengthMismatch(usize, usize),
}

/// Checks that `value` is finite and strictly positive.
pub(crate) fn check_positive(field: &'static str, value: f64) -> Result<(), BtydError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(BtydError::InvalidParam {
            field,
            requirement: "finite and > 0",
            value,
        })
    }
}

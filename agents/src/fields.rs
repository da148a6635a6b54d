//! What every agent config shares: range checks that name the field (`train.batch_size must
//! be at least 1, got 0`) and RON reading / writing with the source named in errors.

use std::path::Path;

use serde::Serialize;

use crate::error::AgentError;

/// `Ok` when `ok`, else [`AgentError::InvalidConfig`] naming `field` with `reason`.
pub(crate) fn check(
    ok: bool,
    field: &'static str,
    reason: impl FnOnce() -> String,
) -> Result<(), AgentError> {
    if ok {
        Ok(())
    } else {
        Err(AgentError::InvalidConfig {
            field,
            reason: reason(),
        })
    }
}

/// A finite value > 0, or an error naming `field`.
pub(crate) fn positive(x: f64, field: &'static str) -> Result<(), AgentError> {
    check(x.is_finite() && x > 0.0, field, || {
        format!("must be finite and > 0, got {x}")
    })
}

/// A finite value >= 0 (e.g. an acting margin), or an error naming `field`.
pub(crate) fn non_negative(x: f64, field: &'static str) -> Result<(), AgentError> {
    check(x.is_finite() && x >= 0.0, field, || {
        format!("must be finite and >= 0, got {x}")
    })
}

/// Every value finite and >= 0 (e.g. margin candidates), or an error naming `field`.
pub(crate) fn all_non_negative(xs: &[f64], field: &'static str) -> Result<(), AgentError> {
    check(xs.iter().all(|x| x.is_finite() && *x >= 0.0), field, || {
        format!("every value must be finite and >= 0, got {xs:?}")
    })
}

/// A count of at least 1, or an error naming `field`.
pub(crate) fn at_least_one<T: Into<u64> + Copy + std::fmt::Display>(
    x: T,
    field: &'static str,
) -> Result<(), AgentError> {
    check(x.into() >= 1, field, || {
        format!("must be at least 1, got {x}")
    })
}

/// A value in `[0, 1]`, or an error naming `field`.
pub(crate) fn unit(x: f64, field: &'static str) -> Result<(), AgentError> {
    check((0.0..=1.0).contains(&x), field, || {
        format!("must be in [0,1], got {x}")
    })
}

/// Parses RON text into a config type (missing fields take their serde defaults); `origin`
/// names the source in errors. Shared by every agent config.
pub(crate) fn parse_ron<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &str,
) -> Result<T, AgentError> {
    ron::from_str(text).map_err(|e| AgentError::ConfigParse {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// Reads a config file's text.
pub(crate) fn read_text(path: &Path) -> Result<String, AgentError> {
    std::fs::read_to_string(path).map_err(|e| AgentError::io("reading", path, e))
}

/// A config as pretty RON (every field, resolved).
pub(crate) fn pretty_ron<T: Serialize>(config: &T) -> String {
    ron::ser::to_string_pretty(config, ron::ser::PrettyConfig::default())
        .expect("agent configs hold only RON-representable values")
}

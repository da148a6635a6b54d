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

/// Widest hidden layer an agent config may ask for, units.
pub const MAX_LAYER_WIDTH: i64 = 16_384;
/// Most weights between consecutive hidden layers of one network (summed over the pairs):
/// 16.8 million (two layers of 4096 units), 64 MiB of `f32` (times about four with the target
/// network and Adam's moments).
pub const MAX_HIDDEN_WEIGHTS: i64 = 1 << 24;

/// Hidden layer widths: at least one layer, each in 1..=[`MAX_LAYER_WIDTH`], and at most
/// [`MAX_HIDDEN_WEIGHTS`] weights between consecutive layers; else an error naming `field`
/// (checked before libtorch allocates anything).
pub(crate) fn hidden_widths(h: &[i64], field: &'static str) -> Result<(), AgentError> {
    check(
        !h.is_empty() && h.iter().all(|&w| (1..=MAX_LAYER_WIDTH).contains(&w)),
        field,
        || format!("must list at least one width, each in 1..={MAX_LAYER_WIDTH}, got {h:?}"),
    )?;
    let weights: i64 = h.windows(2).map(|p| p[0] * p[1]).sum();
    check(weights <= MAX_HIDDEN_WEIGHTS, field, || {
        format!(
            "{h:?} has {weights} weights between hidden layers, more than the {MAX_HIDDEN_WEIGHTS} allowed"
        )
    })
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

/// Reads a config file's text (a regular file of at most
/// [`MAX_TEXT_BYTES`](clv_envs::files::MAX_TEXT_BYTES)).
pub(crate) fn read_text(path: &Path) -> Result<String, AgentError> {
    Ok(clv_envs::files::read_text(
        path,
        clv_envs::files::MAX_TEXT_BYTES,
    )?)
}

/// A config as pretty RON (every field, resolved).
pub(crate) fn pretty_ron<T: Serialize>(config: &T) -> String {
    ron::ser::to_string_pretty(config, ron::ser::PrettyConfig::default())
        .expect("agent configs hold only RON-representable values")
}

//! Typed errors of the simulator crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading a scenario, building a population or parsing a
/// policy spec.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// A scenario file could not be read.
    #[error("reading {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An input file refused or unreadable (not a regular file, too large, not text).
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    /// RON syntax or schema error, with its position in the file.
    #[error("{path}:{line}:{col}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        col: usize,
        /// What RON said.
        message: String,
    },
    /// A field holds a value outside its range.
    #[error("{field} {message}")]
    Invalid {
        /// Dotted path of the offending field, e.g. `coupon.saturation`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `--set path=value` override could not be applied.
    #[error("--set {assignment}: {message}")]
    Override {
        /// The assignment as given.
        assignment: String,
        /// What is wrong with it.
        message: String,
    },
    /// The population would not fit in memory.
    #[error(
        "a population of {customers} customers needs about {needed_mib} MiB, more than the {available_mib} MiB available; use fewer customers"
    )]
    TooLarge {
        /// Customers asked for.
        customers: u64,
        /// Estimated need, MiB.
        needed_mib: u64,
        /// Memory available, MiB.
        available_mib: u64,
    },
    /// A policy spec could not be parsed or does not fit the scenario.
    #[error("policy {spec:?}: {message}")]
    Policy {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        message: String,
    },
    /// Warm-start histories could not be used.
    #[error("warm start histories {path}: {message}")]
    Histories {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = EnvError> = std::result::Result<T, E>;

/// Builds an [`EnvError::Invalid`] for `field`.
pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> EnvError {
    EnvError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

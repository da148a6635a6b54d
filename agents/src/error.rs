//! Typed errors of the agents crate.

use std::path::PathBuf;

/// Everything that can go wrong in `clv-agents`.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// `--device cuda` on a machine where libtorch sees no GPU.
    #[error(
        "--device cuda: libtorch sees no CUDA device (this build links a CPU-only libtorch, or no GPU/driver is present); use --device cpu, or build against a CUDA libtorch (README, \"GPU\")"
    )]
    CudaUnavailable,
    /// A device name that is not one of cpu, cuda, auto.
    #[error("unknown device {0:?}: expected cpu, cuda or auto")]
    BadDevice(String),
    /// An error raised by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A configuration value out of its range; `field` is its full name (`dqn.gamma`).
    #[error("{field} {reason}")]
    InvalidConfig {
        /// Full name of the field, e.g. `dqn.gamma`.
        field: &'static str,
        /// What is wrong, with the value found, e.g. `must be in [0,1), got 1.2`.
        reason: String,
    },
    /// A configuration file that does not parse (syntax, unknown field, wrong type).
    #[error("config {origin}: {}", clv_envs::files::excerpt(.message))]
    ConfigParse {
        /// Where the text came from (a path, or `<string>`).
        origin: String,
        /// The parser's message, naming the offending field where there is one.
        message: String,
    },
    /// An environment that does not fit the agent (wrong action space, observation size).
    #[error("environment mismatch: {0}")]
    EnvMismatch(String),
    /// An agent spec (`KIND:RUN_DIR`) that does not fit the run it names (a myopic spec on a
    /// far-sighted run, `td3` on a DDPG run, an unknown kind).
    #[error("agent {spec}: {reason}")]
    AgentSpec {
        /// The spec, e.g. `myopic:results/run`.
        spec: String,
        /// What does not fit.
        reason: String,
    },
    /// Evaluation episodes that did not end within the step guard.
    #[error(
        "evaluation episodes did not end within {max_steps} vector steps (train.eval_max_steps)"
    )]
    EpisodesTooLong {
        /// The guard, vector steps per evaluation round.
        max_steps: u64,
    },
    /// A non-finite loss or gradient norm, caught before the optimiser step: training stops,
    /// the weights are those before the failed update, and the last good checkpoint (if one
    /// was written) is kept untouched.
    #[error(
        "training diverged at env step {env_steps}, update {updates}: loss {loss}, gradient norm {grad_norm} (not finite); the optimiser step was skipped{}",
        match last_good { Some(p) => format!("; last good checkpoint kept at {}", p.display()), None => String::from("; no checkpoint had been written yet") }
    )]
    Diverged {
        /// Environment steps (transitions) collected so far.
        env_steps: u64,
        /// Gradient updates completed so far (the failed one not counted).
        updates: u64,
        /// The loss of the failed update.
        loss: f64,
        /// The global gradient L2 norm of the failed update (before clipping).
        grad_norm: f64,
        /// The last checkpoint written before the failure, if any.
        last_good: Option<PathBuf>,
    },
    /// An input file refused or unreadable (not a regular file, too large, not text).
    #[error(transparent)]
    File(#[from] clv_envs::files::FileError),
    /// Reading or writing a file.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`writing`, `reading`, `renaming`).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A checkpoint that cannot be used (missing or inconsistent files).
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl AgentError {
    /// An [`AgentError::Io`] for `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        AgentError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

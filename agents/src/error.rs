//! Typed errors of the agents crate.

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
}

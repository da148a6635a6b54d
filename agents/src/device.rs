//! Where networks live: our own serde-able device choice (tch's `Device` has no serde), resolved
//! against what libtorch can see on this machine.

use serde::{Deserialize, Serialize};

use crate::error::AgentError;

/// The device a command builds its networks on, as the user asks for it (`--device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// The CPU (always available).
    Cpu,
    /// The first CUDA GPU; an error where libtorch sees none.
    Cuda,
    /// CUDA when libtorch sees a GPU, else the CPU.
    #[default]
    Auto,
}

impl DeviceChoice {
    /// Resolves the choice to a libtorch device, failing clearly when CUDA is asked for and
    /// libtorch sees no GPU (a CPU-only libtorch, or no driver).
    pub fn resolve(self) -> Result<tch::Device, AgentError> {
        match self {
            DeviceChoice::Cpu => Ok(tch::Device::Cpu),
            DeviceChoice::Cuda => {
                if tch::Cuda::is_available() {
                    Ok(tch::Device::Cuda(0))
                } else {
                    Err(AgentError::CudaUnavailable)
                }
            }
            DeviceChoice::Auto => Ok(tch::Device::cuda_if_available()),
        }
    }
}

impl std::str::FromStr for DeviceChoice {
    type Err = AgentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda),
            "auto" => Ok(DeviceChoice::Auto),
            other => Err(AgentError::BadDevice(other.to_string())),
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Auto => "auto",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves() {
        assert_eq!("CPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), tch::Device::Cpu);
        if !tch::Cuda::is_available() {
            let err = DeviceChoice::Cuda.resolve().unwrap_err();
            assert!(err.to_string().contains("CUDA"), "{err}");
            assert_eq!(DeviceChoice::Auto.resolve().unwrap(), tch::Device::Cpu);
        }
    }
}

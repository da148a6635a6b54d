//! `clv doctor`: proves the installation works end to end (libtorch links, the device resolves,
//! a small network learns) and says what it found.

use anyhow::Context;
use clv_agents::{DeviceChoice, smoke_regression};

/// Most Adam steps `--steps` accepts.
const MAX_STEPS: usize = 1_000_000;

/// The smoke regression has learned when its MSE falls below 1/LEARNED_RATIO of the start.
const LEARNED_RATIO: f64 = 20.0;

/// Arguments of `clv doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Device for the networks: cpu, cuda or auto (CUDA when available).
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// Adam steps of the smoke regression (1 to 1,000,000; a few hundred are needed to learn).
    #[arg(long, default_value_t = 500, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_STEPS as u64))]
    pub steps: usize,
}

/// Runs `clv doctor`.
pub fn run(args: Args) -> anyhow::Result<()> {
    println!("clv {}", env!("CARGO_PKG_VERSION"));
    println!(
        "libtorch: CUDA available: {}, cuDNN: {}, intra-op threads: {}",
        tch::Cuda::is_available(),
        tch::Cuda::cudnn_is_available(),
        tch::get_num_threads()
    );
    let started = std::time::Instant::now();
    let r = smoke_regression(args.device, args.steps, 1e-2, 7)
        .context("running the smoke regression")?;
    println!(
        "smoke regression on {:?}: MSE {:.4} -> {:.5} in {} Adam steps ({:.2} s)",
        r.device,
        r.initial_loss,
        r.final_loss,
        r.steps,
        started.elapsed().as_secs_f64()
    );
    anyhow::ensure!(
        r.final_loss < r.initial_loss / LEARNED_RATIO,
        "the smoke regression did not learn: its MSE went from {:.4} to {:.4} in {} Adam steps, \
         not below 1/{LEARNED_RATIO} of where it started (too few --steps? the default is 500)",
        r.initial_loss,
        r.final_loss,
        r.steps
    );
    println!("ok");
    Ok(())
}

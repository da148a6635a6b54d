//! `clv train` (being built).

/// Arguments of `clv train`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `clv train`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("clv train is not built yet")
}

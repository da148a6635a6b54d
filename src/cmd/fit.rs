//! `clv fit` (being built).

/// Arguments of `clv fit`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `clv fit`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("clv fit is not built yet")
}

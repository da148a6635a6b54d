//! `clv report` (being built).

/// Arguments of `clv report`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `clv report`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("clv report is not built yet")
}

//! One module per subcommand; `run` dispatches.

pub mod doctor;
pub mod fit;
pub mod simulate;
pub mod train;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Simulate(args) => simulate::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Train(args) => train::run(args),
        Command::Fit(args) => fit::run(args),
    }
}

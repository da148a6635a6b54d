//! One module per subcommand; `run` dispatches.

pub mod doctor;
pub mod fit;
pub mod train;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Doctor(args) => doctor::run(args),
        Command::Train(args) => train::run(args),
        Command::Fit(args) => fit::run(args),
    }
}

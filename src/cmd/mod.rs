//! One module per subcommand; `run` dispatches.

pub mod ablation;
pub mod acceptance;
pub mod bench;
pub mod compare;
pub mod critic;
pub mod demo;
pub mod doctor;
pub mod fit;
pub mod headline;
pub mod predict;
pub mod report;
pub mod scenario;
pub mod score;
pub mod simulate;
pub mod sweep;
pub mod train;
pub mod tune;

use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Tune(args) => tune::run(args),
        Command::Scenario(args) => scenario::run(args),
        Command::Critic(args) => critic::run(args),
        Command::Report(args) => report::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Train(args) => train::run(args),
        Command::Fit(args) => fit::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Score(args) => score::run(args),
    }
}

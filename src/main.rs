//! `clv`: the command-line front end of the CLV marketing simulator and agents.
//!
//! `main` calls `try_main` and maps errors to exit codes: 0 success, 1 a failed command
//! (bad input, a failed run), 2 a usage error (clap's own exit code).

mod agent_policy;
mod budget_report;
mod cli;
mod cmd;
mod evaluation;
mod io;
mod log_args;
mod parameter_draws;
mod plots;
mod policies;
mod predictors;
mod run_files;
mod scenario_args;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(err) = try_main(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn try_main(cli: cli::Cli) -> anyhow::Result<()> {
    cmd::run(cli)
}

//! `clv scenario validate|show`: check a scenario file, or print it resolved (every default
//! filled in and overrides applied) as RON.

use clap::Subcommand;

use crate::scenario_args::ScenarioArgs;

/// Arguments of `clv scenario`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do with the scenario.
    #[command(subcommand)]
    pub action: Action,
}

/// Scenario actions.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Check a scenario: syntax, unknown fields, every range. Exit 0 when valid.
    Validate(ScenarioArgs),
    /// Print the resolved scenario (defaults filled in, --set applied) as RON.
    Show(ScenarioArgs),
}

/// Runs `clv scenario`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::Validate(a) => {
            let s = a.load()?;
            let bytes = clv_envs::scenario::estimate_bytes(s.population.customers);
            println!(
                "{}: valid ({} customers, {} periods of {} week(s), about {:.1} MiB of state)",
                a.scenario.display(),
                s.population.customers,
                s.horizon,
                s.period_weeks,
                bytes as f64 / (1u64 << 20) as f64
            );
        }
        Action::Show(a) => print!("{}", crate::io::scenario_ron(&a.load()?)?),
    }
    Ok(())
}

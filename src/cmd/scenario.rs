//! `clv scenario validate|show`: check a scenario file, or print it resolved (every default
//! filled in and overrides applied) as RON, or explained field by field (`--explain`).

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
    /// Print the resolved scenario (defaults filled in, --set applied) as RON, or with
    /// --explain every field with its value, meaning, unit and valid range.
    Show(ShowArgs),
}

/// Arguments of `clv scenario show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Print every field (path in --set syntax) with its value, unit, valid range and meaning
    /// (the field's doc comment in the code) as aligned text, instead of RON.
    #[arg(long)]
    pub explain: bool,
    /// With --explain: print the fields as one JSON array instead.
    #[arg(long, requires = "explain")]
    pub json: bool,
}

/// Runs `clv scenario`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::Validate(a) => {
            let s = a.load()?;
            let bytes = clv_envs::scenario::estimate_bytes(
                s.population.customers,
                clv_envs::TrailMode::Keep,
            );
            println!(
                "{}: valid ({} customers, {} periods of {} week(s), about {:.1} MiB of state)",
                a.scenario.display(),
                s.population.customers,
                s.horizon,
                s.period_weeks,
                bytes as f64 / (1u64 << 20) as f64
            );
        }
        Action::Show(a) => {
            let s = a.scenario.load()?;
            if a.explain {
                let fields = clv_envs::explain::explain(&s)?;
                if a.json {
                    println!("{}", serde_json::to_string(&fields)?);
                } else {
                    print!("{}", clv_envs::explain::to_text(&fields));
                }
            } else {
                print!("{}", crate::io::scenario_ron(&s)?);
            }
        }
    }
    Ok(())
}

//! Command-line grammar (clap). Each subcommand's arguments live beside its implementation in
//! `cmd/`; this file only names them.

use clap::{Parser, Subcommand};

use crate::cmd;

/// Reinforcement-learning marketing simulator and agents for customer lifetime value.
///
/// Scenarios are RON files (see scenarios/). Policies are given as specs such as `none`,
/// `fixed:coupon20`, `cadence:coupon10:4`, `rfm-winback:8`, `churn-risk:0.5`, `dqn:RUN_DIR`.
#[derive(Debug, Parser)]
#[command(name = "clv", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole pipeline on a scenario: tuned baselines, DQN and TD3 (2 seeds each), comparison, critic, report.
    Demo(cmd::demo::Args),
    /// Run one policy over a scenario's population and report what it realised.
    Simulate(cmd::simulate::Args),
    /// Compare policies on the same customers (common random numbers), with paired intervals.
    Compare(cmd::compare::Args),
    /// How the paired CLV difference between policies moves with scenario assumptions: tornado, curves, break-even values, two-way grid.
    Sweep(cmd::sweep::Args),
    /// Tune a parameterised baseline on validation seeds; prints the best spec.
    Tune(cmd::tune::Args),
    /// Validate a scenario file, or show it resolved.
    Scenario(cmd::scenario::Args),
    /// The trained critic as a CLV predictor, against the classical BG/NBD x Gamma-Gamma one.
    Critic(cmd::critic::Args),
    /// Regenerate plots and the Markdown report of a run directory from its saved data.
    Report(cmd::report::Args),
    /// Benchmarks (simulator throughput, ...).
    Bench(cmd::bench::Args),
    /// Check the installation: libtorch version, device, and a tiny training run.
    Doctor(cmd::doctor::Args),
    /// Train an agent (DQN, DDPG, TD3) on a scenario or a classic control task.
    Train(cmd::train::Args),
    /// Fit BG/NBD and Gamma-Gamma to a transaction log and write a scenario.
    Fit(cmd::fit::Args),
    /// Train and judge CLV and churn predictors (BG/NBD, neural ZILN, random forest, critic, fused) on a scenario or a log's holdout.
    Predict(cmd::predict::Args),
    /// Per-customer scores of a transaction log for a CRM: RFM, P(alive), churn risk, predicted value, segment, and a policy's action now.
    Score(cmd::score::Args),
}

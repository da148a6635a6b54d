//! `clv compare`: several policies on the same customers and random streams (common random
//! numbers), with paired differences to a reference, overall and by value segment.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use crate::evaluation::{PolicyReport, evaluate_policies, report, segments};
use crate::io;
use crate::run_files::{self, Comparison, ComparisonTiming};
use crate::scenario_args::{EvalDomain, PopulationArgs, ScenarioArgs, set_threads};

/// Arguments of `clv compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Policy specs to compare (repeat --policy).
    #[arg(long = "policy", required = true)]
    pub policies: Vec<String>,
    /// Reference policy of the paired differences (default: `none`; added if not listed).
    #[arg(long, default_value = "none")]
    pub reference: String,
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Worker threads (0 = all cores). Results do not depend on it. At most 256.
    #[arg(long, default_value_t = 0, value_parser = crate::scenario_args::threads_arg())]
    pub threads: usize,
    /// Re-run the comparison over N draws of the fitted population parameters (BG/NBD and
    /// Gamma-Gamma, asymptotic normal, from the scenario's `population.uncertainty` that
    /// `clv fit` writes), on the same customers and random streams: intervals that cover
    /// estimation uncertainty as well as simulation noise, and the share of each
    /// (parameter_draws.csv, comparison.json `parameter_draws`). 0: parameters taken as known.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub parameter_draws: u32,
    /// Output directory (default results/compare-<time>): comparison.csv, comparison.json,
    /// series.csv (per period), scenario.ron, and report.md with plots/ (`clv report`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the comparison as one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `clv compare`.
pub fn run(args: Args) -> anyhow::Result<()> {
    set_threads(args.threads)?;
    if let Some(out) = &args.out {
        crate::io::check_out_dir(out, "--out")?;
    }
    let scenario = args.scenario.load()?;
    let customers = args.population.customers_of(&scenario);
    anyhow::ensure!(customers > 0, "--customers must be at least 1");
    let seeds = args.population.seed_list();
    let out = args.out.clone();
    let (doc, out) = compare_to_dir(
        &scenario,
        args.scenario.base_dir(),
        &args.policies,
        &args.reference,
        args.population.domain,
        &seeds,
        customers,
        out.as_deref(),
        args.quiet || args.json,
        args.parameter_draws,
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&run_files::sorted(&doc)?)?);
    } else {
        print!("{}", table(&doc.policies, &args.reference));
        if let Some(note) = &doc.warm_start_note {
            println!("{note}");
        }
        if let Some(b) = &doc.budget {
            print!("{}", crate::budget_report::table(b));
        }
        if let Some(p) = &doc.parameter_draws {
            print!("{}", crate::parameter_draws::table(p, &args.reference));
        }
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// The policies of a comparison, resolved, with the positions of the reference and of `none`.
struct Lineup {
    /// Specs in run order: as given, then the reference and `none` where not given.
    specs: Vec<String>,
    /// The resolved policies, in the order of `specs`.
    policies: Vec<Box<dyn clv_envs::Policy>>,
    /// Position of `none` (always run, for the incremental figures).
    none_idx: usize,
    /// Whether `none` was added only for those figures (then it is not shown).
    hidden_none: bool,
    /// Position of the reference.
    reference_idx: usize,
}

impl Lineup {
    /// Resolves `policies` (specs), adding `reference` and `none` where not listed.
    fn new(
        scenario: &clv_envs::Scenario,
        policies: &[String],
        reference: &str,
    ) -> anyhow::Result<Self> {
        let mut specs = policies.to_vec();
        if !specs.iter().any(|s| s == reference) {
            specs.push(reference.to_string());
        }
        let mut resolved = specs
            .iter()
            .map(|s| crate::policies::resolve(s, scenario))
            .collect::<anyhow::Result<Vec<_>>>()?;
        // `none` is always run, for the incremental figures.
        let none_pos = specs.iter().position(|s| s == "none");
        let (none_idx, hidden_none) = match none_pos {
            Some(i) => (i, false),
            None => {
                resolved.push(crate::policies::resolve("none", scenario)?);
                specs.push("none".into());
                (specs.len() - 1, true)
            }
        };
        let reference_idx = specs.iter().position(|s| s == reference).expect("added");
        Ok(Lineup {
            specs,
            policies: resolved,
            none_idx,
            hidden_none,
            reference_idx,
        })
    }

    /// Positions of the policies shown (all but a `none` added only for the figures).
    fn shown(&self) -> Vec<usize> {
        (0..self.specs.len())
            .filter(|i| !(self.hidden_none && *i == self.none_idx))
            .collect()
    }

    /// The rows of the shown policies over all customers (`segment = None`) or one segment.
    fn rows(
        &self,
        results: &[clv_envs::EvalResult],
        segment: Option<u8>,
        names: &[String],
    ) -> Vec<PolicyReport> {
        self.shown()
            .iter()
            .map(|i| {
                report(
                    results,
                    *i,
                    self.reference_idx,
                    Some(self.none_idx),
                    segment,
                    names,
                )
            })
            .collect()
    }
}

/// Compares `policies` (specs) against `reference` on the populations `seeds` (in `domain`) of
/// `customers` customers each, and writes comparison.{json,csv}, series.csv, scenario.ron and
/// the report (report.md, plots/) into `out` (default results/compare-<time>). Returns the
/// comparison and the directory.
#[allow(clippy::too_many_arguments)]
pub fn compare_to_dir(
    scenario: &clv_envs::Scenario,
    base_dir: &std::path::Path,
    policies: &[String],
    reference: &str,
    domain: EvalDomain,
    seeds: &[u64],
    customers: u64,
    out: Option<&std::path::Path>,
    quiet: bool,
    parameter_draws: u32,
) -> anyhow::Result<(Comparison, std::path::PathBuf)> {
    let mut lineup = Lineup::new(scenario, policies, reference)?;
    if parameter_draws > 0 {
        crate::parameter_draws::check(scenario, parameter_draws)?;
    }
    // The directory is locked once every argument is checked and before any work, so that
    // another process writing it is refused at once.
    let out = io::run_dir(out, "compare")?;
    let started = Instant::now();
    let per_run = scenario.horizon as u64 * seeds.len() as u64 * lineup.policies.len() as u64;
    let total = per_run * (1 + u64::from(parameter_draws));
    let bar = io::progress(total, "comparing", quiet);
    let results = evaluate_policies(
        scenario,
        base_dir,
        domain.seed_domain(),
        seeds,
        customers,
        &mut lineup.policies,
        &|d| bar.set_position(d),
    )?;
    let mut draw_rows: Vec<Vec<String>> = vec![];
    let draws = if parameter_draws > 0 {
        let shown = lineup.shown();
        Some(crate::parameter_draws::run(
            scenario,
            base_dir,
            domain.seed_domain(),
            seeds,
            customers,
            parameter_draws,
            &mut lineup.policies,
            &results,
            &shown,
            lineup.reference_idx,
            &|d| bar.set_position(per_run + d),
            &mut |d, drawn, figures| {
                let (b, g) = (&drawn.population.bgnbd, &drawn.population.spend);
                for (i, (clv, diff)) in shown.iter().zip(figures) {
                    draw_rows.push(vec![
                        d.to_string(),
                        lineup.specs[*i].clone(),
                        b.r.to_string(),
                        b.alpha.to_string(),
                        b.a.to_string(),
                        b.b.to_string(),
                        g.p.to_string(),
                        g.q.to_string(),
                        g.gamma.to_string(),
                        clv.to_string(),
                        diff.to_string(),
                    ]);
                }
            },
        )?)
    } else {
        None
    };
    bar.finish_and_clear();
    let names: Vec<String> = scenario.offers.iter().map(|o| o.name.clone()).collect();
    let doc = Comparison {
        schema_version: run_files::COMPARISON_SCHEMA_VERSION,
        scenario: scenario.name.clone(),
        customers_per_seed: customers,
        seeds: seeds.to_vec(),
        seed_domain: domain.name().to_string(),
        horizon: scenario.horizon,
        reference: reference.to_string(),
        intervals: INTERVALS.to_string(),
        roms_definition: crate::evaluation::ROMS_DEFINITION.to_string(),
        decision: crate::evaluation::decision(&results, &lineup.shown(), lineup.reference_idx),
        policies: lineup.rows(&results, None, &names),
        segments: segments()
            .map(|(code, name)| (name.to_string(), lineup.rows(&results, Some(code), &names)))
            .collect(),
        warm_start_note: warm_start_note(scenario, base_dir, seeds.len(), customers),
        budget: crate::budget_report::budget_report(scenario, &results, &lineup.shown()),
        parameter_draws: draws,
        timing: ComparisonTiming {
            elapsed_seconds: started.elapsed().as_secs_f64(),
        },
    };

    io::write_scenario(&out.join("scenario.ron"), scenario)?;
    run_files::write_sorted(&out.join("comparison.json"), &doc)?;
    write_comparison_csv(&out.join("comparison.csv"), &doc)?;
    write_series(&out.join("series.csv"), &results, &lineup.shown(), &names)?;
    if doc.parameter_draws.is_some() {
        io::write_csv(
            &out.join("parameter_draws.csv"),
            &[
                "draw",
                "policy",
                "bgnbd_r",
                "bgnbd_alpha",
                "bgnbd_a",
                "bgnbd_b",
                "spend_p",
                "spend_q",
                "spend_gamma",
                "clv_mean",
                "diff_vs_reference",
            ],
            &draw_rows,
        )?;
    }
    crate::cmd::report::report_dir(&out, None)?;
    io::finish_run_dir(&out)?;
    Ok((doc, out))
}

/// On a warm start, what the populations are made of: `seeds` populations of `customers`
/// customers, each starting from the same real histories (one per customer of the log, reused
/// in turn), so repeated seeds and populations larger than the log reuse real customers.
fn warm_start_note(
    scenario: &clv_envs::Scenario,
    base_dir: &std::path::Path,
    seeds: usize,
    customers: u64,
) -> Option<String> {
    let clv_envs::Start::WarmStart { histories } = &scenario.start else {
        return None;
    };
    let real = clv_envs::scenario::histories_path(histories, base_dir)
        .ok()
        .and_then(|p| clv_envs::read_histories(&p).ok())
        .map_or_else(|| "the".to_string(), |h| format!("the same {}", h.len()));
    Some(format!(
        "warm start: each of the {seeds} seed(s) x {customers} customers starts from {real} real customers' histories (reused in turn; hidden traits redrawn per seed), so repeated seeds add simulation noise, not new customers, and the intervals over customers understate the uncertainty about the real customer base (see --parameter-draws)"
    ))
}

/// What the intervals of a comparison are, in words (saved in comparison.json).
const INTERVALS: &str = "95% normal intervals over customers; paired differences use common random numbers; per comparison, unadjusted for multiple comparisons";

/// Columns of comparison.csv.
const CSV_HEADER: [&str; 31] = [
    "segment",
    "policy",
    "customers",
    "clv_mean",
    "clv_ci95_lo",
    "clv_ci95_hi",
    "clv52_mean",
    "diff_vs_reference",
    "diff_ci95_lo",
    "diff_ci95_hi",
    "margin_per_customer",
    "marketing_cost_per_customer",
    "purchases_per_customer",
    "avg_order_value",
    "active_share_end",
    "opt_out_share",
    "contacts_per_customer",
    "coupons_redeemed_per_customer",
    "incremental_purchases_vs_none",
    "incremental_margin_vs_none",
    "return_on_marketing_spend",
    "discount_on_baseline_share",
    "clv_gain_vs_none",
    "clv_gain_ci95_lo",
    "clv_gain_ci95_hi",
    "incremental_margin_ci95_lo",
    "incremental_margin_ci95_hi",
    "marketing_spend_discounted_per_customer",
    "roms_ci95_lo",
    "roms_ci95_hi",
    "roms_not_distinguishable_from_none",
];

/// One row of comparison.csv (the columns of [`CSV_HEADER`]).
fn csv_row(segment: &str, r: &PolicyReport) -> Vec<String> {
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let s = &r.summary;
    vec![
        segment.to_string(),
        r.policy.clone(),
        s.customers.to_string(),
        s.clv_mean.to_string(),
        s.clv_ci95[0].to_string(),
        s.clv_ci95[1].to_string(),
        s.clv52_mean.to_string(),
        r.diff_vs_reference.mean.to_string(),
        r.diff_vs_reference.ci95[0].to_string(),
        r.diff_vs_reference.ci95[1].to_string(),
        s.margin_per_customer.to_string(),
        s.marketing_cost_per_customer.to_string(),
        s.purchases_per_customer.to_string(),
        s.avg_order_value.to_string(),
        s.active_share_end.to_string(),
        s.opt_out_share.to_string(),
        s.contacts_per_customer.to_string(),
        s.coupons_redeemed_per_customer.to_string(),
        opt(r.incremental_purchases_vs_none),
        opt(r.incremental_margin_vs_none),
        opt(r.return_on_marketing_spend),
        s.discount_on_baseline_share.to_string(),
        opt(r.clv_gain_vs_none.map(|d| d.mean)),
        opt(r.clv_gain_vs_none.map(|d| d.ci95[0])),
        opt(r.clv_gain_vs_none.map(|d| d.ci95[1])),
        opt(r.incremental_margin_vs_none_ci95.map(|c| c[0])),
        opt(r.incremental_margin_vs_none_ci95.map(|c| c[1])),
        opt(r.marketing_spend_discounted),
        opt(r.return_on_marketing_spend_ci95.map(|c| c[0])),
        opt(r.return_on_marketing_spend_ci95.map(|c| c[1])),
        r.roms_not_distinguishable_from_none
            .map(|b| b.to_string())
            .unwrap_or_default(),
    ]
}

/// comparison.csv: the overall rows (segment `all`), then each segment's in the order high,
/// mid, low.
fn write_comparison_csv(path: &std::path::Path, doc: &Comparison) -> anyhow::Result<()> {
    let mut rows: Vec<Vec<String>> = doc.policies.iter().map(|r| csv_row("all", r)).collect();
    for (_, name) in segments() {
        for r in doc.segments.get(name).into_iter().flatten() {
            rows.push(csv_row(name, r));
        }
    }
    io::write_csv(path, &CSV_HEADER, &rows)
}

/// Per-period sums of every policy in long format: policy, period, reward, purchases,
/// contacts, alive, realised marketing spend, the budget's count of the offers kept, the
/// budget (empty when unlimited), offers dropped by the contact cap and by the budget, then
/// contacts by offer (`offers_<name>`), all per customer.
fn write_series(
    path: &std::path::Path,
    results: &[clv_envs::EvalResult],
    shown: &[usize],
    names: &[String],
) -> anyhow::Result<()> {
    let mut header = vec![
        "policy".to_string(),
        "period".into(),
        "reward_per_customer".into(),
        "purchases_per_customer".into(),
        "contacts_per_customer".into(),
        "alive_share".into(),
        "marketing_per_customer".into(),
        "budget_spend_per_customer".into(),
        "budget_per_customer".into(),
        "capped_offers_per_customer".into(),
        "cut_offers_per_customer".into(),
    ];
    header.extend(names.iter().map(|n| format!("offers_{n}_per_customer")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut rows = vec![];
    for i in shown {
        let r = &results[*i];
        let n = r.customers().max(1) as f64;
        for (t, row) in r.series.iter().enumerate() {
            let mut v = vec![
                r.policy.clone(),
                (t + 1).to_string(),
                (row.reward / n).to_string(),
                (row.purchases as f64 / n).to_string(),
                (row.contacts as f64 / n).to_string(),
                (row.alive as f64 / n).to_string(),
                (row.marketing / n).to_string(),
                (row.committed / n).to_string(),
                row.budget.map(|b| (b / n).to_string()).unwrap_or_default(),
                (row.capped as f64 / n).to_string(),
                (row.cut as f64 / n).to_string(),
            ];
            v.extend(
                row.offers
                    .iter()
                    .take(names.len())
                    .map(|c| (*c as f64 / n).to_string()),
            );
            rows.push(v);
        }
    }
    io::write_csv(path, &header, &rows)
}

/// The console table of `clv compare`: CLV with its interval, the paired difference to the
/// reference, contacts, discounted spend and ROMS with its paired interval; a ROMS whose CLV
/// gain over `none` is not distinguishable from zero is marked `*` (explained below the table).
fn table(rows: &[PolicyReport], reference: &str) -> String {
    let w = rows
        .iter()
        .map(|r| r.policy.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<w$}  {:>9}  {:>19}  {:>9}  {:>21}  {:>7}  {:>7}  {:>21}",
        "policy",
        "CLV $",
        "95% CI",
        "CLV52 $",
        format!("vs {reference} $ (95% CI)"),
        "contact",
        "spend $",
        "ROMS (95% CI)"
    );
    let mut flagged = false;
    for r in rows {
        let m = &r.summary;
        let roms = match (
            r.return_on_marketing_spend,
            r.return_on_marketing_spend_ci95,
        ) {
            (Some(v), Some([lo, hi])) => {
                let flag = r.roms_not_distinguishable_from_none == Some(true);
                flagged |= flag;
                format!("{v:.2} ({lo:.2},{hi:.2}){}", if flag { "*" } else { " " })
            }
            (Some(v), None) => format!("{v:.2} "),
            _ => "- ".into(),
        };
        let _ = writeln!(
            s,
            "{:<w$}  {:>9.2}  {:>8.2} .. {:>8.2}  {:>9.2}  {:>+7.2} ({:>+6.2},{:>+6.2})  {:>7.2}  {:>7.2}  {:>21}{}",
            r.policy,
            m.clv_mean,
            m.clv_ci95[0],
            m.clv_ci95[1],
            m.clv52_mean,
            r.diff_vs_reference.mean,
            r.diff_vs_reference.ci95[0],
            r.diff_vs_reference.ci95[1],
            m.contacts_per_customer,
            r.marketing_spend_discounted
                .unwrap_or(m.marketing_cost_per_customer),
            roms,
            if clv_envs::policy::reads_hidden_traits(&r.policy) {
                "  reference, not deployable (reads hidden traits)"
            } else {
                ""
            },
        );
    }
    let _ = writeln!(
        s,
        "spend: discounted discounts + contact costs per customer; ROMS: incremental discounted gross margin over `none` / spend (1 = break-even; ROMS - 1 = CLV gain over `none` / spend)."
    );
    if flagged {
        let _ = writeln!(
            s,
            "* the CLV gain over `none` is not distinguishable from zero (its paired 95% interval includes 0): this ROMS is not evidence that the marketing pays."
        );
    }
    s
}

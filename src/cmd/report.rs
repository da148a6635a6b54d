//! `clv report`: regenerates the plots (PNG and SVG under `DIR/plots/`) and the Markdown report
//! (`DIR/report.md`) of a run directory from its saved data, recomputing nothing.
//!
//! The kind of directory is told by the files in it:
//! - a comparison (`clv compare`): `comparison.json` and `series.csv` (and `scenario.ron` for
//!   the period's length). Plots: policy comparison with intervals, actions by value segment,
//!   actions over the horizon, outcomes (profit, alive share) over the horizon. The report
//!   states which policy wins, by how much against the reference, and how sure that is.
//! - a training run (`clv train`): `metrics.csv` (the fields of `clv_agents::MetricsRow`,
//!   empty cells for none) and `summary.json`. Plot: training curves (return and loss against
//!   environment steps). The report states the budget, wall time and final evaluation.
//! - a folder of training runs of the same task and agent (e.g. one per seed): every direct
//!   subdirectory holding `metrics.csv`. Plot: the curves' mean and min-max band across runs.
//!
//! comparison.json and summary.json are read through their typed layouts in
//! [`crate::run_files`] (documented in `docs/run-files.md`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::evaluation::PolicyReport;
use crate::io;
use crate::plots::{self, PolicySeries};
use crate::run_files::{self, Comparison, TrainSummary};

/// Where the plots go, relative to the run directory.
const PLOTS_DIR: &str = "plots";
/// The report's file name.
const REPORT_FILE: &str = "report.md";
/// Classic control tasks: returns are in reward units, not dollars.
const CLASSIC_ENVS: [&str; 2] = ["cartpole", "pendulum"];

/// Arguments of `clv report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run directory: written by `clv compare` (comparison.json, series.csv), by `clv train`
    /// (metrics.csv, summary.json), or a folder whose subdirectories are training runs of the
    /// same task and agent (plotted as the spread across runs).
    pub dir: PathBuf,
    /// Title of the report and the plots (default: from the run's data).
    #[arg(long)]
    pub title: Option<String>,
}

/// Runs `clv report`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let report = report_dir(&args.dir, args.title.as_deref())?;
    eprintln!("wrote {}", report.display());
    Ok(())
}

/// What a directory holds.
enum Kind {
    /// `clv compare` output.
    Comparison,
    /// One `clv train` run.
    Training,
    /// Several training runs, one per subdirectory (sorted).
    Runs(Vec<PathBuf>),
}

/// Regenerates the plots and `report.md` of `dir` from its saved data (a comparison, a
/// training run, or a folder of training runs); returns the report's path.
pub fn report_dir(dir: &Path, title: Option<&str>) -> anyhow::Result<PathBuf> {
    if !dir.exists() {
        bail!("run directory {} does not exist", dir.display());
    }
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let (md, what) = match detect(dir)? {
        Kind::Comparison => (comparison_report(dir, title)?, "comparison"),
        Kind::Training => (
            training_report(dir, &[dir.to_path_buf()], title)?,
            "training",
        ),
        Kind::Runs(runs) => (training_report(dir, &runs, title)?, "training runs"),
    };
    let path = dir.join(REPORT_FILE);
    io::write_atomic(&path, md.as_bytes()).with_context(|| format!("writing the {what} report"))?;
    Ok(path)
}

/// Tells the kind of `dir` from the files present.
fn detect(dir: &Path) -> anyhow::Result<Kind> {
    if dir.join("comparison.json").is_file() {
        return Ok(Kind::Comparison);
    }
    if dir.join("metrics.csv").is_file() {
        return Ok(Kind::Training);
    }
    let mut runs = vec![];
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = entry?.path();
        if p.is_dir() && p.join("metrics.csv").is_file() {
            runs.push(p);
        }
    }
    runs.sort();
    if runs.is_empty() {
        bail!(
            "{} holds nothing to report on: expected comparison.json and series.csv (written by \
             `clv compare`), metrics.csv and summary.json (written by `clv train`), or \
             subdirectories that are `clv train` run directories",
            dir.display()
        );
    }
    Ok(Kind::Runs(runs))
}

// ---------------------------------------------------------------------------------------------
// Comparisons

/// series.csv: per policy (in file order), per period.
#[derive(Debug, Default)]
struct Series {
    /// Policies in order of first appearance.
    policies: Vec<String>,
    /// Reward per customer, per policy, per period.
    reward: Vec<Vec<f64>>,
    /// Contacts per customer (= share contacted), per policy, per period.
    contacts: Vec<Vec<f64>>,
    /// Alive share, per policy, per period.
    alive: Vec<Vec<f64>>,
    /// Offer names from the `offers_<name>_per_customer` columns.
    offers: Vec<String>,
    /// Contacts per customer by offer, per policy, per offer, per period.
    by_offer: Vec<Vec<Vec<f64>>>,
}

/// Reads series.csv (long format: policy, period, then per-customer columns).
fn read_series(path: &Path) -> anyhow::Result<Series> {
    let mut r = csv::Reader::from_reader(
        clv_envs::files::open_limited(path, clv_envs::files::MAX_CSV_BYTES)
            .with_context(|| format!("reading {}", path.display()))?,
    );
    let header = r.headers()?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{} has no column {name}", path.display()))
    };
    let (c_policy, c_period) = (col("policy")?, col("period")?);
    let (c_reward, c_contacts, c_alive) = (
        col("reward_per_customer")?,
        col("contacts_per_customer")?,
        col("alive_share")?,
    );
    let offer_cols: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            h.strip_prefix("offers_")
                .and_then(|h| h.strip_suffix("_per_customer"))
                .map(|n| (i, n.to_string()))
        })
        .collect();
    let mut s = Series {
        offers: offer_cols.iter().map(|(_, n)| n.clone()).collect(),
        ..Series::default()
    };
    for (line, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("reading {}", path.display()))?;
        let num = |c: usize| -> anyhow::Result<f64> {
            let cell = rec.get(c).unwrap_or("");
            cell.parse::<f64>().with_context(|| {
                format!(
                    "{} row {}: column {} is not a number: {cell:?}",
                    path.display(),
                    line + 2,
                    &header[c]
                )
            })
        };
        let policy = rec.get(c_policy).unwrap_or("").to_string();
        let period = num(c_period)? as usize;
        anyhow::ensure!(
            period >= 1,
            "{} row {}: period < 1",
            path.display(),
            line + 2
        );
        let p = match s.policies.iter().position(|q| *q == policy) {
            Some(p) => p,
            None => {
                s.policies.push(policy);
                s.reward.push(vec![]);
                s.contacts.push(vec![]);
                s.alive.push(vec![]);
                s.by_offer.push(vec![vec![]; offer_cols.len()]);
                s.policies.len() - 1
            }
        };
        let put = |v: &mut Vec<f64>, x: f64| {
            if v.len() < period {
                v.resize(period, f64::NAN);
            }
            v[period - 1] = x;
        };
        put(&mut s.reward[p], num(c_reward)?);
        put(&mut s.contacts[p], num(c_contacts)?);
        put(&mut s.alive[p], num(c_alive)?);
        for (k, (c, _)) in offer_cols.iter().enumerate() {
            put(&mut s.by_offer[p][k], num(*c)?);
        }
    }
    anyhow::ensure!(!s.policies.is_empty(), "{} has no rows", path.display());
    Ok(s)
}

/// The period's name and the horizon in words, from the saved scenario (if readable).
fn period_words(dir: &Path, horizon: u32) -> (String, String) {
    let path = dir.join("scenario.ron");
    let weeks = clv_envs::files::read_text(&path, clv_envs::files::MAX_TEXT_BYTES)
        .ok()
        .and_then(|t| clv_envs::scenario::parse_scenario(&t, &path).ok())
        .map(|s| s.period_weeks);
    match weeks {
        Some(w) if (w - 1.0).abs() < 1e-9 => ("week".into(), format!("{horizon} weeks")),
        Some(w) if (w - 1.0 / 7.0).abs() < 1e-6 => ("day".into(), format!("{horizon} days")),
        Some(w) => (
            "period".into(),
            format!("{horizon} periods of {w:.3} weeks"),
        ),
        None => ("period".into(), format!("{horizon} periods")),
    }
}

/// Dollars with sign only when negative: `$6.66`, `-$3.65`.
pub(crate) fn usd(x: f64) -> String {
    if x < 0.0 {
        format!("-${:.2}", -x)
    } else {
        format!("${x:.2}")
    }
}

/// Dollars with a sign always: `+$0.40`, `-$3.65`.
pub(crate) fn usd_signed(x: f64) -> String {
    if x < 0.0 {
        format!("-${:.2}", -x)
    } else {
        format!("+${x:.2}")
    }
}

/// An interval in dollars: `-$0.21 to +$1.01`.
pub(crate) fn usd_interval(ci: [f64; 2], signed: bool) -> String {
    let f = if signed { usd_signed } else { usd };
    format!("{} to {}", f(ci[0]), f(ci[1]))
}

/// What an interval of a difference says, in words.
pub(crate) fn verdict(ci: [f64; 2]) -> &'static str {
    crate::cmd::headline::Side::of(ci).say([
        "the interval excludes zero: a clear gain at the 95% level",
        "the interval excludes zero: a clear loss at the 95% level",
        "the interval includes zero: not distinguishable from no difference with these customers",
    ])
}

/// Names the reference by its policy row: the saved `reference` is the spec as given, which a
/// policy may report in a longer form (`rfm-winback:8` runs as `rfm-winback:8:coupon20`). If
/// no row has that name, the one row whose difference to the reference is exactly zero is it.
fn resolve_reference(doc: &mut Comparison) {
    if doc.policies.iter().any(|r| r.policy == doc.reference) {
        return;
    }
    let zero: Vec<&PolicyReport> = doc
        .policies
        .iter()
        .filter(|r| r.diff_vs_reference.mean == 0.0 && r.diff_vs_reference.ci95 == [0.0, 0.0])
        .collect();
    if let [r] = zero.as_slice() {
        doc.reference = r.policy.clone();
    }
}

/// Segment names in the order high, mid, low (then any others).
fn segment_order(doc: &Comparison) -> Vec<String> {
    let mut names: Vec<String> = clv_envs::metrics::SEGMENTS
        .iter()
        .filter(|s| doc.segments.contains_key(**s))
        .map(|s| s.to_string())
        .collect();
    names.extend(
        doc.segments
            .keys()
            .filter(|k| !names.contains(k))
            .cloned()
            .collect::<Vec<_>>(),
    );
    names
}

/// A comparison as the report reads it, with what every section needs.
struct ComparisonView<'a> {
    /// comparison.json, with the reference named by its row.
    doc: &'a Comparison,
    /// Title of the report and the plots.
    title: String,
    /// The horizon in words (`260 weeks`).
    horizon: String,
    /// Name of one period (`week`).
    period_unit: String,
    /// Policies in the order of comparison.json.
    names: Vec<String>,
    /// Segment names in the order high, mid, low (then any others).
    segs: Vec<String>,
    /// Where the plots go.
    plots_dir: PathBuf,
    /// Which customers, short, for the plots' titles: `test seeds [0], 20000 customers`.
    customers: String,
}

impl ComparisonView<'_> {
    /// The overall rows, highest mean CLV first.
    fn by_clv(&self) -> Vec<&PolicyReport> {
        let mut by_clv: Vec<&PolicyReport> = self.doc.policies.iter().collect();
        by_clv.sort_by(|a, b| b.summary.clv_mean.total_cmp(&a.summary.clv_mean));
        by_clv
    }

    /// The row of `policy` in segment `seg`.
    fn seg_row(&self, seg: &str, policy: &str) -> Option<&PolicyReport> {
        self.doc
            .segments
            .get(seg)
            .and_then(|rows| rows.iter().find(|r| r.policy == policy))
    }
}

/// A plot's name in the report and its files.
type PlotFiles = (&'static str, Vec<PathBuf>);

/// Builds the plots and the Markdown report of a comparison directory.
fn comparison_report(dir: &Path, title: Option<&str>) -> anyhow::Result<String> {
    let json_path = dir.join("comparison.json");
    let mut doc: Comparison = run_files::read(&json_path)?;
    resolve_reference(&mut doc);
    anyhow::ensure!(
        !doc.policies.is_empty(),
        "{} lists no policies",
        json_path.display()
    );
    let series_path = dir.join("series.csv");
    anyhow::ensure!(
        series_path.is_file(),
        "{} is missing (written by `clv compare` beside comparison.json)",
        series_path.display()
    );
    let series = read_series(&series_path)?;
    let (period_unit, horizon) = period_words(dir, doc.horizon);
    let view = ComparisonView {
        title: title
            .map(str::to_string)
            .unwrap_or_else(|| format!("Policy comparison: {}", doc.scenario)),
        horizon,
        period_unit,
        names: doc.policies.iter().map(|r| r.policy.clone()).collect(),
        segs: segment_order(&doc),
        plots_dir: dir.join(PLOTS_DIR),
        customers: format!(
            "{} seeds {:?}, {} customers",
            doc.seed_domain,
            doc.seeds,
            doc.customers_per_seed * doc.seeds.len() as u64
        ),
        doc: &doc,
    };
    let mut plot_files = vec![("Policy comparison", plot_policy_comparison(&view)?)];
    if !view.segs.is_empty() {
        plot_files.push(("Actions by value segment", plot_segment_actions(&view)?));
    }
    let detail_policy = detail_policy(&view);
    plot_files.push((
        "Contacts over the horizon",
        plot_actions_over_time(&view, &series, detail_policy.as_deref())?,
    ));
    plot_files.push((
        "Profit and retention over the horizon",
        plot_outcomes(&view, &series)?,
    ));
    Ok(comparison_markdown(
        dir,
        &view,
        detail_policy.as_deref(),
        &plot_files,
    ))
}

/// Plot a: every policy's CLV and its paired difference to the reference, with intervals.
fn plot_policy_comparison(view: &ComparisonView) -> anyhow::Result<Vec<PathBuf>> {
    let comparison = plots::PolicyComparison {
        title: format!(
            "{}: realised CLV per customer ({})",
            view.title, view.customers
        ),
        reference: plot_label(&view.doc.reference),
        horizon: view.horizon.clone(),
        policies: view
            .doc
            .policies
            .iter()
            .map(|r| plots::PolicyInterval {
                policy: plot_label(&r.policy),
                clv_mean: r.summary.clv_mean,
                clv_ci95: r.summary.clv_ci95,
                diff_mean: r.diff_vs_reference.mean,
                diff_ci95: r.diff_vs_reference.ci95,
            })
            .collect(),
    };
    plots::policy_comparison(&view.plots_dir.join("policy_comparison"), &comparison)
}

/// The offers that any policy used, overall or in a segment, in catalogue order.
fn used_offers(doc: &Comparison) -> Vec<String> {
    let mut offer_names: Vec<String> = vec![];
    for rows in std::iter::once(&doc.policies).chain(doc.segments.values()) {
        for r in rows {
            for (name, v) in &r.summary.offers_per_customer {
                if *v > 0.0 && !offer_names.contains(name) {
                    offer_names.push(name.clone());
                }
            }
        }
    }
    let catalogue: Vec<&String> = doc.policies[0]
        .summary
        .offers_per_customer
        .iter()
        .map(|(n, _)| n)
        .collect();
    offer_names.sort_by_key(|n| catalogue.iter().position(|c| *c == n).unwrap_or(usize::MAX));
    offer_names
}

/// Plot b: contacts per customer by value segment, stacked by offer.
fn plot_segment_actions(view: &ComparisonView) -> anyhow::Result<Vec<PathBuf>> {
    let offer_names = used_offers(view.doc);
    let contacts = view
        .names
        .iter()
        .map(|p| {
            view.segs
                .iter()
                .map(|s| {
                    offer_names
                        .iter()
                        .map(|o| {
                            view.seg_row(s, p)
                                .and_then(|r| {
                                    r.summary.offers_per_customer.iter().find(|(n, _)| n == o)
                                })
                                .map_or(0.0, |(_, v)| *v)
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let data = plots::SegmentActions {
        title: format!(
            "{}: contacts per customer by value segment and offer ({})",
            view.title, view.customers
        ),
        horizon: view.horizon.clone(),
        segments: view.segs.clone(),
        segment_customers: view
            .segs
            .iter()
            .map(|s| {
                view.doc.segments[s]
                    .first()
                    .map_or(0, |r| r.summary.customers)
            })
            .collect(),
        offers: offer_names,
        policies: view.names.iter().map(|p| plot_label(p)).collect(),
        contacts,
    };
    plots::segment_actions(&view.plots_dir.join("actions_by_segment"), &data)
}

/// The policy whose offers plot c details: the best one that contacts anyone.
fn detail_policy(view: &ComparisonView) -> Option<String> {
    let by_clv = view.by_clv();
    let contacts = |r: &&&PolicyReport| r.summary.contacts_per_customer > 0.0;
    // A deployable policy first; one that reads hidden traits only when no other contacts.
    by_clv
        .iter()
        .filter(|r| !clv_envs::policy::reads_hidden_traits(&r.policy))
        .find(contacts)
        .or_else(|| by_clv.iter().find(contacts))
        .map(|r| r.policy.clone())
}

/// A policy's name in a plot: the spec, with `(reference, not deployable)` after one that
/// reads hidden traits (short, so that the plots keep their width; the report's text around
/// the plots gives the full label, [`crate::cmd::headline::NOT_DEPLOYABLE`]).
fn plot_label(spec: &str) -> String {
    if clv_envs::policy::reads_hidden_traits(spec) {
        format!("{spec} (reference, not deployable)")
    } else {
        spec.to_string()
    }
}

/// One policy's column of series.csv (empty when the policy is not there).
fn series_of(series: &Series, v: &[Vec<f64>], p: &str) -> Vec<f64> {
    series
        .policies
        .iter()
        .position(|q| q == p)
        .map(|i| v[i].clone())
        .unwrap_or_default()
}

/// Every policy's values of one series.csv column.
fn policy_series(view: &ComparisonView, series: &Series, v: &[Vec<f64>]) -> Vec<PolicySeries> {
    view.names
        .iter()
        .map(|p| PolicySeries {
            policy: plot_label(p),
            values: series_of(series, v, p),
        })
        .collect()
}

/// Plot c: every policy's share contacted over the horizon, and the offers of
/// `detail_policy`.
fn plot_actions_over_time(
    view: &ComparisonView,
    series: &Series,
    detail_policy: Option<&str>,
) -> anyhow::Result<Vec<PathBuf>> {
    let detail = detail_policy.and_then(|p| {
        let i = series.policies.iter().position(|q| q == p)?;
        let offers: Vec<(String, Vec<f64>)> = series
            .offers
            .iter()
            .zip(&series.by_offer[i])
            .filter(|(_, v)| v.iter().any(|x| *x > 0.0))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        Some(plots::OfferBreakdown {
            policy: plot_label(p),
            offers,
        })
    });
    let actions = plots::ActionsOverTime {
        title: format!(
            "{}: contacts over the horizon ({})",
            view.title, view.customers
        ),
        period_unit: view.period_unit.clone(),
        reference: plot_label(&view.doc.reference),
        contacted: policy_series(view, series, &series.contacts),
        detail,
    };
    plots::actions_over_time(&view.plots_dir.join("actions_over_time"), &actions)
}

/// Plot d: profit and alive share over the horizon.
fn plot_outcomes(view: &ComparisonView, series: &Series) -> anyhow::Result<Vec<PathBuf>> {
    let outcomes = plots::OutcomesOverTime {
        title: format!(
            "{}: profit and retention over the horizon ({})",
            view.title, view.customers
        ),
        period_unit: view.period_unit.clone(),
        reference: plot_label(&view.doc.reference),
        reward: policy_series(view, series, &series.reward),
        alive: policy_series(view, series, &series.alive),
    };
    plots::outcomes_over_time(&view.plots_dir.join("outcomes_over_time"), &outcomes)
}

/// The Markdown report of a comparison.
fn comparison_markdown(
    dir: &Path,
    view: &ComparisonView,
    detail_policy: Option<&str>,
    plot_files: &[PlotFiles],
) -> String {
    let mut s = String::new();
    md_comparison_intro(&mut s, view);
    let by_clv = view.by_clv();
    // Oracles read hidden traits: references a firm cannot deploy, never the headline.
    let deployable: Vec<&PolicyReport> = by_clv
        .iter()
        .copied()
        .filter(|r| !clv_envs::policy::reads_hidden_traits(&r.policy))
        .collect();
    md_headline(
        &mut s,
        view,
        if deployable.is_empty() {
            &by_clv
        } else {
            &deployable
        },
    );
    md_how_sure(&mut s, view.doc);
    md_uncertainty(&mut s, view.doc);
    md_policy_table(&mut s, view, &by_clv);
    md_budget(&mut s, view.doc);
    if !view.segs.is_empty() {
        md_segments(&mut s, view, &by_clv);
    }
    md_comparison_plots(&mut s, dir, view, detail_policy, plot_files);
    s
}

/// The warm-start note and, with `--parameter-draws`, each policy's difference to the
/// reference with its interval from simulation noise alone and from both sources.
fn md_uncertainty(s: &mut String, doc: &Comparison) {
    if let Some(note) = &doc.warm_start_note {
        let _ = writeln!(s, "Note: {note}.\n");
    }
    let Some(p) = &doc.parameter_draws else {
        return;
    };
    let _ = writeln!(
        s,
        "## Estimation uncertainty, on {}\n\n{} draws of the fitted BG/NBD and Gamma-Gamma \
         parameters ({} customers of the log; {}), each on the same customers and random \
         streams. The interval from both sources is mean +- 1.96 sqrt(simulation se^2 + \
         parameter sd^2); {}.\n",
        crate::cmd::headline::comparison_customers(doc),
        p.draws,
        p.fitted_customers,
        p.method,
        p.note
    );
    let _ = writeln!(
        s,
        "| policy | vs `{}` | 95% CI, simulation | 95% CI, simulation + parameters | parameter share of the variance | widening | CLV | its 95% CI, simulation + parameters |\n|---|---:|---:|---:|---:|---:|---:|---:|",
        doc.reference
    );
    for r in &p.policies {
        let d = &r.diff_vs_reference;
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {:.0}% | {} | {} | {} |",
            r.policy,
            usd_signed(d.mean),
            usd_interval(d.ci95_simulation, true),
            usd_interval(d.ci95_total, true),
            100.0 * d.parameter_share,
            d.widening.map_or("-".to_string(), |w| format!("{w:.2}x")),
            usd(r.clv.mean),
            usd_interval(r.clv.ci95_total, false),
        );
    }
    let _ = writeln!(
        s,
        "\nEach draw's parameters and figures: [parameter_draws.csv](parameter_draws.csv).\n"
    );
}

/// The budget and cap the policies acted under, and each policy's spend against it.
fn md_budget(s: &mut String, doc: &Comparison) {
    let Some(b) = &doc.budget else {
        return;
    };
    let budget = b.per_period.map_or("no budget".to_string(), |v| {
        format!("a budget of {} per period", usd(v))
    });
    let cap = b.cap_contacts.map_or("no contact cap".to_string(), |c| {
        format!(
            "at most {c} contact(s) per customer in each block of {} periods",
            b.cap_periods
        )
    });
    let _ = writeln!(
        s,
        "## Spend against budget, on {}\n\nEvery policy acted under {budget} (counting {}) and \
         {cap}. Each period the offers that did not fit were dropped in the policy's priority \
         order (`random-rank:` policies: at random). Dollars per period of one population; \
         per-period figures in [series.csv](series.csv).\n",
        crate::cmd::headline::comparison_customers(doc),
        if b.counts == "contacts" {
            "contact costs"
        } else {
            "contact costs and coupons at face value"
        },
    );
    let _ = writeln!(
        s,
        "| policy | budgeted spend / period | largest | largest share of budget | realised spend / period | periods the budget bound | offers cut / period | offers capped / period |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in &b.policies {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {:.1} | {:.1} |",
            p.policy,
            usd(p.committed_mean),
            usd(p.committed_max),
            p.max_share_of_budget
                .map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v)),
            usd(p.realised_mean),
            p.periods_binding,
            p.cut_per_period,
            p.capped_per_period,
        );
    }
    let _ = writeln!(s);
}

/// Title and what was compared.
fn md_comparison_intro(s: &mut String, view: &ComparisonView) {
    let doc = view.doc;
    let (title, horizon, reference) = (&view.title, &view.horizon, &doc.reference);
    let _ = writeln!(s, "# {title}\n");
    if let Some(d) = crate::cmd::headline::comparison_decision(doc) {
        let _ = write!(s, "{d}");
    }
    let _ = writeln!(
        s,
        "Scenario `{}`: {} customers per seed x {} seed(s) {:?}, scored over {horizon}, every \
         policy on the same customers and random streams (common random numbers). Reference \
         policy: `{reference}`.{}\n",
        doc.scenario,
        doc.customers_per_seed,
        doc.seeds.len(),
        doc.seeds,
        if doc.seed_domain == "validation" {
            " These are **validation** seeds (`--domain validation`): a diagnosis, not a \
             reported result."
        } else {
            ""
        },
    );
}

/// The Result section's headline: which policy wins, by how much, and the runner-up, among
/// `by_clv` (the deployable policies, best first).
fn md_headline(s: &mut String, view: &ComparisonView, by_clv: &[&PolicyReport]) {
    let (horizon, reference) = (&view.horizon, &view.doc.reference);
    let best = by_clv[0];
    let _ = writeln!(s, "## Result\n");
    if view
        .doc
        .policies
        .iter()
        .any(|r| clv_envs::policy::reads_hidden_traits(&r.policy))
    {
        let _ = writeln!(
            s,
            "Policies named `oracle-*` read hidden traits: upper references, not policies a \
             firm could run; the headline ranks the others.\n"
        );
    }
    if best.policy != *reference {
        let d = &best.diff_vs_reference;
        let pct = view
            .doc
            .policies
            .iter()
            .find(|r| r.policy == *reference)
            .filter(|r| r.summary.clv_mean > 0.0)
            .map(|r| {
                format!(
                    ", {:+.1}% of the reference's CLV",
                    100.0 * d.mean / r.summary.clv_mean
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "**`{}` {}**: the highest mean realised CLV over {horizon}, {} per customer (95% \
             CI {}). Against the reference `{reference}` it gains {} per customer (paired 95% \
             CI {}{pct}); {}.\n",
            best.policy,
            if d.ci95[0] > 0.0 {
                "wins"
            } else {
                "comes first, but not clearly"
            },
            usd(best.summary.clv_mean),
            usd_interval(best.summary.clv_ci95, false),
            usd_signed(d.mean),
            usd_interval(d.ci95, true),
            verdict(d.ci95),
        );
        if let Some(next) = by_clv.get(1)
            && next.policy != *reference
        {
            let _ = writeln!(
                s,
                "Runner-up: `{}` at {} per customer, {} below the winner (a difference of \
                 means; the saved data hold paired intervals against the reference only).\n",
                next.policy,
                usd(next.summary.clv_mean),
                usd(best.summary.clv_mean - next.summary.clv_mean),
            );
        }
    } else {
        md_reference_wins(s, view, by_clv);
    }
}

/// The headline when the reference itself has the highest CLV.
fn md_reference_wins(s: &mut String, view: &ComparisonView, by_clv: &[&PolicyReport]) {
    let (horizon, reference) = (&view.horizon, &view.doc.reference);
    let best = by_clv[0];
    let _ = writeln!(
        s,
        "**The reference `{reference}` wins**: the highest mean realised CLV over {horizon}, \
         {} per customer (95% CI {}).",
        usd(best.summary.clv_mean),
        usd_interval(best.summary.clv_ci95, false),
    );
    // A policy with a difference of exactly zero on every customer acts as the reference (a
    // learner that fell back to it): not an alternative.
    let acts_as_reference = |r: &&&PolicyReport| {
        r.diff_vs_reference.mean == 0.0 && r.diff_vs_reference.ci95 == [0.0, 0.0]
    };
    let same: Vec<&str> = by_clv
        .iter()
        .skip(1)
        .filter(acts_as_reference)
        .map(|r| r.policy.as_str())
        .collect();
    if !same.is_empty() {
        let _ = writeln!(
            s,
            "`{}` act{} exactly as the reference (the same CLV on every customer).",
            same.join("`, `"),
            if same.len() == 1 { "s" } else { "" }
        );
    }
    if let Some(next) = by_clv.iter().skip(1).find(|r| !acts_as_reference(r)) {
        let d = &next.diff_vs_reference;
        let _ = writeln!(
            s,
            "The closest alternative, `{}`, differs from it by {} per customer (paired 95% \
             CI {}); {}.",
            next.policy,
            usd_signed(d.mean),
            usd_interval(d.ci95, true),
            verdict(d.ci95),
        );
    }
    s.push('\n');
}

/// What the intervals mean, and the multiple-comparison caveat.
fn md_how_sure(s: &mut String, doc: &Comparison) {
    let others = doc
        .policies
        .iter()
        .filter(|r| r.policy != doc.reference)
        .count();
    let _ = writeln!(
        s,
        "How sure: intervals are 95% normal intervals over customers; paired differences use the \
         common random numbers, so they are usually much narrower than the intervals of the \
         means. They are per comparison and unadjusted for multiple comparisons{}.\n",
        if others > 1 {
            format!(
                ": with {others} policies compared against the reference, the chance that at \
                 least one interval excludes zero by luck alone is above 5%"
            )
        } else {
            String::new()
        }
    );
}

/// The Policies section: one table row per policy, best first.
fn md_policy_table(s: &mut String, view: &ComparisonView, by_clv: &[&PolicyReport]) {
    let (horizon, reference) = (&view.horizon, &view.doc.reference);
    let _ = writeln!(
        s,
        "## Policies, on {}\n",
        crate::cmd::headline::comparison_customers(view.doc)
    );
    let header = format!(
        "| policy | CLV $ | 95% CI | CLV52 $ | vs {reference} $ | 95% CI | contacts | spend $ | incr. margin $ | 95% CI | ROMS | 95% CI | active end | opted out |\n|---|---:|---|---:|---:|---|---:|---:|---:|---|---:|---|---:|---:|"
    );
    let mut flagged = false;
    let _ = writeln!(s, "{header}");
    for r in by_clv {
        let m = &r.summary;
        let flag = r.roms_not_distinguishable_from_none == Some(true);
        flagged |= flag;
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.2} .. {:.2} | {:.2} | {:+.2} | {:+.2} .. {:+.2} | {:.2} | {:.2} | {} | {} | {}{} | {} | {:.1}% | {:.1}% |",
            crate::cmd::headline::policy_label(&r.policy),
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
            r.incremental_margin_vs_none
                .map(|v| format!("{v:+.2}"))
                .unwrap_or_default(),
            r.incremental_margin_vs_none_ci95
                .map(|c| format!("{:+.2} .. {:+.2}", c[0], c[1]))
                .unwrap_or_default(),
            r.return_on_marketing_spend
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "-".into()),
            if flag { " **n.d.**" } else { "" },
            r.return_on_marketing_spend_ci95
                .map(|c| format!("{:.2} .. {:.2}", c[0], c[1]))
                .unwrap_or_default(),
            100.0 * m.active_share_end,
            100.0 * m.opt_out_share,
        );
    }
    if view.doc.roms_definition.is_empty() {
        // Schema 1: undiscounted totals, no intervals.
        let _ = writeln!(
            s,
            "\nCLV: realised, discounted profit per customer over {horizon}; CLV52: over the \
             first 52 weeks. Contacts and spend (discounts + contact costs, undiscounted) per \
             customer over the horizon; incr. margin: undiscounted gross margin over `none`; \
             ROMS: incremental margin / marketing cost (this comparison was saved before \
             intervals on them); active end: share still buying at the horizon.\n"
        );
        return;
    }
    let _ = writeln!(
        s,
        "\nCLV: realised, discounted profit per customer over {horizon}; CLV52: over the first \
         52 weeks. Contacts per customer over the horizon; spend: discounted marketing spend \
         per customer (discounts at face value + contact costs); incr. margin: discounted gross \
         margin over `none`, paired by customer; active end: share still buying at the \
         horizon.\n\n**{}.** Its interval is the delta method's on the paired per-customer \
         terms.{}\n",
        view.doc.roms_definition,
        if flagged {
            " **n.d.**: the policy's CLV gain over `none` is not distinguishable from zero (its \
             paired 95% interval includes 0): its ROMS is not evidence that the marketing pays."
        } else {
            ""
        }
    );
}

/// The By value segment section.
fn md_segments(s: &mut String, view: &ComparisonView, by_clv: &[&PolicyReport]) {
    let _ = writeln!(
        s,
        "## By value segment, on {}\n",
        crate::cmd::headline::comparison_customers(view.doc)
    );
    let _ = writeln!(
        s,
        "Segments come from each customer's record at the start of the scored window \
         (pre-treatment), so customers stay paired across policies.\n"
    );
    // The focus is deployable: a policy that reads hidden traits never leads a section.
    let deployable: Vec<&PolicyReport> = by_clv
        .iter()
        .copied()
        .filter(|r| !clv_envs::policy::reads_hidden_traits(&r.policy))
        .collect();
    let focus = match deployable.first() {
        Some(b) if b.policy != view.doc.reference => Some(*b),
        _ => deployable.get(1).copied(),
    };
    if let Some(f) = focus {
        md_segment_focus(s, view, f);
    }
    md_segment_winners(s, view);
    md_segment_table(s, view);
}

/// Where the focus policy (the winner, or the best alternative to a winning reference) gains,
/// segment by segment.
fn md_segment_focus(s: &mut String, view: &ComparisonView, f: &PolicyReport) {
    let segs = &view.segs;
    let total_n: u64 = segs
        .iter()
        .filter_map(|g| view.seg_row(g, &f.policy))
        .map(|r| r.summary.customers)
        .sum();
    let total_gain = f.diff_vs_reference.mean;
    let mut parts = vec![];
    let mut best_seg: Option<(&str, f64)> = None;
    for g in segs {
        let Some(r) = view.seg_row(g, &f.policy) else {
            continue;
        };
        let d = &r.diff_vs_reference;
        let share = if total_gain.abs() > 1e-12 && total_n > 0 {
            format!(
                ", {:.0}% of the overall difference",
                100.0 * d.mean * r.summary.customers as f64 / (total_gain * total_n as f64)
            )
        } else {
            String::new()
        };
        let sure = if d.ci95[0] > 0.0 {
            "clear gain"
        } else if d.ci95[1] < 0.0 {
            "clear loss"
        } else {
            "interval includes zero"
        };
        parts.push(format!(
            "- **{g}** ({} customers): {} per customer (95% CI {}; {sure}){share}; {:.1} \
             contacts per customer.",
            r.summary.customers,
            usd_signed(d.mean),
            usd_interval(d.ci95, true),
            r.summary.contacts_per_customer,
        ));
        if best_seg.is_none_or(|(_, m)| d.mean > m) {
            best_seg = Some((g, d.mean));
        }
    }
    if let Some((g, m)) = best_seg {
        let _ = writeln!(
            s,
            "`{}` against `{}`: it gains most per customer in the **{g}** segment ({}).\n",
            f.policy,
            view.doc.reference,
            usd_signed(m),
        );
    }
    for p in parts {
        let _ = writeln!(s, "{p}");
    }
    s.push('\n');
}

/// The policy with the highest CLV within each segment.
fn md_segment_winners(s: &mut String, view: &ComparisonView) {
    let reference = &view.doc.reference;
    let mut winners = vec![];
    for g in &view.segs {
        if let Some(w) = view.doc.segments[g]
            .iter()
            .filter(|r| !clv_envs::policy::reads_hidden_traits(&r.policy))
            .max_by(|a, b| a.summary.clv_mean.total_cmp(&b.summary.clv_mean))
        {
            winners.push(if w.policy == *reference {
                format!(
                    "{g}: `{}` ({}, the reference)",
                    w.policy,
                    usd(w.summary.clv_mean)
                )
            } else {
                format!(
                    "{g}: `{}` ({}; vs `{reference}` {}, CI {})",
                    w.policy,
                    usd(w.summary.clv_mean),
                    usd_signed(w.diff_vs_reference.mean),
                    usd_interval(w.diff_vs_reference.ci95, true),
                )
            });
        }
    }
    let _ = writeln!(
        s,
        "Highest CLV within each segment among deployable policies: {}.\n",
        winners.join("; ")
    );
}

/// Every policy in every segment.
fn md_segment_table(s: &mut String, view: &ComparisonView) {
    let _ = writeln!(
        s,
        "| segment | policy | customers | CLV $ | 95% CI | vs {} $ | 95% CI | contacts | cost $ (undiscounted) |\n|---|---|---:|---:|---|---:|---|---:|---:|",
        view.doc.reference
    );
    for g in &view.segs {
        for r in &view.doc.segments[g] {
            let m = &r.summary;
            let _ = writeln!(
                s,
                "| {g} | {} | {} | {:.2} | {:.2} .. {:.2} | {:+.2} | {:+.2} .. {:+.2} | {:.2} | {:.2} |",
                crate::cmd::headline::policy_label(&r.policy),
                m.customers,
                m.clv_mean,
                m.clv_ci95[0],
                m.clv_ci95[1],
                r.diff_vs_reference.mean,
                r.diff_vs_reference.ci95[0],
                r.diff_vs_reference.ci95[1],
                m.contacts_per_customer,
                m.marketing_cost_per_customer,
            );
        }
    }
    s.push('\n');
}

/// The Plots section (each plot with its caption) and the Data section.
fn md_comparison_plots(
    s: &mut String,
    dir: &Path,
    view: &ComparisonView,
    detail_policy: Option<&str>,
    plot_files: &[PlotFiles],
) {
    let reference = &view.doc.reference;
    let _ = writeln!(
        s,
        "## Plots, on {}\n",
        crate::cmd::headline::comparison_customers(view.doc)
    );
    let oracles: Vec<&str> = view
        .names
        .iter()
        .filter(|p| clv_envs::policy::reads_hidden_traits(p))
        .map(String::as_str)
        .collect();
    if !oracles.is_empty() {
        let _ = writeln!(
            s,
            "In every plot, `{}` is a {}.\n",
            oracles.join("`, `"),
            crate::cmd::headline::NOT_DEPLOYABLE
        );
    }
    for (name, files) in plot_files {
        let caption = match *name {
            "Policy comparison" => format!(
                "Mean realised CLV per customer with 95% intervals (left), and the paired \
                 difference to `{reference}` (right), best policy on top. Green: better than \
                 the reference (interval above zero); blue: not distinguishable; red: worse."
            ),
            "Actions by value segment" => "Contacts per customer over the horizon, by value \
                 segment, stacked by offer."
                .to_string(),
            "Contacts over the horizon" => match detail_policy {
                Some(p) => format!(
                    "Share of customers contacted in each period by each policy (top), and \
                     the offers `{p}` sends (bottom)."
                ),
                None => "Share of customers contacted in each period by each policy.".into(),
            },
            _ => "Profit per customer in each period (top) and the share of customers still \
                 alive (bottom), by policy."
                .to_string(),
        };
        let _ = writeln!(
            s,
            "### {name}\n\n{caption} On {}.\n",
            crate::cmd::headline::comparison_customers(view.doc)
        );
        let _ = write!(s, "{}", embed(dir, name, files));
    }
    let _ = writeln!(
        s,
        "## Data\n\n[comparison.json](comparison.json), [comparison.csv](comparison.csv), \
         [series.csv](series.csv) (per period), [scenario.ron](scenario.ron) (the resolved \
         scenario). This report was regenerated from them by `clv report`."
    );
}

/// The Markdown that embeds a plot's PNG and links its SVG, with paths relative to `dir`.
fn embed(dir: &Path, name: &str, files: &[PathBuf]) -> String {
    let rel = |p: &PathBuf| {
        p.strip_prefix(dir)
            .unwrap_or(p)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    };
    let png = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "png"));
    let svg = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "svg"));
    let mut s = String::new();
    if let Some(p) = png {
        let _ = writeln!(s, "![{name}]({})\n", rel(p));
    }
    if let Some(p) = svg {
        let _ = writeln!(s, "[{name} as SVG]({})\n", rel(p));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Training runs

/// One row of metrics.csv (the fields of `clv_agents::MetricsRow`; empty cells are none).
#[derive(Debug, Deserialize)]
struct MetricsCsvRow {
    env_steps: f64,
    #[serde(default)]
    train_return_mean: Option<f64>,
    #[serde(default)]
    loss: Option<f64>,
    #[serde(default)]
    valid_return_mean: Option<f64>,
    #[serde(default)]
    valid_return_std: Option<f64>,
    #[serde(default)]
    wall_seconds: Option<f64>,
    #[serde(default)]
    valid_lift_mean: Option<f64>,
    #[serde(default)]
    valid_lift_lower: Option<f64>,
    #[serde(default)]
    valid_lift_upper: Option<f64>,
}

/// A training run as read back.
struct Run {
    dir: PathBuf,
    points: Vec<plots::TrainingPoint>,
    /// Paired validation lift over the incumbent at each validation (paired selection).
    lift: Vec<plots::LiftPoint>,
    /// Wall seconds of the last metrics row.
    wall_seconds: Option<f64>,
    /// summary.json, if the run finished.
    summary: Option<TrainSummary>,
}

impl Run {
    /// Environment steps: the summary's, else the last metrics row's.
    fn env_steps(&self) -> f64 {
        match &self.summary {
            Some(s) => s.env_steps as f64,
            None => self.points.last().map_or(0.0, |p| p.env_steps),
        }
    }

    /// Wall seconds of training: the summary's, else the last metrics row's.
    fn wall_seconds(&self) -> Option<f64> {
        self.summary
            .as_ref()
            .and_then(|s| run_files::known(s.wall_seconds))
            .or(self.wall_seconds)
    }

    /// A number of the summary (`None` without one, or where it holds none).
    fn number(&self, field: impl Fn(&TrainSummary) -> f64) -> Option<f64> {
        self.summary
            .as_ref()
            .and_then(|s| run_files::known(field(s)))
    }
}

/// Reads a run directory's metrics.csv and summary.json.
fn read_run(dir: &Path) -> anyhow::Result<Run> {
    let path = dir.join("metrics.csv");
    let mut r = csv::Reader::from_reader(
        clv_envs::files::open_limited(&path, clv_envs::files::MAX_CSV_BYTES)
            .with_context(|| format!("reading {}", path.display()))?,
    );
    let mut points = vec![];
    let mut lift = vec![];
    let mut wall_seconds = None;
    for (i, row) in r.deserialize::<MetricsCsvRow>().enumerate() {
        let row = row.with_context(|| format!("{} row {}", path.display(), i + 2))?;
        wall_seconds = row.wall_seconds.or(wall_seconds);
        if let (Some(m), Some(lo), Some(hi)) = (
            row.valid_lift_mean,
            row.valid_lift_lower,
            row.valid_lift_upper,
        ) {
            lift.push((row.env_steps, m, lo, hi));
        }
        points.push(plots::TrainingPoint {
            env_steps: row.env_steps,
            train_return: row.train_return_mean,
            valid_return: row.valid_return_mean,
            valid_std: row.valid_return_std,
            loss: row.loss,
        });
    }
    anyhow::ensure!(!points.is_empty(), "{} has no rows", path.display());
    let summary_path = dir.join("summary.json");
    let summary = if summary_path.is_file() {
        Some(run_files::read::<TrainSummary>(&summary_path)?)
    } else {
        None
    };
    Ok(Run {
        dir: dir.to_path_buf(),
        points,
        lift,
        wall_seconds,
        summary,
    })
}

/// One summary field as text (`None` where the summary holds none).
type SummaryField = fn(&TrainSummary) -> Option<String>;

/// The summary fields that runs pooled into one spread must share, by name.
const SAME_TASK_FIELDS: [(&str, SummaryField); 3] = [
    ("scenario", |s| s.scenario.clone()),
    ("env", |s| Some(s.env.clone())),
    ("agent", |s| Some(s.agent.clone())),
];

/// The task a run trained on: the summary's `scenario`, else its `env`.
fn task(run: &Run) -> Option<String> {
    let s = run.summary.as_ref()?;
    Some(s.scenario.clone().unwrap_or_else(|| s.env.clone()))
}

/// Seconds as `12.3 s`, `4 min 5 s` or `1 h 2 min`.
fn duration(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        format!("{} min {:.0} s", (secs / 60.0).floor(), secs % 60.0)
    } else {
        format!(
            "{} h {:.0} min",
            (secs / 3600.0).floor(),
            (secs % 3600.0) / 60.0
        )
    }
}

/// A directory's name for display.
fn dir_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Fails when the runs under `dir` differ in scenario, env or agent.
fn check_same_task(dir: &Path, runs: &[Run]) -> anyhow::Result<()> {
    for (key, field) in SAME_TASK_FIELDS {
        let values: Vec<(String, String)> = runs
            .iter()
            .filter_map(|r| field(r.summary.as_ref()?).map(|v| (dir_name(&r.dir), v)))
            .collect();
        if let Some((_, first)) = values.first()
            && values.iter().any(|(_, v)| v != first)
        {
            let list: Vec<String> = values.iter().map(|(d, v)| format!("{d}: {v}")).collect();
            bail!(
                "the runs under {} differ in {key} ({}); a spread across runs needs runs of the \
                 same task and agent: report them one directory at a time",
                dir.display(),
                list.join(", ")
            );
        }
    }
    Ok(())
}

/// The title of a training report and what its returns are.
fn training_labels(
    dir: &Path,
    runs: &[Run],
    single: bool,
    title: Option<&str>,
) -> (String, String) {
    let task_name = runs.iter().find_map(task);
    let agent = runs
        .iter()
        .find_map(|r| r.summary.as_ref().map(|s| s.agent.clone()));
    let classic = task_name.as_deref().is_some_and(|t| {
        CLASSIC_ENVS.contains(&t)
            && runs
                .iter()
                .all(|r| r.summary.as_ref().is_none_or(|s| s.scenario.is_none()))
    });
    let return_desc = if classic || task_name.is_none() {
        "episode return (reward units)".to_string()
    } else {
        "return per customer ($, realised CLV)".to_string()
    };
    let what = match (&task_name, &agent) {
        (Some(t), Some(a)) => format!("{} on {t}", a.to_uppercase()),
        (Some(t), None) => t.clone(),
        (None, Some(a)) => a.to_uppercase(),
        (None, None) => "agent".into(),
    };
    let title = title.map(str::to_string).unwrap_or_else(|| {
        if single {
            format!("Training: {what} ({})", dir_name(dir))
        } else {
            format!("Training: {what}, {} runs ({})", runs.len(), dir_name(dir))
        }
    });
    (title, return_desc)
}

/// The optional reference line of the plot: a summary's `best_baseline` (added by `clv demo`).
fn baseline_reference(runs: &[Run]) -> Option<(String, f64)> {
    runs.iter().find_map(|r| {
        let b = r.summary.as_ref()?.best_baseline.as_ref()?;
        Some((
            format!("{} (best baseline, validation)", b.policy),
            b.return_mean,
        ))
    })
}

/// Builds the plot and the Markdown report of one training run (`runs == [dir]`) or of the
/// runs under `dir`.
fn training_report(dir: &Path, runs: &[PathBuf], title: Option<&str>) -> anyhow::Result<String> {
    let runs: Vec<Run> = runs
        .iter()
        .map(|d| read_run(d))
        .collect::<anyhow::Result<_>>()?;
    let single = runs.len() == 1 && runs[0].dir == dir;
    // Runs pooled into one spread must be the same task and agent.
    check_same_task(dir, &runs)?;
    let (title, return_desc) = training_labels(dir, &runs, single, title);
    let reference = baseline_reference(&runs);
    let curves = plots::TrainingCurves {
        title: format!("{title} (training and validation customers)"),
        return_desc,
        runs: runs
            .iter()
            .map(|r| plots::TrainingRun {
                points: r.points.clone(),
            })
            .collect(),
        reference: reference.clone(),
    };
    let files = plots::training_curves(&dir.join(PLOTS_DIR).join("training_curves"), &curves)?;
    let lift_files = lift_plot(dir, &runs, &title)?;

    let mut s = String::new();
    let _ = writeln!(s, "# {title}\n");
    let decision = if single {
        runs[0]
            .summary
            .as_ref()
            .and_then(crate::cmd::headline::training_decision)
    } else {
        let named: Vec<(String, &TrainSummary)> = runs
            .iter()
            .filter_map(|r| Some((dir_name(&r.dir), r.summary.as_ref()?)))
            .collect();
        crate::cmd::headline::training_runs_decision(&named)
    };
    if let Some(d) = decision {
        let _ = write!(s, "{d}");
    }
    let _ = writeln!(s, "## Result\n");
    if single {
        md_single_run(&mut s, &runs[0]);
    } else {
        md_runs_table(&mut s, dir, &runs);
        md_runs_spread(&mut s, &runs);
    }
    if let Some((run, b)) = runs.iter().find_map(|r| {
        let b = r.summary.as_ref()?.best_baseline.as_ref()?;
        Some((dir_name(&r.dir), b))
    }) {
        let _ = writeln!(
            s,
            "{}\n",
            crate::cmd::headline::reference_line_text(&run, b)
        );
    }
    md_training_plots_and_data(
        &mut s,
        dir,
        [&files, &lift_files],
        single,
        runs[0].summary.is_some(),
    );
    Ok(s)
}

/// The paired-lift plot of runs trained with paired selection (none without lift rows).
fn lift_plot(dir: &Path, runs: &[Run], title: &str) -> anyhow::Result<Vec<PathBuf>> {
    if runs.iter().all(|r| r.lift.is_empty()) {
        return Ok(vec![]);
    }
    let incumbent = runs
        .iter()
        .find_map(|r| r.summary.as_ref().and_then(|s| s.incumbent.clone()))
        .map_or("(or `none`)".into(), |s| format!("`{s}`"));
    let data = plots::LiftCurves {
        title: format!("{title} (validation customers)"),
        incumbent,
        runs: runs
            .iter()
            .map(|r| {
                let label = r.dir.file_name().map_or_else(
                    || r.dir.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                (label, r.lift.clone())
            })
            .collect(),
    };
    plots::lift_curves(&dir.join(PLOTS_DIR).join("validation_lift"), &data)
}

/// The Result of one run: its budget, then its final evaluation (or why there is none).
fn md_single_run(s: &mut String, r: &Run) {
    let _ = write!(s, "{:.0} environment steps", r.env_steps());
    if let Some(u) = &r.summary {
        let _ = write!(s, ", {:.0} gradient updates", u.updates as f64);
    }
    if let Some(w) = r.wall_seconds() {
        let _ = write!(s, " in {} of training", duration(w));
    }
    if let Some(summary) = &r.summary {
        let _ = write!(s, " (stopped: {})", summary.stop);
    }
    let _ = writeln!(s, ".\n");
    match &r.summary {
        Some(summary) => md_final_evaluation(s, summary),
        None => {
            let _ = writeln!(
                s,
                "No summary.json: the run did not finish, so there is no final evaluation; \
                 the curves show the metrics logged so far.\n"
            );
        }
    }
}

/// The final evaluation of a finished run, from its summary.json.
fn md_final_evaluation(s: &mut String, summary: &TrainSummary) {
    let known = run_files::known;
    if let (Some(m), Some(sd)) = (
        known(summary.eval_return_mean),
        known(summary.eval_return_std),
    ) {
        let eps = format!(
            " over {:.0} test episodes (test seed {})",
            summary.eval_episodes as f64, summary.seed
        );
        let ck = format!(" of the `{}` checkpoint", summary.eval_checkpoint);
        let _ = writeln!(
            s,
            "**Final evaluation**{ck} on test seeds (used once): mean return \
             **{m:.2}** (sd {sd:.2}){eps}.\n"
        );
    }
    if let Some(m) = summary.eval_clv_mean {
        let ci = summary
            .eval_clv_ci95
            .map(|ci| format!(" (95% CI {})", usd_interval(ci, false)))
            .unwrap_or_default();
        let n = summary
            .eval_customers
            .map(|n| {
                format!(
                    " over the run's {:.0} test customers (test seed {})",
                    n as f64, summary.seed
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "**Realised CLV of the learned policy**: {} per customer{ci}{n}.\n",
            usd(m)
        );
    }
    if let (Some(v), Some(at)) = (summary.best_valid_return_mean, summary.best_valid_env_steps) {
        let _ = writeln!(
            s,
            "Best validation return {v:.2} (on the run's validation customers), at {:.0} environment steps.\n",
            at as f64
        );
    }
    if let Some(m) = summary.action_margin {
        let _ = writeln!(
            s,
            "Greedy acting keeps the empty offer unless another offer's Q beats it by {m} (scaled-reward units; the evaluated checkpoint's margin).\n"
        );
    }
    if let Some(m) = known(summary.last_eval_return_mean) {
        let sd = summary.last_eval_return_std;
        let _ = writeln!(
            s,
            "The last checkpoint on the same test seeds: {m:.2} (sd {sd:.2}).\n"
        );
    }
}

/// One table row per run of a folder of runs.
fn md_runs_table(s: &mut String, dir: &Path, runs: &[Run]) {
    let _ = writeln!(
        s,
        "{} runs of the same task and agent; the curves show their mean and the min-max \
         band across runs.\n",
        runs.len()
    );
    let _ = writeln!(
        s,
        "| run | seed | env steps | wall time | test return (mean, run's test customers) | sd | best validation (run's validation customers) |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    let f = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into());
    for r in runs {
        let rel = r
            .dir
            .strip_prefix(dir)
            .unwrap_or(&r.dir)
            .display()
            .to_string();
        let _ = writeln!(
            s,
            "| [{}]({}/) | {} | {:.0} | {} | {} | {} | {} |",
            dir_name(&r.dir),
            rel,
            r.summary
                .as_ref()
                .map_or_else(|| "-".into(), |s| s.seed.to_string()),
            r.env_steps(),
            r.wall_seconds().map(duration).unwrap_or_else(|| "-".into()),
            f(r.number(|s| s.eval_return_mean)),
            f(r.number(|s| s.eval_return_std)),
            f(r.summary.as_ref().and_then(|s| s.best_valid_return_mean)),
        );
    }
    s.push('\n');
}

/// The spread of the final test returns across the finished runs, and the unfinished count.
fn md_runs_spread(s: &mut String, runs: &[Run]) {
    let finals: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.number(|s| s.eval_return_mean))
        .collect();
    if !finals.is_empty() {
        let n = finals.len() as f64;
        let mean = finals.iter().sum::<f64>() / n;
        let sd = if finals.len() > 1 {
            (finals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        let lo = finals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = finals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let _ = writeln!(
            s,
            "**Final test return across {} finished runs: mean {mean:.2}, sd {sd:.2} across \
             runs (min {lo:.2}, max {hi:.2}).**\n",
            finals.len()
        );
    }
    let unfinished = runs.iter().filter(|r| r.summary.is_none()).count();
    if unfinished > 0 {
        let _ = writeln!(
            s,
            "{unfinished} run(s) have no summary.json (unfinished): their curves are \
             included, their final evaluation is not.\n"
        );
    }
}

/// The Plots and Data sections of a training report.
fn md_training_plots_and_data(
    s: &mut String,
    dir: &Path,
    [files, lift_files]: [&[PathBuf]; 2],
    single: bool,
    has_summary: bool,
) {
    let _ = writeln!(s, "## Plots\n");
    if !lift_files.is_empty() {
        let _ = writeln!(
            s,
            "Paired validation lift over the incumbent, on the run's validation customers: at \
             each validation, the best learned candidate's mean CLV difference to the incumbent \
             on the same validation customers, \
             with its 95% interval (0 is the incumbent; the learner keeps a checkpoint only \
             when the interval's lower bound is above 0).\n"
        );
        let _ = write!(s, "{}", embed(dir, "Validation lift", lift_files));
    }
    let _ = writeln!(
        s,
        "Return of training episodes (exploring, on training customers) and of greedy \
         validation episodes (on the run's validation customers) against environment steps \
         (top); training loss (bottom). The reference line, if any, is on validation customers \
         too.\n"
    );
    let _ = write!(s, "{}", embed(dir, "Training curves", files));
    let _ = writeln!(
        s,
        "## Data\n\n{}This report was regenerated from them by `clv report`.",
        match (single, has_summary) {
            (true, true) => {
                "[metrics.csv](metrics.csv) (one row per logging step and evaluation), \
                 [summary.json](summary.json). "
            }
            (true, false) =>
                "[metrics.csv](metrics.csv) (one row per logging step and evaluation). ",
            (false, _) => "Each run directory's metrics.csv and summary.json. ",
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_verdicts() {
        assert_eq!(usd(-3.654), "-$3.65");
        assert_eq!(usd_signed(0.4), "+$0.40");
        assert_eq!(usd_interval([-0.21, 1.01], true), "-$0.21 to +$1.01");
        assert!(verdict([0.1, 0.2]).contains("gain"));
        assert!(verdict([-0.2, -0.1]).contains("loss"));
        assert!(verdict([-0.2, 0.1]).contains("includes zero"));
        assert_eq!(duration(75.0), "1 min 15 s");
    }
}

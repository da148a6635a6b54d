//! `clv sweep`: how the paired CLV difference between policies moves with scenario
//! assumptions that a transaction log cannot pin down. Each `--vary` is swept alone (a tornado
//! chart and a curve per field, with break-even values), and with `--grid` the first two are
//! swept together (a heat map). Every point runs on the same seeds and customers (common
//! random numbers), so the curves are smooth; points run in parallel, with results that do not
//! depend on the thread count.

mod output;
mod vary;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use clv_envs::metrics::{mean_ci, paired_diff};
use clv_envs::{EnvError, Scenario};
use rayon::prelude::*;

use crate::evaluation::evaluate_policies;
use crate::io;
use crate::run_files::{
    self, BreakEven, GridBreakEven, GridCell, GridSweep, PairDiff, ParameterSweep, SweepReport,
    SweepTiming,
};
use crate::scenario_args::{EvalDomain, PopulationArgs, ScenarioArgs, set_threads};
use vary::{Vary, break_even, is_whole_field, number_at};

/// Arguments of `clv sweep`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Policy specs (repeat --policy). Exactly two: the difference is the first minus the
    /// second. One, or more than two: each policy minus `none` (added if not listed).
    #[arg(long = "policy", required = true)]
    pub policies: Vec<String>,
    /// An assumption to sweep (repeatable): the scenario field PATH (as `--set` takes it) at N
    /// evenly spaced values from LO to HI inclusive (N default 5, 2..=101), e.g.
    /// `--vary coupon.elasticity_mean=1:8:8`. Each is swept alone, every other field at the
    /// scenario's value (with --set).
    #[arg(long = "vary", required = true, value_name = "PATH=LO:HI[:N]")]
    pub vary: Vec<String>,
    /// Also sweep the first two --vary together over their N1 x N2 grid: heatmap.png/.svg and
    /// grid.csv.
    #[arg(long)]
    pub grid: bool,
    /// The populations of every point (the same customers at each).
    #[command(flatten)]
    pub population: PopulationArgs,
    /// Worker threads (0 = all cores); as many grid points run at once. Results do not depend
    /// on it. At most 256.
    #[arg(long, default_value_t = 0, value_parser = crate::scenario_args::threads_arg())]
    pub threads: usize,
    /// Output directory (default results/sweep-<time>): sweep.csv, sweep.json, tornado and
    /// curves plots, heatmap.png and grid.csv with --grid, scenario.ron, report.md.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the sweep as one JSON object (sweep.json) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// The long help's closing note.
const AFTER_HELP: &str = "\
What is measured: at every point, the paired difference of realised CLV per customer between \
the policies, with its 95% interval: with exactly two policies, the first minus the second; \
otherwise each policy minus `none`. Every point runs on the same seeds and customers (common \
random numbers). Break-even values are where a difference changes sign along a range (linear \
interpolation between adjacent values).

Example:
  clv sweep scenarios/default.ron --policy rfm-winback:12:coupon20 --policy rfm-winback:12:recommend \\
    --vary coupon.mix.sure_thing=0.05:0.6 --vary coupon.elasticity_mean=1:8 --grid";

/// What the intervals of a sweep are, in words (saved in sweep.json).
const INTERVALS: &str = "95% normal intervals over customers of paired differences (common random numbers); per point, unadjusted for multiple comparisons";

/// Where a point sits in the sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// The scenario's values.
    Base,
    /// Value `index` of `--vary` number `param`, swept alone.
    Alone { param: usize, index: usize },
    /// Grid cell (value `i` of the first `--vary`, value `j` of the second).
    Grid { i: usize, j: usize },
}

/// One point of the sweep: its place, the overrides that make it in words, and its scenario,
/// loaded and validated.
struct Point {
    place: Place,
    label: String,
    scenario: Scenario,
}

/// The policies run at every point and the pairs whose differences are reported.
struct Lineup {
    /// Specs in run order: as given, then `none` where added.
    specs: Vec<String>,
    /// (a, b) positions in `specs`: the difference is a minus b.
    pairs: Vec<(usize, usize)>,
    /// What the differences are, in words.
    rule: String,
}

impl Lineup {
    /// Two policies: the first minus the second; otherwise each minus `none` (added).
    fn new(policies: &[String]) -> anyhow::Result<Lineup> {
        let mut specs: Vec<String> = policies.iter().map(|s| s.trim().to_string()).collect();
        for (i, s) in specs.iter().enumerate() {
            ensure!(
                !specs[..i].contains(s),
                "--policy {s} is given twice: list each policy once"
            );
        }
        if specs.len() == 2 {
            let rule = format!("{} minus {}", specs[0], specs[1]);
            return Ok(Lineup {
                specs,
                pairs: vec![(0, 1)],
                rule,
            });
        }
        let none = match specs.iter().position(|s| s == "none") {
            Some(i) => i,
            None => {
                specs.push("none".into());
                specs.len() - 1
            }
        };
        ensure!(
            specs.len() >= 2,
            "--policy: give a policy other than `none` to compare with it"
        );
        let pairs = (0..specs.len())
            .filter(|i| *i != none)
            .map(|i| (i, none))
            .collect();
        Ok(Lineup {
            specs,
            pairs,
            rule: "each policy minus none".into(),
        })
    }
}

/// Runs `clv sweep`.
pub fn run(args: Args) -> anyhow::Result<()> {
    set_threads(args.threads)?;
    if let Some(out) = &args.out {
        io::check_out_dir(out, "--out")?;
    }
    let varies = args
        .vary
        .iter()
        .map(|v| Vary::parse(v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (i, v) in varies.iter().enumerate() {
        ensure!(
            !varies[..i].iter().any(|w| w.path == v.path),
            "--vary {}: the field is varied twice",
            v.path
        );
    }
    ensure!(
        !args.grid || varies.len() >= 2,
        "--grid needs two --vary (got {}): it sweeps the first two together",
        varies.len()
    );
    let lineup = Lineup::new(&args.policies)?;
    let base = args.scenario.load()?;
    let customers = args.population.customers_of(&base);
    ensure!(customers > 0, "--customers must be at least 1");
    let seeds: Vec<u64> = args.population.seed_list();
    let base_values = base_values(&args.scenario, &base, &varies)?;
    let points = build_points(&args.scenario, base, &varies, args.grid, &lineup)?;
    // Every policy is resolved once on the base point (agents load their weights here), so
    // that a bad spec is refused before any work.
    let resolved = lineup
        .specs
        .iter()
        .map(|spec| crate::policies::resolve(spec, &points[0].scenario))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let trail_mode = clv_envs::TrailMode::for_policies(resolved.iter().map(|p| p.as_ref()));
    let in_flight = rayon::current_num_threads().clamp(1, points.len()) as u64;
    check_memory(customers, in_flight, trail_mode)?;

    let out = io::run_dir(args.out.as_deref(), "sweep")?;
    let started = Instant::now();
    let diffs = evaluate(
        &points,
        &lineup,
        args.scenario.base_dir(),
        args.population.domain,
        &seeds,
        customers,
        in_flight as usize,
        args.quiet || args.json,
    )?;
    let doc = assemble(
        &args,
        &points,
        &varies,
        &base_values,
        &lineup,
        &diffs,
        &seeds,
        customers,
        started.elapsed().as_secs_f64(),
    );
    io::write_scenario(&out.join("scenario.ron"), &points[0].scenario)?;
    output::write_all(&out, &doc)?;
    io::finish_run_dir(&out)?;
    if args.json {
        println!("{}", serde_json::to_string(&run_files::sorted(&doc)?)?);
    } else {
        print!("{}", output::table(&doc));
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// Refuses a sweep whose points in flight (one per worker thread, each holding a start
/// population and its working copy of `customers` customers) would not fit in memory.
fn check_memory(
    customers: u64,
    in_flight: u64,
    trail_mode: clv_envs::TrailMode,
) -> anyhow::Result<()> {
    clv_envs::scenario::check_memory(customers.saturating_mul(in_flight), 2, trail_mode)
        .with_context(|| {
            format!(
                "clv sweep runs {in_flight} points at once (one per thread), each of {customers} \
             customers: use fewer --threads or --customers"
            )
        })
}

/// The value of each `--vary` field in the scenario (with `--set`); an unknown or non-numeric
/// field is refused, naming `--vary`.
fn base_values(args: &ScenarioArgs, base: &Scenario, varies: &[Vary]) -> anyhow::Result<Vec<f64>> {
    let tree = serde_json::to_value(base)?;
    varies
        .iter()
        .map(|v| match number_at(&tree, &v.path) {
            Some(x) => {
                if is_whole_field(&tree, &v.path)
                    && let Some(bad) = v.values().into_iter().find(|x| x.fract() != 0.0)
                {
                    bail!(
                        "--vary {}: the field takes whole numbers, but the range {}:{}:{} \
                         includes {bad}: choose LO, HI and N so that (HI - LO) / (N - 1) is whole",
                        v.path,
                        v.lo,
                        v.hi,
                        v.n
                    );
                }
                Ok(x)
            }
            None => {
                // The override's own message names the fields there are.
                load_point(args, &[v.assignment(v.lo)]).map_err(|e| {
                    anyhow::anyhow!("--vary {}: {}", v.path, e.trim_start_matches("--set "))
                })?;
                if vary::is_unset(&tree, &v.path) {
                    bail!(
                        "--vary {}: the scenario leaves this field unset (null), so there is no \
                         scenario value to sweep around: give one with --set {}=VALUE",
                        v.path,
                        v.path
                    )
                }
                bail!("--vary {}: not a number in the scenario", v.path)
            }
        })
        .collect()
}

/// The scenario with the user's `--set` and then `assignments` applied, validated; the error
/// in words (the override's message without its `--set` prefix).
fn load_point(args: &ScenarioArgs, assignments: &[String]) -> Result<Scenario, String> {
    let mut all = args.overrides.clone();
    all.extend(assignments.iter().cloned());
    clv_envs::load_scenario(&args.scenario, &all).map_err(|e| match e {
        EnvError::Override { message, .. } => message,
        other => other.to_string(),
    })
}

/// Every point of the sweep, loaded and validated before any work: the base, each `--vary`'s
/// values alone, and the grid cells with `grid`. Each policy spec must parse at every point.
fn build_points(
    args: &ScenarioArgs,
    base: Scenario,
    varies: &[Vary],
    grid: bool,
    lineup: &Lineup,
) -> anyhow::Result<Vec<Point>> {
    let mut points = vec![Point {
        place: Place::Base,
        label: "the scenario's values".into(),
        scenario: base,
    }];
    for (param, v) in varies.iter().enumerate() {
        for (index, x) in v.values().into_iter().enumerate() {
            let a = v.assignment(x);
            let scenario = load_point(args, std::slice::from_ref(&a))
                .map_err(|e| anyhow::anyhow!("--vary {a}: {e}"))?;
            points.push(Point {
                place: Place::Alone { param, index },
                label: a,
                scenario,
            });
        }
    }
    if grid {
        let (vx, vy) = (&varies[0], &varies[1]);
        for (j, y) in vy.values().into_iter().enumerate() {
            for (i, x) in vx.values().into_iter().enumerate() {
                let (ax, ay) = (vx.assignment(x), vy.assignment(y));
                let scenario = load_point(args, &[ax.clone(), ay.clone()])
                    .map_err(|e| anyhow::anyhow!("--vary {ax} with --vary {ay} (--grid): {e}"))?;
                points.push(Point {
                    place: Place::Grid { i, j },
                    label: format!("{ax} and {ay}"),
                    scenario,
                });
            }
        }
    }
    for p in &points {
        for spec in &lineup.specs {
            crate::policies::check(spec, &p.scenario)
                .map_err(|e| anyhow::anyhow!("--policy {spec} at {}: {e}", p.label))?;
        }
    }
    Ok(points)
}

/// Evaluates every point (in chunks of `in_flight` points run in parallel, so memory stays
/// bounded), returning per point the differences of `lineup.pairs`, in point order.
#[allow(clippy::too_many_arguments)]
fn evaluate(
    points: &[Point],
    lineup: &Lineup,
    base_dir: &Path,
    domain: EvalDomain,
    seeds: &[u64],
    customers: u64,
    in_flight: usize,
    quiet: bool,
) -> anyhow::Result<Vec<Vec<PairDiff>>> {
    let per_point =
        |p: &Point| p.scenario.horizon as u64 * seeds.len() as u64 * lineup.specs.len() as u64;
    let bar = io::progress(points.iter().map(per_point).sum(), "sweeping", quiet);
    let done = AtomicU64::new(0);
    let last: Vec<AtomicU64> = points.iter().map(|_| AtomicU64::new(0)).collect();
    let run_point = |k: usize| -> anyhow::Result<Vec<PairDiff>> {
        let p = &points[k];
        let mut policies = lineup
            .specs
            .iter()
            .map(|s| crate::policies::resolve(s, &p.scenario))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let results = evaluate_policies(
            &p.scenario,
            base_dir,
            domain.seed_domain(),
            seeds,
            customers,
            &mut policies,
            &|d| {
                let before = last[k].swap(d, Ordering::Relaxed);
                let total = done.fetch_add(d.saturating_sub(before), Ordering::Relaxed);
                bar.set_position(total + d.saturating_sub(before));
            },
        )?;
        Ok(lineup
            .pairs
            .iter()
            .map(|&(a, b)| {
                let d = paired_diff(&results[a].clv, &results[b].clv, None);
                PairDiff {
                    policy_a: lineup.specs[a].clone(),
                    policy_b: lineup.specs[b].clone(),
                    diff_mean: d.mean,
                    diff_ci95: d.ci95,
                    clv_a: mean_ci(results[a].clv.iter().copied()).mean,
                    clv_b: mean_ci(results[b].clv.iter().copied()).mean,
                    customers: d.n,
                }
            })
            .collect())
    };
    let indices: Vec<usize> = (0..points.len()).collect();
    let mut out = Vec::with_capacity(points.len());
    for chunk in indices.chunks(in_flight.max(1)) {
        let chunk_out: Vec<anyhow::Result<Vec<PairDiff>>> =
            chunk.par_iter().map(|k| run_point(*k)).collect();
        for (k, r) in chunk.iter().zip(chunk_out) {
            out.push(r.with_context(|| format!("at {}", points[*k].label))?);
        }
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Builds the sweep document from the points' differences.
#[allow(clippy::too_many_arguments)]
fn assemble(
    args: &Args,
    points: &[Point],
    varies: &[Vary],
    base_values: &[f64],
    lineup: &Lineup,
    diffs: &[Vec<PairDiff>],
    seeds: &[u64],
    customers: u64,
    elapsed_seconds: f64,
) -> SweepReport {
    let base = diffs[0].clone();
    let parameters = varies
        .iter()
        .enumerate()
        .map(|(param, v)| {
            let values = v.values();
            let curve: Vec<Vec<PairDiff>> = points
                .iter()
                .zip(diffs)
                .filter(|(p, _)| matches!(p.place, Place::Alone { param: q, .. } if q == param))
                .map(|(_, d)| d.clone())
                .collect();
            let break_even = (0..lineup.pairs.len())
                .map(|pair| curve_break_even(&values, &curve, pair))
                .collect();
            ParameterSweep {
                path: v.path.clone(),
                base_value: base_values[param],
                values,
                points: curve,
                break_even,
            }
        })
        .collect();
    let grid = args.grid.then(|| {
        let cells = points
            .iter()
            .zip(diffs)
            .filter_map(|(p, d)| match p.place {
                Place::Grid { i, j } => Some(GridCell {
                    x: varies[0].values()[i],
                    y: varies[1].values()[j],
                    winner: winner(d),
                    diffs: d.clone(),
                }),
                _ => None,
            })
            .collect::<Vec<GridCell>>();
        let xs = varies[0].values();
        let mut break_even_along_x = vec![];
        for (j, y) in varies[1].values().into_iter().enumerate() {
            let row = &cells[j * xs.len()..(j + 1) * xs.len()];
            for pair in 0..lineup.pairs.len() {
                let ys: Vec<f64> = row.iter().map(|c| c.diffs[pair].diff_mean).collect();
                break_even_along_x.push(GridBreakEven {
                    y,
                    policy_a: row[0].diffs[pair].policy_a.clone(),
                    policy_b: row[0].diffs[pair].policy_b.clone(),
                    values: break_even(&xs, &ys),
                });
            }
        }
        GridSweep {
            break_even_along_x,
            x: varies[0].path.clone(),
            y: varies[1].path.clone(),
            x_values: varies[0].values(),
            y_values: varies[1].values(),
            cells,
        }
    });
    SweepReport {
        schema_version: run_files::SWEEP_SCHEMA_VERSION,
        scenario: points[0].scenario.name.clone(),
        overrides: args.scenario.overrides.clone(),
        seed_domain: args.population.domain.name().to_string(),
        seeds: seeds.to_vec(),
        customers_per_seed: customers,
        policies: lineup.specs.clone(),
        differences: lineup.rule.clone(),
        intervals: INTERVALS.to_string(),
        base,
        parameters,
        grid,
        timing: SweepTiming {
            points: points.len(),
            elapsed_seconds,
        },
    }
}

/// The policy with the highest mean CLV among those of `diffs` (the first listed on a tie).
fn winner(diffs: &[PairDiff]) -> String {
    let mut best: Option<(&str, f64)> = None;
    for d in diffs {
        for (p, v) in [(&d.policy_a, d.clv_a), (&d.policy_b, d.clv_b)] {
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((p, v));
            }
        }
    }
    best.map(|(p, _)| p.to_string()).unwrap_or_default()
}

/// The break-even values of pair `pair` along one field's curve, with the swing and the
/// crossing in words.
fn curve_break_even(values: &[f64], curve: &[Vec<PairDiff>], pair: usize) -> BreakEven {
    let ys: Vec<f64> = curve.iter().map(|d| d[pair].diff_mean).collect();
    let (a, b) = (&curve[0][pair].policy_a, &curve[0][pair].policy_b);
    let crossings = break_even(values, &ys);
    let other = |p: &str| {
        if p == a.as_str() {
            b.clone()
        } else {
            a.clone()
        }
    };
    let first = ys.iter().copied().find(|y| *y != 0.0).unwrap_or(0.0);
    let leader = if first >= 0.0 { a.clone() } else { b.clone() };
    let summary = match crossings.as_slice() {
        [] => format!("no break-even in range: {leader} wins throughout"),
        [first_x, ..] => {
            let mut s = format!("{leader} wins below {}", fmt_value(*first_x));
            let mut now = other(&leader);
            for w in crossings.windows(2) {
                s.push_str(&format!(
                    ", {now} from {} to {}",
                    fmt_value(w[0]),
                    fmt_value(w[1])
                ));
                now = other(&now);
            }
            s.push_str(&format!(", {now} above"));
            s
        }
    };
    let (lo, hi) = ys
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), y| {
            (l.min(*y), h.max(*y))
        });
    BreakEven {
        policy_a: a.clone(),
        policy_b: b.clone(),
        values: crossings,
        diff_at_lo: ys[0],
        diff_at_hi: *ys.last().expect("at least two values"),
        swing: hi - lo,
        summary,
    }
}

/// A field value for people: four significant digits, no trailing zeros.
pub(crate) fn fmt_value(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pd(a: &str, b: &str, d: f64, ca: f64, cb: f64) -> PairDiff {
        PairDiff {
            policy_a: a.into(),
            policy_b: b.into(),
            diff_mean: d,
            diff_ci95: [d - 1.0, d + 1.0],
            clv_a: ca,
            clv_b: cb,
            customers: 10,
        }
    }

    #[test]
    fn two_policies_are_a_minus_b_more_are_each_minus_none() {
        let l = Lineup::new(&["a".into(), "b".into()]).unwrap();
        assert_eq!(l.pairs, vec![(0, 1)]);
        assert_eq!(l.specs, vec!["a", "b"]);
        let l = Lineup::new(&["a".into(), "b".into(), "c".into()]).unwrap();
        assert_eq!(l.specs, vec!["a", "b", "c", "none"]);
        assert_eq!(l.pairs, vec![(0, 3), (1, 3), (2, 3)]);
        let l = Lineup::new(&["a".into()]).unwrap();
        assert_eq!(l.pairs, vec![(0, 1)]);
        let l = Lineup::new(&["none".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(l.pairs, vec![(1, 0), (2, 0)]);
        assert!(Lineup::new(&["none".into()]).is_err());
        assert!(Lineup::new(&["a".into(), "a".into()]).is_err());
    }

    #[test]
    fn break_even_in_words() {
        let curve: Vec<Vec<PairDiff>> = [1.0, -1.0, -3.0]
            .iter()
            .map(|d| vec![pd("A", "B", *d, 0.0, 0.0)])
            .collect();
        let b = curve_break_even(&[0.0, 1.0, 2.0], &curve, 0);
        assert_eq!(b.values, vec![0.5]);
        assert_eq!(b.summary, "A wins below 0.5, B above");
        assert_eq!(b.swing, 4.0);
        assert_eq!((b.diff_at_lo, b.diff_at_hi), (1.0, -3.0));
        let curve: Vec<Vec<PairDiff>> = [-1.0, -2.0]
            .iter()
            .map(|d| vec![pd("A", "B", *d, 0.0, 0.0)])
            .collect();
        let b = curve_break_even(&[0.0, 1.0], &curve, 0);
        assert_eq!(b.summary, "no break-even in range: B wins throughout");
        let curve: Vec<Vec<PairDiff>> = [1.0, -1.0, 1.0]
            .iter()
            .map(|d| vec![pd("A", "B", *d, 0.0, 0.0)])
            .collect();
        let b = curve_break_even(&[0.0, 1.0, 2.0], &curve, 0);
        assert_eq!(b.summary, "A wins below 0.5, B from 0.5 to 1.5, A above");
    }

    #[test]
    fn winner_is_the_highest_clv() {
        let d = vec![
            pd("a", "none", 1.0, 5.0, 4.0),
            pd("b", "none", 2.0, 6.0, 4.0),
        ];
        assert_eq!(winner(&d), "b");
    }

    #[test]
    fn memory_counts_every_point_in_flight() {
        assert!(check_memory(1, 1, clv_envs::TrailMode::Keep).is_ok());
        let e = format!(
            "{:#}",
            check_memory(
                clv_envs::scenario::MAX_CUSTOMERS,
                256,
                clv_envs::TrailMode::Keep
            )
            .unwrap_err()
        );
        assert!(e.contains("256 points at once"), "{e}");
        assert!(e.contains("MiB"), "{e}");
    }

    #[test]
    fn values_print_with_four_significant_digits() {
        assert_eq!(fmt_value(0.123456), "0.1235");
        assert_eq!(fmt_value(4.5), "4.5");
        assert_eq!(fmt_value(1234.6), "1235");
        assert_eq!(fmt_value(0.0), "0");
        assert_eq!(fmt_value(-2.25), "-2.25");
    }
}

//! The files and the console table of `clv sweep`: sweep.csv (long format), grid.csv,
//! sweep.json, the plots, and report.md, which opens with the answer.

use std::fmt::Write as _;
use std::path::Path;

use super::fmt_value;
use crate::io;
use crate::plots::{self, CurvePanel, HeatMap, SweepCurves, Tornado, TornadoBar, TornadoPanel};
use crate::run_files::{self, PairDiff, SweepReport};

/// Columns of sweep.csv.
const SWEEP_HEADER: [&str; 10] = [
    "parameter",
    "value",
    "policy_a",
    "policy_b",
    "diff_mean",
    "diff_ci95_lo",
    "diff_ci95_hi",
    "clv_a",
    "clv_b",
    "customers",
];

/// Columns of grid.csv.
const GRID_HEADER: [&str; 13] = [
    "parameter_x",
    "value_x",
    "parameter_y",
    "value_y",
    "policy_a",
    "policy_b",
    "diff_mean",
    "diff_ci95_lo",
    "diff_ci95_hi",
    "clv_a",
    "clv_b",
    "winner",
    "customers",
];

/// The name of the base point in sweep.csv's `parameter` column (its `value` is empty).
const BASE_ROW: &str = "base";

/// The number columns of one difference (diff_mean .. customers).
fn diff_cells(d: &PairDiff) -> Vec<String> {
    vec![
        d.policy_a.clone(),
        d.policy_b.clone(),
        d.diff_mean.to_string(),
        d.diff_ci95[0].to_string(),
        d.diff_ci95[1].to_string(),
        d.clv_a.to_string(),
        d.clv_b.to_string(),
        d.customers.to_string(),
    ]
}

/// Writes every file of the sweep into `out`.
pub fn write_all(out: &Path, doc: &SweepReport) -> anyhow::Result<()> {
    let mut rows = vec![];
    for d in &doc.base {
        let mut r = vec![BASE_ROW.to_string(), String::new()];
        r.extend(diff_cells(d));
        rows.push(r);
    }
    for p in &doc.parameters {
        for (x, diffs) in p.values.iter().zip(&p.points) {
            for d in diffs {
                let mut r = vec![p.path.clone(), x.to_string()];
                r.extend(diff_cells(d));
                rows.push(r);
            }
        }
    }
    io::write_csv(&out.join("sweep.csv"), &SWEEP_HEADER, &rows)?;
    if let Some(g) = &doc.grid {
        let mut rows = vec![];
        for c in &g.cells {
            for d in &c.diffs {
                let mut r = vec![g.x.clone(), c.x.to_string(), g.y.clone(), c.y.to_string()];
                let cells = diff_cells(d);
                r.extend(cells[..7].iter().cloned());
                r.push(c.winner.clone());
                r.push(cells[7].clone());
                rows.push(r);
            }
        }
        io::write_csv(&out.join("grid.csv"), &GRID_HEADER, &rows)?;
    }
    run_files::write_sorted(&out.join("sweep.json"), doc)?;
    plots::tornado(&out.join("tornado"), &tornado(doc))?;
    plots::sweep_curves(&out.join("curves"), &curves(doc))?;
    if doc.grid.is_some() {
        plots::heat_map(&out.join("heatmap"), &heat_map(doc))?;
    }
    io::write_atomic(&out.join("report.md"), report(doc).as_bytes())
}

/// `A − B` for people.
fn pair_name(d: &PairDiff) -> String {
    format!("{} − {}", d.policy_a, d.policy_b)
}

/// The customers the figures are on, in words.
fn customers_note(doc: &SweepReport) -> String {
    let seeds = match doc.seeds.as_slice() {
        [s] => format!("seed {s}"),
        [first, .., last] => format!("seeds {first}..={last}"),
        [] => "no seeds".into(),
    };
    format!(
        "{} customers: {seeds} of the {} domain, {} customers per seed ({} in all), the same \
         customers at every point (common random numbers)",
        doc.seed_domain,
        doc.seed_domain,
        doc.customers_per_seed,
        doc.customers_per_seed * doc.seeds.len() as u64
    )
}

/// The tornado's data: per pair, one bar per field sorted by swing.
fn tornado(doc: &SweepReport) -> Tornado {
    let panels = doc
        .base
        .iter()
        .enumerate()
        .map(|(k, base)| TornadoPanel {
            pair: pair_name(base),
            base: base.diff_mean,
            bars: doc
                .parameters
                .iter()
                .map(|p| TornadoBar {
                    label: p.path.clone(),
                    lo_value: p.values[0],
                    hi_value: *p.values.last().expect("at least two values"),
                    base_value: p.base_value,
                    diff_lo: p.break_even[k].diff_at_lo,
                    diff_hi: p.break_even[k].diff_at_hi,
                    swing: p.break_even[k].swing,
                    break_even: p.break_even[k].values.clone(),
                })
                .collect(),
        })
        .collect();
    Tornado {
        title: format!("Sensitivity of the CLV difference ({})", doc.scenario),
        note: format!("on {}", customers_note(doc)),
        panels,
    }
}

/// The curves' data: one panel per field, one line per pair.
fn curves(doc: &SweepReport) -> SweepCurves {
    SweepCurves {
        title: format!("CLV difference along each assumption ({})", doc.scenario),
        note: format!("on {}", customers_note(doc)),
        pairs: doc.base.iter().map(pair_name).collect(),
        panels: doc
            .parameters
            .iter()
            .map(|p| CurvePanel {
                path: p.path.clone(),
                base_value: p.base_value,
                values: p.values.clone(),
                diffs: (0..doc.base.len())
                    .map(|k| {
                        p.points
                            .iter()
                            .map(|d| (d[k].diff_mean, d[k].diff_ci95))
                            .collect()
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The heat map's data (the grid must be present).
fn heat_map(doc: &SweepReport) -> HeatMap {
    let g = doc.grid.as_ref().expect("a grid");
    HeatMap {
        title: format!("Which policy wins over the grid ({})", doc.scenario),
        note: format!("on {}", customers_note(doc)),
        base: (doc.parameters[0].base_value, doc.parameters[1].base_value),
        x: g.x.clone(),
        y: g.y.clone(),
        x_values: g.x_values.clone(),
        y_values: g.y_values.clone(),
        pairs: doc.base.iter().map(pair_name).collect(),
        cells: (0..doc.base.len())
            .map(|k| {
                g.cells
                    .iter()
                    .map(|c| (c.diffs[k].diff_mean, c.diffs[k].diff_ci95))
                    .collect()
            })
            .collect(),
    }
}

/// A difference with its interval: `+0.52 (+0.34, +0.69)`.
fn diff_text(d: &PairDiff) -> String {
    format!(
        "{:+.2} ({:+.2}, {:+.2})",
        d.diff_mean, d.diff_ci95[0], d.diff_ci95[1]
    )
}

/// The verdict on one difference at the base values, in words.
fn verdict(d: &PairDiff) -> String {
    let (lo, hi) = (d.diff_ci95[0], d.diff_ci95[1]);
    let amount = format!(
        "${:.2} per customer (95% CI {:+.2} to {:+.2})",
        d.diff_mean.abs(),
        lo,
        hi
    );
    if lo > 0.0 {
        format!(
            "`{}` beats `{}` by {amount}: the interval excludes zero",
            d.policy_a, d.policy_b
        )
    } else if hi < 0.0 {
        format!(
            "`{}` beats `{}` by ${:.2} per customer (95% CI of `{}` − `{}`: {:+.2} to {:+.2}): \
             the interval excludes zero",
            d.policy_b,
            d.policy_a,
            d.diff_mean.abs(),
            d.policy_a,
            d.policy_b,
            lo,
            hi
        )
    } else {
        format!(
            "`{}` and `{}` are not distinguishable: `{}` − `{}` = {:+.2} per customer, 95% CI \
             {:+.2} to {:+.2} includes zero",
            d.policy_a, d.policy_b, d.policy_a, d.policy_b, d.diff_mean, lo, hi
        )
    }
}

/// report.md: the answer first (who wins at the base values, how sure, where it flips), the
/// customers, then the tornado, the curves, the grid and the files.
pub fn report(doc: &SweepReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Sensitivity sweep: {}\n", doc.scenario);
    let _ = writeln!(s, "## The answer\n");
    if doc.base.len() > 1 {
        let best = super::winner(&doc.base);
        let clv = doc
            .base
            .iter()
            .flat_map(|d| [(&d.policy_a, d.clv_a), (&d.policy_b, d.clv_b)])
            .find(|(p, _)| **p == best)
            .map(|(_, v)| v)
            .unwrap_or(f64::NAN);
        let _ = writeln!(
            s,
            "- **Best at the scenario's values: `{best}`**, mean realised CLV ${clv:.2} per \
             customer; each policy against `none`:"
        );
    }
    for d in &doc.base {
        let _ = writeln!(s, "- **At the scenario's values, {}.**", verdict(d));
    }
    let _ = writeln!(s, "- **Where it flips** (break-even values):");
    for p in &doc.parameters {
        for b in &p.break_even {
            let range = format!(
                "range {}..{}",
                fmt_value(p.values[0]),
                fmt_value(*p.values.last().expect("two values"))
            );
            let at = if b.values.is_empty() {
                String::new()
            } else {
                let xs: Vec<String> = b.values.iter().map(|x| fmt_value(*x)).collect();
                format!("break-even at {}: ", xs.join(", "))
            };
            let pair = if doc.base.len() > 1 {
                format!(" ({} − {})", b.policy_a, b.policy_b)
            } else {
                String::new()
            };
            let _ = writeln!(s, "  - `{}`{pair}: {at}{} ({range})", p.path, b.summary);
        }
    }
    if let Some(g) = &doc.grid {
        for r in &g.break_even_along_x {
            if r.values.is_empty() {
                continue;
            }
            let xs: Vec<String> = r.values.iter().map(|x| fmt_value(*x)).collect();
            let pair = if doc.base.len() > 1 {
                format!(" ({} − {})", r.policy_a, r.policy_b)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "  - grid{pair}: with `{}` = {}, `{}` breaks even at {}",
                g.y,
                fmt_value(r.y),
                g.x,
                xs.join(", ")
            );
        }
    }
    let _ = writeln!(
        s,
        "\nFigures are on {}. Differences: {}. Intervals: {}.{}\n",
        customers_note(doc),
        doc.differences,
        doc.intervals,
        if doc.overrides.is_empty() {
            String::new()
        } else {
            format!(
                " Every point has the overrides `{}`.",
                doc.overrides.join("`, `")
            )
        }
    );
    let _ = writeln!(s, "## Tornado\n");
    let _ = writeln!(
        s,
        "Each bar spans the difference at the low and at the high end of a field's range, \
         with every other field at the scenario's value; the line is the difference at the \
         scenario's values. Fields sorted by swing (largest first).\n"
    );
    let _ = writeln!(s, "![tornado](tornado.png)\n");
    for (k, base) in doc.base.iter().enumerate() {
        let _ = writeln!(
            s,
            "{} at the scenario's values: {} $ per customer.\n",
            pair_name(base),
            diff_text(base)
        );
        let _ = writeln!(
            s,
            "| field | scenario value | range | difference at low | difference at high | swing | break-even |"
        );
        let _ = writeln!(s, "|---|---:|---|---:|---:|---:|---|");
        let mut order: Vec<usize> = (0..doc.parameters.len()).collect();
        order.sort_by(|a, b| {
            doc.parameters[*b].break_even[k]
                .swing
                .total_cmp(&doc.parameters[*a].break_even[k].swing)
        });
        for i in order {
            let p = &doc.parameters[i];
            let b = &p.break_even[k];
            let last = p.points.len() - 1;
            let _ = writeln!(
                s,
                "| `{}` | {} | {}..{} | {} | {} | {:.2} | {} |",
                p.path,
                fmt_value(p.base_value),
                fmt_value(p.values[0]),
                fmt_value(p.values[last]),
                diff_text(&p.points[0][k]),
                diff_text(&p.points[last][k]),
                b.swing,
                b.summary
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Curves\n");
    let _ = writeln!(
        s,
        "The difference along each field's range, with its 95% interval band; the dotted line \
         marks the scenario's value.\n"
    );
    let _ = writeln!(s, "![curves](curves.png)\n");
    for p in &doc.parameters {
        let _ = writeln!(s, "`{}`:\n", p.path);
        let _ = write!(s, "| value |");
        for d in &doc.base {
            let _ = write!(s, " {} $ (95% CI) |", pair_name(d));
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "|---:|{}", "---:|".repeat(doc.base.len()));
        for (x, diffs) in p.values.iter().zip(&p.points) {
            let _ = write!(s, "| {} |", fmt_value(*x));
            for d in diffs {
                let _ = write!(s, " {} |", diff_text(d));
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s);
    }
    if let Some(g) = &doc.grid {
        let _ = writeln!(s, "## Two-way grid: `{}` × `{}`\n", g.x, g.y);
        let _ = writeln!(
            s,
            "Every pair of the two fields' values, the others at the scenario's value. Cells \
             show the difference; a cell whose 95% interval includes zero is marked `?`. Data: \
             [grid.csv](grid.csv).\n"
        );
        let _ = writeln!(s, "![heat map](heatmap.png)\n");
        // With one pair, each cell shows its difference; with more, the winning policy.
        let one_pair = doc.base.len() == 1;
        let corner = if one_pair {
            format!("{} ($): `{}` ↓ / `{}` →", pair_name(&doc.base[0]), g.y, g.x)
        } else {
            format!("winner: `{}` ↓ / `{}` →", g.y, g.x)
        };
        let _ = write!(s, "| {corner} |");
        for x in &g.x_values {
            let _ = write!(s, " {} |", fmt_value(*x));
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "|---|{}", "---:|".repeat(g.x_values.len()));
        for (j, y) in g.y_values.iter().enumerate() {
            let _ = write!(s, "| {} |", fmt_value(*y));
            for i in 0..g.x_values.len() {
                let c = &g.cells[j * g.x_values.len() + i];
                if one_pair {
                    let d = &c.diffs[0];
                    let unsure = d.diff_ci95[0] <= 0.0 && d.diff_ci95[1] >= 0.0;
                    let _ = write!(
                        s,
                        " {:+.2}{} |",
                        d.diff_mean,
                        if unsure { " ?" } else { "" }
                    );
                } else {
                    let _ = write!(s, " {} |", c.winner);
                }
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Files\n");
    let _ = writeln!(
        s,
        "- [sweep.csv](sweep.csv): one row per field, value and pair (long format; the row \
         `base` is the scenario's values)"
    );
    if doc.grid.is_some() {
        let _ = writeln!(s, "- [grid.csv](grid.csv): one row per grid cell and pair");
    }
    let _ = writeln!(
        s,
        "- [sweep.json](sweep.json): everything above, with break-even values\n\
         - [scenario.ron](scenario.ron): the scenario at its base values\n\
         - plots: [tornado.svg](tornado.svg), [curves.svg](curves.svg){}",
        if doc.grid.is_some() {
            ", [heatmap.svg](heatmap.svg)"
        } else {
            ""
        }
    );
    s
}

/// The console table: one row per point and a column per pair, then the break-even values.
pub fn table(doc: &SweepReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "difference per customer ($, 95% CI) on {}",
        customers_note(doc)
    );
    for (k, d) in doc.base.iter().enumerate() {
        let _ = writeln!(s, "  [{}] {}", k + 1, pair_name(d));
    }
    let w = doc
        .parameters
        .iter()
        .map(|p| p.path.chars().count())
        .max()
        .unwrap_or(0)
        .max(9);
    let _ = write!(s, "{:<w$}  {:>10}", "parameter", "value");
    for k in 0..doc.base.len() {
        let _ = write!(s, "  {:>24}", format!("[{}]", k + 1));
    }
    let _ = writeln!(s);
    let row = |s: &mut String, name: &str, value: &str, diffs: &[PairDiff]| {
        let _ = write!(s, "{name:<w$}  {value:>10}");
        for d in diffs {
            let _ = write!(s, "  {:>24}", diff_text(d));
        }
        let _ = writeln!(s);
    };
    row(&mut s, BASE_ROW, "-", &doc.base);
    for p in &doc.parameters {
        for (x, diffs) in p.values.iter().zip(&p.points) {
            row(&mut s, &p.path, &fmt_value(*x), diffs);
        }
    }
    let _ = writeln!(s, "break-even:");
    for p in &doc.parameters {
        for (k, b) in p.break_even.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {:<w$}  [{}] {} (swing {:.2})",
                p.path,
                k + 1,
                b.summary,
                b.swing
            );
        }
    }
    if let Some(g) = &doc.grid {
        let _ = writeln!(s, "grid: [1] by {} (rows) and {} (columns)", g.y, g.x);
        let _ = write!(s, "{:>12}", "");
        for x in &g.x_values {
            let _ = write!(s, "  {:>8}", fmt_value(*x));
        }
        let _ = writeln!(s);
        for (j, y) in g.y_values.iter().enumerate() {
            let _ = write!(s, "{:>12}", fmt_value(*y));
            for i in 0..g.x_values.len() {
                let d = &g.cells[j * g.x_values.len() + i].diffs[0];
                let _ = write!(s, "  {:>+8.2}", d.diff_mean);
            }
            let _ = writeln!(s);
        }
        let flips: Vec<String> = g
            .break_even_along_x
            .iter()
            .filter(|r| r.policy_a == doc.base[0].policy_a && r.policy_b == doc.base[0].policy_b)
            .map(|r| {
                let xs: Vec<String> = r.values.iter().map(|x| fmt_value(*x)).collect();
                format!(
                    "{}={}: {}",
                    g.y,
                    fmt_value(r.y),
                    if xs.is_empty() {
                        "none".to_string()
                    } else {
                        xs.join(", ")
                    }
                )
            })
            .collect();
        let _ = writeln!(s, "grid: [1] breaks even along {} at", g.x);
        for f in flips {
            let _ = writeln!(s, "  {f}");
        }
    }
    s
}

//! `clv sweep` end to end: its files, agreement with `clv compare` at a point, break-even
//! values on a known sign change, thread independence, and refusals of bad `--vary`.

mod common;
use common::{fails, ok};

use std::path::Path;

const SCEN: &str = "scenarios/default.ron";

/// `fixed:recommend` minus `none` on 2,000 customers over 12 weeks: recommending pays when
/// contacts are free and loses once they cost $0.10 (a sign change of the difference between
/// `contact_cost` 0 and 0.1).
fn sweep(out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "sweep",
        SCEN,
        "--policy",
        "fixed:recommend",
        "--policy",
        "none",
        "--vary",
        "economics.contact_cost=0:0.5:6",
        "--vary",
        "economics.gross_margin=0.3:0.6:4",
        "--customers",
        "2000",
        "--set",
        "horizon=12",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&args)).unwrap()
}

fn strip_timing(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("timing");
    v
}

/// The difference of `policy` vs `none` that `clv compare` reports with `sets` applied.
fn compare_diff(sets: &[String], out: &Path) -> f64 {
    let mut args = vec![
        "compare".to_string(),
        SCEN.into(),
        "--policy".into(),
        "fixed:recommend".into(),
        "--policy".into(),
        "none".into(),
        "--customers".into(),
        "2000".into(),
        "--set".into(),
        "horizon=12".into(),
        "--out".into(),
        out.to_str().unwrap().into(),
        "--json".into(),
    ];
    for s in sets {
        args.push("--set".into());
        args.push(s.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let doc: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    doc["policies"][0]["diff_vs_reference"]["mean"]
        .as_f64()
        .unwrap()
}

#[test]
fn sweep_writes_its_files_and_agrees_with_compare() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let doc = sweep(&out, &["--grid"]);
    for f in [
        "sweep.csv",
        "grid.csv",
        "sweep.json",
        "report.md",
        "scenario.ron",
        "tornado.png",
        "tornado.svg",
        "curves.png",
        "curves.svg",
        "heatmap.png",
        "heatmap.svg",
    ] {
        assert!(
            out.join(f).metadata().map(|m| m.len() > 0).unwrap_or(false),
            "{f} missing"
        );
    }
    assert!(!out.join("INCOMPLETE").exists());
    // sweep.json is what --json printed.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(strip_timing(saved), strip_timing(doc.clone()));
    assert_eq!(doc["differences"], "fixed:recommend minus none");
    assert_eq!(doc["seed_domain"], "test");
    assert_eq!(doc["timing"]["points"], 1 + 6 + 4 + 24);

    // sweep.csv: long format, one row per point (base + 6 + 4), the documented columns.
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "parameter,value,policy_a,policy_b,diff_mean,diff_ci95_lo,diff_ci95_hi,clv_a,clv_b,customers"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 11);
    assert_eq!(rows[0][0], "base");
    for r in &rows {
        let d: f64 = r[4].parse().unwrap();
        let (lo, hi): (f64, f64) = (r[5].parse().unwrap(), r[6].parse().unwrap());
        assert!(lo <= d && d <= hi, "{r:?}");
        assert_eq!(r[9], "2000");
    }
    let grid = std::fs::read_to_string(out.join("grid.csv")).unwrap();
    assert_eq!(grid.lines().count(), 1 + 24);

    // One-at-a-time point: contact_cost = 0.2 (values 0, 0.1, ..., 0.5).
    let p = &doc["parameters"][0];
    assert_eq!(p["path"], "economics.contact_cost");
    assert_eq!(p["base_value"], 0.1);
    let x = p["values"][2].as_f64().unwrap();
    let sweep_d = p["points"][2][0]["diff_mean"].as_f64().unwrap();
    let cmp_d = compare_diff(
        &[format!("economics.contact_cost={x}")],
        &dir.path().join("c1"),
    );
    assert!((sweep_d - cmp_d).abs() < 1e-9, "{sweep_d} vs {cmp_d}");
    // The base point is the scenario itself.
    let base_d = doc["base"][0]["diff_mean"].as_f64().unwrap();
    let cmp_base = compare_diff(&[], &dir.path().join("c0"));
    assert!((base_d - cmp_base).abs() < 1e-9, "{base_d} vs {cmp_base}");

    // A grid cell: both overrides at once (x varies fastest: cell 2 + 6 * 3).
    let g = &doc["grid"];
    let cell = &g["cells"][2 + 6 * 3];
    let (cx, cy) = (cell["x"].as_f64().unwrap(), cell["y"].as_f64().unwrap());
    assert_eq!(cy, 0.6);
    let cmp_cell = compare_diff(
        &[
            format!("economics.contact_cost={cx}"),
            format!("economics.gross_margin={cy}"),
        ],
        &dir.path().join("c2"),
    );
    let cell_d = cell["diffs"][0]["diff_mean"].as_f64().unwrap();
    assert!((cell_d - cmp_cell).abs() < 1e-9, "{cell_d} vs {cmp_cell}");

    // The report opens with the answer and says which customers.
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let head: String = report.lines().take(8).collect::<Vec<_>>().join("\n");
    assert!(head.contains("At the scenario's values"), "{head}");
    assert!(head.contains("Where it flips"), "{head}");
    assert!(report.contains("test customers: seed 0 of the test domain, 2000 customers"));
    for link in [
        "tornado.png",
        "curves.png",
        "heatmap.png",
        "grid.csv",
        "sweep.csv",
    ] {
        assert!(report.contains(&format!("({link})")), "{link}");
    }
}

#[test]
fn break_even_is_found_where_the_difference_changes_sign() {
    let dir = tempfile::tempdir().unwrap();
    let doc = sweep(&dir.path().join("s"), &[]);
    let p = &doc["parameters"][0];
    let ys: Vec<f64> = p["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[0]["diff_mean"].as_f64().unwrap())
        .collect();
    // Recommending pays with free contacts and loses at every positive cost swept.
    assert!(ys[0] > 0.0, "{ys:?}");
    assert!(ys[1..].iter().all(|y| *y < 0.0), "{ys:?}");
    let be = &p["break_even"][0];
    let values = be["values"].as_array().unwrap();
    assert_eq!(values.len(), 1, "{be}");
    // Linear interpolation between 0 and 0.1.
    let expected = 0.1 * ys[0] / (ys[0] - ys[1]);
    assert!((values[0].as_f64().unwrap() - expected).abs() < 1e-12);
    assert!(
        be["summary"]
            .as_str()
            .unwrap()
            .starts_with("fixed:recommend wins below"),
        "{be}"
    );
    // No sign change along the margin's range.
    let be = &doc["parameters"][1]["break_even"][0];
    assert!(be["values"].as_array().unwrap().is_empty());
    assert!(
        be["summary"]
            .as_str()
            .unwrap()
            .starts_with("no break-even in range")
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let a = sweep(&dir.path().join("t1"), &["--threads", "1", "--grid"]);
    let b = sweep(&dir.path().join("t2"), &["--threads", "2", "--grid"]);
    assert_eq!(
        strip_timing(a),
        strip_timing(b),
        "thread count changed the sweep"
    );
}

#[test]
fn more_than_two_policies_are_each_compared_with_none() {
    let dir = tempfile::tempdir().unwrap();
    let doc: serde_json::Value = serde_json::from_str(&ok(&[
        "sweep",
        SCEN,
        "--policy",
        "fixed:recommend",
        "--policy",
        "fixed:coupon10",
        "--policy",
        "rfm-winback:4",
        "--vary",
        "economics.contact_cost=0:0.2:2",
        "--customers",
        "500",
        "--set",
        "horizon=6",
        "--out",
        dir.path().join("m").to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(doc["differences"], "each policy minus none");
    let base = doc["base"].as_array().unwrap();
    assert_eq!(base.len(), 3);
    assert!(base.iter().all(|d| d["policy_b"] == "none"));
}

#[test]
fn bad_vary_is_refused_by_name_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for (vary, needle) in [
        (
            "economics.no_such_field=0:1",
            "--vary economics.no_such_field",
        ),
        ("economics.contact_cost=1:0", "LO must be below HI"),
        ("economics.contact_cost=0:1:1", "N must be from 2"),
        (
            "economics.contact_cost=zero:1",
            "LO must be a finite number",
        ),
        ("economics.contact_cost", "expected PATH=LO:HI[:N]"),
        ("name=0:1", "--vary name"),
        ("horizon=10:20:4", "takes whole numbers"),
        // A value the scenario refuses: a negative margin.
        (
            "economics.gross_margin=-0.5:0.5:3",
            "--vary economics.gross_margin=-0.5",
        ),
    ] {
        let out = dir.path().join("never");
        let err = fails(&[
            "sweep",
            SCEN,
            "--policy",
            "none",
            "--policy",
            "fixed:recommend",
            "--vary",
            vary,
            "--customers",
            "100",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(err.contains(needle), "{vary}: {err}");
        assert!(err.trim().lines().count() == 1, "{vary}: {err}");
        assert!(!out.exists(), "{vary}: wrote {}", out.display());
    }
    // --grid needs two fields.
    let err = fails(&[
        "sweep",
        SCEN,
        "--policy",
        "fixed:recommend",
        "--vary",
        "economics.contact_cost=0:1",
        "--grid",
    ]);
    assert!(err.contains("--grid needs two --vary"), "{err}");
}

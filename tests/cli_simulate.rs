//! The `clv` binary end to end: simulate, compare, tune, scenario; determinism across thread
//! counts; bad input gives a clear message, a non-zero exit, and no partial files.

mod common;
use common::{clv, fails, ok};

use std::path::{Path, PathBuf};

fn strip_timing(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("timing");
    v
}

const SCEN: &str = "scenarios/default.ron";

#[test]
fn simulate_json_has_the_documented_keys_and_is_thread_independent() {
    let run = |threads: &str| {
        let out = ok(&[
            "simulate",
            SCEN,
            "--policy",
            "churn-risk:0.3",
            "--customers",
            "3000",
            "--periods",
            "30",
            "--seed",
            "4",
            "--threads",
            threads,
            "--json",
        ]);
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let a = run("1");
    for key in [
        "customers",
        "periods",
        "seed",
        "policy",
        "clv_mean",
        "clv_ci95",
        "margin_per_customer",
        "marketing_cost_per_customer",
        "purchases_per_customer",
        "avg_order_value",
        "active_share_end",
        "opt_out_share",
        "contacts_per_customer",
        "coupons_redeemed_per_customer",
        "clv52_mean",
        "horizon",
        "schema_version",
    ] {
        assert!(a.get(key).is_some(), "missing {key}");
    }
    assert!(a["timing"]["elapsed_seconds"].as_f64().unwrap() > 0.0);
    assert!(a["timing"]["customer_periods_per_second"].as_f64().unwrap() > 0.0);
    assert_eq!(a["customers"], 3000);
    assert_eq!(a["periods"], 30);
    let ci = a["clv_ci95"].as_array().unwrap();
    let m = a["clv_mean"].as_f64().unwrap();
    assert!(ci[0].as_f64().unwrap() <= m && m <= ci[1].as_f64().unwrap());
    let b = run("2");
    assert_eq!(
        strip_timing(a),
        strip_timing(b),
        "thread count changed the result"
    );
}

#[test]
fn compare_writes_csv_json_markdown_with_paired_differences() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let o = ok(&[
        "compare",
        SCEN,
        "--policy",
        "none",
        "--policy",
        "oracle-myopic",
        "--policy",
        "fixed:coupon20",
        "--customers",
        "2000",
        "--seeds",
        "2",
        "--set",
        "horizon=26",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&o).unwrap();
    let pols = doc["policies"].as_array().unwrap();
    assert_eq!(pols.len(), 3);
    assert_eq!(pols[0]["policy"], "none");
    assert_eq!(pols[0]["diff_vs_reference"]["mean"], 0.0);
    assert_eq!(pols[1]["customers"], 4000);
    assert!(
        pols[1]["diff_vs_reference"]["ci95"]
            .as_array()
            .unwrap()
            .len()
            == 2
    );
    for seg in ["high", "mid", "low"] {
        assert_eq!(doc["segments"][seg].as_array().unwrap().len(), 3);
    }
    for f in [
        "comparison.csv",
        "comparison.json",
        "report.md",
        "scenario.ron",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 3 * 4,
        "header + 3 policies x (all + 3 segments)"
    );
    // The resolved scenario reloads and carries the override.
    ok(&[
        "scenario",
        "validate",
        out.join("scenario.ron").to_str().unwrap(),
    ]);
    let shown = ok(&[
        "scenario",
        "show",
        out.join("scenario.ron").to_str().unwrap(),
    ]);
    assert!(shown.contains("horizon: 26"));
}

#[test]
fn scenario_show_explain_lists_every_field_with_unit_range_and_meaning() {
    let text = ok(&[
        "scenario",
        "show",
        SCEN,
        "--explain",
        "--set",
        "economics.gross_margin=0.55",
    ]);
    let line = text
        .lines()
        .find(|l| l.starts_with("economics.gross_margin "))
        .expect("the field");
    // Value (with --set applied), unit, range, and the doc comment of the field.
    for part in [
        "0.55",
        "share of list-price spend",
        "[0, 1]",
        "Gross margin m",
    ] {
        assert!(line.contains(part), "{line}");
    }
    assert!(
        text.lines().any(|l| l.starts_with("offers.2.discount ")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("start.BurnIn.periods ")),
        "{text}"
    );
    let json = ok(&["scenario", "show", SCEN, "--explain", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = rows.as_array().unwrap();
    assert!(rows.len() > 80, "{}", rows.len());
    assert!(
        rows.iter()
            .all(|r| r["meaning"].as_str().is_some_and(|m| !m.is_empty()))
    );
    // --json needs --explain.
    let err = fails(&["scenario", "show", SCEN, "--json"]);
    assert!(err.contains("--explain"), "{err}");
}

#[test]
fn tune_prints_a_spec_that_simulate_accepts() {
    let best = ok(&[
        "tune",
        SCEN,
        "--policy",
        "recommend-last",
        "--customers",
        "1000",
        "--set",
        "horizon=20",
        "--quiet",
    ]);
    let best = best.trim();
    assert!(best.starts_with("recommend-last:"), "{best}");
    ok(&[
        "simulate",
        SCEN,
        "--policy",
        best,
        "--customers",
        "500",
        "--periods",
        "5",
        "--quiet",
    ]);
}

#[test]
fn every_shipped_scenario_validates() {
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")).unwrap()
    {
        let p: PathBuf = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "ron") {
            ok(&["scenario", "validate", p.to_str().unwrap()]);
        }
    }
}

#[test]
fn bad_input_is_a_clear_error_without_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.ron");
    std::fs::write(&broken, "Scenario(\n  horizon: 52,\n  horizn: 3,\n)").unwrap();
    let e = fails(&["scenario", "validate", broken.to_str().unwrap()]);
    assert!(e.contains("broken.ron:3:"), "{e}");
    let bad = dir.path().join("bad.ron");
    std::fs::write(&bad, "Scenario(economics: (gross_margin: 1.5))").unwrap();
    let e = fails(&["scenario", "validate", bad.to_str().unwrap()]);
    assert!(e.contains("economics.gross_margin"), "{e}");
    let e = fails(&["scenario", "validate", "no/such/file.ron"]);
    assert!(e.contains("no/such/file.ron"), "{e}");

    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let e = fails(&["simulate", SCEN, "--policy", "sometimes", "--out", o]);
    assert!(e.contains("unknown policy"), "{e}");
    let e = fails(&["simulate", SCEN, "--policy", "fixed:coupon99", "--out", o]);
    assert!(e.contains("unknown offer") && e.contains("coupon20"), "{e}");
    let e = fails(&["simulate", SCEN, "--customers", "0", "--out", o]);
    assert!(e.contains("customers"), "{e}");
    let e = fails(&["simulate", SCEN, "--customers", "40000000000", "--out", o]);
    assert!(e.contains("customers"), "{e}");
    let e = fails(&["simulate", SCEN, "--set", "coupon.saturaton=3", "--out", o]);
    assert!(e.contains("saturaton"), "{e}");
    let e = fails(&[
        "compare",
        SCEN,
        "--policy",
        "none",
        "--policy",
        "dqn:/no/such/run",
        "--out",
        o,
    ]);
    assert!(e.contains("/no/such/run"), "{e}");
    assert!(
        !out.exists() || std::fs::read_dir(&out).unwrap().count() == 0,
        "partial files left"
    );

    let o = clv(&["simulate", SCEN, "--bogus-flag"]);
    assert_eq!(o.status.code(), Some(2));
    let o = clv(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `--domain validation` draws the customers `clv tune` chooses on: the tuned winner's
/// validation CLV is reproduced exactly by `simulate` and `compare` there, test seeds give
/// other customers, and the comparison's report says it is a validation diagnosis.
#[test]
fn validation_domain_reproduces_tune_and_differs_from_test() {
    let common = ["--customers", "600", "--set", "horizon=26"];
    let tuned: serde_json::Value = serde_json::from_str(&ok(&[
        "tune",
        SCEN,
        "--policy",
        "rfm-winback",
        "--seeds",
        "1",
        common[0],
        common[1],
        common[2],
        common[3],
        "--json",
        "--quiet",
    ]))
    .unwrap();
    let best = tuned["best"].as_str().unwrap().to_string();
    let tuned_clv = tuned["ranking"][0]["clv_mean"].as_f64().unwrap();
    let simulate = |domain: &str| -> serde_json::Value {
        let mut args = vec!["simulate", SCEN, "--policy", &best, "--domain", domain];
        args.extend(common);
        args.push("--json");
        serde_json::from_str(&ok(&args)).unwrap()
    };
    let valid = simulate("validation");
    assert_eq!(valid["seed_domain"], "validation");
    assert_eq!(valid["clv_mean"].as_f64().unwrap(), tuned_clv);
    let test = simulate("test");
    assert_eq!(test["seed_domain"], "test");
    assert_ne!(test["clv_mean"].as_f64().unwrap(), tuned_clv);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let mut args = vec!["compare", SCEN, "--policy", &best, "--domain", "validation"];
    args.extend(common);
    args.extend(["--out", out.to_str().unwrap(), "--json", "--quiet"]);
    let doc: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    assert_eq!(doc["seed_domain"], "validation");
    let row = doc["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == best.as_str())
        .unwrap();
    assert_eq!(row["clv_mean"].as_f64().unwrap(), tuned_clv);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("**validation** seeds"), "{report}");

    let o = clv(&["simulate", SCEN, "--domain", "train"]);
    assert_eq!(o.status.code(), Some(2), "training seeds are not offered");
}

/// The paired intervals on incremental margin and ROMS, the flag and the decision do not
/// depend on the thread count (sums in customer order).
#[test]
fn compare_intervals_and_decision_are_thread_independent() {
    let run = |threads: &str| {
        let out = ok(&[
            "compare",
            SCEN,
            "--policy",
            "fixed:coupon20",
            "--policy",
            "oracle-myopic",
            "--policy",
            "rfm-winback",
            "--customers",
            "1500",
            "--set",
            "horizon=26",
            "--threads",
            threads,
            "--json",
        ]);
        let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v.as_object_mut().unwrap().remove("timing");
        v
    };
    let one = run("1");
    assert_eq!(one, run("2"));
    let row = one["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "fixed:coupon20")
        .unwrap();
    let ci = row["return_on_marketing_spend_ci95"].as_array().unwrap();
    let roms = row["return_on_marketing_spend"].as_f64().unwrap();
    assert!(
        ci[0].as_f64().unwrap() < roms && roms < ci[1].as_f64().unwrap(),
        "{row}"
    );
    assert!(
        row["roms_not_distinguishable_from_none"].is_boolean(),
        "{row}"
    );
    assert_ne!(one["decision"]["best"], "oracle-myopic");
}

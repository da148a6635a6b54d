//! Fit uncertainty end to end: `clv fit` stores the estimates' covariance in the scenario it
//! writes, and `clv compare --parameter-draws N` re-runs the comparison over draws of the
//! population parameters, splitting each interval into simulation noise and estimation
//! uncertainty.

mod common;
use common::{fails, ok, s};

/// Fits the CDNOW sample with a warm start into `dir`; returns the scenario path.
fn fitted(dir: &std::path::Path) -> (std::path::PathBuf, serde_json::Value) {
    let out = dir.join("cdnow.ron");
    let json = ok(&[
        "fit",
        "envs/data/cdnow/cdnow_sample.csv",
        "--out",
        s(&out),
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--warm-start",
        "--json",
    ]);
    (out, serde_json::from_str(&json).unwrap())
}

#[test]
fn fit_stores_the_covariance_its_standard_errors_come_from() {
    let dir = tempfile::tempdir().unwrap();
    let (path, fit) = fitted(dir.path());
    let shown = ok(&["scenario", "show", s(&path)]);
    assert!(shown.contains("uncertainty: Some("), "{shown}");
    // SE(theta) = theta sqrt(C_ii) of the log-parameter covariance: compare through the
    // scenario as a JSON tree (`--set` reads it so).
    let text = std::fs::read_to_string(&path).unwrap();
    let scenario = clv_envs::scenario::parse_scenario(&text, &path).unwrap();
    let u = scenario.population.uncertainty.expect("uncertainty");
    let c = u.bgnbd_log_covariance.expect("BG/NBD covariance");
    let r = fit["bgnbd"]["r"].as_f64().unwrap();
    let se_r = fit["bgnbd"]["std_errors"]["r"].as_f64().unwrap();
    assert!(
        (r * c[0][0].sqrt() / se_r - 1.0).abs() < 1e-9,
        "{r} {se_r} {c:?}"
    );
    let g = u.spend_log_covariance.expect("spend covariance");
    let q = fit["gamma_gamma"]["q"].as_f64().unwrap();
    let se_q = fit["gamma_gamma"]["std_errors"]["q"].as_f64().unwrap();
    assert!((q * g[1][1].sqrt() / se_q - 1.0).abs() < 1e-9);
    assert_eq!(u.customers, 2357);
}

#[test]
fn parameter_draws_widen_the_interval_and_say_which_part_is_which() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = fitted(dir.path());
    let compare = |out: &str, threads: &str| -> serde_json::Value {
        let json = ok(&[
            "compare",
            s(&path),
            "--policy",
            "rfm-winback:8:coupon20",
            "--policy",
            "rfm-winback:8:recommend",
            "--set",
            "horizon=52",
            "--parameter-draws",
            "6",
            "--threads",
            threads,
            "--json",
            "--quiet",
            "--out",
            s(&dir.path().join(out)),
        ]);
        serde_json::from_str(&json).unwrap()
    };
    let doc = compare("a", "1");
    let note = doc["warm_start_note"].as_str().unwrap();
    assert!(note.contains("the same 2357 real customers"), "{note}");
    let p = &doc["parameter_draws"];
    assert_eq!(p["draws"], 6);
    assert_eq!(p["fitted_customers"], 2357);
    assert!(
        p["note"]
            .as_str()
            .unwrap()
            .contains("same 2357 real customers")
    );
    for row in p["policies"].as_array().unwrap() {
        let d = &row["diff_vs_reference"];
        let sim = d["ci95_simulation"].as_array().unwrap();
        let tot = d["ci95_total"].as_array().unwrap();
        let f = |v: &serde_json::Value| v.as_f64().unwrap();
        assert!(
            f(&tot[0]) <= f(&sim[0]) && f(&tot[1]) >= f(&sim[1]),
            "{row}"
        );
        if row["policy"] != "none" {
            assert!(f(&d["parameter_sd"]) > 0.0, "{row}");
            assert!(f(&d["widening"]) > 1.0, "{row}");
            let share = f(&d["parameter_share"]);
            assert!(share > 0.0 && share < 1.0, "{row}");
        }
    }
    // The figure at the fitted parameters is the comparison's own.
    let pol = &doc["policies"][0];
    assert_eq!(
        pol["diff_vs_reference"]["mean"],
        p["policies"][0]["diff_vs_reference"]["mean"]
    );
    // parameter_draws.csv: one row per draw and policy, each draw its own parameters.
    let mut r = csv::Reader::from_path(dir.path().join("a/parameter_draws.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 6 * 3);
    let alphas: std::collections::BTreeSet<&str> = rows.iter().map(|x| &x[3]).collect();
    assert_eq!(alphas.len(), 6, "{alphas:?}");
    // The report splits the interval and links the draws.
    let report = std::fs::read_to_string(dir.path().join("a/report.md")).unwrap();
    assert!(
        report.contains("## Estimation uncertainty, on test customers"),
        "{report}"
    );
    assert!(report.contains("[parameter_draws.csv](parameter_draws.csv)"));
    assert!(report.contains("same 2357 real customers"));
    // Deterministic whatever the thread count.
    let two = compare("b", "2");
    assert_eq!(doc["parameter_draws"], two["parameter_draws"]);
}

#[test]
fn parameter_draws_need_a_fitted_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let e = fails(&[
        "compare",
        "scenarios/default.ron",
        "--policy",
        "none",
        "--parameter-draws",
        "5",
        "--out",
        s(&out),
    ]);
    assert!(
        e.contains("--parameter-draws") && e.contains("population.uncertainty"),
        "{e}"
    );
    assert!(!out.exists());
    let e = fails(&[
        "compare",
        "scenarios/default.ron",
        "--policy",
        "none",
        "--parameter-draws",
        "20000",
        "--out",
        s(&out),
    ]);
    assert!(e.contains("--parameter-draws must be in"), "{e}");
    assert!(!out.exists());
    // A covariance so wide that some draw leaves the valid range: refused before any work.
    let wide = "population.uncertainty={\"bgnbd_log_covariance\":[[100,0,0,0],[0,100,0,0],[0,0,100,0],[0,0,0,100]],\"spend_log_covariance\":null,\"customers\":10}";
    let e = fails(&[
        "compare",
        "scenarios/default.ron",
        "--policy",
        "none",
        "--set",
        wide,
        "--parameter-draws",
        "50",
        "--out",
        s(&out),
    ]);
    assert!(e.contains("does not validate"), "{e}");
    assert!(!out.exists());
}

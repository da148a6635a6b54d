//! `clv fit` driven as a user would: the real binary on the committed CDNOW sample reproduces
//! the published estimates, writes a loadable scenario (and the warm-start histories and the
//! tracking table and plots), and bad input fails with a message naming the problem and the
//! line, a non-zero exit, and nothing written.

mod common;

use std::path::PathBuf;

use common::{clv, s};

fn cdnow() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("envs/data/cdnow/cdnow_sample.csv")
}

fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: got {got}, published {want}"
    );
}

#[test]
fn fits_cdnow_and_writes_a_warm_start_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cdnow.ron");
    let o = clv(&[
        "fit",
        s(&cdnow()),
        "--out",
        s(&out),
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--warm-start",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "clv fit failed: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let num = |path: &str| json.pointer(path).and_then(|v| v.as_f64()).unwrap();
    // Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL -9582.4.
    assert_rel(num("/bgnbd/r"), 0.243, 0.01, "r");
    assert_rel(num("/bgnbd/alpha"), 4.414, 0.01, "alpha");
    assert_rel(num("/bgnbd/a"), 0.793, 0.01, "a");
    assert_rel(num("/bgnbd/b"), 2.426, 0.01, "b");
    assert!((num("/bgnbd/log_likelihood") + 9582.4).abs() < 0.5);
    // Fader & Hardie's Gamma-Gamma note: p = 6.25, q = 3.74, gamma = 15.44.
    assert_rel(num("/gamma_gamma/p"), 6.25, 0.01, "p");
    assert_rel(num("/gamma_gamma/q"), 3.74, 0.01, "q");
    assert_rel(num("/gamma_gamma/gamma"), 15.44, 0.01, "gamma");
    assert!(num("/gamma_gamma/log_likelihood").is_finite());
    assert_eq!(num("/customers"), 2357.0);
    assert!(num("/bgnbd/std_errors/alpha") > 0.0);
    assert_eq!(json["holdout"]["tracking"].as_array().unwrap().len(), 78);

    // The scenario loads and validates, with the fit as its population and a warm start.
    let scenario = clv_envs::load_scenario(&out, &[]).unwrap();
    assert_rel(
        scenario.population.bgnbd.alpha,
        num("/bgnbd/alpha"),
        1e-12,
        "alpha",
    );
    assert_eq!(scenario.population.customers, 2357);
    let clv_envs::Start::WarmStart { histories } = &scenario.start else {
        panic!("expected a warm start, got {:?}", scenario.start)
    };
    let histories = clv_envs::read_histories(&dir.path().join(histories)).unwrap();
    assert_eq!(histories.len(), 2357);
    assert!((histories[0].big_t - 38.857).abs() < 1e-3);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("ASSUMPTIONS"), "{text}");
    for suffix in ["tracking.csv", "tracking.png", "tracking.svg"] {
        assert!(
            dir.path().join(format!("cdnow.{suffix}")).is_file(),
            "{suffix}"
        );
    }
    // Nothing else (no temporary files) is left.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 5);
}

/// Runs `clv fit` on `log` and checks that it fails with `needles` in its message and writes
/// nothing.
fn fails_with(log: &str, extra: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("log.csv");
    std::fs::write(&input, log).unwrap();
    let out = dir.path().join("out/s.ron");
    let mut args = vec!["fit", s(&input), "--out", s(&out)];
    args.extend_from_slice(extra);
    let o = clv(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected a failure for {log:?}");
    for n in needles {
        assert!(stderr.contains(n), "message {stderr:?} lacks {n:?}");
    }
    assert!(!dir.path().join("out").exists(), "output written on error");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn bad_input_fails_naming_the_problem_and_writes_nothing() {
    let good = "customer_id,date,amount\na,2024-01-01,10\na,2024-01-20,12\nb,2024-01-03,5\n";
    fails_with(
        "customer_id,day,amount\na,2024-01-01,10\n",
        &[],
        &["line 1", "no column `date`", "--date-column"],
    );
    fails_with(
        "customer_id,date,amount\na,2024-01-01,10\na,2024-02-31,12\n",
        &[],
        &["line 3", "2024-02-31"],
    );
    fails_with(
        "customer_id,date,amount\na,2024-01-01,10\nb,2024-01-05,-4.5\n",
        &[],
        &["line 3", "negative amount -4.5"],
    );
    fails_with(
        "customer_id,date,amount\na,2024-01-01,ten\n",
        &[],
        &["line 2", "amount `ten`"],
    );
    fails_with("", &[], &["empty"]);
    fails_with("customer_id,date,amount\n", &[], &["empty"]);
    fails_with(
        good,
        &["--calibration-end", "2024-13-01"],
        &["--calibration-end"],
    );
    fails_with(
        good,
        &["--amount-column", "value"],
        &["no column `value`", "customer_id, date, amount"],
    );
}

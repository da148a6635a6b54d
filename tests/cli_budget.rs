//! Budgets and contact caps through `clv compare`: every policy stays within the budget in
//! every period, the budget report, random ranking as the control, thread invariance, and
//! clear errors for bad budgets.

mod common;
use common::{fails, ok};

/// A short window of the default scenario (20,000 customers by default) for 2,000 customers:
/// a budget of $30 per period for the scenario's population is $3 for the run's.
const BUDGET: [&str; 6] = [
    "--set",
    "horizon=26",
    "--set",
    "budget.per_period=30",
    "--customers",
    "2000",
];

fn compare(out: &std::path::Path, threads: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "compare",
        "scenarios/default.ron",
        "--policy",
        "rfm-winback:4:recommend",
        "--policy",
        "random-rank:rfm-winback:4:recommend",
        "--policy",
        "churn-risk:0.6:coupon20:2",
        "--threads",
        threads,
        "--quiet",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(BUDGET);
    args.extend(extra);
    serde_json::from_str(&ok(&args)).unwrap()
}

#[test]
fn every_policy_stays_within_budget_in_every_period() {
    let dir = tempfile::tempdir().unwrap();
    let doc = compare(&dir.path().join("a"), "1", &[]);
    let budget = &doc["budget"];
    assert_eq!(budget["per_period"].as_f64().unwrap(), 3.0);
    for p in budget["policies"].as_array().unwrap() {
        let name = p["policy"].as_str().unwrap();
        assert!(
            p["committed_max"].as_f64().unwrap() <= 3.0 + 1e-9,
            "{name}: {p}"
        );
        assert!(p["max_share_of_budget"].as_f64().unwrap() <= 1.0 + 1e-12);
        let binding = p["periods_binding"].as_u64().unwrap();
        assert_eq!(
            binding > 0,
            name != "none",
            "{name}: bound in {binding} periods"
        );
    }
    // series.csv: the budget's count of each period's offers within the budget, per customer.
    let mut r = csv::Reader::from_path(dir.path().join("a/series.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (spent, limit) = (col("budget_spend_per_customer"), col("budget_per_customer"));
    let mut rows = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        let s: f64 = rec[spent].parse().unwrap();
        let b: f64 = rec[limit].parse().unwrap();
        assert!((b - 3.0 / 2000.0).abs() < 1e-12, "{b}");
        assert!(s <= b + 1e-12, "{s} > {b}");
        rows += 1;
    }
    assert_eq!(rows, 4 * 26, "3 policies and none, 26 periods each");
    // The same policy ranked at random acts the same before the cut, so it proposes the
    // same offers: what differs is who keeps them.
    let pol = doc["policies"].as_array().unwrap();
    let clv = |i: usize| pol[i]["clv_mean"].as_f64().unwrap();
    assert_ne!(
        clv(0),
        clv(1),
        "ranking by priority and at random gave the same CLV"
    );

    // The report says what the budget was and how each policy spent it.
    let report = std::fs::read_to_string(dir.path().join("a/report.md")).unwrap();
    assert!(
        report.contains("## Spend against budget, on test customers"),
        "{report}"
    );
    assert!(report.contains("a budget of $3.00 per period"), "{report}");
    assert!(report.contains("| `random-rank:rfm-winback:4:recommend` |"));

    // Thread invariance with the budget on.
    let two = compare(&dir.path().join("b"), "2", &[]);
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("timing");
        v
    };
    assert_eq!(strip(doc), strip(two));
    assert_eq!(
        std::fs::read(dir.path().join("a/series.csv")).unwrap(),
        std::fs::read(dir.path().join("b/series.csv")).unwrap()
    );
}

#[test]
fn simulate_reports_the_budget_too() {
    let out = ok(&[
        "simulate",
        "scenarios/default.ron",
        "--policy",
        "churn-risk:0.6:coupon20:2",
        "--set",
        "horizon=26",
        "--set",
        "budget.per_period=30",
        "--customers",
        "2000",
        "--json",
        "--quiet",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    common::assert_within_budget(&serde_json::json!({ "budget": doc["budget"] }), 3.0);
    let unbudgeted = ok(&[
        "simulate",
        "scenarios/default.ron",
        "--policy",
        "none",
        "--set",
        "horizon=26",
        "--customers",
        "2000",
        "--json",
        "--quiet",
    ]);
    assert!(!unbudgeted.contains("\"budget\""), "{unbudgeted}");
}

#[test]
fn a_contact_cap_is_reported_and_holds() {
    let dir = tempfile::tempdir().unwrap();
    let doc = compare(
        &dir.path().join("c"),
        "0",
        &[
            "--set",
            "budget.cap_contacts=1",
            "--set",
            "budget.cap_periods=13",
        ],
    );
    let b = &doc["budget"];
    assert_eq!(b["cap_contacts"], 1);
    for p in doc["policies"].as_array().unwrap() {
        // 26 periods in blocks of 13: at most 2 contacts per customer.
        let contacts = p["contacts_per_customer"].as_f64().unwrap();
        assert!(contacts <= 2.0 + 1e-12, "{p}");
    }
}

#[test]
fn bad_budgets_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    for (set, says) in [
        ("budget.per_period=-5", "budget.per_period"),
        ("budget.cap_contacts=9", "budget.cap_contacts"),
        ("budget.cap_periods=0", "budget.cap_periods"),
        ("budget.counts=\"Everything\"", "budget"),
    ] {
        let e = fails(&[
            "compare",
            "scenarios/default.ron",
            "--policy",
            "none",
            "--set",
            set,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(e.contains(says), "{set}: {e}");
        assert!(!out.exists(), "{set}: wrote {}", out.display());
    }
    for (spec, says) in [
        ("random-rank:random-rank:none", "once is enough"),
        ("random-rank:nosuch", "nosuch"),
    ] {
        let e = fails(&[
            "compare",
            "scenarios/default.ron",
            "--policy",
            spec,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(e.contains(says), "{spec}: {e}");
        assert!(!out.exists());
    }
}

#[test]
fn sweeping_the_budget_needs_a_base_value_and_takes_random_rank() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sw");
    let base = [
        "sweep",
        "scenarios/default.ron",
        "--policy",
        "rfm-winback:4:recommend",
        "--policy",
        "random-rank:rfm-winback:4:recommend",
        "--vary",
        "budget.per_period=10:40:3",
        "--set",
        "horizon=26",
        "--customers",
        "2000",
        "--quiet",
        "--json",
        "--out",
    ];
    let mut args = base.to_vec();
    args.push(out.to_str().unwrap());
    let e = fails(&args);
    assert!(
        e.contains("leaves this field unset") && e.contains("--set budget.per_period=VALUE"),
        "{e}"
    );
    assert!(!out.exists());
    args.extend(["--set", "budget.per_period=20"]);
    let doc: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    assert!(
        doc.to_string()
            .contains("random-rank:rfm-winback:4:recommend")
    );
    assert!(out.join("sweep.csv").is_file());
}

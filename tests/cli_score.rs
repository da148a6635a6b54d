//! `clv score` driven as a user would: one row per customer of a log with the figures checked by
//! hand, ids with commas, quotes and non-ASCII letters surviving the CSV round trip, a policy's
//! action from a fitted scenario, and bad logs refused as `clv fit` refuses them.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::{clv, fails, file, s, tmp};

/// A small log: three customers with awkward ids and known records, and 40 plain ones buying
/// every few weeks so that the predictors have something to learn from. Last date 2024-06-30.
fn small_log() -> String {
    let mut log = String::from("customer_id,date,amount\n");
    log.push_str("\"a,b\",2024-01-01,10\n\"a,b\",2024-01-15,20\n\"a,b\",2024-02-12,30\n");
    log.push_str("\"q\"\"uote\",2024-03-01,7.5\n");
    log.push_str("ünï,2024-02-01,12\nünï,2024-06-30,8\n");
    for c in 0..40u32 {
        let every = 1 + c % 9;
        let mut day = 1 + c % 20;
        let mut month = 1;
        while month <= 6 {
            log.push_str(&format!("c{c},2024-{month:02}-{day:02},{}\n", 5 + c % 13));
            day += 7 * every;
            while day > 28 {
                day -= 28;
                month += 1;
            }
        }
    }
    log
}

#[test]
fn scores_every_customer_with_hand_checked_records_and_awkward_ids() {
    let dir = tmp();
    let log = file(dir.path(), "log.csv", small_log().as_bytes());
    let out = dir.path().join("scores.csv");
    let o = clv(&["score", s(&log), "--out", s(&out), "--window", "4"]);
    assert!(
        o.status.success(),
        "clv score failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut r = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    for col in [
        "customer_id",
        "recency_weeks",
        "frequency",
        "monetary_value",
        "tenure_weeks",
        "p_alive",
        "churn_risk",
        "value_bgnbd",
        "value_ziln",
        "value_forest",
        "value_fused",
        "churn_fused",
        "segment",
    ] {
        assert!(
            header.iter().any(|h| h == col),
            "no column {col} in {header:?}"
        );
    }
    let rows: Vec<HashMap<String, String>> = r
        .records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 43);
    let by_id: HashMap<&str, &HashMap<String, String>> = rows
        .iter()
        .map(|r| (r["customer_id"].as_str(), r))
        .collect();
    // "a,b": purchases on Jan 1, 15 and Feb 12; scored as of Jun 30 (the last date).
    let ab = by_id["a,b"];
    assert_eq!(ab["frequency"], "2");
    assert_eq!(ab["monetary_value"], "25.00"); // mean of the repeat purchases 20 and 30
    assert_eq!(ab["tenure_weeks"], "25.86"); // 181 days
    assert_eq!(ab["recency_weeks"], "19.86"); // 139 days since Feb 12
    // One purchase only: monetary value is that purchase, recency = tenure.
    let q = by_id["q\"uote"];
    assert_eq!(q["frequency"], "0");
    assert_eq!(q["monetary_value"], "7.50");
    assert_eq!(q["recency_weeks"], q["tenure_weeks"]);
    let u = by_id["ünï"];
    assert_eq!(u["frequency"], "1");
    assert_eq!(u["recency_weeks"], "0.00");
    for r in &rows {
        let p: f64 = r["p_alive"].parse().unwrap();
        let c: f64 = r["churn_risk"].parse().unwrap();
        assert!(
            (0.0..=1.0).contains(&p) && (0.0..=1.0).contains(&c),
            "{r:?}"
        );
        assert!(r["value_fused"].parse::<f64>().unwrap().is_finite());
    }
    // Segments by predicted value: 20% high, 30% mid (of 43: 9 and 13).
    let count = |seg: &str| rows.iter().filter(|r| r["segment"] == seg).count();
    assert_eq!((count("high"), count("mid"), count("low")), (9, 13, 21));
}

#[test]
fn a_fitted_scenario_gives_each_customer_the_policy_action() {
    let dir = tmp();
    let cdnow = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("envs/data/cdnow/cdnow_sample.csv");
    let scenario = dir.path().join("cdnow.ron");
    let o = clv(&["fit", s(&cdnow), "--out", s(&scenario)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("scores.csv");
    let o = clv(&[
        "score",
        s(&cdnow),
        "--out",
        s(&out),
        "--scenario",
        s(&scenario),
        "--policy",
        "fixed:coupon10",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // A single cohort scored a year after the learned predictors' snapshot: they say so.
    assert!(err.contains("outside the range"), "{err}");
    let mut r = csv::Reader::from_path(&out).unwrap();
    let action = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "action")
        .expect("an action column");
    let actions: Vec<String> = r
        .records()
        .map(|x| x.unwrap()[action].to_string())
        .collect();
    assert_eq!(actions.len(), 2357);
    // `fixed:coupon10` sends every reachable customer the coupon10 offer.
    assert!(
        actions.iter().all(|a| a == "coupon10"),
        "{:?}",
        &actions[..5]
    );
}

#[test]
fn bad_logs_and_options_fail_and_write_nothing() {
    let dir = tmp();
    let out = dir.path().join("scores.csv");
    let bad = file(
        dir.path(),
        "bad.csv",
        b"customer_id,date,amount\na,2024-01-01,10\nb,2024-01-05,-4.5\n",
    );
    let err = fails(&["score", s(&bad), "--out", s(&out)]);
    assert!(
        err.contains("line 3") && err.contains("negative amount -4.5"),
        "{err}"
    );
    let short = file(
        dir.path(),
        "short.csv",
        b"customer_id,date,amount\na,2024-01-01,10\na,2024-01-20,5\n",
    );
    let err = fails(&["score", s(&short), "--out", s(&out)]);
    assert!(err.contains("--window"), "{err}");
    let err = fails(&[
        "score",
        s(&short),
        "--out",
        s(&out),
        "--as-of",
        "2020-01-01",
    ]);
    assert!(
        err.contains("--as-of 2020-01-01 is before the first purchase"),
        "{err}"
    );
    let err = fails(&["score", s(&short), "--out", s(&out), "--policy", "none"]);
    assert!(err.contains("--scenario"), "{err}");
    assert!(!out.exists(), "output written on error");
}

//! The fit on the public CDNOW 1/10 sample (envs/data/cdnow) reproduces the published
//! estimates: BG/NBD of Fader, Hardie & Lee (2005) and Gamma-Gamma of Fader & Hardie's note.

use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use clv_envs::fit::{
    LogOptions, Period, fit_bgnbd, fit_gamma_gamma, holdout_report, read_transactions_file,
    summarise,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/cdnow")
        .join(name)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The published summary: (x, t_x, T, mean repeat spend) per customer, rounded to 2 decimals.
fn published_summary() -> Vec<(f64, f64, f64, f64)> {
    let text =
        std::fs::read_to_string(data("cdnow_customers_summary_with_transactions.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|s| s.parse().unwrap()).collect();
            (v[1], v[2], v[3], v[4])
        })
        .collect()
}

fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: got {got}, published {want} (relative tolerance {rel})"
    );
}

#[test]
fn cdnow_summary_fit_and_holdout() {
    let options = LogOptions {
        customer_column: "customer_id".into(),
        ..LogOptions::default()
    };
    let transactions = read_transactions_file(&data("cdnow_sample.csv"), &options).unwrap();
    assert_eq!(transactions.len(), 6_919);
    let summary = summarise(&transactions, Some(date(1997, 9, 30)), Period::Week).unwrap();
    assert_eq!(summary.customers.len(), 2_357);

    // The summary matches the published one, customer by customer (same order: ids 1..2357).
    let published = published_summary();
    assert_eq!(published.len(), summary.customers.len());
    for (c, p) in summary.customers.iter().zip(&published) {
        assert_eq!(c.x, p.0, "customer {}", c.customer);
        assert!(
            (c.t_x - p.1).abs() <= 0.005 + 1e-9,
            "customer {}",
            c.customer
        );
        assert!(
            (c.big_t - p.2).abs() <= 0.005 + 1e-9,
            "customer {}",
            c.customer
        );
        assert!(
            (c.mean_repeat_spend() - p.3).abs() <= 0.005 + 1e-9,
            "customer {}",
            c.customer
        );
    }

    let started = Instant::now();
    let bg = fit_bgnbd(&summary).unwrap();
    let gg = fit_gamma_gamma(&summary).unwrap();
    eprintln!("fit took {:?}: {bg:?}\n{gg:?}", started.elapsed());

    // FHL 2005: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
    assert_rel(bg.params.r, 0.243, 0.01, "r");
    assert_rel(bg.params.alpha, 4.414, 0.01, "alpha");
    assert_rel(bg.params.a, 0.793, 0.01, "a");
    assert_rel(bg.params.b, 2.426, 0.01, "b");
    assert!(
        (bg.log_likelihood - -9582.4).abs() < 0.5,
        "LL {}",
        bg.log_likelihood
    );
    for se in [
        bg.std_errors.r,
        bg.std_errors.alpha,
        bg.std_errors.a,
        bg.std_errors.b,
    ] {
        assert!(se.is_finite() && se > 0.0, "{:?}", bg.std_errors);
    }
    // Fader & Hardie: p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeat customers.
    assert_eq!(gg.customers, 946);
    assert_rel(gg.params.p, 6.25, 0.01, "p");
    assert_rel(gg.params.q, 3.74, 0.01, "q");
    assert_rel(gg.params.gamma, 15.44, 0.01, "gamma");

    // Holdout to 1998-06-30 (weeks 40-78).
    let h = holdout_report(&transactions, &summary, &bg.params, date(1998, 6, 30)).unwrap();
    eprintln!(
        "holdout: actual {} predicted {}",
        h.total_actual, h.total_predicted
    );
    assert!((h.length - 273.0 / 7.0).abs() < 1e-12);
    let last = h.tracking.last().unwrap();
    assert_eq!(h.tracking.len(), 78);
    let cal_actual: f64 = h
        .tracking
        .iter()
        .filter(|r| !r.holdout)
        .map(|r| r.actual)
        .sum();
    let x_total: f64 = summary.customers.iter().map(|c| c.x).sum();
    assert_eq!(cal_actual, x_total);
    assert_eq!(last.cumulative_actual, x_total + h.total_actual);
    eprintln!("{:?}", h.by_frequency);
}

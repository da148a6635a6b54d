//! Property tests (proptest) of the two readers of user files, run in every `cargo test` at a
//! fixed budget: the RON scenario loader ([`parse_scenario`], `--set` overrides, validation,
//! the start checks, then a few simulated customers) and the transaction-log reader
//! ([`read_transactions`], the date checks, the summary and, on small logs, the fits). Inputs
//! are arbitrary text and mutations of valid inputs (numbers replaced by extreme values, spans
//! cut, bytes inserted); every one must give `Ok` or an error, never a panic.
//!
//! Budget: [`SCENARIO_CASES`] + [`OVERRIDE_CASES`] + [`RON_TEXT_CASES`] scenario inputs and
//! [`LOG_CASES`] + [`LOG_TEXT_CASES`] logs ([`MAX_FITS`] of them fitted): 4 s alone, about
//! 10 s beside the other tests, in a release build. Each test also asserts that a fair share
//! of its cases got past the parser (into a simulation, into a summary), so that the budget is
//! not spent on inputs that the first check refuses. Failing inputs are not persisted
//! (proptest prints the minimal one).

use std::path::Path;

use chrono::NaiveDate;
use clv_envs::fit::{
    LogOptions, Period, check_dates, fit_bgnbd, fit_gamma_gamma, fit_warnings, isolated_last_date,
    read_transactions, summarise,
};
use clv_envs::scenario::{apply_overrides, check_start, parse_scenario};
use clv_envs::{Population, SeedDomain, parse_baseline};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Mutated copies of the committed scenarios.
const SCENARIO_CASES: u32 = 600;
/// Random `--set` overrides of the default scenario.
const OVERRIDE_CASES: u32 = 600;
/// Arbitrary text as a scenario.
const RON_TEXT_CASES: u32 = 1000;
/// Generated transaction logs (rows of plausible and hostile fields).
const LOG_CASES: u32 = 1000;
/// Arbitrary text as a transaction log.
const LOG_TEXT_CASES: u32 = 1000;

/// Customers simulated from a scenario that loads.
const SIM_CUSTOMERS: u64 = 4;
/// Longest horizon simulated (longer ones are cut to it: the point is the panic, not the run).
const SIM_MAX_PERIODS: u32 = 30;
/// Most customers a generated log is fitted with (fits of larger logs take too long here).
const FIT_MAX_CUSTOMERS: usize = 40;
/// Most logs fitted in one test run (a fit of a degenerate log can take a second).
const MAX_FITS: u32 = 10;

/// Logs fitted so far.
static FITS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

const SCENARIOS: [&str; 5] = [
    include_str!("../../scenarios/default.ron"),
    include_str!("../../scenarios/winback.ron"),
    include_str!("../../scenarios/habituation.ron"),
    include_str!("../../scenarios/sleeping-dogs.ron"),
    include_str!("../../scenarios/cdnow-cohort.ron"),
];

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Numbers that break things: zero, signs, extremes, non-finite, almost-integers.
fn hostile_number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-0.0".to_string()),
        Just("1e308".to_string()),
        Just("-1e308".to_string()),
        Just("1e-308".to_string()),
        Just("5e-324".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("18446744073709551615".to_string()),
        Just("18446744073709551616".to_string()),
        Just("4294967296".to_string()),
        Just("-1".to_string()),
        Just("1.0000001".to_string()),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        any::<i64>().prop_map(|v| v.to_string()),
        (0u32..200).prop_map(|v| v.to_string()),
    ]
}

/// The byte ranges of the numbers in `text`.
fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut spans = vec![];
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if starts {
            let s = i;
            while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'.' | b'e' | b'_')) {
                i += 1;
            }
            spans.push((s, i));
        } else {
            i += 1;
        }
    }
    spans
}

/// One edit of a scenario's text.
#[derive(Debug, Clone)]
enum Edit {
    /// Replace the k-th number (modulo their count) with this text.
    Number(usize, String),
    /// Cut `len` bytes at a position (a fraction of the length).
    Cut(f64, usize),
    /// Insert text at a position.
    Insert(f64, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => (any::<usize>(), hostile_number()).prop_map(|(k, v)| Edit::Number(k, v)),
        1 => (0.0..1.0f64, 1usize..40).prop_map(|(at, n)| Edit::Cut(at, n)),
        1 => (0.0..1.0f64, "[(),:\\[\\]a-zA-Z0-9\" ]{1,12}").prop_map(|(at, s)| Edit::Insert(at, s)),
    ]
}

/// The byte index at fraction `at` of `text`, moved back to a character boundary.
fn boundary(text: &str, at: f64) -> usize {
    let mut i = ((text.len() as f64) * at) as usize;
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i.min(text.len())
}

fn apply(text: &str, e: &Edit) -> String {
    let mut t = text.to_string();
    match e {
        Edit::Number(k, v) => {
            let spans = number_spans(&t);
            if let Some(&(s, end)) = spans.get(k % spans.len().max(1)) {
                t.replace_range(s..end, v);
            }
        }
        Edit::Cut(at, n) => {
            let s = boundary(&t, *at);
            let mut end = (s + n).min(t.len());
            while !t.is_char_boundary(end) {
                end -= 1;
            }
            t.replace_range(s..end, "");
        }
        Edit::Insert(at, s) => {
            let i = boundary(&t, *at);
            t.insert_str(i, s);
        }
    }
    t
}

/// Everything a command does with a scenario before and at the start of a run: parse,
/// override, validate, check the start, then simulate a few customers under `none`. Returns
/// whether it got as far as the simulation.
fn exercise_scenario(text: &str, overrides: &[String]) -> bool {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let Ok(s) = parse_scenario(text, Path::new("fuzz.ron")) else {
        return false;
    };
    let Ok(mut s) = apply_overrides(&s, overrides) else {
        return false;
    };
    if s.validate().is_err() || check_start(&s, &dir).is_err() {
        return false;
    }
    s.horizon = s.horizon.min(SIM_MAX_PERIODS);
    s.short_horizon = s.short_horizon.min(s.horizon);
    let Ok(mut pop) = Population::new(&s, SeedDomain::Test, 1, SIM_CUSTOMERS, &dir) else {
        return false;
    };
    let Ok(mut policy) = parse_baseline("none", &s) else {
        return false;
    };
    let r = pop.evaluate(&mut policy, &|_| {});
    assert_eq!(r.clv.len() as u64, SIM_CUSTOMERS);
    true
}

/// Runs `check` on `cases` values of `strategy`; returns how many `check` says went deep.
fn run_cases<S: Strategy>(cases: u32, strategy: S, check: impl Fn(S::Value) -> bool) -> u32
where
    S::Value: std::fmt::Debug,
{
    let deep = std::sync::atomic::AtomicU32::new(0);
    TestRunner::new(config(cases))
        .run(&strategy, |v| {
            if check(v) {
                deep.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(())
        })
        .unwrap();
    deep.into_inner()
}

#[test]
fn mutated_scenarios_never_panic() {
    let strategy = (
        0usize..SCENARIOS.len(),
        proptest::collection::vec(edit(), 1..4),
    );
    let deep = run_cases(SCENARIO_CASES, strategy, |(which, edits)| {
        let mut text = SCENARIOS[which].to_string();
        for e in &edits {
            text = apply(&text, e);
        }
        exercise_scenario(&text, &[])
    });
    // The budget is spent in depth: many mutants load and are simulated.
    assert!(
        deep >= SCENARIO_CASES / 10,
        "{deep} of {SCENARIO_CASES} simulated"
    );
}

/// A `--set` path: a real field, an indexed one, or garbage.
fn override_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("horizon".to_string()),
        Just("short_horizon".to_string()),
        Just("population.customers".to_string()),
        Just("population.bgnbd.r".to_string()),
        Just("population.bgnbd.a".to_string()),
        Just("population.spend.p".to_string()),
        Just("population.spend.q".to_string()),
        Just("economics.contact_cost".to_string()),
        Just("economics.annual_discount_rate".to_string()),
        Just("coupon.saturation".to_string()),
        (0usize..12).prop_map(|i| format!("offers.{i}.discount")),
        (0usize..12).prop_map(|i| format!("offers.{i}.contact")),
        "[a-z_.0-9]{1,30}",
    ]
    .boxed()
}

#[test]
fn random_overrides_never_panic() {
    let value = prop_oneof![
        3 => (0.0..1.0f64).prop_map(|v| v.to_string()),
        3 => (1u32..100).prop_map(|v| v.to_string()),
        2 => hostile_number(),
        1 => Just("true".to_string()),
        1 => Just("Cohort".to_string()),
        1 => "[ -~]{0,20}",
    ];
    let strategy = proptest::collection::vec((override_path(), value), 1..3);
    let deep = run_cases(OVERRIDE_CASES, strategy, |sets| {
        let overrides: Vec<String> = sets.iter().map(|(p, v)| format!("{p}={v}")).collect();
        exercise_scenario(SCENARIOS[0], &overrides)
    });
    assert!(
        deep >= OVERRIDE_CASES / 20,
        "{deep} of {OVERRIDE_CASES} simulated"
    );
}

#[test]
fn arbitrary_text_as_a_scenario_never_panics() {
    let strategy = prop_oneof![
        "\\PC{0,300}",
        "[(){}\\[\\],:\"a-z0-9 .\\-]{0,300}",
        (1usize..3000).prop_map(|n| "(".repeat(n)),
        (1usize..3000).prop_map(|n| "[".repeat(n)),
    ];
    run_cases(RON_TEXT_CASES, strategy, |text| {
        exercise_scenario(&text, &[])
    });
}

/// A date field: valid dates in several formats, extreme and sentinel dates, or garbage.
fn date_field() -> impl Strategy<Value = String> {
    let day = (1990i32..2010, 1u32..13, 1u32..29);
    prop_oneof![
        4 => day.clone().prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        1 => day.clone().prop_map(|(y, m, d)| format!("{y:04}{m:02}{d:02}")),
        1 => day.clone().prop_map(|(y, m, d)| format!("{m:02}/{d:02}/{y:04}")),
        1 => day.prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}T10:00:00+02:00")),
        1 => prop_oneof![Just("9999-12-31".to_string()), Just("0001-01-01".to_string()),
                         Just("1997-02-30".to_string()), Just("+262143-01-01".to_string()),
                         Just(String::new())],
        1 => "[ -~]{0,12}",
    ]
}

/// An amount field: plausible amounts, hostile numbers or garbage.
fn amount_field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0.0..500.0f64).prop_map(|v| format!("{v:.2}")),
        1 => (0.0..500.0f64).prop_map(|v| format!("${v:.2}")),
        2 => hostile_number(),
        1 => "[ -~]{0,8}",
    ]
}

/// A customer id: short ids (so that customers repeat), unicode, quoted, empty.
fn customer_field() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0u32..30).prop_map(|i| format!("c{i}")),
        1 => Just("\"quoted, id\"".to_string()),
        1 => Just("kunde-ä✓".to_string()),
        1 => Just(String::new()),
        1 => "[ -~]{0,6}",
    ]
}

/// A plausible row: customer, ISO date, amount.
fn good_row() -> impl Strategy<Value = (String, String, String)> {
    (
        (0u32..30).prop_map(|i| format!("c{i}")),
        (1996i32..1999, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        (0.5..300.0f64).prop_map(|v| format!("{v:.2}")),
    )
}

/// A log: a header (usually the expected one), plausible rows, and a few hostile rows mixed
/// in at random places (or none).
fn log_text() -> impl Strategy<Value = String> {
    let hostile = (customer_field(), date_field(), amount_field());
    (
        prop_oneof![
            6 => Just("customer_id,date,amount"),
            1 => Just("\u{feff}customer_id,date,amount"),
            1 => Just("date,amount,customer_id"),
            1 => Just("customer_id,date"),
            1 => Just(""),
        ],
        proptest::collection::vec(good_row(), 0..150),
        proptest::collection::vec((any::<proptest::sample::Index>(), hostile), 0..3),
        prop_oneof![Just("\n"), Just("\r\n")],
        proptest::bool::weighted(0.05),
    )
        .prop_map(|(header, mut rows, bad, eol, extra_field)| {
            for (at, row) in bad {
                let i = at.index(rows.len() + 1);
                rows.insert(i, row);
            }
            let mut t = format!("{header}{eol}");
            for (c, d, a) in rows {
                if extra_field {
                    t.push_str(&format!("{c},{d},{a},x{eol}"));
                } else {
                    t.push_str(&format!("{c},{d},{a}{eol}"));
                }
            }
            t
        })
}

/// Everything `clv fit` does with a log before writing: read, check the dates, summarise,
/// and on a small log (the first [`MAX_FITS`]) fit both models and judge the fits. Returns
/// whether it got as far as the summary.
fn exercise_log(text: &str) -> bool {
    let Ok(t) = read_transactions(text.as_bytes(), &LogOptions::default()) else {
        return false;
    };
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date");
    if check_dates(&t, today).is_err() {
        return false;
    }
    let _ = isolated_last_date(&t);
    let Ok(summary) = summarise(&t, None, Period::Week) else {
        return false;
    };
    if summary.customers.len() <= FIT_MAX_CUSTOMERS
        && FITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < MAX_FITS
        && let (Ok(bg), Ok(gg)) = (fit_bgnbd(&summary), fit_gamma_gamma(&summary))
    {
        let _ = fit_warnings(&bg, &gg);
    }
    true
}

#[test]
fn generated_logs_never_panic() {
    let deep = run_cases(LOG_CASES, log_text(), |text| exercise_log(&text));
    assert!(deep >= LOG_CASES / 5, "{deep} of {LOG_CASES} summarised");
}

#[test]
fn arbitrary_text_as_a_log_never_panics() {
    let strategy = prop_oneof!["\\PC{0,400}", "[,\"\\n\\r a-z0-9.\\-/:$]{0,400}",];
    run_cases(LOG_TEXT_CASES, strategy, |text| exercise_log(&text));
}

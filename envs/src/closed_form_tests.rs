//! The simulator against the closed forms of BG/NBD and Gamma-Gamma, on the shipped
//! `cdnow-cohort` scenario (a cohort start, every marketing mechanism off), with large
//! fixed-seed samples and tolerances stated in standard errors; and the engine's promises:
//! thread-count independence and common random numbers.

use std::path::Path;

use crate::btyd::{bgnbd, gamma_gamma};
use crate::offer::Offer;
use crate::policy::{Mode, ObsBatch, Policy, parse_baseline};
use crate::{Population, Scenario, SeedDomain, load_scenario};

const CUSTOMERS: u64 = 200_000;
/// Tolerance of every statistical check, in standard errors.
const Z: f64 = 4.0;

fn cohort() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/cdnow-cohort.ron");
    load_scenario(&path, &[]).expect("the shipped cohort scenario loads")
}

fn mean_sd(xs: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let v: Vec<f64> = xs.collect();
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt(), n)
}

#[test]
fn purchases_follow_bgnbd_expected_and_zero_probability() {
    let s = cohort();
    let bg = s.population.bgnbd;
    let mut pop = Population::new(&s, SeedDomain::Test, 11, CUSTOMERS, Path::new(".")).unwrap();
    let mut none = parse_baseline("none", &s).unwrap();
    let r = pop.evaluate(&mut none, &|_| {});
    let h = s.horizon as usize;
    // Final X(H): mean against E[X(H)], with the sample SD.
    let (m, sd, n) = mean_sd((0..pop.len()).map(|i| pop.record(i).repeat_purchases as f64));
    let expected = bgnbd::expected_purchases(&bg, h as f64);
    assert!(
        (m - expected).abs() < Z * sd / n.sqrt(),
        "E[X({h})]: simulated {m:.4}, closed form {expected:.4}, SE {:.4}",
        sd / n.sqrt()
    );
    // The cumulative curve at every 13 weeks (SE bounded by the final SD: X(t) <= X(H)).
    let mut cum = 0u64;
    for (t, row) in r.series.iter().enumerate() {
        cum += row.purchases;
        if (t + 1) % 13 == 0 {
            let sim = cum as f64 / n;
            let cf = bgnbd::expected_purchases(&bg, (t + 1) as f64);
            assert!(
                (sim - cf).abs() < Z * sd / n.sqrt(),
                "E[X({})]: {sim:.4} vs {cf:.4}",
                t + 1
            );
        }
    }
    // P(X(H) = 0): a proportion.
    let zero = (0..pop.len())
        .filter(|i| pop.record(*i).repeat_purchases == 0)
        .count() as f64
        / n;
    let p0 = bgnbd::prob_no_purchases(&bg, h as f64);
    let se = (p0 * (1.0 - p0) / n).sqrt();
    assert!((zero - p0).abs() < Z * se, "P(X=0): {zero:.4} vs {p0:.4}");
    // P(X(H) = x) for x = 1..3.
    for x in 1..=3u32 {
        let share = (0..pop.len())
            .filter(|i| pop.record(*i).repeat_purchases == x)
            .count() as f64
            / n;
        let px = bgnbd::prob_purchases(&bg, x, h as f64);
        let se = (px * (1.0 - px) / n).sqrt();
        assert!(
            (share - px).abs() < Z * se,
            "P(X={x}): {share:.4} vs {px:.4}"
        );
    }
}

#[test]
fn alive_share_matches_p_alive_given_history() {
    let s = cohort();
    let bg = s.population.bgnbd;
    let mut pop = Population::new(&s, SeedDomain::Test, 12, CUSTOMERS, Path::new(".")).unwrap();
    let mut none = parse_baseline("none", &s).unwrap();
    pop.evaluate(&mut none, &|_| {});
    let big_t = s.horizon as f64;
    // Bin customers by predicted P(alive | x, t_x, T); in each bin the realised alive share
    // must match the mean prediction (a sum of Bernoullis: SE = sqrt(sum p(1-p)) / n).
    let mut bins = [(0.0f64, 0.0f64, 0.0f64, 0u64); 5];
    for (i, c) in pop.customers.iter().enumerate() {
        let r = pop.record(i);
        let p = bgnbd::p_alive(
            &bg,
            r.repeat_purchases as f64,
            r.last_purchase as f64,
            big_t,
        );
        let b = ((p * 5.0) as usize).min(4);
        bins[b].0 += p;
        bins[b].1 += c.state.alive as u8 as f64;
        bins[b].2 += p * (1.0 - p);
        bins[b].3 += 1;
    }
    for (b, (sp, alive, var, n)) in bins.iter().enumerate() {
        if *n < 500 {
            continue;
        }
        let se = var.sqrt();
        assert!(
            (alive - sp).abs() < Z * se.max(1.0),
            "bin {b}: {alive} alive, {sp:.1} predicted of {n}"
        );
    }
}

#[test]
fn conditional_expectation_predicts_the_holdout() {
    let mut s = cohort();
    let bg = s.population.bgnbd;
    s.horizon = 39;
    let mut pop = Population::new(&s, SeedDomain::Test, 13, CUSTOMERS, Path::new(".")).unwrap();
    let mut none = parse_baseline("none", &s).unwrap();
    pop.evaluate(&mut none, &|_| {});
    let before: Vec<u32> = (0..pop.len())
        .map(|i| pop.record(i).repeat_purchases)
        .collect();
    let predicted: f64 = (0..pop.len())
        .map(|i| {
            let r = pop.record(i);
            bgnbd::conditional_expected_purchases(
                &bg,
                39.0,
                r.repeat_purchases as f64,
                r.last_purchase as f64,
                r.age as f64,
            )
        })
        .sum::<f64>()
        / pop.len() as f64;
    pop.evaluate(&mut none, &|_| {});
    let (m, sd, n) =
        mean_sd((0..pop.len()).map(|i| (pop.record(i).repeat_purchases - before[i]) as f64));
    assert!(
        (m - predicted).abs() < Z * sd / n.sqrt(),
        "holdout purchases {m:.4} vs conditional expectation {predicted:.4}"
    );
}

#[test]
fn spend_follows_gamma_gamma() {
    let s = cohort();
    let pop = Population::new(&s, SeedDomain::Test, 14, CUSTOMERS, Path::new(".")).unwrap();
    // One first purchase per customer: its mean is E[p / nu] = p gamma / (q - 1).
    let (m, sd, n) = mean_sd((0..pop.len()).map(|i| pop.record(i).total_spend as f64));
    let expected = gamma_gamma::mean_spend(&s.population.spend);
    assert!(
        (m - expected).abs() < Z * sd / n.sqrt(),
        "mean spend {m:.3} vs {expected:.3}"
    );
}

/// Offers `fixed:coupon20` to customers with an even index, nothing to the others.
struct EvenOnly(u8);

impl Policy for EvenOnly {
    fn name(&self) -> String {
        "even-only".into()
    }
    fn act(&mut self, batch: &ObsBatch<'_>, _mode: Mode, out: &mut [Offer]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = if i % 2 == 0 {
                batch.catalogue_offer(i, self.0 as usize)
            } else {
                batch.catalogue_offer(i, 0)
            };
        }
    }
}

#[test]
fn common_random_numbers_pair_customers_across_policies() {
    let s = Scenario {
        horizon: 52,
        start: crate::Start::BurnIn {
            periods: 26,
            policy: "none".into(),
        },
        ..Scenario::default()
    };
    let start = Population::new(&s, SeedDomain::Test, 3, 20_000, Path::new(".")).unwrap();
    let mut none = parse_baseline("none", &s).unwrap();
    let a = start.clone().evaluate(&mut none, &|_| {});
    let code = s.offer_index("coupon20").unwrap() as u8;
    let b = start.clone().evaluate(&mut EvenOnly(code), &|_| {});
    // Customers who got the same actions (odd ones) have identical outcomes...
    for i in (1..a.clv.len()).step_by(2) {
        assert_eq!(a.clv[i], b.clv[i], "customer {i}");
    }
    // ...and treated ones differ somewhere.
    assert!((0..a.clv.len()).step_by(2).any(|i| a.clv[i] != b.clv[i]));
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let s = Scenario {
        horizon: 40,
        start: crate::Start::BurnIn {
            periods: 20,
            policy: "cadence:coupon10:4".into(),
        },
        ..Scenario::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let mut pop =
                    Population::new(&s, SeedDomain::Test, 9, 30_000, Path::new(".")).unwrap();
                let mut p = parse_baseline("oracle-myopic", &s).unwrap();
                pop.evaluate(&mut p, &|_| {})
            })
    };
    let (a, b) = (run(1), run(4));
    assert_eq!(a.clv, b.clv);
    assert_eq!(a.clv_short, b.clv_short);
    assert_eq!(a.by_segment, b.by_segment);
    assert_eq!(a.series, b.series);
}

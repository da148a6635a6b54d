//! The expected reward of one customer-period given the customer's full simulated state and the
//! offer: the low-variance training signal `reward: expected`.
//!
//! It is the closed-form mean of [`Dynamics::step`]'s reward over that period's own randomness
//! (relevance coin, win-back coin, latent events and their thinning and dropout coins,
//! offer-driven counts, spends), so its expectation equals the realised reward's and a learner
//! trained on it optimises the same objective with far less noise. It reads hidden traits and
//! state, so it may only enter training targets, never an acting path.
//!
//! With N ~ Poisson(lambda) latent events (capped at `MAX_EVENTS`, as the simulator does), each
//! followed by a dropout coin with probability p, the number of events processed is
//! J = min(N, D) with D ~ Geometric(p) on {1, 2, ...}; each is realised with probability `keep`
//! (fatigue and habituation thinning), so baseline purchases B ~ Binomial(J, keep). Offer-driven
//! purchases C ~ Poisson(coupon rate + recommendation rate) are independent of B. Spends are
//! i.i.d. with mean p_spend / nu, so
//!
//! E[r] = m * E[z] * E[B + C] - d * E[z] * E[min(B + C, max_redemptions)] - c * contacted,
//!
//! averaged over the relevance coin (which moves pressure, satisfaction and the recommendation
//! rate) and the win-back coin. `E[min(P, M)] = sum_{k < M} P(P > k)` is computed from the
//! exact pmf of B convolved with the Poisson pmf of C.

use crate::customer::{Customer, Dynamics, MAX_EVENTS, ResponseType, State, Traits};
use crate::offer::Offer;

/// The expected reward (dollars) of stepping `c` one period under `offer`.
pub fn expected_reward(d: &Dynamics, c: &Customer, offer: &Offer) -> f64 {
    let tr = &c.traits;
    let mut st = c.state;
    st.pressure *= d.pressure_decay;
    st.reference *= d.reference_decay;
    st.satisfaction *= d.sat_decay;
    let contacted = offer.contact && !c.record.opted_out;
    let coupon = contacted && offer.discount > 0.0;
    let cost = if contacted { d.contact_cost } else { 0.0 };
    if contacted && d.fatigue_on {
        st.pressure += 1.0;
    }
    // The relevance coin.
    let branches: [(f64, State, bool); 2] = match offer.recommend {
        Some(k) if contacted && d.rec_on && st.alive => {
            let p_rel = d.preference(tr, k);
            let mut relevant = st;
            relevant.satisfaction += d.sat_gain;
            let mut irrelevant = st;
            if d.fatigue_on {
                irrelevant.pressure += d.irrelevant_pressure;
            }
            [(p_rel, relevant, true), (1.0 - p_rel, irrelevant, false)]
        }
        _ => [(1.0, st, false), (0.0, st, false)],
    };
    // The win-back coin.
    let p_alive = if st.alive {
        1.0
    } else if d.winback_on && coupon {
        d.winback_p * (offer.discount as f64 / d.winback_full_depth).min(1.0)
    } else {
        0.0
    };
    let mut value = -cost;
    for (w, branch, relevant) in branches {
        if w > 0.0 && p_alive > 0.0 {
            value += w * p_alive * alive_value(d, tr, &branch, offer, contacted, coupon, relevant);
        }
    }
    value
}

/// Expected margin net of discount of an alive customer in state `st` (after this period's
/// contact effects), dollars.
fn alive_value(
    d: &Dynamics,
    tr: &Traits,
    st: &State,
    offer: &Offer,
    contacted: bool,
    coupon: bool,
    relevant: bool,
) -> f64 {
    let lambda = tr.lambda as f64;
    let disc = offer.discount as f64;
    let redeems = coupon && d.coupon_on && tr.response.redeems();
    let mut keep = 1.0;
    if d.fatigue_on {
        keep *= (-d.thinning * st.pressure as f64).exp();
    }
    if d.habit_on && !redeems {
        keep *= (-d.full_price_thinning * st.reference as f64).exp();
    }
    let mut p_drop = tr.p_drop as f64;
    if d.rec_on {
        p_drop *= 1.0 - d.dropout_reduction * (st.satisfaction as f64).min(1.0);
    }
    // A sleeping dog reacts to any contact, coupon or not.
    if contacted && d.coupon_on && tr.response == ResponseType::SleepingDog {
        p_drop = (p_drop * d.sd_dropout_mult).min(1.0);
    }
    let mut offer_rate = 0.0;
    if coupon && d.coupon_on && tr.response == ResponseType::Persuadable {
        let d_eff = if d.habit_on {
            (disc - d.erosion * st.reference as f64).max(0.0)
        } else {
            disc
        };
        offer_rate += lambda * tr.elasticity as f64 * (1.0 - (-d.saturation * d_eff).exp());
    }
    if relevant {
        offer_rate += d.rec_lift * lambda;
    }
    let processed = processed_pmf(lambda, p_drop);
    let mean_baseline: f64 = processed
        .iter()
        .enumerate()
        .map(|(j, p)| j as f64 * p)
        .sum::<f64>()
        * keep;
    let mean_spend = d.p_spend / tr.nu as f64;
    let mut value = d.margin * mean_spend * (mean_baseline + offer_rate);
    if redeems {
        let covered = expected_capped(&processed, keep, offer_rate, d.max_redemptions);
        value -= disc * mean_spend * covered;
    }
    value
}

/// pmf of J = min(N, D), the latent events processed before (and including) the first
/// dropout, for N ~ Poisson(lambda) capped at `MAX_EVENTS` and D ~ Geometric(p_drop): entries
/// 0..=MAX_EVENTS.
fn processed_pmf(lambda: f64, p_drop: f64) -> [f64; MAX_EVENTS + 1] {
    let n = poisson_pmf(lambda);
    let mut tail = 1.0; // P(N > j - 1), running.
    let mut out = [0.0; MAX_EVENTS + 1];
    let q = 1.0 - p_drop;
    let mut survive = 1.0; // q^(j - 1)
    for j in 0..=MAX_EVENTS {
        if j == 0 {
            out[0] = n[0];
        } else if j < MAX_EVENTS {
            let beyond = (tail - n[j]).max(0.0); // P(N > j)
            out[j] = survive * (n[j] + beyond * p_drop);
            survive *= q;
        } else {
            out[j] = survive * tail.max(0.0); // P(N >= MAX_EVENTS), no coin after the cap
        }
        tail -= n[j];
    }
    out
}

/// Poisson pmf with mean `mean` at 0..=MAX_EVENTS.
fn poisson_pmf(mean: f64) -> [f64; MAX_EVENTS + 1] {
    let mut out = [0.0; MAX_EVENTS + 1];
    let mut p = (-mean).exp();
    for (k, slot) in out.iter_mut().enumerate() {
        if k > 0 {
            p *= mean / k as f64;
        }
        *slot = p;
    }
    out
}

/// E[min(B + C, cap)] for B ~ Binomial(J, keep) with J ~ `processed`, C ~ Poisson(`rate`).
fn expected_capped(processed: &[f64; MAX_EVENTS + 1], keep: f64, rate: f64, cap: u32) -> f64 {
    let cap = (cap as usize).min(MAX_EVENTS);
    // pmf of B at 0..cap.
    let mut b = vec![0.0; cap];
    for (j, pj) in processed.iter().enumerate() {
        if *pj == 0.0 {
            continue;
        }
        // Binomial(j, keep) pmf at k, iteratively.
        let mut pk = (1.0 - keep).powi(j as i32);
        for (k, slot) in b.iter_mut().enumerate().take(cap.min(j + 1)) {
            if k > 0 {
                pk *= (j + 1 - k) as f64 / k as f64 * keep / (1.0 - keep).max(f64::MIN_POSITIVE);
            }
            *slot += pj
                * if keep >= 1.0 {
                    (k == j) as u8 as f64
                } else {
                    pk
                };
        }
    }
    let c = poisson_pmf(rate);
    let mut expected = 0.0;
    for k in 0..cap {
        // P(B + C <= k)
        let cdf: f64 = (0..=k)
            .map(|i| b[i] * c[..=k - i].iter().sum::<f64>())
            .sum();
        expected += (1.0 - cdf).max(0.0);
    }
    expected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{CustomerKey, SeedDomain};
    use crate::scenario::Scenario;

    /// Mean realised reward of `c` under `offer` over `n` independent draws of the period's
    /// randomness (same traits and state, other stream keys).
    fn realised_mean(d: &Dynamics, c: &Customer, offer: &Offer, n: u64) -> (f64, f64) {
        let mut sum = 0.0;
        let mut sq = 0.0;
        for i in 0..n {
            let mut x = *c;
            x.key = CustomerKey::new(SeedDomain::Validation, 77, i);
            let r = d.step(&mut x, offer).reward;
            sum += r;
            sq += r * r;
        }
        let mean = sum / n as f64;
        (mean, ((sq / n as f64 - mean * mean) / n as f64).sqrt())
    }

    fn check_scenario(path: &str) {
        let s = crate::scenario::load_scenario(std::path::Path::new(path), &[]).unwrap();
        let d = Dynamics::new(&s);
        let n = 20_000;
        let mut checked = 0;
        for id in 0..40u64 {
            let mut c = d.new_customer(CustomerKey::new(SeedDomain::Train, 5, id));
            // A varied state: some periods of random offers first.
            for t in 0..(id % 9) {
                let code = ((id + t) as usize) % s.offers.len();
                let o = Offer::from_spec(&s.offers[code], code as u8, &c.record);
                d.step(&mut c, &o);
            }
            // Make buying likely enough that the check has power.
            c.traits.lambda = c.traits.lambda.max(0.3);
            for code in 0..s.offers.len() {
                let offer = Offer::from_spec(&s.offers[code], code as u8, &c.record);
                let e = expected_reward(&d, &c, &offer);
                let (mean, se) = realised_mean(&d, &c, &offer, n);
                // 5 standard errors plus a cent: a wrong term is off by far more.
                assert!(
                    (e - mean).abs() <= 5.0 * se + 0.01,
                    "{path} customer {id} offer {code}: expected {e:.4}, realised mean {mean:.4} +- {se:.4}"
                );
                checked += 1;
            }
        }
        assert!(checked > 100);
    }

    #[test]
    fn expected_reward_matches_the_realised_mean_on_every_shipped_scenario() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/");
        for f in [
            "default",
            "habituation",
            "sleeping-dogs",
            "winback",
            "cdnow-cohort",
        ] {
            check_scenario(&format!("{root}{f}.ron"));
        }
    }

    #[test]
    fn processed_pmf_sums_to_one_and_has_the_closed_form_mean() {
        for (lambda, p) in [(0.1, 0.0), (0.7, 0.2), (2.5, 0.5)] {
            let pmf = processed_pmf(lambda, p);
            assert!((pmf.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let mean: f64 = pmf.iter().enumerate().map(|(j, q)| j as f64 * q).sum();
            let closed = if p == 0.0 {
                lambda
            } else {
                (1.0 - (-lambda * p).exp()) / p
            };
            assert!(
                (mean - closed).abs() < 1e-9,
                "{lambda} {p}: {mean} vs {closed}"
            );
        }
    }

    #[test]
    fn a_dead_customer_without_win_back_is_worth_minus_the_contact() {
        let s = Scenario::default();
        let d = Dynamics::new(&s);
        let mut c = d.new_customer(CustomerKey::new(SeedDomain::Train, 1, 1));
        c.state.alive = false;
        let offer = Offer::from_spec(&s.offers[1], 1, &c.record);
        let cost = if offer.contact {
            s.economics.contact_cost
        } else {
            0.0
        };
        assert!((expected_reward(&d, &c, &offer) + cost).abs() < 1e-12);
    }
}

//! The BG/NBD model of Fader, Hardie & Lee (2005), "Counting your customers the easy way: an
//! alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284.
//!
//! Time is in the parameters' unit (weeks for every scenario). For a customer, `x` is the
//! number of repeat purchases, `t_x` the time of the last purchase since the first, and
//! `big_t` (T) the time since the first purchase at the end of observation.

use super::error::BtydError;
use super::params::BgNbdParams;
use super::special::{beta_expectation, ln_beta, ln_gamma, ln_hyp2f1};

/// Half-width of the band around a = 1 where the closed forms, whose factor 1 / (a - 1) makes
/// them 0/0 at a = 1, are interpolated linearly between a = 1 -/+ this value instead.
const A_NEAR_ONE: f64 = 1e-4;
/// Below this value of c = a + b + x - 1, the hypergeometric series is badly conditioned or
/// undefined (c <= 0), and expectations are integrated over the dropout probability instead.
const MIN_HYP2F1_C: f64 = 0.5;

/// E[X(t)]: expected number of repeat purchases in (0, t] of a customer who has just made a
/// first purchase (FHL 2005, eq. 9). `t` in weeks; returns a count.
pub fn expected_purchases(p: &BgNbdParams, t: f64) -> f64 {
    conditional_expected_purchases_raw(p, t, 0.0, 0.0, 0.0)
}

/// P(X(t) = 0): probability of no repeat purchase in (0, t] (FHL 2005, eq. 8 with x = 0).
/// `t` in weeks.
pub fn prob_no_purchases(p: &BgNbdParams, t: f64) -> f64 {
    prob_purchases(p, 0, t)
}

/// P(X(t) = x): probability of exactly `x` repeat purchases in (0, t] for a customer who has
/// just made a first purchase (FHL 2005, eq. 8). `t` in weeks.
pub fn prob_purchases(p: &BgNbdParams, x: u32, t: f64) -> f64 {
    let BgNbdParams { r, alpha, a, b } = *p;
    if t <= 0.0 {
        return if x == 0 { 1.0 } else { 0.0 };
    }
    let xf = f64::from(x);
    let ln_q = (alpha / (alpha + t)).ln(); // ln(alpha / (alpha + t))
    let ln_z = (t / (alpha + t)).ln(); // ln(t / (alpha + t))
    // Alive through (0, t]: NBD count x.
    let ln_alive = ln_beta(a, b + xf) - ln_beta(a, b) + ln_nbd_pmf(r, x, ln_q, ln_z);
    let mut prob = ln_alive.exp();
    if x > 0 {
        // Dropped out at the x-th purchase, which happened within (0, t]: P(NBD >= x).
        let ln_dead = ln_beta(a + 1.0, b + xf - 1.0) - ln_beta(a, b);
        prob += (ln_dead + ln_nbd_tail(r, x, ln_q, ln_z)).exp();
    }
    prob
}

/// ln of the NBD probability Γ(r + j) / (Γ(r) j!) q^r z^j, with q = alpha / (alpha + t) and
/// z = 1 - q given by their logs.
fn ln_nbd_pmf(r: f64, j: u32, ln_q: f64, ln_z: f64) -> f64 {
    let jf = f64::from(j);
    ln_gamma(r + jf) - ln_gamma(r) - ln_gamma(jf + 1.0) + r * ln_q + jf * ln_z
}

/// ln P(N >= x) for N ~ NBD(r, q): one minus the CDF, or the upper tail summed directly when
/// the CDF is close to 1 (to avoid cancellation).
fn ln_nbd_tail(r: f64, x: u32, ln_q: f64, ln_z: f64) -> f64 {
    let cdf: f64 = (0..x).map(|j| ln_nbd_pmf(r, j, ln_q, ln_z).exp()).sum();
    if cdf < 0.9 {
        return (-cdf).ln_1p();
    }
    // Sum the tail from j = x until its terms are negligible; the ratio of successive terms
    // tends to z < 1.
    let z = ln_z.exp();
    let mut ln_term = ln_nbd_pmf(r, x, ln_q, ln_z);
    let mut tail = 0.0;
    let mut j = f64::from(x);
    loop {
        let term = ln_term.exp();
        tail += term;
        let ratio = (r + j) / (j + 1.0) * z;
        if (ratio < 1.0 && term <= 1e-17 * tail) || term == 0.0 {
            break;
        }
        ln_term += ratio.ln();
        j += 1.0;
    }
    tail.ln()
}

/// P(alive | x, t_x, T): probability that a customer with this history has not dropped out
/// (FHL 2005, eq. 12; 1 when x = 0). Times in weeks.
pub fn p_alive(p: &BgNbdParams, x: f64, t_x: f64, big_t: f64) -> f64 {
    1.0 / (1.0 + dead_to_alive_odds(p, x, t_x, big_t))
}

/// The posterior odds of having dropped out after the last purchase against being alive:
/// a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x) for x > 0, 0 for x = 0.
fn dead_to_alive_odds(p: &BgNbdParams, x: f64, t_x: f64, big_t: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let BgNbdParams { r, alpha, a, b } = *p;
    let ln_odds = a.ln() - (b + x - 1.0).ln() + (r + x) * ((alpha + big_t) / (alpha + t_x)).ln();
    ln_odds.exp()
}

/// E[Y(t) | x, t_x, T]: expected number of purchases in (T, T + t] of a customer with this
/// history (FHL 2005, eq. 10). Times in weeks; returns a count.
pub fn conditional_expected_purchases(
    p: &BgNbdParams,
    t: f64,
    x: f64,
    t_x: f64,
    big_t: f64,
) -> f64 {
    conditional_expected_purchases_raw(p, t, x, t_x, big_t)
}

/// Eq. 10 (eq. 9 when x = t_x = T = 0), with the a = 1 band interpolated and a quadrature
/// fallback where the hypergeometric function's c is too small.
fn conditional_expected_purchases_raw(
    p: &BgNbdParams,
    t: f64,
    x: f64,
    t_x: f64,
    big_t: f64,
) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    let c = p.a + p.b + x - 1.0;
    if c < MIN_HYP2F1_C {
        return alive_expectation_by_quadrature(p, t, x, big_t) * p_alive(p, x, t_x, big_t);
    }
    if (p.a - 1.0).abs() < A_NEAR_ONE {
        let lo = BgNbdParams {
            a: 1.0 - A_NEAR_ONE,
            ..*p
        };
        let hi = BgNbdParams {
            a: 1.0 + A_NEAR_ONE,
            ..*p
        };
        let w = (p.a - lo.a) / (hi.a - lo.a);
        return (1.0 - w) * eq10(&lo, t, x, t_x, big_t) + w * eq10(&hi, t, x, t_x, big_t);
    }
    eq10(p, t, x, t_x, big_t)
}

/// FHL 2005 eq. 10 as printed.
fn eq10(p: &BgNbdParams, t: f64, x: f64, t_x: f64, big_t: f64) -> f64 {
    let BgNbdParams { r, alpha, a, b } = *p;
    let c = a + b + x - 1.0;
    let z = t / (alpha + big_t + t);
    let ln_h = ln_hyp2f1(r + x, b + x, c, z);
    let ln_pow = (r + x) * ((alpha + big_t) / (alpha + big_t + t)).ln();
    // 1 - exp(...) without cancellation when the exponent is small.
    let bracket = -(ln_pow + ln_h).exp_m1();
    c / (a - 1.0) * bracket / (1.0 + dead_to_alive_odds(p, x, t_x, big_t))
}

/// E[purchases in (T, T + t] | alive] = E[(1 - ((alpha + T) / (alpha + T + P t))^(r + x)) / P]
/// over the posterior P ~ Beta(a, b + x), by quadrature.
fn alive_expectation_by_quadrature(p: &BgNbdParams, t: f64, x: f64, big_t: f64) -> f64 {
    let BgNbdParams { r, alpha, a, b } = *p;
    let scale = alpha + big_t;
    beta_expectation(a, b + x, |prob| {
        // (1 - (1 + prob t / scale)^-(r + x)) / prob, stable as prob -> 0.
        let ln_ratio = (prob * t / scale).ln_1p();
        if prob == 0.0 {
            (r + x) * t / scale
        } else {
            -(-(r + x) * ln_ratio).exp_m1() / prob
        }
    })
}

/// Log-likelihood of one customer's history (x, t_x, T) (FHL 2005, eq. 6), in nats; times in
/// weeks.
pub fn log_likelihood(p: &BgNbdParams, x: f64, t_x: f64, big_t: f64) -> f64 {
    let BgNbdParams { r, alpha, a, b } = *p;
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
    let a3 = -(r + x) * (alpha + big_t).ln();
    if x <= 0.0 {
        return a1 + a2 + a3;
    }
    let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + t_x).ln();
    let m = a3.max(a4);
    a1 + a2 + m + ((a3 - m).exp() + (a4 - m).exp()).ln()
}

/// Sum of [`log_likelihood`] over customers given as parallel slices, in nats.
///
/// # Errors
/// [`BtydError::LengthMismatch`] when the slices differ in length.
pub fn total_log_likelihood(
    p: &BgNbdParams,
    x: &[f64],
    t_x: &[f64],
    big_t: &[f64],
) -> Result<f64, BtydError> {
    if x.len() != t_x.len() {
        return Err(BtydError::LengthMismatch(x.len(), t_x.len()));
    }
    if x.len() != big_t.len() {
        return Err(BtydError::LengthMismatch(x.len(), big_t.len()));
    }
    Ok(x.iter()
        .zip(t_x)
        .zip(big_t)
        .map(|((&x, &t_x), &big_t)| log_likelihood(p, x, t_x, big_t))
        .sum())
}

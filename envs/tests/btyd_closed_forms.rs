//! The BG/NBD and Gamma-Gamma closed forms against reference values and against independent
//! computations: numerical integration over the dropout probability and Monte-Carlo simulation
//! of the purchase process itself.
// Reference values are kept as printed by mpmath (17 significant digits).
#![allow(clippy::excessive_precision)]

use clv_envs::btyd::{BgNbdParams, GammaGammaParams, bgnbd, gamma_gamma};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};

/// The CDNOW estimates of FHL 2005 (weeks).
fn cdnow() -> BgNbdParams {
    BgNbdParams {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    }
}

fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: got {got}, want {want} (relative tolerance {rel})"
    );
}

/// E[g(P)] for P ~ Beta(a, b) with b >= 1, by composite Simpson over u = p^a (which removes the
/// p^(a-1) singularity): independent of the library's quadrature.
fn simpson_beta(a: f64, b: f64, g: impl Fn(f64) -> f64) -> f64 {
    let n = 200_000; // even
    let ln_beta = |a: f64, b: f64| {
        statrs_free_ln_gamma(a) + statrs_free_ln_gamma(b) - statrs_free_ln_gamma(a + b)
    };
    let norm = 1.0 / (a * ln_beta(a, b).exp());
    let h = 1.0 / n as f64;
    let f = |u: f64| {
        let p = u.powf(1.0 / a);
        (1.0 - p).powf(b - 1.0) * g(p)
    };
    let mut s = f(0.0) + f(1.0);
    for i in 1..n {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        s += w * f(i as f64 * h);
    }
    s * h / 3.0 * norm
}

/// ln Γ(x) by Stirling's series after shifting x above 10 (independent of the library's).
fn statrs_free_ln_gamma(mut x: f64) -> f64 {
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= x.ln();
        x += 1.0;
    }
    let x2 = x * x;
    shift + (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x2)
        + 1.0 / (1260.0 * x2 * x2 * x)
        - 1.0 / (1680.0 * x2 * x2 * x2 * x)
}

/// E[(1 - (s / (s + P t))^k) / P] with P ~ Beta(a, b): purchases in the next t weeks of a
/// customer alive now, with posterior lambda ~ Gamma(k, s).
fn alive_expectation(a: f64, b: f64, k: f64, s: f64, t: f64) -> f64 {
    simpson_beta(a, b, |p| {
        if p == 0.0 {
            k * t / s
        } else {
            -(-k * (p * t / s).ln_1p()).exp_m1() / p
        }
    })
}

/// Simulates the repeat purchases in (0, t] of a customer who just made a first purchase.
fn simulate_count(params: &BgNbdParams, t: f64, rng: &mut ChaCha8Rng) -> u32 {
    let lambda = Gamma::new(params.r, 1.0 / params.alpha)
        .unwrap()
        .sample(rng);
    let p = Beta::new(params.a, params.b).unwrap().sample(rng);
    let wait = Exp::new(lambda).unwrap();
    let (mut now, mut n) = (0.0, 0);
    loop {
        now += wait.sample(rng);
        if now > t {
            return n;
        }
        n += 1;
        if rng.random::<f64>() < p {
            return n;
        }
    }
}

#[test]
fn expected_purchases_matches_reference_values() {
    // Reference: FHL 2005 eq. 9 evaluated with mpmath at 30 digits.
    let p = cdnow();
    for (t, want) in [
        (1.0, 0.053_267_891_171_658_28),
        (39.0, 1.196_723_193_320_816_8),
        (78.0, 1.860_519_057_942_768_5),
        (260.0, 3.589_871_740_803_113_6),
    ] {
        assert_rel(bgnbd::expected_purchases(&p, t), want, 1e-10, "E[X(t)]");
    }
    assert_eq!(bgnbd::expected_purchases(&p, 0.0), 0.0);
}

#[test]
fn expected_purchases_matches_integration_over_dropout() {
    // E[X(t)] = E_p[(1 - (alpha / (alpha + p t))^r) / p], p ~ Beta(a, b): Simpson, 1e-6.
    let p = cdnow();
    for t in [1.0, 39.0, 260.0] {
        let want = alive_expectation(p.a, p.b, p.r, p.alpha, t);
        assert_rel(
            bgnbd::expected_purchases(&p, t),
            want,
            1e-6,
            "E[X(t)] vs integral",
        );
    }
}

#[test]
fn expected_purchases_matches_simulation() {
    // Monte Carlo with 200,000 customers; tolerance 4 standard errors. Includes parameters
    // with a + b - 1 < 0.5, where the library integrates instead of using 2F1.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let t = 39.0;
    for params in [
        cdnow(),
        BgNbdParams {
            r: 0.8,
            alpha: 3.0,
            a: 0.3,
            b: 0.6,
        },
    ] {
        let n = 200_000;
        let counts: Vec<f64> = (0..n)
            .map(|_| f64::from(simulate_count(&params, t, &mut rng)))
            .collect();
        let mean = counts.iter().sum::<f64>() / n as f64;
        let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let se = (var / n as f64).sqrt();
        let got = bgnbd::expected_purchases(&params, t);
        assert!(
            (got - mean).abs() < 4.0 * se,
            "{params:?}: closed form {got}, simulated {mean} +- {se}"
        );
        // P(X(t) = 0) too.
        let zeros = counts.iter().filter(|&&c| c == 0.0).count() as f64 / n as f64;
        let p0 = bgnbd::prob_no_purchases(&params, t);
        let se0 = (p0 * (1.0 - p0) / n as f64).sqrt();
        assert!((p0 - zeros).abs() < 4.0 * se0, "P(X=0) {p0} vs {zeros}");
    }
}

#[test]
fn expected_purchases_is_continuous_across_a_equal_one() {
    let at = |a| bgnbd::expected_purchases(&BgNbdParams { a, ..cdnow() }, 39.0);
    let (below, near, above) = (at(0.999), at(1.0 + 1e-7), at(1.001));
    assert!(near.is_finite());
    assert!(
        (near - 0.5 * (below + above)).abs() < 1e-5,
        "{below} {near} {above}"
    );
}

#[test]
fn p_alive_and_conditional_expectation_match_reference() {
    // FHL 2005 report 1.226 for customer 1 of CDNOW (x = 2, t_x = 30.43, T = 38.86) over
    // the next 39 weeks; the other values are eq. 10 / 12 evaluated with mpmath at 30 digits.
    let p = cdnow();
    assert_rel(
        bgnbd::p_alive(&p, 2.0, 30.43, 38.86),
        0.726_578_570_080_672_9,
        1e-12,
        "P(alive)",
    );
    assert_rel(
        bgnbd::p_alive(&p, 10.0, 10.0, 38.86),
        1.853_944_572_523_544_8e-4,
        1e-10,
        "P(alive)",
    );
    assert_eq!(bgnbd::p_alive(&p, 0.0, 0.0, 38.86), 1.0);
    let c = bgnbd::conditional_expected_purchases(&p, 39.0, 2.0, 30.43, 38.86);
    assert_rel(
        c,
        1.226_028_174_767_144_4,
        1e-10,
        "E[Y(39) | 2, 30.43, 38.86]",
    );
    assert!((c - 1.226).abs() < 5e-4);
    // A frequent buyer: the hypergeometric series goes through Euler's transformation.
    let c = bgnbd::conditional_expected_purchases(&p, 52.0, 50.0, 38.0, 38.86);
    assert_rel(c, 41.719_422_742_769_449, 1e-9, "E[Y(52) | 50, 38, 38.86]");
    let c = bgnbd::conditional_expected_purchases(&p, 39.0, 0.0, 0.0, 38.86);
    assert_rel(c, 0.195_098_052_011_262_64, 1e-10, "E[Y(39) | 0, 0, 38.86]");
}

#[test]
fn conditional_expectation_is_p_alive_times_alive_expectation() {
    // Given the history, alive customers have lambda ~ Gamma(r + x, alpha + T) and
    // p ~ Beta(a, b + x); dead ones buy nothing. Simpson integral, 1e-6.
    let p = cdnow();
    for (t, x, t_x, big_t) in [
        (39.0, 2.0, 30.43, 38.86),
        (10.0, 5.0, 20.0, 30.0),
        (52.0, 0.0, 0.0, 20.0),
    ] {
        let alive = alive_expectation(p.a, p.b + x, p.r + x, p.alpha + big_t, t);
        let want = bgnbd::p_alive(&p, x, t_x, big_t) * alive;
        let got = bgnbd::conditional_expected_purchases(&p, t, x, t_x, big_t);
        assert_rel(got, want, 1e-6, "E[Y(t) | history]");
    }
}

#[test]
fn prob_purchases_is_a_distribution_with_the_right_mean() {
    let p = cdnow();
    for (x, want) in [
        (0, 0.573_786_352_096_009_41),
        (1, 0.199_395_280_835_911_46),
        (2, 0.085_429_759_539_060_759),
        (3, 0.045_860_353_847_999_725),
    ] {
        assert_rel(
            bgnbd::prob_purchases(&p, x, 39.0),
            want,
            1e-10,
            "P(X(39) = x)",
        );
    }
    for t in [1.0, 39.0, 104.0] {
        let probs: Vec<f64> = (0..2_000)
            .map(|x| bgnbd::prob_purchases(&p, x, t))
            .collect();
        let total: f64 = probs.iter().sum();
        let mean: f64 = probs.iter().enumerate().map(|(x, q)| x as f64 * q).sum();
        assert!((total - 1.0).abs() < 1e-10, "t={t}: sum {total}");
        assert_rel(
            mean,
            bgnbd::expected_purchases(&p, t),
            1e-9,
            "mean of P(X(t) = x)",
        );
    }
    assert_eq!(bgnbd::prob_purchases(&p, 0, 0.0), 1.0);
    assert_eq!(bgnbd::prob_purchases(&p, 3, 0.0), 0.0);
}

#[test]
fn log_likelihood_closed_cases() {
    let p = cdnow();
    // No repeat purchase: L = (alpha / (alpha + T))^r.
    let want = p.r * (p.alpha / (p.alpha + 38.86)).ln();
    assert!((bgnbd::log_likelihood(&p, 0.0, 0.0, 38.86) - want).abs() < 1e-12);
    // x = 1: the alive and the dropped-out branches of eq. 6 written out.
    let (x, t_x, big_t) = (1.0, 5.0, 38.86);
    let alive = p.b / (p.a + p.b) * p.r * p.alpha.powf(p.r) / (p.alpha + big_t).powf(p.r + x);
    let dead = p.a / (p.a + p.b) * p.r * p.alpha.powf(p.r) / (p.alpha + t_x).powf(p.r + x);
    let got = bgnbd::log_likelihood(&p, x, t_x, big_t);
    assert!((got - (alive + dead).ln()).abs() < 1e-12, "{got}");
    let total = bgnbd::total_log_likelihood(&p, &[0.0, 1.0], &[0.0, 5.0], &[38.86, 38.86]).unwrap();
    assert!((total - want - got).abs() < 1e-12);
    assert!(bgnbd::total_log_likelihood(&p, &[0.0], &[], &[1.0]).is_err());
}

#[test]
fn gamma_gamma_closed_forms() {
    let g = GammaGammaParams {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };
    let pop = 6.25 * 15.44 / 2.74;
    assert_rel(gamma_gamma::mean_spend(&g), pop, 1e-15, "mean spend");
    assert_eq!(gamma_gamma::conditional_expected_spend(&g, 0.0, 0.0), pop);
    // A weighted average of the population mean and the customer's mean.
    let (x, m) = (3.0, 50.0);
    let w = (g.q - 1.0) / (g.p * x + g.q - 1.0);
    assert_rel(
        gamma_gamma::conditional_expected_spend(&g, x, m),
        w * pop + (1.0 - w) * m,
        1e-13,
        "E[Z | x, m]",
    );
    // With x = 1 the mean spend is one Gamma(p, nu) draw, nu ~ Gamma(q, gamma): its density is
    // z^(p-1) gamma^q / B(p, q) / (z + gamma)^(p+q).
    let z: f64 = 30.0;
    let want = (g.p - 1.0) * z.ln() + g.q * g.gamma.ln()
        - (statrs_free_ln_gamma(g.p) + statrs_free_ln_gamma(g.q) - statrs_free_ln_gamma(g.p + g.q))
        - (g.p + g.q) * (z + g.gamma).ln();
    assert!((gamma_gamma::log_likelihood(&g, 1.0, z) - want).abs() < 1e-9);
    let total = gamma_gamma::total_log_likelihood(&g, &[0.0, 1.0], &[0.0, z]).unwrap();
    assert!((total - want).abs() < 1e-9);
}

#[test]
fn validation_names_the_field() {
    let bad = BgNbdParams {
        alpha: -1.0,
        ..cdnow()
    };
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "bgnbd.alpha must be finite and > 0, got -1"
    );
    assert!(cdnow().validate().is_ok());
    let bad = GammaGammaParams {
        p: 1.0,
        q: f64::NAN,
        gamma: 1.0,
    };
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .starts_with("spend.q must be")
    );
}

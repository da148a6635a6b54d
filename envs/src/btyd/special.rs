//! Special functions the closed forms need: log-gamma, log-beta and the Gauss hypergeometric
//! function 2F1 on `0 <= z < 1`, plus a tanh-sinh quadrature of Beta expectations used where
//! the hypergeometric form is undefined.

/// Natural log of the gamma function, for `x > 0`.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

/// Natural log of the beta function B(a, b), for `a, b > 0`.
pub(crate) fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Relative size of the last series term at which the hypergeometric series stops.
const SERIES_TOL: f64 = 1e-16;
/// Most terms summed before the hypergeometric series gives up (reached only for `z` within
/// about 1e-6 of 1, i.e. horizons a million times longer than alpha).
const SERIES_MAX_TERMS: usize = 10_000_000;
/// The running sum is rescaled by this factor when it exceeds it, so that large terms do not
/// overflow; the scale is carried in logs.
const RESCALE: f64 = 1e250;

/// Natural log of the Gauss hypergeometric function 2F1(a, b; c; z) for `0 <= z < 1`, `c > 0`.
///
/// Sums the defining series, or, when its terms would grow large (as for the conditional
/// expectation of a frequent buyer, where a = r + x and b = b + x grow with x), the series of
/// Euler's transformation 2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z), as the
/// `lifetimes` package does. The sum is kept in logs so that it cannot overflow. Returns NaN
/// when the arguments are outside that domain, the series does not converge within
/// `SERIES_MAX_TERMS` terms, or the sum is not positive.
pub(crate) fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(0.0..1.0).contains(&z) || c <= 0.0 || !a.is_finite() || !b.is_finite() || !c.is_finite() {
        return f64::NAN;
    }
    if z == 0.0 {
        return 0.0;
    }
    let direct = (a * b).abs();
    let euler = ((c - a) * (c - b)).abs();
    if euler < direct {
        (c - a - b) * (-z).ln_1p() + ln_series(c - a, c - b, c, z)
    } else {
        ln_series(a, b, c, z)
    }
}

/// Natural log of the plain 2F1 power series.
fn ln_series(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0_f64;
    let mut sum = 1.0_f64;
    let mut ln_scale = 0.0_f64;
    for n in 0..SERIES_MAX_TERMS {
        let nf = n as f64;
        let ratio = (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        if sum.abs() > RESCALE {
            sum /= RESCALE;
            term /= RESCALE;
            ln_scale += RESCALE.ln();
        }
        // Stop once the terms shrink (|ratio| < 1 for good) and are negligible.
        if ratio.abs() < 1.0 && term.abs() <= SERIES_TOL * sum.abs() {
            return if sum > 0.0 {
                sum.ln() + ln_scale
            } else {
                f64::NAN
            };
        }
        if term == 0.0 {
            return if sum > 0.0 {
                sum.ln() + ln_scale
            } else {
                f64::NAN
            };
        }
    }
    f64::NAN
}

/// Step of the tanh-sinh quadrature grid.
const TANH_SINH_STEP: f64 = 1.0 / 64.0;
/// Half-width of the tanh-sinh grid (in the transformed variable); beyond it the weights
/// are below 1e-300.
const TANH_SINH_HALF_WIDTH: f64 = 6.5;

/// E[f(P)] for P ~ Beta(a, b), by tanh-sinh quadrature after substituting u = p^a (which
/// removes the p^(a-1) singularity at 0); the (1-p)^(b-1) singularity at 1 is what tanh-sinh
/// handles. Accurate to about 1e-10 relative for smooth bounded `f`.
pub(crate) fn beta_expectation(a: f64, b: f64, f: impl Fn(f64) -> f64) -> f64 {
    // p^(a-1) (1-p)^(b-1) dp / B(a, b) = (1 - u^(1/a))^(b-1) du / (a B(a, b)), u in (0, 1).
    let ln_norm = -(a.ln() + ln_beta(a, b));
    let half_pi = std::f64::consts::FRAC_PI_2;
    let steps = (TANH_SINH_HALF_WIDTH / TANH_SINH_STEP) as i64;
    let mut total = 0.0;
    for k in -steps..=steps {
        let s = k as f64 * TANH_SINH_STEP;
        let sinh_term = half_pi * s.sinh();
        // u = (1 + tanh(sinh_term)) / 2; 1 - u computed without cancellation.
        let e = (-2.0 * sinh_term.abs()).exp();
        let (u, one_minus_u) = if sinh_term >= 0.0 {
            (1.0 / (1.0 + e), e / (1.0 + e))
        } else {
            (e / (1.0 + e), 1.0 / (1.0 + e))
        };
        let cosh_inner = sinh_term.cosh();
        let weight = half_pi * s.cosh() / (2.0 * cosh_inner * cosh_inner);
        if u <= 0.0 || one_minus_u <= 0.0 || weight == 0.0 {
            continue;
        }
        let p = u.powf(1.0 / a);
        // 1 - p = 1 - u^(1/a), without cancellation near u = 1.
        let one_minus_p = -((-one_minus_u).ln_1p() / a).exp_m1();
        if one_minus_p <= 0.0 {
            continue;
        }
        let density = ((b - 1.0) * one_minus_p.ln() + ln_norm).exp();
        total += weight * density * f(p);
    }
    total * TANH_SINH_STEP
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyp2f1_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z.
        for z in [0.1_f64, 0.5, 0.9, 0.99] {
            let want = -(-z).ln_1p() / z;
            assert!(
                (ln_hyp2f1(1.0, 1.0, 2.0, z) - want.ln()).abs() < 1e-12,
                "z={z}"
            );
        }
        // 2F1(a, b; b; z) = (1 - z)^(-a).
        let want = -0.7 * (1.0_f64 - 0.95).ln();
        assert!((ln_hyp2f1(0.7, 3.0, 3.0, 0.95) - want).abs() < 1e-12);
        // Large a, b take Euler's branch: 2F1(a, b; b; z) again, with a = 300.
        let want = -300.0 * (1.0_f64 - 0.6).ln();
        assert!((ln_hyp2f1(300.0, 250.0, 250.0, 0.6) - want).abs() < 1e-9);
    }

    #[test]
    fn beta_expectation_moments() {
        // E[P] = a / (a + b), E[P^2] = a (a + 1) / ((a + b)(a + b + 1)), with singular ends.
        for &(a, b) in &[(0.793, 2.426), (0.3, 0.6), (2.0, 5.0)] {
            let m1 = beta_expectation(a, b, |p| p);
            let m2 = beta_expectation(a, b, |p| p * p);
            assert!((m1 - a / (a + b)).abs() < 1e-8, "a={a} b={b} m1={m1}");
            let want2 = a * (a + 1.0) / ((a + b) * (a + b + 1.0));
            assert!((m2 - want2).abs() < 1e-8, "a={a} b={b} m2={m2}");
        }
    }
}

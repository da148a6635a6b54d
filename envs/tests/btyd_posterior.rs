//! The posterior sampler's draws against the moments of the distributions it is defined by
//! (fixed seed; tolerances in standard errors of the Monte-Carlo mean).

use clv_envs::btyd::{BgNbdParams, CustomerHistory, GammaGammaParams, bgnbd, sample_posterior};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const DRAWS: usize = 40_000;
/// Allowed distance between sample mean and exact mean, in standard errors.
const SE_TOL: f64 = 4.0;

fn check_mean(samples: &[f64], want: f64, what: &str) {
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let se = (var / n).sqrt().max(1e-12);
    assert!(
        (mean - want).abs() < SE_TOL * se,
        "{what}: sample mean {mean} +- {se}, exact {want}"
    );
}

#[test]
fn posterior_draws_have_the_posterior_moments() {
    let bg = BgNbdParams::default();
    let gg = GammaGammaParams::default();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for h in [
        CustomerHistory {
            x: 2.0,
            t_x: 30.43,
            big_t: 38.86,
            repeat_spend_total: 44.7,
        },
        CustomerHistory {
            x: 6.0,
            t_x: 12.0,
            big_t: 38.0,
            repeat_spend_total: 300.0,
        },
        CustomerHistory {
            x: 0.0,
            t_x: 0.0,
            big_t: 20.0,
            repeat_spend_total: 0.0,
        },
    ] {
        h.validate().unwrap();
        let draws: Vec<_> = (0..DRAWS)
            .map(|_| sample_posterior(&h, &bg, &gg, &mut rng))
            .collect();
        let pa = bgnbd::p_alive(&bg, h.x, h.t_x, h.big_t);
        let alive: Vec<f64> = draws.iter().map(|d| f64::from(u8::from(d.alive))).collect();
        check_mean(&alive, pa, "alive");
        // Conditional on the branch: alive or dropped out after the last purchase.
        let alive_lambda: Vec<f64> = draws.iter().filter(|d| d.alive).map(|d| d.lambda).collect();
        check_mean(
            &alive_lambda,
            (bg.r + h.x) / (bg.alpha + h.big_t),
            "lambda | alive",
        );
        let alive_p: Vec<f64> = draws.iter().filter(|d| d.alive).map(|d| d.p).collect();
        check_mean(&alive_p, bg.a / (bg.a + bg.b + h.x), "p | alive");
        if h.x > 0.0 {
            let dead_lambda: Vec<f64> = draws
                .iter()
                .filter(|d| !d.alive)
                .map(|d| d.lambda)
                .collect();
            check_mean(
                &dead_lambda,
                (bg.r + h.x) / (bg.alpha + h.t_x),
                "lambda | dead",
            );
            let dead_p: Vec<f64> = draws.iter().filter(|d| !d.alive).map(|d| d.p).collect();
            check_mean(&dead_p, (bg.a + 1.0) / (bg.a + bg.b + h.x), "p | dead");
        } else {
            assert!(draws.iter().all(|d| d.alive));
        }
        // Unconditional mixture mean of lambda.
        let lambda: Vec<f64> = draws.iter().map(|d| d.lambda).collect();
        let want = pa * (bg.r + h.x) / (bg.alpha + h.big_t)
            + (1.0 - pa) * (bg.r + h.x) / (bg.alpha + h.t_x);
        check_mean(&lambda, want, "lambda");
        // nu ~ Gamma(q + p x, gamma + total): mean and mean of 1/nu.
        let shape = gg.q + gg.p * h.x;
        let rate = gg.gamma + h.repeat_spend_total;
        let nu: Vec<f64> = draws.iter().map(|d| d.nu).collect();
        check_mean(&nu, shape / rate, "nu");
        let inv_nu: Vec<f64> = nu.iter().map(|v| 1.0 / v).collect();
        check_mean(&inv_nu, rate / (shape - 1.0), "1 / nu");
    }
}

#[test]
fn invalid_histories_are_named() {
    let h = CustomerHistory {
        x: 1.0,
        t_x: 40.0,
        big_t: 38.0,
        repeat_spend_total: 10.0,
    };
    assert_eq!(
        h.validate().unwrap_err().to_string(),
        "customer history: t_x must be in [0, big_t], got 40"
    );
}

//! Drawing a customer's hidden traits from their joint posterior given an observed history,
//! for scenarios that start from a real transaction log (`clv fit --warm-start`).
//!
//! Under BG/NBD, given (x, t_x, T) the customer is alive with probability P(alive | x, t_x, T);
//! if alive, lambda ~ Gamma(r + x, alpha + T) and p ~ Beta(a, b + x) independently; if not,
//! they dropped out at their last purchase, and lambda ~ Gamma(r + x, alpha + t_x),
//! p ~ Beta(a + 1, b + x - 1). Under Gamma-Gamma, nu ~ Gamma(q + p_spend x,
//! gamma + total repeat spend).

use rand::Rng;
use rand_distr::{Beta, Distribution, Gamma};

use super::bgnbd::p_alive;
use super::error::BtydError;
use super::params::{BgNbdParams, GammaGammaParams};

/// A customer's observed history at the start of simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerHistory {
    /// Number of repeat purchases (count; integral in data, f64 for the formulas).
    pub x: f64,
    /// Time of the last purchase since the first, in weeks (0 when x = 0).
    pub t_x: f64,
    /// Time since the first purchase (age), in weeks.
    pub big_t: f64,
    /// Total spend over the x repeat purchases, in dollars (0 when x = 0).
    pub repeat_spend_total: f64,
}

impl CustomerHistory {
    /// Checks 0 <= t_x <= T, x >= 0, t_x = 0 when x = 0, and a non-negative spend.
    ///
    /// # Errors
    /// [`BtydError::InvalidHistory`] naming the field.
    pub fn validate(&self) -> Result<(), BtydError> {
        let bad = |field, requirement, value| {
            Err(BtydError::InvalidHistory {
                field,
                requirement,
                value,
            })
        };
        if !(self.x.is_finite() && self.x >= 0.0) {
            return bad("x", "finite and >= 0", self.x);
        }
        if !(self.big_t.is_finite() && self.big_t >= 0.0) {
            return bad("big_t", "finite and >= 0", self.big_t);
        }
        if !(self.t_x >= 0.0 && self.t_x <= self.big_t) {
            return bad("t_x", "in [0, big_t]", self.t_x);
        }
        if self.x == 0.0 && self.t_x != 0.0 {
            return bad("t_x", "0 when x = 0", self.t_x);
        }
        if !(self.repeat_spend_total.is_finite() && self.repeat_spend_total >= 0.0) {
            return bad(
                "repeat_spend_total",
                "finite and >= 0",
                self.repeat_spend_total,
            );
        }
        Ok(())
    }
}

/// One draw of a customer's hidden traits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PosteriorDraw {
    /// Whether the customer is still alive (active) at T.
    pub alive: bool,
    /// Purchase rate while alive, per week.
    pub lambda: f64,
    /// Dropout probability after each purchase.
    pub p: f64,
    /// Rate of the per-purchase spend Gamma, per dollar (mean spend = p_spend / nu dollars).
    pub nu: f64,
}

/// Draws (alive, lambda, p, nu) from the joint posterior given history `h` (see the module
/// doc). The history and parameters are assumed valid (see their `validate`); with invalid
/// ones the distributions cannot be built and this panics.
pub fn sample_posterior<R: Rng>(
    h: &CustomerHistory,
    bg: &BgNbdParams,
    gg: &GammaGammaParams,
    rng: &mut R,
) -> PosteriorDraw {
    let alive = rng.random::<f64>() < p_alive(bg, h.x, h.t_x, h.big_t);
    let (rate, beta_a, beta_b) = if alive {
        (bg.alpha + h.big_t, bg.a, bg.b + h.x)
    } else {
        (bg.alpha + h.t_x, bg.a + 1.0, bg.b + h.x - 1.0)
    };
    let lambda = gamma_rate(bg.r + h.x, rate).sample(rng);
    let p = Beta::new(beta_a, beta_b)
        .expect("Beta shapes are positive for valid parameters and history")
        .sample(rng);
    let nu = gamma_rate(gg.q + gg.p * h.x, gg.gamma + h.repeat_spend_total).sample(rng);
    PosteriorDraw {
        alive,
        lambda,
        p,
        nu,
    }
}

/// Gamma distribution with the given shape and rate (rand_distr takes the scale).
fn gamma_rate(shape: f64, rate: f64) -> Gamma<f64> {
    Gamma::new(shape, 1.0 / rate).expect("Gamma shape and rate are positive for valid inputs")
}

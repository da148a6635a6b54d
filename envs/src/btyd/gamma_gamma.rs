//! The Gamma-Gamma spend model of Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value
//! curves for customer base analysis", Journal of Marketing Research 42(4), 415-430, and
//! Fader & Hardie's note "The Gamma-Gamma model of monetary value" (2013).
//!
//! A customer's spend per purchase is z ~ Gamma(shape p, rate nu) dollars, with
//! nu ~ Gamma(shape q, rate gamma) across customers. `x` is the number of (repeat) purchases
//! whose spend was observed and `mean_spend` their mean, in dollars.

use super::error::BtydError;
use super::params::GammaGammaParams;
use super::special::ln_gamma;

/// Population mean spend per purchase, p * gamma / (q - 1) dollars; infinite when q <= 1.
pub fn mean_spend(g: &GammaGammaParams) -> f64 {
    if g.q <= 1.0 {
        f64::INFINITY
    } else {
        g.p * g.gamma / (g.q - 1.0)
    }
}

/// E[Z | x, mean_spend]: a customer's expected spend per purchase given `x` observed purchases
/// of mean `mean_spend` dollars, (p (gamma + x mean_spend)) / (p x + q - 1) dollars: a weighted
/// average of the population mean (weight (q - 1) / (p x + q - 1)) and the customer's own mean.
/// Equals [`mean_spend`] when x = 0.
pub fn conditional_expected_spend(g: &GammaGammaParams, x: f64, mean_spend: f64) -> f64 {
    if x <= 0.0 {
        return self::mean_spend(g);
    }
    g.p * (g.gamma + x * mean_spend) / (g.p * x + g.q - 1.0)
}

/// Log-density of a customer's mean spend `mean_spend` (dollars) over `x` >= 1 purchases, in
/// nats (the likelihood that `lifetimes`' `GammaGammaFitter` maximises). NaN for x <= 0.
pub fn log_likelihood(g: &GammaGammaParams, x: f64, mean_spend: f64) -> f64 {
    if x <= 0.0 {
        return f64::NAN;
    }
    let GammaGammaParams { p, q, gamma } = *g;
    let px = p * x;
    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
        + q * gamma.ln()
        + (px - 1.0) * mean_spend.ln()
        + px * x.ln()
        - (px + q) * (x * mean_spend + gamma).ln()
}

/// Sum of [`log_likelihood`] over the customers with x > 0 (those with x = 0 carry no spend
/// information and are skipped), given as parallel slices; nats.
///
/// # Errors
/// [`BtydError::LengthMismatch`] when the slices differ in length.
pub fn total_log_likelihood(
    g: &GammaGammaParams,
    x: &[f64],
    mean_spend: &[f64],
) -> Result<f64, BtydError> {
    if x.len() != mean_spend.len() {
        return Err(BtydError::LengthMismatch(x.len(), mean_spend.len()));
    }
    Ok(x.iter()
        .zip(mean_spend)
        .filter(|(x, _)| **x > 0.0)
        .map(|(&x, &m)| log_likelihood(g, x, m))
        .sum())
}

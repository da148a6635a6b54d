//! Parameters of the BG/NBD purchase model and the Gamma-Gamma spend model, as scenarios and
//! `clv fit` hold them.

use serde::{Deserialize, Serialize};

use super::error::{BtydError, check_positive};

/// BG/NBD (Fader, Hardie & Lee 2005) population parameters, rates per week.
///
/// lambda ~ Gamma(shape `r`, rate `alpha`) purchases per week while alive; after each repeat
/// purchase the customer drops out with probability p ~ Beta(`a`, `b`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BgNbdParams {
    /// Shape of the purchase-rate Gamma (dimensionless).
    pub r: f64,
    /// Rate of the purchase-rate Gamma, in weeks (so E[lambda] = r / alpha per week).
    pub alpha: f64,
    /// First shape of the dropout-probability Beta.
    pub a: f64,
    /// Second shape of the dropout-probability Beta.
    pub b: f64,
}

impl Default for BgNbdParams {
    /// The CDNOW estimates of Fader, Hardie & Lee (2005), in weeks.
    fn default() -> Self {
        BgNbdParams {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        }
    }
}

/// Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"), dollars at list price.
///
/// Spend per purchase z ~ Gamma(shape `p`, rate nu), nu ~ Gamma(shape `q`, rate `gamma`), so
/// the population mean spend is p * gamma / (q - 1) for q > 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GammaGammaParams {
    /// Shape of the per-purchase spend Gamma.
    pub p: f64,
    /// Shape of the spend-rate Gamma.
    pub q: f64,
    /// Rate of the spend-rate Gamma, in dollars.
    pub gamma: f64,
}

impl Default for GammaGammaParams {
    /// The CDNOW estimates of Fader, Hardie & Lee (2005), dollars.
    fn default() -> Self {
        GammaGammaParams {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        }
    }
}

impl BgNbdParams {
    /// Checks that every parameter is finite and > 0.
    ///
    /// # Errors
    /// [`BtydError::InvalidParam`] naming the field, e.g. `bgnbd.alpha must be finite and > 0,
    /// got -1`.
    pub fn validate(&self) -> Result<(), BtydError> {
        check_positive("bgnbd.r", self.r)?;
        check_positive("bgnbd.alpha", self.alpha)?;
        check_positive("bgnbd.a", self.a)?;
        check_positive("bgnbd.b", self.b)
    }
}

impl GammaGammaParams {
    /// Checks that every parameter is finite and > 0 (the population mean spend is finite only
    /// for q > 1; see [`crate::btyd::gamma_gamma::mean_spend`]).
    ///
    /// # Errors
    /// [`BtydError::InvalidParam`] naming the field, e.g. `spend.q must be finite and > 0, got 0`.
    pub fn validate(&self) -> Result<(), BtydError> {
        check_positive("spend.p", self.p)?;
        check_positive("spend.q", self.q)?;
        check_positive("spend.gamma", self.gamma)
    }
}

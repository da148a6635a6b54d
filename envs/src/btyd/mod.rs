//! Buy-till-you-die models: BG/NBD purchases and Gamma-Gamma spend (closed forms,
//! log-likelihoods, and the posterior of a customer's traits given their history).

pub mod bgnbd;
mod error;
pub mod gamma_gamma;
mod params;
mod posterior;
mod special;

pub use error::BtydError;
pub use params::{BgNbdParams, GammaGammaParams};
pub use posterior::{CustomerHistory, PosteriorDraw, sample_posterior};

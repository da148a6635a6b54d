//! Buy-till-you-die models: BG/NBD purchases and Gamma-Gamma spend.

mod params;

pub use params::{BgNbdParams, GammaGammaParams};

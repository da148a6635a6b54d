//! Exploration noise of the continuous agents (DDPG / TD3): independent Gaussian noise
//! (Fujimoto et al. 2018) or an Ornstein-Uhlenbeck process (Lillicrap et al. 2016), drawn from
//! the agent's own seeded ChaCha8 stream and saved in checkpoints at its exact position.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Which noise is added to the actor's action while exploring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// Independent `N(0, sigma^2)` per action value and step.
    #[default]
    Gaussian,
    /// An Ornstein-Uhlenbeck process per sub-environment and action dimension,
    /// `x <- x - theta x dt + sigma sqrt(dt) N(0, 1)` (mean 0), temporally correlated.
    OrnsteinUhlenbeck,
}

/// One standard normal draw by the Box-Muller transform (two uniforms from `rng`).
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // 1 - U lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// An exploration-noise process with its state and RNG (serialisable into checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplorationNoise {
    /// Gaussian or Ornstein-Uhlenbeck.
    pub kind: NoiseKind,
    /// Standard deviation per action dimension, in action units.
    pub sigma: Vec<f64>,
    /// OU mean-reversion rate per unit time (OU only).
    pub theta: f64,
    /// OU time step (OU only).
    pub dt: f64,
    /// OU state, row-major `[rows, action_dim]` (empty until the first draw), action units.
    pub state: Vec<f64>,
    /// The noise's own generator.
    pub rng: ChaCha8Rng,
}

impl ExplorationNoise {
    /// A process of `kind` with per-dimension standard deviations `sigma` (action units).
    pub fn new(kind: NoiseKind, sigma: Vec<f64>, theta: f64, dt: f64, rng: ChaCha8Rng) -> Self {
        Self {
            kind,
            sigma,
            theta,
            dt,
            state: vec![],
            rng,
        }
    }

    /// Values per action.
    pub fn action_dim(&self) -> usize {
        self.sigma.len()
    }

    /// The noise to add to `rows` actions, row-major `[rows, action_dim]`, action units. An
    /// OU process whose row count changes restarts from zero.
    pub fn sample(&mut self, rows: usize) -> Vec<f64> {
        let dim = self.action_dim();
        match self.kind {
            NoiseKind::Gaussian => (0..rows * dim)
                .map(|k| self.sigma[k % dim] * standard_normal(&mut self.rng))
                .collect(),
            NoiseKind::OrnsteinUhlenbeck => {
                if self.state.len() != rows * dim {
                    self.state = vec![0.0; rows * dim];
                }
                let sqrt_dt = self.dt.sqrt();
                for k in 0..rows * dim {
                    let x = self.state[k];
                    self.state[k] = x - self.theta * x * self.dt
                        + self.sigma[k % dim] * sqrt_dt * standard_normal(&mut self.rng);
                }
                self.state.clone()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn moments(x: &[f64]) -> (f64, f64) {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        (
            m,
            (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt(),
        )
    }

    #[test]
    fn gaussian_has_the_configured_spread_per_dimension() {
        let mut g = ExplorationNoise::new(
            NoiseKind::Gaussian,
            vec![0.2, 2.0],
            0.15,
            0.01,
            ChaCha8Rng::seed_from_u64(1),
        );
        let x = g.sample(20_000);
        let d0: Vec<f64> = x.iter().step_by(2).copied().collect();
        let d1: Vec<f64> = x.iter().skip(1).step_by(2).copied().collect();
        let ((m0, s0), (m1, s1)) = (moments(&d0), moments(&d1));
        assert!(m0.abs() < 0.01 && (s0 - 0.2).abs() < 0.01, "{m0} {s0}");
        assert!(m1.abs() < 0.1 && (s1 - 2.0).abs() < 0.05, "{m1} {s1}");
    }

    #[test]
    fn ou_is_correlated_and_stationary_spread_matches() {
        let (theta, dt, sigma) = (0.15, 0.5, 1.0);
        let mut ou = ExplorationNoise::new(
            NoiseKind::OrnsteinUhlenbeck,
            vec![sigma],
            theta,
            dt,
            ChaCha8Rng::seed_from_u64(2),
        );
        let xs: Vec<f64> = (0..40_000).map(|_| ou.sample(1)[0]).collect();
        let lag1 = xs.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / xs.len() as f64;
        let (_, s) = moments(&xs);
        // AR(1) with coefficient 1 - theta dt: stationary variance sigma^2 dt / (1 - a^2).
        let a: f64 = 1.0 - theta * dt;
        let want = (sigma * sigma * dt / (1.0 - a * a)).sqrt();
        assert!((s - want).abs() / want < 0.1, "{s} vs {want}");
        assert!((lag1 / (s * s) - a).abs() < 0.05, "lag-1 correlation");
    }
}

//! Pendulum-v1, ported from Gymnasium's `pendulum.py`: torque-limited swing-up, reward
//! `-(angle_normalize(th)^2 + 0.1 thdot^2 + 0.001 u^2)`, never terminated, truncated after
//! 200 steps.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::vec::{ClassicAction, ClassicTask};
use crate::ActionSpace;

/// Largest angular speed, rad/s.
pub const MAX_SPEED: f64 = 8.0;
/// Largest torque, N m.
pub const MAX_TORQUE: f64 = 2.0;
/// Seconds per step.
pub const DT: f64 = 0.05;
/// Gravity, m/s^2 (Gymnasium's default `g`).
pub const G: f64 = 10.0;
/// Mass, kg.
pub const M: f64 = 1.0;
/// Length, m.
pub const L: f64 = 1.0;
/// Weight of the squared angular speed in the cost.
pub const SPEED_COST: f64 = 0.1;
/// Weight of the squared torque in the cost.
pub const TORQUE_COST: f64 = 0.001;
/// Initial angular speed is uniform in `[-INIT_SPEED, INIT_SPEED]`, rad/s.
pub const INIT_SPEED: f64 = 1.0;

/// Gymnasium's `angle_normalize`: `((x + pi) mod 2 pi) - pi` with a floored modulo, in
/// `[-pi, pi)`, radians.
pub fn angle_normalize(x: f64) -> f64 {
    use std::f64::consts::PI;
    (x + PI).rem_euclid(2.0 * PI) - PI
}

/// One Pendulum: angle `th` (rad, 0 = upright) and angular speed `thdot` (rad/s).
/// Action: one torque in `[-2, 2]` N m (clipped). Observation `[cos th, sin th, thdot]`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pendulum {
    /// `[th, thdot]` in rad, rad/s.
    pub state: [f64; 2],
}

impl Pendulum {
    /// Gymnasium's dynamics: from `state` under torque `u` (N m, clipped to `[-2, 2]`),
    /// returns `(next_state, reward)`.
    pub fn dynamics(state: [f64; 2], u: f64) -> ([f64; 2], f64) {
        let [th, thdot] = state;
        let u = u.clamp(-MAX_TORQUE, MAX_TORQUE);
        let costs = angle_normalize(th).powi(2) + SPEED_COST * thdot * thdot + TORQUE_COST * u * u;
        let newthdot = thdot + (3.0 * G / (2.0 * L) * th.sin() + 3.0 / (M * L * L) * u) * DT;
        let newthdot = newthdot.clamp(-MAX_SPEED, MAX_SPEED);
        let newth = th + newthdot * DT;
        ([newth, newthdot], -costs)
    }
}

impl ClassicTask for Pendulum {
    const OBS_DIM: usize = 3;
    const MAX_EPISODE_STEPS: u32 = 200;

    fn action_space() -> ActionSpace {
        ActionSpace::Box {
            low: vec![-MAX_TORQUE as f32],
            high: vec![MAX_TORQUE as f32],
        }
    }

    fn reset(&mut self, rng: &mut ChaCha8Rng) {
        use std::f64::consts::PI;
        self.state = [
            rng.random_range(-PI..PI),
            rng.random_range(-INIT_SPEED..INIT_SPEED),
        ];
    }

    fn write_obs(&self, out: &mut Vec<f32>) {
        let [th, thdot] = self.state;
        out.extend([th.cos() as f32, th.sin() as f32, thdot as f32]);
    }

    fn step(&mut self, action: ClassicAction<'_>) -> (f32, bool) {
        let u = match action {
            ClassicAction::Continuous([u]) => f64::from(*u),
            other => panic!("Pendulum takes one continuous torque, got {other:?}"),
        };
        let (next, reward) = Self::dynamics(self.state, u);
        self.state = next;
        (reward as f32, false)
    }
}

//! CartPole-v1, ported from Gymnasium's `cartpole.py` (Barto, Sutton & Anderson 1983 as
//! implemented there): Euler integration, reward 1 on every step including the one that
//! terminates, terminated when the pole falls past 12 degrees or the cart leaves +-2.4,
//! truncated after 500 steps.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::vec::{ClassicAction, ClassicTask};
use crate::ActionSpace;

/// Gravity, m/s^2.
pub const GRAVITY: f64 = 9.8;
/// Mass of the cart, kg.
pub const MASS_CART: f64 = 1.0;
/// Mass of the pole, kg.
pub const MASS_POLE: f64 = 0.1;
/// Half the pole's length, m (Gymnasium's `length`).
pub const LENGTH: f64 = 0.5;
/// Magnitude of the push, N.
pub const FORCE_MAG: f64 = 10.0;
/// Seconds between state updates.
pub const TAU: f64 = 0.02;
/// Pole angle beyond which the episode terminates, radians (12 degrees).
pub const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
/// Cart position beyond which the episode terminates, m.
pub const X_THRESHOLD: f64 = 2.4;
/// Each state variable starts uniform in `[-INIT_BOUND, INIT_BOUND]`.
pub const INIT_BOUND: f64 = 0.05;
/// Reward of every step, including the terminating one.
pub const STEP_REWARD: f32 = 1.0;

/// One CartPole: state `[x (m), x_dot (m/s), theta (rad), theta_dot (rad/s)]`.
/// Actions: [`CartPole::PUSH_LEFT`] and [`CartPole::PUSH_RIGHT`]. Observation: the state as
/// `f32`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CartPole {
    /// `[x, x_dot, theta, theta_dot]` in m, m/s, rad, rad/s.
    pub state: [f64; 4],
}

impl CartPole {
    /// Number of discrete actions: [`CartPole::PUSH_LEFT`] and [`CartPole::PUSH_RIGHT`].
    pub const N_ACTIONS: u32 = 2;
    /// The action that pushes the cart left (force `-FORCE_MAG`).
    pub const PUSH_LEFT: u32 = 0;
    /// The action that pushes the cart right (force `+FORCE_MAG`).
    pub const PUSH_RIGHT: u32 = 1;

    /// Gymnasium's dynamics for one step from `state` under `action`; returns the next state.
    pub fn dynamics(state: [f64; 4], action: u32) -> [f64; 4] {
        let [x, x_dot, theta, theta_dot] = state;
        let force = if action == Self::PUSH_RIGHT {
            FORCE_MAG
        } else {
            -FORCE_MAG
        };
        let total_mass = MASS_POLE + MASS_CART;
        let polemass_length = MASS_POLE * LENGTH;
        let (sintheta, costheta) = theta.sin_cos();
        let temp = (force + polemass_length * theta_dot * theta_dot * sintheta) / total_mass;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (LENGTH * (4.0 / 3.0 - MASS_POLE * costheta * costheta / total_mass));
        let xacc = temp - polemass_length * thetaacc * costheta / total_mass;
        [
            x + TAU * x_dot,
            x_dot + TAU * xacc,
            theta + TAU * theta_dot,
            theta_dot + TAU * thetaacc,
        ]
    }

    /// Whether `state` is terminal (pole fallen or cart out of bounds).
    pub fn is_terminal(state: [f64; 4]) -> bool {
        let [x, _, theta, _] = state;
        !(-X_THRESHOLD..=X_THRESHOLD).contains(&x)
            || !(-THETA_THRESHOLD..=THETA_THRESHOLD).contains(&theta)
    }
}

impl ClassicTask for CartPole {
    const OBS_DIM: usize = 4;
    const MAX_EPISODE_STEPS: u32 = 500;

    fn action_space() -> ActionSpace {
        ActionSpace::Discrete {
            n: Self::N_ACTIONS as usize,
        }
    }

    fn reset(&mut self, rng: &mut ChaCha8Rng) {
        for s in &mut self.state {
            *s = rng.random_range(-INIT_BOUND..INIT_BOUND);
        }
    }

    fn write_obs(&self, out: &mut Vec<f32>) {
        out.extend(self.state.iter().map(|&s| s as f32));
    }

    fn step(&mut self, action: ClassicAction<'_>) -> (f32, bool) {
        let a = match action {
            ClassicAction::Discrete(a) if a < Self::N_ACTIONS => a,
            other => panic!(
                "CartPole takes a discrete action below {}, got {other:?}",
                Self::N_ACTIONS
            ),
        };
        self.state = Self::dynamics(self.state, a);
        (STEP_REWARD, Self::is_terminal(self.state))
    }
}

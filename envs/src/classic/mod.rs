//! Classic control tasks ported from Gymnasium, to validate the agents.
//!
//! [`CartPole`] (CartPole-v1, discrete) and [`Pendulum`] (Pendulum-v1, continuous) follow
//! Gymnasium's equations exactly (state in `f64`, observations emitted as `f32`), with its
//! `terminated` / `truncated` semantics and its `TimeLimit` lengths. [`ClassicVecEnv`] runs `N`
//! copies of one task as a [`crate::VecEnv`] with auto-reset; each copy owns a seeded
//! [`rand_chacha::ChaCha8Rng`] whose seed is a hash of `(seed, index)`.

mod cartpole;
mod pendulum;
mod vec;

pub use cartpole::CartPole;
pub use pendulum::{Pendulum, angle_normalize};
pub use vec::{ClassicAction, ClassicTask, ClassicVecEnv, sub_env_seed};

/// `N` CartPole-v1 copies as a vector env.
pub type CartPoleVecEnv = ClassicVecEnv<CartPole>;
/// `N` Pendulum-v1 copies as a vector env.
pub type PendulumVecEnv = ClassicVecEnv<Pendulum>;

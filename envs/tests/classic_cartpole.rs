//! CartPole-v1: one-step transitions computed by hand from Gymnasium's equations, terminated /
//! truncated semantics with auto-reset; spaces, seeding and `final_obs` by the env checker.

use clv_envs::classic::{CartPole, CartPoleVecEnv, sub_env_seed};
use clv_envs::{ActionSpace, Actions, CheckConfig, VecEnv, check_env};

const TOL: f64 = 1e-12;

/// From rest, pushing right: temp = 10/1.1, thetaacc = -(10/1.1) / (0.5 (4/3 - 0.1/1.1))
/// = -600/41, xacc = temp - 0.05 thetaacc / 1.1 = 400/41. Euler with tau = 0.02 moves only the
/// velocities: x_dot = 8/41, theta_dot = -12/41.
#[test]
fn one_step_from_rest_matches_hand_computation() {
    let next = CartPole::dynamics([0.0; 4], CartPole::PUSH_RIGHT);
    let want = [0.0, 8.0 / 41.0, 0.0, -12.0 / 41.0];
    for (a, b) in next.iter().zip(want) {
        assert!((a - b).abs() < TOL, "{next:?} vs {want:?}");
    }
    let left = CartPole::dynamics([0.0; 4], CartPole::PUSH_LEFT);
    assert!((left[1] + 8.0 / 41.0).abs() < TOL && (left[3] - 12.0 / 41.0).abs() < TOL);
}

/// A general state: positions move by tau times the old velocities (Euler, not semi-implicit).
#[test]
fn one_step_general_state_uses_explicit_euler() {
    let s = [0.01, -0.02, 0.03, 0.04];
    let next = CartPole::dynamics(s, CartPole::PUSH_LEFT);
    assert!((next[0] - (0.01 + 0.02 * -0.02)).abs() < TOL);
    assert!((next[2] - (0.03 + 0.02 * 0.04)).abs() < TOL);
    // Reference values from Gymnasium's formulas evaluated in f64.
    assert!(
        (next[1] - -0.215_539_017_102_789_36).abs() < 1e-12,
        "{next:?}"
    );
    assert!(
        (next[3] - 0.341_995_223_776_039_2).abs() < 1e-12,
        "{next:?}"
    );
}

#[test]
fn spaces_and_reset_bounds() {
    let mut env = CartPoleVecEnv::new(8, 3);
    assert_eq!(
        env.action_space(),
        ActionSpace::Discrete {
            n: CartPole::N_ACTIONS as usize
        }
    );
    assert_eq!(env.obs_dim(), 4);
    let obs = env.reset(3);
    assert!(obs.iter().all(|v| v.abs() < 0.05));
}

/// Gymnasium's env checker: spaces, determinism per seed, `final_obs` at every episode end.
#[test]
fn passes_the_env_checker() {
    let report = check_env(&mut CartPoleVecEnv::new(3, 0), &CheckConfig::default()).unwrap();
    assert!(report.terminated > 0, "{report:?}");
}

/// Falling terminates (reward 1 on that step too), and the sub-env restarts with its true last
/// observation in `final_obs`.
#[test]
fn falling_terminates_and_auto_resets() {
    let mut env = CartPoleVecEnv::new(2, 0);
    env.reset(0);
    env.task_mut(0).state = [0.0, 0.0, 0.2, 1.0]; // theta just below 12 deg, falling right
    let left = CartPole::PUSH_LEFT;
    let b = env.step(Actions::Discrete(&[left, left]));
    assert_eq!(b.terminated, vec![true, false]);
    assert_eq!(b.truncated, vec![false, false]);
    assert_eq!(b.reward, vec![1.0, 1.0]);
    assert_eq!(b.final_obs.len(), 1);
    let (i, last) = &b.final_obs[0];
    assert_eq!(*i, 0);
    assert!(f64::from(last[2]) > 12f64.to_radians());
    assert!(b.obs[..4].iter().all(|v| v.abs() < 0.05), "restarted state");
    assert_eq!(env.elapsed_steps(0), 0);
    assert_eq!(env.elapsed_steps(1), 1);
}

/// Balanced by hand for 500 steps: truncated (not terminated) exactly at step 500.
#[test]
fn truncates_at_500_steps() {
    let mut env = CartPoleVecEnv::new(1, 5);
    env.reset(5);
    for t in 1..=500u32 {
        env.task_mut(0).state = [0.0; 4]; // hold the pole upright
        let b = env.step(Actions::Discrete(&[t % CartPole::N_ACTIONS]));
        assert!(!b.terminated[0]);
        assert_eq!(b.truncated[0], t == 500, "step {t}");
        assert_eq!(b.final_obs.is_empty(), t < 500);
    }
}

/// Sub-environments of one vector seed start apart (the checker covers equal seeds).
#[test]
fn sub_environments_get_unrelated_seeds() {
    let obs = CartPoleVecEnv::new(3, 11).reset(11);
    assert_ne!(obs[0..4], obs[4..8]);
    assert_ne!(sub_env_seed(1, 0), sub_env_seed(0, 1), "not seed + index");
}

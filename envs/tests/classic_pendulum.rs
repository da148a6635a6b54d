//! Pendulum-v1: one-step transitions computed by hand from Gymnasium's equations, never
//! terminated, truncated at 200 steps; spaces, seeding and `final_obs` by the env checker.

use clv_envs::classic::{Pendulum, PendulumVecEnv, angle_normalize};
use clv_envs::{ActionSpace, Actions, CheckConfig, VecEnv, check_env};
use std::f64::consts::PI;

/// th = 1, thdot = 0.5, u = 3 clipped to 2: cost = 1 + 0.1 * 0.25 + 0.001 * 4 = 1.029;
/// newthdot = 0.5 + (15 sin 1 + 3 * 2) * 0.05 = 0.8 + 0.75 sin 1; newth = 1 + 0.05 newthdot.
#[test]
fn one_step_matches_hand_computation() {
    let (next, r) = Pendulum::dynamics([1.0, 0.5], 3.0);
    let thdot = 0.8 + 0.75 * 1f64.sin();
    assert!((r + 1.029).abs() < 1e-12, "{r}");
    assert!((next[1] - thdot).abs() < 1e-12);
    assert!((next[0] - (1.0 + 0.05 * thdot)).abs() < 1e-12);
}

/// The cost uses the normalised angle and the speed is clipped to 8 before integrating.
#[test]
fn angle_is_normalised_and_speed_clipped() {
    let (next, r) = Pendulum::dynamics([4.0, -7.9], -1.0);
    let cost = (4.0 - 2.0 * PI).powi(2) + 0.1 * 7.9 * 7.9 + 0.001;
    assert!((r + cost).abs() < 1e-12, "{r} vs {}", -cost);
    assert_eq!(next[1], -8.0);
    assert!((next[0] - 3.6).abs() < 1e-12);
    assert!(
        (angle_normalize(PI) + PI).abs() < 1e-12,
        "pi maps to -pi (floored modulo)"
    );
    assert!((angle_normalize(-3.0 * PI / 2.0) - PI / 2.0).abs() < 1e-12);
}

#[test]
fn observation_and_spaces() {
    let mut env = PendulumVecEnv::new(4, 9);
    assert_eq!(
        env.action_space(),
        ActionSpace::Box {
            low: vec![-2.0],
            high: vec![2.0]
        }
    );
    let obs = env.reset(9);
    for (i, o) in obs.chunks(3).enumerate() {
        let [th, thdot] = env.task(i).state;
        assert!((-PI..PI).contains(&th) && (-1.0..1.0).contains(&thdot));
        assert_eq!(o, [th.cos() as f32, th.sin() as f32, thdot as f32]);
    }
}

#[test]
fn never_terminates_truncates_at_200() {
    let mut env = PendulumVecEnv::new(2, 1);
    env.reset(1);
    for t in 1..=400u32 {
        let b = env.step(Actions::Continuous(&[2.0, -2.0]));
        assert_eq!(b.terminated, vec![false, false]);
        let end = t % 200 == 0;
        assert_eq!(b.truncated, vec![end, end], "step {t}");
        assert_eq!(b.final_obs.len(), if end { 2 } else { 0 });
    }
}

/// Gymnasium's env checker: spaces (torques at both bounds included), determinism per seed,
/// `final_obs` at the 200-step truncation.
#[test]
fn passes_the_env_checker() {
    let report = check_env(&mut PendulumVecEnv::new(2, 0), &CheckConfig::default()).unwrap();
    assert_eq!((report.terminated, report.truncated), (0, 2), "{report:?}");
}

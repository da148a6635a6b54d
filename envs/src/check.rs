//! An environment checker that every [`VecEnv`] should pass, after Gymnasium's `check_env`
//! (`gymnasium.utils.env_checker`).
//!
//! [`check_env`] runs the environment three times under one fixed sequence of actions sampled
//! inside its declared [`ActionSpace`] (the first step at the lower bounds, the second at the
//! upper bounds, then uniform draws) and checks that:
//! - the declared spaces hold: every observation batch has `num_envs * obs_dim` finite values,
//!   rewards are finite, and every sampled action is accepted (stepping does not panic);
//! - seeding is deterministic: the same seed gives bit-identical reset observations and
//!   trajectories, and a different seed gives a different trajectory;
//! - `terminated` / `truncated` and auto-reset are consistent: exactly the sub-environments
//!   whose episode ended have one [`StepBatch::final_obs`] entry, of `obs_dim` finite values,
//!   and it is the true last observation, not the restarted one in [`StepBatch::obs`].
//!
//! ```
//! use clv_envs::classic::CartPoleVecEnv;
//! use clv_envs::{CheckConfig, check_env};
//!
//! let mut env = CartPoleVecEnv::new(4, 0);
//! let report = check_env(&mut env, &CheckConfig::default()).unwrap();
//! assert!(report.episode_ends > 0);
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{ActionSpace, Actions, StepBatch, VecEnv};

/// Default seed of the two identical runs of [`check_env`].
pub const DEFAULT_CHECK_SEED: u64 = 7;
/// Default seed of the run that must differ from them.
pub const DEFAULT_CHECK_OTHER_SEED: u64 = 8;
/// Default steps per run: longer than the 200-step Pendulum time limit, so that every classic
/// task ends episodes.
pub const DEFAULT_CHECK_STEPS: usize = 256;

/// What [`check_env`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    /// Seed of the two runs that must be identical.
    pub seed: u64,
    /// A different seed, whose run must differ from them.
    pub other_seed: u64,
    /// Steps per run. Long enough for episodes to end, or auto-reset goes unchecked (see
    /// [`CheckReport::episode_ends`]).
    pub steps: usize,
    /// Seed of the action sequence, the same in every run.
    pub action_seed: u64,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            seed: DEFAULT_CHECK_SEED,
            other_seed: DEFAULT_CHECK_OTHER_SEED,
            steps: DEFAULT_CHECK_STEPS,
            action_seed: DEFAULT_CHECK_SEED,
        }
    }
}

/// What a passing [`check_env`] saw in its first run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Steps taken per run.
    pub steps: usize,
    /// Sub-environment steps flagged `terminated`.
    pub terminated: usize,
    /// Sub-environment steps flagged `truncated`.
    pub truncated: usize,
    /// Episodes that ended (`terminated || truncated`), each with its `final_obs` checked.
    pub episode_ends: usize,
}

/// What is wrong with a [`StepBatch::final_obs`] entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FinalObsFault {
    /// The episode ended but has no entry.
    #[error("the episode ended but final_obs has no entry for it")]
    Missing,
    /// An entry for a sub-environment whose episode did not end.
    #[error("an entry for an episode that did not end")]
    Unexpected,
    /// Two entries for one sub-environment.
    #[error("two entries")]
    Duplicate,
    /// The index is not a sub-environment.
    #[error("the index is out of range")]
    OutOfRange,
    /// The entry equals the restarted observation in `obs`, not the true last one.
    #[error("the entry is the restarted observation, not the true last one")]
    IsRestart,
}

/// Why an environment failed [`check_env`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckError {
    /// `num_envs()` or `obs_dim()` is zero.
    #[error("num_envs ({num_envs}) and obs_dim ({obs_dim}) must both be positive")]
    Empty {
        /// The declared number of sub-environments.
        num_envs: usize,
        /// The declared observation length.
        obs_dim: usize,
    },
    /// The declared action space is unusable.
    #[error("invalid action space {space:?}: {reason}")]
    ActionSpace {
        /// The declared space.
        space: ActionSpace,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A batch has the wrong number of values.
    #[error("{what} has {got} values, expected {expected}")]
    Length {
        /// Which batch, e.g. `step 3 obs`.
        what: String,
        /// Values found.
        got: usize,
        /// Values declared.
        expected: usize,
    },
    /// A value is NaN or infinite.
    #[error("{what}[{index}] is not finite: {value}")]
    NonFinite {
        /// Which batch.
        what: String,
        /// Position in the batch.
        index: usize,
        /// The value.
        value: f32,
    },
    /// Stepping panicked on actions inside the declared space.
    #[error("step {step}: an action inside the action space was rejected: {message}")]
    ActionRejected {
        /// Step of the run, from 0.
        step: usize,
        /// The panic message.
        message: String,
    },
    /// Two resets with the same seed gave different observations.
    #[error("reset({seed}) twice gave different observations")]
    ResetNotDeterministic {
        /// The seed.
        seed: u64,
    },
    /// Two runs with the same seed and actions differ at a step.
    #[error("seed {seed}: step {step} differs between two runs with the same seed and actions")]
    StepNotDeterministic {
        /// The seed.
        seed: u64,
        /// First differing step, from 0.
        step: usize,
    },
    /// Two different seeds gave the same trajectory.
    #[error("seeds {seed} and {other_seed} gave identical trajectories over {steps} steps")]
    SeedIgnored {
        /// The first seed.
        seed: u64,
        /// The second seed.
        other_seed: u64,
        /// Steps compared.
        steps: usize,
    },
    /// A `final_obs` entry is missing or wrong.
    #[error("step {step}: final_obs of sub-environment {env}: {fault}")]
    FinalObs {
        /// Step of the run, from 0.
        step: usize,
        /// The sub-environment.
        env: usize,
        /// What is wrong.
        fault: FinalObsFault,
    },
}

/// Checks `env` against its declared spaces, seeding and auto-reset semantics (see the module
/// doc). Resets `env` three times; leaves it in the state of the last run.
///
/// # Errors
/// The first [`CheckError`] found.
pub fn check_env<E: VecEnv + ?Sized>(
    env: &mut E,
    cfg: &CheckConfig,
) -> Result<CheckReport, CheckError> {
    let (num_envs, obs_dim) = (env.num_envs(), env.obs_dim());
    if num_envs == 0 || obs_dim == 0 {
        return Err(CheckError::Empty { num_envs, obs_dim });
    }
    let actions = ActionSeq::sample(&env.action_space(), num_envs, cfg)?;
    let (first, report) = run(env, cfg.seed, &actions)?;
    let (again, _) = run(env, cfg.seed, &actions)?;
    if !same_bits(&first.reset, &again.reset) {
        return Err(CheckError::ResetNotDeterministic { seed: cfg.seed });
    }
    if let Some(step) = (0..cfg.steps).find(|&t| !same_step(&first.steps[t], &again.steps[t])) {
        return Err(CheckError::StepNotDeterministic {
            seed: cfg.seed,
            step,
        });
    }
    let (other, _) = run(env, cfg.other_seed, &actions)?;
    let differs = !same_bits(&first.reset, &other.reset)
        || first
            .steps
            .iter()
            .zip(&other.steps)
            .any(|(a, b)| !same_step(a, b));
    if !differs {
        return Err(CheckError::SeedIgnored {
            seed: cfg.seed,
            other_seed: cfg.other_seed,
            steps: cfg.steps,
        });
    }
    Ok(report)
}

/// The fixed action sequence of a check, `steps` batches of `num_envs` actions.
enum ActionSeq {
    /// Row-major `[steps, num_envs]`.
    Discrete { per_step: usize, values: Vec<u32> },
    /// Row-major `[steps, num_envs, action_dim]`.
    Continuous { per_step: usize, values: Vec<f32> },
}

impl ActionSeq {
    /// Validates `space` and samples the sequence inside it: step 0 at the lower bounds, step 1
    /// at the upper bounds, then uniform.
    fn sample(space: &ActionSpace, num_envs: usize, cfg: &CheckConfig) -> Result<Self, CheckError> {
        let invalid = |reason| CheckError::ActionSpace {
            space: space.clone(),
            reason,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.action_seed);
        match space {
            ActionSpace::Discrete { n } => {
                let n = u32::try_from(*n).map_err(|_| invalid("more than u32::MAX actions"))?;
                if n == 0 {
                    return Err(invalid("no discrete actions"));
                }
                let values = (0..cfg.steps * num_envs)
                    .map(|k| match k / num_envs {
                        0 => 0,
                        1 => n - 1,
                        _ => rng.random_range(0..n),
                    })
                    .collect();
                Ok(ActionSeq::Discrete {
                    per_step: num_envs,
                    values,
                })
            }
            ActionSpace::Box { low, high } => {
                let bounded = low
                    .iter()
                    .zip(high)
                    .all(|(l, h)| l.is_finite() && h.is_finite() && l <= h);
                if low.is_empty() || low.len() != high.len() || !bounded {
                    return Err(invalid(
                        "bounds must be non-empty, of equal length, finite and low <= high",
                    ));
                }
                let dim = low.len();
                let per_step = num_envs * dim;
                let values = (0..cfg.steps * per_step)
                    .map(|k| {
                        let (l, h) = (low[k % dim], high[k % dim]);
                        match k / per_step {
                            0 => l,
                            1 => h,
                            _ => (l + rng.random::<f32>() * (h - l)).min(h),
                        }
                    })
                    .collect();
                Ok(ActionSeq::Continuous { per_step, values })
            }
        }
    }

    /// The actions of step `t`.
    fn at(&self, t: usize) -> Actions<'_> {
        match self {
            ActionSeq::Discrete { per_step, values } => {
                Actions::Discrete(&values[t * per_step..(t + 1) * per_step])
            }
            ActionSeq::Continuous { per_step, values } => {
                Actions::Continuous(&values[t * per_step..(t + 1) * per_step])
            }
        }
    }

    /// Steps in the sequence.
    fn len(&self) -> usize {
        match self {
            ActionSeq::Discrete { per_step, values } => values.len() / per_step,
            ActionSeq::Continuous { per_step, values } => values.len() / per_step,
        }
    }
}

/// One run: the reset observation and every step.
struct Trajectory {
    reset: Vec<f32>,
    steps: Vec<StepBatch>,
}

/// Resets `env` with `seed` and steps it through `actions`, checking every batch.
fn run<E: VecEnv + ?Sized>(
    env: &mut E,
    seed: u64,
    actions: &ActionSeq,
) -> Result<(Trajectory, CheckReport), CheckError> {
    let (n, dim) = (env.num_envs(), env.obs_dim());
    let reset = env.reset(seed);
    check_values(&format!("reset({seed}) obs"), &reset, n * dim)?;
    let mut report = CheckReport {
        steps: actions.len(),
        ..CheckReport::default()
    };
    let mut steps = Vec::with_capacity(actions.len());
    for t in 0..actions.len() {
        let batch = catch_unwind(AssertUnwindSafe(|| env.step(actions.at(t)))).map_err(|p| {
            CheckError::ActionRejected {
                step: t,
                message: panic_message(p.as_ref()),
            }
        })?;
        check_step(t, &batch, n, dim, &mut report)?;
        steps.push(batch);
    }
    Ok((Trajectory { reset, steps }, report))
}

/// Checks the lengths and values of step `t`'s batch and its `final_obs`, counting episode
/// ends into `report`.
fn check_step(
    t: usize,
    b: &StepBatch,
    n: usize,
    dim: usize,
    report: &mut CheckReport,
) -> Result<(), CheckError> {
    check_values(&format!("step {t} obs"), &b.obs, n * dim)?;
    check_values(&format!("step {t} reward"), &b.reward, n)?;
    check_len(&format!("step {t} terminated"), b.terminated.len(), n)?;
    check_len(&format!("step {t} truncated"), b.truncated.len(), n)?;
    let fault = |env, fault| CheckError::FinalObs {
        step: t,
        env,
        fault,
    };
    let ended: Vec<bool> = (0..n).map(|i| b.terminated[i] || b.truncated[i]).collect();
    let mut seen = vec![false; n];
    for (i, last) in &b.final_obs {
        let i = *i;
        if i >= n {
            return Err(fault(i, FinalObsFault::OutOfRange));
        }
        if !ended[i] {
            return Err(fault(i, FinalObsFault::Unexpected));
        }
        if std::mem::replace(&mut seen[i], true) {
            return Err(fault(i, FinalObsFault::Duplicate));
        }
        check_values(
            &format!("step {t} final_obs of sub-environment {i}"),
            last,
            dim,
        )?;
        if same_bits(last, &b.obs[i * dim..(i + 1) * dim]) {
            return Err(fault(i, FinalObsFault::IsRestart));
        }
    }
    if let Some(i) = (0..n).find(|&i| ended[i] && !seen[i]) {
        return Err(fault(i, FinalObsFault::Missing));
    }
    report.terminated += b.terminated.iter().filter(|x| **x).count();
    report.truncated += b.truncated.iter().filter(|x| **x).count();
    report.episode_ends += b.final_obs.len();
    Ok(())
}

/// Checks that `values` has `expected` entries, all finite.
fn check_values(what: &str, values: &[f32], expected: usize) -> Result<(), CheckError> {
    check_len(what, values.len(), expected)?;
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(CheckError::NonFinite {
            what: what.to_string(),
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks a batch length.
fn check_len(what: &str, got: usize, expected: usize) -> Result<(), CheckError> {
    if got == expected {
        Ok(())
    } else {
        Err(CheckError::Length {
            what: what.to_string(),
            got,
            expected,
        })
    }
}

/// Bit-for-bit equality (so `-0.0 != 0.0`: determinism means identical bits).
fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Bit-for-bit equality of two step batches.
fn same_step(a: &StepBatch, b: &StepBatch) -> bool {
    same_bits(&a.obs, &b.obs)
        && same_bits(&a.reward, &b.reward)
        && a.terminated == b.terminated
        && a.truncated == b.truncated
        && a.final_obs.len() == b.final_obs.len()
        && a.final_obs
            .iter()
            .zip(&b.final_obs)
            .all(|((i, x), (j, y))| i == j && same_bits(x, y))
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deliberately faulty toy env: a counter per sub-environment that ends its episode every
    /// `EPISODE` steps; each fault breaks one property.
    #[derive(Clone, Copy, PartialEq)]
    enum Fault {
        None,
        IgnoresSeed,
        RestartInFinalObs,
        NoFinalObs,
        RejectsHighAction,
        ShortObs,
    }

    const EPISODE: f32 = 3.0;

    struct Toy {
        fault: Fault,
        seed: u64,
        count: Vec<f32>,
    }

    impl VecEnv for Toy {
        fn num_envs(&self) -> usize {
            self.count.len()
        }
        fn obs_dim(&self) -> usize {
            2
        }
        fn action_space(&self) -> ActionSpace {
            ActionSpace::Discrete { n: 2 }
        }
        fn reset(&mut self, seed: u64) -> Vec<f32> {
            self.seed = if self.fault == Fault::IgnoresSeed {
                0
            } else {
                seed
            };
            self.count.iter_mut().for_each(|c| *c = 0.0);
            self.obs()
        }
        fn step(&mut self, actions: Actions<'_>) -> StepBatch {
            let Actions::Discrete(a) = actions else {
                panic!("discrete only")
            };
            assert!(self.fault != Fault::RejectsHighAction || a.iter().all(|x| *x == 0));
            let mut out = StepBatch::default();
            for (i, action) in a.iter().enumerate() {
                self.count[i] += 1.0 + *action as f32;
                let ended = self.count[i] >= EPISODE;
                if ended {
                    let last = self.row(i).to_vec();
                    self.count[i] = 0.0;
                    match self.fault {
                        Fault::RestartInFinalObs => out.final_obs.push((i, self.row(i).to_vec())),
                        Fault::NoFinalObs => {}
                        _ => out.final_obs.push((i, last)),
                    }
                }
                out.reward.push(1.0);
                out.terminated.push(ended);
                out.truncated.push(false);
            }
            out.obs = self.obs();
            if self.fault == Fault::ShortObs {
                out.obs.pop();
            }
            out
        }
    }

    impl Toy {
        fn new(fault: Fault) -> Self {
            Toy {
                fault,
                seed: 0,
                count: vec![0.0; 3],
            }
        }
        fn row(&self, i: usize) -> [f32; 2] {
            [self.count[i], self.seed as f32]
        }
        fn obs(&self) -> Vec<f32> {
            (0..self.count.len()).flat_map(|i| self.row(i)).collect()
        }
    }

    fn check(fault: Fault) -> Result<CheckReport, CheckError> {
        let cfg = CheckConfig {
            steps: 10,
            ..CheckConfig::default()
        };
        check_env(&mut Toy::new(fault), &cfg)
    }

    #[test]
    fn a_correct_env_passes_and_reports_its_episode_ends() {
        let report = check(Fault::None).unwrap();
        assert_eq!(report.steps, 10);
        assert!(report.episode_ends > 0);
        assert_eq!(report.terminated, report.episode_ends);
        assert_eq!(report.truncated, 0);
    }

    #[test]
    fn each_fault_is_caught_with_its_own_error() {
        assert!(matches!(
            check(Fault::IgnoresSeed),
            Err(CheckError::SeedIgnored { .. })
        ));
        assert!(matches!(
            check(Fault::RestartInFinalObs),
            Err(CheckError::FinalObs {
                fault: FinalObsFault::IsRestart,
                ..
            })
        ));
        assert!(matches!(
            check(Fault::NoFinalObs),
            Err(CheckError::FinalObs {
                fault: FinalObsFault::Missing,
                ..
            })
        ));
        assert!(matches!(
            check(Fault::RejectsHighAction),
            Err(CheckError::ActionRejected { step: 1, .. })
        ));
        assert!(matches!(
            check(Fault::ShortObs),
            Err(CheckError::Length { .. })
        ));
    }
}

//! `N` copies of one classic task stepped together as a [`VecEnv`], with auto-reset.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{ActionSpace, Actions, StepBatch, VecEnv};

/// One action for one copy of a classic task.
#[derive(Debug, Clone, Copy)]
pub enum ClassicAction<'a> {
    /// A discrete action index.
    Discrete(u32),
    /// A continuous action, `action_dim` values.
    Continuous(&'a [f32]),
}

/// One copy of a classic control task: its state, dynamics and episode length.
pub trait ClassicTask: Default {
    /// Length of the observation vector.
    const OBS_DIM: usize;
    /// Gymnasium's `TimeLimit`: the episode is truncated after this many steps.
    const MAX_EPISODE_STEPS: u32;
    /// The task's action space.
    fn action_space() -> ActionSpace;
    /// Draws a fresh initial state from `rng` (Gymnasium's `reset`).
    fn reset(&mut self, rng: &mut ChaCha8Rng);
    /// Appends the current observation (`OBS_DIM` values) to `out`.
    fn write_obs(&self, out: &mut Vec<f32>);
    /// Advances one step; returns `(reward, terminated)`.
    ///
    /// # Panics
    /// On an action of the wrong kind or out of range (a caller bug, as in Gymnasium).
    fn step(&mut self, action: ClassicAction<'_>) -> (f32, bool);
}

/// The seed of sub-environment `index` under vector seed `seed`: a SplitMix64 hash of both, so
/// that neighbouring seeds and indices give unrelated streams (never `seed + index`).
pub fn sub_env_seed(seed: u64, index: u64) -> u64 {
    /// SplitMix64's increment (the golden ratio in 64-bit fixed point).
    const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    mix(mix(seed.wrapping_add(GOLDEN)) ^ index.wrapping_add(GOLDEN).wrapping_mul(GOLDEN))
}

/// `N` independent copies of task `T`, each with its own seeded RNG, stepped together.
/// An episode that ends (terminated or truncated) resets at once; its true last observation is
/// reported in [`StepBatch::final_obs`].
#[derive(Debug)]
pub struct ClassicVecEnv<T: ClassicTask> {
    tasks: Vec<T>,
    rngs: Vec<ChaCha8Rng>,
    /// Steps taken in each copy's current episode.
    elapsed: Vec<u32>,
}

impl<T: ClassicTask> ClassicVecEnv<T> {
    /// `num_envs` copies (at least one), seeded from `seed` until the first [`VecEnv::reset`].
    ///
    /// # Panics
    /// If `num_envs` is zero.
    pub fn new(num_envs: usize, seed: u64) -> Self {
        assert!(
            num_envs > 0,
            "a vector env needs at least one sub-environment"
        );
        let mut env = Self {
            tasks: (0..num_envs).map(|_| T::default()).collect(),
            rngs: Vec::new(),
            elapsed: vec![0; num_envs],
        };
        env.reset(seed);
        env
    }

    /// The task state of sub-environment `i` (for tests and inspection).
    pub fn task(&self, i: usize) -> &T {
        &self.tasks[i]
    }

    /// Mutable task state of sub-environment `i` (for tests: set a state, then step).
    pub fn task_mut(&mut self, i: usize) -> &mut T {
        &mut self.tasks[i]
    }

    /// Steps taken in sub-environment `i`'s current episode.
    pub fn elapsed_steps(&self, i: usize) -> u32 {
        self.elapsed[i]
    }

    fn all_obs(&self) -> Vec<f32> {
        let mut obs = Vec::with_capacity(self.tasks.len() * T::OBS_DIM);
        for t in &self.tasks {
            t.write_obs(&mut obs);
        }
        obs
    }
}

impl<T: ClassicTask> VecEnv for ClassicVecEnv<T> {
    fn num_envs(&self) -> usize {
        self.tasks.len()
    }

    fn obs_dim(&self) -> usize {
        T::OBS_DIM
    }

    fn action_space(&self) -> ActionSpace {
        T::action_space()
    }

    fn reset(&mut self, seed: u64) -> Vec<f32> {
        self.rngs = (0..self.tasks.len() as u64)
            .map(|i| ChaCha8Rng::seed_from_u64(sub_env_seed(seed, i)))
            .collect();
        for (t, rng) in self.tasks.iter_mut().zip(&mut self.rngs) {
            t.reset(rng);
        }
        self.elapsed.iter_mut().for_each(|e| *e = 0);
        self.all_obs()
    }

    /// # Panics
    /// If the batch does not hold one action per sub-environment, or an action is invalid.
    fn step(&mut self, actions: Actions<'_>) -> StepBatch {
        let n = self.tasks.len();
        let dim = T::action_space().action_dim();
        match actions {
            Actions::Discrete(a) => assert_eq!(a.len(), n, "one discrete action per sub-env"),
            Actions::Continuous(a) => assert_eq!(a.len(), n * dim, "action_dim values per sub-env"),
        }
        let mut out = StepBatch {
            obs: Vec::with_capacity(n * T::OBS_DIM),
            reward: Vec::with_capacity(n),
            terminated: Vec::with_capacity(n),
            truncated: Vec::with_capacity(n),
            final_obs: Vec::new(),
        };
        for i in 0..n {
            let action = match actions {
                Actions::Discrete(a) => ClassicAction::Discrete(a[i]),
                Actions::Continuous(a) => ClassicAction::Continuous(&a[i * dim..(i + 1) * dim]),
            };
            let task = &mut self.tasks[i];
            let (reward, terminated) = task.step(action);
            self.elapsed[i] += 1;
            let truncated = self.elapsed[i] >= T::MAX_EPISODE_STEPS;
            if terminated || truncated {
                let mut last = Vec::with_capacity(T::OBS_DIM);
                task.write_obs(&mut last);
                out.final_obs.push((i, last));
                task.reset(&mut self.rngs[i]);
                self.elapsed[i] = 0;
            }
            task.write_obs(&mut out.obs);
            out.reward.push(reward);
            out.terminated.push(terminated);
            out.truncated.push(truncated);
        }
        out
    }
}

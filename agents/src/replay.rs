//! A preallocated ring buffer of transitions with n-step returns and its own seeded RNG.
//!
//! Every transition stores `obs`, `action`, the (n-step) discounted reward `R`, the
//! observation `next_obs` it bootstraps from, whether that observation is terminal, and the
//! discount `gamma^k` to apply to it (`k` = steps actually summed, `<= n`). The TD target is
//! then `R + discount * (1 - terminated) * V(next_obs)`. At an episode's end the true final
//! observation (the vector env's `final_obs`) is stored, never the auto-reset one; a truncated
//! episode bootstraps from it, a terminated one does not.

use std::collections::VecDeque;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::AgentError;

/// Shape and return settings of a [`ReplayBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReplaySpec {
    /// Transitions held before the oldest is overwritten.
    pub capacity: usize,
    /// Values per observation.
    pub obs_dim: usize,
    /// Values per action (1 for a discrete index, stored as `f32`).
    pub action_dim: usize,
    /// Sub-environments whose steps are pushed together (one pending n-step window each).
    pub num_envs: usize,
    /// Steps summed into one return (1 = one-step TD).
    pub n_step: usize,
    /// Discount per step used to sum n-step returns.
    pub gamma: f64,
}

/// A sampled minibatch, row-major plain vectors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// `[batch, obs_dim]`.
    pub obs: Vec<f32>,
    /// `[batch, action_dim]`.
    pub action: Vec<f32>,
    /// `[batch]` discounted (n-step) reward, unscaled, in the env's reward unit.
    pub reward: Vec<f32>,
    /// `[batch, obs_dim]` observation to bootstrap from.
    pub next_obs: Vec<f32>,
    /// `[batch]` 1.0 where `next_obs` is terminal, else 0.0.
    pub terminated: Vec<f32>,
    /// `[batch]` `gamma^k` for the `k` steps summed.
    pub discount: Vec<f32>,
    /// `[batch, n_actions]` reward of every action from the same state (paired
    /// counterfactuals, one-step); empty when the buffer keeps none.
    pub cf_reward: Vec<f32>,
    /// `[batch, n_actions, obs_dim]` next observation of every action; empty when none.
    pub cf_next_obs: Vec<f32>,
    /// `[batch, n_actions]` the incumbent's action in each action's next state; empty when
    /// the environment has no incumbent.
    pub cf_next_incumbent: Vec<f32>,
}

impl Batch {
    /// Number of transitions.
    pub fn len(&self) -> usize {
        self.reward.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.reward.is_empty()
    }
}

/// One step of one sub-environment waiting for its n-step window to fill.
#[derive(Debug, Clone)]
struct Pending {
    obs: Vec<f32>,
    action: Vec<f32>,
    reward: f32,
}

/// Preallocated ring buffer of transitions (see the module doc for what a row holds).
#[derive(Debug)]
pub struct ReplayBuffer {
    spec: ReplaySpec,
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    action: Vec<f32>,
    reward: Vec<f32>,
    terminated: Vec<f32>,
    discount: Vec<f32>,
    /// Next row to write.
    pos: usize,
    /// Rows filled (at most `capacity`).
    len: usize,
    /// Transitions ever written.
    total: u64,
    pending: Vec<VecDeque<Pending>>,
    rng: ChaCha8Rng,
    /// Paired counterfactual rows beside the transitions, where enabled.
    cf: Option<CounterfactualRows>,
}

/// Every action's reward and next observation for each stored transition (one-step only).
#[derive(Debug)]
struct CounterfactualRows {
    n_actions: usize,
    reward: Vec<f32>,
    next_obs: Vec<f32>,
    /// Empty until the environment first reports incumbent actions.
    next_incumbent: Vec<f32>,
}

impl ReplayBuffer {
    /// An empty buffer with all storage allocated, sampling from a ChaCha8 stream seeded by
    /// `seed`.
    ///
    /// # Panics
    /// If `capacity`, `obs_dim`, `action_dim`, `num_envs` or `n_step` is zero.
    pub fn new(spec: ReplaySpec, seed: u64) -> Self {
        assert!(
            spec.capacity > 0
                && spec.obs_dim > 0
                && spec.action_dim > 0
                && spec.num_envs > 0
                && spec.n_step > 0,
            "replay spec with a zero size: {spec:?}"
        );
        let c = spec.capacity;
        Self {
            spec,
            obs: vec![0.0; c * spec.obs_dim],
            next_obs: vec![0.0; c * spec.obs_dim],
            action: vec![0.0; c * spec.action_dim],
            reward: vec![0.0; c],
            terminated: vec![0.0; c],
            discount: vec![0.0; c],
            pos: 0,
            len: 0,
            total: 0,
            pending: vec![VecDeque::with_capacity(spec.n_step); spec.num_envs],
            rng: ChaCha8Rng::seed_from_u64(seed),
            cf: None,
        }
    }

    /// Keeps `n_actions` paired counterfactual outcomes beside every transition
    /// ([`ReplayBuffer::push_counterfactual`]); allocates `capacity * n_actions * (obs_dim + 1)`
    /// floats. One-step buffers only.
    ///
    /// # Panics
    /// If `n_step` is not 1 or `n_actions` is 0.
    pub fn enable_counterfactual(&mut self, n_actions: usize) {
        assert!(
            self.spec.n_step == 1 && n_actions > 0,
            "counterfactual rows need a one-step buffer and at least one action"
        );
        let c = self.spec.capacity;
        self.cf = Some(CounterfactualRows {
            n_actions,
            reward: vec![0.0; c * n_actions],
            next_obs: vec![0.0; c * n_actions * self.spec.obs_dim],
            next_incumbent: vec![],
        });
    }

    /// Whether counterfactual rows are kept.
    pub fn has_counterfactual(&self) -> bool {
        self.cf.is_some()
    }

    /// Bytes of storage per transition, counterfactual rows included.
    pub fn bytes_per_transition(&self) -> usize {
        let o = self.spec.obs_dim;
        let plain = 2 * o + self.spec.action_dim + 3;
        let cf = self.cf.as_ref().map_or(0, |c| {
            let incumbent = usize::from(!c.next_incumbent.is_empty());
            c.n_actions * (o + 1 + incumbent)
        });
        (plain + cf) * std::mem::size_of::<f32>()
    }

    /// Stores the counterfactual outcomes of the vector step just pushed (call right after
    /// [`ReplayBuffer::push`]; one-step buffers write one row per sub-env in order).
    ///
    /// # Panics
    /// If rows are not enabled or `cf` does not match the spec.
    pub fn push_counterfactual(&mut self, cf: &clv_envs::Counterfactual) {
        let (o, n, cap) = (self.spec.obs_dim, self.spec.num_envs, self.spec.capacity);
        let pos = self.pos;
        let rows = self.cf.as_mut().expect("counterfactual rows enabled");
        let k = rows.n_actions;
        assert!(
            cf.n_actions == k && cf.reward.len() == n * k && cf.next_obs.len() == n * k * o,
            "counterfactual push: shapes do not match [num_envs = {n}, n_actions = {k}, obs_dim = {o}]"
        );
        if !cf.next_incumbent.is_empty() && rows.next_incumbent.is_empty() {
            rows.next_incumbent = vec![0.0; cap * k];
        }
        for e in 0..n {
            let row = (pos + cap - n % cap + e) % cap;
            if !cf.next_incumbent.is_empty() {
                for (dst, src) in rows.next_incumbent[row * k..(row + 1) * k]
                    .iter_mut()
                    .zip(&cf.next_incumbent[e * k..(e + 1) * k])
                {
                    *dst = *src as f32;
                }
            }
            rows.reward[row * k..(row + 1) * k].copy_from_slice(&cf.reward[e * k..(e + 1) * k]);
            rows.next_obs[row * k * o..(row + 1) * k * o]
                .copy_from_slice(&cf.next_obs[e * k * o..(e + 1) * k * o]);
        }
    }

    /// The buffer's shape and return settings.
    pub fn spec(&self) -> &ReplaySpec {
        &self.spec
    }

    /// Transitions currently held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no transition is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Transitions written since creation (including overwritten ones).
    pub fn total_written(&self) -> u64 {
        self.total
    }

    /// Writes one finished transition into the ring.
    fn write(
        &mut self,
        obs: &[f32],
        action: &[f32],
        reward: f32,
        next_obs: &[f32],
        terminated: bool,
        discount: f32,
    ) {
        let (o, a, i) = (self.spec.obs_dim, self.spec.action_dim, self.pos);
        self.obs[i * o..(i + 1) * o].copy_from_slice(obs);
        self.next_obs[i * o..(i + 1) * o].copy_from_slice(next_obs);
        self.action[i * a..(i + 1) * a].copy_from_slice(action);
        self.reward[i] = reward;
        self.terminated[i] = if terminated { 1.0 } else { 0.0 };
        self.discount[i] = discount;
        self.pos = (self.pos + 1) % self.spec.capacity;
        self.len = (self.len + 1).min(self.spec.capacity);
        self.total += 1;
    }

    /// Emits the oldest pending step of sub-env `env`, summing the rewards of every pending
    /// step, bootstrapping from `next_obs`.
    fn emit_front(&mut self, env: usize, next_obs: &[f32], terminated: bool) {
        let gamma = self.spec.gamma;
        let window = std::mem::take(&mut self.pending[env]);
        let mut ret = 0.0f64;
        let mut disc = 1.0f64;
        for p in &window {
            ret += disc * f64::from(p.reward);
            disc *= gamma;
        }
        let front = &window[0];
        self.write(
            &front.obs,
            &front.action,
            ret as f32,
            next_obs,
            terminated,
            disc as f32,
        );
        self.pending[env] = window;
        self.pending[env].pop_front();
    }

    /// Pushes one vector-env step: `obs` `[num_envs, obs_dim]` the observations acted on,
    /// `action` `[num_envs, action_dim]`, `reward`, `terminated`, `truncated` per sub-env, and
    /// `next_obs` `[num_envs, obs_dim]` the observation after the step, with the TRUE final
    /// observation in the rows of sub-envs whose episode ended (not the auto-reset one).
    ///
    /// With `n_step = 1` every call writes `num_envs` transitions; with larger `n` a transition
    /// is written once its window is full or its episode ends (all pending steps are then
    /// flushed with shorter windows, bootstrapping only if truncated).
    ///
    /// # Panics
    /// If a slice length does not match the spec.
    pub fn push(
        &mut self,
        obs: &[f32],
        action: &[f32],
        reward: &[f32],
        terminated: &[bool],
        truncated: &[bool],
        next_obs: &[f32],
    ) {
        let ReplaySpec {
            obs_dim: o,
            action_dim: a,
            num_envs: n,
            n_step,
            ..
        } = self.spec;
        assert!(
            obs.len() == n * o
                && next_obs.len() == n * o
                && action.len() == n * a
                && reward.len() == n
                && terminated.len() == n
                && truncated.len() == n,
            "replay push: slices do not match [num_envs = {n}, obs_dim = {o}, action_dim = {a}]"
        );
        for e in 0..n {
            self.pending[e].push_back(Pending {
                obs: obs[e * o..(e + 1) * o].to_vec(),
                action: action[e * a..(e + 1) * a].to_vec(),
                reward: reward[e],
            });
            let next = &next_obs[e * o..(e + 1) * o];
            if terminated[e] || truncated[e] {
                while !self.pending[e].is_empty() {
                    self.emit_front(e, next, terminated[e]);
                }
            } else if self.pending[e].len() == n_step {
                self.emit_front(e, next, false);
            }
        }
    }

    /// Samples `batch_size` transitions uniformly with replacement, using the buffer's RNG.
    ///
    /// # Panics
    /// If the buffer is empty.
    pub fn sample(&mut self, batch_size: usize) -> Batch {
        assert!(self.len > 0, "sampling an empty replay buffer");
        let (o, a) = (self.spec.obs_dim, self.spec.action_dim);
        let mut b = Batch {
            obs: Vec::with_capacity(batch_size * o),
            action: Vec::with_capacity(batch_size * a),
            reward: Vec::with_capacity(batch_size),
            next_obs: Vec::with_capacity(batch_size * o),
            terminated: Vec::with_capacity(batch_size),
            discount: Vec::with_capacity(batch_size),
            ..Batch::default()
        };
        for _ in 0..batch_size {
            let i = self.rng.random_range(0..self.len);
            b.obs.extend_from_slice(&self.obs[i * o..(i + 1) * o]);
            b.next_obs
                .extend_from_slice(&self.next_obs[i * o..(i + 1) * o]);
            b.action.extend_from_slice(&self.action[i * a..(i + 1) * a]);
            b.reward.push(self.reward[i]);
            b.terminated.push(self.terminated[i]);
            b.discount.push(self.discount[i]);
            if let Some(cf) = &self.cf {
                let k = cf.n_actions;
                b.cf_reward
                    .extend_from_slice(&cf.reward[i * k..(i + 1) * k]);
                b.cf_next_obs
                    .extend_from_slice(&cf.next_obs[i * k * o..(i + 1) * k * o]);
                if !cf.next_incumbent.is_empty() {
                    b.cf_next_incumbent
                        .extend_from_slice(&cf.next_incumbent[i * k..(i + 1) * k]);
                }
            }
        }
        b
    }

    /// The sampling RNG's state (for checkpoints).
    pub fn rng(&self) -> &ChaCha8Rng {
        &self.rng
    }

    /// Saves the stored rows, the ring position and the sampling RNG: the rows as
    /// `path` (safetensors), the rest returned for the caller's JSON. Pending n-step windows
    /// are not saved (a resume restarts its episodes).
    pub fn save_rows(&self, path: &Path) -> Result<ReplayState, AgentError> {
        let (o, a, len) = (
            self.spec.obs_dim as i64,
            self.spec.action_dim as i64,
            self.len,
        );
        let rows =
            |v: &[f32], w: i64| Tensor::from_slice(&v[..len * w as usize]).reshape([len as i64, w]);
        let tensors = [
            ("obs", rows(&self.obs, o)),
            ("next_obs", rows(&self.next_obs, o)),
            ("action", rows(&self.action, a)),
            ("reward", rows(&self.reward, 1)),
            ("terminated", rows(&self.terminated, 1)),
            ("discount", rows(&self.discount, 1)),
        ];
        Tensor::write_safetensors(&tensors, path)?;
        Ok(ReplayState {
            spec: self.spec,
            pos: self.pos,
            len: self.len,
            total: self.total,
            rng: self.rng.clone(),
        })
    }

    /// Rebuilds a buffer from [`ReplayBuffer::save_rows`]' file and state.
    pub fn load_rows(path: &Path, state: ReplayState) -> Result<Self, AgentError> {
        let mut buf = Self::new(state.spec, 0);
        let bad = |reason: String| AgentError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        };
        let named: std::collections::HashMap<String, Tensor> =
            Tensor::read_safetensors(path)?.into_iter().collect();
        let len = state.len;
        if len > state.spec.capacity || state.pos >= state.spec.capacity {
            return Err(bad(format!(
                "replay len {len} / pos {} exceed capacity {}",
                state.pos, state.spec.capacity
            )));
        }
        let (o, a) = (state.spec.obs_dim, state.spec.action_dim);
        for (name, width, dst) in [
            ("obs", o, &mut buf.obs),
            ("next_obs", o, &mut buf.next_obs),
            ("action", a, &mut buf.action),
            ("reward", 1, &mut buf.reward),
            ("terminated", 1, &mut buf.terminated),
            ("discount", 1, &mut buf.discount),
        ] {
            let t = named
                .get(name)
                .ok_or_else(|| bad(format!("replay tensor {name} missing")))?;
            if t.size() != [len as i64, width as i64] {
                return Err(bad(format!(
                    "replay tensor {name} has shape {:?}, want [{len}, {width}]",
                    t.size()
                )));
            }
            t.f_copy_data(&mut dst[..len * width], len * width)?;
        }
        buf.pos = state.pos;
        buf.len = len;
        buf.total = state.total;
        buf.rng = state.rng;
        Ok(buf)
    }
}

/// What a checkpoint keeps of a replay buffer besides its rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplayState {
    /// Shape and return settings.
    pub spec: ReplaySpec,
    /// Next row to write.
    pub pos: usize,
    /// Rows filled.
    pub len: usize,
    /// Transitions ever written.
    pub total: u64,
    /// The sampling RNG at its saved position.
    pub rng: ChaCha8Rng,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(capacity: usize, num_envs: usize, n_step: usize) -> ReplaySpec {
        ReplaySpec {
            capacity,
            obs_dim: 2,
            action_dim: 1,
            num_envs,
            n_step,
            gamma: 0.5,
        }
    }

    /// Transitions in order 0, 1, 2, ... identified by their obs value.
    fn push_simple(buf: &mut ReplayBuffer, t: f32) {
        buf.push(
            &[t, -t],
            &[t],
            &[t],
            &[false],
            &[false],
            &[t + 1.0, -t - 1.0],
        );
    }

    #[test]
    fn ring_wraps_around_and_keeps_the_newest() {
        let mut buf = ReplayBuffer::new(spec(4, 1, 1), 0);
        for t in 0..6 {
            push_simple(&mut buf, t as f32);
        }
        assert_eq!(buf.len(), 4);
        assert_eq!(buf.total_written(), 6);
        // Rows 0 and 1 were overwritten by transitions 4 and 5.
        assert_eq!(&buf.obs[..8], &[4.0, -4.0, 5.0, -5.0, 2.0, -2.0, 3.0, -3.0]);
        let b = buf.sample(200);
        assert!(b.obs.chunks(2).all(|r| (2.0..=5.0).contains(&r[0])));
        for k in 0..b.len() {
            assert_eq!(b.next_obs[2 * k], b.obs[2 * k] + 1.0);
            assert_eq!(b.discount[k], 0.5);
        }
        let mut seen: Vec<i32> = b.obs.chunks(2).map(|r| r[0] as i32).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, [2, 3, 4, 5], "uniform sampling reaches every row");
    }

    #[test]
    fn equal_seeds_sample_equal_batches() {
        let mut a = ReplayBuffer::new(spec(16, 1, 1), 9);
        let mut b = ReplayBuffer::new(spec(16, 1, 1), 9);
        for t in 0..10 {
            push_simple(&mut a, t as f32);
            push_simple(&mut b, t as f32);
        }
        assert_eq!(a.sample(32), b.sample(32));
    }

    /// n = 3, gamma = 0.5, rewards 1, 2, 4, 8: the first transition sums 1 + 0.5*2 + 0.25*4 = 3
    /// and bootstraps from obs 3 with discount 0.125.
    #[test]
    fn n_step_returns_sum_the_window() {
        let mut buf = ReplayBuffer::new(spec(16, 1, 3), 0);
        for (t, r) in [1.0f32, 2.0, 4.0, 8.0].into_iter().enumerate() {
            let t = t as f32;
            buf.push(&[t, 0.0], &[0.0], &[r], &[false], &[false], &[t + 1.0, 0.0]);
        }
        assert_eq!(buf.len(), 2);
        assert_eq!(buf.reward[..2], [3.0, 2.0 + 2.0 + 2.0]);
        assert_eq!(buf.next_obs[0], 3.0);
        assert_eq!(buf.next_obs[2], 4.0);
        assert_eq!(buf.discount[..2], [0.125, 0.125]);
    }

    /// At an episode end every pending step is flushed with a shorter window to the true final
    /// observation: terminated marks it terminal, truncated does not (so it bootstraps).
    #[test]
    fn episode_end_flushes_terminated_vs_truncated() {
        for terminated in [true, false] {
            let mut buf = ReplayBuffer::new(spec(16, 1, 3), 0);
            buf.push(&[0.0, 0.0], &[1.0], &[1.0], &[false], &[false], &[1.0, 0.0]);
            buf.push(
                &[1.0, 0.0],
                &[1.0],
                &[2.0],
                &[terminated],
                &[!terminated],
                &[99.0, 99.0],
            );
            assert_eq!(buf.len(), 2);
            assert_eq!(buf.reward[..2], [1.0 + 0.5 * 2.0, 2.0]);
            assert_eq!(buf.discount[..2], [0.25, 0.5]);
            assert_eq!(
                buf.next_obs[..4],
                [99.0, 99.0, 99.0, 99.0],
                "true final obs"
            );
            let flag = if terminated { 1.0 } else { 0.0 };
            assert_eq!(buf.terminated[..2], [flag, flag]);
            // The next episode starts a fresh window.
            buf.push(&[5.0, 0.0], &[0.0], &[1.0], &[false], &[false], &[6.0, 0.0]);
            assert_eq!(buf.len(), 2);
        }
    }

    /// Sub-envs keep separate windows.
    #[test]
    fn windows_are_per_sub_env() {
        let mut buf = ReplayBuffer::new(spec(16, 2, 2), 0);
        buf.push(
            &[0.0, 0.0, 10.0, 0.0],
            &[0.0, 0.0],
            &[1.0, 10.0],
            &[false, true],
            &[false, false],
            &[1.0, 0.0, 11.0, 0.0],
        );
        assert_eq!(buf.len(), 1, "sub-env 1 ended and flushed; sub-env 0 waits");
        assert_eq!((buf.reward[0], buf.terminated[0]), (10.0, 1.0));
        buf.push(
            &[1.0, 0.0, 20.0, 0.0],
            &[0.0, 0.0],
            &[2.0, 20.0],
            &[false, false],
            &[false, false],
            &[2.0, 0.0, 21.0, 0.0],
        );
        assert_eq!(buf.len(), 2);
        assert_eq!((buf.reward[1], buf.next_obs[2]), (1.0 + 0.5 * 2.0, 2.0));
    }

    #[test]
    fn rows_round_trip_through_safetensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.safetensors");
        let mut buf = ReplayBuffer::new(spec(8, 1, 1), 3);
        for t in 0..11 {
            push_simple(&mut buf, t as f32);
        }
        let _ = buf.sample(5);
        let state = buf.save_rows(&path).unwrap();
        let json = serde_json::to_string(&state).unwrap();
        let mut back =
            ReplayBuffer::load_rows(&path, serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(back.obs, buf.obs);
        assert_eq!(back.discount, buf.discount);
        assert_eq!(
            (back.pos, back.len, back.total),
            (buf.pos, buf.len, buf.total)
        );
        assert_eq!(
            back.sample(7),
            buf.sample(7),
            "the sampling RNG resumes where it was"
        );
    }

    #[test]
    fn counterfactual_rows_stay_beside_their_transitions() {
        let spec = ReplaySpec {
            capacity: 5,
            obs_dim: 1,
            action_dim: 1,
            num_envs: 2,
            n_step: 1,
            gamma: 0.9,
        };
        let mut buf = ReplayBuffer::new(spec, 3);
        buf.enable_counterfactual(2);
        for t in 0..4 {
            let obs = [t as f32 * 10.0, t as f32 * 10.0 + 1.0];
            buf.push(
                &obs,
                &[0.0, 1.0],
                &[0.0, 0.0],
                &[false; 2],
                &[false; 2],
                &obs,
            );
            let cf = clv_envs::Counterfactual {
                n_actions: 2,
                reward: vec![obs[0], -obs[0], obs[1], -obs[1]],
                next_obs: vec![obs[0], obs[0], obs[1], obs[1]],
                next_incumbent: vec![],
            };
            buf.push_counterfactual(&cf);
        }
        let b = buf.sample(50);
        for i in 0..50 {
            assert_eq!(b.cf_reward[2 * i], b.obs[i]);
            assert_eq!(b.cf_reward[2 * i + 1], -b.obs[i]);
            assert_eq!(b.cf_next_obs[2 * i], b.obs[i]);
        }
        assert_eq!(buf.bytes_per_transition(), (2 + 1 + 3 + 2 * 2) * 4);
    }
}

//! Deep Q-network agent: Q-learning with a neural network, experience replay and a target
//! network (Mnih et al. 2015, "Human-level control through deep reinforcement learning",
//! Nature 518), with double-DQN targets (van Hasselt, Guez & Silver 2016, "Deep reinforcement
//! learning with double Q-learning", AAAI), the Huber loss, Adam, global gradient-norm
//! clipping, reward scaling and optional observation normalisation.
//!
//! Per update, on a minibatch `(s, a, R, s', terminated, discount)` from the replay buffer:
//! `y = c R + discount (1 - terminated) Q_target(s', argmax_a' Q_online(s', a'))` (or
//! `max_a' Q_target(s', a')` without double DQN), `c` the reward scale; loss
//! `Huber_delta(Q_online(s, a) - y)` averaged over the batch.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use clv_envs::ActionSpace;

use crate::checkpoint::{load_networks, loaded, read_checkpoint, write_checkpoint};
use crate::config::{DqnConfig, TargetUpdate};
use crate::error::AgentError;
use crate::learner::{Learner, LearnerStats, LoadedCheckpoint, LoopState};
use crate::mlp::Mlp;
use crate::nets::{
    NORM_EPS, TORCH_INIT, clip_grad_norm, global_grad_norm, hard_update, soft_update, td_target,
};
use crate::normalize::RunningNorm;
use crate::policy::{Mode, Policy};
use crate::replay::{Batch, ReplayBuffer, ReplaySpec};

/// The value of the next state: double DQN evaluates the online network's greedy action with
/// the target network; plain DQN takes the target network's maximum.
///
/// # Shapes
/// `next_q_target`, `next_q_online`: `[batch, n_actions]`; returns `[batch]`.
pub fn next_state_value(next_q_target: &Tensor, next_q_online: Option<&Tensor>) -> Tensor {
    match next_q_online {
        Some(online) => {
            let a = online.argmax(1, true); // [batch, 1]
            next_q_target.gather(1, &a, false).squeeze_dim(1)
        }
        None => next_q_target.max_dim(1, false).0,
    }
}

/// What one gradient update measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UpdateStats {
    /// Huber loss of the batch, scaled-reward units.
    pub loss: f64,
    /// Global gradient L2 norm before clipping.
    pub grad_norm: f64,
    /// Mean `Q_online(s, a)` over the batch, scaled-reward units.
    pub q_mean: f64,
}

/// A DQN agent: online and target Q networks, Adam, observation normaliser, exploration RNG
/// and step counters.
#[derive(Debug)]
pub struct Dqn {
    config: DqnConfig,
    device: Device,
    obs_dim: usize,
    n_actions: usize,
    online_vs: nn::VarStore,
    online: Mlp,
    target_vs: nn::VarStore,
    target: Mlp,
    opt: nn::Optimizer,
    /// Observation normaliser (used only when `config.train.normalize_obs`).
    pub normalizer: RunningNorm,
    rng: ChaCha8Rng,
    /// Environment transitions collected (drives the epsilon schedule).
    pub env_steps: u64,
    updates: u64,
    /// The incumbent's action per row for the next `act` call (consumed by it): the guard's
    /// fallback instead of `keep_action`, and the action exploration mixes in.
    incumbent_rows: Option<Vec<u32>>,
}

impl Dqn {
    /// Validates `config`, sets libtorch's thread count, seeds libtorch with `torch_seed` and
    /// builds the online network (target = a copy of it) for `obs_dim` inputs and `n_actions`
    /// outputs on `device`. `explore_seed` seeds the exploration RNG.
    pub fn new(
        config: DqnConfig,
        obs_dim: usize,
        n_actions: usize,
        device: Device,
        torch_seed: u64,
        explore_seed: u64,
    ) -> Result<Self, AgentError> {
        config.validate()?;
        if obs_dim == 0 || n_actions == 0 {
            return Err(AgentError::EnvMismatch(format!(
                "DQN needs obs_dim > 0 and n_actions > 0, got {obs_dim} and {n_actions}"
            )));
        }
        if let Some(k) = config.keep_action
            && k as usize >= n_actions
        {
            return Err(AgentError::EnvMismatch(format!(
                "dqn.keep_action is {k}, but there are only {n_actions} actions"
            )));
        }
        tch::set_num_threads(config.train.num_threads as i32);
        // libtorch's generator is global: hold a process-wide lock from seeding to the last
        // initialised weight, so agents built on several threads still get their seed's weights.
        let init_guard = TORCH_INIT.lock().unwrap_or_else(|e| e.into_inner());
        tch::manual_seed(torch_seed as i64);
        let online_vs = nn::VarStore::new(device);
        let online = Mlp::with_head(
            &online_vs.root(),
            obs_dim as i64,
            &config.hidden,
            n_actions as i64,
            config.activation,
            config.dueling,
        );
        let mut target_vs = nn::VarStore::new(device);
        let target = Mlp::with_head(
            &target_vs.root(),
            obs_dim as i64,
            &config.hidden,
            n_actions as i64,
            config.activation,
            config.dueling,
        );
        drop(init_guard);
        target_vs.freeze();
        hard_update(&mut target_vs, &online_vs)?;
        let opt = nn::Adam::default().build(&online_vs, config.lr)?;
        Ok(Self {
            normalizer: RunningNorm::new(obs_dim, config.train.obs_clip, NORM_EPS),
            config,
            device,
            obs_dim,
            n_actions,
            online_vs,
            online,
            target_vs,
            target,
            opt,
            rng: ChaCha8Rng::seed_from_u64(explore_seed),
            env_steps: 0,
            updates: 0,
            incumbent_rows: None,
        })
    }

    /// The incumbent's action for each row of the next `act` call (consumed by that call):
    /// greedy acting keeps it unless the best action's Q beats it by `action_margin` (an
    /// infinite margin never deviates), and exploring steps take it with probability
    /// `recipe.incumbent_explore`.
    pub fn set_incumbent_rows(&mut self, rows: Option<Vec<u32>>) {
        self.incumbent_rows = rows;
    }

    /// The agent's settings.
    pub fn config(&self) -> &DqnConfig {
        &self.config
    }

    /// Replaces the transition budget (`total_env_steps`), e.g. to train a resumed run further.
    pub fn set_total_env_steps(&mut self, total: u64) -> Result<(), AgentError> {
        let mut cfg = self.config.clone();
        cfg.train.total_env_steps = total;
        cfg.validate()?;
        self.config = cfg;
        Ok(())
    }

    /// Sets the greedy-acting margin of `keep_action` (scaled-reward units, >= 0), e.g. the
    /// one of `margin_candidates` chosen on validation.
    pub fn set_action_margin(&mut self, margin: f64) -> Result<(), AgentError> {
        let mut cfg = self.config.clone();
        cfg.action_margin = margin;
        cfg.validate()?;
        self.config = cfg;
        Ok(())
    }

    /// The device the networks live on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Gradient updates done.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Exploration epsilon at the current step.
    pub fn epsilon(&self) -> f64 {
        self.config.epsilon_schedule().value_at(self.env_steps)
    }

    /// The online network's weights.
    pub fn online_vars(&self) -> &nn::VarStore {
        &self.online_vs
    }

    /// The target network's weights.
    pub fn target_vars(&self) -> &nn::VarStore {
        &self.target_vs
    }

    /// The exploration RNG (for checkpoints).
    pub fn explore_rng(&self) -> &ChaCha8Rng {
        &self.rng
    }

    /// Rows of raw observations as the network's input: normalised if configured.
    ///
    /// # Shapes
    /// `obs`: `[n * obs_dim]` -> `[n, obs_dim]` Float on the agent's device.
    fn input(&self, obs: &[f32], n: usize) -> Result<Tensor, AgentError> {
        if obs.len() != n * self.obs_dim {
            return Err(AgentError::EnvMismatch(format!(
                "{} observation values for {n} rows of {}",
                obs.len(),
                self.obs_dim
            )));
        }
        let t = if self.config.train.normalize_obs {
            Tensor::from_slice(&self.normalizer.normalize(obs))
        } else {
            Tensor::from_slice(obs)
        };
        Ok(t.f_reshape([n as i64, self.obs_dim as i64])?
            .f_to_device(self.device)?)
    }

    /// Online Q values of `n` raw observations, row-major `[n, n_actions]`, in scaled-reward
    /// units (divide by `reward_scale` for env units). Evaluated in chunks of `act_chunk`.
    pub fn q_values(&self, obs: &[f32], n: usize) -> Result<Vec<f32>, AgentError> {
        let mut out = Vec::with_capacity(n * self.n_actions);
        for start in (0..n).step_by(self.config.train.act_chunk) {
            let rows = (n - start).min(self.config.train.act_chunk);
            let x = self.input(
                &obs[start * self.obs_dim..(start + rows) * self.obs_dim],
                rows,
            )?;
            let q = tch::no_grad(|| self.online.forward(&x)); // [rows, n_actions]
            out.extend(Vec::<f32>::try_from(
                q.f_to_device(Device::Cpu)?.f_flatten(0, -1)?,
            )?);
        }
        Ok(out)
    }

    /// One gradient update on `batch`. The loss and the gradient norm are checked BEFORE the
    /// optimiser step: a non-finite value returns [`AgentError::Diverged`] (with
    /// `last_good: None`; the training loop fills it) and leaves the weights untouched.
    pub fn update(&mut self, batch: &Batch) -> Result<UpdateStats, AgentError> {
        if !batch.cf_reward.is_empty() {
            return self.update_counterfactual(batch);
        }
        let n = batch.len();
        let obs = self.input(&batch.obs, n)?; // [n, obs_dim]
        let next_obs = self.input(&batch.next_obs, n)?; // [n, obs_dim]
        let col = |v: &[f32]| Tensor::from_slice(v).to_device(self.device); // [n]
        let actions = col(&batch.action).to_kind(Kind::Int64).unsqueeze(1); // [n, 1]
        let reward = col(&batch.reward) * self.config.reward_scale; // [n]
        let (discount, terminated) = (col(&batch.discount), col(&batch.terminated));
        let target = tch::no_grad(|| {
            let next_q_target = self.target.forward(&next_obs); // [n, n_actions]
            let next_q_online = self
                .config
                .double_dqn
                .then(|| self.online.forward(&next_obs));
            let next_value = next_state_value(&next_q_target, next_q_online.as_ref()); // [n]
            td_target(&reward, &discount, &terminated, &next_value)
        });
        let q = self
            .online
            .forward(&obs)
            .gather(1, &actions, false)
            .squeeze_dim(1); // [n]
        self.step_on_loss(&q, &target)
    }

    /// One update regressing EVERY action on its paired counterfactual outcome:
    /// `Q(s, a) <- r_a + gamma (1 - terminated) V'(s'_a)` for all `a` at once, with `V'` the
    /// (double) DQN value of each action's own next observation. Action differences are then
    /// learned from paired outcomes of the same customer-period.
    fn update_counterfactual(&mut self, batch: &Batch) -> Result<UpdateStats, AgentError> {
        let (n, k) = (batch.len(), self.n_actions);
        if batch.cf_reward.len() != n * k || batch.cf_next_obs.len() != n * k * self.obs_dim {
            return Err(AgentError::EnvMismatch(format!(
                "counterfactual batch of {n} rows holds {} rewards and {} next-observation values for {k} actions",
                batch.cf_reward.len(),
                batch.cf_next_obs.len()
            )));
        }
        let obs = self.input(&batch.obs, n)?; // [n, obs_dim]
        let next_obs = self.input(&batch.cf_next_obs, n * k)?; // [n * k, obs_dim]
        let reward = Tensor::from_slice(&batch.cf_reward)
            .to_device(self.device)
            .reshape([n as i64, k as i64])
            * self.config.reward_scale; // [n, k]
        let discount = Tensor::from_slice(&batch.discount)
            .to_device(self.device)
            .unsqueeze(1); // [n, 1]
        let terminated = Tensor::from_slice(&batch.terminated)
            .to_device(self.device)
            .unsqueeze(1); // [n, 1]
        let bootstrap = self.config.recipe.bootstrap;
        let on_incumbent = bootstrap == crate::recipe::Bootstrap::Incumbent;
        if on_incumbent && batch.cf_next_incumbent.len() != n * k {
            return Err(AgentError::EnvMismatch(
                "recipe.bootstrap is Incumbent, but the environment reports no incumbent actions (give an incumbent)".into(),
            ));
        }
        let target = tch::no_grad(|| {
            if bootstrap == crate::recipe::Bootstrap::Rollout {
                // The rewards are already the returns to the horizon's end.
                return reward.shallow_clone();
            }
            let next_q_target = self.target.forward(&next_obs); // [n * k, k]
            let next_value = if on_incumbent {
                let idx = Tensor::from_slice(&batch.cf_next_incumbent)
                    .to_device(self.device)
                    .clamp(0.0, (k - 1) as f64)
                    .to_kind(Kind::Int64)
                    .unsqueeze(1); // [n * k, 1]
                next_q_target.gather(1, &idx, false).squeeze_dim(1) // [n * k]
            } else {
                let next_q_online = self
                    .config
                    .double_dqn
                    .then(|| self.online.forward(&next_obs));
                next_state_value(&next_q_target, next_q_online.as_ref()) // [n * k]
            }
            .reshape([n as i64, k as i64]); // [n, k]
            td_target(&reward, &discount, &terminated, &next_value) // [n, k]
        });
        let q = self.online.forward(&obs); // [n, k]
        if self.config.recipe.paired_loss {
            return self.step_on_paired_loss(&q, &target);
        }
        self.step_on_loss(&q, &target)
    }

    /// The paired loss of [`crate::recipe::Recipe::paired_loss`] on `q` and `target`, both
    /// `[n, k]`: Huber of the row means plus the squared error of the differences from them.
    fn step_on_paired_loss(
        &mut self,
        q: &Tensor,
        target: &Tensor,
    ) -> Result<UpdateStats, AgentError> {
        let q_mean = q.mean_dim(1, true, Kind::Float); // [n, 1]
        let t_mean = target.mean_dim(1, true, Kind::Float); // [n, 1]
        let level = q_mean.huber_loss(&t_mean, tch::Reduction::Mean, self.config.huber_delta);
        let spread = (q - &q_mean).mse_loss(&(target - &t_mean), tch::Reduction::Mean);
        self.apply_loss(&(level + spread), q)
    }

    /// Huber loss of `q` against `target`, checked, clipped and applied (see `update`).
    fn step_on_loss(&mut self, q: &Tensor, target: &Tensor) -> Result<UpdateStats, AgentError> {
        let loss = q.huber_loss(target, tch::Reduction::Mean, self.config.huber_delta);
        self.apply_loss(&loss, q)
    }

    /// Backpropagates `loss` (of the predictions `q`), checked, clipped and applied.
    fn apply_loss(&mut self, loss: &Tensor, q: &Tensor) -> Result<UpdateStats, AgentError> {
        self.opt.zero_grad();
        loss.backward();
        let loss_v = f64::try_from(loss)?;
        let grad_norm = global_grad_norm(&self.online_vs)?;
        if !loss_v.is_finite() || !grad_norm.is_finite() {
            self.opt.zero_grad();
            return Err(AgentError::Diverged {
                env_steps: self.env_steps,
                updates: self.updates,
                loss: loss_v,
                grad_norm,
                last_good: None,
            });
        }
        clip_grad_norm(&self.online_vs, grad_norm, Some(self.config.max_grad_norm))?;
        if self.config.lr_final.is_some() {
            self.opt.set_lr(self.config.lr_at(self.env_steps));
        }
        self.opt.step();
        self.updates += 1;
        if self
            .updates
            .is_multiple_of(self.config.target_update_period)
        {
            self.update_target()?;
        }
        let q_mean = f64::try_from(q.detach().mean(Kind::Float))?;
        Ok(UpdateStats {
            loss: loss_v,
            grad_norm,
            q_mean,
        })
    }

    /// Moves the target network towards the online one: a copy (`hard`) or Polyak averaging
    /// with `tau` (`polyak`).
    pub fn update_target(&mut self) -> Result<(), AgentError> {
        match self.config.target_update {
            TargetUpdate::Hard => hard_update(&mut self.target_vs, &self.online_vs),
            TargetUpdate::Polyak => soft_update(&self.target_vs, &self.online_vs, self.config.tau),
        }
    }
}

/// The argmax of `row`, except that `keep` is kept unless the best value exceeds its value by
/// more than `margin` (an infinite margin always keeps it).
pub fn guarded_argmax(row: &[f32], keep: Option<u32>, margin: f64) -> u32 {
    let mut best = 0;
    for (a, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = a;
        }
    }
    match keep {
        Some(k) if f64::from(row[best] - row[k as usize]) <= margin => k,
        _ => best as u32,
    }
}

impl Policy for Dqn {
    fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    fn n_actions(&self) -> usize {
        self.n_actions
    }

    fn set_incumbent_actions(&mut self, rows: Option<Vec<u32>>) {
        self.set_incumbent_rows(rows)
    }

    /// Q(s, a) - Q(s, reference) of the online network, scaled-reward units.
    fn advantages(
        &mut self,
        obs: &[f32],
        n: usize,
        actions: &[u32],
        reference: &[u32],
    ) -> Result<Option<Vec<f32>>, AgentError> {
        let q = self.q_values(obs, n)?;
        let k = self.n_actions;
        let at = |row: &[f32], a: u32| row[(a as usize).min(k - 1)];
        Ok(Some(
            q.chunks(k)
                .zip(actions.iter().zip(reference))
                .map(|(row, (a, r))| at(row, *a) - at(row, *r))
                .collect(),
        ))
    }

    /// Greedy: the argmax of the online Q values (keeping `keep_action` unless the best
    /// action beats it by more than `action_margin`). Explore: with probability epsilon (at
    /// the agent's current step) a uniform random action, drawn from the agent's own RNG.
    fn act(&mut self, obs: &[f32], n: usize, mode: Mode) -> Result<Vec<u32>, AgentError> {
        let q = self.q_values(obs, n)?;
        let incumbent = self.incumbent_rows.take().filter(|r| r.len() == n);
        let keep = |i: usize| match &incumbent {
            Some(rows) => Some(rows[i].min(self.n_actions as u32 - 1)),
            None => self.config.keep_action,
        };
        let margin = self.config.action_margin;
        let greedy: Vec<u32> = q
            .chunks(self.n_actions)
            .enumerate()
            .map(|(i, row)| guarded_argmax(row, keep(i), margin))
            .collect();
        match mode {
            Mode::Greedy => Ok(greedy),
            Mode::Explore => {
                let eps = self.epsilon();
                let mix = self.config.recipe.incumbent_explore;
                let n_actions = self.n_actions as u32;
                let keeps: Vec<Option<u32>> = (0..n).map(keep).collect();
                Ok(greedy
                    .into_iter()
                    .zip(keeps)
                    .map(|(g, k)| {
                        if self.rng.random::<f64>() < eps {
                            self.rng.random_range(0..n_actions)
                        } else if let Some(k) = k.filter(|_| incumbent.is_some() && mix > 0.0)
                            && self.rng.random::<f64>() < mix
                        {
                            k
                        } else {
                            g
                        }
                    })
                    .collect())
            }
        }
    }
}

/// The `algorithm` of DQN checkpoints.
pub const DQN_ALGORITHM: &str = "dqn";
/// Online network weights in a checkpoint folder.
const ONLINE_FILE: &str = "q_online.safetensors";
/// Target network weights in a checkpoint folder.
const TARGET_FILE: &str = "q_target.safetensors";
/// Values per action in a DQN replay row: the action's index.
const REPLAY_ACTION_DIM: usize = 1;

/// A DQN checkpoint's own state (the `agent` of its [`crate::CheckpointMeta`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DqnPayload {
    /// The agent's resolved config.
    pub config: DqnConfig,
    /// Values per observation.
    pub obs_dim: usize,
    /// Number of discrete actions.
    pub n_actions: usize,
    /// Observation normaliser.
    pub normalizer: RunningNorm,
    /// Environment transitions collected.
    pub env_steps: u64,
    /// Gradient updates done.
    pub updates: u64,
    /// Exploration RNG at its position.
    pub explore_rng: ChaCha8Rng,
}

impl From<UpdateStats> for LearnerStats {
    fn from(s: UpdateStats) -> Self {
        Self {
            loss: s.loss,
            grad_norm: s.grad_norm,
            q_mean: s.q_mean,
            actor_loss: None,
        }
    }
}

impl Learner for Dqn {
    type Config = DqnConfig;

    /// `space` must be discrete: its action count is the Q network's output size.
    fn build(
        config: DqnConfig,
        obs_dim: usize,
        space: &ActionSpace,
        device: Device,
        torch_seed: u64,
        explore_seed: u64,
    ) -> Result<Self, AgentError> {
        match space {
            ActionSpace::Discrete { n } => {
                Dqn::new(config, obs_dim, *n, device, torch_seed, explore_seed)
            }
            other => Err(AgentError::EnvMismatch(format!(
                "DQN needs a discrete action space, the env has {other:?}"
            ))),
        }
    }

    /// Builds the networks from the saved config, then fills them (see [`crate::checkpoint`]
    /// for what is and is not restored).
    fn load(dir: &Path, device: Device) -> Result<LoadedCheckpoint<Self>, AgentError> {
        let meta = read_checkpoint::<DqnPayload>(dir, DQN_ALGORITHM)?;
        let p = meta.agent.clone();
        let mut agent = Dqn::new(p.config, p.obs_dim, p.n_actions, device, 0, 0)?;
        load_networks(
            dir,
            &mut [
                (ONLINE_FILE, &mut agent.online_vs),
                (TARGET_FILE, &mut agent.target_vs),
            ],
        )?;
        agent.normalizer = p.normalizer;
        agent.env_steps = p.env_steps;
        agent.updates = p.updates;
        agent.rng = p.explore_rng;
        loaded(dir, agent, meta)
    }

    fn save(
        &self,
        dir: &Path,
        replay: Option<&ReplayBuffer>,
        state: Option<&LoopState>,
    ) -> Result<(), AgentError> {
        let payload = DqnPayload {
            config: self.config.clone(),
            obs_dim: self.obs_dim,
            n_actions: self.n_actions,
            normalizer: self.normalizer.clone(),
            env_steps: self.env_steps,
            updates: self.updates,
            explore_rng: self.rng.clone(),
        };
        let networks = [
            (ONLINE_FILE, &self.online_vs),
            (TARGET_FILE, &self.target_vs),
        ];
        write_checkpoint(dir, DQN_ALGORITHM, &payload, &networks, replay, state)
    }

    fn config(&self) -> &DqnConfig {
        &self.config
    }
    fn replay_spec(&self) -> ReplaySpec {
        let c = &self.config;
        ReplaySpec {
            capacity: c.train.buffer_size,
            obs_dim: self.obs_dim,
            action_dim: REPLAY_ACTION_DIM,
            num_envs: c.train.num_envs,
            n_step: c.n_step,
            gamma: c.gamma,
        }
    }
    fn set_total_env_steps(&mut self, total: u64) -> Result<(), AgentError> {
        Dqn::set_total_env_steps(self, total)
    }
    fn env_steps(&self) -> u64 {
        self.env_steps
    }
    fn add_env_steps(&mut self, n: u64) {
        self.env_steps += n;
    }
    fn updates(&self) -> u64 {
        self.updates
    }
    fn normalizer_mut(&mut self) -> &mut RunningNorm {
        &mut self.normalizer
    }
    fn exploration(&self) -> f64 {
        self.epsilon()
    }
    fn learn(&mut self, batch: &Batch) -> Result<LearnerStats, AgentError> {
        self.update(batch).map(LearnerStats::from)
    }
    fn set_incumbent_actions(&mut self, rows: Option<Vec<u32>>) {
        self.set_incumbent_rows(rows)
    }
    fn counterfactual_actions(&self) -> usize {
        if self.config.recipe.counterfactual {
            self.n_actions
        } else {
            0
        }
    }
}

/// Loads a DQN checkpoint folder onto `device` ([`Learner::load`] for [`Dqn`]).
pub fn load_checkpoint(dir: &Path, device: Device) -> Result<LoadedCheckpoint<Dqn>, AgentError> {
    Dqn::load(dir, device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learner::TrainConfig;

    #[test]
    fn an_infinite_margin_never_leaves_the_incumbent() {
        let n = 64;
        let obs: Vec<f32> = (0..n * 3)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0)
            .collect();
        let cfg = DqnConfig {
            action_margin: 1e9,
            ..DqnConfig::default()
        };
        let mut agent = Dqn::new(cfg, 3, 4, Device::Cpu, 0, 1).unwrap();
        let incumbent: Vec<u32> = (0..n as u32).map(|i| i % 4).collect();
        agent.set_incumbent_rows(Some(incumbent.clone()));
        assert_eq!(agent.act(&obs, n, Mode::Greedy).unwrap(), incumbent);
        // Consumed by the call: the next one is the plain argmax again.
        let q = agent.q_values(&obs, n).unwrap();
        let argmax: Vec<u32> = q.chunks(4).map(|r| guarded_argmax(r, None, 0.0)).collect();
        assert_eq!(agent.act(&obs, n, Mode::Greedy).unwrap(), argmax);
        // A zero margin deviates wherever another action is strictly better.
        assert_eq!(guarded_argmax(&[1.0, 2.0, 0.5], Some(0), 0.0), 1);
        assert_eq!(guarded_argmax(&[1.0, 2.0, 0.5], Some(0), 1.5), 0);
        assert_eq!(guarded_argmax(&[1.0, 2.0, 0.5], Some(0), f64::INFINITY), 0);
    }

    #[test]
    fn counterfactual_update_regresses_every_action_on_its_own_target() {
        // gamma 0: every Q(s, a) must move to its own counterfactual reward.
        let cfg = DqnConfig {
            gamma: 0.0,
            lr: 1e-2,
            hidden: vec![32],
            target_update_period: 1,
            ..DqnConfig::default()
        };
        let mut agent = Dqn::new(cfg, 3, 3, Device::Cpu, 0, 1).unwrap();
        let n = 16;
        let obs: Vec<f32> = (0..n * 3).map(|i| (i % 5) as f32 / 5.0).collect();
        let batch = Batch {
            obs: obs.clone(),
            action: vec![0.0; n],
            reward: vec![0.0; n],
            next_obs: obs.clone(),
            terminated: vec![0.0; n],
            discount: vec![0.0; n],
            cf_reward: (0..n).flat_map(|_| [1.0f32, -1.0, 0.5]).collect(),
            cf_next_obs: (0..3).flat_map(|_| obs.clone()).collect(),
            cf_next_incumbent: vec![],
        };
        for _ in 0..300 {
            agent.update(&batch).unwrap();
        }
        let q = agent.q_values(&obs, n).unwrap();
        for row in q.chunks(3) {
            for (v, want) in row.iter().zip([1.0f32, -1.0, 0.5]) {
                assert!((v - want).abs() < 0.1, "{row:?}");
            }
        }
    }

    #[test]
    fn keep_action_holds_unless_beaten_by_the_margin() {
        let obs = [0.3f32, -0.2, 0.5];
        let mut plain = Dqn::new(DqnConfig::default(), 3, 2, Device::Cpu, 0, 1).unwrap();
        let q = plain.q_values(&obs, 1).unwrap();
        let (best, other) = if q[0] >= q[1] { (0u32, 1u32) } else { (1, 0) };
        assert_eq!(plain.act(&obs, 1, Mode::Greedy).unwrap(), vec![best]);
        let gap = (q[best as usize] - q[other as usize]) as f64;
        let with = |margin: f64| {
            let cfg = DqnConfig {
                keep_action: Some(other),
                action_margin: margin,
                ..DqnConfig::default()
            };
            Dqn::new(cfg, 3, 2, Device::Cpu, 0, 1)
                .unwrap()
                .act(&obs, 1, Mode::Greedy)
                .unwrap()
        };
        assert_eq!(
            with(gap * 2.0),
            vec![other],
            "a gap below the margin keeps the default"
        );
        assert_eq!(
            with(gap * 0.5),
            vec![best],
            "a gap above the margin takes the argmax"
        );
        let bad = DqnConfig {
            keep_action: Some(5),
            ..DqnConfig::default()
        };
        assert!(Dqn::new(bad, 3, 2, Device::Cpu, 0, 1).is_err());
    }

    fn agent(config: DqnConfig) -> Dqn {
        Dqn::new(config, 3, 2, Device::Cpu, 0, 1).unwrap()
    }

    fn batch(n: usize, terminated: f32) -> Batch {
        Batch {
            obs: (0..n * 3).map(|i| (i % 7) as f32 * 0.1).collect(),
            action: (0..n).map(|i| (i % 2) as f32).collect(),
            reward: vec![1.0; n],
            next_obs: (0..n * 3).map(|i| (i % 5) as f32 * 0.1).collect(),
            terminated: vec![terminated; n],
            discount: vec![0.9; n],
            ..Batch::default()
        }
    }

    fn weights(vs: &nn::VarStore) -> Vec<f32> {
        let mut v: Vec<_> = vs.variables().into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.into_iter()
            .flat_map(|(_, t)| Vec::<f32>::try_from(t.flatten(0, -1)).unwrap())
            .collect()
    }

    #[test]
    fn terminated_targets_do_not_bootstrap_truncated_do() {
        let r = Tensor::from_slice(&[1.0f32, 1.0]);
        let d = Tensor::from_slice(&[0.9f32, 0.9]);
        let term = Tensor::from_slice(&[1.0f32, 0.0]); // row 0 terminated, row 1 truncated
        let v = Tensor::from_slice(&[10.0f32, 10.0]);
        let y = Vec::<f32>::try_from(td_target(&r, &d, &term, &v)).unwrap();
        assert_eq!(y, [1.0, 10.0]);
    }

    #[test]
    fn double_dqn_values_the_online_argmax_with_the_target() {
        let target = Tensor::from_slice(&[1.0f32, 5.0, 3.0, 2.0]).reshape([2, 2]);
        let online = Tensor::from_slice(&[9.0f32, 0.0, 0.0, 9.0]).reshape([2, 2]);
        assert_eq!(
            Vec::<f32>::try_from(next_state_value(&target, Some(&online))).unwrap(),
            [1.0, 2.0]
        );
        assert_eq!(
            Vec::<f32>::try_from(next_state_value(&target, None)).unwrap(),
            [5.0, 3.0]
        );
    }

    #[test]
    fn soft_update_averages_by_name() {
        let mut a = agent(DqnConfig::default());
        let before = weights(a.target_vars());
        // Move the online net, then average with tau = 0.25.
        a.update(&batch(16, 0.0)).unwrap();
        let online = weights(a.online_vars());
        soft_update(&a.target_vs, &a.online_vs, 0.25).unwrap();
        let after = weights(a.target_vars());
        for ((t0, o), t1) in before.iter().zip(&online).zip(&after) {
            assert!((t1 - (0.25 * o + 0.75 * t0)).abs() < 1e-6);
        }
    }

    /// `target_update_period` takes effect: the target changes exactly at update 3 (hard).
    #[test]
    fn target_update_period_takes_effect() {
        let mut a = agent(DqnConfig {
            target_update_period: 3,
            lr: 1e-2,
            ..Default::default()
        });
        let t0 = weights(a.target_vars());
        a.update(&batch(16, 0.0)).unwrap();
        a.update(&batch(16, 0.0)).unwrap();
        assert_eq!(weights(a.target_vars()), t0);
        a.update(&batch(16, 0.0)).unwrap();
        assert_eq!(weights(a.target_vars()), weights(a.online_vars()));
        // Polyak: the target moves a fraction tau of the way.
        let mut p = agent(DqnConfig {
            target_update: TargetUpdate::Polyak,
            target_update_period: 1,
            tau: 0.5,
            ..Default::default()
        });
        let t0 = weights(p.target_vars());
        p.update(&batch(16, 0.0)).unwrap();
        let (t1, o1) = (weights(p.target_vars()), weights(p.online_vars()));
        assert!(
            t1.iter()
                .zip(&o1)
                .zip(&t0)
                .all(|((t, o), z)| (t - 0.5 * (o + z)).abs() < 1e-6)
        );
    }

    /// `reward_scale` and `lr` take effect.
    #[test]
    fn reward_scale_and_lr_take_effect() {
        let loss_with = |cfg: DqnConfig| agent(cfg).update(&batch(32, 1.0)).unwrap();
        let base = loss_with(DqnConfig::default());
        let scaled = loss_with(DqnConfig {
            reward_scale: 100.0,
            ..Default::default()
        });
        assert!(scaled.loss > 10.0 * base.loss, "{scaled:?} vs {base:?}");
        let step_size = |cfg: DqnConfig| {
            let mut a = agent(cfg);
            let w0 = weights(a.online_vars());
            a.update(&batch(32, 1.0)).unwrap();
            weights(a.online_vars())
                .iter()
                .zip(&w0)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max)
        };
        let small = step_size(DqnConfig {
            lr: 1e-5,
            ..Default::default()
        });
        let big = step_size(DqnConfig {
            lr: 1e-3,
            ..Default::default()
        });
        assert!(big > 50.0 * small, "lr: {big} vs {small}");
        // At the end of the budget a decaying rate has reached lr_final.
        let decayed = {
            let mut a = agent(DqnConfig {
                lr: 1e-3,
                lr_final: Some(1e-5),
                train: TrainConfig {
                    total_env_steps: 100,
                    ..TrainConfig::dqn_defaults()
                },
                ..Default::default()
            });
            a.env_steps = 100;
            let w0 = weights(a.online_vars());
            a.update(&batch(32, 1.0)).unwrap();
            weights(a.online_vars())
                .iter()
                .zip(&w0)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max)
        };
        assert!((decayed / small - 1.0).abs() < 1e-3, "{decayed} vs {small}");
    }

    /// `max_grad_norm` takes effect (Adam's first step is invariant to a uniform gradient scale,
    /// so the clipped norm is checked directly).
    #[test]
    fn clipping_rescales_to_max_grad_norm() {
        let a = agent(DqnConfig::default());
        let x = Tensor::ones([4, 3], (Kind::Float, Device::Cpu));
        (a.online.forward(&x).sum(Kind::Float) * 1000.0).backward();
        let norm = global_grad_norm(&a.online_vs).unwrap();
        assert!(norm > 1.0);
        clip_grad_norm(&a.online_vs, norm, Some(0.5)).unwrap();
        assert!((global_grad_norm(&a.online_vs).unwrap() - 0.5).abs() < 1e-4);
    }

    #[test]
    fn non_finite_loss_stops_before_the_step() {
        let mut a = agent(DqnConfig::default());
        let w0 = weights(a.online_vars());
        let mut b = batch(8, 0.0);
        b.reward[3] = f32::NAN;
        match a.update(&b) {
            Err(AgentError::Diverged {
                updates: 0, loss, ..
            }) => assert!(loss.is_nan()),
            other => panic!("expected Diverged, got {other:?}"),
        }
        assert_eq!(
            weights(a.online_vars()),
            w0,
            "the optimiser step was skipped"
        );
        assert_eq!(a.updates(), 0);
    }

    #[test]
    fn greedy_is_argmax_and_explore_follows_epsilon() {
        let mut a = agent(DqnConfig {
            eps_start: 1.0,
            eps_end: 0.0,
            eps_decay_steps: 100,
            ..Default::default()
        });
        let obs: Vec<f32> = (0..3 * 500)
            .map(|i| ((i * 13 % 17) as f32 - 8.0) * 0.2)
            .collect();
        let q = a.q_values(&obs, 500).unwrap();
        let greedy = a.act(&obs, 500, Mode::Greedy).unwrap();
        for (row, g) in q.chunks(2).zip(&greedy) {
            assert_eq!(*g, u32::from(row[1] > row[0]));
        }
        a.env_steps = 100; // epsilon 0
        assert_eq!(a.act(&obs, 500, Mode::Explore).unwrap(), greedy);
        a.env_steps = 50; // epsilon 0.5: about a quarter of actions differ from greedy
        let explore = a.act(&obs, 500, Mode::Explore).unwrap();
        let differ = explore.iter().zip(&greedy).filter(|(x, y)| x != y).count();
        assert!((80..170).contains(&differ), "{differ}");
    }

    #[test]
    fn act_chunk_does_not_change_actions() {
        let obs: Vec<f32> = (0..3 * 100).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut a = agent(DqnConfig::default());
        let mut b = agent(DqnConfig {
            train: TrainConfig {
                act_chunk: 7,
                ..TrainConfig::dqn_defaults()
            },
            ..Default::default()
        });
        // Tests run in parallel and libtorch's seed is global: copy the weights explicitly.
        hard_update(&mut b.online_vs, &a.online_vs).unwrap();
        assert_eq!(
            a.act(&obs, 100, Mode::Greedy).unwrap(),
            b.act(&obs, 100, Mode::Greedy).unwrap()
        );
    }

    #[test]
    fn save_load_round_trip_gives_identical_q_values_and_state() {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck");
        let cfg = DqnConfig {
            hidden: vec![16],
            train: TrainConfig {
                normalize_obs: true,
                batch_size: 8,
                ..TrainConfig::dqn_defaults()
            },
            ..Default::default()
        };
        let mut agent = Dqn::new(cfg, 3, 2, Device::Cpu, 5, 6).unwrap();
        let spec = ReplaySpec {
            capacity: 32,
            obs_dim: 3,
            action_dim: 1,
            num_envs: 1,
            n_step: 1,
            gamma: 0.9,
        };
        let mut replay = ReplayBuffer::new(spec, 7);
        for t in 0..20 {
            let o = [t as f32, 1.0, -1.0];
            agent.normalizer.update(&o);
            replay.push(
                &o,
                &[(t % 2) as f32],
                &[1.0],
                &[false],
                &[t % 5 == 4],
                &[t as f32 + 1.0, 1.0, -1.0],
            );
        }
        for _ in 0..3 {
            let b = replay.sample(8);
            agent.update(&b).unwrap();
        }
        agent.env_steps = 20;
        let _ = agent.act(&[0.0; 3], 1, Mode::Explore).unwrap();
        agent.save(&ck, Some(&replay), None).unwrap();

        let mut loaded = load_checkpoint(&ck, Device::Cpu).unwrap();
        let obs: Vec<f32> = (0..30).map(|i| (i as f32 * 0.7).sin() * 5.0).collect();
        assert_eq!(
            loaded.agent.q_values(&obs, 10).unwrap(),
            agent.q_values(&obs, 10).unwrap()
        );
        assert_eq!(loaded.agent.normalizer, agent.normalizer);
        assert_eq!((loaded.agent.env_steps, loaded.agent.updates()), (20, 3));
        assert_eq!(
            loaded.agent.act(&obs, 10, Mode::Explore).unwrap(),
            agent.act(&obs, 10, Mode::Explore).unwrap()
        );
        let mut r2 = loaded.replay.take().unwrap();
        assert_eq!(r2.sample(8), replay.sample(8));
        // Target network too: one more identical update on both gives identical targets.
        let b = replay.sample(8);
        let (s1, s2) = (agent.update(&b).unwrap(), loaded.agent.update(&b).unwrap());
        assert_eq!(s1.loss, s2.loss);
    }
}

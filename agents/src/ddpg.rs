//! Deep deterministic policy gradient over a continuous action box (Lillicrap et al. 2016,
//! "Continuous control with deep reinforcement learning", ICLR), with the three options of TD3
//! (Fujimoto, van Hoof & Meger 2018, "Addressing function approximation error in actor-critic
//! methods", ICML): twin critics, target policy smoothing and delayed actor updates.
//!
//! Networks: an actor `mu(s)`, whose `tanh` output is scaled to the action bounds inside
//! `forward` (`a = bias + scale * tanh(.)`, `scale = (high - low) / 2`, `bias = (high + low) / 2`,
//! as CleanRL's `action_scale`), and one or two critics `Q_i(s, a)` that take the action
//! rescaled to `[-1, 1]`; each has a Polyak-averaged target copy.
//!
//! Per update, on a minibatch `(s, a, R, s', terminated, discount)` from the replay buffer, with
//! `c` the reward scale:
//! - target action `a' = clip(mu_target(s') + scale * clip(sigma_t N(0,1), -c_t, c_t), low, high)`
//!   (`sigma_t = target_noise`, `c_t = target_noise_clip`; no noise when `sigma_t = 0`);
//! - `y = c R + discount (1 - terminated) min_i Q_i,target(s', a')` (one critic: no minimum);
//! - critic loss `sum_i mean (Q_i(s, a) - y)^2`;
//! - every `policy_delay` critic updates: actor loss `-mean Q_1(s, mu(s))`, then every target
//!   network `<- tau * online + (1 - tau) * target`.
//!
//! DDPG is this with one critic, `policy_delay = 1` and `target_noise = 0`. Exploration adds
//! Gaussian or Ornstein-Uhlenbeck noise ([`crate::noise`]) to `mu(s)` and clips to the bounds;
//! the first `random_steps` transitions are uniform over the box.
//!
//! Checkpoints ([`Learner::save`]) hold all four networks, the config, the normaliser,
//! the counters, the noise process and both RNGs at their positions; see
//! [`crate::checkpoint`] for what a resume restores and what it does not.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use clv_envs::ActionSpace;

use crate::checkpoint::{load_networks, loaded, read_checkpoint, write_checkpoint};
use crate::ddpg_config::DdpgConfig;
use crate::error::AgentError;
use crate::learner::{Learner, LearnerStats, LoadedCheckpoint, LoopState};
use crate::mlp::Mlp;
use crate::nets::{
    NORM_EPS, TORCH_INIT, clip_grad_norm, global_grad_norm, hard_update, soft_update, td_target,
};
use crate::noise::{ExplorationNoise, standard_normal};
use crate::normalize::RunningNorm;
use crate::policy::{ContinuousPolicy, EnvActions, EnvActor, Mode};
use crate::replay::{Batch, ReplayBuffer, ReplaySpec};
use crate::seeds::mix64;

/// Mixed into the exploration seed to seed the target-smoothing RNG (a stream of its own).
const SMOOTHING_STREAM: u64 = 0x736d_6f6f_7468_0001; // "smooth"
/// Name of the algorithm in a DDPG checkpoint's JSON (`algorithm`).
pub const DDPG_ALGORITHM: &str = "ddpg";
/// Actor weights in a DDPG checkpoint.
const ACTOR_FILE: &str = "actor.safetensors";
/// Target actor weights.
const ACTOR_TARGET_FILE: &str = "actor_target.safetensors";
/// Critic weights (both critics: `q1.*`, `q2.*`).
const CRITIC_FILE: &str = "critic.safetensors";
/// Target critic weights.
const CRITIC_TARGET_FILE: &str = "critic_target.safetensors";

/// The deterministic actor: an MLP whose `tanh` output is scaled to the action bounds.
#[derive(Debug)]
pub struct ActorNet {
    net: Mlp,
    /// `[action_dim]` half range.
    scale: Tensor,
    /// `[action_dim]` centre.
    bias: Tensor,
}

impl ActorNet {
    /// Layers under `path` (`l0`, `l1`, ...): `obs_dim` inputs, `hidden` widths, one output
    /// per bound.
    pub fn new(
        path: &nn::Path,
        obs_dim: i64,
        hidden: &[i64],
        activation: crate::Activation,
        low: &[f32],
        high: &[f32],
    ) -> Self {
        let (scale, bias) = scale_bias(low, high, path.device());
        Self {
            net: Mlp::new(path, obs_dim, hidden, low.len() as i64, activation),
            scale,
            bias,
        }
    }
}

impl Module for ActorNet {
    /// # Shapes
    /// `xs`: `[batch, obs_dim]` -> `[batch, action_dim]`, each value within its bounds.
    fn forward(&self, xs: &Tensor) -> Tensor {
        self.net.forward(xs).tanh() * &self.scale + &self.bias
    }
}

/// A critic `Q(s, a)`: an MLP on the observation concatenated with the action rescaled to
/// `[-1, 1]`.
#[derive(Debug)]
pub struct CriticNet {
    net: Mlp,
    scale: Tensor,
    bias: Tensor,
}

impl CriticNet {
    /// Layers under `path`: `obs_dim + action_dim` inputs, `hidden` widths, one output.
    pub fn new(
        path: &nn::Path,
        obs_dim: i64,
        hidden: &[i64],
        activation: crate::Activation,
        low: &[f32],
        high: &[f32],
    ) -> Self {
        let (scale, bias) = scale_bias(low, high, path.device());
        Self {
            net: Mlp::new(path, obs_dim + low.len() as i64, hidden, 1, activation),
            scale,
            bias,
        }
    }

    /// # Shapes
    /// `obs`: `[batch, obs_dim]`, `action`: `[batch, action_dim]` (env units) -> `[batch]`.
    pub fn q(&self, obs: &Tensor, action: &Tensor) -> Tensor {
        let a = (action - &self.bias) / &self.scale; // [batch, action_dim] in [-1, 1]
        self.net.forward(&Tensor::cat(&[obs, &a], 1)).squeeze_dim(1)
    }
}

fn scale_bias(low: &[f32], high: &[f32], device: Device) -> (Tensor, Tensor) {
    let scale: Vec<f32> = low.iter().zip(high).map(|(l, h)| (h - l) / 2.0).collect();
    let bias: Vec<f32> = low.iter().zip(high).map(|(l, h)| (h + l) / 2.0).collect();
    (
        Tensor::from_slice(&scale).to_device(device),
        Tensor::from_slice(&bias).to_device(device),
    )
}

/// TD3's target policy smoothing: `clip(next_action + scale * clip(noise, -clip, clip), low,
/// high)`; `noise` is already multiplied by the noise standard deviation.
///
/// # Shapes
/// `next_action`, `noise`: `[batch, action_dim]`; `scale`, `low`, `high`: `[action_dim]`.
pub fn smoothed_target_action(
    next_action: &Tensor,
    noise: &Tensor,
    clip: f64,
    scale: &Tensor,
    low: &Tensor,
    high: &Tensor,
) -> Tensor {
    (next_action + noise.clamp(-clip, clip) * scale)
        .maximum(low)
        .minimum(high)
}

/// The elementwise minimum of the critics' values (TD3's clipped double Q); one critic: its
/// values.
///
/// # Shapes
/// Each `[batch]`; returns `[batch]`.
pub fn twin_min(qs: &[Tensor]) -> Tensor {
    qs[1..]
        .iter()
        .fold(qs[0].shallow_clone(), |m, q| m.minimum(q))
}

/// A DDPG / TD3 agent: actor and critic(s) with Polyak targets, two Adams, the observation
/// normaliser, the exploration noise and the counters.
#[derive(Debug)]
pub struct Ddpg {
    config: DdpgConfig,
    device: Device,
    obs_dim: usize,
    low: Vec<f32>,
    high: Vec<f32>,
    scale_t: Tensor,
    low_t: Tensor,
    high_t: Tensor,
    actor_vs: nn::VarStore,
    actor: ActorNet,
    actor_target_vs: nn::VarStore,
    actor_target: ActorNet,
    critic_vs: nn::VarStore,
    critics: Vec<CriticNet>,
    critic_target_vs: nn::VarStore,
    critic_targets: Vec<CriticNet>,
    actor_opt: nn::Optimizer,
    critic_opt: nn::Optimizer,
    /// Observation normaliser (used only when `config.train.normalize_obs`).
    pub normalizer: RunningNorm,
    noise: ExplorationNoise,
    smooth_rng: ChaCha8Rng,
    /// Environment transitions collected (drives `random_steps`).
    pub env_steps: u64,
    updates: u64,
    actor_updates: u64,
    /// The incumbent's action per row for the next acting call (consumed by it): the guard's
    /// fallback instead of `keep_action`.
    incumbent_rows: Option<Vec<f32>>,
}

/// Builds the critics (one, or two when `twin`) under `q1`, `q2` of `vs`.
fn critics(
    vs: &nn::VarStore,
    cfg: &DdpgConfig,
    obs_dim: usize,
    low: &[f32],
    high: &[f32],
) -> Vec<CriticNet> {
    let n = if cfg.twin_critics { 2 } else { 1 };
    (1..=n)
        .map(|i| {
            CriticNet::new(
                &(vs.root() / format!("q{i}")),
                obs_dim as i64,
                &cfg.critic_hidden,
                cfg.activation,
                low,
                high,
            )
        })
        .collect()
}

/// Checks that `obs_dim` is positive, that `[low, high]` is a finite action box with
/// `low < high`, and that `config.keep_action` (if any) lies in it.
fn check_action_box(
    config: &DdpgConfig,
    obs_dim: usize,
    low: &[f32],
    high: &[f32],
) -> Result<(), AgentError> {
    if obs_dim == 0
        || low.is_empty()
        || low.len() != high.len()
        || low
            .iter()
            .zip(high)
            .any(|(l, h)| !l.is_finite() || !h.is_finite() || l >= h)
    {
        return Err(AgentError::EnvMismatch(format!(
            "DDPG needs obs_dim > 0 and a finite action box with low < high, got obs_dim {obs_dim}, low {low:?}, high {high:?}"
        )));
    }
    if let Some(k) = &config.keep_action
        && (k.len() != low.len()
            || k.iter()
                .zip(low.iter().zip(high))
                .any(|(x, (l, h))| !(l <= x && x <= h)))
    {
        return Err(AgentError::EnvMismatch(format!(
            "ddpg.keep_action {k:?} is not an action of the box [{low:?}, {high:?}]"
        )));
    }
    Ok(())
}

/// The exploration noise of a new agent, with standard deviation `explore_noise` times the
/// half range of each bound of `[low, high]`, seeded with `explore_seed`; and the
/// target-smoothing RNG, seeded from `explore_seed` through a fixed mix.
fn exploration(
    config: &DdpgConfig,
    low: &[f32],
    high: &[f32],
    explore_seed: u64,
) -> (ExplorationNoise, ChaCha8Rng) {
    let sigma = low
        .iter()
        .zip(high)
        .map(|(l, h)| config.explore_noise * f64::from(h - l) / 2.0)
        .collect();
    let noise = ExplorationNoise::new(
        config.exploration,
        sigma,
        config.ou_theta,
        config.ou_dt,
        ChaCha8Rng::seed_from_u64(explore_seed),
    );
    (
        noise,
        ChaCha8Rng::seed_from_u64(mix64(explore_seed ^ SMOOTHING_STREAM)),
    )
}

impl Ddpg {
    /// Validates `config`, sets libtorch's thread count, seeds libtorch with `torch_seed` and
    /// builds the actor and critic(s) (targets = copies) for `obs_dim` inputs and the action
    /// box `[low, high]` on `device`. `explore_seed` seeds the exploration noise (and, through
    /// a fixed mix, the target-smoothing noise).
    pub fn new(
        config: DdpgConfig,
        obs_dim: usize,
        low: &[f32],
        high: &[f32],
        device: Device,
        torch_seed: u64,
        explore_seed: u64,
    ) -> Result<Self, AgentError> {
        config.validate()?;
        check_action_box(&config, obs_dim, low, high)?;
        tch::set_num_threads(config.train.num_threads as i32);
        let init_guard = TORCH_INIT.lock().unwrap_or_else(|e| e.into_inner());
        tch::manual_seed(torch_seed as i64);
        let build_actor = |vs: &nn::VarStore| {
            ActorNet::new(
                &vs.root(),
                obs_dim as i64,
                &config.actor_hidden,
                config.activation,
                low,
                high,
            )
        };
        let actor_vs = nn::VarStore::new(device);
        let actor = build_actor(&actor_vs);
        let critic_vs = nn::VarStore::new(device);
        let critic_nets = critics(&critic_vs, &config, obs_dim, low, high);
        let mut actor_target_vs = nn::VarStore::new(device);
        let actor_target = build_actor(&actor_target_vs);
        let mut critic_target_vs = nn::VarStore::new(device);
        let critic_targets = critics(&critic_target_vs, &config, obs_dim, low, high);
        drop(init_guard);
        actor_target_vs.freeze();
        critic_target_vs.freeze();
        hard_update(&mut actor_target_vs, &actor_vs)?;
        hard_update(&mut critic_target_vs, &critic_vs)?;
        let actor_opt = nn::Adam::default().build(&actor_vs, config.actor_lr)?;
        let critic_opt = nn::Adam::default().build(&critic_vs, config.critic_lr)?;
        let (scale_t, _) = scale_bias(low, high, device);
        let (noise, smooth_rng) = exploration(&config, low, high, explore_seed);
        Ok(Self {
            normalizer: RunningNorm::new(obs_dim, config.train.obs_clip, NORM_EPS),
            noise,
            smooth_rng,
            config,
            device,
            obs_dim,
            low: low.to_vec(),
            high: high.to_vec(),
            scale_t,
            low_t: Tensor::from_slice(low).to_device(device),
            high_t: Tensor::from_slice(high).to_device(device),
            actor_vs,
            actor,
            actor_target_vs,
            actor_target,
            critic_vs,
            critics: critic_nets,
            critic_target_vs,
            critic_targets,
            actor_opt,
            critic_opt,
            env_steps: 0,
            updates: 0,
            actor_updates: 0,
            incumbent_rows: None,
        })
    }

    /// The agent's settings.
    pub fn config(&self) -> &DdpgConfig {
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

    /// Values per observation.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// Lower action bounds, env units.
    pub fn low(&self) -> &[f32] {
        &self.low
    }

    /// Upper action bounds, env units.
    pub fn high(&self) -> &[f32] {
        &self.high
    }

    /// Critic updates done.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Actor (and target) updates done: `updates / policy_delay`.
    pub fn actor_updates(&self) -> u64 {
        self.actor_updates
    }

    /// Number of critics (2 with TD3's twin critics).
    pub fn n_critics(&self) -> usize {
        self.critics.len()
    }

    /// The actor's weights.
    pub fn actor_vars(&self) -> &nn::VarStore {
        &self.actor_vs
    }

    /// The critics' weights (`q1.*`, `q2.*`).
    pub fn critic_vars(&self) -> &nn::VarStore {
        &self.critic_vs
    }

    /// The target actor's weights.
    pub fn actor_target_vars(&self) -> &nn::VarStore {
        &self.actor_target_vs
    }

    /// The target critics' weights.
    pub fn critic_target_vars(&self) -> &nn::VarStore {
        &self.critic_target_vs
    }

    /// The standard deviation of the exploration noise per action dimension, env units.
    pub fn noise_sigma(&self) -> &[f64] {
        &self.noise.sigma
    }

    /// Rows of raw observations as the networks' input: normalised if configured.
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

    /// The actor's actions for `n` raw observations, row-major `[n, action_dim]`, env units.
    /// Evaluated in chunks of `act_chunk`.
    pub fn actions(&self, obs: &[f32], n: usize) -> Result<Vec<f32>, AgentError> {
        let mut out = Vec::with_capacity(n * self.low.len());
        for start in (0..n).step_by(self.config.train.act_chunk) {
            let rows = (n - start).min(self.config.train.act_chunk);
            let x = self.input(
                &obs[start * self.obs_dim..(start + rows) * self.obs_dim],
                rows,
            )?;
            let a = tch::no_grad(|| self.actor.forward(&x)); // [rows, action_dim]
            out.extend(Vec::<f32>::try_from(
                a.f_to_device(Device::Cpu)?.f_flatten(0, -1)?,
            )?);
        }
        Ok(out)
    }

    /// Sets the margin of `keep_action` (scaled-reward units, >= 0), e.g. the one of
    /// `margin_candidates` chosen on validation.
    pub fn set_action_margin(&mut self, margin: f64) -> Result<(), AgentError> {
        let mut cfg = self.config.clone();
        cfg.action_margin = margin;
        cfg.validate()?;
        self.config = cfg;
        Ok(())
    }

    /// The actor's actions with the guard applied: each row where the first critic does not
    /// value the actor's action above the kept action by more than `action_margin` gets the
    /// kept action: the incumbent's row when set (see [`Ddpg::set_incumbent_rows`]; consumed
    /// here), else `keep_action`. Without either, [`Ddpg::actions`].
    pub fn guarded_actions(&mut self, obs: &[f32], n: usize) -> Result<Vec<f32>, AgentError> {
        let d = self.low.len();
        let kept: Vec<f32> = match (self.incumbent_rows.take(), &self.config.keep_action) {
            (Some(rows), _) if rows.len() == n * d => rows,
            (_, Some(keep)) => keep.iter().copied().cycle().take(n * d).collect(),
            _ => return self.actions(obs, n),
        };
        let margin = self.config.action_margin;
        let mut out = Vec::with_capacity(n * d);
        for start in (0..n).step_by(self.config.train.act_chunk) {
            let rows = (n - start).min(self.config.train.act_chunk);
            let x = self.input(
                &obs[start * self.obs_dim..(start + rows) * self.obs_dim],
                rows,
            )?;
            let kept = Tensor::from_slice(&kept[start * d..(start + rows) * d])
                .f_reshape([rows as i64, d as i64])?
                .f_to_device(self.device)?; // [rows, d]
            let a = tch::no_grad(|| {
                let actor = self.actor.forward(&x); // [rows, d]
                let gain = self.critics[0].q(&x, &actor) - self.critics[0].q(&x, &kept); // [rows]
                let use_actor = gain.gt(margin).unsqueeze(1); // [rows, 1]
                actor.where_self(&use_actor, &kept)
            });
            out.extend(Vec::<f32>::try_from(
                a.f_to_device(Device::Cpu)?.f_flatten(0, -1)?,
            )?);
        }
        Ok(out)
    }

    /// The incumbent's action per row for the next acting call (consumed by it): greedy
    /// acting keeps it unless the first critic values the actor's action above it by
    /// `action_margin`.
    pub fn set_incumbent_rows(&mut self, rows: Option<Vec<f32>>) {
        self.incumbent_rows = rows;
    }

    /// The critics' values `Q_i(s, a)` of `n` raw observations and actions (env units),
    /// `[n_critics][n]`, scaled-reward units.
    pub fn q_values(
        &self,
        obs: &[f32],
        actions: &[f32],
        n: usize,
    ) -> Result<Vec<Vec<f32>>, AgentError> {
        let x = self.input(obs, n)?;
        let a = Tensor::from_slice(actions)
            .f_reshape([n as i64, self.low.len() as i64])?
            .f_to_device(self.device)?;
        tch::no_grad(|| {
            self.critics
                .iter()
                .map(|c| Ok(Vec::<f32>::try_from(c.q(&x, &a).f_to_device(Device::Cpu)?)?))
                .collect()
        })
    }

    /// The smoothing noise of one batch, `target_noise * N(0, 1)`, `[n, action_dim]`.
    fn smoothing_noise(&mut self, n: usize) -> Tensor {
        let d = self.low.len();
        let sigma = self.config.target_noise;
        let v: Vec<f32> = (0..n * d)
            .map(|_| (sigma * standard_normal(&mut self.smooth_rng)) as f32)
            .collect();
        Tensor::from_slice(&v)
            .reshape([n as i64, d as i64])
            .to_device(self.device)
    }

    fn diverged(&self, loss: f64, grad_norm: f64) -> AgentError {
        AgentError::Diverged {
            env_steps: self.env_steps,
            updates: self.updates,
            loss,
            grad_norm,
            last_good: None,
        }
    }

    /// One critic update on `batch` and, every `policy_delay` critic updates, one actor update
    /// followed by the Polyak update of every target network. Losses and gradient norms are
    /// checked BEFORE each optimiser step: a non-finite value returns
    /// [`AgentError::Diverged`] (with `last_good: None`; the training loop fills it).
    pub fn update(&mut self, batch: &Batch) -> Result<LearnerStats, AgentError> {
        let n = batch.len();
        let d = self.low.len() as i64;
        let obs = self.input(&batch.obs, n)?; // [n, obs_dim]
        let next_obs = self.input(&batch.next_obs, n)?; // [n, obs_dim]
        let col = |v: &[f32]| Tensor::from_slice(v).to_device(self.device); // [n]
        let actions = col(&batch.action).reshape([n as i64, d]); // [n, action_dim]
        let reward = col(&batch.reward) * self.config.reward_scale; // [n]
        let (discount, terminated) = (col(&batch.discount), col(&batch.terminated));
        let noise = (self.config.target_noise > 0.0).then(|| self.smoothing_noise(n));
        let target = tch::no_grad(|| {
            let mut next_a = self.actor_target.forward(&next_obs); // [n, action_dim]
            if let Some(eps) = &noise {
                next_a = smoothed_target_action(
                    &next_a,
                    eps,
                    self.config.target_noise_clip,
                    &self.scale_t,
                    &self.low_t,
                    &self.high_t,
                );
            }
            let next_q: Vec<Tensor> = self
                .critic_targets
                .iter()
                .map(|c| c.q(&next_obs, &next_a))
                .collect(); // each [n]
            td_target(&reward, &discount, &terminated, &twin_min(&next_q))
        });
        let qs: Vec<Tensor> = self.critics.iter().map(|c| c.q(&obs, &actions)).collect();
        let critic_loss = qs
            .iter()
            .map(|q| q.mse_loss(&target, tch::Reduction::Mean))
            .reduce(|a, b| a + b)
            .expect("at least one critic");
        self.critic_opt.zero_grad();
        critic_loss.backward();
        let loss = f64::try_from(&critic_loss)?;
        let grad_norm = global_grad_norm(&self.critic_vs)?;
        if !loss.is_finite() || !grad_norm.is_finite() {
            self.critic_opt.zero_grad();
            return Err(self.diverged(loss, grad_norm));
        }
        clip_grad_norm(&self.critic_vs, grad_norm, self.config.max_grad_norm)?;
        self.critic_opt.step();
        self.updates += 1;
        let q_mean = f64::try_from(qs[0].detach().mean(Kind::Float))?;
        let mut actor_loss = None;
        if self.updates.is_multiple_of(self.config.policy_delay) {
            let a = self.actor.forward(&obs); // [n, action_dim]
            let loss_t = -self.critics[0].q(&obs, &a).mean(Kind::Float);
            self.actor_opt.zero_grad();
            loss_t.backward();
            let l = f64::try_from(&loss_t)?;
            let g = global_grad_norm(&self.actor_vs)?;
            if !l.is_finite() || !g.is_finite() {
                self.actor_opt.zero_grad();
                return Err(self.diverged(l, g));
            }
            clip_grad_norm(&self.actor_vs, g, self.config.max_grad_norm)?;
            self.actor_opt.step();
            self.actor_updates += 1;
            self.update_targets()?;
            actor_loss = Some(l);
        }
        Ok(LearnerStats {
            loss,
            grad_norm,
            q_mean,
            actor_loss,
        })
    }

    /// Polyak update of the target actor and critics with `tau`.
    pub fn update_targets(&mut self) -> Result<(), AgentError> {
        soft_update(&self.actor_target_vs, &self.actor_vs, self.config.tau)?;
        soft_update(&self.critic_target_vs, &self.critic_vs, self.config.tau)
    }

    /// Clips `a` (row-major `[n, action_dim]`) to the action box.
    fn clip_to_box(&self, a: &mut [f32]) {
        let d = self.low.len();
        for (k, x) in a.iter_mut().enumerate() {
            *x = x.clamp(self.low[k % d], self.high[k % d]);
        }
    }
}

impl ContinuousPolicy for Ddpg {
    fn set_incumbent_rows(&mut self, rows: Option<Vec<f32>>) {
        Ddpg::set_incumbent_rows(self, rows)
    }

    /// min_i Q_i(s, a) - min_i Q_i(s, reference) over the critics (the value TD3's target
    /// uses), scaled-reward units.
    fn advantages_continuous(
        &mut self,
        obs: &[f32],
        n: usize,
        actions: &[f32],
        reference: &[f32],
    ) -> Result<Option<Vec<f32>>, AgentError> {
        let low = |q: Vec<Vec<f32>>| -> Vec<f32> {
            (0..n)
                .map(|i| q.iter().map(|c| c[i]).fold(f32::INFINITY, f32::min))
                .collect()
        };
        let a = low(self.q_values(obs, actions, n)?);
        let r = low(self.q_values(obs, reference, n)?);
        Ok(Some(a.iter().zip(&r).map(|(x, y)| x - y).collect()))
    }

    fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    fn action_low(&self) -> &[f32] {
        &self.low
    }

    fn action_high(&self) -> &[f32] {
        &self.high
    }

    /// Greedy: the actor's action (guarded by `keep_action`, see [`Ddpg::guarded_actions`]).
    /// Explore: uniform over the box for the first `random_steps` transitions, then the
    /// guarded action plus exploration noise, clipped to the box.
    fn act_continuous(
        &mut self,
        obs: &[f32],
        n: usize,
        mode: Mode,
    ) -> Result<Vec<f32>, AgentError> {
        match mode {
            Mode::Greedy => self.guarded_actions(obs, n),
            Mode::Explore if self.env_steps < self.config.random_steps => {
                if obs.len() != n * self.obs_dim {
                    return Err(AgentError::EnvMismatch(format!(
                        "{} observation values for {n} rows of {}",
                        obs.len(),
                        self.obs_dim
                    )));
                }
                let d = self.low.len();
                let rng = &mut self.noise.rng;
                Ok((0..n * d)
                    .map(|k| {
                        let (l, h) = (self.low[k % d], self.high[k % d]);
                        l + (h - l) * rng.random::<f32>()
                    })
                    .collect())
            }
            Mode::Explore => {
                let mut a = self.guarded_actions(obs, n)?;
                for (x, e) in a.iter_mut().zip(self.noise.sample(n)) {
                    *x += e as f32;
                }
                self.clip_to_box(&mut a);
                Ok(a)
            }
        }
    }
}

impl EnvActor for Ddpg {
    fn check_env(&self, obs_dim: usize, space: &ActionSpace) -> Result<(), AgentError> {
        match space {
            ActionSpace::Box { low, high }
                if obs_dim == self.obs_dim && *low == self.low && *high == self.high =>
            {
                Ok(())
            }
            other => Err(AgentError::EnvMismatch(format!(
                "agent expects obs_dim {} and the action box [{:?}, {:?}]; env has obs_dim {obs_dim} and {other:?}",
                self.obs_dim, self.low, self.high
            ))),
        }
    }

    fn act_env(&mut self, obs: &[f32], n: usize, mode: Mode) -> Result<EnvActions, AgentError> {
        Ok(EnvActions::Continuous(self.act_continuous(obs, n, mode)?))
    }
}

/// A DDPG / TD3 checkpoint's own state (the `agent` of its [`crate::CheckpointMeta`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DdpgPayload {
    /// The agent's resolved config (TD3: its options on).
    pub config: DdpgConfig,
    /// Values per observation.
    pub obs_dim: usize,
    /// Lower action bounds, env units.
    pub low: Vec<f32>,
    /// Upper action bounds, env units.
    pub high: Vec<f32>,
    /// Observation normaliser.
    pub normalizer: RunningNorm,
    /// Environment transitions collected.
    pub env_steps: u64,
    /// Critic updates done.
    pub updates: u64,
    /// Actor updates done.
    pub actor_updates: u64,
    /// Exploration noise process (state and RNG position).
    pub noise: ExplorationNoise,
    /// Target-smoothing RNG at its position.
    pub smooth_rng: ChaCha8Rng,
}

impl Learner for Ddpg {
    type Config = DdpgConfig;

    /// `space` must be a box: its bounds are the actor's output range.
    fn build(
        config: DdpgConfig,
        obs_dim: usize,
        space: &ActionSpace,
        device: Device,
        torch_seed: u64,
        explore_seed: u64,
    ) -> Result<Self, AgentError> {
        match space {
            ActionSpace::Box { low, high } => {
                Ddpg::new(config, obs_dim, low, high, device, torch_seed, explore_seed)
            }
            other => Err(AgentError::EnvMismatch(format!(
                "DDPG / TD3 needs a continuous action box, the env has {other:?}"
            ))),
        }
    }

    /// Builds the networks from the saved config, then fills them (see [`crate::checkpoint`]
    /// for what is and is not restored).
    fn load(dir: &Path, device: Device) -> Result<LoadedCheckpoint<Self>, AgentError> {
        let meta = read_checkpoint::<DdpgPayload>(dir, DDPG_ALGORITHM)?;
        let p = meta.agent.clone();
        let mut agent = Ddpg::new(p.config, p.obs_dim, &p.low, &p.high, device, 0, 0)?;
        load_networks(
            dir,
            &mut [
                (ACTOR_FILE, &mut agent.actor_vs),
                (ACTOR_TARGET_FILE, &mut agent.actor_target_vs),
                (CRITIC_FILE, &mut agent.critic_vs),
                (CRITIC_TARGET_FILE, &mut agent.critic_target_vs),
            ],
        )?;
        agent.normalizer = p.normalizer;
        agent.env_steps = p.env_steps;
        agent.updates = p.updates;
        agent.actor_updates = p.actor_updates;
        agent.noise = p.noise;
        agent.smooth_rng = p.smooth_rng;
        loaded(dir, agent, meta)
    }

    fn save(
        &self,
        dir: &Path,
        replay: Option<&ReplayBuffer>,
        state: Option<&LoopState>,
    ) -> Result<(), AgentError> {
        let payload = DdpgPayload {
            config: self.config.clone(),
            obs_dim: self.obs_dim,
            low: self.low.clone(),
            high: self.high.clone(),
            normalizer: self.normalizer.clone(),
            env_steps: self.env_steps,
            updates: self.updates,
            actor_updates: self.actor_updates,
            noise: self.noise.clone(),
            smooth_rng: self.smooth_rng.clone(),
        };
        let networks = [
            (ACTOR_FILE, &self.actor_vs),
            (ACTOR_TARGET_FILE, &self.actor_target_vs),
            (CRITIC_FILE, &self.critic_vs),
            (CRITIC_TARGET_FILE, &self.critic_target_vs),
        ];
        write_checkpoint(dir, DDPG_ALGORITHM, &payload, &networks, replay, state)
    }

    fn config(&self) -> &DdpgConfig {
        &self.config
    }
    fn replay_spec(&self) -> ReplaySpec {
        let c = &self.config;
        ReplaySpec {
            capacity: c.train.buffer_size,
            obs_dim: self.obs_dim,
            action_dim: self.low.len(),
            num_envs: c.train.num_envs,
            n_step: c.n_step,
            gamma: c.gamma,
        }
    }
    fn set_total_env_steps(&mut self, total: u64) -> Result<(), AgentError> {
        Ddpg::set_total_env_steps(self, total)
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
    /// 1 (uniform actions) during the random phase, then the exploration noise.
    fn exploration(&self) -> f64 {
        if self.env_steps < self.config.random_steps {
            1.0
        } else {
            self.config.explore_noise
        }
    }
    fn learn(&mut self, batch: &Batch) -> Result<LearnerStats, AgentError> {
        self.update(batch)
    }
}

/// Loads a DDPG / TD3 checkpoint folder onto `device` ([`Learner::load`] for [`Ddpg`]).
pub fn load_ddpg_checkpoint(
    dir: &Path,
    device: Device,
) -> Result<LoadedCheckpoint<Ddpg>, AgentError> {
    Ddpg::load(dir, device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learner::TrainConfig;
    use crate::noise::NoiseKind;
    use crate::policy::ContinuousPolicy;

    const LOW: [f32; 2] = [0.0, 0.0];
    const HIGH: [f32; 2] = [0.3, 1.0];

    fn small(cfg: DdpgConfig) -> DdpgConfig {
        DdpgConfig {
            actor_hidden: vec![16],
            critic_hidden: vec![16],
            random_steps: 0,
            train: TrainConfig {
                batch_size: 16,
                ..cfg.train.clone()
            },
            ..cfg
        }
    }

    fn agent(cfg: DdpgConfig) -> Ddpg {
        Ddpg::new(small(cfg), 3, &LOW, &HIGH, Device::Cpu, 0, 1).unwrap()
    }

    fn obs(n: usize) -> Vec<f32> {
        (0..n * 3)
            .map(|i| ((i as f32) * 0.37).sin() * 2.0)
            .collect()
    }

    fn batch(n: usize) -> Batch {
        Batch {
            obs: obs(n),
            action: (0..n * 2)
                .map(|i| {
                    if i % 2 == 0 {
                        0.03 * (i % 10) as f32
                    } else {
                        0.5
                    }
                })
                .collect(),
            reward: (0..n).map(|i| (i % 3) as f32).collect(),
            next_obs: (0..n * 3).map(|i| ((i as f32) * 0.11).cos()).collect(),
            terminated: vec![0.0; n],
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

    fn max_change(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn shapes_bounds_and_twin_critics() {
        let a = agent(DdpgConfig::default());
        let acts = a.actions(&obs(50), 50).unwrap();
        assert_eq!(acts.len(), 100);
        for row in acts.chunks(2) {
            assert!((0.0..=0.3).contains(&row[0]) && (0.0..=1.0).contains(&row[1]));
        }
        let q = a.q_values(&obs(50), &acts, 50).unwrap();
        assert_eq!((q.len(), q[0].len()), (2, 50));
        assert_eq!(a.n_critics(), 2);
        let mut names: Vec<_> = a.critic_vars().variables().into_keys().collect();
        names.sort();
        assert_eq!(names[0], "q1.l0.bias");
        assert!(names.iter().any(|n| n.starts_with("q2.")));
        let one = agent(DdpgConfig::default().with_td3(false));
        assert_eq!(one.n_critics(), 1, "twin_critics off: one critic");
        // The actor's saturated output reaches exactly the bounds.
        let big = vec![1e4f32; 3];
        let x = Tensor::from_slice(&big).reshape([1, 3]);
        let y = Vec::<f32>::try_from(one.actor.forward(&x).flatten(0, -1)).unwrap();
        assert!(
            y.iter()
                .zip(LOW.iter().zip(&HIGH))
                .all(|(v, (l, h))| v >= l && v <= h)
        );
        assert!(Ddpg::new(DdpgConfig::default(), 3, &[1.0], &[0.0], Device::Cpu, 0, 1).is_err());
    }

    #[test]
    fn target_smoothing_is_clipped_then_kept_in_the_box() {
        let next = Tensor::from_slice(&[0.15f32, 0.5, 0.15, 0.5, 0.0, 0.0]).reshape([3, 2]);
        let noise = Tensor::from_slice(&[10.0f32, -10.0, 0.01, 0.02, -10.0, 10.0]).reshape([3, 2]);
        let scale = Tensor::from_slice(&[0.15f32, 0.5]);
        let (low, high) = (Tensor::from_slice(&LOW), Tensor::from_slice(&HIGH));
        let y = Vec::<f32>::try_from(
            smoothed_target_action(&next, &noise, 0.5, &scale, &low, &high).flatten(0, -1),
        )
        .unwrap();
        let want = [
            0.15 + 0.5 * 0.15, // clipped to +0.5 half ranges
            0.5 - 0.5 * 0.5,   // clipped to -0.5 half ranges
            0.15 + 0.01 * 0.15,
            0.5 + 0.02 * 0.5,
            0.0,  // below the box: clipped to low
            0.25, // +0.5 half ranges of [0, 1] from 0
        ];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{y:?}");
        }
    }

    #[test]
    fn twin_min_is_elementwise() {
        let a = Tensor::from_slice(&[1.0f32, 5.0, -2.0]);
        let b = Tensor::from_slice(&[3.0f32, 4.0, -1.0]);
        assert_eq!(
            Vec::<f32>::try_from(twin_min(&[a.shallow_clone(), b])).unwrap(),
            [1.0, 4.0, -2.0]
        );
        assert_eq!(
            Vec::<f32>::try_from(twin_min(&[a])).unwrap(),
            [1.0, 5.0, -2.0]
        );
    }

    /// The TD target uses the smaller target critic: with terminated = 0, discount 1 and
    /// reward 0, the critics regress on min_i Q_i,target, which we check on the loss.
    #[test]
    fn twin_target_is_the_minimum_of_the_target_critics() {
        let mut a = agent(DdpgConfig {
            target_noise: 0.0,
            ..Default::default()
        });
        let mut b = batch(16);
        b.reward = vec![0.0; 16];
        b.discount = vec![1.0; 16];
        let x = a.input(&b.obs, 16).unwrap();
        let nx = a.input(&b.next_obs, 16).unwrap();
        let act = Tensor::from_slice(&b.action).reshape([16, 2]);
        let (want, q1, q2) = tch::no_grad(|| {
            let na = a.actor_target.forward(&nx);
            let t1 = a.critic_targets[0].q(&nx, &na);
            let t2 = a.critic_targets[1].q(&nx, &na);
            let y = t1.minimum(&t2);
            (y, a.critics[0].q(&x, &act), a.critics[1].q(&x, &act))
        });
        let expected = f64::try_from(
            (q1 - &want).square().mean(Kind::Float) + (q2 - &want).square().mean(Kind::Float),
        )
        .unwrap();
        let s = a.update(&b).unwrap();
        assert!((s.loss - expected).abs() < 1e-5, "{} vs {expected}", s.loss);
    }

    #[test]
    fn delayed_actor_updates_are_counted_and_targets_follow_them() {
        let mut a = agent(DdpgConfig {
            policy_delay: 3,
            tau: 0.5,
            ..Default::default()
        });
        let (actor0, target0) = (weights(a.actor_vars()), weights(a.critic_target_vars()));
        for _ in 0..2 {
            assert_eq!(a.update(&batch(16)).unwrap().actor_loss, None);
        }
        assert_eq!(
            weights(a.actor_vars()),
            actor0,
            "no actor step before the delay"
        );
        assert_eq!(
            weights(a.critic_target_vars()),
            target0,
            "nor a target update"
        );
        let s = a.update(&batch(16)).unwrap();
        assert!(s.actor_loss.is_some());
        assert_ne!(weights(a.actor_vars()), actor0);
        // Polyak with tau 0.5 at the actor update.
        let (t1, online) = (weights(a.critic_target_vars()), weights(a.critic_vars()));
        for ((t, o), z) in t1.iter().zip(&online).zip(&target0) {
            assert!((t - 0.5 * (o + z)).abs() < 1e-6);
        }
        for _ in 0..4 {
            a.update(&batch(16)).unwrap();
        }
        assert_eq!((a.updates(), a.actor_updates()), (7, 2));
    }

    #[test]
    fn learning_rates_reward_scale_and_smoothing_take_effect() {
        let change = |cfg: DdpgConfig, actor: bool| {
            let mut a = agent(DdpgConfig {
                policy_delay: 1,
                ..cfg
            });
            let w0 = weights(if actor {
                a.actor_vars()
            } else {
                a.critic_vars()
            });
            a.update(&batch(16)).unwrap();
            max_change(
                &weights(if actor {
                    a.actor_vars()
                } else {
                    a.critic_vars()
                }),
                &w0,
            )
        };
        let d = DdpgConfig::default;
        let (lo, hi) = (
            change(
                DdpgConfig {
                    actor_lr: 1e-6,
                    ..d()
                },
                true,
            ),
            change(
                DdpgConfig {
                    actor_lr: 1e-3,
                    ..d()
                },
                true,
            ),
        );
        assert!(hi > 50.0 * lo, "actor_lr: {hi} vs {lo}");
        let (lo, hi) = (
            change(
                DdpgConfig {
                    critic_lr: 1e-6,
                    ..d()
                },
                false,
            ),
            change(
                DdpgConfig {
                    critic_lr: 1e-3,
                    ..d()
                },
                false,
            ),
        );
        assert!(hi > 50.0 * lo, "critic_lr: {hi} vs {lo}");
        let loss = |cfg: DdpgConfig| agent(cfg).update(&batch(16)).unwrap().loss;
        assert!(
            loss(DdpgConfig {
                reward_scale: 100.0,
                ..d()
            }) > 100.0 * loss(d())
        );
        assert_ne!(
            loss(DdpgConfig {
                target_noise: 0.0,
                ..d()
            }),
            loss(DdpgConfig {
                target_noise: 0.5,
                ..d()
            }),
            "target_noise changes the target"
        );
        assert_ne!(
            loss(DdpgConfig {
                target_noise: 5.0,
                target_noise_clip: 0.1,
                ..d()
            }),
            loss(DdpgConfig {
                target_noise: 5.0,
                target_noise_clip: 1.0,
                ..d()
            }),
            "target_noise_clip bounds the smoothing"
        );
        // max_grad_norm: a tiny bound makes a tiny first critic step... Adam normalises the
        // step, so check the gradient norm is measured before clipping instead.
        let s = agent(DdpgConfig {
            max_grad_norm: Some(1e-6),
            ..d()
        })
        .update(&batch(16))
        .unwrap();
        assert!(s.grad_norm > 1e-6);
    }

    /// The keep-action guard: an unreachable margin always keeps the default action, margin 0
    /// keeps it exactly where the first critic values it at least as high as the actor's.
    #[test]
    fn keep_action_holds_unless_the_critic_prefers_the_actor_by_the_margin() {
        let n = 500;
        let o = obs(n);
        // Mid-box, so that the untrained critic prefers it on some rows and not on others.
        let keep = vec![0.15f32, 0.5];
        let mut a = agent(DdpgConfig {
            keep_action: Some(keep.clone()),
            action_margin: 1e9,
            ..DdpgConfig::default()
        });
        let held = a.act_continuous(&o, n, Mode::Greedy).unwrap();
        assert!(held.chunks(2).all(|r| r == keep.as_slice()));
        a.set_action_margin(0.0).unwrap();
        let guarded = a.act_continuous(&o, n, Mode::Greedy).unwrap();
        let actor = a.actions(&o, n).unwrap();
        let kept: Vec<f32> = keep.iter().copied().cycle().take(n * 2).collect();
        let q_actor = a.q_values(&o, &actor, n).unwrap();
        let q_keep = a.q_values(&o, &kept, n).unwrap();
        let mut switched = 0;
        for i in 0..n {
            let row = &guarded[2 * i..2 * i + 2];
            if q_actor[0][i] > q_keep[0][i] {
                assert_eq!(row, &actor[2 * i..2 * i + 2]);
                switched += 1;
            } else {
                assert_eq!(row, keep.as_slice());
            }
        }
        assert!(
            0 < switched && switched < n,
            "{switched} of {n}: both branches tested"
        );
        assert!(a.set_action_margin(-1.0).is_err());
        let bad = Ddpg::new(
            small(DdpgConfig {
                keep_action: Some(vec![0.0]),
                ..DdpgConfig::default()
            }),
            3,
            &LOW,
            &HIGH,
            Device::Cpu,
            0,
            1,
        );
        assert!(bad.unwrap_err().to_string().contains("keep_action"));
    }

    #[test]
    fn exploration_settings_take_effect() {
        let o = obs(4000);
        let spread = |cfg: DdpgConfig| {
            let mut a = agent(cfg);
            let g = a.act_continuous(&o, 4000, Mode::Greedy).unwrap();
            let e = a.act_continuous(&o, 4000, Mode::Explore).unwrap();
            // Dimension 1 (range [0, 1], half range 0.5), away from the bounds.
            let d: Vec<f64> = g
                .chunks(2)
                .zip(e.chunks(2))
                .filter(|(g, _)| g[1] > 0.3 && g[1] < 0.7)
                .map(|(g, e)| f64::from(e[1] - g[1]))
                .collect();
            (d.iter().map(|x| x * x).sum::<f64>() / d.len() as f64).sqrt()
        };
        let s = spread(DdpgConfig {
            explore_noise: 0.1,
            ..Default::default()
        });
        assert!((s - 0.05).abs() < 0.01, "sigma 0.1 half ranges = 0.05: {s}");
        let s = spread(DdpgConfig {
            explore_noise: 0.0,
            ..Default::default()
        });
        assert_eq!(s, 0.0);
        // random_steps: uniform over the box regardless of the actor.
        let mut a = agent(DdpgConfig {
            random_steps: 10,
            ..Default::default()
        });
        let e = a.act_continuous(&o, 4000, Mode::Explore).unwrap();
        let mean1 = e
            .iter()
            .skip(1)
            .step_by(2)
            .map(|&x| f64::from(x))
            .sum::<f64>()
            / 4000.0;
        assert!((mean1 - 0.5).abs() < 0.03, "uniform on [0, 1]: {mean1}");
        // OU noise is carried from one step to the next.
        let mut ou = agent(DdpgConfig {
            exploration: NoiseKind::OrnsteinUhlenbeck,
            ..Default::default()
        });
        ou.act_continuous(&o[..3], 1, Mode::Explore).unwrap();
        assert_eq!(ou.noise.state.len(), 2);
        assert_eq!(ou.noise.kind, NoiseKind::OrnsteinUhlenbeck);
    }

    #[test]
    fn non_finite_loss_stops_before_the_step() {
        let mut a = agent(DdpgConfig::default());
        let w0 = weights(a.critic_vars());
        let mut b = batch(16);
        b.reward[3] = f32::NAN;
        assert!(matches!(
            a.update(&b),
            Err(AgentError::Diverged { updates: 0, .. })
        ));
        assert_eq!(weights(a.critic_vars()), w0);
    }

    #[test]
    fn checkpoint_round_trip_gives_identical_actions_and_updates() {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck");
        let mut a = agent(DdpgConfig {
            exploration: NoiseKind::OrnsteinUhlenbeck,
            train: TrainConfig {
                normalize_obs: true,
                ..TrainConfig::ddpg_defaults()
            },
            ..Default::default()
        });
        a.normalizer.update(&obs(40));
        for _ in 0..3 {
            a.update(&batch(16)).unwrap();
        }
        a.env_steps = 30;
        a.act_continuous(&obs(5), 5, Mode::Explore).unwrap();
        a.save(&ck, None, None).unwrap();
        let mut b = load_ddpg_checkpoint(&ck, Device::Cpu).unwrap().agent;
        let o = obs(20);
        assert_eq!(b.actions(&o, 20).unwrap(), a.actions(&o, 20).unwrap());
        assert_eq!(
            b.act_continuous(&o[..15], 5, Mode::Explore).unwrap(),
            a.act_continuous(&o[..15], 5, Mode::Explore).unwrap(),
            "noise state and RNG restored"
        );
        assert_eq!((b.env_steps, b.updates(), b.actor_updates()), (30, 3, 1));
        assert_eq!(b.normalizer, a.normalizer);
        // Targets and the smoothing RNG too: one more identical update gives the same loss.
        assert_eq!(
            a.update(&batch(16)).unwrap().loss,
            b.update(&batch(16)).unwrap().loss
        );
        let err = crate::load_checkpoint(&ck, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds a ddpg checkpoint"), "{err}");
    }
}

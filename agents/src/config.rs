//! `DqnConfig`: every hyperparameter of DQN and of its training loop, with documented
//! defaults, loadable from RON (partial files fill in defaults; unknown fields are errors) and
//! validated once at load with messages that name the field.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::AgentError;
use crate::mlp::Activation;
use crate::schedule::LinearSchedule;

/// How the target network follows the online network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetUpdate {
    /// Copy the online weights every `target_update_period` updates (Mnih et al. 2015).
    #[default]
    Hard,
    /// Polyak averaging with rate `tau` every `target_update_period` updates.
    Polyak,
}

/// DQN and its training loop. Defaults are CleanRL's `dqn.py` CartPole settings; the tuned
/// CartPole file is `agents/configs/cartpole-dqn.ron`. "Steps" are environment transitions
/// (one per sub-environment per vector step); "updates" are gradient steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DqnConfig {
    /// Hidden layer widths of the Q network, units. Default `[120, 84]`.
    pub hidden: Vec<i64>,
    /// Hidden-layer activation (`relu` or `tanh`). Default `relu`.
    pub activation: Activation,
    /// Adam learning rate, per update. Default `2.5e-4`.
    pub lr: f64,
    /// Learning rate reached at `total_env_steps`, decayed linearly from `lr` by environment
    /// steps (annealing quiets the weight noise that flips greedy choices between offers of
    /// nearly equal value). `None` keeps `lr` constant. Default `None`.
    pub lr_final: Option<f64>,
    /// Discount per environment step, in `[0, 1)`. Default `0.99`.
    pub gamma: f64,
    /// Steps summed into one return (1 = one-step TD), at least 1. Default `1`.
    pub n_step: usize,
    /// Transitions per gradient update. Default `128`.
    pub batch_size: usize,
    /// Replay capacity, transitions. Default `10000`.
    pub buffer_size: usize,
    /// Transitions collected (with epsilon-greedy acting) before the first update. Default `10000`.
    pub learning_starts: u64,
    /// Transitions collected between training phases. Default `10`.
    pub train_every: u64,
    /// Transitions sampled per transition collected (so updates per phase =
    /// `replay_ratio * collected / batch_size`, fractions carried over). Default `12.8`
    /// (one update of 128 every 10 steps).
    pub replay_ratio: f64,
    /// Use the online network to choose the next action and the target network to value it
    /// (double DQN, van Hasselt et al. 2016). Default `true`.
    pub double_dqn: bool,
    /// Dueling Q network (Wang et al. 2016): Q = V + A - mean(A). Default `false`.
    pub dueling: bool,
    /// A default action (e.g. "no offer") that greedy acting keeps unless another action's Q
    /// value exceeds it by more than `action_margin`: a guard against acting on noise in Q
    /// differences. `None` = plain argmax. Default `None`.
    pub keep_action: Option<u32>,
    /// Margin of `keep_action`, in scaled-reward units (>= 0). Default `0.0`.
    pub action_margin: f64,
    /// Margins (scaled-reward units, each >= 0) tried at every validation: the greedy policy
    /// is scored with each and `action_margin` becomes the best one, so checkpoints carry the
    /// margin chosen on validation seeds. Empty = `action_margin` only. Default empty.
    pub margin_candidates: Vec<f64>,
    /// Hard copy or Polyak averaging of the target network. Default `hard`.
    pub target_update: TargetUpdate,
    /// Updates between target-network updates. Default `50` (500 steps at `train_every` 10).
    pub target_update_period: u64,
    /// Polyak rate in `(0, 1]` (`target_update: polyak` only), per target update. Default `0.005`.
    pub tau: f64,
    /// Huber loss threshold, in scaled-reward units (> 0). Default `1.0`.
    pub huber_delta: f64,
    /// Largest global gradient L2 norm; larger gradients are rescaled (> 0). Default `10.0`.
    pub max_grad_norm: f64,
    /// Rewards are multiplied by this before learning (Q values are in scaled units). Default `1.0`.
    pub reward_scale: f64,
    /// Normalise observations with running mean / variance (frozen during evaluation). Default `false`.
    pub normalize_obs: bool,
    /// Normalised observations are clipped to `+-obs_clip` standard deviations (> 0). Default `10.0`.
    pub obs_clip: f64,
    /// Exploration epsilon at step 0, in `[0, 1]`. Default `1.0`.
    pub eps_start: f64,
    /// Exploration epsilon after `eps_decay_steps`, in `[0, 1]`. Default `0.05`.
    pub eps_end: f64,
    /// Steps over which epsilon falls linearly. Default `25000`.
    pub eps_decay_steps: u64,
    /// Training sub-environments stepped together (at least 1). Default `1`.
    pub num_envs: usize,
    /// Budget: environment transitions to collect. Default `50000`.
    pub total_env_steps: u64,
    /// Budget: stop after this many updates, if set (`Some(n)` in RON). Default `None`.
    pub max_updates: Option<u64>,
    /// Steps between validation evaluations (and checkpoint writes); 0 disables. Default `2500`.
    pub eval_every: u64,
    /// Greedy validation episodes per evaluation (seeds from the validation domain). Default `20`.
    pub eval_episodes: usize,
    /// Greedy test episodes for the final report (seeds from the test domain). Default `100`.
    pub test_episodes: usize,
    /// Guard: vector-env steps one evaluation round may take before it gives up. Default `100000`.
    pub eval_max_steps: u64,
    /// Steps between metrics rows. Default `1000`.
    pub log_every: u64,
    /// Training episodes averaged into a metrics row's `train_return_mean`. Default `20`.
    pub return_window: usize,
    /// libtorch intra-op threads (`tch::set_num_threads`), at least 1. Default `1`.
    pub num_threads: usize,
    /// Observations per forward pass when acting on a large batch (bounds memory). Default `4096`.
    pub act_chunk: usize,
    /// Save the replay buffer's rows in checkpoints (exact resume; large for big buffers).
    /// Default `true`.
    pub checkpoint_replay: bool,
}

impl Default for DqnConfig {
    fn default() -> Self {
        Self {
            hidden: vec![120, 84],
            activation: Activation::Relu,
            lr: 2.5e-4,
            lr_final: None,
            gamma: 0.99,
            n_step: 1,
            batch_size: 128,
            buffer_size: 10_000,
            learning_starts: 10_000,
            train_every: 10,
            replay_ratio: 12.8,
            double_dqn: true,
            dueling: false,
            keep_action: None,
            action_margin: 0.0,
            margin_candidates: Vec::new(),
            target_update: TargetUpdate::Hard,
            target_update_period: 50,
            tau: 0.005,
            huber_delta: 1.0,
            max_grad_norm: 10.0,
            reward_scale: 1.0,
            normalize_obs: false,
            obs_clip: 10.0,
            eps_start: 1.0,
            eps_end: 0.05,
            eps_decay_steps: 25_000,
            num_envs: 1,
            total_env_steps: 50_000,
            max_updates: None,
            eval_every: 2_500,
            eval_episodes: 20,
            test_episodes: 100,
            eval_max_steps: 100_000,
            log_every: 1_000,
            return_window: 20,
            num_threads: 1,
            act_chunk: 4096,
            checkpoint_replay: true,
        }
    }
}

pub(crate) fn check(
    ok: bool,
    field: &'static str,
    reason: impl FnOnce() -> String,
) -> Result<(), AgentError> {
    if ok {
        Ok(())
    } else {
        Err(AgentError::InvalidConfig {
            field,
            reason: reason(),
        })
    }
}

pub(crate) fn positive(x: f64, field: &'static str) -> Result<(), AgentError> {
    check(x.is_finite() && x > 0.0, field, || {
        format!("must be finite and > 0, got {x}")
    })
}

/// A finite value >= 0 (e.g. an acting margin), or an error naming `field`.
pub(crate) fn non_negative(x: f64, field: &'static str) -> Result<(), AgentError> {
    check(x.is_finite() && x >= 0.0, field, || {
        format!("must be finite and >= 0, got {x}")
    })
}

/// Every value finite and >= 0 (e.g. margin candidates), or an error naming `field`.
pub(crate) fn all_non_negative(xs: &[f64], field: &'static str) -> Result<(), AgentError> {
    check(xs.iter().all(|x| x.is_finite() && *x >= 0.0), field, || {
        format!("every value must be finite and >= 0, got {xs:?}")
    })
}

pub(crate) fn at_least_one<T: Into<u64> + Copy + std::fmt::Display>(
    x: T,
    field: &'static str,
) -> Result<(), AgentError> {
    check(x.into() >= 1, field, || {
        format!("must be at least 1, got {x}")
    })
}

pub(crate) fn unit(x: f64, field: &'static str) -> Result<(), AgentError> {
    check((0.0..=1.0).contains(&x), field, || {
        format!("must be in [0,1], got {x}")
    })
}

impl DqnConfig {
    /// Checks every field's range; the error names the first bad field (`dqn.gamma must be
    /// in [0,1), got 1.2`).
    pub fn validate(&self) -> Result<(), AgentError> {
        check(
            !self.hidden.is_empty() && self.hidden.iter().all(|&h| h > 0),
            "dqn.hidden",
            || {
                format!(
                    "must list at least one positive width, got {:?}",
                    self.hidden
                )
            },
        )?;
        positive(self.lr, "dqn.lr")?;
        if let Some(lr) = self.lr_final {
            positive(lr, "dqn.lr_final")?;
        }
        check((0.0..1.0).contains(&self.gamma), "dqn.gamma", || {
            format!("must be in [0,1), got {}", self.gamma)
        })?;
        at_least_one(self.n_step as u64, "dqn.n_step")?;
        at_least_one(self.batch_size as u64, "dqn.batch_size")?;
        at_least_one(self.buffer_size as u64, "dqn.buffer_size")?;
        check(
            self.buffer_size >= self.batch_size,
            "dqn.buffer_size",
            || {
                format!(
                    "must be at least dqn.batch_size ({}), got {}",
                    self.batch_size, self.buffer_size
                )
            },
        )?;
        at_least_one(self.train_every, "dqn.train_every")?;
        positive(self.replay_ratio, "dqn.replay_ratio")?;
        at_least_one(self.target_update_period, "dqn.target_update_period")?;
        check(self.tau > 0.0 && self.tau <= 1.0, "dqn.tau", || {
            format!("must be in (0,1], got {}", self.tau)
        })?;
        positive(self.huber_delta, "dqn.huber_delta")?;
        positive(self.max_grad_norm, "dqn.max_grad_norm")?;
        positive(self.reward_scale, "dqn.reward_scale")?;
        non_negative(self.action_margin, "dqn.action_margin")?;
        all_non_negative(&self.margin_candidates, "dqn.margin_candidates")?;
        positive(self.obs_clip, "dqn.obs_clip")?;
        unit(self.eps_start, "dqn.eps_start")?;
        unit(self.eps_end, "dqn.eps_end")?;
        at_least_one(self.num_envs as u64, "dqn.num_envs")?;
        at_least_one(self.total_env_steps, "dqn.total_env_steps")?;
        if let Some(m) = self.max_updates {
            at_least_one(m, "dqn.max_updates")?;
        }
        at_least_one(self.eval_episodes as u64, "dqn.eval_episodes")?;
        at_least_one(self.test_episodes as u64, "dqn.test_episodes")?;
        at_least_one(self.eval_max_steps, "dqn.eval_max_steps")?;
        at_least_one(self.log_every, "dqn.log_every")?;
        at_least_one(self.return_window as u64, "dqn.return_window")?;
        at_least_one(self.num_threads as u64, "dqn.num_threads")?;
        at_least_one(self.act_chunk as u64, "dqn.act_chunk")?;
        Ok(())
    }

    /// The exploration schedule these settings describe.
    pub fn epsilon_schedule(&self) -> LinearSchedule {
        LinearSchedule {
            start: self.eps_start,
            end: self.eps_end,
            duration: self.eps_decay_steps,
        }
    }

    /// Adam's learning rate after `env_steps` transitions: `lr`, or linear from `lr` to
    /// `lr_final` over `total_env_steps` (then held).
    pub fn lr_at(&self, env_steps: u64) -> f64 {
        match self.lr_final {
            None => self.lr,
            Some(end) => LinearSchedule {
                start: self.lr,
                end,
                duration: self.total_env_steps,
            }
            .value_at(env_steps),
        }
    }

    /// Parses a RON config (missing fields take their defaults) and validates it. `origin`
    /// names the source in errors.
    pub fn from_ron_str(text: &str, origin: &str) -> Result<Self, AgentError> {
        let cfg: Self = crate::config::parse_ron(text, origin)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads, parses and validates a RON config file.
    pub fn from_ron_file(path: &Path) -> Result<Self, AgentError> {
        let text = crate::config::read_text(path)?;
        Self::from_ron_str(&text, &path.display().to_string())
    }

    /// The config as pretty RON (every field, resolved).
    pub fn to_ron(&self) -> String {
        crate::config::pretty_ron(self)
    }
}

/// Parses RON text into a config type (missing fields take their serde defaults); `origin`
/// names the source in errors. Shared by every agent config.
pub(crate) fn parse_ron<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &str,
) -> Result<T, AgentError> {
    ron::from_str(text).map_err(|e| AgentError::ConfigParse {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// Reads a config file's text.
pub(crate) fn read_text(path: &Path) -> Result<String, AgentError> {
    std::fs::read_to_string(path).map_err(|e| AgentError::io("reading", path, e))
}

/// A config as pretty RON (every field, resolved).
pub(crate) fn pretty_ron<T: Serialize>(config: &T) -> String {
    ron::ser::to_string_pretty(config, ron::ser::PrettyConfig::default())
        .expect("agent configs hold only RON-representable values")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_round_trip() {
        let cfg = DqnConfig::default();
        cfg.validate().unwrap();
        assert_eq!(DqnConfig::from_ron_str(&cfg.to_ron(), "test").unwrap(), cfg);
    }

    #[test]
    fn partial_ron_fills_defaults() {
        let cfg =
            DqnConfig::from_ron_str("(lr: 1e-3, hidden: [64, 64], max_updates: Some(7))", "t")
                .unwrap();
        assert_eq!(cfg.lr, 1e-3);
        assert_eq!(cfg.hidden, [64, 64]);
        assert_eq!(cfg.max_updates, Some(7));
        assert_eq!(cfg.gamma, DqnConfig::default().gamma);
    }

    #[test]
    fn lr_decays_linearly_to_lr_final_then_holds() {
        let constant = DqnConfig {
            lr: 1e-3,
            total_env_steps: 1000,
            ..Default::default()
        };
        assert_eq!(constant.lr_at(0), 1e-3);
        assert_eq!(constant.lr_at(5000), 1e-3);
        let decayed = DqnConfig {
            lr_final: Some(1e-4),
            ..constant
        };
        assert_eq!(decayed.lr_at(0), 1e-3);
        assert!((decayed.lr_at(500) - 5.5e-4).abs() < 1e-12);
        assert_eq!(decayed.lr_at(1000), 1e-4);
        assert_eq!(decayed.lr_at(3000), 1e-4);
    }

    #[test]
    fn unknown_field_is_named() {
        let err = DqnConfig::from_ron_str("(gama: 0.9)", "x.ron")
            .unwrap_err()
            .to_string();
        assert!(err.contains("gama") && err.contains("x.ron"), "{err}");
    }

    #[test]
    fn validate_names_the_field() {
        let cases: Vec<(DqnConfig, &str)> = vec![
            (
                DqnConfig {
                    gamma: 1.2,
                    ..Default::default()
                },
                "dqn.gamma must be in [0,1), got 1.2",
            ),
            (
                DqnConfig {
                    lr: 0.0,
                    ..Default::default()
                },
                "dqn.lr",
            ),
            (
                DqnConfig {
                    lr: f64::NAN,
                    ..Default::default()
                },
                "dqn.lr",
            ),
            (
                DqnConfig {
                    lr_final: Some(-1e-4),
                    ..Default::default()
                },
                "dqn.lr_final",
            ),
            (
                DqnConfig {
                    margin_candidates: vec![0.0, -0.1],
                    ..Default::default()
                },
                "dqn.margin_candidates",
            ),
            (
                DqnConfig {
                    n_step: 0,
                    ..Default::default()
                },
                "dqn.n_step",
            ),
            (
                DqnConfig {
                    batch_size: 20_000,
                    ..Default::default()
                },
                "dqn.buffer_size",
            ),
            (
                DqnConfig {
                    tau: 1.5,
                    ..Default::default()
                },
                "dqn.tau",
            ),
            (
                DqnConfig {
                    eps_end: -0.1,
                    ..Default::default()
                },
                "dqn.eps_end",
            ),
            (
                DqnConfig {
                    hidden: vec![],
                    ..Default::default()
                },
                "dqn.hidden",
            ),
            (
                DqnConfig {
                    num_threads: 0,
                    ..Default::default()
                },
                "dqn.num_threads",
            ),
            (
                DqnConfig {
                    replay_ratio: -1.0,
                    ..Default::default()
                },
                "dqn.replay_ratio",
            ),
        ];
        for (cfg, want) in cases {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
        let err = DqnConfig::from_ron_str("(gamma: 1.2)", "t")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "dqn.gamma must be in [0,1), got 1.2");
    }
}

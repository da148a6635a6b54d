//! `DdpgConfig`: every hyperparameter of DDPG (with TD3's options) and of its training loop,
//! with documented defaults, loadable from RON (partial files fill in defaults; unknown fields
//! are errors) and validated once at load with messages that name the field.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::AgentError;
use crate::fields::{all_non_negative, at_least_one, check, hidden_widths, non_negative, positive};
use crate::learner::{TrainConfig, impl_agent_config};
use crate::mlp::Activation;
use crate::noise::NoiseKind;

/// TD3's actor delay when `--agent td3` turns the options on over a config that has none
/// (Fujimoto et al. 2018, section 5.2: `d = 2`).
pub const TD3_POLICY_DELAY: u64 = 2;
/// TD3's target smoothing noise in that case, in units of half the action range (paper: 0.2).
pub const TD3_TARGET_NOISE: f64 = 0.2;
/// TD3's smoothing noise clip in that case, in units of half the action range (paper: 0.5).
pub const TD3_TARGET_NOISE_CLIP: f64 = 0.5;

/// DDPG / TD3 and its training loop. Defaults are CleanRL's `td3_continuous_action.py`
/// settings (TD3 on); the tuned Pendulum files are `agents/configs/pendulum-{td3,ddpg}.ron`.
/// "Steps" are environment transitions (one per sub-environment per vector step); "updates"
/// are critic gradient steps. Noise scales are in units of half the action range
/// (`(high - low) / 2` per dimension), as CleanRL's `action_scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DdpgConfig {
    /// Hidden layer widths of the actor, units. Default `[256, 256]`.
    pub actor_hidden: Vec<i64>,
    /// Hidden layer widths of each critic, units. Default `[256, 256]`.
    pub critic_hidden: Vec<i64>,
    /// Hidden-layer activation of both (`relu` or `tanh`). Default `relu`.
    pub activation: Activation,
    /// Adam learning rate of the actor, per update. Default `3e-4`.
    pub actor_lr: f64,
    /// Adam learning rate of the critic(s), per update. Default `3e-4`.
    pub critic_lr: f64,
    /// Discount per environment step, in `[0, 1)`. Default `0.99`.
    pub gamma: f64,
    /// Steps summed into one return (1 = one-step TD), at least 1. Default `1`.
    pub n_step: usize,
    /// Transitions during which exploring actions are uniform over the action box instead of
    /// the actor's (CleanRL uses `learning_starts`). Default `25000`.
    pub random_steps: u64,
    /// Polyak rate of the target networks in `(0, 1]`, per target update. Default `0.005`.
    pub tau: f64,
    /// TD3: two critics, the target is the smaller of their target values. Default `true`.
    pub twin_critics: bool,
    /// TD3: critic updates per actor (and target) update, at least 1 (1 = DDPG). Default `2`.
    pub policy_delay: u64,
    /// TD3: standard deviation of the target policy smoothing noise (0 = off, DDPG), half
    /// action ranges. Default `0.2`.
    pub target_noise: f64,
    /// TD3: the smoothing noise is clipped to `+-target_noise_clip`, half action ranges
    /// (> 0). Default `0.5`.
    pub target_noise_clip: f64,
    /// Exploration noise process (`gaussian` or `ornstein_uhlenbeck`). Default `gaussian`.
    pub exploration: NoiseKind,
    /// Standard deviation of the exploration noise (OU: its `sigma`), half action ranges
    /// (>= 0). Default `0.1`.
    pub explore_noise: f64,
    /// OU mean-reversion rate, per unit time (> 0). Default `0.15`.
    pub ou_theta: f64,
    /// OU time step (> 0). Default `0.01`.
    pub ou_dt: f64,
    /// Largest global gradient L2 norm of each network, if set (`Some(x)` in RON); larger
    /// gradients are rescaled. Default `None` (no clipping, as CleanRL).
    pub max_grad_norm: Option<f64>,
    /// Rewards are multiplied by this before learning (Q values are in scaled units). Default `1.0`.
    pub reward_scale: f64,
    /// A default action (env units, one value per action dimension; on a scenario the "no
    /// offer" corner) that acting keeps unless the first critic values the actor's action
    /// above it by more than `action_margin`: a guard against acting on critic noise.
    /// `None` = the actor's action as it is. Default `None`.
    pub keep_action: Option<Vec<f32>>,
    /// Margin of `keep_action`, in scaled-reward units (>= 0). Default `0.0`.
    pub action_margin: f64,
    /// Margins (scaled-reward units, each >= 0) tried at every validation; `action_margin`
    /// becomes the best, so checkpoints carry the margin chosen on validation seeds. Empty =
    /// `action_margin` only. Default empty.
    pub margin_candidates: Vec<f64>,
    /// The training loop's settings (budgets, replay, evaluation, logging): the `train: (...)`
    /// section; fields left out take DDPG's defaults ([`TrainConfig::ddpg_defaults`]).
    #[serde(deserialize_with = "ddpg_train")]
    pub train: TrainConfig,
    /// The offer-policy recipe (observation, training signal, incumbent, selection; no
    /// counterfactual targets over a continuous action): the `recipe: (...)` section.
    /// Default: every lever off.
    pub recipe: crate::recipe::Recipe,
}

impl Default for DdpgConfig {
    fn default() -> Self {
        Self {
            actor_hidden: vec![256, 256],
            critic_hidden: vec![256, 256],
            activation: Activation::Relu,
            actor_lr: 3e-4,
            critic_lr: 3e-4,
            gamma: 0.99,
            n_step: 1,
            random_steps: 25_000,
            tau: 0.005,
            twin_critics: true,
            policy_delay: TD3_POLICY_DELAY,
            target_noise: TD3_TARGET_NOISE,
            target_noise_clip: TD3_TARGET_NOISE_CLIP,
            exploration: NoiseKind::Gaussian,
            explore_noise: 0.1,
            ou_theta: 0.15,
            ou_dt: 0.01,
            max_grad_norm: None,
            reward_scale: 1.0,
            keep_action: None,
            action_margin: 0.0,
            margin_candidates: Vec::new(),
            train: TrainConfig::ddpg_defaults(),
            recipe: crate::recipe::Recipe::default(),
        }
    }
}

impl DdpgConfig {
    /// Checks every field's range; the error names the first bad field
    /// (`ddpg.gamma must be in [0,1), got 1.2`).
    pub fn validate(&self) -> Result<(), AgentError> {
        hidden_widths(&self.actor_hidden, "ddpg.actor_hidden")?;
        hidden_widths(&self.critic_hidden, "ddpg.critic_hidden")?;
        positive(self.actor_lr, "ddpg.actor_lr")?;
        positive(self.critic_lr, "ddpg.critic_lr")?;
        check((0.0..1.0).contains(&self.gamma), "ddpg.gamma", || {
            format!("must be in [0,1), got {}", self.gamma)
        })?;
        at_least_one(self.n_step as u64, "ddpg.n_step")?;
        check(self.tau > 0.0 && self.tau <= 1.0, "ddpg.tau", || {
            format!("must be in (0,1], got {}", self.tau)
        })?;
        at_least_one(self.policy_delay, "ddpg.policy_delay")?;
        non_negative(self.target_noise, "ddpg.target_noise")?;
        positive(self.target_noise_clip, "ddpg.target_noise_clip")?;
        non_negative(self.explore_noise, "ddpg.explore_noise")?;
        positive(self.ou_theta, "ddpg.ou_theta")?;
        positive(self.ou_dt, "ddpg.ou_dt")?;
        if let Some(m) = self.max_grad_norm {
            positive(m, "ddpg.max_grad_norm")?;
        }
        positive(self.reward_scale, "ddpg.reward_scale")?;
        non_negative(self.action_margin, "ddpg.action_margin")?;
        all_non_negative(&self.margin_candidates, "ddpg.margin_candidates")?;
        self.train.validate()?;
        self.recipe.validate(None)?;
        Ok(())
    }

    /// Whether any TD3 option is on.
    pub fn is_td3(&self) -> bool {
        self.twin_critics || self.policy_delay > 1 || self.target_noise > 0.0
    }

    /// The config with TD3's three options on (`--agent td3`: twin critics; the configured
    /// delay and smoothing noise, or TD3's defaults where the config has them off) or off
    /// (`--agent ddpg`: one critic, delay 1, no smoothing noise).
    pub fn with_td3(mut self, on: bool) -> Self {
        self.twin_critics = on;
        if on {
            if self.policy_delay <= 1 {
                self.policy_delay = TD3_POLICY_DELAY;
            }
            if self.target_noise == 0.0 {
                self.target_noise = TD3_TARGET_NOISE;
            }
        } else {
            self.policy_delay = 1;
            self.target_noise = 0.0;
        }
        self
    }

    /// Parses a RON config (missing fields take their defaults) and validates it. `origin`
    /// names the source in errors.
    pub fn from_ron_str(text: &str, origin: &str) -> Result<Self, AgentError> {
        let cfg: Self = crate::fields::parse_ron(text, origin)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads, parses and validates a RON config file.
    pub fn from_ron_file(path: &Path) -> Result<Self, AgentError> {
        let text = crate::fields::read_text(path)?;
        Self::from_ron_str(&text, &path.display().to_string())
    }

    /// The config as pretty RON (every field, resolved).
    pub fn to_ron(&self) -> String {
        crate::fields::pretty_ron(self)
    }
}

impl_agent_config!(DdpgConfig);

/// Reads a (partial) `train: (...)` section over DDPG's loop defaults.
fn ddpg_train<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TrainConfig, D::Error> {
    TrainConfig::deserialize_over(d, TrainConfig::ddpg_defaults())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_round_trip() {
        let cfg = DdpgConfig::default();
        cfg.validate().unwrap();
        assert_eq!(DdpgConfig::from_ron_str(&cfg.to_ron(), "t").unwrap(), cfg);
        let p = DdpgConfig::from_ron_str(
            "(actor_lr: 1e-3, exploration: ornstein_uhlenbeck, max_grad_norm: Some(5.0))",
            "t",
        )
        .unwrap();
        assert_eq!(p.exploration, NoiseKind::OrnsteinUhlenbeck);
        assert_eq!(p.critic_lr, DdpgConfig::default().critic_lr);
        // A partial `train` section keeps DDPG's loop defaults for the fields it leaves out.
        let p = DdpgConfig::from_ron_str("(train: (eval_every: 7))", "t").unwrap();
        assert_eq!(
            p.train,
            TrainConfig {
                eval_every: 7,
                ..TrainConfig::ddpg_defaults()
            }
        );
    }

    #[test]
    fn td3_switch() {
        let ddpg = DdpgConfig::default().with_td3(false);
        assert!(!ddpg.twin_critics && ddpg.policy_delay == 1 && ddpg.target_noise == 0.0);
        assert!(!ddpg.is_td3());
        let td3 = ddpg.with_td3(true);
        assert!(td3.twin_critics && td3.policy_delay == 2 && td3.target_noise == 0.2);
        let custom = DdpgConfig {
            policy_delay: 3,
            ..Default::default()
        }
        .with_td3(true);
        assert_eq!(custom.policy_delay, 3, "a configured delay is kept");
    }

    #[test]
    fn validate_names_the_field() {
        let cases: Vec<(DdpgConfig, &str)> = vec![
            (
                DdpgConfig {
                    gamma: 1.2,
                    ..Default::default()
                },
                "ddpg.gamma must be in [0,1), got 1.2",
            ),
            (
                DdpgConfig {
                    actor_lr: 0.0,
                    ..Default::default()
                },
                "ddpg.actor_lr",
            ),
            (
                DdpgConfig {
                    critic_hidden: vec![],
                    ..Default::default()
                },
                "ddpg.critic_hidden",
            ),
            (
                DdpgConfig {
                    policy_delay: 0,
                    ..Default::default()
                },
                "ddpg.policy_delay",
            ),
            (
                DdpgConfig {
                    target_noise_clip: 0.0,
                    ..Default::default()
                },
                "ddpg.target_noise_clip",
            ),
            (
                DdpgConfig {
                    tau: 0.0,
                    ..Default::default()
                },
                "ddpg.tau",
            ),
            (
                DdpgConfig {
                    explore_noise: -0.1,
                    ..Default::default()
                },
                "ddpg.explore_noise",
            ),
            (
                DdpgConfig {
                    max_grad_norm: Some(-1.0),
                    ..Default::default()
                },
                "ddpg.max_grad_norm",
            ),
            (
                DdpgConfig {
                    train: TrainConfig {
                        batch_size: 2_000_000,
                        ..TrainConfig::ddpg_defaults()
                    },
                    ..Default::default()
                },
                "train.buffer_size",
            ),
        ];
        for (cfg, want) in cases {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
        let err = DdpgConfig::from_ron_str("(gama: 0.9)", "x.ron")
            .unwrap_err()
            .to_string();
        assert!(err.contains("gama") && err.contains("x.ron"), "{err}");
    }
}

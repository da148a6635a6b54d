//! `DqnConfig`: every hyperparameter of DQN and of its training loop, with documented
//! defaults, loadable from RON (partial files fill in defaults; unknown fields are errors) and
//! validated once at load with messages that name the field.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::AgentError;
use crate::fields::{
    all_non_negative, at_least_one, check, hidden_widths, non_negative, positive, unit,
};
use crate::learner::{TrainConfig, impl_agent_config};
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
    /// Exploration epsilon at step 0, in `[0, 1]`. Default `1.0`.
    pub eps_start: f64,
    /// Exploration epsilon after `eps_decay_steps`, in `[0, 1]`. Default `0.05`.
    pub eps_end: f64,
    /// Steps over which epsilon falls linearly. Default `25000`.
    pub eps_decay_steps: u64,
    /// The training loop's settings (budgets, replay, evaluation, logging): the `train: (...)`
    /// section; fields left out take DQN's defaults ([`TrainConfig::dqn_defaults`]).
    #[serde(deserialize_with = "dqn_train")]
    pub train: TrainConfig,
    /// The offer-policy recipe (observation, training signal, counterfactual targets,
    /// incumbent, selection): the `recipe: (...)` section. Default: every lever off.
    pub recipe: crate::recipe::Recipe,
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
            eps_start: 1.0,
            eps_end: 0.05,
            eps_decay_steps: 25_000,
            train: TrainConfig::dqn_defaults(),
            recipe: crate::recipe::Recipe::default(),
        }
    }
}

impl DqnConfig {
    /// Checks every field's range; the error names the first bad field (`dqn.gamma must be
    /// in [0,1), got 1.2`).
    pub fn validate(&self) -> Result<(), AgentError> {
        hidden_widths(&self.hidden, "dqn.hidden")?;
        positive(self.lr, "dqn.lr")?;
        if let Some(lr) = self.lr_final {
            positive(lr, "dqn.lr_final")?;
        }
        check((0.0..1.0).contains(&self.gamma), "dqn.gamma", || {
            format!("must be in [0,1), got {}", self.gamma)
        })?;
        at_least_one(self.n_step as u64, "dqn.n_step")?;
        at_least_one(self.target_update_period, "dqn.target_update_period")?;
        check(self.tau > 0.0 && self.tau <= 1.0, "dqn.tau", || {
            format!("must be in (0,1], got {}", self.tau)
        })?;
        positive(self.huber_delta, "dqn.huber_delta")?;
        positive(self.max_grad_norm, "dqn.max_grad_norm")?;
        positive(self.reward_scale, "dqn.reward_scale")?;
        non_negative(self.action_margin, "dqn.action_margin")?;
        all_non_negative(&self.margin_candidates, "dqn.margin_candidates")?;
        unit(self.eps_start, "dqn.eps_start")?;
        unit(self.eps_end, "dqn.eps_end")?;
        self.train.validate()?;
        self.recipe.validate(Some(self.n_step))?;
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
                duration: self.train.total_env_steps,
            }
            .value_at(env_steps),
        }
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

impl_agent_config!(DqnConfig);

/// Reads a (partial) `train: (...)` section over DQN's loop defaults.
fn dqn_train<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TrainConfig, D::Error> {
    TrainConfig::deserialize_over(d, TrainConfig::dqn_defaults())
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
        let cfg = DqnConfig::from_ron_str(
            "(lr: 1e-3, hidden: [64, 64], train: (max_updates: Some(7)))",
            "t",
        )
        .unwrap();
        assert_eq!(cfg.lr, 1e-3);
        assert_eq!(cfg.hidden, [64, 64]);
        assert_eq!(cfg.train.max_updates, Some(7));
        assert_eq!(cfg.gamma, DqnConfig::default().gamma);
        // A partial `train` section keeps DQN's loop defaults for the fields it leaves out.
        assert_eq!(
            cfg.train,
            TrainConfig {
                max_updates: Some(7),
                ..TrainConfig::dqn_defaults()
            }
        );
        let err = DqnConfig::from_ron_str("(train: (batchsize: 3))", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("batchsize"), "{err}");
    }

    #[test]
    fn lr_decays_linearly_to_lr_final_then_holds() {
        let constant = DqnConfig {
            lr: 1e-3,
            train: TrainConfig {
                total_env_steps: 1000,
                ..TrainConfig::dqn_defaults()
            },
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
                    train: TrainConfig {
                        batch_size: 20_000,
                        ..TrainConfig::dqn_defaults()
                    },
                    ..Default::default()
                },
                "train.buffer_size",
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
                    train: TrainConfig {
                        num_threads: 0,
                        ..TrainConfig::dqn_defaults()
                    },
                    ..Default::default()
                },
                "train.num_threads",
            ),
            (
                DqnConfig {
                    train: TrainConfig {
                        replay_ratio: -1.0,
                        ..TrainConfig::dqn_defaults()
                    },
                    ..Default::default()
                },
                "train.replay_ratio",
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

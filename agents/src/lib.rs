//! `clv-agents`: learning agents on libtorch for `clv-envs`.
//!
//! DQN ([`Dqn`], double DQN with a target network) and DDPG with TD3's options ([`Ddpg`])
//! train through one loop, [`Trainer`] ([`DqnTrainer`], [`DdpgTrainer`]), generic over the
//! [`Learner`] and over any [`clv_envs::VecEnv`]: CartPole and Pendulum for validation, the
//! customer population for the real task. The loop's settings are one [`TrainConfig`], the
//! `train: (...)` section of every algorithm's config. A trained agent acts through the
//! [`Policy`] (discrete) or [`ContinuousPolicy`] trait on whole batches, and on a scenario's
//! customers as a simulator policy ([`CatalogueAgent`], [`ContinuousAgent`],
//! [`load_agent_policy`]); [`PopulationValidator`] scores it by realised CLV.
//!
//! Modules, each importing only those before it: `error`, `fields` (config checks), `policy`,
//! `replay`, `learner` (the learner / loop boundary), `nets` (update pieces), `checkpoint`
//! (shared checkpoint I/O), one file per algorithm (`dqn` + `config`, `ddpg` +
//! `ddpg_config`), `scenario_policy`, `validate`, `train` (the loop).
#![warn(missing_docs)]

mod checkpoint;
mod config;
mod ddpg;
mod ddpg_config;
mod device;
mod dqn;
mod error;
mod fields;
mod learner;
mod mlp;
mod nets;
mod noise;
mod normalize;
mod policy;
mod recipe;
mod replay;
mod scenario_policy;
mod schedule;
mod seeds;
mod smoke;
mod train;
mod validate;
mod ziln;

pub use checkpoint::{
    BEST_CHECKPOINT, CHECKPOINT_FORMAT, CheckpointMeta, LAST_CHECKPOINT, checkpoint_algorithm,
    load_networks, load_replay, read_checkpoint, write_checkpoint,
};
pub use config::{DqnConfig, TargetUpdate};
pub use ddpg::{
    ActorNet, CriticNet, DDPG_ALGORITHM, Ddpg, DdpgPayload, load_ddpg_checkpoint,
    smoothed_target_action, twin_min,
};
pub use ddpg_config::{DdpgConfig, TD3_POLICY_DELAY, TD3_TARGET_NOISE, TD3_TARGET_NOISE_CLIP};
pub use device::DeviceChoice;
pub use dqn::{DQN_ALGORITHM, Dqn, DqnPayload, UpdateStats, load_checkpoint, next_state_value};
pub use error::AgentError;
pub use fields::{MAX_HIDDEN_WEIGHTS, MAX_LAYER_WIDTH};
pub use learner::{
    AgentConfig, Learner, LearnerStats, LoadedCheckpoint, LoopState, MetricsRow, TrainConfig,
};
pub use mlp::{Activation, Mlp};
pub use nets::{
    CLIP_EPS, NORM_EPS, clip_grad_norm, global_grad_norm, hard_update, soft_update, td_target,
};
pub use noise::{ExplorationNoise, NoiseKind, standard_normal};
pub use normalize::RunningNorm;
pub use policy::{ContinuousPolicy, EnvActions, EnvActor, Mode, Policy};
pub use recipe::{Bootstrap, Recipe, Z95};
pub use replay::{Batch, ReplayBuffer, ReplaySpec, ReplayState};
pub use scenario_policy::{
    CONTACT_COIN_INDEX, CatalogueAgent, ContinuousAgent, ScenarioAgent, continuous_bounds,
    load_agent_policy,
};
pub use schedule::LinearSchedule;
pub use seeds::{SeedDomain, derive_seed, mix64, stream};
pub use smoke::{SmokeReport, smoke_regression};
pub use train::{
    DdpgTrainer, DqnTrainer, Progress, StopReason, TrainEvent, TrainOptions, TrainReport, Trainer,
};
pub use validate::{
    EpisodeValidator, EvalStats, INCUMBENT_ONLY_MARGIN, PairedLift, PopulationValidator, Validator,
    evaluate,
};
pub use ziln::{
    ZILN_MAX_LOG_MEAN, ZILN_MIN_SIGMA, ZilnConfig, ZilnData, ZilnFitLog, ZilnModel, ziln_loss,
};

//! `clv-agents`: learning agents on libtorch for `clv-envs`.
//!
//! DQN ([`Dqn`], double DQN with a target network) and DDPG with TD3's options ([`Ddpg`])
//! train through one loop, [`Trainer`] ([`DqnTrainer`], [`DdpgTrainer`]), generic over the
//! [`Learner`] and over any [`clv_envs::VecEnv`]: CartPole and Pendulum for validation, the
//! customer population for the real task. A trained agent acts through the [`Policy`]
//! (discrete) or [`ContinuousPolicy`] trait on whole batches.
#![warn(missing_docs)]

mod checkpoint;
mod config;
mod ddpg;
mod ddpg_config;
mod device;
mod dqn;
mod error;
mod mlp;
mod noise;
mod normalize;
mod policy;
mod replay;
mod schedule;
mod seeds;
mod smoke;
mod train;

pub use checkpoint::{
    CHECKPOINT_FORMAT, CheckpointMeta, LoadedCheckpoint, load_checkpoint, read_checkpoint_meta,
    save_checkpoint,
};
pub use config::{DqnConfig, TargetUpdate};
pub use ddpg::{
    ActorNet, CriticNet, DDPG_ALGORITHM, Ddpg, DdpgCheckpointMeta, LoadedDdpgCheckpoint,
    load_ddpg_checkpoint, read_ddpg_checkpoint_meta, save_ddpg_checkpoint, smoothed_target_action,
    twin_min,
};
pub use ddpg_config::{DdpgConfig, TD3_POLICY_DELAY, TD3_TARGET_NOISE, TD3_TARGET_NOISE_CLIP};
pub use device::DeviceChoice;
pub use dqn::{
    CLIP_EPS, Dqn, NORM_EPS, UpdateStats, global_grad_norm, hard_update, next_state_value,
    soft_update, td_target,
};
pub use error::AgentError;
pub use mlp::{Activation, Mlp};
pub use noise::{ExplorationNoise, NoiseKind, standard_normal};
pub use normalize::RunningNorm;
pub use policy::{ContinuousPolicy, EnvActions, EnvActor, Mode, Policy};
pub use replay::{Batch, ReplayBuffer, ReplaySpec, ReplayState};
pub use schedule::LinearSchedule;
pub use seeds::{SeedDomain, derive_seed, mix64, stream};
pub use smoke::{SmokeReport, smoke_regression};
pub use train::{
    BEST_CHECKPOINT, DdpgTrainer, DqnTrainer, EpisodeValidator, EvalStats, LAST_CHECKPOINT,
    Learner, LearnerStats, LoopSettings, LoopState, MetricsRow, Progress, StopReason, TrainEvent,
    TrainOptions, TrainReport, Trainer, Validator, evaluate,
};

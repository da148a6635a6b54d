//! `clv-agents`: learning agents on libtorch for `clv-envs`.
//!
//! DQN ([`Dqn`], double DQN with a target network) trains through [`DqnTrainer`], a loop
//! generic over any [`clv_envs::VecEnv`]: CartPole for validation, the customer population
//! for the real task. A trained agent acts through the [`Policy`] trait on whole batches.
#![warn(missing_docs)]

mod checkpoint;
mod config;
mod device;
mod dqn;
mod error;
mod mlp;
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
pub use device::DeviceChoice;
pub use dqn::{
    CLIP_EPS, Dqn, NORM_EPS, UpdateStats, global_grad_norm, hard_update, next_state_value,
    soft_update, td_target,
};
pub use error::AgentError;
pub use mlp::{Activation, Mlp};
pub use normalize::RunningNorm;
pub use policy::{Mode, Policy};
pub use replay::{Batch, ReplayBuffer, ReplaySpec, ReplayState};
pub use schedule::LinearSchedule;
pub use seeds::{SeedDomain, derive_seed, mix64, stream};
pub use smoke::{SmokeReport, smoke_regression};
pub use train::{
    BEST_CHECKPOINT, DqnTrainer, EvalStats, LAST_CHECKPOINT, LoopState, MetricsRow, Progress,
    StopReason, TrainEvent, TrainOptions, TrainReport, Validator, EpisodeValidator, evaluate,
};

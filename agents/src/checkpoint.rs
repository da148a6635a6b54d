//! Checkpoints: everything needed to act with a trained agent and to resume its training.
//!
//! A DQN checkpoint is a folder:
//! - `q_online.safetensors`, `q_target.safetensors`: both networks' weights (`VarStore::save`,
//!   safetensors chosen by the extension);
//! - `replay.safetensors` (when `checkpoint_replay`): the replay buffer's rows;
//! - `checkpoint.json`: format version, the resolved config, observation size and action count,
//!   the observation normaliser, the step counters (env steps, updates), the exploration RNG
//!   and the replay sampling RNG at their exact stream positions, the replay ring's position,
//!   and the training loop's state (episode count, recent returns, update credit, next
//!   evaluation / log step, best validation score, metrics rows so far).
//!
//! A DDPG / TD3 checkpoint ([`crate::save_ddpg_checkpoint`]) has the same layout with
//! `actor.safetensors`, `actor_target.safetensors`, `critic.safetensors` (both critics, `q1.*`
//! and `q2.*`) and `critic_target.safetensors` in place of the Q networks, and its JSON adds
//! `algorithm: "ddpg"`, the action bounds, the actor-update count, the exploration noise
//! process (its OU state and RNG position) and the target-smoothing RNG. Loading one
//! algorithm's checkpoint as another's fails naming both.
//!
//! What a resume restores exactly: weights of every network and target, normaliser, counters
//! (so the epsilon schedule or random-action phase, the target-update and actor-delay phases
//! and the budgets continue), every RNG position (exploration, OU state, target smoothing,
//! replay sampling), the replay rows and the loop state above.
//!
//! What it does not restore:
//! - Adam's moment estimates and step count (of every optimiser): tch's optimisers expose no
//!   state to save, so a resumed run restarts Adam from zero moments (its first updates are
//!   sign-like steps of size `lr`).
//! - The training environments' state: [`clv_envs::VecEnv`] exposes none. A resume resets the
//!   training envs with a fresh seed of the training domain (`stream::ENV` plus the resume
//!   count), so episodes in flight at the save are abandoned and the n-step windows pending in
//!   the replay buffer (at most `n_step - 1` steps per sub-env) are dropped.
//! - libtorch's global RNG (only network initialisation uses it, before any checkpoint).
//!
//! A resumed run is therefore a valid continuation, not a bit-identical replay of an
//! uninterrupted one. Writing is atomic: the folder is built under `NAME.tmp` and renamed into
//! place, so a crash never leaves a half-written checkpoint under the final name.

use std::path::{Path, PathBuf};

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::Device;

use crate::AgentError;
use crate::config::DqnConfig;
use crate::dqn::Dqn;
use crate::normalize::RunningNorm;
use crate::replay::{ReplayBuffer, ReplayState};
use crate::train::LoopState;

/// Version of the checkpoint layout written by this crate.
pub const CHECKPOINT_FORMAT: u32 = 1;
/// Online network weights.
const ONLINE_FILE: &str = "q_online.safetensors";
/// Target network weights.
const TARGET_FILE: &str = "q_target.safetensors";
/// Replay rows.
const REPLAY_FILE: &str = "replay.safetensors";
/// Everything else, as JSON.
const META_FILE: &str = "checkpoint.json";

/// The JSON part of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Layout version ([`CHECKPOINT_FORMAT`]).
    pub format: u32,
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
    /// Replay ring position and sampling RNG, when the rows were saved.
    pub replay: Option<ReplayState>,
    /// Training loop state, when saved by the trainer.
    pub loop_state: Option<LoopState>,
}

/// A loaded checkpoint.
#[derive(Debug)]
pub struct LoadedCheckpoint {
    /// The agent with weights, normaliser, counters and exploration RNG restored (fresh Adam).
    pub agent: Dqn,
    /// The replay buffer, when its rows were saved.
    pub replay: Option<ReplayBuffer>,
    /// The training loop state, when saved.
    pub loop_state: Option<LoopState>,
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    dir.with_file_name(name)
}

pub(crate) fn remove_dir_if_exists(dir: &Path) -> Result<(), AgentError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(AgentError::io("removing", dir, e))
        }
        _ => Ok(()),
    }
}

/// Builds a checkpoint folder atomically: `fill` writes into `dir.tmp`, which then replaces
/// `dir` (the old folder is moved to `dir.old` and removed), so a crash never leaves a
/// half-written checkpoint under the final name. Shared by every algorithm's checkpoints.
pub(crate) fn write_dir_atomically(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<(), AgentError>,
) -> Result<(), AgentError> {
    let tmp = sibling(dir, ".tmp");
    remove_dir_if_exists(&tmp)?;
    std::fs::create_dir_all(&tmp).map_err(|e| AgentError::io("creating", &tmp, e))?;
    fill(&tmp)?;
    let old = sibling(dir, ".old");
    remove_dir_if_exists(&old)?;
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| AgentError::io("renaming", dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| AgentError::io("renaming", &tmp, e))?;
    remove_dir_if_exists(&old)
}

/// Name of the algorithm of a checkpoint JSON without an `algorithm` field (DQN's layout).
const DQN_ALGORITHM: &str = "dqn";

/// Reads a checkpoint's JSON at `path` as `T`, first checking that its `algorithm` field
/// (absent = `dqn`) is `expected`, so that loading one algorithm's checkpoint as another's
/// says so plainly.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    expected: &str,
) -> Result<T, AgentError> {
    let text = std::fs::read_to_string(path).map_err(|e| AgentError::io("reading", path, e))?;
    let bad = |reason: String| AgentError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let found = value
        .get("algorithm")
        .and_then(|a| a.as_str())
        .unwrap_or(DQN_ALGORITHM);
    if found != expected {
        return Err(bad(format!(
            "holds a {found} checkpoint, but a {expected} one was expected"
        )));
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}

/// Writes a checkpoint folder at `dir` atomically (built as `dir.tmp`, then renamed).
pub fn save_checkpoint(
    dir: &Path,
    agent: &Dqn,
    replay: Option<&ReplayBuffer>,
    loop_state: Option<&LoopState>,
) -> Result<(), AgentError> {
    write_dir_atomically(dir, |tmp| {
        agent.online_vars().save(tmp.join(ONLINE_FILE))?;
        agent.target_vars().save(tmp.join(TARGET_FILE))?;
        let replay = match replay {
            Some(r) => Some(r.save_rows(&tmp.join(REPLAY_FILE))?),
            None => None,
        };
        let meta = CheckpointMeta {
            format: CHECKPOINT_FORMAT,
            config: agent.config().clone(),
            obs_dim: crate::Policy::obs_dim(agent),
            n_actions: crate::Policy::n_actions(agent),
            normalizer: agent.normalizer.clone(),
            env_steps: agent.env_steps,
            updates: agent.updates(),
            explore_rng: agent.explore_rng().clone(),
            replay,
            loop_state: loop_state.cloned(),
        };
        let json = serde_json::to_vec_pretty(&meta).map_err(|e| AgentError::Checkpoint {
            path: dir.into(),
            reason: e.to_string(),
        })?;
        let meta_path = tmp.join(META_FILE);
        std::fs::write(&meta_path, json).map_err(|e| AgentError::io("writing", meta_path, e))
    })
}

/// Reads only the JSON part of a checkpoint.
pub fn read_checkpoint_meta(dir: &Path) -> Result<CheckpointMeta, AgentError> {
    let path = dir.join(META_FILE);
    let meta: CheckpointMeta = read_json(&path, DQN_ALGORITHM)?;
    if meta.format != CHECKPOINT_FORMAT {
        return Err(AgentError::Checkpoint {
            path,
            reason: format!(
                "format {} (this build reads {CHECKPOINT_FORMAT})",
                meta.format
            ),
        });
    }
    Ok(meta)
}

/// Loads a checkpoint folder onto `device`: builds the networks from the saved config, then
/// fills them (see the module doc for what is and is not restored).
pub fn load_checkpoint(dir: &Path, device: Device) -> Result<LoadedCheckpoint, AgentError> {
    let meta = read_checkpoint_meta(dir)?;
    let mut agent = Dqn::new(
        meta.config.clone(),
        meta.obs_dim,
        meta.n_actions,
        device,
        0,
        0,
    )?;
    {
        let (online, target) = agent.vars_mut();
        online.load(dir.join(ONLINE_FILE))?;
        target.load(dir.join(TARGET_FILE))?;
    }
    agent.normalizer = meta.normalizer.clone();
    agent.restore_counters(meta.env_steps, meta.updates, meta.explore_rng.clone());
    let replay = match meta.replay.clone() {
        Some(state) => Some(ReplayBuffer::load_rows(&dir.join(REPLAY_FILE), state)?),
        None => None,
    };
    Ok(LoadedCheckpoint {
        agent,
        replay,
        loop_state: meta.loop_state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Mode, Policy};
    use crate::replay::ReplaySpec;

    #[test]
    fn save_load_round_trip_gives_identical_q_values_and_state() {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck");
        let cfg = DqnConfig {
            hidden: vec![16],
            normalize_obs: true,
            batch_size: 8,
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
        save_checkpoint(&ck, &agent, Some(&replay), None).unwrap();
        // Saving again over an existing checkpoint replaces it atomically.
        save_checkpoint(&ck, &agent, Some(&replay), None).unwrap();
        assert!(!sibling(&ck, ".tmp").exists() && !sibling(&ck, ".old").exists());

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

    #[test]
    fn missing_checkpoint_is_a_clear_error() {
        let err = load_checkpoint(Path::new("/nonexistent/ck"), Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("checkpoint.json"), "{err}");
    }
}

//! Checkpoints: everything needed to act with a trained agent and to resume its training.
//!
//! This module holds what every algorithm's checkpoint shares; each algorithm's file (`dqn.rs`,
//! `ddpg.rs`) says which networks and which payload it saves through it. A checkpoint is a
//! folder:
//! - one `*.safetensors` file per network (`VarStore::save`, safetensors chosen by the
//!   extension): DQN `q_online`, `q_target`; DDPG / TD3 `actor`, `actor_target`, `critic`
//!   (both critics, `q1.*` and `q2.*`), `critic_target`;
//! - `replay.safetensors` (when `train.checkpoint_replay`): the replay buffer's rows;
//! - `checkpoint.json` ([`CheckpointMeta`]): `format` ([`CHECKPOINT_FORMAT`]), `algorithm`
//!   (`dqn`, `ddpg`), `agent`: the algorithm's payload (resolved config, observation size and
//!   action count or bounds, observation normaliser, step counters, exploration RNG and OU
//!   state at their exact stream positions, ...), `replay`: the replay ring's position and
//!   sampling RNG, and `loop_state`: the training loop's state (episode count, recent returns,
//!   update credit, next evaluation / log step, best validation score, metrics rows so far).
//!
//! Loading one algorithm's checkpoint as another's fails naming both; a checkpoint of another
//! format (format 1: before the `train` config section and the `agent` payload) fails naming
//! the folder, the format found and the one this build reads.
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

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tch::nn::VarStore;

use crate::error::AgentError;
use crate::learner::{LoadedCheckpoint, LoopState};
use crate::replay::{ReplayBuffer, ReplayState};

/// Version of the checkpoint layout written by this crate (2: configs with a `train` section,
/// the algorithm's state under `agent`).
pub const CHECKPOINT_FORMAT: u32 = 2;
/// Folder name of the latest checkpoint under the checkpoint root.
pub const LAST_CHECKPOINT: &str = "last";
/// Folder name of the best-on-validation checkpoint under the checkpoint root.
pub const BEST_CHECKPOINT: &str = "best";
/// Replay rows.
const REPLAY_FILE: &str = "replay.safetensors";
/// Everything else, as JSON.
const META_FILE: &str = "checkpoint.json";

/// The JSON part of a checkpoint, around an algorithm's payload `P`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta<P> {
    /// Layout version ([`CHECKPOINT_FORMAT`]).
    pub format: u32,
    /// The algorithm that wrote it (`dqn`, `ddpg`; TD3 is DDPG with its options on).
    pub algorithm: String,
    /// The algorithm's own state: config, sizes, normaliser, counters, RNGs.
    pub agent: P,
    /// Replay ring position and sampling RNG, when the rows were saved.
    pub replay: Option<ReplayState>,
    /// Training loop state, when saved by the trainer.
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

fn remove_dir_if_exists(dir: &Path) -> Result<(), AgentError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(AgentError::io("removing", dir, e))
        }
        _ => Ok(()),
    }
}

/// Builds a checkpoint folder atomically: `fill` writes into `dir.tmp`, which then replaces
/// `dir` (the old folder is moved to `dir.old` and removed), so a crash never leaves a
/// half-written checkpoint under the final name.
fn write_dir_atomically(
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

/// Writes a checkpoint folder at `dir` atomically: every `(file name, variables)` of
/// `networks`, the replay rows when `replay` is given, and `checkpoint.json` with `payload`
/// (the algorithm's state) and the loop state.
pub fn write_checkpoint<P: Serialize>(
    dir: &Path,
    algorithm: &str,
    payload: &P,
    networks: &[(&str, &VarStore)],
    replay: Option<&ReplayBuffer>,
    loop_state: Option<&LoopState>,
) -> Result<(), AgentError> {
    write_dir_atomically(dir, |tmp| {
        for (file, vars) in networks {
            vars.save(tmp.join(file))?;
        }
        let replay = match replay {
            Some(r) => Some(r.save_rows(&tmp.join(REPLAY_FILE))?),
            None => None,
        };
        let meta = CheckpointMeta {
            format: CHECKPOINT_FORMAT,
            algorithm: algorithm.to_string(),
            agent: payload,
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

/// The `format` and `algorithm` of the checkpoint folder `dir`, checking the format: a
/// checkpoint of another format is an error naming `dir`, the format found and
/// [`CHECKPOINT_FORMAT`].
pub fn checkpoint_algorithm(dir: &Path) -> Result<String, AgentError> {
    Ok(read_header(dir)?.1)
}

/// The parsed JSON of `dir`'s checkpoint and its algorithm, after the format check.
fn read_header(dir: &Path) -> Result<(serde_json::Value, String), AgentError> {
    let path = dir.join(META_FILE);
    let text = clv_envs::files::read_text(&path, clv_envs::files::MAX_TEXT_BYTES)?;
    let bad = |reason: String| AgentError::Checkpoint {
        path: dir.to_path_buf(),
        reason,
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "{META_FILE}: {}",
            clv_envs::files::excerpt(&e.to_string())
        ))
    })?;
    let format = value.get("format").and_then(|f| f.as_u64());
    if format != Some(u64::from(CHECKPOINT_FORMAT)) {
        let found = format.map_or("none".to_string(), |f| f.to_string());
        return Err(bad(format!(
            "checkpoint format {found}, but this build reads format {CHECKPOINT_FORMAT} (written by another clv version: retrain, or use the clv that wrote it)"
        )));
    }
    let algorithm = value
        .get("algorithm")
        .and_then(|a| a.as_str())
        .ok_or_else(|| bad(format!("{META_FILE} names no algorithm")))?
        .to_string();
    Ok((value, algorithm))
}

/// Reads the JSON part of the checkpoint folder `dir`, checking its format and that it was
/// written by `algorithm` (loading one algorithm's checkpoint as another's says so plainly).
pub fn read_checkpoint<P: DeserializeOwned>(
    dir: &Path,
    algorithm: &str,
) -> Result<CheckpointMeta<P>, AgentError> {
    let (value, found) = read_header(dir)?;
    let bad = |reason: String| AgentError::Checkpoint {
        path: dir.to_path_buf(),
        reason,
    };
    if found != algorithm {
        return Err(bad(format!(
            "holds a {found} checkpoint, but a {algorithm} one was expected"
        )));
    }
    serde_json::from_value(value).map_err(|e| {
        bad(format!(
            "{META_FILE}: {}",
            clv_envs::files::excerpt(&e.to_string())
        ))
    })
}

/// Fills every `(file name, variables)` of `networks` from the folder `dir` (build the
/// networks first: `VarStore::load` only fills variables that exist).
pub fn load_networks(dir: &Path, networks: &mut [(&str, &mut VarStore)]) -> Result<(), AgentError> {
    for (file, vars) in networks.iter_mut() {
        vars.load(dir.join(file))?;
    }
    Ok(())
}

/// The replay buffer saved in the folder `dir` with ring state `state`, if its rows were saved.
pub fn load_replay(
    dir: &Path,
    state: Option<ReplayState>,
) -> Result<Option<ReplayBuffer>, AgentError> {
    state
        .map(|s| ReplayBuffer::load_rows(&dir.join(REPLAY_FILE), s))
        .transpose()
}

/// The loaded checkpoint of `agent` (built and filled from the folder `dir` by its
/// algorithm) with the replay rows and loop state `meta` names.
pub fn loaded<A, P>(
    dir: &Path,
    agent: A,
    meta: CheckpointMeta<P>,
) -> Result<LoadedCheckpoint<A>, AgentError> {
    Ok(LoadedCheckpoint {
        agent,
        replay: load_replay(dir, meta.replay)?,
        loop_state: meta.loop_state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck");
        for payload in [1u32, 2] {
            write_checkpoint(&ck, "toy", &payload, &[], None, None).unwrap();
        }
        assert!(!sibling(&ck, ".tmp").exists() && !sibling(&ck, ".old").exists());
        let meta: CheckpointMeta<u32> = read_checkpoint(&ck, "toy").unwrap();
        assert_eq!((meta.format, meta.agent), (CHECKPOINT_FORMAT, 2));
        let err = read_checkpoint::<u32>(&ck, "dqn").unwrap_err().to_string();
        assert!(
            err.contains("holds a toy checkpoint, but a dqn one"),
            "{err}"
        );
    }

    #[test]
    fn an_older_format_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(META_FILE), r#"{"format": 1, "config": {}}"#).unwrap();
        let err = read_checkpoint::<u32>(dir.path(), "dqn")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&dir.path().display().to_string())
                && err.contains("format 1")
                && err.contains("reads format 2"),
            "{err}"
        );
    }

    #[test]
    fn missing_checkpoint_is_a_clear_error() {
        let err = checkpoint_algorithm(Path::new("/nonexistent/ck"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("checkpoint.json"), "{err}");
    }
}

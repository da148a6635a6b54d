//! `clv train` driven through the real binary in a temp dir: a small CartPole DQN run writes
//! its run directory, a resume continues it, and bad configs fail naming the field.

use std::path::Path;
use std::process::{Command, Output};

fn clv(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clv"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("running clv")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn small_cartpole_run_writes_the_run_directory_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = clv(
        &[
            "train", "--env", "cartpole", "--agent", "dqn", "--steps", "3000", "--out", "run",
            "--quiet", "--device", "cpu",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let run = tmp.path().join("run");
    for f in [
        "config.ron",
        "metrics.csv",
        "summary.json",
        "checkpoint/last/checkpoint.json",
        "checkpoint/last/q_online.safetensors",
        "checkpoint/last/q_target.safetensors",
        "checkpoint/best/checkpoint.json",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    let no_tmp = std::fs::read_dir(&run)
        .unwrap()
        .all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp"));
    assert!(no_tmp, "temporary files left behind");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["env_steps"], 3000);
    for key in ["wall_seconds", "eval_return_mean", "eval_return_std"] {
        assert!(
            summary[key].as_f64().is_some_and(f64::is_finite),
            "{key}: {summary}"
        );
    }
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(metrics.starts_with("env_steps,updates,episodes,train_return_mean,loss,q_mean,grad_norm,epsilon,valid_return_mean"), "{metrics}");
    assert!(metrics.lines().count() >= 4);

    // Resume to 4,000 steps: the counters continue from the checkpoint.
    let out = clv(
        &[
            "train", "--env", "cartpole", "--resume", "run", "--steps", "4000", "--quiet",
            "--device", "cpu",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["env_steps"], 4000);
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(
        metrics.lines().last().unwrap().starts_with("4000,"),
        "{metrics}"
    );
}

#[test]
fn bad_configs_fail_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    for (text, want) in [
        ("(gama: 0.9)", "gama"),
        ("(gamma: 1.2)", "dqn.gamma must be in [0,1), got 1.2"),
        ("(train: (batchsize: 64))", "batchsize"),
        (
            "(train: (batch_size: 0))",
            "train.batch_size must be at least 1, got 0",
        ),
    ] {
        std::fs::write(tmp.path().join("bad.ron"), text).unwrap();
        let out = clv(
            &[
                "train", "--env", "cartpole", "--config", "bad.ron", "--steps", "100", "--out",
                "run", "--quiet",
            ],
            tmp.path(),
        );
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains(want),
            "{want:?} not in {}",
            stderr(&out)
        );
        assert!(!tmp.path().join("run/summary.json").exists());
    }
}

#[test]
fn a_missing_scenario_file_is_named_in_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = clv(&["train", "no-such-scenario.ron", "--quiet"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no-such-scenario.ron"), "{err}");
    assert_eq!(
        err.matches("No such file").count(),
        1,
        "the cause is said once: {err}"
    );
}

/// A small, fast TD3 / DDPG config: learning starts after 300 steps, small networks.
const SMALL_DDPG: &str = "(actor_hidden: [32, 32], critic_hidden: [32, 32], random_steps: 300, \
    train: (batch_size: 64, learning_starts: 300, replay_ratio: 64.0, eval_every: 400, \
    eval_episodes: 2, test_episodes: 3, log_every: 200))";

#[test]
fn pendulum_td3_run_writes_the_run_directory_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("small.ron"), SMALL_DDPG).unwrap();
    let out = clv(
        &[
            "train",
            "--env",
            "pendulum",
            "--agent",
            "td3",
            "--config",
            "small.ron",
            "--steps",
            "800",
            "--seed",
            "3",
            "--out",
            "run",
            "--quiet",
            "--device",
            "cpu",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let run = tmp.path().join("run");
    for f in [
        "config.ron",
        "metrics.csv",
        "summary.json",
        "checkpoint/last/checkpoint.json",
        "checkpoint/last/actor.safetensors",
        "checkpoint/last/actor_target.safetensors",
        "checkpoint/last/critic.safetensors",
        "checkpoint/last/critic_target.safetensors",
        "checkpoint/best/checkpoint.json",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    let config = std::fs::read_to_string(run.join("config.ron")).unwrap();
    assert!(config.contains("twin_critics: true"), "{config}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["env_steps"], 800);
    assert_eq!(summary["agent"], "td3");
    assert_eq!(summary["updates"], 500, "one update per step after 300");
    assert_eq!(summary["eval_episodes"], 3);
    for key in ["wall_seconds", "eval_return_mean", "eval_return_std"] {
        assert!(
            summary[key].as_f64().is_some_and(f64::is_finite),
            "{key}: {summary}"
        );
    }
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(
        metrics
            .lines()
            .next()
            .unwrap()
            .split(',')
            .any(|c| c == "actor_loss"),
        "{metrics}"
    );

    // Resume to 1,000 steps: the learner is the checkpoint's (no --agent needed).
    let out = clv(
        &[
            "train", "--env", "pendulum", "--resume", "run", "--steps", "1000", "--quiet",
            "--device", "cpu",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["env_steps"], 1000);
    assert_eq!(summary["updates"], 700);
    assert_eq!(summary["agent"], "td3");
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(
        metrics.lines().last().unwrap().starts_with("1000,"),
        "{metrics}"
    );
}

#[test]
fn pendulum_ddpg_turns_the_td3_options_off() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("small.ron"), SMALL_DDPG).unwrap();
    let out = clv(
        &[
            "train",
            "--env",
            "pendulum",
            "--agent",
            "ddpg",
            "--config",
            "small.ron",
            "--steps",
            "400",
            "--out",
            "run",
            "--quiet",
            "--device",
            "cpu",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let config = std::fs::read_to_string(tmp.path().join("run/config.ron")).unwrap();
    for want in [
        "twin_critics: false",
        "policy_delay: 1",
        "target_noise: 0.0",
    ] {
        assert!(config.contains(want), "{want}: {config}");
    }
    let summary = std::fs::read_to_string(tmp.path().join("run/summary.json")).unwrap();
    assert!(summary.contains("\"agent\": \"ddpg\""), "{summary}");
}

#[test]
fn agents_and_action_spaces_must_match() {
    let tmp = tempfile::tempdir().unwrap();
    let out = clv(
        &["train", "--env", "pendulum", "--agent", "dqn", "--quiet"],
        tmp.path(),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--agent td3"), "{}", stderr(&out));
    let out = clv(
        &["train", "--env", "cartpole", "--agent", "td3", "--quiet"],
        tmp.path(),
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--agent dqn"), "{}", stderr(&out));
    std::fs::write(tmp.path().join("bad.ron"), "(policy_delay: 0)").unwrap();
    let out = clv(
        &[
            "train", "--env", "pendulum", "--agent", "ddpg", "--config", "bad.ron", "--quiet",
        ],
        tmp.path(),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("ddpg.policy_delay"),
        "{}",
        stderr(&out)
    );
}

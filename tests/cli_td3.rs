//! `clv train SCENARIO --agent td3` end to end at a smoke budget: TD3 on the continuous offer,
//! the run directory, the trained policy usable as `td3:RUN_DIR` in simulate and compare, and
//! clear errors when the spec names the wrong learner.

mod common;
use common::{clv, ok};

/// Learning starts after two vector steps of 1,024 customers; small networks.
const SMALL: &str = "(actor_hidden: [32], critic_hidden: [32], random_steps: 2048, \
    reward_scale: 0.1, train: (learning_starts: 2048, replay_ratio: 0.5, normalize_obs: true, \
    num_envs: 1024, eval_every: 10240, buffer_size: 50000, checkpoint_replay: false))";

#[test]
fn td3_on_the_continuous_offer_is_a_policy() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("small.ron");
    std::fs::write(&cfg, SMALL).unwrap();
    let run = dir.path().join("td3");
    ok(&[
        "train",
        "scenarios/default.ron",
        "--agent",
        "td3",
        "--config",
        cfg.to_str().unwrap(),
        "--set",
        "horizon=10",
        "--steps",
        "20480",
        "--valid-customers",
        "200",
        "--test-customers",
        "300",
        "--device",
        "cpu",
        "--out",
        run.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(run.join("checkpoint/best/actor.safetensors").is_file());
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["agent"], "td3");
    assert_eq!(s["env_steps"], 20480);
    // 18 vector steps after learning starts, 1,024 * 0.5 / 256 = 2 updates each.
    assert_eq!(s["updates"], 36);
    assert_eq!(s["eval_customers"], 300);
    let gamma = s["gamma"].as_f64().unwrap();
    assert!((gamma - 1.1f64.powf(-1.0 / 52.0)).abs() < 1e-12, "{gamma}");
    assert!(s["eval_clv_mean"].as_f64().unwrap().is_finite());

    let spec = format!("td3:{}", run.display());
    let out = ok(&[
        "compare",
        "scenarios/default.ron",
        "--set",
        "horizon=10",
        "--policy",
        "none",
        "--policy",
        &spec,
        "--customers",
        "300",
        "--quiet",
        "--json",
        "--out",
        dir.path().join("cmp").to_str().unwrap(),
    ]);
    assert!(out.contains("td3:"), "{out}");
    let out = ok(&[
        "compare",
        "scenarios/default.ron",
        "--set",
        "horizon=10",
        "--set",
        "budget.per_period=20",
        "--policy",
        &spec,
        "--policy",
        &format!("random-rank:{spec}"),
        "--customers",
        "300",
        "--quiet",
        "--json",
        "--out",
        dir.path().join("cmp-budget").to_str().unwrap(),
    ]);
    common::assert_within_budget(&serde_json::from_str(&out).unwrap(), 0.3);
    // Common random numbers: the same policy twice gives the same result.
    let sim = |_: ()| {
        let out = ok(&[
            "simulate",
            "scenarios/default.ron",
            "--set",
            "horizon=10",
            "--policy",
            &spec,
            "--customers",
            "300",
            "--json",
            "--quiet",
        ]);
        let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v.as_object_mut().unwrap().remove("timing");
        v
    };
    assert_eq!(sim(()), sim(()));
    let o = clv(&[
        "simulate",
        "scenarios/default.ron",
        "--set",
        "horizon=10",
        "--policy",
        &format!("ddpg:{}", run.display()),
        "--customers",
        "100",
        "--quiet",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("trained as td3"), "{err}");
    let o = clv(&[
        "simulate",
        "scenarios/default.ron",
        "--policy",
        &format!("dqn:{}", run.display()),
        "--customers",
        "100",
        "--quiet",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ddpg checkpoint"), "{err}");
}

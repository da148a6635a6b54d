//! DQN on CartPole-v1 through the generic training loop.
//!
//! The quick test (run in CI) checks that a short run learns something. The `#[ignore]`d
//! acceptance test trains seeds 0, 1, 2 with `agents/configs/cartpole-dqn.ron` for 50,000
//! steps and checks the stated threshold: a greedy mean return >= 475 over 100 test-seed
//! episodes, with the checkpoint chosen on validation seeds, for at least 2 of 3 seeds.
//! Run it with `cargo test --release -p clv-agents --test cartpole_dqn -- --ignored --nocapture`.

use std::time::Instant;

use clv_agents::{
    BEST_CHECKPOINT, DqnConfig, DqnTrainer, EpisodeValidator, SeedDomain, TrainOptions,
    derive_seed, evaluate, load_checkpoint,
};
use clv_envs::ActionSpace;
use clv_envs::classic::CartPoleVecEnv;

const CONFIG: &str = include_str!("../configs/cartpole-dqn.ron");
/// CartPole's two actions (push left, push right).
const CARTPOLE_ACTIONS: ActionSpace = ActionSpace::Discrete { n: 2 };

/// Trains one seed; returns (test mean, test std, best validation step, wall seconds).
fn train_seed(config: DqnConfig, seed: u64) -> (f64, f64, Option<u64>, f64) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut trainer =
        DqnTrainer::new(config.clone(), 4, &CARTPOLE_ACTIONS, tch::Device::Cpu, seed).unwrap();
    let mut env = CartPoleVecEnv::new(config.train.num_envs, 0);
    let mut valid = CartPoleVecEnv::new(config.train.eval_episodes, 0);
    let opts = TrainOptions {
        checkpoint_dir: Some(dir.path().to_path_buf()),
    };
    let report = trainer
        .run(
            &mut env,
            &mut EpisodeValidator::new(
                &mut valid,
                config.train.eval_episodes,
                config.train.eval_max_steps,
            ),
            &opts,
            &mut |_| {},
        )
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    let mut best = load_checkpoint(&dir.path().join(BEST_CHECKPOINT), tch::Device::Cpu)
        .unwrap()
        .agent;
    let mut test_env = CartPoleVecEnv::new(config.train.test_episodes, 0);
    let test_seed = derive_seed(SeedDomain::Test, seed, 0);
    let t = evaluate(
        &mut best,
        &mut test_env,
        test_seed,
        config.train.test_episodes,
        config.train.eval_max_steps,
    )
    .unwrap();
    for row in &trainer.state.rows {
        if let Some(v) = row.valid_return_mean {
            eprintln!(
                "  seed {seed} step {:>6} valid {v:>6.1} train {:>6.1} loss {:.4} q {:.2}",
                row.env_steps,
                row.train_return_mean.unwrap_or(f64::NAN),
                row.loss.unwrap_or(f64::NAN),
                row.q_mean.unwrap_or(f64::NAN)
            );
        }
    }
    (t.mean, t.std, report.best_valid.map(|b| b.1), wall)
}

/// A 6,000-step run with the tuned config already beats a random policy (about 22) by far on
/// validation.
#[test]
fn short_run_learns() {
    let mut cfg = DqnConfig::from_ron_str(CONFIG, "cartpole-dqn.ron").unwrap();
    cfg.train.total_env_steps = 6_000;
    cfg.train.eval_every = 3_000;
    cfg.train.eval_episodes = 10;
    cfg.train.test_episodes = 10;
    let mut trainer =
        DqnTrainer::new(cfg.clone(), 4, &CARTPOLE_ACTIONS, tch::Device::Cpu, 0).unwrap();
    let mut env = CartPoleVecEnv::new(1, 0);
    let mut valid = CartPoleVecEnv::new(cfg.train.eval_episodes, 0);
    let report = trainer
        .run(
            &mut env,
            &mut EpisodeValidator::new(
                &mut valid,
                cfg.train.eval_episodes,
                cfg.train.eval_max_steps,
            ),
            &TrainOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(report.env_steps, 6_000);
    let best = report.best_valid.unwrap().0;
    assert!(best > 60.0, "best validation return {best}");
}

#[test]
#[ignore = "acceptance: about a minute per seed in release"]
fn reaches_475_within_50k_steps_for_two_of_three_seeds() {
    let config = DqnConfig::from_ron_str(CONFIG, "cartpole-dqn.ron").unwrap();
    let seeds: Vec<u64> = std::env::var("CARTPOLE_SEEDS")
        .map(|s| s.split(',').map(|x| x.trim().parse().unwrap()).collect())
        .unwrap_or_else(|_| vec![0, 1, 2]);
    let mut passed = 0;
    for &seed in &seeds {
        let (mean, std, best_step, wall) = train_seed(config.clone(), seed);
        println!(
            "seed {seed}: test return {mean:.1} +- {std:.1} (best validation at step {best_step:?}), {wall:.1} s"
        );
        passed += usize::from(mean >= 475.0);
    }
    assert!(
        passed * 3 >= seeds.len() * 2,
        "{passed} of {} seeds reached 475",
        seeds.len()
    );
}

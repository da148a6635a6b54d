//! Throughput of TD3 gradient updates: actor and twin critics 2x256 at batch 256 on the CPU
//! (policy delay 2, target smoothing on), one libtorch thread and all threads. Ignored in CI;
//! run with
//! `cargo test --release -p clv-agents --test bench_td3_updates -- --ignored --nocapture`.

use std::time::Instant;

use clv_agents::{DdpgConfig, DdpgTrainer, ReplayBuffer, ReplaySpec};
use clv_envs::ActionSpace;

/// Updates timed per measurement (after a warm-up of a tenth as many).
const UPDATES: usize = 1_000;

fn updates_per_second(obs_dim: usize, action_dim: usize, threads: usize) -> f64 {
    let mut cfg = DdpgConfig {
        actor_hidden: vec![256, 256],
        critic_hidden: vec![256, 256],
        ..Default::default()
    };
    cfg.train.batch_size = 256;
    cfg.train.buffer_size = 10_000;
    cfg.train.num_threads = threads;
    assert!(cfg.is_td3());
    let space = ActionSpace::Box {
        low: vec![-1.0; action_dim],
        high: vec![1.0; action_dim],
    };
    let mut t = DdpgTrainer::new(cfg, obs_dim, &space, tch::Device::Cpu, 0).unwrap();
    let spec = ReplaySpec {
        capacity: 10_000,
        obs_dim,
        action_dim,
        num_envs: 1,
        n_step: 1,
        gamma: 0.99,
    };
    let mut replay = ReplayBuffer::new(spec, 1);
    for i in 0..10_000 {
        let o: Vec<f32> = (0..obs_dim)
            .map(|j| ((i * 31 + j * 7) % 97) as f32 / 97.0)
            .collect();
        let a: Vec<f32> = (0..action_dim)
            .map(|j| ((i * 13 + j) % 21) as f32 / 10.0 - 1.0)
            .collect();
        replay.push(&o, &a, &[1.0], &[i % 200 == 199], &[false], &o);
    }
    for _ in 0..UPDATES / 10 {
        t.agent.update(&replay.sample(256)).unwrap();
    }
    let start = Instant::now();
    for _ in 0..UPDATES {
        let b = replay.sample(256);
        t.agent.update(&b).unwrap();
    }
    UPDATES as f64 / start.elapsed().as_secs_f64()
}

#[test]
#[ignore = "benchmark"]
fn td3_updates_per_second_2x256_batch_256() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (obs_dim, action_dim) in [(3, 1), (40, 2)] {
        for threads in [1, cores] {
            let ups = updates_per_second(obs_dim, action_dim, threads);
            println!(
                "obs_dim {obs_dim}, action_dim {action_dim}, {threads} libtorch thread(s): {ups:.0} TD3 updates/s (sampling + twin-critic step every update, actor + Polyak every 2nd)"
            );
        }
    }
}

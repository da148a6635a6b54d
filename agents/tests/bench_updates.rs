//! Throughput of DQN gradient updates: a 2x256 MLP at batch 256 on the CPU, one libtorch
//! thread and all threads. Ignored in CI; run with
//! `cargo test --release -p clv-agents --test bench_updates -- --ignored --nocapture`.

use std::time::Instant;

use clv_agents::{DqnConfig, DqnTrainer, ReplayBuffer, ReplaySpec};
use clv_envs::ActionSpace;

/// Updates timed per measurement (after a warm-up of a tenth as many).
const UPDATES: usize = 2_000;

fn updates_per_second(obs_dim: usize, n_actions: usize, threads: usize) -> f64 {
    let mut cfg = DqnConfig {
        hidden: vec![256, 256],
        ..Default::default()
    };
    cfg.train.batch_size = 256;
    cfg.train.buffer_size = 10_000;
    cfg.train.num_threads = threads;
    let mut t = DqnTrainer::new(
        cfg,
        obs_dim,
        &ActionSpace::Discrete { n: n_actions },
        tch::Device::Cpu,
        0,
    )
    .unwrap();
    let spec = ReplaySpec {
        capacity: 10_000,
        obs_dim,
        action_dim: 1,
        num_envs: 1,
        n_step: 1,
        gamma: 0.99,
    };
    let mut replay = ReplayBuffer::new(spec, 1);
    for i in 0..10_000 {
        let o: Vec<f32> = (0..obs_dim)
            .map(|j| ((i * 31 + j * 7) % 97) as f32 / 97.0)
            .collect();
        replay.push(
            &o,
            &[(i % n_actions) as f32],
            &[1.0],
            &[i % 200 == 199],
            &[false],
            &o,
        );
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
fn gradient_updates_per_second_2x256_batch_256() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (obs_dim, n_actions) in [(4, 2), (40, 8)] {
        for threads in [1, cores] {
            let ups = updates_per_second(obs_dim, n_actions, threads);
            println!(
                "obs_dim {obs_dim}, {n_actions} actions, {threads} libtorch thread(s): {ups:.0} updates/s (sampling + double-DQN target + Adam)"
            );
        }
    }
}

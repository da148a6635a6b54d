//! A tiny supervised regression that proves libtorch links, runs and learns on a device.

use tch::nn::{self, Module, OptimizerConfig};
use tch::{Kind, Tensor};

use crate::{AgentError, DeviceChoice};

/// What the smoke regression measured.
#[derive(Debug, Clone, Copy)]
pub struct SmokeReport {
    /// Mean squared error before training.
    pub initial_loss: f64,
    /// Mean squared error after training.
    pub final_loss: f64,
    /// Adam steps taken.
    pub steps: usize,
    /// The device it ran on.
    pub device: tch::Device,
}

/// Fits y = sin(3x) + 0.5x on 256 points of [-1, 1] with a 1->32->32->1 tanh MLP and Adam
/// (learning rate `lr`) for `steps` full-batch steps, seeded with `seed`.
pub fn smoke_regression(
    device: DeviceChoice,
    steps: usize,
    lr: f64,
    seed: i64,
) -> Result<SmokeReport, AgentError> {
    let device = device.resolve()?;
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(device);
    let root = vs.root();
    let hidden = 32;
    let net = nn::seq()
        .add(nn::linear(&root / "l1", 1, hidden, Default::default()))
        .add_fn(|x| x.tanh())
        .add(nn::linear(&root / "l2", hidden, hidden, Default::default()))
        .add_fn(|x| x.tanh())
        .add(nn::linear(&root / "l3", hidden, 1, Default::default()));
    let x = Tensor::linspace(-1.0, 1.0, 256, (Kind::Float, device)).unsqueeze(1); // [256, 1]
    let y = (&x * 3.0).sin() + &x * 0.5; // [256, 1]
    let mut opt = nn::Adam::default().build(&vs, lr)?;
    let loss_of = |net: &nn::Sequential| net.forward(&x).mse_loss(&y, tch::Reduction::Mean);
    let initial_loss = f64::try_from(loss_of(&net))?;
    for _ in 0..steps {
        let loss = loss_of(&net);
        opt.backward_step(&loss);
    }
    let final_loss = f64::try_from(loss_of(&net))?;
    Ok(SmokeReport {
        initial_loss,
        final_loss,
        steps,
        device,
    })
}

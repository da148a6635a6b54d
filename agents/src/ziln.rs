//! The neural CLV predictor: a multilayer perceptron with a zero-inflated lognormal (ZILN) head
//! (Wang, Liu & Miao 2019, "A Deep Probabilistic Model for Customer Lifetime Value
//! Prediction"). Per customer it outputs the log-odds of buying in the window and the location
//! and scale of a lognormal for the value when there is one; so it gives the churn probability
//! (1 - P(buy)) and the expected value P(buy) x exp(mu + sigma^2 / 2) together.
//!
//! Features are standardised with the training customers' means and standard deviations and
//! the value is divided by the training customers' mean positive value, so the defaults fit
//! any currency scale. Features of the customers predicted are clamped to the training
//! customers' range first: a network extrapolates wildly (a record scored a year after the
//! training snapshot is older than any it saw), a clamped one answers as for the nearest
//! record it knows. Training stops early on the validation customers' loss and keeps the
//! weights of the best epoch.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use crate::error::AgentError;
use crate::mlp::{Activation, Mlp};

/// Smallest lognormal scale sigma the head can output (added to a softplus).
pub const ZILN_MIN_SIGMA: f64 = 1e-3;
/// Largest exponent mu + sigma^2 / 2 used for the expected value, in units of the training
/// customers' mean positive value: a prediction is at most e^4.6 ~ 100 times that mean
/// (keeps the mean finite and sane for customers far outside the training data).
pub const ZILN_MAX_LOG_MEAN: f64 = 4.6;
/// Outputs of the head: buy log-odds, lognormal mu, raw lognormal scale.
const HEAD_OUTPUTS: i64 = 3;

/// Settings of the neural predictor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZilnConfig {
    /// Hidden layer widths. Default `[64, 64]`.
    pub hidden: Vec<i64>,
    /// Adam learning rate. Default 1e-3.
    pub learning_rate: f64,
    /// Customers per gradient step. Default 512 (smaller for small data: see
    /// `min_steps_per_epoch`).
    pub batch_size: usize,
    /// Fewest gradient steps per pass: with few training customers the batch shrinks to
    /// n / this (at least 1), so that early stopping does not end training after a handful of
    /// steps. Default 32.
    pub min_steps_per_epoch: usize,
    /// Most passes over the training customers. Default 200.
    pub epochs: usize,
    /// Epochs without a better validation loss before stopping. Default 10.
    pub patience: usize,
    /// libtorch intra-op threads. Default 1.
    pub num_threads: usize,
}

impl Default for ZilnConfig {
    fn default() -> Self {
        Self {
            hidden: vec![64, 64],
            learning_rate: 1e-3,
            batch_size: 512,
            min_steps_per_epoch: 32,
            epochs: 200,
            patience: 10,
            num_threads: 1,
        }
    }
}

impl ZilnConfig {
    /// Checks every field, naming the offending one (`ziln.FIELD`).
    pub fn validate(&self) -> Result<(), AgentError> {
        let bad =
            |field: &'static str, reason: String| Err(AgentError::InvalidConfig { field, reason });
        if self
            .hidden
            .iter()
            .any(|h| !(1..=crate::MAX_LAYER_WIDTH).contains(h))
        {
            return bad(
                "ziln.hidden",
                format!(
                    "widths must be in 1..={}, got {:?}",
                    crate::MAX_LAYER_WIDTH,
                    self.hidden
                ),
            );
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad(
                "ziln.learning_rate",
                format!("must be in (0, 1], got {}", self.learning_rate),
            );
        }
        if !(1..=1 << 20).contains(&self.batch_size) {
            return bad(
                "ziln.batch_size",
                format!("must be in 1..=1048576, got {}", self.batch_size),
            );
        }
        if !(1..=1_000_000).contains(&self.min_steps_per_epoch) {
            return bad(
                "ziln.min_steps_per_epoch",
                format!("must be in 1..=1000000, got {}", self.min_steps_per_epoch),
            );
        }
        if !(1..=10_000).contains(&self.epochs) {
            return bad(
                "ziln.epochs",
                format!("must be in 1..=10000, got {}", self.epochs),
            );
        }
        if self.patience == 0 {
            return bad("ziln.patience", "must be at least 1".into());
        }
        if !(1..=256).contains(&self.num_threads) {
            return bad(
                "ziln.num_threads",
                format!("must be in 1..=256, got {}", self.num_threads),
            );
        }
        Ok(())
    }
}

/// The ZILN negative log-likelihood, mean over customers.
///
/// # Shapes
/// `head`: `[n, 3]` (buy log-odds, mu, raw scale); `value`: `[n]`, scaled value (> 0 where the
/// customer bought with a positive value); `bought`: `[n]`, 0/1. Customers who bought with a
/// value <= 0 add only the buy term.
pub fn ziln_loss(head: &Tensor, value: &Tensor, bought: &Tensor) -> Tensor {
    let logit = head.select(1, 0);
    let mu = head.select(1, 1);
    let sigma = head.select(1, 2).softplus() + ZILN_MIN_SIGMA;
    let buy = logit.binary_cross_entropy_with_logits::<Tensor>(bought, None, None, Reduction::None);
    let is_positive = value.gt(0.0);
    let positive = is_positive.to_kind(bought.kind()) * bought;
    // log(1) = 0 where there is no value, so the masked-out term stays finite.
    let log_y = value.where_self(&is_positive, &value.ones_like()).log();
    let nll: Tensor = &log_y
        + sigma.log()
        + 0.5 * (2.0 * std::f64::consts::PI).ln()
        + (&log_y - &mu).square() / (2.0 * sigma.square());
    let total: Tensor = buy + positive * nll;
    total.mean(None::<Kind>)
}

/// A trained ZILN predictor.
#[derive(Debug)]
pub struct ZilnModel {
    vs: nn::VarStore,
    net: Mlp,
    mean: Vec<f32>,
    sd: Vec<f32>,
    /// Smallest and largest training value of each feature.
    range: Vec<(f32, f32)>,
    scale: f64,
    dim: usize,
    device: Device,
}

/// How training went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZilnFitLog {
    /// Epochs run.
    pub epochs: usize,
    /// Epoch (from 1) whose weights were kept.
    pub best_epoch: usize,
    /// Validation loss per epoch, nats per customer.
    pub valid_loss: Vec<f64>,
}

/// Customers, row-major features with their outcome.
#[derive(Debug, Clone, Copy)]
pub struct ZilnData<'a> {
    /// Features, `n x dim`, row-major.
    pub features: &'a [f32],
    /// Value over the window, dollars.
    pub value: &'a [f64],
    /// Whether the customer bought in the window.
    pub bought: &'a [bool],
}

impl ZilnModel {
    /// Trains on `train`, stopping early on `valid`'s loss. `dim` feature columns.
    pub fn fit(
        train: ZilnData<'_>,
        valid: ZilnData<'_>,
        dim: usize,
        cfg: &ZilnConfig,
        seed: u64,
        device: Device,
    ) -> Result<(Self, ZilnFitLog), AgentError> {
        cfg.validate()?;
        let n = train.value.len();
        if n == 0 || dim == 0 || train.features.len() != n * dim {
            return Err(AgentError::EnvMismatch(format!(
                "ZILN training data: {n} customers x {dim} features, {} values",
                train.features.len()
            )));
        }
        tch::set_num_threads(cfg.num_threads as i32);
        // libtorch's generator is global: seed and initialise under the process-wide lock.
        let init_guard = crate::nets::TORCH_INIT
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        tch::manual_seed(seed as i64);
        let (mean, sd) = column_moments(train.features, dim);
        let mut range = vec![(f32::INFINITY, f32::NEG_INFINITY); dim];
        for row in train.features.chunks(dim) {
            for (r, v) in range.iter_mut().zip(row) {
                *r = (r.0.min(*v), r.1.max(*v));
            }
        }
        let positives: Vec<f64> = train
            .value
            .iter()
            .zip(train.bought)
            .filter(|(v, b)| **b && **v > 0.0)
            .map(|(v, _)| *v)
            .collect();
        let scale = if positives.is_empty() {
            1.0
        } else {
            positives.iter().sum::<f64>() / positives.len() as f64
        };
        let vs = nn::VarStore::new(device);
        let net = Mlp::new(
            &vs.root(),
            dim as i64,
            &cfg.hidden,
            HEAD_OUTPUTS,
            Activation::Relu,
        );
        drop(init_guard);
        let mut model = Self {
            vs,
            net,
            mean,
            sd,
            range,
            scale,
            dim,
            device,
        };
        let mut opt = nn::Adam::default().build(&model.vs, cfg.learning_rate)?;
        let (tx, tv, tb) = model.tensors(train)?;
        let (vx, vv, vb) = model.tensors(valid)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut order: Vec<i64> = (0..n as i64).collect();
        let mut best = f64::INFINITY;
        let mut best_weights: Option<nn::VarStore> = None;
        let mut log = ZilnFitLog {
            epochs: 0,
            best_epoch: 0,
            valid_loss: vec![],
        };
        let batch = cfg
            .batch_size
            .min(n.div_ceil(cfg.min_steps_per_epoch))
            .max(1);
        for epoch in 1..=cfg.epochs {
            order.shuffle(&mut rng);
            let perm = Tensor::from_slice(&order).to_device(device);
            for start in (0..n).step_by(batch) {
                let end = (start + batch).min(n);
                let idx = perm.narrow(0, start as i64, (end - start) as i64);
                let loss = ziln_loss(
                    &model.net.forward(&tx.index_select(0, &idx)),
                    &tv.index_select(0, &idx),
                    &tb.index_select(0, &idx),
                );
                opt.backward_step(&loss);
            }
            let loss = tch::no_grad(|| ziln_loss(&model.net.forward(&vx), &vv, &vb));
            let loss = loss.double_value(&[]);
            log.epochs = epoch;
            log.valid_loss.push(loss);
            if loss < best {
                best = loss;
                log.best_epoch = epoch;
                let mut copy = nn::VarStore::new(device);
                let _ = Mlp::new(
                    &copy.root(),
                    dim as i64,
                    &cfg.hidden,
                    HEAD_OUTPUTS,
                    Activation::Relu,
                );
                copy.copy(&model.vs)?;
                best_weights = Some(copy);
            } else if epoch - log.best_epoch >= cfg.patience {
                break;
            }
        }
        if let Some(w) = best_weights {
            model.vs.copy(&w)?;
        }
        Ok((model, log))
    }

    fn standardised(&self, features: &[f32]) -> Vec<f32> {
        features
            .chunks(self.dim)
            .flat_map(|row| {
                row.iter()
                    .zip(self.mean.iter().zip(&self.sd))
                    .zip(&self.range)
                    .map(|((v, (m, s)), (lo, hi))| (v.clamp(*lo, *hi) - m) / s)
            })
            .collect()
    }

    fn tensors(&self, d: ZilnData<'_>) -> Result<(Tensor, Tensor, Tensor), AgentError> {
        let n = d.value.len();
        if d.features.len() != n * self.dim || d.bought.len() != n {
            return Err(AgentError::EnvMismatch(format!(
                "ZILN data: {} feature values for {n} customers x {} features",
                d.features.len(),
                self.dim
            )));
        }
        let x = Tensor::from_slice(&self.standardised(d.features))
            .reshape([n as i64, self.dim as i64])
            .to_device(self.device);
        let v: Vec<f32> = d.value.iter().map(|v| (v / self.scale) as f32).collect();
        let b: Vec<f32> = d.bought.iter().map(|b| f32::from(u8::from(*b))).collect();
        Ok((
            x,
            Tensor::from_slice(&v).to_device(self.device),
            Tensor::from_slice(&b).to_device(self.device),
        ))
    }

    /// Expected value over the window (dollars) and probability of buying in it, per row of
    /// `features` (`n x dim`, row-major).
    pub fn predict(&self, features: &[f32]) -> Result<(Vec<f64>, Vec<f64>), AgentError> {
        let n = features.len() / self.dim;
        let x = Tensor::from_slice(&self.standardised(features))
            .reshape([n as i64, self.dim as i64])
            .to_device(self.device);
        let head = tch::no_grad(|| self.net.forward(&x)).to_device(Device::Cpu);
        let p = head.select(1, 0).sigmoid();
        let mu = head.select(1, 1);
        let sigma = head.select(1, 2).softplus() + ZILN_MIN_SIGMA;
        let log_mean = (mu + sigma.square() * 0.5).clamp_max(ZILN_MAX_LOG_MEAN);
        let value = (&p * log_mean.exp() * self.scale).to_kind(Kind::Double);
        let p = p.to_kind(Kind::Double);
        Ok((Vec::<f64>::try_from(&value)?, Vec::<f64>::try_from(&p)?))
    }
}

/// Per-column mean and standard deviation (at least 1e-6) of row-major features.
fn column_moments(features: &[f32], dim: usize) -> (Vec<f32>, Vec<f32>) {
    let n = (features.len() / dim).max(1) as f64;
    let mut sum = vec![0f64; dim];
    let mut sq = vec![0f64; dim];
    for row in features.chunks(dim) {
        for (j, v) in row.iter().enumerate() {
            sum[j] += f64::from(*v);
            sq[j] += f64::from(*v) * f64::from(*v);
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let sd = sq
        .iter()
        .zip(&mean)
        .map(|(q, m)| ((q / n - m * m).max(0.0).sqrt().max(1e-6)) as f32)
        .collect();
    (mean.into_iter().map(|m| m as f32).collect(), sd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use rand_distr::{Distribution, Normal};

    fn softplus(x: f64) -> f64 {
        (1.0 + x.exp()).ln()
    }
    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    #[test]
    fn loss_and_gradients_match_a_hand_computation() {
        // Two customers: one bought 2.5 (scaled), one did not buy.
        let h = [0.3f64, 0.4, -0.2, -1.0, 0.1, 0.5];
        let head = Tensor::from_slice(&h)
            .reshape([2, 3])
            .set_requires_grad(true);
        let value = Tensor::from_slice(&[2.5f64, 0.0]);
        let bought = Tensor::from_slice(&[1.0f64, 0.0]);
        let loss = ziln_loss(&head, &value, &bought);
        loss.backward();
        // By hand, customer 1.
        let (l1, mu, raw) = (h[0], h[1], h[2]);
        let sigma = softplus(raw) + ZILN_MIN_SIGMA;
        let ly = 2.5f64.ln();
        let bce1 = -(sigmoid(l1)).ln();
        let nll = ly
            + sigma.ln()
            + 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (ly - mu).powi(2) / (2.0 * sigma * sigma);
        // Customer 2: buy term only.
        let bce2 = -(1.0 - sigmoid(h[3])).ln();
        let expected = (bce1 + nll + bce2) / 2.0;
        assert!((loss.double_value(&[]) - expected).abs() < 1e-9);
        let g = Vec::<f64>::try_from(head.grad().reshape([-1])).unwrap();
        let d_sigma = 1.0 / sigma - (ly - mu).powi(2) / sigma.powi(3);
        let hand = [
            (sigmoid(l1) - 1.0) / 2.0,
            -(ly - mu) / (sigma * sigma) / 2.0,
            d_sigma * sigmoid(raw) / 2.0,
            sigmoid(h[3]) / 2.0,
            0.0,
            0.0,
        ];
        for (a, b) in g.iter().zip(hand) {
            assert!((a - b).abs() < 1e-9, "{g:?} vs {hand:?}");
        }
    }

    #[test]
    fn recovers_a_known_linear_model() {
        // Buy log-odds 0.5 + 1.0 x1; log value ~ Normal(1.0 + 0.5 x2, 0.4).
        let n = 20_000;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let noise = Normal::new(0.0, 0.4).unwrap();
        let mut features = vec![];
        let mut value = vec![];
        let mut bought = vec![];
        for _ in 0..n {
            let (x1, x2): (f64, f64) = (rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0));
            features.extend([x1 as f32, x2 as f32]);
            let buy = rng.random::<f64>() < sigmoid(0.5 + x1);
            bought.push(buy);
            value.push(if buy {
                (1.0 + 0.5 * x2 + noise.sample(&mut rng)).exp()
            } else {
                0.0
            });
        }
        let split = n * 3 / 4;
        let data = |a: usize, b: usize| ZilnData {
            features: &features[a * 2..b * 2],
            value: &value[a..b],
            bought: &bought[a..b],
        };
        let cfg = ZilnConfig {
            hidden: vec![],
            learning_rate: 1e-2,
            epochs: 60,
            patience: 10,
            ..ZilnConfig::default()
        };
        let (model, log) =
            ZilnModel::fit(data(0, split), data(split, n), 2, &cfg, 3, Device::Cpu).unwrap();
        assert!(log.best_epoch > 1, "{log:?}");
        let probes = [(-1.0f32, -1.0f32), (0.0, 0.0), (1.5, 1.0)];
        let x: Vec<f32> = probes.iter().flat_map(|(a, b)| [*a, *b]).collect();
        let (v, p) = model.predict(&x).unwrap();
        for ((x1, x2), (v, p)) in probes.iter().zip(v.iter().zip(&p)) {
            let tp = sigmoid(0.5 + f64::from(*x1));
            let tv = tp * (1.0 + 0.5 * f64::from(*x2) + 0.08).exp();
            assert!((p - tp).abs() < 0.03, "P(buy) {p} vs {tp} at {x1},{x2}");
            assert!((v - tv).abs() < 0.08 * tv, "value {v} vs {tv} at {x1},{x2}");
        }
    }
}

//! A multilayer perceptron with layer sizes from the config.

use serde::{Deserialize, Serialize};
use tch::Tensor;
use tch::nn::{self, Module};

/// Hidden-layer non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(0, x)`.
    #[default]
    Relu,
    /// `tanh(x)`.
    Tanh,
}

/// Fully connected layers `in_dim -> hidden[0] -> ... -> out_dim`, the activation after every
/// hidden layer and none after the output. Layers are named `l0`, `l1`, ... under the path
/// given to [`Mlp::new`] (weights `l0.weight` `[out, in]`, biases `l0.bias` `[out]`), with
/// tch's default initialisation (Kaiming-uniform weights, uniform biases, as PyTorch).
///
/// With `dueling` (Wang et al. 2016, "Dueling Network Architectures for Deep RL"), the last
/// layer has `out_dim + 1` units, a state value V and advantages A, combined as
/// Q = V + A - mean(A): the small differences between actions are learned apart from the
/// (large, noisy) value of the state.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<nn::Linear>,
    activation: Activation,
    dueling: bool,
}

impl Mlp {
    /// Builds the layers under `path`: `in_dim` inputs, `hidden` units per hidden layer,
    /// `out_dim` outputs.
    pub fn new(
        path: &nn::Path,
        in_dim: i64,
        hidden: &[i64],
        out_dim: i64,
        activation: Activation,
    ) -> Self {
        Self::with_head(path, in_dim, hidden, out_dim, activation, false)
    }

    /// As [`Mlp::new`], with a dueling head when `dueling` (see the type's doc).
    pub fn with_head(
        path: &nn::Path,
        in_dim: i64,
        hidden: &[i64],
        out_dim: i64,
        activation: Activation,
        dueling: bool,
    ) -> Self {
        let last = if dueling { out_dim + 1 } else { out_dim };
        let sizes: Vec<i64> = std::iter::once(in_dim)
            .chain(hidden.iter().copied())
            .chain(std::iter::once(last))
            .collect();
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| nn::linear(path / format!("l{i}"), w[0], w[1], Default::default()))
            .collect();
        Self {
            layers,
            activation,
            dueling,
        }
    }
}

impl Module for Mlp {
    /// # Shapes
    /// `xs`: `[batch, in_dim]` (Float) -> `[batch, out_dim]`.
    fn forward(&self, xs: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        let mut h = xs.shallow_clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h);
            if i < last {
                h = match self.activation {
                    Activation::Relu => h.relu(),
                    Activation::Tanh => h.tanh(),
                };
            }
        }
        if self.dueling {
            let v = h.narrow(1, 0, 1); // [batch, 1]
            let width = h.size()[1];
            let a = h.narrow(1, 1, width - 1); // [batch, out_dim]
            let mean = a.mean_dim(1, true, tch::Kind::Float); // [batch, 1]
            v + a - mean
        } else {
            h
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn shapes_and_names() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let mlp = Mlp::new(&vs.root(), 4, &[8, 6], 2, Activation::Relu);
        let y = mlp.forward(&Tensor::zeros([5, 4], (Kind::Float, Device::Cpu)));
        assert_eq!(y.size(), [5, 2]);
        let mut names: Vec<_> = vs.variables().into_keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "l0.bias",
                "l0.weight",
                "l1.bias",
                "l1.weight",
                "l2.bias",
                "l2.weight"
            ]
        );
        assert_eq!(vs.variables()["l1.weight"].size(), [6, 8]);
    }

    #[test]
    fn dueling_head_is_value_plus_centred_advantage() {
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let mlp = Mlp::with_head(&vs.root(), 3, &[5], 4, Activation::Relu, true);
        assert_eq!(
            vs.variables()["l1.weight"].size(),
            [5, 5],
            "V + 4 advantages"
        );
        let x = Tensor::randn([7, 3], (Kind::Float, Device::Cpu));
        let q = mlp.forward(&x);
        assert_eq!(q.size(), [7, 4]);
        // Q - mean(Q) over actions equals A - mean(A), and mean(Q) = V.
        let plain = Mlp {
            layers: mlp
                .layers
                .iter()
                .map(|l| nn::Linear {
                    ws: l.ws.shallow_clone(),
                    bs: l.bs.as_ref().map(|b| b.shallow_clone()),
                })
                .collect(),
            activation: Activation::Relu,
            dueling: false,
        };
        let raw = plain.forward(&x); // [7, 5]: V then A
        let v = raw.narrow(1, 0, 1);
        let mean_q = q.mean_dim(1, true, Kind::Float);
        assert!(f64::try_from((mean_q - v).abs().max()).unwrap() < 1e-5);
    }
}

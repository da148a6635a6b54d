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
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<nn::Linear>,
    activation: Activation,
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
        let sizes: Vec<i64> = std::iter::once(in_dim)
            .chain(hidden.iter().copied())
            .chain(std::iter::once(out_dim))
            .collect();
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| nn::linear(path / format!("l{i}"), w[0], w[1], Default::default()))
            .collect();
        Self { layers, activation }
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
        h
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
}

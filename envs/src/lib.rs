//! `clv-envs`: the customer population simulator and everything that does not need libtorch.
#![warn(missing_docs)]

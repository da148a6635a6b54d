//! libtorch links and learns: a tiny MLP regression whose loss must fall by a stated factor.
//!
//! One test function on purpose: libtorch's seed is process-global, so tests that seed it must
//! not run concurrently in one binary.

use clv_agents::{DeviceChoice, smoke_regression};

/// The initial MSE is about 2; after 500 Adam steps at lr 1e-2 it must be at most 1/20 of
/// the initial loss (it lands below 1/10,000 on CPU). The same seed gives the same loss.
#[test]
fn small_regression_learns_and_is_reproducible() {
    tch::set_num_threads(1);
    let r = smoke_regression(DeviceChoice::Cpu, 500, 1e-2, 7).unwrap();
    assert!(r.initial_loss.is_finite() && r.final_loss.is_finite());
    assert!(
        r.final_loss <= r.initial_loss / 20.0,
        "loss fell only from {:.4} to {:.4} (need a factor of 20)",
        r.initial_loss,
        r.final_loss
    );
    let a = smoke_regression(DeviceChoice::Cpu, 50, 1e-2, 3).unwrap();
    let b = smoke_regression(DeviceChoice::Cpu, 50, 1e-2, 3).unwrap();
    assert_eq!(a.final_loss, b.final_loss);
}

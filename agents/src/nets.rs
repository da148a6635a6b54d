//! Network pieces every algorithm's update uses: the TD target, hard and Polyak target
//! updates matched by variable name, the global gradient norm and its clipping, and the lock
//! that keeps seeded network initialisation deterministic across threads.

use tch::nn;
use tch::{Kind, Tensor};

use crate::error::AgentError;

/// Added to the gradient norm before dividing by it when clipping (as PyTorch's
/// `clip_grad_norm_`), so a zero norm never divides by zero.
pub const CLIP_EPS: f64 = 1e-6;
/// Added to the observation variance before the square root when normalising.
pub const NORM_EPS: f64 = 1e-8;

/// Serialises seeding libtorch and initialising a network (see [`crate::Dqn::new`]).
pub(crate) static TORCH_INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The TD target `reward + discount * (1 - terminated) * next_value`.
///
/// # Shapes
/// All `[batch]` Float; returns `[batch]`.
pub fn td_target(
    reward: &Tensor,
    discount: &Tensor,
    terminated: &Tensor,
    next_value: &Tensor,
) -> Tensor {
    reward + discount * (1.0 - terminated) * next_value
}

/// Copies `src`'s weights into `dst` (variables matched by name).
pub fn hard_update(dst: &mut nn::VarStore, src: &nn::VarStore) -> Result<(), AgentError> {
    dst.copy(src)?;
    Ok(())
}

/// Polyak averaging `dst <- tau * src + (1 - tau) * dst`, variables matched by name.
pub fn soft_update(dst: &nn::VarStore, src: &nn::VarStore, tau: f64) -> Result<(), AgentError> {
    let src_vars = src.variables();
    tch::no_grad(|| {
        for (name, mut d) in dst.variables() {
            let s = src_vars.get(&name).ok_or_else(|| {
                AgentError::Torch(tch::TchError::TensorNameNotFound(
                    name.clone(),
                    "soft_update source".into(),
                ))
            })?;
            d.f_copy_(&(s * tau + &d * (1.0 - tau)))?;
        }
        Ok(())
    })
}

/// The global L2 norm of the gradients of `vs`'s trainable variables (0 when none is set).
pub fn global_grad_norm(vs: &nn::VarStore) -> Result<f64, AgentError> {
    let mut sq = 0.0f64;
    tch::no_grad(|| -> Result<(), AgentError> {
        for v in vs.trainable_variables() {
            let g = v.grad();
            if g.defined() {
                sq += f64::try_from(g.f_square()?.f_sum(Kind::Double)?)?;
            }
        }
        Ok(())
    })?;
    Ok(sq.sqrt())
}

/// Rescales every gradient of `vs` so that their global L2 norm is at most `max_norm`,
/// given their measured `norm` (as PyTorch's `clip_grad_norm_`, with [`CLIP_EPS`]); `None`:
/// no clipping.
pub fn clip_grad_norm(
    vs: &nn::VarStore,
    norm: f64,
    max_norm: Option<f64>,
) -> Result<(), AgentError> {
    let Some(max) = max_norm.filter(|m| norm > *m) else {
        return Ok(());
    };
    let factor = max / (norm + CLIP_EPS);
    tch::no_grad(|| {
        for v in vs.trainable_variables() {
            let mut g = v.grad();
            if g.defined() {
                let _ = g.f_mul_scalar_(factor)?;
            }
        }
        Ok(())
    })
}

//! Maximum-likelihood fits of BG/NBD and Gamma-Gamma with argmin's Nelder-Mead on the log of
//! the parameters (so they stay positive), restarted from the best point until it stops
//! improving; standard errors from a central-difference Hessian of the log-likelihood.

use std::cell::Cell;

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::neldermead::NelderMead;

use super::error::FitError;
use super::grouped::{BgNbdGroups, SpendGroups};
use super::summary::Summary;
use crate::btyd::{BgNbdParams, GammaGammaParams};

/// Half-width of the box on log-parameters outside which the likelihood is not evaluated
/// (parameters between e^-30 and e^30).
const LOG_PARAM_BOUND: f64 = 30.0;
/// Side of the initial Nelder-Mead simplex, in log-parameter units.
const SIMPLEX_STEP: f64 = 0.5;
/// Side of the simplex of each restart, in log-parameter units.
const RESTART_STEP: f64 = 0.05;
/// Nelder-Mead stops when the standard deviation of the simplex's costs is below this (nats).
const SD_TOLERANCE: f64 = 1e-10;
/// Most Nelder-Mead iterations per run.
const MAX_ITERS: u64 = 20_000;
/// Most restarts from the best point.
const MAX_RESTARTS: usize = 8;
/// A restart that improves the log-likelihood by less than this (nats) ends the search.
const RESTART_IMPROVEMENT: f64 = 1e-8;
/// Step of the central differences of the Hessian, in log-parameter units.
const HESSIAN_STEP: f64 = 1e-3;

/// Range of estimates [`fit_warnings`] takes as identified by the log: outside it an estimate
/// ran off towards the edge of the search (the optimiser searches `exp(-30) .. exp(30)`),
/// which is what a log that cannot tell a parameter does (e.g. one where nobody drops out).
/// The Gamma-Gamma `gamma`, a dollar scale, has no upper bound.
pub const PLAUSIBLE_PARAMS: (f64, f64) = (1e-6, 1e6);

/// Largest standard error, as a multiple of its estimate, that [`fit_warnings`] accepts.
pub const MAX_RELATIVE_STD_ERROR: f64 = 10.0;

/// What to warn about in a fit: each estimate outside [`PLAUSIBLE_PARAMS`] or not finite,
/// and each standard error that is not finite or more than [`MAX_RELATIVE_STD_ERROR`] times
/// its estimate (a flat likelihood: the parameter is not identified). Empty when the fits
/// look identified.
pub fn fit_warnings(bg: &BgNbdFit, gg: &GammaGammaFit) -> Vec<String> {
    let b = (&bg.params, &bg.std_errors);
    let g = (&gg.params, &gg.std_errors);
    let params = [
        ("BG/NBD", "r", b.0.r, b.1.r, true),
        ("BG/NBD", "alpha", b.0.alpha, b.1.alpha, true),
        ("BG/NBD", "a", b.0.a, b.1.a, true),
        ("BG/NBD", "b", b.0.b, b.1.b, true),
        ("Gamma-Gamma", "p", g.0.p, g.1.p, true),
        ("Gamma-Gamma", "q", g.0.q, g.1.q, true),
        ("Gamma-Gamma", "gamma", g.0.gamma, g.1.gamma, false),
    ];
    let (lo, hi) = PLAUSIBLE_PARAMS;
    let mut out = vec![];
    for (model, name, value, se, bounded_above) in params {
        if !value.is_finite() || value < lo || (bounded_above && value > hi) {
            out.push(format!(
                "{model} {name} = {value:e} is outside {lo:e} .. {hi:e}: the estimate ran to the \
                 edge of the search, so the log does not identify it{}",
                if model == "BG/NBD" && (name == "a" || name == "b") {
                    " (does anyone in the log drop out?)"
                } else {
                    ""
                }
            ));
        } else if !se.is_finite() {
            out.push(format!(
                "{model} {name} = {value:e} has a standard error of {se}: the likelihood is flat \
                 there, so the log does not identify it"
            ));
        } else if se > MAX_RELATIVE_STD_ERROR * value {
            out.push(format!(
                "{model} {name} = {value:e} has a standard error of {se:e}, more than \
                 {MAX_RELATIVE_STD_ERROR} times the estimate: the log hardly identifies it"
            ));
        }
    }
    out
}

/// A fitted BG/NBD model.
#[derive(Debug, Clone, PartialEq)]
pub struct BgNbdFit {
    /// The estimates, in the summary's period unit.
    pub params: BgNbdParams,
    /// Standard errors, in the same layout and unit as `params`.
    pub std_errors: BgNbdParams,
    /// Asymptotic covariance of (ln r, ln alpha, ln a, ln b) (unit-free: a change of period
    /// unit shifts ln alpha by a constant); `None` where the information matrix is not
    /// positive definite.
    pub log_covariance: Option<Vec<Vec<f64>>>,
    /// Maximised log-likelihood, nats.
    pub log_likelihood: f64,
    /// Customers in the fit.
    pub customers: usize,
    /// Objective evaluations the optimiser made (all restarts).
    pub evaluations: u64,
}

/// A fitted Gamma-Gamma model.
#[derive(Debug, Clone, PartialEq)]
pub struct GammaGammaFit {
    /// The estimates (dollars).
    pub params: GammaGammaParams,
    /// Standard errors, in the same layout as `params`.
    pub std_errors: GammaGammaParams,
    /// Asymptotic covariance of (ln p, ln q, ln gamma); `None` where the information matrix
    /// is not positive definite.
    pub log_covariance: Option<Vec<Vec<f64>>>,
    /// Maximised log-likelihood, nats.
    pub log_likelihood: f64,
    /// Customers in the fit (those with at least one repeat purchase and positive spend).
    pub customers: usize,
    /// Customers with repeat purchases left out because their mean repeat spend is 0.
    pub zero_spend_excluded: usize,
    /// Objective evaluations the optimiser made (all restarts).
    pub evaluations: u64,
}

/// Fits BG/NBD to the calibration summary by maximum likelihood, from r = alpha = a = b = 1.
///
/// # Errors
/// [`FitError::NotEnoughData`] when no customer made a repeat purchase (a and b are then not
/// identified), [`FitError::Optimiser`] when Nelder-Mead fails.
pub fn fit_bgnbd(summary: &Summary) -> Result<BgNbdFit, FitError> {
    const MODEL: &str = "BG/NBD";
    let (x, t_x, big_t) = summary.xs_txs_ts();
    if !x.iter().any(|&x| x > 0.0) {
        return Err(FitError::NotEnoughData {
            model: MODEL,
            detail: "no customer made a repeat purchase in the calibration period".into(),
        });
    }
    let groups = BgNbdGroups::new(&x, &t_x, &big_t);
    let ll = |theta: &[f64]| {
        let p = BgNbdParams {
            r: theta[0],
            alpha: theta[1],
            a: theta[2],
            b: theta[3],
        };
        groups.log_likelihood(&p)
    };
    let m = maximise(MODEL, &ll, &[0.0; 4])?;
    let to_params = |v: &[f64]| BgNbdParams {
        r: v[0],
        alpha: v[1],
        a: v[2],
        b: v[3],
    };
    Ok(BgNbdFit {
        params: to_params(&m.theta),
        std_errors: to_params(&m.std_errors),
        log_covariance: m.log_covariance,
        log_likelihood: m.log_likelihood,
        customers: x.len(),
        evaluations: m.evaluations,
    })
}

/// Fits Gamma-Gamma by maximum likelihood to the mean repeat spend of the customers with at
/// least one repeat purchase (those whose repeat purchases total 0 dollars are left out and
/// counted), from p = q = gamma = 1.
///
/// # Errors
/// [`FitError::NotEnoughData`] with fewer than 3 such customers, [`FitError::Optimiser`] when
/// Nelder-Mead fails.
pub fn fit_gamma_gamma(summary: &Summary) -> Result<GammaGammaFit, FitError> {
    const MODEL: &str = "Gamma-Gamma";
    let repeaters: Vec<_> = summary.customers.iter().filter(|c| c.x > 0.0).collect();
    let (x, m): (Vec<f64>, Vec<f64>) = repeaters
        .iter()
        .filter(|c| c.mean_repeat_spend() > 0.0)
        .map(|c| (c.x, c.mean_repeat_spend()))
        .unzip();
    let zero_spend_excluded = repeaters.len() - x.len();
    if x.len() < 3 {
        return Err(FitError::NotEnoughData {
            model: MODEL,
            detail: format!(
                "{} customers with repeat purchases of positive value; at least 3 are needed",
                x.len()
            ),
        });
    }
    let groups = SpendGroups::new(&x, &m);
    let ll = |theta: &[f64]| {
        let g = GammaGammaParams {
            p: theta[0],
            q: theta[1],
            gamma: theta[2],
        };
        groups.log_likelihood(&g)
    };
    let fit = maximise(MODEL, &ll, &[0.0; 3])?;
    let to_params = |v: &[f64]| GammaGammaParams {
        p: v[0],
        q: v[1],
        gamma: v[2],
    };
    Ok(GammaGammaFit {
        params: to_params(&fit.theta),
        std_errors: to_params(&fit.std_errors),
        log_covariance: fit.log_covariance,
        log_likelihood: fit.log_likelihood,
        customers: x.len(),
        zero_spend_excluded,
        evaluations: fit.evaluations,
    })
}

/// The result of [`maximise`], on the natural scale.
struct Maximum {
    theta: Vec<f64>,
    std_errors: Vec<f64>,
    /// Asymptotic covariance of the log-parameters (inverse of minus the Hessian), `None`
    /// where that matrix is not positive definite.
    log_covariance: Option<Vec<Vec<f64>>>,
    log_likelihood: f64,
    evaluations: u64,
}

/// The negative log-likelihood on log-parameters, as argmin minimises it.
struct NegLogLik<'a, F: Fn(&[f64]) -> f64> {
    ll: &'a F,
    /// Evaluations so far.
    evaluations: &'a Cell<u64>,
}

impl<F: Fn(&[f64]) -> f64> CostFunction for NegLogLik<'_, F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, log_theta: &Self::Param) -> Result<f64, argmin::core::Error> {
        self.evaluations.set(self.evaluations.get() + 1);
        Ok(neg_log_lik(self.ll, log_theta))
    }
}

/// -ll(exp(log_theta)); f64::MAX outside the box or where the likelihood is not finite, so that
/// Nelder-Mead steps back.
fn neg_log_lik(ll: &impl Fn(&[f64]) -> f64, log_theta: &[f64]) -> f64 {
    if log_theta
        .iter()
        .any(|v| !v.is_finite() || v.abs() > LOG_PARAM_BOUND)
    {
        return f64::MAX;
    }
    let theta: Vec<f64> = log_theta.iter().map(|v| v.exp()).collect();
    let value = -ll(&theta);
    if value.is_finite() { value } else { f64::MAX }
}

/// Maximises `ll` over positive parameters from `exp(start_log)`; standard errors by the
/// delta method from the Hessian in log-parameters (at the maximum, SE(theta_i) =
/// theta_i SE(ln theta_i)).
fn maximise(
    model: &'static str,
    ll: &impl Fn(&[f64]) -> f64,
    start_log: &[f64],
) -> Result<Maximum, FitError> {
    let mut best = start_log.to_vec();
    let mut best_cost = neg_log_lik(ll, &best);
    let mut evaluations = 0;
    for run in 0..=MAX_RESTARTS {
        let step = if run == 0 { SIMPLEX_STEP } else { RESTART_STEP };
        let (point, cost, evals) = nelder_mead(model, ll, &best, step)?;
        evaluations += evals;
        let improvement = best_cost - cost;
        if cost <= best_cost {
            best = point;
            best_cost = cost;
        }
        if run > 0 && improvement < RESTART_IMPROVEMENT {
            break;
        }
    }
    if best_cost == f64::MAX {
        return Err(FitError::Optimiser {
            model,
            message: "the log-likelihood is not finite anywhere the optimiser looked".into(),
        });
    }
    let theta: Vec<f64> = best.iter().map(|v| v.exp()).collect();
    let log_covariance = log_covariance(ll, &best);
    let log_ses: Vec<f64> = match &log_covariance {
        Some(c) => (0..theta.len()).map(|i| c[i][i].sqrt()).collect(),
        None => vec![f64::NAN; theta.len()],
    };
    let std_errors = theta.iter().zip(&log_ses).map(|(t, s)| t * s).collect();
    Ok(Maximum {
        theta,
        std_errors,
        log_covariance,
        log_likelihood: -best_cost,
        evaluations,
    })
}

/// One Nelder-Mead run from `start` with a simplex of side `step`: (best point, its cost,
/// evaluations).
fn nelder_mead(
    model: &'static str,
    ll: &impl Fn(&[f64]) -> f64,
    start: &[f64],
    step: f64,
) -> Result<(Vec<f64>, f64, u64), FitError> {
    let fail = |e: argmin::core::Error| FitError::Optimiser {
        model,
        message: e.to_string(),
    };
    let mut simplex = vec![start.to_vec()];
    for i in 0..start.len() {
        let mut v = start.to_vec();
        v[i] += step;
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(SD_TOLERANCE)
        .map_err(fail)?;
    let evaluations = Cell::new(0);
    let problem = NegLogLik {
        ll,
        evaluations: &evaluations,
    };
    let result = Executor::new(problem, solver)
        .configure(|state| state.max_iters(MAX_ITERS))
        .run()
        .map_err(fail)?;
    let state = result.state();
    let point = state
        .get_best_param()
        .cloned()
        .ok_or_else(|| FitError::Optimiser {
            model,
            message: "no best point".into(),
        })?;
    Ok((point, state.get_best_cost(), evaluations.get()))
}

/// Asymptotic covariance of the log-parameters: the inverse of minus the central-difference
/// Hessian of `ll` in log-parameters; `None` where that matrix is not positive definite.
#[allow(clippy::needless_range_loop)] // a symmetric fill: (i, j) and (j, i) together
fn log_covariance(ll: &impl Fn(&[f64]) -> f64, at: &[f64]) -> Option<Vec<Vec<f64>>> {
    let n = at.len();
    let f = |v: &[f64]| -neg_log_lik(ll, v);
    let h = HESSIAN_STEP;
    let shifted = |moves: &[(usize, f64)]| {
        let mut v = at.to_vec();
        for &(i, d) in moves {
            v[i] += d;
        }
        f(&v)
    };
    let f0 = f(at);
    let mut info = vec![vec![0.0; n]; n]; // minus the Hessian
    for i in 0..n {
        info[i][i] = -(shifted(&[(i, h)]) - 2.0 * f0 + shifted(&[(i, -h)])) / (h * h);
        for j in 0..i {
            let d = shifted(&[(i, h), (j, h)])
                - shifted(&[(i, h), (j, -h)])
                - shifted(&[(i, -h), (j, h)])
                + shifted(&[(i, -h), (j, -h)]);
            info[i][j] = -d / (4.0 * h * h);
            info[j][i] = info[i][j];
        }
    }
    cholesky_inverse(&info)
}

/// The inverse of a symmetric positive definite matrix by its Cholesky factor; `None` where
/// the matrix is not positive definite.
pub(crate) fn cholesky_inverse(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let l = cholesky(m)?;
    // Column i of L^-1 solves L y = e_i; inverse(M) = (L^-1)^T L^-1.
    let cols: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut y = vec![0.0; n];
            for r in i..n {
                let rhs = if r == i { 1.0 } else { 0.0 };
                let s: f64 = (i..r).map(|k| l[r][k] * y[k]).sum();
                y[r] = (rhs - s) / l[r][r];
            }
            y
        })
        .collect();
    Some(
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| cols[i].iter().zip(&cols[j]).map(|(a, b)| a * b).sum())
                    .collect()
            })
            .collect(),
    )
}

/// The lower Cholesky factor L of a symmetric positive definite matrix (M = L L^T); `None`
/// where the matrix is not positive definite (or not finite).
pub(crate) fn cholesky(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = m[i][i] - s;
                if !(d.is_finite() && d > 0.0) {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (m[i][j] - s) / l[j][j];
                if !l[i][j].is_finite() {
                    return None;
                }
            }
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_diagonal_of_a_known_matrix() {
        // [[4, 2], [2, 3]]^-1 = [[3, -2], [-2, 4]] / 8.
        let d = cholesky_inverse(&[vec![4.0, 2.0], vec![2.0, 3.0]]).unwrap();
        assert!((d[0][0] - 3.0 / 8.0).abs() < 1e-14 && (d[1][1] - 0.5).abs() < 1e-14);
        assert!((d[0][1] + 2.0 / 8.0).abs() < 1e-14 && (d[1][0] + 2.0 / 8.0).abs() < 1e-14);
        assert!(cholesky_inverse(&[vec![1.0, 2.0], vec![2.0, 1.0]]).is_none());
    }

    #[test]
    fn maximises_a_gaussian_log_likelihood() {
        // ll = -sum (theta_i - c_i)^2 / (2 s_i^2): maximum at c, SE(theta_i) = s_i.
        let c = [2.0, 0.5];
        let s = [0.1, 0.02];
        let ll = |t: &[f64]| {
            -(0..2)
                .map(|i| (t[i] - c[i]).powi(2) / (2.0 * s[i] * s[i]))
                .sum::<f64>()
        };
        let m = maximise("test", &ll, &[0.0, 0.0]).unwrap();
        for i in 0..2 {
            assert!((m.theta[i] - c[i]).abs() < 1e-5, "{:?}", m.theta);
            assert!(
                (m.std_errors[i] / s[i] - 1.0).abs() < 1e-3,
                "{:?}",
                m.std_errors
            );
        }
    }
}

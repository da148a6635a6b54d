//! The estimation uncertainty of a fitted population (`population.uncertainty`, written by
//! `clv fit`): asymptotic normal covariances of the log-parameters of BG/NBD and
//! Gamma-Gamma, and draws of the population parameters from them (`compare
//! --parameter-draws`).

use serde::{Deserialize, Serialize};

use super::Scenario;
use crate::error::{Result, invalid};
use crate::fit::cholesky;
use crate::rng::{KeyedRng, mix64, normal_inv};

/// Asymptotic normal covariances of the fitted log-parameters (the inverse of minus the
/// Hessian of the log-likelihood at the maximum, in log-parameters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterUncertainty {
    /// Covariance of (ln r, ln alpha, ln a, ln b) of `population.bgnbd`, 4 x 4 (unit-free: a
    /// change of time unit shifts ln alpha by a constant); `None`: not estimated.
    pub bgnbd_log_covariance: Option<Vec<Vec<f64>>>,
    /// Covariance of (ln p, ln q, ln gamma) of `population.spend`, 3 x 3; `None`: not
    /// estimated.
    pub spend_log_covariance: Option<Vec<Vec<f64>>>,
    /// Customers of the log the estimates come from.
    pub customers: u64,
}

/// Tag mixed into the key of a parameter draw's random stream.
const DRAW_TAG: u64 = 0x5041_5241_4d44_5257;

/// Largest relative asymmetry |C_ij - C_ji| / sqrt(C_ii C_jj) a covariance may carry (the
/// rounding of a written file).
const SYMMETRY_TOLERANCE: f64 = 1e-6;

impl ParameterUncertainty {
    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        if let Some(c) = &self.bgnbd_log_covariance {
            check_covariance(&format!("{f}.bgnbd_log_covariance"), c, 4)?;
        }
        if let Some(c) = &self.spend_log_covariance {
            check_covariance(&format!("{f}.spend_log_covariance"), c, 3)?;
        }
        if self.customers == 0 {
            return Err(invalid(format!("{f}.customers"), "must be at least 1"));
        }
        Ok(())
    }

    /// `scenario` with its BG/NBD and Gamma-Gamma parameters drawn from their asymptotic
    /// normal distribution in log-parameters, centred on the scenario's values: draw `draw`
    /// of a deterministic sequence (the same draw for the same number, on any machine).
    /// Parameters without a covariance are kept.
    ///
    /// # Errors
    /// When the drawn scenario does not validate (a draw far in a tail), naming the draw.
    pub fn draw(&self, scenario: &Scenario, draw: u64) -> Result<Scenario> {
        let mut rng = KeyedRng::from_key(mix64(DRAW_TAG ^ mix64(draw)));
        let mut s = scenario.clone();
        let bg = &mut s.population.bgnbd;
        if let Some(c) = &self.bgnbd_log_covariance {
            let v = correlated_log_normal(c, &[bg.r, bg.alpha, bg.a, bg.b], &mut rng)?;
            (bg.r, bg.alpha, bg.a, bg.b) = (v[0], v[1], v[2], v[3]);
        }
        let gg = &mut s.population.spend;
        if let Some(c) = &self.spend_log_covariance {
            let v = correlated_log_normal(c, &[gg.p, gg.q, gg.gamma], &mut rng)?;
            (gg.p, gg.q, gg.gamma) = (v[0], v[1], v[2]);
        }
        s.validate().map_err(|e| {
            invalid(
                "population.uncertainty",
                format!("parameter draw {draw} does not validate: {e}"),
            )
        })?;
        Ok(s)
    }
}

/// `centre` times exp(L z), z standard normal, L the Cholesky factor of `cov`.
fn correlated_log_normal(cov: &[Vec<f64>], centre: &[f64], rng: &mut KeyedRng) -> Result<Vec<f64>> {
    let l = cholesky(cov).ok_or_else(|| {
        invalid(
            "population.uncertainty",
            "a covariance is not positive definite",
        )
    })?;
    let z: Vec<f64> = centre.iter().map(|_| normal_inv(rng.uniform())).collect();
    Ok(centre
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let shift: f64 = (0..=i).map(|k| l[i][k] * z[k]).sum();
            c * shift.exp()
        })
        .collect())
}

/// Checks that `c` is an `n` x `n` finite, symmetric, positive definite matrix.
fn check_covariance(field: &str, c: &[Vec<f64>], n: usize) -> Result<()> {
    if c.len() != n || c.iter().any(|row| row.len() != n) {
        return Err(invalid(field, format!("must be a {n} x {n} matrix")));
    }
    if c.iter().flatten().any(|v| !v.is_finite()) {
        return Err(invalid(field, "holds a value that is not finite"));
    }
    for i in 0..n {
        for j in 0..i {
            let scale = (c[i][i] * c[j][j]).abs().sqrt().max(f64::MIN_POSITIVE);
            if (c[i][j] - c[j][i]).abs() > SYMMETRY_TOLERANCE * scale {
                return Err(invalid(
                    field,
                    format!(
                        "is not symmetric: [{i}][{j}] = {} but [{j}][{i}] = {}",
                        c[i][j], c[j][i]
                    ),
                ));
            }
        }
    }
    if cholesky(c).is_none() {
        return Err(invalid(field, "is not positive definite"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uncertainty() -> ParameterUncertainty {
        ParameterUncertainty {
            bgnbd_log_covariance: Some(vec![
                vec![0.01, 0.008, 0.0, 0.0],
                vec![0.008, 0.012, 0.0, 0.0],
                vec![0.0, 0.0, 0.09, 0.05],
                vec![0.0, 0.0, 0.05, 0.16],
            ]),
            spend_log_covariance: Some(vec![
                vec![0.02, 0.0, 0.0],
                vec![0.0, 0.03, 0.02],
                vec![0.0, 0.02, 0.04],
            ]),
            customers: 2357,
        }
    }

    #[test]
    fn draws_have_the_stated_log_covariance() {
        // 4,000 draws: sample variances and a correlation within 10% / 0.05 of the stated
        // ones (standard errors about 2% and 0.016), the mean of ln r within 4 standard
        // errors of the centre.
        let u = uncertainty();
        let s = Scenario::default();
        let n = 4000;
        let logs: Vec<[f64; 4]> = (0..n)
            .map(|d| {
                let b = u.draw(&s, d).unwrap().population.bgnbd;
                let c = &s.population.bgnbd;
                [
                    (b.r / c.r).ln(),
                    (b.alpha / c.alpha).ln(),
                    (b.a / c.a).ln(),
                    (b.b / c.b).ln(),
                ]
            })
            .collect();
        let mean = |k: usize| logs.iter().map(|v| v[k]).sum::<f64>() / n as f64;
        let cov = |i: usize, j: usize| {
            let (mi, mj) = (mean(i), mean(j));
            logs.iter().map(|v| (v[i] - mi) * (v[j] - mj)).sum::<f64>() / (n - 1) as f64
        };
        let c = u.bgnbd_log_covariance.as_ref().unwrap();
        for (k, row) in c.iter().enumerate() {
            assert!(
                (cov(k, k) / row[k] - 1.0).abs() < 0.1,
                "var {k}: {}",
                cov(k, k)
            );
        }
        let corr = cov(0, 1) / (cov(0, 0) * cov(1, 1)).sqrt();
        let want = 0.008 / (0.01f64 * 0.012).sqrt();
        assert!((corr - want).abs() < 0.05, "{corr} vs {want}");
        assert!(
            mean(0).abs() < 4.0 * (0.01 / n as f64).sqrt(),
            "{}",
            mean(0)
        );
        // Deterministic: the same draw number, the same parameters.
        assert_eq!(u.draw(&s, 7).unwrap(), u.draw(&s, 7).unwrap());
        assert_ne!(u.draw(&s, 7).unwrap(), u.draw(&s, 8).unwrap());
    }

    #[test]
    fn bad_covariances_are_refused_naming_the_field() {
        let bad = |u: ParameterUncertainty, says: &str| {
            let e = u
                .validate("population.uncertainty")
                .unwrap_err()
                .to_string();
            assert!(e.contains(says), "{e}");
        };
        let mut u = uncertainty();
        u.bgnbd_log_covariance.as_mut().unwrap()[0][1] = 0.5;
        bad(u, "bgnbd_log_covariance");
        let mut u = uncertainty();
        u.spend_log_covariance = Some(vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
        bad(u, "3 x 3");
        let mut u = uncertainty();
        u.spend_log_covariance.as_mut().unwrap()[2][2] = -1.0;
        bad(u, "positive definite");
        let mut u = uncertainty();
        u.bgnbd_log_covariance.as_mut().unwrap()[1][1] = f64::NAN;
        bad(u, "not finite");
        uncertainty().validate("population.uncertainty").unwrap();
    }
}

//! `compare --parameter-draws N`: the comparison re-run over N draws of the fitted population
//! parameters (BG/NBD and Gamma-Gamma, asymptotic normal in log-parameters, from the
//! scenario's `population.uncertainty`), on the same customers and random streams, so that a
//! reported interval covers estimation uncertainty as well as simulation noise, and says how
//! much of it is which.

use std::fmt::Write as _;
use std::path::Path;

use clv_envs::metrics::{mean_ci, paired_diff};
use clv_envs::{EvalResult, Policy, Scenario, SeedDomain, Start};
use serde::{Deserialize, Serialize};

use crate::evaluation::evaluate_policies;

/// Most draws `--parameter-draws` accepts.
pub const MAX_PARAMETER_DRAWS: u32 = 10_000;

/// z of a two-sided 95% normal interval.
const Z95: f64 = 1.959_963_984_540_054;

/// What the draws showed, per policy (`comparison.json` `parameter_draws`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParameterDraws {
    /// Draws of the population parameters.
    pub draws: u32,
    /// How the parameters were drawn, in words.
    pub method: String,
    /// Customers of the log the estimates come from.
    pub fitted_customers: u64,
    /// What repeated seeds mean here (warm starts reuse the same real customers).
    pub note: String,
    /// One row per policy shown, in the comparison's order.
    pub policies: Vec<PolicyUncertainty>,
}

/// A policy's CLV and paired difference to the reference, with their uncertainty split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyUncertainty {
    /// Policy spec.
    pub policy: String,
    /// Mean realised CLV per customer, dollars.
    pub clv: Split,
    /// Paired CLV difference to the reference policy per customer, dollars.
    pub diff_vs_reference: Split,
}

/// A figure at the fitted parameters, and how uncertain it is from simulation noise alone,
/// from the parameter estimates, and from both.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Split {
    /// At the fitted parameters (the comparison's own figure), dollars.
    pub mean: f64,
    /// Standard error from simulation noise (over customers, at the fitted parameters).
    pub simulation_se: f64,
    /// Standard deviation of the figure over the parameter draws (estimation uncertainty;
    /// with common random numbers the draws share their simulation noise, so little of it
    /// enters here).
    pub parameter_sd: f64,
    /// 95% interval from simulation noise alone: mean +- 1.96 simulation_se.
    pub ci95_simulation: [f64; 2],
    /// 95% interval from both: mean +- 1.96 sqrt(simulation_se^2 + parameter_sd^2).
    pub ci95_total: [f64; 2],
    /// 2.5% and 97.5% quantiles of the figure over the draws.
    pub draws_quantiles95: [f64; 2],
    /// Share of the total variance that comes from the parameter estimates (0..1).
    pub parameter_share: f64,
    /// Half-width of the total interval over that of simulation noise alone (`None` where
    /// simulation noise is 0, e.g. the reference against itself).
    pub widening: Option<f64>,
}

impl Split {
    /// The split of a figure `mean` with simulation standard error `se` whose values over the
    /// parameter draws are `draws`.
    fn new(mean: f64, se: f64, draws: &[f64]) -> Split {
        let sd = sample_sd(draws);
        let total = (se * se + sd * sd).sqrt();
        let mut sorted = draws.to_vec();
        sorted.sort_by(f64::total_cmp);
        Split {
            mean,
            simulation_se: se,
            parameter_sd: sd,
            ci95_simulation: [mean - Z95 * se, mean + Z95 * se],
            ci95_total: [mean - Z95 * total, mean + Z95 * total],
            draws_quantiles95: [quantile(&sorted, 0.025), quantile(&sorted, 0.975)],
            parameter_share: if total > 0.0 {
                sd * sd / (total * total)
            } else {
                0.0
            },
            widening: (se > 0.0).then(|| total / se),
        }
    }
}

/// Sample standard deviation (0 for fewer than two values).
fn sample_sd(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// The `q` quantile of `sorted` (linear interpolation between order statistics).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = q * (n - 1) as f64;
            let (lo, frac) = (h.floor() as usize, h - h.floor());
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + frac * (sorted[hi] - sorted[lo])
        }
    }
}

/// Checks that `scenario` can be drawn from (before any work): it must carry
/// `population.uncertainty`.
pub fn check(scenario: &Scenario, draws: u32) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_PARAMETER_DRAWS).contains(&draws),
        "--parameter-draws must be in 1..={MAX_PARAMETER_DRAWS}, got {draws}"
    );
    let u = scenario.population.uncertainty.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "--parameter-draws {draws}: scenario `{}` carries no estimate covariance (population.uncertainty): write the scenario with `clv fit`, which stores it",
            scenario.name
        )
    })?;
    // Every draw is checked here (drawing is cheap), so that a draw far in a tail fails
    // before the comparison runs and nothing is written.
    for d in 0..draws {
        u.draw(scenario, u64::from(d))
            .map_err(|e| anyhow::anyhow!("--parameter-draws {draws}: {e}"))?;
    }
    Ok(())
}

/// One policy's figures in one draw: (CLV mean, paired difference to the reference).
type DrawFigures = Vec<(f64, f64)>;

/// Runs the draws and splits each shown policy's uncertainty. `base` holds the comparison's
/// results at the fitted parameters; `shown` the positions of the policies reported;
/// `progress(k)` is called with the periods done within the draws; `on_draw(d, scenario,
/// figures)` gets each draw's parameters and figures (for parameter_draws.csv).
#[allow(clippy::too_many_arguments)]
pub fn run(
    scenario: &Scenario,
    base_dir: &Path,
    domain: SeedDomain,
    seeds: &[u64],
    customers: u64,
    draws: u32,
    policies: &mut [Box<dyn Policy>],
    base: &[EvalResult],
    shown: &[usize],
    reference: usize,
    progress: &dyn Fn(u64),
    on_draw: &mut dyn FnMut(u32, &Scenario, &DrawFigures),
) -> anyhow::Result<ParameterDraws> {
    let u = scenario
        .population
        .uncertainty
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the scenario carries no population.uncertainty"))?;
    let per_draw = scenario.horizon as u64 * seeds.len() as u64 * policies.len() as u64;
    let mut figures: Vec<DrawFigures> = Vec::with_capacity(draws as usize);
    for d in 0..draws {
        let drawn = u.draw(scenario, d as u64)?;
        let done = d as u64 * per_draw;
        let results =
            evaluate_policies(&drawn, base_dir, domain, seeds, customers, policies, &|k| {
                progress(done + k)
            })?;
        let f: DrawFigures = shown
            .iter()
            .map(|i| {
                let clv = mean_ci(results[*i].clv.iter().copied()).mean;
                let diff = paired_diff(&results[*i].clv, &results[reference].clv, None).mean;
                (clv, diff)
            })
            .collect();
        on_draw(d, &drawn, &f);
        figures.push(f);
    }
    let policies = shown
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let clv = mean_ci(base[*i].clv.iter().copied());
            let diff = paired_diff(&base[*i].clv, &base[reference].clv, None);
            let clvs: Vec<f64> = figures.iter().map(|f| f[k].0).collect();
            let diffs: Vec<f64> = figures.iter().map(|f| f[k].1).collect();
            PolicyUncertainty {
                policy: base[*i].policy.clone(),
                clv: Split::new(clv.mean, clv.se, &clvs),
                diff_vs_reference: Split::new(diff.mean, diff.se, &diffs),
            }
        })
        .collect();
    let note = match &scenario.start {
        Start::WarmStart { .. } => format!(
            "warm start: every seed starts from the same {} real customers' histories (hidden traits redrawn), so more seeds shrink simulation noise but add no new customers; the parameter draws are the uncertainty about the population those customers come from",
            u.customers
        ),
        _ => "each seed draws new customers from the (drawn) population".to_string(),
    };
    Ok(ParameterDraws {
        draws,
        method: "asymptotic normal in log-parameters (the inverse of minus the Hessian of the log-likelihood at the maximum, stored by clv fit as population.uncertainty); every draw on the same customers and random streams as the comparison".into(),
        fitted_customers: u.customers,
        note,
        policies,
    })
}

/// The console lines of the draws.
pub fn table(p: &ParameterDraws, reference: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "parameter uncertainty: {} draws of the fitted BG/NBD and Gamma-Gamma parameters ({} customers); {}",
        p.draws, p.fitted_customers, p.note
    );
    let w = p
        .policies
        .iter()
        .map(|r| r.policy.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        s,
        "{:<w$}  {:>9}  {:>21}  {:>21}  {:>11}  {:>8}",
        "policy",
        format!("vs {reference}"),
        "95% CI simulation",
        "95% CI sim + params",
        "param share",
        "widening"
    );
    for r in &p.policies {
        let d = &r.diff_vs_reference;
        let _ = writeln!(
            s,
            "{:<w$}  {:>+9.2}  {:>+9.2} .. {:>+8.2}  {:>+9.2} .. {:>+8.2}  {:>10.0}%  {:>8}",
            r.policy,
            d.mean,
            d.ci95_simulation[0],
            d.ci95_simulation[1],
            d.ci95_total[0],
            d.ci95_total[1],
            100.0 * d.parameter_share,
            d.widening.map_or("-".to_string(), |v| format!("{v:.2}x")),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_adds_variances() {
        // Draws with sd 2 around 1; simulation se 1.5: total sd 2.5.
        let draws = [-1.0, 3.0, -1.0, 3.0];
        let sd = sample_sd(&draws);
        assert!((sd - (16.0f64 / 3.0).sqrt()).abs() < 1e-12);
        let s = Split::new(1.0, 1.5, &draws);
        let total = (1.5f64 * 1.5 + sd * sd).sqrt();
        assert!((s.ci95_total[1] - (1.0 + Z95 * total)).abs() < 1e-12);
        assert!((s.ci95_simulation[0] - (1.0 - Z95 * 1.5)).abs() < 1e-12);
        assert!((s.parameter_share - sd * sd / (total * total)).abs() < 1e-12);
        assert!((s.widening.unwrap() - total / 1.5).abs() < 1e-12);
        assert_eq!(s.draws_quantiles95, [-1.0, 3.0]);
        // No parameter spread: the total is the simulation interval.
        let s = Split::new(0.5, 0.2, &[0.5, 0.5, 0.5]);
        assert_eq!(s.ci95_total, s.ci95_simulation);
        assert_eq!(s.parameter_share, 0.0);
    }

    #[test]
    fn quantiles_interpolate() {
        let v: Vec<f64> = (0..=100).map(f64::from).collect();
        assert!((quantile(&v, 0.025) - 2.5).abs() < 1e-12);
        assert!((quantile(&v, 0.975) - 97.5).abs() < 1e-12);
        assert_eq!(quantile(&[4.0], 0.3), 4.0);
    }
}

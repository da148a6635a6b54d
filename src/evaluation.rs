//! Evaluating several policies on the same customers and random streams (common random
//! numbers), over one or more seeds, and summarising them against a reference.

use std::path::Path;

use clv_envs::metrics::{SEGMENTS, paired_diff};
use clv_envs::{EvalResult, Policy, Population, Scenario, SeedDomain, Summary};
use serde::{Deserialize, Serialize};

/// Largest start population (estimated bytes) a comparison keeps to clone for each policy;
/// a bigger one is rebuilt from its seed for each policy instead (the same customers and
/// random streams, so identical results), so that only one population is in memory at a
/// time: 10 million customers fit in 2 GB.
pub const CLONE_LIMIT_BYTES: u64 = 1 << 30;

/// Runs every policy on the populations of `seeds` (each policy on a copy of the same start
/// state), returning one merged result per policy in input order.
pub fn evaluate_policies(
    scenario: &Scenario,
    base_dir: &Path,
    domain: SeedDomain,
    seeds: &[u64],
    customers: u64,
    policies: &mut [Box<dyn Policy>],
    progress: &dyn Fn(u64),
) -> anyhow::Result<Vec<EvalResult>> {
    let rebuild = clv_envs::scenario::estimate_bytes(customers) > CLONE_LIMIT_BYTES;
    evaluate_policies_with(
        scenario, base_dir, domain, seeds, customers, policies, progress, rebuild,
    )
}

/// [`evaluate_policies`], rebuilding the start population for each policy where `rebuild`
/// (else cloning it).
#[allow(clippy::too_many_arguments)]
pub fn evaluate_policies_with(
    scenario: &Scenario,
    base_dir: &Path,
    domain: SeedDomain,
    seeds: &[u64],
    customers: u64,
    policies: &mut [Box<dyn Policy>],
    progress: &dyn Fn(u64),
    rebuild: bool,
) -> anyhow::Result<Vec<EvalResult>> {
    clv_envs::scenario::check_memory(customers, if rebuild { 1 } else { 2 })?;
    let mut results: Vec<Option<EvalResult>> = (0..policies.len()).map(|_| None).collect();
    let mut done = 0u64;
    for seed in seeds {
        let build = || Population::new(scenario, domain, *seed, customers, base_dir);
        let start = if rebuild { None } else { Some(build()?) };
        for (p, slot) in policies.iter_mut().zip(results.iter_mut()) {
            let mut pop = match &start {
                Some(s) => s.clone(),
                None => build()?,
            };
            let r = pop.evaluate(p.as_mut(), &|t| progress(done + t as u64));
            drop(pop);
            done += scenario.horizon as u64;
            match slot {
                Some(acc) => acc.append(r),
                None => *slot = Some(r),
            }
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every policy ran"))
        .collect())
}

/// A mean difference with its 95% interval.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Diff {
    /// Mean paired difference per customer, dollars.
    pub mean: f64,
    /// 95% interval (per comparison, unadjusted for multiple comparisons).
    pub ci95: [f64; 2],
}

/// One policy's row of a comparison (overall or for one segment), as `comparison.json`
/// holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyReport {
    /// Policy spec.
    pub policy: String,
    /// Summary statistics.
    #[serde(flatten)]
    pub summary: Summary,
    /// Paired CLV difference to the reference policy.
    pub diff_vs_reference: Diff,
    /// Paired 52-week CLV difference to the reference policy.
    pub diff52_vs_reference: Diff,
    /// Purchases per customer over `none`.
    pub incremental_purchases_vs_none: Option<f64>,
    /// Gross margin per customer over `none`, undiscounted dollars.
    pub incremental_margin_vs_none: Option<f64>,
    /// Return on marketing spend: incremental margin over `none` / marketing cost.
    pub return_on_marketing_spend: Option<f64>,
}

/// Builds the report of policy `i` against `reference` (index) and `none` (index, if run),
/// over all customers (`segment = None`) or one segment.
pub fn report(
    results: &[EvalResult],
    i: usize,
    reference: usize,
    none: Option<usize>,
    segment: Option<u8>,
    offer_names: &[String],
) -> PolicyReport {
    let r = &results[i];
    let totals = match segment {
        Some(s) => r.by_segment[s as usize].clone(),
        None => r.totals(),
    };
    let summary = Summary::new(r, &totals, segment, offer_names);
    let mask = segment.map(|s| (r.segment.as_slice(), s));
    let d = paired_diff(&r.clv, &results[reference].clv, mask);
    let d52 = paired_diff(&r.clv_short, &results[reference].clv_short, mask);
    let (mut inc_p, mut inc_m, mut roms) = (None, None, None);
    if let Some(n) = none {
        let nt = match segment {
            Some(s) => results[n].by_segment[s as usize].clone(),
            None => results[n].totals(),
        };
        let c = totals.customers.max(1) as f64;
        let dp = (totals.purchases as f64 - nt.purchases as f64) / c;
        let dm = (totals.margin - nt.margin) / c;
        inc_p = Some(dp);
        inc_m = Some(dm);
        let cost = totals.marketing_cost() / c;
        if cost > 0.0 {
            roms = Some(dm / cost);
        }
    }
    PolicyReport {
        policy: r.policy.clone(),
        summary,
        diff_vs_reference: Diff {
            mean: d.mean,
            ci95: d.ci95,
        },
        diff52_vs_reference: Diff {
            mean: d52.mean,
            ci95: d52.ci95,
        },
        incremental_purchases_vs_none: inc_p,
        incremental_margin_vs_none: inc_m,
        return_on_marketing_spend: roms,
    }
}

/// Segment names with their codes.
pub fn segments() -> impl Iterator<Item = (u8, &'static str)> {
    SEGMENTS.iter().enumerate().map(|(i, s)| (i as u8, *s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilding_the_start_for_each_policy_changes_nothing() {
        let scenario = Scenario {
            horizon: 20,
            start: clv_envs::Start::BurnIn {
                periods: 10,
                policy: "cadence:coupon10:4".into(),
            },
            ..Scenario::default()
        };
        let run = |rebuild| {
            let mut policies: Vec<Box<dyn Policy>> = ["none", "churn-risk:0.5:coupon20:4"]
                .iter()
                .map(|s| crate::policies::resolve(s, &scenario).unwrap())
                .collect();
            evaluate_policies_with(
                &scenario,
                Path::new("scenarios"),
                SeedDomain::Test,
                &[3, 4],
                2000,
                &mut policies,
                &|_| {},
                rebuild,
            )
            .unwrap()
        };
        let (a, b) = (run(false), run(true));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.clv, y.clv);
            assert_eq!(x.series, y.series);
        }
    }
}

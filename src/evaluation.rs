//! Evaluating several policies on the same customers and random streams (common random
//! numbers), over one or more seeds, and summarising them against a reference.

use std::path::Path;

use clv_envs::metrics::{SEGMENTS, paired_diff};
use clv_envs::{EvalResult, Policy, Population, Scenario, SeedDomain, Summary};
use serde::{Deserialize, Serialize};

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
    clv_envs::scenario::check_memory(customers, 2)?;
    let mut results: Vec<Option<EvalResult>> = (0..policies.len()).map(|_| None).collect();
    let mut done = 0u64;
    for seed in seeds {
        let start = Population::new(scenario, domain, *seed, customers, base_dir)?;
        for (p, slot) in policies.iter_mut().zip(results.iter_mut()) {
            let mut pop = start.clone();
            let r = pop.evaluate(p.as_mut(), &|t| progress(done + t as u64));
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

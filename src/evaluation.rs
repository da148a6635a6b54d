//! Evaluating several policies on the same customers and random streams (common random
//! numbers), over one or more seeds, and summarising them against a reference.

use std::path::Path;

use clv_envs::metrics::{SEGMENTS, Z95, mean_ci, paired_diff};
use clv_envs::{EvalResult, Policy, Population, Scenario, SeedDomain, Summary, TrailMode};
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
    let trail_mode = TrailMode::for_policies(policies.iter().map(|p| p.as_ref()));
    let rebuild = clv_envs::scenario::estimate_bytes(customers, trail_mode) > CLONE_LIMIT_BYTES;
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
    // The customers' trails are kept only where a learner acts (rules never read them).
    let trail_mode = TrailMode::for_policies(policies.iter().map(|p| p.as_ref()));
    clv_envs::scenario::check_memory(customers, if rebuild { 1 } else { 2 }, trail_mode)?;
    let mut results: Vec<Option<EvalResult>> = (0..policies.len()).map(|_| None).collect();
    let mut done = 0u64;
    for seed in seeds {
        let build = || Population::build(scenario, domain, *seed, customers, base_dir, trail_mode);
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

/// What the return on marketing spend is, in words (the report and `comparison.json` say it).
pub const ROMS_DEFINITION: &str = "ROMS (return on marketing spend) = incremental discounted gross margin over `none` / discounted marketing spend, per customer on the same customers: gross margin is margin x list-price spend before discounts and contact costs; marketing spend is discounts given (at face value) plus contact costs; both discounted to the start of the scored window like the CLV. Because discounts are counted as spend, ROMS - 1 = CLV gain over `none` / spend, the return net of discounts and contact costs: ROMS above 1 pays, below 1 loses money";

/// One policy's row of a comparison (overall or for one segment), as `comparison.json`
/// holds it.
///
/// Every figure "over `none`" is paired by customer: the same customers and random streams
/// under the policy and under `none` (common random numbers). With `G` the discounted gross
/// margin per customer (CLV + discounted marketing spend) and `S` the discounted marketing
/// spend per customer (discounts at face value + contact costs), the return on marketing
/// spend is **ROMS = mean(G - G_none) / mean(S)** (see [`ROMS_DEFINITION`]); its interval is
/// the delta method's on the paired per-customer terms.
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
    /// Discounted gross margin per customer over `none` (paired), dollars. Schema 1 held the
    /// undiscounted margin here.
    pub incremental_margin_vs_none: Option<f64>,
    /// Return on marketing spend: incremental discounted gross margin over `none` / discounted
    /// marketing spend ([`ROMS_DEFINITION`]); `None` without marketing spend. Schema 1 held
    /// the undiscounted ratio here.
    pub return_on_marketing_spend: Option<f64>,
    /// Paired CLV difference to `none` (the CLV gain of the marketing), dollars per customer.
    #[serde(default)]
    pub clv_gain_vs_none: Option<Diff>,
    /// Paired 95% interval of `incremental_margin_vs_none`, dollars.
    #[serde(default)]
    pub incremental_margin_vs_none_ci95: Option<[f64; 2]>,
    /// Discounted marketing spend per customer (discounts + contact costs), dollars: the
    /// denominator of ROMS.
    #[serde(default)]
    pub marketing_spend_discounted: Option<f64>,
    /// 95% interval of `return_on_marketing_spend` (delta method on the paired terms).
    #[serde(default)]
    pub return_on_marketing_spend_ci95: Option<[f64; 2]>,
    /// Whether the CLV gain's 95% interval over `none` includes zero: the ROMS is then not
    /// distinguishable from no marketing. `None` where there is no ROMS.
    #[serde(default)]
    pub roms_not_distinguishable_from_none: Option<bool>,
}

/// A ratio of means mean(a) / mean(b) over paired per-customer terms, with its 95% interval
/// by the delta method: the standard error is that of the mean of (a_i - R b_i) / mean(b).
/// `None` when mean(b) is zero or there are no customers. Sums run in index order
/// (deterministic whatever the thread count).
pub fn ratio_of_means(a: &[f64], b: &[f64], keep: impl Fn(usize) -> bool + Copy) -> Option<Diff> {
    let idx = || (0..a.len()).filter(move |i| keep(*i));
    let m = |v: &[f64]| mean_ci(idx().map(|i| v[i])).mean;
    let (ma, mb) = (m(a), m(b));
    if !(mb.is_finite() && ma.is_finite()) || mb == 0.0 {
        return None;
    }
    let r = ma / mb;
    let lin = mean_ci(idx().map(|i| (a[i] - r * b[i]) / mb));
    Some(Diff {
        mean: r,
        ci95: [r - Z95 * lin.se, r + Z95 * lin.se],
    })
}

/// The paired figures over `none` of one policy: CLV gain, incremental discounted margin,
/// discounted spend and ROMS, over the customers that `keep` selects.
fn vs_none(r: &EvalResult, n: &EvalResult, keep: impl Fn(usize) -> bool + Copy) -> VsNone {
    let idx = || (0..r.clv.len()).filter(move |i| keep(*i));
    let gain = mean_ci(idx().map(|i| r.clv[i] - n.clv[i]));
    // Discounted gross margin = CLV + discounted marketing spend, per customer.
    let margin = |e: &EvalResult, i: usize| e.clv[i] + e.marketing.get(i).copied().unwrap_or(0.0);
    let inc: Vec<f64> = (0..r.clv.len())
        .map(|i| margin(r, i) - margin(n, i))
        .collect();
    let inc_ci = mean_ci(idx().map(|i| inc[i]));
    let spend = if r.marketing.len() == r.clv.len() {
        r.marketing.clone()
    } else {
        vec![0.0; r.clv.len()]
    };
    let spend_mean = mean_ci(idx().map(|i| spend[i])).mean;
    VsNone {
        gain: Diff {
            mean: gain.mean,
            ci95: gain.ci95,
        },
        margin: Diff {
            mean: inc_ci.mean,
            ci95: inc_ci.ci95,
        },
        spend: spend_mean,
        roms: if spend_mean > 0.0 {
            ratio_of_means(&inc, &spend, keep)
        } else {
            None
        },
    }
}

/// What [`vs_none`] returns.
struct VsNone {
    gain: Diff,
    margin: Diff,
    spend: f64,
    roms: Option<Diff>,
}

/// Whether a 95% interval includes zero.
pub fn includes_zero(ci: [f64; 2]) -> bool {
    ci[0] <= 0.0 && ci[1] >= 0.0
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
    let mut row = PolicyReport {
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
        incremental_purchases_vs_none: None,
        incremental_margin_vs_none: None,
        return_on_marketing_spend: None,
        clv_gain_vs_none: None,
        incremental_margin_vs_none_ci95: None,
        marketing_spend_discounted: None,
        return_on_marketing_spend_ci95: None,
        roms_not_distinguishable_from_none: None,
    };
    if let Some(n) = none {
        let nt = match segment {
            Some(s) => results[n].by_segment[s as usize].clone(),
            None => results[n].totals(),
        };
        let c = totals.customers.max(1) as f64;
        row.incremental_purchases_vs_none =
            Some((totals.purchases as f64 - nt.purchases as f64) / c);
        let seg = r.segment.as_slice();
        let v = vs_none(r, &results[n], |i| segment.is_none_or(|s| seg[i] == s));
        row.incremental_margin_vs_none = Some(v.margin.mean);
        row.incremental_margin_vs_none_ci95 = Some(v.margin.ci95);
        row.marketing_spend_discounted = Some(v.spend);
        row.clv_gain_vs_none = Some(v.gain);
        if let Some(roms) = v.roms {
            row.return_on_marketing_spend = Some(roms.mean);
            row.return_on_marketing_spend_ci95 = Some(roms.ci95);
            row.roms_not_distinguishable_from_none = Some(includes_zero(v.gain.ci95));
        }
    }
    row
}

/// Segment names with their codes.
pub fn segments() -> impl Iterator<Item = (u8, &'static str)> {
    SEGMENTS.iter().enumerate().map(|(i, s)| (i as u8, *s))
}

/// Whether a policy spec names a trained learner (`dqn:`, `myopic:`, `ddpg:`, `td3:` runs).
pub fn is_learner(spec: &str) -> bool {
    let head = spec.trim().split(':').next().unwrap_or("");
    clv_envs::policy::AGENT_KINDS.contains(&head)
}

/// One learner against the baseline it must beat, on the same customers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LearnerVerdict {
    /// The learner's policy spec.
    pub policy: String,
    /// Its paired CLV difference to the comparison's baseline, dollars per customer.
    pub diff_vs_baseline: Diff,
}

/// The decision a comparison supports, computed from the per-customer results (so every
/// difference is paired): the best deployable policy, its margin over the next deployable one,
/// and whether each learner beat the best baseline. Policies that read hidden traits
/// (`oracle-*`) are references, never candidates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    /// The deployable policy with the highest mean CLV (the first listed on a tie).
    pub best: String,
    /// Deployable policies with exactly the best's CLV on every customer (e.g. a learner that
    /// fell back to the baseline it copies): not alternatives, so never the runner-up.
    #[serde(default)]
    pub same_as_best: Vec<String>,
    /// The deployable policy with the next highest mean CLV among the others, if any.
    pub runner_up: Option<String>,
    /// Paired CLV difference best - runner-up, dollars per customer.
    pub best_vs_runner_up: Option<Diff>,
    /// The baseline the learners are judged against: the reference when it is a deployable
    /// baseline other than `none` (in `clv demo`, the best baseline tuned on validation
    /// customers), else the deployable baseline with the highest mean CLV here.
    pub baseline: Option<String>,
    /// How the baseline was chosen, in words.
    pub baseline_rule: String,
    /// Every learner against `baseline`, in the order given.
    pub learners: Vec<LearnerVerdict>,
}

/// The decision over the shown policies `shown` (positions in `results`), with `reference`
/// the position of the reference policy.
pub fn decision(results: &[EvalResult], shown: &[usize], reference: usize) -> Option<Decision> {
    let deployable: Vec<usize> = shown
        .iter()
        .copied()
        .filter(|i| !clv_envs::policy::reads_hidden_traits(&results[*i].policy))
        .collect();
    let mean = |i: usize| mean_ci(results[i].clv.iter().copied()).mean;
    let mut ranked = deployable.clone();
    // Stable sort: on a tie the first listed stays first.
    ranked.sort_by(|a, b| mean(*b).total_cmp(&mean(*a)));
    let best = *ranked.first()?;
    let diff = |a: usize, b: usize| {
        let d = paired_diff(&results[a].clv, &results[b].clv, None);
        Diff {
            mean: d.mean,
            ci95: d.ci95,
        }
    };
    let same = |i: &usize| *i != best && results[*i].clv == results[best].clv;
    let same_as_best: Vec<String> = deployable
        .iter()
        .filter(|i| same(i))
        .map(|i| results[*i].policy.clone())
        .collect();
    let runner_up = ranked.iter().skip(1).copied().find(|i| !same(i));
    let ref_spec = &results[reference].policy;
    let ref_is_baseline =
        deployable.contains(&reference) && !is_learner(ref_spec) && ref_spec != "none";
    let (baseline, baseline_rule) = if ref_is_baseline {
        (
            Some(reference),
            "the reference (a deployable baseline; in `clv demo` the best baseline tuned on validation customers)".to_string(),
        )
    } else {
        (
            ranked.iter().copied().find(|i| !is_learner(&results[*i].policy)),
            "the deployable baseline with the highest mean CLV on these customers (chosen on them, so the learners' differences are conservative)".to_string(),
        )
    };
    let learners = baseline
        .map(|b| {
            deployable
                .iter()
                .filter(|i| is_learner(&results[**i].policy))
                .map(|i| LearnerVerdict {
                    policy: results[*i].policy.clone(),
                    diff_vs_baseline: diff(*i, b),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Decision {
        best: results[best].policy.clone(),
        same_as_best,
        runner_up: runner_up.map(|i| results[i].policy.clone()),
        best_vs_runner_up: runner_up.map(|i| diff(best, i)),
        baseline: baseline.map(|i| results[i].policy.clone()),
        baseline_rule,
        learners,
    })
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

    /// An evaluation of `policy` with per-customer CLV and discounted marketing spend, all
    /// customers in the `high` segment.
    fn result(policy: &str, clv: &[f64], marketing: &[f64]) -> EvalResult {
        let n = clv.len();
        let mut by_segment: [clv_envs::Totals; 3] = Default::default();
        by_segment[0].customers = n as u64;
        EvalResult {
            policy: policy.into(),
            seeds: vec![0],
            horizon: 1,
            short_horizon: 1,
            clv: clv.to_vec(),
            clv_short: clv.to_vec(),
            marketing: marketing.to_vec(),
            segment: vec![0; n],
            by_segment,
            series: vec![],
            elapsed_seconds: 0.0,
        }
    }

    #[test]
    fn roms_interval_with_constant_spend_is_the_margin_interval_over_spend() {
        // `none`: CLV 10 each, no spend. The policy spends 2 on every customer; its
        // incremental discounted gross margin (CLV + spend - 10) is 1, 3, 5, 7.
        let none = result("none", &[10.0; 4], &[0.0; 4]);
        let p = result("fixed:coupon20", &[9.0, 11.0, 13.0, 15.0], &[2.0; 4]);
        let rows = [p, none];
        let r = report(&rows, 0, 1, Some(1), None, &[]);
        // ROMS = mean margin / spend = 4 / 2; with a constant spend the delta method is
        // exact: se = sd(margin) / sqrt(n) / spend = sqrt(20 / 3) / 2 / 2.
        assert!((r.return_on_marketing_spend.unwrap() - 2.0).abs() < 1e-12);
        let se = (20.0f64 / 3.0).sqrt() / 2.0 / 2.0;
        let ci = r.return_on_marketing_spend_ci95.unwrap();
        assert!((ci[0] - (2.0 - Z95 * se)).abs() < 1e-12, "{ci:?}");
        assert!((ci[1] - (2.0 + Z95 * se)).abs() < 1e-12, "{ci:?}");
        assert!((r.incremental_margin_vs_none.unwrap() - 4.0).abs() < 1e-12);
        assert_eq!(r.marketing_spend_discounted, Some(2.0));
        // ROMS - 1 is the CLV gain per dollar of spend: (4 - 2) / 2.
        let gain = r.clv_gain_vs_none.unwrap();
        assert!((gain.mean - 2.0).abs() < 1e-12);
        assert!((r.return_on_marketing_spend.unwrap() - 1.0 - gain.mean / 2.0).abs() < 1e-12);
        // The CLV gain -1, 1, 3, 5 has an interval 2 +- 1.96 * 1.29 that includes zero: the
        // ROMS is flagged.
        assert!(gain.ci95[0] < 0.0 && gain.ci95[1] > 0.0, "{gain:?}");
        assert_eq!(r.roms_not_distinguishable_from_none, Some(true));
    }

    #[test]
    fn a_clear_clv_gain_is_not_flagged_and_no_spend_has_no_roms() {
        let none = result("none", &[10.0, 20.0, 30.0], &[0.0; 3]);
        let p = result("fixed:recommend", &[11.0, 21.1, 30.9], &[0.5, 0.5, 0.5]);
        let rows = [p, none];
        let r = report(&rows, 0, 1, Some(1), None, &[]);
        assert_eq!(r.roms_not_distinguishable_from_none, Some(false));
        let n = report(&rows, 1, 1, Some(1), None, &[]);
        assert_eq!(n.return_on_marketing_spend, None);
        assert_eq!(n.roms_not_distinguishable_from_none, None);
        // A segment with nobody in it has no ROMS either.
        let empty = report(&rows, 0, 1, Some(1), Some(2), &[]);
        assert_eq!(empty.return_on_marketing_spend, None);
    }

    #[test]
    fn ratio_is_exact_when_the_terms_are_proportional() {
        let b = [1.0, 2.0, 5.0, 0.5];
        let a: Vec<f64> = b.iter().map(|x| 3.0 * x).collect();
        let r = ratio_of_means(&a, &b, |_| true).unwrap();
        assert!((r.mean - 3.0).abs() < 1e-12);
        assert!((r.ci95[1] - r.ci95[0]).abs() < 1e-9, "{r:?}");
        assert!(ratio_of_means(&a, &[0.0; 4], |_| true).is_none());
    }

    #[test]
    fn the_decision_never_names_an_oracle_and_judges_learners_against_the_reference() {
        let none = result("none", &[10.0, 20.0, 30.0], &[0.0; 3]);
        let oracle = result("oracle-myopic", &[50.0, 60.0, 70.0], &[1.0; 3]);
        let base = result("rfm-winback:4:recommend", &[11.0, 21.0, 31.0], &[0.2; 3]);
        let dqn = result("dqn:runs/a", &[11.5, 21.2, 31.4], &[0.2; 3]);
        let rows = [none, oracle, base, dqn];
        let d = decision(&rows, &[0, 1, 2, 3], 2).unwrap();
        assert_eq!(d.best, "dqn:runs/a");
        assert_eq!(d.runner_up.as_deref(), Some("rfm-winback:4:recommend"));
        assert!((d.best_vs_runner_up.unwrap().mean - 1.1 / 3.0).abs() < 1e-9);
        assert_eq!(d.baseline.as_deref(), Some("rfm-winback:4:recommend"));
        assert_eq!(d.learners.len(), 1);
        assert!(d.same_as_best.is_empty());
        // A learner that acts exactly as the best is listed as such, never the runner-up.
        let copy = result("td3:runs/b", &[11.5, 21.2, 31.4], &[0.2; 3]);
        let rows = [
            rows[0].clone(),
            rows[1].clone(),
            rows[2].clone(),
            rows[3].clone(),
            copy,
        ];
        let d = decision(&rows, &[0, 1, 2, 3, 4], 2).unwrap();
        assert_eq!(d.same_as_best, vec!["td3:runs/b".to_string()]);
        assert_eq!(d.runner_up.as_deref(), Some("rfm-winback:4:recommend"));
        // With `none` as the reference, the learners face the best baseline here.
        let d = decision(&rows, &[0, 1, 2, 3], 0).unwrap();
        assert_eq!(d.baseline.as_deref(), Some("rfm-winback:4:recommend"));
        assert!(d.baseline_rule.contains("highest mean CLV"));
        // Only oracles and learners: no baseline, no verdicts; an oracle alone: no decision.
        assert!(decision(&rows, &[1], 1).is_none());
    }
}

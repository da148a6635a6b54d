//! The opening of every report that tells a decision (`clv compare`, `clv demo`, `clv train`):
//! which deployable policy is best on which customers, by how much, how sure, and whether each
//! learner beat the baseline it must beat. Policies that read hidden traits (`oracle-*`) are
//! labelled as references a firm cannot deploy and never headline.

use std::fmt::Write as _;

use crate::cmd::report::{usd, usd_interval, usd_signed};
use crate::evaluation::{Diff, PolicyReport};
use crate::run_files::{Comparison, TrainSummary};

/// The label of a policy that reads hidden traits, wherever it appears in a report.
pub const NOT_DEPLOYABLE: &str = "reference, not deployable (reads hidden traits)";

/// A policy as a report names it: `` `spec` ``, followed by `: ` and [`NOT_DEPLOYABLE`] for a
/// policy that reads hidden traits.
pub fn policy_label(spec: &str) -> String {
    if clv_envs::policy::reads_hidden_traits(spec) {
        format!("`{spec}`: {NOT_DEPLOYABLE}")
    } else {
        format!("`{spec}`")
    }
}

/// Which customers a comparison is on, in words: `test customers (seed domain test, seeds [0],
/// 20000 customers)`.
pub fn comparison_customers(doc: &Comparison) -> String {
    format!(
        "{} customers (seed domain `{}`, seeds {:?}, {} customers)",
        doc.seed_domain,
        doc.seed_domain,
        doc.seeds,
        doc.customers_per_seed * doc.seeds.len() as u64
    )
}

/// Where a 95% interval of a difference lies against zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Entirely above zero: a clear gain.
    Above,
    /// Entirely below zero: a clear loss.
    Below,
    /// It includes zero: no difference shown.
    Includes,
}

impl Side {
    /// The side of the interval `ci` = [low, high].
    pub fn of(ci: [f64; 2]) -> Self {
        if ci[0] > 0.0 {
            Side::Above
        } else if ci[1] < 0.0 {
            Side::Below
        } else {
            Side::Includes
        }
    }

    /// One of three phrasings, by side: (above, below, includes zero).
    pub fn say(self, words: [&'static str; 3]) -> &'static str {
        match self {
            Side::Above => words[0],
            Side::Below => words[1],
            Side::Includes => words[2],
        }
    }
}

/// A paired difference's verdict in a few words.
pub fn short_verdict(ci: [f64; 2]) -> &'static str {
    Side::of(ci).say([
        "a clear gain",
        "a clear loss",
        "not distinguishable from zero",
    ])
}

/// A learner's verdict against its baseline in a few words.
fn learner_verdict(ci: [f64; 2]) -> &'static str {
    Side::of(ci).say([
        "**beat it**",
        "**lost to it**",
        "**no difference shown** (the interval includes zero)",
    ])
}

/// A paired difference as `+$0.40 (paired 95% CI +$0.10 to +$0.70)`.
fn diff_text(d: &Diff) -> String {
    format!(
        "{} per customer (paired 95% CI {})",
        usd_signed(d.mean),
        usd_interval(d.ci95, true)
    )
}

/// The row of `policy` in a comparison.
fn row<'a>(doc: &'a Comparison, policy: &str) -> Option<&'a PolicyReport> {
    doc.policies.iter().find(|r| r.policy == policy)
}

/// The "Decision" section of a comparison (Markdown, starting with `## Decision`), from the
/// decision `clv compare` saved; `None` for a comparison saved without one (schema 1).
pub fn comparison_decision(doc: &Comparison) -> Option<String> {
    let d = doc.decision.as_ref()?;
    let best = row(doc, &d.best)?;
    let mut s = String::new();
    let _ = writeln!(s, "## Decision\n");
    let _ = writeln!(
        s,
        "On the same {}, every policy on the same customers and random streams:\n",
        comparison_customers(doc)
    );
    let _ = write!(
        s,
        "- **Best deployable policy: `{}`**, {} realised CLV per customer (95% CI {})",
        d.best,
        usd(best.summary.clv_mean),
        usd_interval(best.summary.clv_ci95, false)
    );
    if !d.same_as_best.is_empty() {
        let _ = write!(
            s,
            " (`{}` act{} exactly as it: the same CLV on every customer)",
            d.same_as_best.join("`, `"),
            if d.same_as_best.len() == 1 { "s" } else { "" }
        );
    }
    match (&d.runner_up, &d.best_vs_runner_up) {
        (Some(r), Some(m)) => {
            let _ = writeln!(
                s,
                ". Over the next best deployable policy that acts differently, `{r}`: {}, {}.",
                diff_text(m),
                short_verdict(m.ci95)
            );
        }
        _ => {
            let _ = writeln!(s, ".");
        }
    }
    if d.best != doc.reference
        && d.runner_up.as_deref() != Some(doc.reference.as_str())
        && row(doc, &doc.reference).is_some()
    {
        let _ = writeln!(
            s,
            "- Against the reference `{}`: {}, {}.",
            doc.reference,
            diff_text(&best.diff_vs_reference),
            short_verdict(best.diff_vs_reference.ci95)
        );
    }
    if let Some(b) = &d.baseline {
        for l in &d.learners {
            let _ = writeln!(
                s,
                "- Learner `{}` against the baseline `{b}`: {}: {}.",
                l.policy,
                diff_text(&l.diff_vs_baseline),
                learner_verdict(l.diff_vs_baseline.ci95)
            );
        }
        if !d.learners.is_empty() {
            let _ = writeln!(s, "- The learners' baseline is {}.", d.baseline_rule);
        }
    }
    for r in doc
        .policies
        .iter()
        .filter(|r| clv_envs::policy::reads_hidden_traits(&r.policy))
    {
        let _ = writeln!(
            s,
            "- {}. {} per customer, {} against `{}`: an upper bound for scale, never a \
             candidate.",
            policy_label(&r.policy),
            usd(r.summary.clv_mean),
            usd_signed(r.diff_vs_reference.mean),
            doc.reference
        );
    }
    let _ = writeln!(
        s,
        "\nIntervals are 95% normal intervals over customers, paired by customer, per \
         comparison and unadjusted for multiple comparisons.\n"
    );
    Some(s)
}

/// The "Decision" section of one training run on a scenario (Markdown, starting with
/// `## Decision`): the learned policy on the run's own test customers, against its incumbent
/// on the same customers where the summary holds that test; `None` for a classic task.
pub fn training_decision(summary: &TrainSummary) -> Option<String> {
    let clv = summary.eval_clv_mean?;
    let n = summary
        .eval_customers
        .unwrap_or(summary.eval_episodes as u64);
    let mut s = String::new();
    let _ = writeln!(s, "## Decision\n");
    let ci = summary
        .eval_clv_ci95
        .map(|c| format!(" (95% CI {})", usd_interval(c, false)))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "On this run's own **test customers** (seed domain `test`, seed {}, {n} customers), \
         the learned policy (`{}` checkpoint) realises {} per customer{ci}.\n",
        summary.seed,
        summary.eval_checkpoint,
        usd(clv),
    );
    match (&summary.incumbent, &summary.eval_vs_incumbent) {
        (Some(inc), Some(d)) => {
            let _ = writeln!(
                s,
                "Against the incumbent `{inc}` (the baseline it must beat) on the same test \
                 customers: {}: {}.\n",
                diff_text(d),
                learner_verdict(d.ci95)
            );
        }
        (Some(inc), None) => {
            let _ = writeln!(
                s,
                "This summary holds no paired test against the incumbent `{inc}` (written \
                 before `clv train` recorded it); see the comparison report for one.\n"
            );
        }
        (None, _) => {}
    }
    if let Some(c) = &summary.confirmation
        && c.fell_back
    {
        let _ = writeln!(
            s,
            "The learner **fell back to the incumbent**: its lift on a second set of \
             validation customers was not above zero (or the incumbent was chosen already), \
             so it acts as the incumbent.\n"
        );
    }
    let _ = writeln!(
        s,
        "Figures on other customers differ by sampling: `clv compare` (and `clv demo`'s \
         comparison) score every policy on one shared, usually larger, test set; the \
         validation figures (curves, reference line) are on the run's validation customers.\n"
    );
    Some(s)
}

/// The "Decision" section of a folder of training runs on a scenario (Markdown): one line per
/// finished run, its learned policy against its incumbent on the run's own test customers;
/// `None` when no run has a scenario evaluation.
pub fn training_runs_decision(runs: &[(String, &TrainSummary)]) -> Option<String> {
    let with_clv: Vec<&(String, &TrainSummary)> = runs
        .iter()
        .filter(|(_, s)| s.eval_clv_mean.is_some())
        .collect();
    if with_clv.is_empty() {
        return None;
    }
    let mut s = String::new();
    let _ = writeln!(s, "## Decision\n");
    let _ = writeln!(
        s,
        "Each run's learned policy on **its own test customers** (seed domain `test`, the \
         run's seed), against its incumbent on the same customers:\n"
    );
    for (name, sum) in with_clv {
        let n = sum.eval_customers.unwrap_or(sum.eval_episodes as u64);
        let clv = sum.eval_clv_mean.unwrap_or(f64::NAN);
        let vs = match (&sum.incumbent, &sum.eval_vs_incumbent) {
            (Some(inc), Some(d)) => format!(
                "; against `{inc}`: {}: {}",
                diff_text(d),
                learner_verdict(d.ci95)
            ),
            (Some(inc), None) => format!(
                "; no paired test against `{inc}` in its summary (written before `clv train` \
                 recorded it)"
            ),
            (None, _) => String::new(),
        };
        let fell_back = if sum.confirmation.is_some_and(|c| c.fell_back) {
            " It fell back to the incumbent."
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "- `{name}` (test seed {}, {n} customers): {} per customer{vs}.{fell_back}",
            sum.seed,
            usd(clv)
        );
    }
    let _ = writeln!(
        s,
        "\nThese test sets are each run's own; `clv compare` (and `clv demo`'s comparison) \
         score every policy on one shared, usually larger, test set, so its figures differ by \
         sampling. Validation figures (curves, reference line) are on each run's validation \
         customers.\n"
    );
    Some(s)
}

/// The reference line of a training report, in words: the best tuned baseline and the
/// validation customers it was measured on.
pub fn reference_line_text(run: &str, b: &crate::run_files::BestBaseline) -> String {
    let on = match (b.seed, b.customers) {
        (Some(seed), Some(n)) => format!("validation seed {seed}, {n} customers"),
        _ => "the run's validation customers".to_string(),
    };
    format!(
        "Reference line: `{}` (the best tuned baseline) at {} per customer, measured on the \
         **validation customers** of `{run}` ({on}), the customers the validation curve is \
         on, not the test customers above.",
        b.policy,
        usd(b.return_mean)
    )
}

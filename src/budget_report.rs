//! Spend against budget: what each policy of a comparison committed per period under the
//! scenario's marketing budget and contact cap (`comparison.json` `budget`, the console, the
//! report).

use std::fmt::Write as _;

use clv_envs::EvalResult;
use clv_envs::scenario::{BudgetCounts, Scenario};
use serde::{Deserialize, Serialize};

/// The budget and cap a comparison ran under, and each policy's spend against it. Dollars are
/// per period of one population (sums over the pooled seeds divided by their number).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BudgetReport {
    /// Budget per period of one population of the run's size, dollars (`None`: unlimited).
    pub per_period: Option<f64>,
    /// What the budget counts: `contacts_and_discounts` (contact costs plus coupons at face
    /// value on the customer's average order) or `contacts`.
    pub counts: String,
    /// Most contacts per customer per cap block (`None`: no cap).
    pub cap_contacts: Option<u32>,
    /// Length of a cap block, periods.
    pub cap_periods: u32,
    /// One row per policy, in the comparison's order.
    pub policies: Vec<PolicySpend>,
}

/// One policy's spend against the budget over the scored window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicySpend {
    /// Policy spec.
    pub policy: String,
    /// Mean budgeted spend per period (the budget's count of the offers kept), dollars.
    pub committed_mean: f64,
    /// Largest budgeted spend of any period, dollars.
    pub committed_max: f64,
    /// Largest share of the budget spent in any period (`None` without a budget).
    pub max_share_of_budget: Option<f64>,
    /// Mean realised marketing spend per period (discounts redeemed plus contact costs),
    /// dollars.
    pub realised_mean: f64,
    /// Periods in which the budget cut offers.
    pub periods_binding: u32,
    /// Offers cut by the budget per period, on average.
    pub cut_per_period: f64,
    /// Offers dropped by the contact cap per period, on average.
    pub capped_per_period: f64,
}

/// The budget report of `results` (the policies shown, by index), or `None` when the scenario
/// sets neither a budget nor a cap.
pub fn budget_report(
    scenario: &Scenario,
    results: &[EvalResult],
    shown: &[usize],
) -> Option<BudgetReport> {
    let b = &scenario.budget;
    if !b.is_active() {
        return None;
    }
    let policies: Vec<PolicySpend> = shown.iter().map(|i| spend(&results[*i])).collect();
    let per_period = shown.first().and_then(|i| {
        let r = &results[*i];
        let seeds = r.seeds.len().max(1) as f64;
        r.series
            .first()
            .and_then(|row| row.budget)
            .map(|v| v / seeds)
    });
    Some(BudgetReport {
        per_period,
        counts: match b.counts {
            BudgetCounts::ContactsAndDiscounts => "contacts_and_discounts",
            BudgetCounts::Contacts => "contacts",
        }
        .into(),
        cap_contacts: b.cap_contacts,
        cap_periods: b.cap_periods,
        policies,
    })
}

/// One policy's spend from its per-period rows.
fn spend(r: &EvalResult) -> PolicySpend {
    let seeds = r.seeds.len().max(1) as f64;
    let periods = r.series.len().max(1) as f64;
    let mut p = PolicySpend {
        policy: r.policy.clone(),
        committed_mean: 0.0,
        committed_max: 0.0,
        max_share_of_budget: None,
        realised_mean: 0.0,
        periods_binding: 0,
        cut_per_period: 0.0,
        capped_per_period: 0.0,
    };
    for row in &r.series {
        let committed = row.committed / seeds;
        p.committed_mean += committed / periods;
        p.committed_max = p.committed_max.max(committed);
        p.realised_mean += row.marketing / seeds / periods;
        p.periods_binding += u32::from(row.cut > 0);
        p.cut_per_period += row.cut as f64 / seeds / periods;
        p.capped_per_period += row.capped as f64 / seeds / periods;
        if let Some(budget) = row.budget.filter(|b| *b > 0.0) {
            let share = row.committed / budget;
            p.max_share_of_budget = Some(p.max_share_of_budget.map_or(share, |m| m.max(share)));
        }
    }
    p
}

/// The console lines of a budget report.
pub fn table(b: &BudgetReport) -> String {
    let mut s = String::new();
    let budget = b
        .per_period
        .map_or("unlimited".to_string(), |v| format!("${v:.2}"));
    let cap = b.cap_contacts.map_or("no contact cap".to_string(), |c| {
        format!(
            "at most {c} contact(s) per customer per {} periods",
            b.cap_periods
        )
    });
    let _ = writeln!(
        s,
        "budget {budget} per period (counts {}; offers kept in each policy's priority order, `random-rank:` policies at random), {cap}",
        b.counts
    );
    let w = b
        .policies
        .iter()
        .map(|p| p.policy.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        s,
        "{:<w$}  {:>12}  {:>12}  {:>9}  {:>12}  {:>8}  {:>9}  {:>9}",
        "policy",
        "committed $",
        "max $",
        "max share",
        "realised $",
        "binding",
        "cut/per",
        "capped/per"
    );
    for p in &b.policies {
        let _ = writeln!(
            s,
            "{:<w$}  {:>12.2}  {:>12.2}  {:>9}  {:>12.2}  {:>8}  {:>9.1}  {:>9.1}",
            p.policy,
            p.committed_mean,
            p.committed_max,
            p.max_share_of_budget
                .map_or("-".to_string(), |v| format!("{:.1}%", 100.0 * v)),
            p.realised_mean,
            p.periods_binding,
            p.cut_per_period,
            p.capped_per_period,
        );
    }
    s
}

//! The marketing budget and the contact cap every policy acts under in the scored window
//! (`budget` in a scenario). Both are off by default. How offers are cut to fit them is
//! [`crate::budget`].

use serde::{Deserialize, Serialize};

use super::nonneg;
use crate::error::{Result, invalid};

/// What a budget counts against its dollars when an offer is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum BudgetCounts {
    /// Contact costs plus each coupon at face value: its depth times the customer's average
    /// order (list-price spend per purchase on the firm's record), whether or not it is
    /// redeemed.
    #[default]
    ContactsAndDiscounts,
    /// Contact costs only (coupons are paid from the margin they earn).
    Contacts,
}

/// A marketing budget per period and a cap on contacts per customer.
///
/// Each period the policy proposes an offer for every customer; offers to customers at their
/// cap become no offer; if the proposed offers cost more than the period's budget, they are
/// kept in the policy's priority order (`Policy::priorities`: a baseline's documented score, a
/// learner's value advantage over no offer) while they fit (an offer that does not fit is dropped and the next one
/// tried) and the rest become no offer. Burn-in history and the rollouts of training labels
/// and `oracle-rollout` are not budgeted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// Marketing budget per period, dollars, for a population of `population.customers`
    /// customers (a run with another number of customers gets the same budget per customer);
    /// `None`: unlimited.
    pub per_period: Option<f64>,
    /// What the budget counts.
    pub counts: BudgetCounts,
    /// Most contacts per customer in each block of `cap_periods` periods of the scored
    /// window (periods 1..=cap_periods, then the next block, ...); `None`: no cap.
    pub cap_contacts: Option<u32>,
    /// Length of a contact-cap block, periods (>= 1).
    pub cap_periods: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            per_period: None,
            counts: BudgetCounts::default(),
            cap_contacts: None,
            cap_periods: 4,
        }
    }
}

/// Longest contact-cap block a scenario may ask for, periods.
pub const MAX_CAP_PERIODS: u32 = 10_000;

impl BudgetConfig {
    /// Whether a budget or a cap is set.
    pub fn is_active(&self) -> bool {
        self.per_period.is_some() || self.cap_contacts.is_some()
    }

    /// The budget per period for a run of `customers` customers of a scenario whose
    /// population is `scenario_customers`, dollars (`None`: unlimited).
    pub fn scaled(&self, customers: u64, scenario_customers: u64) -> Option<f64> {
        self.per_period
            .map(|b| b * customers as f64 / scenario_customers.max(1) as f64)
    }

    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        if let Some(b) = self.per_period {
            nonneg(&format!("{f}.per_period"), b)?;
        }
        if self.cap_periods == 0 || self.cap_periods > MAX_CAP_PERIODS {
            return Err(invalid(
                format!("{f}.cap_periods"),
                format!("must be in 1..={MAX_CAP_PERIODS}, got {}", self.cap_periods),
            ));
        }
        if self.cap_contacts.is_some_and(|c| c > self.cap_periods) {
            return Err(invalid(
                format!("{f}.cap_contacts"),
                format!(
                    "must be at most cap_periods ({}): a customer is contacted at most once a period, got {}",
                    self.cap_periods,
                    self.cap_contacts.unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_field() {
        let bad = |b: BudgetConfig, field: &str| {
            let e = b.validate("budget").unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        };
        bad(
            BudgetConfig {
                per_period: Some(-1.0),
                ..BudgetConfig::default()
            },
            "budget.per_period",
        );
        bad(
            BudgetConfig {
                per_period: Some(f64::NAN),
                ..BudgetConfig::default()
            },
            "budget.per_period",
        );
        bad(
            BudgetConfig {
                cap_periods: 0,
                ..BudgetConfig::default()
            },
            "budget.cap_periods",
        );
        bad(
            BudgetConfig {
                cap_contacts: Some(5),
                cap_periods: 4,
                ..BudgetConfig::default()
            },
            "budget.cap_contacts",
        );
        BudgetConfig::default().validate("budget").unwrap();
        assert!(!BudgetConfig::default().is_active());
    }

    #[test]
    fn a_budget_scales_with_the_run_population() {
        let b = BudgetConfig {
            per_period: Some(1000.0),
            ..BudgetConfig::default()
        };
        assert_eq!(b.scaled(20_000, 100_000), Some(200.0));
        assert_eq!(BudgetConfig::default().scaled(1, 1), None);
    }
}

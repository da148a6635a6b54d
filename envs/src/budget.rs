//! Cutting a period's offers to the scenario's marketing budget and contact cap
//! ([`crate::scenario::BudgetConfig`]).
//!
//! Budgets couple customers: whether one customer is contacted depends on every other
//! customer's offer. Determinism and thread invariance are kept by splitting each period in
//! two: a parallel pass where each customer's cost and priority depend only on that customer
//! (and the policy's own deterministic batch computation), then one sequential selection over
//! the whole population in a fixed order (priority descending, ties by customer index), whose
//! result is the same for any number of threads. [`RandomRank`] (the control for ranking by
//! priority) draws each customer's priority from its own stream, so two policies ranked at
//! random on the same seeds draw the same order of customers.

use rayon::prelude::*;

use crate::customer::{Customer, Record};
use crate::offer::Offer;
use crate::policy::{Mode, ObsBatch, Policy};
use crate::rng::Purpose;
use crate::scenario::{BudgetConfig, BudgetCounts, Scenario};

/// Customers per parallel work item of the cost and priority pass.
const COST_CHUNK: usize = 4096;

/// What the budget and the cap did in one period (sums over the population).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PeriodAllocation {
    /// The budget's count of the offers kept (contact costs, plus coupons at face value where
    /// the budget counts them), dollars.
    pub committed: f64,
    /// The budget's count of the offers the policy proposed, before any cut, dollars.
    pub proposed: f64,
    /// Offers dropped because the customer was at its contact cap.
    pub capped: u64,
    /// Offers dropped because the budget was spent.
    pub cut: u64,
}

/// The budget and cap of one scored window: the per-customer contact counts of the current
/// cap block, and the budget per period for this run's population.
pub(crate) struct Allocator {
    cfg: BudgetConfig,
    /// Budget per period for this population, dollars (`None`: unlimited).
    budget: Option<f64>,
    /// Contacts of each customer in the current cap block.
    contacts: Vec<u32>,
    /// Each customer's cost under the budget this period (scratch).
    cost: Vec<f64>,
    /// Each customer's priority this period (scratch).
    priority: Vec<f64>,
}

impl Allocator {
    /// The allocator of a population of `customers` customers of `scenario`, or `None` when
    /// the scenario sets neither a budget nor a cap.
    pub(crate) fn new(scenario: &Scenario, customers: usize) -> Option<Allocator> {
        let cfg = scenario.budget.clone();
        if !cfg.is_active() {
            return None;
        }
        let budget = cfg.scaled(customers as u64, scenario.population.customers);
        Some(Allocator {
            cfg,
            budget,
            contacts: vec![0; customers],
            cost: vec![0.0; customers],
            priority: vec![0.0; customers],
        })
    }

    /// Budget per period for this population, dollars (`None`: unlimited).
    pub(crate) fn budget(&self) -> Option<f64> {
        self.budget
    }

    /// Cuts `offers` (the policy's proposal for window period `t`, 0-based) to the cap and the
    /// budget, replacing dropped offers by the catalogue's empty offer; asks `policy` for its
    /// priorities only when the budget binds.
    pub(crate) fn apply(
        &mut self,
        t: u32,
        batch: &ObsBatch<'_>,
        policy: &mut dyn Policy,
        offers: &mut [Offer],
    ) -> PeriodAllocation {
        let mut alloc = PeriodAllocation::default();
        if let Some(cap) = self.cfg.cap_contacts {
            if t.is_multiple_of(self.cfg.cap_periods) {
                self.contacts.fill(0);
            }
            for (i, o) in offers.iter_mut().enumerate() {
                if o.contact && self.contacts[i] >= cap {
                    *o = Offer::empty(batch.scenario(), batch.record(i));
                    alloc.capped += 1;
                }
            }
        }
        let (counts, contact_cost) = (self.cfg.counts, batch.scenario().economics.contact_cost);
        self.cost
            .par_chunks_mut(COST_CHUNK)
            .zip(offers.par_chunks(COST_CHUNK))
            .zip(batch.customers.par_chunks(COST_CHUNK))
            .for_each(|((cost, os), cs)| {
                for ((k, o), c) in cost.iter_mut().zip(os).zip(cs) {
                    *k = offer_cost(o, &c.record, counts, contact_cost);
                }
            });
        // Sequential, in index order: the same sum for any thread count.
        alloc.proposed = self.cost.iter().sum();
        alloc.committed = alloc.proposed;
        if let Some(budget) = self.budget
            && alloc.proposed > budget
        {
            policy.priorities(batch, offers, &mut self.priority);
            let mut order: Vec<usize> = (0..offers.len()).filter(|&i| self.cost[i] > 0.0).collect();
            let priority = &self.priority;
            order.sort_by(|a, b| priority[*b].total_cmp(&priority[*a]).then(a.cmp(b)));
            let mut spent = 0.0;
            for i in order {
                if spent + self.cost[i] <= budget {
                    spent += self.cost[i];
                } else {
                    offers[i] = Offer::empty(batch.scenario(), batch.record(i));
                    alloc.cut += 1;
                }
            }
            alloc.committed = spent;
        }
        if self.cfg.cap_contacts.is_some() {
            for (i, o) in offers.iter().enumerate() {
                if o.contact && !batch.record(i).opted_out {
                    self.contacts[i] += 1;
                }
            }
        }
        alloc
    }
}

/// A customer's uniform of the random budget order this period (its own stream).
fn rank_uniform(c: &Customer) -> f64 {
    c.key.uniform(c.clock, Purpose::BudgetRank, 0)
}

/// The spec prefix of [`RandomRank`]: `random-rank:SPEC`.
pub const RANDOM_RANK_PREFIX: &str = "random-rank:";

/// A policy whose offers, when a budget binds, are kept in a uniformly random order instead
/// of its own priority: the control that shows what ranking by priority is worth. It acts
/// exactly as the policy it wraps; named `random-rank:SPEC`.
pub struct RandomRank {
    inner: Box<dyn Policy>,
}

impl RandomRank {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn Policy>) -> Self {
        RandomRank { inner }
    }
}

impl Policy for RandomRank {
    fn name(&self) -> String {
        format!("{RANDOM_RANK_PREFIX}{}", self.inner.name())
    }

    fn act(&mut self, batch: &ObsBatch<'_>, mode: Mode, out: &mut [Offer]) {
        self.inner.act(batch, mode, out)
    }

    fn reads_observations(&self) -> bool {
        self.inner.reads_observations()
    }

    fn priorities(&mut self, batch: &ObsBatch<'_>, _offers: &[Offer], out: &mut [f64]) {
        out.par_chunks_mut(COST_CHUNK)
            .zip(batch.customers.par_chunks(COST_CHUNK))
            .for_each(|(p, cs)| {
                for (p, c) in p.iter_mut().zip(cs) {
                    *p = rank_uniform(c);
                }
            });
    }
}

/// The budget's count of `offer` to a customer with `record`, dollars: the contact cost if
/// the customer is reachable, plus (where counted) the coupon's face value on the customer's
/// average order.
pub fn offer_cost(offer: &Offer, record: &Record, counts: BudgetCounts, contact_cost: f64) -> f64 {
    if !offer.contact || record.opted_out {
        return 0.0;
    }
    let coupon = match counts {
        BudgetCounts::ContactsAndDiscounts => offer.discount as f64 * record.mean_spend() as f64,
        BudgetCounts::Contacts => 0.0,
    };
    contact_cost + coupon
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_costs_its_contact_and_its_coupon_at_face_value() {
        let d = crate::customer::Dynamics::new(&Scenario::default());
        let key = crate::rng::CustomerKey::new(crate::rng::SeedDomain::Test, 0, 0);
        let mut record = d.new_customer(key).record;
        record.total_spend = 120.0;
        record.repeat_purchases = 2;
        record.opted_out = false;
        let coupon = Offer {
            discount: 0.2,
            recommend: None,
            contact: true,
            code: 1,
        };
        let both = offer_cost(&coupon, &record, BudgetCounts::ContactsAndDiscounts, 0.1);
        assert!((both - (0.1 + 0.2 * 40.0)).abs() < 1e-6, "{both}");
        assert_eq!(
            offer_cost(&coupon, &record, BudgetCounts::Contacts, 0.1),
            0.1
        );
        let nothing = Offer::nothing(0);
        assert_eq!(
            offer_cost(&nothing, &record, BudgetCounts::ContactsAndDiscounts, 0.1),
            0.0
        );
        let opted_out = Record {
            opted_out: true,
            ..record
        };
        assert!(record.mean_spend() == 40.0);
        assert_eq!(
            offer_cost(&coupon, &opted_out, BudgetCounts::ContactsAndDiscounts, 0.1),
            0.0
        );
    }
}

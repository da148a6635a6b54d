//! Monte-Carlo rollouts of a customer's future under a baseline policy: the discounted return
//! of one offer now, then the baseline to the end of the scored horizon. Training labels
//! ([`crate::PopulationEnv::with_rollouts`]) and the `oracle-rollout` reference policy both
//! use them.

use crate::customer::{Customer, Dynamics};
use crate::observation::FeatureSpec;
use crate::offer::Offer;
use crate::policy::{Baseline, Mode, ObsBatch, Policy};

/// What one period's reward is, given the state before it, the offer and the realised
/// reward (dollars).
pub(crate) type Signal<'a> = &'a dyn Fn(&Customer, &Offer, f64) -> f64;

/// Where a rollout runs: the dynamics, the observation layout the baseline reads, and the
/// reward signal.
pub(crate) struct Rollout<'a> {
    /// The simulator.
    pub dynamics: &'a Dynamics,
    /// The observation layout (baselines read records, not features, but a batch needs one).
    pub features: &'a FeatureSpec,
    /// The reward of a period.
    pub signal: Signal<'a>,
    /// Discount per period.
    pub gamma: f64,
    /// Periods each branch return covers (the offer's period included), cut at the end of the
    /// scored horizon; `None` runs to the horizon's end.
    pub periods: Option<u32>,
}

impl Rollout<'_> {
    /// Follows `policy` (the empty offer where `None`) from `c` for at most `periods`
    /// periods (`None`: to the end of the scored horizon): the discounted sum of the rewards,
    /// the first one undiscounted (dollars).
    pub fn follow(&self, c: &Customer, policy: &mut Option<Baseline>, periods: Option<u32>) -> f64 {
        let horizon = self.dynamics.scenario.horizon;
        let h = periods.map_or(horizon, |p| {
            horizon.min((c.record.window_age as u32).saturating_add(p))
        });
        let mut x = *c;
        let mut offer = [Offer::default()];
        let (mut total, mut weight) = (0.0, 1.0);
        while (x.record.window_age as u32) < h {
            match policy.as_mut() {
                None => offer[0] = Offer::empty(&self.dynamics.scenario, &x.record),
                Some(p) => {
                    // The incumbent is a rule: it reads no trail.
                    let batch = ObsBatch {
                        customers: std::slice::from_ref(&x),
                        trails: None,
                        dynamics: self.dynamics,
                        features: self.features,
                        present: None,
                    };
                    p.act(&batch, Mode::Greedy, &mut offer);
                }
            }
            let before = x;
            let out = self.dynamics.step(&mut x, &offer[0]);
            total += weight * (self.signal)(&before, &offer[0], out.reward);
            weight *= self.gamma;
        }
        total
    }

    /// The discounted return of `offer` from `c`, then `policy` to the horizon's end (or for
    /// [`Rollout::periods`] periods in all), averaged
    /// over the futures `replicas` (replica 0 is the customer's own random numbers; passing
    /// the same replicas for every offer pairs the offers' returns).
    pub fn branch(
        &self,
        c: &Customer,
        offer: &Offer,
        policy: &mut Option<Baseline>,
        replicas: std::ops::Range<u64>,
    ) -> f64 {
        let n = replicas.end.saturating_sub(replicas.start).max(1) as f64;
        let mut sum = 0.0;
        for r in replicas {
            let mut x = *c;
            x.key = c.key.replica(r);
            let out = self.dynamics.step(&mut x, offer);
            let rest = self.periods.map(|p| p.saturating_sub(1));
            sum += (self.signal)(c, offer, out.reward) + self.gamma * self.follow(&x, policy, rest);
        }
        sum / n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{CustomerKey, SeedDomain};
    use crate::{Scenario, parse_baseline};

    #[test]
    fn a_cut_rollout_is_the_prefix_of_the_full_one() {
        let s = Scenario {
            horizon: 40,
            ..Scenario::default()
        };
        let dynamics = Dynamics::new(&s);
        let features = FeatureSpec::new(&s);
        let realised = |_: &Customer, _: &Offer, r: f64| r;
        let rollout = |periods| Rollout {
            dynamics: &dynamics,
            features: &features,
            signal: &realised,
            gamma: 0.99,
            periods,
        };
        let mut policy = Some(parse_baseline("cadence:coupon10:4", &s).unwrap());
        let mut some_differ = false;
        for id in 0..200 {
            let c = dynamics.new_customer(CustomerKey::new(SeedDomain::Validation, 5, id));
            let full = rollout(None).follow(&c, &mut policy, None);
            // Past the horizon's end a cut changes nothing; no periods, no reward.
            assert_eq!(full, rollout(None).follow(&c, &mut policy, Some(1000)));
            assert_eq!(0.0, rollout(None).follow(&c, &mut policy, Some(0)));
            // A 1-period branch is the offer's own reward; a cut return sums a prefix.
            let offer = Offer::from_spec(&s.offers[1], 1, &c.record);
            let mut x = c;
            let first = dynamics.step(&mut x, &offer).reward;
            assert_eq!(
                first,
                rollout(Some(1)).branch(&c, &offer, &mut policy, 0..1)
            );
            let cut = rollout(Some(10)).branch(&c, &offer, &mut policy, 0..1);
            let whole = rollout(None).branch(&c, &offer, &mut policy, 0..1);
            assert_eq!(
                cut,
                first + 0.99 * rollout(None).follow(&x, &mut policy, Some(9))
            );
            some_differ |= cut != whole;
        }
        assert!(
            some_differ,
            "a 10-period cut of a 40-period horizon changed no return"
        );
    }
}

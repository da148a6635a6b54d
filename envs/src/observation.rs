//! The observation vector a learning policy sees, built from the firm record alone (the type
//! [`Record`] holds nothing hidden) plus the periods remaining in the scored window.
//!
//! Two feature sets ([`FeatureSet`]): `Basic` (the [`FIXED_FEATURES`], purchases per category and
//! the attribute one-hots) and `Extended` (the default), which adds the [`EVIDENCE_FEATURES`]
//! so that a learner sees at least every input a baseline uses (BG/NBD P(alive) and expected
//! purchases, as `churn-risk` computes them from the scenario's population parameters, which
//! for a fitted scenario are the fitted estimates) and the record's evidence of responsiveness
//! ([`crate::evidence::Evidence`]).
//!
//! | feature | meaning | unit |
//! |---|---|---|
//! | `recency_weeks` | time since the last purchase | weeks |
//! | `frequency` | repeat purchases x | count |
//! | `mean_spend` | average list-price spend per purchase | dollars |
//! | `tenure_weeks` | time since the first purchase T | weeks |
//! | `visits_last_period` | site visits seen last period | count |
//! | `opted_out` | opted out of contacts | 0/1 |
//! | `last_offer_discount`, `last_offer_recommended`, `last_offer_redeemed` | the last contact's offer and whether its coupon was redeemed | share, 0/1, 0/1 |
//! | `weeks_since_contact` | capped at [`SINCE_CONTACT_CAP_WEEKS`] | weeks |
//! | `contact_trace_{2,8,26}w`, `discount_trace_{2,8,26}w` | contacts / redeemed depths decayed at these half-lives | decayed count / share |
//! | `periods_remaining_share` | periods left in the scored window / horizon | share |
//! | `p_alive_bgnbd` | BG/NBD P(alive \| x, t_x, T) (Extended) | probability |
//! | `expected_purchases_52w` | BG/NBD E[purchases in the next 52 weeks \| x, t_x, T] (Extended) | count |
//! | `coupons_received_band{0,1,2}` | coupons delivered by depth band ([`crate::evidence::COUPON_BAND_EDGES`]) (Extended) | count |
//! | `coupons_redeemed_band{0,1,2}` | of those, periods with a redemption (Extended) | count |
//! | `recommendations_received`, `recommendations_bought` | recommendations delivered / followed by a purchase in that category in the period (Extended) | count |
//! | `contacted_periods` | periods with a delivered contact (Extended) | count |
//! | `purchase_rate_contacted`, `purchase_rate_uncontacted` | purchases per contacted / uncontacted period (Extended) | purchases per period |
//! | `purchases_category_k` | purchases per category (saturating at 255) | count |
//! | `attribute_a_level_l` | one-hot observable attributes | 0/1 |

use serde::{Deserialize, Serialize};

use crate::btyd::{BgNbdParams, bgnbd};
use crate::customer::Record;
use crate::rng::mix64;
use crate::scenario::Scenario;
use crate::trail::Trail;

/// Which features a learner observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum FeatureSet {
    /// The firm-record features of the first agents (no BG/NBD scores, no evidence counts).
    Basic,
    /// Basic plus [`EVIDENCE_FEATURES`] (observation parity with every baseline).
    #[default]
    Extended,
}

/// Weeks ahead of the `expected_purchases_52w` feature.
pub const EXPECTED_PURCHASES_WEEKS: f64 = 52.0;

/// Names of the features the `Extended` set adds after the fixed ones, in order.
pub const EVIDENCE_FEATURES: [&str; 13] = [
    "p_alive_bgnbd",
    "expected_purchases_52w",
    "coupons_received_band0",
    "coupons_received_band1",
    "coupons_received_band2",
    "coupons_redeemed_band0",
    "coupons_redeemed_band1",
    "coupons_redeemed_band2",
    "recommendations_received",
    "recommendations_bought",
    "contacted_periods",
    "purchase_rate_contacted",
    "purchase_rate_uncontacted",
];

/// Longest "weeks since last contact" reported (never-contacted customers are capped here).
pub const SINCE_CONTACT_CAP_WEEKS: f32 = 260.0;

/// Layout of the observation vector of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSpec {
    set: FeatureSet,
    bgnbd: BgNbdParams,
    period_weeks: f32,
    horizon: f32,
    categories: usize,
    /// Level counts of each attribute, for one-hot encoding.
    levels: Vec<usize>,
    /// Discount of each catalogue offer.
    offer_discount: Vec<f32>,
    /// Whether each catalogue offer recommends.
    offer_recommends: Vec<bool>,
}

/// Names of the fixed features, in order (category counts and attribute one-hots follow).
pub const FIXED_FEATURES: [&str; 17] = [
    "recency_weeks",
    "frequency",
    "mean_spend",
    "tenure_weeks",
    "visits_last_period",
    "opted_out",
    "last_offer_discount",
    "last_offer_recommended",
    "last_offer_redeemed",
    "weeks_since_contact",
    "contact_trace_2w",
    "contact_trace_8w",
    "contact_trace_26w",
    "discount_trace_2w",
    "discount_trace_8w",
    "discount_trace_26w",
    "periods_remaining_share",
];

impl FeatureSpec {
    /// The default layout ([`FeatureSet::Extended`]) for a scenario.
    pub fn new(s: &Scenario) -> Self {
        Self::with_set(s, FeatureSet::default())
    }

    /// The layout of feature set `set` for a scenario.
    pub fn with_set(s: &Scenario, set: FeatureSet) -> Self {
        FeatureSpec {
            set,
            bgnbd: s.population.bgnbd,
            period_weeks: s.period_weeks as f32,
            horizon: s.horizon as f32,
            categories: s.population.categories.count as usize,
            levels: s
                .population
                .attributes
                .iter()
                .map(|a| a.levels.len())
                .collect(),
            offer_discount: s.offers.iter().map(|o| o.discount as f32).collect(),
            offer_recommends: s
                .offers
                .iter()
                .map(|o| o.recommend != crate::scenario::RecommendRule::Nothing)
                .collect(),
        }
    }

    /// The feature set.
    pub fn set(&self) -> FeatureSet {
        self.set
    }

    fn evidence_len(&self) -> usize {
        match self.set {
            FeatureSet::Basic => 0,
            FeatureSet::Extended => EVIDENCE_FEATURES.len(),
        }
    }

    /// Length of the observation vector.
    pub fn dim(&self) -> usize {
        FIXED_FEATURES.len()
            + self.evidence_len()
            + self.categories
            + self.levels.iter().sum::<usize>()
    }

    /// Feature names, in order.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = FIXED_FEATURES.iter().map(|s| s.to_string()).collect();
        v.extend(
            EVIDENCE_FEATURES[..self.evidence_len()]
                .iter()
                .map(|s| s.to_string()),
        );
        v.extend((0..self.categories).map(|k| format!("purchases_category_{k}")));
        for (a, n) in self.levels.iter().enumerate() {
            v.extend((0..*n).map(|l| format!("attribute_{a}_level_{l}")));
        }
        v
    }

    /// Writes the features of the customer with record `rec` and trail `trail`, with
    /// `periods_remaining`, into `out` (`dim()` values).
    pub fn write(&self, rec: &Record, trail: &Trail, periods_remaining: u32, out: &mut [f32]) {
        let w = self.period_weeks;
        let (last_d, last_rec) = match self.offer_discount.get(rec.last_offer as usize) {
            Some(d) => (
                *d,
                self.offer_recommends[rec.last_offer as usize] as u8 as f32,
            ),
            None => (0.0, 0.0),
        };
        let fixed = [
            rec.recency() * w,
            rec.repeat_purchases as f32,
            rec.mean_spend(),
            rec.age * w,
            rec.last_visits as f32,
            rec.opted_out as u8 as f32,
            last_d,
            last_rec,
            rec.last_redeemed as u8 as f32,
            (rec.since_contact() * w).min(SINCE_CONTACT_CAP_WEEKS),
            trail.contact_traces[0],
            trail.contact_traces[1],
            trail.contact_traces[2],
            trail.discount_traces[0],
            trail.discount_traces[1],
            trail.discount_traces[2],
            periods_remaining as f32 / self.horizon,
        ];
        out[..fixed.len()].copy_from_slice(&fixed);
        let mut i = fixed.len();
        if self.set == FeatureSet::Extended {
            let evidence = self.evidence(rec, trail);
            out[i..i + evidence.len()].copy_from_slice(&evidence);
            i += evidence.len();
        }
        for k in 0..self.categories {
            out[i] = rec.category_counts[k] as f32;
            i += 1;
        }
        for (a, n) in self.levels.iter().enumerate() {
            for l in 0..*n {
                out[i] = (rec.attributes[a] as usize == l) as u8 as f32;
                i += 1;
            }
        }
    }

    /// The [`EVIDENCE_FEATURES`] of `rec`.
    fn evidence(&self, rec: &Record, trail: &Trail) -> [f32; EVIDENCE_FEATURES.len()] {
        let w = self.period_weeks as f64;
        let (x, t_x, big_t) = (
            rec.repeat_purchases as f64,
            rec.last_purchase as f64 * w,
            rec.age as f64 * w,
        );
        let p_alive = bgnbd::p_alive(&self.bgnbd, x, t_x, big_t);
        let expected = cached_expected_purchases(&self.bgnbd, x, t_x, big_t);
        let e = &trail.evidence;
        [
            p_alive as f32,
            expected as f32,
            e.coupons_received[0] as f32,
            e.coupons_received[1] as f32,
            e.coupons_received[2] as f32,
            e.coupons_redeemed[0] as f32,
            e.coupons_redeemed[1] as f32,
            e.coupons_redeemed[2] as f32,
            e.recommendations_received as f32,
            e.recommendations_bought as f32,
            e.contacted_periods as f32,
            e.purchase_rate_contacted(),
            e.purchase_rate_uncontacted(rec.age),
        ]
    }
}

/// Entries of each thread's cache of the `expected_purchases_52w` feature.
const EXPECTED_CACHE_LEN: usize = 1024;

/// One entry of the cache: the exact inputs (bit patterns of the BG/NBD parameters r, alpha,
/// a, b and of x, t_x, T) and the value computed from them.
#[derive(Debug, Clone, Copy)]
struct ExpectedEntry {
    inputs: [u64; 7],
    value: f64,
}

thread_local! {
    /// A direct-mapped cache of [`bgnbd::conditional_expected_purchases`] over
    /// [`EXPECTED_PURCHASES_WEEKS`], per thread.
    static EXPECTED_CACHE: std::cell::RefCell<Vec<Option<ExpectedEntry>>> =
        std::cell::RefCell::new(vec![None; EXPECTED_CACHE_LEN]);
}

/// BG/NBD conditional expected purchases over [`EXPECTED_PURCHASES_WEEKS`] of a customer with
/// history (x, t_x, T) (weeks): a pure function of its inputs, so a value found in this
/// thread's cache under the same inputs is the one computing it would give. Customers of a
/// batch often share a history (most have made no repeat purchase), and the hypergeometric
/// function behind it is most of an observation's cost.
fn cached_expected_purchases(p: &BgNbdParams, x: f64, t_x: f64, big_t: f64) -> f64 {
    let inputs = [
        p.r.to_bits(),
        p.alpha.to_bits(),
        p.a.to_bits(),
        p.b.to_bits(),
        x.to_bits(),
        t_x.to_bits(),
        big_t.to_bits(),
    ];
    let slot =
        (mix64(mix64(inputs[4] ^ mix64(inputs[5])) ^ inputs[6]) as usize) % EXPECTED_CACHE_LEN;
    EXPECTED_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        match cache[slot] {
            Some(e) if e.inputs == inputs => e.value,
            _ => {
                let value = bgnbd::conditional_expected_purchases(
                    p,
                    EXPECTED_PURCHASES_WEEKS,
                    x,
                    t_x,
                    big_t,
                );
                cache[slot] = Some(ExpectedEntry { inputs, value });
                value
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_expected_purchases_are_the_computed_ones_whatever_the_parameters() {
        // Two parameter sets interleaved over histories many more than the cache's slots: a
        // value must never be served to inputs it was not computed from.
        let cdnow = BgNbdParams::default();
        let other = BgNbdParams {
            r: 0.5,
            alpha: 2.0,
            a: 1.3,
            b: 3.1,
        };
        for round in 0..2 {
            for x in 0..6u32 {
                for t_x in 0..40u32 {
                    for big_t in (t_x..120).step_by(3) {
                        for p in [&cdnow, &other] {
                            let (x, t_x, big_t) = (x as f64, t_x as f64, big_t as f64);
                            let direct = bgnbd::conditional_expected_purchases(
                                p,
                                EXPECTED_PURCHASES_WEEKS,
                                x,
                                t_x,
                                big_t,
                            );
                            let cached = cached_expected_purchases(p, x, t_x, big_t);
                            assert_eq!(
                                cached.to_bits(),
                                direct.to_bits(),
                                "round {round}, {p:?}, x {x}, t_x {t_x}, T {big_t}"
                            );
                        }
                    }
                }
            }
        }
    }
}

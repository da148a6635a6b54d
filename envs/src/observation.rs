//! The observation vector a learning policy sees, built from the firm record alone (the type
//! [`Record`] holds nothing hidden) plus the periods remaining in the scored window.

use crate::customer::Record;
use crate::scenario::Scenario;

/// Longest "weeks since last contact" reported (never-contacted customers are capped here).
pub const SINCE_CONTACT_CAP_WEEKS: f32 = 260.0;

/// Layout of the observation vector of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSpec {
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
    /// The layout for a scenario.
    pub fn new(s: &Scenario) -> Self {
        FeatureSpec {
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

    /// Length of the observation vector.
    pub fn dim(&self) -> usize {
        FIXED_FEATURES.len() + self.categories + self.levels.iter().sum::<usize>()
    }

    /// Feature names, in order.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = FIXED_FEATURES.iter().map(|s| s.to_string()).collect();
        v.extend((0..self.categories).map(|k| format!("purchases_category_{k}")));
        for (a, n) in self.levels.iter().enumerate() {
            v.extend((0..*n).map(|l| format!("attribute_{a}_level_{l}")));
        }
        v
    }

    /// Writes the features of `rec` with `periods_remaining` into `out` (`dim()` values).
    pub fn write(&self, rec: &Record, periods_remaining: u32, out: &mut [f32]) {
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
            rec.contact_traces[0],
            rec.contact_traces[1],
            rec.contact_traces[2],
            rec.discount_traces[0],
            rec.discount_traces[1],
            rec.discount_traces[2],
            periods_remaining as f32 / self.horizon,
        ];
        out[..fixed.len()].copy_from_slice(&fixed);
        let mut i = fixed.len();
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
}

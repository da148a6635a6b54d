//! What an evaluation measures: per-customer realised CLV (for intervals and paired
//! differences), totals by value segment, and a per-period series; and their summaries.
//!
//! Sums are reduced over fixed chunks in index order, so results never depend on the number of
//! threads.

use serde::{Deserialize, Serialize};

use crate::customer::PeriodOutcome;

/// Two-sided 95% normal quantile.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Value segments, from the pre-treatment record.
pub const SEGMENTS: [&str; 3] = ["high", "mid", "low"];

/// Sums over a set of customers and periods (dollars at list price unless stated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Customers counted (set once, not per period).
    pub customers: u64,
    /// Sum of undiscounted rewards, dollars.
    pub reward: f64,
    /// Gross margin m * spend, dollars.
    pub margin: f64,
    /// List-price spend, dollars.
    pub spend: f64,
    /// Discounts given, dollars.
    pub discount: f64,
    /// Discounts given on baseline purchases (would have happened anyway), dollars.
    pub discount_on_baseline: f64,
    /// Contact costs, dollars.
    pub contact_cost: f64,
    /// Purchases.
    pub purchases: u64,
    /// Offer-driven purchases.
    pub incremental_purchases: u64,
    /// Purchases covered by a coupon.
    pub redeemed: u64,
    /// Contacts made.
    pub contacts: u64,
    /// Site visits.
    pub visits: u64,
    /// Win-back re-activations.
    pub reactivated: u64,
    /// Customers alive at the end of the window (set at the end).
    pub active_end: u64,
    /// Customers opted out at the end of the window (set at the end).
    pub opted_out_end: u64,
    /// Contacts by catalogue code (last entry: continuous or non-catalogue offers).
    pub offers: Vec<u64>,
}

impl Totals {
    /// Empty totals for a catalogue of `n_offers`.
    pub fn new(n_offers: usize) -> Self {
        Totals {
            offers: vec![0; n_offers + 1],
            ..Totals::default()
        }
    }

    /// Adds one customer-period.
    #[inline]
    pub fn add(&mut self, o: &PeriodOutcome) {
        let mut dollars = Dollars::default();
        dollars.add(o);
        // Adding +0 changes no sum here (they start at +0 and so never hold -0).
        self.merge_dollars(&dollars);
        self.add_events(o);
    }

    /// Adds the counts and the offer of one customer-period ([`Self::add`] without its
    /// dollars).
    #[inline(always)]
    pub fn add_events(&mut self, o: &PeriodOutcome) {
        self.purchases += o.purchases as u64;
        self.incremental_purchases += o.incremental_purchases as u64;
        self.redeemed += o.redeemed as u64;
        self.contacts += o.contacts as u64;
        self.visits += o.visits as u64;
        self.reactivated += o.reactivated as u64;
        if let Some(code) = o.offer_code {
            let last = self.offers.len() - 1;
            self.offers[(code as usize).min(last)] += 1;
        }
    }

    /// Adds another set of totals.
    pub fn merge(&mut self, o: &Totals) {
        self.merge_dollars(&o.dollars());
        self.merge_events(o);
    }

    /// The dollar sums.
    pub fn dollars(&self) -> Dollars {
        Dollars {
            reward: self.reward,
            margin: self.margin,
            spend: self.spend,
            discount: self.discount,
            discount_on_baseline: self.discount_on_baseline,
            contact_cost: self.contact_cost,
        }
    }

    /// Adds dollar sums.
    pub fn merge_dollars(&mut self, d: &Dollars) {
        self.reward += d.reward;
        self.margin += d.margin;
        self.spend += d.spend;
        self.discount += d.discount;
        self.discount_on_baseline += d.discount_on_baseline;
        self.contact_cost += d.contact_cost;
    }

    /// Adds another set of totals' counts and offers (not its dollars).
    pub fn merge_events(&mut self, o: &Totals) {
        self.customers += o.customers;
        self.purchases += o.purchases;
        self.incremental_purchases += o.incremental_purchases;
        self.redeemed += o.redeemed;
        self.contacts += o.contacts;
        self.visits += o.visits;
        self.reactivated += o.reactivated;
        self.active_end += o.active_end;
        self.opted_out_end += o.opted_out_end;
        if self.offers.len() < o.offers.len() {
            self.offers.resize(o.offers.len(), 0);
        }
        for (a, b) in self.offers.iter_mut().zip(&o.offers) {
            *a += b;
        }
    }

    /// Marketing cost: discounts plus contacts, dollars.
    pub fn marketing_cost(&self) -> f64 {
        self.discount + self.contact_cost
    }
}

/// The dollar sums of [`Totals`], kept apart where the order of their additions is fixed
/// (by period, then by chunk of customers).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Dollars {
    /// Sum of undiscounted rewards, dollars.
    pub reward: f64,
    /// Gross margin m * spend, dollars.
    pub margin: f64,
    /// List-price spend, dollars.
    pub spend: f64,
    /// Discounts given, dollars.
    pub discount: f64,
    /// Discounts given on baseline purchases, dollars.
    pub discount_on_baseline: f64,
    /// Contact costs, dollars.
    pub contact_cost: f64,
}

impl Dollars {
    /// Adds one customer-period's dollars, as [`Totals::add`] does.
    #[inline(always)]
    pub fn add(&mut self, o: &PeriodOutcome) {
        // Most customer-periods spend nothing and cost nothing: then every dollar field is 0
        // (margin = m * spend, reward = margin - discount - contact cost, the discount on
        // baseline purchases is part of the discount) and adding them would change no sum
        // (these sums start at +0 and so never hold -0), so skip the dependent additions.
        if o.spend != 0.0 || o.discount != 0.0 || o.contact_cost != 0.0 {
            self.reward += o.reward;
            self.margin += o.margin;
            self.spend += o.spend;
            self.discount += o.discount;
            self.discount_on_baseline += o.discount_on_baseline;
            self.contact_cost += o.contact_cost;
        }
    }
}

/// Sums over all customers in one period of the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PeriodRow {
    /// Rewards, dollars.
    pub reward: f64,
    /// Purchases.
    pub purchases: u64,
    /// Contacts.
    pub contacts: u64,
    /// Customers alive at the end of the period.
    pub alive: u64,
    /// Contacts by catalogue code (last entry: other).
    pub offers: Vec<u64>,
    /// Realised marketing spend (discounts given plus contact costs), undiscounted dollars.
    pub marketing: f64,
    /// The budget's count of the offers made (see [`crate::budget::offer_cost`]), dollars;
    /// 0 without a budget or cap.
    pub committed: f64,
    /// The period's budget, dollars (`None`: unlimited).
    pub budget: Option<f64>,
    /// Offers dropped because the customer was at its contact cap.
    pub capped: u64,
    /// Offers dropped because the budget was spent.
    pub cut: u64,
}

impl PeriodRow {
    /// Adds another row.
    pub fn merge(&mut self, o: &PeriodRow) {
        self.reward += o.reward;
        self.purchases += o.purchases;
        self.contacts += o.contacts;
        self.alive += o.alive;
        self.marketing += o.marketing;
        self.committed += o.committed;
        self.budget = match (self.budget, o.budget) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.capped += o.capped;
        self.cut += o.cut;
        if self.offers.len() < o.offers.len() {
            self.offers.resize(o.offers.len(), 0);
        }
        for (a, b) in self.offers.iter_mut().zip(&o.offers) {
            *a += b;
        }
    }
}

/// Everything measured when one policy ran over the scored window of one or more populations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalResult {
    /// Policy spec.
    pub policy: String,
    /// Seeds of the populations, in order.
    pub seeds: Vec<u64>,
    /// Scored horizon H, periods.
    pub horizon: u32,
    /// Short horizon (52 weekly periods), periods.
    pub short_horizon: u32,
    /// Realised discounted CLV over H of each customer, dollars.
    pub clv: Vec<f64>,
    /// Realised discounted CLV over the short horizon of each customer, dollars.
    pub clv_short: Vec<f64>,
    /// Discounted marketing spend over H of each customer (discounts given plus contact
    /// costs, discounted as the CLV is), dollars. CLV + this = discounted gross margin.
    pub marketing: Vec<f64>,
    /// Value segment of each customer (index into [`SEGMENTS`]).
    pub segment: Vec<u8>,
    /// Totals by segment.
    pub by_segment: [Totals; 3],
    /// Per-period sums over all customers.
    pub series: Vec<PeriodRow>,
    /// Wall time of the evaluation, seconds (not part of the deterministic result).
    pub elapsed_seconds: f64,
}

impl EvalResult {
    /// Customers evaluated.
    pub fn customers(&self) -> usize {
        self.clv.len()
    }

    /// Totals over all segments.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::new(0);
        for s in &self.by_segment {
            t.merge(s);
        }
        t
    }

    /// Appends another evaluation of the same policy on other customers (another seed).
    pub fn append(&mut self, o: EvalResult) {
        self.seeds.extend(o.seeds);
        self.clv.extend(o.clv);
        self.clv_short.extend(o.clv_short);
        self.marketing.extend(o.marketing);
        self.segment.extend(o.segment);
        for (a, b) in self.by_segment.iter_mut().zip(&o.by_segment) {
            a.merge(b);
        }
        if self.series.len() < o.series.len() {
            self.series.resize(o.series.len(), PeriodRow::default());
        }
        for (a, b) in self.series.iter_mut().zip(&o.series) {
            a.merge(b);
        }
        self.elapsed_seconds += o.elapsed_seconds;
    }
}

/// Mean with a 95% normal interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanCi {
    /// Sample mean.
    pub mean: f64,
    /// 95% interval [lo, hi] (mean +- 1.96 standard errors).
    pub ci95: [f64; 2],
    /// Standard error of the mean.
    pub se: f64,
    /// Observations.
    pub n: u64,
}

/// Mean and 95% interval of `xs`, summed in index order (deterministic).
pub fn mean_ci(xs: impl Iterator<Item = f64> + Clone) -> MeanCi {
    let (mut n, mut sum) = (0u64, 0.0);
    for x in xs.clone() {
        n += 1;
        sum += x;
    }
    if n == 0 {
        return MeanCi {
            mean: f64::NAN,
            ci95: [f64::NAN; 2],
            se: f64::NAN,
            n,
        };
    }
    let mean = sum / n as f64;
    let ss: f64 = xs.map(|x| (x - mean) * (x - mean)).sum();
    let se = if n > 1 {
        (ss / (n - 1) as f64 / n as f64).sqrt()
    } else {
        0.0
    };
    MeanCi {
        mean,
        ci95: [mean - Z95 * se, mean + Z95 * se],
        se,
        n,
    }
}

/// Paired difference `a - b` per customer (same customers, common random numbers).
pub fn paired_diff(a: &[f64], b: &[f64], mask: Option<(&[u8], u8)>) -> MeanCi {
    assert_eq!(
        a.len(),
        b.len(),
        "paired difference needs the same customers"
    );
    let it = a
        .iter()
        .zip(b)
        .enumerate()
        .filter(move |(i, _)| mask.is_none_or(|(seg, s)| seg[*i] == s))
        .map(|(_, (x, y))| x - y);
    mean_ci(it)
}

/// The summary of one policy (over all customers or one segment) that `clv simulate --json`
/// and `clv compare` report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Customers.
    pub customers: u64,
    /// Mean realised CLV over H per customer, dollars.
    pub clv_mean: f64,
    /// Its 95% interval, dollars.
    pub clv_ci95: [f64; 2],
    /// Mean realised CLV over the short horizon (52 weeks), dollars.
    pub clv52_mean: f64,
    /// Its 95% interval, dollars.
    pub clv52_ci95: [f64; 2],
    /// Gross margin (m x list-price spend) per customer over H, undiscounted dollars.
    pub margin_per_customer: f64,
    /// Discounts plus contact costs per customer, undiscounted dollars.
    pub marketing_cost_per_customer: f64,
    /// Discounts per customer, dollars.
    pub discount_per_customer: f64,
    /// Contact costs per customer, dollars.
    pub contact_cost_per_customer: f64,
    /// Purchases per customer over H.
    pub purchases_per_customer: f64,
    /// Offer-driven purchases per customer over H.
    pub offer_driven_purchases_per_customer: f64,
    /// Average list-price spend per purchase, dollars.
    pub avg_order_value: f64,
    /// Share of customers still alive (buying) at the end of H.
    pub active_share_end: f64,
    /// Share of customers opted out at the end of H.
    pub opt_out_share: f64,
    /// Contacts per customer over H.
    pub contacts_per_customer: f64,
    /// Coupon-covered purchases per customer over H.
    pub coupons_redeemed_per_customer: f64,
    /// Site visits per customer per period (activity).
    pub visits_per_customer_period: f64,
    /// Share of the discount given on purchases that would have happened anyway.
    pub discount_on_baseline_share: f64,
    /// Contacts by offer name, per customer over H.
    pub offers_per_customer: Vec<(String, f64)>,
}

impl Summary {
    /// Summarises customers `idx` of `r` with totals `t`; `offer_names` names the catalogue.
    pub fn new(r: &EvalResult, t: &Totals, segment: Option<u8>, offer_names: &[String]) -> Self {
        let keep = |i: &usize| segment.is_none_or(|s| r.segment[*i] == s);
        let clv = mean_ci((0..r.clv.len()).filter(keep).map(|i| r.clv[i]));
        let clv52 = mean_ci((0..r.clv.len()).filter(keep).map(|i| r.clv_short[i]));
        let n = (t.customers.max(1)) as f64;
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let mut offers_per_customer: Vec<(String, f64)> = offer_names
            .iter()
            .zip(&t.offers)
            .map(|(name, c)| (name.clone(), *c as f64 / n))
            .collect();
        if let Some(other) = t.offers.get(offer_names.len())
            && *other > 0
        {
            offers_per_customer.push(("other".into(), *other as f64 / n));
        }
        Summary {
            customers: t.customers,
            clv_mean: clv.mean,
            clv_ci95: clv.ci95,
            clv52_mean: clv52.mean,
            clv52_ci95: clv52.ci95,
            margin_per_customer: t.margin / n,
            marketing_cost_per_customer: t.marketing_cost() / n,
            discount_per_customer: t.discount / n,
            contact_cost_per_customer: t.contact_cost / n,
            purchases_per_customer: t.purchases as f64 / n,
            offer_driven_purchases_per_customer: t.incremental_purchases as f64 / n,
            avg_order_value: div(t.spend, t.purchases as f64),
            active_share_end: t.active_end as f64 / n,
            opt_out_share: t.opted_out_end as f64 / n,
            contacts_per_customer: t.contacts as f64 / n,
            coupons_redeemed_per_customer: t.redeemed as f64 / n,
            visits_per_customer_period: t.visits as f64 / n / r.horizon.max(1) as f64,
            discount_on_baseline_share: div(t.discount_on_baseline, t.discount),
            offers_per_customer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_ci_matches_hand_computation() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        let m = mean_ci(xs.iter().copied());
        assert_eq!(m.mean, 2.5);
        let se = (1.666_666_666_666_666_7f64 / 4.0).sqrt();
        assert!((m.se - se).abs() < 1e-12);
        assert!((m.ci95[0] - (2.5 - Z95 * se)).abs() < 1e-12);
    }

    #[test]
    fn paired_difference_uses_pairs() {
        let a = [10.0, 20.0, 30.0];
        let b = [9.0, 19.0, 29.0];
        let d = paired_diff(&a, &b, None);
        assert_eq!(d.mean, 1.0);
        assert_eq!(d.se, 0.0);
        let seg = [0u8, 1, 0];
        assert_eq!(paired_diff(&a, &b, Some((&seg, 1))).n, 1);
    }
}

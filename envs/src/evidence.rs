//! Evidence of a customer's responsiveness in the firm record: offers received and redeemed by
//! kind, recommendations followed, and purchases in contacted against uncontacted periods.
//!
//! Everything here is what the firm saw (contacts it made, coupons redeemed at the till,
//! purchases and their categories), never the hidden response type; it lets a learner infer who
//! responds from the record, which is what observation parity asks for.

use crate::customer::PeriodOutcome;
use crate::offer::Offer;

/// Upper edges of the coupon depth bands (shares of list price): band 0 is depth below
/// 12.5%, band 1 below 22.5%, band 2 the rest (so 10% / 20% / 30% coupons fall one per band).
pub const COUPON_BAND_EDGES: [f32; 2] = [0.125, 0.225];
/// Number of coupon depth bands.
pub const COUPON_BANDS: usize = COUPON_BAND_EDGES.len() + 1;

/// The depth band of a coupon of depth `discount` (share of list price).
pub fn coupon_band(discount: f32) -> usize {
    COUPON_BAND_EDGES
        .iter()
        .position(|edge| discount < *edge)
        .unwrap_or(COUPON_BANDS - 1)
}

/// Counts the firm keeps of its offers and of the customer's answers (saturating counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Evidence {
    /// Coupons delivered, by depth band ([`coupon_band`]).
    pub coupons_received: [u16; COUPON_BANDS],
    /// Coupons delivered whose period saw at least one redemption, by depth band.
    pub coupons_redeemed: [u16; COUPON_BANDS],
    /// Recommendations delivered.
    pub recommendations_received: u16,
    /// Recommendations after which the customer bought in the recommended category in the same
    /// period.
    pub recommendations_bought: u16,
    /// Periods with a delivered contact.
    pub contacted_periods: u16,
    /// Purchases made in periods with a delivered contact.
    pub purchases_contacted: u16,
    /// Purchases made in periods without a contact.
    pub purchases_uncontacted: u16,
}

impl Evidence {
    /// Adds one period: the `offer` sent (delivered when `out.contacts > 0`), what happened
    /// (`out`), and whether a purchase fell in the recommended category.
    pub fn add_period(&mut self, offer: &Offer, out: &PeriodOutcome, bought_recommended: bool) {
        let add = |x: &mut u16, n: u32| *x = x.saturating_add(n.min(u16::MAX as u32) as u16);
        if out.contacts == 0 {
            add(&mut self.purchases_uncontacted, out.purchases);
            return;
        }
        add(&mut self.contacted_periods, 1);
        add(&mut self.purchases_contacted, out.purchases);
        if offer.discount > 0.0 {
            let band = coupon_band(offer.discount);
            add(&mut self.coupons_received[band], 1);
            add(&mut self.coupons_redeemed[band], (out.redeemed > 0) as u32);
        }
        if offer.recommend.is_some() {
            add(&mut self.recommendations_received, 1);
            add(&mut self.recommendations_bought, bought_recommended as u32);
        }
    }

    /// Purchases per contacted period (0 before any contact).
    pub fn purchase_rate_contacted(&self) -> f32 {
        ratio(self.purchases_contacted, self.contacted_periods)
    }

    /// Purchases per uncontacted period, given the number of periods observed so far.
    pub fn purchase_rate_uncontacted(&self, periods_observed: f32) -> f32 {
        let uncontacted = (periods_observed - self.contacted_periods as f32).max(0.0);
        if uncontacted <= 0.0 {
            0.0
        } else {
            self.purchases_uncontacted as f32 / uncontacted
        }
    }
}

fn ratio(num: u16, den: u16) -> f32 {
    if den == 0 {
        0.0
    } else {
        num as f32 / den as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_split_the_catalogue_depths() {
        assert_eq!(coupon_band(0.10), 0);
        assert_eq!(coupon_band(0.15), 1);
        assert_eq!(coupon_band(0.20), 1);
        assert_eq!(coupon_band(0.30), 2);
    }

    #[test]
    fn counts_follow_the_period() {
        let mut e = Evidence::default();
        let coupon = Offer {
            discount: 0.2,
            recommend: Some(1),
            contact: true,
            code: 3,
        };
        let out = PeriodOutcome {
            contacts: 1,
            purchases: 2,
            redeemed: 1,
            ..PeriodOutcome::default()
        };
        e.add_period(&coupon, &out, true);
        let quiet = PeriodOutcome {
            purchases: 1,
            ..PeriodOutcome::default()
        };
        e.add_period(&Offer::default(), &quiet, false);
        assert_eq!(e.coupons_received, [0, 1, 0]);
        assert_eq!(e.coupons_redeemed, [0, 1, 0]);
        assert_eq!(
            (e.recommendations_received, e.recommendations_bought),
            (1, 1)
        );
        assert_eq!(e.contacted_periods, 1);
        assert_eq!((e.purchases_contacted, e.purchases_uncontacted), (2, 1));
        assert_eq!(e.purchase_rate_contacted(), 2.0);
        assert_eq!(e.purchase_rate_uncontacted(3.0), 0.5);
    }
}

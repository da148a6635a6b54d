//! The action of one customer in one period, resolved from the catalogue or a continuous offer.

use crate::customer::Record;
use crate::scenario::{ContinuousOfferConfig, OfferSpec, RecommendRule, Scenario};

/// Catalogue index meaning "not from the catalogue" (a continuous offer) in [`Offer::code`].
pub const CONTINUOUS_CODE: u8 = u8::MAX;

/// What is done to one customer in one period. A coupon or a recommendation needs `contact`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Offer {
    /// Coupon depth, share of list price (0 = no coupon).
    pub discount: f32,
    /// Recommended category, if any.
    pub recommend: Option<u8>,
    /// Whether the customer is contacted (costs the contact cost if reachable).
    pub contact: bool,
    /// Catalogue index of the offer, or [`CONTINUOUS_CODE`].
    pub code: u8,
}

impl Offer {
    /// No contact, no coupon, no recommendation (catalogue code 0 by convention only when the
    /// catalogue's first entry is the empty offer; use [`Offer::from_spec`] otherwise).
    pub fn nothing(code: u8) -> Offer {
        Offer {
            discount: 0.0,
            recommend: None,
            contact: false,
            code,
        }
    }

    /// The catalogue's empty offer (no contact) of `scenario` for a customer with `record`;
    /// the default offer (no contact) where the catalogue has none.
    pub fn empty(scenario: &Scenario, record: &Record) -> Offer {
        scenario
            .empty_offer_index()
            .map(|i| Offer::from_spec(&scenario.offers[i], i as u8, record))
            .unwrap_or_default()
    }

    /// Resolves catalogue entry `code` for a customer with firm record `record`.
    pub fn from_spec(spec: &OfferSpec, code: u8, record: &Record) -> Offer {
        Offer {
            discount: spec.discount as f32,
            recommend: resolve_rule(spec.recommend, record),
            contact: spec.contact,
            code,
        }
    }

    /// Maps a continuous action to an offer: `depth` (clamped to [0, max_discount]) below
    /// `min_discount` means no coupon; then, where the scenario enables a contact probability,
    /// `contact_u < contact_prob` contacts without a coupon (carrying the configured
    /// recommendation); otherwise no contact. A coupon always contacts.
    ///
    /// So an actor (DDPG / TD3, whose action box is `[0, max_discount]`, plus `[0, 1]` for the
    /// contact probability where enabled) that never outputs exactly zero still contacts
    /// nobody while its depth stays below `min_discount`. `contact_u` is a uniform in (0, 1)
    /// from the customer's own stream: the training env draws it from the customer's
    /// contact-coin purpose, a trained agent acting as a simulator policy from its policy
    /// stream (`ObsBatch::uniform`), so two policies on the same seeds draw the same coins.
    pub fn from_continuous(
        cfg: &ContinuousOfferConfig,
        depth: f32,
        contact_prob: Option<f32>,
        contact_u: f64,
        record: &Record,
    ) -> Offer {
        let depth = depth.clamp(0.0, cfg.max_discount as f32);
        let recommend = resolve_rule(cfg.recommend, record);
        if depth >= cfg.min_discount as f32 && depth > 0.0 {
            return Offer {
                discount: depth,
                recommend,
                contact: true,
                code: CONTINUOUS_CODE,
            };
        }
        let contact = match (cfg.contact_probability, contact_prob) {
            (true, Some(p)) => contact_u < p.clamp(0.0, 1.0) as f64,
            _ => false,
        };
        Offer {
            discount: 0.0,
            recommend: if contact { recommend } else { None },
            contact,
            code: CONTINUOUS_CODE,
        }
    }
}

fn resolve_rule(rule: RecommendRule, record: &Record) -> Option<u8> {
    match rule {
        RecommendRule::Nothing => None,
        RecommendRule::Category(k) => Some(k),
        RecommendRule::LastBought => Some(record.last_category),
        RecommendRule::MostBought => Some(record.most_bought_category()),
    }
}

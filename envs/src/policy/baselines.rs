//! Baseline policies: simple, explainable rules a growth team would try first. Parameterised
//! ones are tuned on validation seeds (`clv tune`) before any comparison.

use super::{Mode, ObsBatch, Policy, act_each};
use crate::btyd::bgnbd;
use crate::customer::ResponseType;
use crate::offer::Offer;
use crate::scenario::Scenario;

/// Slack on week thresholds (weeks), so that a cadence of k periods fires after exactly k
/// periods despite `f32` rounding of periods * weeks per period.
const WEEKS_SLACK: f32 = 1e-3;
/// Smallest gain in expected reward (dollars) for `oracle-myopic` to prefer a later catalogue
/// entry over an earlier one (ties go to the lower index).
const ORACLE_TIE_MARGIN: f64 = 1e-12;

/// Which rule a baseline applies (parameters in weeks and probabilities; offers are catalogue
/// indices).
#[derive(Debug, Clone, PartialEq)]
pub enum BaselineKind {
    /// Never contact.
    None,
    /// A uniformly random catalogue offer each period.
    Random,
    /// The same catalogue offer every period.
    Fixed {
        /// Catalogue index.
        offer: usize,
    },
    /// The offer every `weeks` weeks (when at least that long since the last contact).
    Cadence {
        /// Catalogue index.
        offer: usize,
        /// Interval, weeks.
        weeks: f64,
    },
    /// The offer once recency passes `weeks` (and no contact since the last purchase).
    RfmWinback {
        /// Recency threshold, weeks.
        weeks: f64,
        /// Catalogue index.
        offer: usize,
    },
    /// The offer when BG/NBD P(alive | history) falls below `p`, at most every `cooldown`
    /// weeks.
    ChurnRisk {
        /// P(alive) threshold.
        p: f64,
        /// Catalogue index.
        offer: usize,
        /// Least weeks between contacts.
        cooldown: f64,
    },
    /// Recommend the category last bought, every `weeks` weeks.
    RecommendLast {
        /// Interval, weeks.
        weeks: f64,
    },
    /// Reads hidden traits; picks the catalogue offer with the highest expected reward this
    /// period (ignores every future effect).
    OracleMyopic,
}

/// A baseline policy bound to a scenario.
#[derive(Debug, Clone)]
pub struct Baseline {
    kind: BaselineKind,
    spec: String,
    /// Index of the catalogue's empty offer (no contact), or `None`.
    nothing: u8,
    /// Catalogue index used by `recommend-last` for its statistics (an offer with a
    /// recommendation and no coupon), or the empty offer's.
    recommend_code: u8,
}

impl Baseline {
    /// A baseline of `kind` for `scenario`; `spec` is its canonical spec string.
    pub fn new(kind: BaselineKind, spec: String, scenario: &Scenario) -> Self {
        let nothing = scenario
            .offers
            .iter()
            .position(|o| !o.contact)
            .map(|i| i as u8)
            .unwrap_or(crate::offer::CONTINUOUS_CODE);
        let recommend_code = scenario
            .offers
            .iter()
            .position(|o| {
                o.discount == 0.0 && o.recommend != crate::scenario::RecommendRule::Nothing
            })
            .map(|i| i as u8)
            .unwrap_or(crate::offer::CONTINUOUS_CODE);
        Baseline {
            kind,
            spec,
            nothing,
            recommend_code,
        }
    }

    /// The rule.
    pub fn kind(&self) -> &BaselineKind {
        &self.kind
    }

    fn nothing(&self) -> Offer {
        Offer::nothing(self.nothing)
    }
}

impl Policy for Baseline {
    fn name(&self) -> String {
        self.spec.clone()
    }

    fn act(&mut self, batch: &ObsBatch<'_>, _mode: Mode, out: &mut [Offer]) {
        let weeks = batch.scenario().period_weeks as f32;
        let nothing = self.nothing();
        match &self.kind {
            BaselineKind::None => out.fill(nothing),
            BaselineKind::Random => {
                let n = batch.scenario().offers.len();
                act_each(out, |i| {
                    let code = ((batch.uniform(i, 0) * n as f64) as usize).min(n - 1);
                    batch.catalogue_offer(i, code)
                })
            }
            BaselineKind::Fixed { offer } => act_each(out, |i| batch.catalogue_offer(i, *offer)),
            BaselineKind::Cadence {
                offer,
                weeks: every,
            } => {
                let every = *every as f32;
                act_each(out, |i| {
                    let r = batch.record(i);
                    if r.since_contact() * weeks >= every - WEEKS_SLACK {
                        batch.catalogue_offer(i, *offer)
                    } else {
                        nothing
                    }
                })
            }
            BaselineKind::RfmWinback { weeks: thr, offer } => {
                let thr = *thr as f32;
                act_each(out, |i| {
                    let r = batch.record(i);
                    let recency = r.recency();
                    if !r.opted_out && recency * weeks >= thr && r.since_contact() > recency {
                        batch.catalogue_offer(i, *offer)
                    } else {
                        nothing
                    }
                })
            }
            BaselineKind::ChurnRisk { p, offer, cooldown } => {
                let bg = batch.scenario().population.bgnbd;
                let cooldown = *cooldown as f32;
                act_each(out, |i| {
                    let r = batch.record(i);
                    if r.opted_out || r.since_contact() * weeks < cooldown - WEEKS_SLACK {
                        return nothing;
                    }
                    let w = weeks as f64;
                    let alive = bgnbd::p_alive(
                        &bg,
                        r.repeat_purchases as f64,
                        r.last_purchase as f64 * w,
                        r.age as f64 * w,
                    );
                    if alive < *p {
                        batch.catalogue_offer(i, *offer)
                    } else {
                        nothing
                    }
                })
            }
            BaselineKind::RecommendLast { weeks: every } => {
                let every = *every as f32;
                let code = self.recommend_code;
                act_each(out, |i| {
                    let r = batch.record(i);
                    if !r.opted_out && r.since_contact() * weeks >= every - WEEKS_SLACK {
                        Offer {
                            discount: 0.0,
                            recommend: Some(r.last_category),
                            contact: true,
                            code,
                        }
                    } else {
                        nothing
                    }
                })
            }
            BaselineKind::OracleMyopic => act_each(out, |i| oracle_choice(batch, i)),
        }
    }
}

/// The catalogue offer with the highest expected reward this period for customer `i`, from
/// its hidden traits and state (expected counts; the dropout within the period is ignored).
fn oracle_choice(batch: &ObsBatch<'_>, i: usize) -> Offer {
    let s = batch.scenario();
    let d = batch.dynamics;
    let (tr, st) = batch.hidden(i);
    let rec = batch.record(i);
    let mean_spend = d.p_spend / tr.nu as f64;
    let mut best = (f64::NEG_INFINITY, 0usize);
    for code in 0..s.offers.len() {
        let offer = batch.catalogue_offer(i, code);
        let contacted = offer.contact && !rec.opted_out;
        let mut value = if contacted { -d.contact_cost } else { 0.0 };
        if st.alive {
            let lambda = tr.lambda as f64;
            let coupon = contacted && offer.discount > 0.0 && s.coupon.enabled;
            let redeems = coupon && tr.response.redeems();
            let pressure = st.pressure as f64 * d.scenario.decay(s.fatigue.half_life_weeks)
                + if contacted && s.fatigue.enabled {
                    1.0
                } else {
                    0.0
                };
            let reference = st.reference as f64 * d.scenario.decay(s.habituation.half_life_weeks);
            let mut keep = 1.0;
            if s.fatigue.enabled {
                keep *= (-s.fatigue.purchase_thinning * pressure).exp();
            }
            if s.habituation.enabled && !redeems {
                keep *= (-s.habituation.full_price_thinning * reference).exp();
            }
            let mut purchases = lambda * keep;
            let dd = offer.discount as f64;
            if coupon && tr.response == ResponseType::Persuadable {
                let d_eff = if s.habituation.enabled {
                    (dd - s.habituation.erosion * reference).max(0.0)
                } else {
                    dd
                };
                purchases +=
                    lambda * tr.elasticity as f64 * (1.0 - (-s.coupon.saturation * d_eff).exp());
            }
            if let Some(k) = offer.recommend
                && contacted
                && s.recommendation.enabled
            {
                purchases += d.preference(tr, k) * s.recommendation.lift * lambda;
            }
            value += d.margin * purchases * mean_spend;
            if redeems {
                value -= dd * mean_spend * purchases.min(s.coupon.max_redemptions as f64);
            }
        }
        if value > best.0 + ORACLE_TIE_MARGIN {
            best = (value, code);
        }
    }
    batch.catalogue_offer(i, best.1)
}

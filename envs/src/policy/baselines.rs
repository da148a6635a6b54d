//! Baseline policies: simple, explainable rules a growth team would try first. Parameterised
//! ones are tuned on validation seeds (`clv tune`) before any comparison.

use rayon::prelude::*;

use super::{Mode, ObsBatch, PerCustomer, Policy, act_each};
use crate::btyd::bgnbd;
use crate::customer::{Customer, ResponseType};
use crate::expected::expected_reward;
use crate::offer::Offer;
use crate::rollout::Rollout;
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
    /// Reads hidden traits and state: one step of policy improvement over `incumbent` with
    /// full information. Each period it estimates every catalogue offer's discounted return
    /// (the offer, then the incumbent to the horizon's end; expected rewards given the state,
    /// `draws` imagined futures independent of the real one, shared by every offer) and
    /// deviates from the incumbent's action where the best offer's estimate beats it by more
    /// than `margin` dollars. A reference for how much any improvement on the incumbent can
    /// gain, not a policy a firm could run.
    OracleRollout {
        /// Imagined futures per estimate (>= 1).
        draws: u32,
        /// Least estimated gain (dollars of discounted CLV) for a deviation.
        margin: f64,
        /// Periods each estimate covers (the offer's included), cut at the horizon's end;
        /// `None`: to the horizon's end.
        periods: Option<u32>,
        /// The policy improved on (a baseline that is not itself an oracle rollout).
        incumbent: Box<BaselineKind>,
    },
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
    /// The incumbent of an `oracle-rollout`.
    incumbent: Option<Box<Baseline>>,
}

impl Baseline {
    /// A baseline of `kind` for `scenario`; `spec` is its canonical spec string.
    pub fn new(kind: BaselineKind, spec: String, scenario: &Scenario) -> Self {
        let nothing = scenario
            .empty_offer_index()
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
        let incumbent = match &kind {
            BaselineKind::OracleRollout { incumbent, .. } => {
                let name = super::canonical(incumbent, scenario);
                Some(Box::new(Baseline::new(
                    (**incumbent).clone(),
                    name,
                    scenario,
                )))
            }
            _ => None,
        };
        Baseline {
            kind,
            spec,
            nothing,
            recommend_code,
            incumbent,
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

    fn priorities(&mut self, batch: &ObsBatch<'_>, offers: &[Offer], out: &mut [f64]) {
        let this = &*self;
        out.par_iter_mut()
            .enumerate()
            .with_min_len(2048)
            .for_each(|(i, p)| *p = this.priority(batch, i, &offers[i]));
    }

    fn act(&mut self, batch: &ObsBatch<'_>, _mode: Mode, out: &mut [Offer]) {
        match &self.kind {
            BaselineKind::None => out.fill(self.nothing()),
            BaselineKind::OracleRollout {
                draws,
                margin,
                periods,
                ..
            } => {
                let (draws, margin, periods) = (*draws, *margin, *periods);
                let incumbent = self
                    .incumbent
                    .as_deref_mut()
                    .expect("an oracle-rollout baseline is built with its incumbent");
                incumbent.act(batch, Mode::Greedy, out);
                let incumbent = &*incumbent;
                out.par_iter_mut()
                    .enumerate()
                    .with_min_len(16)
                    .for_each_init(
                        || Some(incumbent.clone()),
                        |policy, (i, o)| {
                            if batch.present(i) {
                                *o = rollout_choice(batch, i, *o, policy, (draws, margin, periods));
                            }
                        },
                    );
            }
            _ => {
                let this = &*self;
                act_each(out, |i| this.offer(batch, i));
            }
        }
    }

    fn per_customer(&self) -> Option<&dyn PerCustomer> {
        match self.kind {
            BaselineKind::OracleRollout { .. } => None,
            _ => Some(self),
        }
    }
}

impl PerCustomer for Baseline {
    fn constant_offer(&self) -> Option<Offer> {
        match self.kind {
            BaselineKind::None => Some(self.nothing()),
            _ => None,
        }
    }

    fn offers(&self, batch: &ObsBatch<'_>, out: &mut [Offer]) {
        match self.kind {
            BaselineKind::None => out.fill(self.nothing()),
            _ => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = self.offer(batch, i);
                }
            }
        }
    }

    /// The rule's offer for customer `i` (every kind but `oracle-rollout`, which improves on
    /// its incumbent's batch).
    fn offer(&self, batch: &ObsBatch<'_>, i: usize) -> Offer {
        let weeks = batch.scenario().period_weeks as f32;
        let nothing = self.nothing();
        let r = batch.record(i);
        match &self.kind {
            BaselineKind::None | BaselineKind::OracleRollout { .. } => nothing,
            BaselineKind::Random => {
                let n = batch.scenario().offers.len();
                let code = ((batch.uniform(i, 0) * n as f64) as usize).min(n - 1);
                batch.catalogue_offer(i, code)
            }
            BaselineKind::Fixed { offer } => batch.catalogue_offer(i, *offer),
            BaselineKind::Cadence {
                offer,
                weeks: every,
            } => {
                if r.since_contact() * weeks >= *every as f32 - WEEKS_SLACK {
                    batch.catalogue_offer(i, *offer)
                } else {
                    nothing
                }
            }
            BaselineKind::RfmWinback { weeks: thr, offer } => {
                let recency = r.recency();
                if !r.opted_out && recency * weeks >= *thr as f32 && r.since_contact() > recency {
                    batch.catalogue_offer(i, *offer)
                } else {
                    nothing
                }
            }
            BaselineKind::ChurnRisk { p, offer, cooldown } => {
                if r.opted_out || r.since_contact() * weeks < *cooldown as f32 - WEEKS_SLACK {
                    return nothing;
                }
                let w = weeks as f64;
                let alive = bgnbd::p_alive(
                    &batch.scenario().population.bgnbd,
                    r.repeat_purchases as f64,
                    r.last_purchase as f64 * w,
                    r.age as f64 * w,
                );
                if alive < *p {
                    batch.catalogue_offer(i, *offer)
                } else {
                    nothing
                }
            }
            BaselineKind::RecommendLast { weeks: every } => {
                if !r.opted_out && r.since_contact() * weeks >= *every as f32 - WEEKS_SLACK {
                    Offer {
                        discount: 0.0,
                        recommend: Some(r.last_category),
                        contact: true,
                        code: self.recommend_code,
                    }
                } else {
                    nothing
                }
            }
            BaselineKind::OracleMyopic => oracle_choice(batch, i),
        }
    }
}

impl Baseline {
    /// The priority of customer `i` under a binding budget (higher first), by rule:
    ///
    /// - `cadence`, `recommend-last`: periods since the last contact (the most overdue first);
    /// - `rfm-winback`: minus the recency (the most recently lapsed first: the likeliest still
    ///   alive, so the win-back has something to win);
    /// - `churn-risk`: BG/NBD P(alive) (among those below the threshold, the likeliest still
    ///   alive first);
    /// - `fixed`: the average order on the record, dollars (the biggest spenders first);
    /// - `random`: a uniform from the customer's policy stream;
    /// - `oracle-myopic`, `oracle-rollout`: the expected reward of the offer this period minus
    ///   that of no offer, from the hidden traits, dollars;
    /// - `none`: 0 (it makes no offer).
    fn priority(&self, batch: &ObsBatch<'_>, i: usize, offer: &Offer) -> f64 {
        let r = batch.record(i);
        match &self.kind {
            BaselineKind::None => 0.0,
            BaselineKind::Random => batch.uniform(i, RANDOM_PRIORITY_INDEX),
            BaselineKind::Fixed { .. } => r.mean_spend() as f64,
            BaselineKind::Cadence { .. } | BaselineKind::RecommendLast { .. } => {
                r.since_contact() as f64
            }
            BaselineKind::RfmWinback { .. } => -(r.recency() as f64),
            BaselineKind::ChurnRisk { .. } => {
                let w = batch.scenario().period_weeks;
                bgnbd::p_alive(
                    &batch.scenario().population.bgnbd,
                    r.repeat_purchases as f64,
                    r.last_purchase as f64 * w,
                    r.age as f64 * w,
                )
            }
            BaselineKind::OracleMyopic | BaselineKind::OracleRollout { .. } => {
                let d = batch.dynamics;
                let c = &batch.customers[i];
                expected_reward(d, c, offer) - expected_reward(d, c, &self.nothing_for(batch, i))
            }
        }
    }

    /// The empty offer resolved for customer `i`.
    fn nothing_for(&self, batch: &ObsBatch<'_>, i: usize) -> Offer {
        match self.nothing {
            crate::offer::CONTINUOUS_CODE => self.nothing(),
            code => batch.catalogue_offer(i, code as usize),
        }
    }
}

/// Index of the policy-stream uniform that ranks a `random` baseline's offers under a binding
/// budget (index 0 chooses its offer).
const RANDOM_PRIORITY_INDEX: u32 = 1;

/// The `oracle-rollout` choice for customer `i` whose incumbent action is `incumbent_offer`:
/// the catalogue offer with the highest estimated return where it beats the incumbent's by
/// more than `margin`, else the incumbent's.
fn rollout_choice(
    batch: &ObsBatch<'_>,
    i: usize,
    incumbent_offer: Offer,
    policy: &mut Option<Baseline>,
    (draws, margin, periods): (u32, f64, Option<u32>),
) -> Offer {
    let d = batch.dynamics;
    let signal = |before: &Customer, o: &Offer, _realised: f64| expected_reward(d, before, o);
    let rollout = Rollout {
        dynamics: d,
        features: batch.features,
        signal: &signal,
        gamma: d.scenario.discount_factor(),
        periods,
    };
    let c = &batch.customers[i];
    // Futures independent of the real one (replica 0) and of other periods' estimates.
    let first = 1 + c.clock as u64 * draws as u64;
    let replicas = first..first + draws as u64;
    let base = rollout.branch(c, &incumbent_offer, policy, replicas.clone());
    let mut best = (base + margin, incumbent_offer);
    for code in 0..d.scenario.offers.len() {
        let offer = batch.catalogue_offer(i, code);
        if offer == incumbent_offer {
            continue;
        }
        let v = rollout.branch(c, &offer, policy, replicas.clone());
        if v > best.0 {
            best = (v, offer);
        }
    }
    best.1
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::policy::{PolicySpec, parse_baseline};
    use crate::{Population, Scenario, SeedDomain};

    /// The default scenario, cut to a 30-week horizon after a 20-week burn-in (rollouts are
    /// quadratic in the horizon).
    fn short() -> Scenario {
        Scenario {
            horizon: 30,
            start: crate::Start::BurnIn {
                periods: 20,
                policy: "none".into(),
            },
            ..Scenario::default()
        }
    }

    /// Realised CLV per customer of `spec` on `n` validation customers of seed 3.
    fn clv(s: &Scenario, spec: &str, n: u64) -> Vec<f64> {
        let mut pop = Population::new(s, SeedDomain::Validation, 3, n, Path::new(".")).unwrap();
        let mut p = parse_baseline(spec, s).unwrap();
        pop.evaluate(&mut p, &|_| {}).clv
    }

    #[test]
    fn oracle_rollout_with_the_largest_margin_is_its_incumbent() {
        let s = short();
        let incumbent = clv(&s, "rfm-winback:4:recommend", 400);
        let oracle = clv(
            &s,
            "oracle-rollout:1:1000000:all:rfm-winback:4:recommend",
            400,
        );
        assert_eq!(incumbent, oracle);
    }

    #[test]
    fn oracle_rollout_improves_on_a_wasteful_incumbent() {
        // A 20% coupon to everyone every week gives margin away; one step of improvement with
        // full information must recover a clear part of it. Paired over the same customers
        // (common random numbers); the bound is 3 standard errors (fixed seed).
        let s = short();
        let incumbent = clv(&s, "fixed:coupon20", 600);
        let oracle = clv(&s, "oracle-rollout:2:0:all:fixed:coupon20", 600);
        let d: Vec<f64> = oracle.iter().zip(&incumbent).map(|(a, b)| a - b).collect();
        let n = d.len() as f64;
        let mean = d.iter().sum::<f64>() / n;
        let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!(
            mean - 3.0 * sd / n.sqrt() > 0.0,
            "lift {mean:.3} (sd {sd:.3}) over fixed:coupon20"
        );
    }

    #[test]
    fn oracle_rollout_specs_round_trip_and_refuse_bad_parts() {
        let s = Scenario::default();
        for spec in [
            "oracle-rollout:4:0.5:all:rfm-winback:4:recommend",
            "oracle-rollout:4:0.5:13:rfm-winback:4:recommend",
        ] {
            let p = parse_baseline(spec, &s).unwrap();
            assert_eq!(crate::Policy::name(&p), spec);
        }
        for (bad, says) in [
            (
                "oracle-rollout:4:0.5:all",
                "expected oracle-rollout:DRAWS:MARGIN:PERIODS:INCUMBENT",
            ),
            ("oracle-rollout:0:0:all:none", "DRAWS must be in"),
            (
                "oracle-rollout:1.5:0:all:none",
                "DRAWS must be a whole number",
            ),
            ("oracle-rollout:2:-1:all:none", "MARGIN must be in"),
            ("oracle-rollout:2:0:0:none", "PERIODS must be in"),
            (
                "oracle-rollout:2:0:2.5:none",
                "PERIODS must be a whole number",
            ),
            (
                "oracle-rollout:2:0:all:oracle-rollout:2:0:all:none",
                "other than an oracle rollout",
            ),
            (
                "oracle-rollout:2:0:all:dqn:runs/x",
                "other than an oracle rollout",
            ),
            ("oracle-rollout:2:0:all:cadence:nope:4", "unknown offer"),
        ] {
            let e = PolicySpec::parse(bad, &s).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}

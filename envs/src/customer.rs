//! One customer: hidden traits, hidden dynamic state, the firm's record, and the dynamics of
//! one period (the design's "customer model").
//!
//! Baseline buying is BG/NBD (Fader, Hardie & Lee 2005) with Gamma-Gamma spend: latent events
//! ~ Poisson(lambda) per period at uniform times, each followed by a dropout coin with
//! probability p. Marketing acts on *realised* purchases: latent baseline events are thinned by
//! fatigue and habituation, and offer-driven purchases are separate Poisson draws that draw no
//! dropout coin. With every mechanism off, the population is BG/NBD exactly in distribution.

use rand_distr::{Beta, Distribution, Gamma};

use crate::offer::Offer;
use crate::rng::{
    CustomerKey, PoissonDraws, PoissonTable, Purpose, PurposeKey, choose, poisson_inv,
};
use crate::scenario::{MAX_ATTRIBUTES, MAX_CATEGORIES, MAX_PREFERRED, Scenario};
use crate::trail::{TRACE_HALF_LIVES_WEEKS, Trail, TrailSink};

/// Coupon response type (hidden).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ResponseType {
    /// Buys more when given a coupon.
    Persuadable = 0,
    /// Redeems on purchases it would make anyway.
    SureThing = 1,
    /// Ignores coupons.
    LostCause = 2,
    /// A contact raises dropout and opt-out.
    SleepingDog = 3,
}

impl ResponseType {
    fn from_index(i: usize) -> Self {
        match i {
            0 => ResponseType::Persuadable,
            1 => ResponseType::SureThing,
            2 => ResponseType::LostCause,
            _ => ResponseType::SleepingDog,
        }
    }
    /// Whether this type redeems a coupon on its purchases.
    pub fn redeems(self) -> bool {
        matches!(self, ResponseType::Persuadable | ResponseType::SureThing)
    }
}

/// Hidden traits, drawn once per customer. Only the simulator and `oracle-myopic` read them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traits {
    /// Baseline purchase rate while alive, per period.
    pub lambda: f32,
    /// Dropout probability after each latent baseline event.
    pub p_drop: f32,
    /// Spend rate nu of the Gamma-Gamma model (per dollar); mean spend = p_spend / nu.
    pub nu: f32,
    /// Persuadable elasticity e.
    pub elasticity: f32,
    /// Coupon response type.
    pub response: ResponseType,
    /// Preferred categories (the first `preferred` entries are used).
    pub pref_cat: [u8; MAX_PREFERRED as usize],
    /// Weights of the preferred categories, scaled to 1 - off_preference.
    pub pref_w: [f32; MAX_PREFERRED as usize],
}

/// Hidden dynamic state.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct State {
    /// Still buying (BG/NBD "alive").
    pub alive: bool,
    /// Contact pressure (fatigue).
    pub pressure: f32,
    /// Reference discount the customer expects (habituation), share of list price.
    pub reference: f32,
    /// Satisfaction from relevant recommendations.
    pub satisfaction: f32,
}

/// No offer sent yet, in [`Record::last_offer`].
pub const NO_OFFER: u8 = u8::MAX;

/// What the firm observes about a customer: everything a rule may read (a learner's
/// observation also reads the customer's [`Trail`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record {
    /// Periods since the customer's first purchase (T), at the start of the current period.
    pub age: f32,
    /// Periods from the first purchase to the last purchase (t_x; 0 with no repeat purchase).
    pub last_purchase: f32,
    /// Repeat purchases (x): purchases after the first.
    pub repeat_purchases: u32,
    /// List-price spend of all purchases including the first, dollars.
    pub total_spend: f32,
    /// List-price spend of the repeat purchases, dollars.
    pub repeat_spend: f32,
    /// Site visits in the last period.
    pub last_visits: u16,
    /// Opted out of contacts.
    pub opted_out: bool,
    /// Catalogue code of the last offer sent with a contact ([`NO_OFFER`] if none).
    pub last_offer: u8,
    /// Whether the last contact's coupon was redeemed.
    pub last_redeemed: bool,
    /// Age at the last contact (negative: never contacted).
    pub last_contact_age: f32,
    /// Purchases per category (saturating).
    pub category_counts: [u8; MAX_CATEGORIES as usize],
    /// Category of the last purchase.
    pub last_category: u8,
    /// Observable attribute levels.
    pub attributes: [u8; MAX_ATTRIBUTES],
    /// Periods since this customer's scored window started.
    pub window_age: u16,
}

impl Record {
    /// Recency: periods since the last purchase.
    pub fn recency(&self) -> f32 {
        self.age - self.last_purchase
    }
    /// Average list-price spend per purchase, dollars.
    pub fn mean_spend(&self) -> f32 {
        self.total_spend / (self.repeat_purchases + 1) as f32
    }
    /// Mean spend of the repeat purchases (0 without any), dollars.
    pub fn mean_repeat_spend(&self) -> f32 {
        if self.repeat_purchases == 0 {
            0.0
        } else {
            self.repeat_spend / self.repeat_purchases as f32
        }
    }
    /// Periods since the last contact (`age + 1` if never contacted).
    pub fn since_contact(&self) -> f32 {
        if self.last_contact_age < 0.0 {
            self.age + 1.0
        } else {
            self.age - self.last_contact_age
        }
    }
    /// The category bought most often (lowest index on ties).
    pub fn most_bought_category(&self) -> u8 {
        let mut best = 0usize;
        for (k, c) in self.category_counts.iter().enumerate() {
            if *c > self.category_counts[best] {
                best = k;
            }
        }
        best as u8
    }
    /// Notes a repeat purchase of list price `spend` (dollars) at `time` (share of the current
    /// period) in category `category`.
    fn note_purchase(&mut self, spend: f64, time: f32, category: u8) {
        self.repeat_purchases += 1;
        self.total_spend += spend as f32;
        self.repeat_spend += spend as f32;
        self.last_purchase = self.age + time;
        let cc = &mut self.category_counts[category as usize];
        *cc = cc.saturating_add(1);
        self.last_category = category;
    }
}

/// One simulated customer.
#[derive(Debug, Clone, Copy)]
pub struct Customer {
    pub(crate) key: CustomerKey,
    /// Periods simulated for this customer so far (the period index of its random streams).
    pub(crate) clock: u32,
    pub(crate) traits: Traits,
    pub(crate) state: State,
    pub(crate) record: Record,
}

impl Customer {
    /// Moves the customer's record and random streams on to the next period.
    fn advance_period(&mut self) {
        self.record.age += 1.0;
        self.record.window_age = self.record.window_age.saturating_add(1);
        self.clock += 1;
    }
}

/// Per-period constants of a scenario, precomputed once.
#[derive(Debug, Clone)]
pub struct Dynamics {
    pub(crate) margin: f64,
    pub(crate) contact_cost: f64,
    pub(crate) p_spend: f64,
    pub(crate) mean_lambda_week: f64,
    pub(crate) period_weeks: f64,
    pub(crate) categories: usize,
    pub(crate) preferred: usize,
    pub(crate) off_pref: f64,
    // coupon
    pub(crate) coupon_on: bool,
    pub(crate) saturation: f64,
    pub(crate) max_redemptions: u32,
    pub(crate) sd_dropout_mult: f64,
    pub(crate) sd_opt_out: f64,
    // recommendation
    pub(crate) rec_on: bool,
    pub(crate) rec_lift: f64,
    pub(crate) sat_gain: f32,
    pub(crate) sat_decay: f32,
    pub(crate) dropout_reduction: f64,
    pub(crate) irrelevant_pressure: f32,
    // fatigue
    pub(crate) fatigue_on: bool,
    pub(crate) pressure_decay: f32,
    pub(crate) thinning: f64,
    pub(crate) opt_out_base: f64,
    pub(crate) opt_out_per_pressure: f64,
    // habituation
    pub(crate) habit_on: bool,
    pub(crate) reference_decay: f32,
    pub(crate) habit_lr: f32,
    pub(crate) full_price_thinning: f64,
    pub(crate) erosion: f64,
    // win-back
    pub(crate) winback_on: bool,
    pub(crate) winback_p: f64,
    pub(crate) winback_full_depth: f64,
    // site visits, per period
    pub(crate) visit_background: f64,
    pub(crate) visit_active: f64,
    pub(crate) visit_per_purchase: f64,
    /// Site visits of a customer inactive at the start of a period (the same for everyone).
    visits_inactive: PoissonTable,
    pub(crate) trace_decay: [f32; 3],
    pub(crate) scenario: Scenario,
}

impl Dynamics {
    /// Precomputes the per-period constants of a (validated) scenario.
    pub fn new(s: &Scenario) -> Self {
        let bg = &s.population.bgnbd;
        let visit_background = s.per_period(s.population.site_visits.background);
        Dynamics {
            margin: s.economics.gross_margin,
            contact_cost: s.economics.contact_cost,
            p_spend: s.population.spend.p,
            mean_lambda_week: bg.r / bg.alpha,
            period_weeks: s.period_weeks,
            categories: s.population.categories.count as usize,
            preferred: s.population.categories.preferred as usize,
            off_pref: s.population.categories.off_preference,
            coupon_on: s.coupon.enabled,
            saturation: s.coupon.saturation,
            max_redemptions: s.coupon.max_redemptions,
            sd_dropout_mult: s.coupon.sleeping_dog.dropout_multiplier,
            sd_opt_out: s.coupon.sleeping_dog.opt_out_probability,
            rec_on: s.recommendation.enabled,
            rec_lift: s.recommendation.lift,
            sat_gain: s.recommendation.satisfaction_gain as f32,
            sat_decay: s.decay(s.recommendation.satisfaction_half_life_weeks) as f32,
            dropout_reduction: s.recommendation.dropout_reduction,
            irrelevant_pressure: s.recommendation.irrelevant_pressure as f32,
            fatigue_on: s.fatigue.enabled,
            pressure_decay: s.decay(s.fatigue.half_life_weeks) as f32,
            thinning: s.fatigue.purchase_thinning,
            opt_out_base: s.fatigue.opt_out_base,
            opt_out_per_pressure: s.fatigue.opt_out_per_pressure,
            habit_on: s.habituation.enabled,
            reference_decay: s.decay(s.habituation.half_life_weeks) as f32,
            habit_lr: s.habituation.learning_rate as f32,
            full_price_thinning: s.habituation.full_price_thinning,
            erosion: s.habituation.erosion,
            winback_on: s.winback.enabled,
            winback_p: s.winback.reactivation_probability,
            winback_full_depth: s.winback.full_depth,
            visit_background,
            visit_active: s.per_period(s.population.site_visits.active),
            visit_per_purchase: s.population.site_visits.per_purchase,
            // The rate `visit_rate(_, false)` gives: background + 0.
            visits_inactive: PoissonTable::new(visit_background + 0.0),
            trace_decay: TRACE_HALF_LIVES_WEEKS.map(|h| s.decay(h) as f32),
            scenario: s.clone(),
        }
    }

    /// The scenario these dynamics were built from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Draws the hidden traits and attributes of a new customer with stream key `key`.
    pub(crate) fn draw_traits(&self, key: CustomerKey) -> (Traits, [u8; MAX_ATTRIBUTES]) {
        let s = &self.scenario;
        let bg = &s.population.bgnbd;
        let gg = &s.population.spend;
        let lambda_week = Gamma::new(bg.r, 1.0 / bg.alpha)
            .expect("validated")
            .sample(&mut key.rng(0, Purpose::Lambda, 0));
        let p_drop = Beta::new(bg.a, bg.b)
            .expect("validated")
            .sample(&mut key.rng(0, Purpose::Dropout, 0));
        let nu = Gamma::new(gg.q, 1.0 / gg.gamma)
            .expect("validated")
            .sample(&mut key.rng(0, Purpose::SpendRate, 0))
            .max(MIN_SPEND_RATE);
        let mut attributes = [0u8; MAX_ATTRIBUTES];
        for (i, a) in s.population.attributes.iter().enumerate() {
            let w: Vec<f64> = a.levels.iter().map(|l| l.share).collect();
            attributes[i] = choose(&w, key.uniform(0, Purpose::Attributes, i as u32)) as u8;
        }
        let response = self.draw_response(key, lambda_week, &attributes);
        let c = &s.coupon;
        let elasticity = Gamma::new(c.elasticity_shape, c.elasticity_mean / c.elasticity_shape)
            .expect("validated")
            .sample(&mut key.rng(0, Purpose::Elasticity, 0));
        // Preferences: `preferred` distinct categories, Dirichlet weights.
        let mut pref_cat = [0u8; MAX_PREFERRED as usize];
        let mut pref_w = [0f32; MAX_PREFERRED as usize];
        let mut pool: Vec<u8> = (0..self.categories as u8).collect();
        let mut rng = key.rng(0, Purpose::Preferences, 0);
        let g = Gamma::new(s.population.categories.concentration, 1.0).expect("validated");
        let mut total = 0.0;
        let mut raw = [0f64; MAX_PREFERRED as usize];
        for j in 0..self.preferred {
            let pick = (rng.uniform() * pool.len() as f64) as usize;
            pref_cat[j] = pool.swap_remove(pick.min(pool.len() - 1));
            raw[j] = g.sample(&mut rng).max(MIN_PREFERENCE_DRAW);
            total += raw[j];
        }
        for j in 0..self.preferred {
            pref_w[j] = ((1.0 - self.off_pref) * raw[j] / total) as f32;
        }
        (
            Traits {
                lambda: (lambda_week * self.period_weeks) as f32,
                p_drop: p_drop as f32,
                nu: nu as f32,
                elasticity: elasticity as f32,
                response,
                pref_cat,
                pref_w,
            },
            attributes,
        )
    }

    fn draw_response(
        &self,
        key: CustomerKey,
        lambda_week: f64,
        attributes: &[u8; MAX_ATTRIBUTES],
    ) -> ResponseType {
        let s = &self.scenario;
        let c = &s.coupon;
        let ratio = (lambda_week / self.mean_lambda_week).clamp(LAMBDA_RATIO_MIN, LAMBDA_RATIO_MAX);
        let base = c.mix.as_array();
        let expo = c.lambda_exponent.as_array();
        let mut w = [0f64; 4];
        for k in 0..4 {
            w[k] = base[k] * ratio.powf(expo[k]);
        }
        for t in &c.tilts {
            let Some(ai) = s
                .population
                .attributes
                .iter()
                .position(|a| a.name == t.attribute)
            else {
                continue;
            };
            let li = s.population.attributes[ai]
                .levels
                .iter()
                .position(|l| l.name == t.level);
            if li == Some(attributes[ai] as usize) {
                let m = t.multipliers.as_array();
                for k in 0..4 {
                    w[k] *= m[k];
                }
            }
        }
        if w.iter().sum::<f64>() <= 0.0 {
            w = base;
        }
        ResponseType::from_index(choose(&w, key.uniform(0, Purpose::ResponseType, 0)))
    }

    /// Preference weight of category `k` (including the off-preference share).
    #[inline]
    pub(crate) fn preference(&self, t: &Traits, k: u8) -> f64 {
        let mut w = self.off_pref / self.categories as f64;
        for j in 0..self.preferred {
            if t.pref_cat[j] == k {
                w += t.pref_w[j] as f64;
            }
        }
        w
    }

    #[inline]
    fn draw_category(&self, t: &Traits, u: f64) -> u8 {
        let off = self.off_pref / self.categories as f64;
        let mut target = u;
        for j in 0..self.preferred {
            let w = t.pref_w[j] as f64;
            if target < w {
                return t.pref_cat[j];
            }
            target -= w;
        }
        ((target / off) as usize).min(self.categories - 1) as u8
    }

    #[inline]
    fn draw_spend(&self, t: &Traits, key: CustomerKey, clock: u32, slot: u32) -> f64 {
        Gamma::new(self.p_spend, 1.0 / t.nu as f64)
            .expect("validated")
            .sample(&mut key.rng(clock, Purpose::Spend, slot))
    }

    /// A new customer who has just made its first purchase (spend and category observed).
    pub(crate) fn new_customer(&self, key: CustomerKey) -> Customer {
        let (traits, attributes) = self.draw_traits(key);
        let first_spend = self.draw_spend(&traits, key, 0, FIRST_PURCHASE_SLOT) as f32;
        let first_cat = self.draw_category(
            &traits,
            key.uniform(0, Purpose::Category, FIRST_PURCHASE_SLOT),
        );
        let mut category_counts = [0u8; MAX_CATEGORIES as usize];
        category_counts[first_cat as usize] = 1;
        Customer {
            key,
            clock: 1,
            traits,
            state: State {
                alive: true,
                ..State::default()
            },
            record: Record {
                age: 0.0,
                last_purchase: 0.0,
                repeat_purchases: 0,
                total_spend: first_spend,
                repeat_spend: 0.0,
                last_visits: 0,
                opted_out: false,
                last_offer: NO_OFFER,
                last_redeemed: false,
                last_contact_age: -1.0,
                category_counts,
                last_category: first_cat,
                attributes,
                window_age: 0,
            },
        }
    }

    /// Steps one customer through one period under `offer` without a [`Trail`] (a population
    /// of rules, a rollout, an expected reward), returning what happened.
    pub(crate) fn step(&self, c: &mut Customer, offer: &Offer) -> PeriodOutcome {
        let mut cache = self.step_cache(c);
        let mut out = PeriodOutcome::default();
        self.step_with(c, &mut (), offer, &mut cache, &mut out);
        out
    }

    /// [`Dynamics::step`] that also moves the customer's `trail` on (populations a learner
    /// reads).
    pub(crate) fn step_traced(
        &self,
        c: &mut Customer,
        trail: &mut Trail,
        offer: &Offer,
    ) -> PeriodOutcome {
        let mut cache = self.step_cache(c);
        let mut out = PeriodOutcome::default();
        self.step_with(c, trail, offer, &mut cache, &mut out);
        out
    }

    /// Steps one customer through one period under `offer`.
    ///
    /// The mechanisms run in this order, each on the state the previous ones left (RecSim's
    /// split of a user model into named pieces): decay of states and traces, contact effects,
    /// win-back, then (only while alive) baseline events and offer-driven purchases, realising
    /// the purchases in time order, site visits, and the period's reward. Every draw is keyed by
    /// (period, [`Purpose`], index), so the order of the calls fixes no random stream;
    /// `cache` is `c`'s ([`Dynamics::step_cache`]); what happened is written to `out`.
    #[inline(always)]
    pub(crate) fn step_with<T: TrailSink>(
        &self,
        c: &mut Customer,
        trail: &mut T,
        offer: &Offer,
        cache: &mut StepCache,
        out: &mut PeriodOutcome,
    ) {
        let recommended_before = if T::KEPT {
            offer
                .recommend
                .map(|k| c.record.category_counts[k as usize])
        } else {
            None
        };
        *out = PeriodOutcome::default();
        self.decay(&mut c.state);
        trail.decay(&self.trace_decay);
        let ctx = self.period_ctx(c, offer);
        let st = &mut c.state;
        let rec = &mut c.record;
        let relevant_rec = if ctx.contacted {
            self.contact_effects(&ctx, offer, st, rec, trail, out)
        } else {
            None
        };
        self.win_back(&ctx, st, out);
        if st.alive {
            // Offer-driven purchases follow the baseline events but do not depend on them: a
            // dropout coin drawn this period does not cancel them. The purchase buffer is set
            // up only for a customer who may buy this period (most draw no event and get no
            // offer-driven draw).
            let events = cache
                .baseline_events
                .draw(cache.baseline_stream.uniform(ctx.t, 0));
            if events > 0 || self.coupon_persuades(&ctx) || relevant_rec.is_some() {
                let mut buf = PurchaseBuf::EMPTY;
                self.baseline_events(&ctx, events, st, &mut buf, out);
                self.coupon_purchases(&ctx, st, &mut buf);
                if let Some(k) = relevant_rec {
                    self.recommendation_purchases(&ctx, k, &mut buf);
                }
                self.realise_purchases(&ctx, &mut buf, st, rec, trail, out);
            }
        }
        self.site_visits(&ctx, cache, rec, out);
        self.settle_reward(&ctx, st, rec, out);
        if T::KEPT {
            // A purchase fell in the recommended category if its count moved (counts saturate
            // at 255, so a saturated category no longer counts).
            let bought_recommended = recommended_before
                .zip(offer.recommend)
                .is_some_and(|(before, k)| rec.category_counts[k as usize] != before);
            trail.period(offer, out, bought_recommended);
        }
        c.advance_period();
    }

    /// What stepping `c` computes the same every period ([`StepCache`]).
    #[inline(always)]
    pub(crate) fn step_cache(&self, c: &Customer) -> StepCache {
        let lambda = c.traits.lambda as f64;
        StepCache {
            baseline_stream: c.key.stream(Purpose::BaselineCount),
            visits_stream: c.key.stream(Purpose::Visits),
            baseline_events: PoissonDraws::new(lambda),
            visits_alive: PoissonDraws::new(self.visit_rate(lambda, true)),
        }
    }

    /// What is fixed about `c`'s period under `offer` before any mechanism runs.
    fn period_ctx(&self, c: &Customer, offer: &Offer) -> PeriodCtx {
        let tr = c.traits;
        let contacted = offer.contact && !c.record.opted_out;
        let coupon = contacted && offer.discount > 0.0;
        PeriodCtx {
            key: c.key,
            t: c.clock,
            traits: tr,
            alive_at_start: c.state.alive,
            contacted,
            coupon,
            depth: offer.discount as f64,
            sleeping_dog_hit: contacted
                && self.coupon_on
                && tr.response == ResponseType::SleepingDog,
            redeems: coupon && self.coupon_on && tr.response.redeems(),
        }
    }

    /// Decay of the states over one period: x <- x * 2^(-period / half-life) for the fatigue
    /// pressure P, the reference discount R and the satisfaction s (each with its mechanism's
    /// half-life); the trail's traces decay at [`TRACE_HALF_LIVES_WEEKS`].
    fn decay(&self, st: &mut State) {
        st.pressure *= self.pressure_decay;
        st.reference *= self.reference_decay;
        st.satisfaction *= self.sat_decay;
    }

    /// Contact effects ([`crate::scenario::FatigueConfig`],
    /// [`crate::scenario::RecommendationConfig`]): the contact adds 1 to the pressure P, a
    /// recommendation to a customer alive at the start of the period is judged relevant or
    /// not, the customer may opt out (the offer itself is still delivered), and the record
    /// notes the contact. Returns the recommended category if it was relevant.
    fn contact_effects<T: TrailSink>(
        &self,
        ctx: &PeriodCtx,
        offer: &Offer,
        st: &mut State,
        rec: &mut Record,
        trail: &mut T,
        out: &mut PeriodOutcome,
    ) -> Option<u8> {
        out.contacts = 1;
        out.offer_code = Some(offer.code);
        if self.fatigue_on {
            st.pressure += 1.0;
        }
        let relevant = match offer.recommend {
            Some(k) if self.rec_on && ctx.alive_at_start => {
                self.recommendation_relevance(ctx, k, st)
            }
            _ => None,
        };
        if ctx.uniform(Purpose::OptOut, 0) >= self.stay_probability(ctx, st) {
            rec.opted_out = true;
            out.opted_out_now = true;
        }
        trail.contact();
        rec.last_contact_age = rec.age;
        rec.last_offer = offer.code;
        rec.last_redeemed = false;
        relevant
    }

    /// A recommendation of category k is relevant with probability w_k, the customer's
    /// preference weight for k; a relevant one adds `satisfaction_gain` to the satisfaction s,
    /// an irrelevant one adds `irrelevant_pressure` to the pressure P (with fatigue on).
    fn recommendation_relevance(&self, ctx: &PeriodCtx, k: u8, st: &mut State) -> Option<u8> {
        if ctx.uniform(Purpose::Relevance, 0) < self.preference(&ctx.traits, k) {
            st.satisfaction += self.sat_gain;
            Some(k)
        } else {
            if self.fatigue_on {
                st.pressure += self.irrelevant_pressure;
            }
            None
        }
    }

    /// Probability of staying reachable after a contact:
    /// exp(-(`opt_out_base` + `opt_out_per_pressure` * P)) with fatigue on, times
    /// 1 - `opt_out_probability` for a contacted sleeping dog.
    fn stay_probability(&self, ctx: &PeriodCtx, st: &State) -> f64 {
        let mut stay = 1.0;
        if self.fatigue_on {
            let hazard = self.opt_out_base + self.opt_out_per_pressure * st.pressure as f64;
            stay *= (-hazard).exp();
        }
        if ctx.sleeping_dog_hit {
            stay *= 1.0 - self.sd_opt_out;
        }
        stay
    }

    /// Win-back ([`crate::scenario::WinbackConfig`]): an inactive customer reached by a coupon
    /// of depth d is re-activated with probability
    /// `reactivation_probability` * min(d / `full_depth`, 1).
    fn win_back(&self, ctx: &PeriodCtx, st: &mut State, out: &mut PeriodOutcome) {
        if !st.alive && self.winback_on && ctx.coupon {
            let p = self.winback_p * (ctx.depth / self.winback_full_depth).min(1.0);
            if ctx.uniform(Purpose::Winback, 0) < p {
                st.alive = true;
                out.reactivated = true;
            }
        }
    }

    /// Baseline events (BG/NBD): `n` ~ Poisson(lambda) latent events (drawn by the caller) at
    /// uniform times in the period; in time order, each is realised with the thinning
    /// probability
    /// ([`Self::keep_probability`]) and then draws the dropout coin
    /// ([`Self::dropout_probability`]); the first coin that comes up ends the customer's life
    /// and the remaining events.
    fn baseline_events(
        &self,
        ctx: &PeriodCtx,
        n: u32,
        st: &mut State,
        buf: &mut PurchaseBuf,
        out: &mut PeriodOutcome,
    ) {
        if n == 0 {
            return;
        }
        let keep = self.keep_probability(ctx, st);
        let p_eff = self.dropout_probability(ctx, st);
        let mut times = [0f32; MAX_EVENTS];
        let n = (n as usize).min(MAX_EVENTS);
        for (i, time) in times.iter_mut().enumerate().take(n) {
            *time = ctx.uniform(Purpose::EventTime, i as u32) as f32;
        }
        times[..n].sort_unstable_by(f32::total_cmp);
        for (i, time) in times.iter().enumerate().take(n) {
            out.latent_events += 1;
            if keep >= 1.0 || ctx.uniform(Purpose::ThinCoin, i as u32) < keep {
                let cat = self.draw_category(&ctx.traits, ctx.uniform(Purpose::Category, i as u32));
                buf.push(*time, i as u32, cat, Source::Baseline);
            }
            if ctx.uniform(Purpose::DropoutCoin, i as u32) < p_eff {
                st.alive = false;
                break;
            }
        }
    }

    /// Thinning of latent baseline events into realised purchases: the keep probability
    /// exp(-`purchase_thinning` * P) (fatigue) times exp(-`full_price_thinning` * R)
    /// (habituation, in periods without a redeemed coupon).
    fn keep_probability(&self, ctx: &PeriodCtx, st: &State) -> f64 {
        // exp(-0) is exactly 1: a customer without pressure or reference (most of them) skips
        // the `exp`.
        let mut keep = 1.0;
        if self.fatigue_on && st.pressure != 0.0 {
            keep *= (-self.thinning * st.pressure as f64).exp();
        }
        if self.habit_on && !ctx.redeems && st.reference != 0.0 {
            keep *= (-self.full_price_thinning * st.reference as f64).exp();
        }
        keep
    }

    /// Dropout probability after a latent baseline event: p * (1 - `dropout_reduction` *
    /// min(s, 1)) with recommendations on, times `dropout_multiplier` (capped at 1) for a
    /// contacted sleeping dog.
    fn dropout_probability(&self, ctx: &PeriodCtx, st: &State) -> f64 {
        let mut p_eff = ctx.traits.p_drop as f64;
        if self.rec_on {
            p_eff *= 1.0 - self.dropout_reduction * (st.satisfaction as f64).min(1.0);
        }
        if ctx.sleeping_dog_hit {
            p_eff = (p_eff * self.sd_dropout_mult).min(1.0);
        }
        p_eff
    }

    /// Coupon-driven purchases of a persuadable ([`crate::scenario::CouponConfig`]):
    /// m ~ Poisson(lambda * e * (1 - exp(-saturation * d_eff))) with
    /// d_eff = max(0, d - `erosion` * R) under habituation (else d); no dropout coin.
    fn coupon_purchases(&self, ctx: &PeriodCtx, st: &State, buf: &mut PurchaseBuf) {
        let tr = &ctx.traits;
        if !self.coupon_persuades(ctx) {
            return;
        }
        let d = ctx.depth;
        let d_eff = if self.habit_on {
            (d - self.erosion * st.reference as f64).max(0.0)
        } else {
            d
        };
        let rate =
            tr.lambda as f64 * tr.elasticity as f64 * (1.0 - (-self.saturation * d_eff).exp());
        let m = poisson_inv(rate, ctx.uniform(Purpose::CouponCount, 0));
        self.push_offer_driven(ctx, m, COUPON_SLOT, Source::Coupon, None, buf);
    }

    /// Whether the period's coupon reaches a persuadable (who then draws coupon-driven
    /// purchases).
    #[inline]
    fn coupon_persuades(&self, ctx: &PeriodCtx) -> bool {
        ctx.coupon && self.coupon_on && ctx.traits.response == ResponseType::Persuadable
    }

    /// Recommendation-driven purchases of the relevant category k
    /// ([`crate::scenario::RecommendationConfig`]): m ~ Poisson(`lift` * lambda); no dropout
    /// coin.
    fn recommendation_purchases(&self, ctx: &PeriodCtx, k: u8, buf: &mut PurchaseBuf) {
        let m = poisson_inv(
            self.rec_lift * ctx.traits.lambda as f64,
            ctx.uniform(Purpose::RecommendCount, 0),
        );
        self.push_offer_driven(ctx, m, RECOMMEND_SLOT, Source::Recommendation, Some(k), buf);
    }

    /// Pushes `count` offer-driven purchases (at most [`MAX_EVENTS`]) on stream slots from
    /// `first_slot`, each at a uniform time in the period, of `category` or else of a category
    /// drawn from the customer's preferences.
    fn push_offer_driven(
        &self,
        ctx: &PeriodCtx,
        count: u32,
        first_slot: u32,
        source: Source,
        category: Option<u8>,
        buf: &mut PurchaseBuf,
    ) {
        for j in 0..count.min(MAX_EVENTS as u32) {
            let slot = first_slot + j;
            let time = ctx.uniform(Purpose::EventTime, slot) as f32;
            let cat = category.unwrap_or_else(|| {
                self.draw_category(&ctx.traits, ctx.uniform(Purpose::Category, slot))
            });
            buf.push(time, slot, cat, source);
        }
    }

    /// Realises the period's purchases in time order: each spends z ~ Gamma(p_spend, nu)
    /// (Gamma-Gamma); a redeemed coupon covers the first `max_redemptions` of them
    /// ([`Self::redeem`]); the record notes every purchase.
    fn realise_purchases<T: TrailSink>(
        &self,
        ctx: &PeriodCtx,
        buf: &mut PurchaseBuf,
        st: &mut State,
        rec: &mut Record,
        trail: &mut T,
        out: &mut PeriodOutcome,
    ) {
        buf.sort();
        let mut covered_left = if ctx.redeems { self.max_redemptions } else { 0 };
        for p in buf.items() {
            let z = self.draw_spend(&ctx.traits, ctx.key, ctx.t, p.slot);
            out.spend += z;
            out.purchases += 1;
            if p.source != Source::Baseline {
                out.incremental_purchases += 1;
            }
            if covered_left > 0 {
                covered_left -= 1;
                self.redeem(ctx.depth, z, p.source, st, rec, trail, out);
            }
            rec.note_purchase(z, p.time, p.category);
        }
    }

    /// A coupon of depth d redeemed on a purchase of list price z: discount d * z, the discount
    /// traces grow by d, and under habituation R += `learning_rate` * (d - R)
    /// ([`crate::scenario::HabituationConfig`]).
    #[allow(clippy::too_many_arguments)]
    fn redeem<T: TrailSink>(
        &self,
        d: f64,
        z: f64,
        source: Source,
        st: &mut State,
        rec: &mut Record,
        trail: &mut T,
        out: &mut PeriodOutcome,
    ) {
        out.redeemed += 1;
        out.discount += d * z;
        if source == Source::Baseline {
            out.discount_on_baseline += d * z;
        }
        rec.last_redeemed = true;
        trail.redeem(d as f32);
        if self.habit_on {
            st.reference += self.habit_lr * (d as f32 - st.reference);
        }
    }

    /// Site visits the firm sees ([`crate::scenario::SiteVisitConfig`]):
    /// Poisson(background + [alive at the start] * (active + per_purchase * lambda)).
    fn site_visits(
        &self,
        ctx: &PeriodCtx,
        cache: &mut StepCache,
        rec: &mut Record,
        out: &mut PeriodOutcome,
    ) {
        let u = cache.visits_stream.uniform(ctx.t, 0);
        let visits = if ctx.alive_at_start {
            cache.visits_alive.draw(u)
        } else {
            self.visits_inactive.draw(u)
        };
        rec.last_visits = visits.min(u16::MAX as u32) as u16;
        out.visits = rec.last_visits as u32;
    }

    /// The site-visit rate per period of a customer of purchase rate `lambda`:
    /// background + [`alive` at the start] * (active + per_purchase * lambda).
    fn visit_rate(&self, lambda: f64, alive: bool) -> f64 {
        self.visit_background
            + if alive {
                self.visit_active + self.visit_per_purchase * lambda
            } else {
                0.0
            }
    }

    /// The period's reward r_t = m * S_t - d * S_t(coupon-covered) - c * [contacted] (the
    /// design's reward), and the end-of-period flags.
    fn settle_reward(&self, ctx: &PeriodCtx, st: &State, rec: &Record, out: &mut PeriodOutcome) {
        out.margin = self.margin * out.spend;
        out.contact_cost = if ctx.contacted {
            self.contact_cost
        } else {
            0.0
        };
        out.reward = out.margin - out.discount - out.contact_cost;
        out.alive_end = st.alive;
        out.opted_out_end = rec.opted_out;
    }
}

/// What stepping a customer computes the same every period, kept by a caller that steps it
/// through several periods in a row ([`Dynamics::step_cache`]): the streams of the draws made
/// every period ([`CustomerKey::stream`]: a hash less per draw) and the Poisson draws of its
/// baseline events and site visits while alive (their shortcut bounds computed once, their
/// CDF tables at the first draw that needs them).
/// Valid for the customer's whole life: it depends on its key and traits only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepCache {
    baseline_stream: PurposeKey,
    visits_stream: PurposeKey,
    /// Latent baseline events, Poisson(lambda).
    baseline_events: PoissonDraws,
    /// Site visits of a customer alive at the start of the period.
    visits_alive: PoissonDraws,
}

/// What is fixed about one customer's period before any mechanism runs: its random streams,
/// its traits and what the offer means for it.
#[derive(Debug, Clone, Copy)]
struct PeriodCtx {
    key: CustomerKey,
    /// Period index of the customer's streams.
    t: u32,
    traits: Traits,
    /// Alive at the start of the period (before win-back and dropout).
    alive_at_start: bool,
    /// Contacted: the offer contacts and the customer has not opted out.
    contacted: bool,
    /// The contact carries a coupon.
    coupon: bool,
    /// Coupon depth d, share of list price.
    depth: f64,
    /// A sleeping dog contacted with the coupon mechanism on.
    sleeping_dog_hit: bool,
    /// The coupon covers this customer's purchases (a redeeming type, coupons on).
    redeems: bool,
}

impl PeriodCtx {
    /// The uniform keyed (this period, `purpose`, `index`) from the customer's stream.
    #[inline]
    fn uniform(&self, purpose: Purpose, index: u32) -> f64 {
        self.key.uniform(self.t, purpose, index)
    }
}

/// Floor of the spend rate nu (per dollar), so that mean spend p_spend / nu stays finite.
const MIN_SPEND_RATE: f64 = 1e-9;
/// Floor of each Gamma draw of the Dirichlet preference weights, so that their sum is positive.
const MIN_PREFERENCE_DRAW: f64 = 1e-12;
/// Bounds of lambda / E[lambda] in the response-type mixture weights
/// ([`crate::scenario::CouponConfig`]).
const LAMBDA_RATIO_MIN: f64 = 0.1;
/// Upper bound of lambda / E[lambda], see [`LAMBDA_RATIO_MIN`].
const LAMBDA_RATIO_MAX: f64 = 10.0;
/// Most latent events (or offer-driven purchases of one kind) drawn in one period.
pub(crate) const MAX_EVENTS: usize = 32;
/// Stream slot of the first purchase's spend and category.
const FIRST_PURCHASE_SLOT: u32 = 1 << 20;
/// First stream slot of coupon-driven purchases.
const COUPON_SLOT: u32 = 1 << 16;
/// First stream slot of recommendation-driven purchases.
const RECOMMEND_SLOT: u32 = 1 << 17;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Source {
    #[default]
    Baseline,
    Coupon,
    Recommendation,
}

#[derive(Debug, Clone, Copy, Default)]
struct Purchase {
    time: f32,
    slot: u32,
    category: u8,
    source: Source,
}

/// Purchases of one period kept inline before the buffer spills to the heap: a period rarely
/// has more, and a small inline array is cheap to set up for every customer-period (the full
/// capacity of [`MAX_PURCHASES`] inline cost a fifth of a step in initialisation alone).
const INLINE_PURCHASES: usize = 8;
/// Most purchases kept in one period (latent events, coupon- and recommendation-driven ones);
/// more are dropped.
const MAX_PURCHASES: usize = 3 * MAX_EVENTS;

/// The purchases of one period: on the stack up to [`INLINE_PURCHASES`], then on the heap.
#[derive(Debug)]
struct PurchaseBuf {
    inline: [Purchase; INLINE_PURCHASES],
    len: usize,
    /// Every purchase once there are more than fit inline (the inline ones copied first).
    spill: Vec<Purchase>,
}

impl PurchaseBuf {
    /// No purchases. A constant, copied in one piece: a buffer built field by field on the
    /// stack and then moved stalled every step on store-to-load forwarding.
    const EMPTY: PurchaseBuf = PurchaseBuf {
        inline: [Purchase {
            time: 0.0,
            slot: 0,
            category: 0,
            source: Source::Baseline,
        }; INLINE_PURCHASES],
        len: 0,
        spill: Vec::new(),
    };

    #[inline]
    fn push(&mut self, time: f32, slot: u32, category: u8, source: Source) {
        if self.len >= MAX_PURCHASES {
            return;
        }
        let p = Purchase {
            time,
            slot,
            category,
            source,
        };
        if self.len < INLINE_PURCHASES {
            self.inline[self.len] = p;
        } else {
            if self.spill.is_empty() {
                self.spill.extend_from_slice(&self.inline);
            }
            self.spill.push(p);
        }
        self.len += 1;
    }
    #[inline]
    fn items_mut(&mut self) -> &mut [Purchase] {
        if self.len <= INLINE_PURCHASES {
            &mut self.inline[..self.len]
        } else {
            &mut self.spill
        }
    }
    #[inline]
    fn sort(&mut self) {
        if self.len > 1 {
            self.items_mut()
                .sort_unstable_by(|a, b| a.time.total_cmp(&b.time));
        }
    }
    #[inline]
    fn items(&self) -> &[Purchase] {
        if self.len <= INLINE_PURCHASES {
            &self.inline[..self.len]
        } else {
            &self.spill
        }
    }
}

/// What happened to one customer in one period (dollars at list price unless stated).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PeriodOutcome {
    /// Reward r_t = margin - discount - contact cost, dollars.
    pub reward: f64,
    /// Gross margin m * spend, dollars.
    pub margin: f64,
    /// List-price spend, dollars.
    pub spend: f64,
    /// Discount given, dollars.
    pub discount: f64,
    /// Discount given on baseline purchases (that would have happened anyway), dollars.
    pub discount_on_baseline: f64,
    /// Contact cost, dollars.
    pub contact_cost: f64,
    /// Purchases made.
    pub purchases: u32,
    /// Purchases caused by an offer (coupon or recommendation).
    pub incremental_purchases: u32,
    /// Latent baseline events drawn (before thinning).
    pub latent_events: u32,
    /// Purchases covered by a coupon.
    pub redeemed: u32,
    /// Contacts made (0 or 1).
    pub contacts: u32,
    /// Catalogue code of the offer delivered with a contact.
    pub offer_code: Option<u8>,
    /// Site visits.
    pub visits: u32,
    /// Opted out during this period.
    pub opted_out_now: bool,
    /// Re-activated by a win-back offer.
    pub reactivated: bool,
    /// Alive at the end of the period.
    pub alive_end: bool,
    /// Opted out at the end of the period.
    pub opted_out_end: bool,
}

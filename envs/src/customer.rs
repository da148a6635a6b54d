//! One customer: hidden traits, hidden dynamic state, the firm's record, and the dynamics of
//! one period (the design's "customer model").
//!
//! Baseline buying is BG/NBD (Fader, Hardie & Lee 2005) with Gamma-Gamma spend: latent events
//! ~ Poisson(lambda) per period at uniform times, each followed by a dropout coin with
//! probability p. Marketing acts on *realised* purchases: latent baseline events are thinned by
//! fatigue and habituation, and offer-driven purchases are separate Poisson draws that draw no
//! dropout coin. With every mechanism off, the population is BG/NBD exactly in distribution.

use rand_distr::{Beta, Distribution, Gamma};

use crate::evidence::Evidence;
use crate::offer::Offer;
use crate::rng::{CustomerKey, Purpose, choose, poisson_inv};
use crate::scenario::{MAX_ATTRIBUTES, MAX_CATEGORIES, MAX_PREFERRED, Scenario};

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
/// Half-lives of the decayed contact and discount traces, weeks.
pub const TRACE_HALF_LIVES_WEEKS: [f64; 3] = [2.0, 8.0, 26.0];

/// What the firm observes about a customer: everything a (non-oracle) policy may read.
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
    /// Contacts, decayed at [`TRACE_HALF_LIVES_WEEKS`].
    pub contact_traces: [f32; 3],
    /// Redeemed discount depths, decayed at [`TRACE_HALF_LIVES_WEEKS`].
    pub discount_traces: [f32; 3],
    /// Purchases per category (saturating).
    pub category_counts: [u8; MAX_CATEGORIES as usize],
    /// Category of the last purchase.
    pub last_category: u8,
    /// Observable attribute levels.
    pub attributes: [u8; MAX_ATTRIBUTES],
    /// Periods since this customer's scored window started.
    pub window_age: u16,
    /// Offers received and answered, purchases in contacted vs uncontacted periods.
    pub evidence: Evidence,
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
    pub(crate) trace_decay: [f32; 3],
    pub(crate) scenario: Scenario,
}

impl Dynamics {
    /// Precomputes the per-period constants of a (validated) scenario.
    pub fn new(s: &Scenario) -> Self {
        let bg = &s.population.bgnbd;
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
            visit_background: s.per_period(s.population.site_visits.background),
            visit_active: s.per_period(s.population.site_visits.active),
            visit_per_purchase: s.population.site_visits.per_purchase,
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
            .max(1e-9);
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
            raw[j] = g.sample(&mut rng).max(1e-12);
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
        let ratio = (lambda_week / self.mean_lambda_week).clamp(0.1, 10.0);
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
                contact_traces: [0.0; 3],
                discount_traces: [0.0; 3],
                category_counts,
                last_category: first_cat,
                attributes,
                window_age: 0,
                evidence: Evidence::default(),
            },
        }
    }

    /// Steps one customer through one period under `offer`, returning what happened.
    pub(crate) fn step(&self, c: &mut Customer, offer: &Offer) -> PeriodOutcome {
        let key = c.key;
        let t = c.clock;
        let tr = c.traits;
        let recommended_before = offer
            .recommend
            .map(|k| c.record.category_counts[k as usize]);
        let mut out = PeriodOutcome::default();
        let st = &mut c.state;
        let rec = &mut c.record;

        // Decay the states and traces.
        st.pressure *= self.pressure_decay;
        st.reference *= self.reference_decay;
        st.satisfaction *= self.sat_decay;
        for i in 0..3 {
            rec.contact_traces[i] *= self.trace_decay[i];
            rec.discount_traces[i] *= self.trace_decay[i];
        }

        let alive_at_start = st.alive;
        let contacted = offer.contact && !rec.opted_out;
        let coupon = contacted && offer.discount > 0.0;
        let d = offer.discount as f64;
        let sleeping_dog_hit =
            contacted && self.coupon_on && tr.response == ResponseType::SleepingDog;
        let mut relevant_rec: Option<u8> = None;
        if contacted {
            out.contacts = 1;
            out.offer_code = Some(offer.code);
            if self.fatigue_on {
                st.pressure += 1.0;
            }
            if let Some(k) = offer.recommend
                && self.rec_on
                && alive_at_start
            {
                if key.uniform(t, Purpose::Relevance, 0) < self.preference(&tr, k) {
                    relevant_rec = Some(k);
                    st.satisfaction += self.sat_gain;
                } else if self.fatigue_on {
                    st.pressure += self.irrelevant_pressure;
                }
            }
            // Opt-out after this contact (the offer itself is still delivered).
            let mut stay = 1.0;
            if self.fatigue_on {
                let hazard = self.opt_out_base + self.opt_out_per_pressure * st.pressure as f64;
                stay *= (-hazard).exp();
            }
            if sleeping_dog_hit {
                stay *= 1.0 - self.sd_opt_out;
            }
            if key.uniform(t, Purpose::OptOut, 0) >= stay {
                rec.opted_out = true;
                out.opted_out_now = true;
            }
            for tr_ in rec.contact_traces.iter_mut() {
                *tr_ += 1.0;
            }
            rec.last_contact_age = rec.age;
            rec.last_offer = offer.code;
            rec.last_redeemed = false;
        }

        // Win-back of an inactive customer.
        if !st.alive && self.winback_on && coupon {
            let p = self.winback_p * (d / self.winback_full_depth).min(1.0);
            if key.uniform(t, Purpose::Winback, 0) < p {
                st.alive = true;
                out.reactivated = true;
            }
        }

        let redeems = coupon && self.coupon_on && tr.response.redeems();
        let mut buf = PurchaseBuf::default();
        if st.alive {
            let alive_now = st.alive;
            // Latent baseline events, each followed by a dropout coin.
            let n = poisson_inv(tr.lambda as f64, key.uniform(t, Purpose::BaselineCount, 0));
            if n > 0 {
                let mut keep = 1.0;
                if self.fatigue_on {
                    keep *= (-self.thinning * st.pressure as f64).exp();
                }
                if self.habit_on && !redeems {
                    keep *= (-self.full_price_thinning * st.reference as f64).exp();
                }
                let mut p_eff = tr.p_drop as f64;
                if self.rec_on {
                    p_eff *= 1.0 - self.dropout_reduction * (st.satisfaction as f64).min(1.0);
                }
                if sleeping_dog_hit {
                    p_eff = (p_eff * self.sd_dropout_mult).min(1.0);
                }
                let mut times = [0f32; MAX_EVENTS];
                let n = (n as usize).min(MAX_EVENTS);
                for (i, time) in times.iter_mut().enumerate().take(n) {
                    *time = key.uniform(t, Purpose::EventTime, i as u32) as f32;
                }
                times[..n].sort_unstable_by(f32::total_cmp);
                for (i, time) in times.iter().enumerate().take(n) {
                    out.latent_events += 1;
                    if keep >= 1.0 || key.uniform(t, Purpose::ThinCoin, i as u32) < keep {
                        let cat =
                            self.draw_category(&tr, key.uniform(t, Purpose::Category, i as u32));
                        buf.push(*time, i as u32, cat, Source::Baseline);
                    }
                    if key.uniform(t, Purpose::DropoutCoin, i as u32) < p_eff {
                        st.alive = false;
                        break;
                    }
                }
            }
            // Offer-driven purchases: no dropout coin.
            if alive_now && coupon && self.coupon_on && tr.response == ResponseType::Persuadable {
                let d_eff = if self.habit_on {
                    (d - self.erosion * st.reference as f64).max(0.0)
                } else {
                    d
                };
                let rate = tr.lambda as f64
                    * tr.elasticity as f64
                    * (1.0 - (-self.saturation * d_eff).exp());
                let m = poisson_inv(rate, key.uniform(t, Purpose::CouponCount, 0));
                for j in 0..m.min(MAX_EVENTS as u32) {
                    let slot = COUPON_SLOT + j;
                    let time = key.uniform(t, Purpose::EventTime, slot) as f32;
                    let cat = self.draw_category(&tr, key.uniform(t, Purpose::Category, slot));
                    buf.push(time, slot, cat, Source::Coupon);
                }
            }
            if let Some(k) = relevant_rec {
                let m = poisson_inv(
                    self.rec_lift * tr.lambda as f64,
                    key.uniform(t, Purpose::RecommendCount, 0),
                );
                for j in 0..m.min(MAX_EVENTS as u32) {
                    let slot = RECOMMEND_SLOT + j;
                    let time = key.uniform(t, Purpose::EventTime, slot) as f32;
                    buf.push(time, slot, k, Source::Recommendation);
                }
            }
        }

        // Realise the purchases in time order; the coupon covers the first ones.
        buf.sort();
        let mut covered_left = if redeems { self.max_redemptions } else { 0 };
        for p in buf.items() {
            let z = self.draw_spend(&tr, key, t, p.slot);
            out.spend += z;
            out.purchases += 1;
            if p.source != Source::Baseline {
                out.incremental_purchases += 1;
            }
            if covered_left > 0 {
                covered_left -= 1;
                out.redeemed += 1;
                out.discount += d * z;
                if p.source == Source::Baseline {
                    out.discount_on_baseline += d * z;
                }
                rec.last_redeemed = true;
                for tr_ in rec.discount_traces.iter_mut() {
                    *tr_ += d as f32;
                }
                if self.habit_on {
                    st.reference += self.habit_lr * (d as f32 - st.reference);
                }
            }
            rec.repeat_purchases += 1;
            rec.total_spend += z as f32;
            rec.repeat_spend += z as f32;
            rec.last_purchase = rec.age + p.time;
            let cc = &mut rec.category_counts[p.category as usize];
            *cc = cc.saturating_add(1);
            rec.last_category = p.category;
        }

        // Site visits the firm sees.
        let visit_rate = self.visit_background
            + if alive_at_start {
                self.visit_active + self.visit_per_purchase * tr.lambda as f64
            } else {
                0.0
            };
        rec.last_visits =
            poisson_inv(visit_rate, key.uniform(t, Purpose::Visits, 0)).min(u16::MAX as u32) as u16;
        out.visits = rec.last_visits as u32;

        out.margin = self.margin * out.spend;
        out.contact_cost = if contacted { self.contact_cost } else { 0.0 };
        out.reward = out.margin - out.discount - out.contact_cost;
        out.alive_end = st.alive;
        out.opted_out_end = rec.opted_out;

        let bought_recommended = recommended_before
            .zip(offer.recommend)
            .is_some_and(|(before, k)| rec.category_counts[k as usize] != before);
        rec.evidence.add_period(offer, &out, bought_recommended);
        rec.age += 1.0;
        rec.window_age = rec.window_age.saturating_add(1);
        c.clock += 1;
        out
    }
}

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

/// The purchases of one period, on the stack.
#[derive(Debug)]
struct PurchaseBuf {
    items: [Purchase; 3 * MAX_EVENTS],
    len: usize,
}

impl Default for PurchaseBuf {
    fn default() -> Self {
        PurchaseBuf {
            items: [Purchase::default(); 3 * MAX_EVENTS],
            len: 0,
        }
    }
}

impl PurchaseBuf {
    #[inline]
    fn push(&mut self, time: f32, slot: u32, category: u8, source: Source) {
        if self.len < self.items.len() {
            self.items[self.len] = Purchase {
                time,
                slot,
                category,
                source,
            };
            self.len += 1;
        }
    }
    #[inline]
    fn sort(&mut self) {
        if self.len > 1 {
            self.items[..self.len].sort_unstable_by(|a, b| a.time.total_cmp(&b.time));
        }
    }
    #[inline]
    fn items(&self) -> &[Purchase] {
        &self.items[..self.len]
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

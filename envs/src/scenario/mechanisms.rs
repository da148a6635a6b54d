//! Sub-sections of a scenario: population details, the marketing mechanisms and the offers.
//! Each mechanism documents its functional form; each can be switched off with `enabled`.

use serde::{Deserialize, Serialize};

use super::{gamma_param, nonneg, pos, range};
use crate::error::{Result, invalid};

/// Product categories and each customer's preference over them.
///
/// A customer prefers `preferred` distinct categories, chosen uniformly, with weights from a
/// symmetric Dirichlet(`concentration`) scaled to `1 - off_preference`; the remaining
/// `off_preference` is spread evenly over all categories. Each purchase's category is drawn
/// from these weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CategoryConfig {
    /// Number of categories (1..=8).
    pub count: u8,
    /// Preferred categories per customer (1..=3, at most `count`).
    pub preferred: u8,
    /// Dirichlet concentration of the preference weights (> 0; small = one dominant category).
    pub concentration: f64,
    /// Probability mass spread evenly over all categories (0..1).
    pub off_preference: f64,
}

impl Default for CategoryConfig {
    fn default() -> Self {
        CategoryConfig {
            count: 6,
            preferred: 2,
            concentration: 1.0,
            off_preference: 0.1,
        }
    }
}

/// Most categories a scenario may define.
pub const MAX_CATEGORIES: u8 = 8;
/// Most preferred categories per customer.
pub const MAX_PREFERRED: u8 = 3;

impl CategoryConfig {
    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        if self.count == 0 || self.count > MAX_CATEGORIES {
            return Err(invalid(
                format!("{f}.count"),
                format!("must be in 1..={MAX_CATEGORIES}, got {}", self.count),
            ));
        }
        if self.preferred == 0 || self.preferred > MAX_PREFERRED || self.preferred > self.count {
            return Err(invalid(
                format!("{f}.preferred"),
                format!(
                    "must be in 1..={} (and at most count), got {}",
                    MAX_PREFERRED, self.preferred
                ),
            ));
        }
        gamma_param(&format!("{f}.concentration"), self.concentration)?;
        range(
            &format!("{f}.off_preference"),
            self.off_preference,
            0.0,
            1.0,
        )
    }
}

/// An observable customer attribute (e.g. acquisition channel) with its levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeConfig {
    /// Attribute name.
    pub name: String,
    /// Levels with their population shares (normalised to sum to 1).
    pub levels: Vec<AttributeLevel>,
}

/// One level of an attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeLevel {
    /// Level name.
    pub name: String,
    /// Population share (relative weight, > 0).
    pub share: f64,
}

/// Most levels of one attribute.
pub const MAX_LEVELS: usize = 8;
/// Most attributes of a scenario.
pub const MAX_ATTRIBUTES: usize = 4;

impl AttributeConfig {
    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        if self.name.is_empty() {
            return Err(invalid(format!("{f}.name"), "must not be empty"));
        }
        if self.levels.is_empty() || self.levels.len() > MAX_LEVELS {
            return Err(invalid(
                format!("{f}.levels"),
                format!("must hold 1..={MAX_LEVELS} levels"),
            ));
        }
        for (i, l) in self.levels.iter().enumerate() {
            pos(&format!("{f}.levels[{i}].share"), l.share)?;
        }
        Ok(())
    }
}

/// One number per coupon response type: mixture weights, exponents or multipliers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseWeights {
    /// Persuadable: buys more when given a coupon.
    pub persuadable: f64,
    /// Sure thing: redeems on purchases it would make anyway.
    pub sure_thing: f64,
    /// Lost cause: ignores coupons.
    pub lost_cause: f64,
    /// Sleeping dog: a contact raises dropout and opt-out.
    pub sleeping_dog: f64,
}

impl Default for ResponseWeights {
    fn default() -> Self {
        ResponseWeights {
            persuadable: 0.35,
            sure_thing: 0.3,
            lost_cause: 0.3,
            sleeping_dog: 0.05,
        }
    }
}

impl ResponseWeights {
    /// All four equal to `v`.
    pub fn splat(v: f64) -> Self {
        ResponseWeights {
            persuadable: v,
            sure_thing: v,
            lost_cause: v,
            sleeping_dog: v,
        }
    }
    /// The four values in the order persuadable, sure thing, lost cause, sleeping dog.
    pub fn as_array(&self) -> [f64; 4] {
        [
            self.persuadable,
            self.sure_thing,
            self.lost_cause,
            self.sleeping_dog,
        ]
    }
    fn validate_nonneg(&self, f: &str) -> Result<()> {
        nonneg(&format!("{f}.persuadable"), self.persuadable)?;
        nonneg(&format!("{f}.sure_thing"), self.sure_thing)?;
        nonneg(&format!("{f}.lost_cause"), self.lost_cause)?;
        nonneg(&format!("{f}.sleeping_dog"), self.sleeping_dog)
    }
    fn validate_finite(&self, f: &str) -> Result<()> {
        for (name, v) in [
            ("persuadable", self.persuadable),
            ("sure_thing", self.sure_thing),
            ("lost_cause", self.lost_cause),
            ("sleeping_dog", self.sleeping_dog),
        ] {
            if !v.is_finite() || v.abs() > 10.0 {
                return Err(invalid(
                    format!("{f}.{name}"),
                    format!("must be finite and within [-10, 10], got {v}"),
                ));
            }
        }
        Ok(())
    }
}

/// Multiplies the response-type weights of customers with one attribute level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeTilt {
    /// Attribute name.
    pub attribute: String,
    /// Level name.
    pub level: String,
    /// Multipliers of the mixture weights (>= 0).
    pub multipliers: ResponseWeights,
}

/// Sleeping-dog reaction to a contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SleepingDogConfig {
    /// Multiplier of the dropout probability of the baseline events in a period in which the
    /// customer is contacted (>= 1).
    pub dropout_multiplier: f64,
    /// Probability of opting out per contact, added to the fatigue opt-out probability.
    pub opt_out_probability: f64,
}

impl Default for SleepingDogConfig {
    fn default() -> Self {
        SleepingDogConfig {
            dropout_multiplier: 3.0,
            opt_out_probability: 0.1,
        }
    }
}

/// Coupon response.
///
/// A coupon of depth d is sent with a contact and valid for that period; it covers the first
/// `max_redemptions` purchases of the period. Each customer has one response type, drawn once
/// from a mixture with weights w_k = base_k * prod(tilts_k) * clamp(lambda / E[lambda], 0.1, 10)
/// ^ lambda_exponent_k, normalised:
/// - persuadable: incremental purchases ~ Poisson(lambda * e * (1 - exp(-saturation * d_eff)))
///   with per-customer elasticity e ~ Gamma(shape `elasticity_shape`, mean `elasticity_mean`)
///   and d_eff = max(0, d - habituation.erosion * reference); redeems on every purchase;
/// - sure thing: no incremental purchases, redeems on the purchases it makes anyway;
/// - lost cause: ignores the coupon;
/// - sleeping dog: ignores the coupon, and the contact raises dropout and opt-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CouponConfig {
    /// Off: coupons have no effect and are never redeemed (contacts still cost).
    pub enabled: bool,
    /// Base mixture weights of the response types (relative, >= 0).
    pub mix: ResponseWeights,
    /// Exponents of clamp(lambda / E[lambda], 0.1, 10) in each type's weight (how the type
    /// depends on the purchase rate; e.g. frequent buyers are more often sure things).
    pub lambda_exponent: ResponseWeights,
    /// Weight multipliers by observable attribute level.
    pub tilts: Vec<AttributeTilt>,
    /// Mean per-customer elasticity e of persuadables (incremental rate / baseline rate at
    /// saturation).
    pub elasticity_mean: f64,
    /// Gamma shape of the elasticity across persuadables (larger = less spread).
    pub elasticity_shape: f64,
    /// k in 1 - exp(-k d): how fast the response saturates with depth d (per unit depth).
    pub saturation: f64,
    /// Purchases per coupon that get the discount (>= 1).
    pub max_redemptions: u32,
    /// Sleeping-dog reaction.
    pub sleeping_dog: SleepingDogConfig,
}

impl Default for CouponConfig {
    fn default() -> Self {
        CouponConfig {
            enabled: true,
            mix: ResponseWeights::default(),
            lambda_exponent: ResponseWeights {
                persuadable: 0.0,
                sure_thing: 0.5,
                lost_cause: -0.3,
                sleeping_dog: 0.0,
            },
            tilts: vec![],
            elasticity_mean: 2.0,
            elasticity_shape: 2.0,
            saturation: 10.0,
            max_redemptions: 1,
            sleeping_dog: SleepingDogConfig::default(),
        }
    }
}

impl CouponConfig {
    pub(crate) fn validate(&self, f: &str, attributes: &[AttributeConfig]) -> Result<()> {
        self.mix.validate_nonneg(&format!("{f}.mix"))?;
        if self.mix.as_array().iter().sum::<f64>() <= 0.0 {
            return Err(invalid(format!("{f}.mix"), "weights must not all be zero"));
        }
        self.lambda_exponent
            .validate_finite(&format!("{f}.lambda_exponent"))?;
        for (i, t) in self.tilts.iter().enumerate() {
            let tf = format!("{f}.tilts[{i}]");
            let Some(attr) = attributes.iter().find(|a| a.name == t.attribute) else {
                return Err(invalid(
                    format!("{tf}.attribute"),
                    format!(
                        "no attribute named {:?} in population.attributes",
                        t.attribute
                    ),
                ));
            };
            if !attr.levels.iter().any(|l| l.name == t.level) {
                return Err(invalid(
                    format!("{tf}.level"),
                    format!("attribute {:?} has no level {:?}", t.attribute, t.level),
                ));
            }
            t.multipliers
                .validate_nonneg(&format!("{tf}.multipliers"))?;
        }
        gamma_param(&format!("{f}.elasticity_mean"), self.elasticity_mean)?;
        gamma_param(&format!("{f}.elasticity_shape"), self.elasticity_shape)?;
        pos(&format!("{f}.saturation"), self.saturation)?;
        if self.max_redemptions == 0 {
            return Err(invalid(
                format!("{f}.max_redemptions"),
                "must be >= 1, got 0",
            ));
        }
        let sd = &self.sleeping_dog;
        if !(sd.dropout_multiplier.is_finite() && sd.dropout_multiplier >= 1.0) {
            return Err(invalid(
                format!("{f}.sleeping_dog.dropout_multiplier"),
                format!("must be >= 1, got {}", sd.dropout_multiplier),
            ));
        }
        range(
            &format!("{f}.sleeping_dog.opt_out_probability"),
            sd.opt_out_probability,
            0.0,
            1.0,
        )
    }
}

/// Product recommendations.
///
/// A recommendation of category k (sent with a contact) is relevant with probability equal to
/// the customer's preference weight for k. A relevant one adds incremental purchases of k ~
/// Poisson(`lift` * lambda) (no dropout coin) and adds `satisfaction_gain` to a satisfaction
/// state that decays with `satisfaction_half_life_weeks`; satisfaction s multiplies the
/// dropout probability of baseline events by 1 - `dropout_reduction` * min(s, 1). An irrelevant
/// one adds `irrelevant_pressure` to the fatigue pressure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecommendationConfig {
    /// Off: recommendations have no effect (contacts still cost and add pressure).
    pub enabled: bool,
    /// Incremental purchase rate of a relevant recommendation, as a multiple of lambda.
    pub lift: f64,
    /// Satisfaction added by a relevant recommendation.
    pub satisfaction_gain: f64,
    /// Half-life of satisfaction, weeks.
    pub satisfaction_half_life_weeks: f64,
    /// Largest fractional reduction of the dropout probability from satisfaction (0..1).
    pub dropout_reduction: f64,
    /// Extra fatigue pressure of an irrelevant recommendation.
    pub irrelevant_pressure: f64,
}

impl Default for RecommendationConfig {
    fn default() -> Self {
        RecommendationConfig {
            enabled: true,
            lift: 0.5,
            satisfaction_gain: 0.5,
            satisfaction_half_life_weeks: 8.0,
            dropout_reduction: 0.3,
            irrelevant_pressure: 0.5,
        }
    }
}

impl RecommendationConfig {
    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        nonneg(&format!("{f}.lift"), self.lift)?;
        nonneg(&format!("{f}.satisfaction_gain"), self.satisfaction_gain)?;
        pos(
            &format!("{f}.satisfaction_half_life_weeks"),
            self.satisfaction_half_life_weeks,
        )?;
        range(
            &format!("{f}.dropout_reduction"),
            self.dropout_reduction,
            0.0,
            1.0,
        )?;
        nonneg(
            &format!("{f}.irrelevant_pressure"),
            self.irrelevant_pressure,
        )
    }
}

/// Contact fatigue and opt-out.
///
/// Every contact adds 1 to a pressure state P that decays with `half_life_weeks`. Realised
/// baseline purchases are thinned by exp(-`purchase_thinning` * P); each contact makes a
/// reachable customer opt out with probability 1 - exp(-(`opt_out_base` +
/// `opt_out_per_pressure` * P)). An opted-out customer can no longer be reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FatigueConfig {
    /// Off: no pressure, no thinning, no opt-out (sleeping dogs still opt out).
    pub enabled: bool,
    /// Half-life of the pressure state, weeks.
    pub half_life_weeks: f64,
    /// Thinning rate of baseline purchases per unit of pressure.
    pub purchase_thinning: f64,
    /// Opt-out hazard of any contact.
    pub opt_out_base: f64,
    /// Opt-out hazard per unit of pressure.
    pub opt_out_per_pressure: f64,
}

impl Default for FatigueConfig {
    fn default() -> Self {
        FatigueConfig {
            enabled: true,
            half_life_weeks: 3.0,
            purchase_thinning: 0.08,
            opt_out_base: 0.002,
            opt_out_per_pressure: 0.003,
        }
    }
}

impl FatigueConfig {
    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        pos(&format!("{f}.half_life_weeks"), self.half_life_weeks)?;
        nonneg(&format!("{f}.purchase_thinning"), self.purchase_thinning)?;
        nonneg(&format!("{f}.opt_out_base"), self.opt_out_base)?;
        nonneg(
            &format!("{f}.opt_out_per_pressure"),
            self.opt_out_per_pressure,
        )
    }
}

/// Coupon habituation: a reference discount R the customer comes to expect.
///
/// Each redeemed purchase at depth d moves R toward d: R += `learning_rate` * (d - R); R decays
/// with `half_life_weeks`. Full-price baseline purchases (periods without a usable coupon) are
/// thinned by exp(-`full_price_thinning` * R), and a coupon's effective depth for persuadables
/// is d - `erosion` * R.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HabituationConfig {
    /// Off: the reference discount stays at zero.
    pub enabled: bool,
    /// Half-life of the reference discount, weeks.
    pub half_life_weeks: f64,
    /// Step toward the redeemed depth per redeemed purchase (0..1].
    pub learning_rate: f64,
    /// Thinning rate of full-price baseline purchases per unit of reference discount.
    pub full_price_thinning: f64,
    /// Share of the reference discount subtracted from a coupon's depth (0..1).
    pub erosion: f64,
}

impl Default for HabituationConfig {
    fn default() -> Self {
        HabituationConfig {
            enabled: true,
            half_life_weeks: 26.0,
            learning_rate: 0.5,
            full_price_thinning: 2.0,
            erosion: 0.5,
        }
    }
}

impl HabituationConfig {
    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        pos(&format!("{f}.half_life_weeks"), self.half_life_weeks)?;
        range(&format!("{f}.learning_rate"), self.learning_rate, 0.0, 1.0)?;
        nonneg(
            &format!("{f}.full_price_thinning"),
            self.full_price_thinning,
        )?;
        range(&format!("{f}.erosion"), self.erosion, 0.0, 1.0)
    }
}

/// Lapse and win-back: an inactive (dropped-out) customer reached by a coupon is re-activated
/// with a small probability, keeping its purchase rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WinbackConfig {
    /// Off: dropout is permanent, as in BG/NBD.
    pub enabled: bool,
    /// Probability that a coupon contact re-activates an inactive customer, at depth >=
    /// `full_depth` (scaled linearly below it).
    pub reactivation_probability: f64,
    /// Coupon depth at which the full probability applies (0..1].
    pub full_depth: f64,
}

impl Default for WinbackConfig {
    fn default() -> Self {
        WinbackConfig {
            enabled: false,
            reactivation_probability: 0.03,
            full_depth: 0.3,
        }
    }
}

impl WinbackConfig {
    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        range(
            &format!("{f}.reactivation_probability"),
            self.reactivation_probability,
            0.0,
            1.0,
        )?;
        range(&format!("{f}.full_depth"), self.full_depth, 1e-6, 1.0)
    }
}

/// Site activity: visits in a period ~ Poisson(`background` + alive * (`active` +
/// `per_purchase` * lambda)), all per week. A noisy signal of being alive and of the rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteVisitConfig {
    /// Visits per week of anyone, alive or not.
    pub background: f64,
    /// Visits per week of an alive customer.
    pub active: f64,
    /// Visits per expected purchase of an alive customer.
    pub per_purchase: f64,
}

impl Default for SiteVisitConfig {
    fn default() -> Self {
        SiteVisitConfig {
            background: 0.05,
            active: 0.3,
            per_purchase: 3.0,
        }
    }
}

impl SiteVisitConfig {
    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        nonneg(&format!("{f}.background"), self.background)?;
        nonneg(&format!("{f}.active"), self.active)?;
        nonneg(&format!("{f}.per_purchase"), self.per_purchase)
    }
}

/// Which category an offer recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RecommendRule {
    /// No recommendation.
    #[default]
    Nothing,
    /// The category the customer bought most often (first purchase breaks ties).
    MostBought,
    /// The category of the customer's last purchase.
    LastBought,
    /// A fixed category index.
    Category(u8),
}

/// One entry of the discrete offer catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferSpec {
    /// Name used in policy specs (`fixed:NAME`).
    pub name: String,
    /// Coupon depth, share of list price (0 = no coupon).
    #[serde(default)]
    pub discount: f64,
    /// Recommendation rule.
    #[serde(default)]
    pub recommend: RecommendRule,
    /// Whether the offer contacts the customer (required by a coupon or recommendation).
    #[serde(default)]
    pub contact: bool,
}

impl OfferSpec {
    /// No offer, recommendation, 10/20/30% coupons, 20% coupon with a recommendation.
    pub fn default_catalogue() -> Vec<OfferSpec> {
        let o = |name: &str, discount: f64, recommend: RecommendRule, contact: bool| OfferSpec {
            name: name.into(),
            discount,
            recommend,
            contact,
        };
        vec![
            o("none", 0.0, RecommendRule::Nothing, false),
            o("recommend", 0.0, RecommendRule::MostBought, true),
            o("coupon10", 0.1, RecommendRule::Nothing, true),
            o("coupon20", 0.2, RecommendRule::Nothing, true),
            o("coupon30", 0.3, RecommendRule::Nothing, true),
            o("coupon20+recommend", 0.2, RecommendRule::MostBought, true),
        ]
    }

    pub(crate) fn validate(&self, f: &str, categories: u8) -> Result<()> {
        if self.name.is_empty() || self.name.contains(':') {
            return Err(invalid(
                format!("{f}.name"),
                "must be non-empty and contain no ':'",
            ));
        }
        range(&format!("{f}.discount"), self.discount, 0.0, 0.9)?;
        if (self.discount > 0.0 || self.recommend != RecommendRule::Nothing) && !self.contact {
            return Err(invalid(
                format!("{f}.contact"),
                "a coupon or a recommendation needs contact: true",
            ));
        }
        if let RecommendRule::Category(k) = self.recommend
            && k >= categories
        {
            return Err(invalid(
                format!("{f}.recommend"),
                format!("category {k} does not exist (population has {categories})"),
            ));
        }
        Ok(())
    }
}

/// The continuous offer of DDPG/TD3: discount depth in [0, `max_discount`]; a depth below
/// `min_discount` means no offer and no contact; optionally a second action dimension is a
/// contact probability (a contact without a coupon then carries `recommend`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContinuousOfferConfig {
    /// Largest depth (0..0.9].
    pub max_discount: f64,
    /// Depths below this mean no offer and no contact.
    pub min_discount: f64,
    /// Whether the action has a second dimension: probability of contacting (with `recommend`)
    /// when no coupon is sent.
    pub contact_probability: bool,
    /// Recommendation attached to every continuous-offer contact.
    pub recommend: RecommendRule,
}

impl Default for ContinuousOfferConfig {
    fn default() -> Self {
        ContinuousOfferConfig {
            max_discount: 0.3,
            min_discount: 0.02,
            contact_probability: false,
            recommend: RecommendRule::Nothing,
        }
    }
}

impl ContinuousOfferConfig {
    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        range(&format!("{f}.max_discount"), self.max_discount, 1e-6, 0.9)?;
        range(
            &format!("{f}.min_discount"),
            self.min_discount,
            0.0,
            self.max_discount,
        )
    }
}

/// Value segments, from the pre-treatment record: customers ranked by BG/NBD x Gamma-Gamma
/// expected margin over `window_periods`; the top `high_share` are high, the next `mid_share`
/// mid, the rest low.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentConfig {
    /// Share of customers in the high segment.
    pub high_share: f64,
    /// Share of customers in the mid segment.
    pub mid_share: f64,
    /// Window of the value prediction, periods.
    pub window_periods: u32,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            high_share: 0.2,
            mid_share: 0.3,
            window_periods: 52,
        }
    }
}

impl SegmentConfig {
    pub(crate) fn validate(&self, f: &str) -> Result<()> {
        range(&format!("{f}.high_share"), self.high_share, 0.0, 1.0)?;
        range(
            &format!("{f}.mid_share"),
            self.mid_share,
            0.0,
            1.0 - self.high_share,
        )?;
        if self.window_periods == 0 {
            return Err(invalid(format!("{f}.window_periods"), "must be >= 1"));
        }
        Ok(())
    }
}

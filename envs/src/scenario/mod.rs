//! The scenario schema: what a RON file under `scenarios/` holds, with serde defaults,
//! unknown fields rejected, and `validate()` naming the offending field.
//!
//! Every rate parameter states its time unit (per week, or a half-life in weeks); the engine
//! converts to periods of `period_weeks` weeks.

mod budget;
mod load;
mod mechanisms;
mod uncertainty;

pub use budget::{BudgetConfig, BudgetCounts, MAX_CAP_PERIODS};
pub use load::{
    apply_overrides, check_memory, check_start, estimate_bytes, histories_path, load_scenario,
    parse_scenario, scenario_dir,
};
pub use mechanisms::{
    AttributeConfig, AttributeLevel, AttributeTilt, CategoryConfig, ContinuousOfferConfig,
    CouponConfig, FatigueConfig, HabituationConfig, MAX_ATTRIBUTES, MAX_CATEGORIES, MAX_LEVELS,
    MAX_PREFERRED, OfferSpec, RecommendRule, RecommendationConfig, ResponseWeights, SegmentConfig,
    SiteVisitConfig, SleepingDogConfig, WinbackConfig,
};
pub use uncertainty::ParameterUncertainty;

use serde::{Deserialize, Serialize};

use crate::btyd::{BgNbdParams, GammaGammaParams};
use crate::error::{Result, invalid};

/// A complete simulation scenario: population, economics, start of the scored window,
/// marketing mechanisms and the offer catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in reports.
    pub name: String,
    /// What this scenario is for.
    pub description: String,
    /// Length of one period, in weeks (1 = weekly periods).
    pub period_weeks: f64,
    /// Scored horizon H, in periods.
    pub horizon: u32,
    /// Periods of the short-horizon CLV reported beside the full one (52 weekly periods);
    /// capped at `horizon`.
    pub short_horizon: u32,
    /// Annual discount rate R; the per-period discount factor is (1 + R)^(-period_weeks / 52).
    pub annual_discount_rate: f64,
    /// Margins and costs.
    pub economics: Economics,
    /// Who the customers are.
    pub population: PopulationConfig,
    /// How the scored window starts.
    pub start: Start,
    /// Coupon response.
    pub coupon: CouponConfig,
    /// Product recommendations.
    pub recommendation: RecommendationConfig,
    /// Contact fatigue and opt-out.
    pub fatigue: FatigueConfig,
    /// Coupon habituation (reference-price effect).
    pub habituation: HabituationConfig,
    /// Lapse and win-back of inactive customers.
    pub winback: WinbackConfig,
    /// The discrete offer catalogue (DQN and baselines); names are what policy specs use.
    pub offers: Vec<OfferSpec>,
    /// The continuous offer (DDPG/TD3).
    pub continuous: ContinuousOfferConfig,
    /// Value segments reported in comparisons.
    pub segments: SegmentConfig,
    /// Marketing budget and contact cap every policy acts under (default: none).
    pub budget: BudgetConfig,
}

/// Margins and per-contact cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Economics {
    /// Gross margin m: share of list-price spend kept as profit before marketing (0..1).
    pub gross_margin: f64,
    /// Cost of one contact to a reachable (not opted-out) customer, dollars.
    pub contact_cost: f64,
}

impl Default for Economics {
    fn default() -> Self {
        Economics {
            gross_margin: 0.3,
            contact_cost: 0.1,
        }
    }
}

/// The customer population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PopulationConfig {
    /// Customers simulated by default (commands can override with `--customers`).
    pub customers: u64,
    /// BG/NBD purchase and dropout parameters (per week).
    pub bgnbd: BgNbdParams,
    /// Gamma-Gamma spend parameters (dollars at list price).
    pub spend: GammaGammaParams,
    /// Product categories and preferences.
    pub categories: CategoryConfig,
    /// Observable attributes (e.g. acquisition channel), drawn independently per customer.
    pub attributes: Vec<AttributeConfig>,
    /// Site activity the firm observes.
    pub site_visits: SiteVisitConfig,
    /// Estimation uncertainty of `bgnbd` and `spend` where they were fitted (`clv fit`
    /// writes it); `compare --parameter-draws` draws the parameters from it. `None`: the
    /// parameters are taken as known.
    pub uncertainty: Option<ParameterUncertainty>,
}

impl Default for PopulationConfig {
    fn default() -> Self {
        PopulationConfig {
            customers: 20_000,
            bgnbd: BgNbdParams::default(),
            spend: GammaGammaParams::default(),
            categories: CategoryConfig::default(),
            attributes: vec![],
            site_visits: SiteVisitConfig::default(),
            uncertainty: None,
        }
    }
}

/// How the scored window starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub enum Start {
    /// Every customer has just made a first purchase (spend drawn and observed) at the start.
    #[default]
    Cohort,
    /// Customers enter at uniform times during `periods` periods of history simulated under
    /// `policy` (a policy spec); the scored window starts after it.
    BurnIn {
        /// Length of the simulated history, periods.
        periods: u32,
        /// Policy spec applied during the history (e.g. `"none"`).
        policy: String,
    },
    /// Customers start from real observed histories (see `clv fit --warm-start`), hidden
    /// traits drawn from the BG/NBD posterior given each history.
    WarmStart {
        /// CSV of histories (customer, x, t_x, T, repeat_spend_total; weeks and dollars),
        /// relative to the scenario file.
        histories: String,
    },
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "unnamed".into(),
            description: String::new(),
            period_weeks: 1.0,
            horizon: 260,
            short_horizon: 52,
            annual_discount_rate: 0.1,
            economics: Economics::default(),
            population: PopulationConfig::default(),
            start: Start::default(),
            coupon: CouponConfig::default(),
            recommendation: RecommendationConfig::default(),
            fatigue: FatigueConfig::default(),
            habituation: HabituationConfig::default(),
            winback: WinbackConfig::default(),
            offers: OfferSpec::default_catalogue(),
            continuous: ContinuousOfferConfig::default(),
            segments: SegmentConfig::default(),
            budget: BudgetConfig::default(),
        }
    }
}

/// Largest population a scenario may ask for (customers).
pub const MAX_CUSTOMERS: u64 = 50_000_000;
/// Longest horizon a scenario may ask for (periods).
pub const MAX_HORIZON: u32 = 10_000;

impl Scenario {
    /// Per-period discount factor delta = (1 + R)^(-period_weeks / 52).
    pub fn discount_factor(&self) -> f64 {
        (1.0 + self.annual_discount_rate).powf(-self.period_weeks / 52.0)
    }

    /// Converts a rate per week into a rate per period.
    pub fn per_period(&self, per_week: f64) -> f64 {
        per_week * self.period_weeks
    }

    /// Per-period decay factor of a state with the given half-life in weeks.
    pub fn decay(&self, half_life_weeks: f64) -> f64 {
        0.5f64.powf(self.period_weeks / half_life_weeks)
    }

    /// Index of the catalogue's empty offer (the first entry without a contact), if any.
    pub fn empty_offer_index(&self) -> Option<usize> {
        self.offers.iter().position(|o| !o.contact)
    }

    /// Index of the offer named `name` in the catalogue.
    pub fn offer_index(&self, name: &str) -> Option<usize> {
        self.offers.iter().position(|o| o.name == name)
    }

    /// Checks every range; the error names the field.
    pub fn validate(&self) -> Result<()> {
        pos("period_weeks", self.period_weeks)?;
        if self.horizon == 0 || self.horizon > MAX_HORIZON {
            return Err(invalid(
                "horizon",
                format!("must be in 1..={MAX_HORIZON} periods, got {}", self.horizon),
            ));
        }
        if self.short_horizon == 0 {
            return Err(invalid("short_horizon", "must be >= 1 period, got 0"));
        }
        range("annual_discount_rate", self.annual_discount_rate, 0.0, 1.0)?;
        range(
            "economics.gross_margin",
            self.economics.gross_margin,
            0.0,
            1.0,
        )?;
        nonneg("economics.contact_cost", self.economics.contact_cost)?;
        let p = &self.population;
        if p.customers == 0 || p.customers > MAX_CUSTOMERS {
            return Err(invalid(
                "population.customers",
                format!("must be in 1..={MAX_CUSTOMERS}, got {}", p.customers),
            ));
        }
        gamma_param("population.bgnbd.r", p.bgnbd.r)?;
        gamma_param("population.bgnbd.alpha", p.bgnbd.alpha)?;
        gamma_param("population.bgnbd.a", p.bgnbd.a)?;
        gamma_param("population.bgnbd.b", p.bgnbd.b)?;
        gamma_param("population.spend.p", p.spend.p)?;
        gamma_param("population.spend.q", p.spend.q)?;
        gamma_param("population.spend.gamma", p.spend.gamma)?;
        p.categories.validate("population.categories")?;
        for (i, a) in p.attributes.iter().enumerate() {
            a.validate(&format!("population.attributes[{i}]"))?;
        }
        p.site_visits.validate("population.site_visits")?;
        if let Some(u) = &p.uncertainty {
            u.validate("population.uncertainty")?;
        }
        match &self.start {
            Start::Cohort => {}
            Start::BurnIn { periods, policy } => {
                if *periods == 0 || *periods > MAX_HORIZON {
                    return Err(invalid(
                        "start.BurnIn.periods",
                        format!("must be in 1..={MAX_HORIZON}, got {periods}"),
                    ));
                }
                if policy.trim().is_empty() {
                    return Err(invalid("start.BurnIn.policy", "must name a policy spec"));
                }
            }
            Start::WarmStart { histories } => {
                if histories.trim().is_empty() {
                    return Err(invalid("start.WarmStart.histories", "must name a CSV file"));
                }
            }
        }
        self.coupon.validate("coupon", &p.attributes)?;
        self.recommendation.validate("recommendation")?;
        self.fatigue.validate("fatigue")?;
        self.habituation.validate("habituation")?;
        self.winback.validate("winback")?;
        if self.offers.is_empty() {
            return Err(invalid(
                "offers",
                "the catalogue must hold at least one offer",
            ));
        }
        if self.offers.len() > u8::MAX as usize {
            return Err(invalid("offers", "at most 255 offers"));
        }
        for (i, o) in self.offers.iter().enumerate() {
            o.validate(&format!("offers[{i}]"), p.categories.count)?;
            if self.offers[..i].iter().any(|q| q.name == o.name) {
                return Err(invalid(
                    format!("offers[{i}].name"),
                    format!("duplicate offer name {:?}", o.name),
                ));
            }
        }
        self.continuous.validate("continuous")?;
        self.segments.validate("segments")?;
        self.budget.validate("budget")?;
        Ok(())
    }
}

/// Smallest shape, rate or scale parameter of a Gamma or Beta draw a scenario may hold.
pub const MIN_DISTRIBUTION_PARAM: f64 = 1e-6;
/// Largest shape, rate or scale parameter of a Gamma or Beta draw a scenario may hold.
pub const MAX_DISTRIBUTION_PARAM: f64 = 1e6;

/// A parameter of a Gamma or Beta distribution the engine samples: within
/// [[`MIN_DISTRIBUTION_PARAM`], [`MAX_DISTRIBUTION_PARAM`]], so that every derived scale is
/// positive and finite and every draw (kept as `f32`) stays finite and non-zero.
pub(crate) fn gamma_param(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && (MIN_DISTRIBUTION_PARAM..=MAX_DISTRIBUTION_PARAM).contains(&v) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!(
                "must be in [{MIN_DISTRIBUTION_PARAM:e}, {MAX_DISTRIBUTION_PARAM:e}] (a Gamma / Beta parameter the simulator can sample), got {v}"
            ),
        ))
    }
}

pub(crate) fn pos(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("must be > 0, got {v}")))
    }
}

pub(crate) fn nonneg(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("must be >= 0, got {v}")))
    }
}

pub(crate) fn range(field: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err(invalid(field, format!("must be in [{lo}, {hi}], got {v}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_discount_factor_is_weekly() {
        let s = Scenario::default();
        s.validate().unwrap();
        let d = s.discount_factor();
        assert!((d.powf(52.0) - 1.0 / 1.1).abs() < 1e-12);
    }

    #[test]
    fn validate_names_the_field() {
        let mut s = Scenario::default();
        s.population.bgnbd.alpha = -1.0;
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("population.bgnbd.alpha"), "{e}");
        let mut s = Scenario::default();
        s.offers[2].discount = 1.5;
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("offers[2].discount"), "{e}");
        let s = Scenario {
            horizon: 0,
            ..Scenario::default()
        };
        assert!(s.validate().unwrap_err().to_string().contains("horizon"));
    }
}

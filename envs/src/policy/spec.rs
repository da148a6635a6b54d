//! Policy spec strings: `none`, `random`, `fixed:OFFER`, `cadence:OFFER:WEEKS`,
//! `rfm-winback[:WEEKS[:OFFER]]`, `churn-risk[:P[:OFFER[:COOLDOWN_WEEKS]]]`,
//! `recommend-last[:WEEKS]`, `oracle-myopic`, `oracle-rollout:DRAWS:MARGIN:PERIODS:INCUMBENT`; and agent specs `KIND:RUN_DIR` that the agents
//! crate resolves (`dqn:`, `myopic:`, `ddpg:`, `td3:`).

use std::path::PathBuf;

use super::{Baseline, BaselineKind};
use crate::error::{EnvError, Result};
use crate::scenario::Scenario;

/// Agent spec prefixes, resolved outside this crate.
pub const AGENT_KINDS: [&str; 4] = ["dqn", "myopic", "ddpg", "td3"];

/// A parsed policy spec.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicySpec {
    /// A baseline of this crate.
    Baseline(BaselineKind),
    /// A trained agent in a run directory.
    Agent {
        /// `dqn`, `myopic`, `ddpg` or `td3`.
        kind: String,
        /// The run directory.
        dir: PathBuf,
    },
}

impl PolicySpec {
    /// Parses `spec` against the scenario's catalogue.
    pub fn parse(spec: &str, scenario: &Scenario) -> Result<PolicySpec> {
        let parser = SpecParser::new(spec, scenario);
        if AGENT_KINDS.contains(&parser.head()) {
            parser.agent()
        } else {
            parser.baseline().map(PolicySpec::Baseline)
        }
    }
}

/// Default WEEKS of `rfm-winback`: the recency from which a customer counts as lapsed.
const DEFAULT_WINBACK_WEEKS: f64 = 12.0;
/// Default P of `churn-risk`: contact below this BG/NBD P(alive).
const DEFAULT_CHURN_P: f64 = 0.5;
/// Default COOLDOWN_WEEKS of `churn-risk`.
const DEFAULT_CHURN_COOLDOWN_WEEKS: f64 = 4.0;
/// Default WEEKS of `recommend-last`.
const DEFAULT_RECOMMEND_WEEKS: f64 = 4.0;
/// Most imagined futures per estimate of `oracle-rollout` (its cost grows linearly).
const MAX_ROLLOUT_DRAWS: f64 = 64.0;
/// Largest MARGIN (dollars) of `oracle-rollout`.
const MAX_ROLLOUT_MARGIN: f64 = 1e6;
/// Largest WEEKS / COOLDOWN_WEEKS a spec accepts.
const MAX_SPEC_WEEKS: f64 = 1e4;
/// The offer `rfm-winback` and `churn-risk` send when none is named (else the catalogue's
/// first coupon).
const DEFAULT_COUPON: &str = "coupon20";

/// One policy spec split at `:` (`head:param:...`), parsed against a scenario's catalogue.
struct SpecParser<'a> {
    spec: &'a str,
    parts: Vec<&'a str>,
    scenario: &'a Scenario,
}

impl<'a> SpecParser<'a> {
    fn new(spec: &'a str, scenario: &'a Scenario) -> Self {
        SpecParser {
            spec,
            parts: spec.trim().split(':').collect(),
            scenario,
        }
    }

    /// The policy kind, before the first `:`.
    fn head(&self) -> &'a str {
        self.parts[0]
    }

    /// An error about this spec.
    fn err(&self, message: String) -> EnvError {
        EnvError::Policy {
            spec: self.spec.to_string(),
            message,
        }
    }

    /// `KIND:RUN_DIR` of a trained agent (the directory may itself contain `:`).
    fn agent(&self) -> Result<PolicySpec> {
        let head = self.head();
        let dir = self.spec.trim()[head.len()..].trim_start_matches(':');
        if dir.is_empty() {
            return Err(self.err(format!("expected {head}:RUN_DIR")));
        }
        Ok(PolicySpec::Agent {
            kind: head.to_string(),
            dir: PathBuf::from(dir),
        })
    }

    /// A baseline: the head and its parameters, checked for count and range.
    fn baseline(&self) -> Result<BaselineKind> {
        let head = self.head();
        let kind = match head {
            "none" | "random" | "oracle-myopic" => {
                self.arity(0)?;
                match head {
                    "none" => BaselineKind::None,
                    "random" => BaselineKind::Random,
                    _ => BaselineKind::OracleMyopic,
                }
            }
            "oracle-rollout" => {
                if self.parts.len() < 5 {
                    return Err(
                        self.err("expected oracle-rollout:DRAWS:MARGIN:PERIODS:INCUMBENT".into())
                    );
                }
                let draws = self.whole(self.parts[1], "DRAWS", MAX_ROLLOUT_DRAWS)?;
                let margin = self.num(self.parts[2], "MARGIN", 0.0, MAX_ROLLOUT_MARGIN)?;
                let periods = match self.parts[3] {
                    "all" => None,
                    p => Some(self.whole(p, "PERIODS", MAX_SPEC_WEEKS)?),
                };
                let rest = self.parts[4..].join(":");
                let inner = SpecParser::new(&rest, self.scenario);
                if inner.head() == "oracle-rollout" || AGENT_KINDS.contains(&inner.head()) {
                    return Err(self.err(format!(
                        "the incumbent of an oracle rollout must be a baseline other than an oracle rollout, got {rest:?}"
                    )));
                }
                BaselineKind::OracleRollout {
                    draws,
                    margin,
                    periods,
                    incumbent: Box::new(inner.baseline()?),
                }
            }
            "fixed" => {
                self.arity(1)?;
                let name = self
                    .parts
                    .get(1)
                    .ok_or_else(|| self.err("expected fixed:OFFER".into()))?;
                BaselineKind::Fixed {
                    offer: self.offer(name)?,
                }
            }
            "cadence" => {
                self.arity(2)?;
                if self.parts.len() != 3 {
                    return Err(self.err("expected cadence:OFFER:WEEKS".into()));
                }
                BaselineKind::Cadence {
                    offer: self.offer(self.parts[1])?,
                    weeks: self.num(self.parts[2], "WEEKS", 1.0, MAX_SPEC_WEEKS)?,
                }
            }
            "rfm-winback" => {
                self.arity(2)?;
                BaselineKind::RfmWinback {
                    weeks: self.opt_num(1, "WEEKS", 0.0, MAX_SPEC_WEEKS, DEFAULT_WINBACK_WEEKS)?,
                    offer: self.opt_offer(2)?,
                }
            }
            "churn-risk" => {
                self.arity(3)?;
                BaselineKind::ChurnRisk {
                    p: self.opt_num(1, "P", 0.0, 1.0, DEFAULT_CHURN_P)?,
                    offer: self.opt_offer(2)?,
                    cooldown: self.opt_num(
                        3,
                        "COOLDOWN_WEEKS",
                        0.0,
                        MAX_SPEC_WEEKS,
                        DEFAULT_CHURN_COOLDOWN_WEEKS,
                    )?,
                }
            }
            "recommend-last" => {
                self.arity(1)?;
                BaselineKind::RecommendLast {
                    weeks: self.opt_num(
                        1,
                        "WEEKS",
                        1.0,
                        MAX_SPEC_WEEKS,
                        DEFAULT_RECOMMEND_WEEKS,
                    )?,
                }
            }
            other => {
                return Err(self.err(format!(
                    "unknown policy `{other}`; expected none, random, fixed:OFFER, cadence:OFFER:WEEKS, rfm-winback[:WEEKS[:OFFER]], churn-risk[:P[:OFFER[:COOLDOWN]]], recommend-last[:WEEKS], oracle-myopic, oracle-rollout:DRAWS:MARGIN:PERIODS:INCUMBENT, dqn|myopic|ddpg|td3:RUN_DIR, or random-rank:SPEC (SPEC ranked at random under a budget)"
                )));
            }
        };
        Ok(kind)
    }

    /// Fails if the spec has more than `max` parameters.
    fn arity(&self, max: usize) -> Result<()> {
        if self.parts.len() > max + 1 {
            Err(self.err(format!(
                "`{}` takes at most {max} parameter(s)",
                self.head()
            )))
        } else {
            Ok(())
        }
    }

    /// The catalogue index of offer `name`.
    fn offer(&self, name: &str) -> Result<usize> {
        self.scenario.offer_index(name).ok_or_else(|| {
            self.err(format!(
                "unknown offer {name:?}; the catalogue has {}",
                self.scenario
                    .offers
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// Parameter text `s` as a finite number in `[lo, hi]`, named `what` in errors.
    fn num(&self, s: &str, what: &str, lo: f64, hi: f64) -> Result<f64> {
        let v: f64 = s
            .parse()
            .map_err(|_| self.err(format!("{what} must be a number, got {s:?}")))?;
        if !(v.is_finite() && v >= lo && v <= hi) {
            return Err(self.err(format!("{what} must be in [{lo}, {hi}], got {v}")));
        }
        Ok(v)
    }

    /// Parameter text `s` as a whole number in `[1, hi]`, named `what` in errors.
    fn whole(&self, s: &str, what: &str, hi: f64) -> Result<u32> {
        let v = self.num(s, what, 1.0, hi)?;
        if v.fract() != 0.0 {
            return Err(self.err(format!("{what} must be a whole number, got {v}")));
        }
        Ok(v as u32)
    }

    /// Optional numeric parameter `i` (see [`Self::num`]), or `default` when absent.
    fn opt_num(&self, i: usize, what: &str, lo: f64, hi: f64, default: f64) -> Result<f64> {
        let v = self.parts.get(i).map(|s| self.num(s, what, lo, hi));
        Ok(v.transpose()?.unwrap_or(default))
    }

    /// Optional offer parameter `i`, or [`DEFAULT_COUPON`] (else the first coupon) when
    /// absent.
    fn opt_offer(&self, i: usize) -> Result<usize> {
        match self.parts.get(i) {
            Some(name) => self.offer(name),
            None => self
                .scenario
                .offer_index(DEFAULT_COUPON)
                .or_else(|| self.scenario.offers.iter().position(|o| o.discount > 0.0))
                .ok_or_else(|| self.err("the catalogue has no coupon offer".into())),
        }
    }
}

/// Whether the policy spec names a reference that reads hidden traits (`oracle-myopic`,
/// `oracle-rollout:...`): an upper reference, not a policy a firm could run, so it never
/// heads a report's "best policy".
pub fn reads_hidden_traits(spec: &str) -> bool {
    spec.trim().starts_with("oracle-")
}

/// Canonical spec string of a baseline.
pub fn canonical(kind: &BaselineKind, scenario: &Scenario) -> String {
    let name = |i: &usize| scenario.offers[*i].name.clone();
    match kind {
        BaselineKind::None => "none".into(),
        BaselineKind::Random => "random".into(),
        BaselineKind::OracleMyopic => "oracle-myopic".into(),
        BaselineKind::Fixed { offer } => format!("fixed:{}", name(offer)),
        BaselineKind::Cadence { offer, weeks } => format!("cadence:{}:{weeks}", name(offer)),
        BaselineKind::RfmWinback { weeks, offer } => {
            format!("rfm-winback:{weeks}:{}", name(offer))
        }
        BaselineKind::ChurnRisk { p, offer, cooldown } => {
            format!("churn-risk:{p}:{}:{cooldown}", name(offer))
        }
        BaselineKind::RecommendLast { weeks } => format!("recommend-last:{weeks}"),
        BaselineKind::OracleRollout {
            draws,
            margin,
            periods,
            incumbent,
        } => format!(
            "oracle-rollout:{draws}:{margin}:{}:{}",
            periods.map_or("all".to_string(), |p| p.to_string()),
            canonical(incumbent, scenario)
        ),
    }
}

/// Parses a baseline spec into a policy (agent specs are an error here).
pub fn parse_baseline(spec: &str, scenario: &Scenario) -> Result<Baseline> {
    match PolicySpec::parse(spec, scenario)? {
        PolicySpec::Baseline(kind) => {
            let name = canonical(&kind, scenario);
            Ok(Baseline::new(kind, name, scenario))
        }
        PolicySpec::Agent { kind, .. } => Err(EnvError::Policy {
            spec: spec.to_string(),
            message: format!("`{kind}` is a trained agent, not a baseline"),
        }),
    }
}

/// The grid of specs `clv tune` searches for a parameterised baseline kind (`fixed`,
/// `cadence`, `rfm-winback`, `churn-risk`, `recommend-last`).
pub fn tuning_grid(kind: &str, scenario: &Scenario) -> Result<Vec<String>> {
    let contact_offers: Vec<&str> = scenario
        .offers
        .iter()
        .filter(|o| o.contact)
        .map(|o| o.name.as_str())
        .collect();
    let mut v = vec![];
    match kind {
        "fixed" => v.extend(scenario.offers.iter().map(|o| format!("fixed:{}", o.name))),
        "cadence" => {
            for o in &contact_offers {
                for w in [2, 4, 8, 13, 26, 52] {
                    v.push(format!("cadence:{o}:{w}"));
                }
            }
        }
        "rfm-winback" => {
            for o in contact_offers.iter() {
                for w in [4, 8, 13, 26, 52] {
                    v.push(format!("rfm-winback:{w}:{o}"));
                }
            }
        }
        "churn-risk" => {
            for o in contact_offers.iter() {
                for p in [0.1, 0.3, 0.5, 0.7, 0.9] {
                    for c in [4, 13] {
                        v.push(format!("churn-risk:{p}:{o}:{c}"));
                    }
                }
            }
        }
        "recommend-last" => v.extend([2, 4, 8, 13, 26].map(|w| format!("recommend-last:{w}"))),
        other => {
            return Err(EnvError::Policy {
                spec: other.to_string(),
                message:
                    "tunable kinds are fixed, cadence, rfm-winback, churn-risk, recommend-last"
                        .into(),
            });
        }
    }
    if v.is_empty() {
        return Err(EnvError::Policy {
            spec: kind.to_string(),
            message: "the catalogue has no offer this kind can use".into(),
        });
    }
    Ok(v)
}

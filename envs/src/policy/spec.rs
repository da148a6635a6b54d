//! Policy spec strings: `none`, `random`, `fixed:OFFER`, `cadence:OFFER:WEEKS`,
//! `rfm-winback[:WEEKS[:OFFER]]`, `churn-risk[:P[:OFFER[:COOLDOWN_WEEKS]]]`,
//! `recommend-last[:WEEKS]`, `oracle-myopic`; and agent specs `KIND:RUN_DIR` that the agents
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
        let err = |message: String| EnvError::Policy {
            spec: spec.to_string(),
            message,
        };
        let parts: Vec<&str> = spec.trim().split(':').collect();
        let head = parts[0];
        if AGENT_KINDS.contains(&head) {
            let dir = spec.trim()[head.len()..].trim_start_matches(':');
            if dir.is_empty() {
                return Err(err(format!("expected {head}:RUN_DIR")));
            }
            return Ok(PolicySpec::Agent {
                kind: head.to_string(),
                dir: PathBuf::from(dir),
            });
        }
        let offer = |name: &str| -> Result<usize> {
            scenario.offer_index(name).ok_or_else(|| {
                err(format!(
                    "unknown offer {name:?}; the catalogue has {}",
                    scenario
                        .offers
                        .iter()
                        .map(|o| o.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        };
        let num = |s: &str, what: &str, lo: f64, hi: f64| -> Result<f64> {
            let v: f64 = s
                .parse()
                .map_err(|_| err(format!("{what} must be a number, got {s:?}")))?;
            if !(v.is_finite() && v >= lo && v <= hi) {
                return Err(err(format!("{what} must be in [{lo}, {hi}], got {v}")));
            }
            Ok(v)
        };
        let arity = |max: usize| -> Result<()> {
            if parts.len() > max + 1 {
                Err(err(format!("`{head}` takes at most {max} parameter(s)")))
            } else {
                Ok(())
            }
        };
        let default_coupon = || -> Result<usize> {
            scenario
                .offer_index("coupon20")
                .or_else(|| scenario.offers.iter().position(|o| o.discount > 0.0))
                .ok_or_else(|| err("the catalogue has no coupon offer".into()))
        };
        let kind = match head {
            "none" => {
                arity(0)?;
                BaselineKind::None
            }
            "random" => {
                arity(0)?;
                BaselineKind::Random
            }
            "oracle-myopic" => {
                arity(0)?;
                BaselineKind::OracleMyopic
            }
            "fixed" => {
                arity(1)?;
                let name = parts
                    .get(1)
                    .ok_or_else(|| err("expected fixed:OFFER".into()))?;
                BaselineKind::Fixed {
                    offer: offer(name)?,
                }
            }
            "cadence" => {
                arity(2)?;
                if parts.len() != 3 {
                    return Err(err("expected cadence:OFFER:WEEKS".into()));
                }
                BaselineKind::Cadence {
                    offer: offer(parts[1])?,
                    weeks: num(parts[2], "WEEKS", 1.0, 1e4)?,
                }
            }
            "rfm-winback" => {
                arity(2)?;
                BaselineKind::RfmWinback {
                    weeks: parts
                        .get(1)
                        .map(|s| num(s, "WEEKS", 0.0, 1e4))
                        .transpose()?
                        .unwrap_or(12.0),
                    offer: parts
                        .get(2)
                        .map(|s| offer(s))
                        .transpose()?
                        .map_or_else(default_coupon, Ok)?,
                }
            }
            "churn-risk" => {
                arity(3)?;
                BaselineKind::ChurnRisk {
                    p: parts
                        .get(1)
                        .map(|s| num(s, "P", 0.0, 1.0))
                        .transpose()?
                        .unwrap_or(0.5),
                    offer: parts
                        .get(2)
                        .map(|s| offer(s))
                        .transpose()?
                        .map_or_else(default_coupon, Ok)?,
                    cooldown: parts
                        .get(3)
                        .map(|s| num(s, "COOLDOWN_WEEKS", 0.0, 1e4))
                        .transpose()?
                        .unwrap_or(4.0),
                }
            }
            "recommend-last" => {
                arity(1)?;
                BaselineKind::RecommendLast {
                    weeks: parts
                        .get(1)
                        .map(|s| num(s, "WEEKS", 1.0, 1e4))
                        .transpose()?
                        .unwrap_or(4.0),
                }
            }
            other => {
                return Err(err(format!(
                    "unknown policy `{other}`; expected none, random, fixed:OFFER, cadence:OFFER:WEEKS, rfm-winback[:WEEKS[:OFFER]], churn-risk[:P[:OFFER[:COOLDOWN]]], recommend-last[:WEEKS], oracle-myopic, or dqn|myopic|ddpg|td3:RUN_DIR"
                )));
            }
        };
        Ok(PolicySpec::Baseline(kind))
    }
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

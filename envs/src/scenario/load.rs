//! Reading a scenario: RON parsing with positions in errors, `--set path=value` overrides,
//! validation, and the memory check made before anything is allocated.

use std::path::{Path, PathBuf};

use super::{Scenario, Start};
use crate::error::{EnvError, Result, invalid};
use crate::files::{MAX_TEXT_BYTES, excerpt, read_text};

/// Parses scenario RON text (`path` only names it in errors). Does not validate.
pub fn parse_scenario(text: &str, path: &Path) -> Result<Scenario> {
    ron::Options::default()
        .from_str::<Scenario>(text)
        .map_err(|e| EnvError::Syntax {
            path: path.to_path_buf(),
            line: e.position.line,
            col: e.position.col,
            message: excerpt(&e.code.to_string()),
        })
}

/// Reads (a regular file of at most [`MAX_TEXT_BYTES`]), overrides (`path=value`
/// assignments, applied in order) and validates a scenario, including what its start needs:
/// see [`check_start`], with relative paths resolved against the scenario file's folder.
pub fn load_scenario(path: &Path, overrides: &[String]) -> Result<Scenario> {
    let text = read_text(path, MAX_TEXT_BYTES)?;
    let scenario = parse_scenario(&text, path)?;
    let scenario = apply_overrides(&scenario, overrides)?;
    scenario.validate()?;
    check_start(&scenario, scenario_dir(path))?;
    Ok(scenario)
}

/// The folder relative paths of the scenario file `path` are resolved against.
pub fn scenario_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Checks what the start of the scored window needs beyond field ranges: a burn-in policy
/// that parses as a baseline of the scenario (not a trained agent), and warm-start histories
/// inside `base_dir` that read as histories.
pub fn check_start(scenario: &Scenario, base_dir: &Path) -> Result<()> {
    match &scenario.start {
        Start::Cohort => Ok(()),
        Start::BurnIn { policy, .. } => crate::policy::parse_baseline(policy, scenario)
            .map(|_| ())
            .map_err(|e| {
                invalid(
                    "start.BurnIn.policy",
                    format!("must be a baseline policy spec: {e}"),
                )
            }),
        Start::WarmStart { histories } => {
            let path = histories_path(histories, base_dir)?;
            crate::population::read_histories(&path).map(|_| ())
        }
    }
}

/// The warm-start histories file `histories` (the scenario's `start.WarmStart.histories`),
/// resolved against `base_dir` (the scenario file's folder): it must be a relative path that
/// stays inside that folder once symbolic links and `..` are resolved, so that a shared
/// scenario cannot make the tool read files elsewhere.
pub fn histories_path(histories: &str, base_dir: &Path) -> Result<PathBuf> {
    const FIELD: &str = "start.WarmStart.histories";
    let rel = Path::new(histories);
    if rel.is_absolute() {
        return Err(invalid(
            FIELD,
            format!(
                "must be a path relative to the scenario's folder, got the absolute path \"{}\"",
                excerpt(histories)
            ),
        ));
    }
    let base = base_dir.canonicalize().map_err(|source| EnvError::Io {
        path: base_dir.to_path_buf(),
        source,
    })?;
    let joined = base_dir.join(rel);
    let full = joined.canonicalize().map_err(|e| {
        invalid(
            FIELD,
            format!(
                "cannot open \"{}\": {e}",
                excerpt(&joined.to_string_lossy())
            ),
        )
    })?;
    if !full.starts_with(&base) {
        return Err(invalid(
            FIELD,
            format!(
                "\"{}\" resolves to {}, outside the scenario's folder {}",
                excerpt(histories),
                full.display(),
                base.display()
            ),
        ));
    }
    Ok(full)
}

/// Applies `field.path=value` assignments. A path walks struct fields and list indices
/// (`offers.2.discount`); an enum variant's fields are reached through the variant name
/// (`start.BurnIn.periods`). The value is JSON (numbers, `true`, `"text"`, objects) or, if it
/// is not valid JSON, a bare string (`start=Cohort`, `start.BurnIn.policy=none`).
pub fn apply_overrides(scenario: &Scenario, overrides: &[String]) -> Result<Scenario> {
    if overrides.is_empty() {
        return Ok(scenario.clone());
    }
    let mut tree = serde_json::to_value(scenario).expect("a scenario always serialises");
    for assignment in overrides {
        let err = |message: String| EnvError::Override {
            assignment: assignment.clone(),
            message,
        };
        let (path, raw) = assignment
            .split_once('=')
            .ok_or_else(|| err("expected field.path=value".into()))?;
        let path = path.trim();
        if path.is_empty() {
            return Err(err("empty field path".into()));
        }
        let value: serde_json::Value = serde_json::from_str(raw.trim())
            .unwrap_or_else(|_| serde_json::Value::String(raw.trim().to_string()));
        let mut node = &mut tree;
        let mut walked = String::new();
        for key in path.split('.') {
            let here = if walked.is_empty() {
                "the scenario".to_string()
            } else {
                format!("`{walked}`")
            };
            node = match node {
                serde_json::Value::Object(map) => {
                    let known: Vec<String> = map.keys().cloned().collect();
                    map.get_mut(key).ok_or_else(|| {
                        err(format!(
                            "{here} has no field `{key}` (fields: {})",
                            known.join(", ")
                        ))
                    })?
                }
                serde_json::Value::Array(items) => {
                    let len = items.len();
                    let i: usize = key.parse().map_err(|_| {
                        err(format!("{here} is a list: expected an index, got `{key}`"))
                    })?;
                    items
                        .get_mut(i)
                        .ok_or_else(|| err(format!("{here} has {len} entries, no index {i}")))?
                }
                serde_json::Value::String(s) => {
                    return Err(err(format!(
                        "{here} is the unit variant {s:?}; set the whole field instead"
                    )));
                }
                _ => return Err(err(format!("{here} is a plain value, not a section"))),
            };
            if !walked.is_empty() {
                walked.push('.');
            }
            walked.push_str(key);
        }
        *node = value;
    }
    serde_json::from_value::<Scenario>(tree).map_err(|e| EnvError::Override {
        assignment: overrides.join(" "),
        message: e.to_string(),
    })
}

/// Bytes the engine holds per customer: its state (with its trail where `trail_mode` keeps
/// it) plus its share of the per-period buffers (offers, a block's sums) and of the
/// per-customer results (CLV over H and over the short horizon, discounted marketing spend,
/// segment).
pub fn estimate_bytes(customers: u64, trail_mode: crate::TrailMode) -> u64 {
    let trail = match trail_mode {
        crate::TrailMode::Keep => std::mem::size_of::<crate::Trail>(),
        crate::TrailMode::Drop => 0,
    };
    let per_customer = std::mem::size_of::<crate::customer::Customer>()
        + trail
        + std::mem::size_of::<crate::offer::Offer>()
        + crate::population::block_bytes_per_customer()
        + 3 * std::mem::size_of::<f64>()
        + 1;
    customers.saturating_mul(per_customer as u64)
}

/// Refuses a population that would need more memory than the machine has available (with
/// `copies` populations alive at once, e.g. one per policy of a comparison).
pub fn check_memory(customers: u64, copies: u64, trail_mode: crate::TrailMode) -> Result<()> {
    let needed = estimate_bytes(customers, trail_mode).saturating_mul(copies.max(1));
    let available = available_memory_bytes();
    if needed > available {
        return Err(EnvError::TooLarge {
            customers,
            needed_mib: needed >> 20,
            available_mib: available >> 20,
        });
    }
    Ok(())
}

/// `MemAvailable` from /proc/meminfo, or 4 GiB where it cannot be read.
fn available_memory_bytes() -> u64 {
    const FALLBACK: u64 = 4 << 30;
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map(|kib| kib * 1024)
        .unwrap_or(FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let e = parse_scenario(
            "(\n  horizon: 52,\n  bogus_field: 3,\n)",
            Path::new("x.ron"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("x.ron:3:"), "{e}");
        assert!(e.contains("bogus_field"), "{e}");
    }

    #[test]
    fn partial_ron_takes_defaults() {
        let s = parse_scenario("(horizon: 52, coupon: (enabled: false))", Path::new("x")).unwrap();
        assert_eq!(s.horizon, 52);
        assert!(!s.coupon.enabled);
        assert_eq!(s.population, Scenario::default().population);
    }

    #[test]
    fn overrides_set_nested_fields_and_name_bad_paths() {
        let s = Scenario::default();
        let o = apply_overrides(
            &s,
            &[
                "economics.contact_cost=0.5".into(),
                "offers.2.discount=0.15".into(),
                "start={\"BurnIn\":{\"periods\":10,\"policy\":\"none\"}}".into(),
                "start.BurnIn.policy=fixed:coupon10".into(),
                "coupon.enabled=false".into(),
            ],
        )
        .unwrap();
        assert_eq!(o.economics.contact_cost, 0.5);
        assert_eq!(o.offers[2].discount, 0.15);
        assert!(!o.coupon.enabled);
        assert_eq!(
            o.start,
            super::super::Start::BurnIn {
                periods: 10,
                policy: "fixed:coupon10".into()
            }
        );
        let e = apply_overrides(&s, &["coupon.elastic=1".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no field `elastic`"), "{e}");
        let e = apply_overrides(&s, &["horizon=abc".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("horizon=abc"), "{e}");
    }

    #[test]
    fn absurd_population_is_refused_before_allocation() {
        let e = check_memory(u64::MAX / 1024, 1, crate::TrailMode::Keep)
            .unwrap_err()
            .to_string();
        assert!(e.contains("MiB"), "{e}");
        check_memory(1000, 1, crate::TrailMode::Keep).unwrap();
    }
}

//! The grammar of `--vary PATH=LO:HI[:N]`, the evenly spaced values it names, a scenario
//! field's value at a path, and break-even values of a curve (where a difference changes sign).

use anyhow::{Context, bail, ensure};

/// Values of a `--vary` range when N is not given.
pub const DEFAULT_POINTS: usize = 5;
/// Most values one `--vary` accepts (a typo such as `:5000` would otherwise queue hours of
/// work).
pub const MAX_POINTS: usize = 101;

/// Significant digits the swept values are rounded to (far below any assumption's precision,
/// far above floating-point noise).
const SIGNIFICANT_DIGITS: usize = 12;

/// One `--vary PATH=LO:HI[:N]`: a scenario field swept over `n` evenly spaced values from
/// `lo` to `hi` inclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct Vary {
    /// The scenario field path, exactly as `--set` takes it (`coupon.elasticity_mean`).
    pub path: String,
    /// Lowest value, in the field's unit.
    pub lo: f64,
    /// Highest value, in the field's unit (above `lo`).
    pub hi: f64,
    /// Number of values (at least 2, at most [`MAX_POINTS`]).
    pub n: usize,
}

impl Vary {
    /// Parses `PATH=LO:HI[:N]`; errors name `--vary` and what is wrong.
    pub fn parse(arg: &str) -> anyhow::Result<Vary> {
        let (path, range) = arg
            .split_once('=')
            .with_context(|| format!("--vary {arg}: expected PATH=LO:HI[:N]"))?;
        let path = path.trim();
        ensure!(
            !path.is_empty(),
            "--vary {arg}: empty field path (expected PATH=LO:HI[:N])"
        );
        let parts: Vec<&str> = range.split(':').map(str::trim).collect();
        ensure!(
            parts.len() == 2 || parts.len() == 3,
            "--vary {arg}: expected PATH=LO:HI[:N], got {} part(s) after `=`",
            parts.len()
        );
        let number = |what: &str, s: &str| -> anyhow::Result<f64> {
            match s.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => bail!("--vary {path}: {what} must be a finite number, got `{s}`"),
            }
        };
        let lo = number("LO", parts[0])?;
        let hi = number("HI", parts[1])?;
        ensure!(
            lo < hi,
            "--vary {path}: LO must be below HI, got {lo} and {hi}"
        );
        let n = match parts.get(2) {
            None => DEFAULT_POINTS,
            Some(s) => s.parse::<usize>().map_err(|_| {
                anyhow::anyhow!("--vary {path}: N must be a whole number of values, got `{s}`")
            })?,
        };
        ensure!(
            (2..=MAX_POINTS).contains(&n),
            "--vary {path}: N must be from 2 to {MAX_POINTS}, got {n}"
        );
        Ok(Vary {
            path: path.to_string(),
            lo,
            hi,
            n,
        })
    }

    /// The `n` values, evenly spaced from `lo` to `hi` (both exact), each rounded to
    /// [`SIGNIFICANT_DIGITS`] so that round steps give round values (0.4, not
    /// 0.39999999999999997).
    pub fn values(&self) -> Vec<f64> {
        let last = self.n - 1;
        (0..self.n)
            .map(|i| {
                if i == last {
                    self.hi
                } else {
                    let x = self.lo + (self.hi - self.lo) * i as f64 / last as f64;
                    format!("{:.*e}", SIGNIFICANT_DIGITS - 1, x)
                        .parse()
                        .unwrap_or(x)
                }
            })
            .collect()
    }

    /// The `--set` assignment that puts `value` at this path (`path=value`, the value in
    /// Rust's shortest round-trip form, so `--set` of the same text gives the same number).
    pub fn assignment(&self, value: f64) -> String {
        format!("{}={value}", self.path)
    }
}

/// The number at a field `path` (`--set` grammar: struct fields, list indices, enum variant
/// names) of a scenario serialised as a JSON tree, or `None` where the path does not lead to
/// a number.
pub fn number_at(tree: &serde_json::Value, path: &str) -> Option<f64> {
    value_at(tree, path)?.as_f64()
}

/// Whether the field at `path` of a scenario's JSON tree is an optional field left unset
/// (`null`, e.g. `budget.per_period` without a budget).
pub fn is_unset(tree: &serde_json::Value, path: &str) -> bool {
    value_at(tree, path).is_some_and(serde_json::Value::is_null)
}

/// Whether the field at `path` of a scenario's JSON tree holds a whole number (an integer
/// field: it accepts whole values only).
pub fn is_whole_field(tree: &serde_json::Value, path: &str) -> bool {
    value_at(tree, path).is_some_and(|v| v.is_u64() || v.is_i64())
}

/// The node at `path` of a JSON tree (`--set` grammar), if any.
fn value_at<'a>(tree: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut node = tree;
    for key in path.split('.') {
        node = match node {
            serde_json::Value::Object(map) => map.get(key)?,
            serde_json::Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// The values of `x` at which the piecewise-linear curve through (`x[i]`, `y[i]`) crosses
/// zero: a point where `y` is exactly zero between non-zero neighbours of opposite sign (or at
/// an end), and the linear interpolation between adjacent points of opposite signs. `x` is
/// increasing; NaNs break the curve.
pub fn break_even(x: &[f64], y: &[f64]) -> Vec<f64> {
    assert_eq!(x.len(), y.len(), "one difference per value");
    let mut out: Vec<f64> = vec![];
    for i in 0..x.len() {
        if y[i] == 0.0 {
            // A zero counts once, where the sign differs on its two sides (or at an end).
            let before = y[..i].iter().rev().find(|v| **v != 0.0);
            let after = y[i + 1..].iter().find(|v| **v != 0.0);
            let crosses = match (before, after) {
                (Some(b), Some(a)) => b.signum() != a.signum(),
                // The policies never differ along the curve: no winner changes.
                (None, None) => false,
                _ => true,
            };
            let first_zero = i == 0 || y[i - 1] != 0.0;
            if crosses && first_zero {
                out.push(x[i]);
            }
            continue;
        }
        if i + 1 < x.len() && y[i + 1] != 0.0 && y[i].signum() != y[i + 1].signum() {
            if y[i].is_nan() || y[i + 1].is_nan() {
                continue;
            }
            let t = y[i] / (y[i] - y[i + 1]);
            out.push(x[i] + (x[i + 1] - x[i]) * t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_with_and_without_n() {
        let v = Vary::parse("coupon.elasticity_mean=1:8").unwrap();
        assert_eq!(
            v,
            Vary {
                path: "coupon.elasticity_mean".into(),
                lo: 1.0,
                hi: 8.0,
                n: DEFAULT_POINTS
            }
        );
        let v = Vary::parse("economics.gross_margin=0.3:0.7:3").unwrap();
        assert_eq!(v.values(), vec![0.3, 0.5, 0.7]);
        assert_eq!(v.assignment(0.5), "economics.gross_margin=0.5");
        let v = Vary::parse("x=-1:1:5").unwrap();
        assert_eq!(v.values(), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    }

    #[test]
    fn bad_ranges_name_the_flag_and_the_problem() {
        for (arg, needle) in [
            ("coupon.elasticity_mean", "expected PATH=LO:HI[:N]"),
            ("=1:2", "empty field path"),
            ("a=1", "expected PATH=LO:HI[:N]"),
            ("a=1:2:3:4", "expected PATH=LO:HI[:N]"),
            ("a=x:2", "LO must be a finite number, got `x`"),
            ("a=1:inf", "HI must be a finite number"),
            ("a=2:1", "LO must be below HI"),
            ("a=1:1", "LO must be below HI"),
            ("a=1:2:1", "N must be from 2"),
            ("a=1:2:1000", "N must be from 2"),
            ("a=1:2:2.5", "N must be a whole number"),
        ] {
            let e = Vary::parse(arg).unwrap_err().to_string();
            assert!(e.starts_with("--vary "), "{arg}: {e}");
            assert!(e.contains(needle), "{arg}: {e}");
        }
    }

    #[test]
    fn values_end_exactly_at_hi() {
        let v = Vary::parse("a=0.05:0.6:7").unwrap();
        let xs = v.values();
        assert_eq!(xs.len(), 7);
        assert_eq!(xs[0], 0.05);
        assert_eq!(xs[6], 0.6);
        assert!(xs.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(xs[2], 0.233333333333);
        let v = Vary::parse("a=0.3:0.7:5").unwrap();
        assert_eq!(v.values(), vec![0.3, 0.4, 0.5, 0.6, 0.7]);
        let v = Vary::parse("a=0.05:0.6:6").unwrap();
        assert_eq!(v.values(), vec![0.05, 0.16, 0.27, 0.38, 0.49, 0.6]);
    }

    #[test]
    fn numbers_are_found_through_fields_indices_and_variants() {
        let tree = serde_json::json!({
            "economics": {"gross_margin": 0.4},
            "offers": [{"discount": 0.0}, {"discount": 0.2}],
            "start": {"BurnIn": {"periods": 104}},
            "name": "x"
        });
        assert_eq!(number_at(&tree, "economics.gross_margin"), Some(0.4));
        assert_eq!(number_at(&tree, "offers.1.discount"), Some(0.2));
        assert_eq!(number_at(&tree, "start.BurnIn.periods"), Some(104.0));
        assert_eq!(number_at(&tree, "name"), None);
        assert_eq!(number_at(&tree, "offers.7.discount"), None);
        assert_eq!(number_at(&tree, "economics"), None);
        assert!(is_whole_field(&tree, "start.BurnIn.periods"));
        assert!(!is_whole_field(&tree, "economics.gross_margin"));
    }

    #[test]
    fn break_even_interpolates_between_sign_changes() {
        // Crosses between 1 and 2 (at 1.25) and between 3 and 4 (at 3.5).
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [2.0, 1.0, -3.0, -1.0, 1.0];
        assert_eq!(break_even(&x, &y), vec![1.25, 3.5]);
        // No sign change.
        assert!(break_even(&x, &[1.0, 2.0, 3.0, 2.0, 1.0]).is_empty());
        // An exact zero between opposite signs counts once; a touch does not.
        assert_eq!(break_even(&x, &[1.0, 0.0, -1.0, -2.0, -3.0]), vec![1.0]);
        assert!(break_even(&x, &[1.0, 0.0, 1.0, 2.0, 3.0]).is_empty());
        assert_eq!(break_even(&x, &[1.0, 0.0, 0.0, -1.0, -3.0]), vec![1.0]);
        assert!(break_even(&x, &[0.0; 5]).is_empty());
        assert_eq!(break_even(&x, &[2.0, 1.0, 1.0, 1.0, 0.0]), vec![4.0]);
        // Unequal spacing.
        assert_eq!(break_even(&[1.0, 5.0], &[-1.0, 3.0]), vec![2.0]);
    }
}

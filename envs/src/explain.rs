//! `clv scenario show --explain`: every field of a resolved scenario with its value, meaning,
//! unit and valid range.
//!
//! The meaning is the field's doc comment, read from the source files that declare the
//! scenario types (compiled in with `include_str!`), so it cannot drift from the code. Units
//! and ranges are listed once in [`field_notes`], keyed by the field's path in `--set` syntax
//! with `N` for a list index (`offers.N.discount`); the unit tests walk scenarios that use every
//! type, list and enum variant and fail when a serialised field has no doc comment or no note,
//! or a note names no field. A field path is the one `--set` takes (`start.BurnIn.periods`).

use std::collections::HashMap;

use serde::Serialize;

use crate::scenario::{MAX_ATTRIBUTES, MAX_CATEGORIES, MAX_LEVELS, MAX_PREFERRED, Scenario};
use crate::scenario::{
    MAX_CAP_PERIODS, MAX_CUSTOMERS, MAX_DISTRIBUTION_PARAM, MAX_HORIZON, MIN_DISTRIBUTION_PARAM,
};

/// The source files that declare the scenario's types, whose doc comments are the meanings.
/// A type declared in another file must be added here (the tests say which).
const SOURCES: [(&str, &str); 5] = [
    ("scenario/mod.rs", include_str!("scenario/mod.rs")),
    ("scenario/budget.rs", include_str!("scenario/budget.rs")),
    (
        "scenario/uncertainty.rs",
        include_str!("scenario/uncertainty.rs"),
    ),
    (
        "scenario/mechanisms.rs",
        include_str!("scenario/mechanisms.rs"),
    ),
    ("btyd/params.rs", include_str!("btyd/params.rs")),
];

/// The root type of a scenario file.
const ROOT_TYPE: &str = "Scenario";

/// Why a scenario cannot be explained: the tables of this module are out of step with the
/// scenario's types.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExplainError {
    /// A serialised field that no scanned source documents.
    #[error(
        "field `{path}` has no doc comment in a scanned source (type {owner}; add its file to explain::SOURCES or document the field)"
    )]
    Undocumented {
        /// The field's path.
        path: String,
        /// The type that should declare it.
        owner: String,
    },
    /// A field with no unit and range in [`field_notes`].
    #[error("field `{path}` has no unit and range in explain::field_notes (pattern `{pattern}`)")]
    NoNote {
        /// The field's path.
        path: String,
        /// Its pattern in the table.
        pattern: String,
    },
}

/// One field of a resolved scenario, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedField {
    /// Path in `--set` syntax (`offers.2.discount`, `start.BurnIn.periods`).
    pub path: String,
    /// Whether this is a section (a nested struct, list or enum variant) rather than a value.
    pub section: bool,
    /// The value, as `--set` would take it (JSON; empty for a section).
    pub value: String,
    /// Unit (empty for a section).
    pub unit: String,
    /// Valid range (empty for a section).
    pub range: String,
    /// Meaning: the field's doc comment, one line.
    pub meaning: String,
}

/// The unit and valid range of one field.
#[derive(Debug, Clone)]
pub struct FieldNote {
    /// Path pattern: `--set` syntax with `N` for a list index.
    pub pattern: &'static str,
    /// Unit of the value.
    pub unit: &'static str,
    /// Valid range, as `validate()` checks it.
    pub range: String,
}

/// Units and valid ranges of every scenario field (the ranges are those `Scenario::validate`
/// checks; the bounds come from the same constants).
pub fn field_notes() -> Vec<FieldNote> {
    let gamma = format!("[{MIN_DISTRIBUTION_PARAM:e}, {MAX_DISTRIBUTION_PARAM:e}]");
    let n = |pattern, unit, range: &str| FieldNote {
        pattern,
        unit,
        range: range.to_string(),
    };
    let share = "[0, 1]";
    let flag = "true / false";
    let mut v = vec![
        n("name", "text", "any"),
        n("description", "text", "any"),
        n("period_weeks", "weeks", "> 0"),
        n("horizon", "periods", &format!("1..={MAX_HORIZON}")),
        n("short_horizon", "periods", ">= 1 (capped at horizon)"),
        n("annual_discount_rate", "share per year", share),
        n("economics.gross_margin", "share of list-price spend", share),
        n("economics.contact_cost", "dollars per contact", ">= 0"),
        n(
            "population.customers",
            "customers",
            &format!("1..={MAX_CUSTOMERS}"),
        ),
        n("population.bgnbd.r", "dimensionless", &gamma),
        n("population.bgnbd.alpha", "weeks", &gamma),
        n("population.bgnbd.a", "dimensionless", &gamma),
        n("population.bgnbd.b", "dimensionless", &gamma),
        n("population.spend.p", "dimensionless", &gamma),
        n("population.spend.q", "dimensionless", &gamma),
        n("population.spend.gamma", "dollars", &gamma),
        n(
            "population.categories.count",
            "categories",
            &format!("1..={MAX_CATEGORIES}"),
        ),
        n(
            "population.categories.preferred",
            "categories",
            &format!("1..={MAX_PREFERRED}, at most count"),
        ),
        n(
            "population.categories.concentration",
            "dimensionless",
            &gamma,
        ),
        n("population.categories.off_preference", "probability", share),
        n(
            "population.attributes",
            "list",
            &format!("0..={MAX_ATTRIBUTES} attributes"),
        ),
        n("population.attributes.N.name", "text", "non-empty"),
        n(
            "population.attributes.N.levels",
            "list",
            &format!("1..={MAX_LEVELS} levels"),
        ),
        n("population.attributes.N.levels.N.name", "text", "any"),
        n(
            "population.attributes.N.levels.N.share",
            "relative weight",
            "> 0",
        ),
        n(
            "population.site_visits.background",
            "visits per week",
            ">= 0",
        ),
        n("population.site_visits.active", "visits per week", ">= 0"),
        n(
            "population.site_visits.per_purchase",
            "visits per expected purchase",
            ">= 0",
        ),
        n(
            "start",
            "variant",
            "Cohort, BurnIn { .. }, WarmStart { .. }",
        ),
        n(
            "start.BurnIn.periods",
            "periods",
            &format!("1..={MAX_HORIZON}"),
        ),
        n("start.BurnIn.policy", "policy spec", "a baseline spec"),
        n(
            "start.WarmStart.histories",
            "file path",
            "a CSV file, relative to the scenario",
        ),
        n("coupon.enabled", "switch", flag),
        n(
            "coupon.mix.persuadable",
            "relative weight",
            ">= 0 (not all four zero)",
        ),
        n(
            "coupon.mix.sure_thing",
            "relative weight",
            ">= 0 (not all four zero)",
        ),
        n(
            "coupon.mix.lost_cause",
            "relative weight",
            ">= 0 (not all four zero)",
        ),
        n(
            "coupon.mix.sleeping_dog",
            "relative weight",
            ">= 0 (not all four zero)",
        ),
        n(
            "coupon.lambda_exponent.persuadable",
            "exponent",
            "[-10, 10]",
        ),
        n("coupon.lambda_exponent.sure_thing", "exponent", "[-10, 10]"),
        n("coupon.lambda_exponent.lost_cause", "exponent", "[-10, 10]"),
        n(
            "coupon.lambda_exponent.sleeping_dog",
            "exponent",
            "[-10, 10]",
        ),
        n("coupon.tilts", "list", "any number"),
        n(
            "coupon.tilts.N.attribute",
            "attribute name",
            "a population.attributes name",
        ),
        n(
            "coupon.tilts.N.level",
            "level name",
            "a level of that attribute",
        ),
        n(
            "coupon.tilts.N.multipliers.persuadable",
            "multiplier",
            ">= 0",
        ),
        n(
            "coupon.tilts.N.multipliers.sure_thing",
            "multiplier",
            ">= 0",
        ),
        n(
            "coupon.tilts.N.multipliers.lost_cause",
            "multiplier",
            ">= 0",
        ),
        n(
            "coupon.tilts.N.multipliers.sleeping_dog",
            "multiplier",
            ">= 0",
        ),
        n(
            "coupon.elasticity_mean",
            "incremental rate / baseline rate",
            &gamma,
        ),
        n("coupon.elasticity_shape", "dimensionless", &gamma),
        n("coupon.saturation", "per unit of depth", "> 0"),
        n("coupon.max_redemptions", "purchases per coupon", ">= 1"),
        n(
            "coupon.sleeping_dog.dropout_multiplier",
            "multiplier",
            ">= 1",
        ),
        n(
            "coupon.sleeping_dog.opt_out_probability",
            "probability per contact",
            share,
        ),
        n("recommendation.enabled", "switch", flag),
        n("recommendation.lift", "multiple of lambda", ">= 0"),
        n(
            "recommendation.satisfaction_gain",
            "satisfaction units",
            ">= 0",
        ),
        n(
            "recommendation.satisfaction_half_life_weeks",
            "weeks",
            "> 0",
        ),
        n("recommendation.dropout_reduction", "share", share),
        n(
            "recommendation.irrelevant_pressure",
            "pressure units",
            ">= 0",
        ),
        n("fatigue.enabled", "switch", flag),
        n("fatigue.half_life_weeks", "weeks", "> 0"),
        n("fatigue.purchase_thinning", "per unit of pressure", ">= 0"),
        n("fatigue.opt_out_base", "hazard per contact", ">= 0"),
        n(
            "fatigue.opt_out_per_pressure",
            "hazard per contact per unit of pressure",
            ">= 0",
        ),
        n("habituation.enabled", "switch", flag),
        n("habituation.half_life_weeks", "weeks", "> 0"),
        n(
            "habituation.learning_rate",
            "share per redeemed purchase",
            share,
        ),
        n(
            "habituation.full_price_thinning",
            "per unit of reference discount",
            ">= 0",
        ),
        n("habituation.erosion", "share", share),
        n("winback.enabled", "switch", flag),
        n(
            "winback.reactivation_probability",
            "probability per coupon contact",
            share,
        ),
        n("winback.full_depth", "share of list price", "[1e-6, 1]"),
        n("offers", "list", "1..=255 offers, unique names"),
        n("offers.N.name", "text", "non-empty, no ':'"),
        n("offers.N.discount", "share of list price", "[0, 0.9]"),
        n(
            "offers.N.recommend",
            "variant",
            "Nothing, MostBought, LastBought, Category(k < categories.count)",
        ),
        n(
            "offers.N.contact",
            "switch",
            "true / false (true with a coupon or recommendation)",
        ),
        n(
            "continuous.max_discount",
            "share of list price",
            "[1e-6, 0.9]",
        ),
        n(
            "continuous.min_discount",
            "share of list price",
            "[0, max_discount]",
        ),
        n("continuous.contact_probability", "switch", flag),
        n(
            "continuous.recommend",
            "variant",
            "Nothing, MostBought, LastBought, Category(k)",
        ),
        n("segments.high_share", "share of customers", share),
        n(
            "segments.mid_share",
            "share of customers",
            "[0, 1 - high_share]",
        ),
        n("segments.window_periods", "periods", ">= 1"),
        n(
            "budget.per_period",
            "dollars per period (for population.customers)",
            ">= 0, or null: unlimited",
        ),
        n("budget.counts", "variant", "ContactsAndDiscounts, Contacts"),
        n(
            "budget.cap_contacts",
            "contacts per customer per block",
            "0..=cap_periods, or null: no cap",
        ),
        n(
            "budget.cap_periods",
            "periods",
            &format!("1..={MAX_CAP_PERIODS}"),
        ),
        n(
            "population.uncertainty",
            "section",
            "null (parameters known) or written by clv fit",
        ),
        n(
            "population.uncertainty.bgnbd_log_covariance",
            "(ln r, ln alpha, ln a, ln b)",
            "4 x 4 symmetric positive definite, or null",
        ),
        n(
            "population.uncertainty.bgnbd_log_covariance.N",
            "row",
            "4 values",
        ),
        n(
            "population.uncertainty.bgnbd_log_covariance.N.N",
            "log-parameter units squared",
            "finite",
        ),
        n(
            "population.uncertainty.spend_log_covariance",
            "(ln p, ln q, ln gamma)",
            "3 x 3 symmetric positive definite, or null",
        ),
        n(
            "population.uncertainty.spend_log_covariance.N",
            "row",
            "3 values",
        ),
        n(
            "population.uncertainty.spend_log_covariance.N.N",
            "log-parameter units squared",
            "finite",
        ),
        n("population.uncertainty.customers", "customers", ">= 1"),
    ];
    v.shrink_to_fit();
    v
}

/// A declared field: (name, type, doc comment).
type Field = (String, String, String);
/// A declared enum variant: (name, doc comment, fields of a struct variant).
type Variant = (String, String, Vec<Field>);

/// A type as its source declares it.
#[derive(Debug, Default, Clone)]
struct TypeDoc {
    /// Fields of a struct: (name, type, doc).
    fields: Vec<Field>,
    /// Variants of an enum: (name, doc, fields of a struct variant).
    variants: Vec<Variant>,
}

/// The doc comment of the lines `docs` as one line: the first paragraph, joined.
fn one_line(docs: &[String]) -> String {
    let mut out: Vec<&str> = vec![];
    for d in docs {
        if d.is_empty() {
            break;
        }
        out.push(d);
    }
    out.join(" ")
}

/// A field line `pub name: Type,` (or `name: Type,` in a struct variant) as (name, type).
fn field_line(line: &str) -> Option<(String, String)> {
    let l = line.trim().strip_prefix("pub ").unwrap_or(line.trim());
    let (name, ty) = l.split_once(':')?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some((
        name.to_string(),
        ty.trim().trim_end_matches(',').to_string(),
    ))
}

/// The structs and enums declared at the top level of rustfmt-formatted `src`, by name, with
/// the doc comment of each field and variant.
fn parse_types(src: &str) -> HashMap<String, TypeDoc> {
    let mut types = HashMap::new();
    let mut lines = src.lines().peekable();
    while let Some(line) = lines.next() {
        let (kind, rest) = if let Some(r) = line.strip_prefix("pub struct ") {
            ("struct", r)
        } else if let Some(r) = line.strip_prefix("pub enum ") {
            ("enum", r)
        } else {
            continue;
        };
        let Some(name) = rest.strip_suffix(" {") else {
            continue;
        };
        let mut t = TypeDoc::default();
        let mut docs: Vec<String> = vec![];
        let mut variant: Option<Variant> = None;
        for body in lines.by_ref() {
            if body == "}" {
                break;
            }
            let trimmed = body.trim();
            if let Some(d) = trimmed.strip_prefix("///") {
                docs.push(d.trim().to_string());
                continue;
            }
            if trimmed.starts_with("#[") || trimmed.starts_with("//") || trimmed.is_empty() {
                continue;
            }
            let doc = one_line(&docs);
            docs.clear();
            if kind == "struct" {
                if let Some((f, ty)) = field_line(trimmed) {
                    t.fields.push((f, ty, doc));
                }
                continue;
            }
            // Enum bodies: variants at one indent, struct-variant fields at two.
            let depth = body.len() - body.trim_start().len();
            if let Some(v) = variant.as_mut()
                && depth > 4
            {
                if let Some((f, ty)) = field_line(trimmed) {
                    v.2.push((f, ty, doc));
                }
                continue;
            }
            if trimmed == "}," || trimmed == "}" {
                if let Some(v) = variant.take() {
                    t.variants.push(v);
                }
                continue;
            }
            let vname: String = trimmed
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if trimmed.ends_with('{') {
                variant = Some((vname, doc, vec![]));
            } else {
                t.variants.push((vname, doc, vec![]));
            }
        }
        types.insert(name.to_string(), t);
    }
    types
}

/// Every type of [`SOURCES`].
fn all_types() -> HashMap<String, TypeDoc> {
    let mut all = HashMap::new();
    for (_, src) in SOURCES {
        all.extend(parse_types(src));
    }
    all
}

/// The type named inside `Vec<..>` / `Option<..>` / `Box<..>`.
fn inner_type(ty: &str) -> &str {
    let mut t = ty.trim();
    for wrapper in ["Option<", "Vec<", "Box<"] {
        if let Some(rest) = t.strip_prefix(wrapper) {
            t = rest.strip_suffix('>').unwrap_or(rest);
            return inner_type(t);
        }
    }
    t
}

/// The walk over a serialised scenario.
struct Walker {
    types: HashMap<String, TypeDoc>,
    notes: Vec<FieldNote>,
    out: Vec<ExplainedField>,
}

/// `a.b` (or `b` at the root).
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A path with every list index replaced by `N`: the pattern of [`field_notes`].
fn pattern(path: &str) -> String {
    path.split('.')
        .map(|k| {
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_digit()) {
                "N"
            } else {
                k
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

impl Walker {
    /// The unit and range of `path`.
    fn note(&self, path: &str) -> Result<&FieldNote, ExplainError> {
        let p = pattern(path);
        self.notes
            .iter()
            .find(|n| n.pattern == p)
            .ok_or(ExplainError::NoNote {
                path: path.to_string(),
                pattern: p,
            })
    }

    /// A value row.
    fn leaf(&mut self, path: &str, value: String, meaning: &str) -> Result<(), ExplainError> {
        let note = self.note(path)?.clone();
        self.out.push(ExplainedField {
            path: path.to_string(),
            section: false,
            value,
            unit: note.unit.to_string(),
            range: note.range,
            meaning: meaning.to_string(),
        });
        Ok(())
    }

    /// A section row.
    fn section(&mut self, path: &str, meaning: &str) {
        self.out.push(ExplainedField {
            path: path.to_string(),
            section: true,
            value: String::new(),
            unit: String::new(),
            range: String::new(),
            meaning: meaning.to_string(),
        });
    }

    /// The fields of the struct-like `value` (an object) whose declared fields are `fields`
    /// (of type `owner`), under `path`.
    fn fields(
        &mut self,
        owner: &str,
        fields: &[Field],
        value: &serde_json::Value,
        path: &str,
    ) -> Result<(), ExplainError> {
        let serde_json::Value::Object(map) = value else {
            return self.leaf(path, value.to_string(), "");
        };
        // Every serialised field must be declared and documented...
        for key in map.keys() {
            let documented = fields.iter().any(|(f, _, d)| f == key && !d.is_empty());
            if !documented {
                return Err(ExplainError::Undocumented {
                    path: join(path, key),
                    owner: owner.to_string(),
                });
            }
        }
        // ... and they are explained in the order the source declares them.
        for (key, ty, doc) in fields {
            if let Some(v) = map.get(key) {
                self.value(inner_type(ty), v, &join(path, key), doc)?;
            }
        }
        Ok(())
    }

    /// One field's `value` of (inner) type `ty` under `path`, documented by `doc`.
    fn value(
        &mut self,
        ty: &str,
        value: &serde_json::Value,
        path: &str,
        doc: &str,
    ) -> Result<(), ExplainError> {
        if let serde_json::Value::Array(items) = value {
            if self.note(path).is_ok() {
                self.leaf(path, format!("{} item(s)", items.len()), doc)?;
            } else {
                self.section(path, doc);
            }
            for (i, item) in items.iter().enumerate() {
                self.value(ty, item, &join(path, &i.to_string()), doc)?;
            }
            return Ok(());
        }
        if value.is_null() {
            // An optional section or value that is not set.
            return self.leaf(path, value.to_string(), doc);
        }
        let Some(t) = self.types.get(ty).cloned() else {
            // A primitive (number, string, bool).
            return self.leaf(path, value.to_string(), doc);
        };
        if !t.variants.is_empty() {
            return self.variant(ty, &t, value, path, doc);
        }
        self.section(path, doc);
        self.fields(ty, &t.fields, value, path)
    }

    /// An enum's `value`: a unit variant (a string), or `{Variant: ..}`.
    fn variant(
        &mut self,
        ty: &str,
        t: &TypeDoc,
        value: &serde_json::Value,
        path: &str,
        doc: &str,
    ) -> Result<(), ExplainError> {
        let (name, inner) = match value {
            serde_json::Value::String(s) => (s.clone(), None),
            serde_json::Value::Object(m) if m.len() == 1 => {
                let (k, v) = m.iter().next().expect("one entry");
                (k.clone(), Some(v))
            }
            other => return self.leaf(path, other.to_string(), doc),
        };
        let Some((_, vdoc, vfields)) = t.variants.iter().find(|(v, _, _)| *v == name) else {
            return Err(ExplainError::Undocumented {
                path: join(path, &name),
                owner: ty.to_string(),
            });
        };
        let meaning = format!("{doc} {name}: {vdoc}");
        match inner {
            Some(v @ serde_json::Value::Object(_)) if !vfields.is_empty() => {
                self.leaf(path, name.clone(), &meaning)?;
                self.fields(ty, vfields, v, &join(path, &name))
            }
            Some(v) => self.leaf(path, format!("{name}({v})"), &meaning),
            None => self.leaf(path, name, &meaning),
        }
    }
}

/// Every field of `value` (a serialised [`Scenario`]), explained, in file order within each
/// struct. Fails on a field without a doc comment or a note.
pub fn explain_value(value: &serde_json::Value) -> Result<Vec<ExplainedField>, ExplainError> {
    let mut w = Walker {
        types: all_types(),
        notes: field_notes(),
        out: vec![],
    };
    let root = w.types.get(ROOT_TYPE).cloned().unwrap_or_default();
    w.fields(ROOT_TYPE, &root.fields, value, "")?;
    Ok(w.out)
}

/// Every field of `scenario`, explained (see [`explain_value`]).
pub fn explain(scenario: &Scenario) -> Result<Vec<ExplainedField>, ExplainError> {
    explain_value(&serde_json::to_value(scenario).expect("a scenario always serialises"))
}

/// Widest value column of the text form, characters (longer values are cut).
const MAX_VALUE_WIDTH: usize = 32;

/// Widest range column of the text form, characters (a longer range pushes its meaning on).
const MAX_RANGE_WIDTH: usize = 28;

/// The explained fields as aligned text: path, value, unit, range, meaning (sections as a
/// path and their meaning).
pub fn to_text(fields: &[ExplainedField]) -> String {
    let width = |f: fn(&ExplainedField) -> &str| {
        fields
            .iter()
            .filter(|x| !x.section)
            .map(|x| f(x).chars().count())
            .max()
            .unwrap_or(0)
    };
    let (wp, wv, wu, wr) = (
        width(|x| &x.path).max(5),
        width(|x| &x.value).clamp(5, MAX_VALUE_WIDTH),
        width(|x| &x.unit).max(4),
        width(|x| &x.range).clamp(5, MAX_RANGE_WIDTH),
    );
    let mut s = format!(
        "{:<wp$}  {:<wv$}  {:<wu$}  {:<wr$}  meaning\n",
        "field", "value", "unit", "range"
    );
    for f in fields {
        if f.section {
            s.push_str(&format!("{}  -- {}\n", f.path, f.meaning));
        } else {
            // A long value (a description) is cut to the column; `show` without --explain
            // prints it whole.
            let value = if f.value.chars().count() > wv {
                let cut: String = f.value.chars().take(wv.saturating_sub(3)).collect();
                format!("{cut}...")
            } else {
                f.value.clone()
            };
            s.push_str(&format!(
                "{:<wp$}  {:<wv$}  {:<wu$}  {:<wr$}  {}\n",
                f.path, value, f.unit, f.range, f.meaning
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{AttributeConfig, AttributeLevel, AttributeTilt, RecommendRule};
    use crate::scenario::{ResponseWeights, Start};

    /// Scenarios that between them use every type, list and enum variant.
    fn covering_scenarios() -> Vec<Scenario> {
        let mut a = Scenario::default();
        a.population.attributes = vec![AttributeConfig {
            name: "channel".into(),
            levels: vec![AttributeLevel {
                name: "paid".into(),
                share: 1.0,
            }],
        }];
        a.coupon.tilts = vec![AttributeTilt {
            attribute: "channel".into(),
            level: "paid".into(),
            multipliers: ResponseWeights::splat(1.0),
        }];
        a.offers[1].recommend = RecommendRule::Category(2);
        a.continuous.recommend = RecommendRule::LastBought;
        a.start = Start::BurnIn {
            periods: 52,
            policy: "none".into(),
        };
        let b = Scenario {
            start: Start::WarmStart {
                histories: "h.csv".into(),
            },
            ..Scenario::default()
        };
        let mut c = Scenario::default();
        c.budget.per_period = Some(100.0);
        c.budget.cap_contacts = Some(2);
        c.budget.counts = crate::scenario::BudgetCounts::Contacts;
        c.population.uncertainty = Some(crate::scenario::ParameterUncertainty {
            bgnbd_log_covariance: Some(
                (0..4)
                    .map(|i| (0..4).map(|j| if i == j { 0.01 } else { 0.0 }).collect())
                    .collect(),
            ),
            spend_log_covariance: Some(
                (0..3)
                    .map(|i| (0..3).map(|j| if i == j { 0.02 } else { 0.0 }).collect())
                    .collect(),
            ),
            customers: 100,
        });
        let d = Scenario::default();
        vec![a, b, c, d]
    }

    /// Every leaf path of a JSON tree (`--set` syntax).
    fn leaves(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    leaves(x, &join(path, k), out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    leaves(x, &join(path, &i.to_string()), out);
                }
            }
            _ => out.push(path.to_string()),
        }
    }

    #[test]
    fn every_field_is_explained_and_every_note_is_used() {
        let mut used: Vec<String> = vec![];
        for s in covering_scenarios() {
            let rows = explain(&s).unwrap_or_else(|e| panic!("{e}"));
            let explained: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
            let mut all = vec![];
            leaves(&serde_json::to_value(&s).unwrap(), "", &mut all);
            for leaf in &all {
                // A leaf is explained itself, or (an enum variant's payload) through its
                // variant's row and fields.
                assert!(
                    explained
                        .iter()
                        .any(|p| leaf == p || leaf.starts_with(&format!("{p}."))),
                    "{leaf} not explained"
                );
            }
            for r in rows.iter().filter(|r| !r.section) {
                assert!(!r.meaning.is_empty(), "{} has no meaning", r.path);
                assert!(!r.unit.is_empty() && !r.range.is_empty(), "{}", r.path);
                used.push(pattern(&r.path));
            }
        }
        for n in field_notes() {
            assert!(
                used.iter().any(|u| u == n.pattern),
                "note {} names no field of the covering scenarios",
                n.pattern
            );
        }
    }

    #[test]
    fn meanings_are_the_doc_comments() {
        let rows = explain(&Scenario::default()).unwrap();
        let get = |p: &str| rows.iter().find(|r| r.path == p).unwrap();
        assert!(
            get("economics.gross_margin")
                .meaning
                .starts_with("Gross margin m")
        );
        assert_eq!(get("economics.gross_margin").value, "0.3");
        assert!(
            get("population.bgnbd.alpha")
                .meaning
                .starts_with("Rate of the purchase-rate")
        );
        assert_eq!(get("offers.3.discount").value, "0.2");
        assert!(get("start").meaning.contains("Cohort"));
        // Multi-line doc comments are joined into one line.
        assert!(
            get("short_horizon")
                .meaning
                .ends_with("capped at `horizon`.")
        );
    }

    #[test]
    fn an_unknown_field_fails() {
        let mut v = serde_json::to_value(Scenario::default()).unwrap();
        v["economics"]["bogus"] = serde_json::json!(1.0);
        let e = explain_value(&v).unwrap_err();
        assert_eq!(
            e,
            ExplainError::Undocumented {
                path: "economics.bogus".into(),
                owner: "Economics".into()
            }
        );
        assert!(e.to_string().contains("economics.bogus"));
    }

    #[test]
    fn a_field_without_a_note_fails() {
        let mut w = Walker {
            types: all_types(),
            notes: vec![],
            out: vec![],
        };
        let e = w
            .leaf("economics.gross_margin", "0.3".into(), "m")
            .unwrap_err();
        assert!(e.to_string().contains("economics.gross_margin"), "{e}");
    }

    #[test]
    fn text_is_aligned() {
        let rows = explain(&Scenario::default()).unwrap();
        let text = to_text(&rows);
        let col = |line: &str| line.find("  ").unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.contains(" -- ")).collect();
        assert!(lines.len() > 50);
        let unit_col = lines[0].find("unit").unwrap();
        for l in &lines[1..] {
            assert!(col(l) <= unit_col);
        }
    }
}

//! The JSON files a run writes, one typed serde struct per file, used by the command that
//! writes it and by every command that reads it back (burn saves its `config.json` the same
//! way). Field names, units and the stable / informational split are documented in
//! `docs/run-files.md`.
//!
//! | file | struct | written by | read by |
//! |---|---|---|---|
//! | `summary.json` of a training run | [`TrainSummary`] | `clv train`, `clv demo` (adds `best_baseline`) | `clv report`, `clv demo`, `clv bench acceptance` |
//! | `summary.json` of a simulation, `clv simulate --json` | [`SimulateSummary`] | `clv simulate` | — (people, scripts) |
//! | `comparison.json`, `clv compare --json` | [`Comparison`] | `clv compare`, `clv demo` | `clv report` |
//! | `critic.json`, `clv critic --json` | [`CriticReport`] | `clv critic`, `clv demo` | — |
//! | `acceptance.json` | [`AcceptanceReport`] | `clv bench acceptance` | — |
//! | `clv fit --json` (standard output) | [`FitReport`] | `clv fit` | — |
//! | `sweep.json`, `clv sweep --json` | [`SweepReport`] | `clv sweep` | — |
//!
//! Every file carries `schema_version` (a named constant per file, starting at 1). A reader
//! refuses a file whose version is newer than the one it understands, and reads a file
//! without the field (written before versions were recorded; read as version 0) when its
//! fields are otherwise compatible.

mod ablation;
mod acceptance;
mod comparison;
mod critic;
mod fit;
mod simulate;
mod sweep;
mod train;

use std::path::Path;

use anyhow::{Context, bail};
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned, Deserializer};

pub use ablation::{ABLATION_SCHEMA_VERSION, AblationReport, AblationRow, LEARNED_MARGIN};
pub use acceptance::{
    ACCEPTANCE_SCHEMA_VERSION, AcceptanceReport, AcceptanceScenario, DqnSeedResult, Td3Acceptance,
    Td3SeedResult, TestClv, TunedBaseline,
};
pub use comparison::{COMPARISON_SCHEMA_VERSION, Comparison, ComparisonTiming};
pub use critic::{CRITIC_SCHEMA_VERSION, CriticReport, PredictorScore};
pub use fit::{FIT_REPORT_SCHEMA_VERSION, FitBgNbd, FitGammaGamma, FitReport};
pub use simulate::{SIMULATE_SUMMARY_SCHEMA_VERSION, SimulateSummary, SimulateTiming};
pub use sweep::{
    BreakEven, GridBreakEven, GridCell, GridSweep, PairDiff, ParameterSweep, SWEEP_SCHEMA_VERSION,
    SweepReport, SweepTiming,
};
pub use train::{
    BestBaseline, Confirmation, TRAIN_SUMMARY_SCHEMA_VERSION, TrainSummary, serde_name,
};

/// A run file with a typed layout.
pub trait RunFile: Serialize + DeserializeOwned {
    /// The file's name, for messages (`comparison.json`).
    const FILE: &'static str;
    /// The newest layout this build writes and reads.
    const SCHEMA_VERSION: u32;
}

/// Just the version of a run file, read before the rest so that a newer layout is reported as
/// such rather than as a missing or mistyped field.
#[derive(serde::Deserialize)]
struct VersionProbe {
    /// Missing in files written before versions were recorded: 0.
    #[serde(default)]
    schema_version: u32,
}

/// Reads and parses the run file `T` at `path`.
///
/// # Errors
/// When the file cannot be read, is not JSON of `T`'s layout (the message names the file and
/// the field), or declares a `schema_version` newer than [`RunFile::SCHEMA_VERSION`].
pub fn read<T: RunFile>(path: &Path) -> anyhow::Result<T> {
    let text = clv_envs::files::read_text(path, clv_envs::files::MAX_TEXT_BYTES)
        .with_context(|| format!("reading {} ({})", path.display(), T::FILE))?;
    parse(&text, path)
}

/// Parses the text of the run file `T` read from `path` (for messages); see [`read`].
///
/// # Errors
/// As [`read`], but for the parsing only.
pub fn parse<T: RunFile>(text: &str, path: &Path) -> anyhow::Result<T> {
    let not_valid = || format!("parsing {}: not a valid {}", path.display(), T::FILE);
    let probe: VersionProbe = serde_json::from_str(text).with_context(not_valid)?;
    if probe.schema_version > T::SCHEMA_VERSION {
        bail!(
            "{} has schema_version {}, newer than the version {} of {} that this clv \
             understands: read it with the clv that wrote it, or a newer one",
            path.display(),
            probe.schema_version,
            T::SCHEMA_VERSION,
            T::FILE
        );
    }
    serde_json::from_str(text).with_context(not_valid)
}

/// `value` as a JSON tree: its objects' keys sorted (serde_json's map without the
/// `preserve_order` feature), the layout the files built as JSON trees always had.
pub fn sorted<T: Serialize>(value: &T) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::to_value(value)?)
}

/// Writes `value` to `path` atomically as pretty JSON with sorted keys and a final newline.
pub fn write_sorted<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    crate::io::write_json(path, &sorted(value)?)
}

/// Deserialises a number that may be `null` (serde_json writes NaN and the infinities as
/// `null`) as NaN.
fn nullable_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// NaN: the value of a number a file does not hold (see [`nullable_f64`]).
fn nan() -> f64 {
    f64::NAN
}

/// A number that the file holds, or `None` where it held `null` or nothing (read as NaN).
pub fn known(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_and_bad_files_are_named() {
        let p = Path::new("run/critic.json");
        let newer = format!("{{\"schema_version\": {}}}", CRITIC_SCHEMA_VERSION + 1);
        let err = parse::<CriticReport>(&newer, p).unwrap_err().to_string();
        assert!(
            err.contains("run/critic.json") && err.contains("newer"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            parse::<CriticReport>("{\"run\": 3}", p).unwrap_err()
        );
        assert!(err.contains("not a valid critic.json"), "{err}");
        let err = format!("{:#}", parse::<CriticReport>("[1,", p).unwrap_err());
        assert!(err.contains("run/critic.json"), "{err}");
    }

    /// The committed example run (written before `schema_version` was in every file) reads.
    #[test]
    fn reads_the_committed_example_run() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/example");
        let summary: TrainSummary =
            read(&root.join("training-dqn/dqn-seed0/summary.json")).unwrap();
        assert_eq!(summary.agent, "dqn");
        assert!(summary.best_baseline.is_some());
        let cmp: Comparison = read(&root.join("comparison/comparison.json")).unwrap();
        assert!(!cmp.policies.is_empty() && !cmp.segments.is_empty());
        let critic: CriticReport = read(&root.join("critic/critic.json")).unwrap();
        assert_eq!(critic.schema_version, CRITIC_SCHEMA_VERSION);
        assert_eq!(critic.predictors.len(), 2);
    }

    /// A file written before versions were recorded (no `schema_version`) still reads, as 0.
    #[test]
    fn reads_a_file_without_schema_version() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/example/critic/critic.json");
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("schema_version");
        let critic: CriticReport = parse(&v.to_string(), &path).unwrap();
        assert_eq!(critic.schema_version, 0);
        assert_eq!(critic.predictors.len(), 2);
    }

    #[test]
    fn known_numbers() {
        assert_eq!(known(1.5), Some(1.5));
        assert_eq!(known(f64::NAN), None);
    }
}

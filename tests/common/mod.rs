//! Helpers shared by the integration tests: run the real `clv` binary from the repository root.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `clv` with `args` in the repository root.
pub fn clv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clv"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("clv runs")
}

/// Runs `clv`, asserts success, returns stdout.
pub fn ok(args: &[&str]) -> String {
    let o = clv(args);
    assert!(
        o.status.success(),
        "clv {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Runs `clv`, asserts a failure exit code (1, or 2 for an argument the parser refuses)
/// without a panic, returns stderr.
pub fn fails(args: &[&str]) -> String {
    let o = clv(args);
    assert!(
        matches!(o.status.code(), Some(1) | Some(2)),
        "clv {args:?}: exit code {:?}",
        o.status.code()
    );
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!err.contains("panicked"), "clv {args:?} panicked: {err}");
    err
}

/// The longest any case may take.
const LIMIT: Duration = Duration::from_secs(10);
/// The longest error message a case may print (a hostile input must not be echoed whole).
const MAX_STDERR: usize = 4000;

/// Runs `clv args` from the repository root, killing it after [`LIMIT`]; returns the exit code
/// and stderr.
pub fn run_limited(args: &[&str]) -> (Option<i32>, String) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_clv"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("clv runs");
    loop {
        if child.try_wait().expect("waiting on clv").is_some() {
            break;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("clv {args:?} ran past {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("clv output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Asserts that `clv args` fails cleanly and that its message holds every one of `needles`.
pub fn refused(args: &[&str], needles: &[&str]) -> String {
    let (code, err) = run_limited(args);
    assert!(
        code.is_some_and(|c| c != 0),
        "clv {args:?} exit code {code:?}: {err}"
    );
    assert!(!err.contains("panicked"), "clv {args:?} panicked: {err}");
    assert!(
        err.len() <= MAX_STDERR,
        "clv {args:?}: {} bytes of error",
        err.len()
    );
    for n in needles {
        assert!(err.contains(n), "clv {args:?}: no {n:?} in: {err}");
    }
    err
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Writes `bytes` to `dir/name`, returns the path.
pub fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Asserts that every policy of `clv compare --json`'s output `doc` kept within its budget of
/// `per_period` dollars in every period (`doc.budget`).
pub fn assert_within_budget(doc: &serde_json::Value, per_period: f64) {
    let b = &doc["budget"];
    let budget = b["per_period"].as_f64().expect("a budget report");
    assert!((budget - per_period).abs() < 1e-12, "budget {budget}");
    for p in b["policies"].as_array().unwrap() {
        assert!(
            p["committed_max"].as_f64().unwrap() <= per_period + 1e-9,
            "over budget: {p}"
        );
    }
}

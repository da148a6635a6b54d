//! Helpers shared by the integration tests: run the real `clv` binary from the repository root.
#![allow(dead_code)] // each test binary uses a different subset

use std::process::{Command, Output};

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

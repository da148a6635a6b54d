//! `clv report` end to end: a comparison written by `clv compare`, a training run and a folder
//! of training runs (hand-written fixtures in the format of `clv train`) become PNG and SVG
//! plots and a Markdown report whose links resolve and whose headline names the winner; bad
//! input exits 1 with a message naming what was expected.

mod common;
use common::{clv, fails, ok};

use std::path::Path;

/// The targets of the Markdown links and images in `md` (`](target)`).
fn links(md: &str) -> Vec<String> {
    md.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(str::to_string)
        .collect()
}

/// Width and height of a PNG, from its IHDR chunk; panics unless it is a PNG.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert!(
        b.len() > 24 && b.starts_with(b"\x89PNG\r\n\x1a\n") && &b[12..16] == b"IHDR",
        "{} is not a PNG",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Checks every link of `dir/report.md` resolves, every plot in `dir/plots` is linked, and
/// every plot is a non-trivial PNG or SVG. Returns the report text.
fn check_report(dir: &Path, expected_plots: &[&str]) -> String {
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md written");
    let targets = links(&md);
    for t in &targets {
        assert!(!t.starts_with('/'), "link {t} is not relative");
        assert!(
            dir.join(t).exists(),
            "report links {t}, which does not exist"
        );
    }
    for stem in expected_plots {
        for ext in ["png", "svg"] {
            let rel = format!("plots/{stem}.{ext}");
            assert!(targets.contains(&rel), "report does not link {rel}");
            let path = dir.join(&rel);
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len > 5_000, "{rel} is only {len} bytes");
            if ext == "png" {
                let (w, h) = png_size(&path);
                assert!(w >= 1000 && h >= 400, "{rel} is {w}x{h}");
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.contains("<svg") && text.contains("<text"), "{rel}");
            }
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| format!("plots/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    on_disk.sort();
    for f in &on_disk {
        assert!(targets.contains(f), "{f} is written but not linked");
    }
    assert_eq!(on_disk.len(), 2 * expected_plots.len(), "{on_disk:?}");
    md
}

#[test]
fn report_of_a_comparison_links_its_plots_and_names_the_winner() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cmp");
    let d = dir.to_str().unwrap();
    ok(&[
        "compare",
        "scenarios/default.ron",
        "--policy",
        "none",
        "--policy",
        "oracle-myopic",
        "--policy",
        "fixed:coupon20",
        "--customers",
        "2000",
        "--set",
        "horizon=26",
        "--out",
        d,
        "--quiet",
    ]);
    let o = clv(&["report", d]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = check_report(
        &dir,
        &[
            "policy_comparison",
            "actions_by_segment",
            "actions_over_time",
            "outcomes_over_time",
        ],
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("comparison.json")).unwrap())
            .unwrap();
    // The headline ranks deployable policies: oracle-myopic reads hidden traits.
    let best = doc["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["policy"].as_str().unwrap().starts_with("oracle-"))
        .max_by(|a, b| {
            a["clv_mean"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["clv_mean"].as_f64().unwrap())
        })
        .unwrap();
    let name = best["policy"].as_str().unwrap();
    let result = md.split("## Result").nth(1).expect("a Result section");
    assert!(
        result
            .trim_start()
            .starts_with("Policies named `oracle-*` read hidden traits"),
        "{result}"
    );
    let headline = result
        .lines()
        .find(|l| l.starts_with("**"))
        .expect("a headline");
    assert!(
        headline.starts_with(&format!("**`{name}`"))
            || headline.contains(&format!("`{name}` wins")),
        "headline does not name {name}: {headline}"
    );
    assert!(
        headline.contains(&format!("${:.2}", best["clv_mean"].as_f64().unwrap())),
        "{headline}"
    );
    assert!(headline.contains("95% CI"), "{headline}");
    assert!(md.contains("unadjusted for multiple comparisons"));
    assert!(md.contains("## By value segment") && md.contains("gains most"));
    check_story(&md, name, &doc);
    check_csv_intervals(&dir);
    // The title option, and a rerun replaces the files without leaving temporaries.
    ok(&["report", d, "--title", "Offer test Q3"]);
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.starts_with("# Offer test Q3\n"), "{md}");
    for e in std::fs::read_dir(dir.join("plots")).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.starts_with('.'), "temporary file left: {n}");
    }
}

/// The label of a policy that reads hidden traits.
const NOT_DEPLOYABLE: &str = "reference, not deployable (reads hidden traits)";

/// The report of a comparison with `oracle-myopic` opens with the decision, which names the
/// best deployable policy (never the oracle); the oracle is labelled wherever it appears; every
/// table and plot says which customers it is on; ROMS is defined.
fn check_story(md: &str, best: &str, doc: &serde_json::Value) {
    let mut sections = md.split("\n## ");
    let first = sections.nth(1).expect("a section after the title");
    assert!(first.starts_with("Decision\n"), "{md}");
    let decision_line = first
        .lines()
        .find(|l| l.contains("Best deployable policy"))
        .expect("the best deployable policy");
    assert!(
        decision_line.contains(&format!("`{best}`")) && !decision_line.contains("oracle"),
        "{decision_line}"
    );
    assert!(decision_line.contains("paired 95% CI"), "{decision_line}");
    // Every mention of the oracle in a table row or in the decision carries the label.
    for l in md.lines().filter(|l| l.contains("`oracle-myopic`")) {
        if l.starts_with('|') || l.starts_with("- ") {
            assert!(l.contains(NOT_DEPLOYABLE), "unlabelled: {l}");
        }
    }
    // Every table and plot section names its customers.
    let customers = format!(
        "test customers (seed domain `test`, seeds [0], {} customers)",
        2000
    );
    for heading in md
        .lines()
        .filter(|l| l.starts_with("## ") || l.starts_with("### "))
    {
        if ["## Policies", "## By value segment", "## Plots"]
            .iter()
            .any(|h| heading.starts_with(h))
        {
            assert!(heading.contains(&customers), "{heading}");
        }
    }
    for caption in md.split("\n### ").skip(1) {
        let text = caption.split("\n\n").nth(1).unwrap_or("");
        assert!(
            text.contains(&customers),
            "plot caption without customers: {text}"
        );
    }
    assert!(md.contains("ROMS (return on marketing spend) = incremental discounted gross margin"));
    assert_eq!(doc["schema_version"], 2);
    assert!(
        doc["decision"]["best"].as_str() == Some(best),
        "{}",
        doc["decision"]
    );
}

/// comparison.csv keeps its columns and appends the paired intervals and the ROMS flag.
fn check_csv_intervals(dir: &Path) {
    let csv = std::fs::read_to_string(dir.join("comparison.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header[20], "return_on_marketing_spend");
    assert_eq!(header[21], "discount_on_baseline_share");
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (flag, lo, hi, gain_lo, gain_hi) = (
        col("roms_not_distinguishable_from_none"),
        col("roms_ci95_lo"),
        col("roms_ci95_hi"),
        col("clv_gain_ci95_lo"),
        col("clv_gain_ci95_hi"),
    );
    let mut with_roms = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), header.len(), "{line}");
        if f[flag].is_empty() {
            continue;
        }
        with_roms += 1;
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        assert!(num(lo) <= num(hi), "{line}");
        let includes_zero = num(gain_lo) <= 0.0 && num(gain_hi) >= 0.0;
        assert_eq!(f[flag], includes_zero.to_string(), "{line}");
    }
    assert!(with_roms >= 2, "{csv}");
}

/// Writes a training run directory like `clv train`'s: metrics.csv (the fields of
/// `MetricsRow`, empty cells for none) and, if `finished`, summary.json.
fn write_run(dir: &Path, seed: u64, agent: &str, finished: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut csv = String::from(
        "env_steps,updates,episodes,train_return_mean,loss,q_mean,grad_norm,epsilon,valid_return_mean,valid_return_std,wall_seconds\n",
    );
    for k in 1..=20u64 {
        let steps = k * 500;
        let ret = 20.0 + 8.0 * k as f64 + seed as f64 * 3.0;
        let loss = if k == 1 {
            String::new()
        } else {
            format!("{}", 0.5 / k as f64)
        };
        let valid = if k % 4 == 0 {
            (format!("{}", ret + 15.0), "12.5".to_string())
        } else {
            (String::new(), String::new())
        };
        csv.push_str(&format!(
            "{steps},{},{},{ret},{loss},,,{},{},{},{}\n",
            k * 100,
            k * 10,
            1.0 - 0.04 * k as f64,
            valid.0,
            valid.1,
            0.5 * k as f64
        ));
    }
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    if finished {
        let summary = serde_json::json!({
            "env": "cartpole", "scenario": null, "agent": agent, "seed": seed,
            "env_steps": 10000, "updates": 2000, "stop": "EnvSteps",
            "wall_seconds": 10.0, "eval_checkpoint": "best", "eval_episodes": 100,
            "eval_return_mean": 187.25 + seed as f64, "eval_return_std": 20.5,
            "best_valid_return_mean": 195.0, "best_valid_env_steps": 10000,
            "last_eval_return_mean": 180.0, "last_eval_return_std": 25.0,
        });
        std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    }
}

#[test]
fn report_of_training_runs_single_and_across_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let seeds = tmp.path().join("seeds");
    for s in 0..3 {
        write_run(&seeds.join(format!("seed{s}")), s, "dqn", s < 2);
    }
    // One run.
    let one = seeds.join("seed0");
    ok(&["report", one.to_str().unwrap()]);
    let md = check_report(&one, &["training_curves"]);
    assert!(md.contains("10000 environment steps"), "{md}");
    assert!(md.contains("187.25"), "{md}");
    assert!(md.contains("[metrics.csv](metrics.csv)"));
    // An unfinished run still reports its curves.
    let unfinished = seeds.join("seed2");
    ok(&["report", unfinished.to_str().unwrap()]);
    let md = check_report(&unfinished, &["training_curves"]);
    assert!(md.contains("No summary.json"), "{md}");
    // The folder of runs: the spread across seeds.
    ok(&["report", seeds.to_str().unwrap()]);
    let md = check_report(&seeds, &["training_curves"]);
    assert!(md.contains("3 runs"), "{md}");
    assert!(md.contains("across 2 finished runs: mean 187.75"), "{md}");
    // Runs of different agents are not pooled.
    write_run(&seeds.join("other"), 9, "ddpg", true);
    let err = fails(&["report", seeds.to_str().unwrap()]);
    assert!(err.contains("differ in agent"), "{err}");
}

#[test]
fn report_of_a_scenario_run_opens_with_the_decision_and_names_its_customers() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("dqn-seed3");
    write_run(&run, 3, "dqn", false);
    let summary = serde_json::json!({
        "env": "default", "scenario": "scenarios/default.ron", "agent": "dqn", "seed": 3,
        "env_steps": 10000, "updates": 2000, "stop": "EnvSteps",
        "wall_seconds": 10.0, "eval_checkpoint": "best", "eval_episodes": 1000,
        "eval_return_mean": 28.25, "eval_return_std": 120.0,
        "last_eval_return_mean": 28.0, "last_eval_return_std": 120.0,
        "eval_clv_mean": 28.25, "eval_clv_ci95": [20.0, 36.5], "eval_customers": 1000,
        "incumbent": "rfm-winback:4:recommend",
        "eval_vs_incumbent": {"mean": 0.12, "ci95": [-0.05, 0.29]},
        "best_baseline": {"policy": "rfm-winback:4:recommend", "return_mean": 31.31,
                          "customers": 4000, "seed": 3},
    });
    std::fs::write(run.join("summary.json"), summary.to_string()).unwrap();
    ok(&["report", run.to_str().unwrap()]);
    let md = check_report(&run, &["training_curves"]);
    let decision = md.split("\n## ").nth(1).unwrap();
    assert!(decision.starts_with("Decision\n"), "{md}");
    assert!(
        decision.contains("test customers** (seed domain `test`, seed 3, 1000 customers)"),
        "{decision}"
    );
    assert!(decision.contains("$28.25"), "{decision}");
    assert!(
        decision.contains("`rfm-winback:4:recommend`")
            && decision.contains("+$0.12 per customer (paired 95% CI -$0.05 to +$0.29)")
            && decision.contains("no difference shown"),
        "{decision}"
    );
    // The reference line says it is on validation customers, which ones.
    let line = md
        .lines()
        .find(|l| l.starts_with("Reference line"))
        .expect("a reference line");
    assert!(
        line.contains("$31.31")
            && line.contains("**validation customers**")
            && line.contains("validation seed 3, 4000 customers"),
        "{line}"
    );
    assert!(
        md.contains("over the run's 1000 test customers (test seed 3)"),
        "{md}"
    );
}

#[test]
fn bad_directories_fail_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = fails(&["report", missing.to_str().unwrap()]);
    assert!(err.contains("does not exist"), "{err}");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = fails(&["report", empty.to_str().unwrap()]);
    assert!(
        err.contains("expected comparison.json") && err.contains("metrics.csv"),
        "{err}"
    );
    assert!(!empty.join("report.md").exists());
    // A comparison without its series.
    std::fs::write(empty.join("comparison.json"), "{}").unwrap();
    let err = fails(&["report", empty.to_str().unwrap()]);
    assert!(err.contains("comparison.json"), "{err}");
    assert!(!empty.join("report.md").exists());
}

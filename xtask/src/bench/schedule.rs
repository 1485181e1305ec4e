//! The schedule rows: `cargo bench -p autostop-schedule` (ours against croner), read back from its JSON.

use std::process::Command;

use anyhow::{Context as _, bail};
use serde_json::Value;

use super::{Harness, ScenarioResult};

/// Runs `cargo bench -p autostop-schedule` (ours against croner in the same run) and turns each row of the
/// `target/bench/schedule.json` it writes into a result; nothing when the crate has no benchmark.
pub(super) fn schedule(paths: &Harness) -> anyhow::Result<Vec<ScenarioResult>> {
    let benches = paths.root.join("crates").join("schedule").join("benches");
    if !benches.is_dir() {
        eprintln!("bench: schedule: {} does not exist; skipped", benches.display());
        return Ok(Vec::new());
    }
    eprintln!("bench: schedule: cargo bench -p autostop-schedule");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let stdout = paths.out.join("schedule.stdout");
    let file = std::fs::File::create(&stdout).with_context(|| format!("cannot create {}", stdout.display()))?;
    let status = Command::new(cargo)
        .args(["bench", "-p", "autostop-schedule"])
        .current_dir(&paths.root)
        .env("CARGO_TARGET_DIR", paths.out.parent().unwrap_or(&paths.out))
        .stdout(file)
        .status()
        .context("cannot run cargo bench")?;
    if !status.success() {
        bail!("cargo bench -p autostop-schedule failed: {status}; see {}", stdout.display());
    }
    let json_path = paths.out.join("schedule.json");
    let text = std::fs::read_to_string(&json_path).with_context(|| format!("cannot read {}", json_path.display()))?;
    let report: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", json_path.display()))?;
    let rows =
        report["results"].as_array().with_context(|| format!("{} has no \"results\" array", json_path.display()))?;
    rows.iter()
        .map(|row| {
            let number = |key: &str| row[key].as_f64().with_context(|| format!("schedule result without {key}: {row}"));
            let (ours, croner) = (number("ours_ns")? / 1e9, number("croner_ns")? / 1e9);
            let disagreements = row["disagreements"].as_u64().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
            let items = row["items"].as_u64().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
            Ok(ScenarioResult {
                name: format!("schedule: {}", row["name"].as_str().unwrap_or("?")),
                autostop_s: ours,
                baseline_s: Some(croner),
                bound_s: None,
                ratio: croner / ours.max(1e-12),
                target: "same occurrences as croner (ratio: croner time / ours)".to_owned(),
                met: disagreements == 0,
                failed: disagreements,
                failed_verified: None,
                throttled: 0,
                peak_rss_mib: None,
                baseline_peak_rss_mib: None,
                autostop_cpu_s: None,
                emulator_cpu_s: None,
                baseline_failed: None,
                instances: 0,
                running: 0,
                requests: 0,
                baseline_requests: None,
                p50_ms: None,
                p95_ms: None,
                notes: vec![format!(
                    "{items} items, best of the benchmark's rounds; failed counts occurrences where ours and croner disagree"
                )],
            })
        })
        .collect()
}

//! The list scenario: `autostop list` on 40,000 instances, JSON and table, for its memory.

use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use super::fleets::{all_subscriptions, fleet_options, fleet_shape};
use super::{Harness, ScenarioResult, cpu_note, run_measured, write_fleet};
use crate::bound::{Buckets, Conditions, list_bound};
use crate::emulator::Emulator;
use crate::fleet::Shape;

/// Peak RSS `autostop list` must stay under at 40,000 instances, MiB.
const LIST_RSS_LIMIT_MIB: f64 = 64.0;

/// `autostop list` on 40 subscriptions x 10 workspaces x 100 instances under the fleet conditions, once with
/// `--output json` (every row, checked) and once with the default table (a summary at this size): peak RSS under
/// [`LIST_RSS_LIMIT_MIB`] each.
pub(super) fn list_scenario(paths: &Harness) -> anyhow::Result<Vec<ScenarioResult>> {
    let shape = fleet_shape(40);
    let fleet_file = write_fleet(paths, "list", &shape)?;
    ["json", "table"].into_iter().map(|format| list_run(paths, &shape, &fleet_file, format)).collect()
}

/// One `autostop list --output FORMAT` run of the list scenario.
fn list_run(paths: &Harness, shape: &Shape, fleet_file: &Path, format: &str) -> anyhow::Result<ScenarioResult> {
    let name = format!("list {format}");
    let label = format!("list-{format}");
    let options = fleet_options();
    eprintln!("bench: {name}: autostop list --output {format} on {} instances", shape.instances());
    let emulator =
        Emulator::start(&paths.autostop, fleet_file, &options, &paths.out.join(format!("{label}.emulator.log")))?;
    let mut args = vec!["list".to_owned(), "--output".to_owned(), format.to_owned()];
    args.extend(all_subscriptions(shape));
    let measured = run_measured(paths, &emulator, &args, &label)?;
    let report = emulator.stop()?;
    let stdout = paths.out.join(format!("{label}.stdout"));
    let text = std::fs::read_to_string(&stdout).with_context(|| format!("cannot read {}", stdout.display()))?;
    // JSON: every compute must be a row; table: the summary must account for every compute.
    let shown = if format == "json" {
        let rows: Vec<Value> = serde_json::from_str(&text)
            .with_context(|| format!("autostop list did not print a JSON array; see {}", stdout.display()))?;
        rows.iter().filter(|row| row.get("result").is_none()).count()
    } else {
        summary_total(&text).with_context(|| format!("no `N computes` summary line in {}", stdout.display()))?
    };
    let conditions = Conditions {
        buckets: Buckets::default(),
        latency: options.latency,
        operation: options.transition,
        page_size: options.page_size,
    };
    let bound = list_bound(shape, &conditions);
    let autostop_s = measured.wall.as_secs_f64();
    let peak_rss_mib = measured.peak_rss_mib();
    let missing = shape.instances().saturating_sub(shown);
    let mut notes = vec![
        format!("bound (for information; the target is memory): {}", bound.explanation),
        format!(
            "autostop list --output {format}: {autostop_s:.2} s (exit {:?}), {shown} of {} computes shown, {} \
             requests served ({} answered 429), {} bytes printed",
            measured.exit_code,
            shape.instances(),
            report.requests.total,
            report.requests.throttled,
            text.len()
        ),
        cpu_note(&measured, &report),
    ];
    if peak_rss_mib >= LIST_RSS_LIMIT_MIB {
        notes.push(format!(
            "target missed: peak RSS {peak_rss_mib:.1} MiB is {:.1} MiB over {LIST_RSS_LIMIT_MIB} MiB",
            peak_rss_mib - LIST_RSS_LIMIT_MIB
        ));
    }
    if missing > 0 || measured.exit_code != Some(0) {
        notes.push(format!("target missed: {missing} computes missing, exit {:?}", measured.exit_code));
    }
    Ok(ScenarioResult {
        name,
        autostop_s,
        baseline_s: None,
        bound_s: Some(bound.seconds),
        ratio: autostop_s / bound.seconds,
        target: format!("every compute shown, peak RSS < {LIST_RSS_LIMIT_MIB} MiB"),
        met: missing == 0 && measured.exit_code == Some(0) && peak_rss_mib < LIST_RSS_LIMIT_MIB,
        failed: missing,
        failed_verified: None,
        throttled: report.requests.throttled,
        peak_rss_mib: Some(peak_rss_mib),
        baseline_peak_rss_mib: None,
        autostop_cpu_s: Some(measured.cpu.as_secs_f64()),
        emulator_cpu_s: Some(report.cpu_s),
        baseline_failed: None,
        instances: shape.instances(),
        running: 0,
        requests: report.requests.total,
        baseline_requests: None,
        p50_ms: None,
        p95_ms: None,
        notes,
    })
}
/// The total of `autostop list`'s table summary: the number before ` computes` on its `N computes ...` line.
fn summary_total(text: &str) -> Option<usize> {
    text.lines().find_map(|line| line.trim().split_once(" computes").and_then(|(n, _)| n.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_summary_total_is_read() {
        assert_eq!(summary_total("40000 computes in 400 workspaces\n  Running 24000\n"), Some(40000));
        assert_eq!(summary_total("NAME  WORKSPACE\nrun-1 ml-rg/ws-a\n"), None);
    }
}

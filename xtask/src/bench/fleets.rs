//! The scenarios that stop a synthetic fleet under ARM's buckets and hold the run to the bound: `fleet`,
//! `fleet-100k`, `run`, `run-100k` and `mixed`.

use std::time::{Duration, SystemTime};

use anyhow::Context as _;

use super::{
    AutostopRun, Harness, ScenarioResult, Verb, audit_note, cpu_note, not_stopped, run_autostop, run_verb,
    verification_note, write_fleet,
};
use crate::bound::{Buckets, Conditions, fleet_bound, mixed_bound};
use crate::emulator::{Emulator, EmulatorOptions, EmulatorReport};
use crate::fleet::{self, Shape};

/// A `stop --all --wait` scenario on a synthetic fleet under ARM's buckets, and its targets.
struct StopFleet {
    name: &'static str,
    shape: Shape,
    /// Within this factor of the bound.
    factor: f64,
    /// Peak RSS under this, MiB.
    rss_limit_mib: f64,
}

/// 10 subscriptions x 10 workspaces x 100 instances: within 1.05x of the bound, no 429, under 30 MiB.
pub(super) fn fleet_scenario(paths: &Harness) -> anyhow::Result<ScenarioResult> {
    let shape = fleet_shape(10);
    stop_fleet(paths, &StopFleet { name: "fleet", shape, factor: 1.05, rss_limit_mib: 30.0 })
}

/// 100 subscriptions x 10 workspaces x 100 instances: within 1.1x of the bound, under 100 MiB.
pub(super) fn fleet_100k_scenario(paths: &Harness) -> anyhow::Result<ScenarioResult> {
    let shape = fleet_shape(100);
    stop_fleet(paths, &StopFleet { name: "fleet-100k", shape, factor: 1.1, rss_limit_mib: 100.0 })
}

/// The fleet of `subscriptions` x 10 x 100 instances stopped by `autostop run` with a daily stop rule whose
/// occurrence was a minute ago (inside the first run's catch-up): the engine's whole evaluation (window,
/// confirmation of open claims, plan, claims, acting, following) rather than the ad-hoc verb. Held to the ratio
/// of the fleet of the same size and to [`RUN_MEMORY_LIMIT_MIB`]: half of it at 10,000 instances, all of it at
/// 100,000.
pub(super) fn run_scenario(paths: &Harness, subscriptions: usize) -> anyhow::Result<ScenarioResult> {
    let shape = fleet_shape(subscriptions);
    let (name, factor, rss_limit_mib) = if subscriptions == 10 {
        ("run", 1.05, RUN_MEMORY_LIMIT_MIB / 2.0)
    } else {
        ("run-100k", 1.1, RUN_MEMORY_LIMIT_MIB)
    };
    let config = paths.out.join(format!("{name}-autostop.toml"));
    std::fs::write(&config, run_config(&shape, SystemTime::now()))
        .with_context(|| format!("cannot write {}", config.display()))?;
    let verb = Verb::Run { config: &config };
    stop_fleet_with(paths, &StopFleet { name, shape, factor, rss_limit_mib }, &verb)
}

/// A small container's memory limit, MiB: what the Kubernetes manifests in `deploy/kubernetes` gave `autostop run`
/// before these scenarios measured it (they now give 256 MiB, because the scheduled path does not fit 128 at
/// 100,000 instances). A scheduled run holds one evaluation's inventory, plan and outcomes (the ad-hoc `stop`
/// streams them, hence the fleet's 30 MiB).
const RUN_MEMORY_LIMIT_MIB: f64 = 128.0;

/// The run scenario's configuration: every subscription of `shape`, a daily stop at the minute before `now` (UTC)
/// and a catch-up of an hour, so that the first run of a fresh state finds exactly one occurrence due.
fn run_config(shape: &Shape, now: SystemTime) -> String {
    let seconds = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_secs()).saturating_sub(60);
    let (hour, minute) = ((seconds / 3600) % 24, (seconds / 60) % 60);
    let mut config = "[defaults]\ntimezone = \"UTC\"\ncatch_up = \"1h\"\n".to_owned();
    for subscription in 0..shape.subscriptions {
        config += &format!("\n[[scopes]]\nsubscription = \"{}\"\n", fleet::subscription_id(subscription));
    }
    config + &format!("\n[[rules]]\nname = \"daily-stop\"\naction = \"stop\"\nschedule = \"0 {minute} {hour} * * *\"\n")
}

/// `subscriptions` x 10 workspaces x 100 instances, 60 of each workspace's `Running`.
pub(super) fn fleet_shape(subscriptions: usize) -> Shape {
    Shape { subscriptions, workspaces_per_subscription: 10, instances_per_workspace: 100, running_per_workspace: 60 }
}

/// The fleet conditions: 20 ms latency on every request, ARM's buckets on.
pub(super) fn fleet_options() -> EmulatorOptions {
    EmulatorOptions { latency: Duration::from_millis(20), throttle: true, ..EmulatorOptions::default() }
}

/// Every subscription of `shape`, comma-separated, after `--subscription`.
pub(super) fn all_subscriptions(shape: &Shape) -> Vec<String> {
    let subscriptions = (0..shape.subscriptions).map(fleet::subscription_id).collect::<Vec<_>>().join(",");
    vec!["--subscription".to_owned(), subscriptions]
}

/// Runs `autostop stop --all --wait` on `spec`'s fleet and holds it against the bound and the targets: the
/// ratio, nothing failed (by autostop's report and by the emulator's final states), no 429, the memory.
fn stop_fleet(paths: &Harness, spec: &StopFleet) -> anyhow::Result<ScenarioResult> {
    let scope = all_subscriptions(&spec.shape);
    stop_fleet_with(paths, spec, &Verb::Stop { scope: &scope })
}

/// [`stop_fleet`] with the fleet stopped by `verb`.
fn stop_fleet_with(paths: &Harness, spec: &StopFleet, verb: &Verb<'_>) -> anyhow::Result<ScenarioResult> {
    let StopFleet { name, shape, factor, rss_limit_mib } = *spec;
    let fleet_file = write_fleet(paths, name, &shape)?;
    let options = fleet_options();

    eprintln!("bench: {name}: {} on {} instances (20 ms latency, ARM buckets on)", verb.describe(), shape.instances());
    let emulator =
        Emulator::start(&paths.autostop, &fleet_file, &options, &paths.out.join(format!("{name}.emulator.log")))?;
    let ours = run_verb(paths, &emulator, verb, &format!("{name}-autostop"))?;
    let report = emulator.stop()?;
    let requests = report.requests;

    let conditions = Conditions {
        buckets: Buckets::default(),
        latency: options.latency,
        operation: options.transition,
        page_size: options.page_size,
    };
    let bound = fleet_bound(&shape, &conditions);
    let running = shape.subscriptions * shape.running_per_subscription();
    let autostop_s = ours.measured.wall.as_secs_f64();
    let ratio = autostop_s / bound.seconds;
    let failed = running.saturating_sub(ours.succeeded);
    let failed_verified = not_stopped(&shape, &report);
    let minimum = shape.subscriptions * (bound.reads_per_subscription + bound.writes_per_subscription);
    let mut notes = vec![
        format!("bound: {}", bound.explanation),
        format!(
            "autostop {autostop_s:.2} s (exit {:?}) = {ratio:.3}x the bound; it made {} requests ({} stop POSTs, \
             {} operation polls, {} answered 429) where the bound counts {minimum} (+1 token request)",
            ours.measured.exit_code, requests.total, requests.actions, requests.polls, requests.throttled
        ),
        verification_note(failed, failed_verified, &report),
        cpu_note(&ours.measured, &report),
        audit_note(paths, &format!("{name}-autostop")),
    ];
    let allowed = shape.subscriptions as f64 * conditions.buckets.write_refill_per_s;
    let pace = requests.actions as f64 / requests.action_span_s.max(1e-9);
    notes.push(format!(
        "stop POSTs went out over {:.1} s, {pace:.1}/s on average; the buckets allow {allowed:.0}/s across the \
         {} subscriptions after a burst of {:.0} each{}",
        requests.action_span_s,
        shape.subscriptions,
        conditions.buckets.write_burst,
        if requests.throttled == 0 { " (no 429 at all)" } else { "" }
    ));
    if ratio > factor {
        notes.push(format!(
            "target missed: {ratio:.3}x is {:.3}x over {factor}x ({:.2} s over {:.2} s); beyond the bound's minimum \
             autostop made {} more requests and received {} 429s",
            ratio - factor,
            autostop_s - factor * bound.seconds,
            factor * bound.seconds,
            requests.total.saturating_sub(minimum + 1),
            requests.throttled
        ));
    }
    let measured = StopMeasured {
        name,
        ours: &ours,
        report: &report,
        bound_s: bound.seconds,
        instances: shape.instances(),
        running,
        failed_verified,
    };
    Ok(judged(&measured, (factor, rss_limit_mib), notes))
}

/// What one `stop --all --wait` scenario measured, for [`judged`].
struct StopMeasured<'a> {
    name: &'a str,
    ours: &'a AutostopRun,
    report: &'a EmulatorReport,
    /// The scenario's bound, seconds.
    bound_s: f64,
    /// Targets in the fleet.
    instances: usize,
    /// Of them, those running, which autostop must stop.
    running: usize,
    /// Compute instances the emulator did not end `Stopped`.
    failed_verified: usize,
}

/// Holds `measured` against its targets: at most `factor` x the bound, nothing failed
/// (by autostop's report and by the emulator's final states), no 429, peak RSS under `rss_limit_mib`. Adds a
/// note for each target missed but the ratio (whose explanation is the scenario's own) to `notes`.
fn judged(measured: &StopMeasured<'_>, (factor, rss_limit_mib): (f64, f64), mut notes: Vec<String>) -> ScenarioResult {
    let StopMeasured { name, ours, report, bound_s, instances, running, failed_verified } = *measured;
    let autostop_s = ours.measured.wall.as_secs_f64();
    let ratio = autostop_s / bound_s;
    let failed = running.saturating_sub(ours.succeeded);
    let peak_rss_mib = ours.measured.peak_rss_mib();
    let throttled = report.requests.throttled;
    if failed > 0 || failed_verified > 0 {
        notes.push(format!(
            "target missed: {failed} of {running} targets not confirmed stopped by autostop ({} reported failed), \
             {failed_verified} not Stopped in the emulator; see {name}-autostop.stdout",
            ours.failed_rows
        ));
    }
    if throttled > 0 {
        notes.push(format!("target missed: {throttled} requests answered 429 (target 0)"));
    }
    if peak_rss_mib >= rss_limit_mib {
        notes.push(format!(
            "target missed: peak RSS {peak_rss_mib:.1} MiB is {:.1} MiB over {rss_limit_mib} MiB",
            peak_rss_mib - rss_limit_mib
        ));
    }
    ScenarioResult {
        name: name.to_owned(),
        autostop_s,
        baseline_s: None,
        bound_s: Some(bound_s),
        ratio,
        target: format!("<= {factor}x the bound, 0 failed, 0 429s, peak RSS < {rss_limit_mib} MiB"),
        met: ratio <= factor && failed == 0 && failed_verified == 0 && throttled == 0 && peak_rss_mib < rss_limit_mib,
        failed,
        failed_verified: Some(failed_verified),
        throttled,
        peak_rss_mib: Some(peak_rss_mib),
        baseline_peak_rss_mib: None,
        autostop_cpu_s: Some(ours.measured.cpu.as_secs_f64()),
        emulator_cpu_s: Some(report.cpu_s),
        baseline_failed: None,
        instances,
        running,
        requests: report.requests.total,
        baseline_requests: None,
        p50_ms: None,
        p95_ms: None,
        notes,
    }
}

/// VMs per subscription in the mixed scenario, and how many of them run.
const MIXED_VMS: (usize, usize) = (500, 300);

/// Peak RSS the mixed scenario must stay under, MiB (the instance fleet's target).
const MIXED_RSS_LIMIT_MIB: f64 = 30.0;

/// How far over its bound the mixed scenario may be (the instance fleet's target).
const MIXED_FACTOR: f64 = 1.05;

/// autostop stops every running compute instance and VM of a mixed fleet (10 subscriptions, 5,000 instances,
/// 5,000 VMs) in one `stop --kind compute-instance --kind vm` run, held to the instance fleet's targets against
/// its own bound ([`mixed_bound`]): within 1.05x, nothing failed, no 429, peak RSS under 30 MiB.
pub(super) fn mixed_scenario(paths: &Harness) -> anyhow::Result<ScenarioResult> {
    let shape = Shape { workspaces_per_subscription: 5, ..fleet_shape(10) };
    let (vms, running_vms) = MIXED_VMS;
    let path = paths.out.join("mixed-fleet.json");
    let text = serde_json::to_string(&fleet::mixed_fleet_json(&shape, vms, running_vms))
        .context("cannot serialize the fleet")?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    let options = fleet_options();
    let mut scope = all_subscriptions(&shape);
    scope.extend(["--kind", "compute-instance", "--kind", "vm"].map(str::to_owned));
    let targets = shape.instances() + shape.subscriptions * vms;
    eprintln!("bench: mixed: autostop stop --all --wait on {targets} instances and VMs (20 ms latency, buckets on)");
    let emulator = Emulator::start(&paths.autostop, &path, &options, &paths.out.join("mixed.emulator.log"))?;
    let ours = run_autostop(paths, &emulator, &scope, "mixed-autostop")?;
    let report = emulator.stop()?;
    let requests = report.requests;
    let running = shape.subscriptions * (shape.running_per_subscription() + running_vms);
    let failed = running.saturating_sub(ours.succeeded);
    // The emulator's state counts are of its Azure ML computes; the VMs rest on autostop's report.
    let failed_verified = not_stopped(&shape, &report);
    let autostop_s = ours.measured.wall.as_secs_f64();
    let conditions = Conditions {
        buckets: Buckets::default(),
        latency: options.latency,
        operation: options.transition,
        page_size: options.page_size,
    };
    let bound = mixed_bound(&shape, vms, running_vms, &conditions);
    let ratio = autostop_s / bound.seconds;
    let mut notes = vec![
        format!("bound: {}", bound.explanation),
        format!(
            "autostop {autostop_s:.2} s (exit {:?}) = {ratio:.3}x the bound; {} requests ({} POSTs, {} polls, {} \
             answered 429)",
            ours.measured.exit_code, requests.total, requests.actions, requests.polls, requests.throttled
        ),
        verification_note(failed, failed_verified, &report),
        "the emulator's final states count its compute instances only; the VMs rest on autostop's report".to_owned(),
        cpu_note(&ours.measured, &report),
    ];
    if ratio > MIXED_FACTOR {
        notes.push(format!(
            "target missed: {ratio:.3}x is over {MIXED_FACTOR}x ({autostop_s:.2} s over {:.2} s)",
            MIXED_FACTOR * bound.seconds
        ));
    }
    let measured = StopMeasured {
        name: "mixed",
        ours: &ours,
        report: &report,
        bound_s: bound.seconds,
        instances: targets,
        running,
        failed_verified,
    };
    Ok(judged(&measured, (MIXED_FACTOR, MIXED_RSS_LIMIT_MIB), notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_config_has_every_subscription_and_a_stop_the_minute_before() {
        // 2025-11-30T00:00:30Z: the minute before is 23:59 of the day before.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_460_830);
        let config = run_config(&fleet_shape(3), now);
        assert_eq!(config.matches("[[scopes]]").count(), 3, "{config}");
        assert!(config.contains(&format!("subscription = \"{}\"", fleet::subscription_id(2))), "{config}");
        assert!(config.contains("schedule = \"0 59 23 * * *\""), "{config}");
        assert!(config.contains("catch_up = \"1h\""), "{config}");
    }
}

//! The recipe scenario: autostop against the original recipe's Python code (azureml-core) on the same fleet.

use anyhow::{Context as _, bail};
use serde_json::Value;

use super::{Harness, ScenarioResult, base_env, cpu_note, not_stopped, run_autostop, verification_note, write_fleet};
use crate::emulator::{Emulator, EmulatorOptions};
use crate::fleet::{self, Shape};
use crate::measure::{self, Measured};
use crate::python;

/// The recipe scenario's target: autostop at least this many times faster.
const RECIPE_SPEEDUP: f64 = 20.0;
/// The token scope both sides ask for (ARM's).
const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// The cloud the emulator's metadata document names (`crates/emulator/src/azureml_sdk.rs`).
const EMULATOR_CLOUD: &str = "AutostopEmulator";

/// What the Python recipe printed about one run.
struct RecipeRun {
    measured: Measured,
    stopped: usize,
}

fn run_recipe(paths: &Harness, emulator: &Emulator, venv: &python::Venv, shape: &Shape) -> anyhow::Result<RecipeRun> {
    let label = "recipe-python";
    let mut env = base_env(&paths.out, label)?;
    env.extend(emulator.client_env());
    env.extend([
        (
            "ARM_CLOUD_METADATA_URL".to_owned(),
            format!("{}/metadata/endpoints?api-version=2019-05-01", emulator.base_url()),
        ),
        ("REQUESTS_CA_BUNDLE".to_owned(), emulator.ca_path().display().to_string()),
        ("BENCH_CLOUD".to_owned(), EMULATOR_CLOUD.to_owned()),
        ("BENCH_SCOPE".to_owned(), ARM_SCOPE.to_owned()),
        ("BENCH_SUBSCRIPTION".to_owned(), fleet::subscription_id(0)),
        ("BENCH_RESOURCE_GROUP".to_owned(), fleet::resource_group(0)),
        ("BENCH_WORKSPACE".to_owned(), fleet::workspace_name(0, 0)),
    ]);
    let script = paths.root.join("bench").join("recipe.py").display().to_string();
    let stdout = paths.out.join(format!("{label}.stdout"));
    let stderr = paths.out.join(format!("{label}.stderr"));
    let measured = measure::run(&venv.python, &[script], &env, &stdout, &stderr)?;
    let text = std::fs::read_to_string(&stdout).with_context(|| format!("cannot read {}", stdout.display()))?;
    let summary: Value = text.lines().last().and_then(|line| serde_json::from_str(line).ok()).with_context(|| {
        format!("the Python recipe printed no summary (exit {:?}); see {}", measured.exit_code, stderr.display())
    })?;
    let stopped = summary["stopped"].as_u64().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    if stopped > shape.running_per_subscription() {
        bail!(
            "the Python recipe says it stopped {stopped} instances; only {} were running",
            shape.running_per_subscription()
        );
    }
    Ok(RecipeRun { measured, stopped })
}

pub(super) fn recipe(paths: &Harness) -> anyhow::Result<ScenarioResult> {
    let shape = Shape {
        subscriptions: 1,
        workspaces_per_subscription: 1,
        instances_per_workspace: 20,
        running_per_workspace: 10,
    };
    let fleet_file = write_fleet(paths, "recipe", &shape)?;
    let venv = python::ensure(&paths.out.join("venv"), &paths.root.join("bench").join("requirements.txt"))?;
    let options = EmulatorOptions::default();
    let scope = vec![
        "--subscription".to_owned(),
        fleet::subscription_id(0),
        "--workspace".to_owned(),
        fleet::workspace_name(0, 0),
    ];

    eprintln!("bench: recipe: autostop stop --all --wait on {} instances", shape.instances());
    let emulator =
        Emulator::start(&paths.autostop, &fleet_file, &options, &paths.out.join("recipe-autostop.emulator.log"))?;
    let ours = run_autostop(paths, &emulator, &scope, "recipe-autostop")?;
    let ours_report = emulator.stop()?;
    let ours_requests = ours_report.requests;

    eprintln!("bench: recipe: the Python recipe (azureml-core) on the same fleet; it polls every 5 s, so ~1 minute");
    let emulator =
        Emulator::start(&paths.autostop, &fleet_file, &options, &paths.out.join("recipe-python.emulator.log"))?;
    let theirs = run_recipe(paths, &emulator, &venv, &shape)?;
    let their_report = emulator.stop()?;
    let their_requests = their_report.requests;

    let running = shape.running_per_subscription();
    let autostop_s = ours.measured.wall.as_secs_f64();
    let baseline_s = theirs.measured.wall.as_secs_f64();
    let ratio = baseline_s / autostop_s;
    let failed = running.saturating_sub(ours.succeeded);
    let failed_verified = not_stopped(&shape, &ours_report);
    let transition = options.transition.as_secs_f64();
    // The Python side cannot finish before its fixed sleeps; autostop cannot finish before one transition.
    let python_floor = running as f64 * 5.0;
    let mut notes = vec![
        format!(
            "autostop {autostop_s:.2} s (exit {:?}), Python recipe {baseline_s:.2} s (exit {:?}): {ratio:.1}x faster; \
             requests served: autostop {}, Python {}",
            ours.measured.exit_code, theirs.measured.exit_code, ours_requests.total, their_requests.total
        ),
        format!(
            "what the ratio rests on: the emulator's transition is {transition} s and azureml-core sleeps a fixed 5 s \
             before each status poll, one instance after the other ({running} x 5 s = {python_floor} s of sleeping); \
             so the ratio cannot exceed Python's time over one transition ({baseline_s:.2} / {transition} = {:.1}x), \
             and autostop took {:.2}x that floor of one transition",
            baseline_s / transition,
            autostop_s / transition
        ),
        verification_note(failed, failed_verified, &ours_report),
        format!(
            "the Python recipe says it stopped {} of {running}; the emulator's final states say {} not stopped",
            theirs.stopped,
            not_stopped(&shape, &their_report)
        ),
        cpu_note(&ours.measured, &ours_report),
    ];
    if ours.failed_rows > 0 {
        notes.push(format!("autostop reported {} failed action(s); see recipe-autostop.stdout", ours.failed_rows));
    }
    let met = ratio >= RECIPE_SPEEDUP && failed == 0 && failed_verified == 0;
    let first_poll =
        ours_requests.first_poll_delay_s.map(|d| format!("{d:.2} s")).unwrap_or_else(|| "never".to_owned());
    notes.push(format!(
        "autostop made {} stop POSTs and {} operation polls; its first poll came {first_poll} after its first stop \
         was accepted, for a stop that ends after {transition:.2} s",
        ours_requests.actions, ours_requests.polls,
    ));
    if ratio < RECIPE_SPEEDUP {
        notes.push(format!(
            "target missed: {ratio:.1}x is {:.1}x short of {RECIPE_SPEEDUP}x (autostop would need {:.2} s); the wait \
             before autostop's first poll ({first_poll}) is most of its time",
            RECIPE_SPEEDUP - ratio,
            baseline_s / RECIPE_SPEEDUP
        ));
    }
    Ok(ScenarioResult {
        name: "recipe".to_owned(),
        autostop_s,
        baseline_s: Some(baseline_s),
        bound_s: None,
        ratio,
        target: format!(">= {RECIPE_SPEEDUP}x faster than the Python recipe"),
        met,
        failed,
        failed_verified: Some(failed_verified),
        throttled: ours_requests.throttled,
        peak_rss_mib: Some(ours.measured.peak_rss_mib()),
        baseline_peak_rss_mib: Some(theirs.measured.peak_rss_mib()),
        autostop_cpu_s: Some(ours.measured.cpu.as_secs_f64()),
        emulator_cpu_s: Some(ours_report.cpu_s),
        baseline_failed: Some(running.saturating_sub(theirs.stopped)),
        instances: shape.instances(),
        running,
        requests: ours_requests.total,
        baseline_requests: Some(their_requests.total),
        p50_ms: None,
        p95_ms: None,
        notes,
    })
}

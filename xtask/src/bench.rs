//! `cargo xtask bench`: runs the scenarios side by side against the local emulator, prints a table and writes
//! `target/bench/results.json`.
//!
//! - **recipe**: 1 workspace, 20 instances, 10 `Running`: `autostop stop --all --wait` against the original
//!   recipe's Python code (azureml-core, `bench/recipe.py`), each against a fresh emulator with the same fleet.
//! - **fleet**: 10 subscriptions x 10 workspaces x 100 instances, 60% `Running`, 20 ms latency, ARM buckets on:
//!   autostop against the lower bound the buckets and latency allow (`bound.rs`).
//! - **fleet-100k**: the same with 100 subscriptions (100,000 instances); only when named, it takes minutes.
//! - **run**: the 10,000-instance fleet stopped by a scheduled rule that has just come due (`autostop run`, what the
//!   daemon and the Functions handler do at each evaluation), against the same bound.
//! - **run-100k**: the same on 100,000 instances; only when named.
//! - **mixed**: 5,000 compute instances and 5,000 VMs in 10 subscriptions, one `stop --kind ... --kind vm` run.
//! - **list**: `autostop list` on 40,000 instances, JSON and table output, for its peak memory.
//!
//! What autostop reports is checked against the emulator: it logs how many computes ended in each state when it
//! shuts down, and its CPU time (from `wait4`) shows when it, not the client, is the bottleneck.
//!
//! Every run is a separate process measured from spawn to exit (`measure.rs`), with a cleared environment so that
//! the user's own Azure variables cannot leak in.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use serde_json::Value;

use crate::bound::{Buckets, Conditions, fleet_bound, list_bound, mixed_bound};
use crate::emulator::{Emulator, EmulatorOptions, EmulatorReport};
use crate::fleet::{self, Shape};
use crate::measure::{self, Measured};
use crate::python;
use crate::status_page;

/// A scenario of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// autostop against the recipe's Python code.
    Recipe,
    /// autostop on 10,000 instances against the bound of the ARM buckets.
    Fleet,
    /// autostop on 100,000 instances (100 subscriptions) against the same bound; not part of `all`.
    Fleet100k,
    /// `autostop run` on the 10,000 instances, a stop rule just due, against the same bound.
    Run,
    /// `autostop run` on 100,000 instances (100 subscriptions); not part of `all`.
    Run100k,
    /// `autostop list` on 40,000 instances, JSON and table, for its memory.
    List,
    /// autostop on a mixed fleet: 5,000 compute instances and 5,000 VMs in 10 subscriptions.
    Mixed,
    /// The status page of `autostop serve` on 10,000 instances with a day of history: p50/p95 render times.
    Status,
    /// The schedule crate against croner (`cargo bench -p autostop-schedule`), when its benchmark exists.
    Schedule,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// In the order they run.
    pub scenarios: Vec<Scenario>,
    /// Extra arguments for every `autostop stop` and `autostop run` (e.g. `--concurrency 500`), to try a change of defaults.
    pub autostop_args: Vec<String>,
}

impl Selection {
    /// Parses the arguments after `bench`:
    /// `[--scenario recipe|fleet|fleet-100k|run|run-100k|mixed|list|status|schedule|all[,...]] [--autostop-args "ARGS"]`; several scenarios
    /// run one after the other in the order given, into one table.
    pub fn parse(args: &[String]) -> Result<Selection, String> {
        let all = vec![
            Scenario::Recipe,
            Scenario::Fleet,
            Scenario::Run,
            Scenario::Mixed,
            Scenario::List,
            Scenario::Status,
            Scenario::Schedule,
        ];
        let mut selection = Selection { scenarios: all.clone(), autostop_args: Vec::new() };
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            if name != "--scenario" && name != "--autostop-args" {
                return Err(format!("unknown argument '{arg}'; expected --scenario or --autostop-args"));
            }
            let value = match inline {
                Some(value) => value,
                None => rest.next().ok_or_else(|| format!("{name} needs a value"))?.clone(),
            };
            if name == "--autostop-args" {
                selection.autostop_args = value.split_whitespace().map(str::to_owned).collect();
                continue;
            }
            selection.scenarios = Vec::new();
            for name in value.split(',').map(str::trim) {
                selection.scenarios.extend(match name {
                    "recipe" => vec![Scenario::Recipe],
                    "fleet" => vec![Scenario::Fleet],
                    "fleet-100k" => vec![Scenario::Fleet100k],
                    "run" => vec![Scenario::Run],
                    "run-100k" => vec![Scenario::Run100k],
                    "mixed" => vec![Scenario::Mixed],
                    "list" => vec![Scenario::List],
                    "status" => vec![Scenario::Status],
                    "schedule" => vec![Scenario::Schedule],
                    "all" => all.clone(),
                    other => {
                        return Err(format!(
                            "unknown scenario '{other}'; expected recipe, fleet, fleet-100k, run, run-100k, mixed, list, status, schedule or all \
                             (or several, comma-separated)"
                        ));
                    }
                });
            }
        }
        Ok(selection)
    }
}

/// One row of the results: the keys the issue asks for, plus what explains them.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// `recipe`, `fleet`, or `schedule: <benchmark>`.
    pub name: String,
    /// autostop's wall time, process start to exit.
    pub autostop_s: f64,
    /// The Python recipe's wall time (recipe scenario).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_s: Option<f64>,
    /// The lower bound (fleet scenario).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_s: Option<f64>,
    /// recipe: `baseline_s / autostop_s` (times faster); fleet: `autostop_s / bound_s` (times the bound).
    pub ratio: f64,
    /// The target the ratio is held against.
    pub target: String,
    /// Whether every target of the scenario (ratio, failures, memory) was met.
    pub met: bool,
    /// Instances autostop's own report does not show stopped (list: computes missing from its output).
    pub failed: usize,
    /// Instances the emulator's final states show not stopped (`null` where nothing is stopped).
    pub failed_verified: Option<usize>,
    /// 429 answers the emulator sent during autostop's run.
    pub throttled: usize,
    /// autostop's peak RSS in MiB (`null` for the schedule rows, which run inside `cargo bench`).
    pub peak_rss_mib: Option<f64>,
    /// The Python recipe's peak RSS in MiB (recipe scenario).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_peak_rss_mib: Option<f64>,
    /// autostop's CPU time (user + system), seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autostop_cpu_s: Option<f64>,
    /// The emulator's CPU time (user + system) over autostop's run, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emulator_cpu_s: Option<f64>,
    /// Instances the Python recipe did not stop (recipe scenario).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_failed: Option<usize>,
    /// Instances in the fleet, and how many were `Running`.
    pub instances: usize,
    /// `Running` instances: the stops the job had to make.
    pub running: usize,
    /// Requests the emulator served during autostop's run.
    pub requests: usize,
    /// Requests the emulator served during the Python recipe's run (recipe scenario).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_requests: Option<usize>,
    /// Median time of one request (status scenario: one page render), ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    /// 95th percentile of the same, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<f64>,
    /// How the numbers were obtained, and where a target is missed, by how much and why.
    pub notes: Vec<String>,
}

/// The recipe scenario's target: autostop at least this many times faster.
const RECIPE_SPEEDUP: f64 = 20.0;
/// Peak RSS `autostop list` must stay under at 40,000 instances, MiB.
const LIST_RSS_LIMIT_MIB: f64 = 64.0;
/// The cores of the machine the README's numbers come from, to say how busy a process kept them.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
/// The token scope both sides ask for (ARM's).
const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// The cloud the emulator's metadata document names (`crates/emulator/src/azureml_sdk.rs`).
const EMULATOR_CLOUD: &str = "AutostopEmulator";

/// What every scenario of one run shares.
struct Harness {
    root: PathBuf,
    out: PathBuf,
    autostop: PathBuf,
    autostop_args: Vec<String>,
}

/// Runs the selected scenarios and reports them.
pub fn run(selection: &Selection) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("xtask has no parent directory")?.to_path_buf();
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    let out = target.join("bench");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    build_autostop(&root)?;
    let paths = Harness {
        root,
        autostop: target.join("release").join("autostop"),
        out,
        autostop_args: selection.autostop_args.clone(),
    };
    let mut results = Vec::new();
    for scenario in &selection.scenarios {
        match scenario {
            Scenario::Recipe => results.push(recipe(&paths)?),
            Scenario::Fleet => results.push(fleet_scenario(&paths)?),
            Scenario::Fleet100k => results.push(fleet_100k_scenario(&paths)?),
            Scenario::Run => results.push(run_scenario(&paths, 10)?),
            Scenario::Run100k => results.push(run_scenario(&paths, 100)?),
            Scenario::Mixed => results.push(mixed_scenario(&paths)?),
            Scenario::List => results.extend(list_scenario(&paths)?),
            Scenario::Status => results.push(status_scenario(&paths)?),
            Scenario::Schedule => results.extend(schedule(&paths)?),
        }
    }
    if !paths.autostop_args.is_empty() {
        for result in results.iter_mut().filter(|r| r.name == "recipe" || r.name.starts_with("fleet")) {
            result.notes.push(format!("autostop ran with extra arguments: {}", paths.autostop_args.join(" ")));
        }
    }
    println!("{}", table(&results));
    for result in &results {
        for note in &result.notes {
            println!("{}: {note}", result.name);
        }
    }
    let json_path = paths.out.join("results.json");
    let text = serde_json::to_string_pretty(&results).context("cannot serialize the results")?;
    std::fs::write(&json_path, text + "\n").with_context(|| format!("cannot write {}", json_path.display()))?;
    println!("results written to {}", json_path.display());
    Ok(())
}

fn build_autostop(root: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("bench: cargo build --release -p autostop");
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "autostop"])
        .current_dir(root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build --release -p autostop failed: {status}");
    }
    Ok(())
}

/// The environment every measured process starts from: `PATH`, and a fresh `HOME` of its own.
fn base_env(out: &Path, label: &str) -> anyhow::Result<Vec<(String, String)>> {
    let home = out.join(format!("home-{label}"));
    if home.exists() {
        std::fs::remove_dir_all(&home).with_context(|| format!("cannot clear {}", home.display()))?;
    }
    std::fs::create_dir_all(&home).with_context(|| format!("cannot create {}", home.display()))?;
    Ok(vec![
        ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
        ("HOME".to_owned(), home.display().to_string()),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
    ])
}

/// What autostop's `--output json` said about one `stop` run.
struct AutostopRun {
    measured: Measured,
    succeeded: usize,
    failed_rows: usize,
}

/// Runs `autostop ARGS` against `emulator` with a fresh `HOME` (so a fresh audit database under
/// `$HOME/.local/state`), stdout and stderr to `target/bench/LABEL.stdout|stderr`, and measures it.
fn run_measured(paths: &Harness, emulator: &Emulator, args: &[String], label: &str) -> anyhow::Result<Measured> {
    let mut env = base_env(&paths.out, label)?;
    env.extend(emulator.client_env());
    let stdout = paths.out.join(format!("{label}.stdout"));
    measure::run(&paths.autostop, args, &env, &stdout, &paths.out.join(format!("{label}.stderr")))
}

/// Runs `autostop stop --all --wait --yes --output json` plus `scope` and the extra arguments against `emulator`.
fn run_autostop(paths: &Harness, emulator: &Emulator, scope: &[String], label: &str) -> anyhow::Result<AutostopRun> {
    run_verb(paths, emulator, &Verb::Stop { scope }, label)
}

/// How a fleet scenario has autostop stop the fleet.
enum Verb<'a> {
    /// `autostop stop --all --wait --yes` on `scope` (`--subscription ...` and more).
    Stop { scope: &'a [String] },
    /// `autostop run --config CONFIG`: the rules of `config` evaluated over the window that ends now.
    Run { config: &'a Path },
}

impl Verb<'_> {
    /// The command line, for the progress lines.
    fn describe(&self) -> &'static str {
        match self {
            Verb::Stop { .. } => "autostop stop --all --wait",
            Verb::Run { .. } => "autostop run (a stop rule just due)",
        }
    }
}

/// Runs `verb` with `--output json` and the extra arguments against `emulator`, and reads its JSON rows.
fn run_verb(paths: &Harness, emulator: &Emulator, verb: &Verb<'_>, label: &str) -> anyhow::Result<AutostopRun> {
    let verb_args = match verb {
        Verb::Stop { scope } => {
            ["stop", "--all", "--wait", "--yes"].map(str::to_owned).into_iter().chain(scope.iter().cloned()).collect()
        }
        Verb::Run { config } => vec!["run".to_owned(), "--config".to_owned(), config.display().to_string()],
    };
    let args = verb_args
        .into_iter()
        .chain(["--output".to_owned(), "json".to_owned()])
        .chain(paths.autostop_args.iter().cloned())
        .collect::<Vec<_>>();
    let measured = run_measured(paths, emulator, &args, label)?;
    let stdout = paths.out.join(format!("{label}.stdout"));
    let text = std::fs::read_to_string(&stdout).with_context(|| format!("cannot read {}", stdout.display()))?;
    let rows: Vec<Value> = serde_json::from_str(&text).with_context(|| {
        format!("autostop ({label}) did not print a JSON array of actions; see {}", stdout.display())
    })?;
    let count = |result: &str| rows.iter().filter(|row| row["result"] == result).count();
    Ok(AutostopRun { measured, succeeded: count("succeeded"), failed_rows: count("failed") })
}

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

fn write_fleet(paths: &Harness, name: &str, shape: &Shape) -> anyhow::Result<PathBuf> {
    let path = paths.out.join(format!("{name}-fleet.json"));
    let text = serde_json::to_string(&fleet::fleet_json(shape)).context("cannot serialize the fleet")?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Instances that should have ended `Stopped` and did not, by the emulator's own final states: every instance of
/// `shape` is either stopped by the job or was stopped already.
fn not_stopped(shape: &Shape, report: &EmulatorReport) -> usize {
    shape.instances().saturating_sub(report.ended("Stopped"))
}

/// A note comparing what autostop reported with what the emulator's fleet ended as.
fn verification_note(reported: usize, verified: usize, report: &EmulatorReport) -> String {
    let states = report.final_states.iter().map(|(state, n)| format!("{state} {n}")).collect::<Vec<_>>().join(", ");
    let agreement = if reported == verified { "agrees" } else { "DISAGREES" };
    format!(
        "failed: autostop's report says {reported} not stopped, the emulator's final states say {verified} \
         ({agreement}); final states: {states}"
    )
}

/// Where the run's audit database is (the fresh `HOME`'s default, `~/.local/state/autostop/audit.db`) and its size:
/// every stop is claimed and recorded there, and that is part of the time measured.
fn audit_note(paths: &Harness, label: &str) -> String {
    let path = paths.out.join(format!("home-{label}")).join(".local/state/autostop/audit.db");
    match std::fs::metadata(&path) {
        Ok(meta) => format!("audit database {} ({} KiB) written during the run", path.display(), meta.len() / 1024),
        Err(err) => format!("no audit database at {}: {err}", path.display()),
    }
}

/// A note on how busy autostop and the emulator were over the run, in cores of this machine.
fn cpu_note(autostop: &Measured, report: &EmulatorReport) -> String {
    let wall = autostop.wall.as_secs_f64().max(1e-9);
    format!(
        "CPU: autostop {:.2} s ({:.2} cores on average over its {wall:.2} s), emulator {:.2} s over its {:.2} s \
         ({:.2} cores); the machine has {}",
        autostop.cpu.as_secs_f64(),
        autostop.cpu.as_secs_f64() / wall,
        report.cpu_s,
        report.wall_s,
        report.cpu_s / report.wall_s.max(1e-9),
        cores()
    )
}

fn recipe(paths: &Harness) -> anyhow::Result<ScenarioResult> {
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
fn fleet_scenario(paths: &Harness) -> anyhow::Result<ScenarioResult> {
    let shape = fleet_shape(10);
    stop_fleet(paths, &StopFleet { name: "fleet", shape, factor: 1.05, rss_limit_mib: 30.0 })
}

/// 100 subscriptions x 10 workspaces x 100 instances: within 1.1x of the bound, under 100 MiB.
fn fleet_100k_scenario(paths: &Harness) -> anyhow::Result<ScenarioResult> {
    let shape = fleet_shape(100);
    stop_fleet(paths, &StopFleet { name: "fleet-100k", shape, factor: 1.1, rss_limit_mib: 100.0 })
}

/// The fleet of `subscriptions` x 10 x 100 instances stopped by `autostop run` with a daily stop rule whose
/// occurrence was a minute ago (inside the first run's catch-up): the engine's whole evaluation (window,
/// confirmation of open claims, plan, claims, acting, following) rather than the ad-hoc verb. Held to the ratio
/// of the fleet of the same size and to [`RUN_MEMORY_LIMIT_MIB`]: half of it at 10,000 instances, all of it at
/// 100,000.
fn run_scenario(paths: &Harness, subscriptions: usize) -> anyhow::Result<ScenarioResult> {
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
fn fleet_shape(subscriptions: usize) -> Shape {
    Shape { subscriptions, workspaces_per_subscription: 10, instances_per_workspace: 100, running_per_workspace: 60 }
}

/// The fleet conditions: 20 ms latency on every request, ARM's buckets on.
fn fleet_options() -> EmulatorOptions {
    EmulatorOptions { latency: Duration::from_millis(20), throttle: true, ..EmulatorOptions::default() }
}

/// Every subscription of `shape`, comma-separated, after `--subscription`.
fn all_subscriptions(shape: &Shape) -> Vec<String> {
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
fn mixed_scenario(paths: &Harness) -> anyhow::Result<ScenarioResult> {
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

/// `autostop list` on 40 subscriptions x 10 workspaces x 100 instances under the fleet conditions, once with
/// `--output json` (every row, checked) and once with the default table (a summary at this size): peak RSS under
/// [`LIST_RSS_LIMIT_MIB`] each.
fn list_scenario(paths: &Harness) -> anyhow::Result<Vec<ScenarioResult>> {
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

/// Page renders the status scenario times after the first page (which gathers the snapshot).
const STATUS_RENDERS: usize = 200;
/// The status page's target: 95% of renders at 10,000 instances within this many ms (bench/README.md says why).
const STATUS_P95_TARGET_MS: f64 = 100.0;

/// The status page on 10,000 instances: the history is made by a real `autostop stop --all --wait` (6,000 stops
/// recorded in the state), then `autostop serve` over the same state and the whole fleet, with a daily stop and
/// start due in the next 24 hours (20,000 decisions), is asked for its page: once cold (discovery, timeline,
/// history, prices), then [`STATUS_RENDERS`] times, cycling through the first page, a later page of the fleet, one
/// workspace and the running instances; p50/p95 of those against [`STATUS_P95_TARGET_MS`].
fn status_scenario(paths: &Harness) -> anyhow::Result<ScenarioResult> {
    let name = "status";
    let shape = fleet_shape(10);
    let fleet_file = write_fleet(paths, name, &shape)?;
    let options = EmulatorOptions::default();
    let scope = all_subscriptions(&shape);
    eprintln!("bench: status: the history: autostop stop --all --wait on {} instances", shape.instances());
    let emulator =
        Emulator::start(&paths.autostop, &fleet_file, &options, &paths.out.join(format!("{name}.emulator.log")))?;
    let history_label = format!("{name}-history");
    let history = run_autostop(paths, &emulator, &scope, &history_label)?;
    let running = shape.subscriptions * shape.running_per_subscription();
    if history.succeeded != running {
        bail!(
            "status: the history run stopped {} of {running} instances; see {history_label}.stdout",
            history.succeeded
        );
    }

    // The daemon shares the history run's HOME, so its default state is the one that run wrote.
    let home = paths.out.join(format!("home-{history_label}"));
    let config = paths.out.join("status-autostop.toml");
    std::fs::write(&config, status_config(&shape, SystemTime::now()))
        .with_context(|| format!("cannot write {}", config.display()))?;
    let mut env = vec![
        ("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()),
        ("HOME".to_owned(), home.display().to_string()),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ("AUTOSTOP_LOG".to_owned(), "autostop=info".to_owned()),
    ];
    env.extend(emulator.client_env());
    let addr = status_page::free_port()?;
    let log = paths.out.join(format!("{name}-serve.log"));
    eprintln!("bench: status: autostop serve on {addr}, the page fetched 1 + {STATUS_RENDERS} times");
    let serve = status_page::spawn_serve(&paths.autostop, &config, addr, &env, &log)?;
    let measured = (|| {
        status_page::wait_ready(addr, &log)?;
        let cold = status_page::get(addr, "/")?;
        check_page(&cold, "/", &format!("{} computes", shape.instances()))?;
        let workspace = fleet::workspace_name(3, 4);
        let paths_asked =
            ["/".to_owned(), "/?page=37".to_owned(), format!("/?workspace={workspace}"), "/?state=Running".to_owned()];
        let started = std::time::Instant::now();
        let mut times = Vec::with_capacity(STATUS_RENDERS);
        let mut bytes = 0;
        for asked in paths_asked.iter().cycle().take(STATUS_RENDERS) {
            let fetched = status_page::get(addr, asked)?;
            check_page(&fetched, asked, "computes")?;
            bytes = bytes.max(fetched.body.len());
            times.push(fetched.elapsed);
        }
        let span = started.elapsed();
        let rss = status_page::peak_rss_mib(&serve);
        anyhow::Ok((cold, times, span, bytes, rss))
    })();
    let serve_cpu_s = status_page::stop_serve(serve);
    let report = emulator.stop()?;
    let (cold, times, span, bytes, rss) = measured?;
    let serve_cpu_s = serve_cpu_s?;
    let ms = |time: Option<std::time::Duration>| time.map_or(f64::NAN, |time| time.as_secs_f64() * 1000.0);
    let p50 = ms(status_page::percentile(&times, 50.0));
    let p95 = ms(status_page::percentile(&times, 95.0));
    let max = ms(times.iter().max().copied());
    let mut notes = vec![
        format!(
            "history: autostop stop --all --wait stopped {} instances in {:.2} s, recorded in {}",
            history.succeeded,
            history.measured.wall.as_secs_f64(),
            audit_note(paths, &history_label)
        ),
        format!(
            "first page once /healthz answers (the snapshot gathered by this request, or awaited from the daemon's \
             own first gathering: discovery of {} instances, the 24 h timeline, the history, prices): {:.2} s",
            shape.instances(),
            cold.elapsed.as_secs_f64()
        ),
        format!(
            "{STATUS_RENDERS} renders from the kept snapshot ({} paths in turn), connect to last byte over loopback: \
             p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms; largest page {} KiB; all within {:.1} s (the snapshot \
             is kept 60 s, so none gathered again)",
            4,
            bytes / 1024,
            span.as_secs_f64()
        ),
        format!(
            "serve: peak RSS {} MiB (VmHWM), CPU {serve_cpu_s:.2} s over the whole run; emulator CPU {:.2} s",
            rss.map_or("?".to_owned(), |mib| format!("{mib:.1}")),
            report.cpu_s
        ),
    ];
    if span >= std::time::Duration::from_secs(60) {
        notes.push("the renders took 60 s or more: some requests gathered a new snapshot".to_owned());
    }
    // A NaN (no render timed) is a miss.
    let met = p95 <= STATUS_P95_TARGET_MS;
    if !met {
        notes.push(format!(
            "target missed: p95 {p95:.1} ms is {:.1} ms over {STATUS_P95_TARGET_MS} ms",
            p95 - STATUS_P95_TARGET_MS
        ));
    }
    Ok(ScenarioResult {
        name: format!("status page ({})", shape.instances()),
        autostop_s: p95 / 1000.0,
        baseline_s: None,
        bound_s: None,
        ratio: p95 / STATUS_P95_TARGET_MS,
        target: format!("p95 render <= {STATUS_P95_TARGET_MS} ms"),
        met,
        failed: 0,
        failed_verified: None,
        throttled: report.requests.throttled,
        peak_rss_mib: rss,
        baseline_peak_rss_mib: None,
        autostop_cpu_s: Some(serve_cpu_s),
        emulator_cpu_s: Some(report.cpu_s),
        baseline_failed: None,
        instances: shape.instances(),
        running,
        requests: report.requests.total,
        baseline_requests: None,
        p50_ms: Some(p50),
        p95_ms: Some(p95),
        notes,
    })
}

/// The status scenario's configuration: every subscription of `shape`, a daily stop 6 hours after `now` and a daily
/// start 18 hours after it (UTC): both in the page's next 24 hours, neither during the run.
fn status_config(shape: &Shape, now: SystemTime) -> String {
    let seconds = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let (hour, minute) = ((seconds / 3600) % 24, (seconds / 60) % 60);
    let mut config = "[defaults]\ntimezone = \"UTC\"\n".to_owned();
    for subscription in 0..shape.subscriptions {
        config += &format!("\n[[scopes]]\nsubscription = \"{}\"\n", fleet::subscription_id(subscription));
    }
    for (name, action, ahead) in [("daily-stop", "stop", 6), ("daily-start", "start", 18)] {
        let schedule = format!("0 {minute} {} * * *", (hour + ahead) % 24);
        config += &format!("\n[[rules]]\nname = \"{name}\"\naction = \"{action}\"\nschedule = \"{schedule}\"\n");
    }
    config
}

/// Fails unless `fetched` is a 200 whose body holds `expected`.
fn check_page(fetched: &status_page::Fetched, path: &str, expected: &str) -> anyhow::Result<()> {
    if fetched.status != 200 || !fetched.body.contains(expected) {
        let start: String = fetched.body.chars().take(400).collect();
        bail!("status: GET {path} answered {} without {expected:?}: {start}", fetched.status);
    }
    Ok(())
}

/// The total of `autostop list`'s table summary: the number before ` computes` on its `N computes ...` line.
fn summary_total(text: &str) -> Option<usize> {
    text.lines().find_map(|line| line.trim().split_once(" computes").and_then(|(n, _)| n.trim().parse().ok()))
}

/// Runs `cargo bench -p autostop-schedule` (ours against croner in the same run) and turns each row of the
/// `target/bench/schedule.json` it writes into a result; nothing when the crate has no benchmark.
fn schedule(paths: &Harness) -> anyhow::Result<Vec<ScenarioResult>> {
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

fn table(results: &[ScenarioResult]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "scenario",
        "autostop",
        "baseline / bound",
        "ratio",
        "target",
        "met",
        "failed (reported / emulator)",
        "429s",
        "peak RSS autostop",
        "peak RSS baseline",
    ]);
    for r in results {
        let against = match (r.baseline_s, r.bound_s) {
            (Some(baseline), _) if r.name.starts_with("schedule") => format!("{baseline:.4} s (croner)"),
            (Some(baseline), _) => format!("{baseline:.2} s (Python)"),
            (None, Some(bound)) => format!("{bound:.2} s (bound)"),
            (None, None) => "-".to_owned(),
        };
        table.add_row(vec![
            r.name.clone(),
            if r.autostop_s < 1.0 { format!("{:.4} s", r.autostop_s) } else { format!("{:.2} s", r.autostop_s) },
            against,
            format!("{:.2}x", r.ratio),
            r.target.clone(),
            if r.met { "yes" } else { "NO" }.to_owned(),
            match r.failed_verified {
                Some(verified) => format!("{} / {verified}", r.failed),
                None => r.failed.to_string(),
            },
            r.throttled.to_string(),
            r.peak_rss_mib.map(|mib| format!("{mib:.1} MiB")).unwrap_or_else(|| "-".to_owned()),
            r.baseline_peak_rss_mib.map(|mib| format!("{mib:.1} MiB")).unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scenario_selection_parses() {
        let parsed = |list: &[&str]| Selection::parse(&args(list));
        assert_eq!(parsed(&[]).map(|s| s.scenarios.len()), Ok(7), "all but fleet-100k and run-100k");
        assert_eq!(parsed(&["--scenario", "run"]).map(|s| s.scenarios), Ok(vec![Scenario::Run]));
        assert_eq!(parsed(&["--scenario", "run-100k"]).map(|s| s.scenarios), Ok(vec![Scenario::Run100k]));
        assert_eq!(parsed(&["--scenario", "status"]).map(|s| s.scenarios), Ok(vec![Scenario::Status]));
        assert_eq!(parsed(&["--scenario", "mixed"]).map(|s| s.scenarios), Ok(vec![Scenario::Mixed]));
        assert_eq!(parsed(&["--scenario", "fleet-100k"]).map(|s| s.scenarios), Ok(vec![Scenario::Fleet100k]));
        assert_eq!(parsed(&["--scenario", "list"]).map(|s| s.scenarios), Ok(vec![Scenario::List]));
        assert_eq!(
            parsed(&["--scenario", "recipe,fleet-100k"]).map(|s| s.scenarios),
            Ok(vec![Scenario::Recipe, Scenario::Fleet100k])
        );
        assert!(parsed(&["--scenario", "fleet,nope"]).unwrap_err().contains("nope"));
        assert_eq!(parsed(&["--scenario", "fleet"]).map(|s| s.scenarios), Ok(vec![Scenario::Fleet]));
        assert_eq!(parsed(&["--scenario=recipe"]).map(|s| s.scenarios), Ok(vec![Scenario::Recipe]));
        assert_eq!(parsed(&["--scenario", "schedule"]).map(|s| s.scenarios), Ok(vec![Scenario::Schedule]));
        assert!(parsed(&["--scenario", "nope"]).unwrap_err().contains("nope"));
        assert!(parsed(&["--scenario"]).is_err());
        assert!(parsed(&["--fast"]).unwrap_err().contains("--fast"));
    }

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

    #[test]
    fn the_table_summary_total_is_read() {
        assert_eq!(summary_total("40000 computes in 400 workspaces\n  Running 24000\n"), Some(40000));
        assert_eq!(summary_total("NAME  WORKSPACE\nrun-1 ml-rg/ws-a\n"), None);
    }

    #[test]
    fn autostop_args_are_split_on_whitespace() {
        let selection =
            Selection::parse(&args(&["--autostop-args", "--concurrency 500  --poll-interval 1s"])).expect("parses");
        assert_eq!(selection.autostop_args, args(&["--concurrency", "500", "--poll-interval", "1s"]));
        let inline = Selection::parse(&args(&["--autostop-args=--concurrency 8"])).expect("parses");
        assert_eq!(inline.autostop_args, args(&["--concurrency", "8"]));
    }
}

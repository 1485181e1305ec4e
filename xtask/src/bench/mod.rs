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

use anyhow::{Context as _, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use serde_json::Value;

use crate::emulator::{Emulator, EmulatorReport};
use crate::fleet::{self, Shape};
use crate::measure::{self, Measured};

mod fleets;
mod list;
mod recipe;
mod schedule;
mod status;

use fleets::{fleet_100k_scenario, fleet_scenario, mixed_scenario, run_scenario};
use list::list_scenario;
use recipe::recipe;
use schedule::schedule;
use status::status_scenario;

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

/// The cores of the machine the README's numbers come from, to say how busy a process kept them.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

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
    fn autostop_args_are_split_on_whitespace() {
        let selection =
            Selection::parse(&args(&["--autostop-args", "--concurrency 500  --poll-interval 1s"])).expect("parses");
        assert_eq!(selection.autostop_args, args(&["--concurrency", "500", "--poll-interval", "1s"]));
        let inline = Selection::parse(&args(&["--autostop-args=--concurrency 8"])).expect("parses");
        assert_eq!(inline.autostop_args, args(&["--concurrency", "8"]));
    }
}

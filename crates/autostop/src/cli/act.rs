//! `autostop stop|start`: the ad-hoc verbs, on named instances or on every instance of the scope.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;
use autostop_azure::{ArmClient, ComputeId};
use autostop_policy::{Action, Kind, PlannedAction};
use autostop_state::{EventKind, StateStore};
use clap::Args;
use futures::stream::{self, StreamExt};
use std::sync::Arc;

use crate::Outcome;
use crate::apply::{ApplyArgs, ApplyOptions, Verdict};
use crate::cli::{AzureArgs, OutputFormat, ScopeArgs};
use crate::connect::{Connection, process_env};
use crate::discover::{Inventory, Scope, describe, discover, named_workspaces};
use crate::engine::{AD_HOC_RULE, Actor, EngineOptions};
use crate::output::{ActionPrinter, ActionRow, unhandled_reason};
use crate::targets::{Selection, decide, unhandled_selected};

/// `autostop stop|start (NAME... | --all) [SCOPE] [--wait] [--force] [--yes]`
#[derive(Debug, Args)]
pub struct ActArgs {
    /// Names of the compute instances to act on.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    names: Vec<String>,
    /// Act on every compute instance of the scope.
    #[arg(long)]
    all: bool,
    /// Follow each operation to its end and confirm the new state.
    #[arg(long)]
    wait: bool,
    /// Stop instances that are running a job (JobRunning) too.
    #[arg(long)]
    force: bool,
    /// Confirm --all without being asked. Without a terminal, --all is refused unless --yes is given.
    #[arg(long, short = 'y')]
    yes: bool,
    #[command(flatten)]
    apply: ApplyArgs,
    #[command(flatten)]
    scope: ScopeArgs,
    #[command(flatten)]
    azure: AzureArgs,
    /// State where each action is claimed and recorded, for later runs to confirm (default: the platform state
    /// directory, as for `run`).
    #[arg(long, value_name = "PATH")]
    state: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    output: OutputFormat,
}

/// What an action verb does, resolved from its arguments.
#[derive(Debug, Clone)]
pub struct Request {
    /// Start or stop.
    pub action: Action,
    /// Which computes.
    pub selection: Selection,
    /// Stop JobRunning instances too.
    pub force: bool,
    /// Ask on the terminal before acting on a whole scope.
    pub confirm: bool,
    /// How actions are applied.
    pub apply: ApplyOptions,
}

/// Runs `autostop stop` or `autostop start`.
pub async fn run(action: Action, args: ActArgs) -> anyhow::Result<Outcome> {
    let scope = args.scope.scope()?;
    for name in &args.names {
        autostop_azure::validate_compute_name(name).map_err(|err| crate::UsageError(err.to_string()))?;
    }
    let confirm = Confirmation { all: args.all, yes: args.yes, stdin_is_terminal: std::io::stdin().is_terminal() }
        .needed(action)?;
    let (_, client) = Connection::from_args(&args.azure).client(process_env)?;
    let selection = if args.all { Selection::All } else { Selection::Names(args.names) };
    let request = Request { action, confirm, selection, force: args.force, apply: args.apply.options(args.wait) };
    let store = crate::store::StateLocation::resolve(args.state.as_deref())?.open()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let outcome = execute(&client, store, &scope, &request, args.output, &mut out).await?;
    out.flush()?;
    Ok(outcome)
}

/// Decides and applies `request` over `scope`, printing one row per compute considered.
pub async fn execute(
    client: &ArmClient,
    store: Arc<dyn StateStore>,
    scope: &Scope,
    request: &Request,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let only_instances = scope.kinds == [autostop_policy::Kind::ComputeInstance];
    let (inventory, name_errors) = match (&request.selection, named_workspaces(scope).filter(|_| only_instances)) {
        (Selection::Names(names), Some(workspaces)) => get_named(client, &workspaces, names).await,
        _ => (discover(client, scope).await, Vec::new()),
    };
    let targets = decide(&inventory.targets, &request.selection, request.action, request.force);
    // Claimed and recorded like a scheduled action (rule "(ad-hoc)", occurrence now), so that an action not
    // followed to its end is confirmed by a later run, and the audit log says who stopped what.
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let planned = targets
        .considered
        .iter()
        .filter(|considered| considered.decision.is_ok())
        .map(|considered| PlannedAction {
            rule: AD_HOC_RULE.to_owned(),
            occurrence: now.clone(),
            target: considered.target.clone(),
            action: request.action,
            force: request.force,
        })
        .collect::<Vec<_>>();
    if request.confirm && !planned.is_empty() && !confirm(request.action, planned.len(), scope)? {
        anyhow::bail!(crate::UsageError("cancelled: nothing was changed".into()));
    }
    let options = EngineOptions { apply: request.apply.clone(), ..EngineOptions::default() };
    let actor = Actor::new(client.clone(), store, options);
    let interrupt = crate::signals::interrupt_on_signals(SHUTDOWN_GRACE).context("listening for SIGTERM and SIGINT")?;
    let report = actor.act_now(&planned, Some(&interrupt)).await?;
    let mut applied = report.outcomes.iter();
    let action = request.action.as_str().to_owned();
    let mut rows = ActionPrinter::new(out, format);
    for considered in &targets.considered {
        let target = considered.target;
        let mut row = ActionRow {
            kind: Some(target.kind.as_str().to_owned()),
            id: target.id.clone(),
            name: target.name.clone(),
            action: action.clone(),
            result: Verdict::Skipped,
            reason: None,
            error: None,
            state: target.state.clone(),
        };
        match &considered.decision {
            Err(reason) => row.reason = Some(reason.to_string()),
            Ok(()) => {
                let done = applied.next().context("fewer outcomes than actions")?;
                let (result, state) = match done.result {
                    EventKind::Succeeded => (Verdict::Succeeded, Some(target_state(target.kind, request.action))),
                    EventKind::Accepted => (Verdict::Accepted, None),
                    EventKind::Skipped => (Verdict::Skipped, row.state.clone()),
                    _ => (Verdict::Failed, None),
                };
                row.result = result;
                row.state = state;
                row.reason = done.reason.clone().filter(|_| result == Verdict::Skipped);
                row.error = match (result, &done.error, &done.reason) {
                    (Verdict::Failed, Some(error), _) => Some(error.clone()),
                    (Verdict::Failed, None, reason) => {
                        Some(format!("{}: {}", done.result, reason.as_deref().unwrap_or("-")))
                    }
                    (_, error, _) => error.clone(),
                };
            }
        }
        rows.row(row)?;
    }
    let unhandled = unhandled_selected(&inventory.unhandled, &request.selection);
    for skipped in &unhandled {
        rows.row(ActionRow {
            kind: Some(Kind::ComputeInstance.as_str().to_owned()),
            id: skipped.id.clone(),
            name: skipped.name.clone(),
            action: action.clone(),
            result: Verdict::Skipped,
            reason: Some(unhandled_reason(skipped)),
            error: None,
            state: None,
        })?;
    }
    let unknown =
        targets.unknown_names.iter().filter(|name| !unhandled.iter().any(|u| u.name.eq_ignore_ascii_case(name)));
    for name in unknown {
        rows.row(ActionRow {
            kind: None,
            id: name.clone(),
            name: name.clone(),
            action: action.clone(),
            result: Verdict::Failed,
            reason: None,
            error: Some(
                name_errors
                    .iter()
                    .find(|(failed, _)| failed.eq_ignore_ascii_case(name))
                    .map(|(_, error)| error.clone())
                    .unwrap_or_else(|| format!("no compute named {name} in {}", describe(scope))),
            ),
            state: None,
        })?;
    }
    let any_failed = rows.finish()?;
    for error in &report.errors {
        eprintln!("autostop: {error}");
    }
    let failed = any_failed || !report.errors.is_empty();
    Ok(match crate::report_errors(&inventory.errors) {
        Outcome::Success if !failed => Outcome::Success,
        _ => Outcome::SomeFailed,
    })
}

/// Gets named computes directly when the scope pins the workspace: ARM's own 404 names what is missing.
/// Returns what was found, and the error for each name that could not be read.
async fn get_named(
    client: &ArmClient,
    workspaces: &[autostop_azure::WorkspaceId],
    names: &[String],
) -> (Inventory, Vec<(String, String)>) {
    let ids = workspaces
        .iter()
        .flat_map(|workspace| names.iter().map(move |name| (workspace.clone(), name.clone())))
        .collect::<Vec<_>>();
    let results = stream::iter(ids)
        .map(|(workspace, name)| async move {
            let result = match ComputeId::new(workspace, &name) {
                Ok(id) => client.get_compute(&id).await,
                Err(err) => Err(err),
            };
            (name, result)
        })
        .buffered(16)
        .collect::<Vec<_>>()
        .await;
    let mut inventory = Inventory::default();
    let mut errors = Vec::new();
    for (name, result) in results {
        match result {
            Ok(compute) => inventory.targets.push(crate::discover::instance(&compute)),
            Err(err) => errors.push((name, err.to_string())),
        }
    }
    (inventory, errors)
}

/// How long SIGTERM / SIGINT lets the operations in flight finish (a later run confirms the rest).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// The state an action leaves a target in, once read back: a stopped VM or scale set is deallocated.
fn target_state(kind: Kind, action: Action) -> String {
    match (kind, action) {
        (Kind::ComputeInstance, Action::Stop) => "Stopped".to_owned(),
        (Kind::ComputeInstance, Action::Start) => "Running".to_owned(),
        (Kind::Vm | Kind::Vmss, Action::Stop) => "deallocated".to_owned(),
        (Kind::Vm | Kind::Vmss, Action::Start) => "running".to_owned(),
    }
}

/// What decides whether a person must confirm: following the Azure CLI's convention for destructive commands,
/// `--yes` confirms in advance; otherwise a terminal on stdin is asked (on stderr), and without one `--all` is
/// refused before anything is sent to Azure, since nobody can answer.
#[derive(Debug, Clone, Copy)]
struct Confirmation {
    /// `--all` was given (named instances are never asked about).
    all: bool,
    /// `--yes` was given.
    yes: bool,
    /// stdin is a terminal, so a person can answer.
    stdin_is_terminal: bool,
}

impl Confirmation {
    /// Whether to ask before acting; an error when asking is needed but impossible.
    fn needed(self, action: Action) -> Result<bool, crate::UsageError> {
        match (self.all && !self.yes, self.stdin_is_terminal) {
            (false, _) => Ok(false),
            (true, true) => Ok(true),
            (true, false) => Err(crate::UsageError(format!(
                "{} --all acts on every target of the scope and needs confirmation, but stdin is not a \
                 terminal to ask on: pass --yes to confirm (nothing was changed)",
                action.as_str()
            ))),
        }
    }
}

/// Asks on stderr (even when stdout or stderr is redirected: the person is at the terminal on stdin) and reads
/// the answer from stdin.
fn confirm(action: Action, count: usize, scope: &Scope) -> anyhow::Result<bool> {
    let mut stderr = std::io::stderr().lock();
    let what = match scope.kinds.as_slice() {
        [autostop_policy::Kind::ComputeInstance] => "compute instance(s)".to_owned(),
        kinds => format!("target(s) ({})", kinds.iter().map(|kind| kind.as_str()).collect::<Vec<_>>().join(", ")),
    };
    write!(stderr, "{} {count} {what} in {}? [y/N] ", action.as_str(), describe(scope))?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_needs_yes_or_a_terminal() {
        let case = |all, yes, stdin_is_terminal| Confirmation { all, yes, stdin_is_terminal };
        assert!(!case(false, false, false).needed(Action::Stop).expect("named instances are not confirmed"));
        assert!(!case(true, true, false).needed(Action::Stop).expect("--yes confirms in advance"));
        assert!(!case(true, true, true).needed(Action::Start).expect("--yes does not ask"));
        assert!(case(true, false, true).needed(Action::Stop).expect("a terminal is asked"));
        let refused = case(true, false, false).needed(Action::Start).expect_err("no terminal, no --yes");
        assert!(refused.to_string().contains("start --all") && refused.to_string().contains("--yes"), "{refused}");
    }
}

//! `autostop stop|start`: the ad-hoc verbs, on named instances or on every instance of the scope.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;
use autostop_azure::{ArmClient, ComputeId, TargetId};
use autostop_policy::Action;
use clap::Args;
use futures::stream::{self, StreamExt};

use crate::Outcome;
use crate::apply::{ActionRequest, ApplyArgs, ApplyOptions, Verdict, apply};
use crate::cli::{AzureArgs, OutputFormat, ScopeArgs};
use crate::connect::{Connection, process_env};
use crate::discover::{Inventory, Scope, describe, discover, named_workspaces};
use crate::output::{ActionRow, print_actions};
use crate::targets::{Selection, decide};

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
    /// Do not ask for confirmation with --all.
    #[arg(long, short = 'y')]
    yes: bool,
    #[command(flatten)]
    apply: ApplyArgs,
    #[command(flatten)]
    scope: ScopeArgs,
    #[command(flatten)]
    azure: AzureArgs,
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
    /// Ask before acting on a whole scope (only on a terminal).
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
    let (_, client) = Connection::from_args(&args.azure).client(process_env)?;
    let selection = if args.all { Selection::All } else { Selection::Names(args.names) };
    let request = Request {
        action,
        confirm: args.all && !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        selection,
        force: args.force,
        apply: args.apply.options(args.wait),
    };
    execute(&client, &scope, &request, args.output, &mut std::io::stdout().lock()).await
}

/// Decides and applies `request` over `scope`, printing one row per compute considered.
pub async fn execute(
    client: &ArmClient,
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
    let mut requests = Vec::new();
    let mut unreadable = Vec::new();
    for considered in targets.considered.iter().filter(|considered| considered.decision.is_ok()) {
        match considered.target.id.parse::<TargetId>() {
            Ok(id) => requests.push(ActionRequest { id, action: request.action }),
            Err(err) => unreadable.push(anyhow::anyhow!("{}: {err}", considered.target.id)),
        }
    }
    if let Some(err) = unreadable.into_iter().next() {
        return Err(err.context("discovery returned a target id that does not parse"));
    }
    if request.confirm && !requests.is_empty() && !confirm(request.action, requests.len(), scope)? {
        anyhow::bail!(crate::UsageError("cancelled: nothing was changed".into()));
    }
    let mut applied = apply(client, &requests, &request.apply).await.into_iter();
    let action = request.action.as_str().to_owned();
    let mut rows = Vec::new();
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
                let done = applied.next().context("apply returned fewer results than requests")?;
                row.result = done.verdict;
                row.error = done.error;
                row.state = done.state.or(row.state);
            }
        }
        rows.push(row);
    }
    for name in &targets.unknown_names {
        rows.push(ActionRow {
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
        });
    }
    print_actions(out, format, &rows)?;
    let failed = rows.iter().any(|row| row.result == Verdict::Failed);
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

//! `autostop stop|start`: the ad-hoc verbs, on named instances or on every instance of the scope.

use std::cell::RefCell;
use std::convert::Infallible;
use std::io::{BufRead, IsTerminal, Write};
use std::ops::Range;

use anyhow::Context as _;
use autostop_azure::{ArmClient, ComputeId};
use autostop_policy::{Action, Kind, PlannedAction};
use autostop_state::{EventKind, StateStore};
use clap::Args;
use futures::channel::mpsc;
use futures::stream::{self, StreamExt};
use std::sync::Arc;

use crate::Outcome;
use crate::cli::{AzureArgs, OutputFormat, ScopeArgs};
use crate::connect::{Connection, process_env};
use crate::output::{ActionPrinter, ActionRow, unhandled_reason};
use autostop_engine::apply::{ApplyArgs, ApplyOptions, Verdict};
use autostop_engine::discover::{Found, Inventory, Order, Scope, describe, discover_each_in, named_workspaces};
use autostop_engine::evaluation::{AD_HOC_RULE, Actions, Actor, EngineOptions, RunOutcome};
use autostop_engine::interrupt::Interrupt;
use autostop_policy::targets::{Candidate, Considering, Selection, unhandled_selected};

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

/// Decides and applies `request` over `scope`, printing one row per compute considered. Without a confirmation to
/// ask for, each listing's targets are acted on as soon as they are decided, while the rest of the scope is still
/// listed; a confirmation needs the count first, so the whole scope is listed before it is asked for.
pub async fn execute(
    client: &ArmClient,
    store: Arc<dyn StateStore>,
    scope: &Scope,
    request: &Request,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let considering = RefCell::new(Considering::new(&request.selection, request.action, request.force));
    // Claimed and recorded like a scheduled action (rule "(ad-hoc)", occurrence now), so that an action not
    // followed to its end is confirmed by a later run, and the audit log says who stopped what.
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    // The actions are built one at a time when their turn comes, from the candidates (by index) that are to be
    // acted on; only those indices are handed over, once their candidates are in.
    let planned = |index: usize| PlannedAction {
        rule: AD_HOC_RULE.to_owned(),
        occurrence: now.clone(),
        target: considering.borrow().get(index).map(Candidate::target).unwrap_or_default().into(),
        action: request.action,
        force: request.force,
    };
    let options = EngineOptions { apply: request.apply.clone(), ..EngineOptions::default() };
    let actor = Actor::new(client.clone(), store, options);
    // How each action ended, by the index of its candidate.
    let mut applied: Vec<Option<Applied>> = Vec::new();
    let done = |index: usize, result| {
        if applied.len() <= index {
            applied.resize_with(index + 1, || None);
        }
        applied[index] = Some(Applied::of(result));
    };
    let (listed, report) = if request.confirm {
        let listed = consider(client, scope, request, &considering, None).await;
        let to_act = considering.borrow().acting().collect::<Vec<_>>();
        if !to_act.is_empty() && !confirm(request.action, to_act.len(), scope)? {
            anyhow::bail!(crate::UsageError("cancelled: nothing was changed".into()));
        }
        let interrupt = interrupt_on_signals()?;
        let actions = Actions { indices: stream::iter(to_act), action: planned };
        (listed, actor.act_now(actions, Some(&interrupt), done).await?)
    } else {
        let interrupt = interrupt_on_signals()?;
        let (turns, indices) = mpsc::unbounded();
        let listing = consider(client, scope, request, &considering, Some(Turns { turns, interrupt: &interrupt }));
        let acting = actor.act_now(Actions { indices, action: planned }, Some(&interrupt), done);
        let (listed, report) = futures::join!(listing, acting);
        (listed, report?)
    };
    let Listed { order, unhandled, errors, name_errors } = listed;
    let (candidates, unknown_names) = considering.into_inner().finish();
    let action = request.action.as_str().to_owned();
    let mut rows = ActionPrinter::new(out, format);
    for index in order {
        let candidate = &candidates[index];
        let mut row = ActionRow {
            kind: Some(candidate.kind().as_str().to_owned()),
            id: candidate.id(),
            name: candidate.name().to_owned(),
            action: action.clone(),
            result: Verdict::Skipped,
            reason: None,
            error: None,
            state: candidate.state().map(str::to_owned),
        };
        match candidate.decision() {
            Err(reason) => row.reason = Some(reason.to_string()),
            Ok(()) => {
                let done = applied.get_mut(index).and_then(Option::take);
                let done = done.context("an action ended without an outcome")?;
                row.state = match done.result {
                    Verdict::Succeeded => Some(target_state(candidate.kind(), request.action)),
                    Verdict::Skipped => row.state,
                    Verdict::Accepted | Verdict::Failed => None,
                };
                row.result = done.result;
                (row.reason, row.error) = done.said.map(|said| (said.reason, said.error)).unwrap_or_default();
            }
        }
        rows.row(row)?;
    }
    let unhandled = unhandled_selected(&unhandled, &request.selection);
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
    let unknown = unknown_names.iter().filter(|name| !unhandled.iter().any(|u| u.name.eq_ignore_ascii_case(name)));
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
    Ok(match crate::report_errors(&errors) {
        Outcome::Success if !failed => Outcome::Success,
        _ => Outcome::SomeFailed,
    })
}

/// What listing the scope left besides the candidates.
struct Listed {
    /// The indices of the candidates in the order their rows come: the order of their ids (as discovered for
    /// named computes).
    order: Vec<usize>,
    /// Computes listed that autostop cannot address.
    unhandled: Vec<autostop_azure::Unhandled>,
    /// Listings that failed.
    errors: Vec<anyhow::Error>,
    /// For named computes read one by one: the error of each that could not be read.
    name_errors: Vec<(String, String)>,
}

/// Where the indices of the candidates to act on go as soon as they are decided, and the interrupt that stops
/// the listing (what it would find could only be recorded as interrupted).
struct Turns<'a> {
    turns: mpsc::UnboundedSender<usize>,
    interrupt: &'a Interrupt,
}

impl Turns<'_> {
    /// Hands over the candidates at `added` that are to be acted on.
    fn hand_over(&self, considering: &Considering, added: Range<usize>) {
        for index in added.filter(|&index| considering.get(index).is_some_and(Candidate::acts)) {
            // The acting ends only once this sender is dropped, so it is still receiving.
            if self.turns.unbounded_send(index).is_err() {
                break;
            }
        }
    }
}

/// Discovers `scope` into `considering`, a workspace's listing at a time (of the listings only the [`Candidate`]s
/// are kept), handing each listing's candidates to act on to `turns` as soon as it is decided.
async fn consider(
    client: &ArmClient,
    scope: &Scope,
    request: &Request,
    considering: &RefCell<Considering>,
    turns: Option<Turns<'_>>,
) -> Listed {
    let only_instances = scope.kinds == [autostop_policy::Kind::ComputeInstance];
    if let (Selection::Names(names), Some(workspaces)) =
        (&request.selection, named_workspaces(scope).filter(|_| only_instances))
    {
        let (inventory, name_errors) = get_named(client, &workspaces, names).await;
        let added = considering.borrow_mut().add(&inventory.targets);
        if let Some(turns) = &turns {
            turns.hand_over(&considering.borrow(), added.clone());
        }
        return Listed {
            order: added.collect(),
            unhandled: inventory.unhandled,
            errors: inventory.errors,
            name_errors,
        };
    }
    let mut unhandled = Vec::new();
    let each = |found: Found| -> Result<(), Infallible> {
        let added = considering.borrow_mut().add(&found.targets);
        if let Some(turns) = &turns {
            turns.hand_over(&considering.borrow(), added);
        }
        unhandled.extend(found.unhandled);
        Ok(())
    };
    // Acting on each listing as it comes wants every subscription's first workspace early.
    let order = if turns.is_some() { Order::SubscriptionsInTurn } else { Order::ById };
    let discovery = discover_each_in(client, scope, order, each);
    let interrupted = async {
        match turns.as_ref() {
            Some(turns) => turns.interrupt.requested().await,
            None => std::future::pending().await,
        }
    };
    let errors = tokio::select! {
        listed = discovery => {
            let Ok(errors) = listed;
            errors
        }
        () = interrupted => vec![anyhow::anyhow!(
            "shutdown came before {} was listed to its end: the rest of it was not acted on",
            describe(scope)
        )],
    };
    // In the order of their ids whatever their kind, as the whole inventory was.
    let considering = considering.borrow();
    let mut order = (0..considering.len()).collect::<Vec<_>>();
    order.sort_by(|&a, &b| match (considering.get(a), considering.get(b)) {
        (Some(a), Some(b)) => a.cmp_ids(b),
        _ => a.cmp(&b),
    });
    unhandled.sort_by_cached_key(|unhandled| unhandled.id.to_lowercase());
    Listed { order, unhandled, errors, name_errors: Vec::new() }
}

/// How one action ended, as its row shows it.
#[derive(Debug)]
struct Applied {
    result: Verdict,
    /// What the row says of it besides, for the few that say something (kept apart, so that the results of a
    /// whole fleet stay small).
    said: Option<Box<Said>>,
}

/// A row's reason and error.
#[derive(Debug, Default)]
struct Said {
    reason: Option<String>,
    error: Option<String>,
}

impl Applied {
    /// The row's view of an outcome (`Err`: a state error kept the action from being sent).
    fn of(result: Result<RunOutcome, String>) -> Applied {
        let done = match result {
            Ok(done) => done,
            Err(error) => {
                return Applied {
                    result: Verdict::Failed,
                    said: Some(Box::new(Said { reason: None, error: Some(error) })),
                };
            }
        };
        let result = match done.result {
            EventKind::Succeeded => Verdict::Succeeded,
            EventKind::Accepted => Verdict::Accepted,
            EventKind::Skipped => Verdict::Skipped,
            _ => Verdict::Failed,
        };
        let error = match (result, done.error, &done.reason) {
            (Verdict::Failed, Some(error), _) => Some(error),
            (Verdict::Failed, None, reason) => Some(format!("{}: {}", done.result, reason.as_deref().unwrap_or("-"))),
            (_, error, _) => error,
        };
        let reason = done.reason.filter(|_| result == Verdict::Skipped);
        let said = (reason.is_some() || error.is_some()).then(|| Box::new(Said { reason, error }));
        Applied { result, said }
    }
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
            Ok(compute) => inventory.targets.push(autostop_engine::discover::instance(&compute)),
            Err(err) => errors.push((name, err.to_string())),
        }
    }
    (inventory, errors)
}

/// How long SIGTERM / SIGINT lets the operations in flight finish (a later run confirms the rest).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// SIGTERM and SIGINT from here on send nothing new and let what is in flight finish for [`SHUTDOWN_GRACE`].
fn interrupt_on_signals() -> anyhow::Result<Interrupt> {
    autostop_serve::signals::interrupt_on_signals(SHUTDOWN_GRACE).context("listening for SIGTERM and SIGINT")
}

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

//! `autostop enforce idle-shutdown`: sets Azure ML's own idle shutdown of every compute instance in the scope
//! whose idle shutdown is off or longer than `--max`, and records each change in the audit log.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use autostop_policy::idle::{MAX_IDLE_SHUTDOWN, MIN_IDLE_SHUTDOWN, idle_shutdown_plan};
use autostop_policy::tags::TagNames;
use autostop_policy::{Kind, Scope};
use clap::{Args, Subcommand};

use crate::Outcome;
use crate::cli::{AzureArgs, OutputFormat, ScopeArgs};
use crate::connect::{Connection, process_env};
use autostop_engine::discover::{describe, discover};
use autostop_engine::idle::{IdleOptions, IdleRow, enforce};

/// `autostop enforce ...`
#[derive(Debug, Subcommand)]
pub enum EnforceCommand {
    /// Set the idle shutdown of every compute instance in the scope whose idle shutdown is off or longer than
    /// --max (owners opt out with the tag autostop = off).
    IdleShutdown(IdleShutdownArgs),
}

/// `autostop enforce idle-shutdown --max 60m [SCOPE] [--dry-run] [--yes]`
#[derive(Debug, Args)]
pub struct IdleShutdownArgs {
    /// The longest idle shutdown allowed (15m to 3d, Azure's bounds), e.g. 60m.
    #[arg(long, value_name = "DURATION")]
    max: String,
    /// Show what would change; change nothing, record nothing.
    #[arg(long)]
    dry_run: bool,
    /// Do not ask before changing instances on a terminal.
    #[arg(long, short = 'y')]
    yes: bool,
    /// The audit log (default: $XDG_STATE_HOME/autostop/audit.db, else ~/.local/state/autostop/audit.db).
    #[arg(long, value_name = "PATH")]
    state: Option<std::path::PathBuf>,
    #[command(flatten)]
    scope: ScopeArgs,
    #[command(flatten)]
    azure: AzureArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    output: OutputFormat,
}

/// Runs an `enforce` verb.
pub async fn run(command: EnforceCommand) -> anyhow::Result<Outcome> {
    let EnforceCommand::IdleShutdown(args) = command;
    let max = autostop_policy::parse_duration(&args.max).map_err(|err| crate::UsageError(format!("--max: {err}")))?;
    if !(MIN_IDLE_SHUTDOWN..=MAX_IDLE_SHUTDOWN).contains(&max) {
        return Err(crate::UsageError(format!(
            "--max: expected 15 minutes to 3 days (Azure's bounds), found {:?}",
            args.max
        ))
        .into());
    }
    if args.scope.kinds.iter().any(|kind| *kind != Kind::ComputeInstance) {
        return Err(crate::UsageError("enforce idle-shutdown applies to compute instances only".into()).into());
    }
    let scope = args.scope.scope()?;
    let (_, client) = Connection::from_args(&args.azure).client(process_env)?;
    let store = crate::store::StateLocation::resolve(args.state.as_deref())?.open()?;
    let inventory = discover(&client, &scope).await;
    let scopes: Vec<Scope> = scope
        .subscriptions
        .iter()
        .map(|subscription| Scope {
            kinds: vec![Kind::ComputeInstance],
            subscription: subscription.to_string(),
            resource_group: scope.resource_group.clone(),
            workspace: scope.workspace.clone(),
        })
        .collect();
    let targets: Vec<_> = inventory.targets.into_iter().map(Arc::new).collect();
    let plan = idle_shutdown_plan(&targets, &scopes, &TagNames::default(), max);
    let ask = !args.dry_run && !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if ask && !plan.changes.is_empty() && !confirm(plan.changes.len(), &args.max, &describe(&scope))? {
        anyhow::bail!(crate::UsageError("cancelled: nothing was changed".into()));
    }
    let rows = enforce(&client, store.as_ref(), &plan, IdleOptions { dry_run: args.dry_run, run: None }).await?;
    print(&mut std::io::stdout().lock(), args.output, &rows)?;
    let failed = rows.iter().any(|row| row.result == "failed");
    Ok(match crate::report_errors(&inventory.errors) {
        Outcome::Success if !failed => Outcome::Success,
        _ => Outcome::SomeFailed,
    })
}

/// Prints the rows as `enforce idle-shutdown` does.
pub fn print(out: &mut dyn Write, format: OutputFormat, rows: &[IdleRow]) -> std::io::Result<()> {
    crate::output::print(out, format, rows, &["NAME", "RESULT", "OLD", "NEW", "DETAIL"], |row| {
        vec![
            row.name.clone(),
            row.result.to_owned(),
            row.old.clone().unwrap_or_else(|| "off".into()),
            row.new.clone().unwrap_or_else(|| "-".into()),
            row.reason.clone().or_else(|| row.error.clone()).unwrap_or_default(),
        ]
    })
}

fn confirm(count: usize, max: &str, scope: &str) -> anyhow::Result<bool> {
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "set the idle shutdown of {count} compute instance(s) in {scope} to {max}? [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

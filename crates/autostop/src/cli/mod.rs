//! The command line: one file per verb, and the arguments every verb shares.

mod act;
mod args;
mod check;
#[cfg(feature = "emulator")]
mod demo;
#[cfg(feature = "emulator")]
mod emulator;
mod enforce;
mod functions;
mod history;
mod init;
mod list;
mod plan;
mod run;
mod savings;
mod schedule;
mod serve;
mod state;

use clap::{Parser, Subcommand};

use crate::Outcome;
pub use args::{AzureArgs, OutputFormat, PolicyArgs, ScopeArgs, parse_instant};
use autostop_engine::savings::PriceSource;

/// Stop and start Azure Machine Learning compute instances on schedules and policies.
#[derive(Debug, Parser)]
#[command(name = "autostop", version, about, max_term_width = 100)]
#[cfg_attr(
    not(feature = "emulator"),
    command(after_help = "This build leaves out `emulator` and `demo` (built without the `emulator` feature).")
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the compute instances of the scope: state, size, owner, tags.
    List(list::ListArgs),
    /// Stop running compute instances.
    Stop(act::ActArgs),
    /// Start stopped compute instances.
    Start(act::ActArgs),
    /// Enforce Azure ML's own safety nets across the fleet: `enforce idle-shutdown --max 60m`.
    #[command(subcommand)]
    Enforce(enforce::EnforceCommand),
    /// Preview what the policy would do in a window of time, and why (changes nothing).
    Plan(plan::PlanArgs),
    /// Evaluate the schedule window since the last run (with catch-up) and act.
    Run(run::RunArgs),
    /// Run unattended: the scheduler daemon with /healthz and /metrics, or the Azure Functions custom handler
    /// (when FUNCTIONS_CUSTOMHANDLER_PORT is set).
    Serve(ServeCommand),
    /// Azure Functions deployment: `functions init` writes a deployable Function App folder.
    Functions(functions::FunctionsArgs),
    /// Show the audit log: every action, skip, miss and failure.
    History(history::HistoryArgs),
    /// The hours autostop kept instances stopped, and what they would have cost (Retail Prices API).
    Savings(savings::SavingsArgs),
    /// Manage the state itself: `state migrate` copies it between an SQLite file and Blob Storage.
    #[command(subcommand)]
    State(state::StateCommand),
    /// Validate a config file; every error with its line and column.
    Check(check::CheckArgs),
    /// Write a commented starter config file.
    Init(init::InitArgs),
    /// Explain a schedule: its next occurrences in local time and UTC.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Run the local Azure emulator (Entra, managed identity and ARM over HTTPS) in the foreground.
    #[cfg(feature = "emulator")]
    Emulator(emulator::EmulatorArgs),
    /// Start the emulator with a sample fleet and show list, stop --all --wait, list.
    #[cfg(feature = "emulator")]
    Demo(demo::DemoArgs),
}

/// Runs the verb the user chose.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if !matches!(cli.command, Command::Serve(_)) {
        // `serve` logs to stdout and sets up its own logging.
        crate::logging::init_logging(crate::logging::LoggingOptions::default());
    }
    match cli.command {
        Command::List(args) => runtime()?.block_on(list::run(args)),
        Command::Stop(args) => runtime()?.block_on(act::run(autostop_policy::Action::Stop, args)),
        Command::Start(args) => runtime()?.block_on(act::run(autostop_policy::Action::Start, args)),
        Command::Enforce(command) => runtime()?.block_on(enforce::run(command)),
        Command::Plan(args) => runtime()?.block_on(plan::run(args)),
        Command::Run(args) => runtime()?.block_on(run::run(args)),
        Command::Serve(args) => serve_command(args),
        Command::Functions(args) => functions::run(args),
        Command::History(args) => runtime()?.block_on(history::run(args)),
        Command::Savings(args) => runtime()?.block_on(savings::run(args)),
        Command::State(command) => runtime()?.block_on(state::run(command)),
        Command::Check(args) => check::run(args),
        Command::Init(args) => init::run(args),
        Command::Schedule(cmd) => schedule::run(cmd),
        #[cfg(feature = "emulator")]
        Command::Emulator(args) => emulator::run(args),
        #[cfg(feature = "emulator")]
        Command::Demo(args) => runtime()?.block_on(demo::run(args)),
    }
}

/// `autostop serve`: its own flags, plus where the audit log is and how to reach Azure.
#[derive(Debug, clap::Args)]
struct ServeCommand {
    #[command(flatten)]
    serve: serve::ServeArgs,
    /// State: audit log, claims, last evaluated instant: an SQLite file (default: the platform state directory)
    /// or a Blob Storage URL (https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]).
    #[arg(long, env = "AUTOSTOP_STATE", value_name = "PATH|URL")]
    state: Option<std::path::PathBuf>,
    #[command(flatten)]
    azure: AzureArgs,
    #[command(flatten)]
    apply: autostop_engine::apply::ApplyArgs,
    /// Status page prices: a saved Retail Prices API answer (nothing is fetched).
    #[arg(long, value_name = "FILE")]
    prices: Option<std::path::PathBuf>,
    /// Status page currency, asked of the Retail Prices API (USD, EUR, JPY...); a price file has its own.
    #[arg(long, value_name = "CODE", default_value = "USD", conflicts_with = "prices")]
    currency: String,
}

fn serve_command(args: ServeCommand) -> anyhow::Result<Outcome> {
    // Under the Functions host an invocation has a time limit: record operations as accepted, do not follow them.
    let wait = std::env::var_os("FUNCTIONS_CUSTOMHANDLER_PORT").is_none();
    let ServeCommand { serve, state, azure, apply, prices, currency } = args;
    let apply = apply.options(wait);
    let prices = PriceSource::from_args(prices, &currency).map_err(|err| crate::UsageError(err.to_string()))?;
    let election = serve.election();
    serve::run(serve, move |config_path| {
        let policy = PolicyArgs { config: Some(config_path.to_owned()), state, azure };
        let config = crate::config::load(config_path)?;
        let location = policy.state()?;
        let leader_at_start = config.state.leader;
        let (store, lease) = if election.elects(leader_at_start) {
            let (store, lease) = location.open_with_lease(election.lease)?;
            (store, Some(lease))
        } else {
            (location.open()?, None)
        };
        let token = std::env::var(autostop_status::TOKEN_ENV).ok();
        let azure = policy.azure.clone();
        let connect: autostop_status::Connect =
            std::sync::Arc::new(move |config| crate::config::client(config, &azure));
        let page = autostop_status::StatusPage::new(config.clone(), connect, store.clone(), prices, token);
        let page = std::sync::Arc::new(page);
        let pages: Option<std::sync::Arc<dyn autostop_serve::Pages>> = Some(page.clone());
        let engine_store = store.clone();
        let wakeups = autostop_engine::evaluation::Wakeups::default();
        // The postponed stops still to come, so that the daemon wakes for them from the start.
        let since =
            autostop_engine::evaluation::postponements_since(&config, jiff::Timestamp::now(), jiff::Timestamp::now());
        let postponed =
            anyhow::Context::context(runtime()?.block_on(store.postponements(since)), "reading the postponed stops")?;
        wakeups.add(postponed.iter().filter_map(|postponed| postponed.until));
        let key = link_key()?;
        let links =
            std::sync::Arc::new(autostop_serve::Links::new(store.clone(), config, key.clone(), wakeups.clone()));
        let following = links.clone();
        // Called at start and on SIGHUP: once the engine is built, the links and the status page follow its
        // configuration too; a configuration that fails to load leaves all three as they were.
        let loader = move || {
            let (config, client) = crate::config::connect(&policy.config_path(), &policy.azure)?;
            if let Some(warning) = election.reload_warning(leader_at_start, config.state.leader) {
                tracing::warn!("{warning}");
            }
            let options = autostop_engine::evaluation::EngineOptions {
                apply: apply.clone(),
                link_key: key.clone(),
                ..Default::default()
            };
            following.follow(config.clone());
            page.follow(config.clone());
            Ok(autostop_engine::evaluation::Engine::new(config, client, engine_store.clone(), options)
                .with_wakeups(wakeups.clone()))
        };
        Ok(serve::Parts { loader, store, pages, links, election: lease })
    })
}

/// `AUTOSTOP_LINK_KEY`, the key notice links are signed with, when set (at least 32 bytes); never shown.
pub fn link_key() -> anyhow::Result<Option<Vec<u8>>> {
    match std::env::var_os("AUTOSTOP_LINK_KEY") {
        None => Ok(None),
        Some(key) if key.len() >= 32 => Ok(Some(key.into_encoded_bytes())),
        Some(key) => Err(crate::UsageError(format!(
            "AUTOSTOP_LINK_KEY: expected at least 32 bytes, found {} (its value is not shown)",
            key.len()
        ))
        .into()),
    }
}

/// The verbs' runtime: one thread. Their work is waiting on ARM, and one thread keeps memory small (one malloc
/// arena) when thousands of operations are followed at once.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

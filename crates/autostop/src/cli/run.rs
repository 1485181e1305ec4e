//! `autostop run`: evaluates the schedule window since the last run (with catch-up) and acts. For cron, CI and
//! Kubernetes CronJobs; the daemon and the Functions handler run the same engine.

use std::path::Path;
use std::sync::Arc;

use autostop_audit::Store;
use autostop_azure::ArmClient;
use autostop_policy::Config;
use clap::Args;
use jiff::Timestamp;

use crate::Outcome;
use crate::apply::{ApplyArgs, ApplyOptions};
use crate::cli::{OutputFormat, PolicyArgs, parse_instant};
use crate::connect::{Connection, process_env};
use crate::engine::{Engine, LAST_EVALUATED_KEY, RunOutcome};

/// `autostop run [--now TIME] [--config PATH] [--state PATH] [--output json]`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Evaluate as if it were this instant (RFC 3339, or a local date-time in the default time zone): for
    /// back-testing.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// Do not follow operations to their end: record them as accepted.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    apply: ApplyArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    output: OutputFormat,
}

/// Reads the config file and connects to Azure as it (and the command line) says.
pub fn connect(config_path: &Path, policy: &PolicyArgs) -> anyhow::Result<(Config, ArmClient)> {
    let config = crate::cli::check::load(config_path)?;
    let connection = Connection::from_args_and_config(&policy.azure, &config.azure)?;
    let (_, client) = connection.client(process_env)?;
    Ok((config, client))
}

/// Builds the engine from a config file and an audit database.
pub fn engine(
    config_path: &Path,
    store: Arc<Store>,
    policy: &PolicyArgs,
    apply: ApplyOptions,
) -> anyhow::Result<Engine> {
    let (config, client) = connect(config_path, policy)?;
    Ok(Engine::new(config, client, store, apply))
}

/// Runs `autostop run`.
pub async fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let store = Arc::new(Store::open(&args.policy.state_path()?)?);
    let apply = args.apply.options(!args.no_wait);
    let engine = engine(&args.policy.config_path(), store.clone(), &args.policy, apply)?;
    let now = match &args.now {
        Some(text) => parse_instant(text, engine.config().defaults.timezone.time_zone(), "--now")?,
        None => Timestamp::now(),
    };
    let last = store.last_evaluated(LAST_EVALUATED_KEY)?;
    let report = engine.run_window(last, now, None).await?;
    for rule in &report.idle_rules {
        eprintln!("autostop: rule {rule} selects no instance in scope");
    }
    for error in &report.discovery_errors {
        eprintln!("autostop: {error}");
    }
    print(&mut std::io::stdout().lock(), args.output, &report.outcomes)?;
    Ok(if report.any_failed() { Outcome::SomeFailed } else { Outcome::Success })
}

/// Prints run outcomes as a table or a JSON array.
pub fn print(out: &mut dyn std::io::Write, format: OutputFormat, outcomes: &[RunOutcome]) -> std::io::Result<()> {
    let header = ["RULE", "OCCURRENCE", "NAME", "ACTION", "RESULT", "DETAIL"];
    crate::output::print(out, format, outcomes, &header, |o| {
        vec![
            o.rule.clone(),
            o.occurrence.clone(),
            o.name.clone().unwrap_or_else(|| "-".into()),
            o.action.clone(),
            o.result.to_string(),
            o.reason.clone().or_else(|| o.error.clone()).unwrap_or_default(),
        ]
    })
}

//! `autostop demo`: the whole job against the embedded emulator, from one command.

use std::io::Write;
use std::time::Duration;

use anyhow::Context as _;
use autostop_emulator::{Emulator, Fleet, Options};
use autostop_policy::Action;
use clap::Args;

use crate::Outcome;
use crate::cli::OutputFormat;
use crate::cli::act::{Request, execute as act};
use crate::cli::list::execute as list;
use crate::connect::Connection;
use autostop_engine::apply::ApplyOptions;
use autostop_engine::discover::Scope;
use autostop_policy::targets::Selection;

/// `autostop demo [--output table|json]`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output format of each step.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    output: OutputFormat,
}

/// Starts the emulator in-process with the sample fleet, then lists, stops everything and waits, and lists again.
pub async fn run(args: DemoArgs) -> anyhow::Result<Outcome> {
    let fleet = Fleet::sample();
    let subscriptions = fleet.subscriptions.iter().map(|subscription| subscription.id.clone()).collect::<Vec<_>>();
    let emulator = Emulator::start(Options { fleet, transition: Duration::from_secs(2), ..Default::default() })
        .await
        .context("cannot start the emulator")?;
    let outcome = walk_through(&emulator, subscriptions, args.output).await;
    emulator.shutdown().await;
    outcome
}

async fn walk_through(
    emulator: &Emulator,
    subscriptions: Vec<String>,
    format: OutputFormat,
) -> anyhow::Result<Outcome> {
    let connection = Connection {
        cloud: autostop_azure::Cloud::Public,
        arm_endpoint: emulator.arm_endpoint(),
        credential: Some(autostop_azure::CredentialKind::ClientSecret),
        api_version: autostop_azure::DEFAULT_API_VERSION.to_owned(),
        extra_roots: Some(emulator.ca_path().to_owned()),
    };
    let env = emulator.env();
    let (_, client) =
        connection.client(|name| env.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()))?;
    let scope = Scope {
        subscriptions: subscriptions.iter().map(|id| id.parse()).collect::<Result<_, _>>()?,
        ..Default::default()
    };
    let mut out = std::io::stdout().lock();
    let step = |out: &mut dyn Write, title: &str| -> std::io::Result<()> {
        if format == OutputFormat::Table { writeln!(out, "\n$ autostop {title}") } else { Ok(()) }
    };
    if format == OutputFormat::Table {
        writeln!(
            out,
            "Azure emulator at {} with a sample fleet of {} subscriptions.",
            emulator.base_url(),
            subscriptions.len()
        )?;
    }
    step(&mut out, "list")?;
    let mut outcome = list(&client, &scope, format, &mut out).await?;
    step(&mut out, "stop --all --wait")?;
    let poll = autostop_engine::apply::cli_poll_options(Duration::from_millis(500));
    let request = Request {
        action: Action::Stop,
        selection: Selection::All,
        force: false,
        confirm: false,
        apply: ApplyOptions { wait: true, poll, ..Default::default() },
    };
    // The demo's actions are recorded in a state of its own, removed at the end: never in the user's.
    let state = std::env::temp_dir().join(format!("autostop-demo-{}", std::process::id()));
    let store = crate::store::StateLocation::Sqlite(state.join("state.db")).open()?;
    let acted = act(&client, store, &scope, &request, format, &mut out).await;
    let _ = std::fs::remove_dir_all(&state);
    outcome = outcome.and(acted?);
    step(&mut out, "list")?;
    outcome = outcome.and(list(&client, &scope, format, &mut out).await?);
    Ok(outcome)
}

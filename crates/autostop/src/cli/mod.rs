//! The command line: one file per verb, and the arguments every verb shares.

mod act;
mod args;
mod demo;
mod emulator;
mod list;
mod schedule;

use clap::{Parser, Subcommand};

use crate::Outcome;
pub use args::{AzureArgs, OutputFormat, ScopeArgs};

/// Stop and start Azure Machine Learning compute instances on schedules and policies.
#[derive(Debug, Parser)]
#[command(name = "autostop", version, about, max_term_width = 100)]
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
    /// Explain a schedule: its next occurrences in local time and UTC.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Run the local Azure emulator (Entra, managed identity and ARM over HTTPS) in the foreground.
    Emulator(emulator::EmulatorArgs),
    /// Start the emulator with a sample fleet and show list, stop --all --wait, list.
    Demo(demo::DemoArgs),
}

/// Runs the verb the user chose.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::List(args) => runtime()?.block_on(list::run(args)),
        Command::Stop(args) => runtime()?.block_on(act::run(autostop_policy::Action::Stop, args)),
        Command::Start(args) => runtime()?.block_on(act::run(autostop_policy::Action::Start, args)),
        Command::Schedule(cmd) => schedule::run(cmd),
        Command::Emulator(args) => emulator::run(args),
        Command::Demo(args) => runtime()?.block_on(demo::run(args)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

//! The command line: one file per verb, and the arguments every verb shares.

mod emulator;
mod schedule;

use clap::{Parser, Subcommand};

use crate::Outcome;

/// Stop and start Azure Machine Learning compute instances on schedules and policies.
#[derive(Debug, Parser)]
#[command(name = "autostop", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explain a schedule: its next occurrences in local time and UTC.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Run the local Azure emulator (Entra, managed identity and ARM over HTTPS) in the foreground.
    Emulator(emulator::EmulatorArgs),
}

/// Runs the verb the user chose.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Schedule(cmd) => schedule::run(cmd),
        Command::Emulator(args) => emulator::run(args),
    }
}

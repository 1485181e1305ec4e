//! `autostop schedule next`: explains a schedule expression.

use clap::Subcommand;

use crate::Outcome;

/// `autostop schedule ...`
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// The next occurrences of a schedule, in local time and UTC.
    Next {
        /// An NCRONTAB expression (5 or 6 fields) or a TimeSpan (hh:mm:ss).
        expr: String,
    },
}

/// Runs `autostop schedule ...`.
pub fn run(cmd: ScheduleCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ScheduleCommand::Next { expr } => anyhow::bail!("not yet implemented: {expr}"),
    }
}

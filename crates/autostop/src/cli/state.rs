//! `autostop state migrate --from PATH|URL --to PATH|URL`: copies a whole state between backends (an SQLite file
//! to a Blob container, or back), keeping every event. Run it while nothing evaluates against either state.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::cli::OutputFormat;
use crate::store::StateLocation;
use crate::{Outcome, UsageError};

/// `autostop state ...`.
#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// Copy every event, claim, pending occurrence and the schedule window from one state to another (empty) one.
    Migrate(MigrateArgs),
}

/// Arguments of `autostop state migrate`.
#[derive(Debug, Clone, clap::Args)]
pub struct MigrateArgs {
    /// The state to copy: an SQLite file or a Blob Storage URL.
    #[arg(long, value_name = "PATH|URL")]
    pub from: PathBuf,
    /// The state to fill (must hold no events yet): an SQLite file or a Blob Storage URL.
    #[arg(long, value_name = "PATH|URL")]
    pub to: PathBuf,
    /// How to print what was copied.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Runs `autostop state ...`.
pub async fn run(command: StateCommand) -> anyhow::Result<Outcome> {
    let StateCommand::Migrate(args) = command;
    let from = StateLocation::resolve(Some(&args.from))?;
    let to = StateLocation::resolve(Some(&args.to))?;
    if !from.exists() {
        return Err(UsageError(format!("--from {from}: no state there to migrate")).into());
    }
    if from == to {
        return Err(UsageError(format!("--from and --to are the same state ({from})")).into());
    }
    let (source, destination) = (from.open()?, to.open()?);
    let migrated = autostop_state::migrate(
        &*source,
        &*destination,
        &[autostop_engine::evaluation::LAST_EVALUATED_KEY],
        jiff::Timestamp::now(),
    )
    .await
    .with_context(|| format!("cannot migrate the state {from} to {to}"))?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&migrated)?),
        OutputFormat::Table => println!(
            "migrated {} events, {} claims, {} pending occurrences and {} schedule windows from {from} to {to}",
            migrated.events, migrated.claims, migrated.pending, migrated.windows
        ),
    }
    Ok(Outcome::Success)
}

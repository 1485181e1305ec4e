//! `autostop emulator`: runs the local Azure emulator in the foreground.

use clap::Args;

use crate::Outcome;

/// `autostop emulator [OPTIONS]`
#[derive(Debug, Args)]
pub struct EmulatorArgs {}

/// Runs the emulator until interrupted.
pub fn run(_args: EmulatorArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not yet implemented")
}

//! The `autostop` binary: parses the command line, runs one verb, and turns its outcome into an exit code.
//!
//! Exit codes live in exactly one place, [`exit_code`]: 0 when everything succeeded, 1 when some action failed,
//! 2 for usage or configuration errors.

mod cli;
mod config;
mod connect;
mod logging;
mod output;
mod store;

use std::process::ExitCode;

use clap::Parser;

/// What a verb reports back to `main`: whether every action it attempted succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing failed.
    Success,
    /// At least one action failed; the others were still attempted.
    SomeFailed,
}

impl Outcome {
    /// Success only when both are.
    pub fn and(self, other: Outcome) -> Outcome {
        if self == Outcome::Success { other } else { Outcome::SomeFailed }
    }
}

/// An error that is the user's to fix (bad arguments, bad configuration): exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let result = cli::run(cli);
    exit_code(result)
}

/// Prints errors that stopped part of the work (never all of it) and says whether any happened.
pub fn report_errors(errors: &[anyhow::Error]) -> Outcome {
    for err in errors {
        eprintln!("autostop: {err:#}");
    }
    if errors.is_empty() { Outcome::Success } else { Outcome::SomeFailed }
}

/// The one place that decides the process exit status.
fn exit_code(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::SomeFailed) => ExitCode::from(1),
        Err(err) => {
            eprintln!("autostop: {err:#}");
            let usage = err.chain().any(|cause| cause.is::<UsageError>());
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

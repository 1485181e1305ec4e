//! How actions are applied: concurrency per subscription, following operations, polling, and the arguments that
//! set them. The acting itself is the engine's (`evaluation::act`), for scheduled and ad-hoc actions alike.

use std::time::Duration;

use autostop_azure::{PollOptions, TargetId};
use autostop_policy::Action;
use autostop_policy::duration::positive_duration_arg;
use serde::Serialize;

/// How apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Follow each long-running operation to its end (else report it accepted).
    pub wait: bool,
    /// How many operations are being started at once in each subscription (following them to their end does not
    /// count).
    pub concurrency: usize,
    /// How operations are polled when waiting.
    pub poll: PollOptions,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { wait: false, concurrency: 32, poll: PollOptions::default() }
    }
}

/// One action to take.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    /// The target to act on.
    pub id: TargetId,
    /// What to do.
    pub action: Action,
}

/// How an action, or the decision not to act, ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The operation finished and the compute is in the wanted state.
    Succeeded,
    /// ARM accepted the operation (not followed: no `--wait`).
    Accepted,
    /// Left alone, for the reason given.
    Skipped,
    /// The action failed, with the error given.
    Failed,
}

/// How many actions' turns (claim to Azure's recorded answer) run at once at most; each subscription's
/// [`ApplyOptions::concurrency`] slots bound them first. An operation being followed is not counted: between its
/// polls it is a record of about 160 bytes and its status URL, and its polls are paced by the client's
/// per-subscription ARM budget.
pub const MAX_TURNS_AT_ONCE: usize = 16_384;

/// Polling for the CLI: ARM's own `Retry-After` when it gives one, else after the client's first delay (2 s, or
/// `interval` if shorter), doubling up to `interval`, for at most 30 minutes.
pub fn cli_poll_options(interval: Duration) -> PollOptions {
    PollOptions {
        first_delay: interval.min(PollOptions::default().first_delay),
        default_delay: interval,
        deadline: Duration::from_secs(30 * 60),
    }
}

/// How each verb that acts applies: concurrency and polling.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    /// How many start/stop requests are sent at once per subscription (operations being followed do not count).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// The longest wait between polls of an operation when ARM gives no Retry-After (e.g. 5s, 500ms); the first
    /// poll comes after at most 2 s, and the wait doubles from there.
    #[arg(long, env = "AUTOSTOP_POLL_INTERVAL", default_value = "5s", value_parser = positive_duration_arg)]
    pub poll_interval: Duration,
}

impl ApplyArgs {
    /// The apply options these arguments give, following operations to their end when `wait`.
    pub fn options(&self, wait: bool) -> ApplyOptions {
        ApplyOptions { wait, concurrency: usize::from(self.concurrency), poll: cli_poll_options(self.poll_interval) }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        apply: ApplyArgs,
    }

    fn parse(args: &[&str]) -> Result<ApplyArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("stop").chain(args.iter().copied())).map(|cli| cli.apply)
    }

    #[test]
    fn the_poll_interval_is_a_positive_duration() {
        assert_eq!(parse(&["--poll-interval", "500ms"]).expect("valid").poll_interval, Duration::from_millis(500));
        assert_eq!(parse(&["--poll-interval", "1m30s"]).expect("valid").poll_interval, Duration::from_secs(90));
        let err = parse(&["--poll-interval", "0s"]).expect_err("zero").to_string();
        assert!(err.contains("expected a duration above zero, found \"0s\""), "{err}");
        let err = parse(&["--poll-interval", "often"]).expect_err("not a duration").to_string();
        assert!(err.contains("--poll-interval") && err.contains("\"often\""), "{err}");
    }
}

//! Apply: carries out start and stop actions concurrently; one failure never stops the others.

use std::time::Duration;

use autostop_azure::{ArmClient, ComputeId, PollOptions, PowerAction};
use autostop_policy::Action;
use futures::stream::{self, StreamExt};
use serde::Serialize;

/// How apply runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Follow each long-running operation to its end (else report it accepted).
    pub wait: bool,
    /// How many actions are in flight at once.
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
    /// The compute to act on.
    pub id: ComputeId,
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

/// The result of one action.
#[derive(Debug, Clone)]
pub struct Applied {
    /// How it ended.
    pub verdict: Verdict,
    /// The error, when it failed: code, message and the resource.
    pub error: Option<String>,
    /// The compute's state when it was last seen, when known.
    pub state: Option<String>,
}

/// Runs every request, at most `options.concurrency` at once; results come back in request order.
/// A progress bar counts them on a terminal.
pub async fn apply(client: &ArmClient, requests: &[ActionRequest], options: &ApplyOptions) -> Vec<Applied> {
    let progress = crate::progress::bar(requests.len(), "operations");
    let applied = stream::iter(requests)
        .map(|request| apply_one(client, request, options))
        .buffered(options.concurrency.max(1))
        .inspect(|_| progress.inc(1))
        .collect()
        .await;
    progress.finish_and_clear();
    applied
}

/// Runs one request: begins the operation and, with `options.wait`, follows it to its end.
pub async fn apply_one(client: &ArmClient, request: &ActionRequest, options: &ApplyOptions) -> Applied {
    let action = match request.action {
        Action::Start => PowerAction::Start,
        Action::Stop => PowerAction::Stop,
    };
    let failed =
        |err: autostop_azure::Error| Applied { verdict: Verdict::Failed, error: Some(err.to_string()), state: None };
    let operation = match client.begin(&request.id, action).await {
        Ok(operation) => operation,
        Err(err) => return failed(err),
    };
    if !options.wait {
        return Applied { verdict: Verdict::Accepted, error: None, state: None };
    }
    match client.wait(&operation, &options.poll).await {
        Ok(compute) => Applied {
            verdict: Verdict::Succeeded,
            error: None,
            state: compute.state.map(|state| state.as_str().to_owned()),
        },
        Err(err) => failed(err),
    }
}

/// Polling for the CLI: ARM's own `Retry-After` when it gives one, else every `interval`, for at most 30 minutes.
pub fn cli_poll_options(interval: Duration) -> PollOptions {
    PollOptions { default_delay: interval, deadline: Duration::from_secs(30 * 60) }
}

/// How each verb that acts applies: concurrency and polling.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    /// How many operations run at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// How often an operation's status is polled when ARM gives no Retry-After (e.g. 5s, 500ms).
    #[arg(long, env = "AUTOSTOP_POLL_INTERVAL", default_value = "5s", value_parser = parse_interval)]
    pub poll_interval: Duration,
}

impl ApplyArgs {
    /// The apply options these arguments give, following operations to their end when `wait`.
    pub fn options(&self, wait: bool) -> ApplyOptions {
        ApplyOptions { wait, concurrency: usize::from(self.concurrency), poll: cli_poll_options(self.poll_interval) }
    }
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let span: jiff::SignedDuration =
        text.parse().map_err(|err| format!("expected a duration such as 5s or 500ms, found {text:?}: {err}"))?;
    Duration::try_from(span)
        .ok()
        .filter(|interval| !interval.is_zero())
        .ok_or_else(|| format!("expected a positive duration, found {text:?}"))
}

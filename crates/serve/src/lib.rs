//! Running autostop unattended: the daemon (`autostop serve`) and the Azure Functions custom handler.
//!
//! This crate owns the loop, the signals, the HTTP endpoints and the metrics; it decides nothing about
//! instances. What to do in a window of time is the engine's business, reached only through [`Evaluate`]
//! (the same engine `autostop run` uses); where "last evaluated" is kept is reached only through [`LastStore`];
//! how the engine is (re)built from the configuration is reached only through [`Load`]. Tests drive every
//! part here with fakes of these three traits.
//!
//! Windows are half-open: an evaluation covers the occurrences in `(last, now]`. `last = None` means "no
//! memory": the engine looks back by its catch-up limit.

mod daemon;
mod engine;
#[cfg(test)]
mod fakes;
mod functions;
mod http;
mod http_trigger;
mod links;
mod metrics;
mod retention;
mod server;
pub mod signals;
mod timer;

use std::collections::BTreeMap;
use std::future::Future;

use jiff::Timestamp;

pub use autostop_engine::evaluation::Pruned;
pub use autostop_engine::interrupt::Interrupt;
pub use daemon::{DaemonOptions, run_daemon};
pub use functions::{FunctionsOptions, run_functions};
pub use http_trigger::{REQUEST_BINDING, RESPONSE_BINDING};
pub use links::Links;
pub use server::ServerLimits;
pub use signals::forward_signals;

/// Where the savings totals go once computed (hours, cost, currency): `/metrics`.
pub use autostop_status::SavingsSink;

/// More read-only routes the daemon serves next to `/healthz` and `/metrics` (the status page).
pub trait Pages: Send + Sync + std::fmt::Debug + 'static {
    /// The routes for a daemon listening on `listen`; an error (e.g. a public address without the token the
    /// page requires) stops the daemon from starting.
    fn router(&self, listen: std::net::SocketAddr, savings: SavingsSink) -> anyhow::Result<axum::Router>;
}

impl Pages for autostop_status::StatusPage {
    fn router(&self, listen: std::net::SocketAddr, savings: SavingsSink) -> anyhow::Result<axum::Router> {
        Ok(autostop_status::StatusPage::router(self, listen, savings)?)
    }
}

/// The window one evaluation covers: the occurrences in `(last, now]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The end of the previous window; `None`: the engine's catch-up limit back from `now`.
    pub last: Option<Timestamp>,
    /// The end of this window (inclusive).
    pub now: Timestamp,
}

/// What the daemon and the Functions handler need from the engine that `autostop run` uses.
pub trait Evaluate: Send + Sync + 'static {
    /// Evaluates the occurrences in the window, acts, records in the audit log, and returns one line per action,
    /// skip, miss and failure, with counts.
    ///
    /// Once `interrupt` is requested (SIGTERM / SIGINT) the engine starts no new operation, records the actions
    /// it has not started as interrupted, lets the started ones finish, and returns.
    fn evaluate(&self, window: Window, interrupt: Interrupt)
    -> impl Future<Output = anyhow::Result<Evaluation>> + Send;

    /// The next occurrence of any rule strictly after `after` (`None`: no rule ever fires).
    fn next_occurrence(&self, after: Timestamp) -> Option<Timestamp>;

    /// Deletes the audit events older than the configured retention (`[state] keep`) at `now`; `None` when none
    /// is configured.
    fn prune(&self, now: Timestamp) -> impl Future<Output = anyhow::Result<Option<Pruned>>> + Send;

    /// Like [`Evaluate::prune`], but only when the state says the last prune, by any process, is at least `every`
    /// old; `None` also when it is not due.
    fn prune_when_due(
        &self,
        now: Timestamp,
        every: jiff::SignedDuration,
    ) -> impl Future<Output = anyhow::Result<Option<Pruned>>> + Send;
}

/// Builds the engine from the configuration: once at start, and again on SIGHUP.
pub trait Load: Send + Sync + 'static {
    /// The engine this loader builds.
    type Engine: Evaluate;

    /// Reads and validates the configuration and builds an engine from it; an error leaves the old engine in place.
    fn load(&self) -> anyhow::Result<Self::Engine>;
}

impl<E: Evaluate, F: Fn() -> anyhow::Result<E> + Send + Sync + 'static> Load for F {
    type Engine = E;

    fn load(&self) -> anyhow::Result<E> {
        self()
    }
}

/// Where the daemon keeps the end of its last evaluated window, so that a restart catches up.
pub trait LastStore: Send + Sync + 'static {
    /// The end of the last evaluated window, if any was recorded.
    fn load_last(&self) -> impl Future<Output = anyhow::Result<Option<Timestamp>>> + Send;

    /// Records the end of a window that was evaluated (never moving it back).
    fn save_last(&self, at: Timestamp) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The result of one action, a label of the `autostop_actions_total` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActionResult {
    /// The start or stop was done.
    Succeeded,
    /// The start or stop was attempted and failed.
    Failed,
    /// The plan skipped the instance (opted out, snoozed, busy, already in the wanted state...).
    Skipped,
    /// The occurrence was older than the catch-up limit.
    Missed,
    /// Shutdown came before the action started, or its run ended before its outcome was known.
    Interrupted,
    /// Azure accepted the action but the target was not read back in its state before the deadline.
    Unconfirmed,
}

impl ActionResult {
    /// The label value used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionResult::Succeeded => "succeeded",
            ActionResult::Failed => "failed",
            ActionResult::Skipped => "skipped",
            ActionResult::Missed => "missed",
            ActionResult::Interrupted => "interrupted",
            ActionResult::Unconfirmed => "unconfirmed",
        }
    }
}

/// Counts of Azure Resource Manager traffic during one evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArmStats {
    /// Requests sent (each retry counts again).
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// Answers that were 429 (throttled).
    pub throttled: u64,
}

/// What one evaluation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// One human line per action, skip, miss and failure.
    pub lines: Vec<String>,
    /// Start and stop calls attempted.
    pub attempted: usize,
    /// Attempted calls that succeeded.
    pub succeeded: usize,
    /// Attempted calls that failed.
    pub failed: usize,
    /// How many actions ended how, by rule name: `(rule, result) -> count`.
    pub actions: BTreeMap<(String, ActionResult), u64>,
    /// How many notices went how, by channel: `(channel, result) -> count`.
    pub notices: BTreeMap<(String, ActionResult), u64>,
    /// Instances seen at discovery, by state as ARM spells it (`Running`, `Stopped`, ...).
    pub instances_by_state: BTreeMap<String, u64>,
    /// ARM traffic of this evaluation.
    pub arm: ArmStats,
    /// Everything someone must hear about (failed, missed, interrupted or unconfirmed actions, scopes that could
    /// not be read, state errors), one line each. Empty for a clean evaluation.
    pub problems: Vec<String>,
    /// Actions accepted by Azure and still to be confirmed: the daemon evaluates again soon to confirm them.
    pub unconfirmed_open: usize,
}

impl Evaluation {
    /// True when nothing needs anyone's attention.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

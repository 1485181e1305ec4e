//! The daemon loop of `autostop serve`: sleep until the next occurrence, evaluate `(last, now]`, remember `now`.
//!
//! Runs never overlap (one loop, one evaluation at a time). On start it catches up: when an occurrence fell
//! between the stored "last evaluated" and now, it evaluates at once (the engine runs what is within its catch-up
//! limit and records the rest as missed). Shutdown asks the engine to stop starting operations and waits for it,
//! up to a grace period; then (or at a second shutdown request) it tells the engine to record what is still in
//! flight as interrupted and gives it [`RECORD_WAIT`] to do so; a third request, or an engine that does not return,
//! leaves at once. SIGHUP reloads the configuration between
//! (or during) runs; an invalid configuration keeps the old engine. The loop reads the wall clock only through
//! [`Clock`], so tests run it on Tokio's paused time.
//!
//! With leader election (`--ha`, [`autostop_state::election`]) the loop evaluates only while this replica leads: a follower
//! waits (serving HTTP), a replica that takes over evaluates at once from the shared "last evaluated" (catching
//! up what the previous leader left, confirming what it left open), and one that loses the lease during an
//! evaluation tells the engine to send nothing new, as shutdown does. After an evaluation the leader prunes the
//! audit log (`[state] keep`) in the background, at most daily ([`super::retention`]).
//!
//! Here: the options, the start (HTTP, election) and the end. The loop is [`scheduler`]; when it wakes is decided
//! by [`agenda`] without I/O; one evaluation under shutdown and lease loss is [`evaluation`].

mod agenda;
mod evaluation;
mod scheduler;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use autostop_state::{LeaderIdentity, LeaderLease, Owner};
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot, watch};

use super::metrics::Metrics;
use super::retention::{Cadence, Retention};
use super::server::{ServerLimits, serve};
use super::{LastStore, Load, Pages, http};
use crate::signals::Control;
use autostop_state::election::{Role, Timing, elect};
use scheduler::Scheduler;

/// How long the engine gets, once told to abandon the operations in flight, to record them and return.
pub(super) const RECORD_WAIT: Duration = Duration::from_secs(10);

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// Where `/healthz` and `/metrics` are served (port 0: any free port, announced in the log).
    pub listen: SocketAddr,
    /// Limits on the HTTP connections.
    pub http: ServerLimits,
    /// How long shutdown waits for the run in flight before abandoning it.
    pub shutdown_grace: Duration,
    /// The longest single sleep: the wall clock is read again at least this often (it may jump, e.g. on resume).
    pub max_sleep: Duration,
    /// How long to wait before evaluating again after an evaluation returned an error, left problems (pending
    /// occurrences are retried) or left actions to confirm.
    pub retry_after_error: Duration,
    /// More pages to serve (the status page at `/`).
    pub pages: Option<Arc<dyn Pages>>,
    /// More routes served beside `/healthz` and `/metrics` (the notice links).
    pub routes: axum::Router,
    /// Leader election (`--ha`): the lease the replicas sharing the state take turns holding. `None`: this
    /// daemon always evaluates.
    pub election: Option<LeaderLease>,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            http: ServerLimits::default(),
            shutdown_grace: Duration::from_secs(60),
            max_sleep: Duration::from_secs(300),
            retry_after_error: Duration::from_secs(60),
            pages: None,
            routes: axum::Router::new(),
            election: None,
        }
    }
}

/// The wall clock, as the loop sees it.
pub(super) trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Runs the daemon until shutdown: serves HTTP on `options.listen` and evaluates on schedule.
///
/// `controls` carries shutdown and reload requests (see [`super::forward_signals`]); a closed channel means
/// shutdown. Fails when the configuration or the store cannot be read at start, or the address cannot be bound.
pub async fn run_daemon<L: Load, S: LastStore>(
    loader: L,
    store: S,
    options: DaemonOptions,
    controls: mpsc::Receiver<Control>,
) -> anyhow::Result<()> {
    let engine = loader.load().context("loading the configuration")?;
    let metrics = Arc::new(Metrics::default());
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("binding the HTTP address {}", options.listen))?;
    let addr = listener.local_addr().context("reading the bound HTTP address")?;
    tracing::info!(%addr, "listening");
    let (stop_http, http_stopped) = oneshot::channel::<()>();
    let mut router = http::router(metrics.clone()).merge(options.routes.clone());
    if let Some(pages) = &options.pages {
        let sink = metrics.clone();
        router = router.merge(
            pages.router(addr, Arc::new(move |hours, cost, currency| sink.record_savings(hours, cost, currency)))?,
        );
    }
    let server = tokio::spawn(serve(listener, router, options.http, async {
        let _ = http_stopped.await;
    }));
    let (role, election) = match options.election.clone() {
        Some(lease) => {
            let (role, election) = start_election(lease, addr, metrics.clone());
            (Some(role), Some(election))
        }
        None => {
            metrics.set_role(None);
            (None, None)
        }
    };
    let scheduler = Scheduler {
        loader,
        store,
        engine: Arc::new(engine),
        metrics,
        clock: SystemClock,
        options,
        role,
        retention: Retention::new(Cadence::Daemon),
    };
    let result = scheduler.run(controls).await;
    if let Some((stop, task)) = election {
        // A leader gives the lease back before exiting, so that another replica takes over at once.
        let _ = stop.send(());
        if tokio::time::timeout(RECORD_WAIT, task).await.is_err() {
            tracing::error!("the leader election did not end in time: the lease expires by itself");
        }
    }
    let _ = stop_http.send(());
    if let Err(err) = server.await {
        tracing::warn!(error = %err, "the HTTP server task failed");
    }
    result
}

/// Starts the election for a daemon listening on `addr`: the role it publishes (also shown by `/healthz` and
/// `/metrics`), and how to stop it.
fn start_election(
    lease: LeaderLease,
    addr: SocketAddr,
    metrics: Arc<Metrics>,
) -> (watch::Receiver<Role>, (oneshot::Sender<()>, tokio::task::JoinHandle<()>)) {
    let me = LeaderIdentity { host: Owner::this_process().host, pid: std::process::id(), listen: addr.to_string() };
    let timing = Timing::for_lease(lease.duration().get());
    let (role_tx, role) = watch::channel(Role::Follower { leader: None, problem: None });
    metrics.set_role(Some(&role.borrow()));
    let mut shown = role.clone();
    tokio::spawn(async move {
        while shown.changed().await.is_ok() {
            let current = shown.borrow_and_update().clone();
            metrics.set_role(Some(&current));
        }
    });
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(elect(lease, me, timing, role_tx, stopped));
    (role, (stop, task))
}

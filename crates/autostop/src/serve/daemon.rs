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
//! With leader election (`--ha`, [`super::leader`]) the loop evaluates only while this replica leads: a follower
//! waits (serving HTTP), a replica that takes over evaluates at once from the shared "last evaluated" (catching
//! up what the previous leader left, confirming what it left open), and one that loses the lease during an
//! evaluation tells the engine to send nothing new, as shutdown does. After an evaluation the leader prunes the
//! audit log (`[state] keep`) in the background, at most daily ([`super::retention`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use autostop_state::{LeaderIdentity, LeaderLease, Owner};
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::leader::{Role, Timing, elect};
use super::metrics::Metrics;
use super::retention::Retention;
use super::server::{ServerLimits, serve};
use super::{Evaluate, LastStore, Load, Pages, Window, http};
use crate::signals::{Control, Interrupt, Stage};

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
        retention: Retention::default(),
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

/// How one evaluation ended, as the loop sees it.
enum RunEnd {
    /// The window was evaluated: remember its end. `recheck`: it left problems or actions to confirm, so evaluate
    /// again after the retry pause even if no occurrence is due.
    Evaluated { recheck: bool },
    /// The evaluation returned an error: try again after a pause, with the same start.
    Failed,
    /// Shutdown came: exit (an interrupted window is not remembered, so a restart evaluates it again).
    Stop,
    /// The leader lease was lost during it: follow (the window is not remembered; the next leader evaluates it).
    Deposed,
}

pub(super) struct Scheduler<L: Load, S, C> {
    pub(super) loader: L,
    pub(super) store: S,
    pub(super) engine: Arc<L::Engine>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) clock: C,
    pub(super) options: DaemonOptions,
    /// This replica's role from the election; `None` without one: it always leads.
    pub(super) role: Option<watch::Receiver<Role>>,
    pub(super) retention: Retention,
}

impl<L: Load, S: LastStore, C: Clock> Scheduler<L, S, C> {
    pub(super) async fn run(mut self, mut controls: mpsc::Receiver<Control>) -> anyhow::Result<()> {
        let mut last = self.store.load_last().await.context("reading the last evaluated instant")?;
        let mut not_before: Option<Timestamp> = None;
        let mut recheck_at: Option<Timestamp> = None;
        loop {
            if !self.leads() {
                if !self.follow(&mut controls).await? {
                    return Ok(());
                }
                // Carry on from the shared state: the previous leader moved the window on. Evaluate at once,
                // to catch up what it did not do and confirm what it left open.
                match self.store.load_last().await {
                    Ok(stored) => last = stored.max(last),
                    Err(err) => tracing::error!(error = format!("{err:#}"), "cannot read the last evaluated instant"),
                }
                not_before = None;
                recheck_at = Some(self.clock.now());
                continue;
            }
            let now = self.clock.now();
            // With no memory the engine's catch-up limit decides; otherwise evaluate once an occurrence is due.
            let next = match last {
                None => Some(now),
                // The contract says strictly after; holding the engine to it keeps a bug from becoming a busy loop.
                Some(last) => self.engine.next_occurrence(last).filter(|next| *next > last),
            };
            let next = match (next, recheck_at) {
                (Some(next), Some(recheck)) => Some(next.min(recheck)),
                (next, recheck) => next.or(recheck),
            };
            let wake = match (next, not_before) {
                (Some(next), Some(not_before)) => Some(next.max(not_before)),
                (next, _) => next,
            };
            self.metrics.set_schedule(last, wake);
            if wake.is_some_and(|wake| wake <= now) {
                let window = Window { last, now };
                match self.evaluate(window, &mut controls).await {
                    RunEnd::Evaluated { recheck } => {
                        last = Some(now);
                        not_before = None;
                        recheck_at =
                            recheck.then(|| now.checked_add(self.options.retry_after_error).unwrap_or(Timestamp::MAX));
                        if let Err(err) = self.store.save_last(now).await {
                            tracing::error!(error = format!("{err:#}"), "could not record the last evaluated instant");
                        }
                        self.retention.after_evaluation(&self.engine, &self.metrics, now).await;
                    }
                    RunEnd::Failed => {
                        not_before = Some(now.checked_add(self.options.retry_after_error).unwrap_or(Timestamp::MAX));
                    }
                    RunEnd::Stop => return Ok(()),
                    RunEnd::Deposed => {
                        // What the interrupted evaluation left is for the next leader to report.
                        let role = self.role.as_ref().map(|role| role.borrow().clone());
                        self.metrics.set_role(role.as_ref());
                    }
                }
                continue;
            }
            let sleep = match wake {
                Some(wake) => wake.duration_since(now).unsigned_abs().min(self.options.max_sleep),
                None => {
                    tracing::info!("no rule ever fires: waiting for a reload or shutdown");
                    self.options.max_sleep
                }
            };
            let mut role = self.role.clone();
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                () = until_role(&mut role, false) => {}
                control = controls.recv() => match control {
                    Some(Control::Reload) => self.reload(),
                    Some(Control::Shutdown) | None => {
                        tracing::info!("shutting down");
                        return Ok(());
                    }
                },
            }
        }
    }

    /// Whether this replica may evaluate now.
    fn leads(&self) -> bool {
        self.role.as_ref().is_none_or(|role| role.borrow().leads())
    }

    /// Waits, serving reloads, until this replica leads (`true`) or shutdown comes (`false`).
    async fn follow(&mut self, controls: &mut mpsc::Receiver<Control>) -> anyhow::Result<bool> {
        tracing::info!("following: evaluating only once this replica holds the leader lease");
        self.metrics.set_schedule(None, None);
        loop {
            let mut role = self.role.clone();
            if role.as_ref().is_some_and(|role| role.has_changed().is_err()) {
                anyhow::bail!("the leader election ended while the daemon runs");
            }
            tokio::select! {
                () = until_role(&mut role, true) => return Ok(true),
                control = controls.recv() => match control {
                    Some(Control::Reload) => self.reload(),
                    Some(Control::Shutdown) | None => {
                        tracing::info!("shutting down");
                        return Ok(false);
                    }
                },
            }
        }
    }

    /// Runs one evaluation while listening to controls.
    async fn evaluate(&mut self, window: Window, controls: &mut mpsc::Receiver<Control>) -> RunEnd {
        let (interrupt_tx, interrupt) = Interrupt::pair();
        let engine = self.engine.clone();
        let run = async move { engine.evaluate(window, interrupt).await };
        tokio::pin!(run);
        let mut stage = Stage::Running;
        let mut deadline: Option<Instant> = None;
        let mut controls_open = true;
        let mut shutting_down = false;
        let mut deposed = false;
        let mut role = self.role.clone();
        let result = loop {
            tokio::select! {
                result = &mut run => break Some(result),
                () = until_role(&mut role, false), if !deposed && stage == Stage::Running => {
                    tracing::error!("lost the leader lease during an evaluation: sending nothing new");
                    deposed = true;
                    stage = Stage::Stopping;
                    deadline = Some(Instant::now() + self.options.shutdown_grace);
                    let _ = interrupt_tx.send(stage);
                }
                control = controls.recv(), if controls_open => match control {
                    Some(Control::Reload) => self.reload(),
                    Some(Control::Shutdown) | None => {
                        shutting_down = true;
                        controls_open = control.is_some();
                        if stage == Stage::Abandoning {
                            tracing::warn!("third shutdown request: leaving the run in flight unrecorded");
                            break None;
                        }
                        stage = if stage == Stage::Running {
                            tracing::info!(grace = ?self.options.shutdown_grace, "shutting down: finishing the run in flight");
                            deadline = Some(Instant::now() + self.options.shutdown_grace);
                            Stage::Stopping
                        } else {
                            tracing::warn!("second shutdown request: recording the run in flight as interrupted");
                            deadline = Some(Instant::now() + RECORD_WAIT);
                            Stage::Abandoning
                        };
                        let _ = interrupt_tx.send(stage);
                    }
                },
                _ = sleep_until(deadline) => {
                    if stage == Stage::Abandoning {
                        tracing::warn!("the engine did not stop: leaving the run in flight unrecorded");
                        break None;
                    }
                    tracing::warn!("shutdown grace expired: recording the run in flight as interrupted");
                    stage = Stage::Abandoning;
                    deadline = Some(Instant::now() + RECORD_WAIT);
                    let _ = interrupt_tx.send(stage);
                }
            }
        };
        match result {
            Some(Ok(evaluation)) => {
                let interrupted = shutting_down || deposed;
                for line in &evaluation.lines {
                    tracing::info!(window_end = %window.now, "{line}");
                }
                tracing::info!(
                    window_start = window.last.map(|last| last.to_string()),
                    window_end = %window.now,
                    attempted = evaluation.attempted,
                    succeeded = evaluation.succeeded,
                    failed = evaluation.failed,
                    interrupted,
                    "evaluated"
                );
                self.metrics.record_evaluation(&evaluation, window.now, interrupted);
                for problem in &evaluation.problems {
                    tracing::error!(window_end = %window.now, "{problem}");
                }
                let recheck = !evaluation.is_clean() || evaluation.unconfirmed_open > 0;
                if shutting_down {
                    RunEnd::Stop
                } else if deposed {
                    RunEnd::Deposed
                } else {
                    RunEnd::Evaluated { recheck }
                }
            }
            Some(Err(err)) => {
                tracing::error!(error = format!("{err:#}"), window_end = %window.now, "evaluation failed");
                self.metrics.record_error(&format!("{err:#}"));
                if shutting_down {
                    RunEnd::Stop
                } else if deposed {
                    RunEnd::Deposed
                } else {
                    RunEnd::Failed
                }
            }
            None if deposed && !shutting_down => RunEnd::Deposed,
            None => RunEnd::Stop,
        }
    }

    fn reload(&mut self) {
        match self.loader.load() {
            Ok(engine) => {
                self.engine = Arc::new(engine);
                self.metrics.record_reload(true);
                tracing::info!("configuration reloaded");
            }
            Err(err) => {
                self.metrics.record_reload(false);
                tracing::error!(error = format!("{err:#}"), "configuration reload failed: keeping the previous one");
            }
        }
    }
}

/// Completes once this replica leads (`leads`) or follows (`!leads`); never without an election, nor once the
/// election has ended.
async fn until_role(role: &mut Option<watch::Receiver<Role>>, leads: bool) {
    if let Some(role) = role
        && role.wait_for(|role| role.leads() == leads).await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::super::fakes::{Behaviour, FakeEngine, MemoryStore, ts};
    use super::*;

    /// Wall-clock time that follows Tokio's (paused) clock from a fixed start.
    struct TokioClock {
        base: Timestamp,
        start: Instant,
    }

    impl TokioClock {
        fn at(base: &str) -> Self {
            TokioClock { base: ts(base), start: Instant::now() }
        }
    }

    impl Clock for TokioClock {
        fn now(&self) -> Timestamp {
            self.base.checked_add(self.start.elapsed()).expect("test clock in range")
        }
    }

    type Loads = Arc<Mutex<VecDeque<anyhow::Result<FakeEngine>>>>;

    /// A loader handing out prepared engines (or errors), one per load.
    fn loader(loads: Vec<anyhow::Result<FakeEngine>>) -> impl Load<Engine = FakeEngine> {
        let loads: Loads = Arc::new(Mutex::new(loads.into()));
        move || loads.lock().expect("lock").pop_front().unwrap_or_else(|| anyhow::bail!("no more test engines"))
    }

    fn options() -> DaemonOptions {
        DaemonOptions {
            shutdown_grace: Duration::from_secs(30),
            max_sleep: Duration::from_secs(300),
            retry_after_error: Duration::from_secs(60),
            ..DaemonOptions::default()
        }
    }

    struct Running {
        controls: mpsc::Sender<Control>,
        metrics: Arc<Metrics>,
        task: tokio::task::JoinHandle<anyhow::Result<()>>,
    }

    fn start(loads: Vec<anyhow::Result<FakeEngine>>, store: MemoryStore, clock: TokioClock) -> Running {
        start_with_role(loads, store, clock, None)
    }

    fn start_with_role(
        loads: Vec<anyhow::Result<FakeEngine>>,
        store: MemoryStore,
        clock: TokioClock,
        role: Option<watch::Receiver<Role>>,
    ) -> Running {
        let loader = loader(loads);
        let engine = loader.load().expect("first engine");
        let metrics = Arc::new(Metrics::default());
        let (controls, rx) = mpsc::channel(8);
        let scheduler = Scheduler {
            loader,
            store,
            engine: Arc::new(engine),
            metrics: metrics.clone(),
            clock,
            options: options(),
            role,
            retention: Retention::default(),
        };
        Running { controls, metrics, task: tokio::spawn(scheduler.run(rx)) }
    }

    fn follower() -> Role {
        Role::Follower { leader: None, problem: None }
    }

    #[tokio::test(start_paused = true)]
    async fn a_follower_never_evaluates_and_a_takeover_carries_on_at_once_from_the_shared_window() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::Succeed);
        let (role_tx, role) = watch::channel(follower());
        let running =
            start_with_role(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T21:50:00Z"), Some(role));
        // Past the occurrence: a follower lets it go by.
        tokio::time::sleep(Duration::from_secs(20 * 60)).await;
        assert!(windows.try_recv().is_err(), "a follower evaluated");
        // Meanwhile the leader evaluated up to 21:30 (and then died): the window is the shared one.
        store.save_last(ts("2026-01-05T21:30:00Z")).await.expect("saved");
        role_tx.send_replace(Role::Leader);
        let window = next(&mut windows).await;
        assert_eq!(window.last, Some(ts("2026-01-05T21:30:00Z")), "{window:?}");
        assert_eq!(window.now, ts("2026-01-05T22:10:00Z"), "the occurrence at 22:00 is caught up at once");
        stop(running).await;
        assert_eq!(store.last(), Some(window.now));
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_that_loses_the_lease_during_an_evaluation_sends_nothing_new_and_follows() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::WaitForInterrupt);
        let (role_tx, role) = watch::channel(Role::Leader);
        let running =
            start_with_role(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T22:10:00Z"), Some(role));
        next(&mut windows).await;
        role_tx.send_replace(follower());
        // The engine returns once interrupted; the daemon keeps running, following, and evaluates nothing more.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(windows.try_recv().is_err(), "evaluated again while following");
        assert!(!running.task.is_finished(), "losing the lease is no reason to exit");
        let text = running.metrics.render();
        assert!(text.contains("autostop_actions_total{rule=\"nightly\",result=\"interrupted\"} 1\n"), "{text}");
        assert!(running.metrics.health().problems.is_empty(), "the interrupted window is the next leader's to report");
        stop(running).await;
        assert_eq!(store.saves(), 0, "an interrupted window is left to the next leader");
    }

    const LIMIT: Duration = Duration::from_secs(24 * 3600);

    async fn next(windows: &mut mpsc::UnboundedReceiver<Window>) -> Window {
        tokio::time::timeout(LIMIT, windows.recv()).await.expect("an evaluation in time").expect("engine alive")
    }

    async fn stop(running: Running) {
        running.controls.send(Control::Shutdown).await.expect("daemon alive");
        let result = tokio::time::timeout(LIMIT, running.task).await.expect("daemon stops").expect("daemon task");
        result.expect("daemon ends cleanly");
    }

    #[tokio::test(start_paused = true)]
    async fn each_occurrence_fires_at_its_time_and_not_before() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        let occurrences = ["2026-01-05T22:00:00Z", "2026-01-05T23:30:00Z"];
        let (engine, mut windows) = FakeEngine::new(&occurrences, Behaviour::Succeed);
        let running = start(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T21:00:00Z"));

        let first = next(&mut windows).await;
        assert_eq!(first.last, Some(ts("2026-01-05T21:00:00Z")));
        assert!(first.now >= ts(occurrences[0]) && first.now < ts(occurrences[1]), "{first:?}");
        let second = next(&mut windows).await;
        assert_eq!(second.last, Some(first.now));
        assert!(second.now >= ts(occurrences[1]), "{second:?}");

        stop(running).await;
        assert!(windows.try_recv().is_err(), "no evaluation without an occurrence");
        assert_eq!(store.saves(), 2);
        assert_eq!(store.last(), Some(second.now));
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_after_a_missed_occurrence_catches_up_exactly_once() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        let occurrences = ["2026-01-05T22:00:00Z", "2026-01-06T22:00:00Z"];

        // The process was down at 22:00 and comes back at 22:40: it evaluates (21:00, 22:40] at once.
        let (engine, mut windows) = FakeEngine::new(&occurrences, Behaviour::Succeed);
        let running = start(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T22:40:00Z"));
        let caught_up = next(&mut windows).await;
        assert_eq!(caught_up, Window { last: Some(ts("2026-01-05T21:00:00Z")), now: ts("2026-01-05T22:40:00Z") });
        stop(running).await;

        // A second restart finds 22:40 in the store: 22:00 is behind it, so nothing runs again.
        let (engine, mut windows) = FakeEngine::new(&occurrences, Behaviour::Succeed);
        let running = start(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T22:50:00Z"));
        tokio::task::yield_now().await;
        stop(running).await;
        assert!(windows.try_recv().is_err(), "the caught-up occurrence ran again");
        assert_eq!(store.last(), Some(ts("2026-01-05T22:40:00Z")));
    }

    #[tokio::test(start_paused = true)]
    async fn with_no_memory_the_first_evaluation_is_left_to_the_catch_up_limit() {
        let store = MemoryStore::default();
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::Succeed);
        let running = start(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T21:00:00Z"));
        let first = next(&mut windows).await;
        assert_eq!(first, Window { last: None, now: ts("2026-01-05T21:00:00Z") });
        stop(running).await;
        assert_eq!(store.last(), Some(first.now));
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_during_a_run_interrupts_it_and_keeps_the_window_for_a_restart() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::WaitForInterrupt);
        let running = start(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T22:10:00Z"));
        next(&mut windows).await;
        let metrics = running.metrics.clone();
        stop(running).await;

        let text = metrics.render();
        assert!(text.contains("autostop_runs_total{outcome=\"interrupted\"} 1\n"), "{text}");
        assert!(text.contains("autostop_actions_total{rule=\"nightly\",result=\"interrupted\"} 1\n"), "{text}");
        assert_eq!(store.saves(), 0, "an interrupted window must be evaluated again after a restart");
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_that_ignores_shutdown_is_abandoned_after_the_grace_period() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::Hang);
        let running = start(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T22:10:00Z"));
        next(&mut windows).await;
        let started = Instant::now();
        stop(running).await;
        assert!(started.elapsed() >= options().shutdown_grace, "left before the grace period");
        assert_eq!(store.saves(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_grace_period_operations_in_flight_are_recorded_as_interrupted() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::FollowUntilAbandoned);
        let running = start(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T22:10:00Z"));
        next(&mut windows).await;
        let started = Instant::now();
        let metrics = running.metrics.clone();
        stop(running).await;
        assert!(started.elapsed() >= options().shutdown_grace, "left before the grace period");
        let text = metrics.render();
        assert!(text.contains("autostop_actions_total{rule=\"nightly\",result=\"interrupted\"} 1\n"), "{text}");
        assert_eq!(store.saves(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_shutdown_cuts_the_grace_period_short() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::Hang);
        let running = start(vec![Ok(engine)], store, TokioClock::at("2026-01-05T22:10:00Z"));
        next(&mut windows).await;
        let started = Instant::now();
        running.controls.send(Control::Shutdown).await.expect("daemon alive");
        stop(running).await;
        assert!(started.elapsed() < options().shutdown_grace, "waited for the grace period");
    }

    #[tokio::test(start_paused = true)]
    async fn an_evaluation_with_problems_is_followed_by_another_without_waiting_for_an_occurrence() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        // One occurrence only: without the recheck, the daemon would sleep for ever after it.
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::UnreadableScope);
        let running = start(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T22:10:00Z"));
        let first = next(&mut windows).await;
        let second = next(&mut windows).await;
        assert!(second.now.duration_since(first.now) >= jiff::SignedDuration::from_secs(60), "{second:?}");
        let health = running.metrics.health();
        assert_eq!(health.problems.len(), 1, "{health:?}");
        assert_eq!(health.last_success, None, "a window with problems is no success");
        stop(running).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_evaluation_is_retried_later_over_the_same_window() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::Error);
        let running = start(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T22:10:00Z"));
        let first = next(&mut windows).await;
        let second = next(&mut windows).await;
        assert_eq!(second.last, first.last, "a failed window must not be skipped");
        assert!(second.now.duration_since(first.now) >= jiff::SignedDuration::from_secs(60), "{second:?}");
        let metrics = running.metrics.clone();
        stop(running).await;
        assert!(metrics.render().contains("autostop_runs_total{outcome=\"error\"} 2\n"));
        assert_eq!(store.saves(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn reload_keeps_the_old_engine_when_the_new_config_is_invalid_and_uses_a_valid_one() {
        let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
        let (idle, _idle_windows) = FakeEngine::new(&[], Behaviour::Succeed);
        let (reloaded, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::Succeed);
        let loads = vec![Ok(idle), Err(anyhow::anyhow!("autostop.toml:3:1: unknown key")), Ok(reloaded)];
        let running = start(loads, store, TokioClock::at("2026-01-05T21:00:00Z"));

        running.controls.send(Control::Reload).await.expect("daemon alive");
        running.controls.send(Control::Reload).await.expect("daemon alive");
        let window = next(&mut windows).await;
        assert!(window.now >= ts("2026-01-05T22:00:00Z"), "{window:?}");
        let text = running.metrics.render();
        assert!(text.contains("autostop_config_reloads_total{result=\"rejected\"} 1\n"), "{text}");
        assert!(text.contains("autostop_config_reloads_total{result=\"accepted\"} 1\n"), "{text}");
        stop(running).await;
    }
}

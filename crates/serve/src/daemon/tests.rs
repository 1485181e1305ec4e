//! The daemon loop driven end to end on Tokio's paused clock, with a fake engine and store: when it evaluates,
//! what it remembers, how it shuts down, reloads and follows the leader election.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::time::Instant;

use super::super::fakes::{Behaviour, FakeEngine, MemoryStore, ts};
use super::super::{LastStore as _, Window};
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
        retention: Retention::new(Cadence::Daemon),
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
    let running = start_with_role(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T21:50:00Z"), Some(role));
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
    let running = start_with_role(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T22:10:00Z"), Some(role));
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

/// A daemon that last evaluated at 21:00, with one occurrence at 22:00, started at 22:10 (so it evaluates at
/// once) over an engine behaving as `behaviour`: its store, the windows the engine is asked for, and the daemon.
fn started_late(behaviour: Behaviour) -> (MemoryStore, mpsc::UnboundedReceiver<Window>, Running) {
    let store = MemoryStore::with_last("2026-01-05T21:00:00Z");
    let (engine, windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], behaviour);
    let running = start(vec![Ok(engine)], store.clone(), TokioClock::at("2026-01-05T22:10:00Z"));
    (store, windows, running)
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
    let (store, mut windows, running) = started_late(Behaviour::WaitForInterrupt);
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
    let (store, mut windows, running) = started_late(Behaviour::Hang);
    next(&mut windows).await;
    let started = Instant::now();
    stop(running).await;
    assert!(started.elapsed() >= options().shutdown_grace, "left before the grace period");
    assert_eq!(store.saves(), 0);
}

#[tokio::test(start_paused = true)]
async fn after_the_grace_period_operations_in_flight_are_recorded_as_interrupted() {
    let (store, mut windows, running) = started_late(Behaviour::FollowUntilAbandoned);
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
    let (_, mut windows, running) = started_late(Behaviour::Hang);
    next(&mut windows).await;
    let started = Instant::now();
    running.controls.send(Control::Shutdown).await.expect("daemon alive");
    stop(running).await;
    assert!(started.elapsed() < options().shutdown_grace, "waited for the grace period");
}

#[tokio::test(start_paused = true)]
async fn an_evaluation_with_problems_is_followed_by_another_without_waiting_for_an_occurrence() {
    // One occurrence only: without the recheck, the daemon would sleep for ever after it.
    let (_, mut windows, running) = started_late(Behaviour::UnreadableScope);
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
    let (store, mut windows, running) = started_late(Behaviour::Error);
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

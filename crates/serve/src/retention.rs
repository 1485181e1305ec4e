//! Retention of the audit log (`[state] keep`) in the daemon and the Functions handler: a prune runs after an
//! evaluation, in a task of its own, so that no evaluation and no invocation's answer ever waits for it. A
//! failure is loud: logged, and reported to a [`PruneReport`] until a later prune succeeds (the daemon's metrics
//! count it in `autostop_event_prunes_total{result="failed"}` and show it on `/healthz`; the Functions handler
//! adds it to each invocation's `Logs`). How often depends on the [`Cadence`].

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Evaluate;

/// How long after a prune that worked the next one is due.
const EVERY: Duration = Duration::from_secs(24 * 3600);

/// [`EVERY`], for the state's record of the last prune.
const EVERY_IN_THE_STATE: SignedDuration = SignedDuration::from_hours(24);

/// How long after a prune that failed it is tried again; also how often a Functions instance asks the state.
const AFTER_FAILURE: Duration = Duration::from_secs(3600);

/// How often a process prunes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// The daemon: after its first evaluation, then at most once a day by its own clock (an hour after a
    /// failure). Under `--ha` only the leader evaluates, so only the leader prunes.
    Daemon,
    /// The Functions handler, whose instances the host starts, scales out and recycles at will, and which may be
    /// ended with work left after an invocation's answer: the state decides. At most once an hour an instance
    /// asks the state when the audit log was last pruned, by any process, and prunes when that is a day old
    /// ([`autostop_engine::evaluation::Engine::prune_when_due`]). A prune cut short never advanced that record, so the next
    /// invocation, on any instance, finds it due and finishes it; what it had deleted stays deleted.
    Shared,
}

/// Where the outcome of a prune goes, besides the log.
pub trait PruneReport: Send + Sync + 'static {
    /// A prune ran: `None` when it worked, else why it failed (shown until one works).
    fn record_prune(&self, problem: Option<String>);

    /// Nothing was due (or no `keep` is configured): under [`Cadence::Shared`], someone pruned recently.
    fn record_not_due(&self) {}
}

impl PruneReport for super::metrics::Metrics {
    fn record_prune(&self, problem: Option<String>) {
        super::metrics::Metrics::record_prune(self, problem);
    }
}

/// When this process last pruned, and the prune in flight.
#[derive(Debug)]
pub struct Retention {
    cadence: Cadence,
    /// When the last prune that ended was started, and whether it worked.
    last: Option<(Instant, bool)>,
    /// The prune in flight, with when it started: it says whether it worked.
    running: Option<(Instant, JoinHandle<bool>)>,
}

/// Whether a prune is due at `now` under `cadence`, after one started at `last.0` that worked (`last.1`) or not.
/// Pure.
fn due(cadence: Cadence, last: Option<(Instant, bool)>, now: Instant) -> bool {
    match (cadence, last) {
        (_, None) => true,
        (Cadence::Daemon, Some((at, worked))) => {
            now.saturating_duration_since(at) >= if worked { EVERY } else { AFTER_FAILURE }
        }
        (Cadence::Shared, Some((at, _))) => now.saturating_duration_since(at) >= AFTER_FAILURE,
    }
}

impl Retention {
    /// Nothing pruned yet.
    pub fn new(cadence: Cadence) -> Self {
        Retention { cadence, last: None, running: None }
    }

    /// After an evaluation ending at `now`: starts a prune in the background when one is due and none is in
    /// flight. Never waits for a prune.
    pub async fn after_evaluation<E: Evaluate, R: PruneReport + ?Sized>(
        &mut self,
        engine: &Arc<E>,
        report: &Arc<R>,
        now: Timestamp,
    ) {
        if let Some((started, task)) = self.running.take() {
            if !task.is_finished() {
                self.running = Some((started, task));
                return;
            }
            self.last = Some((started, task.await.unwrap_or(false)));
        }
        let started = Instant::now();
        if !due(self.cadence, self.last, started) {
            return;
        }
        let (engine, report, cadence) = (engine.clone(), report.clone(), self.cadence);
        let task = tokio::spawn(async move {
            let pruned = match cadence {
                Cadence::Daemon => engine.prune(now).await,
                Cadence::Shared => engine.prune_when_due(now, EVERY_IN_THE_STATE).await,
            };
            match pruned {
                Ok(None) => {
                    report.record_not_due();
                    true
                }
                Ok(Some(pruned)) => {
                    tracing::info!(before = %pruned.before, deleted = pruned.deleted, "pruned the audit log ([state] keep)");
                    report.record_prune(None);
                    true
                }
                Err(err) => {
                    let problem = format!("{err:#}");
                    tracing::error!("{problem}");
                    report.record_prune(Some(problem));
                    false
                }
            }
        });
        self.running = Some((started, task));
    }

    /// At shutdown: waits up to `limit` for the prune in flight, then abandons it (a later prune, by this
    /// process or another, deletes what it did not).
    pub async fn finish(&mut self, limit: Duration) {
        let Some((_, mut task)) = self.running.take() else { return };
        if tokio::time::timeout(limit, &mut task).await.is_err() {
            tracing::warn!("shutdown: abandoning the prune of the audit log in flight; a later one finishes it");
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_prunes_at_start_then_daily_and_an_hour_after_a_failure() {
        let start = Instant::now();
        assert!(due(Cadence::Daemon, None, start), "the first evaluation prunes");
        assert!(!due(Cadence::Daemon, Some((start, true)), start + Duration::from_secs(23 * 3600)));
        assert!(due(Cadence::Daemon, Some((start, true)), start + EVERY));
        assert!(!due(Cadence::Daemon, Some((start, false)), start + Duration::from_secs(59 * 60)));
        assert!(due(Cadence::Daemon, Some((start, false)), start + AFTER_FAILURE));
    }

    #[test]
    fn a_functions_instance_asks_the_state_at_start_then_hourly_whatever_the_outcome() {
        let start = Instant::now();
        assert!(due(Cadence::Shared, None, start), "a new instance asks at its first invocation");
        for worked in [true, false] {
            assert!(!due(Cadence::Shared, Some((start, worked)), start + Duration::from_secs(59 * 60)));
            assert!(due(Cadence::Shared, Some((start, worked)), start + AFTER_FAILURE));
        }
    }
}

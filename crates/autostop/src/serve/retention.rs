//! Retention in the daemon: `[state] keep` prunes the audit log after an evaluation (the first one, then at most
//! once a day; an hour after a failure), in a task of its own so that no evaluation ever waits for it. A failure
//! is loud: logged, counted in `autostop_event_prunes_total{result="failed"}` and shown on `/healthz` until a
//! later prune succeeds. Under `--ha` only the leader evaluates, so only the leader prunes.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Evaluate;
use super::metrics::Metrics;

/// How long after a prune that worked the next one is due.
const EVERY: Duration = Duration::from_secs(24 * 3600);

/// How long after a prune that failed it is tried again.
const AFTER_FAILURE: Duration = Duration::from_secs(3600);

/// When the daemon last pruned, and the prune in flight.
#[derive(Debug, Default)]
pub struct Retention {
    /// When the last prune that ended was started, and whether it worked.
    last: Option<(Instant, bool)>,
    /// The prune in flight, with when it started: it says whether it worked.
    running: Option<(Instant, JoinHandle<bool>)>,
}

/// Whether a prune is due at `now`, after one started at `last.0` that worked (`last.1`) or not. Pure.
fn due(last: Option<(Instant, bool)>, now: Instant) -> bool {
    match last {
        None => true,
        Some((at, worked)) => now.saturating_duration_since(at) >= if worked { EVERY } else { AFTER_FAILURE },
    }
}

impl Retention {
    /// After an evaluation ending at `now`: starts a prune in the background when one is due and none is in
    /// flight.
    pub async fn after_evaluation<E: Evaluate>(&mut self, engine: &Arc<E>, metrics: &Arc<Metrics>, now: Timestamp) {
        if let Some((started, task)) = self.running.take() {
            if !task.is_finished() {
                self.running = Some((started, task));
                return;
            }
            self.last = Some((started, task.await.unwrap_or(false)));
        }
        let started = Instant::now();
        if !due(self.last, started) {
            return;
        }
        let (engine, metrics) = (engine.clone(), metrics.clone());
        let task = tokio::spawn(async move {
            match engine.prune(now).await {
                Ok(None) => true,
                Ok(Some(pruned)) => {
                    tracing::info!(before = %pruned.before, deleted = pruned.deleted, "pruned the audit log ([state] keep)");
                    metrics.record_prune(None);
                    true
                }
                Err(err) => {
                    let problem = format!("{err:#}");
                    tracing::error!("{problem}");
                    metrics.record_prune(Some(problem));
                    false
                }
            }
        });
        self.running = Some((started, task));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_is_due_at_start_then_daily_and_an_hour_after_a_failure() {
        let start = Instant::now();
        assert!(due(None, start), "the first evaluation prunes");
        assert!(!due(Some((start, true)), start + Duration::from_secs(23 * 3600)));
        assert!(due(Some((start, true)), start + EVERY));
        assert!(!due(Some((start, false)), start + Duration::from_secs(59 * 60)));
        assert!(due(Some((start, false)), start + AFTER_FAILURE));
    }
}

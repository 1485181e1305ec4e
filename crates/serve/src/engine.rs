//! How the daemon and the Functions handler drive the real engine: one [`Evaluate`] call is one engine
//! evaluation, its report turned into the counts, lines and problems the loops, the health endpoint and the
//! metrics read. The "last evaluated" cell the daemon schedules from is the engine's own, in its state store.

use std::sync::Arc;

use autostop_state::{EventKind, StateStore};
use jiff::Timestamp;

use super::{ActionResult, ArmStats, Evaluate, Evaluation, Interrupt, LastStore, Pruned, Window};
use autostop_engine::evaluation::{Engine, LAST_EVALUATED_KEY, RunOutcome};

impl Evaluate for Engine {
    async fn evaluate(&self, window: Window, interrupt: Interrupt) -> anyhow::Result<Evaluation> {
        let before = self.client().stats();
        let report = Engine::evaluate(self, window.now, window.last, Some(&interrupt)).await?;
        let after = self.client().stats();
        let mut evaluation = Evaluation {
            lines: report.outcomes.iter().map(RunOutcome::line).collect(),
            instances_by_state: report.instances_by_state.clone(),
            arm: ArmStats {
                requests: after.requests.saturating_sub(before.requests),
                retries: after.retries.saturating_sub(before.retries),
                throttled: after.throttled.saturating_sub(before.throttled),
            },
            problems: report.problems(),
            unconfirmed_open: report.unconfirmed_open,
            ..Default::default()
        };
        evaluation.lines.extend(report.discovery_errors.iter().map(|err| format!("error: {err}")));
        evaluation.lines.extend(report.errors.iter().map(|err| format!("error: {err}")));
        for outcome in &report.outcomes {
            let result = match outcome.result {
                EventKind::Succeeded | EventKind::Accepted => ActionResult::Succeeded,
                EventKind::Failed => ActionResult::Failed,
                // Postponements and refused links are recorded by the link handler, never as a run's outcome.
                EventKind::Skipped | EventKind::Postponed | EventKind::LinkRefused => ActionResult::Skipped,
                EventKind::Missed => ActionResult::Missed,
                EventKind::Interrupted => ActionResult::Interrupted,
                EventKind::Unconfirmed => ActionResult::Unconfirmed,
            };
            if outcome.action == autostop_engine::evaluation::NOTIFY_ACTION {
                let channel = outcome.name.clone().unwrap_or_default();
                *evaluation.notices.entry((channel, result)).or_default() += 1;
                continue;
            }
            if matches!(result, ActionResult::Succeeded | ActionResult::Failed | ActionResult::Unconfirmed) {
                evaluation.attempted += 1;
            }
            match result {
                ActionResult::Succeeded => evaluation.succeeded += 1,
                ActionResult::Failed | ActionResult::Unconfirmed => evaluation.failed += 1,
                _ => {}
            }
            *evaluation.actions.entry((outcome.rule.clone(), result)).or_default() += 1;
        }
        Ok(evaluation)
    }

    fn next_occurrence(&self, after: Timestamp) -> Option<Timestamp> {
        let occurrence = self.config().next_occurrence(after).map(|(_, next)| next.timestamp());
        // A postponed stop's new time, and the time a notice is due, are due like an occurrence.
        [occurrence, self.next_wakeup(after), self.config().next_notice(after)].into_iter().flatten().min()
    }

    async fn prune(&self, now: Timestamp) -> anyhow::Result<Option<Pruned>> {
        Engine::prune(self, now).await
    }

    async fn prune_when_due(&self, now: Timestamp, every: jiff::SignedDuration) -> anyhow::Result<Option<Pruned>> {
        Engine::prune_when_due(self, now, every).await
    }
}

/// The daemon schedules from the engine's "last evaluated" cell.
impl LastStore for Arc<dyn StateStore> {
    async fn load_last(&self) -> anyhow::Result<Option<Timestamp>> {
        Ok(self.last_evaluated(LAST_EVALUATED_KEY).await?)
    }

    async fn save_last(&self, at: Timestamp) -> anyhow::Result<()> {
        self.advance_last_evaluated(LAST_EVALUATED_KEY, at).await?;
        Ok(())
    }
}

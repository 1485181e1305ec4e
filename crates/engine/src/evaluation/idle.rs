//! `[idle_shutdown]` at every evaluation: the instances in scope whose idle shutdown is off or longer than the
//! maximum get it set, each change recorded with its old and new value. Instances their owner opted out are
//! left alone without a record at every evaluation (`autostop enforce idle-shutdown --dry-run` lists them).

use std::sync::Arc;

use autostop_policy::Instance;
use autostop_policy::idle::idle_shutdown_plan;
use autostop_state::{EventKind, RunId};
use jiff::Timestamp;

use super::Engine;
use super::report::{RunOutcome, RunReport};
use crate::idle::{IDLE_SHUTDOWN_ACTION, IdleOptions, describe, enforce};

/// The name idle-shutdown outcomes carry in the rule column.
const RULE: &str = "idle_shutdown";

impl Engine {
    /// Enforces `[idle_shutdown]` over `instances`, when the config has the section; adds one outcome per change.
    /// `Err` only when the state store failed.
    pub(super) async fn enforce_idle_shutdown(
        &self,
        run: &RunId,
        instances: &[Arc<Instance>],
        now: Timestamp,
        report: &mut RunReport,
    ) -> anyhow::Result<()> {
        let Some(max) = self.config.idle_shutdown else {
            return Ok(());
        };
        let mut plan = idle_shutdown_plan(instances, &self.config.scopes, &self.config.tags, max);
        plan.skips.clear();
        let options = IdleOptions { dry_run: false, run: Some(run) };
        let rows = enforce(self.client(), self.actor.store.as_ref(), &plan, options).await?;
        for row in rows {
            let result = if row.result == "failed" { EventKind::Failed } else { EventKind::Succeeded };
            report.outcomes.push(RunOutcome {
                rule: RULE.to_owned(),
                occurrence: now.to_string(),
                kind: Some(row.kind.to_owned()),
                id: Some(row.id),
                name: Some(row.name),
                action: IDLE_SHUTDOWN_ACTION.to_owned(),
                result,
                reason: Some(describe(row.old.as_deref(), row.new.as_deref())),
                error: row.error,
            });
        }
        Ok(())
    }
}

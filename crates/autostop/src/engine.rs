//! The engine behind `autostop run`, the daemon and the Functions handler: for a window of time it discovers the
//! configured scopes, plans (pure, in `autostop_policy`), applies, and records every outcome in the audit log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::Context as _;
use autostop_audit::{Event, EventKind, NewRun, RunStatus, Store};
use autostop_azure::ArmClient;
use autostop_policy::{Config, Instance, Plan, Window};
use futures::stream::{self, StreamExt};
use jiff::{SignedDuration, Timestamp, Zoned};
use serde::Serialize;

use crate::apply::{ActionRequest, ApplyOptions, MAX_FOLLOWED, Permits, Verdict, apply_one};
use crate::discover::{Scope, discover, instance};
use crate::serve::{ActionResult, ArmStats, Evaluate, Evaluation, Interrupt};

/// The key under which `run` and the daemon remember the end of the last evaluated window.
pub const LAST_EVALUATED_KEY: &str = "run";

/// How far before the catch-up limit a window may reach: older missed occurrences are not enumerated one by one.
const MISSED_HORIZON: SignedDuration = SignedDuration::from_hours(24);

/// One line of a run's result. The JSON keys are a contract for scripts.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// The rule.
    pub rule: String,
    /// The occurrence, RFC 3339 with the rule's offset.
    pub occurrence: String,
    /// The compute's ARM id (absent for a missed occurrence).
    pub id: Option<String>,
    /// The compute's name (absent for a missed occurrence).
    pub name: Option<String>,
    /// `start` or `stop`.
    pub action: String,
    /// `succeeded`, `accepted`, `skipped`, `failed`, `missed` or `interrupted`.
    pub result: EventKind,
    /// Why it was skipped or missed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunOutcome {
    /// One human line: `stop alice-ci (evening-stop at 2026-...): succeeded`.
    pub fn line(&self) -> String {
        let target = self.name.as_deref().unwrap_or("-");
        let detail = self.reason.as_deref().or(self.error.as_deref()).map(|d| format!(": {d}")).unwrap_or_default();
        format!("{} {target} ({} at {}): {}{detail}", self.action, self.rule, self.occurrence, self.result)
    }
}

/// What one evaluation did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Every action, skip, miss and failure.
    pub outcomes: Vec<RunOutcome>,
    /// Errors that kept part of the scope from being read.
    pub discovery_errors: Vec<String>,
    /// Instances seen, by state.
    pub instances_by_state: BTreeMap<String, u64>,
    /// Rules that select no instance in scope.
    pub idle_rules: Vec<String>,
}

impl RunReport {
    /// True when an action failed or part of the scope could not be read.
    pub fn any_failed(&self) -> bool {
        !self.discovery_errors.is_empty() || self.outcomes.iter().any(|o| o.result == EventKind::Failed)
    }
}

/// Configuration, client, store and apply options: everything an evaluation needs.
pub struct Engine {
    config: Config,
    client: ArmClient,
    store: Arc<Store>,
    apply: ApplyOptions,
}

impl Engine {
    /// An engine over a validated configuration.
    pub fn new(config: Config, client: ArmClient, store: Arc<Store>, apply: ApplyOptions) -> Engine {
        Engine { config, client, store, apply }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The window `(last, now]` an evaluation covers: with no `last`, the longest catch-up limit back from `now`;
    /// never further back than a day before that (older missed occurrences are not listed one by one).
    pub fn window(&self, last: Option<Timestamp>, now: Timestamp) -> Window {
        let catch_up = self.config.longest_catch_up();
        let horizon = now.checked_sub(catch_up + MISSED_HORIZON).unwrap_or(Timestamp::MIN);
        let after = match last {
            Some(last) => last.max(horizon),
            None => now.checked_sub(catch_up).unwrap_or(Timestamp::MIN),
        };
        Window { after: after.min(now), until: now }
    }

    /// Discovers the configured scopes.
    pub async fn inventory(&self) -> (Vec<Instance>, Vec<String>) {
        inventory(&self.client, &self.config).await
    }

    /// Evaluates `(last, now]`: discovers, plans, applies what was not already done, and records everything.
    pub async fn run_window(
        &self,
        last: Option<Timestamp>,
        now: Timestamp,
        interrupt: Option<Interrupt>,
    ) -> anyhow::Result<RunReport> {
        let window = self.window(last, now);
        let mut report = RunReport::default();
        let run = self.store.begin_run(&NewRun {
            started: Timestamp::now(),
            window_after: Some(window.after),
            window_until: Some(window.until),
        })?;
        let due =
            self.config.rules.iter().any(|rule| {
                rule.schedule.occurrences(window.after, window.until, rule.zone.time_zone()).next().is_some()
            });
        let plan = if due {
            let (instances, errors) = self.inventory().await;
            report.discovery_errors = errors;
            for instance in &instances {
                *report
                    .instances_by_state
                    .entry(instance.state.clone().unwrap_or_else(|| "Unknown".into()))
                    .or_default() += 1;
            }
            autostop_policy::plan(&instances, &self.config, window, now)
        } else {
            Plan::default()
        };
        report.idle_rules = if due { plan.idle_rules.clone() } else { Vec::new() };
        let record = |outcome: &RunOutcome, occurrence: &Zoned| -> anyhow::Result<()> {
            let mut event = Event::new(Timestamp::now(), outcome.result);
            event.run = Some(run);
            event.rule = Some(outcome.rule.clone());
            event.occurrence = Some(occurrence.clone());
            event.target_id = outcome.id.clone();
            event.target_name = outcome.name.clone();
            event.action = Some(outcome.action.clone());
            event.reason = outcome.reason.clone();
            event.error_message = outcome.error.clone();
            self.store.record(&event).context("cannot write to the audit log")?;
            Ok(())
        };
        for error in &report.discovery_errors {
            let mut event = Event::new(Timestamp::now(), EventKind::Failed);
            event.run = Some(run);
            event.error_message = Some(format!("discovery: {error}"));
            self.store.record(&event).context("cannot write to the audit log")?;
        }
        for missed in &plan.missed {
            let outcome = RunOutcome {
                rule: missed.rule.clone(),
                occurrence: rfc3339(&missed.occurrence),
                id: None,
                name: None,
                action: missed.action.to_string(),
                result: EventKind::Missed,
                reason: Some("older than the catch-up limit".into()),
                error: None,
            };
            record(&outcome, &missed.occurrence)?;
            report.outcomes.push(outcome);
        }
        for skip in &plan.skips {
            let outcome = outcome(
                &skip.rule,
                &skip.occurrence,
                &skip.target,
                skip.action,
                EventKind::Skipped,
                Some(skip.reason.to_string()),
            );
            record(&outcome, &skip.occurrence)?;
            report.outcomes.push(outcome);
        }
        let mut todo = Vec::new();
        for action in &plan.actions {
            if self.store.already_done(&action.rule, action.occurrence.timestamp(), &action.target.id)? {
                let reason = Some("already done by an earlier run for this occurrence".to_owned());
                report.outcomes.push(outcome(
                    &action.rule,
                    &action.occurrence,
                    &action.target,
                    action.action,
                    EventKind::Skipped,
                    reason,
                ));
                continue;
            }
            match action.target.id.parse() {
                Ok(id) => todo.push((action.clone(), ActionRequest { id, action: action.action })),
                Err(err) => {
                    let failed = RunOutcome {
                        error: Some(format!("{err}")),
                        ..outcome(
                            &action.rule,
                            &action.occurrence,
                            &action.target,
                            action.action,
                            EventKind::Failed,
                            None,
                        )
                    };
                    record(&failed, &action.occurrence)?;
                    report.outcomes.push(failed);
                }
            }
        }
        let progress = crate::progress::bar(todo.len(), "operations");
        let permits = Permits::new(todo.iter().map(|(_, request)| request), &self.apply);
        let permits = &permits;
        let mut applied = stream::iter(todo)
            .map(|(planned, request)| {
                let interrupt = interrupt.clone();
                async move {
                    if interrupt.as_ref().is_some_and(Interrupt::is_requested) {
                        return (planned, None);
                    }
                    let apply = apply_one(&self.client, &request, &self.apply, permits);
                    match &interrupt {
                        // Past the shutdown grace period, an operation still followed is recorded as interrupted.
                        Some(interrupt) => tokio::select! {
                            applied = apply => (planned, Some(applied)),
                            () = interrupt.abandoned() => (planned, None),
                        },
                        None => (planned, Some(apply.await)),
                    }
                }
            })
            .buffer_unordered(MAX_FOLLOWED);
        while let Some((planned, applied)) = applied.next().await {
            let (result, error) = match applied {
                None => (EventKind::Interrupted, None),
                Some(applied) => (
                    match applied.verdict {
                        Verdict::Succeeded => EventKind::Succeeded,
                        Verdict::Accepted => EventKind::Accepted,
                        Verdict::Skipped => EventKind::Skipped,
                        Verdict::Failed => EventKind::Failed,
                    },
                    applied.error,
                ),
            };
            let done = RunOutcome {
                error,
                ..outcome(&planned.rule, &planned.occurrence, &planned.target, planned.action, result, None)
            };
            record(&done, &planned.occurrence)?;
            report.outcomes.push(done);
            progress.inc(1);
        }
        progress.finish_and_clear();
        let status = if report.any_failed() { RunStatus::SomeFailed } else { RunStatus::Succeeded };
        self.store.finish_run(run, Timestamp::now(), status)?;
        if !report.outcomes.iter().any(|o| o.result == EventKind::Interrupted) {
            self.store.set_last_evaluated(LAST_EVALUATED_KEY, now)?;
        }
        Ok(report)
    }
}

impl Evaluate for Engine {
    async fn evaluate(&self, window: crate::serve::Window, interrupt: Interrupt) -> anyhow::Result<Evaluation> {
        let before = self.client.stats();
        let report = self.run_window(window.last, window.now, Some(interrupt)).await?;
        let after = self.client.stats();
        let mut evaluation = Evaluation {
            lines: report.outcomes.iter().map(RunOutcome::line).collect(),
            instances_by_state: report.instances_by_state.clone(),
            arm: ArmStats {
                requests: after.requests.saturating_sub(before.requests),
                retries: after.retries.saturating_sub(before.retries),
                throttled: after.throttled.saturating_sub(before.throttled),
            },
            ..Default::default()
        };
        evaluation.lines.extend(report.discovery_errors.iter().map(|err| format!("error: {err}")));
        for outcome in &report.outcomes {
            let result = match outcome.result {
                EventKind::Succeeded | EventKind::Accepted => ActionResult::Succeeded,
                EventKind::Failed => ActionResult::Failed,
                EventKind::Skipped => ActionResult::Skipped,
                EventKind::Missed => ActionResult::Missed,
                EventKind::Interrupted => ActionResult::Interrupted,
            };
            if matches!(result, ActionResult::Succeeded | ActionResult::Failed) {
                evaluation.attempted += 1;
            }
            match result {
                ActionResult::Succeeded => evaluation.succeeded += 1,
                ActionResult::Failed => evaluation.failed += 1,
                _ => {}
            }
            *evaluation.actions.entry((outcome.rule.clone(), result)).or_default() += 1;
        }
        Ok(evaluation)
    }

    fn next_occurrence(&self, after: Timestamp) -> Option<Timestamp> {
        self.config.next_occurrence(after).map(|(_, next)| next.timestamp())
    }
}

/// Discovers the configured scopes and returns the inventory the plan reads (each compute once), with the
/// errors that kept part of the scopes from being read.
pub async fn inventory(client: &ArmClient, config: &Config) -> (Vec<Instance>, Vec<String>) {
    let scopes = config
        .scopes
        .iter()
        .filter_map(|scope| {
            Some(Scope {
                subscriptions: vec![scope.subscription.parse().ok()?],
                resource_group: scope.resource_group.clone(),
                workspace: scope.workspace.clone(),
            })
        })
        .collect::<Vec<_>>();
    let inventories = stream::iter(scopes)
        .map(|scope| async move { discover(client, &scope).await })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let mut seen = BTreeSet::new();
    let mut instances = Vec::new();
    let mut errors = Vec::new();
    for inventory in inventories {
        errors.extend(inventory.errors.iter().map(|err| format!("{err:#}")));
        for compute in &inventory.computes {
            if seen.insert(compute.id.to_string().to_lowercase()) {
                instances.push(instance(compute));
            }
        }
    }
    (instances, errors)
}

fn outcome(
    rule: &str,
    occurrence: &Zoned,
    target: &Instance,
    action: autostop_policy::Action,
    result: EventKind,
    reason: Option<String>,
) -> RunOutcome {
    RunOutcome {
        rule: rule.to_owned(),
        occurrence: rfc3339(occurrence),
        id: Some(target.id.clone()),
        name: Some(target.name.clone()),
        action: action.to_string(),
        result,
        reason,
        error: None,
    }
}

/// An occurrence as RFC 3339 with its offset (no zone annotation).
pub fn rfc3339(occurrence: &Zoned) -> String {
    occurrence.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// The daemon keeps "last evaluated" in the audit database, beside `run`'s.
impl crate::serve::LastStore for Arc<Store> {
    fn load_last(&self) -> anyhow::Result<Option<Timestamp>> {
        Ok(self.last_evaluated(LAST_EVALUATED_KEY)?)
    }

    fn save_last(&self, at: Timestamp) -> anyhow::Result<()> {
        Ok(self.set_last_evaluated(LAST_EVALUATED_KEY, at)?)
    }
}

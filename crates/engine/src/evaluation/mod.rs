//! The engine behind `autostop run`, the daemon and the Functions handler. One evaluation:
//! 1. records a run (with its process and a heartbeat, so others can tell it is alive);
//! 2. confirms what earlier runs left open (`confirm`): reads targets back, reconciles claims of dead runs;
//! 3. for the window `(last evaluated, now]` plus what earlier ones carried over (`carry_over`: occurrences still
//!    pending, postponed stops), discovers the scopes (only when something is due), plans (pure,
//!    `autostop_policy`), keeps the occurrences of unreadable scopes pending, records misses and skips;
//! 4. acts (`act`): claim, mark sent, send, record the answer, follow and read back;
//! 5. moves "last evaluated" forward (never back; not when interrupted) and records how the run ended.
//!
//! The state model is in `docs/adr/0004-state-model.md`.

mod act;
mod carry_over;
pub mod confirm;
mod follow;
mod idle;
mod inventory;
mod notices;
mod report;
mod turns;
mod wakeups;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use autostop_azure::ArmClient;
use autostop_policy::{Choice, Config, PlannedAction, Postponed, StateFacts, Window};
use autostop_state::{Event, EventKind, NewRun, Owner, Postponement, RunId, RunStatus, StateStore, rfc3339};
use futures::StreamExt as _;
use jiff::{SignedDuration, Timestamp};

use crate::apply::ApplyOptions;
use crate::interrupt::Interrupt;
pub use act::Actions;
pub use inventory::{Found, inventory};
pub use notices::NOTIFY_ACTION;
pub use report::{RunOutcome, RunReport};
pub use wakeups::Wakeups;

/// The key under which `run`, the daemon and the Functions handler remember the end of the last evaluated window.
pub const LAST_EVALUATED_KEY: &str = "run";

/// How many audit events are written at once (the SQLite backend commits them together).
const RECORD_CONCURRENCY: usize = 256;

/// How far before the catch-up limit a window may reach: older missed occurrences are not enumerated one by one.
const MISSED_HORIZON: SignedDuration = SignedDuration::from_hours(24);

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How actions are applied (concurrency, following operations, polling).
    pub apply: ApplyOptions,
    /// How long after sending an action may take to be read back in its state before it is `unconfirmed`.
    pub confirm_deadline: SignedDuration,
    /// How often a run says it is alive.
    pub heartbeat: Duration,
    /// A run whose heartbeat is older than this is taken for dead, and its claims are reconciled.
    pub stale_after: SignedDuration,
    /// The key notice links are signed with (`AUTOSTOP_LINK_KEY`); `None`: the one kept in the state.
    pub link_key: Option<Vec<u8>>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            apply: ApplyOptions::default(),
            confirm_deadline: SignedDuration::from_mins(30),
            heartbeat: Duration::from_secs(5),
            stale_after: SignedDuration::from_secs(30),
            link_key: None,
        }
    }
}

/// What claiming, acting and confirming need: the client, the state and the options. The engine has one; the
/// ad-hoc verbs build one to act through the same claims.
pub struct Actor {
    client: ArmClient,
    store: Arc<dyn StateStore>,
    options: EngineOptions,
}

impl Actor {
    /// An actor over a client and a state.
    pub fn new(client: ArmClient, store: Arc<dyn StateStore>, options: EngineOptions) -> Actor {
        Actor { client, store, options }
    }

    /// Acts on `actions` now, outside any schedule (the ad-hoc verbs): one run, each action claimed
    /// (under the rule name [`AD_HOC_RULE`] and the given occurrence) and recorded like a scheduled one, so that
    /// later evaluations confirm what is not followed to its end. Each action's result goes to `done` with the
    /// action's index as soon as it is known (`Err`: a state error kept it from being sent; it is also one of the
    /// report's errors); the report itself holds no outcomes, so that those of many actions are not all held.
    pub async fn act_now<F, P, I>(
        &self,
        actions: Actions<F, I>,
        interrupt: Option<&Interrupt>,
        mut done: impl FnMut(usize, Result<RunOutcome, String>),
    ) -> anyhow::Result<RunReport>
    where
        F: Fn(usize) -> P,
        P: std::borrow::Borrow<PlannedAction>,
        I: futures::Stream<Item = usize>,
    {
        let location = self.store.location();
        let run = self
            .store
            .begin_run(&NewRun {
                started: Timestamp::now(),
                window_after: None,
                window_until: None,
                owner: Owner::this_process(),
            })
            .await
            .with_context(|| format!("cannot record the start of a run in {location}: nothing was sent"))?;
        let heartbeat = self.heartbeat(run.clone());
        let mut report = RunReport::default();
        let mut problem = false;
        act::act_each(self, &run, actions, interrupt, |index, result| {
            match &result {
                Ok(outcome) => problem |= outcome.is_problem(),
                Err(error) => report.errors.push(error.clone()),
            }
            done(index, result);
        })
        .await;
        heartbeat.abort();
        report.unsent = report.errors.len();
        report.interrupted = interrupt.is_some_and(Interrupt::is_requested);
        let status = if problem || report.any_problem() { RunStatus::SomeFailed } else { RunStatus::Succeeded };
        if let Err(err) = self.store.finish_run(&run, Timestamp::now(), status).await {
            report.errors.push(format!("cannot record the end of run {run} in {location}: {err:#}"));
        }
        Ok(report)
    }

    /// Says every few seconds that `run` is alive, until aborted.
    fn heartbeat(&self, run: RunId) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let every = self.options.heartbeat;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(err) = store.heartbeat(&run, Timestamp::now()).await {
                    tracing::warn!(error = %err, %run, "cannot record the run's heartbeat");
                }
            }
        })
    }
}

/// What the plan needs from the state: when autostop last sent each target a stop (so that a start rule can tell
/// autostop's own stops from its owners'), and owners' postponements of the occurrences at or after `since`
/// (also returned as stored, with their zoned occurrences).
pub async fn read_facts(store: &dyn StateStore, since: Timestamp) -> anyhow::Result<(StateFacts, Vec<Postponement>)> {
    let location = store.location();
    let autostop_stops = store
        .last_stops_sent()
        .await
        .with_context(|| format!("cannot read the stops autostop sent from {location}"))?;
    let stored =
        store.postponements(since).await.with_context(|| format!("cannot read the postponements from {location}"))?;
    let postponements = stored
        .iter()
        .map(|stored| Postponed {
            rule: stored.key.rule.clone(),
            occurrence: stored.key.occurrence.timestamp(),
            target_key: stored.key.target_key(),
            until: stored.until,
        })
        .collect();
    Ok((StateFacts { autostop_stops, postponements }, stored))
}

/// How far back the postponements that may matter to an evaluation at `now` of a window starting at `after`
/// reach: the oldest occurrence still on time, moved by the longest postponement.
pub fn postponements_since(config: &Config, after: Timestamp, now: Timestamp) -> Timestamp {
    let on_time = now.checked_sub(config.longest_catch_up()).unwrap_or(Timestamp::MIN);
    after.min(on_time).checked_sub(Choice::LONGEST).unwrap_or(Timestamp::MIN)
}

/// The rule name under which the ad-hoc verbs (`stop`, `start`) claim and record their actions. Parentheses
/// cannot appear in a configured rule's name, so it never meets a scheduled rule.
pub const AD_HOC_RULE: &str = "(ad-hoc)";

/// What `[state] keep` pruned ([`Engine::prune`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Events before this instant went (the Blob backend keeps the whole day it falls in).
    pub before: Timestamp,
    /// How many were deleted: rows (SQLite) or whole days (Blob).
    pub deleted: u64,
}

/// Whether a prune of the events before `before` is due, `every` after the last one, which left the history
/// complete from `pruned_before` (`before` as it was then; the Blob backend keeps whole days, so the start of that
/// day: a prune is then due once a whole day more can go). Pure.
fn prune_due(pruned_before: Option<Timestamp>, before: Timestamp, every: SignedDuration) -> bool {
    pruned_before.is_none_or(|pruned| before.duration_since(pruned) >= every)
}

/// Configuration and an actor: everything an evaluation needs.
pub struct Engine {
    config: Config,
    actor: Actor,
    wakeups: Wakeups,
}

impl Engine {
    /// An engine over a validated configuration.
    pub fn new(config: Config, client: ArmClient, store: Arc<dyn StateStore>, options: EngineOptions) -> Engine {
        Engine { config, actor: Actor::new(client, store, options), wakeups: Wakeups::default() }
    }

    /// The same engine, telling `wakeups` the new times of the postponed stops it reads from the state.
    pub fn with_wakeups(self, wakeups: Wakeups) -> Engine {
        Engine { wakeups, ..self }
    }

    /// The first new time of a postponed stop strictly after `after`, as far as this process knows.
    pub fn next_wakeup(&self, after: Timestamp) -> Option<Timestamp> {
        self.wakeups.next_after(after)
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Deletes the audit events older than `[state] keep` at `now` (`None` without `keep`). Claims and pending
    /// occurrences are never pruned. Run after an evaluation, never before or during one.
    pub async fn prune(&self, now: Timestamp) -> anyhow::Result<Option<Pruned>> {
        let Some(before) = self.config.state.keep.and_then(|keep| now.checked_sub(keep).ok()) else {
            return Ok(None);
        };
        let deleted = self
            .actor
            .store
            .prune_events(before)
            .await
            .with_context(|| format!("[state] keep: cannot prune the events before {before}"))?;
        Ok(Some(Pruned { before, deleted }))
    }

    /// Like [`Engine::prune`], but only when the last prune recorded in the state, by any process, is at least
    /// `every` old (`None` also when it is not): the Functions handler's retention, where instances come and go
    /// and only the state remembers. A prune that was cut short never advanced the record, so it is due again.
    pub async fn prune_when_due(&self, now: Timestamp, every: SignedDuration) -> anyhow::Result<Option<Pruned>> {
        let Some(before) = self.config.state.keep.and_then(|keep| now.checked_sub(keep).ok()) else {
            return Ok(None);
        };
        let pruned_before = (self.actor.store.pruned_before().await)
            .context("[state] keep: cannot read when the audit log was last pruned")?;
        if !prune_due(pruned_before, before, every) {
            return Ok(None);
        }
        self.prune(now).await
    }

    /// The ARM client (for its traffic counters).
    pub fn client(&self) -> &ArmClient {
        &self.actor.client
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

    /// Evaluates up to `now`: from the stored "last evaluated" (or `last_hint` when the store has none, e.g. the
    /// Functions timer's `ScheduleStatus.Last`). `Err` only when the state store itself failed: then nothing
    /// more was sent, and the caller must say so loudly.
    pub async fn evaluate(
        &self,
        now: Timestamp,
        last_hint: Option<Timestamp>,
        interrupt: Option<&Interrupt>,
    ) -> anyhow::Result<RunReport> {
        let store = &self.actor.store;
        let location = store.location();
        let stored = store
            .last_evaluated(LAST_EVALUATED_KEY)
            .await
            .with_context(|| format!("cannot read the last evaluated instant from {location}"))?;
        let window = self.window(stored.or(last_hint), now);
        let run = store
            .begin_run(&NewRun {
                started: Timestamp::now(),
                window_after: Some(window.after),
                window_until: Some(window.until),
                owner: Owner::this_process(),
            })
            .await
            .with_context(|| format!("cannot record the start of a run in {location}: nothing was sent"))?;
        let heartbeat = self.actor.heartbeat(run.clone());
        let result = self.evaluate_window(&run, window, now, interrupt).await;
        heartbeat.abort();
        let mut report = match result {
            Ok(report) => report,
            Err(err) => {
                if let Err(finish) = store.finish_run(&run, Timestamp::now(), RunStatus::SomeFailed).await {
                    tracing::error!(error = %finish, "cannot record the end of the failed run");
                }
                return Err(err);
            }
        };
        report.interrupted = interrupt.is_some_and(Interrupt::is_requested);
        let status = if report.interrupted {
            RunStatus::Interrupted
        } else if report.any_problem() {
            RunStatus::SomeFailed
        } else {
            RunStatus::Succeeded
        };
        // From here on a state error is reported with the rest, never in place of it: what was done is printed.
        if let Err(err) = store.finish_run(&run, Timestamp::now(), status).await {
            report.errors.push(format!("cannot record the end of run {run} in {location}: {err:#}"));
        }
        // The window moves on only when every due action was at least claimed and decided: after an
        // interruption or a state write that kept actions from being sent, the next evaluation covers it again
        // (its claims keep what was done from being done twice).
        if report.interrupted || report.unsent > 0 {
            return Ok(report);
        }
        if let Err(err) = store.advance_last_evaluated(LAST_EVALUATED_KEY, now).await {
            report.errors.push(format!("cannot record the last evaluated instant in {location}: {err:#}"));
        }
        Ok(report)
    }

    async fn evaluate_window(
        &self,
        run: &RunId,
        window: Window,
        now: Timestamp,
        interrupt: Option<&Interrupt>,
    ) -> anyhow::Result<RunReport> {
        let mut report = RunReport::default();
        // Confirmation is about Azure's real time, whatever instant the window is evaluated at.
        confirm::confirm_open(&self.actor, run, Timestamp::now(), &mut report).await?;

        let mut occurrences = autostop_policy::occurrences(&self.config, window, now);
        let pending = self.actor.store.pending().await?;
        let (on_time, late_pending) = self.add_pending(&mut occurrences, &pending, now);
        let since = postponements_since(&self.config, window.after, now);
        let (facts, postponements) = read_facts(self.actor.store.as_ref(), since).await?;
        self.wakeups.add(postponements.iter().filter_map(|postponed| postponed.until).filter(|until| *until > now));
        let late_postponed = self.add_postponed(&mut occurrences, &postponements, window, now);
        let notices_due = !self.config.notices_due(now).is_empty();
        let idle_shutdown = self.config.idle_shutdown.is_some();
        if occurrences.due.is_empty()
            && !notices_due
            && !idle_shutdown
            && occurrences.missed.is_empty()
            && late_pending.is_empty()
            && late_postponed.is_empty()
        {
            return Ok(report);
        }
        let due_now = occurrences.due.clone();
        let mut unhandled = Vec::new();
        let instances = if occurrences.due.is_empty() && !notices_due && !idle_shutdown {
            Vec::new()
        } else {
            let found = inventory(&self.actor.client, &self.config).await;
            report.discovery_errors = found.errors;
            unhandled = found.unhandled;
            for instance in &found.instances {
                let state = instance.state.clone().unwrap_or_else(|| "Unknown".into());
                *report.instances_by_state.entry(state).or_default() += 1;
            }
            found.instances
        };
        // Keep the due occurrences pending before acting on anything: if part of the scope could not be read,
        // a later evaluation retries them (the claims keep what is done now from being done twice).
        report.pending = self.track_pending(&occurrences, &on_time, &report.discovery_errors, now).await?;
        for late in &late_pending {
            let reason = format!(
                "pending since {} because its scope could not be read ({}); now older than the catch-up limit",
                late.since, late.cause
            );
            self.record_missed(run, &late.rule, &late.occurrence, Some(reason), &mut report).await?;
            self.actor.store.clear_pending(&late.rule, late.occurrence.timestamp()).await?;
        }
        for late in &late_postponed {
            let until = late.until.map(|until| until.to_zoned(late.key.occurrence.time_zone().clone()));
            let reason = format!(
                "postponed by its owner until {}; now older than the catch-up limit",
                until.as_ref().map_or_else(String::new, rfc3339)
            );
            let outcome = RunOutcome {
                kind: crate::discover::kind_of_id(&late.key.target_id).map(|kind| kind.as_str().to_owned()),
                rule: late.key.rule.clone(),
                occurrence: rfc3339(&late.key.occurrence),
                id: Some(late.key.target_id.clone()),
                name: Some(late.target_name.clone()),
                action: "stop".to_owned(),
                result: EventKind::Missed,
                reason: Some(reason),
                error: None,
            };
            self.record(run, &outcome, &late.key.occurrence).await?;
            report.outcomes.push(outcome);
        }
        let due = !occurrences.due.is_empty();
        let plan = autostop_policy::plan_due(&instances, &self.config, &facts, occurrences, now);
        if due {
            report.idle_rules = plan.idle_rules.clone();
        }
        for missed in &plan.missed {
            let reason = Some("older than the catch-up limit".to_owned());
            self.record_missed(run, &missed.rule, &missed.occurrence, reason, &mut report).await?;
        }
        // A target this occurrence already claimed was handled (by this process earlier, or another): its skip
        // now (e.g. "already Stopped" after autostop stopped it) would only repeat that story.
        let occurrences: std::collections::BTreeSet<(&str, Timestamp)> =
            plan.skips.iter().map(|skip| (skip.rule.as_str(), skip.occurrence.timestamp())).collect();
        let mut claimed = std::collections::HashSet::new();
        for (rule, at) in occurrences {
            for claim in self.actor.store.claims_of(rule, at).await? {
                claimed.insert((rule.to_owned(), at, claim.key.target_key()));
            }
        }
        let skips = plan
            .skips
            .iter()
            .filter(|skip| {
                !claimed.contains(&(
                    skip.rule.clone(),
                    skip.occurrence.timestamp(),
                    skip.target.id.to_ascii_lowercase(),
                ))
            })
            .map(|skip| {
                let outcome = RunOutcome {
                    rule: skip.rule.clone(),
                    occurrence: rfc3339(&skip.occurrence),
                    kind: Some(skip.target.kind.as_str().to_owned()),
                    id: Some(skip.target.id.clone()),
                    name: Some(skip.target.name.clone()),
                    action: skip.action.to_string(),
                    result: EventKind::Skipped,
                    reason: Some(skip.reason.to_string()),
                    error: None,
                };
                (outcome, skip.occurrence.clone())
            })
            .collect::<Vec<_>>();
        // A compute this client cannot act on is left alone by every due rule, and said so (never silently).
        let skips = skips
            .into_iter()
            .chain(due_now.iter().flat_map(|due| {
                unhandled.iter().map(move |odd| {
                    let outcome = RunOutcome {
                        rule: due.rule.clone(),
                        occurrence: rfc3339(&due.occurrence),
                        kind: crate::discover::kind_of_id(&odd.id).map(|kind| kind.as_str().to_owned()),
                        id: Some(odd.id.clone()),
                        name: Some(odd.name.clone()),
                        action: self.config.rule(&due.rule).map_or_else(String::new, |rule| rule.action.to_string()),
                        result: EventKind::Skipped,
                        reason: Some(format!("cannot be handled: {}", odd.reason)),
                        error: None,
                    };
                    (outcome, due.occurrence.clone())
                })
            }))
            .collect::<Vec<_>>();
        // Recorded concurrently, so that the state store can commit many in one transaction; reported in order.
        let recorded = futures::stream::iter(skips)
            .map(|(outcome, occurrence)| async move { self.record(run, &outcome, &occurrence).await.map(|()| outcome) })
            .buffered(RECORD_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        for outcome in recorded {
            report.outcomes.push(outcome?);
        }
        let (outcomes, errors) = act::act(&self.actor, run, &plan.actions, interrupt).await;
        if errors.is_empty() && !interrupt.is_some_and(Interrupt::is_requested) {
            self.enforce_idle_shutdown(run, &instances, now, &mut report).await?;
        }
        report.unconfirmed_open += outcomes.iter().filter(|outcome| outcome.result == EventKind::Accepted).count();
        report.outcomes.extend(outcomes);
        report.unsent = errors.len();
        report.errors.extend(errors);
        // Notices go out after the stops due now, so that a slow channel never delays one.
        notices::send_due(&self.actor, &self.config, run, (&instances, &facts), now, &mut report).await?;
        Ok(report)
    }

    async fn record_missed(
        &self,
        run: &RunId,
        rule: &str,
        occurrence: &jiff::Zoned,
        reason: Option<String>,
        report: &mut RunReport,
    ) -> anyhow::Result<()> {
        let action = self.config.rule(rule).map_or_else(|| "-".to_owned(), |rule| rule.action.to_string());
        let outcome = RunOutcome {
            rule: rule.to_owned(),
            occurrence: rfc3339(occurrence),
            kind: None,
            id: None,
            name: None,
            action,
            result: EventKind::Missed,
            reason,
            error: None,
        };
        self.record(run, &outcome, occurrence).await?;
        report.outcomes.push(outcome);
        Ok(())
    }

    async fn record(&self, run: &RunId, outcome: &RunOutcome, occurrence: &jiff::Zoned) -> anyhow::Result<()> {
        let event = Event {
            run: Some(run.clone()),
            rule: Some(outcome.rule.clone()),
            occurrence: Some(occurrence.clone()),
            target_id: outcome.id.clone(),
            target_name: outcome.name.clone(),
            action: Some(outcome.action.clone()),
            reason: outcome.reason.clone(),
            error_message: outcome.error.clone(),
            ..Event::new(Timestamp::now(), outcome.result)
        };
        self.actor
            .store
            .record(&event)
            .await
            .with_context(|| format!("cannot write to the audit log in {}", self.actor.store.location()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prune_is_due_when_never_pruned_or_once_the_kept_period_moved_on_by_every() {
        let day = SignedDuration::from_hours(24);
        let before: Timestamp = "2026-03-10T12:00:00Z".parse().expect("timestamp");
        assert!(prune_due(None, before, day), "never pruned");
        let an_hour_ago = before.checked_sub(SignedDuration::from_hours(1)).expect("in range");
        assert!(!prune_due(Some(an_hour_ago), before, day), "pruned an hour ago");
        assert!(prune_due(Some(before.checked_sub(day).expect("in range")), before, day), "pruned a day ago");
        // A Blob state keeps whole days: pruned at 23:00 yesterday, its history is complete from 00:00 yesterday.
        let blob_mark: Timestamp = "2026-03-09T00:00:00Z".parse().expect("timestamp");
        assert!(!prune_due(Some(blob_mark), "2026-03-09T23:00:00Z".parse().expect("timestamp"), day));
        assert!(prune_due(Some(blob_mark), "2026-03-10T00:00:00Z".parse().expect("timestamp"), day));
    }
}

//! Acting on a plan: for each planned action, claim (durable) → mark sent (durable) → send → record Azure's
//! answer → with `wait`, follow the operation and read the target back. Nothing is sent without a committed
//! claim; a claim someone else holds is a skip, not a failure; a state write that fails stops every action not yet
//! sent and is reported, never swallowed.
//!
//! An action's turn ([`Context::act_one`]) ends once Azure's answer is recorded. With `wait`, an accepted
//! operation comes back as a compact [`Followed`] record that the results loop of [`act_each`] keeps in a
//! [`TimerQueue`] until its next poll is due; each due poll is a short future ([`Context::poll`]) that either
//! puts the record back with when to poll next, or reads the target back, decides (`confirm::after_reading`,
//! pure) and records the outcome, rebuilding the planned action and the claim from the action's index. So an
//! operation being followed costs its record (see [`super::follow`]), not a future holding all of its action.

use std::borrow::Borrow;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use autostop_azure::{Operation, Polled, PowerAction, Resource, TargetId};
use autostop_policy::{Action, PlannedAction};
use autostop_state::{
    Claim, ClaimKey, ClaimOutcome, ClaimStatus, Event, EventKind, NewClaim, RunId, Transition, rfc3339,
};
use futures::stream::{self, FuturesUnordered, Stream, StreamExt};
use jiff::Timestamp;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, sleep_until};

use super::Actor;
use super::confirm::{Decision, Seen, after_reading};
use super::follow::{Followed, TimerQueue};
use super::report::RunOutcome;
use super::turns::turns;
use crate::apply::{ActionRequest, MAX_TURNS_AT_ONCE};
use crate::interrupt::Interrupt;

/// Acts on every planned action concurrently and returns one outcome per action, plus the state errors that
/// stopped some of them (each named).
pub async fn act(
    actor: &Actor,
    run: &RunId,
    actions: &[PlannedAction],
    interrupt: Option<&Interrupt>,
) -> (Vec<RunOutcome>, Vec<String>) {
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    let done = |_: usize, result: Result<RunOutcome, String>| match result {
        Ok(outcome) => outcomes.push(outcome),
        Err(error) => errors.push(error),
    };
    act_each(actor, run, Actions::all(actions.len(), |index| &actions[index]), interrupt, done).await;
    (outcomes, errors)
}

/// Planned actions handed to [`Actor::act_now`] one at a time: `action(index)` for each index that `indices` yields.
/// A verb that acts on a large fleet builds each action when its turn comes instead of holding them all.
pub struct Actions<F, I> {
    /// The indices of the actions as they become known: all at once ([`Actions::all`]), or as a listing decides
    /// them (e.g. the receiver of a channel), so that acting begins while the rest of a scope is still listed.
    pub indices: I,
    /// The action at an index (called once when its index arrives, to find its subscription, once more to act on
    /// it).
    pub action: F,
}

impl<F> Actions<F, stream::Iter<Range<usize>>> {
    /// The actions at the indices below `count`, all known now.
    pub fn all(count: usize, action: F) -> Self {
        Actions { indices: stream::iter(0..count), action }
    }
}

/// Acts on each of `actions` and hands each result to `done` with the action's index as soon as it is
/// known (`Err`: a state error that kept it from being sent, named). At most [`ApplyOptions::concurrency`]
/// actions are being started at once in each subscription (ARM's budgets are per subscription, so one that has
/// spent its budget holds nobody else up); an action waiting for its turn is only its index, so what is held
/// at once is bounded by the actions being started and those being followed, not by how many there are. An
/// operation being followed is a record in a timer queue between its polls; at most as many polls run at once as
/// requests may be started at once (`concurrency` per subscription seen so far; while actions are still being
/// started, as many as the transport sends at once), and once shutdown's grace period
/// is over (`interrupt.abandoned()`) what is still followed ends as accepted, a later evaluation confirming it.
/// Returns once every index has come and its action is done.
///
/// [`ApplyOptions::concurrency`]: crate::apply::ApplyOptions::concurrency
pub async fn act_each<F, P, I>(
    actor: &Actor,
    run: &RunId,
    actions: Actions<F, I>,
    interrupt: Option<&Interrupt>,
    mut done: impl FnMut(usize, Result<RunOutcome, String>),
) where
    F: Fn(usize) -> P,
    P: Borrow<PlannedAction>,
    I: Stream<Item = usize>,
{
    let Actions { indices, action } = actions;
    let concurrency = actor.options.apply.concurrency.max(1);
    let store_broken = AtomicBool::new(false);
    let progress = match indices.size_hint() {
        (known, Some(count)) if known == count => crate::progress::bar(count, "operations"),
        _ => crate::progress::growing("operations"),
    };
    let context = Context { actor, run, interrupt, store_broken: &store_broken };
    let (context, action) = (&context, &action);
    let counted = progress.length().unwrap_or_default();
    let arrived = stream::iter(1..).zip(indices).map(|(arrived, index)| {
        if arrived > counted {
            progress.inc_length(1);
        }
        index
    });
    let subscriptions = AtomicUsize::new(0);
    let mut results = std::pin::pin!(
        turns(arrived, action, concurrency, &subscriptions)
            .map(|(index, slot)| async move {
                let planned = action(index);
                (index, context.act_one(index, planned.borrow(), slot).await)
            })
            .buffer_unordered(MAX_TURNS_AT_ONCE)
    );
    // Operations being followed wait in `queue` as compact records until their next poll is due. While actions are
    // still being started, at most as many polls run at once as the transport sends requests at once: a poll
    // takes its read budget before it waits for the transport, so thousands of polls queued there (3,200 at 100
    // subscriptions) would reach ARM bunched, later than their budget was counted, and be answered 429; and the
    // starts, on which the end of the job waits, would queue behind them. Then, as many as requests were started.
    let most_polling = |acting: bool| {
        let subscriptions = subscriptions.load(Ordering::Relaxed).max(1);
        if acting { autostop_azure::in_flight_for(subscriptions) } else { concurrency.saturating_mul(subscriptions) }
    };
    let mut queue = TimerQueue::<Followed>::new();
    let mut polling = FuturesUnordered::new();
    let (mut acting, mut abandoned) = (true, false);
    let mut finish = |index: usize, result: Result<RunOutcome, String>| {
        progress.inc(1);
        done(index, result);
    };
    loop {
        while polling.len() < most_polling(acting)
            && let Some(followed) = queue.pop_due(Instant::now())
        {
            polling.push(async move {
                let planned = action(followed.index);
                (followed.index, context.poll(planned.borrow(), followed).await)
            });
        }
        if !acting && queue.is_empty() && polling.is_empty() {
            break;
        }
        let due = queue.next_due();
        let answered = tokio::select! {
            // Never held back: a turn in flight may hold what a poll needs (its subscription's slot, a connection
            // of the transport's), so the turns are always driven; what is followed is bounded by what was sent.
            acted = results.next(), if acting => {
                acting = acted.is_some();
                acted
            }
            Some(polled) = polling.next(), if !polling.is_empty() => Some(polled),
            () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() && polling.len() < most_polling(acting) => None,
            () = abandon(interrupt), if !abandoned => {
                abandoned = true;
                None
            }
        };
        if abandoned {
            // Shutdown's grace period is over: what waits for its next poll is followed no further.
            for followed in queue.drain() {
                finish(followed.index, Ok(stopped_following(action(followed.index).borrow())));
            }
        }
        match answered {
            None => {}
            Some((index, Ok(Next::Follow(due, followed)))) => {
                if abandoned {
                    finish(index, Ok(stopped_following(action(index).borrow())));
                } else {
                    queue.push(due, followed);
                }
            }
            Some((index, Ok(Next::Done(outcome)))) => finish(index, Ok(outcome)),
            Some((index, Err(error))) => finish(index, Err(error)),
        }
    }
    progress.finish_and_clear();
}

/// Completes once `interrupt` says to stop following operations (never without one).
async fn abandon(interrupt: Option<&Interrupt>) {
    match interrupt {
        Some(interrupt) => interrupt.abandoned().await,
        None => std::future::pending().await,
    }
}

struct Context<'a> {
    actor: &'a Actor,
    run: &'a RunId,
    interrupt: Option<&'a Interrupt>,
    store_broken: &'a AtomicBool,
}

/// Where an action stands once its turn, or one of its polls, ended.
enum Next {
    /// Its outcome.
    Done(RunOutcome),
    /// Azure's operation, to be polled next at the instant given.
    Follow(Instant, Followed),
}

impl Context<'_> {
    fn interrupted(&self) -> bool {
        self.interrupt.is_some_and(Interrupt::is_requested)
    }

    /// The event recording what became of `planned` in this run.
    fn event(&self, planned: &PlannedAction, kind: EventKind, reason: Option<String>, error: Option<String>) -> Event {
        Event {
            run: Some(self.run.clone()),
            rule: Some(planned.rule.clone()),
            occurrence: Some(planned.occurrence.clone()),
            target_id: Some(planned.target.id.clone()),
            target_name: Some(planned.target.name.clone()),
            action: Some(planned.action.to_string()),
            reason,
            error_message: error,
            ..Event::new(Timestamp::now(), kind)
        }
    }

    /// Marks the store broken (nothing more is sent in this run) and names what it kept from being sent.
    fn broken(&self, planned: &PlannedAction, err: &dyn std::fmt::Display) -> String {
        self.store_broken.store(true, Ordering::SeqCst);
        format!("{} {}: nothing sent: the state store failed: {err}", planned.action, planned.target.name)
    }

    /// Moves the claim of `planned` from one of `from` to `to`, recording `event` with it; false when the claim
    /// was in none of `from`.
    async fn move_to(
        &self,
        planned: &PlannedAction,
        from: &'static [ClaimStatus],
        to: ClaimStatus,
        event: Option<Event>,
    ) -> Result<bool, String> {
        let key = claim_key(planned);
        let transition = Transition { key: &key, from, to, at: Timestamp::now(), event: event.as_ref() };
        self.actor.store.transition(&transition).await.map_err(|err| self.broken(planned, &err))
    }

    /// One action's turn, from claim to Azure's recorded answer, holding `slot` (its subscription's) until the
    /// request is answered; with `wait`, an accepted operation comes back to be followed. `Err` is a state error:
    /// nothing further was sent for it.
    async fn act_one(
        &self,
        index: usize,
        planned: &PlannedAction,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Result<Next, String> {
        let request = planned.target.id.parse().ok().map(|id| ActionRequest { id, action: planned.action });
        let store = &self.actor.store;
        let done = |result: EventKind, reason: Option<String>, error: Option<String>| {
            Ok(Next::Done(outcome(planned, result, reason, error)))
        };
        if self.store_broken.load(Ordering::SeqCst) {
            return Err(format!(
                "{} {}: nothing sent: an earlier state write failed in this run",
                planned.action, planned.target.name
            ));
        }
        if self.interrupted() {
            let reason = Some("shutdown came before it was claimed; a later run may act".to_owned());
            let interrupted = self.event(planned, EventKind::Interrupted, reason.clone(), None);
            store.record(&interrupted).await.map_err(|err| self.broken(planned, &err))?;
            return done(EventKind::Interrupted, reason, None);
        }
        let Some(request) = request else {
            let error = Some(format!("the target id {:?} does not parse as an ARM target id", planned.target.id));
            let failed = self.event(planned, EventKind::Failed, None, error.clone());
            store.record(&failed).await.map_err(|err| self.broken(planned, &err))?;
            return done(EventKind::Failed, None, error);
        };
        let claim = NewClaim {
            key: claim_key(planned),
            target_name: planned.target.name.clone(),
            action: planned.action.to_string(),
            run: self.run.clone(),
            at: Timestamp::now(),
        };
        let claimed = store.claim(&claim).await.map_err(|err| self.broken(planned, &err))?;
        // Only its time is needed from here on: an action being followed holds no copy of the claim.
        let claimed_at = claim.at;
        drop(claim);
        match claimed {
            ClaimOutcome::Won => {}
            ClaimOutcome::Held(held) => {
                let reason = Some(held_reason(&held));
                let skipped = self.event(planned, EventKind::Skipped, reason.clone(), None);
                store.record(&skipped).await.map_err(|err| self.broken(planned, &err))?;
                return done(EventKind::Skipped, reason, None);
            }
        }
        let permit = slot;
        if self.interrupted() || self.store_broken.load(Ordering::SeqCst) {
            drop(permit);
            let reason = Some("shutdown came before it was sent; nothing was sent".to_owned());
            let interrupted = self.event(planned, EventKind::Interrupted, reason.clone(), None);
            self.move_to(planned, &[ClaimStatus::Claimed], ClaimStatus::Interrupted, Some(interrupted)).await?;
            return done(EventKind::Interrupted, reason, None);
        }
        // Durable before the request goes out: from here on, a crash leaves a claim the next run reads back.
        if !self.move_to(planned, &[ClaimStatus::Claimed], ClaimStatus::Sent, None).await? {
            return done(EventKind::Skipped, Some("another process settled the claim first".to_owned()), None);
        }
        let begun = Box::pin(self.actor.client.begin(&request.id, power(request.action))).await;
        drop(permit);
        let operation = match begun {
            Ok(operation) => operation,
            Err(err) => {
                let error = Some(err.to_string());
                let failed = self.event(planned, EventKind::Failed, None, error.clone());
                self.move_to(
                    planned,
                    &[ClaimStatus::Sent, ClaimStatus::Interrupted],
                    ClaimStatus::Failed,
                    Some(failed),
                )
                .await?;
                return done(EventKind::Failed, None, error);
            }
        };
        let accepted = self.event(planned, EventKind::Accepted, None, None);
        // A process that judged this run dead may have moved the claim meanwhile: Azure's answer still counts.
        self.move_to(planned, &[ClaimStatus::Sent, ClaimStatus::Interrupted], ClaimStatus::Accepted, Some(accepted))
            .await?;
        if !self.actor.options.apply.wait {
            return done(EventKind::Accepted, Some("to be confirmed by a later evaluation".to_owned()), None);
        }
        let since = Instant::now();
        let due = since + operation.first_delay(&self.actor.options.apply.poll);
        let followed =
            Followed { index, status_url: operation.status_url, header: operation.header, claimed_at, since, polls: 0 };
        Ok(Next::Follow(due, followed))
    }

    /// One poll of an operation being followed (`planned` rebuilt from its index). Still running: it comes back
    /// with when to poll next. Ended: the target is read back and the outcome decided and recorded.
    async fn poll(&self, planned: &PlannedAction, followed: Followed) -> Result<Next, String> {
        let target = match planned.target.id.parse::<TargetId>() {
            Ok(target) => target,
            Err(err) => return self.settle(planned, followed.claimed_at, Err(err)).await,
        };
        let operation = Operation {
            target,
            action: power(planned.action),
            status_url: followed.status_url,
            header: followed.header,
            retry_after: None,
        };
        let options = &self.actor.options.apply.poll;
        let polled = self.unless_abandoned(self.actor.client.poll(&operation, options, followed.since, followed.polls));
        let read = match polled.await {
            None => return Ok(Next::Done(stopped_following(planned))),
            Some(Ok(Polled::Running { after })) => {
                let polls = followed.polls.saturating_add(1);
                let followed = Followed { status_url: operation.status_url, polls, ..followed };
                return Ok(Next::Follow(Instant::now() + after, followed));
            }
            // Boxed, as is the settling below: a poll waiting for its answer (hundreds at once) should not carry
            // the room the read-back and the recording need.
            Some(Ok(Polled::Succeeded)) => {
                match self.unless_abandoned(Box::pin(self.actor.client.get_target(&operation.target))).await {
                    None => return Ok(Next::Done(stopped_following(planned))),
                    Some(read) => read,
                }
            }
            Some(Err(err)) => Err(err),
        };
        Box::pin(self.settle(planned, followed.claimed_at, read)).await
    }

    /// `work`, unless shutdown's grace period ends first (`None`).
    async fn unless_abandoned<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        match self.interrupt {
            Some(interrupt) => tokio::select! {
                done = work => Some(done),
                () = interrupt.abandoned() => None,
            },
            None => Some(work.await),
        }
    }

    /// Decides and records what became of a followed operation, from the target read back once it ended (or
    /// from the error that ended the following).
    async fn settle(
        &self,
        planned: &PlannedAction,
        claimed_at: Timestamp,
        read: Result<Resource, autostop_azure::Error>,
    ) -> Result<Next, String> {
        let decision = match read {
            Ok(resource) => {
                let claim = Claim {
                    key: claim_key(planned),
                    target_name: planned.target.name.clone(),
                    action: planned.action.to_string(),
                    run: self.run.clone(),
                    claimed_at,
                    sent_at: Some(claimed_at),
                    status: ClaimStatus::Accepted,
                    updated_at: Timestamp::now(),
                };
                after_reading(
                    &claim,
                    planned.action,
                    &Seen::of(&resource),
                    Timestamp::now(),
                    self.actor.options.confirm_deadline,
                )
            }
            Err(err) if matches!(err.kind(), autostop_azure::ErrorKind::Operation { .. }) => {
                Decision::Move { to: ClaimStatus::Failed, detail: err.to_string() }
            }
            Err(err) => Decision::Unreadable(err.to_string()),
        };
        let (kind, reason, error) = match decision {
            Decision::Move { to, detail } => {
                let kind = to.event_kind().unwrap_or(EventKind::Failed);
                let (reason, error) =
                    if kind == EventKind::Failed { (None, Some(detail)) } else { (Some(detail), None) };
                let settled = self.event(planned, kind, reason.clone(), error.clone());
                self.move_to(planned, &[ClaimStatus::Accepted], to, Some(settled)).await?;
                (kind, reason, error)
            }
            Decision::Unreadable(error) => (
                EventKind::Accepted,
                Some("accepted by Azure; following it failed, a later evaluation confirms it".to_owned()),
                Some(error),
            ),
            Decision::Keep | Decision::Read => (
                EventKind::Accepted,
                Some(
                    "accepted by Azure, not yet read back in the state asked for: a later evaluation confirms it"
                        .to_owned(),
                ),
                None,
            ),
        };
        Ok(Next::Done(outcome(planned, kind, reason, error)))
    }
}

/// The key of the claim on `planned`.
fn claim_key(planned: &PlannedAction) -> ClaimKey {
    ClaimKey {
        rule: planned.rule.clone(),
        occurrence: planned.occurrence.clone(),
        target_id: planned.target.id.clone(),
    }
}

/// The power action ARM is asked for.
fn power(action: Action) -> PowerAction {
    match action {
        Action::Start => PowerAction::Start,
        Action::Stop => PowerAction::Stop,
    }
}

/// The line of the run's result for `planned`.
fn outcome(planned: &PlannedAction, result: EventKind, reason: Option<String>, error: Option<String>) -> RunOutcome {
    RunOutcome {
        rule: planned.rule.clone(),
        occurrence: rfc3339(&planned.occurrence),
        kind: Some(planned.target.kind.as_str().to_owned()),
        id: Some(planned.target.id.clone()),
        name: Some(planned.target.name.clone()),
        action: planned.action.to_string(),
        result,
        reason,
        error,
    }
}

/// The outcome of an operation Azure accepted that shutdown stopped following.
fn stopped_following(planned: &PlannedAction) -> RunOutcome {
    let reason = "accepted by Azure; shutdown stopped following it: a later evaluation confirms it";
    outcome(planned, EventKind::Accepted, Some(reason.to_owned()), None)
}

/// Why a held claim means "do not act": who holds it and where it stands.
fn held_reason(held: &Claim) -> String {
    if held.status.is_open() {
        format!("claimed by another run (run {}, {})", held.run, held.status)
    } else {
        format!("already handled for this occurrence by run {} ({})", held.run, held.status)
    }
}

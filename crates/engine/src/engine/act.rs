//! Acting on a plan: for each planned action, claim (durable) → mark sent (durable) → send → record Azure's
//! answer → with `wait`, follow the operation and read the target back. Nothing is sent without a committed
//! claim; a claim someone else holds is a skip, not a failure; a state write that fails stops every action not yet
//! sent and is reported, never swallowed.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use autostop_azure::{PowerAction, TargetId};
use autostop_policy::{Action, PlannedAction};
use autostop_state::{
    Claim, ClaimKey, ClaimOutcome, ClaimStatus, Event, EventKind, NewClaim, RunId, Transition, rfc3339,
};
use futures::channel::mpsc;
use futures::future;
use futures::stream::{self, Stream, StreamExt};
use jiff::Timestamp;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Actor;
use super::confirm::{Decision, Seen, after_reading};
use super::report::RunOutcome;
use crate::apply::{ActionRequest, MAX_FOLLOWED};
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

/// Planned actions handed to [`act_each`] one at a time: `action(index)` for each index that `indices` yields.
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
/// at once is bounded by the actions being started and those being followed, not by how many there are. Returns
/// once every index has come and its action is done.
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
    let mut results = std::pin::pin!(
        turns(arrived, action, concurrency)
            .map(|(index, slot)| async move {
                let planned = action(index);
                (index, context.act_one(planned.borrow(), slot).await)
            })
            .buffer_unordered(MAX_FOLLOWED)
    );
    while let Some((index, result)) = results.next().await {
        progress.inc(1);
        done(index, result);
    }
    progress.finish_and_clear();
}

/// The turns of the actions: each index with a slot of its subscription, once one is free. The indices are grouped
/// by the subscription of their target as they arrive (those whose target id does not parse in a group of their
/// own); each subscription hands over its indices in the order they came, as its slots free, and the
/// subscriptions' turns come together. Ends once `indices` has ended and every turn was handed over.
fn turns<'a, F, P>(
    indices: impl Stream<Item = usize> + 'a,
    action: &'a F,
    concurrency: usize,
) -> impl Stream<Item = (usize, Option<OwnedSemaphorePermit>)> + 'a
where
    F: Fn(usize) -> P,
    P: Borrow<PlannedAction>,
{
    let mut queues: HashMap<String, (mpsc::UnboundedSender<usize>, Arc<Semaphore>)> = HashMap::new();
    // A subscription's queue is a stream of its own, handed to the flattening when its first index comes.
    let new_queues = indices.map(Some).chain(stream::iter([None])).filter_map(move |index| {
        let Some(index) = index else {
            // Every index has come: each queue ends once its indices are handed over.
            queues.clear();
            return future::ready(None);
        };
        let key = match action(index).borrow().target.id.parse::<TargetId>() {
            Ok(id) => id.subscription().as_str().to_ascii_lowercase(),
            Err(_) => String::new(),
        };
        let (index, slots) = match queues.get(&key) {
            None => (index, Arc::new(Semaphore::new(concurrency))),
            Some((queue, slots)) => match queue.unbounded_send(index) {
                Ok(()) => return future::ready(None),
                // Its queue has ended (which it does only once every index has come): it gets another.
                Err(ended) => (ended.into_inner(), Arc::clone(slots)),
            },
        };
        let (queue, later) = mpsc::unbounded();
        queues.insert(key, (queue, Arc::clone(&slots)));
        let queued = stream::once(future::ready(index)).chain(later).then(move |index| {
            let slots = Arc::clone(&slots);
            async move { (index, slots.acquire_owned().await.ok()) }
        });
        future::ready(Some(Box::pin(queued)))
    });
    new_queues.flatten_unordered(None)
}

struct Context<'a> {
    actor: &'a Actor,
    run: &'a RunId,
    interrupt: Option<&'a Interrupt>,
    store_broken: &'a AtomicBool,
}

impl Context<'_> {
    fn interrupted(&self) -> bool {
        self.interrupt.is_some_and(Interrupt::is_requested)
    }

    /// One action, from claim to the recorded answer, holding `slot` (its subscription's) until the request is
    /// answered. `Err` is a state error: nothing further was sent for it.
    async fn act_one(&self, planned: &PlannedAction, slot: Option<OwnedSemaphorePermit>) -> Result<RunOutcome, String> {
        let request = planned.target.id.parse().ok().map(|id| ActionRequest { id, action: planned.action });
        let key = ClaimKey {
            rule: planned.rule.clone(),
            occurrence: planned.occurrence.clone(),
            target_id: planned.target.id.clone(),
        };
        let outcome = |result: EventKind, reason: Option<String>, error: Option<String>| RunOutcome {
            rule: planned.rule.clone(),
            occurrence: rfc3339(&planned.occurrence),
            kind: Some(planned.target.kind.as_str().to_owned()),
            id: Some(planned.target.id.clone()),
            name: Some(planned.target.name.clone()),
            action: planned.action.to_string(),
            result,
            reason,
            error,
        };
        let event = |kind: EventKind, reason: Option<String>, error: Option<String>| Event {
            run: Some(self.run.clone()),
            rule: Some(planned.rule.clone()),
            occurrence: Some(planned.occurrence.clone()),
            target_id: Some(planned.target.id.clone()),
            target_name: Some(planned.target.name.clone()),
            action: Some(planned.action.to_string()),
            reason,
            error_message: error,
            ..Event::new(Timestamp::now(), kind)
        };
        let store = &self.actor.store;
        let broken = |err: &dyn std::fmt::Display| {
            self.store_broken.store(true, Ordering::SeqCst);
            format!("{} {}: nothing sent: the state store failed: {err}", planned.action, planned.target.name)
        };
        if self.store_broken.load(Ordering::SeqCst) {
            return Err(format!(
                "{} {}: nothing sent: an earlier state write failed in this run",
                planned.action, planned.target.name
            ));
        }
        if self.interrupted() {
            let reason = Some("shutdown came before it was claimed; a later run may act".to_owned());
            let interrupted = event(EventKind::Interrupted, reason.clone(), None);
            store.record(&interrupted).await.map_err(|err| broken(&err))?;
            return Ok(outcome(EventKind::Interrupted, reason, None));
        }
        let Some(request) = request else {
            let error = Some(format!("the target id {:?} does not parse as an ARM target id", planned.target.id));
            store.record(&event(EventKind::Failed, None, error.clone())).await.map_err(|err| broken(&err))?;
            return Ok(outcome(EventKind::Failed, None, error));
        };
        let claim = NewClaim {
            key: key.clone(),
            target_name: planned.target.name.clone(),
            action: planned.action.to_string(),
            run: self.run.clone(),
            at: Timestamp::now(),
        };
        let claimed = store.claim(&claim).await.map_err(|err| broken(&err))?;
        // Only its time is needed from here on: an action being followed holds no copy of the claim.
        let claimed_at = claim.at;
        drop(claim);
        match claimed {
            ClaimOutcome::Won => {}
            ClaimOutcome::Held(held) => {
                let reason = Some(held_reason(&held));
                store.record(&event(EventKind::Skipped, reason.clone(), None)).await.map_err(|err| broken(&err))?;
                return Ok(outcome(EventKind::Skipped, reason, None));
            }
        }
        let move_to = |from: &'static [ClaimStatus], to: ClaimStatus, event: Option<Event>| {
            let key = &key;
            async move {
                store
                    .transition(&Transition { key, from, to, at: Timestamp::now(), event: event.as_ref() })
                    .await
                    .map_err(|err| broken(&err))
            }
        };
        let permit = slot;
        // What follows is boxed, and within it the request and the following of the operation: an action being
        // followed (thousands at once at the start of a large job) holds only what it needs between polls.
        let key = &key;
        let sent = async move {
            if self.interrupted() || self.store_broken.load(Ordering::SeqCst) {
                drop(permit);
                let reason = Some("shutdown came before it was sent; nothing was sent".to_owned());
                let interrupted = event(EventKind::Interrupted, reason.clone(), None);
                move_to(&[ClaimStatus::Claimed], ClaimStatus::Interrupted, Some(interrupted)).await?;
                return Ok(outcome(EventKind::Interrupted, reason, None));
            }
            // Durable before the request goes out: from here on, a crash leaves a claim the next run reads back.
            if !move_to(&[ClaimStatus::Claimed], ClaimStatus::Sent, None).await? {
                return Ok(outcome(
                    EventKind::Skipped,
                    Some("another process settled the claim first".to_owned()),
                    None,
                ));
            }
            let power = match request.action {
                Action::Start => PowerAction::Start,
                Action::Stop => PowerAction::Stop,
            };
            let begun = Box::pin(self.actor.client.begin(&request.id, power)).await;
            drop(permit);
            let operation = match begun {
                Ok(operation) => operation,
                Err(err) => {
                    let error = Some(err.to_string());
                    let failed = event(EventKind::Failed, None, error.clone());
                    move_to(&[ClaimStatus::Sent, ClaimStatus::Interrupted], ClaimStatus::Failed, Some(failed)).await?;
                    return Ok(outcome(EventKind::Failed, None, error));
                }
            };
            let accepted = event(EventKind::Accepted, None, None);
            // A process that judged this run dead may have moved the claim meanwhile: Azure's answer still counts.
            move_to(&[ClaimStatus::Sent, ClaimStatus::Interrupted], ClaimStatus::Accepted, Some(accepted)).await?;
            if !self.actor.options.apply.wait {
                return Ok(outcome(
                    EventKind::Accepted,
                    Some("to be confirmed by a later evaluation".to_owned()),
                    None,
                ));
            }
            let followed = Box::pin(self.actor.client.wait(&operation, &self.actor.options.apply.poll));
            let followed = match self.interrupt {
                Some(interrupt) => tokio::select! {
                    followed = followed => Some(followed),
                    () = interrupt.abandoned() => None,
                },
                None => Some(followed.await),
            };
            let Some(followed) = followed else {
                let reason = "accepted by Azure; shutdown stopped following it: a later evaluation confirms it";
                return Ok(outcome(EventKind::Accepted, Some(reason.to_owned()), None));
            };
            let claim = Claim {
                key: key.clone(),
                target_name: planned.target.name.clone(),
                action: planned.action.to_string(),
                run: self.run.clone(),
                claimed_at,
                sent_at: Some(claimed_at),
                status: ClaimStatus::Accepted,
                updated_at: Timestamp::now(),
            };
            let decision = match followed {
                Ok(resource) => after_reading(
                    &claim,
                    planned.action,
                    &Seen::of(&resource),
                    Timestamp::now(),
                    self.actor.options.confirm_deadline,
                ),
                Err(err) if matches!(err.kind(), autostop_azure::ErrorKind::Operation { .. }) => {
                    Decision::Move { to: ClaimStatus::Failed, detail: err.to_string() }
                }
                Err(err) => Decision::Unreadable(err.to_string()),
            };
            match decision {
                Decision::Move { to, detail } => {
                    let kind = to.event_kind().unwrap_or(EventKind::Failed);
                    let (reason, error) =
                        if kind == EventKind::Failed { (None, Some(detail)) } else { (Some(detail), None) };
                    let settled = event(kind, reason.clone(), error.clone());
                    move_to(&[ClaimStatus::Accepted], to, Some(settled)).await?;
                    Ok(outcome(kind, reason, error))
                }
                Decision::Unreadable(error) => Ok(outcome(
                    EventKind::Accepted,
                    Some("accepted by Azure; following it failed, a later evaluation confirms it".to_owned()),
                    Some(error),
                )),
                Decision::Keep | Decision::Read => Ok(outcome(
                    EventKind::Accepted,
                    Some(
                        "accepted by Azure, not yet read back in the state asked for: a later evaluation confirms it"
                            .to_owned(),
                    ),
                    None,
                )),
            }
        };
        Box::pin(sent).await
    }
}

/// Why a held claim means "do not act": who holds it and where it stands.
fn held_reason(held: &Claim) -> String {
    if held.status.is_open() {
        format!("claimed by another run (run {}, {})", held.run, held.status)
    } else {
        format!("already handled for this occurrence by run {} ({})", held.run, held.status)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use autostop_policy::Instance;
    use tokio::time::timeout;

    use super::*;

    /// A stop of compute `name` in subscription number `subscription`.
    fn stop(subscription: u32, name: &str) -> PlannedAction {
        let id = format!(
            "/subscriptions/00000000-0000-0000-0000-{subscription:012}/resourceGroups/rg/providers/\
             Microsoft.MachineLearningServices/workspaces/ws-a/computes/{name}"
        );
        PlannedAction {
            rule: "r".to_owned(),
            occurrence: Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC),
            target: Instance { id, name: name.to_owned(), ..Instance::default() },
            action: Action::Stop,
            force: false,
        }
    }

    #[tokio::test]
    async fn turns_come_as_their_indices_arrive_at_most_the_slots_of_a_subscription_at_once() {
        let mut not_an_id = stop(9, "odd");
        not_an_id.target.id = "not an ARM id".to_owned();
        let actions = [stop(1, "a-1"), stop(1, "a-2"), stop(2, "b-1"), stop(1, "a-3"), not_an_id];
        assert!(actions[..4].iter().all(|planned| planned.target.id.parse::<TargetId>().is_ok()));
        let action = |index: usize| &actions[index];
        let (indices, arriving) = mpsc::unbounded();
        let mut turns = std::pin::pin!(turns(arriving, &action, 1));
        let wait = Duration::from_secs(10);

        for index in [0, 1] {
            indices.unbounded_send(index).expect("receiving");
        }
        let (first, a_slot) = timeout(wait, turns.next()).await.expect("a turn").expect("not ended");
        assert_eq!(first, 0);
        assert!(a_slot.is_some());
        let held = timeout(Duration::from_millis(50), turns.next()).await;
        assert!(held.is_err(), "subscription 1's one slot is held: a-2 waits");

        indices.unbounded_send(2).expect("receiving");
        let (other, _b_slot) = timeout(wait, turns.next()).await.expect("a turn").expect("not ended");
        assert_eq!(other, 2, "another subscription's turn does not wait for subscription 1's slot");

        drop(a_slot);
        let (freed, a_slot) = timeout(wait, turns.next()).await.expect("a turn").expect("not ended");
        assert_eq!(freed, 1, "a-2 once a-1's slot is free");
        for index in [3, 4] {
            indices.unbounded_send(index).expect("receiving");
        }
        drop(indices);
        let (odd, _) = timeout(wait, turns.next()).await.expect("a turn").expect("not ended");
        assert_eq!(odd, 4, "an id that does not parse is a group of its own");
        drop(a_slot);
        let (last, _) = timeout(wait, turns.next()).await.expect("a turn").expect("not ended");
        assert_eq!(last, 3);
        assert!(
            timeout(wait, turns.next()).await.expect("the end").is_none(),
            "ends once the indices have and all turns came"
        );
    }
}

//! Long-running operations as both emulated providers (Azure ML computes, Compute VMs and scale sets) keep them:
//! which resource each runs on, when it ends, how it ends, and what a poll of it sees at a given time. Pure: the
//! emulated time `now` and wall-clock strings are passed in.

use std::collections::HashMap;
use std::time::Duration;

use crate::arm_error::ArmError;

/// One operation on the resource at index `target` of its provider's world.
#[derive(Debug)]
pub(crate) struct Operation<A> {
    /// The resource it runs on.
    pub target: usize,
    /// What it does.
    pub action: A,
    /// The resource's state before it began (restored when it fails).
    pub from_state: String,
    /// When it began (emulated time).
    pub started: Duration,
    /// When it ends (emulated time).
    pub ends_at: Duration,
    /// How it fails, when it does.
    pub failure: Option<ArmError>,
    /// The subscription it is polled under.
    pub subscription: String,
    /// When it began (ARM timestamp).
    pub start_time: String,
    /// When it was first seen finished (ARM timestamp); fixed from then on.
    pub end_time: Option<String>,
}

impl<A> Operation<A> {
    /// Whether it has ended by `now`; the first time it has, its end time is fixed to `wall`.
    pub fn ended(&mut self, now: Duration, wall: &str) -> bool {
        if self.ends_at > now {
            return false;
        }
        self.end_time.get_or_insert_with(|| wall.to_owned());
        true
    }
}

/// An accepted operation: where to poll it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// The operation id.
    pub operation_id: String,
    /// The subscription, as the fleet spells it.
    pub subscription: String,
    /// The region that names the status URL.
    pub location: String,
}

/// What a new operation is: on which resource, doing what, from which state, for how long, how it ends.
#[derive(Debug)]
pub(crate) struct NewOperation<A> {
    /// The resource it runs on.
    pub target: usize,
    /// What it does.
    pub action: A,
    /// The resource's state now (restored when it fails).
    pub from_state: String,
    /// How long it takes.
    pub duration: Duration,
    /// How it fails, when it does.
    pub failure: Option<ArmError>,
}

/// What a poll of an operation sees.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Progress {
    /// The operation id.
    pub id: String,
    /// `InProgress`, `Succeeded` or `Failed`.
    pub status: &'static str,
    /// 0..=100 (99 at most while running).
    pub percent_complete: f64,
    /// When it began (ARM timestamp).
    pub start_time: String,
    /// When it ended, once it has.
    pub end_time: Option<String>,
    /// The error of a failed operation.
    pub error: Option<ArmError>,
}

/// The operations of one provider, by id.
#[derive(Debug)]
pub(crate) struct Operations<A> {
    by_id: HashMap<String, Operation<A>>,
}

impl<A> Default for Operations<A> {
    fn default() -> Self {
        Operations { by_id: HashMap::new() }
    }
}

impl<A> Operations<A> {
    /// Records `new`, begun at `now` (`wall`) in `subscription` of region `location`, under a fresh id.
    pub fn begin(
        &mut self,
        new: NewOperation<A>,
        (subscription, location): (&str, &str),
        now: Duration,
        wall: &str,
    ) -> Accepted {
        let accepted = Accepted {
            operation_id: uuid::Uuid::new_v4().to_string(),
            subscription: subscription.to_owned(),
            location: location.to_owned(),
        };
        let operation = Operation {
            target: new.target,
            action: new.action,
            from_state: new.from_state,
            started: now,
            ends_at: now + new.duration,
            failure: new.failure,
            subscription: subscription.to_owned(),
            start_time: wall.to_owned(),
            end_time: None,
        };
        self.by_id.insert(accepted.operation_id.clone(), operation);
        accepted
    }

    /// The operation a resource's `pending` id names once it has ended by `now`, clearing `pending`; `None` while
    /// it runs or when none is pending (an unknown id is cleared too).
    pub fn take_ended(&mut self, pending: &mut Option<String>, now: Duration, wall: &str) -> Option<&Operation<A>> {
        let id = pending.as_deref()?;
        let Some(op) = self.by_id.get_mut(id) else {
            *pending = None;
            return None;
        };
        if !op.ended(now, wall) {
            return None;
        }
        *pending = None;
        Some(op)
    }

    /// The resource operation `id` runs on, when it exists in `subscription` (a poll under another subscription
    /// does not see it).
    pub fn target(&self, subscription: &str, id: &str) -> Option<usize> {
        self.by_id.get(id).filter(|op| op.subscription.eq_ignore_ascii_case(subscription)).map(|op| op.target)
    }

    /// What a poll of operation `id` under `subscription` sees at `now`, once `settle` has applied its end to the
    /// resource it runs on (given the book and that resource's index); `None` when it does not exist there.
    pub fn poll(
        &mut self,
        (subscription, id): (&str, &str),
        now: Duration,
        wall: &str,
        settle: impl FnOnce(&mut Self, usize),
    ) -> Option<Progress> {
        let target = self.target(subscription, id)?;
        settle(self, target);
        self.progress(id, now, wall)
    }

    /// What a poll of operation `id` sees at `now`.
    pub fn progress(&mut self, id: &str, now: Duration, wall: &str) -> Option<Progress> {
        let op = self.by_id.get_mut(id)?;
        let running = !op.ended(now, wall);
        let total = op.ends_at.saturating_sub(op.started).as_secs_f64();
        let done = now.saturating_sub(op.started).as_secs_f64();
        let (status, percent_complete, error) = match (running, &op.failure) {
            (true, _) => ("InProgress", if total > 0.0 { (done / total * 100.0).floor().min(99.0) } else { 0.0 }, None),
            (false, Some(error)) => ("Failed", 100.0, Some(error.clone())),
            (false, None) => ("Succeeded", 100.0, None),
        };
        Some(Progress {
            id: id.to_owned(),
            status,
            percent_complete,
            start_time: op.start_time.clone(),
            end_time: op.end_time.clone().filter(|_| !running),
            error,
        })
    }

    /// Makes every operation in flight end at `now` at the latest.
    pub fn end_all(&mut self, now: Duration) {
        for op in self.by_id.values_mut() {
            op.ends_at = op.ends_at.min(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn book(failure: Option<ArmError>) -> (Operations<&'static str>, String) {
        let mut book = Operations::default();
        let new =
            NewOperation { target: 7, action: "stop", from_state: "Running".into(), duration: 4 * SECOND, failure };
        let accepted = book.begin(new, ("Sub", "eastus"), Duration::ZERO, "t0");
        (book, accepted.operation_id)
    }

    #[test]
    fn progress_runs_then_ends_once_with_a_fixed_end_time() {
        let (mut book, op) = book(None);
        let running = book.progress(&op, SECOND, "t1").expect("exists");
        assert_eq!((running.status, running.percent_complete, running.end_time), ("InProgress", 25.0, None));
        let done = book.progress(&op, 5 * SECOND, "t5").expect("exists");
        assert_eq!((done.status, done.end_time.as_deref()), ("Succeeded", Some("t5")));
        assert_eq!(book.progress(&op, 9 * SECOND, "t9").and_then(|p| p.end_time).as_deref(), Some("t5"));
        assert_eq!(book.progress("nope", SECOND, "t1"), None);
    }

    #[test]
    fn take_ended_clears_pending_only_once_the_operation_ended() {
        let (mut book, op) = book(None);
        let mut pending = Some(op.clone());
        assert!(book.take_ended(&mut pending, SECOND, "t1").is_none());
        assert_eq!(pending.as_deref(), Some(op.as_str()));
        let ended = book.take_ended(&mut pending, 4 * SECOND, "t4").map(|op| (op.target, op.end_time.clone()));
        assert_eq!(ended, Some((7, Some("t4".to_owned()))));
        assert_eq!(pending, None);
        let mut unknown = Some("nope".to_owned());
        assert!(book.take_ended(&mut unknown, SECOND, "t1").is_none());
        assert_eq!(unknown, None);
    }

    #[test]
    fn polls_see_only_their_subscription_and_failures_and_end_all() {
        let (mut book, op) = book(Some(ArmError::new(500, "InternalServerError", "injected")));
        assert_eq!(book.target("sub", &op), Some(7));
        assert_eq!(book.target("other", &op), None);
        book.end_all(SECOND);
        let failed = book.progress(&op, SECOND, "t1").expect("exists");
        assert_eq!((failed.status, failed.error.map(|e| e.code)), ("Failed", Some("InternalServerError".to_owned())));
    }
}

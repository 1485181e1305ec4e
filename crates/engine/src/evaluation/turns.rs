//! The turns of the actions of one `act_each`: the indices grouped by subscription as they arrive, each handed
//! over with one of its subscription's slots (`concurrency` each) once one is free, so that a subscription that
//! has spent its ARM budget holds nobody else up.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use autostop_azure::TargetId;
use autostop_policy::PlannedAction;
use futures::channel::mpsc;
use futures::future;
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The turns of the actions: each index with a slot of its subscription, once one is free. The indices are grouped
/// by the subscription of their target as they arrive (those whose target id does not parse in a group of their
/// own); each subscription hands over its indices in the order they came, as its slots free, and the
/// subscriptions' turns come together. Ends once `indices` has ended and every turn was handed over. Counts in
/// `subscriptions` the groups it has seen so far.
pub(super) fn turns<'a, F, P>(
    indices: impl Stream<Item = usize> + 'a,
    action: &'a F,
    concurrency: usize,
    subscriptions: &'a AtomicUsize,
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
            None => {
                subscriptions.fetch_add(1, Ordering::Relaxed);
                (index, Arc::new(Semaphore::new(concurrency)))
            }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use autostop_policy::{Action, Instance};
    use jiff::Timestamp;
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
            target: Instance { id, name: name.to_owned(), ..Instance::default() }.into(),
            action: Action::Stop,
            force: false,
        }
    }

    #[tokio::test]
    async fn turns_come_as_their_indices_arrive_at_most_the_slots_of_a_subscription_at_once() {
        let mut not_an_id = stop(9, "odd");
        std::sync::Arc::make_mut(&mut not_an_id.target).id = "not an ARM id".to_owned();
        let actions = [stop(1, "a-1"), stop(1, "a-2"), stop(2, "b-1"), stop(1, "a-3"), not_an_id];
        assert!(actions[..4].iter().all(|planned| planned.target.id.parse::<TargetId>().is_ok()));
        let action = |index: usize| &actions[index];
        let (indices, arriving) = mpsc::unbounded();
        let subscriptions = AtomicUsize::new(0);
        let mut turns = std::pin::pin!(turns(arriving, &action, 1, &subscriptions));
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
        assert_eq!(subscriptions.load(Ordering::Relaxed), 3, "subscriptions 1 and 2, and the id that does not parse");
    }
}

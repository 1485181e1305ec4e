//! The operations being followed: a compact record of each ([`Followed`]) and the queue of when each is next
//! polled ([`TimerQueue`]).
//!
//! Once Azure accepted an action (202) and the answer is recorded, acting on it is over: what remains is to poll
//! its status URL now and then, and once it ended, to read the target back and record the outcome. Thousands
//! are followed at once at the start of a large job (all that a burst of stops sent), and each waits minutes
//! between a handful of polls, so a future per action from claim to outcome would hold, for nothing, the planned
//! action, the claim key, the request and the polling loop (about 5 KB each). Instead each is a [`Followed`]
//! record (the action's index, the status URL and header, when it was claimed, when following began and how
//! many polls found it running: about 150 bytes and the URL) kept in a [`TimerQueue`] by when its next poll is
//! due; everything else is rebuilt from the action's index when a poll falls due, and the poll is a short future
//! of its own.
//!
//! The queue is a binary heap under one timer (the caller sleeps until [`TimerQueue::next_due`]) rather than
//! `tokio_util::time::DelayQueue`: it needs no other crate, and the caller, not a timer per entry, decides how
//! many due polls run at once.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use autostop_azure::StatusHeader;
use jiff::Timestamp;
use tokio::time::Instant;
use url::Url;

/// An operation Azure accepted and that is being followed: only what cannot be rebuilt from the action's index.
#[derive(Debug)]
pub(super) struct Followed {
    /// The action's index (its planned action, claim key and target are rebuilt from it).
    pub index: usize,
    /// The status URL, verbatim from the 202.
    pub status_url: Url,
    /// Which header the status URL came from.
    pub header: StatusHeader,
    /// When the action was claimed (and sent): the confirmation deadline counts from it.
    pub claimed_at: Timestamp,
    /// When following began: the polling deadline counts from it.
    pub since: Instant,
    /// How many polls found it still running.
    pub polls: u32,
}

/// Items that fall due at instants: the earliest first, those due at the same instant in the order they came.
#[derive(Debug)]
pub(super) struct TimerQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    pushed: u64,
}

impl<T> TimerQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        TimerQueue { heap: BinaryHeap::new(), pushed: 0 }
    }

    /// Adds `item`, due at `due`.
    pub fn push(&mut self, due: Instant, item: T) {
        self.pushed += 1;
        self.heap.push(Entry { due, order: self.pushed, item });
    }

    /// When the earliest item falls due.
    pub fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|entry| entry.due)
    }

    /// The earliest item, if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        if self.next_due()? <= now { self.heap.pop().map(|entry| entry.item) } else { None }
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Takes every item out, due or not, in no particular order.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.heap.drain().map(|entry| entry.item)
    }
}

/// An item and when it falls due; ordered so that the heap's greatest is the earliest due, first pushed.
#[derive(Debug)]
struct Entry<T> {
    due: Instant,
    order: u64,
    item: T,
}

impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.due.cmp(&self.due).then_with(|| other.order.cmp(&self.order))
    }
}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Entry<T> {}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn items_come_out_earliest_first_and_ties_in_the_order_they_came() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut queue = TimerQueue::new();
        for (ms, name) in [(30, "c"), (10, "a"), (20, "b1"), (20, "b2"), (10, "a2"), (40, "d")] {
            queue.push(at(ms), name);
        }
        assert_eq!(queue.next_due(), Some(at(10)));
        assert_eq!(queue.pop_due(at(5)), None, "nothing is due before the earliest");
        let mut out = Vec::new();
        while let Some(name) = queue.pop_due(at(30)) {
            out.push(name);
        }
        assert_eq!(out, ["a", "a2", "b1", "b2", "c"]);
        assert_eq!(queue.next_due(), Some(at(40)), "what is not due yet stays");
        assert_eq!(queue.drain().collect::<Vec<_>>(), ["d"]);
    }

    #[test]
    fn an_item_pushed_later_but_due_sooner_comes_first() {
        let t0 = Instant::now();
        let mut queue = TimerQueue::new();
        queue.push(t0 + Duration::from_secs(5), 1);
        assert_eq!(queue.pop_due(t0), None);
        queue.push(t0 + Duration::from_secs(1), 2);
        assert_eq!(queue.next_due(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(queue.pop_due(t0 + Duration::from_secs(5)), Some(2));
        assert_eq!(queue.pop_due(t0 + Duration::from_secs(5)), Some(1));
        assert!(queue.is_empty() && queue.next_due().is_none());
    }

    #[test]
    fn a_followed_operation_costs_a_few_hundred_bytes_at_most() {
        // The record and its place in the queue; the status URL's text (about 200 bytes) comes on top.
        let entry = std::mem::size_of::<Entry<Followed>>();
        assert!(entry <= 192, "a followed operation's entry grew to {entry} bytes");
    }

    #[test]
    fn draining_takes_everything_due_or_not() {
        let t0 = Instant::now();
        let mut queue = TimerQueue::new();
        queue.push(t0 + Duration::from_secs(60), 'b');
        queue.push(t0, 'a');
        let mut drained = queue.drain().collect::<Vec<_>>();
        drained.sort_unstable();
        assert_eq!(drained, ['a', 'b']);
        assert!(queue.is_empty());
    }
}

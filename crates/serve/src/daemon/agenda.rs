//! When the daemon evaluates next: a pure decision from the end of the last window, the next occurrence and the
//! pauses the previous evaluation asked for. The loop ([`super::scheduler`]) reads the clock and sleeps; this
//! only computes.

use std::time::Duration;

use jiff::Timestamp;

/// What the loop remembers between evaluations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Agenda {
    /// The end of the last evaluated window; `None`: no memory (the engine's catch-up limit decides).
    pub(super) last: Option<Timestamp>,
    /// After a failed evaluation: not again before this.
    not_before: Option<Timestamp>,
    /// After an evaluation that left problems or actions to confirm: again at this, occurrence or not.
    recheck_at: Option<Timestamp>,
}

impl Agenda {
    /// The agenda of a daemon that last evaluated up to `last`.
    pub(super) fn new(last: Option<Timestamp>) -> Agenda {
        Agenda { last, ..Agenda::default() }
    }

    /// When to evaluate next, at `now`, given `next_occurrence(after)`, the first occurrence of any rule strictly
    /// after `after`; `None`: never (until a reload).
    ///
    /// With no memory it is at once; otherwise once an occurrence is due, or the recheck, whichever comes first,
    /// but not before the pause after a failure.
    pub(super) fn wake(
        &self,
        now: Timestamp,
        next_occurrence: impl FnOnce(Timestamp) -> Option<Timestamp>,
    ) -> Option<Timestamp> {
        let next = match self.last {
            None => Some(now),
            // The contract says strictly after; holding the engine to it keeps a bug from becoming a busy loop.
            Some(last) => next_occurrence(last).filter(|next| *next > last),
        };
        let next = match (next, self.recheck_at) {
            (Some(next), Some(recheck)) => Some(next.min(recheck)),
            (next, recheck) => next.or(recheck),
        };
        match (next, self.not_before) {
            (Some(next), Some(not_before)) => Some(next.max(not_before)),
            (next, _) => next,
        }
    }

    /// The window ending at `now` was evaluated; `recheck`: it left problems or actions to confirm, so evaluate
    /// again after `retry` even if no occurrence is due.
    pub(super) fn evaluated(&mut self, now: Timestamp, recheck: bool, retry: Duration) {
        *self = Agenda { last: Some(now), not_before: None, recheck_at: recheck.then(|| later(now, retry)) };
    }

    /// The evaluation at `now` failed: try the same window again, not before `retry` has passed.
    pub(super) fn failed(&mut self, now: Timestamp, retry: Duration) {
        self.not_before = Some(later(now, retry));
    }

    /// This replica took over as leader at `now`: carry on from `stored`, the shared "last evaluated" (the
    /// previous leader moved it on; `None` when it could not be read), and evaluate at once, to catch up what the
    /// previous leader did not do and confirm what it left open.
    pub(super) fn take_over(&mut self, stored: Option<Timestamp>, now: Timestamp) {
        *self = Agenda { last: stored.max(self.last), not_before: None, recheck_at: Some(now) };
    }
}

/// How long to sleep at `now` before waking at `wake`: at most `max_sleep` (the wall clock may jump), and
/// `max_sleep` when nothing is due ever.
pub(super) fn sleep(wake: Option<Timestamp>, now: Timestamp, max_sleep: Duration) -> Duration {
    match wake {
        Some(wake) => wake.duration_since(now).unsigned_abs().min(max_sleep),
        None => max_sleep,
    }
}

/// `retry` after `now`, or the end of time.
fn later(now: Timestamp, retry: Duration) -> Timestamp {
    now.checked_add(retry).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::super::fakes::ts;
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn at(hour_minute: &str) -> Timestamp {
        ts(&format!("2026-01-05T{hour_minute}:00Z"))
    }

    #[test]
    fn with_no_memory_it_wakes_at_once_and_otherwise_at_the_next_occurrence() {
        let now = at("21:00");
        assert_eq!(Agenda::new(None).wake(now, |_| panic!("no occurrence needed")), Some(now));
        let agenda = Agenda::new(Some(at("20:00")));
        assert_eq!(agenda.wake(now, |after| (after == at("20:00")).then(|| at("22:00"))), Some(at("22:00")));
        assert_eq!(agenda.wake(now, |_| None), None, "no rule ever fires");
        assert_eq!(agenda.wake(now, |_| Some(at("20:00"))), None, "an occurrence not after the window is ignored");
    }

    #[test]
    fn a_recheck_comes_before_a_later_occurrence_and_a_failure_holds_off_an_earlier_one() {
        let mut agenda = Agenda::new(Some(at("20:00")));
        agenda.evaluated(at("21:00"), true, MINUTE);
        assert_eq!(agenda.last, Some(at("21:00")));
        assert_eq!(agenda.wake(at("21:00"), |_| Some(at("23:00"))), Some(at("21:01")));
        assert_eq!(agenda.wake(at("21:00"), |_| None), Some(at("21:01")), "a recheck without any occurrence");

        let mut agenda = Agenda::new(Some(at("20:00")));
        agenda.failed(at("21:00"), MINUTE);
        assert_eq!(agenda.last, Some(at("20:00")), "a failed window is not skipped");
        assert_eq!(agenda.wake(at("21:00"), |_| Some(at("20:30"))), Some(at("21:01")));
        agenda.evaluated(at("21:01"), false, MINUTE);
        assert_eq!(agenda.wake(at("21:01"), |_| Some(at("23:00"))), Some(at("23:00")), "the pause is over");
    }

    #[test]
    fn a_takeover_carries_on_from_the_later_window_end_at_once() {
        let mut agenda = Agenda::new(Some(at("20:00")));
        agenda.failed(at("20:30"), MINUTE * 60);
        agenda.take_over(Some(at("21:00")), at("21:10"));
        assert_eq!(agenda.last, Some(at("21:00")));
        assert_eq!(agenda.wake(at("21:10"), |_| Some(at("23:00"))), Some(at("21:10")), "the failure pause is gone");
        agenda.take_over(None, at("21:20"));
        assert_eq!(agenda.last, Some(at("21:00")), "an unreadable store keeps what this replica knows");
        agenda.take_over(Some(at("20:00")), at("21:20"));
        assert_eq!(agenda.last, Some(at("21:00")), "the window never moves back");
    }

    #[test]
    fn the_sleep_lasts_until_the_wake_up_at_most_the_longest_sleep() {
        let max = MINUTE * 5;
        assert_eq!(sleep(Some(at("21:02")), at("21:00"), max), MINUTE * 2);
        assert_eq!(sleep(Some(at("23:00")), at("21:00"), max), max);
        assert_eq!(sleep(None, at("21:00"), max), max);
        assert_eq!(sleep(Some(at("21:00")), at("21:00"), max), Duration::ZERO);
    }
}

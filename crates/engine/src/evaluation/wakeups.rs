//! Instants the daemon must evaluate at besides the rules' occurrences: the new times of postponed stops. Shared
//! between the engine (which learns them from the state at each evaluation), the link handler (which learns
//! them as owners answer) and the daemon's loop (which sleeps until the next one). Holds no decision.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;

/// A shared set of instants to wake at.
#[derive(Debug, Clone, Default)]
pub struct Wakeups(Arc<Mutex<BTreeSet<Timestamp>>>);

impl Wakeups {
    /// Adds instants to wake at.
    pub fn add(&self, instants: impl IntoIterator<Item = Timestamp>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend(instants);
    }

    /// The first instant strictly after `after`; forgets those at or before it (they were evaluated).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let mut instants = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        instants.retain(|at| *at > after);
        instants.first().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_wakeup_is_the_first_after_and_older_ones_are_forgotten() {
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        let wakeups = Wakeups::default();
        wakeups.clone().add([at("2026-03-02T21:00:00Z"), at("2026-03-02T20:00:00Z")]);
        assert_eq!(wakeups.next_after(at("2026-03-02T19:00:00Z")), Some(at("2026-03-02T20:00:00Z")));
        assert_eq!(wakeups.next_after(at("2026-03-02T20:00:00Z")), Some(at("2026-03-02T21:00:00Z")));
        assert_eq!(wakeups.next_after(at("2026-03-02T21:00:00Z")), None);
        assert_eq!(wakeups.next_after(at("2026-03-02T19:00:00Z")), None, "forgotten once passed");
    }
}

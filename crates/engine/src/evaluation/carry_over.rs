//! What an evaluation carries over from earlier ones: the occurrences kept pending because part of their scope
//! could not be read, and the stops owners postponed into this window. Added to the occurrences due now, or
//! returned as late (past their catch-up limit) to be recorded missed.

use autostop_policy::{Occurrences, Postponed, PostponedDue, Window};
use autostop_state::{Pending, Postponement};
use jiff::Timestamp;

use super::Engine;

impl Engine {
    /// Adds the pending occurrences to `occurrences`; returns those on time (now evaluated) and those past their
    /// catch-up limit or whose rule is gone (to be recorded missed).
    pub(super) fn add_pending(
        &self,
        occurrences: &mut Occurrences,
        pending: &[Pending],
        now: Timestamp,
    ) -> (Vec<Pending>, Vec<Pending>) {
        pending.iter().cloned().partition(|entry| {
            let on_time = self.config.rule(&entry.rule).is_some_and(|rule| {
                entry.occurrence.timestamp() >= now.checked_sub(rule.catch_up).unwrap_or(Timestamp::MIN)
            });
            on_time && occurrences.add(&self.config, &entry.rule, entry.occurrence.clone(), now)
        })
    }

    /// Adds the postponed stops whose new time falls in `window`, each for its instance alone; returns those whose
    /// new time is already past their rule's catch-up limit, or whose rule is gone (to be recorded missed).
    pub(super) fn add_postponed(
        &self,
        occurrences: &mut Occurrences,
        postponements: &[Postponement],
        window: Window,
        now: Timestamp,
    ) -> Vec<Postponement> {
        let mut late = Vec::new();
        for stored in postponements {
            let Some(until) = stored.until.filter(|until| *until > window.after && *until <= window.until) else {
                continue;
            };
            let postponed = Postponed {
                rule: stored.key.rule.clone(),
                occurrence: stored.key.occurrence.timestamp(),
                target_key: stored.key.target_key(),
                until: Some(until),
            };
            match occurrences.add_postponed(&self.config, &postponed, stored.key.occurrence.clone(), until, now) {
                PostponedDue::Due => {}
                PostponedDue::Missed | PostponedDue::UnknownRule => late.push(stored.clone()),
            }
        }
        late
    }

    /// Without discovery errors, forgets the pending occurrences this evaluation covered. With them, keeps every
    /// due occurrence pending (the errors as its cause, its first time kept) and forgets those folded into a later
    /// occurrence of their rule. Returns how many are pending now.
    pub(super) async fn track_pending(
        &self,
        occurrences: &Occurrences,
        on_time: &[Pending],
        errors: &[String],
        now: Timestamp,
    ) -> anyhow::Result<usize> {
        let is_due = |entry: &Pending| {
            occurrences
                .due
                .iter()
                .any(|due| due.rule == entry.rule && due.occurrence.timestamp() == entry.occurrence.timestamp())
        };
        for entry in on_time {
            if errors.is_empty() || !is_due(entry) {
                self.actor.store.clear_pending(&entry.rule, entry.occurrence.timestamp()).await?;
            }
        }
        if errors.is_empty() {
            return Ok(0);
        }
        let cause = errors.join("; ");
        for due in &occurrences.due {
            let since = on_time
                .iter()
                .find(|entry| entry.rule == due.rule && entry.occurrence.timestamp() == due.occurrence.timestamp())
                .map_or(now, |entry| entry.since);
            let entry =
                Pending { rule: due.rule.clone(), occurrence: due.occurrence.clone(), since, cause: cause.clone() };
            self.actor.store.keep_pending(&entry).await?;
        }
        Ok(occurrences.due.len())
    }
}

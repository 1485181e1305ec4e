//! What the audit log stores: events and the queries over them. Plain values, no I/O.

use std::fmt;
use std::str::FromStr;

use jiff::{Timestamp, Zoned};
use serde::Serialize;

use crate::run::RunId;

/// An occurrence (or any zoned instant) as autostop prints it everywhere: RFC 3339 with its offset, no zone
/// annotation (`2026-11-30T20:00:00+09:00`).
pub fn rfc3339(zoned: &Zoned) -> String {
    zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// What happened to one target for one rule occurrence (or to the run itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// The action completed: the instance reached the state asked for.
    Succeeded,
    /// ARM accepted the action (202) and autostop did not wait for its end.
    Accepted,
    /// The action failed; the event carries the ARM error.
    Failed,
    /// The target was left alone on purpose; the event carries the reason.
    Skipped,
    /// A rule occurrence was older than the catch-up limit and was not executed.
    Missed,
    /// The run was interrupted before this target's action was known to finish.
    Interrupted,
    /// Azure accepted the action but the target was not read back in the state asked for before the deadline.
    Unconfirmed,
    /// An owner postponed or skipped a coming stop from a notice link; the reason says the choice and until when.
    Postponed,
    /// A notice link was refused (its signature does not match, or its occurrence has passed); the reason says why.
    LinkRefused,
}

impl EventKind {
    /// Every kind, in a stable order.
    pub const ALL: [EventKind; 9] = [
        EventKind::Succeeded,
        EventKind::Accepted,
        EventKind::Failed,
        EventKind::Skipped,
        EventKind::Missed,
        EventKind::Interrupted,
        EventKind::Unconfirmed,
        EventKind::Postponed,
        EventKind::LinkRefused,
    ];

    /// The lowercase name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Succeeded => "succeeded",
            EventKind::Accepted => "accepted",
            EventKind::Failed => "failed",
            EventKind::Skipped => "skipped",
            EventKind::Missed => "missed",
            EventKind::Interrupted => "interrupted",
            EventKind::Unconfirmed => "unconfirmed",
            EventKind::Postponed => "postponed",
            EventKind::LinkRefused => "link-refused",
        }
    }

    /// Whether this kind is a problem someone must hear about: something failed, was lost (missed,
    /// interrupted) or never confirmed.
    pub fn is_problem(self) -> bool {
        matches!(self, EventKind::Failed | EventKind::Missed | EventKind::Interrupted | EventKind::Unconfirmed)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL.into_iter().find(|kind| kind.as_str() == s).ok_or(())
    }
}

/// One event to record. Fields that do not apply stay `None` (a miss has no target, a skip no error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When it happened.
    pub time: Timestamp,
    /// The run that recorded it, if any.
    pub run: Option<RunId>,
    /// What happened.
    pub kind: EventKind,
    /// The rule whose occurrence this is.
    pub rule: Option<String>,
    /// The rule occurrence, in the rule's time zone.
    pub occurrence: Option<Zoned>,
    /// The target's ARM resource id.
    pub target_id: Option<String>,
    /// The target's name.
    pub target_name: Option<String>,
    /// The action: `stop` or `start`.
    pub action: Option<String>,
    /// Why (for skips, misses and interruptions), in words.
    pub reason: Option<String>,
    /// The ARM error code of a failure.
    pub error_code: Option<String>,
    /// The ARM error message of a failure.
    pub error_message: Option<String>,
}

impl Event {
    /// An event of `kind` at `time` with every other field empty, to fill in with struct update syntax.
    pub fn new(time: Timestamp, kind: EventKind) -> Event {
        Event {
            time,
            run: None,
            kind,
            rule: None,
            occurrence: None,
            target_id: None,
            target_name: None,
            action: None,
            reason: None,
            error_code: None,
            error_message: None,
        }
    }
}

/// One stored event, as [`crate::StateStore::history`] returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRecord {
    /// The event's id: increasing in the order events were recorded.
    pub id: i64,
    /// What was recorded.
    #[serde(flatten, with = "event_fields")]
    pub event: Event,
}

/// A query over the recorded events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only events at or after this instant.
    pub since: Option<Timestamp>,
    /// Only events whose target id or name equals this (case-insensitive, as Azure names are).
    pub target: Option<String>,
    /// At most this many events: the most recent ones, still returned oldest first.
    pub limit: Option<usize>,
}

/// Serializes an [`Event`] as flat camelCase JSON fields (as every other JSON output of autostop) with instants
/// in RFC 3339 (UTC for event times, the rule's offset for occurrences).
mod event_fields {
    use serde::Serialize;

    use super::{Event, EventKind, RunId, rfc3339};

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Flat<'a> {
        time: String,
        run: Option<&'a RunId>,
        result: EventKind,
        rule: Option<&'a str>,
        occurrence: Option<String>,
        target_id: Option<&'a str>,
        target_name: Option<&'a str>,
        action: Option<&'a str>,
        reason: Option<&'a str>,
        error_code: Option<&'a str>,
        error_message: Option<&'a str>,
    }

    pub fn serialize<S: serde::Serializer>(event: &Event, serializer: S) -> Result<S::Ok, S::Error> {
        Flat {
            time: event.time.to_string(),
            run: event.run.as_ref(),
            result: event.kind,
            rule: event.rule.as_deref(),
            occurrence: event.occurrence.as_ref().map(rfc3339),
            target_id: event.target_id.as_deref(),
            target_name: event.target_name.as_deref(),
            action: event.action.as_deref(),
            reason: event.reason.as_deref(),
            error_code: event.error_code.as_deref(),
            error_message: event.error_message.as_deref(),
        }
        .serialize(serializer)
    }
}

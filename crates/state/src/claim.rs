//! Claims: the exactly-once primitive. A claim on (rule, occurrence, target) is written atomically before any
//! request is sent; whoever wins it acts, nobody else does. It then moves, each step committed before the next,
//! through `claimed → sent → accepted → succeeded | failed | unconfirmed`, or to `interrupted`.

use std::fmt;
use std::str::FromStr;

use jiff::{Timestamp, Zoned};
use serde::Serialize;

use crate::event::{Event, EventKind};
use crate::run::RunId;

/// What a claim is on. Target ids compare case-insensitively (as ARM ids do); occurrences compare as instants.
#[derive(Debug, Clone)]
pub struct ClaimKey {
    /// The rule.
    pub rule: String,
    /// The rule's occurrence, in the rule's zone.
    pub occurrence: Zoned,
    /// The target's ARM id.
    pub target_id: String,
}

impl ClaimKey {
    /// The target id in the form claims are compared by.
    pub fn target_key(&self) -> String {
        self.target_id.to_ascii_lowercase()
    }
}

impl PartialEq for ClaimKey {
    fn eq(&self, other: &Self) -> bool {
        self.rule == other.rule
            && self.occurrence.timestamp() == other.occurrence.timestamp()
            && self.target_id.eq_ignore_ascii_case(&other.target_id)
    }
}

impl Eq for ClaimKey {}

impl fmt::Display for ClaimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {} at {} on {}", self.rule, crate::rfc3339(&self.occurrence), self.target_id)
    }
}

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimStatus {
    /// Won, nothing sent yet.
    Claimed,
    /// The request is about to go out (or went out): from here on Azure may have acted.
    Sent,
    /// Azure accepted the request (202); the outcome is still to be confirmed by reading the target back.
    Accepted,
    /// The target was read back in the state asked for.
    Succeeded,
    /// Azure refused the request, or the operation failed.
    Failed,
    /// The target did not reach the state asked for before the confirmation deadline.
    Unconfirmed,
    /// The run ended (shutdown, or its process died) before the outcome was known and nothing says Azure acted.
    Interrupted,
}

impl ClaimStatus {
    /// Every status, in the order a claim moves through them.
    pub const ALL: [ClaimStatus; 7] = [
        ClaimStatus::Claimed,
        ClaimStatus::Sent,
        ClaimStatus::Accepted,
        ClaimStatus::Succeeded,
        ClaimStatus::Failed,
        ClaimStatus::Unconfirmed,
        ClaimStatus::Interrupted,
    ];

    /// The statuses from which a claim still has to move (its outcome is not final).
    pub const OPEN: [ClaimStatus; 3] = [ClaimStatus::Claimed, ClaimStatus::Sent, ClaimStatus::Accepted];

    /// The lowercase name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Claimed => "claimed",
            ClaimStatus::Sent => "sent",
            ClaimStatus::Accepted => "accepted",
            ClaimStatus::Succeeded => "succeeded",
            ClaimStatus::Failed => "failed",
            ClaimStatus::Unconfirmed => "unconfirmed",
            ClaimStatus::Interrupted => "interrupted",
        }
    }

    /// Whether the outcome is still to be known.
    pub fn is_open(self) -> bool {
        ClaimStatus::OPEN.contains(&self)
    }

    /// The audit event a move to this status records (`None` for the steps before Azure answered).
    pub fn event_kind(self) -> Option<EventKind> {
        match self {
            ClaimStatus::Claimed | ClaimStatus::Sent => None,
            ClaimStatus::Accepted => Some(EventKind::Accepted),
            ClaimStatus::Succeeded => Some(EventKind::Succeeded),
            ClaimStatus::Failed => Some(EventKind::Failed),
            ClaimStatus::Unconfirmed => Some(EventKind::Unconfirmed),
            ClaimStatus::Interrupted => Some(EventKind::Interrupted),
        }
    }
}

impl fmt::Display for ClaimStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClaimStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClaimStatus::ALL.into_iter().find(|status| status.as_str() == s).ok_or(())
    }
}

/// A claim to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClaim {
    /// What it is on.
    pub key: ClaimKey,
    /// The target's name, for people.
    pub target_name: String,
    /// `stop` or `start`.
    pub action: String,
    /// The run taking it.
    pub run: RunId,
    /// When.
    pub at: Timestamp,
}

/// A stored claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// What it is on.
    pub key: ClaimKey,
    /// The target's name.
    pub target_name: String,
    /// `stop` or `start`.
    pub action: String,
    /// The run that holds it.
    pub run: RunId,
    /// When it was taken.
    pub claimed_at: Timestamp,
    /// When the request was (about to be) sent, if it was.
    pub sent_at: Option<Timestamp>,
    /// Where it stands.
    pub status: ClaimStatus,
    /// When it last moved.
    pub updated_at: Timestamp,
}

/// What taking a claim gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This run holds the claim: it alone may act.
    Won,
    /// Someone holds it already (another process, or an earlier evaluation): do not act.
    Held(Box<Claim>),
}

/// A compare-and-set move of a claim: from one of `from` to `to`, recording `event` in the same transaction.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    /// The claim.
    pub key: &'a ClaimKey,
    /// The statuses it may be in for the move to happen.
    pub from: &'a [ClaimStatus],
    /// The status it moves to.
    pub to: ClaimStatus,
    /// When.
    pub at: Timestamp,
    /// The audit event recorded with the move, if any (it is recorded only if the move happens).
    pub event: Option<&'a Event>,
}

//! Runs: one evaluation by one process, with a heartbeat so that others can tell it is still alive.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::Serialize;

use crate::owner::Owner;

/// The id of one run, as its backend assigned it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RunId(pub String);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A run about to start: when, the scheduling window `(after, until]` it evaluates, and its process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    /// When the run started.
    pub started: Timestamp,
    /// The exclusive start of the evaluated window (`None` for a run without a window).
    pub window_after: Option<Timestamp>,
    /// The inclusive end of the evaluated window.
    pub window_until: Option<Timestamp>,
    /// The process doing it.
    pub owner: Owner,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Everything it attempted succeeded and nothing was lost.
    Succeeded,
    /// Something failed, was missed, stayed unconfirmed or could not be read; the rest was still attempted.
    SomeFailed,
    /// Shutdown came before its work was done.
    Interrupted,
}

impl RunStatus {
    /// Every status, in a stable order.
    pub const ALL: [RunStatus; 3] = [RunStatus::Succeeded, RunStatus::SomeFailed, RunStatus::Interrupted];

    /// The lowercase name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::SomeFailed => "some-failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

impl FromStr for RunStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunStatus::ALL.into_iter().find(|status| status.as_str() == s).ok_or(())
    }
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// Its id.
    pub id: RunId,
    /// When it started.
    pub started: Timestamp,
    /// Its last heartbeat (its start if it never beat).
    pub heartbeat: Timestamp,
    /// When it finished, if it did.
    pub finished: Option<Timestamp>,
    /// How it finished.
    pub status: Option<RunStatus>,
    /// Its process (`None` for runs recorded before processes were).
    pub owner: Option<Owner>,
}

impl RunRecord {
    /// Whether the run is over for sure: it finished, its process is known dead, or its heartbeat is older
    /// than `stale_after` at `now`.
    pub fn is_over(&self, now: Timestamp, stale_after: jiff::SignedDuration) -> bool {
        self.finished.is_some()
            || self.owner.as_ref().is_none_or(Owner::is_known_dead)
            || now.duration_since(self.heartbeat) > stale_after
    }
}

//! The state interface the engine, the daemon and the verbs use; each backend implements it with the same
//! guarantees:
//! - every method that changes something returns only once the change is durable (committed, its result
//!   checked); an error means it may not have happened, and the caller must not act as if it had;
//! - [`StateStore::claim`] is atomic across processes: of any number of concurrent claims on one key exactly
//!   one wins;
//! - [`StateStore::transition`] is a compare-and-set: a claim moves only from one of the expected statuses, and
//!   the event recorded with the move lands with it or not at all;
//! - [`StateStore::advance_last_evaluated`] never moves a window back.

use std::collections::BTreeMap;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::claim::{Claim, ClaimOutcome, NewClaim, Transition};
use crate::error::Error;
use crate::event::{Event, EventRecord, HistoryQuery};
use crate::pending::Pending;
use crate::postponement::Postponement;
use crate::price::CachedPrice;
use crate::run::{NewRun, RunId, RunRecord, RunStatus};

/// Where autostop keeps its state. `Send + Sync`: one store is shared by every task of a process.
#[async_trait]
pub trait StateStore: Send + Sync + std::fmt::Debug {
    /// Where the state lives, for messages (a path, or a URL without its secrets).
    fn location(&self) -> String;

    /// Records the start of a run and returns its id.
    async fn begin_run(&self, run: &NewRun) -> Result<RunId, Error>;

    /// Says the run is still alive at `at`.
    async fn heartbeat(&self, run: &RunId, at: Timestamp) -> Result<(), Error>;

    /// Records the end of a run.
    async fn finish_run(&self, run: &RunId, at: Timestamp, status: RunStatus) -> Result<(), Error>;

    /// One run, if it is known.
    async fn run(&self, run: &RunId) -> Result<Option<RunRecord>, Error>;

    /// Takes a claim, atomically: [`ClaimOutcome::Won`] for exactly one of any number of concurrent callers. A
    /// claim `interrupted` before anything was sent (no `sent_at`) may be taken again.
    async fn claim(&self, claim: &NewClaim) -> Result<ClaimOutcome, Error>;

    /// Moves a claim from one of `from` to `to` and records the event with it; `false` when the claim was not in
    /// one of `from` (someone else moved it first), in which case nothing is written.
    async fn transition(&self, transition: &Transition<'_>) -> Result<bool, Error>;

    /// Every claim on one occurrence of one rule, whatever its status.
    async fn claims_of(&self, rule: &str, occurrence: Timestamp) -> Result<Vec<Claim>, Error>;

    /// For each target (its ARM id in lowercase), when autostop last sent it a stop that Azure may have acted on:
    /// the latest `sent_at` of its stop claims whose outcome is not `failed`. The engine uses it to tell
    /// autostop's own stops from its owners' (`docs/adr/0006-owners-in-the-loop.md`).
    async fn last_stops_sent(&self) -> Result<BTreeMap<String, Timestamp>, Error>;

    /// Every claim whose outcome is not final yet ([`crate::ClaimStatus::OPEN`]), oldest first.
    async fn open_claims(&self) -> Result<Vec<Claim>, Error>;

    /// Records one event; once this returns, it survives a crash. Returns the event's id.
    async fn record(&self, event: &Event) -> Result<i64, Error>;

    /// The events matching `query`, oldest first.
    async fn history(&self, query: &HistoryQuery) -> Result<Vec<EventRecord>, Error>;

    /// The instant up to which the schedule window named `key` was evaluated, if ever.
    async fn last_evaluated(&self, key: &str) -> Result<Option<Timestamp>, Error>;

    /// Moves the window named `key` forward to `at`; never back. Returns the stored value afterwards.
    async fn advance_last_evaluated(&self, key: &str, at: Timestamp) -> Result<Timestamp, Error>;

    /// Every pending occurrence, oldest first.
    async fn pending(&self) -> Result<Vec<Pending>, Error>;

    /// Keeps an occurrence pending (first time: inserted with its `since`; later: its cause updated).
    async fn keep_pending(&self, pending: &Pending) -> Result<(), Error>;

    /// Forgets a pending occurrence: it was evaluated, or recorded missed.
    async fn clear_pending(&self, rule: &str, occurrence: Timestamp) -> Result<(), Error>;

    /// Keeps an owner's postponement of one stop (replacing an earlier choice for the same rule, occurrence and
    /// target) and records `event` (its audit record) with it: both land or neither.
    async fn postpone(&self, postponement: &Postponement, event: &Event) -> Result<(), Error>;

    /// The postponements of occurrences at or after `since`, by occurrence then target.
    async fn postponements(&self, since: Timestamp) -> Result<Vec<Postponement>, Error>;

    /// The key that signs notice links: the one stored, else `generated`, stored now. Of concurrent callers the
    /// first to store wins and every caller gets its key. Never logged, never shown.
    async fn link_signing_key(&self, generated: &[u8]) -> Result<Vec<u8>, Error>;
    /// The cached prices in `currency` (any case), whatever their age: the caller decides what is fresh.
    async fn cached_prices(&self, currency: &str) -> Result<Vec<CachedPrice>, Error>;

    /// Stores prices, replacing any cached price of the same region, size (any case) and currency.
    async fn store_prices(&self, prices: &[CachedPrice]) -> Result<(), Error>;

    /// Deletes audit events older than `before` (retention), in small steps that never hold the state for long,
    /// and remembers from when the history is complete ([`StateStore::pruned_before`]). A backend that stores
    /// events by day keeps a day until all of it is older. Claims, runs and pending occurrences are kept: they
    /// are what makes actions happen once. Returns how many events (or day blobs) were deleted.
    async fn prune_events(&self, before: Timestamp) -> Result<u64, Error>;

    /// The instant before which events were pruned, if they ever were: `history` over an earlier period is
    /// incomplete.
    async fn pruned_before(&self) -> Result<Option<Timestamp>, Error> {
        self.last_evaluated(PRUNED_EVENTS_KEY).await
    }
}

/// The cell that remembers how far events were pruned (a "last evaluated" cell: it only moves forward).
pub(crate) const PRUNED_EVENTS_KEY: &str = "events-pruned-before";

//! Copying a whole state from one backend to another (`autostop state migrate`): every event in order, the runs
//! they name (each backend issues its own run ids, so runs get new ones), the claims the events name (with their
//! status, so that nothing is done twice after the move), the pending occurrences and the "last evaluated"
//! windows. Works over the [`StateStore`] trait, so any backend to any
//! other. The destination must hold no events yet: migrating twice into one state would double its history.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;

use crate::claim::{ClaimOutcome, ClaimStatus, NewClaim, Transition};
use crate::error::Error;
use crate::event::HistoryQuery;
use crate::owner::Owner;
use crate::run::{NewRun, RunId, RunStatus};
use crate::store::StateStore;

/// What a migration copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Migrated {
    /// Events, in their original order.
    pub events: usize,
    /// Claims, with their status (held by the migration's own run in the destination).
    pub claims: usize,
    /// Pending occurrences.
    pub pending: usize,
    /// Windows whose "last evaluated" instant was set.
    pub windows: usize,
}

/// Why a migration did not start.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The destination already has events.
    #[error("the destination {location} already holds events: migrate into an empty state only")]
    DestinationNotEmpty {
        /// The destination's location.
        location: String,
    },
    /// A store failed.
    #[error(transparent)]
    Store(#[from] Error),
}

/// Copies `from` into `to` (see the module documentation); `windows` names the "last evaluated" keys to copy.
/// Claims are recreated by one run of this process started and finished at `at`.
pub async fn migrate(
    from: &dyn StateStore,
    to: &dyn StateStore,
    windows: &[&str],
    at: Timestamp,
) -> Result<Migrated, MigrateError> {
    if !to.history(&HistoryQuery { limit: Some(1), ..Default::default() }).await?.is_empty() {
        return Err(MigrateError::DestinationNotEmpty { location: to.location() });
    }
    let mut migrated = Migrated::default();
    let events = from.history(&HistoryQuery::default()).await?;
    let mut occurrences = BTreeSet::new();
    let mut runs = HashMap::new();
    for record in &events {
        let mut event = record.event.clone();
        if let Some(run) = &event.run {
            event.run = copy_run(from, to, run, &mut runs).await?;
        }
        to.record(&event).await?;
        migrated.events += 1;
        if let (Some(rule), Some(occurrence)) = (&record.event.rule, &record.event.occurrence) {
            occurrences.insert((rule.clone(), occurrence.timestamp()));
        }
    }
    for claim in from.open_claims().await? {
        occurrences.insert((claim.key.rule.clone(), claim.key.occurrence.timestamp()));
    }
    let run = to
        .begin_run(&NewRun { started: at, window_after: None, window_until: None, owner: Owner::this_process() })
        .await?;
    for (rule, occurrence) in occurrences {
        for claim in from.claims_of(&rule, occurrence).await? {
            let holder = copy_run(from, to, &claim.run, &mut runs).await?.unwrap_or_else(|| run.clone());
            let new = NewClaim {
                key: claim.key.clone(),
                target_name: claim.target_name.clone(),
                action: claim.action.clone(),
                run: holder,
                at: claim.claimed_at,
            };
            if !matches!(to.claim(&new).await?, ClaimOutcome::Won) {
                continue;
            }
            let mut path = Vec::new();
            if let Some(sent) = claim.sent_at.filter(|_| claim.status != ClaimStatus::Claimed) {
                path.push((ClaimStatus::Sent, sent));
            }
            if !matches!(claim.status, ClaimStatus::Claimed | ClaimStatus::Sent) {
                path.push((claim.status, claim.updated_at));
            }
            let mut current = ClaimStatus::Claimed;
            for (status, when) in path {
                let step = Transition { key: &claim.key, from: &[current], to: status, at: when, event: None };
                to.transition(&step).await?;
                current = status;
            }
            migrated.claims += 1;
        }
    }
    to.finish_run(&run, at, RunStatus::Succeeded).await?;
    for pending in from.pending().await? {
        to.keep_pending(&pending).await?;
        migrated.pending += 1;
    }
    for key in windows {
        if let Some(last) = from.last_evaluated(key).await? {
            to.advance_last_evaluated(key, last).await?;
            migrated.windows += 1;
        }
    }
    Ok(migrated)
}

/// The destination's id of the source's run `id`, copying the run (start, owner, heartbeat, end) the first time;
/// `None` when the source does not know it.
async fn copy_run(
    from: &dyn StateStore,
    to: &dyn StateStore,
    id: &RunId,
    copied: &mut HashMap<RunId, Option<RunId>>,
) -> Result<Option<RunId>, Error> {
    if let Some(known) = copied.get(id) {
        return Ok(known.clone());
    }
    let new = match from.run(id).await? {
        Some(record) => {
            let run = NewRun {
                started: record.started,
                window_after: None,
                window_until: None,
                owner: record.owner.clone().unwrap_or_else(Owner::this_process),
            };
            let new = to.begin_run(&run).await?;
            to.heartbeat(&new, record.heartbeat).await?;
            if let (Some(finished), Some(status)) = (record.finished, record.status) {
                to.finish_run(&new, finished, status).await?;
            }
            Some(new)
        }
        None => None,
    };
    copied.insert(id.clone(), new.clone());
    Ok(new)
}

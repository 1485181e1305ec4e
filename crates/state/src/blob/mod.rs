//! The Azure Blob Storage backend of [`StateStore`], for state shared by processes on several machines (Azure
//! Functions instances, Kubernetes pods, `serve --ha` replicas). The design, and why, is in
//! `docs/adr/0007-blob-state.md`; the blob names are in [`layout`], the documents in [`documents`].
//!
//! - A claim is a small JSON blob created with `If-None-Match: *`: the service lets exactly one creation win
//!   (the others get 409) — [`StateStore::claim`]'s atomicity across processes and machines.
//! - Every other change is a compare-and-set: read the blob and its ETag, decide, write with `If-Match`; a 412
//!   means someone else wrote first, so read again and decide again.
//! - Events are JSON lines appended to one append blob per UTC day. An event recorded with a claim's move is
//!   written first, tagged with a transaction id the move then adds to the claim's document; history shows it
//!   only if the claim lists that id, so it lands with the move or, as far as anyone can read, not at all.
//! - Open claims are found through empty marker blobs under `open/`, written before a claim is taken and
//!   removed (only if unchanged since read) once the claim is final.
//!
//! Every write's response is checked; an error means the write may or may not have happened, as the trait says.

mod access;
mod address;
mod container;
mod documents;
mod layout;
mod lease;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::ClientOptions;
use futures::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;

pub use address::{AddressError, BlobAddress};
pub use lease::{Acquired, LeaderIdentity, LeaderLease, LeaseDuration, LeaseDurationError, LeaseId, Renewed};

use crate::claim::{Claim, ClaimOutcome, ClaimStatus, NewClaim, Transition};
use crate::error::Error;
use crate::event::{Event, EventRecord, HistoryQuery};
use crate::pending::Pending;
use crate::postponement::Postponement;
use crate::price::CachedPrice;
use crate::run::{NewRun, RunId, RunRecord, RunStatus};
use crate::store::StateStore;
use access::{CAS_ATTEMPTS, PARALLEL_READS, Step, to_json};
use container::{Condition, Container, Written};
use documents::{ClaimDoc, EventLine, LastStopDoc, PendingDoc, PostponementDoc, PricesDoc, RunDoc, WindowDoc, parse};
use layout::{Layout, event_id};

/// A state kept in one Blob Storage container (under an optional prefix).
#[derive(Debug)]
pub struct BlobStore {
    container: Arc<Container>,
    layout: Layout,
}

impl BlobStore {
    /// A store in the container of `address`, authenticated by the SAS in the address if it has one, else by
    /// `credential` (tokens for `https://storage.azure.com/.default`). Sends nothing yet: the container is
    /// created, if missing, by the first operation.
    pub fn open(
        address: &BlobAddress,
        credential: Option<Arc<dyn TokenCredential>>,
        client_options: ClientOptions,
    ) -> Result<BlobStore, Error> {
        if credential.is_none() && !address.has_sas() {
            return Err(Error::Blob {
                location: address.location(),
                operation: "authenticate",
                message: "no credential and no SAS in the URL".to_owned(),
            });
        }
        Ok(BlobStore {
            container: Arc::new(Container::new(address, credential, client_options)?),
            layout: Layout::new(address.prefix()),
        })
    }

    /// The leader lease of this state (`serve --ha`), on the blob `leader` under its prefix.
    pub fn leader_lease(&self, duration: LeaseDuration) -> LeaderLease {
        LeaderLease::new(self.container.clone(), self.layout.leader(), duration)
    }

    async fn claims_under(&self, prefix: &str) -> Result<Vec<Claim>, Error> {
        let names = self.container.list(prefix, "list claims").await?;
        let docs = self.read_all::<ClaimDoc>(names, "claim", "read claims").await?;
        let mut claims = Vec::with_capacity(docs.len());
        for (name, doc, _) in docs {
            claims.push(doc.to_claim().map_err(|unreadable| self.corrupt(&name, unreadable))?);
        }
        Ok(claims)
    }

    /// Which of the transactions named in event lines were committed: whether each claim lists it.
    async fn committed_txns(&self, claims: Vec<String>) -> Result<HashMap<String, Vec<String>>, Error> {
        let docs = self.read_all::<ClaimDoc>(claims, "claim", "read the claims of the history").await?;
        Ok(docs.into_iter().map(|(name, doc, _)| (name, doc.txns)).collect())
    }
}

/// One event line read back, before its transaction is checked.
struct ReadLine {
    id: i64,
    line: EventLine,
    blob: String,
}

#[async_trait]
impl StateStore for BlobStore {
    fn location(&self) -> String {
        self.container.location().to_owned()
    }

    async fn begin_run(&self, run: &NewRun) -> Result<RunId, Error> {
        let id = RunId(format!("{}-{}", run.started.as_millisecond(), uuid::Uuid::new_v4().simple()));
        let doc = RunDoc {
            started_ms: run.started.as_millisecond(),
            window_after_ms: run.window_after.map(Timestamp::as_millisecond),
            window_until_ms: run.window_until.map(Timestamp::as_millisecond),
            host: run.owner.host.clone(),
            pid: run.owner.pid,
            heartbeat_ms: run.started.as_millisecond(),
            finished_ms: None,
            status: None,
        };
        let name = self.layout.run(&id.0);
        match self.container.put(&name, to_json(&doc), Condition::Absent, "record the start of a run").await? {
            Written::Done => Ok(id),
            Written::Lost => Err(Error::Blob {
                location: self.location(),
                operation: "record the start of a run",
                message: format!("blob {name} already exists"),
            }),
        }
    }

    async fn heartbeat(&self, run: &RunId, at: Timestamp) -> Result<(), Error> {
        let at = at.as_millisecond();
        self.update(&self.layout.run(&run.0), "run", "record a run's heartbeat", |doc: Option<RunDoc>| {
            Ok(match doc {
                Some(mut doc) if doc.finished_ms.is_none() && doc.heartbeat_ms < at => {
                    doc.heartbeat_ms = at;
                    Step::Write(doc, ())
                }
                _ => Step::Stop(()),
            })
        })
        .await
    }

    async fn finish_run(&self, run: &RunId, at: Timestamp, status: RunStatus) -> Result<(), Error> {
        let at = at.as_millisecond();
        self.update(&self.layout.run(&run.0), "run", "record the end of a run", |doc: Option<RunDoc>| {
            Ok(match doc {
                Some(mut doc) => {
                    doc.finished_ms = Some(at);
                    doc.heartbeat_ms = at;
                    doc.status = Some(status.as_str().to_owned());
                    Step::Write(doc, ())
                }
                None => Step::Stop(()),
            })
        })
        .await
    }

    async fn run(&self, run: &RunId) -> Result<Option<RunRecord>, Error> {
        let name = self.layout.run(&run.0);
        let Some((doc, _)) = self.read::<RunDoc>(&name, "run", "read a run").await? else {
            return Ok(None);
        };
        doc.to_record(run).map(Some).map_err(|unreadable| self.corrupt(&name, unreadable))
    }

    async fn claim(&self, claim: &NewClaim) -> Result<ClaimOutcome, Error> {
        let name = self.layout.claim(&claim.key);
        // The marker first: a claim is never open without one (a marker without an open claim is pruned later).
        self.container
            .put(&self.layout.open_marker(&claim.key), Vec::new(), Condition::Any, "mark a claim open")
            .await?;
        let doc = ClaimDoc::new(claim);
        for _ in 0..CAS_ATTEMPTS {
            if let Written::Done = self.container.put(&name, to_json(&doc), Condition::Absent, "take a claim").await? {
                return Ok(ClaimOutcome::Won);
            }
            let Some((mut held, etag)) =
                self.read::<ClaimDoc>(&name, "claim", "read the claim held by another run").await?
            else {
                continue;
            };
            if held.run == claim.run.0 && held.claimed_ms == doc.claimed_ms {
                // Our own creation, whose first answer was lost and retried.
                return Ok(ClaimOutcome::Won);
            }
            let status = held.status().map_err(|unreadable| self.corrupt(&name, unreadable))?;
            if status != ClaimStatus::Interrupted || held.sent_ms.is_some() {
                let held = held.to_claim().map_err(|unreadable| self.corrupt(&name, unreadable))?;
                return Ok(ClaimOutcome::Held(Box::new(held)));
            }
            // Interrupted before anything was sent: nothing was done, so it may be taken again.
            held.run = claim.run.0.clone();
            held.claimed_ms = doc.claimed_ms;
            held.updated_ms = doc.claimed_ms;
            held.status = ClaimStatus::Claimed.as_str().to_owned();
            if let Written::Done =
                self.container.put(&name, to_json(&held), Condition::Unchanged(etag), "take a claim again").await?
            {
                return Ok(ClaimOutcome::Won);
            }
        }
        Err(self.exhausted("take a claim"))
    }

    async fn transition(&self, transition: &Transition<'_>) -> Result<bool, Error> {
        let name = self.layout.claim(transition.key);
        // Every attempt's transaction id goes into the claim with the move: a move whose answer was lost (and
        // whose retry then found the ETag changed) is recognised as ours.
        let mut attempts: Vec<String> = Vec::new();
        for _ in 0..CAS_ATTEMPTS {
            let Some((mut doc, etag)) = self.read::<ClaimDoc>(&name, "claim", "read a claim").await? else {
                return Ok(false);
            };
            if doc.txns.iter().any(|txn| attempts.contains(txn)) {
                return Ok(true);
            }
            let status = doc.status().map_err(|unreadable| self.corrupt(&name, unreadable))?;
            if !transition.from.contains(&status) {
                return Ok(false);
            }
            let txn = uuid::Uuid::new_v4().simple().to_string();
            if let Some(event) = transition.event {
                let line = EventLine::new(event, Some((&txn, &name)));
                let day = self.layout.events_of_day(event.time);
                self.container.append(&day, line.to_bytes(), "record an event").await?;
            }
            doc.txns.push(txn.clone());
            attempts.push(txn);
            let at = transition.at.as_millisecond();
            if transition.to == ClaimStatus::Sent {
                doc.sent_ms = Some(at);
            }
            doc.status = transition.to.as_str().to_owned();
            doc.updated_ms = at;
            if let Written::Done =
                self.container.put(&name, to_json(&doc), Condition::Unchanged(etag), "move a claim").await?
            {
                if transition.to == ClaimStatus::Sent && doc.action == "stop" {
                    self.remember_stop_sent(&transition.key.target_key(), at).await?;
                }
                return Ok(true);
            }
        }
        Err(self.exhausted("move a claim"))
    }

    async fn claims_of(&self, rule: &str, occurrence: Timestamp) -> Result<Vec<Claim>, Error> {
        let mut claims = self.claims_under(&self.layout.claims_of(rule, occurrence)).await?;
        claims.sort_by_key(|claim| claim.key.target_key());
        Ok(claims)
    }

    async fn open_claims(&self) -> Result<Vec<Claim>, Error> {
        let markers = self.container.list(&self.layout.open_markers(), "list open claims").await?;
        let found: Vec<Option<Claim>> = futures::stream::iter(markers)
            .map(|marker| async move {
                let Some(name) = self.layout.claim_of_marker(&marker) else { return Ok(None) };
                // The marker's ETag before the claim is read: a claim taken again meanwhile rewrites the marker,
                // and the conditional delete below then leaves it.
                let Some((_, marker_etag)) = self.container.get(&marker, "read an open claim marker").await? else {
                    return Ok(None);
                };
                let Some((doc, _)) = self.read::<ClaimDoc>(&name, "claim", "read an open claim").await? else {
                    return Ok(None);
                };
                let claim = doc.to_claim().map_err(|unreadable| self.corrupt(&name, unreadable))?;
                if claim.status.is_open() {
                    return Ok(Some(claim));
                }
                self.container.delete(&marker, Some(marker_etag), "remove the marker of a final claim").await?;
                Ok::<_, Error>(None)
            })
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        let mut claims: Vec<Claim> = found.into_iter().flatten().collect();
        claims.sort_by(|a, b| {
            (a.claimed_at, &a.key.rule, a.key.target_key()).cmp(&(b.claimed_at, &b.key.rule, b.key.target_key()))
        });
        Ok(claims)
    }

    async fn record(&self, event: &Event) -> Result<i64, Error> {
        let name = self.layout.events_of_day(event.time);
        let offset = self.container.append(&name, EventLine::new(event, None).to_bytes(), "record an event").await?;
        let day = event.time.to_zoned(jiff::tz::TimeZone::UTC).date();
        Ok(event_id(day, offset))
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<EventRecord>, Error> {
        let since_day = query.since.map(|since| since.to_zoned(jiff::tz::TimeZone::UTC).date());
        let mut days: Vec<(jiff::civil::Date, String)> = self
            .container
            .list(&self.layout.events(), "list the audit log")
            .await?
            .into_iter()
            .filter_map(|name| self.layout.day_of_events(&name).map(|day| (day, name)))
            .filter(|(day, _)| since_day.is_none_or(|since| *day >= since))
            .collect();
        days.sort();
        let mut lines: Vec<ReadLine> = Vec::new();
        // Newest day first, so that a limit stops early.
        for (day, name) in days.into_iter().rev() {
            let Some((bytes, _)) = self.container.get(&name, "read the audit log").await? else { continue };
            let mut day_lines = Vec::new();
            let mut offset = 0u64;
            for raw in bytes.split_inclusive(|byte| *byte == b'\n') {
                let start = offset;
                offset += u64::try_from(raw.len()).unwrap_or(0);
                let text = raw.strip_suffix(b"\n").unwrap_or(raw);
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let line: EventLine =
                    parse("audit log line", text).map_err(|unreadable| self.corrupt(&name, unreadable))?;
                if query.since.is_some_and(|since| line.time_ms < since.as_millisecond()) {
                    continue;
                }
                if let Some(target) = &query.target {
                    let matches =
                        |field: &Option<String>| field.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(target));
                    if !matches(&line.target_id) && !matches(&line.target_name) {
                        continue;
                    }
                }
                day_lines.push(ReadLine { id: event_id(day, start), line, blob: name.clone() });
            }
            let claims: Vec<String> = {
                let mut names: Vec<String> = day_lines.iter().filter_map(|read| read.line.claim.clone()).collect();
                names.sort();
                names.dedup();
                names
            };
            let committed = self.committed_txns(claims).await?;
            day_lines.retain(|read| match (&read.line.txn, &read.line.claim) {
                (Some(txn), Some(claim)) => committed.get(claim).is_some_and(|txns| txns.contains(txn)),
                _ => true,
            });
            lines.extend(day_lines);
            if query.limit.is_some_and(|limit| lines.len() >= limit) {
                break;
            }
        }
        lines.sort_by_key(|read| read.id);
        if let Some(limit) = query.limit {
            let excess = lines.len().saturating_sub(limit);
            lines.drain(..excess);
        }
        lines
            .into_iter()
            .map(|read| {
                let event = read.line.to_event().map_err(|unreadable| self.corrupt(&read.blob, unreadable))?;
                Ok(EventRecord { id: read.id, event })
            })
            .collect()
    }

    async fn last_evaluated(&self, key: &str) -> Result<Option<Timestamp>, Error> {
        let name = self.layout.window(key);
        let Some((doc, _)) =
            self.read::<WindowDoc>(&name, "last evaluated cell", "read the last evaluated instant").await?
        else {
            return Ok(None);
        };
        doc.at().map(Some).map_err(|unreadable| self.corrupt(&name, unreadable))
    }

    async fn advance_last_evaluated(&self, key: &str, at: Timestamp) -> Result<Timestamp, Error> {
        let name = self.layout.window(key);
        let wanted = at.as_millisecond();
        let stored = self
            .update(&name, "last evaluated cell", "store the last evaluated instant", |doc: Option<WindowDoc>| {
                Ok(match doc {
                    Some(doc) if doc.at_ms >= wanted => Step::Stop(doc.at_ms),
                    _ => Step::Write(WindowDoc { at_ms: wanted }, wanted),
                })
            })
            .await?;
        WindowDoc { at_ms: stored }.at().map_err(|unreadable| self.corrupt(&name, unreadable))
    }

    async fn pending(&self) -> Result<Vec<Pending>, Error> {
        let names = self.container.list(&self.layout.all_pending(), "list pending occurrences").await?;
        let docs = self.read_all::<PendingDoc>(names, "pending occurrence", "read pending occurrences").await?;
        let mut pending = Vec::with_capacity(docs.len());
        for (name, doc, _) in docs {
            pending.push(doc.to_pending().map_err(|unreadable| self.corrupt(&name, unreadable))?);
        }
        pending.sort_by(|a, b| (a.occurrence.timestamp(), &a.rule).cmp(&(b.occurrence.timestamp(), &b.rule)));
        Ok(pending)
    }

    async fn keep_pending(&self, pending: &Pending) -> Result<(), Error> {
        let name = self.layout.pending(&pending.rule, pending.occurrence.timestamp());
        self.update(&name, "pending occurrence", "keep an occurrence pending", |doc: Option<PendingDoc>| {
            Ok(match doc {
                Some(doc) if doc.cause == pending.cause => Step::Stop(()),
                Some(mut doc) => {
                    doc.cause = pending.cause.clone();
                    Step::Write(doc, ())
                }
                None => Step::Write(PendingDoc::new(pending), ()),
            })
        })
        .await
    }

    async fn clear_pending(&self, rule: &str, occurrence: Timestamp) -> Result<(), Error> {
        self.container.delete(&self.layout.pending(rule, occurrence), None, "clear a pending occurrence").await?;
        Ok(())
    }

    async fn prune_events(&self, before: Timestamp) -> Result<u64, Error> {
        // Whole days only: the day of `before` is kept, so the history is complete from its start.
        let first_kept = before.to_zoned(jiff::tz::TimeZone::UTC).date();
        let complete_from =
            first_kept.to_zoned(jiff::tz::TimeZone::UTC).map(|start| start.timestamp()).unwrap_or(before);
        let mut deleted = 0;
        for name in self.container.list(&self.layout.events(), "list the audit log").await? {
            if self.layout.day_of_events(&name).is_some_and(|day| day < first_kept) {
                self.container.delete(&name, None, "prune a day of old events").await?;
                deleted += 1;
            }
        }
        self.advance_last_evaluated(crate::store::PRUNED_EVENTS_KEY, complete_from).await?;
        Ok(deleted)
    }

    async fn cached_prices(&self, currency: &str) -> Result<Vec<CachedPrice>, Error> {
        let name = self.layout.prices(currency);
        let Some((doc, _)) = self.read::<PricesDoc>(&name, "cached prices", "read the cached prices").await? else {
            return Ok(Vec::new());
        };
        doc.to_prices(&currency.to_uppercase()).map_err(|unreadable| self.corrupt(&name, unreadable))
    }

    async fn store_prices(&self, prices: &[CachedPrice]) -> Result<(), Error> {
        let mut by_currency: HashMap<String, Vec<&CachedPrice>> = HashMap::new();
        for price in prices {
            by_currency.entry(price.currency.to_uppercase()).or_default().push(price);
        }
        for (currency, prices) in by_currency {
            let name = self.layout.prices(&currency);
            self.update(&name, "cached prices", "store prices", |doc: Option<PricesDoc>| {
                let mut doc = doc.unwrap_or_default();
                for price in &prices {
                    doc.put(price);
                }
                Ok(Step::Write(doc, ()))
            })
            .await?;
        }
        Ok(())
    }

    async fn last_stops_sent(&self) -> Result<BTreeMap<String, Timestamp>, Error> {
        let names = self.container.list(&self.layout.all_last_stops(), "list the stops sent").await?;
        let docs = self.read_all::<LastStopDoc>(names, "last stop sent", "read the stops sent").await?;
        let mut stops = BTreeMap::new();
        for (name, doc, _) in docs {
            let sent = doc.sent().map_err(|unreadable| self.corrupt(&name, unreadable))?;
            stops.insert(doc.target_key, sent);
        }
        Ok(stops)
    }

    async fn postpone(&self, postponement: &Postponement, event: &Event) -> Result<(), Error> {
        // The choice first, then its audit event: a crash in between keeps the choice without its record (the
        // SQLite backend writes both in one transaction; Blob Storage has none across blobs).
        let name = self.layout.postponement(&postponement.key);
        let doc = PostponementDoc::new(postponement);
        self.container.put(&name, to_json(&doc), Condition::Any, "keep a postponement").await?;
        self.record(event).await?;
        Ok(())
    }

    async fn postponements(&self, since: Timestamp) -> Result<Vec<Postponement>, Error> {
        let names = self.container.list(&self.layout.all_postponements(), "list postponements").await?;
        let docs = self.read_all::<PostponementDoc>(names, "postponement", "read postponements").await?;
        let mut found = Vec::new();
        for (name, doc, _) in docs {
            let postponement = doc.to_postponement().map_err(|unreadable| self.corrupt(&name, unreadable))?;
            if postponement.key.occurrence.timestamp() >= since {
                found.push(postponement);
            }
        }
        found.sort_by(|a, b| {
            (a.key.occurrence.timestamp(), &a.key.rule, a.key.target_key()).cmp(&(
                b.key.occurrence.timestamp(),
                &b.key.rule,
                b.key.target_key(),
            ))
        });
        Ok(found)
    }

    async fn link_signing_key(&self, generated: &[u8]) -> Result<Vec<u8>, Error> {
        let name = self.layout.link_signing_key();
        self.container.put(&name, generated.to_vec(), Condition::Absent, "store the link signing key").await?;
        match self.container.get(&name, "read the link signing key").await? {
            Some((bytes, _)) => Ok(bytes.to_vec()),
            None => Err(Error::Blob {
                location: self.container.location().to_owned(),
                operation: "read the link signing key",
                message: "the key was gone right after it was stored".to_owned(),
            }),
        }
    }
}

impl BlobStore {
    /// Remembers that a stop was sent to `target_key` at `at_ms` (never moving the instant back).
    async fn remember_stop_sent(&self, target_key: &str, at_ms: i64) -> Result<(), Error> {
        let name = self.layout.last_stop(target_key);
        self.update(&name, "last stop sent", "remember a stop sent", |doc: Option<LastStopDoc>| {
            Ok(match doc {
                Some(doc) if doc.sent_ms >= at_ms => Step::Stop(()),
                _ => Step::Write(LastStopDoc { target_key: target_key.to_owned(), sent_ms: at_ms }, ()),
            })
        })
        .await
    }
}

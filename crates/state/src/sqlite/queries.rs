//! The queries behind [`super::SqliteStore`], each run by the writer thread inside a transaction it commits
//! (together with whatever other work it batched). Errors name the file and what was being done.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::{Timestamp, Zoned};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::claim::{Claim, ClaimKey, ClaimOutcome, ClaimStatus, NewClaim, Transition};
use crate::error::Error;
use crate::event::{Event, EventKind, EventRecord, HistoryQuery};
use crate::owner::Owner;
use crate::pending::Pending;
use crate::postponement::Postponement;
use crate::price::CachedPrice;
use crate::run::{NewRun, RunId, RunRecord, RunStatus};

/// The database's queries, knowing its path for their errors.
#[derive(Debug, Clone)]
pub(super) struct Db {
    pub(super) path: PathBuf,
}

impl Db {
    fn err(&self, operation: &'static str, source: rusqlite::Error) -> Error {
        Error::sqlite(&self.path, operation, source)
    }

    /// Runs a query and reads every row with `row`; any failure is named by `operation`.
    fn select<T, P: rusqlite::Params>(
        &self,
        conn: &Connection,
        sql: &str,
        params: P,
        operation: &'static str,
        row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, Error> {
        let mut statement = conn.prepare(sql).map_err(|err| self.err(operation, err))?;
        let rows = statement.query_map(params, row).map_err(|err| self.err(operation, err))?;
        rows.collect::<rusqlite::Result<Vec<T>>>().map_err(|err| self.err(operation, err))
    }

    /// Records the start of a run and returns its id.
    pub(super) fn begin_run(&self, conn: &Connection, run: &NewRun) -> Result<RunId, Error> {
        conn.execute(
            "INSERT INTO runs (started_ms, window_after_ms, window_until_ms, host, pid, heartbeat_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?1)",
            params![
                run.started.as_millisecond(),
                run.window_after.map(Timestamp::as_millisecond),
                run.window_until.map(Timestamp::as_millisecond),
                run.owner.host,
                run.owner.pid,
            ],
        )
        .map_err(|err| self.err("record the start of a run", err))?;
        Ok(RunId(conn.last_insert_rowid().to_string()))
    }

    /// Says the run is alive at `at`.
    pub(super) fn heartbeat(&self, conn: &Connection, run: &RunId, at: Timestamp) -> Result<(), Error> {
        conn.execute(
            "UPDATE runs SET heartbeat_ms = ?2 WHERE id = ?1",
            params![self.run_key(run)?, at.as_millisecond()],
        )
        .map_err(|err| self.err("record a run's heartbeat", err))?;
        Ok(())
    }

    /// Records the end of a run. A run never finished (killed) keeps an empty end time.
    pub(super) fn finish_run(
        &self,
        conn: &Connection,
        run: &RunId,
        finished: Timestamp,
        status: RunStatus,
    ) -> Result<(), Error> {
        conn.execute(
            "UPDATE runs SET finished_ms = ?2, heartbeat_ms = ?2, status = ?3 WHERE id = ?1",
            params![self.run_key(run)?, finished.as_millisecond(), status.as_str()],
        )
        .map_err(|err| self.err("record the end of a run", err))?;
        Ok(())
    }

    /// One run, if it exists.
    pub(super) fn run(&self, conn: &Connection, run: &RunId) -> Result<Option<RunRecord>, Error> {
        let key = self.run_key(run)?;
        let raw = conn
            .query_row(
                "SELECT started_ms, coalesce(heartbeat_ms, started_ms), finished_ms, status, host, pid
                 FROM runs WHERE id = ?1",
                [key],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, Option<i64>>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, Option<u32>>(5)?,
                    ))
                },
            )
            .optional()
            .map_err(|err| self.err("read a run", err))?;
        let Some((started, heartbeat, finished, status, host, pid)) = raw else {
            return Ok(None);
        };
        let status = status
            .map(|text| {
                text.parse::<RunStatus>()
                    .map_err(|()| self.corrupt("run status", "succeeded, some-failed or interrupted", text))
            })
            .transpose()?;
        Ok(Some(RunRecord {
            id: run.clone(),
            started: self.timestamp("run start", started)?,
            heartbeat: self.timestamp("run heartbeat", heartbeat)?,
            finished: finished.map(|ms| self.timestamp("run end", ms)).transpose()?,
            status,
            owner: host.zip(pid).map(|(host, pid)| Owner { host, pid }),
        }))
    }

    /// Takes a claim: an `INSERT` on its key, atomic under the database lock.
    pub(super) fn claim(&self, conn: &Connection, claim: &NewClaim) -> Result<ClaimOutcome, Error> {
        let key = &claim.key;
        let run = self.run_key(&claim.run)?;
        let inserted = conn
            .prepare_cached(
                "INSERT INTO claims (rule, occurrence_ms, target_key, occurrence, target_id, target_name, action,
                                     run_id, claimed_ms, sent_ms, status, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10, ?9)
                 ON CONFLICT DO NOTHING",
            )
            .and_then(|mut insert| {
                insert.execute(params![
                    key.rule,
                    key.occurrence.timestamp().as_millisecond(),
                    key.target_key(),
                    key.occurrence.to_string(),
                    key.target_id,
                    claim.target_name,
                    claim.action,
                    run,
                    claim.at.as_millisecond(),
                    ClaimStatus::Claimed.as_str(),
                ])
            })
            .map_err(|err| self.err("take a claim", err))?;
        // A claim whose run was interrupted before sending anything may be taken again: nothing was done.
        let retaken = if inserted == 1 {
            0
        } else {
            conn.execute(
                "UPDATE claims SET run_id = ?4, claimed_ms = ?5, updated_ms = ?5, status = 'claimed'
                 WHERE rule = ?1 AND occurrence_ms = ?2 AND target_key = ?3
                   AND status = 'interrupted' AND sent_ms IS NULL",
                params![
                    key.rule,
                    key.occurrence.timestamp().as_millisecond(),
                    key.target_key(),
                    self.run_key(&claim.run)?,
                    claim.at.as_millisecond()
                ],
            )
            .map_err(|err| self.err("take a claim again", err))?
        };
        if inserted == 1 || retaken == 1 {
            return Ok(ClaimOutcome::Won);
        }
        let held = conn
            .query_row(
                &format!("{CLAIM_COLUMNS} WHERE rule = ?1 AND occurrence_ms = ?2 AND target_key = ?3"),
                params![key.rule, key.occurrence.timestamp().as_millisecond(), key.target_key()],
                RawClaim::from_row,
            )
            .map_err(|err| self.err("read the claim held by another run", err))?;
        Ok(ClaimOutcome::Held(Box::new(self.decode_claim(held)?)))
    }

    /// Moves a claim if it is in one of `from`, and records the event with the move, in one transaction.
    pub(super) fn transition(&self, conn: &Connection, transition: &Transition<'_>) -> Result<bool, Error> {
        let key = transition.key;
        let current: Option<String> = conn
            .prepare_cached("SELECT status FROM claims WHERE rule = ?1 AND occurrence_ms = ?2 AND target_key = ?3")
            .and_then(|mut select| {
                select.query_row(
                    params![key.rule, key.occurrence.timestamp().as_millisecond(), key.target_key()],
                    |row| row.get(0),
                )
            })
            .optional()
            .map_err(|err| self.err("read a claim", err))?;
        let Some(current) = current else {
            return Ok(false);
        };
        let current = current.parse::<ClaimStatus>().map_err(|()| {
            self.corrupt(
                "claim status",
                "claimed, sent, accepted, succeeded, failed, unconfirmed or interrupted",
                current,
            )
        })?;
        if !transition.from.contains(&current) {
            return Ok(false);
        }
        let at = transition.at.as_millisecond();
        let sent = (transition.to == ClaimStatus::Sent).then_some(at);
        conn.prepare_cached(
            "UPDATE claims SET status = ?4, updated_ms = ?5, sent_ms = coalesce(?6, sent_ms)
             WHERE rule = ?1 AND occurrence_ms = ?2 AND target_key = ?3",
        )
        .and_then(|mut update| {
            update.execute(params![
                key.rule,
                key.occurrence.timestamp().as_millisecond(),
                key.target_key(),
                transition.to.as_str(),
                at,
                sent
            ])
        })
        .map_err(|err| self.err("move a claim", err))?;
        if let Some(event) = transition.event {
            insert_event(conn, event).map_err(|err| self.err("record an event", err))?;
        }
        Ok(true)
    }

    /// Every claim whose outcome is not final, oldest first.
    pub(super) fn open_claims(&self, conn: &Connection) -> Result<Vec<Claim>, Error> {
        self.select_claims(
            conn,
            "WHERE status IN ('claimed', 'sent', 'accepted') ORDER BY claimed_ms, rule, target_key",
            params![],
        )
    }

    /// For each target, when autostop last sent it a stop that did not fail.
    pub(super) fn last_stops_sent(&self, conn: &Connection) -> Result<BTreeMap<String, Timestamp>, Error> {
        let mut statement = conn
            .prepare(
                "SELECT target_key, max(sent_ms) FROM claims
                 WHERE action = 'stop' AND sent_ms IS NOT NULL AND status <> 'failed' GROUP BY target_key",
            )
            .map_err(|err| self.err("list the stops sent", err))?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
            .map_err(|err| self.err("list the stops sent", err))?;
        let mut stops = BTreeMap::new();
        for row in rows {
            let (target, sent) = row.map_err(|err| self.err("read the stops sent", err))?;
            stops.insert(target, self.timestamp("stop sent", sent)?);
        }
        Ok(stops)
    }

    /// Every claim on one occurrence of one rule.
    pub(super) fn claims_of(&self, conn: &Connection, rule: &str, occurrence: Timestamp) -> Result<Vec<Claim>, Error> {
        self.select_claims(
            conn,
            "WHERE rule = ?1 AND occurrence_ms = ?2 ORDER BY target_key",
            params![rule, occurrence.as_millisecond()],
        )
    }

    fn select_claims(
        &self,
        conn: &Connection,
        filter: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Claim>, Error> {
        let mut statement =
            conn.prepare(&format!("{CLAIM_COLUMNS} {filter}")).map_err(|err| self.err("list claims", err))?;
        let rows = statement.query_map(params, RawClaim::from_row).map_err(|err| self.err("list claims", err))?;
        let mut claims = Vec::new();
        for row in rows {
            let raw = row.map_err(|err| self.err("read claims", err))?;
            claims.push(self.decode_claim(raw)?);
        }
        Ok(claims)
    }

    /// Records one event in its own committed transaction: once this returns, the event survives a crash.
    /// Returns the event's id.
    pub(super) fn record(&self, conn: &Connection, event: &Event) -> Result<i64, Error> {
        insert_event(conn, event).map_err(|err| self.err("record an event", err))
    }

    /// Deletes at most `batch` events older than `before`, in one transaction; returns how many.
    pub(super) fn prune_events(&self, conn: &Connection, before: Timestamp, batch: usize) -> Result<u64, Error> {
        let deleted = conn
            .execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ms < ?1 ORDER BY id LIMIT ?2)",
                params![before.as_millisecond(), i64::try_from(batch).unwrap_or(i64::MAX)],
            )
            .map_err(|err| self.err("prune old events", err))?;
        Ok(u64::try_from(deleted).unwrap_or(0))
    }

    /// The instant up to which the schedule window named `key` was last evaluated, if ever.
    pub(super) fn last_evaluated(&self, conn: &Connection, key: &str) -> Result<Option<Timestamp>, Error> {
        let ms: Option<i64> = conn
            .query_row("SELECT at_ms FROM last_evaluated WHERE key = ?1", [key], |row| row.get(0))
            .optional()
            .map_err(|err| self.err("read the last evaluated instant", err))?;
        ms.map(|ms| self.timestamp("last evaluated instant", ms)).transpose()
    }

    /// Moves the window named `key` forward to `at`, never back; returns the stored value.
    pub(super) fn advance_last_evaluated(
        &self,
        conn: &Connection,
        key: &str,
        at: Timestamp,
    ) -> Result<Timestamp, Error> {
        conn.execute(
            "INSERT INTO last_evaluated (key, at_ms) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET at_ms = max(at_ms, excluded.at_ms)",
            params![key, at.as_millisecond()],
        )
        .map_err(|err| self.err("store the last evaluated instant", err))?;
        Ok(self.last_evaluated(conn, key)?.unwrap_or(at))
    }

    /// Every pending occurrence, oldest first.
    pub(super) fn pending(&self, conn: &Connection) -> Result<Vec<Pending>, Error> {
        let rows = self.select(
            conn,
            "SELECT rule, occurrence, since_ms, cause FROM pending ORDER BY occurrence_ms, rule",
            [],
            "list pending occurrences",
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                ))
            },
        )?;
        rows.into_iter()
            .map(|(rule, occurrence, since, cause)| {
                Ok(Pending {
                    rule,
                    occurrence: self.zoned("pending occurrence", occurrence)?,
                    since: self.timestamp("pending since", since)?,
                    cause,
                })
            })
            .collect()
    }

    /// Keeps an occurrence pending: inserted the first time, its cause updated later.
    pub(super) fn keep_pending(&self, conn: &Connection, pending: &Pending) -> Result<(), Error> {
        conn.execute(
            "INSERT INTO pending (rule, occurrence_ms, occurrence, since_ms, cause) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(rule, occurrence_ms) DO UPDATE SET cause = excluded.cause",
            params![
                pending.rule,
                pending.occurrence.timestamp().as_millisecond(),
                pending.occurrence.to_string(),
                pending.since.as_millisecond(),
                pending.cause
            ],
        )
        .map_err(|err| self.err("keep an occurrence pending", err))?;
        Ok(())
    }

    /// Forgets a pending occurrence.
    pub(super) fn clear_pending(&self, conn: &Connection, rule: &str, occurrence: Timestamp) -> Result<(), Error> {
        conn.execute(
            "DELETE FROM pending WHERE rule = ?1 AND occurrence_ms = ?2",
            params![rule, occurrence.as_millisecond()],
        )
        .map_err(|err| self.err("clear a pending occurrence", err))?;
        Ok(())
    }

    /// The cached prices in `currency` (any case).
    pub(super) fn cached_prices(&self, conn: &Connection, currency: &str) -> Result<Vec<CachedPrice>, Error> {
        let rows = self.select(
            conn,
            "SELECT region, size, currency, hourly, fetched_ms FROM prices WHERE currency = ?1 ORDER BY region, size",
            [currency],
            "read the cached prices",
            |row| {
                let text = |index| row.get::<_, String>(index);
                Ok((text(0)?, text(1)?, text(2)?, row.get::<_, f64>(3)?, row.get::<_, i64>(4)?))
            },
        )?;
        rows.into_iter()
            .map(|(region, size, currency, hourly, fetched)| {
                Ok(CachedPrice { region, size, currency, hourly, fetched: self.timestamp("price fetched", fetched)? })
            })
            .collect()
    }

    /// Stores prices, replacing those of the same region, size and currency (all or none: one savepoint).
    pub(super) fn store_prices(&self, conn: &Connection, prices: &[CachedPrice]) -> Result<(), Error> {
        for price in prices {
            conn.execute(
                "INSERT OR REPLACE INTO prices (region, size, currency, hourly, fetched_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![price.region, price.size, price.currency, price.hourly, price.fetched.as_millisecond()],
            )
            .map_err(|err| self.err("store prices", err))?;
        }
        Ok(())
    }

    /// Keeps a postponement (replacing an earlier one for its key) and records its event.
    pub(super) fn postpone(&self, conn: &Connection, postponement: &Postponement, event: &Event) -> Result<(), Error> {
        let key = &postponement.key;
        conn.execute(
            "INSERT INTO postponements
                 (rule, occurrence_ms, target_key, occurrence, target_id, target_name, choice, until_ms, made_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(rule, occurrence_ms, target_key) DO UPDATE SET
                     choice = excluded.choice, until_ms = excluded.until_ms, made_ms = excluded.made_ms",
            params![
                key.rule,
                key.occurrence.timestamp().as_millisecond(),
                key.target_key(),
                key.occurrence.to_string(),
                key.target_id,
                postponement.target_name,
                postponement.choice,
                postponement.until.map(Timestamp::as_millisecond),
                postponement.made_at.as_millisecond(),
            ],
        )
        .map_err(|err| self.err("keep a postponement", err))?;
        insert_event(conn, event).map_err(|err| self.err("record an event", err))?;
        Ok(())
    }

    /// The postponements of occurrences at or after `since`.
    pub(super) fn postponements(&self, conn: &Connection, since: Timestamp) -> Result<Vec<Postponement>, Error> {
        let mut statement = conn
            .prepare(
                "SELECT rule, occurrence, target_id, target_name, choice, until_ms, made_ms FROM postponements
                 WHERE occurrence_ms >= ?1 ORDER BY occurrence_ms, rule, target_key",
            )
            .map_err(|err| self.err("list postponements", err))?;
        let rows = statement
            .query_map([since.as_millisecond()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<i64>>(5)?,
                    row.get::<_, i64>(6)?,
                ))
            })
            .map_err(|err| self.err("list postponements", err))?;
        let mut found = Vec::new();
        for row in rows {
            let (rule, occurrence, target_id, target_name, choice, until, made) =
                row.map_err(|err| self.err("read postponements", err))?;
            found.push(Postponement {
                key: ClaimKey { rule, occurrence: self.zoned("postponed occurrence", occurrence)?, target_id },
                target_name,
                choice,
                until: until.map(|ms| self.timestamp("postponed until", ms)).transpose()?,
                made_at: self.timestamp("postponement made", made)?,
            });
        }
        Ok(found)
    }

    /// The stored link signing key, else `generated`, stored now.
    pub(super) fn link_signing_key(&self, conn: &Connection, generated: &[u8]) -> Result<Vec<u8>, Error> {
        conn.execute("INSERT OR IGNORE INTO secrets (name, value) VALUES ('link-signing-key', ?1)", [generated])
            .map_err(|err| self.err("store the link signing key", err))?;
        conn.query_row("SELECT value FROM secrets WHERE name = 'link-signing-key'", [], |row| row.get(0))
            .map_err(|err| self.err("read the link signing key", err))
    }

    /// The events matching `query`, oldest first.
    pub(super) fn history(&self, conn: &Connection, query: &HistoryQuery) -> Result<Vec<EventRecord>, Error> {
        let limit = query.limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
        let mut statement = conn
            .prepare(
                "SELECT * FROM (
                     SELECT id, run_id, time_ms, kind, rule, occurrence, target_id, target_name, action, reason,
                            error_code, error_message
                     FROM events
                     WHERE (?1 IS NULL OR time_ms >= ?1)
                       AND (?2 IS NULL OR target_id = ?2 COLLATE NOCASE OR target_name = ?2 COLLATE NOCASE)
                     ORDER BY id DESC
                     LIMIT ?3)
                 ORDER BY id ASC",
            )
            .map_err(|err| self.err("query the history", err))?;
        let rows = statement
            .query_map(params![query.since.map(Timestamp::as_millisecond), query.target, limit], RawEvent::from_row)
            .map_err(|err| self.err("query the history", err))?;
        let mut records = Vec::new();
        for row in rows {
            let raw = row.map_err(|err| self.err("read the history", err))?;
            records.push(self.decode(raw)?);
        }
        Ok(records)
    }

    fn corrupt(&self, what: &'static str, expected: &'static str, found: String) -> Error {
        Error::Corrupt { path: self.path.clone(), what, expected, found }
    }

    fn timestamp(&self, what: &'static str, ms: i64) -> Result<Timestamp, Error> {
        Timestamp::from_millisecond(ms)
            .map_err(|_| self.corrupt(what, "milliseconds since 1970 within jiff's range", ms.to_string()))
    }

    fn zoned(&self, what: &'static str, text: String) -> Result<Zoned, Error> {
        text.parse::<Zoned>().map_err(|_| self.corrupt(what, "an RFC 9557 zoned date-time", text))
    }

    /// The integer key of a run id this backend issued.
    fn run_key(&self, run: &RunId) -> Result<i64, Error> {
        run.0.parse().map_err(|_| self.corrupt("run id", "an integer issued by this database", run.0.clone()))
    }

    fn decode_claim(&self, raw: RawClaim) -> Result<Claim, Error> {
        let status = raw.status.parse::<ClaimStatus>().map_err(|()| {
            self.corrupt(
                "claim status",
                "claimed, sent, accepted, succeeded, failed, unconfirmed or interrupted",
                raw.status.clone(),
            )
        })?;
        Ok(Claim {
            key: ClaimKey {
                rule: raw.rule,
                occurrence: self.zoned("claim occurrence", raw.occurrence)?,
                target_id: raw.target_id,
            },
            target_name: raw.target_name,
            action: raw.action,
            run: RunId(raw.run_id.to_string()),
            claimed_at: self.timestamp("claim time", raw.claimed_ms)?,
            sent_at: raw.sent_ms.map(|ms| self.timestamp("claim send time", ms)).transpose()?,
            status,
            updated_at: self.timestamp("claim update time", raw.updated_ms)?,
        })
    }

    fn decode(&self, raw: RawEvent) -> Result<EventRecord, Error> {
        let kind = raw.kind.parse::<EventKind>().map_err(|()| {
            self.corrupt(
                "event kind",
                "succeeded, accepted, failed, skipped, missed, interrupted or unconfirmed",
                raw.kind.clone(),
            )
        })?;
        let occurrence = raw.occurrence.map(|text| self.zoned("rule occurrence", text)).transpose()?;
        Ok(EventRecord {
            id: raw.id,
            event: Event {
                time: self.timestamp("event time", raw.time_ms)?,
                run: raw.run_id.map(|id| RunId(id.to_string())),
                kind,
                rule: raw.rule,
                occurrence,
                target_id: raw.target_id,
                target_name: raw.target_name,
                action: raw.action,
                reason: raw.reason,
                error_code: raw.error_code,
                error_message: raw.error_message,
            },
        })
    }
}

/// One `events` row as SQLite returns it, before its values are checked.
struct RawEvent {
    id: i64,
    run_id: Option<i64>,
    time_ms: i64,
    kind: String,
    rule: Option<String>,
    occurrence: Option<String>,
    target_id: Option<String>,
    target_name: Option<String>,
    action: Option<String>,
    reason: Option<String>,
    error_code: Option<String>,
    error_message: Option<String>,
}

impl RawEvent {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawEvent> {
        Ok(RawEvent {
            id: row.get(0)?,
            run_id: row.get(1)?,
            time_ms: row.get(2)?,
            kind: row.get(3)?,
            rule: row.get(4)?,
            occurrence: row.get(5)?,
            target_id: row.get(6)?,
            target_name: row.get(7)?,
            action: row.get(8)?,
            reason: row.get(9)?,
            error_code: row.get(10)?,
            error_message: row.get(11)?,
        })
    }
}

/// The columns a [`RawClaim`] is read from, as a `SELECT ... FROM claims` prefix.
const CLAIM_COLUMNS: &str =
    "SELECT rule, occurrence, target_id, target_name, action, run_id, claimed_ms, sent_ms, status,
                                    updated_ms FROM claims";

/// One `claims` row as SQLite returns it, before its values are checked.
struct RawClaim {
    rule: String,
    occurrence: String,
    target_id: String,
    target_name: String,
    action: String,
    run_id: i64,
    claimed_ms: i64,
    sent_ms: Option<i64>,
    status: String,
    updated_ms: i64,
}

impl RawClaim {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawClaim> {
        Ok(RawClaim {
            rule: row.get(0)?,
            occurrence: row.get(1)?,
            target_id: row.get(2)?,
            target_name: row.get(3)?,
            action: row.get(4)?,
            run_id: row.get(5)?,
            claimed_ms: row.get(6)?,
            sent_ms: row.get(7)?,
            status: row.get(8)?,
            updated_ms: row.get(9)?,
        })
    }
}

/// Inserts an event (in whatever transaction `conn` is in) and returns its id.
fn insert_event(conn: &Connection, event: &Event) -> rusqlite::Result<i64> {
    let run = event.run.as_ref().map(|run| run.0.parse::<i64>()).transpose().map_err(|_| {
        rusqlite::Error::InvalidParameterName(format!("run id {:?} was not issued by this database", event.run))
    })?;
    // Prepared once per connection: every action records up to three events.
    conn.prepare_cached(
        "INSERT INTO events (run_id, time_ms, kind, rule, occurrence, occurrence_ms, target_id, target_name,
                             action, reason, error_code, error_message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        run,
        event.time.as_millisecond(),
        event.kind.as_str(),
        event.rule,
        event.occurrence.as_ref().map(ToString::to_string),
        event.occurrence.as_ref().map(|zoned| zoned.timestamp().as_millisecond()),
        event.target_id,
        event.target_name,
        event.action,
        event.reason,
        event.error_code,
        event.error_message,
    ])?;
    Ok(conn.last_insert_rowid())
}

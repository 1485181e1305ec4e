//! The SQLite backend of [`StateStore`]: one file in WAL mode with `synchronous=FULL`. Every change is one
//! transaction whose commit is checked; a claim is an `INSERT` on the claim's primary key (the database lock
//! makes it atomic across processes); a transition is a conditional `UPDATE` plus its event, committed together.
//!
//! The file and the directories it creates are private (0600 / 0700): they hold owners' e-mail addresses and the
//! history of their machines. SQLite's locking needs a local file system: never put this file on a network
//! share (use the Blob backend for shared state).

mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{Timestamp, Zoned};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::claim::{Claim, ClaimKey, ClaimOutcome, ClaimStatus, NewClaim, Transition};
use crate::error::Error;
use crate::event::{Event, EventKind, EventRecord, HistoryQuery};
use crate::owner::Owner;
use crate::pending::Pending;
use crate::price::CachedPrice;
use crate::run::{NewRun, RunId, RunRecord, RunStatus};
use crate::store::StateStore;

/// How long a write waits for another autostop process holding the database lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open state database. `Send + Sync`: concurrent tasks may share one store; their writes are serialised.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl SqliteStore {
    /// The platform's default database path: `$XDG_STATE_HOME/autostop/audit.db`, else
    /// `$HOME/.local/state/autostop/audit.db` (empty variables count as unset, as the XDG spec says).
    pub fn default_path() -> Result<PathBuf, Error> {
        Self::default_path_from(|name| std::env::var_os(name))
    }

    /// [`Store::default_path`] with the environment given as a lookup function.
    pub fn default_path_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf, Error> {
        let non_empty = |name| env(name).filter(|value| !value.is_empty()).map(PathBuf::from);
        if let Some(state) = non_empty("XDG_STATE_HOME") {
            return Ok(state.join("autostop").join("audit.db"));
        }
        let home = non_empty("HOME").ok_or(Error::NoDefaultPath)?;
        Ok(home.join(".local").join("state").join("autostop").join("audit.db"))
    }

    /// Opens (creating if needed, with its parent directories, all private) the database at `path` and brings
    /// its schema up to date. Safe when several processes open a new file at once.
    pub fn open(path: &Path) -> Result<SqliteStore, Error> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(|err| Error::sqlite(path, "open the file", err))?;
        let err = |operation, source| Error::sqlite(path, operation, source);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|source| err("set the busy timeout", source))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|source| err("switch to WAL journaling", source))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|source| err("set synchronous=FULL", source))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|source| err("enable foreign keys", source))?;
        let store = SqliteStore { conn: Mutex::new(conn), path: path.to_owned() };
        store.migrate()?;
        Ok(store)
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection. A panic in another thread while holding it cannot leave a half-written event (each
    /// write is one SQLite transaction), so a poisoned lock is simply taken over.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn err(&self, operation: &'static str, source: rusqlite::Error) -> Error {
        Error::sqlite(&self.path, operation, source)
    }

    /// Brings the schema up to date. The version is read inside the write transaction, so two processes
    /// creating the same new file cannot both run a migration.
    fn migrate(&self) -> Result<(), Error> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| self.err("lock the database to check its schema", err))?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|err| self.err("read the schema version", err))?;
        let supported = schema::current_version();
        if found > supported {
            return Err(Error::NewerSchema { path: self.path.clone(), found, supported });
        }
        if found == supported {
            return Ok(());
        }
        let start = usize::try_from(found).unwrap_or(0);
        for migration in schema::MIGRATIONS.iter().skip(start) {
            tx.execute_batch(migration).map_err(|err| self.err("migrate the schema", err))?;
        }
        tx.pragma_update(None, "user_version", supported).map_err(|err| self.err("record the schema version", err))?;
        tx.commit().map_err(|err| self.err("commit the schema migration", err))
    }

    /// Records the start of a run and returns its id.
    pub fn begin_run(&self, run: &NewRun) -> Result<RunId, Error> {
        let conn = self.conn();
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
    pub fn heartbeat(&self, run: &RunId, at: Timestamp) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE runs SET heartbeat_ms = ?2 WHERE id = ?1",
                params![self.run_key(run)?, at.as_millisecond()],
            )
            .map_err(|err| self.err("record a run's heartbeat", err))?;
        Ok(())
    }

    /// Records the end of a run. A run never finished (killed) keeps an empty end time.
    pub fn finish_run(&self, run: &RunId, finished: Timestamp, status: RunStatus) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE runs SET finished_ms = ?2, heartbeat_ms = ?2, status = ?3 WHERE id = ?1",
                params![self.run_key(run)?, finished.as_millisecond(), status.as_str()],
            )
            .map_err(|err| self.err("record the end of a run", err))?;
        Ok(())
    }

    /// One run, if it exists.
    pub fn run(&self, run: &RunId) -> Result<Option<RunRecord>, Error> {
        let key = self.run_key(run)?;
        let raw = self
            .conn()
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
    pub fn claim(&self, claim: &NewClaim) -> Result<ClaimOutcome, Error> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| self.err("lock the database to take a claim", err))?;
        let key = &claim.key;
        let inserted = tx
            .execute(
                "INSERT INTO claims (rule, occurrence_ms, target_key, occurrence, target_id, target_name, action,
                                     run_id, claimed_ms, sent_ms, status, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10, ?9)
                 ON CONFLICT DO NOTHING",
                params![
                    key.rule,
                    key.occurrence.timestamp().as_millisecond(),
                    key.target_key(),
                    key.occurrence.to_string(),
                    key.target_id,
                    claim.target_name,
                    claim.action,
                    self.run_key(&claim.run)?,
                    claim.at.as_millisecond(),
                    ClaimStatus::Claimed.as_str(),
                ],
            )
            .map_err(|err| self.err("take a claim", err))?;
        // A claim whose run was interrupted before sending anything may be taken again: nothing was done.
        let retaken = if inserted == 1 {
            0
        } else {
            tx.execute(
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
            tx.commit().map_err(|err| self.err("commit a claim", err))?;
            return Ok(ClaimOutcome::Won);
        }
        let held = tx
            .query_row(
                &format!("{CLAIM_COLUMNS} WHERE rule = ?1 AND occurrence_ms = ?2 AND target_key = ?3"),
                params![key.rule, key.occurrence.timestamp().as_millisecond(), key.target_key()],
                RawClaim::from_row,
            )
            .map_err(|err| self.err("read the claim held by another run", err))?;
        drop(tx);
        Ok(ClaimOutcome::Held(Box::new(self.decode_claim(held)?)))
    }

    /// Moves a claim if it is in one of `from`, and records the event with the move, in one transaction.
    pub fn transition(&self, transition: &Transition<'_>) -> Result<bool, Error> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| self.err("lock the database to move a claim", err))?;
        let key = transition.key;
        let current: Option<String> = tx
            .query_row(
                "SELECT status FROM claims WHERE rule = ?1 AND occurrence_ms = ?2 AND target_key = ?3",
                params![key.rule, key.occurrence.timestamp().as_millisecond(), key.target_key()],
                |row| row.get(0),
            )
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
        tx.execute(
            "UPDATE claims SET status = ?4, updated_ms = ?5, sent_ms = coalesce(?6, sent_ms)
             WHERE rule = ?1 AND occurrence_ms = ?2 AND target_key = ?3",
            params![
                key.rule,
                key.occurrence.timestamp().as_millisecond(),
                key.target_key(),
                transition.to.as_str(),
                at,
                sent
            ],
        )
        .map_err(|err| self.err("move a claim", err))?;
        if let Some(event) = transition.event {
            insert_event(&tx, event).map_err(|err| self.err("record an event", err))?;
        }
        tx.commit().map_err(|err| self.err("commit a claim's move", err))?;
        Ok(true)
    }

    /// Every claim whose outcome is not final, oldest first.
    pub fn open_claims(&self) -> Result<Vec<Claim>, Error> {
        self.select_claims(
            "WHERE status IN ('claimed', 'sent', 'accepted') ORDER BY claimed_ms, rule, target_key",
            params![],
        )
    }

    /// Every claim on one occurrence of one rule.
    pub fn claims_of(&self, rule: &str, occurrence: Timestamp) -> Result<Vec<Claim>, Error> {
        self.select_claims(
            "WHERE rule = ?1 AND occurrence_ms = ?2 ORDER BY target_key",
            params![rule, occurrence.as_millisecond()],
        )
    }

    fn select_claims(&self, filter: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<Claim>, Error> {
        let conn = self.conn();
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
    pub fn record(&self, event: &Event) -> Result<i64, Error> {
        // `execute` in autocommit mode reports a failed commit (a full disk) as its own error, unlike a
        // `RETURNING` row read before the statement finishes.
        insert_event(&self.conn(), event).map_err(|err| self.err("record an event", err))
    }

    /// The instant up to which the schedule window named `key` was last evaluated, if ever.
    pub fn last_evaluated(&self, key: &str) -> Result<Option<Timestamp>, Error> {
        let ms: Option<i64> = self
            .conn()
            .query_row("SELECT at_ms FROM last_evaluated WHERE key = ?1", [key], |row| row.get(0))
            .optional()
            .map_err(|err| self.err("read the last evaluated instant", err))?;
        ms.map(|ms| self.timestamp("last evaluated instant", ms)).transpose()
    }

    /// Moves the window named `key` forward to `at`, never back; returns the stored value.
    pub fn advance_last_evaluated(&self, key: &str, at: Timestamp) -> Result<Timestamp, Error> {
        self.conn()
            .execute(
                "INSERT INTO last_evaluated (key, at_ms) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET at_ms = max(at_ms, excluded.at_ms)",
                params![key, at.as_millisecond()],
            )
            .map_err(|err| self.err("store the last evaluated instant", err))?;
        Ok(self.last_evaluated(key)?.unwrap_or(at))
    }

    /// Every pending occurrence, oldest first.
    pub fn pending(&self) -> Result<Vec<Pending>, Error> {
        let conn = self.conn();
        let mut statement = conn
            .prepare("SELECT rule, occurrence, since_ms, cause FROM pending ORDER BY occurrence_ms, rule")
            .map_err(|err| self.err("list pending occurrences", err))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .map_err(|err| self.err("list pending occurrences", err))?;
        let mut pending = Vec::new();
        for row in rows {
            let (rule, occurrence, since, cause) = row.map_err(|err| self.err("read pending occurrences", err))?;
            pending.push(Pending {
                rule,
                occurrence: self.zoned("pending occurrence", occurrence)?,
                since: self.timestamp("pending since", since)?,
                cause,
            });
        }
        Ok(pending)
    }

    /// Keeps an occurrence pending: inserted the first time, its cause updated later.
    pub fn keep_pending(&self, pending: &Pending) -> Result<(), Error> {
        self.conn()
            .execute(
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
    pub fn clear_pending(&self, rule: &str, occurrence: Timestamp) -> Result<(), Error> {
        self.conn()
            .execute(
                "DELETE FROM pending WHERE rule = ?1 AND occurrence_ms = ?2",
                params![rule, occurrence.as_millisecond()],
            )
            .map_err(|err| self.err("clear a pending occurrence", err))?;
        Ok(())
    }

    /// The events matching `query`, oldest first.
    pub fn history(&self, query: &HistoryQuery) -> Result<Vec<EventRecord>, Error> {
        let limit = query.limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
        let conn = self.conn();
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

    /// The cached prices in `currency` (any case).
    pub fn cached_prices(&self, currency: &str) -> Result<Vec<CachedPrice>, Error> {
        let conn = self.conn();
        let mut statement = conn
            .prepare(
                "SELECT region, size, currency, hourly, fetched_ms FROM prices WHERE currency = ?1
                 ORDER BY region, size",
            )
            .map_err(|err| self.err("read the cached prices", err))?;
        let rows = statement
            .query_map([currency], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .map_err(|err| self.err("read the cached prices", err))?;
        let mut prices = Vec::new();
        for row in rows {
            let (region, size, currency, hourly, fetched) =
                row.map_err(|err| self.err("read the cached prices", err))?;
            prices.push(CachedPrice {
                region,
                size,
                currency,
                hourly,
                fetched: self.timestamp("price fetched", fetched)?,
            });
        }
        Ok(prices)
    }

    /// Stores prices in one transaction, replacing those of the same region, size and currency.
    pub fn store_prices(&self, prices: &[CachedPrice]) -> Result<(), Error> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|err| self.err("store prices", err))?;
        for price in prices {
            tx.execute(
                "INSERT OR REPLACE INTO prices (region, size, currency, hourly, fetched_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![price.region, price.size, price.currency, price.hourly, price.fetched.as_millisecond()],
            )
            .map_err(|err| self.err("store prices", err))?;
        }
        tx.commit().map_err(|err| self.err("commit the stored prices", err))
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
    conn.execute(
        "INSERT INTO events (run_id, time_ms, kind, rule, occurrence, occurrence_ms, target_id, target_name,
                             action, reason, error_code, error_message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
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
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Creates the database's missing parent directories (0700) and the file itself (0600) before SQLite opens it,
/// so that nothing is ever readable by others, even for a moment.
fn create_private(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        builder.mode(0o700);
        builder.create(dir).map_err(|source| Error::CreateDir { dir: dir.to_owned(), source })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::CreateDir { dir: path.to_owned(), source }),
    }
}

#[async_trait]
impl StateStore for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn begin_run(&self, run: &NewRun) -> Result<RunId, Error> {
        SqliteStore::begin_run(self, run)
    }

    async fn heartbeat(&self, run: &RunId, at: Timestamp) -> Result<(), Error> {
        SqliteStore::heartbeat(self, run, at)
    }

    async fn finish_run(&self, run: &RunId, at: Timestamp, status: RunStatus) -> Result<(), Error> {
        SqliteStore::finish_run(self, run, at, status)
    }

    async fn run(&self, run: &RunId) -> Result<Option<RunRecord>, Error> {
        SqliteStore::run(self, run)
    }

    async fn claim(&self, claim: &NewClaim) -> Result<ClaimOutcome, Error> {
        SqliteStore::claim(self, claim)
    }

    async fn transition(&self, transition: &Transition<'_>) -> Result<bool, Error> {
        SqliteStore::transition(self, transition)
    }

    async fn claims_of(&self, rule: &str, occurrence: Timestamp) -> Result<Vec<Claim>, Error> {
        SqliteStore::claims_of(self, rule, occurrence)
    }

    async fn open_claims(&self) -> Result<Vec<Claim>, Error> {
        SqliteStore::open_claims(self)
    }

    async fn record(&self, event: &Event) -> Result<i64, Error> {
        SqliteStore::record(self, event)
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<EventRecord>, Error> {
        SqliteStore::history(self, query)
    }

    async fn last_evaluated(&self, key: &str) -> Result<Option<Timestamp>, Error> {
        SqliteStore::last_evaluated(self, key)
    }

    async fn advance_last_evaluated(&self, key: &str, at: Timestamp) -> Result<Timestamp, Error> {
        SqliteStore::advance_last_evaluated(self, key, at)
    }

    async fn pending(&self) -> Result<Vec<Pending>, Error> {
        SqliteStore::pending(self)
    }

    async fn keep_pending(&self, pending: &Pending) -> Result<(), Error> {
        SqliteStore::keep_pending(self, pending)
    }

    async fn clear_pending(&self, rule: &str, occurrence: Timestamp) -> Result<(), Error> {
        SqliteStore::clear_pending(self, rule, occurrence)
    }

    async fn cached_prices(&self, currency: &str) -> Result<Vec<CachedPrice>, Error> {
        SqliteStore::cached_prices(self, currency)
    }

    async fn store_prices(&self, prices: &[CachedPrice]) -> Result<(), Error> {
        SqliteStore::store_prices(self, prices)
    }
}

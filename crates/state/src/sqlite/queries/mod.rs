//! The queries behind [`super::SqliteStore`], each run by the writer thread inside a transaction it commits
//! (together with whatever other work it batched). Errors name the file and what was being done. The claims
//! ([`claims`]) and the events ([`events`]) have files of their own; runs, windows, pending occurrences, prices,
//! postponements and the link key are here.

mod claims;
mod events;

use std::path::PathBuf;

use jiff::{Timestamp, Zoned};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::claim::ClaimKey;
use crate::error::Error;
use crate::event::Event;
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
        events::insert_event(conn, event).map_err(|err| self.err("record an event", err))?;
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
}

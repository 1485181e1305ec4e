//! The SQLite-backed [`Store`]: opening (WAL, `synchronous=FULL`, migrations), runs, events, the window memory
//! and history queries. Every write is its own committed transaction.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::{Timestamp, Zoned};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::Error;
use crate::event::{Event, EventKind, EventRecord, HistoryQuery, NewRun, RunId, RunStatus};
use crate::schema;

/// How long a write waits for another autostop process holding the database lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open audit database. `Send + Sync`: concurrent tasks may share one store; their writes are serialised.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Store {
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

    /// Opens (creating if needed, with its parent directories) the database at `path` and brings its schema up
    /// to date.
    pub fn open(path: &Path) -> Result<Store, Error> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir { dir: dir.to_owned(), source })?;
        }
        let conn = Connection::open(path).map_err(|err| Error::sqlite(path, "open the file", err))?;
        let err = |operation, source| Error::sqlite(path, operation, source);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|source| err("set the busy timeout", source))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|source| err("switch to WAL journaling", source))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|source| err("set synchronous=FULL", source))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|source| err("enable foreign keys", source))?;
        let store = Store { conn: Mutex::new(conn), path: path.to_owned() };
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

    fn migrate(&self) -> Result<(), Error> {
        let conn = self.conn();
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|err| self.err("read the schema version", err))?;
        let supported = schema::current_version();
        if found > supported {
            return Err(Error::NewerSchema { path: self.path.clone(), found, supported });
        }
        let start = usize::try_from(found).unwrap_or(0);
        for (index, migration) in schema::MIGRATIONS.iter().enumerate().skip(start) {
            let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
            let sql = format!("BEGIN IMMEDIATE; {migration}; PRAGMA user_version = {version}; COMMIT;");
            if let Err(err) = conn.execute_batch(&sql) {
                // Leave the file as it was; the rollback's own failure adds nothing to the first error.
                let _ = conn.execute_batch("ROLLBACK");
                return Err(self.err("migrate the schema", err));
            }
        }
        Ok(())
    }

    /// Records the start of a run and returns its id.
    pub fn begin_run(&self, run: &NewRun) -> Result<RunId, Error> {
        self.conn()
            .query_row(
                "INSERT INTO runs (started_ms, window_after_ms, window_until_ms) VALUES (?1, ?2, ?3) RETURNING id",
                params![
                    run.started.as_millisecond(),
                    run.window_after.map(Timestamp::as_millisecond),
                    run.window_until.map(Timestamp::as_millisecond)
                ],
                |row| row.get(0).map(RunId),
            )
            .map_err(|err| self.err("record the start of a run", err))
    }

    /// Records the end of a run. A run never finished (killed) keeps an empty end time.
    pub fn finish_run(&self, run: RunId, finished: Timestamp, status: RunStatus) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE runs SET finished_ms = ?2, status = ?3 WHERE id = ?1",
                params![run.0, finished.as_millisecond(), status.as_str()],
            )
            .map_err(|err| self.err("record the end of a run", err))?;
        Ok(())
    }

    /// Records one event in its own committed transaction: once this returns, the event survives a crash.
    /// Returns the event's id.
    pub fn record(&self, event: &Event) -> Result<i64, Error> {
        self.conn()
            .query_row(
                "INSERT INTO events (run_id, time_ms, kind, rule, occurrence, occurrence_ms, target_id, target_name,
                                     action, reason, error_code, error_message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 RETURNING id",
                params![
                    event.run.map(|run| run.0),
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
                |row| row.get(0),
            )
            .map_err(|err| self.err("record an event", err))
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

    /// Remembers that the schedule window named `key` has been evaluated up to `at`.
    pub fn set_last_evaluated(&self, key: &str, at: Timestamp) -> Result<(), Error> {
        self.conn()
            .execute(
                "INSERT INTO last_evaluated (key, at_ms) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET at_ms = excluded.at_ms",
                params![key, at.as_millisecond()],
            )
            .map_err(|err| self.err("store the last evaluated instant", err))?;
        Ok(())
    }

    /// Whether `rule`'s `occurrence` was already carried out on `target_id` (an event that
    /// [`EventKind::is_done`]), so that evaluating the same window twice acts once. Target ids compare
    /// case-insensitively, as ARM ids do; occurrences compare as instants.
    pub fn already_done(&self, rule: &str, occurrence: Timestamp, target_id: &str) -> Result<bool, Error> {
        let done = [EventKind::Succeeded, EventKind::Accepted].map(EventKind::as_str);
        self.conn()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM events
                                WHERE rule = ?1 AND occurrence_ms = ?2 AND target_id = ?3 COLLATE NOCASE
                                  AND kind IN (?4, ?5))",
                params![rule, occurrence.as_millisecond(), target_id, done[0], done[1]],
                |row| row.get(0),
            )
            .map_err(|err| self.err("look up earlier actions", err))
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

    fn timestamp(&self, what: &'static str, ms: i64) -> Result<Timestamp, Error> {
        Timestamp::from_millisecond(ms).map_err(|_| Error::Corrupt {
            path: self.path.clone(),
            what,
            expected: "milliseconds since 1970 within jiff's range",
            found: ms.to_string(),
        })
    }

    fn decode(&self, raw: RawEvent) -> Result<EventRecord, Error> {
        let kind = raw.kind.parse::<EventKind>().map_err(|()| Error::Corrupt {
            path: self.path.clone(),
            what: "event kind",
            expected: "succeeded, accepted, failed, skipped, missed or interrupted",
            found: raw.kind.clone(),
        })?;
        let occurrence = raw
            .occurrence
            .map(|text| {
                text.parse::<Zoned>().map_err(|_| Error::Corrupt {
                    path: self.path.clone(),
                    what: "rule occurrence",
                    expected: "an RFC 9557 zoned date-time",
                    found: text,
                })
            })
            .transpose()?;
        Ok(EventRecord {
            id: raw.id,
            event: Event {
                time: self.timestamp("event time", raw.time_ms)?,
                run: raw.run_id.map(RunId),
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

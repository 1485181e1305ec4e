//! The events table: the audit log written with each change, pruned by age, and read as history.

use jiff::Timestamp;
use rusqlite::{Connection, Row, params};

use super::Db;
use crate::error::Error;
use crate::event::{Event, EventKind, EventRecord, HistoryQuery};
use crate::run::RunId;

impl Db {
    /// Records one event in its own committed transaction: once this returns, the event survives a crash.
    /// Returns the event's id.
    pub(in crate::sqlite) fn record(&self, conn: &Connection, event: &Event) -> Result<i64, Error> {
        insert_event(conn, event).map_err(|err| self.err("record an event", err))
    }

    /// Deletes at most `batch` events older than `before`, in one transaction; returns how many.
    pub(in crate::sqlite) fn prune_events(
        &self,
        conn: &Connection,
        before: Timestamp,
        batch: usize,
    ) -> Result<u64, Error> {
        let deleted = conn
            .execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ms < ?1 ORDER BY id LIMIT ?2)",
                params![before.as_millisecond(), i64::try_from(batch).unwrap_or(i64::MAX)],
            )
            .map_err(|err| self.err("prune old events", err))?;
        Ok(u64::try_from(deleted).unwrap_or(0))
    }

    /// The events matching `query`, oldest first.
    pub(in crate::sqlite) fn history(
        &self,
        conn: &Connection,
        query: &HistoryQuery,
    ) -> Result<Vec<EventRecord>, Error> {
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

/// Inserts an event (in whatever transaction `conn` is in) and returns its id.
pub(super) fn insert_event(conn: &Connection, event: &Event) -> rusqlite::Result<i64> {
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

//! The claims table: taking a claim, moving it, and reading claims back.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Db;
use super::events::insert_event;
use crate::claim::{Claim, ClaimKey, ClaimOutcome, ClaimStatus, NewClaim, Transition};
use crate::error::Error;
use crate::run::RunId;

impl Db {
    /// Takes a claim: an `INSERT` on its key, atomic under the database lock.
    pub(in crate::sqlite) fn claim(&self, conn: &Connection, claim: &NewClaim) -> Result<ClaimOutcome, Error> {
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
    pub(in crate::sqlite) fn transition(&self, conn: &Connection, transition: &Transition<'_>) -> Result<bool, Error> {
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
    pub(in crate::sqlite) fn open_claims(&self, conn: &Connection) -> Result<Vec<Claim>, Error> {
        self.select_claims(
            conn,
            "WHERE status IN ('claimed', 'sent', 'accepted') ORDER BY claimed_ms, rule, target_key",
            params![],
        )
    }

    /// For each target, when autostop last sent it a stop that did not fail.
    pub(in crate::sqlite) fn last_stops_sent(&self, conn: &Connection) -> Result<BTreeMap<String, Timestamp>, Error> {
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
    pub(in crate::sqlite) fn claims_of(
        &self,
        conn: &Connection,
        rule: &str,
        occurrence: Timestamp,
    ) -> Result<Vec<Claim>, Error> {
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

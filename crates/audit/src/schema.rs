//! The database schema as an ordered list of migrations; the file's `user_version` says how many have run.
//!
//! Append new migrations at the end; never edit one that has shipped.

/// Each entry brings the schema from version `index` to `index + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: runs, events and the scheduling window memory.
    "CREATE TABLE runs (
        id              INTEGER PRIMARY KEY,
        started_ms      INTEGER NOT NULL,
        window_after_ms INTEGER,
        window_until_ms INTEGER,
        finished_ms     INTEGER,
        status          TEXT
    );
    CREATE TABLE events (
        id            INTEGER PRIMARY KEY,
        run_id        INTEGER REFERENCES runs(id),
        time_ms       INTEGER NOT NULL,
        kind          TEXT NOT NULL,
        rule          TEXT,
        occurrence    TEXT,
        occurrence_ms INTEGER,
        target_id     TEXT,
        target_name   TEXT,
        action        TEXT,
        reason        TEXT,
        error_code    TEXT,
        error_message TEXT
    );
    CREATE INDEX events_by_time ON events(time_ms);
    CREATE INDEX events_by_occurrence ON events(rule, occurrence_ms, target_id COLLATE NOCASE);
    CREATE TABLE last_evaluated (
        key     TEXT PRIMARY KEY,
        at_ms   INTEGER NOT NULL
    );",
];

/// The schema version this build writes: the number of migrations.
pub(crate) fn current_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

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
    // 2: claims (exactly once), run owners and heartbeats, pending occurrences. Actions a version-1 database
    // recorded as done become claims, so that upgrading never repeats them (accepted ones get confirmed).
    "ALTER TABLE runs ADD COLUMN host TEXT;
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    ALTER TABLE runs ADD COLUMN heartbeat_ms INTEGER;
    CREATE TABLE claims (
        rule          TEXT NOT NULL,
        occurrence_ms INTEGER NOT NULL,
        target_key    TEXT NOT NULL,
        occurrence    TEXT NOT NULL,
        target_id     TEXT NOT NULL,
        target_name   TEXT NOT NULL,
        action        TEXT NOT NULL,
        run_id        INTEGER NOT NULL REFERENCES runs(id),
        claimed_ms    INTEGER NOT NULL,
        sent_ms       INTEGER,
        status        TEXT NOT NULL,
        updated_ms    INTEGER NOT NULL,
        PRIMARY KEY (rule, occurrence_ms, target_key)
    );
    CREATE INDEX claims_open ON claims(status) WHERE status IN ('claimed', 'sent', 'accepted');
    INSERT OR IGNORE INTO claims
        SELECT rule, occurrence_ms, lower(target_id), occurrence, target_id, coalesce(target_name, ''),
               coalesce(action, ''), run_id, time_ms, time_ms, kind, time_ms
        FROM events
        WHERE kind IN ('succeeded', 'accepted') AND rule IS NOT NULL AND occurrence_ms IS NOT NULL
          AND occurrence IS NOT NULL AND target_id IS NOT NULL AND run_id IS NOT NULL;
    CREATE TABLE pending (
        rule          TEXT NOT NULL,
        occurrence_ms INTEGER NOT NULL,
        occurrence    TEXT NOT NULL,
        since_ms      INTEGER NOT NULL,
        cause         TEXT NOT NULL,
        PRIMARY KEY (rule, occurrence_ms)
    );",
    // 3: owners' postponements of coming stops (from notice links), and the key that signs those links.
    "CREATE TABLE postponements (
        rule          TEXT NOT NULL,
        occurrence_ms INTEGER NOT NULL,
        target_key    TEXT NOT NULL,
        occurrence    TEXT NOT NULL,
        target_id     TEXT NOT NULL,
        target_name   TEXT NOT NULL,
        choice        TEXT NOT NULL,
        until_ms      INTEGER,
        made_ms       INTEGER NOT NULL,
        PRIMARY KEY (rule, occurrence_ms, target_key)
    );
    CREATE TABLE secrets (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );",
    // 4: hourly prices fetched from the Retail Prices API, with when they were fetched.
    "CREATE TABLE prices (
        region     TEXT NOT NULL COLLATE NOCASE,
        size       TEXT NOT NULL COLLATE NOCASE,
        currency   TEXT NOT NULL COLLATE NOCASE,
        hourly     REAL NOT NULL,
        fetched_ms INTEGER NOT NULL,
        PRIMARY KEY (region, size, currency)
    );",
];

/// The schema version this build writes: the number of migrations.
pub(crate) fn current_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

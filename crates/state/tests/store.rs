//! The audit store against real SQLite files: round trips, idempotency, the window memory, history queries and
//! the errors a user can meet.

mod common;

use std::ffi::OsString;
use std::path::PathBuf;

use autostop_state::{
    CachedPrice, ClaimKey, ClaimOutcome, ClaimStatus, Error, Event, EventKind, HistoryQuery, NewClaim, NewRun, Owner,
    Pending, RunStatus, SqliteStore, Transition,
};
use jiff::{Timestamp, Zoned};

fn ts(text: &str) -> Timestamp {
    text.parse().expect("test timestamp")
}

fn zoned(text: &str) -> Zoned {
    text.parse().expect("test zoned date-time")
}

fn stop_event(time: &str, kind: EventKind, rule: &str, occurrence: &str, target: &str) -> Event {
    Event {
        rule: Some(rule.to_owned()),
        occurrence: Some(zoned(occurrence)),
        target_id: Some(format!("/subscriptions/s/resourceGroups/rg/providers/x/computes/{target}")),
        target_name: Some(target.to_owned()),
        action: Some("stop".to_owned()),
        ..Event::new(ts(time), kind)
    }
}

#[test]
fn every_field_of_an_event_round_trips() {
    let dir = common::fresh_dir("round_trip");
    let path = dir.join("nested").join("audit.db");
    let store = SqliteStore::open(&path).expect("open creates parent directories");
    let run = store
        .begin_run(&NewRun {
            started: ts("2026-03-02T11:00:00Z"),
            window_after: Some(ts("2026-03-02T10:00:00Z")),
            window_until: Some(ts("2026-03-02T11:00:00Z")),
            owner: Owner::this_process(),
        })
        .expect("begin run");
    let failed = Event {
        run: Some(run.clone()),
        reason: Some("because".to_owned()),
        error_code: Some("OperationNotAllowed".to_owned()),
        error_message: Some("the compute is busy".to_owned()),
        ..stop_event(
            "2026-03-02T11:00:01.250Z",
            EventKind::Failed,
            "evening-stop",
            "2026-03-02T20:00:00+09:00[Asia/Tokyo]",
            "ci-1",
        )
    };
    let missed = Event {
        run: Some(run.clone()),
        rule: Some("morning-start".to_owned()),
        occurrence: Some(zoned("2026-03-01T08:00:00+01:00[Europe/Berlin]")),
        reason: Some("older than the catch-up limit".to_owned()),
        ..Event::new(ts("2026-03-02T11:00:02Z"), EventKind::Missed)
    };
    let first = store.record(&failed).expect("record failure");
    let second = store.record(&missed).expect("record miss");
    assert!(second > first, "event ids increase");
    store.finish_run(&run, ts("2026-03-02T11:00:03Z"), RunStatus::SomeFailed).expect("finish run");
    drop(store);

    let reopened = SqliteStore::open(&path).expect("reopen");
    let records = reopened.history(&HistoryQuery::default()).expect("history");
    let events: Vec<Event> = records.iter().map(|record| record.event.clone()).collect();
    assert_eq!(events, vec![failed, missed]);
    assert_eq!(records[0].id, first);
}

fn new_run(store: &SqliteStore, at: &str) -> autostop_state::RunId {
    let started = ts(at);
    store
        .begin_run(&NewRun { started, window_after: None, window_until: Some(started), owner: Owner::this_process() })
        .expect("begin run")
}

fn key(rule: &str, occurrence: &str, target: &str) -> ClaimKey {
    ClaimKey {
        rule: rule.to_owned(),
        occurrence: zoned(occurrence),
        target_id: format!("/subscriptions/s/resourceGroups/rg/providers/x/computes/{target}"),
    }
}

fn new_claim(key: &ClaimKey, run: &autostop_state::RunId) -> NewClaim {
    NewClaim {
        key: key.clone(),
        target_name: "a".to_owned(),
        action: "stop".to_owned(),
        run: run.clone(),
        at: ts("2026-03-02T19:00:01Z"),
    }
}

#[test]
fn a_claim_is_won_once_and_then_held_whatever_the_case_of_the_id() {
    let dir = common::fresh_dir("claims");
    let store = SqliteStore::open(&dir.join("audit.db")).expect("open");
    let first = new_run(&store, "2026-03-02T19:00:00Z");
    let second = new_run(&store, "2026-03-02T19:00:00Z");
    let occurrence = "2026-03-02T20:00:00+01:00[Europe/Berlin]";
    let claim = key("stop", occurrence, "a");
    assert_eq!(store.claim(&new_claim(&claim, &first)).expect("claim"), ClaimOutcome::Won);
    let upper = ClaimKey { target_id: claim.target_id.to_uppercase(), ..claim.clone() };
    // The same instant in another zone is the same occurrence.
    let same_instant = ClaimKey { occurrence: zoned("2026-03-02T19:00:00+00:00[UTC]"), ..upper };
    match store.claim(&new_claim(&same_instant, &second)).expect("claim again") {
        ClaimOutcome::Held(held) => {
            assert_eq!(held.run, first, "held by the first run");
            assert_eq!(held.status, ClaimStatus::Claimed);
        }
        ClaimOutcome::Won => panic!("a claim must be won once"),
    }
    let other_rule = key("other", occurrence, "a");
    assert_eq!(store.claim(&new_claim(&other_rule, &second)).expect("other rule"), ClaimOutcome::Won);
    let next_day = key("stop", "2026-03-03T20:00:00+01:00[Europe/Berlin]", "a");
    assert_eq!(store.claim(&new_claim(&next_day, &second)).expect("next day"), ClaimOutcome::Won);
}

#[test]
fn transitions_are_compare_and_set_and_record_their_event_only_when_they_happen() {
    let dir = common::fresh_dir("transitions");
    let store = SqliteStore::open(&dir.join("audit.db")).expect("open");
    let run = new_run(&store, "2026-03-02T19:00:00Z");
    let claim = key("stop", "2026-03-02T20:00:00+01:00[Europe/Berlin]", "a");
    store.claim(&new_claim(&claim, &run)).expect("claim");
    let at = ts("2026-03-02T19:00:02Z");
    let move_to = |from: &[ClaimStatus], to: ClaimStatus, event: Option<&Event>| {
        store.transition(&Transition { key: &claim, from, to, at, event }).expect("transition")
    };
    assert!(move_to(&[ClaimStatus::Claimed], ClaimStatus::Sent, None));
    assert_eq!(store.open_claims().expect("open claims")[0].sent_at, Some(at));
    let accepted = stop_event(
        "2026-03-02T19:00:02Z",
        EventKind::Accepted,
        "stop",
        "2026-03-02T20:00:00+01:00[Europe/Berlin]",
        "a",
    );
    assert!(!move_to(&[ClaimStatus::Claimed], ClaimStatus::Accepted, Some(&accepted)), "not from the wrong status");
    assert!(store.history(&HistoryQuery::default()).expect("history").is_empty(), "a refused move records nothing");
    assert!(move_to(&[ClaimStatus::Sent], ClaimStatus::Accepted, Some(&accepted)));
    let succeeded = Event { kind: EventKind::Succeeded, ..accepted.clone() };
    assert!(move_to(&[ClaimStatus::Accepted], ClaimStatus::Succeeded, Some(&succeeded)));
    assert!(!move_to(&[ClaimStatus::Accepted], ClaimStatus::Unconfirmed, None), "a final claim does not move again");
    assert!(store.open_claims().expect("open claims").is_empty());
    let kinds: Vec<EventKind> =
        store.history(&HistoryQuery::default()).expect("history").into_iter().map(|r| r.event.kind).collect();
    assert_eq!(kinds, vec![EventKind::Accepted, EventKind::Succeeded]);
}

#[test]
fn concurrent_claims_from_many_threads_have_exactly_one_winner_each() {
    let dir = common::fresh_dir("claim_race");
    let path = dir.join("audit.db");
    drop(SqliteStore::open(&path).expect("create"));
    let winners: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let path = &path;
                scope.spawn(move || {
                    // Each thread has its own connection, as separate processes would.
                    let store = SqliteStore::open(path).expect("open");
                    let run = new_run(&store, "2026-03-02T19:00:00Z");
                    (0..40)
                        .filter(|n| {
                            let claim = key("stop", "2026-03-02T20:00:00+01:00[Europe/Berlin]", &format!("t{n}"));
                            store.claim(&new_claim(&claim, &run)).expect("claim") == ClaimOutcome::Won
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().expect("thread")).collect()
    });
    assert_eq!(winners.iter().sum::<usize>(), 40, "each of the 40 keys won exactly once: {winners:?}");
}

#[test]
fn runs_keep_their_owner_heartbeat_and_end() {
    let dir = common::fresh_dir("runs");
    let store = SqliteStore::open(&dir.join("audit.db")).expect("open");
    let run = new_run(&store, "2026-03-02T19:00:00Z");
    let record = store.run(&run).expect("read").expect("exists");
    assert_eq!(record.owner, Some(Owner::this_process()));
    assert_eq!(record.heartbeat, ts("2026-03-02T19:00:00Z"));
    let stale = jiff::SignedDuration::from_secs(15);
    assert!(!record.is_over(ts("2026-03-02T19:00:10Z"), stale), "alive: this process, fresh heartbeat");
    assert!(record.is_over(ts("2026-03-02T19:00:16Z"), stale), "a stale heartbeat means over");
    store.heartbeat(&run, ts("2026-03-02T19:00:14Z")).expect("beat");
    assert!(!store.run(&run).expect("read").expect("exists").is_over(ts("2026-03-02T19:00:16Z"), stale));
    store.finish_run(&run, ts("2026-03-02T19:00:20Z"), RunStatus::Interrupted).expect("finish");
    let record = store.run(&run).expect("read").expect("exists");
    assert_eq!(record.status, Some(RunStatus::Interrupted));
    assert!(record.is_over(ts("2026-03-02T19:00:20Z"), stale));
    let dead = Owner { pid: u32::MAX - 1, ..Owner::this_process() };
    assert!(dead.is_known_dead(), "no process has that pid on this host");
    assert!(!Owner { host: "elsewhere".into(), ..dead }.is_known_dead(), "another host's process may be alive");
}

#[test]
fn pending_occurrences_keep_their_first_time_and_latest_cause() {
    let dir = common::fresh_dir("pending");
    let store = SqliteStore::open(&dir.join("audit.db")).expect("open");
    let pending = Pending {
        rule: "stop".into(),
        occurrence: zoned("2026-03-02T20:00:00+09:00[Asia/Tokyo]"),
        since: ts("2026-03-02T11:00:30Z"),
        cause: "first cause".into(),
    };
    store.keep_pending(&pending).expect("keep");
    store
        .keep_pending(&Pending { since: ts("2026-03-02T11:01:00Z"), cause: "second cause".into(), ..pending.clone() })
        .expect("keep again");
    let stored = store.pending().expect("list");
    assert_eq!(stored, vec![Pending { cause: "second cause".into(), ..pending.clone() }]);
    store.clear_pending("stop", pending.occurrence.timestamp()).expect("clear");
    assert!(store.pending().expect("list").is_empty());
}

#[test]
fn version_1_done_actions_become_claims_on_upgrade() {
    let dir = common::fresh_dir("upgrade");
    let path = dir.join("audit.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY, started_ms INTEGER NOT NULL, window_after_ms INTEGER,
                                window_until_ms INTEGER, finished_ms INTEGER, status TEXT);
             CREATE TABLE events (id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id), time_ms INTEGER NOT NULL,
                                  kind TEXT NOT NULL, rule TEXT, occurrence TEXT, occurrence_ms INTEGER, target_id TEXT,
                                  target_name TEXT, action TEXT, reason TEXT, error_code TEXT, error_message TEXT);
             CREATE INDEX events_by_time ON events(time_ms);
             CREATE INDEX events_by_occurrence ON events(rule, occurrence_ms, target_id COLLATE NOCASE);
             CREATE TABLE last_evaluated (key TEXT PRIMARY KEY, at_ms INTEGER NOT NULL);
             INSERT INTO runs (id, started_ms) VALUES (1, 1772478000000);
             INSERT INTO events (run_id, time_ms, kind, rule, occurrence, occurrence_ms, target_id, target_name, action)
             VALUES (1, 1772478001000, 'accepted', 'stop', '2026-03-02T20:00:00+01:00[Europe/Berlin]', 1772478000000,
                     '/subscriptions/s/resourceGroups/rg/providers/x/computes/A', 'A', 'stop'),
                    (1, 1772478001000, 'failed', 'stop', '2026-03-02T20:00:00+01:00[Europe/Berlin]', 1772478000000,
                     '/subscriptions/s/resourceGroups/rg/providers/x/computes/b', 'b', 'stop');
             PRAGMA user_version = 1;",
        )
        .expect("a version-1 database");
    }
    let store = SqliteStore::open(&path).expect("upgrade");
    let open = store.open_claims().expect("open claims");
    assert_eq!(open.len(), 1, "the accepted action is a claim to confirm; the failed one is not: {open:?}");
    assert_eq!(open[0].status, ClaimStatus::Accepted);
    let run = new_run(&store, "2026-03-02T19:05:00Z");
    let again = key("stop", "2026-03-02T20:00:00+01:00[Europe/Berlin]", "a");
    assert!(matches!(store.claim(&new_claim(&again, &run)).expect("claim"), ClaimOutcome::Held(_)));
}

#[test]
fn the_window_memory_is_kept_per_key_and_survives_reopening() {
    let dir = common::fresh_dir("last_evaluated");
    let path = dir.join("audit.db");
    let store = SqliteStore::open(&path).expect("open");
    assert_eq!(store.last_evaluated("run").expect("read"), None);
    store.advance_last_evaluated("run", ts("2026-03-02T10:00:00Z")).expect("write");
    store.advance_last_evaluated("run", ts("2026-03-02T11:00:00Z")).expect("forward");
    let kept = store.advance_last_evaluated("run", ts("2026-03-02T09:00:00Z")).expect("backwards is ignored");
    assert_eq!(kept, ts("2026-03-02T11:00:00Z"), "the window never moves back");
    store.advance_last_evaluated("serve", ts("2026-01-01T00:00:00Z")).expect("other key");
    drop(store);
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.last_evaluated("run").expect("read"), Some(ts("2026-03-02T11:00:00Z")));
    assert_eq!(store.last_evaluated("serve").expect("read"), Some(ts("2026-01-01T00:00:00Z")));
}

#[test]
fn history_filters_by_time_and_target_and_keeps_the_latest_under_a_limit() {
    let dir = common::fresh_dir("history");
    let store = SqliteStore::open(&dir.join("audit.db")).expect("open");
    let occurrence = "2026-03-02T20:00:00+01:00[Europe/Berlin]";
    for (time, target) in [
        ("2026-03-02T19:00:00Z", "alpha"),
        ("2026-03-02T19:01:00Z", "beta"),
        ("2026-03-02T19:02:00Z", "alpha"),
        ("2026-03-02T19:03:00Z", "gamma"),
    ] {
        store.record(&stop_event(time, EventKind::Succeeded, "stop", occurrence, target)).expect("record");
    }
    let names = |query: HistoryQuery| -> Vec<(String, String)> {
        store
            .history(&query)
            .expect("history")
            .into_iter()
            .map(|r| (r.event.time.to_string(), r.event.target_name.unwrap_or_default()))
            .collect()
    };
    let pair = |time: &str, name: &str| (time.to_owned(), name.to_owned());

    assert_eq!(names(HistoryQuery::default()).len(), 4);
    assert_eq!(
        names(HistoryQuery { target: Some("ALPHA".to_owned()), ..HistoryQuery::default() }),
        vec![pair("2026-03-02T19:00:00Z", "alpha"), pair("2026-03-02T19:02:00Z", "alpha")]
    );
    let beta_id = "/subscriptions/s/resourceGroups/rg/providers/x/computes/beta";
    assert_eq!(
        names(HistoryQuery { target: Some(beta_id.to_owned()), ..HistoryQuery::default() }),
        vec![pair("2026-03-02T19:01:00Z", "beta")]
    );
    assert_eq!(
        names(HistoryQuery { since: Some(ts("2026-03-02T19:02:00Z")), ..HistoryQuery::default() }),
        vec![pair("2026-03-02T19:02:00Z", "alpha"), pair("2026-03-02T19:03:00Z", "gamma")]
    );
    assert_eq!(
        names(HistoryQuery { limit: Some(2), ..HistoryQuery::default() }),
        vec![pair("2026-03-02T19:02:00Z", "alpha"), pair("2026-03-02T19:03:00Z", "gamma")]
    );
}

#[test]
fn history_serializes_to_flat_camel_case_json_with_a_result_field() {
    let dir = common::fresh_dir("json");
    let store = SqliteStore::open(&dir.join("audit.db")).expect("open");
    let event = stop_event(
        "2026-03-02T19:00:00Z",
        EventKind::Accepted,
        "stop",
        "2026-03-02T20:00:00+01:00[Europe/Berlin]",
        "alpha",
    );
    store.record(&event).expect("record");
    let records = store.history(&HistoryQuery::default()).expect("history");
    let json = serde_json::to_value(&records).expect("serialize");
    let first = &json[0];
    assert_eq!(first["result"], "accepted");
    assert_eq!(first["time"], "2026-03-02T19:00:00Z");
    assert_eq!(first["occurrence"], "2026-03-02T20:00:00+01:00");
    assert_eq!(first["targetName"], "alpha");
    assert_eq!(first["rule"], "stop");
    assert!(first["errorCode"].is_null());
    assert!(first.get("target_name").is_none(), "camelCase keys, as every other JSON output");
}

#[test]
fn a_file_that_is_not_sqlite_is_named_in_the_error() {
    let dir = common::fresh_dir("not_sqlite");
    let path = dir.join("audit.db");
    std::fs::write(&path, "this is a text file, not a database, and it is long enough to have a header\n".repeat(20))
        .expect("write");
    let err = SqliteStore::open(&path).expect_err("a text file must be refused");
    assert!(matches!(err, Error::NotADatabase { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not"), "{message}");
}

#[test]
fn a_newer_schema_is_refused_rather_than_damaged() {
    let dir = common::fresh_dir("newer_schema");
    let path = dir.join("audit.db");
    drop(SqliteStore::open(&path).expect("create"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.pragma_update(None, "user_version", 99).expect("bump version");
    drop(conn);
    let err = SqliteStore::open(&path).expect_err("newer schema");
    let message = err.to_string();
    assert!(matches!(err, Error::NewerSchema { found: 99, .. }), "{err:?}");
    assert!(message.contains("99") && message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn the_database_uses_wal_and_records_its_schema_version() {
    let dir = common::fresh_dir("pragmas");
    let path = dir.join("audit.db");
    drop(SqliteStore::open(&path).expect("create"));
    drop(SqliteStore::open(&path).expect("reopening does not migrate twice"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0)).expect("journal_mode");
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).expect("user_version");
    assert_eq!(mode, "wal");
    assert_eq!(version, 4);
}

#[test]
fn prices_are_cached_per_region_size_and_currency_and_replaced_when_fetched_again() {
    let dir = common::fresh_dir("prices");
    let path = dir.join("audit.db");
    let store = SqliteStore::open(&path).expect("create");
    let price = |region: &str, size: &str, currency: &str, hourly: f64, fetched: &str| CachedPrice {
        region: region.to_owned(),
        size: size.to_owned(),
        currency: currency.to_owned(),
        hourly,
        fetched: ts(fetched),
    };
    store
        .store_prices(&[
            price("eastus", "Standard_D2s_v3", "USD", 0.096, "2026-03-01T00:00:00Z"),
            price("eastus", "Standard_D2s_v3", "EUR", 0.0883, "2026-03-01T00:00:00Z"),
            price("japaneast", "Standard_DS3_v2", "USD", 0.351, "2026-03-01T00:00:00Z"),
        ])
        .expect("store");
    // Fetched again later, spelled as ARM spells it: replaces the earlier row.
    store.store_prices(&[price("EastUS", "STANDARD_D2S_V3", "usd", 0.1, "2026-03-02T00:00:00Z")]).expect("store");
    drop(store);
    let store = SqliteStore::open(&path).expect("reopen");
    let usd = store.cached_prices("usd").expect("read");
    assert_eq!(
        usd,
        [
            price("EastUS", "STANDARD_D2S_V3", "usd", 0.1, "2026-03-02T00:00:00Z"),
            price("japaneast", "Standard_DS3_v2", "USD", 0.351, "2026-03-01T00:00:00Z"),
        ]
    );
    assert_eq!(store.cached_prices("EUR").expect("read").len(), 1);
    assert!(store.cached_prices("JPY").expect("read").is_empty());
}

#[test]
fn the_default_path_follows_xdg_then_home() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| OsString::from(value))
    };
    assert_eq!(
        SqliteStore::default_path_from(env(&[("XDG_STATE_HOME", "/state"), ("HOME", "/home/u")])).expect("xdg"),
        PathBuf::from("/state/autostop/audit.db")
    );
    assert_eq!(
        SqliteStore::default_path_from(env(&[("XDG_STATE_HOME", ""), ("HOME", "/home/u")])).expect("home"),
        PathBuf::from("/home/u/.local/state/autostop/audit.db")
    );
    assert!(matches!(SqliteStore::default_path_from(env(&[])), Err(Error::NoDefaultPath)));
}

#[test]
fn one_store_is_shared_by_threads_and_every_write_lands() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SqliteStore>();

    let dir = common::fresh_dir("threads");
    let store = SqliteStore::open(&dir.join("audit.db")).expect("open");
    let occurrence = "2026-03-02T20:00:00+01:00[Europe/Berlin]";
    let ids: Vec<i64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|thread| {
                let store = &store;
                scope.spawn(move || {
                    (0..25)
                        .map(|n| {
                            let name = format!("t{thread}-{n}");
                            let event =
                                stop_event("2026-03-02T19:00:00Z", EventKind::Succeeded, "stop", occurrence, &name);
                            store.record(&event).expect("record")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|handle| handle.join().expect("thread")).collect()
    });
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 100, "every record returned its own id");
    let history = store.history(&HistoryQuery::default()).expect("history");
    assert_eq!(history.len(), 100);
    assert!(history.iter().all(|record| ids.contains(&record.id)));
}

#[test]
fn the_database_and_its_new_directories_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::fresh_dir("private");
    let path = dir.join("new").join("state").join("audit.db");
    let store = SqliteStore::open(&path).expect("open");
    store
        .record(&stop_event(
            "2026-03-02T19:00:00Z",
            EventKind::Skipped,
            "stop",
            "2026-03-02T20:00:00+01:00[Europe/Berlin]",
            "a",
        ))
        .expect("record");
    let mode = |path: &std::path::Path| std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600, "the database file");
    assert_eq!(mode(&path.with_extension("db-wal")), 0o600, "the WAL file takes the database's mode");
    assert_eq!(mode(path.parent().expect("parent")), 0o700, "the state directory");
    assert_eq!(mode(&dir.join("new")), 0o700, "every directory it created");
}

#[test]
fn many_processes_creating_one_new_database_at_once_all_succeed() {
    // Separate connections contend for SQLite's file locks exactly as separate processes do.
    for round in 0..10 {
        let dir = common::fresh_dir(&format!("create_race_{round}"));
        let path = dir.join("audit.db");
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let (path, barrier) = (&path, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let store = SqliteStore::open(path).unwrap_or_else(|err| panic!("round {round}: {err:#?}"));
                    new_run(&store, "2026-03-02T19:00:00Z");
                });
            }
        });
    }
}

#[tokio::test]
async fn concurrent_changes_share_commits_and_a_failing_one_undoes_only_itself() {
    use autostop_state::StateStore;
    let dir = common::fresh_dir("group_commit");
    let store = std::sync::Arc::new(SqliteStore::open(&dir.join("audit.db")).expect("open"));
    let run = new_run(&store, "2026-03-02T19:00:00Z");
    let occurrence = "2026-03-02T20:00:00+01:00[Europe/Berlin]";
    let tasks = (0..50)
        .map(|n| {
            let store = store.clone();
            let mut event =
                stop_event("2026-03-02T19:00:00Z", EventKind::Skipped, "stop", occurrence, &format!("t{n}"));
            // One event names a run this database never issued: its insert fails inside the shared batch.
            event.run = Some(if n == 25 { autostop_state::RunId("not-a-run".into()) } else { run.clone() });
            tokio::spawn(async move { StateStore::record(store.as_ref(), &event).await })
        })
        .collect::<Vec<_>>();
    let mut failed = 0;
    for task in tasks {
        if task.await.expect("task").is_err() {
            failed += 1;
        }
    }
    assert_eq!(failed, 1);
    let history = StateStore::history(store.as_ref(), &HistoryQuery::default()).await.expect("history");
    assert_eq!(history.len(), 49, "every other change of the batch was committed");
    assert!(history.iter().all(|record| record.event.target_name.as_deref() != Some("t25")));
}

#[test]
fn the_last_stop_sent_to_each_target_ignores_failed_unsent_and_start_claims() {
    let dir = common::fresh_dir("last-stops");
    let store = SqliteStore::open(&dir.join("audit.db")).expect("open");
    let run = new_run(&store, "2026-03-02T19:00:00Z");
    let send = |claim: &ClaimKey, action: &str, at: &str, to: ClaimStatus| {
        store.claim(&NewClaim { action: action.to_owned(), ..new_claim(claim, &run) }).expect("claim");
        let at = ts(at);
        assert!(
            store.transition(&Transition { key: claim, from: &[ClaimStatus::Claimed], to, at, event: None }).unwrap()
        );
    };
    let monday = key("stop", "2026-03-02T20:00:00+01:00[Europe/Berlin]", "A");
    let tuesday = key("stop", "2026-03-03T20:00:00+01:00[Europe/Berlin]", "a");
    send(&monday, "stop", "2026-03-02T19:00:02Z", ClaimStatus::Sent);
    send(&tuesday, "stop", "2026-03-03T19:00:02Z", ClaimStatus::Sent);
    // Failed, never sent, or a start: not a stop Azure may have acted on.
    send(
        &key("stop", "2026-03-04T20:00:00+01:00[Europe/Berlin]", "a"),
        "stop",
        "2026-03-04T19:00:02Z",
        ClaimStatus::Failed,
    );
    store.claim(&new_claim(&key("stop", "2026-03-05T20:00:00+01:00[Europe/Berlin]", "a"), &run)).expect("claim");
    send(
        &key("start", "2026-03-05T08:00:00+01:00[Europe/Berlin]", "b"),
        "start",
        "2026-03-05T07:00:02Z",
        ClaimStatus::Sent,
    );
    let stops = store.last_stops_sent().expect("last stops");
    let target = monday.target_key();
    assert_eq!(stops, [(target, ts("2026-03-03T19:00:02Z"))].into_iter().collect());
}

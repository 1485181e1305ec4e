//! The audit store against real SQLite files: round trips, idempotency, the window memory, history queries and
//! the errors a user can meet.

mod common;

use std::ffi::OsString;
use std::path::PathBuf;

use autostop_audit::{Error, Event, EventKind, HistoryQuery, NewRun, RunStatus, Store};
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
    let store = Store::open(&path).expect("open creates parent directories");
    let run = store
        .begin_run(&NewRun {
            started: ts("2026-03-02T11:00:00Z"),
            window_after: Some(ts("2026-03-02T10:00:00Z")),
            window_until: Some(ts("2026-03-02T11:00:00Z")),
        })
        .expect("begin run");
    let failed = Event {
        run: Some(run),
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
        run: Some(run),
        rule: Some("morning-start".to_owned()),
        occurrence: Some(zoned("2026-03-01T08:00:00+01:00[Europe/Berlin]")),
        reason: Some("older than the catch-up limit".to_owned()),
        ..Event::new(ts("2026-03-02T11:00:02Z"), EventKind::Missed)
    };
    let first = store.record(&failed).expect("record failure");
    let second = store.record(&missed).expect("record miss");
    assert!(second > first, "event ids increase");
    store.finish_run(run, ts("2026-03-02T11:00:03Z"), RunStatus::SomeFailed).expect("finish run");
    drop(store);

    let reopened = Store::open(&path).expect("reopen");
    let records = reopened.history(&HistoryQuery::default()).expect("history");
    let events: Vec<Event> = records.iter().map(|record| record.event.clone()).collect();
    assert_eq!(events, vec![failed, missed]);
    assert_eq!(records[0].id, first);
}

#[test]
fn only_done_actions_count_for_idempotency() {
    let dir = common::fresh_dir("idempotency");
    let store = Store::open(&dir.join("audit.db")).expect("open");
    let occurrence = "2026-03-02T20:00:00+01:00[Europe/Berlin]";
    let id = |name: &str| format!("/subscriptions/s/resourceGroups/rg/providers/x/computes/{name}");
    store.record(&stop_event("2026-03-02T19:00:05Z", EventKind::Succeeded, "stop", occurrence, "a")).expect("a");
    store.record(&stop_event("2026-03-02T19:00:05Z", EventKind::Accepted, "stop", occurrence, "b")).expect("b");
    store.record(&stop_event("2026-03-02T19:00:05Z", EventKind::Failed, "stop", occurrence, "c")).expect("c");
    store.record(&stop_event("2026-03-02T19:00:05Z", EventKind::Skipped, "stop", occurrence, "d")).expect("d");
    let at = zoned(occurrence).timestamp();

    assert!(store.already_done("stop", at, &id("a")).expect("query"));
    assert!(store.already_done("stop", at, &id("b")).expect("query"));
    assert!(store.already_done("stop", at, &id("a").to_uppercase()).expect("query"), "ids compare case-insensitively");
    assert!(!store.already_done("stop", at, &id("c")).expect("query"), "a failure may be retried");
    assert!(!store.already_done("stop", at, &id("d")).expect("query"), "a skip is not an action");
    assert!(!store.already_done("other-rule", at, &id("a")).expect("query"));
    let next_day = ts("2026-03-03T19:00:00Z");
    assert!(!store.already_done("stop", next_day, &id("a")).expect("query"));
}

#[test]
fn the_window_memory_is_kept_per_key_and_survives_reopening() {
    let dir = common::fresh_dir("last_evaluated");
    let path = dir.join("audit.db");
    let store = Store::open(&path).expect("open");
    assert_eq!(store.last_evaluated("run").expect("read"), None);
    store.set_last_evaluated("run", ts("2026-03-02T10:00:00Z")).expect("write");
    store.set_last_evaluated("run", ts("2026-03-02T11:00:00Z")).expect("overwrite");
    store.set_last_evaluated("serve", ts("2026-01-01T00:00:00Z")).expect("other key");
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.last_evaluated("run").expect("read"), Some(ts("2026-03-02T11:00:00Z")));
    assert_eq!(store.last_evaluated("serve").expect("read"), Some(ts("2026-01-01T00:00:00Z")));
}

#[test]
fn history_filters_by_time_and_target_and_keeps_the_latest_under_a_limit() {
    let dir = common::fresh_dir("history");
    let store = Store::open(&dir.join("audit.db")).expect("open");
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
fn history_serializes_to_flat_json_with_a_result_field() {
    let dir = common::fresh_dir("json");
    let store = Store::open(&dir.join("audit.db")).expect("open");
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
    assert_eq!(first["occurrence"], "2026-03-02T20:00:00+01:00[Europe/Berlin]");
    assert_eq!(first["target_name"], "alpha");
    assert_eq!(first["rule"], "stop");
    assert!(first["error_code"].is_null());
}

#[test]
fn a_file_that_is_not_sqlite_is_named_in_the_error() {
    let dir = common::fresh_dir("not_sqlite");
    let path = dir.join("audit.db");
    std::fs::write(&path, "this is a text file, not a database, and it is long enough to have a header\n".repeat(20))
        .expect("write");
    let err = Store::open(&path).expect_err("a text file must be refused");
    assert!(matches!(err, Error::NotADatabase { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not"), "{message}");
}

#[test]
fn a_newer_schema_is_refused_rather_than_damaged() {
    let dir = common::fresh_dir("newer_schema");
    let path = dir.join("audit.db");
    drop(Store::open(&path).expect("create"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    conn.pragma_update(None, "user_version", 99).expect("bump version");
    drop(conn);
    let err = Store::open(&path).expect_err("newer schema");
    let message = err.to_string();
    assert!(matches!(err, Error::NewerSchema { found: 99, .. }), "{err:?}");
    assert!(message.contains("99") && message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn the_database_uses_wal_and_records_its_schema_version() {
    let dir = common::fresh_dir("pragmas");
    let path = dir.join("audit.db");
    drop(Store::open(&path).expect("create"));
    drop(Store::open(&path).expect("reopening does not migrate twice"));
    let conn = rusqlite::Connection::open(&path).expect("raw open");
    let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0)).expect("journal_mode");
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).expect("user_version");
    assert_eq!(mode, "wal");
    assert_eq!(version, 1);
}

#[test]
fn the_default_path_follows_xdg_then_home() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| OsString::from(value))
    };
    assert_eq!(
        Store::default_path_from(env(&[("XDG_STATE_HOME", "/state"), ("HOME", "/home/u")])).expect("xdg"),
        PathBuf::from("/state/autostop/audit.db")
    );
    assert_eq!(
        Store::default_path_from(env(&[("XDG_STATE_HOME", ""), ("HOME", "/home/u")])).expect("home"),
        PathBuf::from("/home/u/.local/state/autostop/audit.db")
    );
    assert!(matches!(Store::default_path_from(env(&[])), Err(Error::NoDefaultPath)));
}

#[test]
fn one_store_is_shared_by_threads_and_every_write_lands() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();

    let dir = common::fresh_dir("threads");
    let store = Store::open(&dir.join("audit.db")).expect("open");
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

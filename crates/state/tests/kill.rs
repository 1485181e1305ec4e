//! A process killed with `kill -9` in the middle of a run loses nothing it had reported done.
//!
//! The test re-runs its own executable as the writer: with `AUTOSTOP_AUDIT_KILL_CHILD` set, the same test
//! function records events forever, printing `recorded ID` after each `record` returns. The parent kills it
//! with SIGKILL after some events, reads every line the child printed, reopens the database and checks that
//! each reported event is there, in order, and that the file is intact.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use autostop_state::{Event, EventKind, HistoryQuery, NewRun, Owner, SqliteStore};
use jiff::Timestamp;

const CHILD_ENV: &str = "AUTOSTOP_AUDIT_KILL_CHILD";
const TEST_NAME: &str = "kill_9_during_a_run_loses_no_reported_event";
/// How many events the parent waits for before killing the writer.
const BEFORE_KILL: usize = 40;
/// Guards against a child that never prints: a hang becomes a failure. Not a timing assertion.
const HANG_GUARD: Duration = Duration::from_secs(120);

#[test]
fn kill_9_during_a_run_loses_no_reported_event() {
    match std::env::var_os(CHILD_ENV) {
        Some(db) => write_until_killed(Path::new(&db)),
        None => kill_the_writer_and_check(),
    }
}

/// The child: records events one by one and reports each after `record` returned.
fn write_until_killed(db: &Path) {
    let store = SqliteStore::open(db).expect("child opens the store");
    let started = Timestamp::from_second(1_772_000_000).expect("start time");
    let run = store
        .begin_run(&NewRun { started, window_after: None, window_until: Some(started), owner: Owner::this_process() })
        .expect("run");
    let mut stdout = std::io::stdout().lock();
    for n in 0_i64.. {
        let event = Event {
            run: Some(run.clone()),
            rule: Some("evening-stop".to_owned()),
            target_id: Some(format!("/subscriptions/s/resourceGroups/rg/computes/ci-{n}")),
            target_name: Some(format!("ci-{n}")),
            action: Some("stop".to_owned()),
            ..Event::new(started, EventKind::Succeeded)
        };
        let id = store.record(&event).expect("child records");
        writeln!(stdout, "recorded {id} ci-{n}").expect("child reports");
        stdout.flush().expect("child flushes");
    }
}

/// The parent: starts the writer, kills it, then checks the database against what the writer reported.
fn kill_the_writer_and_check() {
    let dir = common::fresh_dir("kill_9");
    let db = dir.join("audit.db");
    let exe = std::env::current_exe().expect("test executable path");
    let mut child = KillOnDrop(
        Command::new(&exe)
            .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", exe.display())),
    );
    let stdout = child.0.stdout.take().expect("child stdout is piped");
    let (lines_tx, lines_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut reported = Vec::new();
    while reported.len() < BEFORE_KILL {
        let line = lines_rx
            .recv_timeout(HANG_GUARD)
            .unwrap_or_else(|err| panic!("the writer stopped reporting after {} events: {err}", reported.len()));
        if let Some(report) = parse_report(&line) {
            reported.push(report);
        }
    }
    child.0.kill().expect("SIGKILL the writer");
    let status = child.0.wait().expect("reap the writer");
    assert!(!status.success(), "the writer must have been killed, not have finished: {status:?}");
    reader.join().expect("reader thread");
    // Lines the writer printed before it died are reports too.
    reported.extend(lines_rx.try_iter().filter_map(|line| parse_report(&line)));

    let store = SqliteStore::open(&db).expect("reopen after kill -9");
    let history = store.history(&HistoryQuery::default()).expect("history after kill -9");
    for (id, name) in &reported {
        let found = history.iter().find(|record| record.id == *id);
        let found = found.unwrap_or_else(|| panic!("event {id} ({name}) was reported but is missing"));
        assert_eq!(found.event.target_name.as_deref(), Some(name.as_str()));
        assert_eq!(found.event.kind, EventKind::Succeeded);
    }
    assert!(history.len() >= reported.len());
    let conn = rusqlite::Connection::open(&db).expect("raw open");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).expect("integrity_check");
    assert_eq!(check, "ok");
}

/// Kills the writer if the parent fails before killing it on purpose, so no writer outlives the test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // Already dead when the test got this far; errors here only mean that.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Parses `recorded ID NAME`; other lines (the test harness's own) are not reports.
fn parse_report(line: &str) -> Option<(i64, String)> {
    let mut words = line.strip_prefix("recorded ")?.split(' ');
    let id = words.next()?.parse().ok()?;
    Some((id, words.next()?.to_owned()))
}

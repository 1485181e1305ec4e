//! The policy verbs end to end: a simulated day in Tokyo, catch-up after a gap, acting once per occurrence, a
//! kill -9 in the middle of a run, and bad config files.

use std::collections::BTreeMap;
use std::path::Path;

use autostop_emulator::{Compute, Emulator};

use crate::util::*;

/// A fleet for the day: one instance per owner situation, all in SUB/ml-rg/ws-a.
fn day_fleet() -> autostop_emulator::Fleet {
    let tagged = |name: &str, state: &str, tags: &[(&str, &str)]| Compute {
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
        ..compute(name, "ComputeInstance", state)
    };
    fleet(vec![
        tagged("plain-1", "Running", &[]),
        tagged("optout-1", "Running", &[("autostop", "off")]),
        // Snoozed past the first evening (20:00 JST), expired by the second.
        tagged("snoozed-1", "Running", &[("autostop-snooze-until", "2026-03-02T23:00:00+09:00")]),
        tagged("job-1", "JobRunning", &[]),
        tagged("morning-1", "Stopped", &[("autostart", "yes")]),
        tagged("badsnooze-1", "Running", &[("autostop-snooze-until", "tomorrow-ish")]),
    ])
}

/// The day in Tokyo, the zone by its Windows name.
const CONFIG: &str = day_config!(
    defaults: "timezone = \"Tokyo Standard Time\"\ncatch_up = \"1h\"",
    sections: "",
    stop: "",
    start: "",
);

fn results(run: &Run) -> BTreeMap<String, String> {
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| Some((o["name"].as_str()?.to_owned(), o["result"].as_str()?.to_owned())))
        .collect()
}

fn state(emulator: &Emulator, name: &str) -> String {
    emulator.control().state(&id(name)).unwrap_or_default()
}

#[tokio::test]
async fn a_simulated_day_in_tokyo() {
    let emulator = emulator(day_fleet()).await;
    let setup = setup(CONFIG);

    // 19:00 JST, Monday: the first run looks back one catch-up limit; nothing is due.
    let run = setup.run_at(&emulator, "2026-03-02T19:00:00+09:00").await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json(), serde_json::json!([]));

    // 20:00:30 JST (11:00:30 UTC): the evening stop.
    let run = setup.run_at(&emulator, "2026-03-02T11:00:30Z").await;
    assert_eq!(run.code, 0, "{run:#?}");
    let got = results(&run);
    assert_eq!(got["plain-1"], "succeeded");
    assert_eq!(got["optout-1"], "skipped");
    assert_eq!(got["snoozed-1"], "skipped");
    assert_eq!(got["job-1"], "skipped");
    assert_eq!(got["morning-1"], "skipped");
    assert_eq!(got["badsnooze-1"], "skipped", "an unreadable snooze is a skip, never ignored");
    let rows = run.json();
    assert!(row(&rows, "snoozed-1")["reason"].as_str().unwrap().contains("snoozed"), "{rows:#}");
    assert!(row(&rows, "badsnooze-1")["reason"].as_str().unwrap().contains("tomorrow-ish"), "{rows:#}");
    assert_eq!(row(&rows, "plain-1")["occurrence"], "2026-03-02T20:00:00+09:00");
    assert_eq!(row(&rows, "plain-1")["rule"], "evening-stop");
    assert_eq!(state(&emulator, "plain-1"), "Stopped");
    for name in ["optout-1", "snoozed-1", "badsnooze-1"] {
        assert_eq!(state(&emulator, name), "Running", "{name}");
    }
    assert_eq!(state(&emulator, "job-1"), "JobRunning");

    // 08:00:10 JST Tuesday: the morning start acts only on the instance that asked for it.
    let run = setup.run_at(&emulator, "2026-03-03T08:00:10+09:00").await;
    assert_eq!(run.code, 0, "{run:#?}");
    let got = results(&run);
    assert_eq!(got.get("morning-1").map(String::as_str), Some("succeeded"), "{run:#?}");
    assert!(!got.contains_key("plain-1"), "not selected by morning-start: {run:#?}");
    assert_eq!(state(&emulator, "morning-1"), "Running");
    assert_eq!(state(&emulator, "plain-1"), "Stopped");

    // 20:00:05 JST Tuesday: the snooze has expired, the opt-out still holds.
    let run = setup.run_at(&emulator, "2026-03-03T20:00:05+09:00").await;
    assert_eq!(run.code, 0, "{run:#?}");
    let got = results(&run);
    assert_eq!(got["snoozed-1"], "succeeded");
    assert_eq!(got["optout-1"], "skipped");
    assert_eq!(got["morning-1"], "succeeded");
    assert_eq!(state(&emulator, "snoozed-1"), "Stopped");
    assert_eq!(state(&emulator, "optout-1"), "Running", "never touched");
    assert_eq!(state(&emulator, "job-1"), "JobRunning", "never touched");

    // The audit log holds every action and skip of the day.
    let history = Cli::against(&emulator, &["history", "-o", "json"]).args_state(&setup.state).run().await;
    assert_eq!(history.code, 0, "{history:#?}");
    let events = history.json();
    let succeeded = events.as_array().unwrap().iter().filter(|e| e["result"] == "succeeded").count();
    assert_eq!(succeeded, 4, "plain-1, morning-1, snoozed-1, morning-1 again: {events:#}");
    let optout = Cli::against(&emulator, &["history", "--target", "optout-1", "-o", "json"])
        .args_state(&setup.state)
        .run()
        .await;
    let optout = optout.json();
    assert_eq!(optout.as_array().unwrap().len(), 2, "skipped on both evenings: {optout:#}");
    assert!(optout.as_array().unwrap().iter().all(|e| e["result"] == "skipped"));
}

#[tokio::test]
async fn after_a_gap_only_occurrences_within_the_catch_up_limit_run() {
    let emulator = emulator(day_fleet()).await;
    let setup = setup(CONFIG);
    let run = setup.run_at(&emulator, "2026-03-02T19:00:00+09:00").await;
    assert_eq!(run.code, 0, "{run:#?}");
    // Down from Monday 19:00 to Tuesday 20:30: Monday 20:00 and Tuesday 08:00 are missed, Tuesday 20:00 runs.
    // A missed occurrence is lost work: the run says so with its exit status and on stderr.
    let run = setup.run_at(&emulator, "2026-03-03T20:30:00+09:00").await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("missed"), "{run:#?}");
    let outcomes = run.json();
    let missed = outcomes
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["result"] == "missed")
        .map(|o| (o["rule"].as_str().unwrap().to_owned(), o["occurrence"].as_str().unwrap().to_owned()))
        .collect::<Vec<_>>();
    assert_eq!(missed.len(), 2, "{outcomes:#}");
    assert!(missed.contains(&("evening-stop".into(), "2026-03-02T20:00:00+09:00".into())), "{missed:?}");
    assert!(missed.contains(&("morning-start".into(), "2026-03-03T08:00:00+09:00".into())), "{missed:?}");
    assert_eq!(row(&outcomes, "plain-1")["occurrence"], "2026-03-03T20:00:00+09:00");
    assert_eq!(row(&outcomes, "plain-1")["result"], "succeeded");
    assert_eq!(state(&emulator, "morning-1"), "Stopped", "the missed morning start did not run");
}

#[tokio::test]
async fn the_same_occurrence_acts_once_even_when_evaluated_again() {
    let emulator = emulator(day_fleet()).await;
    let setup = setup(CONFIG);
    let run = setup.run_at(&emulator, "2026-03-02T20:00:30+09:00").await;
    assert_eq!(results(&run)["plain-1"], "succeeded", "{run:#?}");
    // Someone starts it again; then the window is evaluated once more (as after a crash before the window was
    // saved): the occurrence was already carried out, so it is not repeated.
    emulator.control().set_state(&id("plain-1"), "Running");
    // (The store itself never moves a window back: rewind it underneath, as a lost write would.)
    let raw = rusqlite::Connection::open(&setup.state).unwrap();
    let rewound: i64 = "2026-03-02T10:59:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
    raw.execute("UPDATE last_evaluated SET at_ms = ?1 WHERE key = 'run'", [rewound]).unwrap();
    drop(raw);
    let run = setup.run_at(&emulator, "2026-03-02T20:01:00+09:00").await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(row(&rows, "plain-1")["result"], "skipped", "{rows:#}");
    assert!(row(&rows, "plain-1")["reason"].as_str().unwrap().contains("already handled"), "{rows:#}");
    assert_eq!(state(&emulator, "plain-1"), "Running");
}

#[tokio::test]
async fn plan_previews_the_coming_day_without_acting() {
    let emulator = emulator(day_fleet()).await;
    let setup = setup(CONFIG);
    let args = ["plan", "--at", "2026-03-02T12:00:00", "--window", "24h", "-o", "json"];
    let run = setup.cli(&emulator, &args).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    let acts = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["decision"] == "act")
        .map(|r| (r["name"].as_str().unwrap(), r["rule"].as_str().unwrap()))
        .collect::<Vec<_>>();
    assert_eq!(acts, [("plain-1", "evening-stop"), ("morning-1", "morning-start")], "{rows:#}");
    let optout = rows.as_array().unwrap().iter().find(|r| r["name"] == "optout-1").unwrap();
    assert_eq!(optout["code"], "opted-out");
    assert_eq!(state(&emulator, "plain-1"), "Running", "plan changes nothing");
    assert!(!setup.state.exists(), "plan does not create the audit database");
}

#[tokio::test]
async fn kill_9_during_a_run_loses_nothing_recorded_and_the_next_run_finishes_the_job() {
    let computes = (1..=8).map(|i| compute(&format!("run-{i}"), "ComputeInstance", "Running")).collect();
    let emulator = autostop_emulator::Emulator::start(autostop_emulator::Options {
        fleet: fleet(computes),
        transition: std::time::Duration::from_millis(400),
        ..Default::default()
    })
    .await
    .unwrap();
    // Half the operations are slow, so the run is still following some when the others are recorded.
    let slow = autostop_emulator::Faults {
        slow_operation_rate: 0.5,
        slow_operation_factor: 100,
        seed: 11,
        ..autostop_emulator::Faults::default()
    };
    emulator.control().set_faults(slow);
    let setup = setup(CONFIG);
    let mut child = setup.cli(&emulator, &["run", "--now", "2026-03-02T20:00:30+09:00", "--concurrency", "1"]).spawn();
    // Wait until a few actions are recorded, then kill -9 in the middle of the run.
    let recorded = tokio::time::timeout(TIMEOUT, async {
        loop {
            let done = succeeded_in(&setup.state);
            if done.len() >= 3 {
                return done;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("three actions recorded in time");
    child.start_kill().unwrap();
    let status = tokio::time::timeout(TIMEOUT, child.wait()).await.unwrap().unwrap();
    assert!(!status.success(), "killed: {status:?}");
    let after_kill = succeeded_in(&setup.state);
    assert!(recorded.iter().all(|name| after_kill.contains(name)), "{recorded:?} lost in {after_kill:?}");
    assert!(after_kill.len() < 8, "the kill came before the end: {after_kill:?}");
    let history = Cli::against(&emulator, &["history", "-o", "json"]).args_state(&setup.state).run().await;
    assert_eq!(history.code, 0, "{history:#?}");
    for name in &after_kill {
        assert!(history.stdout.contains(name.as_str()), "{name} missing from history");
    }
    // The next run over the same window does the rest, and nothing twice.
    emulator.control().set_faults(autostop_emulator::Faults::default());
    emulator.control().complete_operations();
    let run = setup.run_at(&emulator, "2026-03-02T20:00:40+09:00").await;
    assert_eq!(run.code, 0, "{run:#?}");
    for i in 1..=8 {
        assert_eq!(state(&emulator, &format!("run-{i}")), "Stopped", "run-{i}");
    }
    let all = succeeded_in(&setup.state);
    let mut unique = all.clone();
    unique.dedup();
    assert_eq!(all.len(), unique.len(), "no instance stopped twice: {all:?}");
}

/// The names with a `succeeded` event in the audit database, sorted (read-only; empty before it exists).
fn succeeded_in(path: &Path) -> Vec<String> {
    if !path.exists() {
        return Vec::new();
    }
    let Ok(store) = autostop_state::SqliteStore::open(path) else { return Vec::new() };
    let mut names = store
        .history(&autostop_state::HistoryQuery::default())
        .unwrap_or_default()
        .into_iter()
        .filter(|record| record.event.kind == autostop_state::EventKind::Succeeded)
        .filter_map(|record| record.event.target_name)
        .collect::<Vec<_>>();
    names.sort();
    names
}

#[tokio::test]
async fn check_reports_every_error_with_line_and_column() {
    let setup = setup(
        "[defaults]\ntimezone = \"Tokyo Standrd Time\"\nbogus = 1\n\n[[scopes]]\nsubscription = \"00000000-0000-0000-0000-00000000a001\"\n\n[[rules]]\nname = \"x\"\naction = \"stop\"\nschedule = \"0 0 20 * * 7\"\n\n[[rules]]\nname = \"x\"\naction = \"halt\"\nschedule = \"0 0 8 * * *\"\n",
    );
    let run = Cli::bare(&["check", "--config", setup.config.to_str().unwrap()]).run().await;
    assert_eq!(run.code, 2, "{run:#?}");
    let path = setup.config.display().to_string();
    for (line, needle) in [(2, "Tokyo Standard Time"), (3, "bogus"), (11, "day-of-week"), (14, "x"), (15, "halt")] {
        let prefix = format!("{path}:{line}:");
        assert!(
            run.stderr.lines().any(|l| l.starts_with(&prefix) && l.contains(needle)),
            "no error at line {line} mentioning {needle}:\n{}",
            run.stderr
        );
    }
}

#[tokio::test]
async fn check_applies_azures_workspace_name_rule_with_the_position() {
    // '.' and '(' are valid in a resource group but not in an Azure ML workspace name: the client could never
    // address such a workspace, so the configuration refuses it where it is written.
    let setup = setup(
        "[[scopes]]\nsubscription = \"00000000-0000-0000-0000-00000000a001\"\nresource_group = \"ml(1).rg\"\nworkspace = \"ws.a\"\n\n[[rules]]\nname = \"x\"\naction = \"stop\"\nschedule = \"0 0 20 * * *\"\n",
    );
    let run = Cli::bare(&["check", "--config", setup.config.to_str().unwrap()]).run().await;
    assert_eq!(run.code, 2, "{run:#?}");
    let expected = format!("{}:4:13: scopes.workspace: invalid workspace name 'ws.a'", setup.config.display());
    assert!(run.stderr.lines().any(|line| line.starts_with(&expected)), "{expected}\n{}", run.stderr);
    assert!(!run.stderr.contains("resource_group"), "the resource group is valid: {}", run.stderr);
}

//! The state model through the binary: no scheduled action is lost, doubled, left unrecorded or unconfirmed, and
//! back-tests cannot move the schedule. Each test is one way it used to go wrong.

use std::path::Path;
use std::time::Duration;

use autostop_emulator::{Emulator, Faults, actions};
use autostop_state::{ClaimStatus, EventKind, HistoryQuery, SqliteStore};

use crate::util::*;

fn running(count: usize) -> autostop_emulator::Fleet {
    fleet((1..=count).map(|i| compute(&format!("inst-{i:02}"), "ComputeInstance", "Running")).collect())
}

fn run_cli(emulator: &Emulator, setup: &Setup, now: &str, extra: &[&str]) -> Cli {
    let mut args = vec!["run", "--now", now, "-o", "json"];
    args.extend_from_slice(extra);
    setup.cli(emulator, &args)
}

fn events(state: &Path) -> Vec<autostop_state::EventRecord> {
    SqliteStore::open(state).unwrap().history(&HistoryQuery::default()).unwrap()
}

fn names_with(state: &Path, kind: EventKind) -> Vec<String> {
    let mut names: Vec<String> = events(state)
        .into_iter()
        .filter(|record| record.event.kind == kind)
        .filter_map(|record| record.event.target_name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_occurrence_whose_scope_cannot_be_read_stays_pending_and_runs_once_it_can() {
    let emulator = emulator(running(3)).await;
    let setup = setup(EVENING_STOP);
    assert_eq!(setup.run_at(&emulator, "2026-03-02T19:59:00Z").await.code, 0);

    // 20:00:30: the workspace list is refused. The run fails loudly and acts on nothing.
    emulator.control().deny(&format!("/subscriptions/{SUB}"), actions::WORKSPACE_READ);
    let failed = setup.run_at(&emulator, "2026-03-02T20:00:30Z").await;
    assert_eq!(failed.code, 1, "{failed:#?}");
    assert!(failed.stderr.contains("AuthorizationFailed"), "the cause is named: {failed:#?}");
    assert!(failed.stderr.contains("pending"), "the occurrence is said to be pending: {failed:#?}");
    assert!(stop_posts(&emulator).is_empty());

    // 20:01: fixed. The 20:00 stop is not lost: it runs now, recorded against its occurrence.
    emulator.control().allow_all();
    let fixed = setup.run_at(&emulator, "2026-03-02T20:01:00Z").await;
    assert_eq!(fixed.code, 0, "{fixed:#?}");
    let rows = fixed.json();
    for name in ["inst-01", "inst-02", "inst-03"] {
        assert_eq!(row(&rows, name)["result"], "succeeded", "{rows:#}");
        assert_eq!(row(&rows, name)["occurrence"], "2026-03-02T20:00:00+00:00", "{rows:#}");
        assert_eq!(emulator.control().state(&id(name)).as_deref(), Some("Stopped"));
    }
    assert!(SqliteStore::open(&setup.state).unwrap().pending().unwrap().is_empty(), "nothing left pending");

    // And again: nothing is done twice.
    let again = setup.run_at(&emulator, "2026-03-02T20:02:00Z").await;
    assert_eq!(again.code, 0, "{again:#?}");
    assert!(stop_posts(&emulator).values().all(|posts| *posts == 1), "{:?}", stop_posts(&emulator));
}

#[tokio::test]
async fn a_pending_occurrence_past_its_catch_up_limit_is_recorded_missed_with_its_cause() {
    let emulator = emulator(running(2)).await;
    let setup = setup(EVENING_STOP);
    assert_eq!(setup.run_at(&emulator, "2026-03-02T19:59:00Z").await.code, 0);
    emulator.control().deny(&format!("/subscriptions/{SUB}"), actions::WORKSPACE_READ);
    assert_eq!(setup.run_at(&emulator, "2026-03-02T20:00:30Z").await.code, 1);
    emulator.control().allow_all();
    // 21:30: the 20:00 occurrence is older than the 1h catch-up limit: missed, loudly, with why.
    let late = setup.run_at(&emulator, "2026-03-02T21:30:00Z").await;
    assert_eq!(late.code, 1, "{late:#?}");
    let missed: Vec<_> = events(&setup.state).into_iter().filter(|r| r.event.kind == EventKind::Missed).collect();
    assert_eq!(missed.len(), 1, "{missed:#?}");
    let reason = missed[0].event.reason.clone().unwrap_or_default();
    assert!(reason.contains("AuthorizationFailed") && reason.contains("pending since"), "{reason}");
    assert!(stop_posts(&emulator).is_empty(), "a missed occurrence is never executed");
}

#[tokio::test]
async fn concurrent_runs_on_one_state_send_each_stop_exactly_once() {
    for (processes, instances) in [(2, 60), (4, 20)] {
        let emulator = emulator(running(instances)).await;
        // A fresh state each round: the processes also race to create the database.
        let setup = setup(EVENING_STOP);
        let children = (0..processes)
            .map(|_| {
                let cli = run_cli(&emulator, &setup, "2026-03-02T20:00:30Z", &["--no-wait"]);
                tokio::spawn(cli.run())
            })
            .collect::<Vec<_>>();
        let mut runs = Vec::new();
        for child in children {
            runs.push(child.await.unwrap());
        }
        for run in &runs {
            assert_eq!(run.code, 0, "a claim held by another run is a skip, not a failure: {run:#?}");
        }
        let posts = stop_posts(&emulator);
        assert_eq!(posts.len(), instances, "{posts:?}");
        assert!(posts.values().all(|count| *count == 1), "each instance got exactly one stop POST: {posts:?}");
        let rows: Vec<serde_json::Value> = runs.iter().flat_map(|run| run.json().as_array().unwrap().clone()).collect();
        let accepted = rows.iter().filter(|row| row["result"] == "accepted").count();
        assert_eq!(accepted, instances, "{rows:#?}");
        // The others saw the claim (or, listing later, an instance already stopping that this occurrence claimed,
        // which is not reported again): never a failure.
        assert!(rows.iter().all(|row| row["result"] == "accepted" || row["result"] == "skipped"), "{rows:#?}");
    }
}

#[tokio::test]
async fn a_state_that_cannot_grow_never_lets_a_stop_out_without_its_durable_claim() {
    let mut saw_a_mid_run_failure = false;
    for limit_kib in [48, 96, 160, 256] {
        let emulator = emulator(running(60)).await;
        let setup = setup(EVENING_STOP);
        assert_eq!(setup.run_at(&emulator, "2026-03-02T19:59:00Z").await.code, 0);
        // The file-size limit makes every write past `limit_kib` fail (EFBIG), as a full disk does.
        let line = format!(
            "ulimit -f {limit_kib}; trap '' XFSZ; exec '{}' run --now 2026-03-02T20:00:30Z --no-wait -o json --state '{}'",
            env!("CARGO_BIN_EXE_autostop"),
            setup.state.display()
        );
        let run =
            Cli::program_against(&emulator, "bash", &["-c", &line]).env("AUTOSTOP_CONFIG", &setup.config).run().await;
        let posts = stop_posts(&emulator);
        let store = SqliteStore::open(&setup.state).unwrap();
        let claims = store.claims_of("evening-stop", "2026-03-02T20:00:00Z".parse().unwrap()).unwrap();
        for name in posts.keys() {
            let claim = claims.iter().find(|claim| claim.target_name == *name);
            let status = claim.map(|claim| claim.status);
            assert!(
                matches!(status, Some(ClaimStatus::Sent | ClaimStatus::Accepted)),
                "limit {limit_kib} KiB: {name} got a stop POST without a durable claim marked sent ({status:?}): {run:#?}"
            );
        }
        if run.code == 0 {
            assert_eq!(posts.len(), 60, "limit {limit_kib} KiB: a clean run acted on everything: {run:#?}");
        } else {
            assert!(!run.stdout.trim().is_empty(), "limit {limit_kib} KiB: what was done is still printed: {run:#?}");
            assert!(run.stderr.contains("state"), "limit {limit_kib} KiB: the failure names the state store: {run:#?}");
            if !posts.is_empty() && posts.len() < 60 {
                saw_a_mid_run_failure = true;
            }
        }
        // Room again: the next run confirms what was sent and does the rest, each once.
        drop(store);
        emulator.control().complete_operations();
        let next = setup.run_at(&emulator, "2026-03-02T20:01:00Z").await;
        assert_eq!(next.code, 0, "limit {limit_kib} KiB, next run: {next:#?}");
        let posts = stop_posts(&emulator);
        assert_eq!(posts.len(), 60, "{posts:?} {next:#?}");
        assert!(posts.values().all(|count| *count == 1), "limit {limit_kib} KiB: {posts:?}");
        assert_eq!(names_with(&setup.state, EventKind::Succeeded).len(), 60, "limit {limit_kib} KiB");
    }
    assert!(saw_a_mid_run_failure, "some limit must stop a run in the middle, or this test proves nothing");
}

#[tokio::test]
async fn sigterm_sends_nothing_new_and_the_next_run_confirms_and_finishes_the_job() {
    let emulator = emulator(running(8)).await;
    let setup = setup(EVENING_STOP);
    // Every operation is slow; one POST at a time, so SIGTERM comes with some sent and some not.
    emulator.control().set_faults(Faults { slow_operation_rate: 1.0, slow_operation_factor: 200, ..Faults::default() });
    emulator.control().set_latency(Duration::from_millis(300));
    let mut child =
        run_cli(&emulator, &setup, "2026-03-02T20:00:30Z", &["--concurrency", "1", "--shutdown-grace", "1s"]).spawn();
    tokio::time::timeout(TIMEOUT, async {
        while stop_posts(&emulator).len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("two stops sent in time");
    let pid = child.id().expect("running");
    std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
    let status = tokio::time::timeout(TIMEOUT, child.wait()).await.unwrap().unwrap();
    assert_eq!(status.code(), Some(1), "an interrupted run is not a success: {status:?}");
    let sent = stop_posts(&emulator);
    assert!(sent.len() < 8, "SIGTERM stopped the sending: {sent:?}");
    // Everything sent is recorded accepted; everything not sent is recorded interrupted.
    let accepted = names_with(&setup.state, EventKind::Accepted);
    let interrupted = names_with(&setup.state, EventKind::Interrupted);
    assert_eq!(accepted, sent.keys().cloned().collect::<Vec<_>>(), "every stop sent is recorded");
    assert_eq!(accepted.len() + interrupted.len(), 8, "accepted {accepted:?}, interrupted {interrupted:?}");
    let runs = rusqlite::Connection::open(&setup.state).unwrap();
    let status: String = runs.query_row("SELECT status FROM runs ORDER BY id DESC LIMIT 1", [], |r| r.get(0)).unwrap();
    assert_eq!(status, "interrupted");

    // The next run: the sent ones are confirmed by reading back, the others are sent now, each once.
    emulator.control().set_faults(Faults::default());
    emulator.control().set_latency(Duration::ZERO);
    emulator.control().complete_operations();
    let next = setup.run_at(&emulator, "2026-03-02T20:01:00Z").await;
    assert_eq!(next.code, 0, "{next:#?}");
    let posts = stop_posts(&emulator);
    assert!(posts.len() == 8 && posts.values().all(|count| *count == 1), "{posts:?}");
    assert_eq!(names_with(&setup.state, EventKind::Succeeded).len(), 8);
}

#[tokio::test]
async fn an_accepted_stop_is_confirmed_by_a_later_run_or_recorded_unconfirmed_past_the_deadline() {
    let emulator = emulator(running(2)).await;
    let setup = setup(EVENING_STOP);
    let accepted = run_cli(&emulator, &setup, "2026-03-02T20:00:30Z", &["--no-wait"]).run().await;
    assert_eq!(accepted.code, 0, "{accepted:#?}");
    assert!(accepted.json().as_array().unwrap().iter().all(|row| row["result"] == "accepted"), "{accepted:#?}");

    // inst-01 gets there; inst-02 does not (something starts it again). A later run, with no rule due, reads both
    // back: one is confirmed, the other is unconfirmed once the deadline has passed.
    emulator.control().complete_operations();
    emulator.control().set_state(&id("inst-02"), "Running");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = run_cli(&emulator, &setup, "2026-03-02T20:05:00Z", &["--confirm-deadline", "1s"]).run().await;
    assert_eq!(later.code, 1, "an unconfirmed stop is loud: {later:#?}");
    let rows = later.json();
    assert_eq!(row(&rows, "inst-01")["result"], "succeeded", "{rows:#}");
    assert_eq!(row(&rows, "inst-02")["result"], "unconfirmed", "{rows:#}");
    assert!(row(&rows, "inst-02")["reason"].as_str().unwrap().contains("Running"), "{rows:#}");
    // Final: nothing left to confirm, and nothing is confirmed twice.
    let quiet = setup.run_at(&emulator, "2026-03-02T20:06:00Z").await;
    assert_eq!(quiet.code, 0, "{quiet:#?}");
    assert_eq!(quiet.json(), serde_json::json!([]));
}

#[tokio::test]
async fn back_tests_cannot_move_the_schedule() {
    let emulator = emulator(running(1)).await;
    let setup = setup(EVENING_STOP);
    let future = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(2)).unwrap().to_string();
    let refused = setup.run_at(&emulator, &future).await;
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(refused.stderr.contains("future"), "{refused:#?}");
    let no_state = Cli::against(&emulator, &["run", "--now", "2026-03-02T20:00:30Z"])
        .env("AUTOSTOP_CONFIG", &setup.config)
        .env("XDG_STATE_HOME", setup.dir.path())
        .run()
        .await;
    assert_eq!(no_state.code, 2, "{no_state:#?}");
    assert!(no_state.stderr.contains("--state"), "{no_state:#?}");
    assert!(stop_posts(&emulator).is_empty() && !setup.state.exists(), "refused runs touch nothing");
    assert!(!setup.dir.path().join("autostop").exists(), "not even the default state");

    assert_eq!(setup.run_at(&emulator, "2026-03-02T21:00:00Z").await.code, 0);
    let backwards = setup.run_at(&emulator, "2026-03-02T19:00:00Z").await;
    assert_eq!(backwards.code, 2, "{backwards:#?}");
    assert!(backwards.stderr.contains("never moves back"), "{backwards:#?}");
    let store = SqliteStore::open(&setup.state).unwrap();
    assert_eq!(store.last_evaluated("run").unwrap(), Some("2026-03-02T21:00:00Z".parse().unwrap()));
}

#[tokio::test]
async fn the_state_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let emulator = emulator(running(1)).await;
    let setup = setup(EVENING_STOP);
    assert_eq!(setup.run_at(&emulator, "2026-03-02T19:59:00Z").await.code, 0);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&setup.state), 0o600);
    assert_eq!(mode(setup.state.parent().unwrap()), 0o700);
}

#[tokio::test]
async fn an_ad_hoc_stop_without_wait_is_recorded_and_confirmed_by_the_next_run() {
    let emulator = emulator(running(2)).await;
    let setup = setup(EVENING_STOP);
    let stop = Cli::against(&emulator, &["stop", "inst-01", "-s", SUB, "-g", "ml-rg", "-w", "ws-a", "-o", "json"])
        .args_state(&setup.state)
        .run()
        .await;
    assert_eq!(stop.code, 0, "{stop:#?}");
    assert_eq!(row(&stop.json(), "inst-01")["result"], "accepted");
    let recorded = events(&setup.state);
    assert_eq!(recorded.len(), 1, "{recorded:#?}");
    assert_eq!(recorded[0].event.rule.as_deref(), Some("(ad-hoc)"));
    assert_eq!(recorded[0].event.kind, EventKind::Accepted);

    // A scheduled run with nothing due still reads the instance back and records the outcome.
    emulator.control().complete_operations();
    let run = setup.run_at(&emulator, "2026-03-02T19:00:00Z").await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(row(&rows, "inst-01")["result"], "succeeded", "{rows:#}");
    assert_eq!(row(&rows, "inst-01")["rule"], "(ad-hoc)", "{rows:#}");
    assert_eq!(names_with(&setup.state, EventKind::Succeeded), ["inst-01"]);
}

#[tokio::test]
async fn a_scheduled_run_acts_on_a_workspace_that_holds_a_compute_it_cannot_handle() {
    let mut fleet = running(2);
    fleet.subscriptions[0].resource_groups[0].workspaces[0].computes.push(compute(
        "résumé-ci",
        "ComputeInstance",
        "Running",
    ));
    let emulator = emulator(fleet).await;
    let setup = setup(EVENING_STOP);
    let run = setup.run_at(&emulator, "2026-03-02T20:00:30Z").await;
    assert_eq!(run.code, 0, "a compute it cannot handle is a skip, not a failure: {run:#?}");
    let rows = run.json();
    assert_eq!(row(&rows, "inst-01")["result"], "succeeded", "{rows:#}");
    assert_eq!(row(&rows, "inst-02")["result"], "succeeded", "{rows:#}");
    let odd = row(&rows, "résumé-ci");
    assert_eq!(odd["result"], "skipped", "{odd:#}");
    assert!(odd["reason"].as_str().unwrap().contains("cannot be handled"), "{odd:#}");
    assert_eq!(emulator.control().state(&id("résumé-ci")).as_deref(), Some("Running"));
}

//! Faults end to end: throttling, 5xx bursts, dropped connections, failed operations and an unreachable token
//! endpoint. Every instance is attempted, every outcome reported, nothing reported done that was not.

use autostop_emulator::{Faults, ThrottleOptions};

use crate::util::*;

fn running_fleet(count: usize) -> autostop_emulator::Fleet {
    fleet((1..=count).map(|i| compute(&format!("inst-{i:02}"), "ComputeInstance", "Running")).collect())
}

/// Checks that every row reported `succeeded` is Stopped in the emulator, and every `failed` one is not.
fn reported_results_match_the_fleet(
    emulator: &autostop_emulator::Emulator,
    rows: &serde_json::Value,
) -> (usize, usize) {
    let (mut succeeded, mut failed) = (0, 0);
    for row in rows.as_array().unwrap() {
        let state = emulator.control().state(row["id"].as_str().unwrap()).unwrap_or_default();
        match row["result"].as_str().unwrap() {
            "succeeded" => {
                succeeded += 1;
                assert_eq!(state, "Stopped", "reported done but {state}: {row:#}");
            }
            "failed" => {
                failed += 1;
                assert_ne!(state, "Stopped", "reported failed but Stopped: {row:#}");
                assert!(row["error"].as_str().is_some_and(|e| !e.is_empty()), "a failure says why: {row:#}");
            }
            other => panic!("unexpected result {other}: {row:#}"),
        }
    }
    (succeeded, failed)
}

#[tokio::test]
async fn throttling_5xx_bursts_and_dropped_connections_do_not_lose_an_instance() {
    let emulator = emulator(running_fleet(20)).await;
    let control = emulator.control();
    control.set_throttle(Some(ThrottleOptions {
        read_burst: 6,
        read_refill_per_second: 20.0,
        write_burst: 4,
        write_refill_per_second: 8.0,
    }));
    // Bursts within the client's retry budget (five retries), even if they all hit the first request.
    control.fail_next_requests(2);
    control.drop_next_connections(2);
    let run = Cli::against(&emulator, &["stop", "--all", "--yes", "--wait", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 20, "{rows:#}");
    assert_eq!(reported_results_match_the_fleet(&emulator, &rows), (20, 0));
    let served = control.requests();
    assert!(served.iter().any(|r| r.status == 429), "the buckets throttled something");
    assert!(served.iter().any(|r| r.status >= 500), "5xx were served");
    assert!(served.iter().any(|r| r.status == 0), "connections were dropped");
}

#[tokio::test]
async fn stop_posts_dropped_under_http2_are_retried_and_every_outcome_is_true() {
    let emulator = emulator(running_fleet(40)).await;
    // One ARM request in five dropped (its HTTP/2 stream reset): at 40 POSTs some are all but sure to be hit, and a
    // request within the five retries fails six times in a row about once in 15,000.
    emulator.control().set_faults(Faults { drop_rate: 0.2, seed: 11, ..Faults::default() });
    let run = Cli::against(&emulator, &["stop", "--all", "--yes", "--wait", "-s", SUB, "-o", "json"]).run().await;
    let rows = run.json();
    let (succeeded, failed) = reported_results_match_the_fleet(&emulator, &rows);
    assert_eq!((succeeded, failed), (40, 0), "{run:#?}");
    assert_eq!(run.code, 0, "{run:#?}");
    let served = emulator.control().requests();
    let dropped_posts = served.iter().filter(|r| r.status == 0 && r.method == "POST").collect::<Vec<_>>();
    assert!(!dropped_posts.is_empty(), "some stop POST was dropped: {served:?}");
    let other: Vec<_> = served.iter().filter(|r| r.version != autostop_emulator::HttpVersion::Http2).collect();
    assert!(other.is_empty(), "every request over HTTP/2, these were not: {other:?}");
}

#[tokio::test]
async fn failed_operations_are_reported_as_failed_and_exit_1() {
    let emulator = emulator(running_fleet(12)).await;
    emulator.control().set_faults(Faults { failed_operation_rate: 0.5, seed: 7, ..Faults::default() });
    let run = Cli::against(&emulator, &["stop", "--all", "--yes", "--wait", "-s", SUB, "-o", "json"]).run().await;
    let rows = run.json();
    let (succeeded, failed) = reported_results_match_the_fleet(&emulator, &rows);
    assert_eq!(succeeded + failed, 12, "every instance attempted: {rows:#}");
    assert!(failed > 0 && succeeded > 0, "half fail at this seed: {succeeded} succeeded, {failed} failed");
    assert_eq!(run.code, 1, "partial failure: {run:#?}");
}

#[tokio::test]
async fn a_run_under_5xx_bursts_records_every_outcome() {
    let emulator = emulator(running_fleet(10)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("autostop.toml");
    std::fs::write(
        &config,
        format!(
            "[[scopes]]\nsubscription = \"{SUB}\"\n\n[[rules]]\nname = \"night\"\naction = \"stop\"\nschedule = \"0 0 22 * * *\"\n"
        ),
    )
    .unwrap();
    let state = dir.path().join("audit.db");
    emulator.control().set_faults(Faults { server_error_rate: 0.2, drop_rate: 0.05, seed: 3, ..Faults::default() });
    let run = Cli::against(&emulator, &["run", "--now", "2026-03-02T22:00:10Z", "-o", "json"])
        .env("AUTOSTOP_CONFIG", &config)
        .args_state(&state)
        .run()
        .await;
    let rows = run.json();
    let (succeeded, failed) = reported_results_match_the_fleet(&emulator, &rows);
    assert_eq!(succeeded + failed, 10, "{rows:#}");
    assert_eq!(run.code, if failed == 0 { 0 } else { 1 }, "{run:#?}");
    let history = Cli::against(&emulator, &["history", "-o", "json"]).args_state(&state).run().await;
    let events = history.json();
    for row in rows.as_array().unwrap() {
        let recorded =
            events.as_array().unwrap().iter().any(|e| e["targetId"] == row["id"] && e["result"] == row["result"]);
        assert!(recorded, "{row:#} not in the audit log: {events:#}");
    }
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_named_and_nothing_is_reported_done() {
    let emulator = emulator(running_fleet(3)).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
    drop(listener);
    let run = Cli::against(&emulator, &["stop", "--all", "--yes", "--wait", "-s", SUB, "-o", "json"])
        .env("AZURE_AUTHORITY_HOST", &closed)
        .run()
        .await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains(&closed[8..]), "names the token endpoint: {}", run.stderr);
    assert!(!run.stderr.contains(emulator.client_secret()), "no secret: {}", run.stderr);
    assert_eq!(run.json(), serde_json::json!([]));
    for i in 1..=3 {
        assert_eq!(emulator.control().state(&id(&format!("inst-{i:02}"))).as_deref(), Some("Running"));
    }
}

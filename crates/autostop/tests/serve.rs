//! End-to-end tests of `autostop serve` (the daemon) against the emulator: an occurrence fires at its time,
//! SIGTERM during a run, a restart after a missed occurrence catches up exactly once, `/metrics` parses.
//!
//! Every await is bounded by [`TIMEOUT`]; nothing asserts on durations. The daemon announces its HTTP address in
//! its JSON log (`"message":"listening","addr":..`), read from its stdout.

#[path = "../../serve/tests/support/openmetrics.rs"]
mod openmetrics;
#[path = "support/unattended.rs"]
mod unattended;

use std::time::Duration;

use autostop_emulator::{Emulator, Fleet, Options, actions};
use jiff::Timestamp;
use unattended::{
    Process, TIMEOUT, closed_within, compute, config_with_rules, id, idle_connection, occurrence_in, wait_for_state,
    workspace_fleet,
};

fn fleet() -> Fleet {
    workspace_fleet(vec![compute("run-1", "Running"), compute("run-2", "Running")])
}

async fn emulator(transition: Duration) -> Emulator {
    let options = Options { fleet: fleet(), transition, ..Default::default() };
    tokio::time::timeout(TIMEOUT, Emulator::start(options)).await.expect("emulator starts in time").expect("emulator")
}

/// Starts `autostop serve` on a free port with the config and state directory given.
async fn serve(emulator: &Emulator, dir: &std::path::Path, extra: &[&str]) -> (Process, String) {
    let config = dir.join("autostop.toml");
    let config = config.to_str().expect("utf-8 path");
    let mut args = vec!["serve", "--config", config, "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut daemon = Process::spawn(emulator, dir, &args, &[], None);
    let listening = daemon.wait_for_log(|line| line["message"] == "listening").await;
    let addr = listening["addr"].as_str().expect("the listening line names addr").to_owned();
    (daemon, format!("http://{addr}"))
}

/// `/healthz`: its status code and body, whatever the code.
async fn health(base: &str) -> (u16, serde_json::Value) {
    let request = reqwest::get(format!("{base}/healthz"));
    let response = tokio::time::timeout(TIMEOUT, request).await.expect("answer in time").expect("answer");
    let code = response.status().as_u16();
    let body = tokio::time::timeout(TIMEOUT, response.json()).await.expect("body in time").expect("json body");
    (code, body)
}

/// Waits until `/healthz` answers with `code`.
async fn wait_for_health_code(base: &str, code: u16) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let (answered, body) = health(base).await;
        if answered == code {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "/healthz never answered {code}: {answered} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get(url: &str) -> String {
    get_with_type(url).await.1
}

/// The `Content-Type` and body of a successful GET.
async fn get_with_type(url: &str) -> (String, String) {
    let request = reqwest::get(url);
    let response = tokio::time::timeout(TIMEOUT, request).await.expect("answer in time").expect("answer");
    assert!(response.status().is_success(), "{url}: {}", response.status());
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let content_type = content_type.unwrap_or_default().to_owned();
    let body = tokio::time::timeout(TIMEOUT, response.text()).await.expect("body in time").expect("body");
    (content_type, body)
}

async fn metrics(base: &str) -> openmetrics::Exposition {
    let (content_type, text) = get_with_type(&format!("{base}/metrics")).await;
    assert_eq!(content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    openmetrics::parse(&text).unwrap_or_else(|err| panic!("/metrics is not valid OpenMetrics text: {err}\n{text}"))
}

#[tokio::test]
async fn an_occurrence_fires_at_its_time_with_only_the_least_privilege_role_and_metrics_parse() {
    let emulator = emulator(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let at = occurrence_in(Duration::from_secs(4));
    config_with_rules(dir.path(), &[("evening", "stop", "run-1", at)]);
    grant_only_the_role(&emulator);

    let (daemon, base) = serve(&emulator, dir.path(), &[]).await;
    wait_for_health(&base, |health| health["status"] == "ok").await;

    wait_for_state(&emulator, &id("run-1"), &["Stopping", "Stopped"]).await;
    assert!(Timestamp::now() >= at, "run-1 was stopped before its occurrence at {at}");
    assert_eq!(emulator.control().state(&id("run-2")).as_deref(), Some("Running"), "run-2 is not selected");

    // The run is recorded once it returns: wait for its metrics rather than for a time.
    let mut exposition = metrics(&base).await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while exposition.value("autostop_actions_total", &[("rule", "evening"), ("result", "succeeded")]).is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the stop never showed in /metrics");
        tokio::time::sleep(Duration::from_millis(100)).await;
        exposition = metrics(&base).await;
    }
    assert_eq!(exposition.kind("autostop_actions").as_deref(), Some("counter"));
    assert_eq!(exposition.value("autostop_actions_total", &[("rule", "evening"), ("result", "succeeded")]), Some(1.0));
    assert!(exposition.value("autostop_arm_requests_total", &[]).is_some_and(|requests| requests > 0.0));
    assert!(exposition.value("autostop_last_success_timestamp_seconds", &[]).is_some());

    let exit = daemon.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    exit.assert_never_wrote(emulator.client_secret());
}

#[tokio::test]
async fn sigterm_during_a_run_lets_the_operation_finish_and_be_recorded_then_exits() {
    // A slow transition keeps the stop operation in flight while the signal arrives; the default grace period
    // (60 s) outlasts it, so the daemon lets the operation finish.
    let emulator = emulator(Duration::from_secs(8)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let at = occurrence_in(Duration::from_secs(3));
    config_with_rules(dir.path(), &[("evening", "stop", "run-1", at)]);

    let (daemon, _base) = serve(&emulator, dir.path(), &[]).await;
    wait_for_state(&emulator, &id("run-1"), &["Stopping"]).await;
    let exit = daemon.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    let logs = exit.logs.iter().map(|line| line["message"].as_str().unwrap_or_default()).collect::<Vec<_>>();
    assert!(
        logs.iter().any(|message| message.starts_with("shutting down: finishing the run in flight")),
        "the daemon did not log its shutdown: {logs:#?}"
    );
    // The operation ARM accepted is not undone.
    let state = emulator.control().state(&id("run-1"));
    assert!(matches!(state.as_deref(), Some("Stopping" | "Stopped")), "{state:?}");

    // The audit log has the action's end (finished, accepted or interrupted), never nothing.
    let history = history(dir.path()).await;
    let results = results_for(&history, "run-1");
    assert!(
        results.iter().any(|result| ["succeeded", "accepted", "interrupted"].contains(&result.as_str())),
        "run-1's stop is not recorded: {history:#}"
    );
}

#[tokio::test]
async fn sigterm_past_the_grace_period_leaves_the_accepted_operation_to_be_confirmed_by_the_next_life() {
    // The stop outlasts the grace period: the daemon stops following it. Azure accepted it, so it is recorded
    // accepted (not interrupted: the machine is stopping), and the next evaluation confirms it by reading back.
    let emulator = emulator(Duration::from_secs(45)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let at = occurrence_in(Duration::from_secs(3));
    config_with_rules(dir.path(), &[("evening", "stop", "run-1", at)]);

    let (daemon, _base) = serve(&emulator, dir.path(), &["--shutdown-grace", "1s"]).await;
    wait_for_state(&emulator, &id("run-1"), &["Stopping"]).await;
    let exit = daemon.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    let history_after = history(dir.path()).await;
    assert_eq!(results_for(&history_after, "run-1"), ["accepted"], "{history_after:#}");

    emulator.control().complete_operations();
    let (daemon, _base) = serve(&emulator, dir.path(), &[]).await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let history = history(dir.path()).await;
        if results_for(&history, "run-1") == ["accepted", "succeeded"] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never confirmed: {history:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(daemon.terminate().await.code, Some(0));
}

#[tokio::test]
async fn sighup_keeps_the_config_when_the_new_one_is_invalid_and_applies_a_valid_one() {
    let emulator = emulator(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let far = occurrence_in(Duration::from_secs(6 * 3600));
    let config = config_with_rules(dir.path(), &[("evening", "stop", "run-1", far)]);
    let (mut daemon, base) = serve(&emulator, dir.path(), &[]).await;

    // An invalid file is refused with its line, and the daemon goes on with the old rules.
    std::fs::write(&config, "[[rules]]\nname = 1\n").expect("write the bad config");
    daemon.signal("HUP").await;
    daemon
        .wait_for_log(|line| line["message"].as_str().is_some_and(|m| m.starts_with("configuration reload failed")))
        .await;
    // (The first evaluation, at start, may still be under way: wait for the daemon to schedule the next one.)
    let far_text = far.to_string();
    let health = wait_for_health(&base, |health| health["next_occurrence"].as_str() == Some(far_text.as_str())).await;
    assert_eq!(health["next_occurrence"].as_str(), Some(far_text.as_str()), "{health}");

    // A valid one takes effect: its rule fires in a moment.
    let soon = occurrence_in(Duration::from_secs(3));
    config_with_rules(dir.path(), &[("evening", "stop", "run-2", soon)]);
    daemon.signal("HUP").await;
    daemon.wait_for_log(|line| line["message"] == "configuration reloaded").await;
    wait_for_state(&emulator, &id("run-2"), &["Stopping", "Stopped"]).await;
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Running"));
    let exposition = metrics(&base).await;
    assert_eq!(exposition.value("autostop_config_reloads_total", &[("result", "rejected")]), Some(1.0));
    assert_eq!(exposition.value("autostop_config_reloads_total", &[("result", "accepted")]), Some(1.0));
    let exit = daemon.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    // Why the reload was refused: each error with its line and column.
    assert!(exit.stderr.contains("autostop.toml:2:"), "{}", exit.stderr);
}

/// The status of a request to a notice link, and its page.
async fn link_status(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = tokio::time::timeout(TIMEOUT, request.send()).await.expect("answer in time").expect("answer");
    let code = response.status().as_u16();
    (code, tokio::time::timeout(TIMEOUT, response.text()).await.expect("body in time").expect("body"))
}

#[tokio::test]
async fn sighup_hands_the_reloaded_rules_to_the_link_handler_and_the_status_page_and_a_rejected_reload_keeps_them() {
    use autostop_notify::{Link, LinkKey};
    const KEY: &str = "a link key of at least thirty-two bytes, for tests only";
    let emulator = emulator(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let far = occurrence_in(Duration::from_secs(6 * 3600));
    let config = config_with_rules(dir.path(), &[("evening", "stop", "run-1", far)]);
    let config_text = config.to_str().expect("utf-8 path").to_owned();
    let args = ["serve", "--config", &config_text, "--listen", "127.0.0.1:0"];
    let mut daemon = Process::spawn(&emulator, dir.path(), &args, &[("AUTOSTOP_LINK_KEY", KEY)], None);
    let listening = daemon.wait_for_log(|line| line["message"] == "listening").await;
    let base = format!("http://{}", listening["addr"].as_str().expect("the listening line names addr"));
    let key = LinkKey::new(KEY.as_bytes());
    let skip = autostop_policy::Choice::parse("skip").expect("choice");
    let late = Link::new(&id("run-2"), "night-owl", far, skip).url(&base, &key);
    let http = reqwest::Client::new();

    // The rule the link names is not configured yet.
    let (code, page) = link_status(http.get(&late)).await;
    assert_eq!(code, 410, "{page}");
    assert!(page.contains("no longer configured"), "{page}");
    assert!(!get(&base).await.contains("night-owl"), "the status page shows a rule not configured");

    // A reload that adds it: the link handler and the status page follow.
    config_with_rules(dir.path(), &[("evening", "stop", "run-1", far), ("night-owl", "stop", "run-2", far)]);
    daemon.signal("HUP").await;
    daemon.wait_for_log(|line| line["message"] == "configuration reloaded").await;
    let (code, page) = link_status(http.get(&late)).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Skip this stop"), "{page}");
    assert!(get(&base).await.contains("night-owl"), "the status page shows the reloaded rules");

    // A rejected reload keeps the rules it had, in both.
    std::fs::write(&config, "[[rules]]\nname = 1\n").expect("write the bad config");
    daemon.signal("HUP").await;
    daemon
        .wait_for_log(|line| line["message"].as_str().is_some_and(|m| m.starts_with("configuration reload failed")))
        .await;
    assert_eq!(link_status(http.get(&late)).await.0, 200);
    assert!(get(&base).await.contains("night-owl"), "the status page keeps the rules it had");

    // A valid reload without the rule: its links are refused again.
    config_with_rules(dir.path(), &[("evening", "stop", "run-1", far)]);
    daemon.signal("HUP").await;
    daemon.wait_for_log(|line| line["message"] == "configuration reloaded").await;
    assert_eq!(link_status(http.post(&late)).await.0, 410);

    let exit = daemon.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    assert!(exit.stderr.contains("autostop.toml:2:"), "the rejected reload says why: {}", exit.stderr);
    let events = history(dir.path()).await;
    let refused = events.as_array().expect("events").iter().filter(|event| event["result"] == "link-refused").count();
    assert_eq!(refused, 1, "the refused POST is recorded: {events:#}");
}

/// The audit log of the daemon whose state lives under `dir`, as `autostop history --output json` prints it.
async fn history(dir: &std::path::Path) -> serde_json::Value {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_autostop"))
        .args(["history", "--output", "json"])
        .env("XDG_STATE_HOME", dir.join("state"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(TIMEOUT, output).await.expect("history in time").expect("history runs");
    assert!(output.status.success(), "history failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("history prints JSON")
}

#[tokio::test]
async fn a_restart_after_a_missed_occurrence_catches_up_exactly_once() {
    let emulator = emulator(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("temp dir");

    // First life: the rule lies hours ahead; the daemon records its evaluation and stops.
    let far = occurrence_in(Duration::from_secs(6 * 3600));
    config_with_rules(dir.path(), &[("evening", "stop", "run-1", far)]);
    let (daemon, base) = serve(&emulator, dir.path(), &[]).await;
    wait_for_runs(&base, 1).await;
    assert_eq!(daemon.terminate().await.code, Some(0));

    // While it is down, an occurrence passes.
    let missed = occurrence_in(Duration::from_secs(2));
    config_with_rules(dir.path(), &[("evening", "stop", "run-1", missed)]);
    while Timestamp::now() <= missed {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Second life: it catches up at once.
    let (daemon, base) = serve(&emulator, dir.path(), &[]).await;
    wait_for_state(&emulator, &id("run-1"), &["Stopping", "Stopped"]).await;
    wait_for_runs(&base, 1).await;
    assert_eq!(daemon.terminate().await.code, Some(0));

    // Third life, with the instance running again: the occurrence is behind the stored instant, so nothing runs.
    emulator.control().complete_operations();
    assert!(emulator.control().set_state(&id("run-1"), "Running"));
    let (daemon, base) = serve(&emulator, dir.path(), &[]).await;
    let health = wait_for_health(&base, |health| !health["next_occurrence"].is_null()).await;
    let next: Timestamp = health["next_occurrence"].as_str().expect("a next occurrence").parse().expect("timestamp");
    assert!(next > missed, "the missed occurrence is due again: {health}");
    let exposition = metrics(&base).await;
    assert_eq!(exposition.value("autostop_runs_total", &[("outcome", "success")]), Some(0.0));
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Running"));
    assert_eq!(daemon.terminate().await.code, Some(0));

    // Across the three lives, the audit log holds exactly one stop of run-1: accepted, then confirmed.
    assert_eq!(results_for(&history(dir.path()).await, "run-1"), ["accepted", "succeeded"]);
}

/// The results the audit log records for `target`, oldest first.
fn results_for(history: &serde_json::Value, target: &str) -> Vec<String> {
    let events = history.as_array().unwrap_or_else(|| panic!("history is not an array: {history}"));
    events
        .iter()
        .filter(|event| event["targetName"] == target)
        .map(|event| event["result"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Denies every action the emulator checks that the least-privilege role in `deploy/azure/` does not grant.
fn grant_only_the_role(emulator: &Emulator) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/azure/autostop-role.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("reading {path}: {err}"));
    let role: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"));
    let granted = role["Actions"].as_array().unwrap_or_else(|| panic!("{path}: no Actions array"));
    let known = [
        actions::SUBSCRIPTION_READ,
        actions::WORKSPACE_READ,
        actions::COMPUTE_READ,
        actions::COMPUTE_START,
        actions::COMPUTE_STOP,
        actions::COMPUTE_RESTART,
        actions::OPERATION_READ,
    ];
    for action in known {
        if !granted.iter().any(|grant| grant.as_str().is_some_and(|grant| grant.eq_ignore_ascii_case(action))) {
            emulator.control().deny("/subscriptions", action);
        }
    }
}

/// Waits until `/healthz` satisfies `matches`, and returns it.
async fn wait_for_health(base: &str, matches: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let health: serde_json::Value = serde_json::from_str(&get(&format!("{base}/healthz")).await).expect("json");
        if matches(&health) {
            return health;
        }
        assert!(tokio::time::Instant::now() < deadline, "/healthz never matched: {health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `/metrics` counts at least `count` completed runs (successful or with failed actions).
async fn wait_for_runs(base: &str, count: u32) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let exposition = metrics(base).await;
        let runs: f64 = ["success", "some_failed"]
            .iter()
            .filter_map(|outcome| exposition.value("autostop_runs_total", &[("outcome", outcome)]))
            .sum();
        if runs >= f64::from(count) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "fewer than {count} completed runs in /metrics");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_unreadable_scope_is_503_until_the_pending_occurrence_has_run() {
    let emulator = emulator(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let at = occurrence_in(Duration::from_secs(2));
    config_with_rules(dir.path(), &[("evening", "stop", "run-1", at)]);
    emulator.control().deny(&format!("/subscriptions/{}", unattended::SUB), actions::WORKSPACE_READ);
    let (daemon, base) = serve(&emulator, dir.path(), &["--recheck-interval", "1s"]).await;

    let degraded = wait_for_health_code(&base, 503).await;
    assert_eq!(degraded["status"], "degraded", "{degraded}");
    let problems = degraded["problems"].to_string();
    assert!(problems.contains("AuthorizationFailed"), "{degraded}");
    let exposition = metrics(&base).await;
    assert!(exposition.value("autostop_runs_total", &[("outcome", "some_failed")]).unwrap_or(0.0) >= 1.0);
    assert!(exposition.value("autostop_problems", &[]).unwrap_or(0.0) >= 1.0, "the problems are counted");
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Running"));

    // The cause is fixed: the daemon's recheck runs the pending occurrence, once, and health recovers.
    emulator.control().allow_all();
    wait_for_state(&emulator, &id("run-1"), &["Stopping", "Stopped"]).await;
    let healthy = wait_for_health_code(&base, 200).await;
    assert_eq!(healthy["status"], "ok", "{healthy}");
    assert_eq!(healthy["problems"], serde_json::json!([]));
    assert_eq!(daemon.terminate().await.code, Some(0));
    let history = history(dir.path()).await;
    let stops = results_for(&history, "run-1");
    assert!(stops.iter().filter(|result| *result == "succeeded").count() == 1, "{history:#}");
}

#[tokio::test]
async fn idle_http_connections_are_closed_after_the_header_timeout() {
    let emulator = emulator(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    config_with_rules(dir.path(), &[("later", "stop", "run-1", occurrence_in(Duration::from_secs(3600)))]);
    let (daemon, base) = serve(&emulator, dir.path(), &["--http-header-timeout", "1s"]).await;
    let addr = base.trim_start_matches("http://").to_owned();

    // A connection that never sends a header is closed by the server.
    let mut silent = idle_connection(&addr).await;
    assert!(closed_within(&mut silent, TIMEOUT).await, "a connection that sends nothing is kept open");

    // So is a kept-alive connection that sends no further request after its first one.
    let mut kept = idle_connection(&addr).await;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: keep-alive\r\n\r\n");
    tokio::io::AsyncWriteExt::write_all(&mut kept, request.as_bytes()).await.expect("request sent");
    assert!(closed_within(&mut kept, TIMEOUT).await, "an idle kept-alive connection is kept open");

    wait_for_health(&base, |health| health["status"] == "ok").await;
    let exit = daemon.terminate().await;
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once_and_the_daemon_stays_responsive() {
    let emulator = emulator(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    config_with_rules(dir.path(), &[("later", "stop", "run-1", occurrence_in(Duration::from_secs(3600)))]);
    // A header timeout far longer than the test's waits: any prompt close below comes from the cap.
    let args = ["--http-header-timeout", "10m", "--http-max-connections", "4"];
    let (daemon, base) = serve(&emulator, dir.path(), &args).await;
    let addr = base.trim_start_matches("http://").to_owned();

    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(idle_connection(&addr).await);
    }
    for extra in 0..20 {
        let mut stream = idle_connection(&addr).await;
        assert!(closed_within(&mut stream, Duration::from_secs(10)).await, "connection {extra} beyond the cap is kept");
    }
    for stream in &mut held {
        assert!(!closed_within(stream, Duration::from_millis(200)).await, "a connection within the cap was closed");
    }

    // The slots come back as connections end: the daemon answers again.
    drop(held);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let answer = tokio::time::timeout(TIMEOUT, reqwest::get(format!("{base}/healthz"))).await.expect("in time");
        if answer.is_ok_and(|response| response.status().is_success()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "/healthz never answered once the held connections ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exit = daemon.terminate().await;
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
}

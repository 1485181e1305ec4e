//! Start / stop / restart: 202 + Azure-AsyncOperation, operation-status polling, state transitions, failures.

use std::time::Duration;

use autostop_emulator::Options;
use reqwest::StatusCode;

use crate::util::{API, Answer, Harness, RESEARCH_WS, within};

/// POSTs an action and returns the operation-status URL from the 202.
async fn begin(h: &Harness, compute: &str, action: &str) -> String {
    let answer = h.post(&format!("{RESEARCH_WS}/computes/{compute}/{action}?{API}")).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    assert!(answer.body.is_null(), "202 has an empty body");
    assert!(!answer.headers.contains_key("location"), "like the recording: no Location");
    let url = answer.headers["azure-asyncoperation"].to_str().expect("ascii").to_owned();
    assert!(url.starts_with(&h.emulator.base_url()), "{url}");
    assert!(
        url.contains("/providers/Microsoft.MachineLearningServices/locations/eastus/computeOperationsStatus/"),
        "{url}"
    );
    assert!(url.contains("api-version=2024-04-01"), "{url}");
    url
}

async fn state(h: &Harness, compute: &str) -> String {
    let answer = h.get(&format!("{RESEARCH_WS}/computes/{compute}?{API}")).await;
    answer.body["properties"]["properties"]["state"].as_str().expect("state").to_owned()
}

async fn poll(h: &Harness, url: &str) -> Answer {
    let answer = h.get(url).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer
}

/// A slow transition so nothing finishes by itself during a test.
fn slow() -> Options {
    Options { transition: Duration::from_secs(3600), ..Options::default() }
}

#[tokio::test]
async fn stop_goes_through_stopping_and_polls_to_succeeded() {
    let h = Harness::start(slow()).await;
    assert_eq!(state(&h, "alice-ci").await, "Running");
    let url = begin(&h, "alice-ci", "stop").await;
    assert_eq!(poll(&h, &url).await.body["status"], "InProgress");
    assert_eq!(state(&h, "alice-ci").await, "Stopping");
    let id = format!("{RESEARCH_WS}/computes/alice-ci");
    assert_eq!(h.emulator.control().state(&id).as_deref(), Some("Stopping"));
    h.emulator.control().complete_operations();
    let done = poll(&h, &url).await;
    assert_eq!(done.body["status"], "Succeeded");
    assert!(done.body.get("error").is_none());
    assert_eq!(state(&h, "alice-ci").await, "Stopped");
    let compute = h.get(&format!("{RESEARCH_WS}/computes/alice-ci?{API}")).await;
    let last = &compute.body["properties"]["properties"]["lastOperation"];
    assert_eq!((last["operationName"].as_str(), last["operationStatus"].as_str()), (Some("Stop"), Some("Succeeded")));
}

#[tokio::test]
async fn start_and_restart_end_running() {
    let h = Harness::start(slow()).await;
    let url = begin(&h, "bob-ci", "start").await;
    assert_eq!(state(&h, "bob-ci").await, "Starting");
    h.emulator.control().complete_operations();
    assert_eq!(poll(&h, &url).await.body["status"], "Succeeded");
    assert_eq!(state(&h, "bob-ci").await, "Running");
    let url = begin(&h, "bob-ci", "restart").await;
    assert_eq!(state(&h, "bob-ci").await, "Restarting");
    h.emulator.control().complete_operations();
    assert_eq!(poll(&h, &url).await.body["status"], "Succeeded");
    assert_eq!(state(&h, "bob-ci").await, "Running");
}

#[tokio::test]
async fn job_running_instances_can_be_stopped() {
    let h = Harness::start(slow()).await;
    let id = format!("{RESEARCH_WS}/computes/dave-ci");
    assert!(h.emulator.control().set_state(&id, "JobRunning"));
    assert_eq!(state(&h, "dave-ci").await, "JobRunning");
    begin(&h, "dave-ci", "stop").await;
    h.emulator.control().complete_operations();
    assert_eq!(state(&h, "dave-ci").await, "Stopped");
}

#[tokio::test]
async fn transitions_finish_by_themselves_after_the_transition_time() {
    let h = Harness::start(Options { transition: Duration::from_millis(50), ..Options::default() }).await;
    let url = begin(&h, "alice-ci", "stop").await;
    within(async {
        loop {
            if poll(&h, &url).await.body["status"] == "Succeeded" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(state(&h, "alice-ci").await, "Stopped");
}

#[tokio::test]
async fn injected_failure_ends_failed_with_an_error_and_keeps_the_state() {
    let h = Harness::start(slow()).await;
    assert_eq!(h.emulator.control().fail_operations_for("alice-ci"), 1);
    let url = begin(&h, "alice-ci", "stop").await;
    h.emulator.control().complete_operations();
    let failed = poll(&h, &url).await;
    assert_eq!(failed.body["status"], "Failed");
    assert!(failed.body["error"]["code"].is_string() && failed.body["error"]["message"].is_string(), "{}", failed.body);
    assert_eq!(state(&h, "alice-ci").await, "Running");
    let compute = h.get(&format!("{RESEARCH_WS}/computes/alice-ci?{API}")).await;
    assert_eq!(compute.body["properties"]["properties"]["lastOperation"]["operationStatus"], "StopFailed");
}

#[tokio::test]
async fn actions_that_make_no_sense_are_refused() {
    let h = Harness::start(slow()).await;
    let stop_stopped = h.post(&format!("{RESEARCH_WS}/computes/bob-ci/stop?{API}")).await;
    assert_eq!(
        (stop_stopped.status, stop_stopped.code()),
        (StatusCode::BAD_REQUEST, "StopComputeInstanceOnlyAllowedInRunningState")
    );
    let start_running = h.post(&format!("{RESEARCH_WS}/computes/alice-ci/start?{API}")).await;
    assert_eq!(
        (start_running.status, start_running.code()),
        (StatusCode::BAD_REQUEST, "StartComputeInstanceOnlyAllowedInStoppedState")
    );
    begin(&h, "alice-ci", "stop").await;
    let during = h.post(&format!("{RESEARCH_WS}/computes/alice-ci/start?{API}")).await;
    assert_eq!((during.status, during.code()), (StatusCode::CONFLICT, "Conflict"));
    let cluster = h.post(&format!("{RESEARCH_WS}/computes/batch-cluster/stop?{API}")).await;
    assert_eq!((cluster.status, cluster.code()), (StatusCode::BAD_REQUEST, "BadRequest"));
}

#[tokio::test]
async fn unknown_operation_is_not_found() {
    let h = Harness::sample().await;
    let answer = h
        .get(&format!(
            "/subscriptions/00000000-0000-4000-8000-000000000001/providers/Microsoft.MachineLearningServices/locations/eastus/computeOperationsStatus/nope?{API}"
        ))
        .await;
    assert_eq!((answer.status, answer.code()), (StatusCode::NOT_FOUND, "ResourceNotFound"));
}

#[tokio::test]
async fn management_path_completes_operations_and_sets_state() {
    let h = Harness::start(slow()).await;
    let url = begin(&h, "alice-ci", "stop").await;
    let done = within(h.http.post(h.url("/_emulator/complete-operations")).send()).await.expect("answered");
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    assert_eq!(poll(&h, &url).await.body["status"], "Succeeded");
    let id = format!("{RESEARCH_WS}/computes/bob-ci");
    let set = within(
        h.http.post(h.url("/_emulator/state")).json(&serde_json::json!({"id": id, "state": "JobRunning"})).send(),
    )
    .await
    .expect("answered");
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    assert_eq!(state(&h, "bob-ci").await, "JobRunning");
    let unknown = within(h.http.post(h.url("/_emulator/nope")).send()).await.expect("answered");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn state_counts_show_the_whole_fleet_as_gets_would() {
    let h = Harness::start(slow()).await;
    let before = h.emulator.control().state_counts();
    let running = before.get("Running").copied().unwrap_or(0);
    assert!(running > 0, "the sample fleet has running instances: {before:?}");
    begin(&h, "alice-ci", "stop").await;
    let during = h.emulator.control().state_counts();
    assert_eq!(during.get("Running").copied().unwrap_or(0), running - 1, "{during:?}");
    assert_eq!(during.get("Stopping"), Some(&1), "{during:?}");
    assert_eq!(during.values().sum::<usize>(), before.values().sum::<usize>(), "every compute counted once");
    h.emulator.control().complete_operations();
    let answer = within(h.http.get(h.url("/_emulator/state-counts")).send()).await.expect("answered");
    assert_eq!(answer.status(), StatusCode::OK);
    let after: std::collections::BTreeMap<String, usize> = within(answer.json()).await.expect("a JSON object");
    assert_eq!(after.get("Stopping"), None, "{after:?}");
    assert_eq!(after.get("Stopped").copied().unwrap_or(0), before.get("Stopped").copied().unwrap_or(0) + 1);
}

#[tokio::test]
async fn concurrent_requests_are_all_answered() {
    let fleet = autostop_emulator::Fleet::generate(2, 2, 25, 1.0);
    let h = std::sync::Arc::new(
        Harness::start(Options { fleet, transition: Duration::from_secs(3600), ..Options::default() }).await,
    );
    let token = h.token().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..25 {
        let (h, token) = (h.clone(), token.clone());
        tasks.spawn(async move {
            let ws = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-000/providers/Microsoft.MachineLearningServices/workspaces/ws-000-000";
            let stop = h.send(reqwest::Method::POST, &format!("{ws}/computes/ci-000-000-{i:04}/stop?{API}"), Some(&token)).await;
            let list = h.send(reqwest::Method::GET, &format!("{ws}/computes?{API}"), Some(&token)).await;
            (stop.status, list.status)
        });
    }
    let mut answered = 0;
    while let Some(result) = within(tasks.join_next()).await {
        assert_eq!(result.expect("task ran"), (StatusCode::ACCEPTED, StatusCode::OK));
        answered += 1;
    }
    assert_eq!(answered, 25);
}

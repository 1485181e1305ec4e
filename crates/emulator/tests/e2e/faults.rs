//! Phase 2: ARM throttling, latency, injected faults, time scale, and a benchmark-sized fleet.

use std::time::{Duration, Instant};

use autostop_emulator::{Faults, Fleet, Options, ThrottleOptions};
use reqwest::{Method, StatusCode};

use crate::util::{API, Harness, RESEARCH_WS, within};

const SUB2_WORKSPACES: &str =
    "/subscriptions/00000000-0000-4000-8000-000000000002/providers/Microsoft.MachineLearningServices/workspaces";

fn header(answer: &crate::util::Answer, name: &str) -> Option<String> {
    answer.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

#[tokio::test]
async fn throttling_spends_per_subscription_buckets_and_answers_429() {
    let throttle = ThrottleOptions {
        read_burst: 3,
        read_refill_per_second: 0.001,
        write_burst: 1,
        write_refill_per_second: 0.001,
    };
    let h = Harness::start(Options { throttle: Some(throttle), ..Options::default() }).await;
    let token = h.token().await;
    let path = format!("{RESEARCH_WS}/computes?{API}");
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let answer = h.send(Method::GET, &path, Some(&token)).await;
        assert_eq!(answer.status, StatusCode::OK);
        remaining.push(header(&answer, "x-ms-ratelimit-remaining-subscription-reads"));
    }
    assert_eq!(remaining, [Some("2".to_owned()), Some("1".to_owned()), Some("0".to_owned())]);
    let throttled = h.send(Method::GET, &path, Some(&token)).await;
    assert_eq!((throttled.status, throttled.code()), (StatusCode::TOO_MANY_REQUESTS, "SubscriptionRequestsThrottled"));
    let retry_after: u64 = header(&throttled, "retry-after").expect("Retry-After").parse().expect("whole seconds");
    assert!(retry_after >= 1);
    assert_eq!(
        header(&throttled, "x-ms-ratelimit-remaining-subscription-reads").as_deref(),
        Some("0"),
        "a throttled answer says what is left, not ARM's nominal budget"
    );
    let other = h.send(Method::GET, &format!("{SUB2_WORKSPACES}?{API}"), Some(&token)).await;
    assert_eq!(other.status, StatusCode::OK, "another subscription has its own bucket");

    let write = h.send(Method::POST, &format!("{RESEARCH_WS}/computes/alice-ci/stop?{API}"), Some(&token)).await;
    assert_eq!(write.status, StatusCode::ACCEPTED, "writes have their own bucket");
    assert_eq!(header(&write, "x-ms-ratelimit-remaining-subscription-writes").as_deref(), Some("0"));
    let second = h.send(Method::POST, &format!("{RESEARCH_WS}/computes/dave-ci/stop?{API}"), Some(&token)).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&second, "x-ms-ratelimit-remaining-subscription-writes").as_deref(), Some("0"));

    h.emulator.control().set_throttle(None);
    assert_eq!(h.send(Method::GET, &path, Some(&token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn injected_server_errors_and_dropped_connections_hit_the_next_requests() {
    let h = Harness::sample().await;
    let token = h.token().await;
    let path = format!("{RESEARCH_WS}/computes/alice-ci?{API}");
    h.emulator.control().fail_next_requests(1);
    let failed = h.send(Method::GET, &path, Some(&token)).await;
    assert_eq!((failed.status, failed.code()), (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError"));
    assert!(failed.headers.contains_key("x-ms-request-id"));
    assert_eq!(h.send(Method::GET, &path, Some(&token)).await.status, StatusCode::OK);

    h.emulator.control().drop_next_connections(1);
    let dropped = within(h.http.get(h.url(&path)).bearer_auth(&token).send()).await;
    assert!(dropped.is_err(), "the connection was closed without an answer: {dropped:?}");
    assert_eq!(h.send(Method::GET, &path, Some(&token)).await.status, StatusCode::OK);
    let recorded = h.emulator.control().requests();
    assert!(recorded.iter().any(|r| r.status == 0 && r.path == path), "{recorded:?}");
}

#[tokio::test]
async fn failed_operation_rate_makes_operations_fail() {
    let options = Options { transition: Duration::from_secs(3600), ..Options::default() };
    let h = Harness::start(options).await;
    h.emulator.control().set_faults(Faults { failed_operation_rate: 1.0, ..Faults::default() });
    let accepted = h.post(&format!("{RESEARCH_WS}/computes/alice-ci/stop?{API}")).await;
    let url = accepted.headers["azure-asyncoperation"].to_str().expect("ascii").to_owned();
    h.emulator.control().complete_operations();
    let status = h.get(&url).await;
    assert_eq!(status.body["status"], "Failed", "{}", status.body);
    assert!(status.body["error"]["message"].is_string());
}

#[tokio::test]
async fn early_expiring_tokens_are_refused_while_advertising_their_lifetime() {
    let faults = Faults { token_early_expiry_ms: Some(0), ..Faults::default() };
    let h = Harness::start(Options { faults, ..Options::default() }).await;
    let e = &h.emulator;
    let answer = h
        .form(
            &format!("/{}/oauth2/v2.0/token", e.tenant_id()),
            &[
                ("client_id", e.client_id()),
                ("client_secret", e.client_secret()),
                ("grant_type", "client_credentials"),
                ("scope", "https://management.azure.com/.default"),
            ],
        )
        .await;
    assert_eq!(answer.body["expires_in"], 3600);
    let token = answer.body["access_token"].as_str().expect("token");
    let refused = h.send(Method::GET, &format!("{RESEARCH_WS}?{API}"), Some(token)).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::UNAUTHORIZED, "ExpiredAuthenticationToken"));
}

#[tokio::test]
async fn latency_delays_every_request() {
    let h = Harness::sample().await;
    let token = h.token().await;
    h.emulator.control().set_latency(Duration::from_millis(200));
    let started = Instant::now();
    let answer = h.send(Method::GET, &format!("{RESEARCH_WS}?{API}"), Some(&token)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200), "a lower bound only: latency is added, never skipped");
}

#[tokio::test]
async fn time_scale_runs_transitions_faster_than_real_time() {
    // A one-hour transition at 100 000x lasts 36 ms of real time: it ends by itself within the test's timeout.
    let options = Options { transition: Duration::from_secs(3600), time_scale: 100_000.0, ..Options::default() };
    let h = Harness::start(options).await;
    let accepted = h.post(&format!("{RESEARCH_WS}/computes/alice-ci/stop?{API}")).await;
    let url = accepted.headers["azure-asyncoperation"].to_str().expect("ascii").to_owned();
    within(async {
        while h.get(&url).await.body["status"] != "Succeeded" {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn management_path_sets_faults_and_throttling() {
    let h = Harness::sample().await;
    let token = h.token().await;
    let post = |path: &str, body: serde_json::Value| {
        let request = h.http.post(h.url(path)).json(&body);
        async move { within(request.send()).await.expect("answered").status() }
    };
    assert_eq!(post("/_emulator/fail-requests", serde_json::json!({"count": 1})).await, StatusCode::NO_CONTENT);
    let failed = h.send(Method::GET, &format!("{RESEARCH_WS}?{API}"), Some(&token)).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    let throttle = serde_json::json!({"read_burst": 1, "read_refill_per_second": 0.001});
    assert_eq!(post("/_emulator/throttle", throttle).await, StatusCode::NO_CONTENT);
    assert_eq!(h.send(Method::GET, &format!("{RESEARCH_WS}?{API}"), Some(&token)).await.status, StatusCode::OK);
    let throttled = h.send(Method::GET, &format!("{RESEARCH_WS}?{API}"), Some(&token)).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let faults = serde_json::json!({"server_error_rate": 0.5, "unknown": 1});
    assert_eq!(post("/_emulator/faults", faults).await, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused");
}

#[tokio::test]
async fn benchmark_fleet_of_ten_thousand_instances_is_served() {
    let fleet = Fleet::generate(10, 10, 100, 0.3);
    let subscriptions: Vec<String> = fleet.subscriptions.iter().map(|s| s.id.clone()).collect();
    let h = Harness::start(Options { fleet, ..Options::default() }).await;
    let token = h.token().await;
    let (mut instances, mut running) = (0, 0);
    for sub in subscriptions {
        let list = format!("/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/workspaces?{API}");
        let workspaces = h.send(Method::GET, &list, Some(&token)).await;
        let workspaces = workspaces.body["value"].as_array().expect("value").clone();
        assert_eq!(workspaces.len(), 10);
        for ws in workspaces {
            let mut next = Some(format!("{}/computes?{API}", ws["id"].as_str().expect("id")));
            while let Some(target) = next.take() {
                let page = h.send(Method::GET, &target, Some(&token)).await;
                assert_eq!(page.status, StatusCode::OK);
                for compute in page.body["value"].as_array().expect("value") {
                    instances += 1;
                    running += usize::from(compute["properties"]["properties"]["state"] == "Running");
                }
                next = page.body["nextLink"].as_str().map(str::to_owned);
            }
        }
    }
    assert_eq!((instances, running), (10_000, 3_000));
}

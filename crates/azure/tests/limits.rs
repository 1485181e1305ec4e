//! Retries, throttling and the counters, against a scripted transport: 429 with Retry-After, 5xx, bounded
//! retries, and requests held back when ARM says the budget is spent.

use crate::fake::{FixedToken, Reply, Script, client_with_retries, within};
use autostop_azure::throttle::BucketSize;
use autostop_azure::{ArmClient, ArmClientOptions, ClientOptions, Stats, ThrottleOptions, WorkspaceId};
use azure_core::http::{ExponentialRetryOptions, RetryOptions, Transport};
use azure_core::time::Duration;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const WS: &str = "/subscriptions/9e223dbe-3399-4e19-88eb-0975f02ac87f/resourceGroups/ml-test/providers/Microsoft.MachineLearningServices/workspaces/ws1";

fn ws() -> WorkspaceId {
    WS.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn quick_retries(max_retries: u32) -> RetryOptions {
    RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: Duration::milliseconds(1),
        max_retries,
        max_total_elapsed: Duration::seconds(20),
        max_delay: Duration::milliseconds(5),
    })
}

/// Answers `failures` in turn, then 200 with an empty list.
fn failing_then_ok(failures: Vec<Reply>) -> Arc<Script> {
    let calls = AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(failures.into_iter().map(Some).collect::<Vec<_>>());
    Script::new(move |_, _| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        let next = failures.lock().ok().and_then(|mut f| f.get_mut(n).and_then(Option::take));
        next.unwrap_or_else(|| Reply::json(200, json!({"value": []})))
    })
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_counted() {
    let busy = || Reply {
        status: 429,
        headers: vec![("retry-after", "0".into())],
        body: json!({"error": {"code": "TooManyRequests", "message": "slow down"}}).to_string(),
    };
    let script = failing_then_ok(vec![busy()]);
    let arm = client_with_retries(script.clone(), Arc::new(FixedToken::default()), quick_retries(3));
    within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(arm.stats(), Stats { requests: 2, retries: 1, throttled: 1, delayed: 0 });
}

#[tokio::test]
async fn server_errors_are_retried() {
    let script = failing_then_ok(vec![Reply::empty(503, vec![]), Reply::empty(500, vec![])]);
    let arm = client_with_retries(script.clone(), Arc::new(FixedToken::default()), quick_retries(3));
    within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(script.log().len(), 3);
    assert_eq!(arm.stats(), Stats { requests: 3, retries: 2, throttled: 0, delayed: 0 });
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_error_is_reported() {
    let script =
        Script::new(|_, _| Reply::json(500, json!({"error": {"code": "InternalServerError", "message": "try later"}})));
    let arm = client_with_retries(script.clone(), Arc::new(FixedToken::default()), quick_retries(2));
    let err = within(arm.list_computes(&ws())).await.err().unwrap_or_else(|| panic!("expected 500"));
    assert_eq!(err.to_string(), format!("{WS}: InternalServerError: try later (HTTP 500)"));
    assert_eq!(script.log().len(), 3, "one try and two retries");
    assert_eq!(arm.stats().retries, 2);
}

#[tokio::test]
async fn a_spent_budget_holds_the_next_request() {
    let script = Script::new(|_, _| Reply {
        status: 200,
        headers: vec![("x-ms-ratelimit-remaining-subscription-reads", "0".into())],
        body: json!({"value": []}).to_string(),
    });
    // A slow refill (1 per second) so that the second call comes well before the bucket has a token again.
    let reads = BucketSize { burst: 250.0, per_second: 1.0 };
    let client_options = ClientOptions { transport: Some(Transport::new(script)), ..Default::default() };
    let options = ArmClientOptions {
        client_options,
        throttle: ThrottleOptions { reads, ..Default::default() },
        ..Default::default()
    };
    let arm = ArmClient::new("https://arm.test", Arc::new(FixedToken::default()), Some(options))
        .unwrap_or_else(|e| panic!("{e}"));
    within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(arm.stats().delayed, 0);
    within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(arm.stats(), Stats { requests: 2, retries: 0, throttled: 0, delayed: 1 });
}

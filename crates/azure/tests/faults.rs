//! The client against the emulator's throttling and faults: expired tokens, 5xx, dropped connections, 429s, and
//! a client-side budget that keeps it from being throttled at all.

use crate::fake::within;
use crate::rig::{Rig, fleet, workspace_id};
use autostop_azure::throttle::BucketSize;
use autostop_azure::{ThrottleOptions, WorkspaceId};
use azure_core::http::{ExponentialRetryOptions, RetryOptions};

fn ws() -> WorkspaceId {
    workspace_id().parse().unwrap_or_else(|e| panic!("{e}"))
}

fn quick_retries() -> RetryOptions {
    RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(1),
        max_retries: 4,
        max_total_elapsed: azure_core::time::Duration::seconds(20),
        max_delay: azure_core::time::Duration::milliseconds(10),
    })
}

#[tokio::test]
async fn an_expired_token_is_replaced_by_a_fresh_one() {
    let rig = Rig::start(fleet(1), 50).await;
    let arm = rig.client_secret_arm();
    within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}"));
    rig.emulator.control().expire_tokens();
    let computes = within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}")).computes;
    assert_eq!(computes.len(), 1);
    let requests = rig.emulator.control().requests();
    let token_requests = requests.iter().filter(|r| r.path.contains("/oauth2/v2.0/token")).count();
    assert_eq!(token_requests, 2, "one token at first, one fresh token after the 401");
    let statuses: Vec<u16> = requests.iter().filter(|r| r.path.contains("/computes")).map(|r| r.status).collect();
    assert_eq!(statuses, [200, 401, 200]);
    assert_eq!(arm.stats().retries, 1);
    rig.emulator.shutdown().await;
}

#[tokio::test]
async fn tokens_are_reused_until_five_minutes_before_they_expire() {
    let token_requests =
        |rig: &Rig| rig.emulator.control().requests().iter().filter(|r| r.path.contains("/oauth2/v2.0/token")).count();
    for (lifetime, expected) in [(3600, 1), (240, 3)] {
        let rig = Rig::start_with(autostop_emulator::Options {
            fleet: fleet(1),
            token_lifetime: std::time::Duration::from_secs(lifetime),
            ..Default::default()
        })
        .await;
        let arm = rig.client_secret_arm();
        for _ in 0..3 {
            within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(token_requests(&rig), expected, "tokens living {lifetime} s");
        rig.emulator.shutdown().await;
    }
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried() {
    let rig = Rig::start(fleet(1), 50).await;
    let arm = rig.arm_with(rig.client_secret(), |o| o.client_options.retry = quick_retries());
    rig.emulator.control().fail_next_requests(2);
    within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(arm.stats().retries, 2);
    rig.emulator.control().drop_next_connections(1);
    within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(arm.stats().retries, 3);
    // Over HTTP/2 the drop resets the request's stream, which the client retries as it retries a closed connection.
    let served = rig.emulator.control().requests();
    assert!(served.iter().any(|r| r.status == 0), "{served:?}");
    assert!(served.iter().all(|r| r.version == autostop_emulator::HttpVersion::Http2), "{served:?}");
    rig.emulator.shutdown().await;
}

fn emulator_buckets() -> autostop_emulator::ThrottleOptions {
    autostop_emulator::ThrottleOptions {
        read_burst: 3,
        read_refill_per_second: 4.0,
        write_burst: 3,
        write_refill_per_second: 4.0,
    }
}

#[tokio::test]
async fn throttled_requests_are_retried_after_retry_after() {
    let rig = Rig::start(fleet(1), 50).await;
    let buckets =
        autostop_emulator::ThrottleOptions { read_burst: 2, read_refill_per_second: 1.0, ..emulator_buckets() };
    rig.emulator.control().set_throttle(Some(buckets));
    let arm = rig.arm_with(rig.client_secret(), |o| o.client_options.retry = quick_retries());
    for _ in 0..3 {
        within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let stats = arm.stats();
    assert!(stats.throttled >= 1, "{stats:?}");
    assert_eq!(stats.retries, stats.throttled, "{stats:?}");
    rig.emulator.shutdown().await;
}

#[tokio::test]
async fn a_budget_that_mirrors_arm_is_never_throttled() {
    let rig = Rig::start(fleet(1), 50).await;
    rig.emulator.control().set_throttle(Some(emulator_buckets()));
    let arm = rig.arm_with(rig.client_secret(), |o| {
        o.client_options.retry = RetryOptions::none();
        // Smaller and slower than the emulator's buckets (3 burst, 4 per second): ARM never has to say no.
        let bucket = BucketSize { burst: 2.0, per_second: 2.0 };
        o.throttle = ThrottleOptions { reads: bucket, writes: bucket, ..ThrottleOptions::default() };
    });
    for _ in 0..5 {
        within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let stats = arm.stats();
    assert_eq!(stats.throttled, 0, "{stats:?}");
    assert!(stats.delayed >= 1, "the client held requests itself: {stats:?}");
    assert!(rig.emulator.control().requests().iter().all(|r| r.status != 429));
    rig.emulator.shutdown().await;
}

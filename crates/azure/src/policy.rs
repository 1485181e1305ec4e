//! The per-try pipeline policy that keeps each request inside the client-side budget ([`crate::throttle`]),
//! feeds ARM's rate-limit headers and 429s back into it, and counts requests, retries and throttles.

use crate::compute::throttle::{ComputeThrottle, group_of, parse_remaining_resource};
use crate::throttle::{Budget, Throttle};
use async_trait::async_trait;
use azure_core::http::policies::{Policy, PolicyResult, RetryPolicyCount};
use azure_core::http::{Context, Method, Request, StatusCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counters of what a client sent, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests sent to ARM (every try counts).
    pub requests: u64,
    /// Tries beyond the first of a call (429, 5xx, connection errors, an expired token).
    pub retries: u64,
    /// 429 answers received.
    pub throttled: u64,
    /// Requests held back by the client-side budget before being sent.
    pub delayed: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    delayed: AtomicU64,
}

impl Counters {
    /// Counts a retry made above the pipeline (a fresh token after an expired one).
    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
        }
    }
}

/// Waits for the budget before each try, then learns from the answer.
#[derive(Debug)]
pub(crate) struct BudgetPolicy {
    pub(crate) throttle: Arc<Mutex<Throttle>>,
    pub(crate) compute: Arc<Mutex<ComputeThrottle>>,
    pub(crate) counters: Arc<Counters>,
}

/// The subscription a request spends the budget of: the segment after `/subscriptions/`.
fn subscription_of(request: &Request) -> Option<String> {
    let mut segments = request.url().path_segments()?;
    segments.by_ref().find(|s| s.eq_ignore_ascii_case("subscriptions"))?;
    segments.next().filter(|s| !s.is_empty()).map(str::to_ascii_lowercase)
}

fn budget_of(method: Method) -> Budget {
    match method {
        Method::Get | Method::Head => Budget::Read,
        _ => Budget::Write,
    }
}

impl BudgetPolicy {
    fn with_throttle<T>(&self, f: impl FnOnce(&mut Throttle) -> T) -> Option<T> {
        self.throttle.lock().ok().map(|mut throttle| f(&mut throttle))
    }
}

#[async_trait]
impl Policy for BudgetPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        if ctx.value::<RetryPolicyCount>().is_some_and(|count| **count > 0) {
            self.counters.count_retry();
        }
        let subscription = subscription_of(request);
        let budget = budget_of(request.method());
        let group = group_of(request.method().as_ref(), request.url().path());
        if let (Some(sub), Some(group)) = (&subscription, &group) {
            let wait = self.compute.lock().map(|c| c.wait(sub, group, Instant::now())).unwrap_or_default();
            if !wait.is_zero() {
                self.counters.delayed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(subscription = %sub, %group, ?wait, "holding a request inside the Compute RP's limits");
                tokio::time::sleep(wait).await;
            }
        }
        if let Some(sub) = &subscription {
            let wait = self.with_throttle(|t| t.acquire(sub, budget, Instant::now())).unwrap_or_default();
            if !wait.is_zero() {
                self.counters.delayed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(subscription = %sub, ?budget, ?wait, "holding a request inside the ARM budget");
                tokio::time::sleep(wait).await;
            }
        }
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let response = next[0].send(ctx, request, &next[1..]).await?;
        if let Some(sub) = &subscription {
            self.with_throttle(|t| t.observe_answered(sub, budget, Instant::now()));
            let headers = response.headers();
            let remaining =
                headers.get_optional_str(&budget.remaining_header().into()).and_then(|v| v.trim().parse::<u64>().ok());
            if let Some(remaining) = remaining {
                self.with_throttle(|t| t.observe_remaining(sub, budget, remaining, Instant::now()));
            }
            let compute_limits = headers.get_optional_str(&"x-ms-ratelimit-remaining-resource".into());
            if let (Some(group), Some(value)) = (&group, compute_limits) {
                let remaining = parse_remaining_resource(value);
                if let Ok(mut compute) = self.compute.lock() {
                    compute.observe_remaining(sub, group, &remaining, Instant::now());
                }
            }
            if response.status() == StatusCode::TooManyRequests {
                self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                let retry_after = headers
                    .get_optional_str(&"retry-after".into())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(Duration::from_secs(1), Duration::from_secs);
                // A Compute RP limit holds its own group of requests; ARM's own 429 holds the subscription budget.
                match &group {
                    Some(group) if compute_limits.is_some() => {
                        if let Ok(mut compute) = self.compute.lock() {
                            compute.observe_throttled(sub, group, retry_after, Instant::now());
                        }
                    }
                    _ => {
                        self.with_throttle(|t| t.observe_throttled(sub, budget, retry_after, Instant::now()));
                    }
                }
            }
        }
        Ok(response)
    }
}

//! The Compute resource provider's own throttling, mirrored client-side (pure: `now` is passed in).
//!
//! Besides ARM's subscription buckets ([`crate::throttle`]), Compute counts requests against named policies per
//! resource and per subscription over 3- and 30-minute windows and reports what is left in
//! `x-ms-ratelimit-remaining-resource` (`Microsoft.Compute/DeleteVMSubscriptionMaximum;1499,...`). When a policy
//! is exhausted it answers 429 with `Retry-After`. The client groups Compute requests by kind (the power action,
//! reads, operation polls) per subscription: after a 429 the group is held until `Retry-After`; after a response
//! that shows one of its policies at 0, it is held for [`ComputeThrottleOptions::exhausted_hold`] so that the
//! requests already queued do not all bounce off the limit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How the client reacts to the Compute RP's policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComputeThrottleOptions {
    /// How long a group of requests waits after a response showed one of its policies exhausted (no
    /// `Retry-After` comes with it). Default 10 s.
    pub exhausted_hold: Duration,
}

impl Default for ComputeThrottleOptions {
    fn default() -> Self {
        ComputeThrottleOptions { exhausted_hold: Duration::from_secs(10) }
    }
}

/// Reads `x-ms-ratelimit-remaining-resource`: `(policy, remaining)` pairs, the policy without its
/// `Microsoft.Compute/` prefix. Pairs that do not read are left out.
pub fn parse_remaining_resource(value: &str) -> Vec<(String, u64)> {
    value
        .split(',')
        .filter_map(|pair| {
            let (policy, remaining) = pair.trim().rsplit_once(';')?;
            let policy = policy.rsplit_once('/').map_or(policy, |(_, name)| name);
            Some((policy.to_string(), remaining.trim().parse().ok()?))
        })
        .collect()
}

/// The group of a Compute request, from its method and path: `POST deallocate`, `GET operations`, `GET`... (the
/// policies Compute counts it against depend on this). `None` for a request to another provider.
pub fn group_of(method: &str, path: &str) -> Option<String> {
    let lower = path.to_ascii_lowercase();
    let (_, rest) = lower.split_once("/providers/microsoft.compute/")?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let what = match (method.to_ascii_uppercase().as_str(), segments.as_slice()) {
        ("GET", ["locations", _, "operations", ..]) => "operations".to_string(),
        ("POST", [collection, _, verb]) => format!("{collection}/{verb}"),
        (_, [collection, ..]) => (*collection).to_string(),
        _ => String::new(),
    };
    Some(format!("{} {what}", method.to_ascii_uppercase()))
}

/// Holds per (subscription, group).
#[derive(Clone, Debug, Default)]
pub struct ComputeThrottle {
    options: ComputeThrottleOptions,
    holds: HashMap<(String, String), Instant>,
}

impl ComputeThrottle {
    /// No holds yet.
    pub fn new(options: ComputeThrottleOptions) -> Self {
        ComputeThrottle { options, holds: HashMap::new() }
    }

    /// How long a request of `group` in `subscription` must wait at `now`.
    pub fn wait(&self, subscription: &str, group: &str, now: Instant) -> Duration {
        self.holds
            .get(&(subscription.to_ascii_lowercase(), group.to_string()))
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
    }

    fn hold(&mut self, subscription: &str, group: &str, until: Instant) {
        let entry = self.holds.entry((subscription.to_ascii_lowercase(), group.to_string())).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// A response to a request of `group` reported `remaining` (the parsed header): hold the group when a
    /// policy is at 0.
    pub fn observe_remaining(&mut self, subscription: &str, group: &str, remaining: &[(String, u64)], now: Instant) {
        if remaining.iter().any(|(_, left)| *left == 0) {
            self.hold(subscription, group, now + self.options.exhausted_hold);
        }
    }

    /// Compute answered 429 with `retry_after`: hold the group until then.
    pub fn observe_throttled(&mut self, subscription: &str, group: &str, retry_after: Duration, now: Instant) {
        self.hold(subscription, group, now + retry_after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_recorded_headers() {
        let recorded = "Microsoft.Compute/UpdateVMSubscriptionMaximum;1499,Microsoft.Compute/UpdateVMResource;11";
        assert_eq!(
            parse_remaining_resource(recorded),
            [("UpdateVMSubscriptionMaximum".to_string(), 1499), ("UpdateVMResource".to_string(), 11)]
        );
        assert_eq!(parse_remaining_resource("Microsoft.Compute/GetOperation3Min;x, junk"), []);
    }

    #[test]
    fn groups_follow_the_action() {
        let vm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
        assert_eq!(group_of("POST", &format!("{vm}/deallocate")).as_deref(), Some("POST virtualmachines/deallocate"));
        assert_eq!(group_of("get", vm).as_deref(), Some("GET virtualmachines"));
        assert_eq!(
            group_of("GET", "/subscriptions/s/providers/Microsoft.Compute/locations/eastus/operations/1").as_deref(),
            Some("GET operations")
        );
        assert_eq!(group_of("GET", "/subscriptions/s/providers/Microsoft.MachineLearningServices/workspaces"), None);
    }

    #[test]
    fn exhausted_policies_and_429s_hold_only_their_group_and_subscription() {
        let t0 = Instant::now();
        let mut throttle = ComputeThrottle::new(ComputeThrottleOptions { exhausted_hold: Duration::from_secs(4) });
        let group = "POST virtualmachines/deallocate";
        throttle.observe_remaining("S", group, &[("DeleteVMResource".into(), 3)], t0);
        assert_eq!(throttle.wait("s", group, t0), Duration::ZERO);
        throttle.observe_remaining("S", group, &[("DeleteVMResource".into(), 0)], t0);
        assert_eq!(throttle.wait("s", group, t0), Duration::from_secs(4));
        assert_eq!(throttle.wait("s", "GET virtualmachines", t0), Duration::ZERO);
        assert_eq!(throttle.wait("other", group, t0), Duration::ZERO);
        throttle.observe_throttled("s", group, Duration::from_secs(17), t0);
        assert_eq!(throttle.wait("s", group, t0 + Duration::from_secs(7)), Duration::from_secs(10));
        assert_eq!(throttle.wait("s", group, t0 + Duration::from_secs(20)), Duration::ZERO);
    }
}

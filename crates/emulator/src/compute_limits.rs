//! The Compute resource provider's own throttling, beside ARM's subscription buckets: named policies that count
//! requests per resource or per subscription over fixed 3-minute and 30-minute windows, reported in
//! `x-ms-ratelimit-remaining-resource` (`Microsoft.Compute/UpdateVMSubscriptionMaximum;1499,...`) and answered 429
//! with `Retry-After` (the end of the exhausted window) when throttling is on.
//!
//! Pure: `now` (emulated time) is passed in.

use std::collections::HashMap;
use std::time::Duration;

/// The short window (per-resource policies, `...3Min`).
pub(crate) const SHORT_WINDOW: Duration = Duration::from_secs(3 * 60);
/// The long window (subscription maxima, `...30Min`).
pub(crate) const LONG_WINDOW: Duration = Duration::from_secs(30 * 60);

/// How many requests each Compute policy allows per window. `Default` holds the counts the recordings show as
/// fresh budgets (`UpdateVMResource;11` after one call of 12, `UpdateVMSubscriptionMaximum;1499`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComputeLimits {
    /// Power actions per VM or scale set per 3 minutes (`UpdateVMResource`, `DeleteVMResource`).
    pub actions_per_resource: u32,
    /// Power actions per subscription per 30 minutes (`UpdateVMSubscriptionMaximum`, `DeleteVMSubscriptionMaximum`,
    /// `VMScaleSetActionsSubscriptionMaximum`).
    pub actions_per_subscription: u32,
    /// Reads of one VM or scale set per 3 minutes (`LowCostGetResource`, `GetVMScaleSetResource`).
    pub reads_per_resource: u32,
    /// Reads per subscription per 30 minutes (`LowCostGetSubscriptionMaximum`, `GetVMScaleSetSubscriptionMaximum`).
    pub reads_per_subscription: u32,
    /// Polls of one operation per 3 minutes (`GetOperationResource`).
    pub polls_per_operation: u32,
    /// Polls per subscription per 30 minutes (`GetOperationSubscriptionMaximum`).
    pub polls_per_subscription: u32,
    /// Lists per subscription per 3 minutes (`HighCostGet3Min`).
    pub lists_per_3min: u32,
    /// Lists per subscription per 30 minutes (`HighCostGet30Min`).
    pub lists_per_30min: u32,
}

impl Default for ComputeLimits {
    fn default() -> ComputeLimits {
        ComputeLimits {
            actions_per_resource: 12,
            actions_per_subscription: 1500,
            reads_per_resource: 36,
            reads_per_subscription: 24_000,
            polls_per_operation: 45,
            polls_per_subscription: 15_000,
            lists_per_3min: 140,
            lists_per_30min: 700,
        }
    }
}

/// One policy a request counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Its name after `Microsoft.Compute/`, e.g. `UpdateVMResource`.
    pub name: String,
    /// What it counts per: a resource id or a subscription, lowercase.
    pub key: String,
    /// Its window.
    pub window: Duration,
    /// How many requests the window allows.
    pub limit: u32,
}

/// The verdict on one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Charge {
    /// Served: the `x-ms-ratelimit-remaining-resource` value.
    Allowed {
        /// `Microsoft.Compute/Policy;remaining,...`.
        header: String,
    },
    /// Refused: the exhausted policy and when its window ends.
    Throttled {
        /// The header value (the exhausted policy at 0).
        header: String,
        /// The exhausted policy's name.
        policy: String,
        /// Its limit.
        allowed: u32,
        /// Requests counted in its window, this one included.
        measured: u32,
        /// Time until its window ends.
        retry_after: Duration,
    },
}

/// The counters of every policy and key, in fixed windows.
#[derive(Debug, Default)]
pub(crate) struct ComputeCounters {
    windows: HashMap<(String, String), (Duration, u32)>,
}

impl ComputeCounters {
    /// Counts one request of `cost` against every policy at `now`. With `enforce`, a request that would exceed a
    /// policy is refused (and counted as measured, not spent); without it, it is always served.
    pub fn charge(&mut self, policies: &[Policy], cost: u32, now: Duration, enforce: bool) -> Charge {
        let mut used = Vec::with_capacity(policies.len());
        for policy in policies {
            let entry = self.windows.entry((policy.name.clone(), policy.key.clone())).or_insert((now, 0));
            if now.saturating_sub(entry.0) >= policy.window {
                *entry = (now, 0);
            }
            used.push(*entry);
        }
        let exhausted = policies.iter().zip(&used).find(|(policy, (_, count))| count + cost > policy.limit);
        if let (true, Some((policy, (start, count)))) = (enforce, exhausted) {
            let header = header(policies.iter().zip(&used).map(|(p, (_, c))| {
                let left = if p.name == policy.name { 0 } else { p.limit.saturating_sub(*c) };
                (p.name.as_str(), left)
            }));
            return Charge::Throttled {
                header,
                policy: policy.name.clone(),
                allowed: policy.limit,
                measured: count + cost,
                retry_after: (*start + policy.window).saturating_sub(now),
            };
        }
        let mut remaining = Vec::with_capacity(policies.len());
        for policy in policies {
            let entry = self.windows.entry((policy.name.clone(), policy.key.clone())).or_insert((now, 0));
            entry.1 = entry.1.saturating_add(cost);
            remaining.push((policy.name.as_str(), policy.limit.saturating_sub(entry.1)));
        }
        Charge::Allowed { header: header(remaining.into_iter()) }
    }
}

fn header<'a>(pairs: impl Iterator<Item = (&'a str, u32)>) -> String {
    pairs.map(|(name, left)| format!("Microsoft.Compute/{name};{left}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies() -> Vec<Policy> {
        vec![
            Policy { name: "UpdateVMSubscriptionMaximum".into(), key: "s".into(), window: LONG_WINDOW, limit: 5 },
            Policy { name: "UpdateVMResource".into(), key: "vm1".into(), window: SHORT_WINDOW, limit: 2 },
        ]
    }

    #[test]
    fn counts_down_then_throttles_until_the_window_ends() {
        let mut counters = ComputeCounters::default();
        let t0 = Duration::from_secs(10);
        let first = counters.charge(&policies(), 1, t0, true);
        assert_eq!(
            first,
            Charge::Allowed {
                header: "Microsoft.Compute/UpdateVMSubscriptionMaximum;4,Microsoft.Compute/UpdateVMResource;1".into()
            }
        );
        counters.charge(&policies(), 1, t0, true);
        let refused = counters.charge(&policies(), 1, t0 + Duration::from_secs(60), true);
        match refused {
            Charge::Throttled { policy, allowed, measured, retry_after, header } => {
                assert_eq!((policy.as_str(), allowed, measured), ("UpdateVMResource", 2, 3));
                assert_eq!(retry_after, Duration::from_secs(120));
                assert!(header.ends_with("UpdateVMResource;0"), "{header}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let later = counters.charge(&policies(), 1, t0 + SHORT_WINDOW, true);
        assert!(matches!(later, Charge::Allowed { header } if header.contains("UpdateVMResource;1")));
    }

    #[test]
    fn without_enforcement_requests_are_counted_but_served() {
        let mut counters = ComputeCounters::default();
        for _ in 0..3 {
            counters.charge(&policies(), 1, Duration::ZERO, false);
        }
        let charge = counters.charge(&policies(), 1, Duration::ZERO, false);
        assert!(matches!(charge, Charge::Allowed { header } if header.contains("UpdateVMResource;0")));
    }
}

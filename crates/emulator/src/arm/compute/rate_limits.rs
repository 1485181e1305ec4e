//! The Compute RP's request budgets: which `x-ms-ratelimit-remaining-resource` policies a request counts against,
//! and the 429 `OperationNotAllowed` it answers once one is spent.

use std::time::Duration;

use serde_json::json;

use super::route::ComputeRoute;
use crate::arm_error::ArmError;
use crate::compute_limits::{ComputeLimits, LONG_WINDOW, Policy, SHORT_WINDOW};
use crate::machines::{Machine, MachineAction, MachineKind};
use crate::server::Shared;

/// The Compute policies a request counts against (none for autoscale settings).
pub(super) fn policies(route: &ComputeRoute, target: Option<&Machine>, limits: &ComputeLimits) -> Vec<Policy> {
    let policy = |name: &str, key: &str, window: Duration, limit: u32| Policy {
        name: name.to_owned(),
        key: key.to_ascii_lowercase(),
        window,
        limit,
    };
    let sub = route.subscription();
    let pair = |group: &str, id: &str, per_sub: u32, per_resource: u32| {
        vec![
            policy(&format!("{group}SubscriptionMaximum"), sub, LONG_WINDOW, per_sub),
            policy(&format!("{group}Resource"), id, SHORT_WINDOW, per_resource),
        ]
    };
    let id = target.map_or("", |machine| machine.id.as_str());
    match route {
        ComputeRoute::List { .. } => vec![
            policy("HighCostGet3Min", sub, SHORT_WINDOW, limits.lists_per_3min),
            policy("HighCostGet30Min", sub, LONG_WINDOW, limits.lists_per_30min),
        ],
        ComputeRoute::Get { kind: MachineKind::Vm, .. } | ComputeRoute::InstanceView { kind: MachineKind::Vm, .. } => {
            pair("LowCostGet", id, limits.reads_per_subscription, limits.reads_per_resource)
        }
        ComputeRoute::Get { .. } | ComputeRoute::InstanceView { .. } => {
            pair("GetVMScaleSet", id, limits.reads_per_subscription, limits.reads_per_resource)
        }
        ComputeRoute::Action { kind: MachineKind::ScaleSet, .. } => vec![
            policy("VMScaleSetActionsSubscriptionMaximum", sub, LONG_WINDOW, limits.actions_per_subscription),
            policy("VMScaleSetActionsResource", id, SHORT_WINDOW, limits.actions_per_resource),
        ],
        ComputeRoute::Action { action: MachineAction::Deallocate, .. } => {
            pair("DeleteVM", id, limits.actions_per_subscription, limits.actions_per_resource)
        }
        ComputeRoute::Action { .. } => {
            pair("UpdateVM", id, limits.actions_per_subscription, limits.actions_per_resource)
        }
        ComputeRoute::Operation { operation_id, .. } => {
            let mut polls =
                pair("GetOperation", operation_id, limits.polls_per_subscription, limits.polls_per_operation);
            polls.reverse();
            polls
        }
        ComputeRoute::Autoscale { .. } => Vec::new(),
    }
}

/// The Compute RP's 429: `OperationNotAllowed` with a `TooManyRequests` detail naming the policy.
pub(super) fn throttled(
    shared: &Shared,
    subscription: &str,
    policy: &str,
    allowed: u32,
    measured: u32,
    retry_after: Duration,
) -> ArmError {
    let seconds = shared.clock.real(retry_after).as_secs_f64().ceil().max(1.0) as u64;
    let detail = json!({
        "operationGroup": policy,
        "startTime": shared.wall(),
        "endTime": crate::clock::arm_timestamp(
            jiff::Timestamp::now() + jiff::SignedDuration::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX / 2))
        ),
        "allowedRequestCount": allowed,
        "measuredRequestCount": measured
    });
    let mut error = ArmError::new(
        429,
        "OperationNotAllowed",
        format!(
            "The server rejected the request because too many requests have been received for this subscription \
             '{subscription}'."
        ),
    );
    error.details =
        Some(Box::new(json!([{"code": "TooManyRequests", "target": policy, "message": detail.to_string()}])));
    error.retry_after = Some(seconds);
    error
}

//! `Microsoft.Compute` over ARM: virtual machines and scale sets (lists, `statusOnly=true`, `$expand=instanceView`,
//! instance views), their power actions as long-running operations answered like the recordings (202 with
//! `Azure-AsyncOperation`, `Location` and `Azure-AsyncNotification`, no `Retry-After`; the status URL polled to
//! `Succeeded`; the `monitor=true` Location answering 202 then 200 with no body), the Compute RP's
//! `x-ms-ratelimit-remaining-resource` policies with 429 + `Retry-After`, and the `Microsoft.Insights` autoscale
//! settings that target scale sets.
//!
//! This file serves a request; [`route`] names it, [`rate_limits`] charges it against the Compute RP's budgets and
//! [`json`](mod@json) renders the bodies.

mod json;
mod rate_limits;
mod route;
#[cfg(test)]
mod tests;

use axum::http::{HeaderMap, HeaderName, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Page, Reply, admit, api_version, authenticate, authorize, encode, finish};
use crate::api_versions::{self, Service};
use crate::arm_error::ArmError;
use crate::compute_limits::Charge;
use crate::machines::{COMPUTE_PROVIDER, MachineKind};
use crate::server::Shared;
use crate::throttle::Budget;
use json::{autoscale, operation_status, scale_set, scale_set_instance_view, vm, vm_instance_view};
use rate_limits::{policies, throttled};
use route::ComputeRoute;
pub(crate) use route::parse;

/// The provider of autoscale settings.
const INSIGHTS_PROVIDER: &str = "Microsoft.Insights";

/// Serves one Compute request, with ARM's common headers and the Compute RP's rate-limit headers.
pub(crate) fn handle(shared: &Shared, uri: &Uri, headers: &HeaderMap, body: &[u8], route: ComputeRoute) -> Response {
    let mut remaining = None;
    let mut extra = Vec::new();
    let result = serve(shared, uri, headers, body, &route, &mut remaining, &mut extra);
    let mut response = finish(result, route.is_write(), remaining, headers);
    let global = if route.is_write() {
        ("x-ms-ratelimit-remaining-subscription-global-writes", "2999")
    } else {
        ("x-ms-ratelimit-remaining-subscription-global-reads", "3749")
    };
    extra.push((global.0, global.1.to_owned()));
    extra.push(("x-ms-need-to-refresh-epl-cache", "False".to_owned()));
    for (name, value) in extra {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(HeaderName::from_static(name), value);
        }
    }
    response
}

fn serve(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    route: &ComputeRoute,
    remaining: &mut Option<u64>,
    extra: &mut Vec<(&'static str, String)>,
) -> Result<Reply, ArmError> {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let param = |name: &str| query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let principal = authenticate(shared, headers)?;
    extra.push((
        "x-ms-operation-identifier",
        format!("tenantId={},objectId={principal}/emulator/{}", shared.config.tenant_id, uuid::Uuid::new_v4()),
    ));
    let budget = if route.is_write() { Budget::Write } else { Budget::Read };
    *remaining = admit(shared, route.subscription(), budget, &principal)?;
    let api_version = api_version(&query)?;
    {
        let live = shared.live();
        let locations = live.machines.locations();
        let location = route.location(&live.machines).unwrap_or_else(|| "*".to_owned());
        let service = Service::Provider {
            versions: route.versions(),
            resource_type: route.resource_type(),
            location: &location,
            locations: &locations,
        };
        api_versions::check(&service, api_version)?;
    }
    let path = uri.path().trim_end_matches('/');
    let scope = match route {
        ComputeRoute::Action { .. } | ComputeRoute::InstanceView { .. } => {
            path.rsplit_once('/').map_or(path, |(scope, _)| scope)
        }
        _ => path,
    };
    authorize(shared, &principal, scope, &route.permission())?;
    let config = &shared.config;
    let now = shared.clock.now();
    let wall = shared.wall();
    let mut guard = shared.live();
    let live = &mut *guard;
    let enforce = live.throttle.is_some();
    let machines = &mut live.machines;
    // Resolve the target first: a 404 costs no Compute budget.
    let target = match route {
        ComputeRoute::Get { subscription, group, kind, name }
        | ComputeRoute::InstanceView { subscription, group, kind, name }
        | ComputeRoute::Action { subscription, group, kind, name, .. } => {
            Some(machines.find(subscription, group, *kind, name)?)
        }
        _ => None,
    };
    if let Some(index) = target {
        machines.settle(index, now, &wall);
    }
    let policies = policies(route, target.map(|index| machines.at(index)), &live.compute_limits);
    if !policies.is_empty() {
        match live.compute_counters.charge(&policies, 1, now, enforce) {
            Charge::Allowed { header } => extra.push(("x-ms-ratelimit-remaining-resource", header)),
            Charge::Throttled { header, policy, allowed, measured, retry_after } => {
                extra.push(("x-ms-ratelimit-remaining-resource", header));
                return Err(throttled(shared, route.subscription(), &policy, allowed, measured, retry_after));
            }
        }
    }
    let skip = param("$skipToken");
    let machines = &mut live.machines;
    match route {
        ComputeRoute::List { subscription, group, kind } => {
            if param("$filter").is_some() {
                return Err(ArmError::unsupported("$filter on Compute lists"));
            }
            if param("$expand").is_some() {
                return Err(ArmError::new(
                    400,
                    "InvalidParameter",
                    "The $expand=instanceView option can only be specified if a valid $filter option is specified.",
                ));
            }
            let status_only = param("statusOnly").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            if status_only && *kind == MachineKind::ScaleSet {
                return Err(ArmError::unsupported("statusOnly on scale set lists"));
            }
            let all = match group {
                Some(group) => machines.in_group(subscription, group, *kind)?,
                None => machines.in_subscription(subscription, *kind)?,
            };
            let page = Page::of(all.len(), skip, config.page_size)?;
            let mut items = Vec::new();
            for &index in &all[page.start..page.end] {
                machines.settle(index, now, &wall);
                let machine = machines.at(index);
                let item = match kind {
                    MachineKind::Vm => vm(machine, status_only),
                    MachineKind::ScaleSet => scale_set(machine),
                };
                items.push(item);
            }
            let mut body = json!({"value": items});
            if let Some(next) = page.next {
                let status = if status_only { "&statusOnly=true" } else { "" };
                body["nextLink"] = json!(format!(
                    "{}{}?api-version={}{status}&$skipToken={next}",
                    config.base_url,
                    uri.path(),
                    encode(api_version)
                ));
            }
            Ok(Reply::ok(body))
        }
        ComputeRoute::Get { kind, .. } => {
            let machine = machines.at(target.unwrap_or_default());
            match (kind, param("$expand")) {
                (MachineKind::Vm, None) => Ok(Reply::ok(vm(machine, false))),
                (MachineKind::Vm, Some(expand)) if expand.eq_ignore_ascii_case("instanceView") => {
                    Ok(Reply::ok(vm(machine, true)))
                }
                (MachineKind::ScaleSet, None) => Ok(Reply::ok(scale_set(machine))),
                (_, Some(expand)) => Err(ArmError::unsupported(format!("$expand={expand} on this resource"))),
            }
        }
        ComputeRoute::InstanceView { kind, .. } => {
            let machine = machines.at(target.unwrap_or_default());
            Ok(Reply::ok(match kind {
                MachineKind::Vm => vm_instance_view(machine),
                MachineKind::ScaleSet => scale_set_instance_view(machine),
            }))
        }
        ComputeRoute::Action { kind, action, .. } => {
            check_instance_ids(*kind, body)?;
            let index = target.unwrap_or_default();
            if *kind == MachineKind::ScaleSet {
                // What the set's instances cost against the batched-VM-requests budget.
                extra.push(("x-ms-request-charge", live.machines.at(index).capacity.to_string()));
            }
            let fault = live.faults.on_operation();
            let duration = config.transition.saturating_mul(fault.slowdown);
            let accepted = live.machines.begin(index, *action, now, duration, fault.fail, &wall)?;
            let status_url = |monitor: bool| {
                format!(
                    "{}/subscriptions/{}/providers/{COMPUTE_PROVIDER}/locations/{}/operations/{}?p={}{}&api-version={}",
                    config.base_url,
                    accepted.subscription,
                    accepted.location,
                    accepted.operation_id,
                    crate::arm::json::stable_guid(&accepted.subscription),
                    if monitor { "&monitor=true" } else { "" },
                    encode(api_version)
                )
            };
            Ok(Reply {
                status: StatusCode::ACCEPTED,
                body: None,
                headers: vec![
                    (HeaderName::from_static("azure-asyncoperation"), status_url(false)),
                    (axum::http::header::LOCATION, status_url(true)),
                    (HeaderName::from_static("azure-asyncnotification"), "Enabled".to_owned()),
                ],
            })
        }
        ComputeRoute::Operation { subscription, operation_id } => {
            let status = machines.operation_status(subscription, operation_id, now, &wall)?;
            let monitor = param("monitor").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            if !monitor {
                return Ok(Reply::ok(operation_status(&status)));
            }
            match (status.status, status.error) {
                ("InProgress", _) => Ok(Reply {
                    status: StatusCode::ACCEPTED,
                    body: None,
                    headers: vec![(axum::http::header::LOCATION, format!("{}{}", config.base_url, uri))],
                }),
                (_, Some(error)) => Err(error),
                _ => Ok(Reply { status: StatusCode::OK, body: None, headers: Vec::new() }),
            }
        }
        ComputeRoute::Autoscale { subscription } => {
            let sets = machines.in_subscription(subscription, MachineKind::ScaleSet)?;
            let items: Vec<Value> =
                sets.into_iter().map(|index| machines.at(index)).filter(|m| m.autoscale).map(autoscale).collect();
            Ok(Reply::ok(json!({"value": items})))
        }
    }
}

/// A scale set action acts on the whole set: no body, or `{"instanceIds": ["*"]}`. Naming instances is refused.
fn check_instance_ids(kind: MachineKind, body: &[u8]) -> Result<(), ArmError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let parsed: Value = serde_json::from_slice(body).map_err(|err| {
        ArmError::new(400, "InvalidRequestContent", format!("The request content is not JSON: {err}"))
    })?;
    let ids = parsed.get("instanceIds").and_then(Value::as_array);
    match (kind, ids) {
        (MachineKind::ScaleSet, None) => Ok(()),
        (MachineKind::ScaleSet, Some(ids)) if ids.iter().all(|id| id == "*") => Ok(()),
        (MachineKind::ScaleSet, Some(_)) => Err(ArmError::unsupported("actions on some instances of a scale set")),
        (MachineKind::Vm, _) => Err(ArmError::unsupported("a request body on a VM power action")),
    }
}

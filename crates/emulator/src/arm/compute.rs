//! `Microsoft.Compute` over ARM: virtual machines and scale sets (lists, `statusOnly=true`, `$expand=instanceView`,
//! instance views), their power actions as long-running operations answered like the recordings (202 with
//! `Azure-AsyncOperation`, `Location` and `Azure-AsyncNotification`, no `Retry-After`; the status URL polled to
//! `Succeeded`; the `monitor=true` Location answering 202 then 200 with no body), the Compute RP's
//! `x-ms-ratelimit-remaining-resource` policies with 429 + `Retry-After`, and the `Microsoft.Insights` autoscale
//! settings that target scale sets.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Page, Reply, admit, api_version, authenticate, authorize, encode, finish};
use crate::api_versions::{self, Service};
use crate::arm_error::ArmError;
use crate::compute_limits::{Charge, ComputeLimits, LONG_WINDOW, Policy, SHORT_WINDOW};
use crate::machines::{COMPUTE_PROVIDER, Machine, MachineAction, MachineKind, Machines};
use crate::operations::Progress;
use crate::server::Shared;
use crate::throttle::Budget;

/// The provider of autoscale settings.
const INSIGHTS_PROVIDER: &str = "Microsoft.Insights";

/// A `Microsoft.Compute` (or autoscale) operation the emulator serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ComputeRoute {
    /// `GET /subscriptions/{s}[/resourceGroups/{rg}]/providers/Microsoft.Compute/{collection}`
    List { subscription: String, group: Option<String>, kind: MachineKind },
    /// `GET .../{collection}/{name}`
    Get { subscription: String, group: String, kind: MachineKind, name: String },
    /// `GET .../{collection}/{name}/instanceView`
    InstanceView { subscription: String, group: String, kind: MachineKind, name: String },
    /// `POST .../{collection}/{name}/deallocate|start|powerOff|restart`
    Action { subscription: String, group: String, kind: MachineKind, name: String, action: MachineAction },
    /// `GET /subscriptions/{s}/providers/Microsoft.Compute/locations/{loc}/operations/{id}`
    Operation { subscription: String, operation_id: String },
    /// `GET /subscriptions/{s}/providers/Microsoft.Insights/autoscalesettings`
    Autoscale { subscription: String },
}

impl ComputeRoute {
    fn subscription(&self) -> &str {
        match self {
            ComputeRoute::List { subscription, .. }
            | ComputeRoute::Get { subscription, .. }
            | ComputeRoute::InstanceView { subscription, .. }
            | ComputeRoute::Action { subscription, .. }
            | ComputeRoute::Operation { subscription, .. }
            | ComputeRoute::Autoscale { subscription } => subscription,
        }
    }

    /// The versions the REST specs define for the route's provider and type.
    fn versions(&self) -> &'static [&'static str] {
        match self {
            ComputeRoute::Autoscale { .. } => api_versions::AUTOSCALE,
            _ => api_versions::COMPUTE,
        }
    }

    /// The resource type ARM names in its errors.
    fn resource_type(&self) -> &'static str {
        match self {
            ComputeRoute::List { kind, .. }
            | ComputeRoute::Get { kind, .. }
            | ComputeRoute::InstanceView { kind, .. }
            | ComputeRoute::Action { kind, .. } => kind.collection(),
            ComputeRoute::Operation { .. } => "locations/operations",
            ComputeRoute::Autoscale { .. } => "autoscalesettings",
        }
    }

    /// The location ARM routes to: the named machine's, else none (a subscription-wide request).
    fn location(&self, machines: &Machines) -> Option<String> {
        match self {
            ComputeRoute::Get { subscription, group, kind, name }
            | ComputeRoute::InstanceView { subscription, group, kind, name }
            | ComputeRoute::Action { subscription, group, kind, name, .. } => {
                let index = machines.find(subscription, group, *kind, name).ok()?;
                Some(machines.at(index).location.to_ascii_lowercase())
            }
            _ => None,
        }
    }

    fn is_write(&self) -> bool {
        matches!(self, ComputeRoute::Action { .. })
    }

    /// The RBAC action ARM checks.
    fn permission(&self) -> String {
        match self {
            ComputeRoute::List { kind, .. } | ComputeRoute::Get { kind, .. } => {
                format!("{COMPUTE_PROVIDER}/{}/read", kind.collection())
            }
            ComputeRoute::InstanceView { kind, .. } => {
                format!("{COMPUTE_PROVIDER}/{}/instanceView/read", kind.collection())
            }
            ComputeRoute::Action { kind, action, .. } => action.rbac_action(*kind),
            ComputeRoute::Operation { .. } => format!("{COMPUTE_PROVIDER}/locations/operations/read"),
            ComputeRoute::Autoscale { .. } => format!("{INSIGHTS_PROVIDER}/AutoscaleSettings/read"),
        }
    }
}

/// Matches a method and a path (without query) to a Compute route.
pub(crate) fn parse(method: &Method, path: &str) -> Option<ComputeRoute> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let is = |i: usize, word: &str| segments.get(i).is_some_and(|s| s.eq_ignore_ascii_case(word));
    let owned = |i: usize| segments[i].to_owned();
    if !is(0, "subscriptions") || segments.iter().any(|s| s.is_empty()) || segments.len() < 2 {
        return None;
    }
    let get = method == Method::GET;
    let subscription = owned(1);
    if is(2, "providers") && is(3, INSIGHTS_PROVIDER) {
        return (get && segments.len() == 5 && is(4, "autoscalesettings"))
            .then_some(ComputeRoute::Autoscale { subscription });
    }
    if is(2, "providers") && is(3, COMPUTE_PROVIDER) {
        return match segments.len() {
            5 if get => {
                MachineKind::parse(segments[4]).map(|kind| ComputeRoute::List { subscription, group: None, kind })
            }
            8 if get && is(4, "locations") && is(6, "operations") => {
                Some(ComputeRoute::Operation { subscription, operation_id: owned(7) })
            }
            _ => None,
        };
    }
    if !(is(2, "resourceGroups") && is(4, "providers") && is(5, COMPUTE_PROVIDER)) || segments.len() < 7 {
        return None;
    }
    let kind = MachineKind::parse(segments[6])?;
    let group = owned(3);
    match segments.len() {
        7 if get => Some(ComputeRoute::List { subscription, group: Some(group), kind }),
        8 if get => Some(ComputeRoute::Get { subscription, group, kind, name: owned(7) }),
        9 if get && is(8, "instanceView") => {
            Some(ComputeRoute::InstanceView { subscription, group, kind, name: owned(7) })
        }
        9 if method == Method::POST => MachineAction::parse(segments[8]).map(|action| ComputeRoute::Action {
            subscription,
            group,
            kind,
            name: owned(7),
            action,
        }),
        _ => None,
    }
}

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

/// The Compute policies a request counts against (none for autoscale settings).
fn policies(route: &ComputeRoute, target: Option<&Machine>, limits: &ComputeLimits) -> Vec<Policy> {
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
fn throttled(
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

/// A status entry of an instance view.
fn status(code: &str, display: &str, time: Option<&str>) -> Value {
    let mut entry = json!({"code": code, "level": "Info", "displayStatus": display});
    if let Some(time) = time {
        entry["time"] = json!(time);
    }
    entry
}

/// The `PowerState/...` status of a machine: `VM running`, `VM deallocated`... (with the time it was reached,
/// which Azure leaves out; clients that compare statuses entry by entry see one shape).
fn power_status(machine: &Machine) -> Value {
    let code = format!("PowerState/{}", machine.power_state);
    status(&code, &format!("VM {}", machine.power_state), Some(&machine.status_time))
}

fn disk_name(machine: &Machine) -> String {
    format!("{}_OsDisk_1_{}", machine.name, machine.unique_id.replace('-', "").chars().take(32).collect::<String>())
}

/// A VM's instance view, shaped like the recordings: with the guest agent and extensions while the VM has
/// hardware (running, stopped...), only disks and statuses once deallocated.
fn vm_instance_view(machine: &Machine) -> Value {
    let provisioned = status("ProvisioningState/succeeded", "Provisioning succeeded", Some(&machine.status_time));
    let disks = json!([{"name": disk_name(machine), "statuses": [provisioned.clone()]}]);
    let statuses = json!([provisioned, power_status(machine)]);
    if machine.power_state.starts_with("deallocat") {
        return json!({"disks": disks, "hyperVGeneration": "V1", "statuses": statuses});
    }
    let ready = || json!({"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready", "message": "Plugin enabled"});
    json!({
        "computerName": machine.name,
        "osName": "ubuntu",
        "osVersion": "22.04",
        "vmAgent": {
            "vmAgentVersion": "2.15.0.1",
            "statuses": [{
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Ready",
                "message": "Guest Agent is running",
                "time": machine.status_time
            }],
            "extensionHandlers": [{"type": "Microsoft.OSTCExtensions.VMAccessForLinux", "typeHandlerVersion": "1.5.21", "status": ready()}]
        },
        "disks": disks,
        "extensions": [{
            "name": "enablevmaccess",
            "type": "Microsoft.OSTCExtensions.VMAccessForLinux",
            "typeHandlerVersion": "1.5.21",
            "statuses": [{
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "message": "Enable succeeded."
            }]
        }],
        "hyperVGeneration": "V1",
        "statuses": statuses
    })
}

/// A VM, shaped like the recorded `GET ...?$expand=instanceView` (with `instance_view`) or the model view.
fn vm(machine: &Machine, instance_view: bool) -> Value {
    let group_providers = format!("/subscriptions/{}/resourceGroups/{}/providers", machine.subscription, machine.group);
    let mut properties = json!({
        "hardwareProfile": {"vmSize": machine.vm_size},
        "provisioningState": "Succeeded",
        "vmId": machine.unique_id,
        "storageProfile": {
            "imageReference": {
                "publisher": "Canonical",
                "offer": "0001-com-ubuntu-server-jammy",
                "sku": "22_04-lts-gen2",
                "version": "latest",
                "exactVersion": "22.04.202510150"
            },
            "osDisk": {
                "osType": "Linux",
                "name": disk_name(machine),
                "createOption": "FromImage",
                "vhd": {"uri": format!("https://emulatorstorage.blob.core.windows.net/vhds/{}.vhd", disk_name(machine))},
                "caching": "ReadWrite",
                "deleteOption": "Detach",
                "diskSizeGB": 30
            },
            "dataDisks": []
        },
        "osProfile": {
            "computerName": machine.name,
            "adminUsername": "azureuser",
            "linuxConfiguration": {
                "disablePasswordAuthentication": true,
                "provisionVMAgent": true,
                "patchSettings": {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"}
            },
            "secrets": [],
            "allowExtensionOperations": true,
            "requireGuestProvisionSignal": true
        },
        "networkProfile": {"networkInterfaces": [{
            "id": format!("{group_providers}/Microsoft.Network/networkInterfaces/{}VMNic", machine.name)
        }]},
        "timeCreated": machine.time_created
    });
    if instance_view {
        properties["instanceView"] = vm_instance_view(machine);
    }
    json!({
        "name": machine.name,
        "id": machine.id,
        "type": format!("{COMPUTE_PROVIDER}/virtualMachines"),
        "location": machine.location,
        "tags": machine.tags,
        "properties": properties,
        "etag": format!("\"{}\"", machine.etag),
        "resources": [{
            "name": "enablevmaccess",
            "id": format!("{}/extensions/enablevmaccess", machine.id),
            "type": format!("{COMPUTE_PROVIDER}/virtualMachines/extensions"),
            "location": machine.location,
            "properties": {
                "autoUpgradeMinorVersion": false,
                "provisioningState": "Succeeded",
                "publisher": "Microsoft.OSTCExtensions",
                "type": "VMAccessForLinux",
                "typeHandlerVersion": "1.5",
                "settings": {}
            }
        }]
    })
}

/// A scale set (model view): its size and instance count in `sku`.
fn scale_set(machine: &Machine) -> Value {
    json!({
        "name": machine.name,
        "id": machine.id,
        "type": format!("{COMPUTE_PROVIDER}/virtualMachineScaleSets"),
        "location": machine.location,
        "tags": machine.tags,
        "sku": {"name": machine.vm_size, "tier": "Standard", "capacity": machine.capacity},
        "properties": {
            "singlePlacementGroup": true,
            "orchestrationMode": "Uniform",
            "upgradePolicy": {"mode": "Manual"},
            "virtualMachineProfile": {
                "osProfile": {"computerNamePrefix": machine.name, "adminUsername": "azureuser"},
                "storageProfile": {"osDisk": {"osType": "Linux", "createOption": "FromImage", "caching": "ReadWrite"}}
            },
            "provisioningState": "Succeeded",
            "overprovision": true,
            "doNotRunExtensionsOnOverprovisionedVMs": false,
            "uniqueId": machine.unique_id,
            "platformFaultDomainCount": 5,
            "timeCreated": machine.time_created
        },
        "etag": format!("\"{}\"", machine.etag)
    })
}

/// A scale set's instance view: every instance in the set's power state, summarised.
fn scale_set_instance_view(machine: &Machine) -> Value {
    let summary = if machine.capacity == 0 {
        json!([])
    } else {
        json!([{"code": format!("PowerState/{}", machine.power_state), "count": machine.capacity}])
    };
    json!({
        "virtualMachine": {"statusesSummary": summary},
        "statuses": [status("ProvisioningState/succeeded", "Provisioning succeeded", Some(&machine.status_time))]
    })
}

/// An autoscale setting that targets a scale set.
fn autoscale(machine: &Machine) -> Value {
    let name = format!("{}-autoscale", machine.name);
    json!({
        "id": format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{INSIGHTS_PROVIDER}/autoscalesettings/{name}",
            machine.subscription, machine.group
        ),
        "name": name,
        "type": format!("{INSIGHTS_PROVIDER}/autoscaleSettings"),
        "location": machine.location,
        "tags": {},
        "properties": {
            "profiles": [{
                "name": "default",
                "capacity": {"minimum": "1", "maximum": "10", "default": machine.capacity.to_string()},
                "rules": []
            }],
            "enabled": true,
            "name": name,
            "targetResourceUri": machine.id,
            "targetResourceLocation": machine.location,
            "notifications": []
        }
    })
}

/// An operation status body, as recorded: `startTime`, `status`, `name`, then `endTime` once it ended and
/// `error` when it failed.
fn operation_status(status: &Progress) -> Value {
    let mut body = json!({"startTime": status.start_time, "status": status.status, "name": status.id});
    if let Some(end) = &status.end_time {
        body["endTime"] = json!(end);
    }
    if let Some(error) = &status.error {
        body["error"] = json!({"code": error.code, "message": error.message});
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    const RG: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute";

    #[test]
    fn every_route_parses() {
        let get = |path: &str| parse(&Method::GET, path);
        assert_eq!(
            get("/subscriptions/s1/providers/Microsoft.Compute/virtualMachines"),
            Some(ComputeRoute::List { subscription: "s1".into(), group: None, kind: MachineKind::Vm })
        );
        assert_eq!(
            get(&format!("{RG}/virtualMachineScaleSets")),
            Some(ComputeRoute::List {
                subscription: "s1".into(),
                group: Some("rg".into()),
                kind: MachineKind::ScaleSet
            })
        );
        assert!(
            matches!(get(&format!("{RG}/virtualMachines/vm1")), Some(ComputeRoute::Get { name, .. }) if name == "vm1")
        );
        assert!(matches!(
            get(&format!("{RG}/virtualMachines/vm1/instanceView")),
            Some(ComputeRoute::InstanceView { .. })
        ));
        assert!(matches!(
            parse(&Method::POST, &format!("{RG}/VIRTUALMACHINES/vm1/POWEROFF")),
            Some(ComputeRoute::Action { action: MachineAction::PowerOff, kind: MachineKind::Vm, .. })
        ));
        assert_eq!(
            get("/subscriptions/s1/providers/Microsoft.Compute/locations/eastus/operations/op1"),
            Some(ComputeRoute::Operation { subscription: "s1".into(), operation_id: "op1".into() })
        );
        assert_eq!(
            get("/subscriptions/s1/providers/microsoft.insights/autoscalesettings"),
            Some(ComputeRoute::Autoscale { subscription: "s1".into() })
        );
        assert_eq!(parse(&Method::POST, &format!("{RG}/virtualMachines/vm1/delete")), None);
        assert_eq!(get(&format!("{RG}/disks")), None);
        assert_eq!(
            get("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces"),
            None
        );
    }

    #[test]
    fn scale_sets_act_whole() {
        assert!(check_instance_ids(MachineKind::ScaleSet, b"").is_ok());
        assert!(check_instance_ids(MachineKind::ScaleSet, br#"{"instanceIds": ["*"]}"#).is_ok());
        assert!(check_instance_ids(MachineKind::ScaleSet, br#"{"instanceIds": ["0"]}"#).is_err());
        assert!(check_instance_ids(MachineKind::Vm, b"{}").is_err());
    }
}

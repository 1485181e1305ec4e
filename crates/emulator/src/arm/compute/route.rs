//! Which `Microsoft.Compute` (or `Microsoft.Insights` autoscale) operation a request names, matched segment by
//! segment case-insensitively, and what ARM needs to know of it: subscription, api-versions, resource type,
//! location and the RBAC action it checks. Pure: a method and a path in, a [`ComputeRoute`] out.

use axum::http::Method;

use super::INSIGHTS_PROVIDER;
use crate::api_versions;
use crate::machines::{COMPUTE_PROVIDER, MachineAction, MachineKind, Machines};

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
    pub(super) fn subscription(&self) -> &str {
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
    pub(super) fn versions(&self) -> &'static [&'static str] {
        match self {
            ComputeRoute::Autoscale { .. } => api_versions::AUTOSCALE,
            _ => api_versions::COMPUTE,
        }
    }

    /// The resource type ARM names in its errors.
    pub(super) fn resource_type(&self) -> &'static str {
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
    pub(super) fn location(&self, machines: &Machines) -> Option<String> {
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

    pub(super) fn is_write(&self) -> bool {
        matches!(self, ComputeRoute::Action { .. })
    }

    /// The RBAC action ARM checks.
    pub(super) fn permission(&self) -> String {
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

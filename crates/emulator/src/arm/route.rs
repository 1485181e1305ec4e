//! Which ARM operation a request path names, matched segment by segment case-insensitively, as ARM does.
//!
//! Pure: a method and a path in, a [`Route`] out; anything else is unsupported and the caller says so loudly.

use crate::world::{Action, PROVIDER};

/// An ARM operation the emulator serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /subscriptions`
    Subscriptions,
    /// `GET /subscriptions/{s}`
    Subscription { subscription: String },
    /// `GET /subscriptions/{s}/providers/Microsoft.MachineLearningServices/workspaces`
    WorkspacesBySubscription { subscription: String },
    /// `GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces`
    WorkspacesByGroup { subscription: String, group: String },
    /// `GET .../workspaces/{ws}`
    Workspace { subscription: String, group: String, workspace: String },
    /// `GET .../workspaces/{ws}/computes`
    Computes { subscription: String, group: String, workspace: String },
    /// `GET .../workspaces/{ws}/computes/{name}`
    Compute { subscription: String, group: String, workspace: String, name: String },
    /// `POST .../workspaces/{ws}/computes/{name}/start|stop|restart`
    ComputeAction { subscription: String, group: String, workspace: String, name: String, action: Action },
    /// `GET /subscriptions/{s}/providers/Microsoft.MachineLearningServices/locations/{loc}/computeOperationsStatus/{id}`
    OperationStatus { subscription: String, location: String, operation_id: String },
}

impl Route {
    /// True for routes that change state (ARM counts them against the write budget).
    pub fn is_write(&self) -> bool {
        matches!(self, Route::ComputeAction { .. })
    }

    /// The subscription the request is made under (throttling is per subscription); none for `/subscriptions`.
    pub fn subscription(&self) -> Option<&str> {
        match self {
            Route::Subscriptions => None,
            Route::Subscription { subscription }
            | Route::WorkspacesBySubscription { subscription }
            | Route::WorkspacesByGroup { subscription, .. }
            | Route::Workspace { subscription, .. }
            | Route::Computes { subscription, .. }
            | Route::Compute { subscription, .. }
            | Route::ComputeAction { subscription, .. }
            | Route::OperationStatus { subscription, .. } => Some(subscription),
        }
    }
}

/// Matches a method and a path (without query) to a route.
pub(crate) fn parse(method: &str, path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let is = |i: usize, word: &str| segments.get(i).is_some_and(|s| s.eq_ignore_ascii_case(word));
    let owned = |i: usize| segments[i].to_owned();
    let get = method.eq_ignore_ascii_case("GET");
    let post = method.eq_ignore_ascii_case("POST");
    if !is(0, "subscriptions") || segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    match segments.len() {
        1 if get => return Some(Route::Subscriptions),
        2 if get => return Some(Route::Subscription { subscription: owned(1) }),
        _ => {}
    }
    if is(2, "providers") && is(3, PROVIDER) {
        return match segments.len() {
            5 if get && is(4, "workspaces") => Some(Route::WorkspacesBySubscription { subscription: owned(1) }),
            8 if get && is(4, "locations") && is(6, "computeOperationsStatus") => {
                Some(Route::OperationStatus { subscription: owned(1), location: owned(5), operation_id: owned(7) })
            }
            _ => None,
        };
    }
    if !(is(2, "resourceGroups") && is(4, "providers") && is(5, PROVIDER) && is(6, "workspaces")) {
        return None;
    }
    let (subscription, group) = (owned(1), owned(3));
    match segments.len() {
        7 if get => Some(Route::WorkspacesByGroup { subscription, group }),
        8 if get => Some(Route::Workspace { subscription, group, workspace: owned(7) }),
        9 if get && is(8, "computes") => Some(Route::Computes { subscription, group, workspace: owned(7) }),
        10 if get && is(8, "computes") => {
            Some(Route::Compute { subscription, group, workspace: owned(7), name: owned(9) })
        }
        11 if post && is(8, "computes") => Action::parse(segments[10]).map(|action| Route::ComputeAction {
            subscription,
            group,
            workspace: owned(7),
            name: owned(9),
            action,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WS: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

    #[test]
    fn every_route_parses() {
        assert_eq!(parse("GET", "/subscriptions"), Some(Route::Subscriptions));
        assert_eq!(parse("GET", "/subscriptions/s1"), Some(Route::Subscription { subscription: "s1".into() }));
        assert_eq!(
            parse("GET", "/subscriptions/s1/providers/Microsoft.MachineLearningServices/workspaces"),
            Some(Route::WorkspacesBySubscription { subscription: "s1".into() })
        );
        assert_eq!(
            parse("GET", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces"),
            Some(Route::WorkspacesByGroup { subscription: "s1".into(), group: "rg".into() })
        );
        assert_eq!(
            parse("GET", WS),
            Some(Route::Workspace { subscription: "s1".into(), group: "rg".into(), workspace: "ws".into() })
        );
        assert_eq!(
            parse("GET", &format!("{WS}/computes")),
            Some(Route::Computes { subscription: "s1".into(), group: "rg".into(), workspace: "ws".into() })
        );
        assert!(
            matches!(parse("GET", &format!("{WS}/computes/c1")), Some(Route::Compute { name, .. }) if name == "c1")
        );
        assert!(matches!(
            parse("POST", &format!("{WS}/computes/c1/restart")),
            Some(Route::ComputeAction { action: Action::Restart, .. })
        ));
        assert_eq!(
            parse(
                "GET",
                "/subscriptions/s1/providers/Microsoft.MachineLearningServices/locations/eastus/computeOperationsStatus/op1"
            ),
            Some(Route::OperationStatus {
                subscription: "s1".into(),
                location: "eastus".into(),
                operation_id: "op1".into()
            })
        );
    }

    #[test]
    fn segments_are_case_insensitive_and_keep_their_values() {
        let path = "/SUBSCRIPTIONS/S1/RESOURCEGROUPS/Rg/PROVIDERS/microsoft.machinelearningservices/WORKSPACES/Ws/COMPUTES/C1/STOP";
        assert_eq!(
            parse("post", path),
            Some(Route::ComputeAction {
                subscription: "S1".into(),
                group: "Rg".into(),
                workspace: "Ws".into(),
                name: "C1".into(),
                action: Action::Stop
            })
        );
    }

    #[test]
    fn unsupported_requests_do_not_match() {
        assert_eq!(parse("POST", &format!("{WS}/computes/c1")), None);
        assert_eq!(parse("GET", &format!("{WS}/computes/c1/stop")), None);
        assert_eq!(parse("POST", &format!("{WS}/computes/c1/delete")), None);
        assert_eq!(parse("DELETE", WS), None);
        assert_eq!(parse("GET", "/subscriptions/s1/providers/Microsoft.Compute/virtualMachines"), None);
        assert_eq!(parse("GET", "/tenants"), None);
        assert_eq!(parse("GET", "/subscriptions//resourceGroups"), None);
    }
}

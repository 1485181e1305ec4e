//! Pure request builders for the ARM calls autostop makes, and the authorization actions they need (no I/O).
//!
//! Each builder returns the method and the full URL with `api-version`; the client sends them.

use crate::compute;
use crate::ids::{ComputeId, PROVIDER, SubscriptionId, WorkspaceId};
use crate::power::PowerAction;
use azure_core::http::Method;
use url::Url;

/// The action needed to list workspaces.
pub const ACTION_READ_WORKSPACES: &str = "Microsoft.MachineLearningServices/workspaces/read";
/// The action needed to list or read computes.
pub const ACTION_READ_COMPUTES: &str = "Microsoft.MachineLearningServices/workspaces/computes/read";
pub use crate::power::{ACTION_RESTART, ACTION_START, ACTION_STOP};

/// The action needed to poll a compute operation's status.
pub const ACTION_READ_OPERATIONS: &str = "Microsoft.MachineLearningServices/locations/computeOperationsStatus/read";

/// Every authorization action this client uses: what a least-privilege custom role must grant.
pub const ACTIONS: &[&str] = &[
    ACTION_READ_WORKSPACES,
    ACTION_READ_COMPUTES,
    ACTION_START,
    ACTION_STOP,
    ACTION_RESTART,
    ACTION_READ_OPERATIONS,
    compute::ACTION_READ_VMS,
    compute::ACTION_DEALLOCATE_VM,
    compute::ACTION_START_VM,
    compute::ACTION_RESTART_VM,
    compute::ACTION_READ_SCALE_SETS,
    compute::ACTION_READ_SCALE_SET_VIEW,
    compute::ACTION_DEALLOCATE_SCALE_SET,
    compute::ACTION_START_SCALE_SET,
    compute::ACTION_RESTART_SCALE_SET,
    compute::ACTION_READ_COMPUTE_OPERATIONS,
    compute::ACTION_READ_AUTOSCALE,
    crate::ml_idle::ACTION_UPDATE_IDLE_SHUTDOWN,
];

/// One ARM request to make: method, URL (with `api-version`), the resource it concerns and the action it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArmRequest {
    /// The HTTP method.
    pub method: Method,
    /// The full URL.
    pub url: Url,
    /// The ARM id or scope the request concerns (named in errors).
    pub resource: String,
    /// The authorization action the request needs.
    pub action: &'static str,
}

/// Builds the URLs of the ARM calls for one endpoint and api-version.
#[derive(Clone, Debug)]
pub struct Requests {
    endpoint: Url,
    api_version: String,
}

impl Requests {
    /// Builders for `endpoint` (e.g. `https://management.azure.com`, a path prefix is kept) and `api_version`.
    pub fn new(endpoint: Url, api_version: &str) -> Self {
        Requests { endpoint, api_version: api_version.to_string() }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The Machine Learning Services api-version.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    fn url(&self, segments: &[&str]) -> Url {
        self.url_at(segments, &self.api_version)
    }

    /// The URL of `segments` under the endpoint with another provider's `api_version`.
    pub(crate) fn url_at(&self, segments: &[&str], api_version: &str) -> Url {
        let mut url = self.endpoint.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.query_pairs_mut().append_pair("api-version", api_version);
        url
    }

    fn workspace_segments(id: &WorkspaceId) -> [&str; 8] {
        [
            "subscriptions",
            id.subscription().as_str(),
            "resourceGroups",
            id.resource_group(),
            "providers",
            PROVIDER,
            "workspaces",
            id.name(),
        ]
    }

    /// `GET` the workspaces of a subscription, or of one resource group in it.
    pub fn list_workspaces(&self, subscription: &SubscriptionId, resource_group: Option<&str>) -> ArmRequest {
        let (url, resource) = match resource_group {
            Some(rg) => (
                self.url(&[
                    "subscriptions",
                    subscription.as_str(),
                    "resourceGroups",
                    rg,
                    "providers",
                    PROVIDER,
                    "workspaces",
                ]),
                format!("{}/resourceGroups/{rg}", subscription.scope()),
            ),
            None => (
                self.url(&["subscriptions", subscription.as_str(), "providers", PROVIDER, "workspaces"]),
                subscription.scope(),
            ),
        };
        ArmRequest { method: Method::Get, url, resource, action: ACTION_READ_WORKSPACES }
    }

    /// `GET` the computes of a workspace.
    pub fn list_computes(&self, workspace: &WorkspaceId) -> ArmRequest {
        let mut segments = Self::workspace_segments(workspace).to_vec();
        segments.push("computes");
        ArmRequest {
            method: Method::Get,
            url: self.url(&segments),
            resource: workspace.to_string(),
            action: ACTION_READ_COMPUTES,
        }
    }

    /// `GET` one compute.
    pub fn get_compute(&self, id: &ComputeId) -> ArmRequest {
        let mut segments = Self::workspace_segments(id.workspace()).to_vec();
        segments.extend(["computes", id.name()]);
        ArmRequest {
            method: Method::Get,
            url: self.url(&segments),
            resource: id.to_string(),
            action: ACTION_READ_COMPUTES,
        }
    }

    /// `POST` start, stop or restart of a compute.
    pub fn power(&self, id: &ComputeId, action: PowerAction) -> ArmRequest {
        let mut segments = Self::workspace_segments(id.workspace()).to_vec();
        segments.extend(["computes", id.name(), action.verb()]);
        ArmRequest {
            method: Method::Post,
            url: self.url(&segments),
            resource: id.to_string(),
            action: action.permission(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "9e223dbe-3399-4e19-88eb-0975f02ac87f";
    const WS: &str = "/subscriptions/9e223dbe-3399-4e19-88eb-0975f02ac87f/resourceGroups/ml-test/providers/Microsoft.MachineLearningServices/workspaces/mlworkspace-test2";

    fn requests(endpoint: &str) -> Requests {
        Requests::new(Url::parse(endpoint).unwrap_or_else(|e| panic!("{endpoint}: {e}")), "2024-04-01")
    }

    fn workspace() -> WorkspaceId {
        WS.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn compute() -> ComputeId {
        format!("{WS}/computes/jiajicompute1").parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn urls_match_the_recordings() {
        let r = requests("https://management.azure.com");
        assert_eq!(
            r.list_computes(&workspace()).url.as_str(),
            format!("https://management.azure.com{WS}/computes?api-version=2024-04-01")
        );
        assert_eq!(
            r.get_compute(&compute()).url.as_str(),
            format!("https://management.azure.com{WS}/computes/jiajicompute1?api-version=2024-04-01")
        );
        let stop = r.power(&compute(), PowerAction::Stop);
        assert_eq!(stop.method, Method::Post);
        assert_eq!(
            stop.url.as_str(),
            format!("https://management.azure.com{WS}/computes/jiajicompute1/stop?api-version=2024-04-01")
        );
        assert_eq!(stop.action, ACTION_STOP);
        assert_eq!(stop.resource, format!("{WS}/computes/jiajicompute1"));
    }

    #[test]
    fn workspace_lists_by_subscription_and_resource_group() {
        let r = requests("https://management.chinacloudapi.cn/");
        let sub: SubscriptionId = SUB.parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.list_workspaces(&sub, None).url.as_str(),
            format!(
                "https://management.chinacloudapi.cn/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/workspaces?api-version=2024-04-01"
            )
        );
        let by_rg = r.list_workspaces(&sub, Some("ml-test"));
        assert_eq!(
            by_rg.url.as_str(),
            format!(
                "https://management.chinacloudapi.cn/subscriptions/{SUB}/resourceGroups/ml-test/providers/Microsoft.MachineLearningServices/workspaces?api-version=2024-04-01"
            )
        );
        assert_eq!(by_rg.resource, format!("/subscriptions/{SUB}/resourceGroups/ml-test"));
    }

    #[test]
    fn an_endpoint_path_prefix_is_kept_and_names_are_escaped() {
        let r = requests("https://127.0.0.1:8443/arm/?stale=1");
        let sub: SubscriptionId = SUB.parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.list_workspaces(&sub, Some("rg (x)")).url.as_str(),
            format!(
                "https://127.0.0.1:8443/arm/subscriptions/{SUB}/resourceGroups/rg%20(x)/providers/Microsoft.MachineLearningServices/workspaces?api-version=2024-04-01"
            )
        );
    }

    #[test]
    fn every_action_is_listed() {
        for action in [PowerAction::Start, PowerAction::Stop, PowerAction::Restart] {
            assert!(ACTIONS.contains(&action.permission()));
        }
        let r = requests("https://management.azure.com");
        assert!(ACTIONS.contains(&r.get_compute(&compute()).action));
        assert!(ACTIONS.contains(&r.list_computes(&workspace()).action));
    }
}

//! The inventory view the plan reads: one compute as discovery found it, and the configured scopes it must fall
//! in. Defined here so the policy does not depend on the Azure crate; discovery converts into it.

use std::collections::BTreeMap;

use jiff::Timestamp;

/// One compute of the inventory, as discovery reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The ARM resource id.
    pub id: String,
    /// The compute's name inside its workspace.
    pub name: String,
    /// The subscription id.
    pub subscription: String,
    /// The resource group name.
    pub resource_group: String,
    /// The Azure ML workspace name.
    pub workspace: String,
    /// ARM's `computeType` (`ComputeInstance`, `AmlCompute`...).
    pub compute_type: String,
    /// ARM's `state` (`Running`, `Stopped`, `JobRunning`...), an open set; `None` when ARM reported none.
    pub state: Option<String>,
    /// The VM size (`Standard_DS3_v2`...), when known.
    pub vm_size: Option<String>,
    /// The resource's tags.
    pub tags: BTreeMap<String, String>,
    /// The last operation Azure reports on it (`lastOperation`), when it reports one.
    pub last_operation: Option<LastOperation>,
    /// Who owns it, when Azure says (the creator's user name, else the assigned user's object id).
    pub owner: Option<String>,
}

/// The last operation Azure reports on a compute instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastOperation {
    /// `Start`, `Stop`, `Create`...
    pub name: String,
    /// When it was made; `None` when Azure gave no time or one that does not read as an instant.
    pub time: Option<Timestamp>,
    /// `Succeeded`, `InProgress`, `StopFailed`...
    pub status: String,
}

impl Instance {
    /// The value of tag `name`, matching the tag name case-insensitively as Azure does.
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// Where targets may be discovered and acted on: a subscription, optionally narrowed to a resource group and
/// a workspace. Names compare case-insensitively, as Azure names do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The subscription id.
    pub subscription: String,
    /// Only this resource group, when set.
    pub resource_group: Option<String>,
    /// Only this workspace, when set (in any resource group of the scope, if none is named).
    pub workspace: Option<String>,
}

impl Scope {
    /// Whether `instance` lies inside this scope.
    pub fn covers(&self, instance: &Instance) -> bool {
        let matches =
            |want: &Option<String>, have: &str| want.as_ref().is_none_or(|want| want.eq_ignore_ascii_case(have));
        self.subscription.eq_ignore_ascii_case(&instance.subscription)
            && matches(&self.resource_group, &instance.resource_group)
            && matches(&self.workspace, &instance.workspace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(subscription: &str, resource_group: &str, workspace: &str) -> Instance {
        Instance {
            id: format!("/subscriptions/{subscription}/resourceGroups/{resource_group}/x/{workspace}/computes/a"),
            name: "a".to_owned(),
            subscription: subscription.to_owned(),
            resource_group: resource_group.to_owned(),
            workspace: workspace.to_owned(),
            compute_type: "ComputeInstance".to_owned(),
            state: Some("Running".to_owned()),
            vm_size: None,
            tags: BTreeMap::from([("AutoStop".to_owned(), "off".to_owned())]),
            last_operation: None,
            owner: None,
        }
    }

    #[test]
    fn scopes_narrow_from_subscription_to_group_to_workspace_ignoring_case() {
        let sub = "00000000-0000-0000-0000-00000000000a";
        let scope = |rg: Option<&str>, ws: Option<&str>| Scope {
            subscription: sub.to_uppercase(),
            resource_group: rg.map(str::to_owned),
            workspace: ws.map(str::to_owned),
        };
        let target = instance(sub, "ml-rg", "ml-ws");
        let cases = [
            (scope(None, None), true),
            (scope(Some("ML-RG"), None), true),
            (scope(Some("other-rg"), None), false),
            (scope(Some("ml-rg"), Some("ML-WS")), true),
            (scope(Some("ml-rg"), Some("other-ws")), false),
            (scope(None, Some("ml-ws")), true),
            (Scope { subscription: "00000000-0000-0000-0000-00000000000b".to_owned(), ..scope(None, None) }, false),
        ];
        for (scope, expected) in cases {
            assert_eq!(scope.covers(&target), expected, "{scope:?}");
        }
    }

    #[test]
    fn tag_names_match_case_insensitively() {
        let target = instance("s", "rg", "ws");
        assert_eq!(target.tag("autostop"), Some("off"));
        assert_eq!(target.tag("autostop-rule"), None);
    }
}

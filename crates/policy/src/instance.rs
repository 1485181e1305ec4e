//! The inventory view the plan reads: one compute as discovery found it, and the configured scopes it must fall
//! in. Defined here so the policy does not depend on the Azure crate; discovery converts into it.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;

/// The kinds of target: Azure ML compute instances, virtual machines, VM scale sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An Azure ML compute (`compute-instance`; clusters are never acted on).
    #[default]
    ComputeInstance,
    /// A virtual machine (`vm`): stop deallocates it.
    Vm,
    /// A VM scale set (`vmss`), acted on as a whole.
    Vmss,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [Kind::ComputeInstance, Kind::Vm, Kind::Vmss];

    /// The name in configuration, flags and JSON: `compute-instance`, `vm`, `vmss`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ComputeInstance => "compute-instance",
            Kind::Vm => "vm",
            Kind::Vmss => "vmss",
        }
    }

    /// Reads a kind name (exactly as written in [`Kind::as_str`]).
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == text.trim())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One target of the inventory, as discovery reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instance {
    /// Compute instance, VM or scale set.
    pub kind: Kind,
    /// The ARM resource id.
    pub id: String,
    /// The compute's name inside its workspace.
    pub name: String,
    /// The subscription id.
    pub subscription: String,
    /// The resource group name.
    pub resource_group: String,
    /// The Azure ML workspace name (empty for VMs and scale sets).
    pub workspace: String,
    /// ARM's `computeType` (`ComputeInstance`, `AmlCompute`...); the resource type for VMs and scale sets.
    pub compute_type: String,
    /// ARM's `state` (`Running`, `Stopped`, `JobRunning`...), or a VM's power state (`running`, `stopped`,
    /// `deallocated`...): an open set; `None` when Azure reported none.
    pub state: Option<String>,
    /// How many instances a scale set has.
    pub capacity: Option<u64>,
    /// Whether an autoscale setting targets the scale set.
    pub autoscale: bool,
    /// The VM size (`Standard_DS3_v2`...), when known.
    pub vm_size: Option<String>,
    /// The resource's tags.
    pub tags: BTreeMap<String, String>,
    /// The last operation Azure reports on it (`lastOperation`), when it reports one.
    pub last_operation: Option<LastOperation>,
    /// Who owns it: for a compute, who Azure ML says created it; for a VM or scale set, the configured owner tag.
    pub owner: Option<String>,
    /// A compute instance's idle shutdown (ISO 8601, e.g. `PT60M`); `None` when off.
    pub idle_shutdown: Option<String>,
    /// A compute instance's native start/stop schedules.
    pub native_schedules: Vec<NativeSchedule>,
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

/// A native start/stop schedule of a compute instance (Azure ML runs it, not autostop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeSchedule {
    /// True for a start schedule, false for a stop schedule.
    pub starts: bool,
    /// Whether it is enabled.
    pub enabled: bool,
    /// How it is written: the NCRONTAB expression and zone, or its trigger type.
    pub description: String,
}

impl Instance {
    /// The value of tag `name`, matching the tag name case-insensitively as Azure does.
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// Where targets may be discovered and acted on: a subscription, optionally narrowed to a resource group and
/// a workspace (which narrows compute instances only), and the kinds of target it holds. Names compare
/// case-insensitively, as Azure names do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The kinds of target of the scope (`kinds = [...]`, default compute instances only); never empty.
    pub kinds: Vec<Kind>,
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
        let workspace = instance.kind != Kind::ComputeInstance || matches(&self.workspace, &instance.workspace);
        self.kinds.contains(&instance.kind)
            && self.subscription.eq_ignore_ascii_case(&instance.subscription)
            && matches(&self.resource_group, &instance.resource_group)
            && workspace
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
            ..Instance::default()
        }
    }

    #[test]
    fn scopes_narrow_from_subscription_to_group_to_workspace_ignoring_case() {
        let sub = "00000000-0000-0000-0000-00000000000a";
        let scope = |rg: Option<&str>, ws: Option<&str>| Scope {
            kinds: vec![Kind::ComputeInstance],
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

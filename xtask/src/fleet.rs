//! The fleets the benchmark scenarios run against, written as the emulator's fleet file (`autostop emulator
//! --fleet FILE`). Pure: builds JSON values; the caller writes them.

use serde_json::{Value, json};

/// The shape of a synthetic fleet: one resource group per subscription, all instances `STANDARD_DS3_V2`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Number of subscriptions.
    pub subscriptions: usize,
    /// Workspaces in each subscription.
    pub workspaces_per_subscription: usize,
    /// Compute instances in each workspace.
    pub instances_per_workspace: usize,
    /// How many instances of each workspace are `Running` (the first ones); the rest are `Stopped`.
    pub running_per_workspace: usize,
}

impl Shape {
    /// Instances in the whole fleet.
    pub fn instances(&self) -> usize {
        self.subscriptions * self.workspaces_per_subscription * self.instances_per_workspace
    }

    /// `Running` instances in one subscription: the stops the job has to make there.
    pub fn running_per_subscription(&self) -> usize {
        self.workspaces_per_subscription * self.running_per_workspace.min(self.instances_per_workspace)
    }
}

/// The id of subscription `index` (GUID-shaped, as ARM and autostop expect).
pub fn subscription_id(index: usize) -> String {
    format!("00000000-0000-4000-8000-{:012}", index + 1)
}

/// The resource group of subscription `index`.
pub fn resource_group(index: usize) -> String {
    format!("rg-{index:03}")
}

/// The name of workspace `workspace` of subscription `subscription`.
pub fn workspace_name(subscription: usize, workspace: usize) -> String {
    format!("ws-{subscription:03}-{workspace:03}")
}

/// The fleet file's JSON for `shape`.
pub fn fleet_json(shape: &Shape) -> Value {
    let subscriptions = (0..shape.subscriptions)
        .map(|s| {
            let workspaces = (0..shape.workspaces_per_subscription)
                .map(|w| {
                    let computes = (0..shape.instances_per_workspace)
                        .map(|i| {
                            json!({
                                "name": format!("ci-{s:03}-{w:03}-{i:04}"),
                                "compute_type": "ComputeInstance",
                                "state": if i < shape.running_per_workspace { "Running" } else { "Stopped" },
                                "vm_size": "STANDARD_DS3_V2",
                                "owner": format!("user{i:04}@contoso.com"),
                            })
                        })
                        .collect::<Vec<_>>();
                    json!({"name": workspace_name(s, w), "location": "eastus", "computes": computes})
                })
                .collect::<Vec<_>>();
            json!({
                "id": subscription_id(s),
                "resource_groups": [{"name": resource_group(s), "workspaces": workspaces}],
            })
        })
        .collect::<Vec<_>>();
    json!({ "subscriptions": subscriptions })
}

/// A fleet of compute instances and virtual machines: `shape`'s instances, plus in each subscription's resource
/// group `vms_per_subscription` VMs, the first `running_vms_per_subscription` of them running and the rest
/// deallocated (the owner in the `owner` tag, as on real VMs).
pub fn mixed_fleet_json(shape: &Shape, vms_per_subscription: usize, running_vms_per_subscription: usize) -> Value {
    let mut fleet = fleet_json(shape);
    let locations = ["eastus", "westeurope", "japaneast", "westus2"];
    if let Some(subscriptions) = fleet["subscriptions"].as_array_mut() {
        for (s, subscription) in subscriptions.iter_mut().enumerate() {
            let vms = (0..vms_per_subscription)
                .map(|v| {
                    json!({
                        "name": format!("vm-{s:03}-{v:04}"),
                        "location": locations[v % locations.len()],
                        "power_state": if v < running_vms_per_subscription { "running" } else { "deallocated" },
                        "vm_size": "Standard_D2s_v3",
                        "tags": {"owner": format!("user{v:04}@contoso.com")},
                    })
                })
                .collect::<Vec<_>>();
            subscription["resource_groups"][0]["virtual_machines"] = Value::Array(vms);
        }
    }
    fleet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_has_the_shape_and_running_count() {
        let shape = Shape {
            subscriptions: 2,
            workspaces_per_subscription: 3,
            instances_per_workspace: 5,
            running_per_workspace: 3,
        };
        let fleet = fleet_json(&shape);
        let subscriptions = fleet["subscriptions"].as_array().expect("subscriptions array");
        assert_eq!(subscriptions.len(), 2);
        let computes: Vec<&Value> = subscriptions
            .iter()
            .flat_map(|s| s["resource_groups"][0]["workspaces"].as_array().expect("workspaces array"))
            .flat_map(|w| w["computes"].as_array().expect("computes array"))
            .collect();
        assert_eq!(computes.len(), shape.instances());
        let running = computes.iter().filter(|c| c["state"] == "Running").count();
        assert_eq!(running, shape.subscriptions * shape.running_per_subscription());
        assert_eq!(subscriptions[1]["id"], subscription_id(1));
    }

    #[test]
    fn mixed_fleets_add_vms_to_every_subscription() {
        let shape = Shape {
            subscriptions: 2,
            workspaces_per_subscription: 1,
            instances_per_workspace: 3,
            running_per_workspace: 1,
        };
        let fleet = mixed_fleet_json(&shape, 5, 2);
        let subscriptions = fleet["subscriptions"].as_array().expect("subscriptions");
        assert_eq!(subscriptions.len(), 2);
        for subscription in subscriptions {
            let group = &subscription["resource_groups"][0];
            let vms = group["virtual_machines"].as_array().expect("virtual_machines");
            assert_eq!(vms.len(), 5);
            assert_eq!(vms.iter().filter(|vm| vm["power_state"] == "running").count(), 2);
            assert_eq!(vms[0]["tags"]["owner"], "user0000@contoso.com");
            assert_eq!(group["workspaces"][0]["computes"].as_array().map(Vec::len), Some(3));
        }
    }
}

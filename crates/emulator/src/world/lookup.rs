//! Finding things in the indexed fleet: subscriptions, resource groups, workspaces and computes by name or ARM
//! id (case-insensitive, as ARM matches), with the 404 ARM answers naming what is missing; and the fleet's
//! locations and VM sizes.

use super::{ComputeEntry, GroupEntry, PROVIDER, SubscriptionEntry, WorkspaceEntry, World};
use crate::arm_error::ArmError;

impl World {
    /// Every (region, VM size) pair of the fleet's computes, each once (sizes as the fleet spells them).
    pub fn sizes_by_region(&self) -> std::collections::BTreeSet<(String, String)> {
        let location = |compute: &ComputeEntry| self.workspaces[compute.workspace].location.clone();
        self.computes.iter().map(|compute| (location(compute), compute.spec.vm_size.clone())).collect()
    }

    /// The subscription ids, in fleet order.
    pub fn subscription_ids(&self) -> Vec<String> {
        self.subscriptions.iter().map(|s| s.id.clone()).collect()
    }

    /// The subscription id as the fleet spells it, or 404 `SubscriptionNotFound`.
    pub fn subscription(&self, subscription: &str) -> Result<&str, ArmError> {
        self.subscription_entry(subscription).map(|s| s.id.as_str())
    }

    fn subscription_entry(&self, subscription: &str) -> Result<&SubscriptionEntry, ArmError> {
        self.subscription_index.get(&subscription.to_ascii_lowercase()).map(|&i| &self.subscriptions[i]).ok_or_else(
            || {
                ArmError::new(
                    404,
                    "SubscriptionNotFound",
                    format!("The subscription '{subscription}' could not be found."),
                )
            },
        )
    }

    fn group(&self, subscription: &str, group: &str) -> Result<&GroupEntry, ArmError> {
        self.subscription_entry(subscription)?.groups.iter().find(|g| g.name.eq_ignore_ascii_case(group)).ok_or_else(
            || ArmError::new(404, "ResourceGroupNotFound", format!("Resource group '{group}' could not be found.")),
        )
    }

    /// The workspaces of a subscription, in fleet order.
    pub fn workspaces_in_subscription(&self, subscription: &str) -> Result<Vec<&WorkspaceEntry>, ArmError> {
        let sub = self.subscription_entry(subscription)?;
        Ok(sub.groups.iter().flat_map(|g| &g.workspaces).map(|&i| &self.workspaces[i]).collect())
    }

    /// The workspaces of a resource group, in fleet order.
    pub fn workspaces_in_group(&self, subscription: &str, group: &str) -> Result<Vec<&WorkspaceEntry>, ArmError> {
        Ok(self.group(subscription, group)?.workspaces.iter().map(|&i| &self.workspaces[i]).collect())
    }

    /// A workspace, or the 404 naming what is missing.
    pub fn workspace(&self, subscription: &str, group: &str, name: &str) -> Result<usize, ArmError> {
        self.group(subscription, group)?
            .workspaces
            .iter()
            .copied()
            .find(|&i| self.workspaces[i].name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ArmError::new(
                    404,
                    "ResourceNotFound",
                    format!(
                        "The Resource '{PROVIDER}/workspaces/{name}' under resource group '{group}' was not found. \
                         For more details please go to https://aka.ms/ARMResourceNotFoundFix"
                    ),
                )
            })
    }

    /// Every location of the fleet's workspaces, sorted, each once.
    pub fn locations(&self) -> Vec<String> {
        distinct_locations(self.workspaces.iter().map(|ws| ws.location.as_str()))
    }

    /// Where ARM routes a request about a resource group (its first workspace's location) or one of its
    /// workspaces; `None` when the emulator has no such place.
    pub fn location_of(&self, subscription: &str, group: &str, workspace: Option<&str>) -> Option<&str> {
        let index = match workspace {
            Some(name) => self.workspace(subscription, group, name).ok()?,
            None => *self.group(subscription, group).ok()?.workspaces.first()?,
        };
        Some(&self.workspaces[index].location)
    }

    /// The workspace at an index returned by [`World::workspace`].
    pub fn workspace_entry(&self, index: usize) -> &WorkspaceEntry {
        &self.workspaces[index]
    }

    /// A compute by its parts, or the 404 naming what is missing.
    pub fn compute(&self, subscription: &str, group: &str, workspace: &str, name: &str) -> Result<usize, ArmError> {
        let ws = &self.workspaces[self.workspace(subscription, group, workspace)?];
        let id = format!("{}/computes/{name}", ws.id).to_ascii_lowercase();
        self.compute_index.get(&id).copied().ok_or_else(|| {
            ArmError::new(
                404,
                "ResourceNotFound",
                format!(
                    "The Resource '{PROVIDER}/workspaces/{}/computes/{name}' under resource group '{}' was not found.",
                    ws.name, ws.group
                ),
            )
        })
    }

    /// A compute by full ARM id (case-insensitive).
    pub fn compute_by_id(&self, id: &str) -> Option<usize> {
        self.compute_index.get(&id.trim_end_matches('/').to_ascii_lowercase()).copied()
    }

    /// A compute as last settled (call [`World::settle`] first to see it at `now`).
    pub fn compute_at(&self, index: usize) -> &ComputeEntry {
        &self.computes[index]
    }
}

/// `locations` in lower case, sorted, each once: the list ARM prints in its errors.
pub(crate) fn distinct_locations<'a>(locations: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut all: Vec<String> = locations.map(str::to_ascii_lowercase).collect();
    all.sort();
    all.dedup();
    all
}

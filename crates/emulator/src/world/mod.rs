//! The live state behind the emulator: the indexed fleet of Azure ML computes with their states and operations.
//!
//! The state machine lives here: Running -stop-> Stopping -> Stopped, Stopped -start-> Starting -> Running,
//! Running -restart-> Restarting -> Running (JobRunning can be stopped or restarted too). Transitions settle lazily
//! whenever a compute or an operation is looked at. Pure: the emulated time `now` and wall-clock strings are passed
//! in; no HTTP here. This file holds the index itself; [`action`] the actions, [`lookup`] finding things in it,
//! [`transitions`] running actions as operations, [`idle_shutdown`] the idle-shutdown setting.

mod action;
mod idle_shutdown;
mod lookup;
#[cfg(test)]
mod tests;
mod transitions;

use std::collections::HashMap;

use crate::fleet::{Compute, Fleet};
use crate::operations::Operations;

pub(crate) use action::Action;
pub(crate) use lookup::distinct_locations;

/// The ARM provider namespace of Azure ML.
pub(crate) const PROVIDER: &str = "Microsoft.MachineLearningServices";

/// `lastOperation` of a compute instance.
#[derive(Debug, Clone)]
pub(crate) struct LastOperation {
    /// `Create`, `Start`, `Stop`, `Restart`.
    pub name: &'static str,
    /// When it began (ARM timestamp).
    pub time: String,
    /// `InProgress`, `Succeeded`, or `StartFailed` / `StopFailed` / `RestartFailed`.
    pub status: String,
}

/// A subscription and its resource groups.
#[derive(Debug)]
struct SubscriptionEntry {
    id: String,
    groups: Vec<GroupEntry>,
}

/// A resource group and the indices of its workspaces.
#[derive(Debug)]
struct GroupEntry {
    name: String,
    workspaces: Vec<usize>,
}

/// A workspace with its position in the fleet.
#[derive(Debug)]
pub(crate) struct WorkspaceEntry {
    /// The subscription id as the fleet spells it.
    pub subscription: String,
    /// The resource group name as the fleet spells it.
    pub group: String,
    /// The workspace name.
    pub name: String,
    /// The region.
    pub location: String,
    /// The full ARM id.
    pub id: String,
    /// Indices of its computes, in fleet order.
    pub computes: Vec<usize>,
}

/// A compute with its live state.
#[derive(Debug)]
pub(crate) struct ComputeEntry {
    /// Index of its workspace.
    pub workspace: usize,
    /// The full ARM id.
    pub id: String,
    /// The compute as loaded; `spec.state` is the current settled state.
    pub spec: Compute,
    /// The last operation run on it.
    pub last_operation: LastOperation,
    /// `createdOn`.
    pub created_on: String,
    /// `modifiedOn`.
    pub modified_on: String,
    /// The operation in flight, if any.
    pending: Option<String>,
    /// The next operation on it ends `Failed`.
    fail_next: bool,
    /// Its JSON as last rendered, dropped whenever anything it shows changes.
    rendered: Option<String>,
}

/// What an operation-status poll sees.
pub(crate) use crate::operations::Progress as OperationStatus;

/// The live, indexed fleet.
#[derive(Debug)]
pub(crate) struct World {
    subscriptions: Vec<SubscriptionEntry>,
    subscription_index: HashMap<String, usize>,
    workspaces: Vec<WorkspaceEntry>,
    computes: Vec<ComputeEntry>,
    compute_index: HashMap<String, usize>,
    operations: Operations<Action>,
}

impl World {
    /// Indexes a (validated) fleet; `created` is the ARM timestamp shown as creation and modification time.
    pub fn new(fleet: Fleet, created: &str) -> World {
        let mut world = World {
            subscriptions: Vec::new(),
            subscription_index: HashMap::new(),
            workspaces: Vec::new(),
            computes: Vec::new(),
            compute_index: HashMap::new(),
            operations: Operations::default(),
        };
        for sub in fleet.subscriptions {
            let mut groups = Vec::new();
            for rg in sub.resource_groups {
                let mut workspaces = Vec::new();
                for ws in rg.workspaces {
                    let ws_index = world.workspaces.len();
                    let ws_id = format!(
                        "/subscriptions/{}/resourceGroups/{}/providers/{PROVIDER}/workspaces/{}",
                        sub.id, rg.name, ws.name
                    );
                    let mut computes = Vec::new();
                    for compute in ws.computes {
                        let id = format!("{ws_id}/computes/{}", compute.name);
                        world.compute_index.insert(id.to_ascii_lowercase(), world.computes.len());
                        computes.push(world.computes.len());
                        world.computes.push(ComputeEntry {
                            workspace: ws_index,
                            id,
                            spec: compute,
                            last_operation: LastOperation {
                                name: "Create",
                                time: created.to_owned(),
                                status: "Succeeded".to_owned(),
                            },
                            created_on: created.to_owned(),
                            modified_on: created.to_owned(),
                            pending: None,
                            fail_next: false,
                            rendered: None,
                        });
                    }
                    world.workspaces.push(WorkspaceEntry {
                        subscription: sub.id.clone(),
                        group: rg.name.clone(),
                        name: ws.name,
                        location: ws.location,
                        id: ws_id,
                        computes,
                    });
                    workspaces.push(ws_index);
                }
                groups.push(GroupEntry { name: rg.name, workspaces });
            }
            world.subscription_index.insert(sub.id.to_ascii_lowercase(), world.subscriptions.len());
            world.subscriptions.push(SubscriptionEntry { id: sub.id, groups });
        }
        world
    }

    /// The compute's JSON as last rendered, unless it has changed since (settle first).
    pub fn rendered(&self, index: usize) -> Option<&str> {
        self.computes[index].rendered.as_deref()
    }

    /// Remembers the compute's rendered JSON until it next changes.
    pub fn remember_rendered(&mut self, index: usize, json: String) {
        self.computes[index].rendered = Some(json);
    }
}

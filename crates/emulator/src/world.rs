//! The live state behind the emulator: the indexed fleet, instance states, transitions and operations.
//!
//! The state machine lives here: Running -stop-> Stopping -> Stopped, Stopped -start-> Starting -> Running,
//! Running -restart-> Restarting -> Running (JobRunning can be stopped or restarted too). Transitions settle lazily
//! whenever a compute or an operation is looked at. Pure: the emulated time `now` and wall-clock strings are passed
//! in; no HTTP here.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::arm_error::ArmError;
use crate::fleet::{Compute, Fleet};
use crate::operations::{Accepted, NewOperation, Operations};

/// The ARM provider namespace of Azure ML.
pub(crate) const PROVIDER: &str = "Microsoft.MachineLearningServices";

/// A long-running action on a compute instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Stopped -> Starting -> Running.
    Start,
    /// Running | JobRunning -> Stopping -> Stopped.
    Stop,
    /// Running | JobRunning -> Restarting -> Running.
    Restart,
}

impl Action {
    /// Parses the last path segment of `POST .../computes/{name}/{action}` (case-insensitive).
    pub fn parse(segment: &str) -> Option<Action> {
        [Action::Start, Action::Stop, Action::Restart].into_iter().find(|a| a.verb().eq_ignore_ascii_case(segment))
    }

    /// The path segment: `start`, `stop`, `restart`.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
        }
    }

    /// `lastOperation.operationName`.
    fn operation_name(self) -> &'static str {
        match self {
            Action::Start => "Start",
            Action::Stop => "Stop",
            Action::Restart => "Restart",
        }
    }

    /// The state while the action runs.
    fn transient_state(self) -> &'static str {
        match self {
            Action::Start => "Starting",
            Action::Stop => "Stopping",
            Action::Restart => "Restarting",
        }
    }

    /// The state once the action succeeded.
    fn final_state(self) -> &'static str {
        match self {
            Action::Start | Action::Restart => "Running",
            Action::Stop => "Stopped",
        }
    }

    /// The states the action may start from, as Azure ML names them in its refusal.
    fn allowed_from(self, state: &str) -> bool {
        match self {
            Action::Start => state.eq_ignore_ascii_case("Stopped"),
            Action::Stop | Action::Restart => {
                state.eq_ignore_ascii_case("Running") || state.eq_ignore_ascii_case("JobRunning")
            }
        }
    }

    /// The RBAC action ARM checks, e.g. `Microsoft.MachineLearningServices/workspaces/computes/stop/action`.
    pub fn rbac_action(self) -> String {
        format!("{PROVIDER}/workspaces/computes/{}/action", self.verb())
    }
}

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

    /// The compute's JSON as last rendered, unless it has changed since (settle first).
    pub fn rendered(&self, index: usize) -> Option<&str> {
        self.computes[index].rendered.as_deref()
    }

    /// Remembers the compute's rendered JSON until it next changes.
    pub fn remember_rendered(&mut self, index: usize, json: String) {
        self.computes[index].rendered = Some(json);
    }

    /// Applies the outcome of the compute's operation if it has ended by `now`.
    pub fn settle(&mut self, index: usize, now: Duration, wall: &str) {
        settle(&mut self.computes[index], &mut self.operations, now, wall);
    }

    /// Begins `action` on a compute instance: the accepted operation, or what ARM answers instead.
    ///
    /// Refusals (chosen from what Azure ML is seen to answer): a cluster gets 400 `BadRequest`; an instance in
    /// the middle of another operation gets 409 `Conflict`; start on a non-Stopped instance gets 400
    /// `StartComputeInstanceOnlyAllowedInStoppedState` (the code Azure ML sends), and stop / restart on an instance
    /// that is not Running or JobRunning get the analogous 400 `...OnlyAllowedInRunningState`.
    ///
    /// The operation ends `Failed` when `inject_failure` is set or the compute was marked with
    /// [`World::fail_next_operation`].
    pub fn begin(
        &mut self,
        index: usize,
        action: Action,
        now: Duration,
        duration: Duration,
        inject_failure: bool,
        wall: &str,
    ) -> Result<Accepted, ArmError> {
        self.settle(index, now, wall);
        let compute = &self.computes[index];
        let name = compute.spec.name.clone();
        if !compute.spec.is_instance() {
            return Err(ArmError::new(
                400,
                "BadRequest",
                format!(
                    "Compute '{name}' is of type {}; {} is only supported for compute instances.",
                    compute.spec.compute_type,
                    action.verb()
                ),
            ));
        }
        if compute.pending.is_some() {
            return Err(ArmError::new(
                409,
                "Conflict",
                format!(
                    "Compute instance '{name}' is in state '{}' while another operation is in progress; {} is not allowed now.",
                    compute.spec.state,
                    action.verb()
                ),
            ));
        }
        if !action.allowed_from(&compute.spec.state) {
            let (code, required) = match action {
                Action::Start => ("StartComputeInstanceOnlyAllowedInStoppedState", "stopped"),
                Action::Stop => ("StopComputeInstanceOnlyAllowedInRunningState", "running"),
                Action::Restart => ("RestartComputeInstanceOnlyAllowedInRunningState", "running"),
            };
            return Err(ArmError::new(
                400,
                code,
                format!(
                    "{} Azure ML Compute Instance is only allowed when the instance {name} is in '{required}' state \
                     (it is '{}').",
                    action.operation_name(),
                    compute.spec.state
                ),
            ));
        }
        let ws = &self.workspaces[compute.workspace];
        let compute = &mut self.computes[index];
        let failure = (std::mem::take(&mut compute.fail_next) || inject_failure).then(|| {
            ArmError::new(
                500,
                "InternalServerError",
                format!(
                    "The {} operation on compute instance '{name}' failed (a fault injected by the emulator).",
                    action.verb()
                ),
            )
        });
        let new = NewOperation { target: index, action, from_state: compute.spec.state.clone(), duration, failure };
        let accepted = self.operations.begin(new, (&ws.subscription, &ws.location), now, wall);
        compute.pending = Some(accepted.operation_id.clone());
        compute.rendered = None;
        compute.spec.state = action.transient_state().to_owned();
        compute.modified_on = wall.to_owned();
        compute.last_operation =
            LastOperation { name: action.operation_name(), time: wall.to_owned(), status: "InProgress".to_owned() };
        Ok(accepted)
    }

    /// The status of an operation at `now`, polled under `subscription`.
    pub fn operation_status(
        &mut self,
        subscription: &str,
        operation_id: &str,
        now: Duration,
        wall: &str,
    ) -> Result<OperationStatus, ArmError> {
        self.subscription(subscription)?;
        let computes = &mut self.computes;
        let settled = |ops: &mut _, index: usize| settle(&mut computes[index], ops, now, wall);
        let status = self.operations.poll((subscription, operation_id), now, wall, settled);
        status.ok_or_else(|| {
            ArmError::new(
                404,
                "ResourceNotFound",
                format!("The compute operation '{operation_id}' was not found in subscription '{subscription}'."),
            )
        })
    }

    /// Ends every operation in flight at `now` (their computes settle on next look).
    pub fn complete_operations(&mut self, now: Duration, wall: &str) {
        self.operations.end_all(now);
        for index in 0..self.computes.len() {
            self.settle(index, now, wall);
        }
    }

    /// How many computes are in each state at `now` (each settled first, as a GET would show it).
    pub fn state_counts(&mut self, now: Duration, wall: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for index in 0..self.computes.len() {
            self.settle(index, now, wall);
            *counts.entry(self.computes[index].spec.state.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Sets a compute's state, cancelling any transition in flight (its operation still reports its own end).
    pub fn set_state(&mut self, index: usize, state: &str, wall: &str) {
        let compute = &mut self.computes[index];
        compute.pending = None;
        compute.rendered = None;
        compute.spec.state = state.to_owned();
        compute.modified_on = wall.to_owned();
    }

    /// Sets a compute instance's idle shutdown (`value` already validated); a cluster gets 400 `BadRequest`.
    pub fn set_idle_shutdown(&mut self, index: usize, value: &str, wall: &str) -> Result<(), ArmError> {
        let compute = &mut self.computes[index];
        if !compute.spec.is_instance() {
            return Err(ArmError::new(
                400,
                "BadRequest",
                format!("Compute '{}' is not a compute instance; it has no idle shutdown.", compute.spec.name),
            ));
        }
        compute.spec.idle_time_before_shutdown = Some(value.to_owned());
        compute.rendered = None;
        compute.modified_on = wall.to_owned();
        Ok(())
    }

    /// Marks every compute named `name` (case-insensitive, in any workspace) so its next operation fails.
    pub fn fail_next_operation(&mut self, name: &str) -> usize {
        let mut marked = 0;
        for compute in self.computes.iter_mut().filter(|c| c.spec.name.eq_ignore_ascii_case(name)) {
            compute.fail_next = true;
            marked += 1;
        }
        marked
    }
}

/// `locations` in lower case, sorted, each once: the list ARM prints in its errors.
pub(crate) fn distinct_locations<'a>(locations: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut all: Vec<String> = locations.map(str::to_ascii_lowercase).collect();
    all.sort();
    all.dedup();
    all
}

/// Applies the outcome of `compute`'s operation if it has ended by `now`.
fn settle(compute: &mut ComputeEntry, operations: &mut Operations<Action>, now: Duration, wall: &str) {
    let Some(op) = operations.take_ended(&mut compute.pending, now, wall) else { return };
    compute.rendered = None;
    compute.modified_on = wall.to_owned();
    if op.failure.is_some() {
        compute.spec.state = op.from_state.clone();
        compute.last_operation.status = format!("{}Failed", op.action.operation_name());
    } else {
        compute.spec.state = op.action.final_state().to_owned();
        compute.last_operation.status = "Succeeded".to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WALL: &str = "2024-07-24T08:42:28.0000000+00:00";

    fn world() -> World {
        World::new(Fleet::sample(), WALL)
    }

    fn index(world: &World, name: &str) -> usize {
        let sub = "00000000-0000-4000-8000-000000000001";
        world.compute(sub, "ML-RESEARCH", "research-ws", name).expect("compute exists")
    }

    const SECOND: Duration = Duration::from_secs(1);

    fn at(w: &mut World, index: usize, now: Duration) -> &ComputeEntry {
        w.settle(index, now, WALL);
        w.compute_at(index)
    }

    #[test]
    fn stop_moves_through_stopping_to_stopped() {
        let mut w = world();
        let i = index(&w, "alice-ci");
        let accepted = w.begin(i, Action::Stop, Duration::ZERO, 10 * SECOND, false, WALL).expect("accepted");
        assert_eq!(at(&mut w, i, 5 * SECOND).spec.state, "Stopping");
        let status = w.operation_status(&accepted.subscription, &accepted.operation_id, 5 * SECOND, WALL).unwrap();
        assert_eq!((status.status, status.percent_complete), ("InProgress", 50.0));
        assert_eq!(at(&mut w, i, 10 * SECOND).spec.state, "Stopped");
        let status = w.operation_status(&accepted.subscription, &accepted.operation_id, 10 * SECOND, WALL).unwrap();
        assert_eq!(status.status, "Succeeded");
        assert_eq!(at(&mut w, i, 10 * SECOND).last_operation.status, "Succeeded");
    }

    #[test]
    fn end_time_is_fixed_when_the_operation_finishes() {
        let mut w = world();
        let i = index(&w, "alice-ci");
        let accepted = w.begin(i, Action::Stop, Duration::ZERO, SECOND, false, WALL).expect("accepted");
        let poll =
            |w: &mut World, now, wall| w.operation_status(&accepted.subscription, &accepted.operation_id, now, wall);
        assert_eq!(poll(&mut w, Duration::ZERO, WALL).unwrap().end_time, None, "no end time while in progress");
        let first = "2024-07-24T08:42:30.0000000+00:00";
        assert_eq!(poll(&mut w, SECOND, first).unwrap().end_time.as_deref(), Some(first));
        let later = "2024-07-24T08:50:00.0000000+00:00";
        assert_eq!(poll(&mut w, 60 * SECOND, later).unwrap().end_time.as_deref(), Some(first), "fixed at completion");
    }

    #[test]
    fn start_and_restart_end_running_and_job_running_can_stop() {
        let mut w = world();
        let bob = index(&w, "bob-ci");
        w.begin(bob, Action::Start, Duration::ZERO, SECOND, false, WALL).expect("start accepted");
        assert_eq!(at(&mut w, bob, Duration::ZERO).spec.state, "Starting");
        assert_eq!(at(&mut w, bob, SECOND).spec.state, "Running");
        w.begin(bob, Action::Restart, SECOND, SECOND, false, WALL).expect("restart accepted");
        assert_eq!(at(&mut w, bob, SECOND).spec.state, "Restarting");
        assert_eq!(at(&mut w, bob, 2 * SECOND).spec.state, "Running");
        let carol = index(&w, "carol-gpu");
        w.begin(carol, Action::Stop, Duration::ZERO, SECOND, false, WALL).expect("stop of JobRunning accepted");
    }

    #[test]
    fn refusals_name_the_state() {
        let mut w = world();
        let bob = index(&w, "bob-ci");
        let err = w.begin(bob, Action::Stop, Duration::ZERO, SECOND, false, WALL).unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (400, "StopComputeInstanceOnlyAllowedInRunningState"));
        assert!(err.message.contains("'Stopped'"), "{}", err.message);
        let alice = index(&w, "alice-ci");
        let err = w.begin(alice, Action::Start, Duration::ZERO, SECOND, false, WALL).unwrap_err();
        assert_eq!(err.code, "StartComputeInstanceOnlyAllowedInStoppedState");
        w.begin(alice, Action::Stop, Duration::ZERO, SECOND, false, WALL).expect("accepted");
        let err = w.begin(alice, Action::Start, Duration::ZERO, SECOND, false, WALL).unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (409, "Conflict"));
        let cluster = index(&w, "batch-cluster");
        let err = w.begin(cluster, Action::Stop, Duration::ZERO, SECOND, false, WALL).unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (400, "BadRequest"));
    }

    #[test]
    fn failed_operation_returns_to_the_old_state() {
        let mut w = world();
        assert_eq!(w.fail_next_operation("ALICE-CI"), 1);
        let i = index(&w, "alice-ci");
        let accepted = w.begin(i, Action::Stop, Duration::ZERO, SECOND, false, WALL).expect("accepted");
        let status = w.operation_status(&accepted.subscription, &accepted.operation_id, SECOND, WALL).unwrap();
        assert_eq!(status.status, "Failed");
        assert!(status.error.is_some());
        let entry = at(&mut w, i, SECOND);
        assert_eq!((entry.spec.state.as_str(), entry.last_operation.status.as_str()), ("Running", "StopFailed"));
        let again = w.begin(i, Action::Stop, SECOND, SECOND, false, WALL).expect("accepted");
        let status = w.operation_status(&again.subscription, &again.operation_id, 2 * SECOND, WALL).unwrap();
        assert_eq!(status.status, "Succeeded", "only the next operation fails");
    }

    #[test]
    fn rendered_json_is_forgotten_on_every_change() {
        let mut w = world();
        let i = index(&w, "alice-ci");
        let remember = |w: &mut World| w.remember_rendered(i, "cached".to_owned());
        remember(&mut w);
        assert_eq!(w.rendered(i), Some("cached"));
        w.begin(i, Action::Stop, Duration::ZERO, SECOND, false, WALL).expect("accepted");
        assert_eq!(w.rendered(i), None, "begin");
        remember(&mut w);
        w.settle(i, SECOND, WALL);
        assert_eq!(w.rendered(i), None, "settle");
        remember(&mut w);
        w.settle(i, 2 * SECOND, WALL);
        assert_eq!(w.rendered(i), Some("cached"), "nothing changed");
        w.set_state(i, "JobRunning", WALL);
        assert_eq!(w.rendered(i), None, "set_state");
    }

    #[test]
    fn complete_operations_finishes_everything_now() {
        let mut w = world();
        let i = index(&w, "alice-ci");
        w.begin(i, Action::Stop, Duration::ZERO, 3600 * SECOND, false, WALL).expect("accepted");
        w.complete_operations(SECOND, WALL);
        assert_eq!(at(&mut w, i, SECOND).spec.state, "Stopped");
    }

    #[test]
    fn lookups_are_case_insensitive_and_404s_name_the_thing() {
        let w = world();
        let sub = "00000000-0000-4000-8000-000000000001";
        assert!(w.compute(&sub.to_uppercase(), "ml-research", "RESEARCH-WS", "Alice-CI").is_ok());
        assert_eq!(w.subscription("nope").unwrap_err().code, "SubscriptionNotFound");
        assert_eq!(w.workspaces_in_group(sub, "nope").unwrap_err().code, "ResourceGroupNotFound");
        let err = w.workspace(sub, "ml-research", "nope").unwrap_err();
        assert!(err.message.contains("workspaces/nope"), "{}", err.message);
        let err = w.compute(sub, "ml-research", "research-ws", "ghost").unwrap_err();
        assert!(err.message.contains("computes/ghost"), "{}", err.message);
        let id = format!(
            "/SUBSCRIPTIONS/{sub}/resourcegroups/ml-research/providers/{PROVIDER}/workspaces/research-ws/computes/bob-ci"
        );
        assert!(w.compute_by_id(&id).is_some());
    }
}

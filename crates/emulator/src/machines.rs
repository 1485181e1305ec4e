//! The live state of the emulated `Microsoft.Compute` resources: virtual machines and scale sets, their power
//! states, and the long-running power operations that move them.
//!
//! Power states are the instance view's `PowerState/...` codes: deallocate goes `deallocating` -> `deallocated`,
//! start `starting` -> `running`, powerOff `stopping` -> `stopped` (powered off, still billed), restart
//! `starting` -> `running`. A scale set moves all its instances together. Transitions settle lazily whenever a
//! machine or an operation is looked at. Pure: the emulated time `now` and wall-clock strings are passed in.

use std::collections::HashMap;
use std::time::Duration;

use crate::arm::json::stable_guid;
use crate::arm_error::ArmError;
use crate::fleet::Fleet;
use crate::operations::{Accepted, NewOperation, Operations, Progress};

/// The ARM provider namespace of VMs and scale sets.
pub(crate) const COMPUTE_PROVIDER: &str = "Microsoft.Compute";

/// Which kind of machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MachineKind {
    /// `virtualMachines`.
    Vm,
    /// `virtualMachineScaleSets`.
    ScaleSet,
}

impl MachineKind {
    /// The resource type's last segment: `virtualMachines` or `virtualMachineScaleSets`.
    pub fn collection(self) -> &'static str {
        match self {
            MachineKind::Vm => "virtualMachines",
            MachineKind::ScaleSet => "virtualMachineScaleSets",
        }
    }

    /// Reads a collection segment (case-insensitive).
    pub fn parse(segment: &str) -> Option<MachineKind> {
        [MachineKind::Vm, MachineKind::ScaleSet]
            .into_iter()
            .find(|kind| kind.collection().eq_ignore_ascii_case(segment))
    }

    /// `VM` or `VM scale set`, for messages.
    fn noun(self) -> &'static str {
        match self {
            MachineKind::Vm => "VM",
            MachineKind::ScaleSet => "VM scale set",
        }
    }
}

/// A power operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MachineAction {
    /// Release the hardware: no more compute billing.
    Deallocate,
    /// Start a stopped or deallocated machine.
    Start,
    /// Power off, keeping the hardware (still billed).
    PowerOff,
    /// Restart a running machine.
    Restart,
}

impl MachineAction {
    /// Parses the last path segment of `POST .../{name}/{action}` (case-insensitive).
    pub fn parse(segment: &str) -> Option<MachineAction> {
        [MachineAction::Deallocate, MachineAction::Start, MachineAction::PowerOff, MachineAction::Restart]
            .into_iter()
            .find(|action| action.verb().eq_ignore_ascii_case(segment))
    }

    /// The path segment.
    pub fn verb(self) -> &'static str {
        match self {
            MachineAction::Deallocate => "deallocate",
            MachineAction::Start => "start",
            MachineAction::PowerOff => "powerOff",
            MachineAction::Restart => "restart",
        }
    }

    /// The RBAC action ARM checks, e.g. `Microsoft.Compute/virtualMachines/deallocate/action`.
    pub fn rbac_action(self, kind: MachineKind) -> String {
        format!("{COMPUTE_PROVIDER}/{}/{}/action", kind.collection(), self.verb())
    }

    fn transient_state(self) -> &'static str {
        match self {
            MachineAction::Deallocate => "deallocating",
            MachineAction::Start | MachineAction::Restart => "starting",
            MachineAction::PowerOff => "stopping",
        }
    }

    fn final_state(self) -> &'static str {
        match self {
            MachineAction::Deallocate => "deallocated",
            MachineAction::Start | MachineAction::Restart => "running",
            MachineAction::PowerOff => "stopped",
        }
    }

    /// Whether the action may begin from `state`. Deallocating a deallocated machine and starting a running one
    /// are accepted (Azure answers them as no-op operations).
    fn allowed_from(self, state: &str) -> bool {
        let is = |want: &[&str]| want.iter().any(|s| s.eq_ignore_ascii_case(state));
        match self {
            MachineAction::Deallocate => is(&["running", "stopped", "deallocated"]),
            MachineAction::Start => is(&["running", "stopped", "deallocated"]),
            MachineAction::PowerOff => is(&["running", "stopped"]),
            MachineAction::Restart => is(&["running"]),
        }
    }
}

/// One VM or scale set with its live state.
#[derive(Debug)]
pub(crate) struct Machine {
    /// VM or scale set.
    pub kind: MachineKind,
    /// The full ARM id.
    pub id: String,
    /// The subscription as the fleet spells it.
    pub subscription: String,
    /// The resource group as the fleet spells it.
    pub group: String,
    /// The name.
    pub name: String,
    /// The region.
    pub location: String,
    /// The settled power state (`running`, `deallocated`...).
    pub power_state: String,
    /// The VM size (`hardwareProfile.vmSize` or `sku.name`).
    pub vm_size: String,
    /// Tags.
    pub tags: std::collections::BTreeMap<String, String>,
    /// Instances of a scale set (1 for a VM).
    pub capacity: u32,
    /// A scale set with an autoscale setting.
    pub autoscale: bool,
    /// `vmId` / `uniqueId`.
    pub unique_id: String,
    /// `timeCreated`.
    pub time_created: String,
    /// When the power state last changed (the provisioning status's `time`).
    pub status_time: String,
    /// The `etag` counter, raised by every operation.
    pub etag: u64,
    pending: Option<String>,
    fail_next: bool,
}

/// Every VM and scale set of the fleet.
#[derive(Debug, Default)]
pub(crate) struct Machines {
    machines: Vec<Machine>,
    index: HashMap<String, usize>,
    /// Lowercase subscription -> lowercase resource group names.
    groups: HashMap<String, Vec<String>>,
    operations: Operations<MachineAction>,
}

impl Machines {
    /// Indexes the machines of a (validated) fleet; `created` is shown as their creation time.
    pub fn new(fleet: &Fleet, created: &str) -> Machines {
        let mut machines = Machines::default();
        for sub in &fleet.subscriptions {
            let groups = machines.groups.entry(sub.id.to_ascii_lowercase()).or_default();
            groups.extend(sub.resource_groups.iter().map(|rg| rg.name.to_ascii_lowercase()));
            for rg in &sub.resource_groups {
                let vms = rg.virtual_machines.iter().map(|vm| {
                    (MachineKind::Vm, &vm.name, &vm.location, &vm.power_state, &vm.vm_size, &vm.tags, 1, false)
                });
                let sets = rg.scale_sets.iter().map(|set| {
                    let (name, location, state, size) = (&set.name, &set.location, &set.power_state, &set.vm_size);
                    (MachineKind::ScaleSet, name, location, state, size, &set.tags, set.capacity, set.autoscale)
                });
                for (kind, name, location, power_state, vm_size, tags, capacity, autoscale) in vms.chain(sets) {
                    let id = format!(
                        "/subscriptions/{}/resourceGroups/{}/providers/{COMPUTE_PROVIDER}/{}/{name}",
                        sub.id,
                        rg.name,
                        kind.collection()
                    );
                    machines.index.insert(id.to_ascii_lowercase(), machines.machines.len());
                    machines.machines.push(Machine {
                        kind,
                        unique_id: stable_guid(&id),
                        id,
                        subscription: sub.id.clone(),
                        group: rg.name.clone(),
                        name: name.clone(),
                        location: location.clone(),
                        power_state: power_state.clone(),
                        vm_size: vm_size.clone(),
                        tags: tags.clone(),
                        capacity,
                        autoscale,
                        time_created: created.to_owned(),
                        status_time: created.to_owned(),
                        etag: 1,
                        pending: None,
                        fail_next: false,
                    });
                }
            }
        }
        machines
    }

    fn check_subscription(&self, subscription: &str) -> Result<&Vec<String>, ArmError> {
        self.groups.get(&subscription.to_ascii_lowercase()).ok_or_else(|| {
            ArmError::new(404, "SubscriptionNotFound", format!("The subscription '{subscription}' could not be found."))
        })
    }

    /// The machines of `kind` in a subscription (in fleet order), or 404 `SubscriptionNotFound`.
    pub fn in_subscription(&self, subscription: &str, kind: MachineKind) -> Result<Vec<usize>, ArmError> {
        self.check_subscription(subscription)?;
        Ok(self.select(|m| m.kind == kind && m.subscription.eq_ignore_ascii_case(subscription)))
    }

    /// The machines of `kind` in a resource group, or the 404 naming what is missing.
    pub fn in_group(&self, subscription: &str, group: &str, kind: MachineKind) -> Result<Vec<usize>, ArmError> {
        self.check_group(subscription, group)?;
        Ok(self.select(|m| {
            m.kind == kind && m.subscription.eq_ignore_ascii_case(subscription) && m.group.eq_ignore_ascii_case(group)
        }))
    }

    fn check_group(&self, subscription: &str, group: &str) -> Result<(), ArmError> {
        if self.check_subscription(subscription)?.iter().any(|known| known.eq_ignore_ascii_case(group)) {
            Ok(())
        } else {
            Err(ArmError::new(404, "ResourceGroupNotFound", format!("Resource group '{group}' could not be found.")))
        }
    }

    fn select(&self, keep: impl Fn(&Machine) -> bool) -> Vec<usize> {
        self.machines.iter().enumerate().filter(|(_, m)| keep(m)).map(|(i, _)| i).collect()
    }

    /// A machine by its parts, or the 404 naming what is missing.
    pub fn find(&self, subscription: &str, group: &str, kind: MachineKind, name: &str) -> Result<usize, ArmError> {
        self.check_group(subscription, group)?;
        let id = format!(
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/{COMPUTE_PROVIDER}/{}/{name}",
            kind.collection()
        );
        self.by_id(&id).ok_or_else(|| {
            ArmError::new(
                404,
                "ResourceNotFound",
                format!(
                    "The Resource '{COMPUTE_PROVIDER}/{}/{name}' under resource group '{group}' was not found. For \
                     more details please go to https://aka.ms/ARMResourceNotFoundFix",
                    kind.collection()
                ),
            )
        })
    }

    /// A machine by full ARM id (case-insensitive).
    pub fn by_id(&self, id: &str) -> Option<usize> {
        self.index.get(&id.trim_end_matches('/').to_ascii_lowercase()).copied()
    }

    /// Every region of the VMs and scale sets, in lower case, sorted, once each.
    pub fn locations(&self) -> Vec<String> {
        crate::world::distinct_locations(self.machines.iter().map(|machine| machine.location.as_str()))
    }

    /// Each (region, VM size) of the VMs and scale sets, as the fleet spells them.
    pub fn sizes_by_region(&self) -> std::collections::BTreeSet<(String, String)> {
        self.machines.iter().map(|machine| (machine.location.clone(), machine.vm_size.clone())).collect()
    }

    /// The machine at `index` as last settled.
    pub fn at(&self, index: usize) -> &Machine {
        &self.machines[index]
    }

    /// Applies the outcome of the machine's operation if it has ended by `now`.
    pub fn settle(&mut self, index: usize, now: Duration, wall: &str) {
        settle(&mut self.machines[index], &mut self.operations, now, wall);
    }

    /// Begins `action` on a machine: the accepted operation, or what Azure answers instead (409
    /// `OperationNotAllowed` while another operation runs or from a state the action cannot start from).
    pub fn begin(
        &mut self,
        index: usize,
        action: MachineAction,
        now: Duration,
        duration: Duration,
        inject_failure: bool,
        wall: &str,
    ) -> Result<Accepted, ArmError> {
        self.settle(index, now, wall);
        let machine = &mut self.machines[index];
        let noun = machine.kind.noun();
        if machine.pending.is_some() {
            return Err(ArmError::new(
                409,
                "OperationNotAllowed",
                format!(
                    "Operation '{}' is not allowed on {noun} '{}' since another operation is in progress \
                     (the {noun} is {}).",
                    action.verb(),
                    machine.name,
                    machine.power_state
                ),
            ));
        }
        if !action.allowed_from(&machine.power_state) {
            return Err(ArmError::new(
                409,
                "OperationNotAllowed",
                format!(
                    "Operation '{}' is not allowed on {noun} '{}' since the {noun} is {}.",
                    action.verb(),
                    machine.name,
                    machine.power_state
                ),
            ));
        }
        let failure = (std::mem::take(&mut machine.fail_next) || inject_failure).then(|| {
            ArmError::new(
                500,
                "InternalExecutionError",
                format!(
                    "The {} operation on {noun} '{}' failed (a fault injected by the emulator).",
                    action.verb(),
                    machine.name
                ),
            )
        });
        let new = NewOperation { target: index, action, from_state: machine.power_state.clone(), duration, failure };
        let accepted = self.operations.begin(new, (&machine.subscription, &machine.location), now, wall);
        machine.pending = Some(accepted.operation_id.clone());
        machine.power_state = action.transient_state().to_owned();
        machine.status_time = wall.to_owned();
        machine.etag += 1;
        Ok(accepted)
    }

    /// The status of an operation at `now`, polled under `subscription`.
    pub fn operation_status(
        &mut self,
        subscription: &str,
        operation_id: &str,
        now: Duration,
        wall: &str,
    ) -> Result<Progress, ArmError> {
        self.check_subscription(subscription)?;
        let machines = &mut self.machines;
        let settled = |ops: &mut _, index: usize| settle(&mut machines[index], ops, now, wall);
        let progress = self.operations.poll((subscription, operation_id), now, wall, settled);
        progress.ok_or_else(|| {
            ArmError::new(
                404,
                "NotFound",
                format!("The operation '{operation_id}' was not found in subscription '{subscription}'."),
            )
        })
    }

    /// Ends every operation in flight at `now`.
    pub fn complete_operations(&mut self, now: Duration, wall: &str) {
        self.operations.end_all(now);
        for index in 0..self.machines.len() {
            self.settle(index, now, wall);
        }
    }

    /// Sets a machine's power state, cancelling any transition in flight.
    pub fn set_power_state(&mut self, index: usize, state: &str, wall: &str) {
        let machine = &mut self.machines[index];
        machine.pending = None;
        machine.power_state = state.to_owned();
        machine.status_time = wall.to_owned();
        machine.etag += 1;
    }

    /// Marks every machine named `name` (case-insensitive) so its next operation fails; returns how many.
    pub fn fail_next_operation(&mut self, name: &str) -> usize {
        let mut marked = 0;
        for machine in self.machines.iter_mut().filter(|m| m.name.eq_ignore_ascii_case(name)) {
            machine.fail_next = true;
            marked += 1;
        }
        marked
    }
}

/// Applies the outcome of `machine`'s operation if it has ended by `now`.
fn settle(machine: &mut Machine, operations: &mut Operations<MachineAction>, now: Duration, wall: &str) {
    let Some(op) = operations.take_ended(&mut machine.pending, now, wall) else { return };
    machine.status_time = wall.to_owned();
    machine.etag += 1;
    machine.power_state = if op.failure.is_some() { op.from_state.clone() } else { op.action.final_state().to_owned() };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{ResourceGroup, ScaleSet, Subscription, VirtualMachine};

    const WALL: &str = "2025-11-16T23:18:56.9682646+00:00";
    const SECOND: Duration = Duration::from_secs(1);

    fn machines() -> Machines {
        let vm = |name: &str, state: &str| VirtualMachine {
            name: name.into(),
            location: "eastus".into(),
            power_state: state.into(),
            vm_size: "Standard_B2s".into(),
            tags: Default::default(),
        };
        let fleet = Fleet {
            subscriptions: vec![Subscription {
                id: "s1".into(),
                resource_groups: vec![ResourceGroup {
                    name: "rg".into(),
                    workspaces: Vec::new(),
                    virtual_machines: vec![vm("web", "running"), vm("db", "deallocated"), vm("off", "stopped")],
                    scale_sets: vec![ScaleSet {
                        name: "pool".into(),
                        location: "westus".into(),
                        power_state: "running".into(),
                        vm_size: "Standard_D2s_v3".into(),
                        capacity: 3,
                        tags: Default::default(),
                        autoscale: true,
                    }],
                }],
            }],
        };
        Machines::new(&fleet, WALL)
    }

    fn find(m: &Machines, kind: MachineKind, name: &str) -> usize {
        m.find("S1", "RG", kind, name).expect("exists")
    }

    #[test]
    fn deallocate_moves_through_deallocating_and_the_operation_reports_its_end() {
        let mut m = machines();
        let web = find(&m, MachineKind::Vm, "web");
        let accepted = m.begin(web, MachineAction::Deallocate, Duration::ZERO, 10 * SECOND, false, WALL).unwrap();
        assert_eq!(m.at(web).power_state, "deallocating");
        let status = m.operation_status("s1", &accepted.operation_id, 5 * SECOND, WALL).unwrap();
        assert_eq!((status.status, status.end_time.is_none()), ("InProgress", true));
        let status = m.operation_status("s1", &accepted.operation_id, 10 * SECOND, WALL).unwrap();
        assert_eq!(status.status, "Succeeded");
        assert_eq!(m.at(web).power_state, "deallocated");
        assert_eq!(m.at(web).etag, 3, "begin and end each raise the etag");
    }

    #[test]
    fn stopped_vms_can_be_deallocated_and_started_power_off_stops() {
        let mut m = machines();
        let off = find(&m, MachineKind::Vm, "off");
        m.begin(off, MachineAction::Deallocate, Duration::ZERO, SECOND, false, WALL).unwrap();
        m.settle(off, SECOND, WALL);
        assert_eq!(m.at(off).power_state, "deallocated");
        m.begin(off, MachineAction::Start, SECOND, SECOND, false, WALL).unwrap();
        assert_eq!(m.at(off).power_state, "starting");
        m.settle(off, 2 * SECOND, WALL);
        m.begin(off, MachineAction::PowerOff, 2 * SECOND, SECOND, false, WALL).unwrap();
        assert_eq!(m.at(off).power_state, "stopping");
        m.settle(off, 3 * SECOND, WALL);
        assert_eq!(m.at(off).power_state, "stopped");
    }

    #[test]
    fn refusals_are_409_operation_not_allowed() {
        let mut m = machines();
        let db = find(&m, MachineKind::Vm, "db");
        let err = m.begin(db, MachineAction::Restart, Duration::ZERO, SECOND, false, WALL).unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (409, "OperationNotAllowed"));
        assert!(err.message.contains("deallocated"), "{}", err.message);
        m.begin(db, MachineAction::Start, Duration::ZERO, SECOND, false, WALL).unwrap();
        let err = m.begin(db, MachineAction::Deallocate, Duration::ZERO, SECOND, false, WALL).unwrap_err();
        assert!(err.message.contains("another operation"), "{}", err.message);
    }

    #[test]
    fn a_failed_operation_returns_to_the_old_state_and_scale_sets_move_as_one() {
        let mut m = machines();
        assert_eq!(m.fail_next_operation("POOL"), 1);
        let pool = find(&m, MachineKind::ScaleSet, "pool");
        let accepted = m.begin(pool, MachineAction::Deallocate, Duration::ZERO, SECOND, false, WALL).unwrap();
        let status = m.operation_status("s1", &accepted.operation_id, SECOND, WALL).unwrap();
        assert_eq!(status.status, "Failed");
        assert_eq!(m.at(pool).power_state, "running");
        m.begin(pool, MachineAction::Deallocate, SECOND, SECOND, false, WALL).unwrap();
        m.complete_operations(SECOND, WALL);
        assert_eq!((m.at(pool).power_state.as_str(), m.at(pool).capacity), ("deallocated", 3));
    }

    #[test]
    fn lookups_name_what_is_missing() {
        let m = machines();
        assert_eq!(m.in_subscription("nope", MachineKind::Vm).unwrap_err().code, "SubscriptionNotFound");
        assert_eq!(m.in_group("s1", "nope", MachineKind::Vm).unwrap_err().code, "ResourceGroupNotFound");
        assert_eq!(m.in_group("s1", "rg", MachineKind::Vm).unwrap().len(), 3);
        assert_eq!(m.in_subscription("S1", MachineKind::ScaleSet).unwrap().len(), 1);
        let err = m.find("s1", "rg", MachineKind::Vm, "ghost").unwrap_err();
        assert!(err.message.contains("virtualMachines/ghost"), "{}", err.message);
        assert!(
            m.by_id("/SUBSCRIPTIONS/s1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/WEB").is_some()
        );
    }
}

//! Discovery: finds the targets of a scope, concurrently: the workspaces and computes of Azure ML, the VMs and
//! scale sets of Compute. I/O only; it decides nothing.

use std::collections::BTreeMap;
use std::convert::Infallible;

use autostop_azure::{ArmClient, Compute, Machine, MachineKind, SubscriptionId, Unhandled, Workspace, WorkspaceId};
use autostop_policy::{Instance, Kind, NativeSchedule};
use futures::stream::{self, StreamExt};

/// How many ARM listings run at once.
const CONCURRENCY: usize = 16;

/// Where to look: subscriptions, optionally narrowed to one resource group and one workspace (for compute
/// instances), and which kinds of target.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The kinds of target to find (nothing is listed for an empty list).
    pub kinds: Vec<Kind>,
    /// The tag that names the owner of a VM or scale set.
    pub owner_tag: String,
    /// Subscription ids.
    pub subscriptions: Vec<SubscriptionId>,
    /// A resource group to narrow to.
    pub resource_group: Option<String>,
    /// A workspace name to narrow to.
    pub workspace: Option<String>,
}

impl Default for Scope {
    /// No subscription yet; compute instances only, owners of VMs in the tag `owner`.
    fn default() -> Self {
        Scope {
            kinds: vec![Kind::ComputeInstance],
            owner_tag: autostop_policy::tags::TagNames::default().owner,
            subscriptions: Vec::new(),
            resource_group: None,
            workspace: None,
        }
    }
}

/// What discovery found, and what it could not read.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Every target found (compute instances and clusters alike, VMs, scale sets), in a stable order.
    pub targets: Vec<Instance>,
    /// Computes ARM listed that the client cannot address (e.g. a name outside Azure's current rules), each with
    /// its raw id, name and the reason, in a stable order. Reported as skipped; they never fail a listing.
    pub unhandled: Vec<Unhandled>,
    /// Listings that failed: each stops only its own part of the scope.
    pub errors: Vec<anyhow::Error>,
    /// The Azure region of each target, by its id in lowercase (to price it).
    pub locations: BTreeMap<String, String>,
}

/// Lists the targets of the scope, all held in memory (what the action verbs decide on), in the order of their ids.
pub async fn discover(client: &ArmClient, scope: &Scope) -> Inventory {
    let mut inventory = Inventory::default();
    let each = |found: Found| -> Result<(), Infallible> {
        inventory.targets.extend(found.targets);
        inventory.unhandled.extend(found.unhandled);
        inventory.locations.extend(found.locations);
        Ok(())
    };
    let Ok(mut errors) = discover_each(client, scope, each).await;
    inventory.errors.append(&mut errors);
    inventory.targets.sort_by_cached_key(|target| target.id.to_lowercase());
    inventory.unhandled.sort_by_cached_key(|unhandled| unhandled.id.to_lowercase());
    inventory
}

/// One listing's worth of targets, as [`discover_each`] hands them over.
#[derive(Debug, Default)]
pub struct Found {
    /// The targets, in the order of their ids.
    pub targets: Vec<Instance>,
    /// What the listing held that the client cannot address.
    pub unhandled: Vec<Unhandled>,
    /// The Azure region of each target, by its id in lowercase.
    pub locations: BTreeMap<String, String>,
}

impl Found {
    fn remember_location(&mut self, id: &str, location: &str) {
        if !location.is_empty() {
            self.locations.insert(id.to_lowercase(), location.to_lowercase());
        }
    }
}

/// Lists the targets of the scope and hands them to `each` as they arrive, at most `CONCURRENCY` (16) listings held
/// at once: the compute instances one workspace at a time in the order of their ids (workspaces by id, computes by
/// id within), then the VMs, then the scale sets (each in the order of their ids). Returns the listings that
/// failed; an error from `each` (e.g. a closed stdout) stops discovery and is returned.
pub async fn discover_each<E>(
    client: &ArmClient,
    scope: &Scope,
    each: impl FnMut(Found) -> Result<(), E>,
) -> Result<Vec<anyhow::Error>, E> {
    discover_each_in(client, scope, Order::ById, each).await
}

/// In which order [`discover_each_in`] hands the workspaces' listings over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Workspaces in the order of their ids (what a listing printed as it goes needs).
    ById,
    /// Each workspace as soon as its listing is in, the subscriptions' workspaces listed in turn (the first
    /// workspace of each subscription, then the second of each...): what acting on each listing as it comes needs,
    /// so that every subscription has work early whatever its place in the scope.
    SubscriptionsInTurn,
}

/// [`discover_each`] with the workspaces' listings handed over in `order` (the computes of one workspace are in the
/// order of their ids either way; the VMs and scale sets come after them, as there).
pub async fn discover_each_in<E>(
    client: &ArmClient,
    scope: &Scope,
    order: Order,
    mut each: impl FnMut(Found) -> Result<(), E>,
) -> Result<Vec<anyhow::Error>, E> {
    let mut errors = Vec::new();
    if scope.kinds.contains(&Kind::ComputeInstance) {
        computes(client, scope, order, &mut errors, &mut each).await?;
    }
    for kind in [MachineKind::VirtualMachine, MachineKind::ScaleSet] {
        if scope.kinds.contains(&kind_of(kind)) {
            machines(client, scope, kind, order, &mut errors, &mut each).await?;
        }
    }
    Ok(errors)
}

/// The target kind of an ARM id, when it parses as one.
pub fn kind_of_id(id: &str) -> Option<Kind> {
    match id.parse::<autostop_azure::TargetId>().ok()? {
        autostop_azure::TargetId::Compute(_) => Some(Kind::ComputeInstance),
        autostop_azure::TargetId::Machine(machine) => Some(kind_of(machine.kind())),
    }
}

/// The target kind of a VM or a scale set.
pub fn kind_of(kind: MachineKind) -> Kind {
    match kind {
        MachineKind::VirtualMachine => Kind::Vm,
        MachineKind::ScaleSet => Kind::Vmss,
    }
}

/// Lists the VMs or scale sets of each subscription of the scope and hands each subscription's to `each` as its
/// listing comes (in `order`: by id, the subscriptions in the order of their ids; in turn, as they arrive), so that
/// no more than the listings in flight are held at once.
async fn machines<E>(
    client: &ArmClient,
    scope: &Scope,
    kind: MachineKind,
    order: Order,
    errors: &mut Vec<anyhow::Error>,
    each: &mut impl FnMut(Found) -> Result<(), E>,
) -> Result<(), E> {
    let resource_group = scope.resource_group.as_deref();
    let mut subscriptions = scope.subscriptions.clone();
    // A machine id starts with "/subscriptions/ID/": ordering subscriptions by "ID/" orders their machines by id.
    subscriptions.sort_by_cached_key(|subscription| format!("{}/", subscription.as_str()).to_lowercase());
    let list = |subscription: SubscriptionId| async move {
        (client.list_machines(&subscription, resource_group, kind).await, subscription)
    };
    let mut listings = match order {
        Order::ById => stream::iter(subscriptions).map(list).buffered(CONCURRENCY).boxed(),
        Order::SubscriptionsInTurn => stream::iter(subscriptions).map(list).buffer_unordered(CONCURRENCY).boxed(),
    };
    while let Some((listing, subscription)) = listings.next().await {
        match listing {
            Ok(machines) => {
                let mut found = Found::default();
                for machine in &machines {
                    found.remember_location(&machine.id.to_string(), &machine.location);
                    found.targets.push(machine_instance(machine, &scope.owner_tag));
                }
                drop(machines);
                found.targets.sort_by_cached_key(|target| target.id.to_lowercase());
                each(found)?;
            }
            Err(err) => errors.push(
                anyhow::Error::new(err)
                    .context(format!("cannot list the {} of subscription {subscription}", kind_of(kind))),
            ),
        }
    }
    Ok(())
}

/// Lists the workspaces of the scope, then their computes, handing each workspace's to `each` in `order`.
async fn computes<E>(
    client: &ArmClient,
    scope: &Scope,
    order: Order,
    errors: &mut Vec<anyhow::Error>,
    each: &mut impl FnMut(Found) -> Result<(), E>,
) -> Result<(), E> {
    let mut workspaces = workspaces(client, scope, errors).await;
    // A compute id is its workspace id + "/computes/NAME": ordering workspaces by "id/" orders computes by id.
    workspaces.sort_by_cached_key(|workspace| format!("{}/", workspace.id).to_lowercase());
    if order == Order::SubscriptionsInTurn {
        workspaces = in_turn(workspaces);
    }
    let list = |workspace: Workspace| async move {
        let id = workspace.id.clone();
        (client.list_computes(&id).await, id)
    };
    let mut listings = match order {
        Order::ById => stream::iter(workspaces).map(list).buffered(CONCURRENCY).boxed(),
        Order::SubscriptionsInTurn => stream::iter(workspaces).map(list).buffer_unordered(CONCURRENCY).boxed(),
    };
    while let Some((listing, workspace)) = listings.next().await {
        match listing {
            Ok(list) => {
                let mut found = Found { unhandled: list.unhandled, ..Found::default() };
                for compute in &list.computes {
                    found.remember_location(&compute.id.to_string(), &compute.location);
                    found.targets.push(instance(compute));
                }
                found.targets.sort_by_cached_key(|target| target.id.to_lowercase());
                each(found)?;
            }
            Err(err) => errors
                .push(anyhow::Error::new(err).context(format!("cannot list the computes of workspace {}", workspace))),
        }
    }
    Ok(())
}

/// `workspaces` (in id order) taken a subscription at a time in turn: the first of each subscription, then the
/// second of each, and so on.
fn in_turn(workspaces: Vec<Workspace>) -> Vec<Workspace> {
    let mut by_subscription: Vec<std::collections::VecDeque<Workspace>> = Vec::new();
    for workspace in workspaces {
        let subscription = workspace.id.subscription();
        match by_subscription
            .iter_mut()
            .find(|queue| queue.front().is_some_and(|w| w.id.subscription() == subscription))
        {
            Some(queue) => queue.push_back(workspace),
            None => by_subscription.push(std::collections::VecDeque::from([workspace])),
        }
    }
    let mut turns = Vec::new();
    while by_subscription.iter().any(|queue| !queue.is_empty()) {
        turns.extend(by_subscription.iter_mut().filter_map(std::collections::VecDeque::pop_front));
    }
    turns
}

async fn workspaces(client: &ArmClient, scope: &Scope, errors: &mut Vec<anyhow::Error>) -> Vec<Workspace> {
    let resource_group = scope.resource_group.as_deref();
    let listings = stream::iter(scope.subscriptions.clone())
        .map(|subscription| async move { (client.list_workspaces(&subscription, resource_group).await, subscription) })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut found = Vec::new();
    for (listing, subscription) in listings {
        match listing {
            Ok(workspaces) => found.extend(workspaces),
            Err(err) => errors.push(
                anyhow::Error::new(err).context(format!("cannot list the workspaces of subscription {subscription}")),
            ),
        }
    }
    if let Some(name) = &scope.workspace {
        found.retain(|workspace| workspace.name.eq_ignore_ascii_case(name));
        if found.is_empty() && errors.is_empty() {
            errors.push(anyhow::anyhow!("workspace {name} was not found in {}", describe(scope)));
        }
    }
    found
}

/// The workspace ids of the scope, when the scope names exactly one workspace per subscription.
/// (The names were validated when the scope was built.)
pub fn named_workspaces(scope: &Scope) -> Option<Vec<WorkspaceId>> {
    let resource_group = scope.resource_group.as_ref()?;
    let workspace = scope.workspace.as_ref()?;
    Some(
        scope
            .subscriptions
            .iter()
            .filter_map(|subscription| WorkspaceId::new(subscription.clone(), resource_group, workspace).ok())
            .collect(),
    )
}

/// A short description of the scope for messages: `subscription S, resource group G`.
pub fn describe(scope: &Scope) -> String {
    let subscriptions = scope.subscriptions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let mut text = format!("subscription {subscriptions}");
    if let Some(group) = &scope.resource_group {
        text.push_str(&format!(", resource group {group}"));
    }
    text
}

/// `text` without spare capacity: an evaluation keeps a few formatted strings per target until it ends, and
/// formatting leaves part of a string's capacity unused (an id of 167 bytes held 204: at 100,000 instances the
/// ids took 20 MB of a 189 MB heap peak, about 3.7 MB of it spare).
fn exact(mut text: String) -> String {
    text.shrink_to_fit();
    text
}

/// The inventory view of a discovered compute.
pub fn instance(compute: &Compute) -> Instance {
    let workspace = compute.id.workspace();
    Instance {
        kind: Kind::ComputeInstance,
        capacity: None,
        autoscale: false,
        owner: compute.owner.clone(),
        idle_shutdown: compute.idle_time_before_shutdown.clone(),
        native_schedules: compute.schedules.iter().map(native_schedule).collect(),
        id: exact(compute.id.to_string()),
        name: compute.name.clone(),
        subscription: workspace.subscription().to_string(),
        resource_group: workspace.resource_group().to_owned(),
        workspace: workspace.name().to_owned(),
        compute_type: compute.compute_type.as_str().to_owned(),
        state: compute.state.as_ref().map(|state| state.as_str().to_owned()),
        vm_size: compute.vm_size.clone(),
        tags: compute.tags.clone(),
        last_operation: compute.last_operation.as_ref().map(|last| autostop_policy::LastOperation {
            name: last.operation_name.clone(),
            time: last.operation_time.parse().ok(),
            status: last.operation_status.clone(),
        }),
    }
}

/// The inventory view of a discovered VM or scale set; its owner is the value of `owner_tag`.
pub fn machine_instance(machine: &Machine, owner_tag: &str) -> Instance {
    let owner =
        machine.tags.iter().find(|(key, _)| key.eq_ignore_ascii_case(owner_tag)).map(|(_, value)| value.clone());
    Instance {
        kind: kind_of(machine.id.kind()),
        id: exact(machine.id.to_string()),
        name: machine.name.clone(),
        subscription: machine.id.subscription().to_string(),
        resource_group: machine.id.resource_group().to_owned(),
        workspace: String::new(),
        compute_type: exact(format!("{}/{}", autostop_azure::COMPUTE_PROVIDER, machine.id.kind().collection())),
        state: machine.power_state.as_ref().map(|state| state.as_str().to_owned()),
        vm_size: machine.vm_size.clone(),
        tags: machine.tags.clone(),
        capacity: machine.capacity,
        autoscale: machine.autoscale,
        owner,
        idle_shutdown: None,
        native_schedules: Vec::new(),
        last_operation: None,
    }
}

/// The policy's view of a native schedule: what it does and how Azure describes it.
fn native_schedule(schedule: &autostop_azure::NativeSchedule) -> NativeSchedule {
    let trigger = match (&schedule.expression, &schedule.trigger_type) {
        (Some(expression), _) => format!("cron {expression}"),
        (None, Some(trigger)) => trigger.to_ascii_lowercase(),
        (None, None) => "schedule".to_owned(),
    };
    let zone = schedule.time_zone.as_deref().unwrap_or("UTC");
    NativeSchedule {
        starts: schedule.starts(),
        enabled: schedule.is_enabled(),
        description: format!("{} {trigger} ({zone})", schedule.action),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(subscription: u32, name: &str) -> Workspace {
        let subscription = format!("00000000-0000-0000-0000-{subscription:012}").parse().expect("subscription id");
        Workspace {
            id: WorkspaceId::new(subscription, "rg", name).expect("workspace id"),
            name: name.to_owned(),
            location: "eastus".to_owned(),
            tags: BTreeMap::new(),
            friendly_name: None,
        }
    }

    #[test]
    fn in_turn_takes_a_workspace_of_each_subscription_in_turn() {
        let workspaces = vec![
            workspace(1, "ws-a"),
            workspace(1, "ws-b"),
            workspace(1, "ws-c"),
            workspace(2, "ws-a"),
            workspace(3, "ws-a"),
            workspace(3, "ws-b"),
        ];
        let turns = in_turn(workspaces.clone()).into_iter().map(|w| w.id.to_string()).collect::<Vec<_>>();
        let expected = [0, 3, 4, 1, 5, 2].map(|index| workspaces[index].id.to_string());
        assert_eq!(turns, expected);
        assert!(in_turn(Vec::new()).is_empty());
    }

    #[test]
    fn an_instance_keeps_its_id_without_spare_room() {
        let workspace = workspace(7, "a-workspace-with-a-long-name");
        let compute = Compute {
            id: "/subscriptions/00000000-0000-0000-0000-000000000007/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/a-workspace-with-a-long-name/computes/ci-1"
                .parse()
                .expect("compute id"),
            name: "ci-1".to_owned(),
            location: workspace.location.clone(),
            tags: BTreeMap::new(),
            compute_type: autostop_azure::ComputeType::ComputeInstance,
            state: None,
            vm_size: None,
            owner: None,
            provisioning_state: None,
            last_operation: None,
            idle_time_before_shutdown: None,
            schedules: Vec::new(),
        };
        let seen = instance(&compute);
        assert_eq!(seen.id, compute.id.to_string());
        assert_eq!(seen.subscription, "00000000-0000-0000-0000-000000000007");
        assert_eq!(seen.id.capacity(), seen.id.len());
    }
}

//! Discovery: finds the workspaces and computes of a scope, concurrently. I/O only; it decides nothing.

use autostop_azure::{ArmClient, Compute, SubscriptionId, Unhandled, Workspace, WorkspaceId};
use autostop_policy::Instance;
use futures::stream::{self, StreamExt};

/// How many ARM listings run at once.
const CONCURRENCY: usize = 16;

/// Where to look: subscriptions, optionally narrowed to one resource group and one workspace.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Subscription ids.
    pub subscriptions: Vec<SubscriptionId>,
    /// A resource group to narrow to.
    pub resource_group: Option<String>,
    /// A workspace name to narrow to.
    pub workspace: Option<String>,
}

/// What discovery found, and what it could not read.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Every compute found (instances and clusters alike), in a stable order.
    pub computes: Vec<Compute>,
    /// Computes ARM listed that the client cannot address (e.g. a name outside Azure's current rules), each with
    /// its raw id, name and the reason, in a stable order. Reported as skipped; they never fail a listing.
    pub unhandled: Vec<Unhandled>,
    /// Listings that failed: each stops only its own part of the scope.
    pub errors: Vec<anyhow::Error>,
}

/// Lists the workspaces of the scope, then their computes.
pub async fn discover(client: &ArmClient, scope: &Scope) -> Inventory {
    let mut inventory = Inventory::default();
    let workspaces = workspaces(client, scope, &mut inventory.errors).await;
    let listings = stream::iter(workspaces)
        .map(|workspace| async move {
            let id = workspace.id.clone();
            (client.list_computes(&id).await, id)
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    for (listing, workspace) in listings {
        match listing {
            Ok(list) => {
                inventory.computes.extend(list.computes);
                inventory.unhandled.extend(list.unhandled);
            }
            Err(err) => inventory
                .errors
                .push(anyhow::Error::new(err).context(format!("cannot list the computes of workspace {}", workspace))),
        }
    }
    inventory.computes.sort_by_cached_key(|compute| compute.id.to_string().to_lowercase());
    inventory.unhandled.sort_by_cached_key(|unhandled| unhandled.id.to_lowercase());
    inventory
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

/// The inventory view of a discovered compute.
pub fn instance(compute: &Compute) -> Instance {
    let workspace = compute.id.workspace();
    Instance {
        id: compute.id.to_string(),
        name: compute.name.clone(),
        subscription: workspace.subscription().to_string(),
        resource_group: workspace.resource_group().to_owned(),
        workspace: workspace.name().to_owned(),
        compute_type: compute.compute_type.as_str().to_owned(),
        state: compute.state.as_ref().map(|state| state.as_str().to_owned()),
        vm_size: compute.vm_size.clone(),
        tags: compute.tags.clone(),
        owner: compute.owner.clone(),
        last_operation: compute.last_operation.as_ref().map(|last| autostop_policy::LastOperation {
            name: last.operation_name.clone(),
            time: last.operation_time.parse().ok(),
            status: last.operation_status.clone(),
        }),
    }
}

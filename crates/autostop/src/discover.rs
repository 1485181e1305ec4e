//! Discovery: finds the workspaces and computes of a scope, concurrently. I/O only; it decides nothing.

use std::convert::Infallible;

use autostop_azure::{ArmClient, Compute, ComputeList, SubscriptionId, Unhandled, Workspace, WorkspaceId};
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

/// Lists the workspaces of the scope, then their computes, all held in memory (what the action verbs decide on).
pub async fn discover(client: &ArmClient, scope: &Scope) -> Inventory {
    let mut inventory = Inventory::default();
    let each = |list: ComputeList| -> Result<(), Infallible> {
        inventory.computes.extend(list.computes);
        inventory.unhandled.extend(list.unhandled);
        Ok(())
    };
    let Ok(mut errors) = discover_each(client, scope, each).await;
    inventory.errors.append(&mut errors);
    inventory.unhandled.sort_by_cached_key(|unhandled| unhandled.id.to_lowercase());
    inventory
}

/// Lists the workspaces of the scope, then their computes, and hands each workspace's listing to `each` as soon
/// as it and the ones before it have arrived: workspaces in the order of their ids and computes by id within each
/// (so the computes come in the order of their ids overall), at most [`CONCURRENCY`] listings held at once. Returns
/// the listings that failed; an error from `each` (e.g. a closed stdout) stops discovery and is returned.
pub async fn discover_each<E>(
    client: &ArmClient,
    scope: &Scope,
    mut each: impl FnMut(ComputeList) -> Result<(), E>,
) -> Result<Vec<anyhow::Error>, E> {
    let mut errors = Vec::new();
    let mut workspaces = workspaces(client, scope, &mut errors).await;
    // A compute id is its workspace id + "/computes/NAME": ordering workspaces by "id/" orders computes by id.
    workspaces.sort_by_cached_key(|workspace| format!("{}/", workspace.id).to_lowercase());
    let mut listings = stream::iter(workspaces)
        .map(|workspace| async move {
            let id = workspace.id.clone();
            (client.list_computes(&id).await, id)
        })
        .buffered(CONCURRENCY);
    while let Some((listing, workspace)) = listings.next().await {
        match listing {
            Ok(mut list) => {
                list.computes.sort_by_cached_key(|compute| compute.id.to_string().to_lowercase());
                each(list)?;
            }
            Err(err) => errors
                .push(anyhow::Error::new(err).context(format!("cannot list the computes of workspace {}", workspace))),
        }
    }
    Ok(errors)
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
    }
}

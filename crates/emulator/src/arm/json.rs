//! The JSON bodies ARM sends for subscriptions, workspaces, computes and operation status.
//!
//! Built to carry the same keys and value types as the real recordings under `testdata/azure-api/recordings`
//! (nulls where Azure sends nulls), so a client that reads these reads Azure. Pure: no I/O.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Value, json};

use crate::world::{ComputeEntry, OperationStatus, PROVIDER, WorkspaceEntry};

/// A GUID-shaped string derived from `seed` (stable within a build): object ids of owners and identities.
pub(crate) fn stable_guid(seed: &str) -> String {
    let half = |salt: u8| {
        let mut hasher = DefaultHasher::new();
        salt.hash(&mut hasher);
        seed.hash(&mut hasher);
        hasher.finish()
    };
    let (a, b) = (half(1), half(2));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        (b >> 48) & 0x0fff,
        b & 0xffff_ffff_ffff
    )
}

/// A subscription, as `GET /subscriptions/{s}` returns it.
pub(crate) fn subscription(id: &str, tenant_id: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{id}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": id,
        "tenantId": tenant_id,
        "displayName": format!("Emulated subscription {id}"),
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

/// A workspace, shaped like the spec examples' `Workspaces_ListBySubscription` items.
pub(crate) fn workspace(ws: &WorkspaceEntry, tenant_id: &str, base_url: &str) -> Value {
    let group_id = format!("/subscriptions/{}/resourceGroups/{}/providers", ws.subscription, ws.group);
    let short: String = ws.name.chars().filter(char::is_ascii_alphanumeric).take(16).collect::<String>().to_lowercase();
    json!({
        "id": ws.id,
        "name": ws.name,
        "type": format!("{PROVIDER}/workspaces"),
        "location": ws.location,
        "tags": {},
        "etag": null,
        "kind": "Default",
        "identity": {
            "type": "SystemAssigned",
            "principalId": stable_guid(&format!("{}/identity", ws.id)),
            "tenantId": tenant_id
        },
        "sku": {"name": "Basic", "tier": "Basic"},
        "properties": {
            "friendlyName": ws.name,
            "description": "",
            "workspaceId": stable_guid(&ws.id),
            "provisioningState": "Succeeded",
            "storageAccount": format!("{group_id}/Microsoft.Storage/storageAccounts/{short}storage"),
            "keyVault": format!("{group_id}/Microsoft.KeyVault/vaults/{short}keyvault"),
            "applicationInsights": format!("{group_id}/microsoft.insights/components/{short}insights"),
            "containerRegistry": format!("{group_id}/Microsoft.ContainerRegistry/registries/{short}registry"),
            "discoveryUrl": format!("{base_url}/discovery/{}", ws.location),
            "hbiWorkspace": false,
            "publicNetworkAccess": "Enabled",
            "v1LegacyMode": false
        }
    })
}

/// A compute (instance or cluster), shaped like the recording's `jiajicompute1` and `batch-cluster`.
///
/// The owner appears as `properties.properties.createdBy.userName` (with a `userId` derived from it) and, for
/// instances, as `personalComputeInstanceSettings.assignedUser.objectId` (the same derived id).
pub(crate) fn compute(entry: &ComputeEntry, ws: &WorkspaceEntry, tenant_id: &str) -> Value {
    let spec = &entry.spec;
    let owner_id = spec.owner.as_deref().map(stable_guid);
    let mut created_by =
        json!({"userOrgId": tenant_id, "userId": owner_id.clone().unwrap_or_else(|| stable_guid(&entry.id))});
    if let Some(owner) = &spec.owner {
        created_by["userName"] = json!(owner);
    }
    let inner = if spec.is_instance() {
        let endpoint = |path: &str| format!("https://{}.{}.instances.azureml.ms/{path}", spec.name, ws.location);
        let personal = owner_id.as_ref().map(|id| json!({"assignedUser": {"objectId": id, "tenantId": tenant_id}}));
        json!({
            "vmSize": spec.vm_size,
            "imageVersion": null,
            "subnet": null,
            "sshSettings": {"sshPublicAccess": "Disabled", "adminUserName": "azureuser", "sshPort": 50000, "adminPublicKey": null},
            "autologgerSettings": null,
            "errors": [],
            "connectivityEndpoints": {"publicIpAddress": "20.0.0.4", "privateIpAddress": "10.0.0.4"},
            "applications": [
                {"displayName": "Jupyter", "endpointUri": endpoint("tree/")},
                {"displayName": "Jupyter Lab", "endpointUri": endpoint("lab")}
            ],
            "state": spec.state,
            "lastOperation": {
                "operationName": entry.last_operation.name,
                "operationTime": entry.last_operation.time,
                "operationStatus": entry.last_operation.status,
                "operationTrigger": "User"
            },
            "createdBy": created_by,
            "applicationSharingPolicy": if personal.is_some() { "Personal" } else { "Shared" },
            "computeInstanceAuthorizationType": if personal.is_some() { json!("personal") } else { Value::Null },
            "personalComputeInstanceSettings": personal,
            "setupScripts": null,
            "schedules": {"computeStartStop": spec.schedules.iter().enumerate().map(|(i, schedule)| json!({
                "id": stable_guid(&format!("{}/schedules/{i}", entry.id)),
                "provisioningStatus": "Completed",
                "status": if schedule.enabled { "Enabled" } else { "Disabled" },
                "action": schedule.action,
                "triggerType": "Cron",
                "cron": {"startTime": null, "timeZone": schedule.time_zone, "expression": schedule.cron}
            })).collect::<Vec<_>>()},
            "idleTimeBeforeShutdown": spec.idle_time_before_shutdown,
            "enableNodePublicIp": true,
            "enableBatchPrivateLink": false,
            "enableOSPatching": false,
            "releaseQuotaOnStop": false,
            "enableSSO": true,
            "dataMounts": null,
            "dataDisks": null,
            "containers": null,
            "updateStatus": null,
            "versions": {"runtime": "3.0.02755.0006"},
            "customServices": [],
            "osImageMetadata": {
                "currentImageVersion": "24.06.10",
                "latestImageVersion": "24.06.10",
                "isLatestOsImageVersion": true,
                "osPatchingStatus": null
            }
        })
    } else {
        json!({
            "vmSize": spec.vm_size,
            "vmPriority": "Dedicated",
            "scaleSettings": {"maxNodeCount": 4, "minNodeCount": 0, "nodeIdleTimeBeforeScaleDown": "PT2M"},
            "subnet": null,
            "currentNodeCount": 0,
            "targetNodeCount": 0,
            "nodeStateCounts": {
                "preparingNodeCount": 0,
                "runningNodeCount": 0,
                "idleNodeCount": 0,
                "unusableNodeCount": 0,
                "leavingNodeCount": 0,
                "preemptedNodeCount": 0
            },
            "allocationState": "Steady",
            "allocationStateTransitionTime": entry.modified_on,
            "errors": null,
            "remoteLoginPortPublicAccess": "Enabled",
            "osType": "Linux",
            "virtualMachineImage": null,
            "isolatedNetwork": false,
            "enableNodePublicIp": true,
            "enableBatchPrivateLink": false,
            "propertyBag": {},
            "createdBy": created_by
        })
    };
    let mut resource = json!({
        "id": entry.id,
        "name": spec.name,
        "type": format!("{PROVIDER}/workspaces/computes"),
        "location": ws.location,
        "tags": spec.tags,
        "properties": {
            "createdOn": entry.created_on,
            "modifiedOn": entry.modified_on,
            "disableLocalAuth": false,
            "description": null,
            "resourceId": null,
            "computeType": spec.compute_type,
            "computeLocation": ws.location,
            "provisioningState": "Succeeded",
            "provisioningErrors": null,
            "provisioningWarnings": {},
            "isAttachedCompute": false,
            "properties": inner
        }
    });
    if spec.is_instance() {
        resource["identity"] = json!({
            "type": "SystemAssigned",
            "principalId": stable_guid(&format!("{}/identity", entry.id)),
            "tenantId": tenant_id
        });
    }
    resource
}

/// An operation status body: the recording's `status` (and `percentComplete`), plus ARM's usual `name`,
/// `startTime`, `endTime` and, on failure, `error`.
pub(crate) fn operation_status(status: &OperationStatus) -> Value {
    let mut body = json!({
        "name": status.id,
        "status": status.status,
        "startTime": status.start_time,
        "percentComplete": status.percent_complete
    });
    if let Some(end_time) = &status.end_time {
        body["endTime"] = json!(end_time);
    }
    if let Some(error) = &status.error {
        body["error"] = json!({"code": error.code, "message": error.message});
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_stable_and_guid_shaped() {
        let a = stable_guid("alice@contoso.com");
        assert_eq!(a, stable_guid("alice@contoso.com"));
        assert_ne!(a, stable_guid("bob@contoso.com"));
        let lengths: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12]);
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}

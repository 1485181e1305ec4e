//! The JSON bodies the emulated Compute RP sends: VMs (model view and `$expand=instanceView`), instance views,
//! scale sets, the autoscale settings that target them, and operation status. Shaped like the recordings under
//! `testdata/azure-api/recordings`. Pure: no I/O.

use serde_json::{Value, json};

use super::INSIGHTS_PROVIDER;
use crate::machines::{COMPUTE_PROVIDER, Machine};
use crate::operations::Progress;

/// A status entry of an instance view.
fn status(code: &str, display: &str, time: Option<&str>) -> Value {
    let mut entry = json!({"code": code, "level": "Info", "displayStatus": display});
    if let Some(time) = time {
        entry["time"] = json!(time);
    }
    entry
}

/// The `PowerState/...` status of a machine: `VM running`, `VM deallocated`... (with the time it was reached,
/// which Azure leaves out; clients that compare statuses entry by entry see one shape).
fn power_status(machine: &Machine) -> Value {
    let code = format!("PowerState/{}", machine.power_state);
    status(&code, &format!("VM {}", machine.power_state), Some(&machine.status_time))
}

fn disk_name(machine: &Machine) -> String {
    format!("{}_OsDisk_1_{}", machine.name, machine.unique_id.replace('-', "").chars().take(32).collect::<String>())
}

/// A VM's instance view, shaped like the recordings: with the guest agent and extensions while the VM has
/// hardware (running, stopped...), only disks and statuses once deallocated.
pub(super) fn vm_instance_view(machine: &Machine) -> Value {
    let provisioned = status("ProvisioningState/succeeded", "Provisioning succeeded", Some(&machine.status_time));
    let disks = json!([{"name": disk_name(machine), "statuses": [provisioned.clone()]}]);
    let statuses = json!([provisioned, power_status(machine)]);
    if machine.power_state.starts_with("deallocat") {
        return json!({"disks": disks, "hyperVGeneration": "V1", "statuses": statuses});
    }
    let ready = || json!({"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready", "message": "Plugin enabled"});
    json!({
        "computerName": machine.name,
        "osName": "ubuntu",
        "osVersion": "22.04",
        "vmAgent": {
            "vmAgentVersion": "2.15.0.1",
            "statuses": [{
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Ready",
                "message": "Guest Agent is running",
                "time": machine.status_time
            }],
            "extensionHandlers": [{"type": "Microsoft.OSTCExtensions.VMAccessForLinux", "typeHandlerVersion": "1.5.21", "status": ready()}]
        },
        "disks": disks,
        "extensions": [{
            "name": "enablevmaccess",
            "type": "Microsoft.OSTCExtensions.VMAccessForLinux",
            "typeHandlerVersion": "1.5.21",
            "statuses": [{
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "message": "Enable succeeded."
            }]
        }],
        "hyperVGeneration": "V1",
        "statuses": statuses
    })
}

/// A VM, shaped like the recorded `GET ...?$expand=instanceView` (with `instance_view`) or the model view.
pub(super) fn vm(machine: &Machine, instance_view: bool) -> Value {
    let group_providers = format!("/subscriptions/{}/resourceGroups/{}/providers", machine.subscription, machine.group);
    let mut properties = json!({
        "hardwareProfile": {"vmSize": machine.vm_size},
        "provisioningState": "Succeeded",
        "vmId": machine.unique_id,
        "storageProfile": {
            "imageReference": {
                "publisher": "Canonical",
                "offer": "0001-com-ubuntu-server-jammy",
                "sku": "22_04-lts-gen2",
                "version": "latest",
                "exactVersion": "22.04.202510150"
            },
            "osDisk": {
                "osType": "Linux",
                "name": disk_name(machine),
                "createOption": "FromImage",
                "vhd": {"uri": format!("https://emulatorstorage.blob.core.windows.net/vhds/{}.vhd", disk_name(machine))},
                "caching": "ReadWrite",
                "deleteOption": "Detach",
                "diskSizeGB": 30
            },
            "dataDisks": []
        },
        "osProfile": {
            "computerName": machine.name,
            "adminUsername": "azureuser",
            "linuxConfiguration": {
                "disablePasswordAuthentication": true,
                "provisionVMAgent": true,
                "patchSettings": {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"}
            },
            "secrets": [],
            "allowExtensionOperations": true,
            "requireGuestProvisionSignal": true
        },
        "networkProfile": {"networkInterfaces": [{
            "id": format!("{group_providers}/Microsoft.Network/networkInterfaces/{}VMNic", machine.name)
        }]},
        "timeCreated": machine.time_created
    });
    if instance_view {
        properties["instanceView"] = vm_instance_view(machine);
    }
    json!({
        "name": machine.name,
        "id": machine.id,
        "type": format!("{COMPUTE_PROVIDER}/virtualMachines"),
        "location": machine.location,
        "tags": machine.tags,
        "properties": properties,
        "etag": format!("\"{}\"", machine.etag),
        "resources": [{
            "name": "enablevmaccess",
            "id": format!("{}/extensions/enablevmaccess", machine.id),
            "type": format!("{COMPUTE_PROVIDER}/virtualMachines/extensions"),
            "location": machine.location,
            "properties": {
                "autoUpgradeMinorVersion": false,
                "provisioningState": "Succeeded",
                "publisher": "Microsoft.OSTCExtensions",
                "type": "VMAccessForLinux",
                "typeHandlerVersion": "1.5",
                "settings": {}
            }
        }]
    })
}

/// A scale set (model view): its size and instance count in `sku`.
pub(super) fn scale_set(machine: &Machine) -> Value {
    json!({
        "name": machine.name,
        "id": machine.id,
        "type": format!("{COMPUTE_PROVIDER}/virtualMachineScaleSets"),
        "location": machine.location,
        "tags": machine.tags,
        "sku": {"name": machine.vm_size, "tier": "Standard", "capacity": machine.capacity},
        "properties": {
            "singlePlacementGroup": true,
            "orchestrationMode": "Uniform",
            "upgradePolicy": {"mode": "Manual"},
            "virtualMachineProfile": {
                "osProfile": {"computerNamePrefix": machine.name, "adminUsername": "azureuser"},
                "storageProfile": {"osDisk": {"osType": "Linux", "createOption": "FromImage", "caching": "ReadWrite"}}
            },
            "provisioningState": "Succeeded",
            "overprovision": true,
            "doNotRunExtensionsOnOverprovisionedVMs": false,
            "uniqueId": machine.unique_id,
            "platformFaultDomainCount": 5,
            "timeCreated": machine.time_created
        },
        "etag": format!("\"{}\"", machine.etag)
    })
}

/// A scale set's instance view: every instance in the set's power state, summarised.
pub(super) fn scale_set_instance_view(machine: &Machine) -> Value {
    let summary = if machine.capacity == 0 {
        json!([])
    } else {
        json!([{"code": format!("PowerState/{}", machine.power_state), "count": machine.capacity}])
    };
    json!({
        "virtualMachine": {"statusesSummary": summary},
        "statuses": [status("ProvisioningState/succeeded", "Provisioning succeeded", Some(&machine.status_time))]
    })
}

/// An autoscale setting that targets a scale set.
pub(super) fn autoscale(machine: &Machine) -> Value {
    let name = format!("{}-autoscale", machine.name);
    json!({
        "id": format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{INSIGHTS_PROVIDER}/autoscalesettings/{name}",
            machine.subscription, machine.group
        ),
        "name": name,
        "type": format!("{INSIGHTS_PROVIDER}/autoscaleSettings"),
        "location": machine.location,
        "tags": {},
        "properties": {
            "profiles": [{
                "name": "default",
                "capacity": {"minimum": "1", "maximum": "10", "default": machine.capacity.to_string()},
                "rules": []
            }],
            "enabled": true,
            "name": name,
            "targetResourceUri": machine.id,
            "targetResourceLocation": machine.location,
            "notifications": []
        }
    })
}

/// An operation status body, as recorded: `startTime`, `status`, `name`, then `endTime` once it ended and
/// `error` when it failed.
pub(super) fn operation_status(status: &Progress) -> Value {
    let mut body = json!({"startTime": status.start_time, "status": status.status, "name": status.id});
    if let Some(end) = &status.end_time {
        body["endTime"] = json!(end);
    }
    if let Some(error) = &status.error {
        body["error"] = json!({"code": error.code, "message": error.message});
    }
    body
}

//! Tests of the Compute client against the REST spec's examples (copied under `testdata/`) and hand-written pages.

use super::models::{WireInstanceView, decode_machine_page, power_state_of};
use super::scale_sets::decode_scale_set_power;
use super::*;
use crate::error::{Error, ErrorKind};
use crate::models::DecodeError;
use crate::power::PowerAction;
use crate::request::Requests;

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const VM: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/cli_test_vm_state_mod000001/providers/Microsoft.Compute/virtualMachines/vm-state-mod";
const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/azure-api/compute/azure-rest-api-specs/specification/compute/resource-manager/Microsoft.Compute/Compute/stable/2026-03-01/examples/virtualMachineExamples/"
);

fn example(file: &str) -> serde_json::Value {
    let path = format!("{EXAMPLES}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn ids_parse_compare_and_name_the_bad_part() -> Result<(), Error> {
    let id: MachineId = VM.parse()?;
    assert_eq!(
        (id.kind(), id.name(), id.resource_group()),
        (MachineKind::VirtualMachine, "vm-state-mod", "cli_test_vm_state_mod000001")
    );
    assert_eq!(id.to_string(), VM);
    let upper: MachineId = VM.to_ascii_uppercase().replace("/SUBSCRIPTIONS/", "/subscriptions/").parse()?;
    assert_eq!(upper, id);
    let set: MachineId = VM.replace("virtualMachines", "virtualMachineScaleSets").parse()?;
    assert_eq!(set.kind(), MachineKind::ScaleSet);
    let err = VM.replace("virtualMachines", "disks").parse::<MachineId>().err().map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("expected 'virtualMachines' or 'virtualMachineScaleSets', found 'disks'")));
    assert!(format!("{VM}/extensions/x").parse::<MachineId>().is_err());
    Ok(())
}

#[test]
fn power_states_are_an_open_enum() {
    assert_eq!(PowerState::parse("PowerState/deallocated"), PowerState::Deallocated);
    assert_eq!(PowerState::parse("Running"), PowerState::Running);
    assert_eq!(PowerState::parse("PowerState/hibernated"), PowerState::Other("hibernated".into()));
    assert_eq!(PowerState::Other("hibernated".into()).as_str(), "hibernated");
}

#[test]
fn reads_the_power_state_of_the_spec_instance_view_example() {
    let body = example("VirtualMachine_Get_InstanceView.json");
    let view: WireInstanceView =
        serde_json::from_value(body["responses"]["200"]["body"].clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(power_state_of(&view.statuses.unwrap_or_default()), Some(PowerState::Running));
}

#[test]
fn decodes_the_spec_list_example_and_a_status_only_page() -> Result<(), DecodeError> {
    let body = example("VirtualMachine_ListAll_MinimumSet_Gen.json");
    let listed = body["responses"]["200"]["body"]
        .to_string()
        .replace("{subscriptionId}", SUB)
        .replace("{resourceGroupName}", "rg")
        .replace("{virtualMachineName}", "vm1");
    let (items, next) = decode_machine_page(listed.as_bytes())?;
    assert_eq!((items.len(), next), (2, None));
    assert_eq!((items[0].name.as_str(), items[0].power_state.as_ref()), ("vm1", None));
    let status_only = format!(
        r#"{{"value":[{{"id":"{VM}","name":"vm-state-mod","location":"eastus","tags":{{"owner":"ann"}},
        "properties":{{"hardwareProfile":{{"vmSize":"Standard_B2s"}},"instanceView":{{"statuses":[
        {{"code":"ProvisioningState/succeeded"}},{{"code":"PowerState/stopped"}}]}}}}}}],"nextLink":"https://x/next"}}"#
    );
    let (items, next) = decode_machine_page(status_only.as_bytes())?;
    assert_eq!(next.as_deref(), Some("https://x/next"));
    assert_eq!(items[0].power_state, Some(PowerState::Stopped));
    assert_eq!(items[0].vm_size.as_deref(), Some("Standard_B2s"));
    assert_eq!(items[0].tags.get("owner").map(String::as_str), Some("ann"));
    Ok(())
}

#[test]
fn scale_set_power_is_the_summary_or_mixed() -> Result<(), DecodeError> {
    let view = |summary: &str| format!(r#"{{"virtualMachine":{{"statusesSummary":{summary}}},"statuses":[]}}"#);
    let one = view(r#"[{"code":"PowerState/deallocated","count":3}]"#);
    assert_eq!(decode_scale_set_power(one.as_bytes())?, Some(PowerState::Deallocated));
    let mixed = view(r#"[{"code":"PowerState/running","count":1},{"code":"PowerState/deallocated","count":2}]"#);
    assert_eq!(decode_scale_set_power(mixed.as_bytes())?, Some(PowerState::Mixed));
    assert_eq!(decode_scale_set_power(view("[]").as_bytes())?, None);
    Ok(())
}

#[test]
fn stop_deallocates_and_names_its_permission() -> Result<(), Error> {
    let requests = Requests::new(
        url::Url::parse("https://management.azure.com").map_err(|e| {
            Error::from(ErrorKind::InvalidInput { what: "url", input: e.to_string(), expected: String::new() })
        })?,
        "2024-04-01",
    );
    let id: MachineId = VM.parse()?;
    let stop = requests.machine_power(&id, PowerAction::Stop);
    assert_eq!(
        stop.url.as_str(),
        format!("https://management.azure.com{VM}/deallocate?api-version={COMPUTE_API_VERSION}")
    );
    assert_eq!(stop.action, ACTION_DEALLOCATE_VM);
    let list = requests.list_machines(id.subscription(), MachineKind::VirtualMachine);
    assert!(list.url.as_str().ends_with("/virtualMachines?api-version=2024-11-01&statusOnly=true"), "{}", list.url);
    let get = requests.get_machine(&id);
    assert!(get.url.as_str().ends_with("?api-version=2024-11-01&%24expand=instanceView"), "{}", get.url);
    Ok(())
}

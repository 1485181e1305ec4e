//! `Microsoft.Compute`: virtual machines and VM scale sets as targets. Typed ids, the power state read from the
//! instance view (an open enum: a code this version does not know is kept as text), the requests (lists with
//! `statusOnly=true`, `$expand=instanceView`, scale set instance views, autoscale settings) and the power
//! operations: stop is **deallocate** (a VM that is only powered off still bills its compute), start is start.
//!
//! Operations are long-running like Azure ML's and are followed by the same code ([`crate::ArmClient::wait`]).
//! The Compute RP's own throttling headers are honoured by the pipeline ([`crate::throttle`]).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use azure_core::http::Method;
use serde::{Deserialize, Serialize};

use crate::client::{ArmClient, decode_error};
use crate::error::{Error, ErrorKind};
use crate::ids::SubscriptionId;
use crate::models::{DecodeError, Page, WirePage};
use crate::names::validate_resource_group;
use crate::operation::Operation;
use crate::power::PowerAction;
use crate::request::{ArmRequest, Requests};
use crate::target::TargetId;

/// The ARM provider of VMs and scale sets.
pub const COMPUTE_PROVIDER: &str = "Microsoft.Compute";
/// The api-version of `Microsoft.Compute` calls (the recordings' power operations use it).
pub const COMPUTE_API_VERSION: &str = "2024-11-01";
/// The api-version of `Microsoft.Insights` autoscale settings.
pub const AUTOSCALE_API_VERSION: &str = "2022-10-01";

/// The action needed to list and read VMs.
pub const ACTION_READ_VMS: &str = "Microsoft.Compute/virtualMachines/read";
/// The action needed to deallocate a VM (autostop's stop).
pub const ACTION_DEALLOCATE_VM: &str = "Microsoft.Compute/virtualMachines/deallocate/action";
/// The action needed to start a VM.
pub const ACTION_START_VM: &str = "Microsoft.Compute/virtualMachines/start/action";
/// The action needed to restart a VM.
pub const ACTION_RESTART_VM: &str = "Microsoft.Compute/virtualMachines/restart/action";
/// The action needed to list and read scale sets.
pub const ACTION_READ_SCALE_SETS: &str = "Microsoft.Compute/virtualMachineScaleSets/read";
/// The action needed to read a scale set's instance view (its power states).
pub const ACTION_READ_SCALE_SET_VIEW: &str = "Microsoft.Compute/virtualMachineScaleSets/instanceView/read";
/// The action needed to deallocate a scale set.
pub const ACTION_DEALLOCATE_SCALE_SET: &str = "Microsoft.Compute/virtualMachineScaleSets/deallocate/action";
/// The action needed to start a scale set.
pub const ACTION_START_SCALE_SET: &str = "Microsoft.Compute/virtualMachineScaleSets/start/action";
/// The action needed to restart a scale set.
pub const ACTION_RESTART_SCALE_SET: &str = "Microsoft.Compute/virtualMachineScaleSets/restart/action";
/// The action needed to poll a Compute operation.
pub const ACTION_READ_COMPUTE_OPERATIONS: &str = "Microsoft.Compute/locations/operations/read";
/// The action needed to list autoscale settings (to skip scale sets that autoscale).
pub const ACTION_READ_AUTOSCALE: &str = "Microsoft.Insights/AutoscaleSettings/read";

/// A VM or a scale set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MachineKind {
    /// `Microsoft.Compute/virtualMachines`.
    VirtualMachine,
    /// `Microsoft.Compute/virtualMachineScaleSets`.
    ScaleSet,
}

impl MachineKind {
    /// The resource type's collection segment.
    pub fn collection(self) -> &'static str {
        match self {
            MachineKind::VirtualMachine => "virtualMachines",
            MachineKind::ScaleSet => "virtualMachineScaleSets",
        }
    }
}

/// What a VM or scale set name must look like (ARM's rule for both, Windows' 15-character computer name aside).
pub const MACHINE_RULE: &str = "1-64 characters: letters, digits, '-', '_' or '.', not ending with '.'";

fn machine_name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.ends_with('.')
}

/// A VM or scale set: `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/{collection}/{name}`.
/// Compares ignoring case, as ARM ids do.
#[derive(Clone, Debug)]
pub struct MachineId {
    kind: MachineKind,
    subscription: SubscriptionId,
    resource_group: String,
    name: String,
}

impl MachineId {
    /// Builds an id from its parts, validating the names.
    pub fn new(
        kind: MachineKind,
        subscription: SubscriptionId,
        resource_group: &str,
        name: &str,
    ) -> Result<Self, Error> {
        validate_resource_group(resource_group)?;
        if !machine_name_ok(name) {
            return Err(ErrorKind::InvalidInput {
                what: "VM or scale set name",
                input: name.to_string(),
                expected: MACHINE_RULE.to_string(),
            }
            .into());
        }
        Ok(MachineId { kind, subscription, resource_group: resource_group.to_string(), name: name.to_string() })
    }

    /// VM or scale set.
    pub fn kind(&self) -> MachineKind {
        self.kind
    }

    /// The subscription.
    pub fn subscription(&self) -> &SubscriptionId {
        &self.subscription
    }

    /// The resource group.
    pub fn resource_group(&self) -> &str {
        &self.resource_group
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn segments(&self) -> [&str; 8] {
        [
            "subscriptions",
            self.subscription.as_str(),
            "resourceGroups",
            &self.resource_group,
            "providers",
            COMPUTE_PROVIDER,
            self.kind.collection(),
            &self.name,
        ]
    }

    fn canonical(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }
}

impl fmt::Display for MachineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.segments().join("/"))
    }
}

impl PartialEq for MachineId {
    fn eq(&self, other: &Self) -> bool {
        self.canonical() == other.canonical()
    }
}

impl Eq for MachineId {}

impl std::hash::Hash for MachineId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.canonical().hash(state)
    }
}

impl FromStr for MachineId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let trimmed = s.trim();
        let invalid = |part: &'static str, expected: &str, found: &str| -> Error {
            ErrorKind::InvalidId {
                id: trimmed.to_string(),
                part,
                expected: expected.to_string(),
                found: found.to_string(),
            }
            .into()
        };
        let parts: Vec<&str> = trimmed.trim_start_matches('/').trim_end_matches('/').split('/').collect();
        let keyword = |index: usize, word: &'static str| -> Result<(), Error> {
            match parts.get(index) {
                Some(found) if found.eq_ignore_ascii_case(word) => Ok(()),
                found => Err(invalid("segment", &format!("'{word}'"), found.copied().unwrap_or(""))),
            }
        };
        if !trimmed.starts_with('/') {
            return Err(invalid("start", "'/subscriptions/...'", trimmed));
        }
        keyword(0, "subscriptions")?;
        let subscription: SubscriptionId = parts.get(1).copied().unwrap_or("").parse()?;
        keyword(2, "resourceGroups")?;
        keyword(4, "providers")?;
        keyword(5, COMPUTE_PROVIDER)?;
        let collection = parts.get(6).copied().unwrap_or("");
        let kind = [MachineKind::VirtualMachine, MachineKind::ScaleSet]
            .into_iter()
            .find(|kind| kind.collection().eq_ignore_ascii_case(collection))
            .ok_or_else(|| invalid("segment", "'virtualMachines' or 'virtualMachineScaleSets'", collection))?;
        if parts.len() != 8 {
            return Err(invalid("end", "a name and no more segments", parts.get(8).copied().unwrap_or("")));
        }
        MachineId::new(kind, subscription, parts[3], parts[7])
    }
}

impl Serialize for MachineId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A power state from the instance view (`PowerState/running` ...). Open: a code this version does not know is
/// kept as ARM sent it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PowerState {
    /// Running (and billed).
    Running,
    /// Powered off from inside or by powerOff: the hardware is kept and its compute **still billed**.
    Stopped,
    /// Being deallocated.
    Deallocating,
    /// Deallocated: no compute billing.
    Deallocated,
    /// Starting.
    Starting,
    /// Stopping (powering off).
    Stopping,
    /// A scale set whose instances are not all in the same state.
    Mixed,
    /// A code this version does not know (the part after `PowerState/`).
    Other(String),
}

impl PowerState {
    /// The state as the instance view spells it after `PowerState/` (`mixed` for a mixed scale set).
    pub fn as_str(&self) -> &str {
        match self {
            PowerState::Running => "running",
            PowerState::Stopped => "stopped",
            PowerState::Deallocating => "deallocating",
            PowerState::Deallocated => "deallocated",
            PowerState::Starting => "starting",
            PowerState::Stopping => "stopping",
            PowerState::Mixed => "mixed",
            PowerState::Other(text) => text,
        }
    }

    /// Reads a state (`running`, or a whole code `PowerState/running`), ignoring case.
    pub fn parse(text: &str) -> PowerState {
        let state = text.strip_prefix("PowerState/").or_else(|| text.strip_prefix("powerstate/")).unwrap_or(text);
        [
            PowerState::Running,
            PowerState::Stopped,
            PowerState::Deallocating,
            PowerState::Deallocated,
            PowerState::Starting,
            PowerState::Stopping,
            PowerState::Mixed,
        ]
        .into_iter()
        .find(|known| known.as_str().eq_ignore_ascii_case(state))
        .unwrap_or_else(|| PowerState::Other(state.to_string()))
    }
}

impl fmt::Display for PowerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for PowerState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A VM or a scale set, as discovery reads it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Machine {
    /// Its id (which says VM or scale set).
    pub id: MachineId,
    /// Its name.
    pub name: String,
    /// Its region.
    pub location: String,
    /// Its tags (the owner is one of them, named in the configuration).
    pub tags: BTreeMap<String, String>,
    /// The VM size (`hardwareProfile.vmSize`, or the scale set's `sku.name`).
    pub vm_size: Option<String>,
    /// How many instances a scale set has (`sku.capacity`); `None` for a VM.
    pub capacity: Option<u64>,
    /// The power state, when the instance view gave one.
    pub power_state: Option<PowerState>,
    /// Whether an autoscale setting targets the scale set (always false for a VM).
    pub autoscale: bool,
}

#[derive(Deserialize)]
struct WireStatus {
    #[serde(default)]
    code: Option<String>,
}

#[derive(Default, Deserialize)]
struct WireInstanceView {
    #[serde(default)]
    statuses: Option<Vec<WireStatus>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireHardware {
    #[serde(default)]
    vm_size: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireVmProperties {
    #[serde(default)]
    hardware_profile: Option<WireHardware>,
    #[serde(default)]
    instance_view: Option<WireInstanceView>,
}

#[derive(Deserialize)]
struct WireMachine {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    properties: Option<WireVmProperties>,
    #[serde(default)]
    sku: Option<WireSku>,
}

#[derive(Deserialize)]
struct WireSku {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    capacity: Option<u64>,
}

/// The power state among instance view statuses: the `PowerState/...` code, if any.
fn power_state_of(statuses: &[WireStatus]) -> Option<PowerState> {
    statuses.iter().filter_map(|status| status.code.as_deref()).find_map(|code| {
        let (prefix, state) = code.split_once('/')?;
        prefix.eq_ignore_ascii_case("PowerState").then(|| PowerState::parse(state))
    })
}

impl TryFrom<WireMachine> for Machine {
    type Error = DecodeError;

    fn try_from(wire: WireMachine) -> Result<Self, DecodeError> {
        let id: MachineId = wire.id.parse().map_err(|e: Error| e.to_string())?;
        let properties = wire.properties.unwrap_or_default();
        let power_state =
            properties.instance_view.and_then(|view| view.statuses).and_then(|statuses| power_state_of(&statuses));
        let (sku_name, capacity) = wire.sku.map_or((None, None), |sku| (sku.name, sku.capacity));
        Ok(Machine {
            name: wire.name.unwrap_or_else(|| id.name().to_string()),
            capacity: if id.kind() == MachineKind::ScaleSet { capacity } else { None },
            id,
            location: wire.location.unwrap_or_default(),
            tags: wire.tags.unwrap_or_default(),
            vm_size: properties.hardware_profile.and_then(|h| h.vm_size).or(sku_name),
            power_state,
            autoscale: false,
        })
    }
}

fn decode_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))
}

/// Decodes one page of VMs or scale sets.
pub(crate) fn decode_machine_page(body: &[u8]) -> Result<Page<Machine>, DecodeError> {
    let page: WirePage<WireMachine> = decode_json(body)?;
    let items = page.value.into_iter().map(Machine::try_from).collect::<Result<_, _>>()?;
    Ok((items, page.next_link))
}

/// Decodes one VM or scale set.
pub(crate) fn decode_machine(body: &[u8]) -> Result<Machine, DecodeError> {
    decode_json::<WireMachine>(body)?.try_into()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSummary {
    code: String,
    #[serde(default)]
    count: u64,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSetVms {
    #[serde(default)]
    statuses_summary: Option<Vec<WireSummary>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSetView {
    #[serde(default)]
    virtual_machine: Option<WireSetVms>,
}

/// The power state of a scale set from its instance view's `virtualMachine.statusesSummary`: the one state of
/// all its instances, `mixed` when they differ, `None` when it has no instance.
pub(crate) fn decode_scale_set_power(body: &[u8]) -> Result<Option<PowerState>, DecodeError> {
    let view: WireSetView = decode_json(body)?;
    let summary = view.virtual_machine.and_then(|vms| vms.statuses_summary).unwrap_or_default();
    let states: Vec<PowerState> = summary
        .iter()
        .filter(|entry| entry.count > 0)
        .filter_map(|entry| {
            let (prefix, state) = entry.code.split_once('/')?;
            prefix.eq_ignore_ascii_case("PowerState").then(|| PowerState::parse(state))
        })
        .collect();
    Ok(match states.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [first, rest @ ..] if rest.iter().all(|state| state == first) => Some(first.clone()),
        _ => Some(PowerState::Mixed),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAutoscaleProperties {
    #[serde(default)]
    target_resource_uri: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Deserialize)]
struct WireAutoscale {
    #[serde(default)]
    properties: Option<WireAutoscaleProperties>,
}

/// Decodes one page of autoscale settings into the (lowercase) ids of the resources enabled ones target.
pub(crate) fn decode_autoscale_page(body: &[u8]) -> Result<Page<String>, DecodeError> {
    let page: WirePage<WireAutoscale> = decode_json(body)?;
    let targets = page
        .value
        .into_iter()
        .filter_map(|setting| setting.properties)
        .filter(|properties| properties.enabled.unwrap_or(true))
        .filter_map(|properties| properties.target_resource_uri)
        .map(|uri| uri.trim_end_matches('/').to_ascii_lowercase())
        .collect();
    Ok((targets, page.next_link))
}

/// The requests of this provider.
impl Requests {
    /// `GET` every VM of a subscription with its power state (`statusOnly=true`, the documented way to read the
    /// power states of a whole subscription), or every scale set (model view: the power state comes from each
    /// set's instance view).
    pub fn list_machines(&self, subscription: &SubscriptionId, kind: MachineKind) -> ArmRequest {
        let mut url = self.url_at(
            &["subscriptions", subscription.as_str(), "providers", COMPUTE_PROVIDER, kind.collection()],
            COMPUTE_API_VERSION,
        );
        if kind == MachineKind::VirtualMachine {
            url.query_pairs_mut().append_pair("statusOnly", "true");
        }
        ArmRequest { method: Method::Get, url, resource: subscription.scope(), action: read_action(kind) }
    }

    /// `GET` one VM with its instance view, or one scale set.
    pub fn get_machine(&self, id: &MachineId) -> ArmRequest {
        let mut url = self.url_at(&id.segments(), COMPUTE_API_VERSION);
        if id.kind() == MachineKind::VirtualMachine {
            url.query_pairs_mut().append_pair("$expand", "instanceView");
        }
        ArmRequest { method: Method::Get, url, resource: id.to_string(), action: read_action(id.kind()) }
    }

    /// `GET` a scale set's instance view.
    pub fn scale_set_instance_view(&self, id: &MachineId) -> ArmRequest {
        let mut segments = id.segments().to_vec();
        segments.push("instanceView");
        ArmRequest {
            method: Method::Get,
            url: self.url_at(&segments, COMPUTE_API_VERSION),
            resource: id.to_string(),
            action: ACTION_READ_SCALE_SET_VIEW,
        }
    }

    /// `GET` the autoscale settings of a subscription.
    pub fn list_autoscale_settings(&self, subscription: &SubscriptionId) -> ArmRequest {
        ArmRequest {
            method: Method::Get,
            url: self.url_at(
                &["subscriptions", subscription.as_str(), "providers", "Microsoft.Insights", "autoscalesettings"],
                AUTOSCALE_API_VERSION,
            ),
            resource: subscription.scope(),
            action: ACTION_READ_AUTOSCALE,
        }
    }

    /// `POST` a power action on a VM or a whole scale set: stop is `deallocate`, start `start`, restart `restart`.
    pub fn machine_power(&self, id: &MachineId, action: PowerAction) -> ArmRequest {
        let mut segments = id.segments().to_vec();
        segments.push(machine_verb(action));
        ArmRequest {
            method: Method::Post,
            url: self.url_at(&segments, COMPUTE_API_VERSION),
            resource: id.to_string(),
            action: machine_permission(id.kind(), action),
        }
    }
}

fn read_action(kind: MachineKind) -> &'static str {
    match kind {
        MachineKind::VirtualMachine => ACTION_READ_VMS,
        MachineKind::ScaleSet => ACTION_READ_SCALE_SETS,
    }
}

/// The URL segment of `action` on a VM or scale set: stop deallocates.
pub fn machine_verb(action: PowerAction) -> &'static str {
    match action {
        PowerAction::Start => "start",
        PowerAction::Stop => "deallocate",
        PowerAction::Restart => "restart",
    }
}

/// The authorization action `action` needs on a machine of `kind`.
pub fn machine_permission(kind: MachineKind, action: PowerAction) -> &'static str {
    match (kind, action) {
        (MachineKind::VirtualMachine, PowerAction::Start) => ACTION_START_VM,
        (MachineKind::VirtualMachine, PowerAction::Stop) => ACTION_DEALLOCATE_VM,
        (MachineKind::VirtualMachine, PowerAction::Restart) => ACTION_RESTART_VM,
        (MachineKind::ScaleSet, PowerAction::Start) => ACTION_START_SCALE_SET,
        (MachineKind::ScaleSet, PowerAction::Stop) => ACTION_DEALLOCATE_SCALE_SET,
        (MachineKind::ScaleSet, PowerAction::Restart) => ACTION_RESTART_SCALE_SET,
    }
}

impl ArmClient {
    /// The VMs (with their power states) or the scale sets (each with its instance view's power state and
    /// whether an autoscale setting targets it) of a subscription, optionally of one resource group in it.
    pub async fn list_machines(
        &self,
        subscription: &SubscriptionId,
        resource_group: Option<&str>,
        kind: MachineKind,
    ) -> Result<Vec<Machine>, Error> {
        if let Some(rg) = resource_group {
            validate_resource_group(rg)?;
        }
        let request = self.requests().list_machines(subscription, kind);
        let mut machines = self.list(request, decode_machine_page).await?;
        if let Some(rg) = resource_group {
            machines.retain(|machine| machine.id.resource_group().eq_ignore_ascii_case(rg));
        }
        if kind == MachineKind::ScaleSet && !machines.is_empty() {
            let request = self.requests().list_autoscale_settings(subscription);
            let targets: HashSet<String> = self.list(request, decode_autoscale_page).await?.into_iter().collect();
            for machine in &mut machines {
                machine.autoscale = targets.contains(&machine.id.to_string().to_ascii_lowercase());
                machine.power_state = self.scale_set_power(&machine.id).await?;
            }
        }
        Ok(machines)
    }

    /// One VM (with its instance view) or scale set (with its instance view's power state; `autoscale` is not
    /// read here and stays false).
    pub async fn get_machine(&self, id: &MachineId) -> Result<Machine, Error> {
        let request = self.requests().get_machine(id);
        let response = self.send(&request, &request.url, &[200]).await?;
        let mut machine = decode_machine(response.body()).map_err(|m| decode_error(&request.url, m))?;
        if id.kind() == MachineKind::ScaleSet {
            machine.power_state = self.scale_set_power(id).await?;
        }
        Ok(machine)
    }

    async fn scale_set_power(&self, id: &MachineId) -> Result<Option<PowerState>, Error> {
        let request = self.requests().scale_set_instance_view(id);
        let response = self.send(&request, &request.url, &[200]).await?;
        decode_scale_set_power(response.body()).map_err(|m| decode_error(&request.url, m))
    }

    /// Sends a power action to a VM or a whole scale set and returns the operation Compute accepted (202).
    pub(crate) async fn begin_machine(&self, id: &MachineId, action: PowerAction) -> Result<Operation, Error> {
        let request = self.requests().machine_power(id, action);
        self.accepted(&request, TargetId::Machine(id.clone()), action).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(
            err.is_some_and(|e| e.contains("expected 'virtualMachines' or 'virtualMachineScaleSets', found 'disks'"))
        );
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
}

//! The typed VM or scale set ([`Machine`]) and its decoding from ARM's JSON (lists, a single `GET`, the power
//! state among a VM's instance view statuses).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{MachineId, MachineKind, PowerState};
use crate::error::Error;
use crate::models::{DecodeError, Page, WirePage};

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
pub(super) struct WireStatus {
    #[serde(default)]
    code: Option<String>,
}

#[derive(Default, Deserialize)]
pub(super) struct WireInstanceView {
    #[serde(default)]
    pub(super) statuses: Option<Vec<WireStatus>>,
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
pub(super) fn power_state_of(statuses: &[WireStatus]) -> Option<PowerState> {
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

pub(super) fn decode_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, DecodeError> {
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

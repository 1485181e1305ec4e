//! A scale set's power state, read from the `virtualMachine.statusesSummary` of its instance view.

use serde::Deserialize;

use super::PowerState;
use super::models::decode_json;
use crate::models::DecodeError;

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

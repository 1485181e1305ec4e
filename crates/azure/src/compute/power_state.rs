//! The power state of a VM or scale set as its instance view reports it: an open enum, so that a code this
//! version does not know is kept as text.

use std::fmt;

use serde::Serialize;

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

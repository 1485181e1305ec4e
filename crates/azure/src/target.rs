//! What autostop acts on, whatever its provider: the id of a target (an Azure ML compute, a VM or a scale set)
//! and the resource read back after an operation.

use std::fmt;
use std::str::FromStr;

use crate::compute::{Machine, MachineId};
use crate::error::Error;
use crate::ids::{ComputeId, SubscriptionId};
use crate::models::Compute;

/// The id of a target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TargetId {
    /// An Azure ML compute.
    Compute(ComputeId),
    /// A VM or a scale set.
    Machine(MachineId),
}

impl TargetId {
    /// Its subscription.
    pub fn subscription(&self) -> &SubscriptionId {
        match self {
            TargetId::Compute(id) => id.workspace().subscription(),
            TargetId::Machine(id) => id.subscription(),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            TargetId::Compute(id) => id.name(),
            TargetId::Machine(id) => id.name(),
        }
    }
}

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetId::Compute(id) => id.fmt(f),
            TargetId::Machine(id) => id.fmt(f),
        }
    }
}

impl FromStr for TargetId {
    type Err = Error;

    /// Reads an Azure ML compute id, or a VM or scale set id (by its provider segment).
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.to_ascii_lowercase().contains("/providers/microsoft.compute/") {
            s.parse().map(TargetId::Machine)
        } else {
            s.parse().map(TargetId::Compute)
        }
    }
}

impl From<ComputeId> for TargetId {
    fn from(id: ComputeId) -> Self {
        TargetId::Compute(id)
    }
}

impl From<MachineId> for TargetId {
    fn from(id: MachineId) -> Self {
        TargetId::Machine(id)
    }
}

/// A target as read back from Azure.
#[derive(Clone, Debug, PartialEq)]
pub enum Resource {
    /// An Azure ML compute.
    Compute(Box<Compute>),
    /// A VM or a scale set.
    Machine(Box<Machine>),
}

impl Resource {
    /// Its state as Azure spells it: the ML state (`Stopped`...) or the power state (`deallocated`...).
    pub fn state(&self) -> Option<String> {
        match self {
            Resource::Compute(compute) => compute.state.as_ref().map(|state| state.as_str().to_owned()),
            Resource::Machine(machine) => machine.power_state.as_ref().map(|state| state.as_str().to_owned()),
        }
    }

    /// The compute, when it is one.
    pub fn into_compute(self) -> Option<Compute> {
        match self {
            Resource::Compute(compute) => Some(*compute),
            Resource::Machine(_) => None,
        }
    }
}

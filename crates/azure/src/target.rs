//! What autostop acts on, whatever its provider: the id of a target (an Azure ML compute, a VM or a scale set),
//! its kind, and the resource read back after an operation.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::compute::{Machine, MachineId, MachineKind};
use crate::error::Error;
use crate::ids::{ComputeId, SubscriptionId};
use crate::models::Compute;

/// The kinds of target, as the configuration and `--kind` name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum TargetKind {
    /// An Azure ML compute (instance, or a cluster that is never acted on): `compute-instance`.
    #[serde(rename = "compute-instance")]
    ComputeInstance,
    /// A virtual machine: `vm`.
    #[serde(rename = "vm")]
    Vm,
    /// A VM scale set, acted on as a whole: `vmss`.
    #[serde(rename = "vmss")]
    Vmss,
}

impl TargetKind {
    /// Every kind, in the order `--kind` lists them.
    pub const ALL: [TargetKind; 3] = [TargetKind::ComputeInstance, TargetKind::Vm, TargetKind::Vmss];

    /// The name used in configuration, flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::ComputeInstance => "compute-instance",
            TargetKind::Vm => "vm",
            TargetKind::Vmss => "vmss",
        }
    }

    /// The machine kind behind `vm` and `vmss`.
    pub fn machine(self) -> Option<MachineKind> {
        match self {
            TargetKind::ComputeInstance => None,
            TargetKind::Vm => Some(MachineKind::VirtualMachine),
            TargetKind::Vmss => Some(MachineKind::ScaleSet),
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TargetKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        TargetKind::ALL.into_iter().find(|kind| kind.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            crate::ErrorKind::InvalidInput {
                what: "target kind",
                input: s.to_string(),
                expected: "one of compute-instance, vm, vmss".into(),
            }
            .into()
        })
    }
}

/// The id of a target.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TargetId {
    /// An Azure ML compute.
    Compute(ComputeId),
    /// A VM or a scale set.
    Machine(MachineId),
}

impl TargetId {
    /// Its kind.
    pub fn kind(&self) -> TargetKind {
        match self {
            TargetId::Compute(_) => TargetKind::ComputeInstance,
            TargetId::Machine(id) => match id.kind() {
                MachineKind::VirtualMachine => TargetKind::Vm,
                MachineKind::ScaleSet => TargetKind::Vmss,
            },
        }
    }

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
    Compute(Compute),
    /// A VM or a scale set.
    Machine(Machine),
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
            Resource::Compute(compute) => Some(compute),
            Resource::Machine(_) => None,
        }
    }
}

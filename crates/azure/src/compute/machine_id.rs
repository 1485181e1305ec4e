//! Which VM or scale set: [`MachineKind`] and the typed, validated ARM id [`MachineId`], compared ignoring case.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::COMPUTE_PROVIDER;
use crate::error::{Error, ErrorKind};
use crate::ids::SubscriptionId;
use crate::names::validate_resource_group;

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

    pub(super) fn segments(&self) -> [&str; 8] {
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

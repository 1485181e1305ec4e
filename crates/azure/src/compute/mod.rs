//! `Microsoft.Compute`: virtual machines and VM scale sets as targets. Typed ids, the power state read from the
//! instance view (an open enum: a code this version does not know is kept as text), the requests (lists with
//! `statusOnly=true`, `$expand=instanceView`, scale set instance views, autoscale settings) and the power
//! operations: stop is **deallocate** (a VM that is only powered off still bills its compute), start is start.
//!
//! Operations are long-running like Azure ML's and are followed by the same code ([`crate::ArmClient::wait`]).
//! The Compute RP's own throttling headers are honoured by the pipeline ([`crate::throttle`]).
//!
//! - `machine_id`: which VM or scale set ([`MachineKind`], [`MachineId`]);
//! - `power_state`: the open enum of power states ([`PowerState`]);
//! - `models`: the typed VM / scale set ([`Machine`]) and its decoding from ARM's JSON;
//! - `scale_sets`: a scale set's power state from its instance view;
//! - `autoscale`: which scale sets an enabled autoscale setting targets;
//! - `requests`: the requests and the permissions they need;
//! - `client`: the [`ArmClient`](crate::ArmClient) calls that send them;
//! - `throttle`: the Compute RP's own throttling, mirrored client-side.

mod autoscale;
mod client;
mod machine_id;
mod models;
mod power_state;
mod requests;
mod scale_sets;
pub mod throttle;

#[cfg(test)]
mod tests;

pub use machine_id::{MACHINE_RULE, MachineId, MachineKind};
pub use models::Machine;
pub use power_state::PowerState;
pub use requests::{machine_permission, machine_verb};

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

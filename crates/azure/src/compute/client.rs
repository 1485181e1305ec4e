//! The [`ArmClient`] calls on VMs and scale sets: discovery (with scale set power states and autoscale), one
//! machine, and starting a power action.

use std::collections::HashSet;

use super::autoscale::decode_autoscale_page;
use super::models::{decode_machine, decode_machine_page};
use super::scale_sets::decode_scale_set_power;
use super::{Machine, MachineId, MachineKind, PowerState};
use crate::client::{ArmClient, decode_error};
use crate::error::Error;
use crate::ids::SubscriptionId;
use crate::names::validate_resource_group;
use crate::operation::Operation;
use crate::power::PowerAction;
use crate::target::TargetId;

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

//! The `Microsoft.Compute` and autoscale requests (lists, gets, instance views, power actions) and the
//! authorization action each needs: stop is **deallocate**.

use azure_core::http::Method;

use super::{
    ACTION_DEALLOCATE_SCALE_SET, ACTION_DEALLOCATE_VM, ACTION_READ_AUTOSCALE, ACTION_READ_SCALE_SET_VIEW,
    ACTION_READ_SCALE_SETS, ACTION_READ_VMS, ACTION_RESTART_SCALE_SET, ACTION_RESTART_VM, ACTION_START_SCALE_SET,
    ACTION_START_VM, AUTOSCALE_API_VERSION, COMPUTE_API_VERSION, COMPUTE_PROVIDER, MachineId, MachineKind,
};
use crate::ids::SubscriptionId;
use crate::power::PowerAction;
use crate::request::{ArmRequest, Requests};

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

//! Tests of Compute routing and of which scale set action bodies are accepted.

use axum::http::Method;

use super::route::parse;
use super::*;
use crate::machines::MachineAction;

const RG: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute";

#[test]
fn every_route_parses() {
    let get = |path: &str| parse(&Method::GET, path);
    assert_eq!(
        get("/subscriptions/s1/providers/Microsoft.Compute/virtualMachines"),
        Some(ComputeRoute::List { subscription: "s1".into(), group: None, kind: MachineKind::Vm })
    );
    assert_eq!(
        get(&format!("{RG}/virtualMachineScaleSets")),
        Some(ComputeRoute::List { subscription: "s1".into(), group: Some("rg".into()), kind: MachineKind::ScaleSet })
    );
    assert!(matches!(get(&format!("{RG}/virtualMachines/vm1")), Some(ComputeRoute::Get { name, .. }) if name == "vm1"));
    assert!(matches!(get(&format!("{RG}/virtualMachines/vm1/instanceView")), Some(ComputeRoute::InstanceView { .. })));
    assert!(matches!(
        parse(&Method::POST, &format!("{RG}/VIRTUALMACHINES/vm1/POWEROFF")),
        Some(ComputeRoute::Action { action: MachineAction::PowerOff, kind: MachineKind::Vm, .. })
    ));
    assert_eq!(
        get("/subscriptions/s1/providers/Microsoft.Compute/locations/eastus/operations/op1"),
        Some(ComputeRoute::Operation { subscription: "s1".into(), operation_id: "op1".into() })
    );
    assert_eq!(
        get("/subscriptions/s1/providers/microsoft.insights/autoscalesettings"),
        Some(ComputeRoute::Autoscale { subscription: "s1".into() })
    );
    assert_eq!(parse(&Method::POST, &format!("{RG}/virtualMachines/vm1/delete")), None);
    assert_eq!(get(&format!("{RG}/disks")), None);
    assert_eq!(get("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces"), None);
}

#[test]
fn scale_sets_act_whole() {
    assert!(check_instance_ids(MachineKind::ScaleSet, b"").is_ok());
    assert!(check_instance_ids(MachineKind::ScaleSet, br#"{"instanceIds": ["*"]}"#).is_ok());
    assert!(check_instance_ids(MachineKind::ScaleSet, br#"{"instanceIds": ["0"]}"#).is_err());
    assert!(check_instance_ids(MachineKind::Vm, b"{}").is_err());
}

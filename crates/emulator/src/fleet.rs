//! The fleet the emulator serves: subscriptions, resource groups, workspaces and computes as plain data.
//!
//! Loaded from a JSON file (or built in code), validated once, then handed to the emulator. Pure: no clock, no
//! network; `load` is the only function that touches the file system.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The compute type of an Azure ML compute instance (a target autostop can start and stop).
pub const COMPUTE_INSTANCE: &str = "ComputeInstance";
/// The compute type of an Azure ML cluster: a compute, but not an instance (it scales to zero by itself).
pub const AML_COMPUTE: &str = "AmlCompute";

/// Everything the emulator serves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    /// The subscriptions, each with its resource groups.
    pub subscriptions: Vec<Subscription>,
}

/// One Azure subscription.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// The subscription id (a GUID in Azure; any string without `/` here).
    pub id: String,
    /// The resource groups of the subscription.
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroup>,
}

/// One resource group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceGroup {
    /// The resource group name.
    pub name: String,
    /// The Azure ML workspaces in it.
    #[serde(default)]
    pub workspaces: Vec<Workspace>,
    /// The virtual machines in it (`Microsoft.Compute/virtualMachines`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_machines: Vec<VirtualMachine>,
    /// The VM scale sets in it (`Microsoft.Compute/virtualMachineScaleSets`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale_sets: Vec<ScaleSet>,
}

/// One virtual machine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualMachine {
    /// The VM name.
    pub name: String,
    /// The Azure region, e.g. `eastus`; it also names the operation-status URLs.
    pub location: String,
    /// The power state as the instance view spells it after `PowerState/`: `running`, `stopped` (powered off,
    /// still billed), `deallocated`, `starting`, `stopping`, `deallocating`, or anything else (served as is).
    pub power_state: String,
    /// The VM size, e.g. `Standard_B2s`.
    pub vm_size: String,
    /// The resource tags (the owner is a tag, as on real VMs).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One VM scale set: all its instances share one power state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleSet {
    /// The scale set name.
    pub name: String,
    /// The Azure region.
    pub location: String,
    /// The power state of every instance (as for [`VirtualMachine::power_state`]).
    pub power_state: String,
    /// The instances' size (`sku.name`), e.g. `Standard_D2s_v3`.
    pub vm_size: String,
    /// How many instances it has (`sku.capacity`).
    pub capacity: u32,
    /// The resource tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Whether an autoscale setting (`Microsoft.Insights/autoscalesettings`) targets it.
    #[serde(default)]
    pub autoscale: bool,
}

/// One Azure ML workspace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    /// The workspace name.
    pub name: String,
    /// The Azure region, e.g. `eastus`; it also names the operation-status URLs.
    pub location: String,
    /// The computes attached to the workspace.
    #[serde(default)]
    pub computes: Vec<Compute>,
}

/// One compute: an instance (`ComputeInstance`) or a cluster (`AmlCompute`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compute {
    /// The compute name.
    pub name: String,
    /// `ComputeInstance` (the default when absent) or `AmlCompute`.
    #[serde(default = "default_compute_type")]
    pub compute_type: String,
    /// The instance state as Azure ML spells it: `Running`, `Stopped`, `JobRunning`, ... (required for instances;
    /// ignored, and optional in JSON, for clusters).
    #[serde(default)]
    pub state: String,
    /// The VM size, e.g. `STANDARD_DS3_V2`.
    pub vm_size: String,
    /// The resource tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The owner (a user principal name such as `alice@contoso.com`), shown as `createdBy.userName` and, for
    /// instances, as the assigned user of a personal instance.
    #[serde(default)]
    pub owner: Option<String>,
    /// The idle shutdown of an instance (`idleTimeBeforeShutdown`, ISO 8601 such as `PT60M`); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_time_before_shutdown: Option<String>,
    /// The native start/stop schedules of an instance (`schedules.computeStartStop`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<NativeSchedule>,
}

/// A native start/stop schedule of a compute instance, with a `Cron` trigger.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeSchedule {
    /// `Start` or `Stop`.
    pub action: String,
    /// The NCRONTAB expression, e.g. `0 8 * * *`.
    pub cron: String,
    /// The Windows time zone name (default `UTC`).
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Whether it is enabled (default true).
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn utc() -> String {
    "UTC".to_owned()
}

fn enabled() -> bool {
    true
}

fn default_compute_type() -> String {
    COMPUTE_INSTANCE.to_owned()
}

impl Compute {
    /// True for a compute instance (something that can be started and stopped).
    pub fn is_instance(&self) -> bool {
        self.compute_type.eq_ignore_ascii_case(COMPUTE_INSTANCE)
    }
}

impl Fleet {
    /// Parses and validates a fleet from JSON text.
    pub fn from_json(text: &str) -> Result<Fleet, Error> {
        let fleet: Fleet = serde_json::from_str(text).map_err(|err| {
            let (line, column) = (err.line(), err.column());
            let text = err.to_string();
            let suffix = format!(" at line {line} column {column}");
            let reason = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
            Error::FleetJson { path: None, line, column, reason }
        })?;
        fleet.validate()?;
        Ok(fleet)
    }

    /// Reads, parses and validates a fleet file.
    pub fn load(path: &Path) -> Result<Fleet, Error> {
        let text =
            std::fs::read_to_string(path).map_err(|source| Error::ReadFleet { path: path.to_path_buf(), source })?;
        Fleet::from_json(&text).map_err(|err| match err {
            Error::FleetJson { line, column, reason, .. } => {
                Error::FleetJson { path: Some(path.to_path_buf()), line, column, reason }
            }
            Error::FleetInvalid { reason, .. } => Error::FleetInvalid { path: Some(path.to_path_buf()), reason },
            other => other,
        })
    }

    /// Checks what serde cannot: names are non-empty, free of `/`, unique where ARM needs them unique
    /// (case-insensitively), and compute types are ones the emulator supports.
    pub fn validate(&self) -> Result<(), Error> {
        let mut subscriptions = HashSet::new();
        for sub in &self.subscriptions {
            check_name("subscription id", &sub.id)?;
            if !subscriptions.insert(sub.id.to_ascii_lowercase()) {
                return Err(invalid(format!("subscription '{}' appears twice", sub.id)));
            }
            let mut groups = HashSet::new();
            for rg in &sub.resource_groups {
                check_name("resource group name", &rg.name)?;
                if !groups.insert(rg.name.to_ascii_lowercase()) {
                    return Err(invalid(format!(
                        "resource group '{}' appears twice in subscription '{}'",
                        rg.name, sub.id
                    )));
                }
                validate_machines(rg)?;
                let mut workspaces = HashSet::new();
                for ws in &rg.workspaces {
                    check_name("workspace name", &ws.name)?;
                    check_name("workspace location", &ws.location)?;
                    if !workspaces.insert(ws.name.to_ascii_lowercase()) {
                        return Err(invalid(format!(
                            "workspace '{}' appears twice in resource group '{}'",
                            ws.name, rg.name
                        )));
                    }
                    let mut computes = HashSet::new();
                    for compute in &ws.computes {
                        check_name("compute name", &compute.name)?;
                        if !computes.insert(compute.name.to_ascii_lowercase()) {
                            return Err(invalid(format!(
                                "compute '{}' appears twice in workspace '{}'",
                                compute.name, ws.name
                            )));
                        }
                        let known = [COMPUTE_INSTANCE, AML_COMPUTE];
                        if !known.iter().any(|t| t.eq_ignore_ascii_case(&compute.compute_type)) {
                            return Err(invalid(format!(
                                "compute '{}' has compute_type '{}'; expected ComputeInstance or AmlCompute",
                                compute.name, compute.compute_type
                            )));
                        }
                        if compute.is_instance() && compute.state.trim().is_empty() {
                            return Err(invalid(format!("compute instance '{}' has an empty state", compute.name)));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// A small demo fleet: 2 subscriptions, 4 workspaces, 12 instances in mixed states, 2 AmlCompute clusters.
    pub fn sample() -> Fleet {
        let instance = |name: &str, state: &str, size: &str, owner: &str, tags: &[(&str, &str)]| Compute {
            name: name.to_owned(),
            compute_type: COMPUTE_INSTANCE.to_owned(),
            state: state.to_owned(),
            vm_size: size.to_owned(),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            owner: Some(owner.to_owned()),
            ..Compute::default()
        };
        let cluster = |name: &str| Compute {
            name: name.to_owned(),
            compute_type: AML_COMPUTE.to_owned(),
            state: "Steady".to_owned(),
            vm_size: "STANDARD_DS3_V2".to_owned(),
            tags: BTreeMap::new(),
            owner: None,
            ..Compute::default()
        };
        let workspace = |name: &str, location: &str, computes: Vec<Compute>| Workspace {
            name: name.to_owned(),
            location: location.to_owned(),
            computes,
        };
        Fleet {
            subscriptions: vec![
                Subscription {
                    id: "00000000-0000-4000-8000-000000000001".to_owned(),
                    resource_groups: vec![
                        ResourceGroup {
                            virtual_machines: Vec::new(),
                            scale_sets: Vec::new(),
                            name: "ml-research".to_owned(),
                            workspaces: vec![
                                workspace(
                                    "research-ws",
                                    "eastus",
                                    vec![
                                        instance(
                                            "alice-ci",
                                            "Running",
                                            "STANDARD_DS3_V2",
                                            "alice@contoso.com",
                                            &[("team", "research")],
                                        ),
                                        instance(
                                            "bob-ci",
                                            "Stopped",
                                            "STANDARD_DS3_V2",
                                            "bob@contoso.com",
                                            &[("team", "research")],
                                        ),
                                        instance(
                                            "carol-gpu",
                                            "JobRunning",
                                            "STANDARD_NC6S_V3",
                                            "carol@contoso.com",
                                            &[("team", "research"), ("gpu", "true")],
                                        ),
                                        instance(
                                            "dave-ci",
                                            "Running",
                                            "STANDARD_DS11_V2",
                                            "dave@contoso.com",
                                            &[("autostop", "off")],
                                        ),
                                        cluster("batch-cluster"),
                                    ],
                                ),
                                workspace(
                                    "research-ws-japan",
                                    "japaneast",
                                    vec![
                                        instance(
                                            "erin-ci",
                                            "Running",
                                            "STANDARD_DS3_V2",
                                            "erin@contoso.com",
                                            &[("team", "research")],
                                        ),
                                        instance("frank-ci", "Stopped", "STANDARD_E4S_V3", "frank@contoso.com", &[]),
                                    ],
                                ),
                            ],
                        },
                        ResourceGroup {
                            virtual_machines: Vec::new(),
                            scale_sets: Vec::new(),
                            name: "ml-prod".to_owned(),
                            workspaces: vec![workspace(
                                "prod-ws",
                                "westeurope",
                                vec![
                                    instance(
                                        "grace-ci",
                                        "Running",
                                        "STANDARD_DS3_V2",
                                        "grace@contoso.com",
                                        &[("env", "prod")],
                                    ),
                                    instance(
                                        "heidi-ci",
                                        "Running",
                                        "STANDARD_DS3_V2",
                                        "heidi@contoso.com",
                                        &[("env", "prod"), ("autostop-snooze-until", "2099-01-01T00:00:00Z")],
                                    ),
                                    cluster("scoring-cluster"),
                                ],
                            )],
                        },
                    ],
                },
                Subscription {
                    id: "00000000-0000-4000-8000-000000000002".to_owned(),
                    resource_groups: vec![ResourceGroup {
                        virtual_machines: Vec::new(),
                        scale_sets: Vec::new(),
                        name: "ml-teaching".to_owned(),
                        workspaces: vec![workspace(
                            "teaching-ws",
                            "westus2",
                            vec![
                                instance(
                                    "ivan-ci",
                                    "Running",
                                    "STANDARD_DS2_V2",
                                    "ivan@contoso.com",
                                    &[("course", "ml101")],
                                ),
                                instance(
                                    "judy-ci",
                                    "Stopped",
                                    "STANDARD_DS2_V2",
                                    "judy@contoso.com",
                                    &[("course", "ml101")],
                                ),
                                instance(
                                    "mallory-ci",
                                    "Running",
                                    "STANDARD_DS2_V2",
                                    "mallory@contoso.com",
                                    &[("course", "ml102")],
                                ),
                                instance("oscar-ci", "Running", "STANDARD_DS2_V2", "oscar@contoso.com", &[]),
                            ],
                        )],
                    }],
                },
            ],
        }
    }

    /// A large synthetic fleet for benchmarks: `subscriptions` subscriptions with one resource group each,
    /// `workspaces_per_sub` workspaces per subscription, `instances_per_workspace` instances per workspace, of which
    /// the first `running_fraction` (0.0..=1.0, clamped) of each workspace are `Running` and the rest `Stopped`.
    pub fn generate(
        subscriptions: usize,
        workspaces_per_sub: usize,
        instances_per_workspace: usize,
        running_fraction: f64,
    ) -> Fleet {
        let fraction = if running_fraction.is_nan() { 0.0 } else { running_fraction.clamp(0.0, 1.0) };
        let running = (instances_per_workspace as f64 * fraction).round() as usize;
        let locations = ["eastus", "westeurope", "japaneast", "westus2"];
        Fleet {
            subscriptions: (0..subscriptions)
                .map(|s| Subscription {
                    id: format!("00000000-0000-4000-8000-{:012}", s + 1),
                    resource_groups: vec![ResourceGroup {
                        virtual_machines: Vec::new(),
                        scale_sets: Vec::new(),
                        name: format!("rg-{s:03}"),
                        workspaces: (0..workspaces_per_sub)
                            .map(|w| Workspace {
                                name: format!("ws-{s:03}-{w:03}"),
                                location: locations[w % locations.len()].to_owned(),
                                computes: (0..instances_per_workspace)
                                    .map(|i| Compute {
                                        name: format!("ci-{s:03}-{w:03}-{i:04}"),
                                        compute_type: COMPUTE_INSTANCE.to_owned(),
                                        state: if i < running { "Running" } else { "Stopped" }.to_owned(),
                                        vm_size: "STANDARD_DS3_V2".to_owned(),
                                        tags: BTreeMap::from([("team".to_owned(), format!("team-{}", i % 7))]),
                                        owner: Some(format!("user{i:04}@contoso.com")),
                                        ..Compute::default()
                                    })
                                    .collect(),
                            })
                            .collect(),
                    }],
                })
                .collect(),
        }
    }
}

/// Checks the virtual machines and scale sets of a resource group: plain names, unique per kind, a location and
/// a power state.
fn validate_machines(rg: &ResourceGroup) -> Result<(), Error> {
    let entries = rg
        .virtual_machines
        .iter()
        .map(|vm| ("virtual machine", &vm.name, &vm.location, &vm.power_state))
        .chain(rg.scale_sets.iter().map(|set| ("scale set", &set.name, &set.location, &set.power_state)));
    let mut seen = HashSet::new();
    for (what, name, location, power_state) in entries {
        check_name(&format!("{what} name"), name)?;
        check_name(&format!("{what} '{name}' location"), location)?;
        check_name(&format!("{what} '{name}' power_state"), power_state)?;
        if !seen.insert((what, name.to_ascii_lowercase())) {
            return Err(invalid(format!("{what} '{name}' appears twice in resource group '{}'", rg.name)));
        }
    }
    Ok(())
}

fn check_name(what: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(invalid(format!("{what} is empty")));
    }
    if value.contains(['/', '?', '#']) {
        return Err(invalid(format!("{what} '{value}' contains '/', '?' or '#'; expected a plain name")));
    }
    Ok(())
}

fn invalid(reason: String) -> Error {
    Error::FleetInvalid { path: None, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_valid_and_mixed() {
        let fleet = Fleet::sample();
        fleet.validate().expect("sample fleet is valid");
        let computes: Vec<&Compute> = fleet
            .subscriptions
            .iter()
            .flat_map(|s| &s.resource_groups)
            .flat_map(|rg| &rg.workspaces)
            .flat_map(|ws| &ws.computes)
            .collect();
        assert_eq!(fleet.subscriptions.len(), 2);
        assert_eq!(computes.iter().filter(|c| c.is_instance()).count(), 12);
        assert_eq!(computes.iter().filter(|c| !c.is_instance()).count(), 2);
        assert!(computes.iter().any(|c| c.state == "Stopped"));
        assert!(computes.iter().any(|c| c.state == "JobRunning"));
    }

    #[test]
    fn the_sample_fleet_file_is_the_sample_fleet() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-fleet.json");
        let loaded = Fleet::load(&path).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(loaded, Fleet::sample(), "regenerate {} from Fleet::sample()", path.display());
    }

    #[test]
    fn json_round_trip() {
        let fleet = Fleet::sample();
        let text = serde_json::to_string_pretty(&fleet).expect("serializes");
        assert_eq!(Fleet::from_json(&text).expect("parses"), fleet);
    }

    #[test]
    fn json_error_names_line_and_column() {
        let err = Fleet::from_json("{\n  \"subscriptions\": [\n    {\"id\": 5}\n  ]\n}").unwrap_err();
        match err {
            Error::FleetJson { line, column, reason, .. } => {
                assert_eq!((line, column), (3, 12));
                assert_eq!(reason, "invalid type: integer `5`, expected a string");
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_and_types_are_rejected() {
        let unknown = r#"{"subscriptions":[{"id":"s","resource_groups":[],"extra":1}]}"#;
        assert!(matches!(Fleet::from_json(unknown), Err(Error::FleetJson { .. })));
        let bad_type = r#"{"subscriptions":[{"id":"s","resource_groups":[{"name":"rg","workspaces":[{"name":"w",
            "location":"eastus","computes":[{"name":"c","compute_type":"Kubernetes","state":"Running","vm_size":"x"}]}]}]}]}"#;
        let err = Fleet::from_json(bad_type).unwrap_err().to_string();
        assert!(err.contains("Kubernetes"), "{err}");
    }

    #[test]
    fn clusters_need_no_state_but_instances_do() {
        let fleet = |compute: &str| {
            format!(
                r#"{{"subscriptions":[{{"id":"s","resource_groups":[{{"name":"rg","workspaces":[{{"name":"w",
                "location":"eastus","computes":[{compute}]}}]}}]}}]}}"#
            )
        };
        assert!(Fleet::from_json(&fleet(r#"{"name":"c","compute_type":"AmlCompute","vm_size":"x"}"#)).is_ok());
        let err = Fleet::from_json(&fleet(r#"{"name":"c","vm_size":"x"}"#)).unwrap_err().to_string();
        assert!(err.contains("empty state"), "{err}");
    }

    #[test]
    fn duplicate_names_are_rejected_case_insensitively() {
        let text = r#"{"subscriptions":[{"id":"s","resource_groups":[{"name":"rg","workspaces":[{"name":"w",
            "location":"eastus","computes":[{"name":"c","state":"Running","vm_size":"x"},
            {"name":"C","state":"Stopped","vm_size":"x"}]}]}]}]}"#;
        let err = Fleet::from_json(text).unwrap_err().to_string();
        assert!(err.contains("appears twice"), "{err}");
    }

    #[test]
    fn load_names_the_file_in_every_error() {
        let dir = std::env::temp_dir().join(format!("autostop-fleet-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let bad_json = dir.join("bad.json");
        let invalid = dir.join("invalid.json");
        std::fs::write(&bad_json, "{\"subscriptions\": [{\"id\": 5}]}").expect("written");
        std::fs::write(&invalid, r#"{"subscriptions": [{"id": "s"}, {"id": "S"}]}"#).expect("written");
        let errors = [Fleet::load(&bad_json), Fleet::load(&invalid), Fleet::load(&dir.join("missing.json"))]
            .map(|result| result.expect_err("fails").to_string());
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            errors[0].starts_with(&format!("fleet file {}: line 1, column 27: ", bad_json.display())),
            "{}",
            errors[0]
        );
        assert_eq!(errors[1], format!("invalid fleet file {}: subscription 'S' appears twice", invalid.display()));
        assert!(errors[2].contains("missing.json"), "{}", errors[2]);
    }

    #[test]
    fn generate_has_the_requested_shape() {
        let fleet = Fleet::generate(3, 2, 10, 0.3);
        fleet.validate().expect("generated fleet is valid");
        let workspaces: Vec<&Workspace> =
            fleet.subscriptions.iter().flat_map(|s| &s.resource_groups).flat_map(|rg| &rg.workspaces).collect();
        assert_eq!(workspaces.len(), 6);
        for ws in workspaces {
            assert_eq!(ws.computes.len(), 10);
            assert_eq!(ws.computes.iter().filter(|c| c.state == "Running").count(), 3);
        }
    }
}

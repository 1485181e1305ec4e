//! Typed models of the ARM responses autostop reads: workspaces, computes, list pages, operation status and ARM
//! error bodies (pure: decoding only).
//!
//! The wire is lenient on purpose: unknown fields are ignored, nulls read as absent, and the enums are open
//! (`Other(String)` keeps what ARM sent), because the real service sends far more than the spec shows.

use crate::ids::{ComputeId, WorkspaceId};
use crate::ml_idle::{NativeSchedule, WireSchedules};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version does not know, as ARM sent it.
            Other(String),
        }

        impl $name {
            /// The value as ARM spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Other(value) => value,
                }
            }

            /// Reads a value case-insensitively; unknown values become `Other`.
            pub fn parse(value: &str) -> Self {
                $(if value.eq_ignore_ascii_case($wire) { return $name::$variant; })*
                $name::Other(value.to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok($name::parse(&String::deserialize(deserializer)?))
            }
        }
    };
}

open_enum!(
    /// The kind of an Azure ML compute (`properties.computeType`).
    ComputeType {
        /// A single-user development VM: the target of autostop.
        ComputeInstance = "ComputeInstance",
        /// A cluster that scales to zero by itself.
        AmlCompute = "AmlCompute",
        /// An attached AKS cluster.
        Aks = "AKS",
        /// An attached Kubernetes cluster.
        Kubernetes = "Kubernetes",
        /// An attached virtual machine.
        VirtualMachine = "VirtualMachine",
        /// An attached HDInsight cluster.
        HdInsight = "HDInsight",
        /// An attached Data Factory.
        DataFactory = "DataFactory",
        /// An attached Databricks workspace.
        Databricks = "Databricks",
        /// An attached Data Lake Analytics account.
        DataLakeAnalytics = "DataLakeAnalytics",
        /// An attached Synapse Spark pool.
        SynapseSpark = "SynapseSpark",
    }
);

open_enum!(
    /// The state of a compute instance (`properties.properties.state`).
    ComputeState {
        /// Being created.
        Creating = "Creating",
        /// Creation failed.
        CreateFailed = "CreateFailed",
        /// Being deleted.
        Deleting = "Deleting",
        /// Running and idle or in use.
        Running = "Running",
        /// Restarting.
        Restarting = "Restarting",
        /// Resizing.
        Resizing = "Resizing",
        /// Running a job.
        JobRunning = "JobRunning",
        /// Running its setup.
        SettingUp = "SettingUp",
        /// Setup failed.
        SetupFailed = "SetupFailed",
        /// Starting.
        Starting = "Starting",
        /// Stopped (deallocated).
        Stopped = "Stopped",
        /// Stopping.
        Stopping = "Stopping",
        /// Running the user's setup script.
        UserSettingUp = "UserSettingUp",
        /// The user's setup script failed.
        UserSetupFailed = "UserSetupFailed",
        /// ARM does not know.
        Unknown = "Unknown",
        /// Unusable.
        Unusable = "Unusable",
    }
);

/// An Azure ML workspace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workspace {
    /// Its ARM id.
    pub id: WorkspaceId,
    /// Its name.
    pub name: String,
    /// Its Azure region (e.g. `eastus`).
    pub location: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// The name shown in the studio, when set.
    pub friendly_name: Option<String>,
}

/// An Azure ML compute (instance, cluster or attached compute).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Compute {
    /// Its ARM id.
    pub id: ComputeId,
    /// Its name.
    pub name: String,
    /// Its Azure region (empty when ARM does not say).
    pub location: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its kind.
    pub compute_type: ComputeType,
    /// Its state (compute instances only).
    pub state: Option<ComputeState>,
    /// Its VM size (e.g. `STANDARD_DS3_V2`).
    pub vm_size: Option<String>,
    /// Who owns it: the creator's user name, else the assigned user's object id, else the creator's user id.
    pub owner: Option<String>,
    /// ARM's provisioning state (e.g. `Succeeded`).
    pub provisioning_state: Option<String>,
    /// The last operation ARM reports on it.
    pub last_operation: Option<LastOperation>,
    /// Its idle shutdown (`idleTimeBeforeShutdown`, an ISO 8601 duration such as `PT60M`), when set.
    pub idle_time_before_shutdown: Option<String>,
    /// Its native start/stop schedules (`schedules.computeStartStop`).
    pub schedules: Vec<NativeSchedule>,
}

/// A compute ARM listed that this client cannot address (its id does not parse, e.g. a name outside the rules
/// in [`crate::COMPUTE_RULE`], or its body does not decode), kept as ARM sent it with the reason, so that one odd
/// compute is reported instead of failing the listing of its whole workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unhandled {
    /// The `id` ARM sent (empty when it sent none).
    pub id: String,
    /// The `name` ARM sent, else the last segment of the id.
    pub name: String,
    /// Why this client cannot handle it.
    pub reason: String,
}

/// The computes of a workspace: those the client can act on, and those it cannot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComputeList {
    /// Every compute decoded, in the order ARM listed them.
    pub computes: Vec<Compute>,
    /// Every compute listed that could not be decoded or addressed, with the reason.
    pub unhandled: Vec<Unhandled>,
}

/// The last operation ARM reports on a compute instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastOperation {
    /// E.g. `Start`, `Stop`, `Create`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub operation_name: String,
    /// When it ran (as ARM wrote it).
    #[serde(default, deserialize_with = "null_as_default")]
    pub operation_time: String,
    /// E.g. `Succeeded`, `InProgress`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub operation_status: String,
    /// `User` or `Schedule`, when given.
    #[serde(default)]
    pub operation_trigger: Option<String>,
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize)]
struct WireWorkspace {
    id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    location: String,
    #[serde(default, deserialize_with = "null_as_default")]
    tags: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    properties: WireWorkspaceProperties,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireWorkspaceProperties {
    #[serde(default)]
    friendly_name: Option<String>,
}

#[derive(Deserialize)]
struct WireCompute {
    id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    location: String,
    #[serde(default, deserialize_with = "null_as_default")]
    tags: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    properties: WireComputeProperties,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireComputeProperties {
    #[serde(default)]
    compute_type: Option<ComputeType>,
    #[serde(default)]
    compute_location: Option<String>,
    #[serde(default)]
    provisioning_state: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    properties: WireInnerProperties,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireInnerProperties {
    #[serde(default)]
    vm_size: Option<String>,
    #[serde(default)]
    state: Option<ComputeState>,
    #[serde(default)]
    last_operation: Option<LastOperation>,
    #[serde(default)]
    created_by: Option<WireCreatedBy>,
    #[serde(default)]
    personal_compute_instance_settings: Option<WirePersonalSettings>,
    #[serde(default)]
    idle_time_before_shutdown: Option<String>,
    #[serde(default)]
    schedules: Option<WireSchedules>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCreatedBy {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePersonalSettings {
    #[serde(default)]
    assigned_user: Option<WireAssignedUser>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAssignedUser {
    #[serde(default)]
    object_id: Option<String>,
}

/// One page of an ARM list: its items and the link to the next page.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct WirePage<T> {
    #[serde(default = "Vec::new", deserialize_with = "null_as_default")]
    pub(crate) value: Vec<T>,
    #[serde(default)]
    pub(crate) next_link: Option<String>,
}

/// A decoding failure: what was wrong, without the response body.
pub(crate) type DecodeError = String;

/// One decoded page: its items and the `nextLink`, if any.
pub(crate) type Page<T> = (Vec<T>, Option<String>);

impl TryFrom<WireWorkspace> for Workspace {
    type Error = DecodeError;

    fn try_from(wire: WireWorkspace) -> Result<Self, DecodeError> {
        let id: WorkspaceId = wire.id.parse().map_err(|e: crate::Error| e.to_string())?;
        let name = if wire.name.is_empty() { id.name().to_string() } else { wire.name };
        Ok(Workspace {
            id,
            name,
            location: wire.location,
            tags: wire.tags,
            friendly_name: wire.properties.friendly_name,
        })
    }
}

impl TryFrom<WireCompute> for Compute {
    type Error = DecodeError;

    fn try_from(wire: WireCompute) -> Result<Self, DecodeError> {
        let id: ComputeId = wire.id.parse().map_err(|e: crate::Error| e.to_string())?;
        let name = if wire.name.is_empty() { id.name().to_string() } else { wire.name };
        let props = wire.properties;
        let inner = props.properties;
        let owner = inner
            .created_by
            .as_ref()
            .and_then(|c| c.user_name.clone())
            .or_else(|| inner.personal_compute_instance_settings.and_then(|p| p.assigned_user?.object_id))
            .or_else(|| inner.created_by.and_then(|c| c.user_id));
        let location =
            if wire.location.is_empty() { props.compute_location.unwrap_or_default() } else { wire.location };
        Ok(Compute {
            id,
            name,
            location,
            tags: wire.tags,
            compute_type: props.compute_type.unwrap_or_else(|| ComputeType::Other(String::new())),
            state: inner.state,
            vm_size: inner.vm_size,
            owner,
            provisioning_state: props.provisioning_state,
            last_operation: inner.last_operation,
            idle_time_before_shutdown: inner.idle_time_before_shutdown.filter(|value| !value.trim().is_empty()),
            schedules: inner.schedules.map(NativeSchedule::all).unwrap_or_default(),
        })
    }
}

fn decode_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))
}

/// Decodes one compute (the body of a GET).
pub(crate) fn decode_compute(body: &[u8]) -> Result<Compute, DecodeError> {
    decode_json::<WireCompute>(body)?.try_into()
}

/// Decodes one page of computes. Only the envelope must decode; each item that does not (or whose id does not
/// parse) becomes an [`Unhandled`] with the reason, and the others are kept.
pub(crate) fn decode_compute_page(body: &[u8]) -> Result<Page<Result<Compute, Unhandled>>, DecodeError> {
    let page: WirePage<serde_json::Value> = decode_json(body)?;
    Ok((page.value.into_iter().map(decode_listed_compute).collect(), page.next_link))
}

/// Decodes one listed compute, or says why it cannot be handled.
fn decode_listed_compute(item: serde_json::Value) -> Result<Compute, Unhandled> {
    let text = |key: &str| item.get(key).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    let id = text("id");
    let name = match text("name") {
        name if name.is_empty() => id.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned(),
        name => name,
    };
    let unhandled = |reason: String| Unhandled { id: id.clone(), name: name.clone(), reason };
    let wire: WireCompute =
        serde_json::from_value(item.clone()).map_err(|e| unhandled(format!("cannot decode the compute: {e}")))?;
    Compute::try_from(wire).map_err(unhandled)
}

/// Decodes one page of workspaces.
pub(crate) fn decode_workspace_page(body: &[u8]) -> Result<Page<Workspace>, DecodeError> {
    let page: WirePage<WireWorkspace> = decode_json(body)?;
    let items = page.value.into_iter().map(Workspace::try_from).collect::<Result<_, _>>()?;
    Ok((items, page.next_link))
}

/// An ARM error body: `{"error":{"code","message"}}`.
#[derive(Deserialize)]
struct WireErrorBody {
    error: WireError,
}

#[derive(Deserialize)]
pub(crate) struct WireError {
    #[serde(default)]
    pub(crate) code: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
}

/// Reads an ARM error body, if the body is one.
pub(crate) fn decode_arm_error(body: &[u8]) -> Option<WireError> {
    serde_json::from_slice::<WireErrorBody>(body).ok().map(|b| b.error)
}

/// The body of an `Azure-AsyncOperation` status: `{"status": ..., "error": {...}}`.
#[derive(Deserialize)]
pub(crate) struct WireOperationStatus {
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) error: Option<WireError>,
}

/// Decodes an operation status body.
pub(crate) fn decode_operation_status(body: &[u8]) -> Result<WireOperationStatus, DecodeError> {
    decode_json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDINGS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/azure-api/recordings/azure-powershell/src/MachineLearningServices/MachineLearningServices.Autorest/test/"
    );
    const SPECS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/azure-api/azure-rest-api-specs/specification/machinelearningservices/resource-manager/"
    );

    fn read(path: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
    }

    /// The responses of a recording (sorted by recording key): request method, request URI, response body.
    fn recorded(file: &str) -> Vec<(String, String, String)> {
        let path = format!("{RECORDINGS}{file}");
        let json = read(&path);
        let entries = json.as_object().unwrap_or_else(|| panic!("{path}: expected an object"));
        entries
            .values()
            .map(|entry| {
                let method = entry["Request"]["Method"].as_str().unwrap_or_default().to_string();
                let uri = entry["Request"]["RequestUri"].as_str().unwrap_or_default().to_string();
                let body = entry["Response"]["Content"].as_str().unwrap_or_default().to_string();
                (method, uri, body)
            })
            .collect()
    }

    #[test]
    fn decodes_the_recorded_compute_list_and_get() -> Result<(), DecodeError> {
        let responses = recorded("Get-AzMLWorkspaceCompute.Recording.json");
        assert_eq!(responses.len(), 2);
        let find = |suffix: &str| {
            responses
                .iter()
                .find(|(_, uri, _)| uri.split('?').next().is_some_and(|path| path.ends_with(suffix)))
                .unwrap_or_else(|| panic!("no recorded request ending with {suffix}"))
        };
        let list = find("/computes");
        let get = find("/computes/jiajicompute1");
        let (items, next) = decode_compute_page(list.2.as_bytes())?;
        let items = items.into_iter().collect::<Result<Vec<_>, _>>().map_err(|u| u.reason)?;
        assert_eq!(next, None);
        assert_eq!(items.len(), 2);
        let cluster = &items[0];
        assert_eq!(cluster.name, "batch-cluster");
        assert_eq!(cluster.compute_type, ComputeType::AmlCompute);
        assert_eq!(cluster.state, None);
        assert_eq!(cluster.vm_size.as_deref(), Some("STANDARD_DS3_V2"));
        let instance = &items[1];
        assert_eq!(instance.compute_type, ComputeType::ComputeInstance);
        assert_eq!(instance.state, Some(ComputeState::Running));
        assert_eq!(instance.location, "eastus");
        assert_eq!(instance.owner.as_deref(), Some("6205f759-1234-453c-9712-34d7671bceff"));
        assert_eq!(instance.last_operation.as_ref().map(|o| o.operation_name.as_str()), Some("Create"));

        let one = decode_compute(get.2.as_bytes())?;
        assert_eq!(&one, instance);
        assert_eq!(
            one.id.to_string(),
            get.1.split('?').next().unwrap_or_default().replace("https://management.azure.com", "")
        );
        Ok(())
    }

    #[test]
    fn decodes_the_recorded_operation_statuses() -> Result<(), DecodeError> {
        let responses = recorded("Stop-AzMLWorkspaceCompute.Recording.json");
        let statuses: Vec<String> = responses
            .iter()
            .filter(|(method, _, _)| method == "GET")
            .map(|(_, _, body)| decode_operation_status(body.as_bytes()).map(|s| s.status))
            .collect::<Result<_, _>>()?;
        assert_eq!(statuses, ["InProgress", "InProgress", "Succeeded"]);
        Ok(())
    }

    #[test]
    fn decodes_the_spec_examples() -> Result<(), DecodeError> {
        let get = read(&format!(
            "{SPECS}Microsoft.MachineLearningServices/stable/2025-09-01/examples/Compute/get/ComputeInstance.json"
        ));
        let compute = decode_compute(get["responses"]["200"]["body"].to_string().as_bytes())?;
        assert_eq!(compute.owner.as_deref(), Some("foobar@microsoft.com"));
        assert_eq!(compute.vm_size.as_deref(), Some("STANDARD_NC6"));

        let list =
            read(&format!("{SPECS}Microsoft.MachineLearningServices/stable/2025-09-01/examples/Compute/list.json"));
        let (items, next) = decode_compute_page(list["responses"]["200"]["body"].to_string().as_bytes())?;
        let items = items.into_iter().collect::<Result<Vec<_>, _>>().map_err(|u| u.reason)?;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].compute_type, ComputeType::Aks);
        assert_eq!(next.as_deref(), Some("nextLink"));

        for file in [
            "MachineLearningServices/stable/2025-09-01/examples/Workspace/listByResourceGroup.json",
            "MachineLearningServices/stable/2025-12-01/examples/Workspace/listBySubscription.json",
        ] {
            let list = read(&format!("{SPECS}Microsoft.MachineLearningServices/{file}"));
            let (items, _) = decode_workspace_page(list["responses"]["200"]["body"].to_string().as_bytes())?;
            assert!(!items.is_empty(), "{file}");
            assert!(items.iter().all(|w| !w.location.is_empty() && w.id.name() == w.name), "{file}");
        }
        Ok(())
    }

    #[test]
    fn tolerates_unknown_values_nulls_and_missing_fields() -> Result<(), DecodeError> {
        let body = br#"{"id":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws1/computes/ci1",
            "tags":null,"location":null,"newField":{"x":1},
            "properties":{"computeType":"QuantumCompute","properties":{"state":"Hibernating","vmSize":null,"lastOperation":null}}}"#;
        let compute = decode_compute(body)?;
        assert_eq!(compute.name, "ci1");
        assert_eq!(compute.compute_type, ComputeType::Other("QuantumCompute".into()));
        assert_eq!(compute.state, Some(ComputeState::Other("Hibernating".into())));
        assert_eq!(compute.state.as_ref().map(|s| s.to_string()).as_deref(), Some("Hibernating"));
        assert!(compute.tags.is_empty());
        assert_eq!(compute.vm_size, None);
        assert_eq!(ComputeState::parse("jobrunning"), ComputeState::JobRunning);
        Ok(())
    }

    #[test]
    fn an_odd_item_in_a_page_is_unhandled_and_the_others_are_kept() -> Result<(), DecodeError> {
        let ws = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws1";
        let body = format!(
            r#"{{"value":[{{"id":"{ws}/computes/ci-1","name":"ci-1"}},{{"id":"{ws}/computes/résumé-ci","name":"résumé-ci"}},
            {{"id":"{ws}/computes/ci-2","tags":{{"n":1}}}},{{"name":"no-id"}}],"nextLink":"next"}}"#
        );
        let (items, next) = decode_compute_page(body.as_bytes())?;
        assert_eq!(next.as_deref(), Some("next"));
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].as_ref().map(|c| c.name.as_str()), Ok("ci-1"));
        let odd = items[1].as_ref().err().cloned().unwrap_or_else(|| panic!("résumé-ci is unhandled"));
        assert_eq!((odd.id.as_str(), odd.name.as_str()), (format!("{ws}/computes/résumé-ci").as_str(), "résumé-ci"));
        assert!(odd.reason.contains("compute name: expected 2-24 characters"), "{}", odd.reason);
        let undecodable = items[2].as_ref().err().cloned().unwrap_or_else(|| panic!("a numeric tag is unhandled"));
        assert_eq!(undecodable.name, "ci-2", "the name comes from the id when ARM sends none");
        assert!(undecodable.reason.starts_with("cannot decode the compute"), "{}", undecodable.reason);
        let no_id = items[3].as_ref().err().cloned().unwrap_or_else(|| panic!("an item without id is unhandled"));
        assert_eq!((no_id.id.as_str(), no_id.name.as_str()), ("", "no-id"));
        assert!(decode_compute_page(b"{\"value\":5}").is_err(), "a broken envelope still fails the page");
        Ok(())
    }

    #[test]
    fn a_bad_id_in_a_response_is_named() {
        let err = decode_compute(br#"{"id":"/subscriptions/x"}"#).err().unwrap_or_default();
        assert!(err.contains("invalid ARM id '/subscriptions/x'"), "{err}");
    }

    #[test]
    fn reads_arm_error_bodies() {
        let err = decode_arm_error(br#"{"error":{"code":"ResourceNotFound","message":"gone","details":[]}}"#);
        assert_eq!(err.and_then(|e| e.code).as_deref(), Some("ResourceNotFound"));
        assert!(decode_arm_error(b"<html>bad gateway</html>").is_none());
    }
}

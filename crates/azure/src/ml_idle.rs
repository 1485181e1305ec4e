//! Azure ML compute instances' own safety nets: the idle shutdown (`idleTimeBeforeShutdown`, set with
//! `POST .../computes/{name}/updateIdleShutdownSetting`, a synchronous 200) and the native start/stop schedules
//! (`properties.properties.schedules.computeStartStop`), read so that autostop can report the ones that work
//! against its rules.

use azure_core::http::Method;
use serde::{Deserialize, Serialize};

use crate::client::ArmClient;
use crate::error::Error;
use crate::ids::{ComputeId, PROVIDER};
use crate::request::{ArmRequest, Requests};

/// The api-version `updateIdleShutdownSetting` is sent with, whatever version the other requests use: the newest
/// stable version whose spec declares the operation (`stable/2025-06-01/machineLearningServices.json` of
/// github.com/Azure/azure-rest-api-specs). The stable versions before it (2021-07-01 to 2025-04-01) and after it
/// (2025-09-01 on) do not declare it; only previews do (`crates/emulator/src/api_versions.rs` lists them).
pub const IDLE_SHUTDOWN_API_VERSION: &str = "2025-06-01";

/// The action needed to change a compute instance's idle shutdown.
pub const ACTION_UPDATE_IDLE_SHUTDOWN: &str =
    "Microsoft.MachineLearningServices/workspaces/computes/updateIdleShutdownSetting/action";

/// One native start/stop schedule of a compute instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NativeSchedule {
    /// `Start` or `Stop` (as Azure spells it).
    pub action: String,
    /// `Enabled` or `Disabled`; absent reads as enabled.
    pub status: Option<String>,
    /// `Cron` or `Recurrence`.
    pub trigger_type: Option<String>,
    /// The NCRONTAB expression of a `Cron` trigger.
    pub expression: Option<String>,
    /// The Windows time zone name of the trigger (`UTC` by default).
    pub time_zone: Option<String>,
}

impl NativeSchedule {
    /// Whether the schedule is on (Azure's default when `status` is absent).
    pub fn is_enabled(&self) -> bool {
        self.status.as_deref().is_none_or(|status| !status.eq_ignore_ascii_case("Disabled"))
    }

    /// Whether it starts the instance.
    pub fn starts(&self) -> bool {
        self.action.eq_ignore_ascii_case("Start")
    }

    pub(crate) fn all(wire: WireSchedules) -> Vec<NativeSchedule> {
        wire.compute_start_stop
            .unwrap_or_default()
            .into_iter()
            .map(|schedule| {
                let (expression, cron_zone) =
                    schedule.cron.map_or((None, None), |cron| (cron.expression, cron.time_zone));
                let time_zone = cron_zone.or_else(|| schedule.recurrence.and_then(|r| r.time_zone));
                NativeSchedule {
                    action: schedule.action.unwrap_or_default(),
                    status: schedule.status,
                    trigger_type: schedule.trigger_type,
                    expression,
                    time_zone,
                }
            })
            .collect()
    }
}

/// `properties.properties.schedules`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireSchedules {
    #[serde(default)]
    compute_start_stop: Option<Vec<WireSchedule>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSchedule {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    trigger_type: Option<String>,
    #[serde(default)]
    cron: Option<WireTrigger>,
    #[serde(default)]
    recurrence: Option<WireTrigger>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireTrigger {
    #[serde(default)]
    expression: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
}

impl Requests {
    /// `POST .../computes/{name}/updateIdleShutdownSetting?api-version=``IDLE_SHUTDOWN_API_VERSION` (its body is
    /// `{"idleTimeBeforeShutdown": ...}`).
    pub fn update_idle_shutdown(&self, id: &ComputeId) -> ArmRequest {
        let workspace = id.workspace();
        let segments = [
            "subscriptions",
            workspace.subscription().as_str(),
            "resourceGroups",
            workspace.resource_group(),
            "providers",
            PROVIDER,
            "workspaces",
            workspace.name(),
            "computes",
            id.name(),
            "updateIdleShutdownSetting",
        ];
        ArmRequest {
            method: Method::Post,
            url: self.url_at(&segments, IDLE_SHUTDOWN_API_VERSION),
            resource: id.to_string(),
            action: ACTION_UPDATE_IDLE_SHUTDOWN,
        }
    }
}

impl ArmClient {
    /// Sets a compute instance's idle shutdown to `idle_time` (ISO 8601, e.g. `PT60M`; Azure accepts 15 minutes
    /// to 3 days).
    pub async fn update_idle_shutdown(&self, id: &ComputeId, idle_time: &str) -> Result<(), Error> {
        let request = self.requests().update_idle_shutdown(id);
        let body = serde_json::json!({ "idleTimeBeforeShutdown": idle_time }).to_string();
        self.send_json(&request, body.into_bytes(), &[200]).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/azure-api/azure-rest-api-specs/specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/2025-06-01/examples/Compute/updateIdleShutdownSetting.json"
    );

    #[test]
    fn the_request_matches_the_spec_example() -> Result<(), Box<dyn std::error::Error>> {
        let example: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(EXAMPLE)?)?;
        let p = &example["parameters"];
        let workspace = crate::WorkspaceId::new(
            p["subscriptionId"].as_str().unwrap_or_default().parse()?,
            p["resourceGroupName"].as_str().unwrap_or_default(),
            p["workspaceName"].as_str().unwrap_or_default(),
        )?;
        let id = ComputeId::new(workspace, p["computeName"].as_str().unwrap_or_default())?;
        let version = p["api-version"].as_str().unwrap_or_default();
        assert_eq!(version, IDLE_SHUTDOWN_API_VERSION, "the example of the version the client sends");
        // Whatever version the other requests use.
        let requests = Requests::new(url::Url::parse("https://management.azure.com")?, "2024-04-01");
        let request = requests.update_idle_shutdown(&id);
        assert_eq!(
            request.url.as_str(),
            format!("https://management.azure.com{id}/updateIdleShutdownSetting?api-version={version}")
        );
        assert_eq!(request.method, Method::Post);
        assert_eq!(p["parameters"]["idleTimeBeforeShutdown"], "PT120M", "the body shape the client sends");
        assert_eq!(example["responses"]["200"], serde_json::json!({}), "a synchronous 200 without a body");
        Ok(())
    }

    #[test]
    fn schedules_read_cron_and_recurrence_triggers() -> Result<(), serde_json::Error> {
        let wire: WireSchedules = serde_json::from_str(
            r#"{"computeStartStop": [
                {"action": "Start", "triggerType": "Cron", "status": "Enabled",
                 "cron": {"expression": "0 8 * * *", "timeZone": "Pacific Standard Time"}},
                {"action": "Stop", "triggerType": "Recurrence", "status": "Disabled",
                 "recurrence": {"frequency": "Day", "interval": 1, "timeZone": "UTC",
                                "schedule": {"hours": [18], "minutes": [0]}}}]}"#,
        )?;
        let all = NativeSchedule::all(wire);
        assert_eq!(all.len(), 2);
        assert!(all[0].starts() && all[0].is_enabled());
        assert_eq!(all[0].expression.as_deref(), Some("0 8 * * *"));
        assert!(!all[1].starts() && !all[1].is_enabled());
        assert_eq!(all[1].time_zone.as_deref(), Some("UTC"));
        Ok(())
    }
}

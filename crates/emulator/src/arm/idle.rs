//! `POST .../workspaces/{ws}/computes/{name}/updateIdleShutdownSetting`: sets a compute instance's idle shutdown
//! from `{"idleTimeBeforeShutdown": "PT60M"}` and answers 200 with no body, as the spec example does. Values
//! that are not ISO 8601 durations, or fall outside Azure's bounds (15 minutes to 3 days), get 400, and so do
//! api-versions whose spec does not declare the operation ([`api_versions::IDLE_SHUTDOWN`]).

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

use super::{Reply, admit, api_version, authenticate, authorize, finish};
use crate::api_versions::{self, Service};
use crate::arm_error::ArmError;
use crate::server::Shared;
use crate::throttle::Budget;
use crate::world::PROVIDER;

/// The shortest idle shutdown Azure accepts.
const MIN: Duration = Duration::from_secs(15 * 60);
/// The longest.
const MAX: Duration = Duration::from_secs(3 * 24 * 3600);

/// The compute an idle-shutdown request names: (subscription, resource group, workspace, compute).
pub(crate) fn parse(method: &axum::http::Method, path: &str) -> Option<[String; 4]> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let is = |i: usize, word: &str| segments.get(i).is_some_and(|s| s.eq_ignore_ascii_case(word));
    let shape = segments.len() == 11
        && is(0, "subscriptions")
        && is(2, "resourceGroups")
        && is(4, "providers")
        && is(5, PROVIDER)
        && is(6, "workspaces")
        && is(8, "computes")
        && is(10, "updateIdleShutdownSetting");
    (shape && method == axum::http::Method::POST && segments.iter().all(|s| !s.is_empty()))
        .then(|| [segments[1], segments[3], segments[7], segments[9]].map(str::to_owned))
}

/// Serves the request with ARM's headers.
pub(crate) fn handle(shared: &Shared, uri: &Uri, headers: &HeaderMap, body: &[u8], target: [String; 4]) -> Response {
    let mut remaining = None;
    let result = serve(shared, uri, headers, body, &target, &mut remaining);
    finish(result, true, remaining, headers)
}

fn serve(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    [subscription, group, workspace, name]: &[String; 4],
    remaining: &mut Option<u64>,
) -> Result<Reply, ArmError> {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let principal = authenticate(shared, headers)?;
    *remaining = admit(shared, subscription, Budget::Write, &principal)?;
    let version = api_version(&query)?;
    {
        let world = &shared.live().world;
        let locations = world.locations();
        let location = world.location_of(subscription, group, Some(workspace)).unwrap_or("*");
        let service = Service::Provider {
            versions: api_versions::MACHINE_LEARNING,
            resource_type: "workspaces/computes",
            location,
            locations: &locations,
        };
        api_versions::check(&service, version)?;
    }
    api_versions::check_operation("updateIdleShutdownSetting", api_versions::IDLE_SHUTDOWN, version)?;
    let scope = uri.path().trim_end_matches('/').rsplit_once('/').map_or(uri.path(), |(scope, _)| scope);
    let action = format!("{PROVIDER}/workspaces/computes/updateIdleShutdownSetting/action");
    authorize(shared, &principal, scope, &action)?;
    let value = idle_time(body)?;
    let wall = shared.wall();
    let mut live = shared.live();
    let index = live.world.compute(subscription, group, workspace, name)?;
    live.world.set_idle_shutdown(index, &value, &wall)?;
    Ok(Reply { status: StatusCode::OK, body: None, headers: Vec::new() })
}

/// Reads and checks `idleTimeBeforeShutdown`.
fn idle_time(body: &[u8]) -> Result<String, ArmError> {
    let invalid = |message: String| ArmError::new(400, "BadRequest", message);
    let parsed: serde_json::Value = serde_json::from_slice(body)
        .map_err(|err| invalid(format!("The request body is not an IdleShutdownSetting: {err}")))?;
    let Some(value) = parsed.get("idleTimeBeforeShutdown").and_then(serde_json::Value::as_str) else {
        return Err(invalid("The request body has no idleTimeBeforeShutdown string.".to_owned()));
    };
    // jiff also reads friendly durations ("1 hour"); Azure takes ISO 8601 only.
    let seconds = Some(value)
        .filter(|value| value.starts_with(['P', 'p']))
        .and_then(|value| value.parse::<jiff::Span>().ok())
        .and_then(|span| span.total(jiff::SpanTotal::from(jiff::Unit::Second).days_are_24_hours()).ok())
        .ok_or_else(|| invalid(format!("idleTimeBeforeShutdown '{value}' is not an ISO 8601 duration.")))?;
    if !(MIN.as_secs_f64()..=MAX.as_secs_f64()).contains(&seconds) {
        return Err(invalid(format!(
            "idleTimeBeforeShutdown '{value}' is out of range: minimum is 15 min, maximum is 3 days."
        )));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_iso_8601_within_azures_bounds() {
        let body = |value: &str| format!(r#"{{"idleTimeBeforeShutdown": "{value}"}}"#);
        assert_eq!(idle_time(body("PT120M").as_bytes()).ok().as_deref(), Some("PT120M"));
        assert!(idle_time(body("P3D").as_bytes()).is_ok());
        assert!(idle_time(body("PT14M").as_bytes()).is_err());
        assert!(idle_time(body("P3DT1M").as_bytes()).is_err());
        assert!(idle_time(body("1 hour").as_bytes()).is_err());
        assert!(idle_time(b"{}").is_err());
    }

    #[test]
    fn only_the_idle_shutdown_path_matches() {
        let path = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/computes/c/updateIdleShutdownSetting";
        assert_eq!(parse(&axum::http::Method::POST, path).map(|t| t[3].clone()).as_deref(), Some("c"));
        assert_eq!(parse(&axum::http::Method::GET, path), None);
        assert_eq!(parse(&axum::http::Method::POST, &path.replace("updateIdle", "updateIdleX")), None);
    }
}

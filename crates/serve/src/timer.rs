//! The Azure Functions host's timer invocation, as a custom handler receives it, and the answer it expects.
//!
//! Pure: parses and builds JSON, reads no clock. The request is
//! `{"Data":{"<binding>":{"Schedule":{..},"ScheduleStatus":{"Last","Next","LastUpdated"} or null,"IsPastDue":bool}},
//! "Metadata":{..}}`; the binding's value may also arrive as a JSON string holding that object.
//!
//! `ScheduleStatus.Last` as hosts really send it: `2026-09-24T13:08:00.0096035+00:00` (with an offset, possibly
//! not UTC under `func start`), `0001-01-01T00:00:00` or `0001-01-01T00:00:00+00:00` before the first run
//! (.NET's `DateTime.MinValue`), and without an offset from older hosts. A value without an offset is read as
//! UTC; any value in year 1 means "never ran". `ScheduleStatus` is null for schedules more frequent than once a
//! minute and when the host keeps no status (`useMonitor: false`).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A request the handler cannot use.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The body is not the host's invocation JSON.
    #[error("invocation body: expected the Functions host's JSON {{\"Data\":{{..}},\"Metadata\":{{..}}}}, found: {0}")]
    NotJson(String),
    /// No binding of `Data` looks like a timer.
    #[error(
        "invocation body: expected a timer binding in Data (an object with ScheduleStatus and IsPastDue), found bindings [{0}]"
    )]
    NoTimer(String),
    /// `ScheduleStatus.Last` is not a date and time.
    #[error(
        "ScheduleStatus.Last: expected an ISO 8601 date and time such as 2026-09-24T13:08:00.0096035+00:00, found {value:?}"
    )]
    BadLast {
        /// The value as sent.
        value: String,
    },
    /// An HTTP trigger's `Url` is not an absolute URL.
    #[error(
        "Data.{binding}.Url: expected an absolute URL such as https://APP.azurewebsites.net/api/owners/postpone?.., found {value:?}"
    )]
    BadUrl {
        /// The binding's name.
        binding: String,
        /// The value as sent.
        value: String,
    },
}

/// What the handler takes from a timer invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerInvocation {
    /// The binding's name (from `function.json`).
    pub binding: String,
    /// The previous run, `None` on the first run or when the host sent no status.
    pub last: Option<Timestamp>,
    /// True when the host runs an occurrence it missed (e.g. after a restart).
    pub is_past_due: bool,
}

#[derive(Deserialize)]
struct InvokeRequest {
    #[serde(rename = "Data", default)]
    data: Map<String, Value>,
}

/// Looks up a key the way the host may spell it (PascalCase from custom handlers, camelCase elsewhere).
pub(super) fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value)
}

/// Parses the host's timer invocation body.
pub fn parse_invocation(body: &[u8]) -> Result<TimerInvocation, PayloadError> {
    let request: InvokeRequest = serde_json::from_slice(body).map_err(|err| PayloadError::NotJson(err.to_string()))?;
    for (binding, value) in &request.data {
        let object = match value {
            Value::Object(object) => object.clone(),
            Value::String(text) => match serde_json::from_str(text) {
                Ok(Value::Object(object)) => object,
                _ => continue,
            },
            _ => continue,
        };
        if field(&object, "ScheduleStatus").is_none() && field(&object, "IsPastDue").is_none() {
            continue;
        }
        let last = match field(&object, "ScheduleStatus").and_then(|status| status.as_object()) {
            Some(status) => match field(status, "Last") {
                Some(Value::String(text)) => parse_last(text)?,
                Some(Value::Null) | None => None,
                Some(other) => return Err(PayloadError::BadLast { value: other.to_string() }),
            },
            None => None,
        };
        let is_past_due = field(&object, "IsPastDue").and_then(Value::as_bool).unwrap_or(false);
        return Ok(TimerInvocation { binding: binding.clone(), last, is_past_due });
    }
    Err(PayloadError::NoTimer(request.data.keys().cloned().collect::<Vec<_>>().join(", ")))
}

/// Parses `ScheduleStatus.Last`: with an offset as given, without one as UTC; year 1 or empty means never.
fn parse_last(text: &str) -> Result<Option<Timestamp>, PayloadError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || PayloadError::BadLast { value: text.to_owned() };
    let at = match text.parse::<Timestamp>() {
        Ok(at) => at,
        Err(_) => {
            let civil: DateTime = text.parse().map_err(|_| bad())?;
            if civil.year() <= 1 {
                return Ok(None);
            }
            civil.to_zoned(TimeZone::UTC).map_err(|_| bad())?.timestamp()
        }
    };
    // 0001-01-01T00:00:00+00:00 and its local variants (+02:00 lands in year 0) are DateTime.MinValue.
    Ok((at.to_zoned(TimeZone::UTC).year() > 1).then_some(at))
}

/// The answer to the host: `{"Outputs":{},"Logs":[..],"ReturnValue":null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvokeResponse {
    /// Output bindings (a timer function has none).
    #[serde(rename = "Outputs")]
    pub outputs: Map<String, Value>,
    /// Lines the host writes to the invocation's log.
    #[serde(rename = "Logs")]
    pub logs: Vec<String>,
    /// The function's return value (none).
    #[serde(rename = "ReturnValue")]
    pub return_value: Option<Value>,
}

impl InvokeResponse {
    /// A response carrying only log lines.
    pub fn logs(logs: Vec<String>) -> Self {
        InvokeResponse { outputs: Map::new(), logs, return_value: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(status: &str, past_due: bool) -> Vec<u8> {
        format!(
            r#"{{"Data":{{"timer":{{"Schedule":{{"AdjustForDST":true}},"ScheduleStatus":{status},"IsPastDue":{past_due}}}}},"Metadata":{{"sys":{{"MethodName":"autostop","UtcNow":"2026-09-24T13:09:00.01Z"}}}}}}"#
        )
        .into_bytes()
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("test timestamp")
    }

    #[test]
    fn last_with_an_offset_is_taken_as_given() {
        let status = r#"{"Last":"2026-09-24T13:08:00.0096035+00:00","Next":"2026-09-24T13:09:00+00:00","LastUpdated":"2026-09-24T13:08:00.0096035+00:00"}"#;
        let timer = parse_invocation(&body(status, false)).expect("valid body");
        assert_eq!(timer.binding, "timer");
        assert_eq!(timer.last, Some(ts("2026-09-24T13:08:00.0096035Z")));
        assert!(!timer.is_past_due);

        let local = r#"{"Last":"2022-10-11T10:52:00.003967+02:00","Next":"2022-10-11T10:53:00+02:00"}"#;
        let timer = parse_invocation(&body(local, true)).expect("valid body");
        assert_eq!(timer.last, Some(ts("2022-10-11T08:52:00.003967Z")));
        assert!(timer.is_past_due);
    }

    #[test]
    fn last_without_an_offset_is_utc() {
        let status =
            r#"{"Last":"2026-01-05T21:55:00.0123","Next":"2026-01-05T22:00:00","LastUpdated":"2026-01-05T21:55:00"}"#;
        let timer = parse_invocation(&body(status, true)).expect("valid body");
        assert_eq!(timer.last, Some(ts("2026-01-05T21:55:00.0123Z")));
    }

    #[test]
    fn first_runs_and_null_status_have_no_last() {
        for status in [
            "null",
            r#"{"Last":"0001-01-01T00:00:00","Next":"2018-07-24T23:24:00-07:00","LastUpdated":"0001-01-01T00:00:00"}"#,
            r#"{"Last":"0001-01-01T00:00:00+00:00","Next":"2026-09-24T13:09:00+00:00"}"#,
            r#"{"Last":"0001-01-01T00:00:00+02:00"}"#,
            r#"{"Last":null}"#,
            r#"{"Last":""}"#,
        ] {
            let timer = parse_invocation(&body(status, false)).unwrap_or_else(|err| panic!("{status}: {err}"));
            assert_eq!(timer.last, None, "{status}");
        }
    }

    #[test]
    fn a_binding_sent_as_a_json_string_and_camel_case_is_read() {
        let body = br#"{"Data":{"myTimer":"{\"scheduleStatus\":{\"last\":\"2026-01-05T21:55:00Z\"},\"isPastDue\":true}"},"Metadata":{}}"#;
        let timer = parse_invocation(body).expect("valid body");
        assert_eq!(timer.binding, "myTimer");
        assert_eq!(timer.last, Some(ts("2026-01-05T21:55:00Z")));
        assert!(timer.is_past_due);
    }

    #[test]
    fn bad_bodies_say_what_was_expected_and_found() {
        let err = parse_invocation(b"not json").expect_err("not json");
        assert!(err.to_string().starts_with("invocation body: expected the Functions host's JSON"), "{err}");

        let err = parse_invocation(br#"{"Data":{"req":{"Url":"http://x"}},"Metadata":{}}"#).expect_err("no timer");
        assert_eq!(
            err.to_string(),
            "invocation body: expected a timer binding in Data (an object with ScheduleStatus and IsPastDue), \
             found bindings [req]"
        );

        let err = parse_invocation(&body(r#"{"Last":"yesterday"}"#, false)).expect_err("bad last");
        assert_eq!(
            err.to_string(),
            "ScheduleStatus.Last: expected an ISO 8601 date and time such as 2026-09-24T13:08:00.0096035+00:00, \
             found \"yesterday\""
        );
    }

    #[test]
    fn the_response_has_the_shape_the_host_reads() {
        let response = InvokeResponse::logs(vec!["stopped ci-1".to_owned()]);
        let json = serde_json::to_value(&response).expect("serializable");
        assert_eq!(json, serde_json::json!({"Outputs": {}, "Logs": ["stopped ci-1"], "ReturnValue": null}));
    }
}

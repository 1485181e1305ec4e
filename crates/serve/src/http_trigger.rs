//! The Azure Functions host's HTTP-trigger invocation, as a custom handler receives it, and the answer it expects.
//!
//! Pure: parses and builds JSON, reads no clock. `functions init` leaves `enableForwardingHttpRequest` off, so the
//! host sends an HTTP-triggered function's request the way it sends every other trigger: `POST /{function}` with
//! `{"Data":{"<binding>":{"Url","Method","Query","Headers","Params","Identities","Body"}},"Metadata":{..}}`. One
//! format for the timer and the links, whatever the function's route or the host's route prefix.
//!
//! - `Url` is the public URL with its query string as the browser sent it
//!   (`https://APP.azurewebsites.net/api/owners/postpone?target=..&sig=..`). The query is read from there, still
//!   percent-encoded as it was signed: `Query` is a JSON object on some hosts and a JSON string holding one on
//!   others, and decoded either way.
//! - The answer is `{"Outputs":{"res":{"statusCode","status","headers","body"}},"Logs":[..],"ReturnValue":null}`,
//!   always sent with HTTP 200: the host reads the outputs only from a successful answer, and the browser gets
//!   `statusCode`. The host's reader of an `http` output requires all four of `statusCode`, `status`, `headers`
//!   and `body`, so all four are sent.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::timer::{InvokeResponse, PayloadError, field};

/// The name of the HTTP trigger's binding in `function.json` (`Data.req`).
pub const REQUEST_BINDING: &str = "req";
/// The name of the HTTP output binding in `function.json` (`Outputs.res`).
pub const RESPONSE_BINDING: &str = "res";

/// What the handler takes from an HTTP-trigger invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpInvocation {
    /// The binding's name (from `function.json`).
    pub binding: String,
    /// The request's method as sent (`GET`, `POST`...).
    pub method: String,
    /// The path of the public URL (`/api/owners/postpone`).
    pub path: String,
    /// The query string, without `?`, still percent-encoded (empty when there is none).
    pub query: String,
}

/// The HTTP request in an invocation body, if one of its bindings is one (an object with `Url` and `Method`);
/// `Ok(None)` for any other invocation (a timer's). A request whose `Url` is not a URL is an error.
pub fn parse_http_invocation(body: &[u8]) -> Result<Option<HttpInvocation>, PayloadError> {
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(body) else { return Ok(None) };
    let Some(Value::Object(data)) = field(&request, "Data") else { return Ok(None) };
    for (binding, value) in data {
        let Value::Object(object) = value else { continue };
        let (Some(url), Some(method)) = (field(object, "Url"), field(object, "Method")) else { continue };
        let (Value::String(url), Value::String(method)) = (url, method) else {
            return Err(PayloadError::BadUrl { binding: binding.clone(), value: url.to_string() });
        };
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| PayloadError::BadUrl { binding: binding.clone(), value: url.clone() })?;
        return Ok(Some(HttpInvocation {
            binding: binding.clone(),
            method: method.clone(),
            path: parsed.path().to_owned(),
            query: parsed.query().unwrap_or_default().to_owned(),
        }));
    }
    Ok(None)
}

/// The answer carrying an HTML page as the function's HTTP response, with log lines for the invocation.
pub fn http_response(status: StatusCode, html: String, logs: Vec<String>) -> InvokeResponse {
    let mut outputs = Map::new();
    outputs.insert(
        RESPONSE_BINDING.to_owned(),
        json!({
            "statusCode": status.as_u16(),
            "status": status.as_u16(),
            "headers": {
                "Content-Type": "text/html; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Robots-Tag": "noindex"
            },
            "body": html
        }),
    );
    InvokeResponse { outputs, logs, return_value: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An invocation as the host sends it (shape from the custom handler documentation and the host's
    /// `GetRequestAsJObject`), with `Query` as a JSON string, as older hosts send it.
    const HOST_GET: &str = r#"{"Data":{"req":{"Url":"https://app.azurewebsites.net/api/owners/postpone?target=%2Fsubscriptions%2Fs&choice=%2B1h&sig=ab","Method":"GET","Query":"{\"target\":\"/subscriptions/s\",\"choice\":\"+1h\",\"sig\":\"ab\"}","Headers":{"Accept":["text/html"]},"Params":{},"Identities":"[]"}},"Metadata":{"sys":{"MethodName":"autostop-links","UtcNow":"2026-03-02T10:00:00Z"}}}"#;

    #[test]
    fn the_request_is_read_from_the_url_as_sent() {
        let request = parse_http_invocation(HOST_GET.as_bytes()).expect("valid").expect("an HTTP request");
        assert_eq!(
            request,
            HttpInvocation {
                binding: "req".into(),
                method: "GET".into(),
                path: "/api/owners/postpone".into(),
                query: "target=%2Fsubscriptions%2Fs&choice=%2B1h&sig=ab".into(),
            }
        );
    }

    #[test]
    fn a_timer_invocation_is_not_an_http_request_and_a_bad_url_is_an_error() {
        let timer = br#"{"Data":{"timer":{"ScheduleStatus":null,"IsPastDue":false}},"Metadata":{}}"#;
        assert_eq!(parse_http_invocation(timer).expect("valid"), None);
        assert_eq!(parse_http_invocation(br#"{"Data":{"req":{}},"Metadata":{}}"#).expect("valid"), None);
        let bad = br#"{"Data":{"req":{"Url":"not a url","Method":"GET"}},"Metadata":{}}"#;
        let err = parse_http_invocation(bad).expect_err("not a URL");
        assert_eq!(
            err.to_string(),
            "Data.req.Url: expected an absolute URL such as https://APP.azurewebsites.net/api/owners/postpone?.., \
             found \"not a url\""
        );
    }

    #[test]
    fn the_response_carries_the_page_in_the_http_output() {
        let response = http_response(StatusCode::FORBIDDEN, "<p>no</p>".into(), vec!["refused".into()]);
        let json = serde_json::to_value(&response).expect("serializable");
        let res = &json["Outputs"]["res"];
        assert_eq!((res["statusCode"].as_u64(), res["status"].as_u64()), (Some(403), Some(403)), "{json}");
        assert_eq!(res["headers"]["Content-Type"], "text/html; charset=utf-8");
        assert_eq!(res["body"], "<p>no</p>");
        assert_eq!(json["Logs"], json!(["refused"]));
        assert_eq!(json["ReturnValue"], Value::Null);
    }
}

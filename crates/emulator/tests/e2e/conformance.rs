//! Holds the emulator's responses against the real Azure sessions recorded under `testdata/azure-api`: every key
//! the recording has must be present with the same JSON type (extra keys are fine; a recorded `null` matches
//! anything), and the 202 must carry the same headers (minus Azure's front-door plumbing) and no `Location`.

use std::time::Duration;

use autostop_emulator::Options;
use reqwest::StatusCode;
use serde_json::Value;

use crate::util::{API, Harness, RESEARCH_WS};

const RECORDINGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/azure-api/recordings/azure-powershell/src/MachineLearningServices/MachineLearningServices.Autorest/test/"
);

/// Headers of Azure's front door and tracing that a client has no use for.
const PLUMBING: [&str; 8] =
    ["request-context", "x-aml-cluster", "x-msedge-ref", "x-cache", "x-request-time", "vary", "date", "content-length"];

/// The recorded exchanges of one file, in order.
fn recording(file: &str) -> Vec<(String, Value)> {
    let path = format!("{RECORDINGS}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read recording {path}: {err}"));
    let json: serde_json::Map<String, Value> = serde_json::from_str(&text).expect("recording is JSON");
    json.into_iter().collect()
}

fn content(exchange: &Value) -> Value {
    let text = exchange["Response"]["Content"].as_str().expect("recorded content");
    serde_json::from_str(text).expect("recorded content is JSON")
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every difference in keys and types between a recorded value and ours, as `path: problem`.
fn shape_differences(recorded: &Value, ours: &Value, path: &str, out: &mut Vec<String>) {
    match (recorded, ours) {
        (Value::Null, _) => {}
        (Value::Object(r), Value::Object(o)) => {
            for (key, value) in r {
                match o.get(key) {
                    Some(mine) => shape_differences(value, mine, &format!("{path}.{key}"), out),
                    None => out.push(format!("{path}.{key}: missing")),
                }
            }
        }
        (Value::Array(r), Value::Array(o)) => {
            if let Some(first) = r.first() {
                for (i, mine) in o.iter().enumerate() {
                    shape_differences(first, mine, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ if kind(recorded) == kind(ours) => {}
        _ => out.push(format!("{path}: recorded {} but emulator sent {}", kind(recorded), kind(ours))),
    }
}

pub fn assert_same_shape(what: &str, recorded: &Value, ours: &Value) {
    let mut out = Vec::new();
    shape_differences(recorded, ours, "$", &mut out);
    assert!(out.is_empty(), "{what} differs from the recording:\n{}", out.join("\n"));
}

#[test]
fn the_comparison_catches_missing_keys_and_wrong_types() {
    let recorded = serde_json::json!({"a": {"b": 1, "c": [{"d": "x"}]}, "n": null});
    let mut out = Vec::new();
    shape_differences(&recorded, &serde_json::json!({"a": {"b": "1", "c": [{"e": 1}]}, "n": 5}), "$", &mut out);
    assert_eq!(out, ["$.a.b: recorded number but emulator sent string", "$.a.c[0].d: missing"]);
}

#[tokio::test]
async fn list_and_get_match_the_recorded_shapes() {
    let exchanges = recording("Get-AzMLWorkspaceCompute.Recording.json");
    let list = exchanges.iter().find(|(k, _)| k.contains("+List+")).map(|(_, v)| content(v)).expect("recorded list");
    let get = exchanges.iter().find(|(k, _)| k.contains("+Get+")).map(|(_, v)| content(v)).expect("recorded get");

    let h = Harness::sample().await;
    let ours = h.get(&format!("{RESEARCH_WS}/computes?{API}")).await;
    assert_eq!(ours.status, StatusCode::OK);
    let our_items = ours.body["value"].as_array().expect("value");
    for recorded in list["value"].as_array().expect("recorded value") {
        let compute_type = &recorded["properties"]["computeType"];
        let mine = our_items
            .iter()
            .find(|c| &c["properties"]["computeType"] == compute_type)
            .unwrap_or_else(|| panic!("the emulator listed no {compute_type}"));
        assert_same_shape(&format!("list item {compute_type}"), recorded, mine);
    }
    let without_items = |v: &Value| {
        let mut v = v.clone();
        v["value"] = Value::Array(Vec::new());
        v
    };
    assert_same_shape("list envelope", &without_items(&list), &without_items(&ours.body));

    let one = h.get(&format!("{RESEARCH_WS}/computes/alice-ci?{API}")).await;
    assert_same_shape("get", &get, &one.body);
    let headers = &exchanges.iter().find(|(k, _)| k.contains("+Get+")).expect("get").1["Response"]["Headers"];
    assert_has_recorded_headers("get", headers, &one.headers);
}

fn assert_has_recorded_headers(what: &str, recorded: &Value, ours: &reqwest::header::HeaderMap) {
    let missing: Vec<&String> = recorded
        .as_object()
        .expect("recorded headers")
        .keys()
        .filter(|name| !PLUMBING.contains(&name.to_ascii_lowercase().as_str()))
        .filter(|name| !ours.contains_key(name.to_ascii_lowercase().as_str()))
        .collect();
    assert!(missing.is_empty(), "{what}: headers missing from the emulator's answer: {missing:?}");
}

#[tokio::test]
async fn stop_202_and_operation_status_match_the_recording() {
    let exchanges = recording("Stop-AzMLWorkspaceCompute.Recording.json");
    let post = &exchanges.iter().find(|(k, _)| k.contains("$POST")).expect("recorded POST").1;
    assert_eq!(post["Response"]["StatusCode"], 202);
    let polls: Vec<Value> =
        exchanges.iter().filter(|(k, _)| k.contains("computeOperationsStatus")).map(|(_, v)| content(v)).collect();
    let recorded_in_progress = polls.iter().find(|p| p["status"] == "InProgress").expect("recorded InProgress");
    let recorded_succeeded = polls.iter().find(|p| p["status"] == "Succeeded").expect("recorded Succeeded");

    let h = Harness::start(Options { transition: Duration::from_secs(3600), ..Options::default() }).await;
    let accepted = h.post(&format!("{RESEARCH_WS}/computes/alice-ci/stop?{API}")).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    assert_has_recorded_headers("202", &post["Response"]["Headers"], &accepted.headers);
    let recorded_headers = post["Response"]["Headers"].as_object().expect("headers");
    assert!(!recorded_headers.keys().any(|k| k.eq_ignore_ascii_case("location")));
    assert!(!accepted.headers.contains_key("location"));
    assert!(!accepted.headers.contains_key("retry-after"));
    let url = accepted.headers["azure-asyncoperation"].to_str().expect("ascii").to_owned();

    let in_progress = h.get(&url).await;
    assert_same_shape("InProgress status", recorded_in_progress, &in_progress.body);
    assert_eq!(in_progress.body["status"], "InProgress");
    let poll_exchange = &exchanges.iter().find(|(k, _)| k.contains("computeOperationsStatus")).expect("poll").1;
    assert_has_recorded_headers("operation status", &poll_exchange["Response"]["Headers"], &in_progress.headers);

    h.emulator.control().complete_operations();
    let succeeded = h.get(&url).await;
    assert_same_shape("Succeeded status", recorded_succeeded, &succeeded.body);
    assert_eq!(succeeded.body["status"], "Succeeded");
}

const SPECS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/azure-api/azure-rest-api-specs/specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/"
);

/// The 200 body of a spec example (for workspaces there is no recording; the examples give the shape).
fn spec_example(file: &str) -> Value {
    let path = format!("{SPECS}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read spec example {path}: {err}"));
    let example: Value = serde_json::from_str(&text).expect("spec example is JSON");
    example["responses"]["200"]["body"].clone()
}

#[tokio::test]
async fn workspace_lists_match_the_spec_examples_including_next_link() {
    let h = Harness::start(Options { page_size: 1, ..Options::default() }).await;
    let cases = [
        (
            "MachineLearningServices/stable/2025-12-01/examples/Workspace/listBySubscription.json",
            "/subscriptions/00000000-0000-4000-8000-000000000001/providers/Microsoft.MachineLearningServices/workspaces",
        ),
        (
            "MachineLearningServices/stable/2025-09-01/examples/Workspace/listByResourceGroup.json",
            "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/ml-research/providers/Microsoft.MachineLearningServices/workspaces",
        ),
    ];
    for (file, path) in cases {
        let example = spec_example(file);
        let ours = h.get(&format!("{path}?{API}")).await;
        assert_eq!(ours.status, StatusCode::OK, "{}", ours.body);
        assert_same_shape(file, &example, &ours.body);
        assert!(ours.body["nextLink"].as_str().is_some_and(|l| l.starts_with("https://")), "{}", ours.body);
    }
}

#[tokio::test]
async fn paged_compute_list_matches_the_spec_example_envelope() {
    let example = spec_example("stable/2025-09-01/examples/Compute/list.json");
    let h = Harness::start(Options { page_size: 2, ..Options::default() }).await;
    let ours = h.get(&format!("{RESEARCH_WS}/computes?{API}")).await;
    let envelope = |v: &Value| {
        let mut v = v.clone();
        v["value"] = Value::Array(Vec::new());
        v
    };
    assert_same_shape("paged compute list", &envelope(&example), &envelope(&ours.body));
}

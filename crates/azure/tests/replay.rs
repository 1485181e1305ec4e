//! The client replays the real recorded sessions in `testdata/azure-api` (list, get, stop with three polls): every
//! request it makes must be one the real service answered, in the recorded order.

use crate::fake::{FixedToken, Reply, Script, within};
use autostop_azure::{ArmClient, ArmClientOptions, ClientOptions, ComputeState, ComputeType, PollOptions, PowerAction};
use azure_core::http::{RetryOptions, Transport};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RECORDINGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/azure-api/recordings/azure-powershell/src/MachineLearningServices/MachineLearningServices.Autorest/test/"
);

/// The headers of a recorded response the client reads, by their lowercase names.
const READ_HEADERS: [&str; 5] = [
    "azure-asyncoperation",
    "location",
    "retry-after",
    "x-ms-ratelimit-remaining-subscription-reads",
    "x-ms-ratelimit-remaining-subscription-writes",
];

struct Recorded {
    order: u32,
    method: String,
    uri: String,
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn load(file: &str) -> Vec<Recorded> {
    let path = format!("{RECORDINGS}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let entries = json.as_object().unwrap_or_else(|| panic!("{path}: expected an object"));
    let mut recorded: Vec<Recorded> = entries
        .iter()
        .map(|(key, entry)| {
            let response = &entry["Response"];
            let headers = READ_HEADERS
                .iter()
                .filter_map(|name| {
                    let (_, values) =
                        response["Headers"].as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))?;
                    Some((*name, values[0].as_str()?.to_string()))
                })
                .collect();
            Recorded {
                order: entry["Request"]["Headers"]["x-ms-unique-id"][0]
                    .as_str()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("{path}: {key} has no x-ms-unique-id")),
                method: entry["Request"]["Method"].as_str().unwrap_or_default().to_string(),
                uri: entry["Request"]["RequestUri"].as_str().unwrap_or_default().to_string(),
                status: response["StatusCode"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0),
                headers,
                body: response["Content"].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect();
    recorded.sort_by_key(|r| r.order);
    recorded
}

/// Serves each recorded answer once, to the request with the same method and URI; anything else is a 400.
fn replay(recorded: Vec<Recorded>) -> Arc<Script> {
    let remaining = Mutex::new(recorded);
    Script::new(move |method, url| {
        let mut remaining = remaining.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match remaining.iter().position(|r| r.method == method && r.uri == url) {
            Some(index) => {
                let r = remaining.remove(index);
                Reply { status: r.status, headers: r.headers, body: r.body }
            }
            None => Reply::json(400, serde_json::json!({"error": {"code": "NotRecorded", "message": url}})),
        }
    })
}

#[tokio::test]
async fn the_client_replays_the_recorded_sessions() {
    let mut recorded = load("Get-AzMLWorkspaceCompute.Recording.json");
    recorded.extend(load("Stop-AzMLWorkspaceCompute.Recording.json"));
    let expected: Vec<String> = recorded.iter().map(|r| format!("{} {}", r.method, r.uri)).collect();
    let stop_uri = recorded.iter().find(|r| r.method == "POST").map(|r| r.uri.clone()).unwrap_or_default();
    // The stop recording ends with a GET of the compute after the operation; it is the one already recorded.
    let get = recorded.iter().find(|r| r.uri.contains("/computes/jiajicompute1?")).map(|r| Recorded {
        order: u32::MAX,
        method: r.method.clone(),
        uri: r.uri.clone(),
        status: r.status,
        headers: r.headers.clone(),
        body: r.body.clone(),
    });
    recorded.extend(get);
    let script = replay(recorded);

    let client_options = ClientOptions {
        transport: Some(Transport::new(script.clone())),
        retry: RetryOptions::none(),
        ..Default::default()
    };
    let options = ArmClientOptions { client_options, ..Default::default() };
    let arm = ArmClient::new("https://management.azure.com", Arc::new(FixedToken::default()), Some(options))
        .unwrap_or_else(|e| panic!("{e}"));

    let workspace = "/subscriptions/9e223dbe-3399-4e19-88eb-0975f02ac87f/resourceGroups/ml-test/providers/Microsoft.MachineLearningServices/workspaces/mlworkspace-test2"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let computes = within(arm.list_computes(&workspace)).await.unwrap_or_else(|e| panic!("{e}")).computes;
    assert_eq!(
        computes.iter().map(|c| &c.compute_type).collect::<Vec<_>>(),
        [&ComputeType::AmlCompute, &ComputeType::ComputeInstance]
    );
    let instance = computes[1].id.clone();
    let got = within(arm.get_compute(&instance)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.state, Some(ComputeState::Running));

    let operation =
        within(arm.begin(&instance.clone().into(), PowerAction::Stop)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(operation.status_url.as_str().len() > 3000, "the 3 KB status URL is kept whole");
    let poll = PollOptions {
        first_delay: Duration::from_millis(5),
        default_delay: Duration::from_millis(5),
        deadline: Duration::from_secs(20),
    };
    within(arm.wait(&operation, &poll)).await.unwrap_or_else(|e| panic!("{e}"));

    // Compared on their first 200 characters: the status URLs are 3 KB long and identical past that.
    let short = |lines: &[String]| lines.iter().map(|l| l.chars().take(200).collect::<String>()).collect::<Vec<_>>();
    let log = script.log();
    assert_eq!(log.get(..expected.len()), Some(&expected[..]), "{:#?}", short(&log));
    assert_eq!(log.len(), expected.len() + 1, "then one GET of the compute");
    assert!(log.iter().any(|l| *l == format!("POST {stop_uri}")));
}

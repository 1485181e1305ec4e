//! The ARM client against a scripted transport: paging, long-running operations, ARM errors, transport errors.

use crate::fake::{FixedToken, Reply, Script, client, within};
use autostop_azure::{
    ArmClient, ArmClientOptions, ComputeId, ComputeState, ErrorKind, HttpClientOptions, PollOptions, Polled,
    PowerAction, SubscriptionId, WorkspaceId, client_options, http_client_with,
};
use azure_core::http::RetryOptions;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

const SUB: &str = "9e223dbe-3399-4e19-88eb-0975f02ac87f";
const WS: &str = "/subscriptions/9e223dbe-3399-4e19-88eb-0975f02ac87f/resourceGroups/ml-test/providers/Microsoft.MachineLearningServices/workspaces/mlworkspace-test2";

fn workspace() -> WorkspaceId {
    WS.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn compute_id(name: &str) -> ComputeId {
    format!("{WS}/computes/{name}").parse().unwrap_or_else(|e| panic!("{e}"))
}

fn compute_json(name: &str, state: &str) -> serde_json::Value {
    json!({
        "id": format!("{WS}/computes/{name}"), "name": name, "location": "eastus", "tags": {"team": "a"},
        "properties": {"computeType": "ComputeInstance", "provisioningState": "Succeeded",
                       "properties": {"state": state, "vmSize": "STANDARD_DS3_V2"}}
    })
}

fn fast() -> PollOptions {
    PollOptions {
        first_delay: Duration::from_millis(5),
        default_delay: Duration::from_millis(5),
        deadline: Duration::from_secs(20),
    }
}

fn path(url: &str) -> String {
    url.strip_prefix("https://arm.test").unwrap_or(url).to_string()
}

#[tokio::test]
async fn list_computes_follows_next_link_verbatim_across_pages() {
    let next1 = "https://arm.test/page2?api-version=2024-04-01&$skiptoken=a%2Fb%3D%3D";
    let next2 = "https://arm.test/page3?api-version=2024-04-01&$skiptoken=zz";
    let script = Script::new(move |_, url| match path(url).as_str() {
        p if p.starts_with(&format!("{WS}/computes?")) => {
            Reply::json(200, json!({"value": [compute_json("ci-1", "Running")], "nextLink": next1}))
        }
        p if p.starts_with("/page2") => Reply::json(
            200,
            json!({"value": [compute_json("ci-2", "Stopped"), compute_json("ci-3", "JobRunning")], "nextLink": next2}),
        ),
        p if p.starts_with("/page3") => {
            Reply::json(200, json!({"value": [compute_json("ci-4", "Hibernating")], "nextLink": null}))
        }
        _ => Reply::json(404, json!({"error": {"code": "NotScripted", "message": url}})),
    });
    let credential = Arc::new(FixedToken::default());
    let arm = client(script.clone(), credential.clone());
    let computes = within(arm.list_computes(&workspace())).await.unwrap_or_else(|e| panic!("{e}")).computes;
    let names: Vec<&str> = computes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ci-1", "ci-2", "ci-3", "ci-4"]);
    assert_eq!(computes[3].state, Some(ComputeState::Other("Hibernating".into())));
    assert_eq!(
        script.log(),
        [
            format!("GET https://arm.test{WS}/computes?api-version=2024-04-01"),
            format!("GET {next1}"),
            format!("GET {next2}"),
        ]
    );
    assert_eq!(script.authorized.load(Ordering::SeqCst), 3, "every request carries the bearer token");
    assert_eq!(credential.calls.load(Ordering::SeqCst), 1, "the token is cached across requests");
}

#[tokio::test]
async fn a_next_link_loop_is_an_error_not_a_hang() {
    let script = Script::new(|_, _| Reply::json(200, json!({"value": [], "nextLink": "https://arm.test/loop?page=2"})));
    let arm = client(script.clone(), Arc::new(FixedToken::default()));
    let err = within(arm.list_computes(&workspace())).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(err, "unexpected response from https://arm.test/loop: the nextLink chain loops or never ends");
    assert_eq!(script.log().len(), 2);
}

#[tokio::test]
async fn links_to_another_host_are_refused() {
    let script = Script::new(|method, _| match method {
        "POST" => Reply::empty(202, vec![("azure-asyncoperation", "https://evil.test/status?x=1".into())]),
        _ => Reply::json(200, json!({"value": [], "nextLink": "http://arm.test/page2"})),
    });
    let arm = client(script.clone(), Arc::new(FixedToken::default()));
    let err = within(arm.list_computes(&workspace())).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.ends_with("the nextLink leads to http://arm.test/page2, not to the ARM endpoint https://arm.test/"),
        "{err}"
    );
    let err = within(arm.begin(&compute_id("ci-1").into(), PowerAction::Stop)).await.err().map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(
        err.ends_with(
            "the operation status URL leads to https://evil.test/status, not to the ARM endpoint https://arm.test/"
        ),
        "{err}"
    );
    assert_eq!(script.log().len(), 2, "nothing was sent to the other hosts");
}

#[tokio::test]
async fn list_workspaces_by_subscription_and_resource_group() {
    let ws = |name: &str, rg: &str| {
        json!({"id": format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{name}"),
               "name": name, "location": "westeurope", "properties": {"friendlyName": null}})
    };
    let (a, b) = (ws("ws-a", "rg1"), ws("ws-b", "rg2"));
    let script = Script::new(move |_, url| {
        if url.contains("/resourceGroups/rg1/") {
            Reply::json(200, json!({"value": [a.clone()]}))
        } else {
            Reply::json(200, json!({"value": [a.clone(), b.clone()]}))
        }
    });
    let arm = client(script.clone(), Arc::new(FixedToken::default()));
    let sub: SubscriptionId = SUB.parse().unwrap_or_else(|e| panic!("{e}"));
    let all = within(arm.list_workspaces(&sub, None)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.iter().map(|w| w.id.resource_group()).collect::<Vec<_>>(), ["rg1", "rg2"]);
    let one = within(arm.list_workspaces(&sub, Some("rg1"))).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].location, "westeurope");
    let bad = within(arm.list_workspaces(&sub, Some("rg/../x"))).await.err().map(|e| e.to_string());
    assert!(bad.unwrap_or_default().starts_with("invalid resource group name 'rg/../x'"));
    assert_eq!(script.log().len(), 2, "a malformed name is refused before any request");
}

#[tokio::test]
async fn stop_polls_azure_async_operation_until_succeeded_then_reads_the_compute() {
    let status_url = format!(
        "https://arm.test/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/eastus/computeOperationsStatus/op1?api-version=2024-04-01&service=new&c={}",
        "x".repeat(2000)
    );
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (status, counter) = (status_url.clone(), polls.clone());
    let script = Script::new(move |method, url| match (method, path(url)) {
        ("POST", p) if p.starts_with(&format!("{WS}/computes/ci-1/stop?")) => {
            Reply::empty(202, vec![("azure-asyncoperation", status.clone())])
        }
        ("GET", p) if p.contains("computeOperationsStatus") => match counter.fetch_add(1, Ordering::SeqCst) {
            0 | 1 => Reply::json(200, json!({"status": "InProgress"})),
            _ => Reply::json(200, json!({"status": "Succeeded", "percentComplete": 100.0})),
        },
        ("GET", p) if p.starts_with(&format!("{WS}/computes/ci-1?")) => {
            Reply::json(200, compute_json("ci-1", "Stopped"))
        }
        _ => Reply::json(404, json!({"error": {"code": "NotScripted", "message": url}})),
    });
    let arm = client(script.clone(), Arc::new(FixedToken::default()));
    let operation =
        within(arm.begin(&compute_id("ci-1").into(), PowerAction::Stop)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(operation.status_url.as_str(), status_url);
    assert_eq!(operation.action, PowerAction::Stop);
    let compute = within(arm.wait(&operation, &fast())).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(compute.into_compute().and_then(|c| c.state), Some(ComputeState::Stopped));
    let log = script.log();
    assert_eq!(log.len(), 5, "{log:?}");
    assert_eq!(log[0], format!("POST https://arm.test{WS}/computes/ci-1/stop?api-version=2024-04-01"));
    assert!(log[1..4].iter().all(|l| *l == format!("GET {status_url}")), "the status URL is polled verbatim");
    assert_eq!(log[4], format!("GET https://arm.test{WS}/computes/ci-1?api-version=2024-04-01"));
    assert_eq!(polls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn start_polls_location_when_there_is_no_async_operation_header() {
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = polls.clone();
    let script = Script::new(move |method, url| match (method, path(url)) {
        ("POST", p) if p.contains("/computes/ci-2/start?") => Reply::empty(
            202,
            vec![("location", "/operationResults/op2?api-version=2024-04-01".into()), ("retry-after", "0".into())],
        ),
        ("GET", p) if p.starts_with("/operationResults/op2") => match counter.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::empty(202, vec![("retry-after", "0".into())]),
            _ => Reply::empty(200, vec![]),
        },
        ("GET", p) if p.contains("/computes/ci-2?") => Reply::json(200, compute_json("ci-2", "Running")),
        _ => Reply::json(404, json!({"error": {"code": "NotScripted", "message": url}})),
    });
    let arm = client(script, Arc::new(FixedToken::default()));
    let operation =
        within(arm.begin(&compute_id("ci-2").into(), PowerAction::Start)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(operation.status_url.as_str(), "https://arm.test/operationResults/op2?api-version=2024-04-01");
    assert_eq!(operation.retry_after, Some(Duration::ZERO));
    let compute = within(arm.wait(&operation, &fast())).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(compute.into_compute().and_then(|c| c.state), Some(ComputeState::Running));
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}

fn operation_script(final_body: serde_json::Value) -> Arc<Script> {
    Script::new(move |method, url| match method {
        "POST" => Reply::empty(202, vec![("azure-asyncoperation", "https://arm.test/status/op".into())]),
        _ if url.contains("/status/op") => Reply::json(200, final_body.clone()),
        _ => Reply::json(200, compute_json("ci-3", "Running")),
    })
}

#[tokio::test]
async fn a_failed_operation_reports_arm_s_error_and_the_compute() {
    let script = operation_script(
        json!({"status": "Failed", "error": {"code": "ComputeStopFailed", "message": "the VM did not stop"}}),
    );
    let arm = client(script, Arc::new(FixedToken::default()));
    let operation =
        within(arm.begin(&compute_id("ci-3").into(), PowerAction::Stop)).await.unwrap_or_else(|e| panic!("{e}"));
    let err = within(arm.wait(&operation, &fast())).await.err().unwrap_or_else(|| panic!("expected a failure"));
    assert!(matches!(err.kind(), ErrorKind::Operation { status, .. } if status == "Failed"));
    assert_eq!(
        err.to_string(),
        format!("stop of {WS}/computes/ci-3 ended Failed: ComputeStopFailed: the VM did not stop")
    );
}

#[tokio::test]
async fn a_canceled_operation_is_an_error() {
    let arm = client(operation_script(json!({"status": "Canceled"})), Arc::new(FixedToken::default()));
    let operation =
        within(arm.begin(&compute_id("ci-3").into(), PowerAction::Restart)).await.unwrap_or_else(|e| panic!("{e}"));
    let err = within(arm.wait(&operation, &fast())).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(err, format!("restart of {WS}/computes/ci-3 ended Canceled"));
}

#[tokio::test]
async fn an_operation_past_its_deadline_stops_polling() {
    let arm = client(operation_script(json!({"status": "InProgress"})), Arc::new(FixedToken::default()));
    let operation =
        within(arm.begin(&compute_id("ci-3").into(), PowerAction::Stop)).await.unwrap_or_else(|e| panic!("{e}"));
    let options = PollOptions {
        first_delay: Duration::from_millis(5),
        default_delay: Duration::from_millis(5),
        deadline: Duration::from_millis(60),
    };
    let err = within(arm.wait(&operation, &options)).await.err().unwrap_or_else(|| panic!("expected the deadline"));
    assert!(matches!(err.kind(), ErrorKind::Deadline { .. }), "{err}");
    assert!(err.to_string().starts_with(&format!("stop of {WS}/computes/ci-3 did not finish within")), "{err}");
}

#[tokio::test]
async fn one_poll_says_when_to_poll_again_or_how_the_operation_ended() {
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = polls.clone();
    let script = Script::new(move |method, url| match method {
        "POST" => Reply::empty(202, vec![("azure-asyncoperation", "https://arm.test/status/op".into())]),
        _ if url.contains("/status/op") => match counter.fetch_add(1, Ordering::SeqCst) {
            0 => {
                let mut reply = Reply::json(200, json!({"status": "InProgress"}));
                reply.headers.push(("retry-after", "7".into()));
                reply
            }
            1 => Reply::json(200, json!({"status": "Finalizing"})),
            2 => Reply::json(200, json!({"status": "Succeeded"})),
            3 => Reply::json(200, json!({"status": "Failed", "error": {"code": "Nope", "message": "no quota"}})),
            _ => Reply::json(404, json!({"error": {"code": "OperationNotFound", "message": "no such operation"}})),
        },
        _ => Reply::json(404, json!({"error": {"code": "NotScripted", "message": url}})),
    });
    let arm = client(script.clone(), Arc::new(FixedToken::default()));
    let operation =
        within(arm.begin(&compute_id("ci-5").into(), PowerAction::Stop)).await.unwrap_or_else(|e| panic!("{e}"));
    let options = PollOptions::default();
    let since = tokio::time::Instant::now();
    let poll = |polls| within(arm.poll(&operation, &options, since, polls));
    assert_eq!(
        poll(0).await.unwrap_or_else(|e| panic!("{e}")),
        Polled::Running { after: Duration::from_secs(7) },
        "Retry-After is honoured"
    );
    assert_eq!(
        poll(1).await.unwrap_or_else(|e| panic!("{e}")),
        Polled::Running { after: Duration::from_secs(5) },
        "else the default delay for the polls so far"
    );
    assert_eq!(poll(2).await.unwrap_or_else(|e| panic!("{e}")), Polled::Succeeded);
    let failed = poll(3).await.err().unwrap_or_else(|| panic!("expected the operation's failure"));
    assert_eq!(failed.to_string(), format!("stop of {WS}/computes/ci-5 ended Failed: Nope: no quota"));
    let broken = poll(4).await.err().unwrap_or_else(|| panic!("expected ARM's error"));
    assert!(matches!(broken.kind(), ErrorKind::Arm { status: 404, .. }), "{broken}");
    assert!(broken.to_string().contains("no such operation"), "{broken}");
    assert_eq!(script.log().len(), 6, "one request per poll, after the POST");
    let expired = PollOptions { deadline: Duration::ZERO, ..options };
    let late = within(arm.poll(&operation, &expired, since, 5)).await.err().unwrap_or_else(|| panic!("deadline"));
    assert!(matches!(late.kind(), ErrorKind::Deadline { .. }), "{late}");
    assert_eq!(script.log().len(), 6, "nothing is sent past the deadline");
}

#[tokio::test]
async fn a_202_without_a_status_header_is_an_error() {
    let script = Script::new(|_, _| Reply::empty(202, vec![]));
    let arm = client(script, Arc::new(FixedToken::default()));
    let err = within(arm.begin(&compute_id("ci-3").into(), PowerAction::Stop)).await.err().map(|e| e.to_string());
    assert_eq!(
        err.unwrap_or_default(),
        format!(
            "unexpected response from https://arm.test{WS}/computes/ci-3/stop: 202 without an Azure-AsyncOperation or Location header"
        )
    );
}

#[tokio::test]
async fn not_found_names_the_resource_and_keeps_arm_s_message() {
    let script = Script::new(|_, _| {
        Reply::json(
            404,
            json!({"error": {"code": "ResourceNotFound", "message": "The Resource 'Microsoft.MachineLearningServices/workspaces/mlworkspace-test2/computes/nope' was not found."}}),
        )
    });
    let arm = client(script, Arc::new(FixedToken::default()));
    let err = within(arm.get_compute(&compute_id("nope"))).await.err().unwrap_or_else(|| panic!("expected 404"));
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        format!(
            "{WS}/computes/nope: ResourceNotFound: The Resource 'Microsoft.MachineLearningServices/workspaces/mlworkspace-test2/computes/nope' was not found. (HTTP 404)"
        )
    );
}

#[tokio::test]
async fn authorization_failed_names_the_missing_permission() {
    let message = "The client 'app' with object id 'x' does not have authorization to perform action 'Microsoft.MachineLearningServices/workspaces/computes/stop/action' over scope 'y'.";
    let script = Script::new(move |_, _| {
        Reply::json(403, json!({"error": {"code": "AuthorizationFailed", "message": message}}))
    });
    let arm = client(script, Arc::new(FixedToken::default()));
    let err = within(arm.begin(&compute_id("ci-1").into(), PowerAction::Stop))
        .await
        .err()
        .unwrap_or_else(|| panic!("expected 403"));
    assert_eq!(err.http_status(), Some(403));
    assert_eq!(
        err.to_string(),
        format!(
            "{WS}/computes/ci-1: AuthorizationFailed: {message} (HTTP 403); this call needs the permission Microsoft.MachineLearningServices/workspaces/computes/stop/action"
        )
    );
}

#[tokio::test]
async fn unauthorized_is_an_arm_error_and_drops_the_cached_token() {
    let script = Script::new(|_, _| {
        Reply::json(
            401,
            json!({"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}}),
        )
    });
    let credential = Arc::new(FixedToken::default());
    let arm = client(script, credential.clone());
    for _ in 0..2 {
        let err = within(arm.get_compute(&compute_id("ci-1"))).await.err().unwrap_or_else(|| panic!("expected 401"));
        assert_eq!(err.http_status(), Some(401));
        assert!(
            err.to_string().contains("InvalidAuthenticationToken: The access token is invalid. (HTTP 401)"),
            "{err}"
        );
    }
    assert_eq!(credential.calls.load(Ordering::SeqCst), 2, "a 401 makes the next request fetch a fresh token");
}

#[tokio::test]
async fn an_error_without_an_arm_body_shows_the_status_and_body_start() {
    let script = Script::new(|_, _| Reply { status: 502, headers: vec![], body: "<html>Bad Gateway</html>".into() });
    let arm = client(script, Arc::new(FixedToken::default()));
    let err = within(arm.list_computes(&workspace())).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(err, format!("{WS}: BadGateway: <html>Bad Gateway</html> (HTTP 502)"));
}

#[test]
fn plain_http_and_malformed_endpoints_are_refused() {
    for endpoint in ["http://127.0.0.1:8080", "not a url", "https://"] {
        let err = ArmClient::new(endpoint, Arc::new(FixedToken::default()), None).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.starts_with(&format!("invalid ARM endpoint '{endpoint}'")), "{err}");
    }
}

fn real_client(endpoint: &str, timeout: Duration) -> ArmClient {
    let http =
        http_client_with(&HttpClientOptions { connect_timeout: timeout, read_timeout: timeout, ..Default::default() })
            .unwrap_or_else(|e| panic!("{e}"));
    let mut client_options = client_options(http);
    client_options.retry = RetryOptions::none();
    let options = ArmClientOptions { client_options, ..Default::default() };
    ArmClient::new(endpoint, Arc::new(FixedToken::default()), Some(options)).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn connection_refused_names_the_url() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"))
    };
    let arm = real_client(&format!("https://127.0.0.1:{port}"), Duration::from_secs(10));
    let err = within(arm.get_compute(&compute_id("ci-1"))).await.err().unwrap_or_else(|| panic!("expected an error"));
    assert!(matches!(err.kind(), ErrorKind::Transport { timeout: false, .. }), "{err}");
    assert_eq!(err.to_string(), format!("cannot reach https://127.0.0.1:{port}{WS}/computes/ci-1: connection refused"));
}

#[tokio::test]
async fn a_silent_server_times_out_and_names_the_url() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let arm = real_client(&format!("https://127.0.0.1:{port}"), Duration::from_millis(300));
    let err = within(arm.list_computes(&workspace())).await.err().unwrap_or_else(|| panic!("expected an error"));
    hold.abort();
    assert!(matches!(err.kind(), ErrorKind::Transport { timeout: true, .. }), "{err}");
    assert_eq!(err.to_string(), format!("cannot reach https://127.0.0.1:{port}{WS}/computes: timed out"));
}

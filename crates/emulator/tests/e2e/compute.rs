//! Holds the emulator's `Microsoft.Compute` answers against the azure-cli sessions recorded against Azure
//! (`testdata/azure-api/compute/recordings`): the 202 of a power action carries every recorded header (minus
//! front-door plumbing), the operation status bodies and the instance views carry every recorded key with the
//! same JSON type, and the `monitor=true` Location answers 200 with no body once the operation is done.

use std::time::Duration;

use autostop_emulator::{Fleet, Options, ResourceGroup, ScaleSet, Subscription, VirtualMachine};
use reqwest::StatusCode;
use serde_json::Value;

use crate::cassette::{Interaction, read};
use crate::conformance::assert_same_shape;
use crate::util::Harness;

const RECORDINGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/azure-api/compute/recordings/azure-cli/src/azure-cli/azure/cli/command_modules/vm/tests/latest/recordings/"
);

/// Headers of Azure's front door and of the transport, which a client has no use for.
const PLUMBING: [&str; 4] = ["x-msedge-ref", "x-cache", "date", "content-length"];

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const API: &str = "api-version=2024-11-01";

fn cassette(file: &str) -> Vec<Interaction> {
    let interactions = read(&format!("{RECORDINGS}{file}"));
    for interaction in &interactions {
        let length: usize = interaction.headers["content-length"].parse().expect("content-length");
        assert_eq!(interaction.body.len(), length, "the cassette reader got {} wrong", interaction.uri);
    }
    interactions
}

fn json(interaction: &Interaction) -> Value {
    serde_json::from_str(&interaction.body).unwrap_or_else(|err| panic!("{}: {err}", interaction.uri))
}

fn assert_has_headers(what: &str, recorded: &Interaction, ours: &reqwest::header::HeaderMap) {
    let missing: Vec<&String> = recorded
        .headers
        .keys()
        .filter(|name| !PLUMBING.contains(&name.as_str()) && !ours.contains_key(name.as_str()))
        .collect();
    assert!(missing.is_empty(), "{what}: headers missing from the emulator's answer: {missing:?}");
}

/// The recorded VM and scale set, in the recorded subscription and resource groups.
fn fleet() -> Fleet {
    let group = |name: &str| ResourceGroup { name: name.into(), ..ResourceGroup::default() };
    let mut vm_group = group("cli_test_vm_state_mod000001");
    vm_group.virtual_machines = vec![VirtualMachine {
        name: "vm-state-mod".into(),
        location: "eastus".into(),
        power_state: "running".into(),
        vm_size: "Standard_B2s".into(),
        tags: [("firsttag", "1"), ("secondtag", "2"), ("thirdtag", "")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
    }];
    let mut set_group = group("cli_test_vmss_create_and_modify000001");
    set_group.scale_sets = vec![ScaleSet {
        name: "vmss1".into(),
        location: "westus".into(),
        power_state: "deallocated".into(),
        vm_size: "Standard_DS1_v2".into(),
        capacity: 2,
        tags: Default::default(),
        autoscale: false,
    }];
    Fleet { subscriptions: vec![Subscription { id: SUB.into(), resource_groups: vec![vm_group, set_group] }] }
}

fn path_of(uri: &str) -> &str {
    let path = uri.strip_prefix("https://management.azure.com").unwrap_or(uri);
    path.split('?').next().unwrap_or(path)
}

#[tokio::test]
async fn vm_power_off_and_deallocate_match_the_recording() {
    let recorded = cassette("test_vm_create_state_modifications.excerpt.yaml");
    let post = |verb: &str| {
        recorded.iter().find(|i| i.method == "POST" && path_of(&i.uri).ends_with(verb)).expect("recorded POST")
    };
    let polls: Vec<&Interaction> = recorded
        .iter()
        .filter(|i| i.method == "GET" && i.uri.contains("/operations/") && !i.uri.contains("monitor=true"))
        .collect();
    let in_progress = polls.iter().find(|i| json(i)["status"] == "InProgress").expect("recorded InProgress");
    let succeeded = polls.iter().find(|i| json(i)["status"] == "Succeeded").expect("recorded Succeeded");
    let monitor = recorded.iter().find(|i| i.uri.contains("monitor=true")).expect("recorded Location GET");
    let views: Vec<&Interaction> = recorded.iter().filter(|i| i.uri.contains("$expand=instanceView")).collect();
    let stopped = views.iter().find(|i| i.body.contains("PowerState/stopped")).expect("recorded stopped view");
    let deallocated = views.iter().find(|i| i.body.contains("PowerState/deallocated")).expect("recorded view");

    let h =
        Harness::start(Options { fleet: fleet(), transition: Duration::from_secs(3600), ..Options::default() }).await;
    let vm = path_of(&views[0].uri).to_owned();

    let accepted = h.post(&format!("{vm}/powerOff?skipShutdown=false&{API}")).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    assert_eq!(accepted.body, Value::Null, "no body, as recorded");
    assert_has_headers("powerOff 202", post("/powerOff"), &accepted.headers);
    assert!(!accepted.headers.contains_key("retry-after"), "Compute sends no Retry-After");
    let status_url = accepted.headers["azure-asyncoperation"].to_str().expect("ascii").to_owned();
    let location = accepted.headers["location"].to_str().expect("ascii").to_owned();
    assert!(location.contains("monitor=true"), "{location}");

    let polled = h.get(&status_url).await;
    assert_same_shape("InProgress status", &json(in_progress), &polled.body);
    assert_eq!(polled.body["status"], "InProgress");
    assert_has_headers("operation status", in_progress, &polled.headers);
    let early = h.get(&location).await;
    assert_eq!(early.status, StatusCode::ACCEPTED, "the Location answers 202 while the operation runs");

    h.emulator.control().complete_operations();
    let polled = h.get(&status_url).await;
    assert_same_shape("Succeeded status", &json(succeeded), &polled.body);
    assert_eq!(polled.body["status"], "Succeeded");
    let done = h.get(&location).await;
    assert_eq!((done.status, &done.body), (StatusCode::OK, &Value::Null));
    assert_has_headers("Location GET", monitor, &done.headers);

    let view = h.get(&format!("{vm}?$expand=instanceView&{API}")).await;
    assert_same_shape("instance view (stopped)", &json(stopped), &view.body);
    assert_has_headers("instance view", stopped, &view.headers);
    assert_eq!(view.body["properties"]["instanceView"]["statuses"][1]["code"], "PowerState/stopped");

    let accepted = h.post(&format!("{vm}/deallocate?{API}")).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    assert_has_headers("deallocate 202", post("/deallocate"), &accepted.headers);
    let limits = accepted.headers["x-ms-ratelimit-remaining-resource"].to_str().expect("ascii");
    assert!(
        limits.contains("Microsoft.Compute/DeleteVMSubscriptionMaximum;"),
        "deallocate counts as DeleteVM: {limits}"
    );
    h.emulator.control().complete_operations();
    let view = h.get(&format!("{vm}?$expand=instanceView&{API}")).await;
    assert_same_shape("instance view (deallocated)", &json(deallocated), &view.body);
    let keys: Vec<&String> = view.body["properties"]["instanceView"].as_object().expect("view").keys().collect();
    assert_eq!(keys, ["disks", "hyperVGeneration", "statuses"], "a deallocated VM keeps only these, as recorded");

    let start = post("/start");
    let accepted = h.post(&format!("{vm}/start?{API}")).await;
    assert_has_headers("start 202", start, &accepted.headers);
}

#[tokio::test]
async fn scale_set_start_matches_the_recording() {
    let recorded = cassette("test_vmss_create_and_modify.excerpt.yaml");
    let post = recorded.iter().find(|i| i.method == "POST").expect("recorded POST");
    let h = Harness::start(Options { fleet: fleet(), ..Options::default() }).await;
    let accepted = h.post(&format!("{}?{API}", path_of(&post.uri))).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    assert_has_headers("scale set start 202", post, &accepted.headers);
}

#[tokio::test]
async fn compute_and_autoscale_take_only_the_versions_their_specs_define() {
    let h = Harness::start(Options { fleet: fleet(), ..Options::default() }).await;
    let vm = format!(
        "/subscriptions/{SUB}/resourceGroups/cli_test_vm_state_mod000001/providers/Microsoft.Compute/virtualMachines/vm-state-mod"
    );
    assert_eq!(h.get(&format!("{vm}?{API}")).await.status, StatusCode::OK);
    // 2024-04-01 is a Machine Learning version, not a Compute one.
    let wrong = h.get(&format!("{vm}?api-version=2024-04-01")).await;
    assert_eq!((wrong.status, wrong.code()), (StatusCode::BAD_REQUEST, "NoRegisteredProviderFound"), "{}", wrong.body);
    let message = wrong.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "No registered resource provider found for location 'eastus' and API version '2024-04-01' for type \
             'virtualMachines'. The supported api-versions are '2025-11-01, 2025-04-01, 2024-11-01, "
        ),
        "{message}"
    );
    assert!(message.ends_with("The supported locations are 'eastus, westus'."), "{message}");
    let list = format!("/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets");
    let wrong = h.get(&format!("{list}?api-version=2024-10-01")).await;
    assert_eq!(wrong.code(), "NoRegisteredProviderFound", "{}", wrong.body);
    assert!(wrong.body.to_string().contains("for type 'virtualMachineScaleSets'"), "{}", wrong.body);

    let autoscale = format!("/subscriptions/{SUB}/providers/Microsoft.Insights/autoscalesettings");
    assert_eq!(h.get(&format!("{autoscale}?api-version=2022-10-01")).await.status, StatusCode::OK);
    let wrong = h.get(&format!("{autoscale}?{API}")).await;
    assert_eq!((wrong.status, wrong.code()), (StatusCode::BAD_REQUEST, "NoRegisteredProviderFound"), "{}", wrong.body);
    let message = wrong.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(
            "for type 'autoscalesettings'. The supported api-versions are '2022-10-01, 2021-05-01-preview, 2015-04-01'."
        ),
        "{message}"
    );
}
